/* pam_authguard: the Linux-PAM entry points.  Only glue lives here: read the
 * PAM items, load the configuration, call the state service (lib/authsvc.h:
 * lib/guard, lib/mfa and the store, in a module of their own), map results
 * to PAM return codes and talk to the user.  Every rule is in lib/.
 *
 * Return codes (also in pam_authguard.8):
 *   auth preauth   PAM_SUCCESS attempt counted, go on | PAM_AUTH_ERR locked,
 *                  busy or too early | PAM_SYSTEM_ERR/PAM_BUF_ERR error (deny)
 *   auth authfail  PAM_AUTH_ERR always (the failure is recorded first)
 *   auth authsucc  PAM_SUCCESS | PAM_AUTH_ERR locked meanwhile, or no
 *                  preauth in this handle | PAM_SYSTEM_ERR error
 *   account        PAM_SUCCESS | PAM_PERM_DENIED locked | PAM_SYSTEM_ERR
 *   setcred        PAM_SUCCESS (nothing to do)
 *   open_session   PAM_SUCCESS | PAM_PERM_DENIED too many logins | PAM_SYSTEM_ERR
 *   close_session  PAM_SUCCESS | PAM_SESSION_ERR error
 * PAM_IGNORE is never returned. */
#include "autoconf.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "authsvc.h"
#include "config.h"
#include "error.h"
#include "util.h"
#include "module.h"

#define PUBLIC __attribute__((visibility("default")))

static void
pam_sink(void *ctx, int priority, const char *line)
{
	pam_syslog((pam_handle_t *)ctx, priority, "%s", line);
}

/* What the PAM handle keeps of the state service. */
struct svc_data {
	const struct ag_authsvc_ops *ops;
	struct ag_authsvc *svc;
};

static void
cleanup_svc(pam_handle_t *pamh, void *data, int error_status)
{
	struct svc_data *sd = data;

	(void)pamh;
	(void)error_status;
	sd->ops->close(sd->svc);
	free(sd);
}

static void
cleanup_free(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

/* The file's settings, read once per PAM handle: preauth, the password
 * step, authfail/authsucc (and pwok/totp) each call the module, and the
 * file does not change between them.  The built-in file may be absent
 * (defaults apply); a named one must exist.  Errors are not cached. */
struct config_cache {
	char path[PATH_MAX];
	struct ag_config cfg;
};

/* A file that loads but sets a key twice: said once per PAM handle (the
 * file is read once per handle), at LOG_WARNING; the login goes on. */
static void
log_config_warning(void *ctx, const char *msg)
{
	struct module *m = ctx;

	pam_syslog(m->pamh, LOG_WARNING, "event=config_warning: %s", msg);
}

static int
file_config(struct module *m, const char *conf, int explicit_conf, char err[AG_ERRBUF])
{
	const void *data = NULL;
	struct config_cache *cc;
	int r;

	if (pam_get_data(m->pamh, DATA_CONFIG, &data) == PAM_SUCCESS && data != NULL &&
	    strcmp(((const struct config_cache *)data)->path, conf) == 0) {
		m->cfg = ((const struct config_cache *)data)->cfg;
		return 0;
	}
	ag_config_defaults(&m->cfg);
	if ((r = ag_config_load_file_warn(&m->cfg, conf, !explicit_conf, log_config_warning, m,
	                                  err)) != 0)
		return r;
	if ((cc = malloc(sizeof(*cc))) != NULL) {
		ag_strlcpy(cc->path, conf, sizeof(cc->path));
		cc->cfg = m->cfg;
		if (pam_set_data(m->pamh, DATA_CONFIG, cc, cleanup_free) != PAM_SUCCESS)
			free(cc);
	}
	return 0;
}

/* defaults, then the file (conf= or the built-in path), then arguments. */
static int
load_config(struct module *m, int argc, const char **argv, char err[AG_ERRBUF])
{
	const char *conf = ag_config_default_path();
	char why[AG_ERRBUF];
	enum mode mode;
	int i, r, explicit_conf = 0;

	m->mode = MODE_NONE;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "conf=", 5) == 0) {
			conf = argv[i] + 5;
			explicit_conf = 1;
		}
	}
	/* A relative name would be looked up in the application's working
	 * directory, which its user may choose (su, sudo). */
	if (conf[0] != '/') {
		snprintf(err, AG_ERRBUF, "module argument conf: must be an absolute path");
		return AG_ERR_CONFIG;
	}
	if ((r = file_config(m, conf, explicit_conf, err)) != 0)
		return r;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "conf=", 5) == 0)
			continue;
		mode = MODE_NONE;
		if (strcmp(argv[i], "preauth") == 0)
			mode = MODE_PREAUTH;
		else if (strcmp(argv[i], "authfail") == 0)
			mode = MODE_AUTHFAIL;
		else if (strcmp(argv[i], "authsucc") == 0)
			mode = MODE_AUTHSUCC;
		else if (strcmp(argv[i], "pwok") == 0)
			mode = MODE_PWOK;
		else if (strcmp(argv[i], "totp") == 0)
			mode = MODE_TOTP;
		else if ((r = ag_config_apply_arg(&m->cfg, argv[i], err)) != 0)
			return r;
		/* "totp pwok" must not quietly become pwok (no code asked). */
		if (mode != MODE_NONE && m->mode != MODE_NONE) {
			snprintf(err, AG_ERRBUF, "module argument %s: more than one mode on the line",
			         argv[i]);
			return AG_ERR_CONFIG;
		}
		if (mode != MODE_NONE)
			m->mode = mode;
	}
	if ((r = ag_config_validate(&m->cfg, why)) != 0)
		snprintf(err, AG_ERRBUF, "%s (with module arguments): %s", conf, why);
	return r;
}

