/* Access tokens checked and revoked: a valid signature and valid claims
 * are lib/jwt.c's to judge; what the state adds -- the jti denylist and
 * the liveness of the session a token names -- is decided here. */
#include "autoconf.h"

#include <string.h>
#include <syslog.h>

#include "clock.h"
#include "error.h"
#include "jwt.h"
#include "util.h"
#include "web_int.h"

void
ag_web_verified_clear(struct ag_web_verified *v)
{
	if (v == NULL)
		return;
	json_decref(v->claims);
	v->claims = NULL;
	v->reason = NULL;
}

static void
expect_init(struct ag_web *w, struct ag_jwt_expect *exp)
{
	ag_jwt_expect_init(exp, w->cfg->token_issuer, w->cfg->token_audience);
	exp->leeway = w->cfg->token_leeway;
	exp->max_len = (size_t)w->cfg->token_max_len;
}

/* The verdict of lib/jwt; an error (no verdict) fills err. */
static int
jwt_fail(enum ag_jwt_reason reason, int r, const char **why, struct ag_web_err *err)
{
	if (reason == AG_JWT_ERROR)
		return ag_web_fail(err, r, AG_WEB_INTERNAL, "internal", "%s", ag_strerror(r));
	*why = ag_jwt_reason_name(reason);
	return 0;
}

int
ag_web_verify(struct ag_web *w, const char *token, size_t len, struct ag_web_verified *out,
              struct ag_web_err *err)
{
	struct ag_jwt_expect exp;
	enum ag_jwt_reason reason = AG_JWT_ERROR;
	json_t *claims = NULL;
	const char *sid;
	uint8_t hash[32];
	int64_t now = ag_clock_now();
	int revoked = 1, alive = 0, r;

	memset(out, 0, sizeof(*out));
	if ((r = ag_web_need_identity(w, err)) != 0 || (r = ag_web_need_keyring(w, err)) != 0)
		return r;
	expect_init(w, &exp);
	if ((r = ag_jwt_verify(w->keyring, token, len, &exp, now, &claims, &reason)) != 0)
		return jwt_fail(reason, r, &out->reason, err);
	/* Signature and claims hold; now the state: not revoked. */
	if ((r = ag_web_need_store(w, err)) != 0)
		goto out;
	if ((r = ag_store_jti_is_revoked(w->store,
	                                 json_string_value(json_object_get(claims, "jti")), now,
	                                 &revoked)) != 0) {
		ag_web_state_fail(w, err, r);
		goto out;
	}
	if (revoked) {
		out->reason = ag_jwt_reason_name(AG_JWT_REVOKED);
		goto out;
	}
	/* Tied to a session: that session must still be live (logout, a
	 * Clerk revocation or an expiry ends the token with it). */
	if (json_object_get(claims, "sid") != NULL) {
		sid = json_string_value(json_object_get(claims, "sid"));
		if (sid == NULL || ag_session_handle_parse(sid, hash) != 0 ||
		    (r = ag_store_session_alive(w->store, hash, now, &alive, NULL)) != 0 ||
		    !alive) {
			if (r != 0)
				ag_web_state_fail(w, err, r);
			else
				out->reason = ag_jwt_reason_name(AG_JWT_SESSION_ENDED);
			goto out;
		}
	}
	out->claims = claims;
	claims = NULL;
out:
	json_decref(claims);
	return r;
}

/* Verifies a token against token_audience, then each of token_audiences:
 * any audience issue may use is ours to revoke. */
