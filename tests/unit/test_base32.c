/* Unit tests for lib/base32: RFC 4648 section 10 vectors, padding and
 * canonical-form rules, bounds, and hostile input. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "error.h"
#include "util.h"

#include "tap.h"

static const struct {
	const char *plain, *padded;
} rfc4648[] = {
	{ "", "" },
	{ "f", "MY======" },
	{ "fo", "MZXQ====" },
	{ "foo", "MZXW6===" },
	{ "foob", "MZXW6YQ=" },
	{ "fooba", "MZXW6YTB" },
	{ "foobar", "MZXW6YTBOI======" },
};

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
test_vectors(void)
{
	char enc[64], unpadded[64], lower[64];
	uint8_t dec[64];
	size_t i, j, n, len;

	for (i = 0; i < AG_ARRAY_SIZE(rfc4648); i++) {
		const char *plain = rfc4648[i].plain, *padded = rfc4648[i].padded;

		len = strcspn(padded, "=");
		memcpy(unpadded, padded, len);
		unpadded[len] = '\0';
		for (j = 0; j <= len; j++)
			lower[j] = (char)((unpadded[j] >= 'A' && unpadded[j] <= 'Z')
			                          ? unpadded[j] - 'A' + 'a' : unpadded[j]);

		is_int(ag_base32_encode((const uint8_t *)plain, strlen(plain), AG_BASE32_PAD, enc,
		                        sizeof(enc)), 0, "encode padded \"%s\"", plain);
		is_str(enc, padded, "encode padded \"%s\"", plain);
		is_int(ag_base32_encode((const uint8_t *)plain, strlen(plain), 0, enc, sizeof(enc)),
		       0, "encode unpadded \"%s\"", plain);
		is_str(enc, unpadded, "encode unpadded \"%s\"", plain);

		is_int(ag_base32_decode(padded, strlen(padded), 0, dec, sizeof(dec), &n), 0,
		       "decode \"%s\"", padded);
		ok(n == strlen(plain) && memcmp(dec, plain, n) == 0, "decode \"%s\" = \"%s\"",
		   padded, plain);
		is_int(ag_base32_decode(unpadded, strlen(unpadded), 0, dec, sizeof(dec), &n), 0,
		       "decode unpadded \"%s\"", unpadded);
		ok(n == strlen(plain) && memcmp(dec, plain, n) == 0, "decode \"%s\" = \"%s\"",
		   unpadded, plain);
		is_int(ag_base32_decode(lower, strlen(lower), 0, dec, sizeof(dec), &n), 0,
		       "decode lower case \"%s\"", lower);
		ok(n == strlen(plain) && memcmp(dec, plain, n) == 0, "decode \"%s\" = \"%s\"",
		   lower, plain);
	}
	/* A TOTP-sized secret: the RFC 6238 key "12345678901234567890". */
	is_int(ag_base32_encode((const uint8_t *)"12345678901234567890", 20, 0, enc, sizeof(enc)),
	       0, "encode RFC 6238 key");
	is_str(enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "RFC 6238 key in Base32");
}

static void
check_decode_fails(const char *in, size_t inlen, int flags, int want, const char *what)
{
	uint8_t dec[64];
	size_t n = 99;

	memset(dec, 0xa5, sizeof(dec));
	is_int(ag_base32_decode(in, inlen, flags, dec, sizeof(dec), &n), want, "reject %s", what);
	ok(n == 0 && all_zero(dec, sizeof(dec)), "%s: output wiped, length 0", what);
}

static void
test_strict_decode(void)
{
	uint8_t dec[64];
	size_t n;

	/* spaces only with the flag, anywhere */
	is_int(ag_base32_decode("MZXW 6YTB OI", 12, AG_BASE32_SPACES, dec, sizeof(dec), &n), 0,
	       "spaces skipped with AG_BASE32_SPACES");
	ok(n == 6 && memcmp(dec, "foobar", 6) == 0, "grouped input decodes to foobar");
	is_int(ag_base32_decode(" MZXW6YTBOI====== ", 18, AG_BASE32_SPACES, dec, sizeof(dec), &n),
	       0, "leading/trailing spaces with padding and flag");
	check_decode_fails("MZXW 6YTB", 9, 0, AG_ERR_INVAL, "space without the flag");

	check_decode_fails("MZXW6YT1", 8, 0, AG_ERR_INVAL, "digit 1 (not in the alphabet)");
	check_decode_fails("MZXW6YT0", 8, 0, AG_ERR_INVAL, "digit 0");
	check_decode_fails("MZXW6YT8", 8, 0, AG_ERR_INVAL, "digit 8");
	check_decode_fails("MZXW-6YTB", 9, AG_BASE32_SPACES, AG_ERR_INVAL, "dash");
	check_decode_fails("MZXW\t6YTB", 9, AG_BASE32_SPACES, AG_ERR_INVAL, "tab");
	check_decode_fails("MZXW6YTB\n", 9, AG_BASE32_SPACES, AG_ERR_INVAL, "newline");
	check_decode_fails("MZXW\0" "6YTB", 9, 0, AG_ERR_INVAL, "embedded NUL");
	check_decode_fails("MZXW\xc3\x96YTB", 9, 0, AG_ERR_INVAL, "non-ASCII byte");
	check_decode_fails("MY=A====", 8, 0, AG_ERR_INVAL, "data after padding");
	check_decode_fails("M", 1, 0, AG_ERR_INVAL, "1 character (no encoder makes it)");
	check_decode_fails("MZX", 3, 0, AG_ERR_INVAL, "3 characters");
	check_decode_fails("MZXW6Y", 6, 0, AG_ERR_INVAL, "6 characters");
	check_decode_fails("MY=", 3, 0, AG_ERR_INVAL, "short padding");
	check_decode_fails("MY=======", 9, 0, AG_ERR_INVAL, "too much padding");
	check_decode_fails("========", 8, 0, AG_ERR_INVAL, "padding only");
	check_decode_fails("MZXW6YTB========", 16, 0, AG_ERR_INVAL, "padding after a full block");
	check_decode_fails("MZ======", 8, 0, AG_ERR_INVAL, "non-zero trailing bits (MZ)");
	check_decode_fails("MZ", 2, 0, AG_ERR_INVAL, "non-zero trailing bits, unpadded");
	check_decode_fails("MZXR", 4, 0, AG_ERR_INVAL, "non-canonical 4-character group");

	/* the empty string is zero bytes */
	is_int(ag_base32_decode("", 0, 0, dec, sizeof(dec), &n), 0, "empty input decodes");
	is_int(n, 0, "empty input is zero bytes");
}

