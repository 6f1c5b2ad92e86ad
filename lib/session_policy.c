#include "autoconf.h"

#include <stdlib.h>

#include <sodium.h>

#include "session_policy.h"

enum ag_session_verdict
ag_session_judge(const struct ag_web_session *s, int found, const uint8_t *fp, int64_t now)
{
	if (!found)
		return AG_SESSION_UNKNOWN;
	if (s->idle_expires <= now || s->abs_expires <= now)
		return AG_SESSION_EXPIRED;
	if (fp != NULL && sodium_memcmp(s->fingerprint, fp, 32) != 0)
		return AG_SESSION_MISMATCH;
	return AG_SESSION_OK;
}

int
ag_session_needs_touch(const struct ag_web_session *s, int64_t now, int64_t touch_interval)
{
	return now - s->last_seen >= touch_interval;
}

void
ag_session_slide(struct ag_web_session *s, int64_t now, int64_t idle)
{
	s->last_seen = now;
	s->idle_expires = now + idle < s->abs_expires ? now + idle : s->abs_expires;
}

static int
least_recent_first(const void *a, const void *b)
{
	const struct ag_web_session *x = a, *y = b;

	if (x->last_seen != y->last_seen)
		return x->last_seen < y->last_seen ? -1 : 1;
	if (x->used_seq != y->used_seq)
		return x->used_seq < y->used_seq ? -1 : 1;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return 0;
}

long
ag_session_evictions(struct ag_web_session *s, size_t n, int64_t max, int evict)
{
	if (max <= 0 || (int64_t)n < max)
		return 0;
	if (!evict)
		return -1;
	qsort(s, n, sizeof(*s), least_recent_first);
	/* Room for one more: n - max + 1 go. */
	return (long)((int64_t)n - max + 1);
}

int
ag_session_drop_after(enum ag_session_verdict v, int revoke_on_mismatch)
{
	return v == AG_SESSION_EXPIRED || (v == AG_SESSION_MISMATCH && revoke_on_mismatch);
}
