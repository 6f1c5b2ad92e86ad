/* Answers of the session ops and of logout. */
#include "autoconf.h"

#include <string.h>

#include "json_out.h"
#include "proto_int.h"

/* A refusal of a session: {"valid": false, "reason"}; a malformed id is
 * named as the command line reads it. */
static void
refused(struct ag_web_call *c, const char *reason)
{
	ag_web_reply(c, AG_WEB_REJECTED, ag_web_refusal(reason));
	if (c->rep->status != AG_WEB_REJECTED)
		return;
	if (strcmp(reason, "malformed") == 0 && ag_web_op_field(c->op, "session") != NULL)
		ag_web_note_names(c, "{session}: malformed");
	else
		ag_web_note(c, "session refused: %s", reason);
}

/* The fingerprint members: user_agent (and attrs) or user_agent_hash.
 * (The dispatcher allowed at most AG_WEB_MAX_ATTRS strings in attrs.) */
static void
fingerprint_in(struct ag_web_call *c, struct ag_web_fp_in *in,
               const char *attrs[AG_WEB_MAX_ATTRS])
{
	json_t *v;
	size_t i;

	memset(in, 0, sizeof(*in));
	in->user_agent = ag_web_arg_str(c, "user_agent");
	in->user_agent_hash = ag_web_arg_str(c, "user_agent_hash");
	in->attrs = attrs;
	json_array_foreach(ag_web_arg(c, "attrs"), i, v) {
		if (in->nattrs < AG_WEB_MAX_ATTRS)
			attrs[in->nattrs++] = json_string_value(v);
	}
}

