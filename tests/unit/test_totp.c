/* Unit tests for lib/totp: RFC 6238 Appendix B (SHA-1) and RFC 4226
 * Appendix D vectors, window and replay semantics of ag_totp_verify, and
 * hostile typed codes. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "totp.h"
#include "util.h"

#include "tap.h"

static const uint8_t rfc_key[] = "12345678901234567890"; /* 20 bytes + NUL */
#define RFC_KEYLEN 20

static void
test_rfc6238(void)
{
	static const struct {
		int64_t t;
		const char *code;
	} v[] = {
		{ 59, "94287082" },
		{ 1111111109, "07081804" },
		{ 1111111111, "14050471" },
		{ 1234567890, "89005924" },
		{ 2000000000, "69279037" },
		{ INT64_C(20000000000), "65353130" },
	};
	char code[AG_TOTP_CODE_SIZE];
	int64_t step, matched;
	size_t i;

	for (i = 0; i < AG_ARRAY_SIZE(v); i++) {
		is_int(ag_totp_step(v[i].t, 30, &step), 0, "step of T=%lld", (long long)v[i].t);
		is_int(ag_totp_code(rfc_key, RFC_KEYLEN, step, 8, code, sizeof(code)), 0,
		       "code at T=%lld", (long long)v[i].t);
		is_str(code, v[i].code, "RFC 6238 SHA-1 T=%lld", (long long)v[i].t);
		is_int(ag_totp_verify(rfc_key, RFC_KEYLEN, v[i].code,
		                      &(struct ag_totp_params){ 8, 30, 1 }, v[i].t, -1, &matched),
		       0, "verify accepts the RFC code at T=%lld", (long long)v[i].t);
		is_int(matched, step, "matched step at T=%lld", (long long)v[i].t);
	}
}

static void
test_rfc4226(void)
{
	static const char *const hotp[] = { "755224", "287082", "359152", "969429", "338314",
		                             "254676", "287922", "162583", "399871", "520489" };
	char code[AG_TOTP_CODE_SIZE];
	size_t i;

	for (i = 0; i < AG_ARRAY_SIZE(hotp); i++) {
		is_int(ag_totp_code(rfc_key, RFC_KEYLEN, (int64_t)i, 6, code, sizeof(code)), 0,
		       "HOTP count %zu", i);
		is_str(code, hotp[i], "RFC 4226 Appendix D count %zu", i);
	}
}

static void
test_params(void)
{
	char code[AG_TOTP_CODE_SIZE];
	uint8_t key[AG_TOTP_MAX_KEY + 1], k2[AG_TOTP_SECRET_BYTES];
	int64_t step = 99;

	memset(key, 7, sizeof(key));
	is_int(ag_totp_step(0, 30, &step), 0, "T=0");
	is_int(step, 0, "T=0 is step 0");
	is_int(ag_totp_step(29, 30, &step), 0, "T=29");
	is_int(step, 0, "T=29 is step 0");
	is_int(ag_totp_step(30, 30, &step), 0, "T=30");
	is_int(step, 1, "T=30 is step 1");
	is_int(ag_totp_step(INT64_MAX, 1, &step), 0, "T=INT64_MAX, period 1");
	is_int(ag_totp_step(-1, 30, &step), AG_ERR_RANGE, "negative time refused");
	is_int(ag_totp_step(100, 0, &step), AG_ERR_RANGE, "period 0 refused");
	is_int(ag_totp_step(100, AG_TOTP_MAX_PERIOD + 1, &step), AG_ERR_RANGE,
	       "period above the maximum refused");

	is_int(ag_totp_code(key, 15, 1, 6, code, sizeof(code)), AG_ERR_INVAL,
	       "a 120-bit key is refused");
	is_str(code, "", "no code on error");
	is_int(ag_totp_code(key, AG_TOTP_MAX_KEY + 1, 1, 6, code, sizeof(code)), AG_ERR_INVAL,
	       "an over-long key is refused");
	is_int(ag_totp_code(key, 16, 1, 6, code, sizeof(code)), 0, "a 128-bit key works");
	is_int(ag_totp_code(key, AG_TOTP_MAX_KEY, 1, 6, code, sizeof(code)), 0,
	       "a 512-bit key works");
	is_int(ag_totp_code(NULL, 20, 1, 6, code, sizeof(code)), AG_ERR_INVAL, "NULL key");
	is_int(ag_totp_code(key, 20, 1, 5, code, sizeof(code)), AG_ERR_INVAL, "5 digits refused");
	is_int(ag_totp_code(key, 20, 1, 9, code, sizeof(code)), AG_ERR_INVAL, "9 digits refused");
	is_int(ag_totp_code(key, 20, 1, 7, code, sizeof(code)), 0, "7 digits");
	is_int(strlen(code), 7, "7 digits long");
	is_int(ag_totp_code(key, 20, 1, 6, code, 6), AG_ERR_INVAL, "no room for the NUL");
	is_int(ag_totp_code(key, 20, -1, 6, code, sizeof(code)), AG_ERR_RANGE, "negative step");
	is_int(ag_totp_code(key, 20, INT64_MAX, 6, code, sizeof(code)), 0, "largest step");

	is_int(ag_totp_secret_generate(key, AG_TOTP_SECRET_BYTES), 0, "generate a secret");
	is_int(ag_totp_secret_generate(k2, sizeof(k2)), 0, "generate another");
	ok(memcmp(key, k2, sizeof(k2)) != 0, "two secrets differ");
	is_int(ag_totp_secret_generate(key, 8), AG_ERR_INVAL, "64-bit secret refused");
	is_int(ag_totp_secret_generate(key, sizeof(key)), AG_ERR_INVAL, "65-byte secret refused");
}

