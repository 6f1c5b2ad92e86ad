/* Unit tests for lib/store/pg/pg_text.c, the escaped form in which the
 * PostgreSQL back end stores text that PostgreSQL cannot store as it is
 * (not valid UTF-8) or that could pass for the escaped form (holds a
 * backslash).  Compiled into this program directly: in the build it is
 * part of the loadable back end only.
 *
 * What must hold: valid UTF-8 without a backslash is left alone; the
 * escaped form is valid UTF-8 (PostgreSQL takes it); unescaping gives
 * back exactly the bytes (so the mapping is one to one, and equality and
 * uniqueness of names are those of the original bytes).  lib/util.c's
 * strict UTF-8 decoder, written apart from pg_text.c, is the referee.
 * Every input is an exact-size heap copy, so a read past its end is
 * caught under ASan and valgrind. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_int.h"
#include "session_policy.h" /* AG_NAME_MAX */
#include "util.h"

#include "tap.h"

static char *
dup_exact(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/* Escapes s, expects want (NULL: s unchanged) and a round trip. */
static void
check(const char *what, const char *s, int needs, const char *want)
{
	char *in = dup_exact(s), *esc = NULL, *back = NULL;

	if (in == NULL) {
		ok(0, "%s: malloc", what);
		return;
	}
	is_int(ag_pg_text_needs_escape(in), needs, "%s: %s", what,
	       needs ? "needs escaping" : "stored as it is");
	esc = ag_pg_text_escape(in);
	is_str(esc, want != NULL ? want : s, "%s: escaped form", what);
	if (esc != NULL) {
		ok(ag_utf8_valid(esc, strlen(esc)), "%s: escaped form is valid UTF-8", what);
		back = ag_pg_text_unescape(esc);
		ok(back != NULL && strcmp(back, s) == 0, "%s: round trip", what);
	}
	free(back);
	free(esc);
	free(in);
}

static void
test_cases(void)
{
	char *big, *esc, *back;
	size_t i;

	check("empty", "", 0, NULL);
	check("ASCII", "alice@example.com", 0, NULL);
	check("2-byte UTF-8 (U+00E9)", "Jos\xc3\xa9", 0, NULL);
	check("3-byte UTF-8 (U+20AC)", "\xe2\x82\xac", 0, NULL);
	check("3-byte UTF-8 (U+FFFF, a noncharacter, still UTF-8)", "\xef\xbf\xbf", 0, NULL);
	check("4-byte UTF-8 (U+1D11E)", "\xf0\x9d\x84\x9e", 0, NULL);
	check("4-byte UTF-8 (U+10FFFF, the last)", "\xf4\x8f\xbf\xbf", 0, NULL);
	check("U+D7FF, below the surrogates", "\xed\x9f\xbf", 0, NULL);
	check("U+E000, above them", "\xee\x80\x80", 0, NULL);
	check("U+0800, the first 3-byte", "\xe0\xa0\x80", 0, NULL);
	check("U+10000, the first 4-byte", "\xf0\x90\x80\x80", 0, NULL);
	check("control characters", "a\tb\nc\x01\x7f", 0, NULL);

	check("a backslash", "a\\b", 1, "a\\\\b");
	check("backslashes only", "\\\\\\", 1, "\\\\\\\\\\\\");
	check("what looks escaped already", "\\xff", 1, "\\\\xff");
	check("a trailing backslash", "abc\\", 1, "abc\\\\");

	check("a lone 0xff", "\xff", 1, "\\xff");
	check("0xfe 0xff", "x\xfe\xffy", 1, "x\\xfe\\xffy");
	check("Latin-1 e-acute", "Jos\xe9", 1, "Jos\\xe9");
	check("a lone continuation byte", "\x80", 1, "\\x80");
	check("overlong '/' (2 bytes)", "\xc0\xaf", 1, "\\xc0\\xaf");
	check("overlong NUL (2 bytes)", "\xc0\x80", 1, "\\xc0\\x80");
	check("overlong (0xc1)", "\xc1\xbf", 1, "\\xc1\\xbf");
	check("overlong '/' (3 bytes)", "\xe0\x80\xaf", 1, "\\xe0\\x80\\xaf");
	check("overlong U+07FF (3 bytes)", "\xe0\x9f\xbf", 1, "\\xe0\\x9f\\xbf");
	check("overlong '/' (4 bytes)", "\xf0\x80\x80\xaf", 1, "\\xf0\\x80\\x80\\xaf");
	check("overlong U+FFFF (4 bytes)", "\xf0\x8f\xbf\xbf", 1, "\\xf0\\x8f\\xbf\\xbf");
	check("surrogate U+D800", "\xed\xa0\x80", 1, "\\xed\\xa0\\x80");
	check("surrogate U+DFFF", "\xed\xbf\xbf", 1, "\\xed\\xbf\\xbf");
	check("surrogate pair (CESU-8)", "\xed\xa0\xbd\xed\xb8\x80", 1,
	      "\\xed\\xa0\\xbd\\xed\\xb8\\x80");
	check("above U+10FFFF", "\xf4\x90\x80\x80", 1, "\\xf4\\x90\\x80\\x80");
	check("0xf5 lead byte", "\xf5\x80\x80\x80", 1, "\\xf5\\x80\\x80\\x80");
	check("5-byte form", "\xf8\x88\x80\x80\x80", 1, "\\xf8\\x88\\x80\\x80\\x80");
	check("cut short at the end (2 of 3)", "ab\xe2\x82", 1, "ab\\xe2\\x82");
	check("cut short at the end (1 of 4)", "ab\xf0", 1, "ab\\xf0");
	check("cut short at the end (3 of 4)", "\xf0\x9d\x84", 1, "\\xf0\\x9d\\x84");
	check("cut short before ASCII", "\xe2\x82x", 1, "\\xe2\\x82x");
	check("valid after invalid", "\xff\xc3\xa9\\", 1, "\\xff\xc3\xa9\\\\");

	/* Text that escaping never produces (a client cannot choose what
	 * is stored: every backslash it sends is doubled) comes back as
	 * it is rather than as something else. */
	{
		static const char *const odd[] = { "\\x00", "\\xZZ", "\\xA1", "\\x4", "\\q", "x\\" };

		for (i = 0; i < AG_ARRAY_SIZE(odd); i++) {
			back = ag_pg_text_unescape(odd[i]);
			is_str(back, odd[i], "unescape of a form escaping never makes (%zu): kept", i);
			free(back);
		}
	}

	/* the longest name, every byte escaped: four times as long */
	if ((big = malloc(AG_NAME_MAX + 1)) == NULL) {
		ok(0, "malloc");
		return;
	}
	memset(big, 0xff, AG_NAME_MAX);
	big[AG_NAME_MAX] = '\0';
	esc = ag_pg_text_escape(big);
	ok(esc != NULL && strlen(esc) == 4 * AG_NAME_MAX, "4096 bytes of 0xff: 16384 escaped");
	back = esc != NULL ? ag_pg_text_unescape(esc) : NULL;
	ok(back != NULL && strcmp(back, big) == 0, "4096 bytes of 0xff: round trip");
	free(back);
	free(esc);
	free(big);
}

/* Random byte strings: needs_escape agrees with the referee, the escaped
 * form is valid UTF-8, and every string comes back; escaping distinct
 * strings gives distinct results (it has an inverse). */
static void
test_random(void)
{
	unsigned seed = 20240607;
	char buf[80], *in, *esc, *back;
	int i, bad_needs = 0, bad_utf8 = 0, bad_trip = 0, nomem = 0;
	size_t n, k;

	for (i = 0; i < 20000; i++) {
		n = (size_t)(rand_r(&seed) % 64);
		for (k = 0; k < n; k++) {
			/* mostly the bytes that make UTF-8 interesting */
			static const unsigned char pick[] = { 'a', '\\', 'x', '0', 0x80, 0xbf,
				                              0xc2, 0xdf, 0xe0, 0xed, 0xef,
				                              0xf0, 0xf4, 0xf5, 0xff, 0xa0 };
			unsigned r = (unsigned)rand_r(&seed);

			buf[k] = (char)(r % 3 == 0 ? 1 + (r >> 8) % 255 : pick[(r >> 8) % sizeof(pick)]);
		}
		buf[n] = '\0';
		if ((in = dup_exact(buf)) == NULL) {
			nomem++;
			continue;
		}
		if (ag_pg_text_needs_escape(in) != (strchr(in, '\\') != NULL || !ag_utf8_valid(in, n)))
			bad_needs++;
		esc = ag_pg_text_escape(in);
		back = esc != NULL ? ag_pg_text_unescape(esc) : NULL;
		if (esc == NULL || back == NULL)
			nomem++;
		else if (!ag_utf8_valid(esc, strlen(esc)))
			bad_utf8++;
		else if (strcmp(back, in) != 0)
			bad_trip++;
		free(back);
		free(esc);
		free(in);
	}
	is_int(nomem, 0, "random: no allocation failed");
	is_int(bad_needs, 0, "random: needs_escape is exactly \"backslash or not UTF-8\"");
	is_int(bad_utf8, 0, "random: every escaped form is valid UTF-8");
	is_int(bad_trip, 0, "random: every string comes back exactly");
}

int
main(void)
{
	test_cases();
	test_random();
	return done_testing();
}
