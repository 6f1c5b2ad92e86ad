/* Unit tests for lib/web: the op table, the request checks and the batch
 * envelope (lib/web/proto.c), how errors name a member in an answer and an
 * option on the command line, and the library functions against a real
 * state and key directory under /tmp: fingerprints, sessions (create,
 * check, rotate, list, end), issue's refusal of another user's session,
 * verify's denylist and session liveness, refresh reuse, logout (its
 * order, its refusals that change nothing), the guard, a webhook. */
#include "autoconf.h" /* _GNU_SOURCE: nftw FTW_PHYS */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "error.h"
#include "json_out.h"
#include "proto.h"
#include "util.h"
#include "web.h"

#include "tap.h"

#define NOW INT64_C(1700000000)

static char tmpdir[64];
static struct ag_config cfg;
static struct ag_web w;

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

/* The answer to one batch line, as text ("" when there is none). */
static const char *
answer(const char *line)
{
	static char buf[2048];
	json_t *a = ag_web_answer_line(&w, line, strlen(line), 0);
	char *s = a != NULL ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	ag_strlcpy(buf, s != NULL ? s : "", sizeof(buf));
	free(s);
	json_decref(a);
	return buf;
}

/* ag_web_dispatch() of a request given as JSON text. */
static void
dispatch(const char *text, struct ag_web_reply *rep)
{
	json_error_t jerr;
	json_t *req = json_loads(text, 0, &jerr);

	ag_web_dispatch(&w, req, rep);
	json_decref(req);
}

static const char *
member(const struct ag_web_reply *rep, const char *key)
{
	return json_string_value(json_object_get(rep->answer, key));
}

static void
test_table(void)
{
	static const char *const protocol[] = {
		"guard_check", "guard_failure", "guard_success", "mfa_verify", "issue", "verify",
		"refresh", "revoke", "jwks", "session_create", "session_check", "session_rotate",
		"session_list", "session_end", "logout", "webhook_receive",
	};
	const struct ag_web_op *ops, *op;
	size_t n, i, j, k;
	int bad = 0;

	ops = ag_web_ops(&n);
	for (i = 0; i < AG_ARRAY_SIZE(protocol); i++)
		ok(ag_web_op_find(protocol[i]) != NULL, "op %s is in the table", protocol[i]);
	ok(ag_web_op_find("frobnicate") == NULL && ag_web_op_find("") == NULL,
	   "no op frobnicate, no op \"\"");
	for (i = 0; i < n; i++) {
		op = &ops[i];
		if (op->handler == NULL || op->nfields > AG_WEB_FIELDS_MAX ||
		    (op->nfields > 0) != (op->fields != NULL) || ag_web_op_find(op->name) != op)
			bad++;
		for (j = 0; j < op->nfields; j++) {
			const struct ag_web_field *f = &op->fields[j];

			if (f->cli == NULL || f->cli[0] == '\0' ||
			    ag_web_op_field(op, f->name) != f ||
			    ((f->flags & AG_WEB_INPUT) != 0) != (ag_web_field_max(&cfg, f) > 0) ||
			    ((f->flags & AG_WEB_INPUT) != 0 && f->type != AG_WEB_STRING) ||
			    strcmp(f->name, "op") == 0 || strcmp(f->name, "id") == 0)
				bad++;
			for (k = 0; f->name[k] != '\0'; k++)
				if (!((f->name[k] >= 'a' && f->name[k] <= 'z') ||
				      f->name[k] == '_'))
					bad++;
		}
	}
	is_int(bad, 0, "every op: a handler, unique lower-case members (never op or id), each "
	               "named for the command line, bounds exactly on stdin inputs");
	is_int((int64_t)ag_web_field_max(&cfg, ag_web_op_field(ag_web_op_find("verify"), "token")),
	       16384, "a token on stdin: up to 16 KiB (twice token_max_len is less)");
	is_int((int64_t)ag_web_field_max(
	               &cfg, ag_web_op_field(ag_web_op_find("session_check"), "session")),
	       AG_WEB_SESSION_INPUT_MAX, "a session id: up to 54 bytes");
	is_int((int64_t)ag_web_field_max(&cfg,
	                                 ag_web_op_field(ag_web_op_find("mfa_verify"), "code")),
	       255, "a code: up to 255 bytes");
	ok(ag_web_line_max(&cfg) >= 2 * (size_t)AG_WEBHOOK_BODY_MAX,
	   "a batch line holds the largest webhook body as a JSON string");
}

