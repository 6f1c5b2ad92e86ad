/* libFuzzer target: typed codes and binary-to-text decoders.
 *
 * ag_totp_parse_code() and ag_backup_normalize() get a NUL-terminated copy
 * of the input; ag_base32_decode() and ag_b64url_decode() get the raw
 * bytes, into heap buffers of exactly the documented size (so an overrun
 * is caught by AddressSanitizer).  Successful decodes must re-encode to
 * the same text (one canonical spelling per value). */
#include "autoconf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "backup.h"
#include "base32.h"
#include "totp.h"

#define FUZZ_MAX_INPUT 8192

static void
check_totp(const char *s)
{
	char out[AG_TOTP_CODE_SIZE];
	unsigned digits, i;

	for (digits = AG_TOTP_MIN_DIGITS; digits <= AG_TOTP_MAX_DIGITS; digits++) {
		if (ag_totp_parse_code(s, digits, out) != 0)
			continue;
		if (strlen(out) != digits)
			abort();
		for (i = 0; i < digits; i++)
			if (out[i] < '0' || out[i] > '9')
				abort();
	}
}

static void
check_backup(const char *s)
{
	char out[AG_BACKUP_NORM_SIZE];
	size_t i;

	if (ag_backup_normalize(s, out) != 0)
		return;
	if (strlen(out) != AG_BACKUP_CODE_CHARS)
		abort();
	for (i = 0; i < AG_BACKUP_CODE_CHARS; i++)
		if (strchr("23456789ABCDEFGHJKMNPQRSTVWXYZ", out[i]) == NULL)
			abort();
}

static void
check_base32(const char *in, size_t len, int flags)
{
	size_t cap = len / 8 * 5 + 5, outlen = 99, i, j, elen;
	uint8_t *out = malloc(cap);
	char *enc, *canon;

	if (out == NULL)
		abort();
	if (ag_base32_decode(in, len, flags, out, cap, &outlen) != 0) {
		if (outlen != 0)
			abort();
		free(out);
		return;
	}
	/* Canonical form of the input: upper case, no spaces, no padding. */
	if ((canon = malloc(len + 1)) == NULL)
		abort();
	for (i = j = 0; i < len; i++)
		if (in[i] != ' ' && in[i] != '=')
			canon[j++] = (char)toupper((unsigned char)in[i]);
	canon[j] = '\0';
	elen = AG_BASE32_ENCODED_LEN(outlen) + 1;
	if ((enc = malloc(elen)) == NULL)
		abort();
	if (ag_base32_encode(out, outlen, 0, enc, elen) != 0 || strcmp(enc, canon) != 0)
		abort();
	free(enc);
	free(canon);
	free(out);
}

static void
check_b64url(const char *in, size_t len)
{
	size_t cap = AG_B64URL_DECODED_MAX(len), outlen = 99, elen;
	uint8_t *out = malloc(cap + 1), small[4];
	char *enc;

	if (out == NULL)
		abort();
	if (ag_b64url_decode(in, len, out, cap, &outlen) != 0) {
		if (outlen != 0)
			abort();
		free(out);
		return;
	}
	if (outlen > cap)
		abort();
	elen = AG_B64URL_ENCODED_LEN(outlen) + 1;
	if ((enc = malloc(elen)) == NULL)
		abort();
	if (ag_b64url_encode(out, outlen, enc, elen, NULL) != 0 || strlen(enc) != len ||
	    memcmp(enc, in, len) != 0)
		abort(); /* not canonical */
	free(enc);
	free(out);
	/* And into a buffer that may be too small. */
	(void)ag_b64url_decode(in, len, small, sizeof(small), &outlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';

	check_totp(s);
	check_backup(s);
	check_base32((const char *)data, size, 0);
	check_base32((const char *)data, size, AG_BASE32_SPACES);
	check_b64url((const char *)data, size);
	free(s);
	return 0;
}
