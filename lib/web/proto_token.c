/* Answers of the token ops: issue, verify, refresh, revoke, jwks. */
#include "autoconf.h"

#include <string.h>

#include "proto_int.h"

static void
refused(struct ag_web_call *c, const char *reason)
{
	ag_web_reply(c, AG_WEB_REJECTED, ag_web_refusal(reason));
	if (c->rep->status == AG_WEB_REJECTED)
		ag_web_note(c, "%s", reason);
}

/* token, jti and exp, and the refresh token when there is one. */
static json_t *
token_json(const struct ag_web_token *t)
{
	if (t->refresh_token[0] == '\0')
		return json_pack("{s:s, s:s, s:I}", "token", t->token, "jti", t->jti, "exp",
		                 (json_int_t)t->exp);
	return json_pack("{s:s, s:s, s:I, s:s, s:I}", "token", t->token, "jti", t->jti, "exp",
	                 (json_int_t)t->exp, "refresh_token", t->refresh_token,
	                 "refresh_expires", (json_int_t)t->refresh_expires);
}

void
ag_web_do_issue(struct ag_web_call *c)
{
	struct ag_web_issue_req req = {
		.sub = ag_web_arg_str(c, "sub"),
		.aud = ag_web_arg_str(c, "aud"),
		.sid = ag_web_arg_str(c, "sid"),
		.ttl = ag_web_arg_int(c, "ttl"),
		.refresh = ag_web_arg_bool(c, "refresh"),
		.claims = ag_web_arg(c, "claims"),
	};
	struct ag_web_token t;
	struct ag_web_err err;

	if (ag_web_issue(c->w, &req, &t, &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	if (t.reason != NULL)
		refused(c, t.reason);
	else
		ag_web_reply(c, AG_WEB_OK, token_json(&t));
	ag_web_token_clear(&t);
}

void
ag_web_do_verify(struct ag_web_call *c)
{
	struct ag_web_verified v;
	struct ag_web_err err;

	if (ag_web_verify(c->w, ag_web_arg_str(c, "token"), ag_web_arg_len(c, "token"), &v,
	                  &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	if (v.reason != NULL) {
		refused(c, v.reason);
		return;
	}
	ag_web_reply(c, AG_WEB_OK, json_pack("{s:b, s:O}", "valid", 1, "claims", v.claims));
	ag_web_verified_clear(&v);
}

void
ag_web_do_refresh(struct ag_web_call *c)
{
	struct ag_web_token t;
	struct ag_web_err err;
	json_t *o;

	if (ag_web_refresh(c->w, ag_web_arg_str(c, "refresh_token"),
	                   ag_web_arg_len(c, "refresh_token"), &t, &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	if (t.reason != NULL) {
		refused(c, t.reason);
	} else {
		o = token_json(&t);
		if (o != NULL && json_object_set_new(o, "sub", json_string(t.sub)) != 0) {
			json_decref(o);
			o = NULL;
		}
		ag_web_reply(c, AG_WEB_OK, o);
	}
	ag_web_token_clear(&t);
}

/* One thing to revoke, as on the command line: an access token or a jti
 * (what stdin carries for revoke), a refresh token with "family": true
 * (revoke --family), or a user (revoke --user). */
void
ag_web_do_revoke(struct ag_web_call *c)
{
	const char *tok = ag_web_arg_str(c, "token"), *jti = ag_web_arg_str(c, "jti");
	const char *rt = ag_web_arg_str(c, "refresh_token"), *user = ag_web_arg_str(c, "user");
	const char *in = tok != NULL ? "token" : jti != NULL ? "jti" : "refresh_token";
	enum ag_web_revoke_what what;
	struct ag_web_revoked rv;
	struct ag_web_err err;

	if ((tok != NULL) + (jti != NULL) + (rt != NULL) + (user != NULL) != 1 ||
	    ag_web_arg_bool(c, "family") != (rt != NULL)) {
		ag_web_reply_usage(c, "one of token, jti, refresh_token with \"family\": true, or "
		                      "user required");
		return;
	}
	what = user != NULL ? AG_WEB_REVOKE_USER
	       : rt != NULL ? AG_WEB_REVOKE_FAMILY
	                    : AG_WEB_REVOKE_TOKEN;
	if (ag_web_revoke(c->w, what, user != NULL ? user : ag_web_arg_str(c, in),
	                  user != NULL ? strlen(user) : ag_web_arg_len(c, in), &rv, &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	if (rv.refused)
		refused(c, rv.reason);
	else if (!rv.revoked)
		ag_web_reply(c, AG_WEB_OK,
		             json_pack("{s:b, s:s}", "revoked", 0, "reason", rv.reason));
	else if (what == AG_WEB_REVOKE_TOKEN)
		ag_web_reply(c, AG_WEB_OK,
		             json_pack("{s:b, s:s, s:I}", "revoked", 1, "jti", rv.jti, "until",
		                       (json_int_t)rv.until));
	else
		ag_web_reply(c, AG_WEB_OK,
		             json_pack("{s:b, s:I}", "revoked", 1, "families",
		                       (json_int_t)rv.families));
}

void
ag_web_do_jwks(struct ag_web_call *c)
{
	struct ag_web_err err;
	json_t *jwks;

	if (ag_web_jwks(c->w, &jwks, &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	ag_web_reply(c, AG_WEB_OK, jwks);
}