static void
test_envelope(void)
{
	char line[400];

	is_str(answer("not json"),
	       "{\"error\":\"usage\",\"message\":\"not a JSON object\",\"status\":2}",
	       "a line that is not JSON: usage, no id");
	is_str(answer("[1,2]"),
	       "{\"error\":\"usage\",\"message\":\"not a JSON object\",\"status\":2}",
	       "an array: usage");
	is_str(answer("{\"id\":1,\"op\":\"jwks\",\"op\":\"verify\"}"),
	       "{\"error\":\"usage\",\"message\":\"not a JSON object\",\"status\":2}",
	       "duplicate members: refused whole, no id");
	is_str(answer("{\"id\":{\"a\":1},\"op\":\"jwks\"}"),
	       "{\"error\":\"usage\",\"message\":\"id must be a number or a string of at most 256 "
	       "bytes\",\"status\":2}",
	       "an object as id: refused, not echoed");
	memset(line, 0, sizeof(line));
	snprintf(line, sizeof(line), "{\"id\":\"%0257d\",\"op\":\"jwks\"}", 0);
	ok(strstr(answer(line), "\"id\"") == NULL, "a 257-byte id: not echoed");
	is_str(answer("{\"id\":\"x\",\"op\":\"frobnicate\"}"),
	       "{\"error\":\"usage\",\"id\":\"x\",\"message\":\"unknown op\",\"status\":2}",
	       "an unknown op: usage, the id echoed");
	is_str(answer("{\"id\":-7}"),
	       "{\"error\":\"usage\",\"id\":-7,\"message\":\"no \\\"op\\\"\","
	       "\"status\":2}",
	       "no op");
	is_str(answer("{\"op\":7}"),
	       "{\"error\":\"usage\",\"message\":\"\\\"op\\\" must be a string\",\"status\":2}",
	       "op not a string");
	is_str(answer("{\"id\":2,\"op\":\"revoke\",\"user\":\"x\",\"famly\":true}"),
	       "{\"error\":\"usage\",\"id\":2,\"message\":\"unknown member \\\"famly\\\" for op "
	       "revoke\",\"status\":2}",
	       "an unknown member: named in the message");
	is_str(answer("{\"op\":\"issue\",\"sub\":\"a\",\"{sub}\":1}"),
	       "{\"error\":\"usage\",\"message\":\"unknown member for op issue\",\"status\":2}",
	       "a member named with braces is not repeated (nor read as a member's name)");
	{
		json_t *a = ag_web_answer_line(&w, "", 0, 1);

		is_str(json_string_value(json_object_get(a, "message")), "request too long",
		       "a line over the limit: request too long");
		json_decref(a);
	}
}

