/* Test driver for tests/interop/totp_oathtool.sh: lib/totp and lib/base32
 * from the command line, so codes can be compared with oathtool's.
 *
 *   totp_tool secret BYTES                   random secret, Base32
 *   totp_tool code BASE32 UNIXTIME DIGITS    the code at that time
 *   totp_tool verify BASE32 UNIXTIME DIGITS CODE [LAST_USED_STEP]
 *                                            exit 0 accepted, 1 refused
 *
 * Exit status 2 for usage errors. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "error.h"
#include "totp.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: totp_tool secret BYTES | code BASE32 TIME DIGITS |"
	                " verify BASE32 TIME DIGITS CODE [LAST_USED_STEP]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	uint8_t key[AG_TOTP_MAX_KEY];
	char b32[AG_BASE32_ENCODED_LEN(AG_TOTP_MAX_KEY) + 1], code[AG_TOTP_CODE_SIZE];
	struct ag_totp_params p = AG_TOTP_PARAMS_DEFAULT;
	int64_t n, t, digits, last = -1, step, matched;
	size_t keylen;
	int r;

	if (argc < 2 || sodium_init() < 0)
		return usage();
	if (strcmp(argv[1], "secret") == 0 && argc == 3) {
		if (ag_parse_int64(argv[2], AG_TOTP_MIN_KEY, AG_TOTP_MAX_KEY, &n) != 0 ||
		    ag_totp_secret_generate(key, (size_t)n) != 0 ||
		    ag_base32_encode(key, (size_t)n, 0, b32, sizeof(b32)) != 0)
			return usage();
		puts(b32);
		return 0;
	}
	if ((strcmp(argv[1], "code") != 0 || argc != 5) &&
	    (strcmp(argv[1], "verify") != 0 || (argc != 6 && argc != 7)))
		return usage();
	if (ag_base32_decode(argv[2], strlen(argv[2]), 0, key, sizeof(key), &keylen) != 0 ||
	    ag_parse_int64(argv[3], 0, INT64_MAX, &t) != 0 ||
	    ag_parse_int64(argv[4], AG_TOTP_MIN_DIGITS, AG_TOTP_MAX_DIGITS, &digits) != 0 ||
	    (argc == 7 && ag_parse_int64(argv[6], -1, INT64_MAX, &last) != 0))
		return usage();
	p.digits = (unsigned)digits;
	if (strcmp(argv[1], "code") == 0) {
		if (ag_totp_step(t, p.period, &step) != 0 ||
		    ag_totp_code(key, keylen, step, p.digits, code, sizeof(code)) != 0)
			return 2;
		puts(code);
		return 0;
	}
	r = ag_totp_verify(key, keylen, argv[5], &p, t, last, &matched);
	sodium_memzero(key, sizeof(key));
	if (r == 0) {
		printf("accepted step=%lld\n", (long long)matched);
		return 0;
	}
	printf("refused %d\n", r);
	return 1;
}
