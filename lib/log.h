/* Event logging: one line per event, "event=NAME key=value ...".
 *
 * Values are escaped with ag_log_escape(), so user names and hosts cannot
 * inject fields or lines.  Never pass a password, code, token, session id
 * or key to these functions.  Where the line goes is the caller's choice
 * (pam_syslog in the module, syslog + stderr in helpers). */
#ifndef AG_LOG_H
#define AG_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

typedef void (*ag_log_sink)(void *ctx, int priority, const char *line);

struct ag_log {
	ag_log_sink sink; /* NULL: events are dropped */
	void *ctx;
	int debug;        /* also emit LOG_DEBUG events */
};

#define AG_LOGLINE_MAX 1024

struct ag_logline {
	char buf[AG_LOGLINE_MAX];
	size_t len;
};

/* Starts a line with "event=NAME". */
void ag_logline_init(struct ag_logline *l, const char *event);

/* Appends " key=VALUE" with VALUE escaped and cut at 128 bytes.  A NULL
 * value is skipped. */
void ag_logline_str(struct ag_logline *l, const char *key, const char *value);

/* Appends " key=VALUE" for a value that is already in ag_log_escape()'s
 * form (a raw host subject, "raw:a\x0ab"), so its backslashes are not
 * escaped a second time.  A value with any byte outside that form is
 * escaped as ag_logline_str() does; either way cut at 512 bytes. */
void ag_logline_escaped(struct ag_logline *l, const char *key, const char *value);

/* Appends " key=N". */
void ag_logline_int(struct ag_logline *l, const char *key, int64_t value);

/* Hands the line to the sink. */
void ag_log_emit(const struct ag_log *log, int priority, const struct ag_logline *l);

/* A sink for helpers: syslog(LOG_AUTHPRIV) via openlog() done by the
 * caller. */
void ag_log_sink_syslog(void *ctx, int priority, const char *line);

#endif