/* Each member type refused with a usage error that names it. */
static void
test_members(void)
{
	static const struct {
		const char *req, *message;
	} cases[] = {
	        {"{\"op\":\"verify\"}", "\"token\" required"},
	        {"{\"op\":\"verify\",\"token\":12}", "\"token\" must be a string"},
	        {"{\"op\":\"verify\",\"token\":null}", "\"token\" must be a string"},
	        {"{\"op\":\"verify\",\"token\":\"\"}", "\"token\" is empty"},
	        {"{\"op\":\"issue\",\"sub\":\"a\",\"refresh\":1}",
	         "\"refresh\" must be true or false"},
	        {"{\"op\":\"issue\",\"sub\":\"a\",\"ttl\":0}",
	         "\"ttl\" must be a positive integer"},
	        {"{\"op\":\"issue\",\"sub\":\"a\",\"ttl\":1.5}",
	         "\"ttl\" must be a positive integer"},
	        {"{\"op\":\"issue\",\"sub\":\"a\",\"claims\":[]}",
	         "\"claims\" must be a JSON object"},
	        {"{\"op\":\"session_check\",\"session\":\"s\",\"attrs\":[1]}",
	         "attrs: an array of at most 8 strings"},
	        {"{\"op\":\"webhook_receive\",\"body\":\"\",\"headers\":{\"a\":1}}",
	         "\"headers\" must be an object of header names and values (strings, or arrays of "
	         "strings), or an array of \"Name: value\" lines"},
	        {"{\"op\":\"webhook_receive\",\"body\":\"\",\"headers\":[\"a: b\",2]}",
	         "\"headers\" must be an object of header names and values (strings, or arrays of "
	         "strings), or an array of \"Name: value\" lines"},
	        {"{\"op\":\"guard_check\",\"subject\":\"a\",\"attempt\":1}",
	         "unknown member \"attempt\" for op guard_check"},
	};
	struct ag_web_reply rep;
	size_t i;

	for (i = 0; i < AG_ARRAY_SIZE(cases); i++) {
		dispatch(cases[i].req, &rep);
		ok(rep.status == AG_WEB_USAGE && member(&rep, "error") != NULL &&
		           strcmp(member(&rep, "error"), "usage") == 0 &&
		           member(&rep, "message") != NULL &&
		           strcmp(member(&rep, "message"), cases[i].message) == 0,
		   "%s: status 2, %s", cases[i].req, cases[i].message);
		if (member(&rep, "message") != NULL &&
		    strcmp(member(&rep, "message"), cases[i].message))
			diag("got: %s", member(&rep, "message"));
		ag_web_reply_clear(&rep);
	}
}

/* An error names the member in the answer, the option in the line for
 * people; which commands print error answers at all. */
static void
test_names(void)
{
	struct ag_web_reply rep;

	dispatch("{\"op\":\"session_create\",\"user\":\"u\",\"user_agent\":\"UA\","
	         "\"attrs\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}", &rep);
	is_str(member(&rep, "message"), "attrs: an array of at most 8 strings",
	       "9 attrs: the answer names the member");
	is_str(rep.note, "--attr: an array of at most 8 strings", "... the note the option");
	ok(rep.quiet, "... and session create prints no error answer on the command line");
	ag_web_reply_clear(&rep);

	dispatch("{\"op\":\"session_check\",\"session\":\"ags_x\",\"user_agent_hash\":\"abc\"}",
	         &rep);
	is_str(member(&rep, "message"),
	       "user_agent_hash: 64 hex digits (and no user_agent or attrs)",
	       "a bad hash: the answer names the members");
	is_str(rep.note, "usage: --user-agent-hash: 64 hex digits (and no --user-agent or --attr)",
	       "... the note the options, after the kind (a token command)");
	ok(!rep.quiet, "... and session check prints its error answer");
	ag_web_reply_clear(&rep);

	dispatch("{\"op\":\"guard_check\",\"subject\":\"a@example.com\",\"ip\":\"example.com\"}",
	         &rep);
	is_str(rep.note, "--ip: not an IPv4 or IPv6 address", "a host name for ip: --ip on stderr");
	is_str(member(&rep, "message"), "ip: not an IPv4 or IPv6 address", "... ip in the answer");
	ag_web_reply_clear(&rep);

	dispatch("{\"op\":\"session_rotate\",\"session\":\"ags_short\"}", &rep);
	is_int(rep.status, AG_WEB_REJECTED, "rotate of a malformed id: refused (1)");
	is_str(rep.note, "session id on stdin: malformed", "... as the command line reads it");
	ag_web_reply_clear(&rep);
}

/* An error that quotes bytes that are not UTF-8 (a file name) still
 * answers, with the bytes replaced; the line for people keeps them. */
