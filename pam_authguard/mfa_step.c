/* The verification-code step of pam_authguard: modes pwok and totp.
 *
 * The stack (conf/pam.d/sshd-mfa) asks for a code whether or not the
 * password was right, and whether or not the account exists, so neither
 * the prompt nor its timing tells a guesser anything:
 *
 *   auth requisite                pam_authguard.so preauth
 *   auth [success=ok default=1]   pam_unix.so
 *   auth [success=ok default=die] pam_authguard.so pwok
 *   auth [success=ok default=die] pam_authguard.so totp
 *   auth sufficient               pam_authguard.so authsucc
 *   auth requisite                pam_deny.so
 *
 * pwok runs only after a good password and marks this attempt; totp always
 * prompts, and succeeds only with the mark and a valid code.  A wrong
 * password or code settles the attempt as a failure (delays, lockout); a
 * replayed code after the right password withdraws it (see replayed()). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "error.h"
#include "module.h"
#include "util.h"

#define DATA_PWOK "pam_authguard:pwok"

/* The mark pwok leaves: this attempt of this user passed the password. */
struct pwok_data {
	int64_t attempt;
	char user[AG_NAME_MAX + 1];
};

static void
cleanup_free(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

int
module_do_pwok(struct module *m)
{
	struct pwok_data *pd;
	int64_t attempt = module_current_attempt(m);

	if (attempt == 0) {
		module_log_error(m, "pwok", "no preauth for this user in this PAM handle (check the stack)");
		return PAM_AUTH_ERR;
	}
	if ((pd = calloc(1, sizeof(*pd))) == NULL) {
		module_log_error(m, "pwok", "out of memory");
		return PAM_BUF_ERR;
	}
	pd->attempt = attempt;
	ag_strlcpy(pd->user, m->req.user, sizeof(pd->user));
	if (pam_set_data(m->pamh, DATA_PWOK, pd, cleanup_free) != PAM_SUCCESS) {
		free(pd);
		module_log_error(m, "pwok", "cannot keep the mark");
		return PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

/* 1 when pwok marked this very attempt for this user. */
static int
password_passed(struct module *m, int64_t attempt)
{
	const void *data = NULL;
	const struct pwok_data *pd;

	if (pam_get_data(m->pamh, DATA_PWOK, &data) != PAM_SUCCESS || data == NULL)
		return 0;
	pd = data;
	return attempt != 0 && pd->attempt == attempt && strcmp(pd->user, m->req.user) == 0;
}

/* Settles the attempt as a failure and returns the deny code. */
static int
fail_attempt(struct module *m, int64_t attempt)
{
	struct ag_guard_result res;
	int r;

	r = m->ops->fail(m->svc, &m->req, attempt, &res);
	module_forget_attempt(m);
	pam_set_data(m->pamh, DATA_PWOK, NULL, NULL);
	if (r != 0) {
		module_log_error(m, "totp", module_state_error(m, r));
		return PAM_AUTH_ERR;
	}
	if (res.newly_locked && !res.exempt)
		module_say_locked(m, res.locked_until);
	module_request_delay(m, res.delay);
	return PAM_AUTH_ERR;
}

/* A replayed code after the right password: refused, and the attempt
 * withdrawn rather than counted (ag_mfa_counts_as_failure() says why that
 * gives a guesser nothing).  The user is told to wait for the next code
 * (seconds, from the check): the common case is a code just used to
 * confirm an enrollment or to log in, still on the screen.  No fail
 * delay: this was not a failure. */
static int
replayed(struct module *m, int64_t seconds, int64_t attempt)
{
	char wait[64];
	int r;

	r = m->ops->release(m->svc, &m->req, attempt, "mfa_replayed", NULL);
	module_forget_attempt(m);
	pam_set_data(m->pamh, DATA_PWOK, NULL, NULL);
	if (r != 0) {
		module_log_error(m, "totp", module_state_error(m, r));
		return PAM_AUTH_ERR;
	}
	if (seconds <= 0) {
		module_say(m, "This code was already used. Try again with the code your app shows now.");
		return PAM_AUTH_ERR;
	}
	ag_format_wait(wait, sizeof(wait), seconds);
	module_say(m, "This code was already used. Wait for the next one (in %s) and try again.",
	           wait);
	return PAM_AUTH_ERR;
}

int
module_do_totp(struct module *m)
{
	struct ag_authsvc_mfa check;
	char *code = NULL;
	int64_t attempt = module_current_attempt(m);
	int enrolled = 0, pw_ok, r, ret = PAM_AUTH_ERR;

	if (attempt == 0) {
		module_log_error(m, "totp", "no preauth for this user in this PAM handle (check the stack)");
		return PAM_AUTH_ERR;
	}
	pw_ok = password_passed(m, attempt);
	/* Also fails, before any prompt, when the secrets key is unusable. */
	if ((r = m->ops->mfa_status(m->svc, m->req.user, &enrolled)) != 0) {
		module_log_error(m, "totp", module_state_error(m, r));
		return PAM_SYSTEM_ERR;
	}
	/* Roll-out: accounts without MFA pass on their password alone.  (The
	 * missing prompt then shows that the account has no MFA.) */
	if (!enrolled && m->cfg.nullok) {
		if (!pw_ok) {
			ret = fail_attempt(m, attempt);
			goto out;
		}
		ret = PAM_SUCCESS;
		goto out;
	}
	r = pam_prompt(m->pamh, PAM_PROMPT_ECHO_OFF, &code, "Verification code: ");
	if (r != PAM_SUCCESS || code == NULL) {
		module_log_error(m, "totp", "the conversation gave no code");
		ret = fail_attempt(m, attempt);
		if (r == PAM_CONV_ERR || r == PAM_BUF_ERR)
			ret = r;
		goto out;
	}
	if (!pw_ok) {
		/* Wrong password (or unknown user): the code is not looked at,
		 * so neither its validity nor its consumption tells anything. */
		ret = fail_attempt(m, attempt);
		goto out;
	}
	if (!enrolled) {
		struct ag_logline l;

		ag_logline_init(&l, "mfa_fail");
		ag_logline_str(&l, "user", m->req.user);
		ag_logline_str(&l, "reason", "not_enrolled");
		ag_log_emit(&m->log, LOG_NOTICE, &l);
		ret = fail_attempt(m, attempt);
		goto out;
	}
	if ((r = m->ops->mfa_verify(m->svc, m->req.user, code, &check)) != 0) {
		module_log_error(m, "totp", module_state_error(m, r));
		ret = PAM_SYSTEM_ERR;
		goto out;
	}
	if (check.result == AG_MFA_OK_TOTP || check.result == AG_MFA_OK_BACKUP) {
		if (check.result == AG_MFA_OK_BACKUP && check.backup_left >= 0 &&
		    check.backup_left <= 2)
			module_say(m, "Backup code accepted; %lld left. Generate new ones soon.",
			           (long long)check.backup_left);
		ret = PAM_SUCCESS;
		goto out;
	}
	if (!check.counts_as_failure) {
		ret = replayed(m, check.next_code_wait, attempt);
		goto out;
	}
	ret = fail_attempt(m, attempt);
out:
	if (code != NULL) {
		explicit_bzero(code, strlen(code));
		free(code);
	}
	return ret;
}
