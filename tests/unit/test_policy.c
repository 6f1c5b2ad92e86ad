/* Unit tests for lib/policy: progressive delay, decisions and locks, as
 * pure arithmetic over plain structs. */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#include "tap.h"

#define NOW INT64_C(1700000000)

/* The product defaults for an account subject. */
static struct ag_limits
account_limits(void)
{
	struct ag_limits lim;

	memset(&lim, 0, sizeof(lim));
	lim.deny = 10;
	lim.window = 900;
	lim.lock_time = 3600;
	lim.delay_base = 1;
	lim.delay_max = 16;
	lim.enforce = 1;
	lim.delay_pending = 1;
	return lim;
}

static struct ag_limits
host_limits(void)
{
	struct ag_limits lim = account_limits();

	lim.deny = 50;
	lim.delay_pending = 0;
	return lim;
}

/* State with n settled failures, the newest at last, the oldest at oldest. */
static struct ag_subject_state
settled(int64_t n, int64_t oldest, int64_t last)
{
	struct ag_subject_state st;

	memset(&st, 0, sizeof(st));
	st.failures = n;
	st.last_any = n > 0 ? last : 0;
	st.last_settled = n > 0 ? last : 0;
	st.oldest = n > 0 ? oldest : 0;
	return st;
}

static void
decide(const struct ag_limits *lim, const struct ag_subject_state *st, int64_t now,
       struct ag_decision *d)
{
	memset(d, 0x5a, sizeof(*d)); /* every field must be written */
	ag_policy_decide(lim, st, now, d);
}

static void
test_delay(void)
{
	static const int64_t want[] = {0, 1, 2, 4, 8, 16, 16, 16, 16};
	struct ag_limits lim = account_limits();
	int64_t n;

	for (n = 0; n < (int64_t)AG_ARRAY_SIZE(want); n++)
		is_int(ag_policy_delay(&lim, n), want[n],
		       "delay after failure %lld (base 1, max 16)", (long long)n);
	is_int(ag_policy_delay(&lim, -1), 0, "delay for n = -1 is 0");
	is_int(ag_policy_delay(&lim, INT64_MIN), 0, "delay for n = INT64_MIN is 0");
	for (n = 30; n <= 70; n++)
		if (ag_policy_delay(&lim, n) != 16)
			break;
	is_int(n, 71, "delay for n = 30..70 is the cap (no shift overflow)");
	is_int(ag_policy_delay(&lim, 1000000), 16, "delay for n = 1000000 is the cap");
	is_int(ag_policy_delay(&lim, INT64_MAX), 16, "delay for n = INT64_MAX is the cap");

	lim.delay_base = 0;
	is_int(ag_policy_delay(&lim, 1), 0, "base 0 disables the delay (n = 1)");
	is_int(ag_policy_delay(&lim, 9), 0, "base 0 disables the delay (n = 9)");
	is_int(ag_policy_delay(&lim, INT64_MAX), 0, "base 0 disables the delay (n = INT64_MAX)");

	lim.delay_base = 3;
	lim.delay_max = 100;
	is_int(ag_policy_delay(&lim, 1), 3, "base 3: first delay 3");
	is_int(ag_policy_delay(&lim, 3), 12, "base 3: third delay 12");
	is_int(ag_policy_delay(&lim, 6), 96, "base 3: sixth delay 96");
	is_int(ag_policy_delay(&lim, 7), 100, "base 3: seventh delay capped at 100");

	lim.delay_base = 60; /* the largest configurable base */
	lim.delay_max = 3600;
	is_int(ag_policy_delay(&lim, 40), 3600, "base 60, n = 40: cap");
	is_int(ag_policy_delay(&lim, 41), 3600, "base 60, n = 41: cap");

	lim.delay_base = 16;
	lim.delay_max = 1;
	is_int(ag_policy_delay(&lim, 1), 1, "delay_max below base still caps");

	/* the doubling must saturate, not wrap, whatever the base */
	lim.delay_base = INT64_C(1) << 40;
	lim.delay_max = INT64_C(1) << 50;
	is_int(ag_policy_delay(&lim, 11), INT64_C(1) << 50, "base 2^40, n = 11: cap");
	is_int(ag_policy_delay(&lim, 40), INT64_C(1) << 50,
	       "base 2^40, n = 40: cap (no wrap to 0)");
}