static void
test_error_bytes(void)
{
	struct ag_config bad = cfg;
	struct ag_web w2;
	struct ag_web_reply rep;
	json_t *req = json_pack("{s:s}", "op", "jwks");

	snprintf(bad.token_keys_dir, sizeof(bad.token_keys_dir), "%s/caf\xe9", tmpdir);
	ag_web_init(&w2, &bad, NULL);
	ag_web_dispatch(&w2, req, &rep);
	is_int(rep.status, AG_WEB_USAGE, "jwks from a key directory named in Latin-1: status 2");
	is_str(member(&rep, "error"), "keys", "... error keys");
	ok(member(&rep, "message") != NULL && strstr(member(&rep, "message"), "caf?") != NULL,
	   "... the message names it, the byte replaced");
	ok(strstr(rep.note, "caf\xe9") != NULL, "... the line for people keeps the byte");
	ag_web_reply_clear(&rep);
	ag_web_close(&w2);
	json_decref(req);
}

static void
test_fingerprint(void)
{
	struct ag_web_fp_in in;
	struct ag_web_err err;
	uint8_t fp[32], want[32];
	const char *attrs[9] = { "a", "b", "c", "d", "e", "f", "g", "h", "i" };
	char hex[65];

	memset(&in, 0, sizeof(in));
	is_int(ag_web_fingerprint(&in, fp, &err), AG_ERR_INVAL, "no User-Agent: refused");
	is_str(err.message, "{user_agent} or {user_agent_hash} is required", "... naming both");
	in.user_agent = "UA";
	in.attrs = attrs;
	in.nattrs = 2;
	is_int(ag_web_fingerprint(&in, fp, &err), 0, "a User-Agent and two attributes");
	ag_session_fingerprint("UA", attrs, 2, want);
	ok(memcmp(fp, want, 32) == 0, "... the session fingerprint of them");
	in.nattrs = 9;
	is_int(ag_web_fingerprint(&in, fp, &err), AG_ERR_INVAL, "nine attributes: refused");
	in.nattrs = 0;
	ag_session_fingerprint("UA", NULL, 0, want);
	sodium_bin2hex(hex, sizeof(hex), want, 32);
	in.user_agent_hash = hex;
	is_int(ag_web_fingerprint(&in, fp, &err), AG_ERR_INVAL,
	       "a User-Agent and its hash: refused");
	in.user_agent = NULL;
	is_int(ag_web_fingerprint(&in, fp, &err), 0, "the hash alone");
	ok(memcmp(fp, want, 32) == 0, "... is the fingerprint it spells");
	in.user_agent_hash = "abc";
	is_int(ag_web_fingerprint(&in, fp, &err), AG_ERR_INVAL, "three hex digits: refused");
}

/* A live session of user (fingerprint of "UA"): its id and handle. */
static int
new_session(const char *user, struct ag_web_session_res *s)
{
	struct ag_web_fp_in in = { .user_agent = "UA" };
	struct ag_web_err err;

	if (ag_web_session_prepare(&w, user, &in, NULL, s, &err) != 0 ||
	    ag_web_session_commit(&w, s, &err) != 0 || s->reason != NULL) {
		diag("session for %s: %s", user, err.message);
		return -1;
	}
	return 0;
}

static int
count_one(void *ctx, const struct ag_web_session *s)
{
	(void)s;
	(*(int *)ctx)++;
	return 0;
}

