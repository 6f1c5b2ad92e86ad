/* Access tokens issued and refreshed, and the keys that verify them.
 * The rules of a token's validity are lib/jwt.c's; the state's are
 * lib/store's.  Here: what a token may claim, which session it may name,
 * and what a refresh does. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "b64url.h"
#include "clock.h"
#include "error.h"
#include "jwt.h"
#include "util.h"
#include "web_int.h"

#define JTI_RAW 16

/* Claims a caller may not set through extra claims. */
static const char *const reserved_claims[] = {
	"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "sid", "typ", "alg", "kid",
};

void
ag_web_token_clear(struct ag_web_token *t)
{
	if (t == NULL)
		return;
	if (t->token != NULL) {
		sodium_memzero(t->token, strlen(t->token));
		free(t->token);
	}
	sodium_memzero(t, sizeof(*t));
}

static void
log_token(struct ag_web *w, const char *event, const char *sub, const char *k, const char *v,
          int64_t family)
{
	ag_web_log(w, strstr(event, "reuse") != NULL ? LOG_WARNING : LOG_INFO, event, "sub", sub, k,
	           v, family != 0 ? "family" : NULL, family);
}

static int
random_b64(size_t nbytes, char *out, size_t outsize)
{
	uint8_t raw[64];
	int r;

	if (nbytes > sizeof(raw))
		return AG_ERR_INVAL;
	randombytes_buf(raw, nbytes);
	r = ag_b64url_encode(raw, nbytes, out, outsize, NULL);
	sodium_memzero(raw, sizeof(raw));
	return r;
}

/* Builds and signs an access token into out (token, jti, exp). */
static int
sign_access(struct ag_web *w, const char *sub, const char *aud, const char *sid, int64_t ttl,
            const json_t *extra, struct ag_web_token *out, struct ag_web_err *err)
{
	char *token = NULL;
	int64_t now = ag_clock_now();
	json_t *claims;
	int r;

	if (random_b64(JTI_RAW, out->jti, sizeof(out->jti)) != 0)
		return ag_web_fail(err, AG_ERR_SYSTEM, AG_WEB_INTERNAL, "internal",
		                   "cannot issue the token");
	claims = extra != NULL ? json_deep_copy(extra) : json_object();
	if (claims == NULL)
		return ag_web_fail(err, AG_ERR_NOMEM, AG_WEB_INTERNAL, "internal",
		                   "cannot issue the token");
	if (json_object_set_new(claims, "iss", json_string(w->cfg->token_issuer)) != 0 ||
	    json_object_set_new(claims, "sub", json_string(sub)) != 0 ||
	    json_object_set_new(claims, "aud", json_string(aud)) != 0 ||
	    json_object_set_new(claims, "iat", json_integer(now)) != 0 ||
	    json_object_set_new(claims, "nbf", json_integer(now)) != 0 ||
	    json_object_set_new(claims, "exp", json_integer(now + ttl)) != 0 ||
	    json_object_set_new(claims, "jti", json_string(out->jti)) != 0 ||
	    (sid != NULL && json_object_set_new(claims, "sid", json_string(sid)) != 0)) {
		json_decref(claims);
		/* json_string refuses invalid UTF-8 */
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "invalid_claim",
		                   "cannot issue the token");
	}
	r = ag_jwt_sign(w->keyring, claims, NULL, &token);
	json_decref(claims);
	if (r == 0 && strlen(token) > (size_t)w->cfg->token_max_len) {
		/* Never hand out a token our own verify would refuse. */
		sodium_memzero(token, strlen(token));
		free(token);
		token = NULL;
		r = AG_ERR_TOOLONG;
	}
	if (r != 0)
		/* (the keyring has an active key: INVAL is about the claims) */
		return ag_web_fail(err, r,
		                   r == AG_ERR_TOOLONG || r == AG_ERR_INVAL ? AG_WEB_USAGE
		                                                            : AG_WEB_INTERNAL,
		                   r == AG_ERR_TOOLONG ? "too_large"
		                   : r == AG_ERR_INVAL ? "invalid_claim"
		                                       : "sign_failed",
		                   "cannot issue the token");
	out->token = token;
	out->exp = now + ttl;
	return 0;
}

