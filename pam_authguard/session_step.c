/* The session phase of pam_authguard: a limit on concurrent logins.
 *
 * open_session records (user, service, tty, rhost, pid, boot) and refuses
 * with PAM_PERM_DENIED when the user already has pam_session_max live
 * sessions; close_session removes the record.  A record counts while the
 * process that opened it runs on the current boot: records of processes
 * that died (sshd killed, crash) or of an earlier boot are dropped when the
 * user next logs in.  root is not limited unless even_deny_root is set,
 * so an administrator is never locked out; console logins count like any
 * other. */
#include "autoconf.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "clock.h"
#include "error.h"
#include "log.h"
#include "module.h"
#include "util.h"

#define DATA_SESSION "pam_authguard:session"

/* This boot's id: a record of another boot is stale. */
static void
read_boot_id(char out[40])
{
	ssize_t n;
	int fd;

	ag_strlcpy(out, "unknown", 40);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, 39);
	close(fd);
	if (n <= 0) {
		ag_strlcpy(out, "unknown", 40);
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* This machine's id (/etc/machine-id, else its host name): a shared
 * store holds the sessions of many machines, and only this one can tell
 * whether its own still run. */
static void
read_machine_id(char *out, size_t size)
{
	ssize_t n;
	int fd;

	out[0] = '\0';
	fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, out, size - 1);
		close(fd);
		if (n > 0) {
			out[n] = '\0';
			out[strcspn(out, "\n")] = '\0';
		}
	}
	if (out[0] == '\0' && gethostname(out, size - 1) != 0)
		ag_strlcpy(out, "unknown", size);
	out[size - 1] = '\0';
}

static void
cleanup_id(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

static void
item(struct module *m, int type, char *out, size_t size)
{
	const void *v = NULL;

	out[0] = '\0';
	if (pam_get_item(m->pamh, type, &v) == PAM_SUCCESS && v != NULL)
		ag_log_escape(out, size, v, strlen(v), (size - 8) / 4);
}

int
module_open_session(struct module *m)
{
	struct ag_pam_session ps;
	struct ag_logline l;
	int64_t id = 0, *idp, max = m->cfg.pam_session_max;
	int refused = 0, r;

	memset(&ps, 0, sizeof(ps));
	ag_strlcpy(ps.user, m->req.user, sizeof(ps.user));
	item(m, PAM_SERVICE, ps.service, sizeof(ps.service));
	item(m, PAM_TTY, ps.tty, sizeof(ps.tty));
	item(m, PAM_RHOST, ps.rhost, sizeof(ps.rhost));
	ps.pid = (int64_t)getpid();
	ps.started = ag_clock_now();
	read_boot_id(ps.boot_id);
	read_machine_id(ps.host, sizeof(ps.host));
	/* The service checks which rows of this machine still run, and
	 * exempts root. */
	r = m->ops->session_open(m->svc, &ps, max, &refused, &id);
	if (r != 0) {
		module_log_error(m, "session", module_state_error(m, r));
		return PAM_SYSTEM_ERR;
	}
	ag_logline_init(&l, refused ? "session_refused" : "session_open");
	ag_logline_str(&l, "user", m->req.user);
	ag_logline_str(&l, "tty", ps.tty);
	ag_logline_str(&l, "rhost", ps.rhost[0] != '\0' ? ps.rhost : NULL);
	if (refused)
		ag_logline_int(&l, "max", max);
	ag_log_emit(&m->log, refused ? LOG_NOTICE : LOG_INFO, &l);
	if (refused) {
		module_say(m, "Too many logins for '%.64s' (at most %lld).", m->req.user,
		           (long long)max);
		return PAM_PERM_DENIED;
	}
	if ((idp = malloc(sizeof(*idp))) != NULL) {
		*idp = id;
		if (pam_set_data(m->pamh, DATA_SESSION, idp, cleanup_id) != PAM_SUCCESS)
			free(idp);
	}
	return PAM_SUCCESS;
}

int
module_close_session(struct module *m)
{
	const void *data = NULL;
	int r;

	if (pam_get_data(m->pamh, DATA_SESSION, &data) != PAM_SUCCESS || data == NULL)
		return PAM_SUCCESS; /* nothing recorded here; a stale row expires by itself */
	r = m->ops->session_close(m->svc, *(const int64_t *)data, m->req.user);
	pam_set_data(m->pamh, DATA_SESSION, NULL, NULL);
	if (r != 0) {
		module_log_error(m, "session", module_state_error(m, r));
		return PAM_SESSION_ERR;
	}
	return PAM_SUCCESS;
}
