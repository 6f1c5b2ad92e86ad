/* authguard-token: issue, verify, refresh, revoke and jwks.  Every rule of
 * token validity is in lib/jwt.c and lib/store_token.c; this file turns
 * requests into calls and results into the JSON of the contract. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

#include <sodium.h>

#include "b64url.h"
#include "clock.h"
#include "cli.h"
#include "error.h"
#include "jwt.h"
#include "log.h"
#include "opaque.h"
#include "session.h"
#include "subject.h"
#include "token.h"
#include "util.h"

#define REFRESH_PREFIX "agr_"
#define REFRESH_LEN AG_OPAQUE_LEN
#define JTI_RAW 16

static const struct ag_log token_log = { .sink = ag_log_sink_syslog };

/* Claims a caller may not set through extra claims. */
static const char *const reserved_claims[] = {
	"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "sid", "typ", "alg", "kid",
};

void
token_ctx_close(struct token_ctx *ctx)
{
	ag_store_close(ctx->store);
	ag_keyring_free(ctx->keyring);
	ctx->store = NULL;
	ctx->keyring = NULL;
}

static json_t *
error_json(const char *reason, const char *msg)
{
	return json_pack("{s:s, s:s}", "error", reason, "message", msg);
}

static json_t *
reject_json(const char *reason)
{
	return json_pack("{s:b, s:s}", "valid", 0, "reason", reason);
}

static int
need_store(struct token_ctx *ctx, json_t **out)
{
	char err[AG_ERRBUF];
	int r;

	if (ctx->store != NULL)
		return 0;
	if ((r = ag_store_open(ctx->cfg, 0, &ctx->store, err)) != 0) {
		*out = error_json("state", err);
		return cli_exit_for(r);
	}
	return 0;
}

/* Loads the keyring, and in a long-running process (batch) loads it again
 * when the directory changed (a rotation adds a file and rewrites one), so
 * it signs with the new key and verifies tokens signed by it. */
static int
need_keyring(struct token_ctx *ctx, json_t **out)
{
	char err[AG_ERRBUF];
	struct stat sb;
	int r;

	if (stat(ctx->cfg->token_keys_dir, &sb) != 0)
		memset(&sb, 0, sizeof(sb));
	if (ctx->keyring != NULL && sb.st_mtim.tv_sec == ctx->keys_mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == ctx->keys_mtime.tv_nsec)
		return 0;
	ag_keyring_free(ctx->keyring);
	ctx->keyring = NULL;
	ctx->keys_mtime = sb.st_mtim;
	if ((r = ag_keyring_load(ctx->cfg->token_keys_dir, &ctx->keyring, err)) != 0) {
		*out = error_json("keys", err);
		return r == AG_ERR_NOMEM || r == AG_ERR_SYSTEM ? CLI_INTERNAL : CLI_USAGE;
	}
	return 0;
}

/* Issuing and verifying both need to know who we are: no default. */
static int
need_identity(struct token_ctx *ctx, json_t **out)
{
	if (ctx->cfg->token_issuer[0] == '\0' || ctx->cfg->token_audience[0] == '\0') {
		*out = error_json("config", "token_issuer and token_audience must be set in the "
		                            "configuration");
		return CLI_USAGE;
	}
	return 0;
}

