/* The PAM operations over the daemon's protocol (authsvc_proto.h). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "authsvc_proto.h"
#include "error.h"
#include "util.h"

/* ------------------------------------------------------ the op table */

enum ptype { P_STR, P_INT };

struct pfield {
	const char *name;
	enum ptype type;
	int required;
	size_t max;       /* P_STR: bytes */
	int64_t min, imax; /* P_INT; min: P_STR's least bytes too */
};

enum pop {
	OP_CHECK_USER, OP_BEGIN, OP_FAIL, OP_SUCCEED, OP_RELEASE, OP_ACCOUNT, OP_MFA_STATUS,
	OP_MFA_VERIFY, OP_SESSION_OPEN, OP_SESSION_CLOSE
};

#define F_USER { "user", P_STR, 1, AG_NAME_MAX, 1, 0 }
#define F_RHOST { "rhost", P_STR, 0, AG_AUTHSVC_RHOST_MAX, 1, 0 }
#define F_SERVICE { "service", P_STR, 0, 256, 1, 0 }
#define F_ATTEMPT { "attempt", P_INT, 1, 0, 0, INT64_MAX }
#define NF 9

struct pop_def {
	const char *name;
	enum pop op;
	struct pfield f[NF];
};

static const struct pop_def ops_table[] = {
	{ "pam_check_user", OP_CHECK_USER, { F_USER } },
	{ "pam_begin", OP_BEGIN, { F_USER, F_RHOST, F_SERVICE } },
	{ "pam_fail", OP_FAIL, { F_USER, F_RHOST, F_SERVICE, F_ATTEMPT } },
	{ "pam_succeed", OP_SUCCEED, { F_USER, F_RHOST, F_SERVICE, F_ATTEMPT } },
	{ "pam_release", OP_RELEASE,
	  { F_USER, F_RHOST, F_SERVICE, F_ATTEMPT, { "reason", P_STR, 1, 64, 1, 0 } } },
	{ "pam_account", OP_ACCOUNT, { F_USER, F_RHOST, F_SERVICE } },
	{ "pam_mfa_status", OP_MFA_STATUS, { F_USER } },
	{ "pam_mfa_verify", OP_MFA_VERIFY,
	  { F_USER, { "code", P_STR, 1, AG_AUTHSVC_CODE_MAX, 0, 0 } } },
	{ "pam_session_open", OP_SESSION_OPEN,
	  { F_USER, F_SERVICE, { "tty", P_STR, 0, 256, 1, 0 }, F_RHOST,
	    { "pid", P_INT, 1, 0, 1, INT32_MAX }, { "boot_id", P_STR, 1, 39, 1, 0 },
	    { "host", P_STR, 1, 63, 1, 0 }, { "started", P_INT, 1, 0, 0, INT64_MAX } } },
	{ "pam_session_close", OP_SESSION_CLOSE,
	  { F_USER, { "id", P_INT, 1, 0, 1, INT64_MAX } } },
};

static const struct pop_def *
find_op(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < AG_ARRAY_SIZE(ops_table); i++)
		if (strcmp(ops_table[i].name, name) == 0)
			return &ops_table[i];
	return NULL;
}

int
ag_authsvc_proto_is_pam(const char *op)
{
	return op != NULL && strncmp(op, "pam_", 4) == 0;
}

/* A text member sent as {"hex": HEX} (ag_authsvc_proto_text) becomes the
 * string of its bytes in req (never dumped: jansson keeps them as they
 * are).  Anything else about it is left to check_members to refuse.
 * NULL, or why the member is wrong. */