static void
test_sessions(void)
{
	struct ag_web_session_res a, b, r;
	struct ag_web_ended e;
	struct ag_web_err err;
	struct ag_web_fp_in in = { .user_agent = "UA" };
	char key[AG_NAME_MAX + 1], old_id[AG_SESSION_ID_LEN + 1];
	uint8_t fp[32], other[32];
	int n = 0;

	ag_session_fingerprint("UA", NULL, 0, fp);
	ag_session_fingerprint("other browser", NULL, 0, other);
	is_int(ag_web_session_prepare(&w, "", &in, NULL, &a, &err), AG_ERR_INVAL,
	       "an empty user: refused");
	is_str(err.message, "{user}: 1 to 4096 bytes", "... naming the user");
	is_int(ag_web_session_prepare(&w, "Carol@Example.com", &in, "c", &a, &err), 0,
	       "prepare: a new id, nothing stored yet");
	is_int(ag_web_session_check(&w, a.id, strlen(a.id), fp, &r, &err), 0,
	       "check before commit");
	is_str(r.reason, "unknown", "... the prepared session is not there yet");
	is_int(ag_web_session_commit(&w, &a, &err), 0, "commit: stored");
	is_str(a.ws.user, "Carol@Example.com", "the user as given");
	is_str(a.ws.user_key, "carol@example.com", "... keyed by its fold");
	ok(strncmp(a.cookie, "Set-Cookie: __Host-", 19) == 0 && strstr(a.cookie, a.id) != NULL,
	   "the cookie carries the id");
	is_int(ag_web_session_check(&w, a.id, strlen(a.id), fp, &r, &err), 0, "check: 0");
	ok(r.reason == NULL && strcmp(r.handle, a.handle) == 0, "... valid, the same handle");
	is_int(ag_web_session_check(&w, "ags_x", 5, fp, &r, &err), 0, "check of a short id: 0");
	is_str(r.reason, "malformed", "... refused as malformed");

	ag_strlcpy(old_id, a.id, sizeof(old_id));
	is_int(ag_web_session_rotate(&w, a.id, strlen(a.id), &b, &err), 0, "rotate");
	ok(b.reason == NULL && strcmp(b.id, old_id) != 0 && strstr(b.cookie, b.id) != NULL,
	   "... a new id, its cookie");
	ag_web_session_check(&w, old_id, strlen(old_id), fp, &r, &err);
	is_str(r.reason, "unknown", "... the old id is gone");
	ag_web_session_check(&w, b.id, strlen(b.id), other, &r, &err);
	is_str(r.reason, "fingerprint_mismatch", "the new id from another browser: mismatch");
	ag_web_session_check(&w, b.id, strlen(b.id), fp, &r, &err);
	is_str(r.reason, "unknown", "... which ended it (session_revoke_on_mismatch)");

	if (new_session("carol@example.com", &a) != 0 || new_session("CAROL@example.com", &b) != 0)
		return;
	is_int(ag_web_session_list(&w, " carol@EXAMPLE.com", key, count_one, &n, &err), 0, "list");
	is_int(n, 2, "... both sessions of carol under any spelling");
	is_str(key, "carol@example.com", "... listed under the key");
	is_int(ag_web_session_end(&w, AG_WEB_END_HANDLE, "ags_x", 5, &e, &err), AG_ERR_INVAL,
	       "end by a handle that is not one: usage");
	is_int(err.status, AG_WEB_USAGE, "... status 2");
	is_int(ag_web_session_end(&w, AG_WEB_END_HANDLE, a.handle, strlen(a.handle), &e, &err), 0,
	       "end by handle");
	is_int(e.sessions, 1, "... one ended");
	is_int(ag_web_session_end(&w, AG_WEB_END_ID, "nope", 4, &e, &err), 0, "end a malformed id");
	is_str(e.reason, "malformed", "... refused");
	is_int(ag_web_session_end(&w, AG_WEB_END_USER, "Carol@example.com", 17, &e, &err), 0,
	       "end by user");
	is_int(e.sessions, 1, "... the other one");
	ag_web_session_res_clear(&a);
	ag_web_session_res_clear(&b);
	ag_web_session_res_clear(&r);
}

