/* Strict base64url (RFC 4648 section 5) without padding, as JWS and JWK
 * use it.
 *
 * The decoder accepts exactly one spelling of each byte string: alphabet
 * [A-Za-z0-9_-] only, no '=' padding, no whitespace, no '+' or '/', no
 * length that is 1 modulo 4, and the unused low bits of the last character
 * must be zero (so "AB" and "AC" cannot both decode to the same byte).
 * Decoding runs in time that depends only on the length, not on the
 * characters, so it may be used for key material. */
#ifndef AG_B64URL_H
#define AG_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes (no padding, no NUL). */
#define AG_B64URL_ENCODED_LEN(n) (((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))

/* Upper bound of the bytes that n characters decode to. */
#define AG_B64URL_DECODED_MAX(n) (((n) / 4) * 3 + ((n) % 4 == 0 ? 0 : (n) % 4 - 1))

/* Encodes inlen bytes into out (outsize must leave room for the encoding
 * and a terminating NUL).  Sets *outlen (if not NULL) to the characters
 * written.  Returns 0, or AG_ERR_TOOLONG (out then holds "") or
 * AG_ERR_INVAL. */
int ag_b64url_encode(const uint8_t *in, size_t inlen, char *out, size_t outsize,
                     size_t *outlen);

/* Decodes inlen characters of in (not necessarily NUL-terminated) into out.
 * Returns 0 and sets *outlen, or AG_ERR_INVAL for anything that is not the
 * canonical unpadded encoding of some byte string, or AG_ERR_TOOLONG when
 * out is too small.  On failure *outlen is 0 and out is wiped. */
int ag_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize,
                     size_t *outlen);

#endif