/* Only a live session of the same subject (by key) can be named. */
static int
check_sid(struct ag_web *w, const char *sid, const char *key, int *same,
          struct ag_web_err *err)
{
	struct ag_web_session *owner;
	uint8_t sh[32];
	int alive = 0, r;

	*same = 0;
	if (ag_session_handle_parse(sid, sh) != 0)
		return ag_web_fail(
		        err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		        "{sid} must be a session handle (the \"sid\" of session create)");
	if ((r = ag_web_need_store(w, err)) != 0)
		return r;
	if ((owner = malloc(sizeof(*owner))) == NULL)
		return ag_web_fail(err, AG_ERR_NOMEM, AG_WEB_INTERNAL, "internal", "out of memory");
	r = ag_store_session_alive(w->store, sh, ag_clock_now(), &alive, owner);
	*same = r == 0 && alive && strcmp(owner->user_key, key) == 0;
	free(owner);
	if (r != 0)
		return ag_web_state_fail(w, err, r);
	return 0;
}

int
ag_web_issue(struct ag_web *w, const struct ag_web_issue_req *req, struct ag_web_token *out,
             struct ag_web_err *err)
{
	const struct ag_config *cfg = w->cfg;
	const char *aud = req->aud != NULL ? req->aud : cfg->token_audience;
	char key[AG_NAME_MAX + 1];
	uint8_t hash[32];
	int64_t ttl = req->ttl != 0 ? req->ttl : cfg->access_ttl, now;
	size_t i;
	int r, same;

	memset(out, 0, sizeof(*out));
	if ((r = ag_web_need_identity(w, err)) != 0)
		return r;
	/* The token's sub is the spelling the backend gave (it reads it
	 * back); its refresh family and the session owner check use the
	 * subject's key (web_subject_fold), so that revoking by any spelling
	 * finds them. */
	if ((r = ag_web_subject_key(w, "sub", req->sub, key, err)) != 0)
		return r;
	if (!ag_config_audience_allowed(cfg, aud))
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "audience not in token_audience/token_audiences");
	if (ttl < 60 || ttl > cfg->access_ttl)
		return ag_web_fail(err, AG_ERR_RANGE, AG_WEB_USAGE, "usage",
		                   "ttl must be between 60 seconds and access_ttl");
	if (req->sid != NULL &&
	    (req->sid[0] == '\0' || strnlen(req->sid, AG_SID_MAX + 1) > AG_SID_MAX))
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{sid} must be 1 to 128 bytes");
	if (req->claims != NULL) {
		if (!json_is_object(req->claims))
			return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
			                   "extra claims must be a JSON object");
		for (i = 0; i < AG_ARRAY_SIZE(reserved_claims); i++)
			if (json_object_get(req->claims, reserved_claims[i]) != NULL)
				return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
				                   "extra claims may not set \"%s\"",
				                   reserved_claims[i]);
	}
	if ((r = ag_web_need_keyring(w, err)) != 0)
		return r;
	if (req->sid != NULL) {
		if ((r = check_sid(w, req->sid, key, &same, err)) != 0)
			return r;
		/* A token may only be tied to its own subject's session. */
		if (!same) {
			out->reason = ag_jwt_reason_name(AG_JWT_SESSION_ENDED);
			return 0;
		}
	}
	if ((r = sign_access(w, req->sub, aud, req->sid, ttl, req->claims, out, err)) != 0)
		goto fail;
	if (req->refresh) {
		if ((r = ag_web_need_store(w, err)) != 0)
			goto fail;
		now = ag_clock_now();
		if ((r = ag_opaque_new(AG_WEB_REFRESH_PREFIX, out->refresh_token, hash)) != 0 ||
		    (r = ag_store_refresh_create(w->store, req->sub, key, req->sid, hash, now,
		                                 now + cfg->refresh_ttl, &out->family)) != 0) {
			ag_web_state_fail(w, err, r);
			goto fail;
		}
		out->refresh_expires = now + cfg->refresh_ttl;
	}
	log_token(w, "token_issued", req->sub, "jti", out->jti, out->family);
	return 0;
fail:
	ag_web_token_clear(out);
	return r;
}

