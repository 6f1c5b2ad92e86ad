#include "autoconf.h"

#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "util.h"

#ifdef AG_TEST_CLOCK
/* A hook, not thread-local storage here: this file is also linked into
 * the PAM module's state service (authsvc-direct.so), which Linux-PAM
 * unloads with the module, and thread-local storage in an object that
 * was unloaded makes LeakSanitizer's exit-time scan crash. */
static int (*test_hook)(int64_t *now);

void
ag_clock_set_test_hook(int (*hook)(int64_t *now))
{
	test_hook = hook;
}
#endif

int64_t
ag_clock_now(void)
{
	struct timespec ts;

#ifdef AG_TEST_CLOCK
	const char *fake = getenv("AUTHGUARD_TEST_TIME");
	int64_t t;

	if (test_hook != NULL && test_hook(&t))
		return t;
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
