/* What the mode handlers of pam_authguard/ share (module.h): the error
 * line, the conversation's messages, the fail delay, the attempt preauth
 * left in the PAM handle, and the fallback to the local state. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "authsvc.h"
#include "clock.h"
#include "error.h"
#include "log.h"
#include "util.h"
#include "module.h"

void
module_log_error(struct module *m, const char *op, const char *msg)
{
	char user[4 * 64 + 8] = "";

	if (m->req.user != NULL)
		ag_log_escape(user, sizeof(user), m->req.user, strlen(m->req.user), 64);
	pam_syslog(m->pamh, LOG_ERR, "event=error op=%s%s%s: %s; access denied", op,
	           user[0] != '\0' ? " user=" : "", user, msg);
}

int
module_fall_back(struct module *m, int err)
{
	char buf[AG_ERRBUF];
	int switched = 0;

	if (m->ops->fall_back(m->svc, err, &switched, buf) != 0) {
		module_log_error(m, "fallback", buf);
		return err;
	}
	return switched ? 0 : err;
}

void
module_say(struct module *m, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (m->quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pam_error(m->pamh, "%s", msg);
}

void
module_request_delay(struct module *m, int64_t seconds)
{
	if (m->cfg.nodelay || seconds <= 0)
		return;
	if (seconds > m->cfg.delay_max)
		seconds = m->cfg.delay_max;
	/* libpam keeps the largest delay any module asked for and applies it
	 * once when pam_authenticate() fails. */
	pam_fail_delay(m->pamh, (unsigned int)(seconds * 1000000));
}

void
module_say_locked(struct module *m, int64_t locked_until)
{
	char wait[64];

	if (locked_until == AG_FOREVER) {
		module_say(m, "Too many failed logins; access locked.");
		return;
	}
	ag_format_wait(wait, sizeof(wait), locked_until - ag_clock_now());
	module_say(m, "Too many failed logins; access locked for %s.", wait);
}

const char *
module_state_error(struct module *m, int err)
{
	return m->ops->errmsg(m->svc, err);
}

void
module_forget_attempt(struct module *m)
{
	pam_set_data(m->pamh, DATA_ATTEMPT, NULL, NULL);
}

int64_t
module_current_attempt(struct module *m)
{
	const void *data = NULL;
	const struct attempt_data *ad;

	if (pam_get_data(m->pamh, DATA_ATTEMPT, &data) != PAM_SUCCESS || data == NULL)
		return 0;
	ad = data;
	if (strcmp(ad->user, m->req.user) != 0)
		return 0; /* PAM_USER changed since preauth */
	return ad->attempt;
}
