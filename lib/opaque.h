/* Opaque bearer secrets -- web session ids ("ags_") and refresh tokens
 * ("agr_"): a 4-character prefix and the base64url of 32 random bytes.
 * The prefix tells a leaked string's kind at a glance (and lets secret
 * scanners find it); the state file keeps only the SHA-256 of the whole
 * string, so a copy of the state file opens no session. */
#ifndef AG_OPAQUE_H
#define AG_OPAQUE_H

#include <stddef.h>
#include <stdint.h>

#define AG_OPAQUE_PREFIX_LEN 4
#define AG_OPAQUE_LEN (AG_OPAQUE_PREFIX_LEN + 43)

/* A new secret PREFIX... (NUL-terminated) and its hash.  PREFIX must be
 * AG_OPAQUE_PREFIX_LEN characters.  Returns 0 or AG_ERR_SYSTEM (out wiped). */
int ag_opaque_new(const char *prefix, char out[AG_OPAQUE_LEN + 1], uint8_t hash[32]);

/* Parses a presented secret strictly -- exact length, the prefix, 43
 * canonical base64url characters of 32 bytes -- and hashes it.  Returns 0
 * or AG_ERR_INVAL. */
int ag_opaque_parse(const char *prefix, const char *in, size_t len, uint8_t hash[32]);

#endif