static const char *
decode_text(json_t *req, const char *name, size_t max)
{
	json_t *v = json_object_get(req, name), *hex;
	const char *h;
	char *buf;
	size_t n, i;
	int hi, lo, r;

	if (!json_is_object(v))
		return NULL;
	hex = json_object_get(v, "hex");
	if (json_object_size(v) != 1 || !json_is_string(hex))
		return "a member is not a string of the right length";
	h = json_string_value(hex);
	n = json_string_length(hex);
	if (n == 0 || n % 2 != 0 || n / 2 > max)
		return "a member is not a string of the right length";
	if ((buf = malloc(n / 2 + 1)) == NULL)
		return "out of memory";
	for (i = 0; i < n / 2; i++) {
		hi = ag_hex_digit(h[2 * i]);
		lo = ag_hex_digit(h[2 * i + 1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(buf);
			return "a member is not a string of the right length";
		}
		buf[i] = (char)(hi * 16 + lo);
	}
	buf[n / 2] = '\0';
	r = json_object_set_new(req, name, json_stringn_nocheck(buf, n / 2));
	explicit_bzero(buf, n / 2);
	free(buf);
	return r != 0 ? "out of memory" : NULL;
}

const char *
ag_authsvc_proto_user(json_t *req)
{
	if (decode_text(req, "user", AG_NAME_MAX) != NULL)
		return NULL;
	return json_string_value(json_object_get(req, "user"));
}

/* ------------------------------------------------------- server side */

static json_t *
answer_error(int status, const char *kind, const char *msg)
{
	return json_pack("{s:s, s:s, s:i}", "error", kind, "message", msg, "status", status);
}

/* Every member known, of its type and within bounds; the required ones
 * present.  A string must hold no NUL (jansson would pass one on). */
static const char *
check_members(const struct pop_def *d, json_t *req)
{
	const char *key;
	json_t *v;
	size_t i;

	for (i = 0; i < NF && d->f[i].name != NULL; i++) {
		const char *why;

		if (d->f[i].type == P_STR && (why = decode_text(req, d->f[i].name, d->f[i].max)))
			return why;
	}
	json_object_foreach(req, key, v) {
		const struct pfield *f = NULL;

		if (strcmp(key, "op") == 0)
			continue;
		for (i = 0; i < NF && d->f[i].name != NULL; i++)
			if (strcmp(d->f[i].name, key) == 0)
				f = &d->f[i];
		/* "id" is the envelope's request id, except where the op has a
		 * member of that name (pam_session_close: the row), which is
		 * then checked as that member: the same member is both. */
		if (f == NULL && strcmp(key, "id") == 0)
			continue;
		if (f == NULL)
			return "unknown member";
		if (f->type == P_STR) {
			size_t n = json_string_length(v);

			if (!json_is_string(v) || n < (size_t)f->min || n > f->max ||
			    strlen(json_string_value(v)) != n)
				return "a member is not a string of the right length";
		} else {
			json_int_t n = json_integer_value(v);

			if (!json_is_integer(v) || n < f->min || n > f->imax)
				return "a member is not an integer in range";
		}
	}
	for (i = 0; i < NF && d->f[i].name != NULL; i++)
		if (d->f[i].required && json_object_get(req, d->f[i].name) == NULL)
			return "a required member is missing";
	return NULL;
}

static json_t *
result_json(const struct ag_guard_result *r)
{
	return json_pack("{s:b, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:i}",
	                 "allowed", r->allowed, "verdict", (int)r->verdict, "refused_by",
	                 (int)r->refused_by, "attempt", (json_int_t)r->attempt, "retry_after",
	                 (json_int_t)r->retry_after, "locked_until", (json_int_t)r->locked_until,
	                 "failures", (json_int_t)r->failures, "host_failures",
	                 (json_int_t)r->host_failures, "delay", (json_int_t)r->delay,
	                 "newly_locked", r->newly_locked, "exempt", r->exempt, "status", 0);
}

static const char *
str(json_t *req, const char *name)
{
	return json_string_value(json_object_get(req, name));
}

static int64_t
num(json_t *req, const char *name)
{
	return (int64_t)json_integer_value(json_object_get(req, name));
}

static void
copy(char *dst, size_t size, const char *src)
{
	ag_strlcpy(dst, src != NULL ? src : "", size);
}

json_t *
ag_authsvc_proto_serve(const struct ag_authsvc_ops *ops, struct ag_authsvc *svc,
                       const struct ag_config *cfg, json_t *req, int peer_is_root, pid_t pid)
{
	const struct pop_def *d = find_op(str(req, "op"));
	struct ag_guard_req g = { 0 };
	struct ag_guard_result res;
	struct ag_authsvc_mfa mfa;
	struct ag_pam_session row;
	char why[AG_ERRBUF];
	const char *bad;
	int64_t id = 0;
	int r = 0, flag = 0;
	json_t *out = NULL;

	if (d == NULL)
		return answer_error(2, "usage", "unknown op");
	if ((bad = check_members(d, req)) != NULL)
		return answer_error(2, "usage", bad);
	g.user = str(req, "user");
	g.service = str(req, "service");
	/* A process that is not root speaks for its own user only
	 * (lib/peer_policy.h) and for no remote host: a local user must not
	 * be able to count failures against an address. */
	g.rhost = peer_is_root ? str(req, "rhost") : NULL;
	g.system_account = 1;
	memset(&res, 0, sizeof(res));
	switch (d->op) {
	case OP_CHECK_USER:
		if ((r = ops->check_user(cfg, &g, why)) != 0)
			return answer_error(2, "usage", why);
		return json_pack("{s:i}", "status", 0);
	case OP_BEGIN:
		r = ops->begin(svc, &g, &res);
		break;
	case OP_FAIL:
		r = ops->fail(svc, &g, num(req, "attempt"), &res);
		break;
	case OP_SUCCEED:
		r = ops->succeed(svc, &g, num(req, "attempt"), &res);
		break;
	case OP_ACCOUNT:
		r = ops->account(svc, &g, &res);
		break;
	case OP_RELEASE:
		if ((r = ops->release(svc, &g, num(req, "attempt"), str(req, "reason"), &flag)) == 0)
			out = json_pack("{s:b, s:i}", "released", flag, "status", 0);
		break;
	case OP_MFA_STATUS:
		if ((r = ops->mfa_status(svc, g.user, &flag)) == 0)
			out = json_pack("{s:b, s:i}", "enrolled", flag, "status", 0);
		break;
	case OP_MFA_VERIFY:
		if ((r = ops->mfa_verify(svc, g.user, str(req, "code"), &mfa)) == 0)
			out = json_pack("{s:i, s:b, s:I, s:I, s:i}", "result", (int)mfa.result,
			                "counts_as_failure", mfa.counts_as_failure, "backup_left",
			                (json_int_t)mfa.backup_left, "next_code_wait",
			                (json_int_t)mfa.next_code_wait, "status", 0);
		break;
	case OP_SESSION_OPEN:
		memset(&row, 0, sizeof(row));
		copy(row.user, sizeof(row.user), g.user);
		copy(row.service, sizeof(row.service), g.service);
		copy(row.tty, sizeof(row.tty), str(req, "tty"));
		copy(row.rhost, sizeof(row.rhost), g.rhost);
		copy(row.boot_id, sizeof(row.boot_id), str(req, "boot_id"));
		copy(row.host, sizeof(row.host), str(req, "host"));
		/* The session is the caller's process, as the kernel says. */
		row.pid = peer_is_root ? num(req, "pid") : (int64_t)pid;
		row.started = num(req, "started");
		/* The limit is the daemon's (pam_session_max), not the caller's. */
		if ((r = ops->session_open(svc, &row, cfg->pam_session_max, &flag, &id)) == 0)
			out = json_pack("{s:b, s:I, s:i}", "refused", flag, "id", (json_int_t)id,
			                "status", 0);
		break;
	case OP_SESSION_CLOSE:
		if ((r = ops->session_close(svc, num(req, "id"), g.user)) == 0)
			out = json_pack("{s:i}", "status", 0);
		break;
	}
	/* A name the rules refuse (not UTF-8 where names fold, too long once
	 * folded): why, in the words the module uses without the daemon. */
	if ((r == AG_ERR_INVAL || r == AG_ERR_TOOLONG) && ops->check_user(cfg, &g, why) != 0)
		return answer_error(2, "usage", why);
	if (r != 0)
		return answer_error(r == AG_ERR_INVAL || r == AG_ERR_TOOLONG ? 2 : 3,
		                    r == AG_ERR_INVAL || r == AG_ERR_TOOLONG ? "usage" : "state",
		                    ops->errmsg(svc, r));
	if (out == NULL && (d->op == OP_BEGIN || d->op == OP_FAIL || d->op == OP_SUCCEED ||
	                    d->op == OP_ACCOUNT))
		out = result_json(&res);
	return out;
}

/* ------------------------------------------------------- client side */

json_t *
ag_authsvc_proto_text(const char *s, size_t n)
{
	json_t *v;
	char *h;

	n = strnlen(s, n);
	if (ag_utf8_valid(s, n))
		return json_stringn(s, n);
	if ((h = malloc(2 * n + 1)) == NULL)
		return NULL;
	ag_hex_encode(h, s, n);
	v = json_pack("{s:s}", "hex", h);
	explicit_bzero(h, 2 * n);
	free(h);
	return v;
}

json_t *
ag_authsvc_proto_request(const char *op, const struct ag_guard_req *req)
{
	json_t *o = json_pack("{s:s}", "op", op);

	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "user", ag_authsvc_proto_text(req->user, AG_NAME_MAX + 1)) != 0 ||
	    (req->rhost != NULL && req->rhost[0] != '\0' &&
	     json_object_set_new(o, "rhost", ag_authsvc_proto_text(req->rhost,
	                                                          AG_AUTHSVC_RHOST_MAX)) != 0) ||
	    (req->service != NULL && req->service[0] != '\0' &&
	     json_object_set_new(o, "service", ag_authsvc_proto_text(req->service, 256)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
ag_authsvc_proto_status(json_t *answer, char msg[AG_ERRBUF])
{
	json_t *st = json_object_get(answer, "status");
	const char *m = json_string_value(json_object_get(answer, "message"));

	msg[0] = '\0';
	if (!json_is_integer(st)) {
		snprintf(msg, AG_ERRBUF, "authguardd: an answer without a status");
		return AG_ERR_STORE;
	}
	if (json_integer_value(st) == 0)
		return 0;
	snprintf(msg, AG_ERRBUF, "authguardd: %s", m != NULL ? m : "refused");
	return json_integer_value(st) == 2 ? AG_ERR_INVAL : AG_ERR_STORE;
}

int64_t
ag_authsvc_proto_int(json_t *answer, const char *name)
{
	json_t *v = json_object_get(answer, name);

	if (json_is_boolean(v))
		return json_is_true(v);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int
ag_authsvc_proto_result(json_t *answer, struct ag_guard_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!json_is_boolean(json_object_get(answer, "allowed")))
		return AG_ERR_STORE;
	res->allowed = (int)ag_authsvc_proto_int(answer, "allowed");
	res->verdict = (enum ag_verdict)ag_authsvc_proto_int(answer, "verdict");
	res->refused_by = (enum ag_subject_kind)ag_authsvc_proto_int(answer, "refused_by");
	res->attempt = ag_authsvc_proto_int(answer, "attempt");
	res->retry_after = ag_authsvc_proto_int(answer, "retry_after");
	res->locked_until = ag_authsvc_proto_int(answer, "locked_until");
	res->failures = ag_authsvc_proto_int(answer, "failures");
	res->host_failures = ag_authsvc_proto_int(answer, "host_failures");
	res->delay = ag_authsvc_proto_int(answer, "delay");
	res->newly_locked = (int)ag_authsvc_proto_int(answer, "newly_locked");
	res->exempt = (int)ag_authsvc_proto_int(answer, "exempt");
	return 0;
}