/* The session, its id and cookie, and evicted. */
static json_t *
created_json(const struct ag_web_session_res *s)
{
	json_t *o = ag_web_session_json(&s->ws);

	if (o == NULL || json_object_set_new(o, "session", json_string(s->id)) != 0 ||
	    json_object_set_new(o, "set_cookie", json_string(s->cookie)) != 0 ||
	    json_object_set_new(o, "evicted", json_integer(0)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void
ag_web_do_session_create(struct ag_web_call *c)
{
	struct ag_web_session_res s;
	struct ag_web_err err;
	struct ag_web_fp_in in;
	const char *attrs[AG_WEB_MAX_ATTRS];
	json_t *o;

	fingerprint_in(c, &in, attrs);
	if (ag_web_session_prepare(c->w, ag_web_arg_str(c, "user"), &in,
	                           ag_web_arg_str(c, "clerk_session"), &s, &err) != 0) {
		ag_web_session_res_clear(&s);
		ag_web_reply_err(c, &err);
		return;
	}
	/* The answer is built before the session is stored: once the row
	 * is committed, nothing but writing it out may fail, so no session
	 * is left that its caller never heard of. */
	if ((o = created_json(&s)) == NULL) {
		ag_web_reply(c, AG_WEB_INTERNAL, NULL);
	} else if (ag_web_session_commit(c->w, &s, &err) != 0) {
		json_decref(o);
		ag_web_reply_err(c, &err);
	} else if (s.reason != NULL) {
		json_decref(o);
		refused(c, s.reason);
	} else {
		json_integer_set(json_object_get(o, "evicted"),
		                 (json_int_t)s.evicted); /* cannot fail */
		ag_web_reply(c, AG_WEB_OK, o);
	}
	ag_web_session_res_clear(&s);
}

void
ag_web_do_session_check(struct ag_web_call *c)
{
	struct ag_web_session_res s;
	struct ag_web_err err;
	struct ag_web_fp_in in;
	const char *attrs[AG_WEB_MAX_ATTRS];
	uint8_t fp[32];
	json_t *o;

	fingerprint_in(c, &in, attrs);
	memset(&s, 0, sizeof(s));
	if (ag_web_fingerprint(&in, fp, &err) != 0 ||
	    ag_web_session_check(c->w, ag_web_arg_str(c, "session"), ag_web_arg_len(c, "session"),
	                         fp, &s, &err) != 0) {
		ag_web_session_res_clear(&s);
		ag_web_reply_err(c, &err);
		return;
	}
	if (s.reason != NULL) {
		refused(c, s.reason);
		ag_web_session_res_clear(&s);
		return;
	}
	o = ag_web_session_json(&s.ws);
	if (o != NULL && (json_object_set_new(o, "valid", json_true()) != 0 ||
	                  (s.cookie[0] != '\0' &&
	                   json_object_set_new(o, "set_cookie", json_string(s.cookie)) != 0))) {
		json_decref(o);
		o = NULL;
	}
	ag_web_reply(c, AG_WEB_OK, o);
	ag_web_session_res_clear(&s);
}

void
ag_web_do_session_rotate(struct ag_web_call *c)
{
	struct ag_web_session_res s;
	struct ag_web_err err;
	json_t *o;

	if (ag_web_session_rotate(c->w, ag_web_arg_str(c, "session"), ag_web_arg_len(c, "session"),
	                          &s, &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	if (s.reason != NULL) {
		refused(c, s.reason);
		ag_web_session_res_clear(&s);
		return;
	}
	o = ag_web_session_json(&s.ws);
	if (o != NULL && (json_object_set_new(o, "session", json_string(s.id)) != 0 ||
	                  json_object_set_new(o, "set_cookie", json_string(s.cookie)) != 0)) {
		json_decref(o);
		o = NULL;
	}
	ag_web_reply(c, AG_WEB_OK, o);
	ag_web_session_res_clear(&s);
}

static int
list_one(void *arr, const struct ag_web_session *s)
{
	return json_array_append_new(arr, ag_web_session_json(s)) != 0 ? -1 : 0;
}

void
ag_web_do_session_list(struct ag_web_call *c)
{
	struct ag_web_err err;
	char key[AG_NAME_MAX + 1];
	json_t *arr = json_array(), *o;

	if (arr == NULL) {
		ag_web_reply(c, AG_WEB_INTERNAL, NULL);
		return;
	}
	if (ag_web_session_list(c->w, ag_web_arg_str(c, "user"), key, list_one, arr, &err) != 0) {
		json_decref(arr);
		ag_web_reply_err(c, &err);
		return;
	}
	o = json_pack("{s:n, s:o}", "user", "sessions", arr);
	if (o != NULL && ag_json_set_name(o, "user", key) != 0) {
		json_decref(o);
		o = NULL;
	}
	ag_web_reply(c, AG_WEB_OK, o);
}

void
ag_web_do_session_end(struct ag_web_call *c)
{
	const char *id = ag_web_arg_str(c, "session"), *sid = ag_web_arg_str(c, "sid");
	const char *user = ag_web_arg_str(c, "user");
	struct ag_web_ended e;
	struct ag_web_err err;
	int r;

	if ((id != NULL) + (sid != NULL) + (user != NULL) != 1) {
		ag_web_reply_usage(c, "one of {session}, {sid} or {user} required");
		return;
	}
	if (user != NULL)
		r = ag_web_session_end(c->w, AG_WEB_END_USER, user, strlen(user), &e, &err);
	else if (sid != NULL)
		r = ag_web_session_end(c->w, AG_WEB_END_HANDLE, sid, strlen(sid), &e, &err);
	else
		r = ag_web_session_end(c->w, AG_WEB_END_ID, id, ag_web_arg_len(c, "session"), &e,
		                       &err);
	if (r != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	if (e.reason != NULL) {
		refused(c, e.reason);
		return;
	}
	ag_web_reply(c, AG_WEB_OK,
	             json_pack("{s:I, s:I}", "sessions_ended", (json_int_t)e.sessions,
	                       "families_revoked", (json_int_t)e.families));
}

void
ag_web_do_logout(struct ag_web_call *c)
{
	struct ag_web_logout_res res;
	struct ag_web_err err;

	if (ag_web_logout(c->w, ag_web_arg_str(c, "session"), ag_web_arg_str(c, "token"),
	                  ag_web_arg_str(c, "refresh_token"), &res, &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	ag_web_reply(c, AG_WEB_OK,
	             json_pack("{s:b, s:I, s:I, s:b, s:[s, s]}", "logged_out", 1, "sessions_ended",
	                       (json_int_t)res.sessions_ended, "families_revoked",
	                       (json_int_t)res.families_revoked, "access_token_revoked",
	                       res.access_token_revoked, "headers", res.cookie,
	                       "Clear-Site-Data: \"cookies\", \"storage\""));
}