/* Opens the state once per PAM handle: preauth, authfail and authsucc run
 * in the same process and share it (and one database connection).  A
 * later call takes the handle over unless the service says it cannot
 * serve that call (another state file or store; a local state standing
 * in for a shared one, for a call that may not fall back); a new one then
 * replaces it. */
static int
get_state(struct module *m, char err[AG_ERRBUF])
{
	const void *data = NULL;
	struct svc_data *sd;
	struct ag_authsvc *svc = NULL;
	int r;

	if (pam_get_data(m->pamh, DATA_SVC, &data) == PAM_SUCCESS && data != NULL) {
		const struct svc_data *cached = data;

		if (cached->ops == m->ops &&
		    m->ops->reuse(cached->svc, &m->cfg, &m->log, m->may_fall_back)) {
			m->svc = cached->svc;
			return 0;
		}
	}
	if ((sd = calloc(1, sizeof(*sd))) == NULL) {
		snprintf(err, AG_ERRBUF, "out of memory");
		return AG_ERR_NOMEM;
	}
	r = m->ops->open(&m->cfg, &m->log, m->may_fall_back, &svc, err);
	if (r == AG_ERR_UNAVAILABLE && m->cfg.daemon &&
	    m->cfg.daemon_fallback == AG_DAEMON_FALLBACK_DIRECT && geteuid() == 0) {
		/* No daemon: root may open the state itself (daemon_fallback =
		 * direct), said loudly.  Anyone else is refused below. */
		struct ag_logline l;

		ag_logline_init(&l, "daemon_fallback");
		ag_logline_str(&l, "reason", err);
		ag_log_emit(&m->log, LOG_WARNING, &l);
		if ((r = ag_authsvc_direct(&m->ops, err)) == 0)
			r = m->ops->open(&m->cfg, &m->log, m->may_fall_back, &svc, err);
	}
	if (r != 0) {
		free(sd);
		return r;
	}
	sd->ops = m->ops;
	sd->svc = svc;
	if (pam_set_data(m->pamh, DATA_SVC, sd, cleanup_svc) != PAM_SUCCESS) {
		m->ops->close(svc);
		free(sd);
		snprintf(err, AG_ERRBUF, "cannot keep the state handle");
		return AG_ERR_NOMEM;
	}
	m->svc = svc;
	return 0;
}

/* Loads config, the PAM items, the state service and the state.  On
 * failure logs the reason and returns the PAM code to deny with. */
