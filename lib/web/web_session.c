/* Web sessions for a backend: created at login, checked on every request
 * against the browser's fingerprint, rotated on a privilege change,
 * listed and ended.  Ids are generated here only and stored hashed; the
 * state's rules (limits, eviction, expiry) are lib/store's and
 * lib/session_policy.c's. */
#include "autoconf.h"

#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "clock.h"
#include "error.h"
#include "util.h"
#include "web_int.h"

void
ag_web_session_res_clear(struct ag_web_session_res *r)
{
	if (r != NULL)
		sodium_memzero(r, sizeof(*r));
}

static int
hex32(const char *s, uint8_t out[32])
{
	size_t len = 0;

	if (strlen(s) != 64 || sodium_hex2bin(out, 32, s, 64, NULL, &len, NULL) != 0 || len != 32)
		return AG_ERR_INVAL;
	return 0;
}

int
ag_web_fingerprint(const struct ag_web_fp_in *in, uint8_t fp[32], struct ag_web_err *err)
{
	if (in->nattrs > AG_WEB_MAX_ATTRS)
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage", "{attrs}: at most %d",
		                   AG_WEB_MAX_ATTRS);
	if (in->user_agent_hash != NULL) {
		if (in->user_agent != NULL || in->nattrs > 0 || hex32(in->user_agent_hash, fp) != 0)
			return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
			                   "{user_agent_hash}: 64 hex digits (and no {user_agent} "
			                   "or {attrs})");
		return 0;
	}
	if (in->user_agent == NULL)
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{user_agent} or {user_agent_hash} is required");
	ag_session_fingerprint(in->user_agent, in->attrs, in->nattrs, fp);
	return 0;
}

int
ag_web_session_prepare(struct ag_web *w, const char *user, const struct ag_web_fp_in *fp,
                       const char *clerk_session, struct ag_web_session_res *s,
                       struct ag_web_err *err)
{
	const struct ag_config *cfg = w->cfg;
	struct ag_web_session *ws = &s->ws;
	int64_t now = ag_clock_now();
	int r;

	memset(s, 0, sizeof(*s));
	if (user[0] == '\0' || strnlen(user, AG_NAME_MAX + 1) > AG_NAME_MAX)
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{user}: 1 to %d bytes", AG_NAME_MAX);
	/* A web subject is a JSON string everywhere else (token sub, batch
	 * requests): refused here, before anything is stored. */
	if (!ag_utf8_valid(user, strlen(user)))
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{user}: not valid UTF-8");
	if (clerk_session != NULL && (clerk_session[0] == '\0' ||
	                              strnlen(clerk_session, AG_SID_MAX + 1) > AG_SID_MAX))
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{clerk_session}: 1 to %d bytes", AG_SID_MAX);
	if ((r = ag_web_fingerprint(fp, ws->fingerprint, err)) != 0)
		return r;
	/* The session keeps the spelling given (the backend reads it back)
	 * and its key, which the limit, lists and "end --user" compare. */
	if ((r = ag_web_subject_key(w, "user", user, ws->user_key, err)) != 0)
		return r;
	ag_strlcpy(ws->user, user, sizeof(ws->user));
	if (clerk_session != NULL)
		ag_strlcpy(ws->clerk_sid, clerk_session, sizeof(ws->clerk_sid));
	ws->created = ws->last_seen = now;
	ws->abs_expires = now + cfg->session_lifetime;
	ws->idle_expires = now + cfg->session_idle < ws->abs_expires ? now + cfg->session_idle
	                                                             : ws->abs_expires;
	if (ag_session_new_id(s->id, ws->id_hash) != 0)
		return ag_web_fail(err, AG_ERR_SYSTEM, AG_WEB_INTERNAL, "internal",
		                   "no randomness");
	ag_session_handle(ws->id_hash, s->handle);
	ag_session_cookie(cfg, s->id, cfg->session_lifetime, s->cookie);
	return 0;
}

int
ag_web_session_commit(struct ag_web *w, struct ag_web_session_res *s, struct ag_web_err *err)
{
	const struct ag_config *cfg = w->cfg;
	int refused = 0, r;

	if ((r = ag_web_need_store(w, err)) != 0)
		return r;
	if ((r = ag_store_session_create(w->store, &s->ws, cfg->session_max, cfg->session_evict,
	                                 s->ws.created, &s->evicted, &refused)) != 0)
		return ag_web_state_fail(w, err, r);
	if (refused) {
		ag_web_log(w, LOG_NOTICE, "session_refused", "user", s->ws.user, NULL, NULL, "max",
		           cfg->session_max);
		ag_web_session_res_clear(s);
		s->reason = "limit";
		return 0;
	}
	if (s->evicted > 0)
		ag_web_log(w, LOG_NOTICE, "session_evicted", "user", s->ws.user, NULL, NULL,
		           "count", s->evicted);
	ag_web_log(w, LOG_INFO, "session_created", "user", s->ws.user, "sid", s->handle, NULL, 0);
	return 0;
}

static const char *
verdict_reason(enum ag_session_verdict v)
{
	return v == AG_SESSION_MISMATCH ? "fingerprint_mismatch"
	       : v == AG_SESSION_EXPIRED ? "expired"
	                                 : "unknown";
}

int
ag_web_session_check(struct ag_web *w, const char *id, size_t len, const uint8_t fp[32],
                     struct ag_web_session_res *s, struct ag_web_err *err)
{
	const struct ag_config *cfg = w->cfg;
	enum ag_session_verdict v = AG_SESSION_UNKNOWN;
	uint8_t hash[32];
	int64_t now = ag_clock_now();
	int touched = 0, r;