static void
test_decide(void)
{
	struct ag_limits acc = account_limits(), host = host_limits(), lim;
	struct ag_subject_state st;
	struct ag_decision d;

	/* clean subject */
	memset(&st, 0, sizeof(st));
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "clean: allowed");
	is_int(d.retry_after, 0, "clean: retry_after 0");
	is_int(d.locked_until, 0, "clean: not locked");
	is_int(d.failures, 0, "clean: no failures");

	/* progressive delay after n settled failures */
	st = settled(1, NOW, NOW);
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_EARLY, "1 failure, same second: early");
	is_int(d.retry_after, 1, "1 failure, same second: retry after 1");
	is_int(d.failures, 1, "1 failure: failures reported");
	decide(&acc, &st, NOW + 1, &d);
	is_int(d.verdict, AG_ALLOW, "1 failure, 1 s later: allowed");

	st = settled(3, NOW - 10, NOW - 1);
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_EARLY, "3 failures, 1 s ago: early");
	is_int(d.retry_after, 3, "3 failures, 1 s ago: retry after 4 - 1 = 3");
	is_int(d.locked_until, 0, "early is not a lock");
	decide(&acc, &st, NOW + 2, &d);
	is_int(d.verdict, AG_REFUSE_EARLY, "3 failures, 3 s after the newest: still early");
	is_int(d.retry_after, 1, "3 failures, 3 s after the newest: 1 s left");
	decide(&acc, &st, NOW + 3, &d);
	is_int(d.verdict, AG_ALLOW, "3 failures, 4 s after the newest: allowed");
	is_int(d.retry_after, 0, "allowed: retry_after 0");

	st = settled(9, NOW - 100, NOW - 5);
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_EARLY, "9 failures, 5 s ago: early");
	is_int(d.retry_after, 11, "9 failures: delay capped at 16, 11 left");

	/* delay_pending: accounts count attempts in flight, hosts only settled ones */
	memset(&st, 0, sizeof(st));
	st.failures = 3;
	st.pending = 1;
	st.last_any = NOW - 1;
	st.last_settled = NOW - 10;
	st.oldest = NOW - 20;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_EARLY, "account: in-flight attempt owes a delay");
	is_int(d.retry_after, 3, "account: 3 failures incl. pending, newest 1 s ago: 3 s");
	decide(&host, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "host: 2 settled, newest settled 10 s ago: allowed");
	st.last_settled = NOW - 1;
	decide(&host, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_EARLY, "host: 2 settled, newest 1 s ago: early");
	is_int(d.retry_after, 1, "host: delay for 2 settled failures is 2 s, 1 left");
	is_int(d.failures, 3, "host: failures still include the pending one");

	memset(&st, 0, sizeof(st));
	st.failures = 5;
	st.pending = 5;
	st.last_any = NOW;
	st.oldest = NOW;
	decide(&host, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "host: only in-flight attempts: no delay (shared NAT)");
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_EARLY, "account: only in-flight attempts: delay");
	is_int(d.retry_after, 16, "account: 5 in flight: 16 s");

	/* recorded lock */
	st = settled(10, NOW - 100, NOW - 50);
	st.locked_until = NOW + 1234;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_LOCKED, "locked_until > now: locked");
	is_int(d.retry_after, 1234, "locked: retry after the lock");
	is_int(d.locked_until, NOW + 1234, "locked: locked_until reported");
	is_int(d.failures, 10, "locked: failures reported");

	st = settled(0, 0, 0);
	st.locked_until = NOW + 1;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_LOCKED, "lock 1 s ahead: locked");
	is_int(d.retry_after, 1, "lock 1 s ahead: retry after 1");
	st.locked_until = NOW;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "lock ending now: allowed");
	is_int(d.locked_until, 0, "lock ending now: not reported as locked");
	st.locked_until = NOW - 100;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "expired lock: allowed");

	/* lock until an admin unlocks */
	st = settled(10, NOW - 100, NOW - 50);
	st.locked_until = AG_FOREVER;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_LOCKED, "forever: locked");
	is_int(d.retry_after, -1, "forever: retry_after -1");
	is_int(d.locked_until, AG_FOREVER, "forever: locked_until AG_FOREVER");
	decide(&acc, &st, INT64_MAX - 1, &d);
	is_int(d.retry_after, -1, "forever: still -1 at the end of time");

	/* window full without a recorded lock, attempts in flight: busy, no
	 * lock claimed; retry after the delay the counted attempts owe */
	st = settled(10, NOW - 100, NOW - 1);
	st.pending = 4;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_BUSY, "deny failures in window, 4 in flight: busy");
	is_int(d.locked_until, 0, "busy: no lock claimed");
	is_int(d.retry_after, 15, "busy: retry when the delay of 10 attempts (16 s) has passed");
	is_int(d.failures, 10, "busy: failures reported");
	st.last_any = NOW - 40;
	decide(&acc, &st, NOW, &d);
	is_int(d.retry_after, 1, "busy, delay passed: retry after 1 s");
	lim = acc;
	lim.delay_base = 0;
	st.last_any = NOW;
	decide(&lim, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_BUSY, "busy with delays off");
	is_int(d.retry_after, 1, "busy with delays off: retry after 1 s");
	/* the scenario of parallel logins with lock_time 10 min, window 15 min:
	 * the answer must not be the window's end (899) */
	lim = acc;
	lim.lock_time = 600;
	st = settled(10, NOW, NOW);
	st.pending = 10;
	decide(&lim, &st, NOW + 1, &d);
	is_int(d.verdict, AG_REFUSE_BUSY, "10 attempts in flight: busy, not locked");
	is_int(d.retry_after, 15, "10 attempts in flight: retry after their delay, not 899");
	is_int(d.locked_until, 0, "10 attempts in flight: no lock claimed");
	/* stale in-flight attempts (their process died) near the window's end */
	st = settled(10, NOW - 895, NOW - 1);
	st.pending = 1;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_BUSY, "stale attempt in flight: busy");
	is_int(d.retry_after, 5, "busy: retry capped at the oldest failure leaving the window");
	/* hosts owe delays only for settled failures */
	st = settled(50, NOW - 100, NOW - 1);
	st.pending = 50;
	st.last_settled = 0;
	decide(&host, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_BUSY, "host: host_deny attempts in flight: busy");
	is_int(d.retry_after, 1, "host: nothing settled, retry after 1 s");

	/* window full of settled failures without a lock (limits changed):
	 * refused like a lock until the oldest leaves the window */
	st = settled(10, NOW - 100, NOW - 1);
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_LOCKED, "deny settled failures in window, no lock: locked");
	is_int(d.locked_until, NOW - 100 + 900, "window full: until the oldest leaves the window");
	is_int(d.retry_after, 800, "window full: retry from oldest + window");
	st.failures = 11;
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_LOCKED, "more than deny: locked");
	st = settled(10, NOW - 900, NOW - 1);
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_LOCKED, "stale window data: still refused");
	is_int(d.retry_after, 1, "stale window data: retry after at least 1 s");
	st = settled(9, NOW - 100, NOW - 20);
	decide(&acc, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "deny - 1 failures, delay passed: allowed");

	/* deny 0: never locks by count, delays still apply */
	lim = acc;
	lim.deny = 0;
	st = settled(1000, NOW - 100, NOW - 100);
	decide(&lim, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "deny 0: 1000 failures, delay passed: allowed");
	st.last_any = st.last_settled = NOW - 1;
	decide(&lim, &st, NOW, &d);
	is_int(d.verdict, AG_REFUSE_EARLY, "deny 0: delay still applies");

	/* delay_base 0: no early refusals */
	lim = acc;
	lim.delay_base = 0;
	st = settled(5, NOW, NOW);
	decide(&lim, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "delay_base 0: never early");

	/* enforce 0 (root): counted, never refused */
	lim = acc;
	lim.enforce = 0;
	st = settled(3, NOW, NOW);
	decide(&lim, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "enforce 0: delay not enforced");
	is_int(d.retry_after, 0, "enforce 0: retry_after 0");
	is_int(d.failures, 3, "enforce 0: failures still reported");
	st = settled(50, NOW - 10, NOW);
	decide(&lim, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "enforce 0: full window not enforced");
	st.locked_until = AG_FOREVER;
	decide(&lim, &st, NOW, &d);
	is_int(d.verdict, AG_ALLOW, "enforce 0: lock not enforced");
	is_int(d.retry_after, 0, "enforce 0, locked: retry_after 0");
}