static int
setup(struct module *m, pam_handle_t *pamh, int flags, int argc, const char **argv,
      const char *op, int need_user)
{
	char err[AG_ERRBUF];
	const void *item = NULL;
	const char *user = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	m->pamh = pamh;
	if (load_config(m, argc, argv, err) != 0) {
		module_log_error(m, op, err);
		return PAM_SYSTEM_ERR;
	}
	m->quiet = m->cfg.silent || (flags & PAM_SILENT);
	m->log.sink = pam_sink;
	m->log.ctx = pamh;
	m->log.debug = m->cfg.debug;

	if (need_user) {
		r = pam_get_user(pamh, &user, NULL);
		if (r != PAM_SUCCESS || user == NULL) {
			module_log_error(m, op, "cannot get the user name");
			return r == PAM_SUCCESS || r == PAM_CONV_AGAIN ? PAM_AUTH_ERR : r;
		}
		m->req.user = user;
		m->req.system_account = 1;
	}
	if (ag_authsvc_for(&m->cfg, &m->ops, err) != 0) {
		module_log_error(m, op, err);
		return PAM_SYSTEM_ERR;
	}
	/* With pam_user_fold, a name that cannot be folded (not UTF-8) has no
	 * counter: refused here, before any password check. */
	if (need_user && (r = m->ops->check_user(&m->cfg, &m->req, err)) != 0) {
		module_log_error(m, op, err);
		return r == AG_ERR_NOMEM ? PAM_BUF_ERR : PAM_AUTH_ERR;
	}
	if (pam_get_item(pamh, PAM_RHOST, &item) == PAM_SUCCESS && item != NULL)
		m->req.rhost = item;
	item = NULL;
	if (pam_get_item(pamh, PAM_SERVICE, &item) == PAM_SUCCESS && item != NULL)
		m->req.service = item;
	m->req.system_account = 1;

	/* Counting and locking may go on on the local state while a shared
	 * store is down (store_fallback = local); MFA and sessions may not. */
	m->may_fall_back = (strcmp(op, "auth") == 0 &&
	                    (m->mode == MODE_PREAUTH || m->mode == MODE_AUTHFAIL ||
	                     m->mode == MODE_AUTHSUCC)) ||
	                   strcmp(op, "account") == 0;
	if (get_state(m, err) != 0) {
		module_log_error(m, op, err);
		return PAM_SYSTEM_ERR;
	}
	return PAM_SUCCESS;
}

static void
tell_refusal(struct module *m, const struct ag_guard_result *res)
{
	char wait[64];

	if (res->retry_after < 0) {
		module_say(m, "%s locked; contact your administrator.",
		    res->refused_by == AG_SUBJECT_HOST ? "Access from your address is" : "Account");
		return;
	}
	ag_format_wait(wait, sizeof(wait), res->retry_after > 0 ? res->retry_after : 1);
	if (res->verdict == AG_REFUSE_LOCKED && res->refused_by == AG_SUBJECT_HOST)
		module_say(m, "Too many failed logins from your address; try again in %s.", wait);
	else if (res->verdict == AG_REFUSE_LOCKED)
		module_say(m, "Account locked due to failed logins; try again in %s.", wait);
	else if (res->verdict == AG_REFUSE_BUSY && res->refused_by == AG_SUBJECT_HOST)
		module_say(m, "Too many logins from your address in progress; try again in %s.", wait);
	else if (res->verdict == AG_REFUSE_BUSY)
		module_say(m, "Too many logins in progress; try again in %s.", wait);
	else
		module_say(m, "Too many failed logins; try again in %s.", wait);
}

