#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "b64url.h"
#include "error.h"
#include "opaque.h"
#include "session.h"

int
ag_session_new_id(char id[AG_SESSION_ID_LEN + 1], uint8_t hash[32])
{
	return ag_opaque_new(AG_SESSION_PREFIX, id, hash);
}

int
ag_session_parse_id(const char *in, size_t len, uint8_t hash[32])
{
	return ag_opaque_parse(AG_SESSION_PREFIX, in, len, hash);
}

void
ag_session_handle(const uint8_t hash[32], char out[AG_SID_MAX + 1])
{
	if (ag_b64url_encode(hash, 32, out, AG_SID_MAX + 1, NULL) != 0)
		out[0] = '\0';
}

int
ag_session_handle_parse(const char *handle, uint8_t hash[32])
{
	size_t len = strnlen(handle, AG_SESSION_HANDLE_LEN + 1), got = 0;

	if (len != AG_SESSION_HANDLE_LEN ||
	    ag_b64url_decode(handle, len, hash, 32, &got) != 0 || got != 32)
		return AG_ERR_INVAL;
	return 0;
}

static void
absorb(crypto_hash_sha256_state *st, const char *s)
{
	uint8_t len[8];
	uint64_t n = s != NULL ? strlen(s) : 0;
	int i;

	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)(n >> (56 - 8 * i));
	crypto_hash_sha256_update(st, len, sizeof(len));
	if (n > 0)
		crypto_hash_sha256_update(st, (const unsigned char *)s, n);
}

void
ag_session_fingerprint(const char *user_agent, const char *const *extra, size_t nextra,
                       uint8_t out[32])
{
	crypto_hash_sha256_state st;
	size_t i;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)"ag-fp-v1", 8);
	absorb(&st, user_agent);
	for (i = 0; i < nextra; i++)
		absorb(&st, extra[i]);
	crypto_hash_sha256_final(&st, out);
}

void
ag_session_cookie(const struct ag_config *cfg, const char *value, int64_t max_age,
                  char out[AG_COOKIE_HEADER_MAX])
{
	snprintf(out, AG_COOKIE_HEADER_MAX,
	         "Set-Cookie: %s=%s; Path=/; Max-Age=%lld; HttpOnly; Secure; SameSite=%s",
	         cfg->session_cookie, value, (long long)(max_age > 0 ? max_age : 0),
	         cfg->session_samesite_lax ? "Lax" : "Strict");
}