/* The code of `step` for key, as a string. */
static const char *
code_at(const uint8_t *key, int64_t step, unsigned digits)
{
	static char code[AG_TOTP_CODE_SIZE];

	if (ag_totp_code(key, 20, step, digits, code, sizeof(code)) != 0)
		return "error";
	return code;
}

static void
test_window_and_replay(void)
{
	const struct ag_totp_params p = AG_TOTP_PARAMS_DEFAULT, p0 = { 6, 30, 0 },
	                            p2 = { 6, 30, 2 }, p8 = { 8, 30, 1 };
	uint8_t key[20];
	const int64_t s = 55555555, now = s * 30 + 17; /* mid-step */
	char c[AG_TOTP_CODE_SIZE];
	int64_t m;

	memcpy(key, "\x3a\x91\x07\xee\x42\x10\x5c\xd3\x8b\x01\xff\x00\x20\x77\x9e\x64\x11\xc8\x3d\x50",
	       20);
	/* Make sure the five neighbouring codes differ, or a test below
	 * would prove nothing. */
	{
		char codes[5][AG_TOTP_CODE_SIZE];
		int i, j, distinct = 1;

		for (i = 0; i < 5; i++)
			ag_strlcpy(codes[i], code_at(key, s - 2 + i, 6), sizeof(codes[i]));
		for (i = 0; i < 5; i++)
			for (j = i + 1; j < 5; j++)
				distinct &= strcmp(codes[i], codes[j]) != 0;
		ok(distinct, "codes of steps s-2..s+2 are distinct");
	}

	ag_strlcpy(c, code_at(key, s, 6), sizeof(c));
	is_int(ag_totp_verify(key, 20, c, &p, now, -1, &m), 0, "current code accepted");
	is_int(m, s, "matched the current step");
	is_int(ag_totp_verify(key, 20, c, &p, now, s, &m), AG_TOTP_REPLAY,
	       "same code again (last_used = its step): replay");
	is_int(m, -1, "no matched step on replay");
	is_int(ag_totp_verify(key, 20, c, &p, now, s + 1, &m), AG_TOTP_REPLAY,
	       "code older than the last used: replay");
	is_int(ag_totp_verify(key, 20, c, &p, now, s - 1, &m), 0,
	       "code newer than the last used: accepted");

	ag_strlcpy(c, code_at(key, s - 1, 6), sizeof(c));
	is_int(ag_totp_verify(key, 20, c, &p, now, -1, &m), 0, "previous step accepted (+-1)");
	is_int(m, s - 1, "matched step s-1");
	ag_strlcpy(c, code_at(key, s + 1, 6), sizeof(c));
	is_int(ag_totp_verify(key, 20, c, &p, now, -1, &m), 0, "next step accepted (+-1)");
	is_int(m, s + 1, "matched step s+1");
	is_int(ag_totp_verify(key, 20, code_at(key, s, 6), &p, now, s + 1, &m), AG_TOTP_REPLAY,
	       "after a code of s+1, the code of s is a replay");

	ag_strlcpy(c, code_at(key, s - 2, 6), sizeof(c));
	is_int(ag_totp_verify(key, 20, c, &p, now, -1, &m), AG_TOTP_MISMATCH,
	       "a code two steps old is refused");
	is_int(ag_totp_verify(key, 20, c, &p2, now, -1, &m), 0, "... unless the window is 2");
	ag_strlcpy(c, code_at(key, s + 2, 6), sizeof(c));
	is_int(ag_totp_verify(key, 20, c, &p, now, -1, &m), AG_TOTP_MISMATCH,
	       "a code two steps ahead is refused");
	ag_strlcpy(c, code_at(key, s - 1, 6), sizeof(c));
	is_int(ag_totp_verify(key, 20, c, &p0, now, -1, &m), AG_TOTP_MISMATCH,
	       "window 0: previous step refused");
	is_int(ag_totp_verify(key, 20, code_at(key, s, 6), &p0, now, -1, &m), 0,
	       "window 0: current step accepted");

	/* step boundary: at now = s*30 exactly, step s-1 is the previous one */
	is_int(ag_totp_verify(key, 20, code_at(key, s - 1, 6), &p, s * 30, -1, &m), 0,
	       "at the first second of a step, the previous code works");
	is_int(ag_totp_verify(key, 20, code_at(key, s - 1, 6), &p, s * 30 + 30, -1, &m),
	       AG_TOTP_MISMATCH, "a step later it does not");

	/* wrong code, wrong key */
	ag_strlcpy(c, code_at(key, s, 6), sizeof(c));
	c[5] = c[5] == '9' ? '0' : (char)(c[5] + 1);
	is_int(ag_totp_verify(key, 20, c, &p, now, -1, &m), AG_TOTP_MISMATCH,
	       "last digit changed: mismatch");
	ag_strlcpy(c, code_at(key, s, 6), sizeof(c));
	key[0] ^= 1;
	is_int(ag_totp_verify(key, 20, c, &p, now, -1, &m), AG_TOTP_MISMATCH,
	       "other key: mismatch");
	key[0] ^= 1;

	/* 8 digits: the 6-digit code is not accepted, the 8-digit one is */
	is_int(ag_totp_verify(key, 20, code_at(key, s, 6), &p8, now, -1, &m), AG_ERR_INVAL,
	       "6 digits where 8 are expected: malformed");
	is_int(ag_totp_verify(key, 20, code_at(key, s, 8), &p8, now, -1, &m), 0,
	       "8-digit code accepted");

	/* early in time: steps below 0 are skipped, not wrapped */
	is_int(ag_totp_verify(key, 20, code_at(key, 0, 6), &p, 5, -1, &m), 0,
	       "T=5: step 0 accepted");
	is_int(m, 0, "matched step 0");
	is_int(ag_totp_verify(key, 20, code_at(key, 0, 6), &p, 5, 0, &m), AG_TOTP_REPLAY,
	       "T=5: step 0 again is a replay");

	/* parameters */
	is_int(ag_totp_verify(key, 20, code_at(key, s, 6), &(struct ag_totp_params){ 6, 30, 11 },
	                      now, -1, &m), AG_ERR_RANGE, "window 11 refused");
	is_int(ag_totp_verify(key, 20, code_at(key, s, 6), &(struct ag_totp_params){ 6, 0, 1 },
	                      now, -1, &m), AG_ERR_RANGE, "period 0 refused");
	is_int(ag_totp_verify(key, 20, code_at(key, s, 6), &p, -30, -1, &m), AG_ERR_RANGE,
	       "negative time refused");
	is_int(ag_totp_verify(key, 10, code_at(key, s, 6), &p, now, -1, &m), AG_ERR_INVAL,
	       "80-bit key refused");
	is_int(ag_totp_verify(key, 20, code_at(key, s, 6), NULL, now, -1, &m), AG_ERR_INVAL,
	       "no parameters");
	is_int(ag_totp_verify(key, 20, code_at(key, s, 6), &p, now, -1, NULL), AG_ERR_INVAL,
	       "no matched_step");
}