static int
do_preauth(struct module *m)
{
	struct ag_guard_result res;
	struct attempt_data *ad;
	int r;

	/* A second preauth in one handle starts a new attempt. */
	pam_set_data(m->pamh, DATA_ATTEMPT, NULL, NULL);
	if ((r = m->ops->begin(m->svc, &m->req, &res)) != 0 && module_fall_back(m, r) == 0)
		r = m->ops->begin(m->svc, &m->req, &res);
	if (r != 0) {
		module_log_error(m, "preauth", module_state_error(m, r));
		return PAM_SYSTEM_ERR;
	}
	if (!res.allowed) {
		tell_refusal(m, &res);
		/* A lock gets no fail delay: nothing was checked, the lock
		 * already stops guessing, and the user should see its message
		 * at once (sshd adds only its few milliseconds), not after
		 * delay_max -- which sshd before 9.5 could double.  A delay not
		 * yet passed, or attempts still in flight, are waited out here
		 * instead: retry_after is what the failures already counted owe,
		 * not a new penalty, and a person on one connection then gets
		 * the next prompt when an attempt may start. */
		if (res.verdict != AG_REFUSE_LOCKED)
			module_request_delay(m, res.retry_after);
		return PAM_AUTH_ERR;
	}
	if ((ad = calloc(1, sizeof(*ad))) == NULL) {
		module_log_error(m, "preauth", "out of memory");
		return PAM_BUF_ERR;
	}
	ad->attempt = res.attempt;
	ag_strlcpy(ad->user, m->req.user, sizeof(ad->user));
	if (pam_set_data(m->pamh, DATA_ATTEMPT, ad, cleanup_free) != PAM_SUCCESS) {
		free(ad);
		module_log_error(m, "preauth", "cannot keep the attempt");
		return PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

static int
do_authfail(struct module *m)
{
	struct ag_guard_result res;
	int r;

	r = m->ops->fail(m->svc, &m->req, module_current_attempt(m), &res);
	if (r != 0 && module_fall_back(m, r) == 0)
		r = m->ops->fail(m->svc, &m->req, module_current_attempt(m), &res);
	pam_set_data(m->pamh, DATA_ATTEMPT, NULL, NULL);
	if (r != 0) {
		module_log_error(m, "authfail", module_state_error(m, r));
		return PAM_AUTH_ERR;
	}
	if (res.newly_locked && !res.exempt)
		module_say_locked(m, res.locked_until);
	module_request_delay(m, res.delay);
	return PAM_AUTH_ERR;
}

static int
do_authsucc(struct module *m)
{
	struct ag_guard_result res;
	int64_t attempt = module_current_attempt(m);
	int r;

	pam_set_data(m->pamh, DATA_ATTEMPT, NULL, NULL);
	if (attempt == 0) {
		/* Without preauth the lock was never checked: refuse rather
		 * than let a locked account through a broken stack. */
		module_log_error(m, "authsucc",
		          "no preauth for this user in this PAM handle (check the stack)");
		return PAM_AUTH_ERR;
	}
	if ((r = m->ops->succeed(m->svc, &m->req, attempt, &res)) != 0 &&
	    module_fall_back(m, r) == 0)
		r = m->ops->succeed(m->svc, &m->req, attempt, &res);
	if (r != 0) {
		module_log_error(m, "authsucc", module_state_error(m, r));
		return PAM_SYSTEM_ERR;
	}
	if (!res.allowed) {
		tell_refusal(m, &res);
		return PAM_AUTH_ERR;
	}
	return PAM_SUCCESS;
}

PUBLIC int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct module m;
	int r;

	if ((r = setup(&m, pamh, flags, argc, argv, "auth", 1)) != PAM_SUCCESS)
		return r == PAM_IGNORE ? PAM_AUTH_ERR : r;
	switch (m.mode) {
	case MODE_PREAUTH:
		return do_preauth(&m);
	case MODE_AUTHFAIL:
		return do_authfail(&m);
	case MODE_AUTHSUCC:
		return do_authsucc(&m);
	case MODE_PWOK:
		return module_do_pwok(&m);
	case MODE_TOTP:
		return module_do_totp(&m);
	case MODE_NONE:
		break;
	}
	module_log_error(&m, "auth", "no mode given (preauth, authfail, authsucc, pwok or totp)");
	return PAM_SYSTEM_ERR;
}

PUBLIC int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

PUBLIC int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct ag_guard_result res;
	struct module m;
	int r;

	if ((r = setup(&m, pamh, flags, argc, argv, "account", 1)) != PAM_SUCCESS)
		return r == PAM_AUTH_ERR ? PAM_PERM_DENIED : r;
	if ((r = m.ops->account(m.svc, &m.req, &res)) != 0 && module_fall_back(&m, r) == 0)
		r = m.ops->account(m.svc, &m.req, &res);
	if (r != 0) {
		module_log_error(&m, "account", module_state_error(&m, r));
		return PAM_SYSTEM_ERR;
	}
	if (!res.allowed) {
		tell_refusal(&m, &res);
		return PAM_PERM_DENIED;
	}
	return PAM_SUCCESS;
}

PUBLIC int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct module m;
	int r;

	if ((r = setup(&m, pamh, flags, argc, argv, "session", 1)) != PAM_SUCCESS)
		return r == PAM_AUTH_ERR ? PAM_PERM_DENIED : r;
	return module_open_session(&m);
}

PUBLIC int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct module m;
	int r;

	if ((r = setup(&m, pamh, flags, argc, argv, "session", 1)) != PAM_SUCCESS)
		return PAM_SESSION_ERR;
	return module_close_session(&m);
}
