#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "error.h"
#include "json_out.h"
#include "util.h"

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
	return ag_err_status(err);
}

/* Warnings about the file that loaded (at most one per key). */
#define MAX_CONFIG_WARNINGS 64
static char *config_warnings[MAX_CONFIG_WARNINGS];
static size_t n_config_warnings;

static void
keep_warning(void *ctx, const char *msg)
{
	char *copy;

	(void)ctx;
	if (n_config_warnings < MAX_CONFIG_WARNINGS && (copy = strdup(msg)) != NULL)
		config_warnings[n_config_warnings++] = copy;
}

size_t
cli_config_warnings(const char *const **list)
{
	*list = (const char *const *)config_warnings;
	return n_config_warnings;
}

void
cli_load_config(struct ag_config *cfg, const char *path)
{
	const char *file = path != NULL ? path : ag_config_default_path();
	char err[AG_ERRBUF];
	int r;

	ag_config_defaults(cfg);
	if ((r = ag_config_load_file_warn(cfg, file, path == NULL, keep_warning, NULL, err)) != 0)
		cli_die(CLI_USAGE, "%s", err);
	if ((r = ag_config_validate(cfg, err)) != 0)
		cli_die(CLI_USAGE, "%s: %s", file, err);
	/* --daemon: as daemon = yes in the file. */
	if (cli_use_daemon)
		cfg->daemon = 1;
}

int cli_use_daemon;

int
cli_global_options(int argc, char **argv, const char **conf_path, void (*usage)(void))
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--conf") == 0 && i + 1 < argc) {
			*conf_path = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--conf=", 7) == 0) {
			*conf_path = argv[i] + 7;
			i++;
		} else if (strcmp(argv[i], "--daemon") == 0) {
			cli_use_daemon = 1;
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
		} else {
			cli_die(CLI_USAGE, "unknown option %s (see --help)", argv[i]);
		}
	}
	if (i >= argc)
		usage();
	return i;
}

void
cli_log_open(void)
{
	openlog(cli_progname, LOG_PID, LOG_AUTHPRIV);
}

/* stdout's buffer: ours rather than one stdio allocates, so that tokens,
 * session ids and TOTP secrets printed through it can be wiped. */
static char stdout_buf[16384];

static void
wipe_stdout(void)
{
	fflush(stdout);
	sodium_memzero(stdout_buf, sizeof(stdout_buf));
}

void
cli_json_wipe_memory(void)
{
	ag_json_wipe_on_free();
	if (setvbuf(stdout, stdout_buf, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF,
	            sizeof(stdout_buf)) == 0)
		atexit(wipe_stdout);
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
	sodium_memzero(stdout_buf, sizeof(stdout_buf));
}

int
cli_json_set_name(json_t *obj, const char *key, const char *name)
{
	return ag_json_set_name(obj, key, name);
}

json_t *
cli_json_time(int64_t t)
{
	return t == 0 ? json_null() : json_integer((json_int_t)t);
}

int
cli_read_line(char *buf, size_t max)
{
	size_t n = 0;
	ssize_t got;
	char c = 0;
	int ret = CLI_LINE_OK;

	if (max == 0)
		return CLI_LINE_BAD;
	for (;;) {
		got = read(STDIN_FILENO, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = CLI_LINE_ERROR;
			goto out;
		}
		if (got == 0 || c == '\n')
			break;
		if (c == '\0' || n + 1 >= max) {
			ret = CLI_LINE_BAD;
			goto out;
		}
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (n == 0)
		ret = got == 0 ? CLI_LINE_EOF : CLI_LINE_EMPTY;
out:
	sodium_memzero(&c, sizeof(c));
	if (ret != CLI_LINE_OK)
		sodium_memzero(buf, max);
	return ret;
}

void
cli_die_line(int result, const char *what)
{
	switch (result) {
	case CLI_LINE_BAD:
		cli_die(CLI_USAGE, "%s on stdin: too long or not text", what);
	case CLI_LINE_ERROR:
		cli_die(CLI_USAGE, "%s on stdin: cannot be read", what);
	default:
		cli_die(CLI_USAGE, "%s expected on stdin", what);
	}
}

void
cli_read_secret(char *buf, size_t max, const char *what)
{
	int r = cli_read_line(buf, max);

	if (r != CLI_LINE_OK)
		cli_die_line(r, what);
}