static void
test_tokens(void)
{
	struct ag_web_session_res s, other;
	struct ag_web_issue_req req = { .sub = "Dora", .refresh = 1 };
	struct ag_web_token t, t2, t3;
	struct ag_web_verified v;
	struct ag_web_revoked rv;
	struct ag_web_err err;
	char rt[AG_OPAQUE_LEN + 1];

	if (new_session("dora", &s) != 0 || new_session("eve", &other) != 0)
		return;
	req.sid = other.handle;
	is_int(ag_web_issue(&w, &req, &t, &err), 0, "issue tied to another user's session: 0");
	is_str(t.reason, "session_ended", "... refused as session_ended");
	ok(t.token == NULL, "... no token");
	req.sid = "not a handle";
	is_int(ag_web_issue(&w, &req, &t, &err), AG_ERR_INVAL, "a sid that is no handle: usage");
	req.sid = s.handle;
	is_int(ag_web_issue(&w, &req, &t, &err), 0, "issue tied to Dora's own session");
	ok(t.reason == NULL && t.token != NULL && strncmp(t.refresh_token, "agr_", 4) == 0,
	   "... a token and a refresh token");
	is_int(ag_web_verify(&w, t.token, strlen(t.token), &v, &err), 0, "verify");
	ok(v.reason == NULL && json_is_object(v.claims), "... valid, with its claims");
	is_str(json_string_value(json_object_get(v.claims, "sub")), "Dora", "... sub as given");
	is_str(json_string_value(json_object_get(v.claims, "sid")), s.handle, "... sid the handle");
	ag_web_verified_clear(&v);

	/* refresh: the next token; the used one again is theft */
	ag_strlcpy(rt, t.refresh_token, sizeof(rt));
	is_int(ag_web_refresh(&w, rt, strlen(rt), &t2, &err), 0, "refresh");
	ok(t2.reason == NULL && strcmp(t2.sub, "Dora") == 0 && strcmp(t2.refresh_token, rt) != 0,
	   "... a new pair for Dora");
	ag_web_refresh(&w, rt, strlen(rt), &t3, &err);
	is_str(t3.reason, "reused", "the used refresh token again: reused");
	ag_web_token_clear(&t3);
	ag_web_refresh(&w, t2.refresh_token, strlen(t2.refresh_token), &t3, &err);
	is_str(t3.reason, "revoked", "... which revoked its successor");
	ag_web_token_clear(&t3);
	ag_web_verify(&w, t.token, strlen(t.token), &v, &err);
	is_str(v.reason, "session_ended", "... and ended the session: its token is refused");
	ag_web_verified_clear(&v);

	/* the denylist */
	req.sid = NULL;
	req.refresh = 0;
	ag_web_token_clear(&t);
	ag_web_issue(&w, &req, &t, &err);
	is_int(ag_web_revoke(&w, AG_WEB_REVOKE_TOKEN, t.jti, strlen(t.jti), &rv, &err), 0,
	       "revoke a bare jti");
	ok(rv.revoked && strcmp(rv.jti, t.jti) == 0, "... revoked");
	ag_web_verify(&w, t.token, strlen(t.token), &v, &err);
	is_str(v.reason, "revoked", "its token: revoked");
	ag_web_verified_clear(&v);
	ag_web_revoke(&w, AG_WEB_REVOKE_TOKEN, "a b", 3, &rv, &err);
	ok(rv.refused && strcmp(rv.reason, "malformed") == 0, "revoke of \"a b\": malformed");
	ag_web_token_clear(&t);
	ag_web_token_clear(&t2);
	ag_web_session_res_clear(&s);
	ag_web_session_res_clear(&other);
}

static void
test_logout(void)
{
	struct ag_web_session_res s, r;
	struct ag_web_issue_req req = { .sub = "finn", .refresh = 1 };
	struct ag_web_token t;
	struct ag_web_verified v;
	struct ag_web_logout_res lo;
	struct ag_web_err err;
	uint8_t fp[32];

	ag_session_fingerprint("UA", NULL, 0, fp);
	if (new_session("finn", &s) != 0)
		return;
	req.sid = s.handle;
	if (ag_web_issue(&w, &req, &t, &err) != 0 || t.reason != NULL) {
		ok(0, "issue for finn: %s", err.message);
		return;
	}
	is_int(ag_web_logout(&w, NULL, t.token, t.refresh_token, &lo, &err), AG_ERR_INVAL,
	       "logout without a session id: usage");
	is_int(ag_web_logout(&w, s.id, "no dots", NULL, &lo, &err), AG_ERR_INVAL,
	       "logout with an access token that is no JWT: usage");
	is_int(ag_web_logout(&w, s.id, NULL, "xyz", &lo, &err), AG_ERR_INVAL,
	       "logout with a refresh token without agr_: usage");
	ag_web_verify(&w, t.token, strlen(t.token), &v, &err);
	ok(v.reason == NULL, "... none of them revoked anything: the token verifies");
	ag_web_verified_clear(&v);
	is_int(ag_web_logout(&w, s.id, t.token, t.refresh_token, &lo, &err), 0, "logout");
	is_int(lo.sessions_ended, 1, "... the session ended");
	is_int(lo.families_revoked, 1, "... its family revoked once (the refresh token's is it)");
	is_int(lo.access_token_revoked, 1, "... the access token denylisted");
	ok(strstr(lo.cookie, "Max-Age=0") != NULL, "... and the cookie cleared");
	ag_web_session_check(&w, s.id, strlen(s.id), fp, &r, &err);
	is_str(r.reason, "unknown", "the session id: unknown");
	is_int(ag_web_logout(&w, s.id, t.token, t.refresh_token, &lo, &err), 0, "logout again");
	ok(lo.sessions_ended == 0 && lo.families_revoked == 0, "... nothing left to end");
	ag_web_token_clear(&t);
	ag_web_session_res_clear(&s);
	ag_web_session_res_clear(&r);
}

