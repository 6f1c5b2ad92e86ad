/* Unit tests for lib/refresh_policy: what presenting a refresh token
 * means, every outcome and its edges -- a pure function over a plain
 * struct, no store. */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "refresh_policy.h"

#include "tap.h"

#define NOW INT64_C(1700000000)
#define SKEW AG_REFRESH_MAX_SKEW

/* A token of a live family created an hour ago, expiring in a day, never
 * used, the family's newest. */
static struct ag_refresh_row
fresh(void)
{
	struct ag_refresh_row r;

	memset(&r, 0, sizeof(r));
	r.found = 1;
	r.used_at = -1;
	r.created = NOW - 3600;
	r.expires = NOW + 86400;
	r.is_current = 1;
	r.current_unused = 1;
	return r;
}

/* The newest token's parent, redeemed at used_at; the successor unused. */
static struct ag_refresh_row
parent(int64_t used_at)
{
	struct ag_refresh_row r = fresh();

	r.used_at = used_at;
	r.is_current = 0;
	r.current_is_child = 1;
	r.current_unused = 1;
	return r;
}

static void
test_outcomes(void)
{
	struct ag_refresh_row r;

	r = fresh();
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_OK, "a fresh token: ok");
	is_int(ag_refresh_judge(&r, NOW, 60), AG_REFRESH_OK, "a fresh token, grace on: ok");

	memset(&r, 0x5a, sizeof(r));
	r.found = 0;
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_UNKNOWN,
	       "not found: unknown, whatever else the row says");

	r = fresh();
	r.revoked = 1;
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_REVOKED, "revoked family");
	r.expires = NOW - 1;
	r.used_at = NOW - 5;
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_REVOKED,
	       "revoked beats expired and used (the family is over either way)");

	r = fresh();
	r.expires = NOW + 1;
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_OK, "a second before the family expires");
	r.expires = NOW;
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_EXPIRED, "at the family's expiry");
	r.used_at = NOW - 1;
	r.is_current = 0;
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_EXPIRED,
	       "expired beats reused (nothing left to revoke)");

	/* issued while the clock was ahead */
	r = fresh();
	r.created = NOW + SKEW;
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_OK, "created %d s ahead (the skew): ok",
	       SKEW);
	r.created = NOW + SKEW + 1;
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_NOT_YET_VALID,
	       "created a second more ahead: not yet valid");
	r.expires = NOW;
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_EXPIRED, "expired beats not yet valid");

	/* used before */
	r = fresh();
	r.used_at = NOW - 100;
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_REUSED,
	       "the newest token, used: reused (theft)");
	is_int(ag_refresh_judge(&r, NOW, 60), AG_REFRESH_REUSED,
	       "the newest token, used, grace on: still theft (it has no successor to replace)");
	r.used_at = NOW;
	is_int(ag_refresh_judge(&r, NOW, 60), AG_REFRESH_REUSED, "used this very second: theft");
	r = fresh();
	r.used_at = 0;
	is_int(ag_refresh_judge(&r, NOW, 60), AG_REFRESH_REUSED,
	       "used at time 0 is a use (only -1 means never)");
}

static void
test_grace(void)
{
	struct ag_refresh_row r;

	r = parent(NOW - 10);
	is_int(ag_refresh_judge(&r, NOW, 0), AG_REFRESH_REUSED, "grace 0: any second use is theft");
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_RETRIED,
	       "grace 10, redeemed 10 s ago: a retry");
	is_int(ag_refresh_judge(&r, NOW, 9), AG_REFRESH_REUSED, "grace 9, 10 s ago: theft");
	is_int(ag_refresh_judge(&r, NOW + 1, 10), AG_REFRESH_REUSED, "grace 10, 11 s ago: theft");
	is_int(ag_refresh_judge(&r, NOW - 10, 10), AG_REFRESH_RETRIED,
	       "grace 10, the same second: a retry");
	is_int(ag_refresh_judge(&r, NOW, -5), AG_REFRESH_REUSED, "a negative grace is none");

	r = parent(NOW - 1);
	r.current_unused = 0;
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_REUSED,
	       "within grace, but the successor was used: theft");
	r = parent(NOW - 1);
	r.current_is_child = 0;
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_REUSED,
	       "within grace, but the newest token is not its successor (an older token): theft");
	r = parent(NOW - 1);
	r.is_current = 1;
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_REUSED,
	       "within grace, but it is the newest token itself: theft");
	r = parent(NOW - 1);
	r.revoked = 1;
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_REVOKED,
	       "within grace, family revoked: revoked");

	/* a use recorded ahead of now: a clock stepped back, or the host
	 * that recorded it runs ahead */
	r = parent(NOW + 3);
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_RETRIED,
	       "recorded 3 s ahead (a clock stepped back): still a retry");
	r = parent(NOW + SKEW);
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_RETRIED,
	       "recorded %d s ahead (the skew tolerated): a retry", SKEW);
	r = parent(NOW + SKEW + 1);
	is_int(ag_refresh_judge(&r, NOW, 10), AG_REFRESH_REUSED,
	       "recorded more than the skew ahead: not within grace, theft");
	r = parent(NOW + 86400);
	is_int(ag_refresh_judge(&r, NOW, 60), AG_REFRESH_REUSED,
	       "recorded a day ahead: theft, not a day-long grace");
}

int
main(void)
{
	test_outcomes();
	test_grace();
	return done_testing();
}
