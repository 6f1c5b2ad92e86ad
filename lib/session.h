/* Web sessions: ids, fingerprints, cookie headers and the operations a
 * backend calls per login and per request.  Ids are 256-bit, generated
 * here only (no fixation), stored only as SHA-256; the public handle of a
 * session (what access tokens carry as "sid") is the base64url of that
 * hash, so it reveals nothing usable. */
#ifndef AG_SESSION_H
#define AG_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "opaque.h"
#include "store.h"

#define AG_SESSION_PREFIX "ags_"
#define AG_SESSION_ID_LEN AG_OPAQUE_LEN
#define AG_SESSION_HANDLE_LEN 43
#define AG_COOKIE_HEADER_MAX 256

/* A new session id (NUL-terminated) and its hash. */
int ag_session_new_id(char id[AG_SESSION_ID_LEN + 1], uint8_t hash[32]);

/* Parses a presented id strictly (prefix, 43 canonical base64url
 * characters) and hashes it.  Returns 0 or AG_ERR_INVAL. */
int ag_session_parse_id(const char *in, size_t len, uint8_t hash[32]);

/* The public handle of a session hash (43 characters). */
void ag_session_handle(const uint8_t hash[32], char out[AG_SID_MAX + 1]);

/* Parses a handle back into the hash.  Returns 0 or AG_ERR_INVAL. */
int ag_session_handle_parse(const char *handle, uint8_t hash[32]);

/* Fingerprint of a request: SHA-256 over the User-Agent (and, when given,
 * extra attributes such as Accept-Language), each length-prefixed. */
void ag_session_fingerprint(const char *user_agent, const char *const *extra, size_t nextra,
                            uint8_t out[32]);

/* "Set-Cookie: NAME=VALUE; Path=/; Max-Age=N; HttpOnly; Secure; SameSite=Strict"
 * for the configured cookie; value "" and max_age 0 clear it. */
void ag_session_cookie(const struct ag_config *cfg, const char *value, int64_t max_age,
                       char out[AG_COOKIE_HEADER_MAX]);

#endif