static void
log_token(const char *event, const char *sub, const char *k, const char *v, int64_t family)
{
	struct ag_logline l;

	ag_logline_init(&l, event);
	if (sub != NULL)
		ag_logline_str(&l, "sub", sub);
	if (k != NULL)
		ag_logline_str(&l, k, v);
	if (family != 0)
		ag_logline_int(&l, "family", family);
	ag_log_emit(&token_log, event[0] == 'r' && strstr(event, "reuse") != NULL ? LOG_WARNING
	                                                                          : LOG_INFO, &l);
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

/* Builds and signs an access token; adds token, jti and exp to out. */
static int
sign_access(struct token_ctx *ctx, const char *sub, const char *aud, const char *sid,
            int64_t ttl, json_t *extra, json_t *out, const char **why)
{
	char jti[64];
	char *token = NULL;
	int64_t now = ag_clock_now();
	json_t *claims;
	int r;

	*why = "internal";
	if (random_b64(JTI_RAW, jti, sizeof(jti)) != 0)
		return CLI_INTERNAL;
	claims = extra != NULL ? json_deep_copy(extra) : json_object();
	if (claims == NULL)
		return CLI_INTERNAL;
	if (json_object_set_new(claims, "iss", json_string(ctx->cfg->token_issuer)) != 0 ||
	    json_object_set_new(claims, "sub", json_string(sub)) != 0 ||
	    json_object_set_new(claims, "aud", json_string(aud)) != 0 ||
	    json_object_set_new(claims, "iat", json_integer(now)) != 0 ||
	    json_object_set_new(claims, "nbf", json_integer(now)) != 0 ||
	    json_object_set_new(claims, "exp", json_integer(now + ttl)) != 0 ||
	    json_object_set_new(claims, "jti", json_string(jti)) != 0 ||
	    (sid != NULL && json_object_set_new(claims, "sid", json_string(sid)) != 0)) {
		json_decref(claims);
		*why = "invalid_claim"; /* json_string refuses invalid UTF-8 */
		return CLI_USAGE;
	}
	r = ag_jwt_sign(ctx->keyring, claims, NULL, &token);
	json_decref(claims);
	if (r == 0 && strlen(token) > (size_t)ctx->cfg->token_max_len) {
		/* Never hand out a token our own verify would refuse. */
		sodium_memzero(token, strlen(token));
		free(token);
		r = AG_ERR_TOOLONG;
	}
	if (r != 0) {
		/* (the keyring has an active key: INVAL is about the claims) */
		*why = r == AG_ERR_TOOLONG ? "too_large" : r == AG_ERR_INVAL ? "invalid_claim"
		                                                             : "sign_failed";
		return r == AG_ERR_TOOLONG || r == AG_ERR_INVAL ? CLI_USAGE : CLI_INTERNAL;
	}
	json_object_set_new(out, "token", json_string(token));
	json_object_set_new(out, "jti", json_string(jti));
	json_object_set_new(out, "exp", json_integer(now + ttl));
	sodium_memzero(token, strlen(token));
	free(token);
	return CLI_OK;
}

int
token_op_issue(struct token_ctx *ctx, const struct token_issue_req *req, json_t **out)
{
	const char *aud = req->aud != NULL ? req->aud : ctx->cfg->token_audience;
	char refresh[REFRESH_LEN + 1], sub[AG_NAME_MAX + 1];
	const char *why = NULL;
	uint8_t hash[32];
	int64_t ttl = req->ttl != 0 ? req->ttl : ctx->cfg->access_ttl, family = 0, now;
	json_t *o;
	size_t i;
	int code, r;

	*out = NULL;
	if ((code = need_identity(ctx, out)) != 0)
		return code;
	/* The token's sub is the spelling the backend gave (it reads it
	 * back); its refresh family and the session owner check use the
	 * subject's key (web_subject_fold), so that revoking by any spelling
	 * finds them. */
	if ((r = ag_subject_key(ctx->cfg, AG_REALM_WEB, req->sub, sub, &why)) != 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "sub: %s", why);
		*out = error_json(r == AG_ERR_NOMEM ? "internal" : "usage", msg);
		return cli_exit_for(r);
	}
	if (!ag_config_audience_allowed(ctx->cfg, aud)) {
		*out = error_json("usage", "audience not in token_audience/token_audiences");
		return CLI_USAGE;
	}
	if (ttl < 60 || ttl > ctx->cfg->access_ttl) {
		*out = error_json("usage", "ttl must be between 60 seconds and access_ttl");
		return CLI_USAGE;
	}
	if (req->sid != NULL && (req->sid[0] == '\0' || strnlen(req->sid, AG_SID_MAX + 1) > AG_SID_MAX)) {
		*out = error_json("usage", "sid must be 1 to 128 bytes");
		return CLI_USAGE;
	}
	if (req->extra != NULL) {
		if (!json_is_object(req->extra)) {
			*out = error_json("usage", "extra claims must be a JSON object");
			return CLI_USAGE;
		}
		for (i = 0; i < AG_ARRAY_SIZE(reserved_claims); i++) {
			if (json_object_get(req->extra, reserved_claims[i]) != NULL) {
				char msg[96];

				snprintf(msg, sizeof(msg), "extra claims may not set \"%s\"",
				         reserved_claims[i]);
				*out = error_json("usage", msg);
				return CLI_USAGE;
			}
		}
	}
	if ((code = need_keyring(ctx, out)) != 0)
		return code;
	if (req->sid != NULL) {
		/* Only a live session of ours can be named. */
		uint8_t sh[32];
		struct ag_web_session *owner;
		int alive = 0, same;

		if (ag_session_handle_parse(req->sid, sh) != 0) {
			*out = error_json("usage", "sid must be a session handle (the \"sid\" of session create)");
			return CLI_USAGE;
		}
		if ((code = need_store(ctx, out)) != 0)
			return code;
		if ((owner = malloc(sizeof(*owner))) == NULL) {
			*out = error_json("internal", "out of memory");
			return CLI_INTERNAL;
		}
		if (ag_store_session_alive(ctx->store, sh, ag_clock_now(), &alive, owner) != 0) {
			free(owner);
			*out = error_json("state", ag_store_errmsg(ctx->store));
			return CLI_INTERNAL;
		}
		same = alive && strcmp(owner->user_key, sub) == 0;
		free(owner);
		/* A token may only be tied to its own subject's session. */
		if (!same) {
			*out = reject_json(ag_jwt_reason_name(AG_JWT_SESSION_ENDED));
			return CLI_REJECT;
		}
	}
	if ((o = json_object()) == NULL)
		return CLI_INTERNAL;
	if ((code = sign_access(ctx, req->sub, aud, req->sid, ttl, req->extra, o, &why)) != 0) {
		json_decref(o);
		*out = error_json(why, "cannot issue the token");
		return code;
	}
	if (req->refresh) {
		if ((code = need_store(ctx, out)) != 0) {
			json_decref(o);
			return code;
		}
		now = ag_clock_now();
		if (ag_opaque_new(REFRESH_PREFIX, refresh, hash) != 0 ||
		    (r = ag_store_refresh_create(ctx->store, req->sub, sub, req->sid, hash, now,
		                                 now + ctx->cfg->refresh_ttl, &family)) != 0) {
			json_decref(o);
			sodium_memzero(refresh, sizeof(refresh));
			*out = error_json("state", ag_store_errmsg(ctx->store));
			return CLI_INTERNAL;
		}
		json_object_set_new(o, "refresh_token", json_string(refresh));
		json_object_set_new(o, "refresh_expires", json_integer(now + ctx->cfg->refresh_ttl));
		sodium_memzero(refresh, sizeof(refresh));
	}
	log_token("token_issued", req->sub, "jti", json_string_value(json_object_get(o, "jti")),
	          family);
	*out = o;
	return CLI_OK;
}

