#include "autoconf.h"

#include "policy.h"

int64_t
ag_policy_delay(const struct ag_limits *lim, int64_t n)
{
	int64_t d;

	if (n <= 0 || lim->delay_base <= 0)
		return 0;
	if (n - 1 >= 40 || lim->delay_base > (lim->delay_max >> (n - 1)))
		return lim->delay_max;
	d = lim->delay_base << (n - 1);
	return d > lim->delay_max ? lim->delay_max : d;
}

void
ag_policy_decide(const struct ag_limits *lim, const struct ag_subject_state *st,
                 int64_t now, struct ag_decision *out)
{
	int64_t n, last, nb;

	out->verdict = AG_ALLOW;
	out->lock_expired = 0;
	out->retry_after = 0;
	out->locked_until = st->locked_until > now ? st->locked_until : 0;
	out->failures = st->failures;
	if (!lim->enforce)
		return;
	if (st->locked_until > now) {
		out->verdict = AG_REFUSE_LOCKED;
		out->retry_after = st->locked_until == AG_FOREVER ? -1 : st->locked_until - now;
		return;
	}
	/* The window can be full without a recorded lock when attempts are
	 * still in flight (or their process died): refuse until the oldest
	 * leaves the window.  This is what keeps parallel attempts within
	 * deny. */
	if (lim->deny > 0 && st->failures >= lim->deny) {
		out->verdict = AG_REFUSE_LOCKED;
		out->locked_until = st->oldest + lim->window;
		out->retry_after = out->locked_until - now;
		if (out->retry_after < 1)
			out->retry_after = 1;
		return;
	}
	n = lim->delay_pending ? st->failures : st->failures - st->pending;
	last = lim->delay_pending ? st->last_any : st->last_settled;
	if (n > 0) {
		nb = last + ag_policy_delay(lim, n);
		if (now < nb) {
			out->verdict = AG_REFUSE_EARLY;
			out->retry_after = nb - now;
		}
	}
}

int64_t
ag_policy_lock_after_failure(const struct ag_limits *lim, int64_t failures_now,
                             int64_t now)
{
	if (!lim->enforce || lim->deny <= 0 || failures_now < lim->deny)
		return 0;
	if (lim->lock_time == 0)
		return AG_FOREVER;
	return now + lim->lock_time;
}

int64_t
ag_policy_expiry(const struct ag_limits *lim, int64_t newest_failure,
                 int64_t locked_until)
{
	int64_t e = newest_failure + lim->window;

	return locked_until > e ? locked_until : e;
}
