/* The one source of "now" for every policy decision.
 *
 * Release builds read the real clock.  Builds configured with
 * --enable-test-clock also honour AUTHGUARD_TEST_TIME (seconds since the
 * epoch) so tests can move time; release builds contain no such code. */
#ifndef AG_CLOCK_H
#define AG_CLOCK_H

#include <stdint.h>

/* Current time in whole seconds since the epoch. */
int64_t ag_clock_now(void);

/* Returns 1 when this build can move the clock (test builds), else 0. */
int ag_clock_is_test_build(void);

#ifdef AG_TEST_CLOCK
/* Test builds only: ag_clock_now() asks HOOK first; when it returns 1 it
 * has set *now and that is the time, else AUTHGUARD_TEST_TIME and the
 * real clock follow.  Set once, before threads start (authguardd runs
 * each request at its caller's clock, daemon/handle.c). */
void ag_clock_set_test_hook(int (*hook)(int64_t *now));
#endif

#endif