int
token_op_verify(struct token_ctx *ctx, const char *token, size_t len, json_t **out)
{
	struct ag_jwt_expect exp;
	enum ag_jwt_reason reason = AG_JWT_ERROR;
	json_t *claims = NULL;
	int64_t now = ag_clock_now();
	int code, revoked = 1, r;

	*out = NULL;
	if ((code = need_identity(ctx, out)) != 0 || (code = need_keyring(ctx, out)) != 0)
		return code;
	ag_jwt_expect_init(&exp, ctx->cfg->token_issuer, ctx->cfg->token_audience);
	exp.leeway = ctx->cfg->token_leeway;
	exp.max_len = (size_t)ctx->cfg->token_max_len;
	r = ag_jwt_verify(ctx->keyring, token, len, &exp, now, &claims, &reason);
	if (r != 0) {
		if (reason == AG_JWT_ERROR) {
			*out = error_json("internal", ag_strerror(r));
			return CLI_INTERNAL;
		}
		*out = reject_json(ag_jwt_reason_name(reason));
		return CLI_REJECT;
	}
	/* Signature and claims hold; now the state: not revoked. */
	if ((code = need_store(ctx, out)) != 0 ||
	    (r = ag_store_jti_is_revoked(ctx->store, json_string_value(json_object_get(claims, "jti")),
	                                 now, &revoked)) != 0) {
		json_decref(claims);
		if (code == 0) {
			*out = error_json("state", ag_store_errmsg(ctx->store));
			code = CLI_INTERNAL;
		}
		return code;
	}
	if (revoked) {
		json_decref(claims);
		*out = reject_json(ag_jwt_reason_name(AG_JWT_REVOKED));
		return CLI_REJECT;
	}
	/* Tied to a session: that session must still be live (logout, a
	 * Clerk revocation or an expiry ends the token with it). */
	if (json_object_get(claims, "sid") != NULL) {
		uint8_t hash[32];
		int alive = 0;

		if (ag_session_handle_parse(json_string_value(json_object_get(claims, "sid")), hash) != 0 ||
		    (r = ag_store_session_alive(ctx->store, hash, now, &alive, NULL)) != 0 || !alive) {
			json_decref(claims);
			if (r != 0) {
				*out = error_json("state", ag_store_errmsg(ctx->store));
				return CLI_INTERNAL;
			}
			*out = reject_json(ag_jwt_reason_name(AG_JWT_SESSION_ENDED));
			return CLI_REJECT;
		}
	}
	*out = json_pack("{s:b, s:o}", "valid", 1, "claims", claims);
	return CLI_OK;
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
token_op_refresh(struct token_ctx *ctx, const char *token, size_t len, json_t **out)
{
	struct ag_refresh_info info;
	enum ag_refresh_outcome outcome = AG_REFRESH_UNKNOWN;
	char next[REFRESH_LEN + 1];
	uint8_t hash[32], next_hash[32];
	const char *why = NULL;
	json_t *o = NULL;
	int code, r;

	*out = NULL;
	if (ag_opaque_parse(REFRESH_PREFIX, token, len, hash) != 0) {
		*out = reject_json("malformed");
		return CLI_REJECT;
	}
	if ((code = need_identity(ctx, out)) != 0 || (code = need_keyring(ctx, out)) != 0 ||
	    (code = need_store(ctx, out)) != 0)
		return code;
	if (ag_opaque_new(REFRESH_PREFIX, next, next_hash) != 0)
		return *out = error_json("internal", "no randomness"), CLI_INTERNAL;
	r = ag_store_refresh_redeem(ctx->store, hash, next_hash, ag_clock_now(),
	                            ctx->cfg->refresh_grace, ag_session_handle_parse, &outcome, &info);
	if (r != 0) {
		sodium_memzero(next, sizeof(next));
		*out = error_json("state", ag_store_errmsg(ctx->store));
		return CLI_INTERNAL;
	}
	if (outcome != AG_REFRESH_OK && outcome != AG_REFRESH_RETRIED) {
		sodium_memzero(next, sizeof(next));
		/* Theft: the store ended the family's session with it. */
		if (outcome == AG_REFRESH_REUSED)
			log_token("refresh_reuse", info.subject, info.sid[0] != '\0' ? "sid" : NULL,
			          info.sid, info.family);
		*out = reject_json(refresh_reason(outcome));
		return CLI_REJECT;
	}
	if (info.sid[0] != '\0') {
		/* A family tied to a session lives only as long as the session
		 * (expired, evicted, ended by a fingerprint mismatch). */
		uint8_t sh[32];
		int alive = 0;
		int64_t n = 0;

		if (ag_session_handle_parse(info.sid, sh) != 0 ||
		    (r = ag_store_session_alive(ctx->store, sh, ag_clock_now(), &alive, NULL)) != 0 ||
		    !alive) {
			sodium_memzero(next, sizeof(next));
			if (r != 0) {
				*out = error_json("state", ag_store_errmsg(ctx->store));
				return CLI_INTERNAL;
			}
			if (ag_store_refresh_revoke(ctx->store, info.family, NULL, NULL, NULL, &n) != 0) {
				*out = error_json("state", ag_store_errmsg(ctx->store));
				return CLI_INTERNAL;
			}
			*out = reject_json(ag_jwt_reason_name(AG_JWT_SESSION_ENDED));
			return CLI_REJECT;
		}
	}
	if ((o = json_object()) == NULL ||
	    (code = sign_access(ctx, info.subject, ctx->cfg->token_audience,
	                        info.sid[0] != '\0' ? info.sid : NULL, ctx->cfg->access_ttl, NULL, o,
	                        &why)) != 0) {
		/* The old token is spent and the new one unsent: the client
		 * logs in again.  Never hand out a refresh token without its
		 * access token. */
		json_decref(o);
		sodium_memzero(next, sizeof(next));
		*out = error_json(why != NULL ? why : "internal", "cannot issue the access token");
		return code != 0 ? code : CLI_INTERNAL;
	}
	json_object_set_new(o, "refresh_token", json_string(next));
	json_object_set_new(o, "refresh_expires", json_integer(info.expires));
	json_object_set_new(o, "sub", json_string(info.subject));
	sodium_memzero(next, sizeof(next));
	log_token(outcome == AG_REFRESH_RETRIED ? "refresh_retried" : "token_refreshed", info.subject,
	          "jti", json_string_value(json_object_get(o, "jti")), info.family);
	*out = o;
	return CLI_OK;
}

static int
verify_any_audience(struct token_ctx *ctx, const char *token, size_t len, int64_t now,
                    json_t **claims, enum ag_jwt_reason *reason)
{
	struct ag_jwt_expect exp;
	const char *p = ctx->cfg->token_audiences;
	char aud[AG_TOKEN_NAME_MAX + 1];
	size_t n;
	int r;

	ag_jwt_expect_init(&exp, ctx->cfg->token_issuer, ctx->cfg->token_audience);
	exp.leeway = ctx->cfg->token_leeway;
	exp.max_len = (size_t)ctx->cfg->token_max_len;
	r = ag_jwt_verify(ctx->keyring, token, len, &exp, now, claims, reason);
	while (r != 0 && *reason == AG_JWT_BAD_AUDIENCE && *p != '\0') {
		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (n == 0 || n >= sizeof(aud))
			break;
		memcpy(aud, p, n);
		aud[n] = '\0';
		p += n;
		exp.audience = aud;
		r = ag_jwt_verify(ctx->keyring, token, len, &exp, now, claims, reason);
	}
	return r;
}

static int
is_jti(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int
token_op_revoke(struct token_ctx *ctx, const char *token, size_t len, int family,
                const char *user, json_t **out)
{
	enum ag_jwt_reason reason = AG_JWT_ERROR;
	json_t *claims = NULL;
	uint8_t hash[32];
	char jti[65], key[AG_NAME_MAX + 1];
	const char *why = NULL;
	int64_t n = 0, until, now = ag_clock_now();
	int code, r;

	*out = NULL;
	if (user != NULL) {
		if ((r = ag_subject_key(ctx->cfg, AG_REALM_WEB, user, key, &why)) != 0) {
			char msg[96];

			snprintf(msg, sizeof(msg), "user: %s", why);
			*out = error_json(r == AG_ERR_NOMEM ? "internal" : "usage", msg);
			return cli_exit_for(r);
		}
		user = key;
	}
	if ((code = need_store(ctx, out)) != 0)
		return code;
	if (user != NULL || family) {
		if (user != NULL)
			r = ag_store_refresh_revoke(ctx->store, 0, NULL, user, NULL, &n);
		else if (ag_opaque_parse(REFRESH_PREFIX, token, len, hash) == 0)
			r = ag_store_refresh_revoke(ctx->store, 0, hash, NULL, NULL, &n);
		else
			return *out = reject_json("malformed"), CLI_REJECT;
		if (r != 0)
			return *out = error_json("state", ag_store_errmsg(ctx->store)), CLI_INTERNAL;
		log_token("refresh_revoked", user, NULL, NULL, 0);
		*out = json_pack("{s:b, s:I}", "revoked", 1, "families", (json_int_t)n);
		return CLI_OK;
	}
	if (memchr(token, '.', len) != NULL) {
		/* A whole token: only a genuine one names a jti worth storing. */
		if ((code = need_identity(ctx, out)) != 0 || (code = need_keyring(ctx, out)) != 0)
			return code;
		/* Any audience issue may use is ours to revoke. */
		r = verify_any_audience(ctx, token, len, now, &claims, &reason);
		if (r != 0 && reason == AG_JWT_EXPIRED) {
			*out = json_pack("{s:b, s:s}", "revoked", 0, "reason", "expired");
			return CLI_OK; /* nothing left to revoke */
		}
		if (r != 0) {
			*out = reject_json(ag_jwt_reason_name(reason));
			return reason == AG_JWT_ERROR ? CLI_INTERNAL : CLI_REJECT;
		}
		ag_strlcpy(jti, json_string_value(json_object_get(claims, "jti")), sizeof(jti));
		until = json_integer_value(json_object_get(claims, "exp")) + ctx->cfg->token_leeway;
		json_decref(claims);
	} else if (is_jti(token, len)) {
		memcpy(jti, token, len);
		jti[len] = '\0';
		/* No token, no exp: keep it as long as any token can live. */
		until = now + ctx->cfg->access_ttl + ctx->cfg->token_leeway;
	} else {
		*out = reject_json("malformed");
		return CLI_REJECT;
	}
	if ((r = ag_store_jti_revoke(ctx->store, jti, now, until)) != 0)
		return *out = error_json("state", ag_store_errmsg(ctx->store)), CLI_INTERNAL;
	log_token("token_revoked", NULL, "jti", jti, 0);
	*out = json_pack("{s:b, s:s, s:I}", "revoked", 1, "jti", jti, "until", (json_int_t)until);
	return CLI_OK;
}

int
token_op_jwks(struct token_ctx *ctx, json_t **out)
{
	int code;

	*out = NULL;
	if ((code = need_keyring(ctx, out)) != 0)
		return code;
	if (ag_keyring_jwks(ctx->keyring, out) != 0)
		return *out = error_json("internal", "out of memory"), CLI_INTERNAL;
	return CLI_OK;
}
