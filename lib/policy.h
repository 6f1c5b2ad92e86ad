/* Brute-force policy: pure arithmetic over plain structs.  No I/O, no SQL,
 * no clock reads: the store loads a subject's state inside its transaction,
 * asks ag_policy_decide(), and writes what the answer implies. */
#ifndef AG_POLICY_H
#define AG_POLICY_H

#include <stdint.h>

#define AG_FOREVER INT64_MAX /* locked_until of a lock only an admin lifts */

/* The limits that apply to one subject. */
struct ag_limits {
	int64_t deny;        /* failures within window that lock; 0 = never */
	int64_t window;      /* seconds a failure counts */
	int64_t lock_time;   /* seconds; 0 = until an admin unlocks */
	int64_t delay_base;  /* first delay; 0 disables delays */
	int64_t delay_max;   /* cap of the doubling delay */
	int enforce;         /* 0: count but never refuse (root by default) */
	int delay_pending;   /* 1: attempts in flight owe a delay too (accounts);
	                        0: only settled failures do (hosts, where many
	                        people may share one NAT address) */
};

/* What the store knows about one subject, restricted to the window. */
struct ag_subject_state {
	int64_t failures;     /* failures in the window, in-flight ones included */
	int64_t pending;      /* of which still in flight */
	int64_t last_any;     /* time of the newest one (0: none) */
	int64_t last_settled; /* time of the newest settled one (0: none) */
	int64_t oldest;       /* time of the oldest one in the window */
	int64_t locked_until; /* 0: not locked; AG_FOREVER: until unlocked */
};

enum ag_verdict {
	AG_ALLOW = 0,
	AG_REFUSE_LOCKED = 1, /* locked: even the right password is refused */
	AG_REFUSE_EARLY = 2,  /* the progressive delay has not passed yet */
	AG_REFUSE_BUSY = 3    /* deny attempts counted, some still in flight and
	                         no lock yet: their outcome decides (a failure
	                         locks, a success clears), so no lock is claimed */
};

struct ag_decision {
	enum ag_verdict verdict;
	int64_t retry_after;  /* seconds until an attempt may succeed; -1: never by itself */
	int64_t locked_until; /* as in the state, or derived from a window full of
	                         settled failures; 0 with AG_REFUSE_BUSY */
	int64_t failures;     /* failures counted in the window */
	int lock_expired;     /* set by the store: a lock ran out just now */
};

/* Seconds a subject must wait after its n-th consecutive failure:
 * delay_base * 2^(n-1), capped at delay_max; 0 for n <= 0. */
int64_t ag_policy_delay(const struct ag_limits *lim, int64_t n);

/* Decides whether a new attempt of this subject may proceed at now. */
void ag_policy_decide(const struct ag_limits *lim, const struct ag_subject_state *st,
                      int64_t now, struct ag_decision *out);

/* After a failure is settled and the window holds failures_now failures:
 * returns the new locked_until, or 0 when this failure does not lock. */
int64_t ag_policy_lock_after_failure(const struct ag_limits *lim,
                                     int64_t failures_now, int64_t now);

/* Time after which a subject's row holds nothing worth keeping. */
int64_t ag_policy_expiry(const struct ag_limits *lim, int64_t newest_failure,
                         int64_t locked_until);

#endif
