/* libFuzzer target: authguardd's request lines -- daemon/handle.c (the
 * JSON envelope, the id rule, the op's class, the peer-credential rule of
 * lib/peer_policy for four callers) and lib/authsvc_proto.c's codec (the
 * PAM operations' member checks, the answers, and the client side's
 * readers of an answer).
 *
 * The first byte picks the caller and the rest is one request line:
 *
 *   caller 0  root
 *   caller 1  alice (uid 5001, her own name preset: no NSS lookup)
 *   caller 2  a member of the web group (group 0 here), no name of its own
 *   caller 3  a uid without a name
 *
 * The line goes through agd_handle() with a configuration whose state,
 * keys and secrets do not exist (nothing is written; a PAM or web
 * operation that passes the rule fails on the state), and, when it is a
 * JSON object, through ag_authsvc_proto_serve() over a stub service that
 * checks what reaches it.  Invariants:
 *   - an answer is one line, a JSON object with an integer status 0..3,
 *     its id the request's when the request had a valid one;
 *   - caller 3 never gets status 0, callers 1 to 3 never a daemon_status,
 *     caller 1 never a PAM answer about another user, nobody but root and
 *     the web group a web answer other than "forbidden";
 *   - the stub sees only requests whose members passed the checks: a
 *     user of 1 to AG_NAME_MAX bytes without NUL, no rhost from a caller
 *     that is not root, an attempt >= 0, a session id >= 1, the caller's
 *     own pid for a session opened by a caller that is not root. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "authsvc.h"
#include "authsvc_proto.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "json_out.h"
#include "util.h"
#include "web/proto.h"

#define NOWHERE "/nonexistent-authguard-fuzz"
#define ALICE_PID 4242

static int stub_root;

static void
check_req(const struct ag_guard_req *req)
{
	size_t n;

	if (req->user == NULL)
		abort();
	n = strlen(req->user);
	if (n == 0 || n > AG_NAME_MAX)
		abort();
	if (!stub_root && req->rhost != NULL)
		abort(); /* a local user counting failures against an address */
}

static int
s_check_user(const struct ag_config *cfg, const struct ag_guard_req *req, char why[AG_ERRBUF])
{
	(void)cfg;
	check_req(req);
	why[0] = '\0';
	return req->user[0] == 'x' ? AG_ERR_INVAL : 0;
}

static void
s_result(const struct ag_guard_req *req, int64_t attempt, struct ag_guard_result *res)
{
	check_req(req);
	if (attempt < 0)
		abort();
	memset(res, 0, sizeof(*res));
	res->allowed = attempt % 2 == 0;
	res->attempt = attempt;
	res->failures = (int64_t)strlen(req->user);
}

static int
s_begin(struct ag_authsvc *svc, const struct ag_guard_req *req, struct ag_guard_result *res)
{
	(void)svc;
	s_result(req, 0, res);
	return 0;
}

static int
s_fail(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
       struct ag_guard_result *res)
{
	(void)svc;
	s_result(req, attempt, res);
	return attempt == 7 ? AG_ERR_STORE : 0;
}

static int
s_release(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
          const char *reason, int *released)
{
	(void)svc;
	check_req(req);
	if (attempt < 0 || reason == NULL || reason[0] == '\0' || strlen(reason) > 64)
		abort();
	if (released != NULL)
		*released = 1;
	return 0;
}

static int
s_account(struct ag_authsvc *svc, const struct ag_guard_req *req, struct ag_guard_result *res)
{
	(void)svc;
	s_result(req, 0, res);
	return 0;
}

static int
s_mfa_status(struct ag_authsvc *svc, const char *user, int *enrolled)
{
	(void)svc;
	if (user == NULL || user[0] == '\0')
		abort();
	*enrolled = 1;
	return 0;
}