	memset(s, 0, sizeof(*s));
	if (ag_session_parse_id(id, len, hash) != 0) {
		s->reason = "malformed";
		return 0;
	}
	if ((r = ag_web_need_store(w, err)) != 0)
		return r;
	if ((r = ag_store_session_check(w->store, hash, fp, now, cfg->session_idle,
	                                cfg->session_touch, cfg->session_revoke_on_mismatch, &v,
	                                &s->ws, &touched)) != 0)
		return ag_web_state_fail(w, err, r);
	ag_session_handle(hash, s->handle);
	if (v != AG_SESSION_OK) {
		if (v == AG_SESSION_MISMATCH)
			ag_web_log(w, LOG_WARNING, "session_fingerprint_mismatch", "user",
			           s->ws.user, "sid", s->handle, "revoked",
			           cfg->session_revoke_on_mismatch);
		ag_web_session_res_clear(s);
		s->reason = verdict_reason(v);
		return 0;
	}
	/* The expiry moved: the cookie's Max-Age follows. */
	if (touched)
		ag_session_cookie(cfg, id, s->ws.abs_expires - now, s->cookie);
	return 0;
}

int
ag_web_session_rotate(struct ag_web *w, const char *id, size_t len,
                      struct ag_web_session_res *s, struct ag_web_err *err)
{
	enum ag_session_verdict v = AG_SESSION_UNKNOWN;
	char old_sid[AG_SID_MAX + 1];
	uint8_t hash[32], nhash[32];
	int64_t now = ag_clock_now();
	int r;

	memset(s, 0, sizeof(*s));
	if (ag_session_parse_id(id, len, hash) != 0) {
		s->reason = "malformed";
		return 0;
	}
	if (ag_session_new_id(s->id, nhash) != 0)
		return ag_web_fail(err, AG_ERR_SYSTEM, AG_WEB_INTERNAL, "internal",
		                   "no randomness");
	ag_session_handle(hash, old_sid);
	ag_session_handle(nhash, s->handle);
	if ((r = ag_web_need_store(w, err)) != 0) {
		ag_web_session_res_clear(s);
		return r;
	}
	if ((r = ag_store_session_rotate(w->store, hash, nhash, old_sid, s->handle, now, &v,
	                                 &s->ws)) != 0) {
		ag_web_session_res_clear(s);
		return ag_web_state_fail(w, err, r);
	}
	if (v != AG_SESSION_OK) {
		ag_web_session_res_clear(s);
		s->reason = v == AG_SESSION_EXPIRED ? "expired" : "unknown";
		return 0;
	}
	ag_web_log(w, LOG_INFO, "session_rotated", "user", s->ws.user, "sid", s->handle, NULL, 0);
	ag_session_cookie(w->cfg, s->id, s->ws.abs_expires - now, s->cookie);
	return 0;
}

struct list_ctx {
	int (*fn)(void *ctx, const struct ag_web_session *s);
	void *ctx;
	int stopped;
};

static int
list_one(void *vctx, const struct ag_web_session *s)
{
	struct list_ctx *l = vctx;

	if (l->fn(l->ctx, s) != 0)
		l->stopped = 1;
	return l->stopped;
}

int
ag_web_session_list(struct ag_web *w, const char *user, char key[AG_NAME_MAX + 1],
                    int (*fn)(void *ctx, const struct ag_web_session *s), void *ctx,
                    struct ag_web_err *err)
{
	struct list_ctx l = { fn, ctx, 0 };
	int r;

	if ((r = ag_web_subject_key(w, "user", user, key, err)) != 0 ||
	    (r = ag_web_need_store(w, err)) != 0)
		return r;
	if ((r = ag_store_session_list(w->store, key, ag_clock_now(), list_one, &l)) != 0)
		return ag_web_state_fail(w, err, r);
	/* No silent gap in a list: a session that could not be taken (out
	 * of memory) fails the whole list. */
	if (l.stopped)
		return ag_web_fail(err, AG_ERR_NOMEM, AG_WEB_INTERNAL, "internal", "out of memory");
	return 0;
}

int
ag_web_session_end(struct ag_web *w, enum ag_web_end_by by, const char *what, size_t len,
                   struct ag_web_ended *out, struct ag_web_err *err)
{
	char key[AG_NAME_MAX + 1];
	const char *user = NULL;
	uint8_t hash[32];
	int64_t more = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (by == AG_WEB_END_USER) {
		if ((r = ag_web_subject_key(w, "user", what, key, err)) != 0)
			return r;
		user = key;
	} else if (by == AG_WEB_END_HANDLE) {
		if (ag_session_handle_parse(what, hash) != 0)
			return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
			                   "{sid}: not a session handle");
	} else if (ag_session_parse_id(what, len, hash) != 0) {
		out->reason = "malformed";
		return 0;
	}
	if ((r = ag_web_need_store(w, err)) != 0)
		return r;
	r = ag_store_session_end(w->store, user != NULL ? NULL : hash, user, NULL,
	                         ag_session_handle, &out->sessions, &out->families);
	if (r == 0 && user != NULL) {
		/* Also the families tied to no session ("log out everywhere"). */
		r = ag_store_refresh_revoke(w->store, 0, NULL, user, NULL, &more);
		out->families += more;
	}
	if (r != 0) {
		ag_web_state_fail(w, err, r);
		if (r == AG_ERR_INVAL)
			err->status = AG_WEB_USAGE;
		return r;
	}
	ag_web_log(w, LOG_NOTICE, user != NULL ? "sessions_ended_user" : "session_ended", "user",
	           user, NULL, NULL, "count", out->sessions);
	return 0;
}
