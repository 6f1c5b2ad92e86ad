#include "autoconf.h"

#include "refresh_policy.h"

enum ag_refresh_outcome
ag_refresh_judge(const struct ag_refresh_row *t, int64_t now, int64_t grace)
{
	if (!t->found)
		return AG_REFRESH_UNKNOWN;
	if (t->revoked)
		return AG_REFRESH_REVOKED;
	if (t->expires <= now)
		return AG_REFRESH_EXPIRED;
	if (t->created > now + AG_REFRESH_MAX_SKEW)
		return AG_REFRESH_NOT_YET_VALID;
	if (t->used_at < 0)
		return AG_REFRESH_OK;
	/* A use recorded ahead of now (a clock stepped back, or the host
	 * that recorded it runs ahead) is "just now" within the skew a
	 * family's creation may have; further ahead it is no retry: the
	 * window would otherwise last as long as the clocks disagree. */
	if (!t->is_current && t->current_is_child && t->current_unused && grace > 0 &&
	    now - t->used_at <= grace && t->used_at - now <= AG_REFRESH_MAX_SKEW)
		return AG_REFRESH_RETRIED;
	return AG_REFRESH_REUSED;
}