static void
test_typed_codes(void)
{
	const struct ag_totp_params p = AG_TOTP_PARAMS_DEFAULT;
	char out[AG_TOTP_CODE_SIZE], *big, spaced[32];
	const char *cur;
	uint8_t key[20];
	int64_t m = 42;
	const int64_t now = 1700000000;
	size_t i;
	static const char *const bad[] = {
		"", " ", "      ", "12345", "1234567", "12345a", "a23456", "123\t456", "123456\n",
		"\n123456", "+12345", "-12345", "12 34 5", "123-456", "12345\xd9\xa1",
		"\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6", /* Arabic-Indic digits */
		"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95\xef\xbc\x96", /* full width */
		"0x1234", "1e5678", "123456789012", "12345\x7f", "%d%d%d%n",
	};

	is_int(ag_totp_parse_code("123456", 6, out), 0, "plain code");
	is_str(out, "123456", "plain code kept");
	is_int(ag_totp_parse_code("123 456", 6, out), 0, "code typed as \"123 456\"");
	is_str(out, "123456", "space dropped");
	is_int(ag_totp_parse_code("  1 2 3 4 5 6  ", 6, out), 0, "spaces anywhere");
	is_str(out, "123456", "spaces dropped");
	is_int(ag_totp_parse_code("000000", 6, out), 0, "leading zeros");
	is_str(out, "000000", "leading zeros kept (a code, not a number)");
	is_int(ag_totp_parse_code("1234 5678", 8, out), 0, "8 digits");
	is_str(out, "12345678", "8 digits kept");

	for (i = 0; i < AG_ARRAY_SIZE(bad); i++) {
		is_int(ag_totp_parse_code(bad[i], 6, out), AG_ERR_INVAL, "reject \"%s\"", bad[i]);
		is_str(out, "", "rejected code leaves nothing behind (case %zu)", i);
	}
	is_int(ag_totp_parse_code(NULL, 6, out), AG_ERR_INVAL, "NULL input");

	/* 100 KiB lines: digits, spaces, letters */
	big = malloc(100 * 1024 + 1);
	if (big == NULL) {
		ok(0, "malloc");
		return;
	}
	big[100 * 1024] = '\0';
	memset(big, '1', 100 * 1024);
	is_int(ag_totp_parse_code(big, 6, out), AG_ERR_INVAL, "100 KiB of digits: too many digits");
	memset(big, ' ', 100 * 1024);
	memcpy(big, "123456", 6);
	is_int(ag_totp_parse_code(big, 6, out), AG_ERR_TOOLONG,
	       "a code followed by 100 KiB of spaces: too long");
	memset(big, 'x', 100 * 1024);
	is_int(ag_totp_parse_code(big, 6, out), AG_ERR_INVAL, "100 KiB of letters");
	memset(spaced, ' ', sizeof(spaced));
	memcpy(spaced + 10, "123456", 6);
	spaced[AG_TOTP_MAX_INPUT < sizeof(spaced) ? AG_TOTP_MAX_INPUT : sizeof(spaced) - 1] = '\0';
	is_int(ag_totp_parse_code(spaced, 6, out), 0, "a code padded with spaces within the bound");

	/* the same through verify: malformed is negative, never a grant */
	memset(key, 0x42, sizeof(key));
	cur = code_at(key, now / 30, 6);
	memset(big, ' ', 100 * 1024);
	memcpy(big, cur, 6);
	is_int(ag_totp_verify(key, 20, big, &p, now, -1, &m), AG_ERR_TOOLONG,
	       "verify: right code + 100 KiB of spaces is refused");
	is_int(m, -1, "verify: no matched step");
	for (i = 0; i < AG_ARRAY_SIZE(bad); i++)
		ok(ag_totp_verify(key, 20, bad[i], &p, now, -1, &m) < 0,
		   "verify refuses malformed \"%s\"", bad[i]);
	is_int(ag_totp_verify(key, 20, NULL, &p, now, -1, &m), AG_ERR_INVAL, "verify: NULL code");
	free(big);
}

