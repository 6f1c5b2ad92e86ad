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

/* 1 when s is made only of bytes ag_log_escape() keeps and of its \xHH
 * sequences: then it cannot forge a field or a line as it is. */
static int
already_escaped(const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0'; s++) {
		if (ag_log_safe_byte((unsigned char)*s))
			continue;
		if (s[0] != '\\' || s[1] != 'x' || s[2] == '\0' || strchr(hex, s[2]) == NULL ||
		    s[3] == '\0' || strchr(hex, s[3]) == NULL)
			return 0;
		s += 3;
	}
	return 1;
}

void
ag_logline_escaped(struct ag_logline *l, const char *key, const char *value)
{
	char cut[4 * VALUE_MAX + 8];
	size_t len;

	if (value == NULL)
		return;
	if (value[0] == '\0' || !already_escaped(value)) {
		ag_logline_str(l, key, value);
		return;
	}
	len = strlen(value);
	if (len > 4 * VALUE_MAX) {
		memcpy(cut, value, 4 * VALUE_MAX - 3);
		memcpy(cut + 4 * VALUE_MAX - 3, "...", 4);
		value = cut;
	}
	append(l, " ");
	append(l, key);
	append(l, "=");
	append(l, value);
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
