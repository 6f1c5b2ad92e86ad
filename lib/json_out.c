#include "autoconf.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "json_out.h"
#include "util.h"

int
ag_json_set_name(json_t *obj, const char *key, const char *name)
{
	char hkey[64], *esc = NULL, *hex = NULL;
	size_t len, i, k, o = 0;
	json_t *v = NULL, *h = NULL;
	int ret = -1;

	if (name == NULL)
		return json_object_set_new(obj, key, json_null());
	len = strlen(name);
	if (ag_utf8_valid(name, len))
		return json_object_set_new(obj, key, json_string(name));
	if ((size_t)snprintf(hkey, sizeof(hkey), "%s_hex", key) >= sizeof(hkey) ||
	    len > (SIZE_MAX - 1) / 4 || (esc = malloc(4 * len + 1)) == NULL ||
	    (hex = malloc(2 * len + 1)) == NULL)
		goto out;
	for (i = 0; i < len; i += k) {
		k = ag_utf8_decode(name + i, len - i, NULL);
		if (k == 0 || name[i] == '\\') {
			/* The escape character itself is escaped: \x5c, so the
			 * printable form reads back to one name only. */
			esc[o++] = '\\';
			esc[o++] = 'x';
			ag_hex_encode(esc + o, name + i, 1);
			o += 2;
			k = 1;
			continue;
		}
		memcpy(esc + o, name + i, k);
		o += k;
	}
	esc[o] = '\0';
	ag_hex_encode(hex, name, len);
	if ((v = json_string(esc)) == NULL || (h = json_string(hex)) == NULL)
		goto out;
	if (json_object_set(obj, key, v) != 0)
		goto out;
	if (json_object_set(obj, hkey, h) != 0) {
		json_object_del(obj, key);
		goto out;
	}
	ret = 0;
out:
	json_decref(v);
	json_decref(h);
	free(esc);
	free(hex);
	return ret;
}

/* The allocator json_alloc calls (NULL: malloc), and the allocations
 * that failed in this thread: a parse during which one did cannot be
 * trusted (ag_json_loadb). */
static json_malloc_t inner_malloc;
static _Thread_local unsigned long alloc_failures;

/* Never a tail call (the result is looked at), so that the fault-injection
 * tests, which count the allocations a helper makes itself, fail jansson's
 * allocations in every build, optimised or not (tests/lib/fault_inject.c). */
static void *
json_alloc(size_t n)
{
	void *p = inner_malloc != NULL ? inner_malloc(n) : malloc(n);

	if (p == NULL)
		alloc_failures++;
	return p;
}

/* The whole block, not only what jansson asked for: a string that grew
 * in place may have left copies anywhere in it.  (explicit_bzero rather
 * than sodium_memzero: the PAM module's daemon client links this file
 * and nothing else of libsodium, which it need not load for a wipe.) */
static void
json_release(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void
ag_json_wipe_on_free(void)
{
	inner_malloc = NULL;
	json_set_alloc_funcs(json_alloc, json_release);
}

/* Ours replaces jansson's default allocator (malloc and free), with which
 * it is compatible for the blocks that one already gave out.  An
 * allocator a program installed itself is kept, with the counting in
 * front of its malloc (its free stays): failures are counted either way. */
void
ag_json_wipe_by_default(void)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;

	json_get_alloc_funcs(&m, &f);
	if (m == malloc)
		ag_json_wipe_on_free();
	else if (m != json_alloc) {
		inner_malloc = m;
		json_set_alloc_funcs(json_alloc, f);
	}
}

/* Whether an allocation failed since before: counted by our allocator,
 * or (another allocator) told by malloc's errno -- which jansson may
 * reset while it goes on, so the count is the reliable part. */
static int
failed_since(unsigned long before)
{
	return alloc_failures != before || errno == ENOMEM;
}

json_t *
ag_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error, int *nomem)
{
	unsigned long before;
	json_t *j;

	ag_json_wipe_by_default();
	before = alloc_failures;
	errno = 0;
	j = json_loadb(buf, len, flags, error);
	*nomem = failed_since(before);
	if (*nomem) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

json_t *
ag_json_loadf(FILE *f, size_t flags, json_error_t *error, int *nomem)
{
	unsigned long before;
	json_t *j;

	ag_json_wipe_by_default();
	before = alloc_failures;
	errno = 0;
	j = json_loadf(f, flags, error);
	*nomem = failed_since(before);
	if (*nomem) {
		json_decref(j);
		j = NULL;
	}
	return j;
}