static void
test_guard(void)
{
	struct ag_guard_result res;
	struct ag_web_err err;

	is_int(ag_web_guard(&w, AG_WEB_GUARD_CHECK, "gina@example.com", "192.0.2.7", 0, &res,
	                    &err), 0, "guard check");
	ok(res.allowed && res.attempt > 0 && res.failures == 1, "... allowed, an attempt counted");
	is_int(ag_web_guard(&w, AG_WEB_GUARD_SUCCESS, "Gina@example.com", "192.0.2.7", res.attempt,
	                    &res, &err), 0, "guard success under another spelling");
	ok(res.allowed && res.failures == 0, "... allowed (the attempt settled, no failure left)");
	is_int(ag_web_guard(&w, AG_WEB_GUARD_CHECK, "gina@example.com", "host.example", 0, &res,
	                    &err), AG_ERR_INVAL, "a host name as ip: usage");
	is_str(err.message, "{ip}: not an IPv4 or IPv6 address", "... naming ip");
	is_int(ag_web_guard(&w, AG_WEB_GUARD_CHECK, " ", NULL, 0, &res, &err), AG_ERR_INVAL,
	       "a subject of blanks: usage");
}

static void
test_webhook(void)
{
	static const char body[] = "{\"type\":\"session.revoked\",\"data\":{\"id\":\"sess_H\"}}";
	struct ag_webhook_secret secret;
	struct ag_webhook_headers h;
	struct ag_web_session_res s, r;
	struct ag_web_webhook_res res;
	struct ag_web_fp_in in = { .user_agent = "UA" };
	struct ag_web_err err;
	char ts[32], sig[3 + AG_WEBHOOK_SIG_B64_LEN + 1];
	const char *why = NULL;
	uint8_t fp[32];

	ag_session_fingerprint("UA", NULL, 0, fp);
	if (ag_webhook_secret_load(cfg.webhook_secret_file, &secret, &why) != 0) {
		ok(0, "the webhook secret loads: %s", why);
		return;
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)NOW);
	ag_webhook_sign(&secret, "msg_h", ts, (const uint8_t *)body, strlen(body), sig);
	ag_webhook_secret_clear(&secret);
	if (ag_web_session_prepare(&w, "hank", &in, "sess_H", &s, &err) != 0 ||
	    ag_web_session_commit(&w, &s, &err) != 0)
		return;
	ag_webhook_headers_init(&h);
	ok(ag_webhook_header_add_value(&h, "svix-id", 7, "msg_h", 5) == 0 &&
	           ag_webhook_header_add_value(&h, "Svix-Timestamp", 14, ts, strlen(ts)) == 0 &&
	           ag_webhook_header_add_value(&h, "svix-signature", 14, sig, strlen(sig)) == 0,
	   "headers added by name and value");
	ok(ag_webhook_header_add_value(&h, "svix-id", 7, "again", 5) == AG_ERR_INVAL &&
	           ag_webhook_header_add_value(&h, "a:b", 3, "x", 1) == AG_ERR_INVAL &&
	           ag_webhook_header_add_value(&h, "", 0, "x", 1) == AG_ERR_INVAL,
	   "a repeated header, a name with a colon, an empty name: refused");
	is_int(ag_web_webhook(&w, 0, &h, 0, (const uint8_t *)body, strlen(body), &res, &err), 0,
	       "verify only");
	ok(res.reason == AG_WEBHOOK_OK && strcmp(res.msg.id, "msg_h") == 0, "... genuine");
	ag_web_session_check(&w, s.id, strlen(s.id), fp, &r, &err);
	ok(r.reason == NULL, "... and the session still lives");
	is_int(ag_web_webhook(&w, 1, &h, 1, (const uint8_t *)body, strlen(body), &res, &err), 0,
	       "receive with a header that could not be read");
	is_int(res.reason, AG_WEBHOOK_BAD_HEADER, "... bad_header");
	is_int(ag_web_webhook(&w, 1, &h, 0, (const uint8_t *)body, strlen(body), &res, &err), 0,
	       "receive");
	ok(res.reason == AG_WEBHOOK_OK && res.applied.sessions_ended == 1 &&
	           strcmp(ag_web_webhook_action(res.ev.action), "sessions_ended") == 0,
	   "... the Clerk session's web session ended");
	ag_web_session_check(&w, s.id, strlen(s.id), fp, &r, &err);
	is_str(r.reason, "unknown", "... it is gone");
	ag_web_webhook(&w, 1, &h, 0, (const uint8_t *)body, strlen(body), &res, &err);
	is_int(res.reason, AG_WEBHOOK_REPLAYED, "the same message again: replayed");
	ag_web_session_res_clear(&s);
	ag_web_session_res_clear(&r);
}

