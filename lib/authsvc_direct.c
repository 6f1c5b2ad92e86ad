/* The direct state service (lib/authsvc.h): the PAM module's operations
 * run in the calling process over lib/guard, lib/mfa and the store, as
 * the module always ran them.  Built, with the store and everything it
 * needs (SQLite, libsodium, liboath, libunistring), as the module
 * authsvc-direct.so, whose one exported symbol is the table at the end;
 * pam_authguard.so loads it on first use. */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "authsvc.h"
#include "authsvc_proto.h"
#include "error.h"
#include "guard.h"
#include "mfa.h"
#include "store.h"
#include "totp.h"
#include "util.h"

/* A code cut to what the daemon's protocol carries is still too long to
 * be any code (authsvc_proto.h). */
_Static_assert(AG_AUTHSVC_CODE_MAX > AG_TOTP_MAX_INPUT && AG_AUTHSVC_CODE_MAX > AG_BACKUP_MAX_INPUT,
               "a code cut to AG_AUTHSVC_CODE_MAX bytes must stay malformed");

struct ag_authsvc {
	struct ag_config cfg; /* the calling step's own copy: the caller's
	                         goes away when its call returns */
	struct ag_guard guard; /* cfg, the store in use, the log */
	int may_fall_back;
	int fell_back;         /* the local state stands in for a shared one */
	char msg[AG_ERRBUF];   /* a reason the store does not have ("" none) */
};

static void
take_call(struct ag_authsvc *svc, const struct ag_config *cfg, const struct ag_log *log,
          int may_fall_back)
{
	svc->cfg = *cfg;
	svc->guard.cfg = &svc->cfg;
	svc->guard.log = *log;
	svc->may_fall_back = may_fall_back;
}

static int
direct_check_user(const struct ag_config *cfg, const struct ag_guard_req *req,
                  char why[AG_ERRBUF])
{
	char key[AG_NAME_MAX + 1];
	const char *reason = NULL;
	int r;

	why[0] = '\0';
	if ((r = ag_guard_subject_key(cfg, req, key, &reason)) != 0)
		snprintf(why, AG_ERRBUF, "%s", reason != NULL ? reason : ag_strerror(r));
	return r;
}

/* A local state standing in for a shared one during an outage serves only
 * the callers that may fall back (never the code check: the secrets are in
 * the shared store). */
static int
direct_open(const struct ag_config *cfg, const struct ag_log *log, int may_fall_back,
            struct ag_authsvc **svcp, char err[AG_ERRBUF])
{
	struct ag_authsvc *svc;
	struct ag_store *st = NULL;
	int r;

	*svcp = NULL;
	if ((svc = calloc(1, sizeof(*svc))) == NULL) {
		snprintf(err, AG_ERRBUF, "out of memory");
		return AG_ERR_NOMEM;
	}
	take_call(svc, cfg, log, may_fall_back);
	if (may_fall_back)
		r = ag_guard_open_store(&svc->guard, &st, &svc->fell_back, err);
	else
		r = ag_store_open(&svc->cfg, 0, &st, err);
	if (r != 0) {
		free(svc);
		return r;
	}
	svc->guard.store = st;
	*svcp = svc;
	return 0;
}

static int
direct_reuse(struct ag_authsvc *svc, const struct ag_config *cfg, const struct ag_log *log,
             int may_fall_back)
{
	if (strcmp(svc->cfg.state_file, cfg->state_file) != 0 || svc->cfg.store != cfg->store ||
	    (svc->fell_back && !may_fall_back))
		return 0;
	take_call(svc, cfg, log, may_fall_back);
	return 1;
}

static void
direct_close(struct ag_authsvc *svc)
{
	if (svc == NULL)
		return;
	ag_store_close(svc->guard.store);
	free(svc);
}

static const char *
direct_errmsg(const struct ag_authsvc *svc, int err)
{
	const char *msg;

	if (svc->msg[0] != '\0')
		return svc->msg;
	msg = ag_store_errmsg(svc->guard.store);
	return msg[0] != '\0' ? msg : ag_strerror(err);
}

/* Every operation starts with no reason of its own. */
static void
start(struct ag_authsvc *svc)
{
	svc->msg[0] = '\0';
}

static int
direct_fall_back(struct ag_authsvc *svc, int err, int *switched, char errbuf[AG_ERRBUF])
{
	char why[AG_ERRBUF];
	struct ag_store *st = NULL;
	int r;

	*switched = 0;
	errbuf[0] = '\0';
	if (!svc->may_fall_back || !ag_guard_may_fall_back(&svc->cfg, err))
		return 0;
	snprintf(why, sizeof(why), "%s", direct_errmsg(svc, err));
	start(svc);
	if ((r = ag_guard_fall_back(&svc->guard, err, why, &st, errbuf)) != 0)
		return r;
	ag_store_close(svc->guard.store);
	svc->guard.store = st;
	svc->fell_back = 1;
	*switched = 1;
	return 0;
}

static int
direct_begin(struct ag_authsvc *svc, const struct ag_guard_req *req, struct ag_guard_result *res)
{
	start(svc);
	return ag_guard_begin(&svc->guard, req, res);
}

static int
direct_fail(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
            struct ag_guard_result *res)
{
	start(svc);
	return ag_guard_fail(&svc->guard, req, attempt, res);
}