static int
s_mfa_verify(struct ag_authsvc *svc, const char *user, const char *code,
             struct ag_authsvc_mfa *out)
{
	(void)svc;
	/* 0 to AG_AUTHSVC_CODE_MAX bytes: an empty or cut answer reaches
	 * lib/mfa, which refuses it as malformed (and counts it). */
	if (user == NULL || code == NULL || strlen(code) > AG_AUTHSVC_CODE_MAX)
		abort();
	memset(out, 0, sizeof(*out));
	out->result = AG_MFA_OK_TOTP;
	out->backup_left = -1;
	return 0;
}

static int
s_session_open(struct ag_authsvc *svc, const struct ag_pam_session *row, int64_t max,
               int *refused, int64_t *id)
{
	(void)svc;
	(void)max;
	if (row->user[0] == '\0' || row->boot_id[0] == '\0' || row->host[0] == '\0')
		abort();
	if (!stub_root && (row->pid != ALICE_PID || row->rhost[0] != '\0'))
		abort(); /* the kernel's pid, no address, for a caller not root */
	if (row->pid < 1 || row->started < 0)
		abort();
	*refused = 0;
	*id = 1;
	return 0;
}

static int
s_session_close(struct ag_authsvc *svc, int64_t id, const char *user)
{
	(void)svc;
	if (id < 1 || user == NULL || user[0] == '\0')
		abort();
	return 0;
}

static const char *
s_errmsg(const struct ag_authsvc *svc, int err)
{
	(void)svc;
	return ag_strerror(err);
}

static const struct ag_authsvc_ops stub = {
	.abi = AG_AUTHSVC_ABI,
	.config_size = sizeof(struct ag_config),
	.name = "fuzz",
	.check_user = s_check_user,
	.errmsg = s_errmsg,
	.begin = s_begin,
	.fail = s_fail,
	.succeed = s_fail,
	.release = s_release,
	.account = s_account,
	.mfa_status = s_mfa_status,
	.mfa_verify = s_mfa_verify,
	.session_open = s_session_open,
	.session_close = s_session_close,
};

