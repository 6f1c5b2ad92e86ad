/* Refresh-token rules: pure functions over a plain struct, like policy.h.
 * The store loads the presented token with its family inside the
 * redeeming transaction, asks ag_refresh_judge(), and writes what the
 * outcome implies. */
#ifndef AG_REFRESH_POLICY_H
#define AG_REFRESH_POLICY_H

#include <stdint.h>

enum ag_refresh_outcome {
	AG_REFRESH_OK = 0,    /* redeemed; new_hash is the family's newest token */
	AG_REFRESH_RETRIED,   /* the previous token again within the grace period:
	                         its lost successor is replaced by new_hash */
	AG_REFRESH_UNKNOWN,   /* no such token */
	AG_REFRESH_EXPIRED,   /* the family's absolute lifetime is over */
	AG_REFRESH_REVOKED,   /* the family was revoked (logout, reuse) */
	AG_REFRESH_REUSED,    /* an already used token: theft; the family is now
	                         revoked, and its session ended */
	AG_REFRESH_NOT_YET_VALID /* the family was created more than
	                            AG_REFRESH_MAX_SKEW seconds after now (issued
	                            while the clock was ahead): not redeemed */
};

/* Seconds a family's creation may lie after "now" (the largest
 * token_leeway): a token issued while the clock was far ahead would
 * otherwise outlive refresh_ttl once the clock is set right. */
#define AG_REFRESH_MAX_SKEW 300

/* What the store knows about a presented refresh token. */
struct ag_refresh_row {
	int found;            /* the token exists */
	int64_t used_at;      /* -1: never redeemed */
	int revoked;          /* its family was revoked */
	int64_t created, expires; /* its family's creation and absolute expiry */
	int is_current;       /* it is the family's newest token */
	int current_is_child; /* the newest token is its successor */
	int current_unused;   /* the newest token was never redeemed */
};

/* The outcome of presenting the token at now.  A used token is theft
 * (REUSED: the family and its session must end), unless it is the
 * immediate predecessor of the newest token, that successor was never
 * used, and it was redeemed at most grace seconds ago (and at most
 * AG_REFRESH_MAX_SKEW seconds in the future: clocks that disagree): then
 * the client lost the answer and may retry (RETRIED). */
enum ag_refresh_outcome ag_refresh_judge(const struct ag_refresh_row *row, int64_t now,
                                         int64_t grace);

#endif
