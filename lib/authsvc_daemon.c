/* The daemon state service (lib/authsvc.h): the PAM module's operations
 * carried to authguardd over its socket (lib/authsvc_proto.h), so that the
 * calling process -- sshd, login, a screen locker running as the user --
 * opens no state and reads no key.  Built as the module authsvc-daemon.so
 * (it needs jansson, which the PAM module itself does not link), loaded
 * by pam_authguard.so when the configuration says daemon = yes.
 *
 * One connection per PAM handle, like the direct service's one store.  A
 * request whose answer was lost is not sent again: it may have been
 * carried out (a failure counted), and every error denies anyway; the
 * next call of the handle connects afresh. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authsvc.h"
#include "authsvc_proto.h"
#include "daemon_client.h"
#include "error.h"
#include "json_out.h"
#include "util.h"

struct ag_authsvc {
	struct ag_config cfg;
	struct ag_daemon_conn *conn;
	char msg[AG_ERRBUF];
};

static int
dm_check_user(const struct ag_config *cfg, const struct ag_guard_req *req, char why[AG_ERRBUF])
{
	(void)cfg;
	why[0] = '\0';
	/* What a name folds to is the daemon's to say (its configuration,
	 * its libraries): here only what no configuration accepts. */
	if (req->user == NULL || req->user[0] == '\0') {
		snprintf(why, AG_ERRBUF, "empty name");
		return AG_ERR_INVAL;
	}
	if (strnlen(req->user, AG_NAME_MAX + 1) > AG_NAME_MAX) {
		snprintf(why, AG_ERRBUF, "name longer than 4096 bytes"); /* as lib/guard.c says */
		return AG_ERR_TOOLONG;
	}
	return 0;
}

static int
dm_open(const struct ag_config *cfg, const struct ag_log *log, int may_fall_back,
        struct ag_authsvc **svcp, char err[AG_ERRBUF])
{
	struct ag_authsvc *svc;
	int r;

	(void)log; /* the daemon logs the events */
	(void)may_fall_back; /* the daemon's store_fallback decides */
	*svcp = NULL;
	ag_json_wipe_by_default();
	if ((svc = calloc(1, sizeof(*svc))) == NULL) {
		snprintf(err, AG_ERRBUF, "out of memory");
		return AG_ERR_NOMEM;
	}
	svc->cfg = *cfg;
	if ((r = ag_daemon_connect(cfg, &svc->conn, err)) != 0) {
		free(svc);
		return r;
	}
	*svcp = svc;
	return 0;
}

static int
dm_reuse(struct ag_authsvc *svc, const struct ag_config *cfg, const struct ag_log *log,
         int may_fall_back)
{
	(void)log;
	(void)may_fall_back;
	if (strcmp(svc->cfg.daemon_socket, cfg->daemon_socket) != 0)
		return 0;
	svc->cfg = *cfg;
	return 1;
}

static void
dm_close(struct ag_authsvc *svc)
{
	if (svc == NULL)
		return;
	ag_daemon_close(svc->conn);
	free(svc);
}

static const char *
dm_errmsg(const struct ag_authsvc *svc, int err)
{
	return svc != NULL && svc->msg[0] != '\0' ? svc->msg : ag_strerror(err);
}

static int
dm_fall_back(struct ag_authsvc *svc, int err, int *switched, char errbuf[AG_ERRBUF])
{
	(void)svc;
	(void)err;
	*switched = 0;
	errbuf[0] = '\0';
	return 0;
}

/* Sends req (consumed) and returns its answer after checking its status. */
static int
call(struct ag_authsvc *svc, json_t *req, json_t **answer)
{
	int r;

	*answer = NULL;
	svc->msg[0] = '\0';
	if (req == NULL) {
		snprintf(svc->msg, sizeof(svc->msg), "out of memory");
		return AG_ERR_NOMEM;
	}
	if (svc->conn == NULL && (r = ag_daemon_connect(&svc->cfg, &svc->conn, svc->msg)) != 0) {
		json_decref(req);
		return r;
	}
	r = ag_daemon_call(svc->conn, req, answer, svc->msg);
	json_decref(req);
	if (r == AG_ERR_UNAVAILABLE) {
		ag_daemon_close(svc->conn);
		svc->conn = NULL;
	}
	if (r != 0)
		return r;
	if ((r = ag_authsvc_proto_status(*answer, svc->msg)) != 0) {
		json_decref(*answer);
		*answer = NULL;
	}
	return r;
}

static int
guard_call(struct ag_authsvc *svc, const char *op, const struct ag_guard_req *req,
           int64_t attempt, struct ag_guard_result *res)
{
	json_t *q = ag_authsvc_proto_request(op, req), *a = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if (q != NULL && attempt >= 0 && json_object_set_new(q, "attempt", json_integer(attempt)) != 0) {
		json_decref(q);
		q = NULL;
	}
	if ((r = call(svc, q, &a)) != 0)
		return r;
	if ((r = ag_authsvc_proto_result(a, res)) != 0)
		snprintf(svc->msg, sizeof(svc->msg), "authguardd: an answer without a result");
	json_decref(a);
	return r;
}

static int
dm_begin(struct ag_authsvc *svc, const struct ag_guard_req *req, struct ag_guard_result *res)
{
	return guard_call(svc, "pam_begin", req, -1, res);
}

static int
dm_fail(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
        struct ag_guard_result *res)
{
	return guard_call(svc, "pam_fail", req, attempt, res);
}

static int
dm_succeed(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
           struct ag_guard_result *res)
{
	return guard_call(svc, "pam_succeed", req, attempt, res);
}

static int
dm_account(struct ag_authsvc *svc, const struct ag_guard_req *req, struct ag_guard_result *res)
{
	return guard_call(svc, "pam_account", req, -1, res);
}

