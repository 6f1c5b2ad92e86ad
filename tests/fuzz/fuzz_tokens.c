/* libFuzzer target: the opaque bearer formats and subject names.
 *
 * The input, as presented by a client, goes to ag_opaque_parse() as a web
 * session id ("ags_") and as a refresh token ("agr_"), to
 * ag_session_handle_parse() (the "sid" of access tokens) and to
 * ag_guard_check_name() (PAM user names and web subjects).  Properties:
 * an accepted id is exactly its canonical form -- decoding and encoding
 * it again gives the same string and the hash is SHA-256 of the input --
 * and a refusal never leaves a hash behind. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "b64url.h"
#include "guard.h"
#include "opaque.h"
#include "session.h"

#define FUZZ_MAX_INPUT 8192

static void
check_opaque(const char *prefix, const char *in, size_t len)
{
	uint8_t hash[32], want[32], raw[40];
	char again[AG_OPAQUE_LEN + 1];
	size_t rawlen = 0;

	memset(hash, 0xa5, sizeof(hash));
	if (ag_opaque_parse(prefix, in, len, hash) != 0)
		return;
	if (len != AG_OPAQUE_LEN || memcmp(in, prefix, AG_OPAQUE_PREFIX_LEN) != 0)
		abort();
	crypto_hash_sha256(want, (const unsigned char *)in, len);
	if (memcmp(hash, want, sizeof(want)) != 0)
		abort();
	/* canonical: re-encoding the decoded bytes reproduces the input */
	if (ag_b64url_decode(in + 4, len - 4, raw, sizeof(raw), &rawlen) != 0 || rawlen != 32)
		abort();
	memcpy(again, prefix, 4);
	if (ag_b64url_encode(raw, rawlen, again + 4, sizeof(again) - 4, NULL) != 0 ||
	    memcmp(again, in, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	uint8_t hash[32];
	const char *why = NULL;
	char handle[AG_SID_MAX + 1];

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (sodium_init() < 0)
		abort();
	/* the raw bytes, embedded NULs included, as a length-delimited id */
	check_opaque(AG_SESSION_PREFIX, (const char *)data, size);
	check_opaque("agr_", (const char *)data, size);

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (ag_session_handle_parse(s, hash) == 0) {
		ag_session_handle(hash, handle);
		if (strcmp(handle, s) != 0)
			abort();
	}
	if (ag_guard_check_name(s, &why) == 0) {
		if (s[0] == '\0' || strlen(s) > AG_NAME_MAX)
			abort();
	} else if (why == NULL) {
		abort();
	}
	free(s);
	return 0;
}
