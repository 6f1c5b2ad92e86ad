#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "error.h"
#include "totp.h"

static int
valid_key(const uint8_t *key, size_t keylen)
{
	return key != NULL && keylen >= AG_TOTP_MIN_KEY && keylen <= AG_TOTP_MAX_KEY;
}

static int
valid_digits(unsigned digits)
{
	return digits >= AG_TOTP_MIN_DIGITS && digits <= AG_TOTP_MAX_DIGITS;
}

int
ag_totp_secret_generate(uint8_t *key, size_t keylen)
{
	if (key == NULL || keylen < AG_TOTP_MIN_KEY || keylen > AG_TOTP_MAX_KEY)
		return AG_ERR_INVAL;
	if (sodium_init() < 0)
		return AG_ERR_SYSTEM;
	randombytes_buf(key, keylen);
	return 0;
}

int
ag_totp_step(int64_t now, unsigned period, int64_t *stepp)
{
	if (period == 0 || period > AG_TOTP_MAX_PERIOD || now < 0)
		return AG_ERR_RANGE;
	*stepp = now / (int64_t)period;
	return 0;
}

int
ag_totp_code(const uint8_t *key, size_t keylen, int64_t step, unsigned digits, char *out,
             size_t outsize)
{
	char otp[16];
	int ret = AG_ERR_INVAL;

	if (out == NULL || outsize == 0)
		return AG_ERR_INVAL;
	out[0] = '\0';
	if (!valid_key(key, keylen) || !valid_digits(digits) || outsize < digits + 1)
		goto out;
	if (step < 0) {
		ret = AG_ERR_RANGE;
		goto out;
	}
	/* HOTP (RFC 4226) of the time step is TOTP (RFC 6238).  liboath is
	 * small and dependency-free, so a login does not pay for loading and
	 * initialising libcrypto. */
	if (oath_init() != OATH_OK ||
	    oath_hotp_generate((const char *)key, keylen, (uint64_t)step, digits, false,
	                       OATH_HOTP_DYNAMIC_TRUNCATION, otp) != OATH_OK ||
	    strlen(otp) != digits) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	memcpy(out, otp, digits + 1);
	ret = 0;
out:
	sodium_memzero(otp, sizeof(otp));
	if (ret != 0)
		sodium_memzero(out, outsize);
	return ret;
}

int
ag_totp_parse_code(const char *input, unsigned digits, char out[AG_TOTP_CODE_SIZE])
{
	size_t i, n = 0;
	int ret = AG_ERR_INVAL;

	out[0] = '\0';
	if (input == NULL || !valid_digits(digits))
		goto out;
	for (i = 0; input[i] != '\0'; i++) {
		if (i >= AG_TOTP_MAX_INPUT) {
			ret = AG_ERR_TOOLONG;
			goto out;
		}
		if (input[i] == ' ')
			continue;
		if (input[i] < '0' || input[i] > '9' || n >= digits)
			goto out;
		out[n++] = input[i];
	}
	if (n != digits)
		goto out;
	out[n] = '\0';
	ret = 0;
out:
	if (ret != 0)
		sodium_memzero(out, AG_TOTP_CODE_SIZE);
	return ret;
}

int
ag_totp_verify(const uint8_t *key, size_t keylen, const char *input,
               const struct ag_totp_params *params, int64_t now, int64_t last_used_step,
               int64_t *matched_step)
{
	char want[AG_TOTP_CODE_SIZE], cand[AG_TOTP_CODE_SIZE];
	int64_t now_step, step, first, last, best = -1, sel;
	unsigned eq, fresh, accepted = 0, stale = 0;
	int r, ret = AG_ERR_INVAL;

	memset(want, 0, sizeof(want));
	memset(cand, 0, sizeof(cand));
	if (matched_step != NULL)
		*matched_step = -1;
	if (params == NULL || matched_step == NULL || !valid_key(key, keylen) ||
	    !valid_digits(params->digits))
		goto out;
	if (params->window > AG_TOTP_MAX_WINDOW) {
		ret = AG_ERR_RANGE;
		goto out;
	}
	if ((ret = ag_totp_step(now, params->period, &now_step)) != 0)
		goto out;
	if ((ret = ag_totp_parse_code(input, params->digits, want)) != 0)
		goto out;
	/* Steps before 0 do not exist; the high end is clamped for form's sake
	 * (a step near INT64_MAX needs a time no clock reaches). */
	first = now_step >= (int64_t)params->window ? now_step - (int64_t)params->window : 0;
	last = now_step <= INT64_MAX - (int64_t)params->window ? now_step + (int64_t)params->window
	                                                       : INT64_MAX;
	/* No early exit: every candidate is computed and compared, and the
	 * outcome is folded in with masks rather than branches. */
	for (step = first;; step++) {
		r = ag_totp_code(key, keylen, step, params->digits, cand, sizeof(cand));
		if (r != 0) {
			ret = r;
			goto out;
		}
		eq = (unsigned)(sodium_memcmp(cand, want, params->digits) == 0);
		fresh = (unsigned)(step > last_used_step);
		accepted |= eq & fresh;
		stale |= eq & (fresh ^ 1u);
		sel = -(int64_t)(eq & fresh);
		best = (best & ~sel) | (step & sel); /* steps ascend: keeps the largest */
		if (step == last)
			break;
	}
	if (accepted) {
		*matched_step = best;
		ret = 0;
	} else {
		ret = stale ? AG_TOTP_REPLAY : AG_TOTP_MISMATCH;
	}
out:
	sodium_memzero(want, sizeof(want));
	sodium_memzero(cand, sizeof(cand));
	return ret;
}