static int
dm_release(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
           const char *reason, int *released)
{
	json_t *q = ag_authsvc_proto_request("pam_release", req), *a = NULL;
	int r;

	if (released != NULL)
		*released = 0;
	if (q != NULL && (json_object_set_new(q, "attempt", json_integer(attempt)) != 0 ||
	                  json_object_set_new(q, "reason", json_string(reason)) != 0)) {
		json_decref(q);
		q = NULL;
	}
	if ((r = call(svc, q, &a)) != 0)
		return r;
	if (released != NULL)
		*released = (int)ag_authsvc_proto_int(a, "released");
	json_decref(a);
	return 0;
}

static int
dm_mfa_status(struct ag_authsvc *svc, const char *user, int *enrolled)
{
	struct ag_guard_req req = { .user = user };
	json_t *a = NULL;
	int r;

	*enrolled = 0;
	if ((r = call(svc, ag_authsvc_proto_request("pam_mfa_status", &req), &a)) != 0)
		return r;
	*enrolled = (int)ag_authsvc_proto_int(a, "enrolled");
	json_decref(a);
	return 0;
}

static int
dm_mfa_verify(struct ag_authsvc *svc, const char *user, const char *code,
              struct ag_authsvc_mfa *out)
{
	struct ag_guard_req req = { .user = user };
	json_t *q = ag_authsvc_proto_request("pam_mfa_verify", &req), *a = NULL, *v;
	char text[AG_AUTHSVC_CODE_MAX + 1];
	size_t n, i, k;
	int r;

	out->result = AG_MFA_WRONG;
	out->counts_as_failure = 1;
	out->backup_left = -1;
	out->next_code_wait = 0;
	/* The code travels in the request (jansson wipes what it frees) as
	 * JSON text.  What cannot be a code stays what cannot be one, so
	 * that the daemon refuses and counts it as malformed as it would
	 * here: an answer longer than any code is cut to the longest the
	 * protocol carries (authsvc_proto.h), and bytes that are not UTF-8
	 * (never in a code) become '?' (not in a code either). */
	n = strnlen(code, AG_AUTHSVC_CODE_MAX);
	memcpy(text, code, n);
	text[n] = '\0';
	for (i = 0; i < n;) {
		if ((k = ag_utf8_decode(text + i, n - i, NULL)) == 0)
			text[i++] = '?';
		else
			i += k;
	}
	v = q != NULL ? json_string(text) : NULL;
	explicit_bzero(text, sizeof(text));
	if (q != NULL && json_object_set_new(q, "code", v) != 0) {
		json_decref(q);
		q = NULL;
	}
	if ((r = call(svc, q, &a)) != 0)
		return r;
	out->result = (enum ag_mfa_result)ag_authsvc_proto_int(a, "result");
	out->counts_as_failure = (int)ag_authsvc_proto_int(a, "counts_as_failure");
	out->backup_left = ag_authsvc_proto_int(a, "backup_left");
	out->next_code_wait = ag_authsvc_proto_int(a, "next_code_wait");
	json_decref(a);
	return 0;
}

static int
dm_session_open(struct ag_authsvc *svc, const struct ag_pam_session *row, int64_t max,
                int *refused, int64_t *id)
{
	json_t *q, *a = NULL;
	int r;

	(void)max; /* the daemon's pam_session_max applies */
	*refused = 0;
	*id = 0;
	q = json_pack("{s:s, s:o, s:I, s:s, s:s, s:I}", "op", "pam_session_open", "user",
	              ag_authsvc_proto_text(row->user, AG_NAME_MAX + 1), "pid",
	              (json_int_t)row->pid, "boot_id", row->boot_id, "host", row->host, "started",
	              (json_int_t)row->started);
	if (q != NULL &&
	    ((row->service[0] != '\0' &&
	      json_object_set_new(q, "service", ag_authsvc_proto_text(row->service, 256)) != 0) ||
	     (row->tty[0] != '\0' &&
	      json_object_set_new(q, "tty", ag_authsvc_proto_text(row->tty, 256)) != 0) ||
	     (row->rhost[0] != '\0' &&
	      json_object_set_new(q, "rhost", ag_authsvc_proto_text(row->rhost,
	                                                           AG_AUTHSVC_RHOST_MAX)) != 0))) {
		json_decref(q);
		q = NULL;
	}
	if ((r = call(svc, q, &a)) != 0)
		return r;
	*refused = (int)ag_authsvc_proto_int(a, "refused");
	*id = ag_authsvc_proto_int(a, "id");
	json_decref(a);
	return 0;
}

static int
dm_session_close(struct ag_authsvc *svc, int64_t id, const char *user)
{
	json_t *a = NULL;
	int r;

	r = call(svc, json_pack("{s:s, s:o, s:I}", "op", "pam_session_close", "user",
	                        ag_authsvc_proto_text(user, AG_NAME_MAX + 1), "id", (json_int_t)id),
	         &a);
	json_decref(a);
	return r;
}

/* Exported under this one name (the module's only symbol). */
__attribute__((visibility("default"))) const struct ag_authsvc_ops ag_authsvc_daemon_ops = {
	.abi = AG_AUTHSVC_ABI,
	.config_size = sizeof(struct ag_config),
	.name = "daemon",
	.check_user = dm_check_user,
	.open = dm_open,
	.reuse = dm_reuse,
	.close = dm_close,
	.errmsg = dm_errmsg,
	.fall_back = dm_fall_back,
	.begin = dm_begin,
	.fail = dm_fail,
	.succeed = dm_succeed,
	.release = dm_release,
	.account = dm_account,
	.mfa_status = dm_mfa_status,
	.mfa_verify = dm_mfa_verify,
	.session_open = dm_session_open,
	.session_close = dm_session_close,
};