static int
setup(void)
{
	char kid[AG_KEYRING_KID_MAX + 1], err[AG_ERRBUF], path[128];
	struct ag_store *st = NULL;
	static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
	int fd;

	ag_config_defaults(&cfg);
	snprintf(cfg.state_file, sizeof(cfg.state_file), "%s/state.db", tmpdir);
	snprintf(cfg.token_keys_dir, sizeof(cfg.token_keys_dir), "%s/keys", tmpdir);
	snprintf(cfg.webhook_secret_file, sizeof(cfg.webhook_secret_file), "%s/webhook.secret",
	         tmpdir);
	ag_strlcpy(cfg.token_issuer, "https://auth.example.test", sizeof(cfg.token_issuer));
	ag_strlcpy(cfg.token_audience, "api.example.test", sizeof(cfg.token_audience));
	if (ag_store_open(&cfg, AG_STORE_CREATE, &st, err) != 0) {
		printf("Bail out! store: %s\n", err);
		return -1;
	}
	ag_store_close(st);
	if (mkdir(cfg.token_keys_dir, 0750) != 0 ||
	    ag_keyring_generate(cfg.token_keys_dir, AG_KEY_EDDSA, 1, 0600, kid, err) != 0) {
		printf("Bail out! keys: %s\n", err);
		return -1;
	}
	ag_strlcpy(path, cfg.webhook_secret_file, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, secret, sizeof(secret) - 1) != (ssize_t)(sizeof(secret) - 1)) {
		printf("Bail out! webhook secret: %s\n", strerror(errno));
		return -1;
	}
	close(fd);
	ag_web_init(&w, &cfg, NULL);
	return 0;
}

int
main(void)
{
	char now[32];

	umask(022);
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	ag_json_wipe_on_free();
	snprintf(now, sizeof(now), "%lld", (long long)NOW);
	setenv("AUTHGUARD_TEST_TIME", now, 1);
	ag_strlcpy(tmpdir, "/tmp/authguard-web.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0) {
		printf("Bail out! cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	if (setup() == 0) {
		test_table();
		test_envelope();
		test_members();
		test_names();
		test_error_bytes();
		test_fingerprint();
		test_sessions();
		test_tokens();
		test_logout();
		test_guard();
		test_webhook();
		ag_web_close(&w);
	}
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