static int
direct_succeed(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
               struct ag_guard_result *res)
{
	start(svc);
	return ag_guard_succeed(&svc->guard, req, attempt, res);
}

static int
direct_release(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
               const char *reason, int *released)
{
	start(svc);
	return ag_guard_release(&svc->guard, req, attempt, reason, released);
}

static int
direct_account(struct ag_authsvc *svc, const struct ag_guard_req *req,
               struct ag_guard_result *res)
{
	start(svc);
	return ag_guard_account_check(&svc->guard, req, res);
}

/* The secrets key for one operation, wiped by its end: a PAM handle
 * lives as long as the login, and the key has no business in that
 * process's memory meanwhile. */
static int
mfa_open(struct ag_authsvc *svc, struct ag_mfa *mfa)
{
	int r;

	memset(mfa, 0, sizeof(*mfa));
	mfa->cfg = &svc->cfg;
	mfa->store = svc->guard.store;
	mfa->log = svc->guard.log;
	if ((r = ag_mfa_load_key(mfa, svc->msg)) != 0)
		return r;
	svc->msg[0] = '\0';
	return 0;
}

static int
direct_mfa_status(struct ag_authsvc *svc, const char *user, int *enrolled)
{
	struct ag_mfa_status status;
	struct ag_mfa mfa;
	int r;

	*enrolled = 0;
	start(svc);
	if ((r = mfa_open(svc, &mfa)) == 0 && (r = ag_mfa_get_status(&mfa, user, &status)) == 0)
		*enrolled = status.enrolled;
	ag_mfa_clear(&mfa);
	return r;
}

static int
direct_mfa_verify(struct ag_authsvc *svc, const char *user, const char *code,
                  struct ag_authsvc_mfa *out)
{
	struct ag_mfa_status after;
	struct ag_mfa mfa;
	int r;

	out->result = AG_MFA_WRONG;
	out->counts_as_failure = 1;
	out->backup_left = -1;
	out->next_code_wait = 0;
	start(svc);
	if ((r = mfa_open(svc, &mfa)) != 0)
		goto out;
	if ((r = ag_mfa_verify(&mfa, user, code, &out->result)) != 0) {
		out->result = AG_MFA_WRONG;
		if (r == AG_ERR_CORRUPT && ag_store_errmsg(svc->guard.store)[0] == '\0')
			snprintf(svc->msg, sizeof(svc->msg), "stored TOTP secret does not open "
			         "(wrong secrets key or tampered row)");
		goto out;
	}
	out->counts_as_failure = ag_mfa_counts_as_failure(out->result);
	/* Hints for the user only: a failure to read them changes nothing. */
	if (out->result == AG_MFA_OK_BACKUP && ag_mfa_get_status(&mfa, user, &after) == 0)
		out->backup_left = after.backup_left;
	if (out->result != AG_MFA_OK_TOTP && out->result != AG_MFA_OK_BACKUP &&
	    !out->counts_as_failure &&
	    ag_mfa_next_code_wait(&mfa, user, &out->next_code_wait) != 0)
		out->next_code_wait = 0;
out:
	ag_mfa_clear(&mfa);
	return r;
}

struct alive_ctx {
	const char *boot_id;
};

/* A row of this machine counts while its process runs on this boot. */
static int
record_alive(void *vctx, const struct ag_pam_session *row)
{
	const struct alive_ctx *c = vctx;

	if (strcmp(row->boot_id, c->boot_id) != 0 || row->pid <= 0 || row->pid > INT32_MAX)
		return 0;
	/* EPERM: it runs, as another user. */
	return kill((pid_t)row->pid, 0) == 0 || errno == EPERM;
}

static int
direct_session_open(struct ag_authsvc *svc, const struct ag_pam_session *row, int64_t max,
                    int *refused, int64_t *id)
{
	struct alive_ctx ac = { .boot_id = row->boot_id };

	*refused = 0;
	*id = 0;
	start(svc);
	/* An administrator is never locked out by a session limit. */
	if (max > 0 && ag_guard_account_exempt(&svc->cfg, row->user))
		max = 0;
	return ag_store_pam_session_open(svc->guard.store, row, max, record_alive, &ac, id,
	                                 refused);
}

static int
direct_session_close(struct ag_authsvc *svc, int64_t id, const char *user)
{
	start(svc);
	return ag_store_pam_session_close(svc->guard.store, id, user);
}

/* Exported under this one name (the module's only symbol). */
__attribute__((visibility("default"))) const struct ag_authsvc_ops ag_authsvc_direct_ops = {
	.abi = AG_AUTHSVC_ABI,
	.config_size = sizeof(struct ag_config),
	.name = "direct",
	.check_user = direct_check_user,
	.open = direct_open,
	.reuse = direct_reuse,
	.close = direct_close,
	.errmsg = direct_errmsg,
	.fall_back = direct_fall_back,
	.begin = direct_begin,
	.fail = direct_fail,
	.succeed = direct_succeed,
	.release = direct_release,
	.account = direct_account,
	.mfa_status = direct_mfa_status,
	.mfa_verify = direct_mfa_verify,
	.session_open = direct_session_open,
	.session_close = direct_session_close,
};
