/* JSON input through jansson: running out of memory told apart from bad
 * input.  See json.h for why a successful json_loadb() is not enough. */
#include "autoconf.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include <sodium.h>

#include "error.h"
#include "json.h"

/* The allocator counting_malloc calls (NULL: malloc), and the failures it
 * has seen in this thread. */
static json_malloc_t inner_malloc;
static _Thread_local unsigned long alloc_failures;

/* Never a tail call (the result is looked at), so that the fault-injection
 * tests, which count the allocations a helper makes itself, fail jansson's
 * allocations in every build, optimised or not (tests/lib/fault_inject.c). */
static void *
counting_malloc(size_t n)
{
	void *p = inner_malloc != NULL ? inner_malloc(n) : malloc(n);

	if (p == NULL)
		alloc_failures++;
	return p;
}

static void
wiping_free(void *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

void
ag_json_wipe_on_free(void)
{
	inner_malloc = NULL;
	json_set_alloc_funcs(counting_malloc, wiping_free);
}

/* Puts counting_malloc in front of the allocator the program installed,
 * keeping its free: blocks from either are released alike. */
static void
count_failures(void)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;

	json_get_alloc_funcs(&m, &f);
	if (m != counting_malloc) {
		inner_malloc = m;
		json_set_alloc_funcs(counting_malloc, f);
	}
}

/* The verdict on what json_load* returned: any allocation that failed
 * since before may have dropped a byte of a token, so even a document is
 * no answer then.  errno covers a parse that failed before allocating
 * (jansson leaves malloc's ENOMEM, and no error text). */
static int
loaded(json_t *j, unsigned long before, json_t **out)
{
	if (alloc_failures != before || (j == NULL && errno == ENOMEM)) {
		json_decref(j);
		return AG_ERR_NOMEM;
	}
	if (j == NULL)
		return AG_ERR_INVAL;
	*out = j;
	return 0;
}

int
ag_json_loadb(const void *buf, size_t len, size_t flags, json_t **out, json_error_t *jerr)
{
	unsigned long before;
	json_t *j;

	*out = NULL;
	if (buf == NULL && len != 0)
		return AG_ERR_INVAL;
	count_failures();
	before = alloc_failures;
	errno = 0;
	j = json_loadb(buf != NULL ? (const char *)buf : "", len, flags, jerr);
	return loaded(j, before, out);
}

int
ag_json_loadf(FILE *f, size_t flags, json_t **out, json_error_t *jerr)
{
	unsigned long before;
	json_t *j;

	*out = NULL;
	if (f == NULL)
		return AG_ERR_INVAL;
	count_failures();
	before = alloc_failures;
	errno = 0;
	j = json_loadf(f, flags, jerr);
	return loaded(j, before, out);
}
