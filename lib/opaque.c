#include "autoconf.h"

#include <string.h>

#include <sodium.h>

#include "b64url.h"
#include "error.h"
#include "opaque.h"

#define RAW_LEN 32

int
ag_opaque_new(const char *prefix, char out[AG_OPAQUE_LEN + 1], uint8_t hash[32])
{
	uint8_t raw[RAW_LEN];
	int r;

	if (strlen(prefix) != AG_OPAQUE_PREFIX_LEN)
		return AG_ERR_INVAL;
	memcpy(out, prefix, AG_OPAQUE_PREFIX_LEN);
	randombytes_buf(raw, sizeof(raw));
	r = ag_b64url_encode(raw, sizeof(raw), out + AG_OPAQUE_PREFIX_LEN,
	                     AG_OPAQUE_LEN + 1 - AG_OPAQUE_PREFIX_LEN, NULL);
	sodium_memzero(raw, sizeof(raw));
	if (r != 0) {
		sodium_memzero(out, AG_OPAQUE_LEN + 1);
		return AG_ERR_SYSTEM;
	}
	crypto_hash_sha256(hash, (const unsigned char *)out, AG_OPAQUE_LEN);
	return 0;
}

int
ag_opaque_parse(const char *prefix, const char *in, size_t len, uint8_t hash[32])
{
	uint8_t raw[RAW_LEN + 2];
	size_t rawlen = 0;
	int r;

	if (len != AG_OPAQUE_LEN || strlen(prefix) != AG_OPAQUE_PREFIX_LEN ||
	    memcmp(in, prefix, AG_OPAQUE_PREFIX_LEN) != 0)
		return AG_ERR_INVAL;
	r = ag_b64url_decode(in + AG_OPAQUE_PREFIX_LEN, AG_OPAQUE_LEN - AG_OPAQUE_PREFIX_LEN, raw,
	                     sizeof(raw), &rawlen);
	sodium_memzero(raw, sizeof(raw));
	if (r != 0 || rawlen != RAW_LEN)
		return AG_ERR_INVAL;
	crypto_hash_sha256(hash, (const unsigned char *)in, len);
	return 0;
}
