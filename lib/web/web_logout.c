/* Logout: every credential the product set for one browser dies, in one
 * order whatever order they came in. */
#include "autoconf.h"

#include <string.h>
#include <syslog.h>

#include "error.h"
#include "web_int.h"

/* Revokes one token for logout.  A token that is not ours, or that cannot
 * be checked for want of keys, is left alone: the session it could be
 * tied to has ended already, and the browser forgets it with the cookie.
 * Only a failing state fails the logout. */
static int
revoke_one(struct ag_web *w, enum ag_web_revoke_what what, const char *in,
           struct ag_web_revoked *rv, struct ag_web_err *err)
{
	struct ag_web_err ignored;
	int r;

	r = ag_web_revoke(w, what, in, strlen(in), rv, &ignored);
	if (r != 0 && ignored.status == AG_WEB_INTERNAL) {
		*err = ignored;
		return r;
	}
	if (r != 0)
		memset(rv, 0, sizeof(*rv));
	return 0;
}

int
ag_web_logout(struct ag_web *w, const char *session, const char *access_token,
              const char *refresh_token, struct ag_web_logout_res *out,
              struct ag_web_err *err)
{
	struct ag_web_revoked rv;
	char sid[AG_SID_MAX + 1];
	uint8_t hash[32];
	int64_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (session == NULL)
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{session}: the session id is required");
	if (ag_session_parse_id(session, strlen(session), hash) != 0)
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{session}: not a session id");
	if (access_token != NULL && strchr(access_token, '.') == NULL)
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{token}: not an access token");
	if (refresh_token != NULL &&
	    strncmp(refresh_token, AG_WEB_REFRESH_PREFIX, strlen(AG_WEB_REFRESH_PREFIX)) != 0)
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{refresh_token}: not a refresh token");
	if ((r = ag_web_need_store(w, err)) != 0)
		return r;
	/* The session's refresh families first (counted), then the session
	 * itself: the families go even if it had expired.  Every token tied
	 * to the session dies with it, so a failure after this point leaves
	 * at most an untied token alive. */
	ag_session_handle(hash, sid);
	if ((r = ag_store_refresh_revoke(w->store, 0, NULL, NULL, sid, &n)) != 0)
		return ag_web_state_fail(w, err, r);
	out->families_revoked += n;
	if ((r = ag_store_session_end(w->store, hash, NULL, NULL, ag_session_handle, &n, NULL)) !=
	    0)
		return ag_web_state_fail(w, err, r);
	out->sessions_ended = n;
	if (access_token != NULL) {
		if ((r = revoke_one(w, AG_WEB_REVOKE_TOKEN, access_token, &rv, err)) != 0)
			return r;
		out->access_token_revoked = rv.revoked;
	}
	if (refresh_token != NULL) {
		if ((r = revoke_one(w, AG_WEB_REVOKE_FAMILY, refresh_token, &rv, err)) != 0)
			return r;
		out->families_revoked += rv.families;
	}
	ag_session_cookie(w->cfg, "", 0, out->cookie);
	ag_web_log(w, LOG_INFO, "logout", NULL, NULL, NULL, NULL, "sessions_ended",
	           out->sessions_ended);
	return 0;
}