static const char *
refresh_reason(enum ag_refresh_outcome o)
{
	switch (o) {
	case AG_REFRESH_UNKNOWN: return "unknown";
	case AG_REFRESH_EXPIRED: return "expired";
	case AG_REFRESH_REVOKED: return "revoked";
	case AG_REFRESH_REUSED: return "reused";
	case AG_REFRESH_NOT_YET_VALID: return "not_yet_valid";
	default: return "ok";
	}
}

int
ag_web_refresh(struct ag_web *w, const char *token, size_t len, struct ag_web_token *out,
               struct ag_web_err *err)
{
	struct ag_refresh_info info;
	enum ag_refresh_outcome outcome = AG_REFRESH_UNKNOWN;
	uint8_t hash[32], next_hash[32], sh[32];
	int64_t n = 0;
	int r, alive = 0;

	memset(out, 0, sizeof(*out));
	if (ag_opaque_parse(AG_WEB_REFRESH_PREFIX, token, len, hash) != 0) {
		out->reason = "malformed";
		return 0;
	}
	if ((r = ag_web_need_identity(w, err)) != 0 || (r = ag_web_need_keyring(w, err)) != 0 ||
	    (r = ag_web_need_store(w, err)) != 0)
		return r;
	if (ag_opaque_new(AG_WEB_REFRESH_PREFIX, out->refresh_token, next_hash) != 0)
		return ag_web_fail(err, AG_ERR_SYSTEM, AG_WEB_INTERNAL, "internal",
		                   "no randomness");
	r = ag_store_refresh_redeem(w->store, hash, next_hash, ag_clock_now(),
	                            w->cfg->refresh_grace, ag_session_handle_parse, &outcome,
	                            &info);
	if (r != 0) {
		ag_web_state_fail(w, err, r);
		goto fail;
	}
	if (outcome != AG_REFRESH_OK && outcome != AG_REFRESH_RETRIED) {
		/* Theft: the store ended the family's session with it. */
		if (outcome == AG_REFRESH_REUSED)
			log_token(w, "refresh_reuse", info.subject, "sid",
			          info.sid[0] != '\0' ? info.sid : NULL, info.family);
		ag_web_token_clear(out);
		out->reason = refresh_reason(outcome);
		return 0;
	}
	if (info.sid[0] != '\0') {
		/* A family tied to a session lives only as long as the session
		 * (expired, evicted, ended by a fingerprint mismatch). */
		if (ag_session_handle_parse(info.sid, sh) != 0 ||
		    (r = ag_store_session_alive(w->store, sh, ag_clock_now(), &alive, NULL)) != 0 ||
		    !alive) {
			if (r == 0)
				r = ag_store_refresh_revoke(w->store, info.family, NULL, NULL, NULL,
				                            &n);
			if (r != 0) {
				ag_web_state_fail(w, err, r);
				goto fail;
			}
			ag_web_token_clear(out);
			out->reason = ag_jwt_reason_name(AG_JWT_SESSION_ENDED);
			return 0;
		}
	}
	/* The old token is spent and the new one unsent if this fails: the
	 * client logs in again.  Never hand out a refresh token without its
	 * access token. */
	if ((r = sign_access(w, info.subject, w->cfg->token_audience,
	                     info.sid[0] != '\0' ? info.sid : NULL, w->cfg->access_ttl, NULL, out,
	                     err)) != 0) {
		snprintf(err->message, sizeof(err->message), "cannot issue the access token");
		goto fail;
	}
	out->refresh_expires = info.expires;
	out->family = info.family;
	ag_strlcpy(out->sub, info.subject, sizeof(out->sub));
	log_token(w, outcome == AG_REFRESH_RETRIED ? "refresh_retried" : "token_refreshed",
	          info.subject, "jti", out->jti, info.family);
	return 0;
fail:
	ag_web_token_clear(out);
	return r;
}

int
ag_web_jwks(struct ag_web *w, json_t **jwks, struct ag_web_err *err)
{
	int r;

	*jwks = NULL;
	if ((r = ag_web_need_keyring(w, err)) != 0)
		return r;
	if ((r = ag_keyring_jwks(w->keyring, jwks)) != 0)
		return ag_web_fail(err, r, AG_WEB_INTERNAL, "internal", "out of memory");
	return 0;
}
