#include "autoconf.h"

#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "util.h"

#ifdef AG_TEST_CLOCK
/* A per-thread "now" that wins over AUTHGUARD_TEST_TIME: authguardd's
 * workers run each request at its caller's test clock (see
 * ag_clock_set_thread_override in clock.h). */
static __thread int have_override;
static __thread int64_t override_now;

void
ag_clock_set_thread_override(int on, int64_t now)
{
	have_override = on;
	override_now = now;
}
#endif

int64_t
ag_clock_now(void)
{
	struct timespec ts;

#ifdef AG_TEST_CLOCK
	const char *fake = getenv("AUTHGUARD_TEST_TIME");
	int64_t t;

	if (have_override)
		return override_now;
	if (fake != NULL && ag_parse_int64(fake, 0, INT64_MAX / 2, &t) == 0)
		return t;
#endif
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec;
}

int
ag_clock_is_test_build(void)
{
#ifdef AG_TEST_CLOCK
	return 1;
#else
	return 0;
#endif
}