static int
verify_any_audience(struct ag_web *w, const char *token, size_t len, int64_t now,
                    json_t **claims, enum ag_jwt_reason *reason)
{
	struct ag_jwt_expect exp;
	const char *p = w->cfg->token_audiences;
	char aud[AG_TOKEN_NAME_MAX + 1];
	size_t n;
	int r;

	expect_init(w, &exp);
	r = ag_jwt_verify(w->keyring, token, len, &exp, now, claims, reason);
	while (r != 0 && *reason == AG_JWT_BAD_AUDIENCE && *p != '\0') {
		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (n == 0 || n >= sizeof(aud))
			break;
		memcpy(aud, p, n);
		aud[n] = '\0';
		p += n;
		exp.audience = aud;
		r = ag_jwt_verify(w->keyring, token, len, &exp, now, claims, reason);
	}
	return r;
}

static int
is_jti(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > AG_WEB_JTI_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int
revoke_families(struct ag_web *w, enum ag_web_revoke_what what, const char *in, size_t len,
                struct ag_web_revoked *out, struct ag_web_err *err)
{
	char key[AG_NAME_MAX + 1];
	uint8_t hash[32];
	int r;

	if (what == AG_WEB_REVOKE_USER) {
		if ((r = ag_web_subject_key(w, "user", in, key, err)) != 0 ||
		    (r = ag_web_need_store(w, err)) != 0)
			return r;
		r = ag_store_refresh_revoke(w->store, 0, NULL, key, NULL, &out->families);
	} else {
		if ((r = ag_web_need_store(w, err)) != 0)
			return r;
		if (ag_opaque_parse(AG_WEB_REFRESH_PREFIX, in, len, hash) != 0) {
			out->refused = 1;
			out->reason = "malformed";
			return 0;
		}
		r = ag_store_refresh_revoke(w->store, 0, hash, NULL, NULL, &out->families);
	}
	if (r != 0)
		return ag_web_state_fail(w, err, r);
	ag_web_log(w, LOG_INFO, "refresh_revoked", "sub", what == AG_WEB_REVOKE_USER ? key : NULL,
	           NULL, NULL, NULL, 0);
	out->revoked = 1;
	return 0;
}

int
ag_web_revoke(struct ag_web *w, enum ag_web_revoke_what what, const char *in, size_t len,
              struct ag_web_revoked *out, struct ag_web_err *err)
{
	enum ag_jwt_reason reason = AG_JWT_ERROR;
	json_t *claims = NULL;
	int64_t now = ag_clock_now();
	int r;

	memset(out, 0, sizeof(*out));
	if (what != AG_WEB_REVOKE_TOKEN)
		return revoke_families(w, what, in, len, out, err);
	if ((r = ag_web_need_store(w, err)) != 0)
		return r;
	if (memchr(in, '.', len) != NULL) {
		/* A whole token: only a genuine one names a jti worth storing. */
		if ((r = ag_web_need_identity(w, err)) != 0 ||
		    (r = ag_web_need_keyring(w, err)) != 0)
			return r;
		r = verify_any_audience(w, in, len, now, &claims, &reason);
		if (r != 0 && reason == AG_JWT_EXPIRED) {
			out->reason = "expired"; /* nothing left to revoke */
			return 0;
		}
		if (r != 0) {
			out->refused = 1;
			return jwt_fail(reason, r, &out->reason, err);
		}
		ag_strlcpy(out->jti, json_string_value(json_object_get(claims, "jti")),
		           sizeof(out->jti));
		out->until =
		        json_integer_value(json_object_get(claims, "exp")) + w->cfg->token_leeway;
		json_decref(claims);
	} else if (is_jti(in, len)) {
		memcpy(out->jti, in, len);
		out->jti[len] = '\0';
		/* No token, no exp: keep it as long as any token can live. */
		out->until = now + w->cfg->access_ttl + w->cfg->token_leeway;
	} else {
		out->refused = 1;
		out->reason = "malformed";
		return 0;
	}
	if ((r = ag_store_jti_revoke(w->store, out->jti, now, out->until)) != 0)
		return ag_web_state_fail(w, err, r);
	ag_web_log(w, LOG_INFO, "token_revoked", "jti", out->jti, NULL, NULL, NULL, 0);
	out->revoked = 1;
	return 0;
}
