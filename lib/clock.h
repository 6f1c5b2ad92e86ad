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
/* Test builds only: from now on this thread's ag_clock_now() returns NOW
 * (ON = 1), or follows AUTHGUARD_TEST_TIME and the real clock again
 * (ON = 0).  authguardd uses it to run a request at its caller's clock. */
void ag_clock_set_thread_override(int on, int64_t now);
#endif

#endif
