/* The op table, the checks every request gets before its handler runs,
 * and the batch envelope (a line in, an answer with status and id out). */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "json_out.h"
#include "proto_int.h"
#include "util.h"

#define LINE_MIN (64 * 1024)

/* ------------------------------------------------------------ the table */

#define STR(n, cli) { n, cli, AG_WEB_STRING, 0, AG_WEB_NO_BOUND, 0, 0 }
#define STR_REQ(n, cli) { n, cli, AG_WEB_STRING, AG_WEB_REQUIRED, AG_WEB_NO_BOUND, 0, 0 }
#define INPUT(n, cli, b) { n, cli, AG_WEB_STRING, AG_WEB_INPUT, b, 0, 0 }
#define INPUT_REQ(n, cli, b) { n, cli, AG_WEB_STRING, AG_WEB_REQUIRED | AG_WEB_INPUT, b, 0, 0 }
#define BOOL(n, cli) { n, cli, AG_WEB_BOOL, 0, AG_WEB_NO_BOUND, 0, 0 }
#define POSITIVE(n, cli) { n, cli, AG_WEB_INT, 0, AG_WEB_NO_BOUND, 1, INT64_MAX }

/* check starts an attempt; failure and success settle one */
static const struct ag_web_field f_guard_check[] = {
	STR_REQ("subject", "--subject"),
	STR("ip", "--ip"),
};

static const struct ag_web_field f_guard[] = {
	STR_REQ("subject", "--subject"),
	STR("ip", "--ip"),
	POSITIVE("attempt", "--attempt"),
};

static const struct ag_web_field f_mfa[] = {
	STR_REQ("user", "--user"),
	STR("ip", "--ip"),
	INPUT_REQ("code", "code on stdin", AG_WEB_CODE_BOUND),
};

static const struct ag_web_field f_issue[] = {
	STR_REQ("sub", "--sub"),
	STR("aud", "--aud"),
	STR("sid", "--sid"),
	POSITIVE("ttl", "--ttl"),
	BOOL("refresh", "--refresh"),
	{ "claims", "--claims-stdin", AG_WEB_OBJECT, 0, AG_WEB_NO_BOUND, 0, 0 },
};

static const struct ag_web_field f_verify[] = {
	INPUT_REQ("token", "token on stdin", AG_WEB_TOKEN_BOUND),
};

static const struct ag_web_field f_refresh[] = {
	INPUT_REQ("refresh_token", "refresh token on stdin", AG_WEB_TOKEN_BOUND),
};

static const struct ag_web_field f_revoke[] = {
	INPUT("token", "token on stdin", AG_WEB_TOKEN_BOUND),
	INPUT("jti", "jti on stdin", AG_WEB_TOKEN_BOUND),
	INPUT("refresh_token", "refresh token on stdin", AG_WEB_TOKEN_BOUND),
	BOOL("family", "--family"),
	STR("user", "--user"),
};

#define FINGERPRINT_FIELDS                                                                  \
	STR("user_agent", "--user-agent"), STR("user_agent_hash", "--user-agent-hash"),       \
	{ "attrs", "--attr", AG_WEB_STRINGS, 0, AG_WEB_NO_BOUND, 0, AG_WEB_MAX_ATTRS }

static const struct ag_web_field f_session_create[] = {
	STR_REQ("user", "--user"),
	FINGERPRINT_FIELDS,
	STR("clerk_session", "--clerk-session"),
};

static const struct ag_web_field f_session_check[] = {
	INPUT_REQ("session", "session id on stdin", AG_WEB_SESSION_BOUND),
	FINGERPRINT_FIELDS,
};

static const struct ag_web_field f_session_rotate[] = {
	INPUT_REQ("session", "session id on stdin", AG_WEB_SESSION_BOUND),
};

static const struct ag_web_field f_session_list[] = {
	STR_REQ("user", "--user"),
};

static const struct ag_web_field f_session_end[] = {
	INPUT("session", "session id on stdin", AG_WEB_SESSION_BOUND),
	STR("sid", "--sid"),
	STR("user", "--user"),
};

