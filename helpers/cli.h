/* What every helper shares: exit codes of the web-backend contract,
 * configuration loading, logging set-up, JSON output and reading secrets
 * from stdin. */
#ifndef AG_CLI_H
#define AG_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"

/* Exit codes (DESIGN.md): every non-zero means "deny" to the caller. */
enum {
	CLI_OK = 0,       /* ok / valid / allowed */
	CLI_REJECT = 1,   /* rejected: invalid, locked, wrong code */
	CLI_USAGE = 2,    /* usage or configuration error */
	CLI_INTERNAL = 3  /* internal or store error */
};

/* Name used in messages ("authguard-ctl"). */
extern const char *cli_progname;

/* Prints "PROG: MESSAGE" to stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "PROG: MESSAGE" and exits with code. */
void cli_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Exit code for an AG_ERR_* returned while loading config or opening the
 * store: configuration, permission and missing-file problems are 2,
 * everything else 3. */
int cli_exit_for(int err);

/* Loads the configuration: the built-in path (absent is fine) or path
 * (must exist).  Exits 2 with the reason on error.  Warnings about a file
 * that loaded (duplicate keys) are kept for cli_config_warnings(). */
void cli_load_config(struct ag_config *cfg, const char *path);

/* The warnings of cli_load_config(): sets *list and returns how many. */
size_t cli_config_warnings(const char *const **list);

/* Set by --daemon (cli_global_options): cli_load_config() then sets
 * daemon = yes, whatever the file says (the web helpers ask authguardd). */
extern int cli_use_daemon;

/* Parses the options before a helper's command (--conf FILE, --daemon,
 * --help) and
 * returns the index of the command; calls usage() when there is none. */
int cli_global_options(int argc, char **argv, const char **conf_path, void (*usage)(void));

/* Opens syslog (LOG_AUTHPRIV) under the program name. */
void cli_log_open(void);

/* Makes jansson wipe every block it frees, and stdout use a buffer that is
 * wiped after each JSON line and at exit: tokens, session ids and codes
 * pass through both.  Call once, before any output. */
void cli_json_wipe_memory(void);

/* Writes obj as one compact JSON line on stdout and releases it. */
void cli_print_json(json_t *obj);

/* ag_json_set_name() (lib/json_out.h). */
int cli_json_set_name(json_t *obj, const char *key, const char *name);

/* JSON number for a time or a count; null for 0 when zero_is_null. */
json_t *cli_json_time(int64_t t);

/* Results of cli_read_line(). */
enum {
	CLI_LINE_OK = 0,
	CLI_LINE_EOF = 1,   /* input ended before any byte */
	CLI_LINE_EMPTY = 2, /* an empty line */
	CLI_LINE_BAD = 3,   /* longer than max - 1 bytes, or a NUL byte */
	CLI_LINE_ERROR = 4  /* read error */
};

/* Reads one line of secret input (a code, a token) from stdin into buf of
 * max bytes, dropping the newline and a CR before it.  Reads with read(2),
 * byte by byte: nothing is left in a stdio buffer and nothing past the
 * newline is consumed, so a second line stays for a second call.  Returns
 * CLI_LINE_OK, or another CLI_LINE_* with buf wiped. */
int cli_read_line(char *buf, size_t max);

/* cli_read_line() for a secret that must be there: on anything but a
 * non-empty line, wipes buf and exits 2 with "WHAT expected on stdin" or
 * "WHAT on stdin: too long or not text". */
void cli_read_secret(char *buf, size_t max, const char *what);

/* Exits 2 with cli_read_secret()'s message for a cli_read_line() result
 * other than CLI_LINE_OK. */
void cli_die_line(int result, const char *what) __attribute__((noreturn));

#endif