/* A wrong-but-well-formed guess is rejected for every code in a range:
 * exhaustive over the first 2000 codes for a fixed time. */
static void
test_guessing(void)
{
	const struct ag_totp_params p = AG_TOTP_PARAMS_DEFAULT;
	uint8_t key[20];
	char guess[AG_TOTP_CODE_SIZE], valid[3][AG_TOTP_CODE_SIZE];
	const int64_t now = 1700000000, s = now / 30;
	int i, granted = 0, expected = 0, j, hit;
	int64_t m;

	memset(key, 0x5c, sizeof(key));
	for (j = 0; j < 3; j++)
		ag_strlcpy(valid[j], code_at(key, s - 1 + j, 6), sizeof(valid[j]));
	for (i = 0; i < 2000; i++) {
		snprintf(guess, sizeof(guess), "%06u", (unsigned)i % 1000000u);
		for (hit = 0, j = 0; j < 3; j++)
			hit |= strcmp(guess, valid[j]) == 0;
		expected += hit;
		granted += ag_totp_verify(key, 20, guess, &p, now, -1, &m) == 0;
	}
	is_int(granted, expected, "2000 guesses: exactly the valid codes among them are granted");
}

int
main(void)
{
	test_rfc6238();
	test_rfc4226();
	test_params();
	test_window_and_replay();
	test_typed_codes();
	test_guessing();
	return done_testing();
}
