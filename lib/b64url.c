#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "b64url.h"
#include "error.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
ag_b64url_encode(const uint8_t *in, size_t inlen, char *out, size_t outsize, size_t *outlen)
{
	size_t i, o = 0, need;
	uint32_t v;

	if (outlen != NULL)
		*outlen = 0;
	if (out == NULL || outsize == 0 || (in == NULL && inlen != 0))
		return AG_ERR_INVAL;
	out[0] = '\0';
	if (inlen > (SIZE_MAX - 8) / 4 * 3)
		return AG_ERR_TOOLONG;
	need = AG_B64URL_ENCODED_LEN(inlen);
	if (need >= outsize)
		return AG_ERR_TOOLONG;
	for (i = 0; i + 3 <= inlen; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (inlen - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (inlen - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

/* Branch-free comparisons of values below 256: 0xff when true, else 0. */
static unsigned
ct_eq(unsigned a, unsigned b)
{
	return (((a ^ b) - 1U) >> 8) & 0xffU;
}

static unsigned
ct_ge(unsigned a, unsigned b)
{
	return ((b - a - 1U) >> 8) & 0xffU;
}

static unsigned
ct_range(unsigned c, unsigned lo, unsigned hi)
{
	return ct_ge(c, lo) & ct_ge(hi, c);
}

/* Maps one character to its 6-bit value; *valid gets 0xff or 0.  No branch
 * and no table lookup depends on c. */
static unsigned
char_value(unsigned c, unsigned *valid)
{
	unsigned up = ct_range(c, 'A', 'Z'), lo = ct_range(c, 'a', 'z');
	unsigned dig = ct_range(c, '0', '9'), dash = ct_eq(c, '-'), us = ct_eq(c, '_');

	*valid = up | lo | dig | dash | us;
	return ((up & (c - 'A')) | (lo & (c - 'a' + 26)) | (dig & (c - '0' + 52)) | (dash & 62) |
	        (us & 63)) & 63U;
}

int
ag_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize, size_t *outlen)
{
	size_t i, o = 0, need;
	unsigned acc = 0, acc_bits = 0, valid, bad = 0;
	int ret = AG_ERR_INVAL;

	if (outlen != NULL)
		*outlen = 0;
	if (outlen == NULL || (in == NULL && inlen != 0) || (out == NULL && outsize != 0))
		goto out;
	if (inlen % 4 == 1)
		goto out; /* 6 bits cannot make a byte */
	need = AG_B64URL_DECODED_MAX(inlen);
	if (need > outsize) {
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	for (i = 0; i < inlen; i++) {
		acc = ((acc << 6) | char_value((unsigned char)in[i], &valid)) & 0xfffU;
		bad |= valid ^ 0xffU;
		acc_bits += 6;
		if (acc_bits >= 8) {
			acc_bits -= 8;
			out[o++] = (uint8_t)(acc >> acc_bits);
		}
	}
	/* the unused low bits of the last character must be zero */
	bad |= acc & ((1U << acc_bits) - 1U);
	if (bad != 0)
		goto out;
	*outlen = o;
	ret = 0;
out:
	if (ret != 0 && out != NULL && outsize != 0)
		sodium_memzero(out, outsize);
	return ret;
}
