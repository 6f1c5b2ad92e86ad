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

#endif
