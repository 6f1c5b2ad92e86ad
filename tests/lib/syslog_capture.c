/*
 * syslog_capture.c - LD_PRELOAD shim that captures syslog(3) output for tests.
 *
 * It replaces openlog, closelog, syslog, vsyslog and the fortified
 * __syslog_chk / __vsyslog_chk.  Every message is appended as one line to
 * the file named by the environment variable AG_SYSLOG_FILE:
 *
 *     <PRI> IDENT: MESSAGE
 *
 * PRI is facility|priority as a decimal number (LOG_AUTHPRIV|LOG_WARNING is
 * 84), IDENT is the openlog() ident or, like glibc, the program's short name.
 * "%m" expands to strerror(errno) as in glibc.  Newlines inside a message
 * become spaces, so a message is always exactly one line.  The line is
 * written with a single write() to a descriptor opened with O_APPEND, so
 * lines from concurrent processes do not interleave.  If AG_SYSLOG_FILE is
 * unset or empty, or the file cannot be opened, messages are dropped.
 * Nothing is ever sent to the real syslog daemon.  LOG_PID, LOG_PERROR and
 * LOG_CONS are ignored; setlogmask() is honoured.
 *
 * Build (standalone):
 *     gcc -shared -fPIC -Wall -Wextra -Werror -o syslog_capture.so syslog_capture.c
 * (in the tree it is built by automake as a noinst/check libtool module).
 *
 * Use with pam_wrapper.  pam_wrapper replaces pam_syslog()/pam_vsyslog() and
 * by default prints them to its own debug log instead; PAM_WRAPPER_USE_SYSLOG=1
 * makes it pass them on to libpam, which calls syslog():
 *
 *     LD_PRELOAD=/abs/syslog_capture.so:/usr/lib/x86_64-linux-gnu/libpam_wrapper.so \
 *     PAM_WRAPPER=1 PAM_WRAPPER_USE_SYSLOG=1 PAM_WRAPPER_SERVICE_DIR=/tmp/x/svc \
 *     AG_SYSLOG_FILE=/tmp/x/syslog.txt timeout 20 pamtester svc alice authenticate
 *
 * A message logged by a module through pam_syslog() then reads e.g.
 *     <84> pamtester: pam_authguard(svc:auth): event=auth_fail user=alice
 *
 * For an unprivileged run (runuser -u nobody -- env LD_PRELOAD=... ...) the
 * file must be writable by that user, e.g. create it first and chmod 0666.
 * Set-user-ID helpers such as unix_chkpwd run without LD_PRELOAD, so their
 * own messages go to the real syslog and are not captured.
 */

#undef _FORTIFY_SOURCE /* we define syslog() itself, not the fortify inline */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* program_invocation_short_name, secure_getenv */
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define AG_EXPORT __attribute__((visibility("default")))

/* Not declared by <syslog.h> unless _FORTIFY_SOURCE is in effect. */
AG_EXPORT void __syslog_chk(int pri, int flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
AG_EXPORT void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void capture(int pri, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *log_ident;      /* as glibc: the caller's pointer */
static int log_facility = LOG_USER;

AG_EXPORT void openlog(const char *ident, int option, int facility)
{
	(void)option;
	pthread_mutex_lock(&log_lock);
	log_ident = ident;
	if (facility != 0 && (facility & ~LOG_FACMASK) == 0)
		log_facility = facility;
	pthread_mutex_unlock(&log_lock);
}

AG_EXPORT void closelog(void)
{
	pthread_mutex_lock(&log_lock);
	log_ident = NULL;
	pthread_mutex_unlock(&log_lock);
}

static void write_line(const char *path, const char *line, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	ssize_t n;

	if (fd < 0)
		return;
	do
		n = write(fd, line, len);
	while (n < 0 && errno == EINTR);
	close(fd);
}

static void capture(int pri, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	const char *path = secure_getenv("AG_SYSLOG_FILE");
	const char *ident;
	char msgbuf[1024], *msg = msgbuf, *line = NULL, *p;
	int facility, msglen, linelen;
	va_list ap2;

	if (path == NULL || *path == '\0' || fmt == NULL)
		goto out;

	/* glibc: unknown bits are dropped, the default facility fills in */
	pri &= LOG_FACMASK | LOG_PRIMASK;
	if ((setlogmask(0) & LOG_MASK(LOG_PRI(pri))) == 0)
		goto out;

	pthread_mutex_lock(&log_lock);
	ident = log_ident != NULL ? log_ident : program_invocation_short_name;
	facility = log_facility;
	pthread_mutex_unlock(&log_lock);
	if ((pri & LOG_FACMASK) == 0)
		pri |= facility;

	/* glibc's printf expands %m from errno, exactly as its syslog does */
	va_copy(ap2, ap);
	errno = saved_errno;
	msglen = vsnprintf(msgbuf, sizeof(msgbuf), fmt, ap2);
	va_end(ap2);
	if (msglen < 0)
		goto out;
	if ((size_t)msglen >= sizeof(msgbuf)) {
		msg = malloc((size_t)msglen + 1);
		if (msg == NULL)
			goto out;
		errno = saved_errno;
		msglen = vsnprintf(msg, (size_t)msglen + 1, fmt, ap);
		if (msglen < 0)
			goto out;
	}

	while (msglen > 0 && (msg[msglen - 1] == '\n' || msg[msglen - 1] == '\r'))
		msg[--msglen] = '\0';
	for (p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	linelen = asprintf(&line, "<%d> %s: %s\n", pri, ident, msg);
	if (linelen < 0) {
		line = NULL;
		goto out;
	}
	write_line(path, line, (size_t)linelen);

out:
	free(line);
	if (msg != msgbuf)
		free(msg);
	errno = saved_errno;
}

AG_EXPORT void vsyslog(int pri, const char *fmt, va_list ap)
{
	capture(pri, fmt, ap);
}

AG_EXPORT void syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	capture(pri, fmt, ap);
	va_end(ap);
}

AG_EXPORT void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	capture(pri, fmt, ap);
}

AG_EXPORT void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	capture(pri, fmt, ap);
	va_end(ap);
}