/* The answer line of agd_handle(): one line, one object, the rules. */
static void
check_answer(const char *a, size_t alen, int caller, json_t *req, int ok)
{
	json_error_t jerr;
	json_t *o, *st, *id;
	const char *op, *err, *user;
	json_int_t status;

	if (alen == 0 || a[alen - 1] != '\n' || memchr(a, '\n', alen - 1) != NULL)
		abort();
	o = json_loadb(a, alen - 1, 0, &jerr);
	if (o == NULL || !json_is_object(o))
		abort();
	st = json_object_get(o, "status");
	if (!json_is_integer(st) || json_integer_value(st) < 0 || json_integer_value(st) > 3)
		abort();
	status = json_integer_value(st);
	if (ok != (status < 2))
		abort();
	err = json_string_value(json_object_get(o, "error"));
	op = req != NULL ? json_string_value(json_object_get(req, "op")) : NULL;
	if (caller == 3 && status == 0)
		abort();
	if (op != NULL && caller != 0 && strcmp(op, "daemon_status") == 0 &&
	    (err == NULL || strcmp(err, "forbidden") != 0))
		abort();
	if (op != NULL && caller == 1 && ag_authsvc_proto_is_pam(op)) {
		/* For another user: refused, as forbidden -- or as a usage
		 * error when the line itself is malformed (a bad id), which
		 * is refused before anyone's rights are looked at. */
		user = json_string_value(json_object_get(req, "user"));
		if ((user == NULL || strcmp(user, "alice") != 0) &&
		    (status < 2 || err == NULL ||
		     (strcmp(err, "forbidden") != 0 && strcmp(err, "usage") != 0)))
			abort();
	}
	if (op != NULL && (caller == 1 || caller == 3) && !ag_authsvc_proto_is_pam(op) &&
	    strcmp(op, "daemon_status") != 0 && status == 0)
		abort();
	id = req != NULL ? json_object_get(req, "id") : NULL;
	if (status < 2 && id != NULL && !json_equal(id, json_object_get(o, "id")))
		abort();
	json_decref(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agd_server s;
	static struct agd_worker *w;
	struct ag_peer peer;
	struct ag_guard_result res;
	json_error_t jerr;
	json_t *req = NULL, *out;
	char msg[AG_ERRBUF];
	const char *line;
	size_t len, alen;
	char *a;
	int caller, ok, nomem = 0;

	if (w == NULL) {
		setlogmask(LOG_MASK(LOG_EMERG));
		ag_json_wipe_on_free();
		ag_config_defaults(&s.cfg);
		ag_strlcpy(s.cfg.state_file, NOWHERE "/state.db", sizeof(s.cfg.state_file));
		ag_strlcpy(s.cfg.token_keys_dir, NOWHERE "/keys", sizeof(s.cfg.token_keys_dir));
		ag_strlcpy(s.cfg.webhook_secret_file, NOWHERE "/webhook.secret",
		           sizeof(s.cfg.webhook_secret_file));
		ag_strlcpy(s.cfg.secrets_key, NOWHERE "/secrets.key", sizeof(s.cfg.secrets_key));
		ag_strlcpy(s.cfg.daemon_web_group, "root", sizeof(s.cfg.daemon_web_group));
		pthread_mutex_init(&s.lock, NULL);
		s.max_clients = 1;
		s.nworkers = 1;
		if ((w = agd_worker_new(&s, 0)) == NULL)
			return 0;
	}
	if (size < 1)
		return 0;
	caller = data[0] & 3;
	line = (const char *)data + 1;
	len = size - 1;
	if (len > AGD_LINE_MIN || memchr(line, '\n', len) != NULL)
		return 0; /* the I/O loop never hands such a line over */

	memset(&peer, 0, sizeof(peer));
	switch (caller) {
	case 0: peer.uid = 0; peer.gid = 0; ag_strlcpy(peer.user, "root", sizeof(peer.user)); break;
	case 1: peer.uid = 5001; peer.gid = 5001; ag_strlcpy(peer.user, "alice", sizeof(peer.user)); break;
	case 2: peer.uid = 5003; peer.gid = 5003; peer.groups[0] = 0; peer.ngroups = 1; break;
	default: peer.uid = 5999; peer.gid = 5999; break;
	}
	peer.pid = ALICE_PID;

	req = ag_json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr, &nomem);
	if (req != NULL && !json_is_object(req)) {
		json_decref(req);
		req = NULL;
	}
	a = agd_handle(w, &peer, line, len, &alen, &ok);
	if (a != NULL) {
		check_answer(a, alen, caller, req, ok);
		free(a);
	}
	/* The same line refused because the daemon is stopping: one line,
	 * status 3, and the request's id whenever agd_handle echoes it. */
	a = agd_refuse_stopping(line, len, &alen);
	if (a != NULL) {
		json_t *o, *id = req != NULL ? json_object_get(req, "id") : NULL;

		if (alen == 0 || a[alen - 1] != '\n' || memchr(a, '\n', alen - 1) != NULL)
			abort();
		if ((o = json_loadb(a, alen - 1, 0, &jerr)) == NULL ||
		    json_integer_value(json_object_get(o, "status")) != 3)
			abort();
		if (id != NULL && ag_web_id_ok(id) ? !json_equal(id, json_object_get(o, "id"))
		                                   : json_object_get(o, "id") != NULL)
			abort();
		json_decref(o);
		free(a);
	}

	if (req != NULL) {
		/* The codec over the stub, as root and as alice. */
		stub_root = caller == 0;
		if (ag_authsvc_proto_is_pam(json_string_value(json_object_get(req, "op")))) {
			out = ag_authsvc_proto_serve(&stub, NULL, &s.cfg, req, stub_root, ALICE_PID);
			if (out != NULL) {
				json_t *st = json_object_get(out, "status");

				if (!json_is_integer(st))
					abort();
				(void)ag_authsvc_proto_status(out, msg);
				(void)ag_authsvc_proto_result(out, &res);
				json_decref(out);
			}
		}
		/* The client side reading the request as if it were an answer. */
		(void)ag_authsvc_proto_status(req, msg);
		(void)ag_authsvc_proto_result(req, &res);
		(void)ag_authsvc_proto_int(req, "attempt");
		json_decref(req);
	}
	return 0;
}
