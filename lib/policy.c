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

/* Seconds until the progressive delay owed for the failures counted has
 * passed (0: none owed).  An account owes it for its attempts in flight
 * too; a host only for its settled failures (many people may share one
 * NAT address). */
static int64_t
delay_left(const struct ag_limits *lim, const struct ag_subject_state *st, int64_t now)
{
	int64_t n = lim->delay_pending ? st->failures : st->failures - st->pending;
	int64_t last = lim->delay_pending ? st->last_any : st->last_settled;
	int64_t nb;

	if (n <= 0)
		return 0;
	nb = last + ag_policy_delay(lim, n);
	return now < nb ? nb - now : 0;
}

void
ag_policy_decide(const struct ag_limits *lim, const struct ag_subject_state *st,
                 int64_t now, struct ag_decision *out)
{
	int64_t left;

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
	/* The window holds deny failures but no lock was recorded.  This is
	 * what keeps parallel attempts within deny, and the answer must be
	 * true whatever happens next:
	 *
	 * - Some are still in flight: nobody knows yet whether the account
	 *   will be locked.  If one of them fails, settling it locks for
	 *   lock_time from then; if one succeeds, the count is cleared at
	 *   once.  Claiming a lock, with the window's end as its expiry
	 *   ("try again in 15 minutes" when the lock set a moment later
	 *   lasts lock_time, 10), would be false either way.  The
	 *   answer is "busy", with no lock, and a retry after the delay the
	 *   counted attempts owe (at least 1 s): by then they have usually
	 *   settled, and the next answer is the lock's true time or an
	 *   allowed attempt.  An attempt whose process died stays in flight
	 *   until it leaves the window; the retry is capped there.
	 * - All are settled (the limits changed since they were counted, or
	 *   the subject was exempt then): the window is full for real and
	 *   refuses like a lock until the oldest failure leaves it -- the
	 *   earliest moment the count can drop. */
	if (lim->deny > 0 && st->failures >= lim->deny) {
		int64_t window_end = st->oldest + lim->window - now;

		if (window_end < 1)
			window_end = 1;
		if (st->pending > 0) {
			out->verdict = AG_REFUSE_BUSY;
			out->locked_until = 0;
			left = delay_left(lim, st, now);
			out->retry_after = left < 1 ? 1 : left > window_end ? window_end : left;
			return;
		}
		out->verdict = AG_REFUSE_LOCKED;
		out->locked_until = st->oldest + lim->window;
		out->retry_after = window_end;
		return;
	}
	if ((left = delay_left(lim, st, now)) > 0) {
		out->verdict = AG_REFUSE_EARLY;
		out->retry_after = left;
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
