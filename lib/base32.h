/* RFC 4648 Base32 (the "base32" alphabet A-Z 2-7), as used for TOTP secrets.
 *
 * The encoder writes upper case, unpadded unless AG_BASE32_PAD is given.
 * The decoder is strict: letters of either case and digits 2-7 only,
 * optional '=' padding only at the end and only to a multiple of 8 characters,
 * unused trailing bits must be zero (one canonical spelling per value), and
 * ASCII spaces are skipped only when AG_BASE32_SPACES is given (authenticator
 * apps show secrets in groups: "JBSW Y3DP EHPK 3PXP").  Nothing else
 * (tabs, newlines, '-', NUL) is accepted. */
#ifndef AG_BASE32_H
#define AG_BASE32_H

#include <stddef.h>
#include <stdint.h>

enum ag_base32_flags {
	AG_BASE32_PAD = 1,   /* encode: pad with '=' to a multiple of 8 */
	AG_BASE32_SPACES = 2 /* decode: skip ASCII spaces anywhere */
};

/* Longest input either function accepts (bytes to encode, characters to
 * decode): secrets are small, and every bound is checked. */
#define AG_BASE32_MAX_INPUT 4096

/* Characters needed to encode n bytes, without padding and without NUL. */
#define AG_BASE32_ENCODED_LEN(n) (((n) * 8 + 4) / 5)

/* Characters needed with padding, without NUL. */
#define AG_BASE32_PADDED_LEN(n) ((((n) + 4) / 5) * 8)

/* Writes in (inlen bytes) as NUL-terminated Base32 into out (outsize bytes).
 * Returns 0, AG_ERR_TOOLONG when out is too small or inlen exceeds
 * AG_BASE32_MAX_INPUT (out then holds ""), or AG_ERR_INVAL. */
int ag_base32_encode(const uint8_t *in, size_t inlen, int flags, char *out, size_t outsize);

/* Decodes inlen characters of in into out (outsize bytes), sets *outlen.
 * Returns 0, AG_ERR_INVAL for anything but canonical Base32 (see above), or
 * AG_ERR_TOOLONG when the input or the result exceeds its bound; on error
 * out is wiped and *outlen is 0. */
int ag_base32_decode(const char *in, size_t inlen, int flags, uint8_t *out, size_t outsize,
                     size_t *outlen);

#endif