static void
test_bounds(void)
{
	char enc[9], *big;
	uint8_t dec[5], small[4];
	size_t n = 1;

	/* encode: "fooba" needs 8 characters and a NUL */
	is_int(ag_base32_encode((const uint8_t *)"fooba", 5, 0, enc, sizeof(enc)), 0,
	       "encode into an exact buffer");
	is_str(enc, "MZXW6YTB", "exact buffer holds the result");
	is_int(ag_base32_encode((const uint8_t *)"fooba", 5, 0, enc, 8), AG_ERR_TOOLONG,
	       "encode into a buffer one byte short");
	is_str(enc, "", "short buffer leaves an empty string");
	is_int(ag_base32_encode((const uint8_t *)"foobar", 6, AG_BASE32_PAD, enc, sizeof(enc)),
	       AG_ERR_TOOLONG, "padded encode needs 16 characters");
	is_int(ag_base32_encode(NULL, 0, 0, enc, sizeof(enc)), 0, "encode of nothing");
	is_str(enc, "", "encode of nothing is empty");
	is_int(ag_base32_encode((const uint8_t *)"x", 1, 0, NULL, 0), AG_ERR_INVAL,
	       "encode without a buffer");

	/* decode: "foobar" is 6 bytes */
	is_int(ag_base32_decode("MZXW6YTBOI", 10, 0, dec, sizeof(dec), &n), AG_ERR_TOOLONG,
	       "decode into a short buffer");
	is_int(n, 0, "short buffer: length 0");
	is_int(ag_base32_decode("MZXW6YTB", 8, 0, dec, sizeof(dec), &n), 0,
	       "decode into an exact buffer");
	is_int(ag_base32_decode("MZXW6YTB", 8, 0, small, sizeof(small), &n), AG_ERR_TOOLONG,
	       "decode 5 bytes into 4");

	/* 100 KiB of valid characters: refused by length, not by memory */
	big = malloc(100 * 1024 + 1);
	if (big == NULL) {
		ok(0, "malloc");
		return;
	}
	memset(big, 'A', 100 * 1024);
	big[100 * 1024] = '\0';
	is_int(ag_base32_decode(big, 100 * 1024, 0, dec, sizeof(dec), &n), AG_ERR_TOOLONG,
	       "100 KiB input refused");
	is_int(ag_base32_encode((const uint8_t *)big, 100 * 1024, 0, enc, sizeof(enc)),
	       AG_ERR_TOOLONG, "100 KiB encode refused");
	free(big);
}

static void
test_round_trip(void)
{
	uint8_t in[200], out[200];
	char enc[400];
	size_t len, n;
	int i, bad = 0, flags;

	for (i = 0; i < 2000; i++) {
		len = randombytes_uniform(sizeof(in) + 1);
		randombytes_buf(in, len);
		flags = (i & 1) ? AG_BASE32_PAD : 0;
		if (ag_base32_encode(in, len, flags, enc, sizeof(enc)) != 0 ||
		    strlen(enc) != ((flags & AG_BASE32_PAD) ? AG_BASE32_PADDED_LEN(len)
		                                          : AG_BASE32_ENCODED_LEN(len)) ||
		    ag_base32_decode(enc, strlen(enc), 0, out, sizeof(out), &n) != 0 || n != len ||
		    memcmp(in, out, len) != 0)
			bad++;
	}
	is_int(bad, 0, "2000 random round trips (0..200 bytes, padded and not)");
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_vectors();
	test_strict_decode();
	test_bounds();
	test_round_trip();
	return done_testing();
}
