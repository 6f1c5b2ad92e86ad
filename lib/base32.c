#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "error.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Value of a Base32 character (either case), or -1. */
static int
b32_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int
ag_base32_encode(const uint8_t *in, size_t inlen, int flags, char *out, size_t outsize)
{
	size_t need, i, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (out == NULL || outsize == 0 || (in == NULL && inlen != 0))
		return AG_ERR_INVAL;
	out[0] = '\0';
	if (inlen > AG_BASE32_MAX_INPUT)
		return AG_ERR_TOOLONG;
	need = (flags & AG_BASE32_PAD) ? AG_BASE32_PADDED_LEN(inlen)
	                               : AG_BASE32_ENCODED_LEN(inlen);
	if (need >= outsize)
		return AG_ERR_TOOLONG;
	for (i = 0; i < inlen; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = alphabet[(acc >> bits) & 0x1f];
		}
		acc &= (1u << bits) - 1; /* keep only the bits not yet written */
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (5 - bits)) & 0x1f];
	while (o < need)
		out[o++] = '=';
	out[o] = '\0';
	return 0;
}

int
ag_base32_decode(const char *in, size_t inlen, int flags, uint8_t *out, size_t outsize,
                 size_t *outlen)
{
	size_t i, ndata = 0, npad = 0, nbytes, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	unsigned char c;
	int v, ret = AG_ERR_INVAL;

	if (outlen != NULL)
		*outlen = 0;
	if (in == NULL || outlen == NULL || (out == NULL && outsize != 0))
		return AG_ERR_INVAL;
	if (inlen > AG_BASE32_MAX_INPUT) {
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	/* Pass 1: syntax, padding and the size of the result. */
	for (i = 0; i < inlen; i++) {
		c = (unsigned char)in[i];
		if (c == ' ' && (flags & AG_BASE32_SPACES))
			continue;
		if (c == '=') {
			npad++;
			continue;
		}
		if (npad > 0 || b32_value(c) < 0)
			goto out; /* data after padding, or not Base32 */
		ndata++;
	}
	if (ndata == 0 && npad == 0) {
		ret = 0; /* the empty string encodes zero bytes */
		goto out;
	}
	switch (ndata % 8) {
	case 0: case 2: case 4: case 5: case 7: break;
	default: goto out; /* a length no encoder produces */
	}
	if (npad != 0 && (ndata % 8 == 0 || (ndata + npad) % 8 != 0 || npad >= 8))
		goto out;
	nbytes = ndata * 5 / 8;
	if (nbytes > outsize) {
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	/* Pass 2: decode. */
	for (i = 0; i < inlen; i++) {
		c = (unsigned char)in[i];
		if (c == ' ' || c == '=')
			continue;
		v = b32_value(c);
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	if (acc != 0)
		goto out; /* non-zero unused bits: not the canonical spelling */
	*outlen = o;
	ret = 0;
out:
	if (ret != 0 && out != NULL)
		sodium_memzero(out, outsize);
	return ret;
}
