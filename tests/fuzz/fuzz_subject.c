/* libFuzzer target: folding subject names (lib/subject.c).
 *
 * The input, as it is (NUL bytes and invalid UTF-8 included), goes to
 * ag_subject_fold().  A key must be valid UTF-8, non-empty, bounded, free
 * of white space at both ends and of a trailing dot after an '@', and
 * folding it again must give it back unchanged (one key per person, however
 * often a front end folds).  A small output buffer must be handled too, and
 * ag_subject_key() with folding on must agree with ag_subject_fold(). */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unictype.h>
#include <unistr.h>

#include "config.h"
#include "subject.h"

#define FUZZ_MAX_INPUT (AG_NAME_MAX + 16)

static void
check_key(const char *k)
{
	const uint8_t *s = (const uint8_t *)k, *at = (const uint8_t *)strrchr(k, '@');
	size_t len = strlen(k);
	ucs4_t uc;

	if (len == 0 || len > AG_NAME_MAX || u8_check(s, len) != NULL)
		abort();
	if (u8_mbtouc(&uc, s, len) <= 0 || uc_is_property_white_space(uc))
		abort();
	if (u8_prev(&uc, s + len, s) == NULL || uc_is_property_white_space(uc))
		abort();
	if (at != NULL && at != s + len - 1 && (uc == '.' || uc == 0x3002))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[AG_NAME_MAX + 1], again[AG_NAME_MAX + 1], key[AG_NAME_MAX + 1];
	static struct ag_config cfg;
	char small[8];
	const char *why = NULL;
	char *s;
	int r, r2;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';

	r = ag_subject_fold(s, size, out, sizeof(out), &why);
	if (why == NULL ? r != 0 : r == 0)
		abort(); /* a reason exactly when refused */
	if (r == 0) {
		check_key(out);
		if (ag_subject_fold(out, strlen(out), again, sizeof(again), &why) != 0 ||
		    strcmp(out, again) != 0)
			abort(); /* a key is its own key */
	} else if (out[0] != '\0') {
		abort();
	}
	r2 = ag_subject_fold(s, size, small, sizeof(small), &why);
	if (r2 == 0 && (r != 0 || strcmp(small, out) != 0))
		abort();

	/* Through the configuration, with the name as a C string. */
	ag_config_defaults(&cfg);
	if (strlen(s) == size) {
		r2 = ag_subject_key(&cfg, AG_REALM_WEB, s, key, &why);
		if (r2 != r || (r == 0 && strcmp(key, out) != 0))
			abort();
		cfg.web_subject_fold = 0;
		r2 = ag_subject_key(&cfg, AG_REALM_WEB, s, key, &why);
		if (r2 == 0 && strcmp(key, s) != 0)
			abort();
	}
	free(s);
	return 0;
}
