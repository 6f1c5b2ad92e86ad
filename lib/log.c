#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define VALUE_MAX 128

static void
append(struct ag_logline *l, const char *s)
{
	size_t n = strlen(s);

	if (l->len + n >= sizeof(l->buf))
		n = sizeof(l->buf) - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

void
ag_logline_init(struct ag_logline *l, const char *event)
{
	l->len = 0;
	l->buf[0] = '\0';
	append(l, "event=");
	append(l, event);
}

void
ag_logline_str(struct ag_logline *l, const char *key, const char *value)
{
	char esc[4 * VALUE_MAX + 8];

	if (value == NULL)
		return;
	ag_log_escape(esc, sizeof(esc), value, strlen(value), VALUE_MAX);
	append(l, " ");
	append(l, key);
	append(l, "=");
	append(l, esc);
}

void
ag_logline_int(struct ag_logline *l, const char *key, int64_t value)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", (long long)value);
	append(l, " ");
	append(l, key);
	append(l, "=");
	append(l, num);
}

void
ag_log_emit(const struct ag_log *log, int priority, const struct ag_logline *l)
{
	if (log == NULL || log->sink == NULL)
		return;
	if (priority == LOG_DEBUG && !log->debug)
		return;
	log->sink(log->ctx, priority, l->buf);
}

void
ag_log_sink_syslog(void *ctx, int priority, const char *line)
{
	(void)ctx;
	syslog(LOG_AUTHPRIV | priority, "%s", line);
}
