/* authguardd's log: syslog (LOG_AUTHPRIV, opened by main), and stderr
 * too when it runs in the foreground with --verbose. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "daemon.h"

static int log_stderr;

void
agd_log_to_stderr(int on)
{
	log_stderr = on;
}

void
agd_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_stderr) {
		va_list ap2;

		va_copy(ap2, ap);
		fprintf(stderr, "authguardd: ");
		vfprintf(stderr, fmt, ap2);
		fputc('\n', stderr);
		va_end(ap2);
	}
	vsyslog(priority, fmt, ap);
	va_end(ap);
}
