#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "cli.h"
#include "error.h"

const char *cli_progname = "authguard";

static void
vwarn(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", cli_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void
cli_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(code);
}

int
cli_exit_for(int err)
{
	switch (err) {
	case AG_ERR_CONFIG:
	case AG_ERR_UNSAFE:
	case AG_ERR_NOTFOUND:
	case AG_ERR_INVAL:
	case AG_ERR_TOOLONG:
	case AG_ERR_RANGE:
		return CLI_USAGE;
	default:
		return CLI_INTERNAL;
	}
}

void
cli_load_config(struct ag_config *cfg, const char *path)
{
	const char *file = path != NULL ? path : ag_config_default_path();
	char err[AG_ERRBUF];
	int r;

	ag_config_defaults(cfg);
	if ((r = ag_config_load_file(cfg, file, path == NULL, err)) != 0)
		cli_die(CLI_USAGE, "%s", err);
	if ((r = ag_config_validate(cfg, err)) != 0)
		cli_die(CLI_USAGE, "%s: %s", file, err);
}

void
cli_log_open(void)
{
	openlog(cli_progname, LOG_PID, LOG_AUTHPRIV);
}

void
cli_print_json(json_t *obj)
{
	if (obj == NULL || json_dumpf(obj, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) != 0) {
		json_decref(obj);
		cli_die(CLI_INTERNAL, "cannot write JSON output");
	}
	fputc('\n', stdout);
	json_decref(obj);
	if (fflush(stdout) != 0)
		cli_die(CLI_INTERNAL, "cannot write output");
}

json_t *
cli_json_time(int64_t t)
{
	return t == 0 ? json_null() : json_integer((json_int_t)t);
}