static const struct ag_web_field f_logout[] = {
	INPUT_REQ("session", "session id on stdin", AG_WEB_SESSION_BOUND),
	INPUT("token", "access token on stdin", AG_WEB_TOKEN_BOUND),
	INPUT("refresh_token", "refresh token on stdin", AG_WEB_TOKEN_BOUND),
};

static const struct ag_web_field f_webhook[] = {
	{ "headers", "--header", AG_WEB_HEADERS, 0, AG_WEB_NO_BOUND, 0, 0 },
	STR_REQ("body", "body on stdin"),
};

#define OP(name, command, fields, flags) \
	{ #name, command, fields, AG_ARRAY_SIZE(fields), flags, ag_web_do_##name }
#define OP0(name, command, flags) { #name, command, NULL, 0, flags, ag_web_do_##name }
#define ON_STDOUT AG_WEB_OP_ERRORS_ON_STDOUT

static const struct ag_web_op ops[] = {
	OP(guard_check, "authguard-token guard check", f_guard_check, 0),
	OP(guard_failure, "authguard-token guard failure", f_guard, 0),
	OP(guard_success, "authguard-token guard success", f_guard, 0),
	OP(mfa_verify, "authguard-token mfa verify", f_mfa, 0),
	OP(issue, "authguard-token issue", f_issue, ON_STDOUT),
	OP(verify, "authguard-token verify", f_verify, ON_STDOUT),
	OP(refresh, "authguard-token refresh", f_refresh, ON_STDOUT),
	OP(revoke, "authguard-token revoke", f_revoke, ON_STDOUT),
	OP0(jwks, "authguard-token jwks", ON_STDOUT),
	OP(session_create, "authguard-token session create", f_session_create, 0),
	OP(session_check, "authguard-token session check", f_session_check, ON_STDOUT),
	OP(session_rotate, "authguard-token session rotate", f_session_rotate, 0),
	OP(session_list, "authguard-token session list", f_session_list, 0),
	OP(session_end, "authguard-token session end", f_session_end, 0),
	OP(logout, "authguard-token logout", f_logout, 0),
	OP(webhook_receive, "authguard-webhook receive", f_webhook, 0),
	OP(webhook_verify, "authguard-webhook verify", f_webhook, 0),
};

const struct ag_web_op *
ag_web_ops(size_t *n)
{
	*n = AG_ARRAY_SIZE(ops);
	return ops;
}

const struct ag_web_op *
ag_web_op_find(const char *name)
{
	size_t i;

	for (i = 0; i < AG_ARRAY_SIZE(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

const struct ag_web_field *
ag_web_op_field(const struct ag_web_op *op, const char *name)
{
	size_t i;

	for (i = 0; i < op->nfields; i++)
		if (strcmp(op->fields[i].name, name) == 0)
			return &op->fields[i];
	return NULL;
}

size_t
ag_web_field_max(const struct ag_config *cfg, const struct ag_web_field *f)
{
	switch (f->bound) {
	case AG_WEB_TOKEN_BOUND:
		return ag_web_token_input_max(cfg);
	case AG_WEB_SESSION_BOUND:
		return AG_WEB_SESSION_INPUT_MAX;
	case AG_WEB_CODE_BOUND:
		return AG_WEB_CODE_MAX;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------- replies */

/* Errors of the request as a whole (no op yet): no member to name. */
static const struct ag_web_op envelope = { "request", "", NULL, 0, 0, NULL };

/* Writes msg with each {name} of a member of op replaced by the member's
 * name (cli 0) or by how the command line names it (cli 1).  Anything
 * else in braces is left as it is. */
static void
render(const struct ag_web_op *op, const char *msg, int cli, char *out, size_t outsize)
{
	const struct ag_web_field *f;
	char name[64];
	size_t o = 0, n;
	const char *p = msg, *end, *s;

	while (*p != '\0' && o + 1 < outsize) {
		s = NULL;
		if (*p == '{' && op != NULL && (end = strchr(p + 1, '}')) != NULL &&
		    (n = (size_t)(end - p - 1)) < sizeof(name)) {
			memcpy(name, p + 1, n);
			name[n] = '\0';
			if ((f = ag_web_op_field(op, name)) != NULL) {
				s = cli ? f->cli : f->name;
				p = end + 1;
			}
		}
		if (s == NULL) {
			out[o++] = *p++;
			continue;
		}
		n = strlen(s);
		if (n > outsize - 1 - o)
			n = outsize - 1 - o;
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
}

void
ag_web_reply(struct ag_web_call *c, int status, json_t *answer)
{
	struct ag_web_reply *rep = c->rep;

	json_decref(rep->answer);
	rep->answer = answer;
	rep->status = status;
	rep->quiet = 0;
	if (answer == NULL) {
		rep->status = AG_WEB_INTERNAL;
		rep->answer = json_pack("{s:s, s:s}", "error", "internal", "message",
		                        "out of memory");
		rep->quiet = (c->op->flags & AG_WEB_OP_ERRORS_ON_STDOUT) == 0;
		snprintf(rep->note, sizeof(rep->note), "out of memory");
	}
}

void
ag_web_note_names(struct ag_web_call *c, const char *msg)
{
	render(c->op, msg, 1, c->rep->note, sizeof(c->rep->note));
}

void
ag_web_note(struct ag_web_call *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->rep->note, sizeof(c->rep->note), fmt, ap);
	va_end(ap);
}

/* Makes s valid UTF-8 for a JSON string: each byte of a malformed
 * sequence becomes '?'.  (A message may quote a file name or the state's
 * reason, bytes anyone chose; the line for people keeps them.) */
static void
utf8_clean(char *s)
{
	size_t len = strlen(s), i = 0, k;

	while (i < len) {
		if ((k = ag_utf8_decode(s + i, len - i, NULL)) == 0) {
			s[i++] = '?';
			continue;
		}
		i += k;
	}
}

/* An error answer: {"error": kind, "message": ...}.  The command line
 * of a token command prints it and names the kind on stderr; the others
 * say why on stderr only. */
static void
reply_error(struct ag_web_call *c, int status, const char *kind, const char *msg, int templ)
{
	struct ag_web_reply *rep = c->rep;
	char text[AG_ERRBUF], cli[AG_ERRBUF];
	int on_stdout = (c->op->flags & AG_WEB_OP_ERRORS_ON_STDOUT) != 0;
	json_t *answer;

	render(templ ? c->op : NULL, msg, 0, text, sizeof(text));
	render(templ ? c->op : NULL, msg, 1, cli, sizeof(cli));
	utf8_clean(text);
	answer = json_pack("{s:s, s:s}", "error", kind, "message", text);
	ag_web_reply(c, status, answer);
	if (answer == NULL)
		return; /* an internal error instead */
	rep->quiet = !on_stdout;
	if (on_stdout)
		ag_web_note(c, "%s: %s", kind, cli);
	else
		ag_web_note(c, "%s", cli);
}

void
ag_web_reply_err(struct ag_web_call *c, const struct ag_web_err *err)
{
	reply_error(c, err->status, err->kind, err->message, strcmp(err->kind, "usage") == 0);
}

void
ag_web_reply_usage(struct ag_web_call *c, const char *msg)
{
	reply_error(c, AG_WEB_USAGE, "usage", msg, 1);
}

json_t *
ag_web_refusal(const char *reason)
{
	return json_pack("{s:b, s:s}", "valid", 0, "reason", reason);
}

json_t *
ag_web_session_json(const struct ag_web_session *s)
{
	char sid[AG_SID_MAX + 1];
	json_t *o;

	ag_session_handle(s->id_hash, sid);
	o = json_pack("{s:n, s:s, s:I, s:I, s:I, s:I, s:n}", "user", "sid", sid, "created",
	              (json_int_t)s->created, "last_seen", (json_int_t)s->last_seen,
	              "idle_expires", (json_int_t)s->idle_expires, "expires",
	              (json_int_t)s->abs_expires, "clerk_session");
	if (o == NULL || ag_json_set_name(o, "user", s->user) != 0 ||
	    ag_json_set_name(o, "clerk_session", s->clerk_sid[0] != '\0' ? s->clerk_sid : NULL) !=
	            0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ arguments */

json_t *
ag_web_arg(const struct ag_web_call *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->op->nfields; i++)
		if (strcmp(c->op->fields[i].name, name) == 0)
			return c->v[i];
	return NULL;
}

const char *
ag_web_arg_str(const struct ag_web_call *c, const char *name)
{
	return json_string_value(ag_web_arg(c, name));
}

size_t
ag_web_arg_len(const struct ag_web_call *c, const char *name)
{
	return json_string_length(ag_web_arg(c, name));
}

int
ag_web_arg_bool(const struct ag_web_call *c, const char *name)
{
	return json_is_true(ag_web_arg(c, name));
}

int64_t
ag_web_arg_int(const struct ag_web_call *c, const char *name)
{
	return (int64_t)json_integer_value(ag_web_arg(c, name));
}

/* Checks one member's value against its field; 0, or a usage reply. */
static int
check_member(struct ag_web_call *c, const struct ag_web_field *f, json_t *v)
{
	char msg[160];
	size_t i, max;
	json_t *x;
	const char *k = NULL;

	msg[0] = '\0';
	switch (f->type) {
	case AG_WEB_STRING:
		if (!json_is_string(v)) {
			snprintf(msg, sizeof(msg), "\"{%s}\" must be a string", f->name);
			break;
		}
		if ((f->flags & AG_WEB_INPUT) == 0)
			break;
		max = ag_web_field_max(c->w->cfg, f);
		if (json_string_length(v) == 0)
			snprintf(msg, sizeof(msg), "\"{%s}\" is empty", f->name);
		else if (json_string_length(v) > max)
			snprintf(msg, sizeof(msg), "\"{%s}\" is longer than %zu bytes", f->name,
			         max);
		break;
	case AG_WEB_BOOL:
		if (!json_is_boolean(v))
			snprintf(msg, sizeof(msg), "\"{%s}\" must be true or false", f->name);
		break;
	case AG_WEB_INT:
		if (!json_is_integer(v) || json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max) {
			if (f->min == 1 && f->max == INT64_MAX)
				snprintf(msg, sizeof(msg), "\"{%s}\" must be a positive integer",
				         f->name);
			else
				snprintf(msg, sizeof(msg),
				         "\"{%s}\" must be an integer from %lld to %lld", f->name,
				         (long long)f->min, (long long)f->max);
		}
		break;
	case AG_WEB_OBJECT:
		if (!json_is_object(v))
			snprintf(msg, sizeof(msg), "\"{%s}\" must be a JSON object", f->name);
		break;
	case AG_WEB_STRINGS:
		if (!json_is_array(v) || (int64_t)json_array_size(v) > f->max) {
			snprintf(msg, sizeof(msg), "{%s}: an array of at most %lld strings",
			         f->name, (long long)f->max);
			break;
		}
		json_array_foreach(v, i, x) {
			if (!json_is_string(x)) {
				snprintf(msg, sizeof(msg), "{%s}: an array of at most %lld strings",
				         f->name, (long long)f->max);
				break;
			}
		}
		break;
	case AG_WEB_HEADERS:
		if (json_is_array(v)) {
			json_array_foreach(v, i, x) {
				if (!json_is_string(x))
					break;
			}
			if (i == json_array_size(v))
				break;
		} else if (json_is_object(v)) {
			json_object_foreach(v, k, x) {
				if (json_is_array(x)) {
					json_t *y;

					json_array_foreach(x, i, y) {
						if (!json_is_string(y))
							break;
					}
					if (i < json_array_size(x))
						break;
				} else if (!json_is_string(x)) {
					break;
				}
			}
			if (k == NULL)
				break;
		}
		snprintf(msg, sizeof(msg),
		         "\"{%s}\" must be an object of header names and values (strings, or "
		         "arrays of strings), or an array of \"Name: value\" lines",
		         f->name);
		break;
	}
	if (msg[0] == '\0')
		return 0;
	ag_web_reply_usage(c, msg);
	return -1;
}

void
ag_web_dispatch(struct ag_web *w, json_t *req, struct ag_web_reply *rep)
{
	struct ag_web_call c = { .w = w, .op = &envelope, .rep = rep };
	const struct ag_web_field *f;
	const char *name, *key;
	char msg[160];
	json_t *v;
	size_t i;

	memset(rep, 0, sizeof(*rep));
	v = json_object_get(req, "op");
	if (v == NULL || !json_is_string(v)) {
		ag_web_reply_usage(&c, v == NULL ? "no \"op\"" : "\"op\" must be a string");
		return;
	}
	name = json_string_value(v);
	if ((c.op = ag_web_op_find(name)) == NULL) {
		c.op = &envelope;
		ag_web_reply_usage(&c, "unknown op");
		return;
	}
	/* A member the op does not take is refused, never ignored: a
	 * misspelt "family" must not revoke something else. */
	json_object_foreach(req, key, v) {
		if (strcmp(key, "op") == 0 || strcmp(key, "id") == 0 ||
		    ag_web_op_field(c.op, key) != NULL)
			continue;
		/* the name is repeated only when short (and so never cut
		 * inside a UTF-8 sequence); the op's members are not
		 * replaced in it */
		if (strlen(key) <= 64 && strchr(key, '{') == NULL)
			snprintf(msg, sizeof(msg), "unknown member \"%s\" for op %s", key,
			         c.op->name);
		else
			snprintf(msg, sizeof(msg), "unknown member for op %s", c.op->name);
		ag_web_reply_usage(&c, msg);
		return;
	}
	for (i = 0; i < c.op->nfields; i++) {
		f = &c.op->fields[i];
		c.v[i] = json_object_get(req, f->name);
		if (c.v[i] == NULL && (f->flags & AG_WEB_REQUIRED) != 0) {
			snprintf(msg, sizeof(msg), "\"{%s}\" required", f->name);
			ag_web_reply_usage(&c, msg);
			return;
		}
		if (c.v[i] != NULL && check_member(&c, f, c.v[i]) != 0)
			return;
	}
	c.op->handler(&c);
}

void
ag_web_reply_clear(struct ag_web_reply *rep)
{
	json_decref(rep->answer);
	rep->answer = NULL;
}

/* ------------------------------------------------------------- batch */

size_t
ag_web_line_max(const struct ag_config *cfg)
{
	size_t four = 4 * (size_t)cfg->token_max_len;
	size_t body = 2 * (size_t)AG_WEBHOOK_BODY_MAX + LINE_MIN;

	return four > body ? four : body;
}

/* The id a request may carry to match its answer: a number, or a string
 * of at most AG_WEB_ID_MAX bytes.  Anything else is refused unechoed. */
int
ag_web_id_ok(const json_t *id)
{
	return json_is_number(id) ||
	       (json_is_string(id) && json_string_length(id) <= AG_WEB_ID_MAX);
}

json_t *
ag_web_answer_line(struct ag_web *w, const char *line, size_t len, int too_long)
{
	struct ag_web_reply rep;
	struct ag_web_call c = { .w = w, .op = &envelope, .rep = &rep };
	json_error_t jerr;
	json_t *req = NULL, *id = NULL, *out;
	int nomem = 0;

	memset(&rep, 0, sizeof(rep));
	if (!too_long) {
		/* never a request whose strings lost bytes for want of
		 * memory (ag_json_loadb) */
		req = ag_json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr, &nomem);
		if (nomem) {
			ag_web_reply(&c, AG_WEB_INTERNAL, NULL);
			goto out;
		}
	}
	if (too_long)
		ag_web_reply_usage(&c, "request too long");
	else if (req == NULL || !json_is_object(req))
		ag_web_reply_usage(&c, "not a JSON object");
	else if ((id = json_object_get(req, "id")) != NULL && !ag_web_id_ok(id))
		ag_web_reply_usage(&c, "id must be a number or a string of at most 256 bytes");
	else
		ag_web_dispatch(w, req, &rep);
out:
	out = rep.answer;
	rep.answer = NULL;
	if (out != NULL && ((id != NULL && ag_web_id_ok(id) && json_object_set(out, "id", id) != 0) ||
	                    json_object_set_new(out, "status", json_integer(rep.status)) != 0)) {
		json_decref(out);
		out = NULL;
	}
	json_decref(req);
	return out;
}
