/* Unit tests for lib/util (and the small modules built on it: error, log,
 * clock): number, duration and boolean parsing, bounded copies, log-safe
 * escaping and the human wait format, with hostile input. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "log.h"
#include "util.h"

#include "tap.h"

#define UNTOUCHED INT64_C(0x5a5a5a5a)

/* Parses s and checks the result code and, on success, the value; on
 * failure the output must be left untouched. */
static void
check_int64(const char *s, int64_t min, int64_t max, int want_rc, int64_t want)
{
	int64_t v = UNTOUCHED;
	int r = ag_parse_int64(s, min, max, &v);

	is_int(r, want_rc, "ag_parse_int64(\"%s\", %lld, %lld) returns %d",
	       s != NULL ? s : "(null)", (long long)min, (long long)max, want_rc);
	if (want_rc == 0)
		is_int(v, want, "ag_parse_int64(\"%s\") = %lld", s, (long long)want);
	else
		is_int(v, UNTOUCHED, "ag_parse_int64(\"%s\") leaves *out untouched",
		       s != NULL ? s : "(null)");
}

static void
test_parse_int64(void)
{
	/* plain values and bounds */
	check_int64("0", 0, 10, 0, 0);
	check_int64("10", 0, 10, 0, 10);
	check_int64("7", 0, 10, 0, 7);
	check_int64("11", 0, 10, AG_ERR_RANGE, 0);
	check_int64("0", 1, 10, AG_ERR_RANGE, 0);
	check_int64("1", 1, 1, 0, 1);

	/* leading zeros are plain decimal (not octal) */
	check_int64("01", 0, 100, 0, 1);
	check_int64("010", 0, 100, 0, 10);
	check_int64("0000000000000000000000000000042", 0, 100, 0, 42);

	/* syntax: no spaces, no '+', no trailing bytes, no hex */
	check_int64("", 0, 10, AG_ERR_INVAL, 0);
	check_int64(NULL, 0, 10, AG_ERR_INVAL, 0);
	check_int64("+1", 0, 10, AG_ERR_INVAL, 0);
	check_int64(" 1", 0, 10, AG_ERR_INVAL, 0);
	check_int64("1 ", 0, 10, AG_ERR_INVAL, 0);
	check_int64("1\n", 0, 10, AG_ERR_INVAL, 0);
	check_int64("\t1", 0, 10, AG_ERR_INVAL, 0);
	check_int64("1a", 0, 100, AG_ERR_INVAL, 0);
	check_int64("0x10", 0, 100, AG_ERR_INVAL, 0);
	check_int64("1e3", 0, 10000, AG_ERR_INVAL, 0);
	check_int64("1.0", 0, 10, AG_ERR_INVAL, 0);
	check_int64("1,000", 0, 10000, AG_ERR_INVAL, 0);
	check_int64("--1", -10, 10, AG_ERR_INVAL, 0);
	check_int64("-", -10, 10, AG_ERR_INVAL, 0);
	check_int64("- 1", -10, 10, AG_ERR_INVAL, 0);
	check_int64("\xd9\xa3", 0, 10, AG_ERR_INVAL, 0); /* ARABIC-INDIC DIGIT THREE */

	/* negatives: only where min < 0 */
	check_int64("-1", 0, 10, AG_ERR_INVAL, 0);
	check_int64("-0", 0, 10, AG_ERR_INVAL, 0);
	check_int64("-1", -5, 5, 0, -1);
	check_int64("-5", -5, 5, 0, -5);
	check_int64("-6", -5, 5, AG_ERR_RANGE, 0);
	check_int64("-0", -5, 5, 0, 0);

	/* the int64 edges */
	check_int64("9223372036854775807", 0, INT64_MAX, 0, INT64_MAX);
	check_int64("9223372036854775808", 0, INT64_MAX, AG_ERR_RANGE, 0);
	check_int64("9223372036854775809", 0, INT64_MAX, AG_ERR_RANGE, 0);
	check_int64("18446744073709551615", 0, INT64_MAX, AG_ERR_RANGE, 0);
	check_int64("18446744073709551616", 0, INT64_MAX, AG_ERR_RANGE, 0);
	check_int64("99999999999999999999999999999999", 0, INT64_MAX, AG_ERR_RANGE, 0);
	check_int64("-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN);
	check_int64("-9223372036854775807", INT64_MIN, INT64_MAX, 0, -INT64_MAX);
	check_int64("-9223372036854775809", INT64_MIN, INT64_MAX, AG_ERR_RANGE, 0);
	check_int64("-18446744073709551616", INT64_MIN, INT64_MAX, AG_ERR_RANGE, 0);
	check_int64("-9223372036854775808", -100, 100, AG_ERR_RANGE, 0);
	check_int64("9223372036854775807", 0, 1000, AG_ERR_RANGE, 0);

	/* overflow with trailing garbage is still an error */
	{
		int64_t v = UNTOUCHED;

		ok(ag_parse_int64("99999999999999999999x", 0, INT64_MAX, &v) != 0 && v == UNTOUCHED,
		   "overflow followed by garbage is rejected");
	}
}

static void
check_duration(const char *s, int64_t min, int64_t max, int want_rc, int64_t want)
{
	int64_t v = UNTOUCHED;
	int r = ag_parse_duration(s, min, max, &v);

	if (want_rc == 0) {
		is_int(r, 0, "ag_parse_duration(\"%s\") succeeds", s);
		is_int(v, want, "ag_parse_duration(\"%s\") = %lld", s, (long long)want);
	} else {
		ok(r == want_rc || (want_rc == -100 && r != 0),
		   "ag_parse_duration(\"%s\", %lld, %lld) is rejected (%d)",
		   s != NULL ? s : "(null)", (long long)min, (long long)max, r);
		is_int(v, UNTOUCHED, "ag_parse_duration(\"%s\") leaves *out untouched",
		       s != NULL ? s : "(null)");
	}
}

#define ANY_ERR (-100) /* rejected, whichever code */
#define DMAX (INT64_C(365) * 86400)

static void
test_parse_duration(void)
{
	check_duration("900", 0, DMAX, 0, 900);
	check_duration("0", 0, DMAX, 0, 0);
	check_duration("30s", 0, DMAX, 0, 30);
	check_duration("15m", 0, DMAX, 0, 900);
	check_duration("1h", 0, DMAX, 0, 3600);
	check_duration("2d", 0, DMAX, 0, 172800);
	check_duration("0m", 0, DMAX, 0, 0);
	check_duration("01m", 0, DMAX, 0, 60);

	check_duration("1.5h", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("m", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("s", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration(NULL, 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("h1", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("1x", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("1mm", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("1hm", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("1H", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("15 m", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration(" 15m", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("15m ", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("+15m", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("-1m", 0, DMAX, AG_ERR_INVAL, 0);
	check_duration("1w", 0, DMAX, AG_ERR_INVAL, 0);

	/* bounds apply to seconds, after the unit */
	check_duration("2h", 0, 3600, AG_ERR_RANGE, 0);
	check_duration("60m", 0, 3600, 0, 3600);
	check_duration("61m", 0, 3600, AG_ERR_RANGE, 0);
	check_duration("59s", 60, 3600, AG_ERR_RANGE, 0);
	check_duration("1m", 60, 3600, 0, 60);

	/* overflow in the number or in the unit multiplication */
	check_duration("9223372036854775808", 0, INT64_MAX, ANY_ERR, 0);
	check_duration("9223372036854775807d", 0, INT64_MAX, ANY_ERR, 0);
	check_duration("106751991167301d", 0, INT64_MAX, ANY_ERR, 0);
	check_duration("153722867280912931m", 0, INT64_MAX, ANY_ERR, 0);
	check_duration("99999999999999999999999999999999999999h", 0, INT64_MAX, ANY_ERR, 0);
	check_duration("106751991167300d", 0, INT64_MAX, 0, INT64_C(106751991167300) * 86400);
}

static void
test_parse_bool(void)
{
	static const char *const yes[] = {"yes", "YES", "Yes", "true", "TRUE", "on", "On", "1"};
	static const char *const no[] = {"no", "NO", "false", "False", "off", "OFF", "0"};
	static const char *const bad[] = {"",   "y",  "n",      "yes ",  " yes", "2",
	                                  "-1", "01", "enable", "yes\n", "nope", "truefalse"};
	size_t i;
	int b;

	for (i = 0; i < AG_ARRAY_SIZE(yes); i++) {
		b = -1;
		ok(ag_parse_bool(yes[i], &b) == 0 && b == 1, "ag_parse_bool(\"%s\") = 1", yes[i]);
	}
	for (i = 0; i < AG_ARRAY_SIZE(no); i++) {
		b = -1;
		ok(ag_parse_bool(no[i], &b) == 0 && b == 0, "ag_parse_bool(\"%s\") = 0", no[i]);
	}
	for (i = 0; i < AG_ARRAY_SIZE(bad); i++) {
		b = -1;
		ok(ag_parse_bool(bad[i], &b) == AG_ERR_INVAL && b == -1,
		   "ag_parse_bool(\"%s\") is rejected, *out untouched", bad[i]);
	}
	b = -1;
	ok(ag_parse_bool(NULL, &b) == AG_ERR_INVAL && b == -1, "ag_parse_bool(NULL) is rejected");
}

static void
test_strlcpy(void)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	is_int(ag_strlcpy(buf, "abc", sizeof(buf)), 0, "strlcpy short string");
	is_str(buf, "abc", "strlcpy copies");

	is_int(ag_strlcpy(buf, "1234567", sizeof(buf)), 0, "strlcpy exact fit (7 + NUL)");
	is_str(buf, "1234567", "strlcpy exact fit copies");

	is_int(ag_strlcpy(buf, "12345678", sizeof(buf)), AG_ERR_TOOLONG, "strlcpy one too long");
	is_str(buf, "1234567", "strlcpy truncates and terminates");

	is_int(ag_strlcpy(buf, "a much longer string than that", sizeof(buf)), AG_ERR_TOOLONG,
	       "strlcpy long string");
	is_str(buf, "a much ", "strlcpy truncation keeps the first dstsize-1 bytes");

	is_int(ag_strlcpy(buf, "", sizeof(buf)), 0, "strlcpy empty string");
	is_str(buf, "", "strlcpy empty copies");

	memset(buf, 'X', sizeof(buf));
	is_int(ag_strlcpy(buf, "abc", 1), AG_ERR_TOOLONG, "strlcpy into 1 byte");
	is_int(buf[0], '\0', "strlcpy into 1 byte writes only NUL");
	is_int(buf[1], 'X', "strlcpy into 1 byte writes nothing else");

	memset(buf, 'X', sizeof(buf));
	is_int(ag_strlcpy(buf, "abc", 0), AG_ERR_TOOLONG, "strlcpy into 0 bytes");
	is_int(buf[0], 'X', "strlcpy into 0 bytes writes nothing");
}

/* 1 when s holds only bytes ag_log_escape() may emit. */
static int
log_token_clean(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c >= 0x7f || c == '=' || c == '"' || c == '\'')
			return 0;
	}
	return 1;
}

static void
escape(char *dst, size_t dstsize, const char *src, size_t srclen, size_t maxout)
{
	memset(dst, 'Z', dstsize);
	ag_log_escape(dst, dstsize, src, srclen, maxout);
}

static void
test_log_escape(void)
{
	char out[4 * 64 + 4], all[256], big[4 * 300 + 4];
	size_t i;

	escape(out, sizeof(out), "alice", 5, 64);
	is_str(out, "alice", "escape keeps plain names");
	escape(out, sizeof(out), "a.b_c@d:e/f+g-h", 15, 64);
	is_str(out, "a.b_c@d:e/f+g-h", "escape keeps . _ @ : / + -");
	escape(out, sizeof(out), "", 0, 64);
	is_str(out, "\"\"", "empty input gives \"\"");

	escape(out, sizeof(out), "a b", 3, 64);
	is_str(out, "a\\x20b", "space escaped");
	escape(out, sizeof(out), "a\nevent=x", 9, 64);
	is_str(out, "a\\x0aevent\\x3dx", "newline and '=' escaped");
	escape(out, sizeof(out), "\r\t", 2, 64);
	is_str(out, "\\x0d\\x09", "CR and TAB escaped");
	escape(out, sizeof(out), "\"q\"'", 4, 64);
	is_str(out, "\\x22q\\x22\\x27", "quotes escaped");
	escape(out, sizeof(out), "\\x0a", 4, 64);
	is_str(out, "\\x5cx0a", "backslash escaped, so a literal \\x0a cannot pass as one");
	escape(out, sizeof(out), "\x80\xff\xc3\xa9", 4, 64);
	is_str(out, "\\x80\\xff\\xc3\\xa9", "bytes >= 0x80 become \\xHH (lower-case)");
	escape(out, sizeof(out), "a\0b", 3, 64);
	is_str(out, "a\\x00b", "embedded NUL escaped, srclen honoured");
	escape(out, sizeof(out), "\x7f", 1, 64);
	is_str(out, "\\x7f", "DEL escaped");
	escape(out, sizeof(out), "abcdef", 3, 64);
	is_str(out, "abc", "only srclen bytes are read");

	/* truncation */
	escape(out, sizeof(out), "abcdefgh", 8, 8);
	is_str(out, "abcdefgh", "exactly maxout bytes: no ellipsis");
	escape(out, sizeof(out), "abcdefghij", 10, 8);
	is_str(out, "abcdefgh...", "longer than maxout: cut and \"...\"");
	escape(out, sizeof(out), "ab\ncd", 5, 5);
	is_str(out, "ab...", "an escape never straddles the cut");
	escape(out, sizeof(out), "\n\n\n", 3, 8);
	is_str(out, "\\x0a\\x0a...", "escapes count towards maxout");

	/* a destination smaller than 4 * maxout + 4 is still never overrun */
	{
		char small[8];

		memset(small, 'Z', sizeof(small));
		ag_log_escape(small, 7, "abcdefghijklmnop", 16, 64);
		ok(memchr(small, '\0', 7) != NULL && small[7] == 'Z',
		   "short dst: terminated, nothing written past dstsize");
		ok(strlen(small) >= 3 && strcmp(small + strlen(small) - 3, "...") == 0,
		   "short dst: output ends in \"...\" (got %s)", small);
		memset(small, 'Z', sizeof(small));
		ag_log_escape(small, 0, "abc", 3, 64);
		is_int(small[0], 'Z', "dstsize 0 writes nothing");
	}

	/* every byte value: output only holds safe characters */
	for (i = 0; i < sizeof(all); i++)
		all[i] = (char)i;
	escape(big, sizeof(big), all, sizeof(all), 4 * 256);
	ok(log_token_clean(big), "all 256 byte values: no control, space, quote or '=' in output");
	is_int(strlen(big), 69 + 4 * (256 - 69), "all 256 byte values: output length");
	for (i = 0; i < 256; i++) {
		char one[16];
		char c = (char)i;

		escape(one, sizeof(one), &c, 1, 8);
		if (!log_token_clean(one) || strlen(one) == 0) {
			ok(0, "byte 0x%02zx escapes cleanly (got %s)", i, one);
			break;
		}
	}
	if (i == 256)
		ok(1, "each single byte escapes to clean output");

	/* cut output: still clean, bounded */
	escape(big, sizeof(big), all, sizeof(all), 100);
	ok(log_token_clean(big), "cut output is clean");
	ok(strlen(big) <= 100 + 3, "cut output at most maxout + 3 bytes (%zu)", strlen(big));
}

/* RFC 3629 and jansson agree on what is UTF-8; these are the edges. */
static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len, want;
		uint32_t cp;
		const char *what;
	} cases[] = {
		{ "a", 1, 1, 'a', "ASCII" },
		{ "\x7f", 1, 1, 0x7f, "DEL is ASCII" },
		{ "\xc2\x80", 2, 2, 0x80, "smallest 2-byte" },
		{ "\xdf\xbf", 2, 2, 0x7ff, "largest 2-byte" },
		{ "\xe0\xa0\x80", 3, 3, 0x800, "smallest 3-byte" },
		{ "\xed\x9f\xbf", 3, 3, 0xd7ff, "just below the surrogates" },
		{ "\xee\x80\x80", 3, 3, 0xe000, "just above the surrogates" },
		{ "\xef\xbf\xbf", 3, 3, 0xffff, "U+FFFF" },
		{ "\xf0\x90\x80\x80", 4, 4, 0x10000, "smallest 4-byte" },
		{ "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff, "U+10FFFF" },
		{ "\x80", 1, 0, 0, "a lone continuation byte" },
		{ "\xbf", 1, 0, 0, "another continuation byte" },
		{ "\xc0\xaf", 2, 0, 0, "overlong '/' (0xc0)" },
		{ "\xc1\xbf", 2, 0, 0, "overlong (0xc1)" },
		{ "\xe0\x9f\xbf", 3, 0, 0, "overlong 3-byte" },
		{ "\xf0\x8f\xbf\xbf", 4, 0, 0, "overlong 4-byte" },
		{ "\xed\xa0\x80", 3, 0, 0, "surrogate U+D800" },
		{ "\xed\xbf\xbf", 3, 0, 0, "surrogate U+DFFF" },
		{ "\xf4\x90\x80\x80", 4, 0, 0, "above U+10FFFF" },
		{ "\xf5\x80\x80\x80", 4, 0, 0, "0xf5 lead" },
		{ "\xff", 1, 0, 0, "0xff" },
		{ "\xc3", 1, 0, 0, "cut short (2-byte)" },
		{ "\xe2\x82", 2, 0, 0, "cut short (3-byte)" },
		{ "\xe2\x28\xa1", 3, 0, 0, "bad continuation" },
		{ "\xc3\xa9", 1, 0, 0, "valid bytes past n are not read" },
	};
	size_t i;
	uint32_t cp;

	for (i = 0; i < AG_ARRAY_SIZE(cases); i++) {
		cp = 0xdeadbeef;
		is_int(ag_utf8_decode(cases[i].s, cases[i].len, &cp), cases[i].want, "utf8: %s",
		       cases[i].what);
		if (cases[i].want != 0)
			is_int(cp, cases[i].cp, "utf8: %s: code point", cases[i].what);
		else
			is_int(cp, 0xdeadbeef, "utf8: %s: code point untouched", cases[i].what);
	}
	is_int(ag_utf8_decode("x", 0, NULL), 0, "utf8: nothing to decode");
	is_int(ag_utf8_valid("", 0), 1, "utf8: empty is valid");
	is_int(ag_utf8_valid("j\xc3\xbcrgen", 7), 1, "utf8: valid name");
	is_int(ag_utf8_valid("spray\xffuser", 10), 0, "utf8: 0xff inside");
	is_int(ag_utf8_valid("ok\xe2\x82", 4), 0, "utf8: cut short at the end");
}

static void
test_format_wait(void)
{
	static const struct {
		int64_t secs;
		const char *want;
	} cases[] = {
		{0, "0 seconds"},
		{1, "1 second"},
		{16, "16 seconds"},
		{119, "119 seconds"},
		{120, "2 minutes"},
		{121, "3 minutes"},
		{3419, "57 minutes"},
		{3420, "57 minutes"},
		{3600, "60 minutes"},
		{7199, "120 minutes"},
		{7200, "2 hours"},
		{86400, "24 hours"},
		{172799, "48 hours"},
		{172800, "2 days"},
		{31536000, "365 days"},
		{-1, "0 seconds"},
		{-1000000, "0 seconds"},
		{INT64_MIN, "0 seconds"},
		/* ceil(INT64_MAX / 86400): must not overflow while rounding up */
		{INT64_MAX, "106751991167301 days"},
		{INT64_MAX - 3599, "106751991167301 days"},
	};
	char buf[64];
	size_t i;

	for (i = 0; i < AG_ARRAY_SIZE(cases); i++) {
		memset(buf, 0, sizeof(buf));
		ag_format_wait(buf, sizeof(buf), cases[i].secs);
		is_str(buf, cases[i].want, "ag_format_wait(%lld)", (long long)cases[i].secs);
	}
	memset(buf, 'Z', sizeof(buf));
	ag_format_wait(buf, 5, 3600);
	is_str(buf, "60 m", "ag_format_wait truncates to dstsize");
	is_int(buf[5], 'Z', "ag_format_wait writes nothing past dstsize");
}

/* The small modules that sit on util: error strings, log lines, clock. */
static void
test_small_modules(void)
{
	struct ag_logline l;
	char long_value[600];
	int e;

	for (e = AG_ERR_EXISTS; e <= AG_OK; e++)
		ok(ag_strerror(e) != NULL && strcmp(ag_strerror(e), "unknown error") != 0,
		   "ag_strerror(%d) = %s", e, ag_strerror(e));
	is_str(ag_strerror(12345), "unknown error", "ag_strerror of an unknown code");

	ag_logline_init(&l, "auth_fail");
	ag_logline_str(&l, "user", "alice\nevent=auth_ok user=root");
	ag_logline_int(&l, "failures", 3);
	ag_logline_str(&l, "rhost", NULL);
	is_str(l.buf,
	       "event=auth_fail user=alice\\x0aevent\\x3dauth_ok\\x20user\\x3droot failures=3",
	       "log line: a hostile value cannot add a line or a field");
	is_int(l.len, strlen(l.buf), "log line: len matches");

	/* A value already in escaped form (a raw host subject) is logged
	 * once-escaped: "\x0a", never "\x5cx0a". */
	ag_logline_init(&l, "auth_fail");
	ag_logline_escaped(&l, "host", "raw:a\\x0ab");
	is_str(l.buf, "event=auth_fail host=raw:a\\x0ab", "escaped value kept as it is");
	ag_logline_init(&l, "x");
	ag_logline_escaped(&l, "host", "a\nevent=auth_ok");
	is_str(l.buf, "event=x host=a\\x0aevent\\x3dauth_ok",
	       "a value that is not in escaped form is escaped");
	ag_logline_init(&l, "x");
	ag_logline_escaped(&l, "host", "a\\x0");
	is_str(l.buf, "event=x host=a\\x5cx0", "a cut escape sequence is escaped");
	ag_logline_init(&l, "x");
	ag_logline_escaped(&l, "host", "a\\xZZ b");
	is_str(l.buf, "event=x host=a\\x5cxZZ\\x20b", "a fake escape sequence is escaped");
	ag_logline_init(&l, "x");
	ag_logline_escaped(&l, "host", "");
	is_str(l.buf, "event=x host=\"\"", "empty escaped value");

	memset(long_value, 'a', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	ag_logline_init(&l, "x");
	ag_logline_escaped(&l, "host", long_value);
	is_int(strlen(l.buf), strlen("event=x host=") + 512, "escaped value cut at 512 bytes");
	ok(strcmp(l.buf + strlen(l.buf) - 3, "...") == 0, "... and ends in \"...\"");
	ag_logline_init(&l, "x");
	ag_logline_str(&l, "user", long_value);
	is_int(strlen(l.buf), strlen("event=x user=") + 128 + 3,
	       "log value cut at 128 bytes + \"...\"");

	ag_logline_init(&l, "x");
	for (e = 0; e < 20; e++)
		ag_logline_str(&l, "user", long_value);
	ok(l.len < AG_LOGLINE_MAX && l.buf[l.len] == '\0' && strlen(l.buf) == l.len,
	   "log line never exceeds its buffer (%zu)", l.len);

	if (ag_clock_is_test_build()) {
		setenv("AUTHGUARD_TEST_TIME", "1700000000", 1);
		is_int(ag_clock_now(), 1700000000, "test clock honours AUTHGUARD_TEST_TIME");
		setenv("AUTHGUARD_TEST_TIME", "-5", 1);
		ok(ag_clock_now() > 1600000000, "test clock ignores a malformed time");
		unsetenv("AUTHGUARD_TEST_TIME");
	} else {
		setenv("AUTHGUARD_TEST_TIME", "1700000000", 1);
		ok(ag_clock_now() != 1700000000, "release clock ignores AUTHGUARD_TEST_TIME");
		unsetenv("AUTHGUARD_TEST_TIME");
	}
	ok(ag_clock_now() > 1600000000, "clock reads the real time");
}

int
main(void)
{
	test_parse_int64();
	test_parse_duration();
	test_parse_bool();
	test_strlcpy();
	test_log_escape();
	test_utf8();
	test_format_wait();
	test_small_modules();
	return done_testing();
}
