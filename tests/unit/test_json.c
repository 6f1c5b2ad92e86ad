/* Unit tests for lib/json_out's parsers: bad text is AG_ERR_INVAL, and a parse during
 * which any allocation fails is AG_ERR_NOMEM -- never a document that
 * differs from the text (jansson's lexer drops the byte it could not
 * buffer and goes on), never "bad input".  Every allocation point of a
 * parse is failed in turn, through an allocator installed the way a
 * program would (json_set_alloc_funcs). */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "json_out.h"

#include "tap.h"

/* Strings of 16 bytes and more (quotes included) make the lexer grow its
 * token buffer: 16, 32, 64 bytes.  No number of 15 digits or more: a
 * failed allocation at its end trips an assertion inside jansson. */
#define DOC                                                                                        \
	"{\"type\":\"session.revoked\",\"data\":{\"id\":\"sess_2bxQ8Zk3yUoWlDfRuN7cLmVtPa\","      \
	"\"object\":\"session\",\"status\":\"revoked\",\"user_id\":\"user_2bxQ8Zk3yUoWl\"},"       \
	"\"a_rather_long_member_name_of_more_than_32_bytes\":[1700000900,true,null,-2.5,"          \
	"\"https://issuer.example.com/tenants/0123456789abcdef\"]}"

static long alloc_calls, fail_at; /* fail_at 0: never */

/* lib/json_out's parsers as 0, AG_ERR_NOMEM or AG_ERR_INVAL. */
static int
loadb(const char *buf, size_t len, size_t flags, json_t **out, json_error_t *jerr)
{
	int nomem = 0;

	*out = ag_json_loadb(buf, len, flags, jerr, &nomem);
	return *out != NULL ? 0 : nomem ? AG_ERR_NOMEM : AG_ERR_INVAL;
}

static int
loadf(FILE *f, size_t flags, json_t **out, json_error_t *jerr)
{
	int nomem = 0;

	*out = f != NULL ? ag_json_loadf(f, flags, jerr, &nomem) : NULL;
	return *out != NULL ? 0 : nomem ? AG_ERR_NOMEM : AG_ERR_INVAL;
}

static void *
failing_malloc(size_t n)
{
	if (++alloc_calls == fail_at) {
		errno = ENOMEM; /* as malloc */
		return NULL;
	}
	return malloc(n);
}

static json_t *
reference(void)
{
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:[I, b, n, f, s]}", "type",
	                 "session.revoked", "data", "id", "sess_2bxQ8Zk3yUoWlDfRuN7cLmVtPa",
	                 "object", "session", "status", "revoked", "user_id", "user_2bxQ8Zk3yUoWl",
	                 "a_rather_long_member_name_of_more_than_32_bytes", (json_int_t)1700000900,
	                 1, -2.5, "https://issuer.example.com/tenants/0123456789abcdef");
}

static int
load(int from_file, const char *text, json_t **out)
{
	FILE *f;
	int r;

	if (!from_file)
		return loadb(text, strlen(text), JSON_REJECT_DUPLICATES, out, NULL);
	if ((f = fmemopen((void *)text, strlen(text), "r")) == NULL) {
		*out = NULL;
		return AG_ERR_SYSTEM;
	}
	r = loadf(f, JSON_REJECT_DUPLICATES, out, NULL);
	fclose(f);
	return r;
}

/* Fails allocation 1, 2, ... of the parse of DOC until one parse no
 * longer reaches the failing one: each answer is the document or
 * AG_ERR_NOMEM. */
static void
sweep(int from_file, const char *what)
{
	json_t *want = reference(), *got;
	long n, wrong = 0, nomem = 0;
	int r;

	json_set_alloc_funcs(failing_malloc, free);
	for (n = 1;; n++) {
		alloc_calls = 0;
		fail_at = n;
		r = load(from_file, DOC, &got);
		if (alloc_calls < n) { /* the fault did not fire: fault-free */
			ok(r == 0 && json_equal(got, want),
			   "%s: fault-free parse gives the document", what);
			json_decref(got);
			break;
		}
		if (r == AG_ERR_NOMEM && got == NULL) {
			nomem++;
		} else if (wrong++ < 5) {
			char *s = got != NULL ? json_dumps(got, JSON_COMPACT) : NULL;

			diag("%s: allocation %ld failed: returned %d, %s", what, n, r,
			     s != NULL ? s : "no document");
			free(s);
		}
		json_decref(got);
	}
	fail_at = 0;
	json_set_alloc_funcs(malloc, free);
	is_int(wrong, 0, "%s: each of %ld failed allocations is AG_ERR_NOMEM", what, n - 1);
	ok(nomem >= 10, "%s: the sweep reached %ld allocations", what, nomem);
	json_decref(want);
}

static void
test_basics(void)
{
	json_error_t jerr;
	json_t *j = (json_t *)1, *want = reference();

	is_int(loadb(DOC, strlen(DOC), JSON_REJECT_DUPLICATES, &j, &jerr), 0, "loadb");
	ok(json_equal(j, want), "loadb: the document");
	json_decref(j);
	is_int(load(1, DOC, &j), 0, "loadf");
	ok(json_equal(j, want), "loadf: the document");
	json_decref(j);
	json_decref(want);

	j = (json_t *)1;
	is_int(loadb("{\"a\":1,\"a\":2}", 13, JSON_REJECT_DUPLICATES, &j, &jerr),
	       AG_ERR_INVAL, "duplicate names: bad input");
	ok(j == NULL, "... and no document");
	ok(strstr(jerr.text, "duplicate") != NULL, "... jerr says why (%s)", jerr.text);
	is_int(loadb("{\"a\":", 5, 0, &j, NULL), AG_ERR_INVAL, "cut short: bad input");
	is_int(loadb("{} x", 4, 0, &j, NULL), AG_ERR_INVAL, "trailing bytes: bad input");
	is_int(loadb("", 0, 0, &j, NULL), AG_ERR_INVAL, "empty: bad input");
	is_int(loadb(NULL, 0, 0, &j, NULL), AG_ERR_INVAL, "NULL, 0: bad input");
	is_int(loadb(NULL, 4, 0, &j, NULL), AG_ERR_INVAL, "NULL, 4: bad input");
	ok(j == NULL, "... and no document");
	is_int(loadf(NULL, 0, &j, NULL), AG_ERR_INVAL, "loadf NULL: bad input");
	is_int(load(1, "[1, 2", &j), AG_ERR_INVAL, "loadf cut short: bad input");
}

int
main(void)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;
	json_t *j = NULL;

	test_basics();
	sweep(0, "loadb");
	sweep(1, "loadf");
	/* The helpers' allocator. */
	ag_json_wipe_on_free();
	json_get_alloc_funcs(&m, &f);
	ok(m != malloc && f != free, "ag_json_wipe_on_free installs its allocator");
	is_int(loadb(DOC, strlen(DOC), 0, &j, NULL), 0, "... which parses");
	json_decref(j);
	json_set_alloc_funcs(malloc, free);
	return done_testing();
}