static void
test_lock_after_failure(void)
{
	struct ag_limits lim = account_limits();

	is_int(ag_policy_lock_after_failure(&lim, 0, NOW), 0, "0 failures: no lock");
	is_int(ag_policy_lock_after_failure(&lim, 9, NOW), 0, "deny - 1 failures: no lock");
	is_int(ag_policy_lock_after_failure(&lim, 10, NOW), NOW + 3600, "deny failures: lock_time");
	is_int(ag_policy_lock_after_failure(&lim, 11, NOW), NOW + 3600, "deny + 1 failures: lock");
	is_int(ag_policy_lock_after_failure(&lim, INT64_MAX, NOW), NOW + 3600, "huge count: lock");

	lim.lock_time = 0;
	is_int(ag_policy_lock_after_failure(&lim, 10, NOW), AG_FOREVER, "lock_time 0: forever");
	is_int(ag_policy_lock_after_failure(&lim, 9, NOW), 0, "lock_time 0, below deny: no lock");

	lim = account_limits();
	lim.deny = 1;
	is_int(ag_policy_lock_after_failure(&lim, 1, NOW), NOW + 3600,
	       "deny 1: first failure locks");
	lim.deny = 0;
	is_int(ag_policy_lock_after_failure(&lim, 1000, NOW), 0, "deny 0: never locks");
	lim = account_limits();
	lim.enforce = 0;
	is_int(ag_policy_lock_after_failure(&lim, 1000, NOW), 0, "enforce 0: never locks");
}

static void
test_expiry(void)
{
	struct ag_limits lim = account_limits();

	is_int(ag_policy_expiry(&lim, NOW, 0), NOW + 900, "expiry: newest failure + window");
	is_int(ag_policy_expiry(&lim, NOW, NOW + 3600), NOW + 3600, "expiry: a longer lock wins");
	is_int(ag_policy_expiry(&lim, NOW, NOW + 10), NOW + 900, "expiry: a shorter lock does not");
	is_int(ag_policy_expiry(&lim, NOW, AG_FOREVER), AG_FOREVER, "expiry: forever lock");
}

int
main(void)
{
	test_delay();
	test_decide();
	test_lock_after_failure();
	test_expiry();
	return done_testing();
}
