/* A tiny TAP-style test harness, header only, no dependencies.
 *
 *   ok(cond, "name %d", i);          passes when cond is true
 *   is_int(got, want, "name");       compares two integers (as intmax_t)
 *   is_str(got, want, "name");       compares two strings (NULL allowed)
 *   skip("reason");                  records a skipped check
 *   diag("fmt", ...);                prints a "# " comment line
 *   return done_testing();           prints the plan, exits 0 or 1
 *
 * Each check prints "ok N - name" or "not ok N - name"; a failing one is
 * followed by comment lines with the values and the source location.
 * Strings in those lines are escaped, so hostile test data cannot garble
 * the output. */
#ifndef AG_TAP_H
#define AG_TAP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))

static int tap_count;
static int tap_failed;

static inline TAP_PRINTF(2, 0) void
tap_vreport(int pass, const char *fmt, va_list ap)
{
	char name[512];
	size_t i;

	tap_count++;
	if (!pass)
		tap_failed++;
	vsnprintf(name, sizeof(name), fmt, ap);
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	/* a name may quote test data: keep it on one line */
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == '#')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\n');
	fflush(stdout); /* keep what was printed if a later check crashes */
}

/* Prints s as a C-like literal, bounded, with non-printables escaped. */
static inline void
tap_print_str(const char *s)
{
	size_t i;

	if (s == NULL) {
		fputs("NULL", stdout);
		return;
	}
	putchar('"');
	for (i = 0; s[i] != '\0' && i < 400; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
	if (s[i] != '\0')
		printf("... (%zu bytes)", strlen(s));
}

static inline TAP_PRINTF(4, 5) int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vreport(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   failed at %s:%d\n", file, line);
	return pass;
}

static inline TAP_PRINTF(5, 6) int
tap_is_int(intmax_t got, intmax_t want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int pass = got == want;

	va_start(ap, fmt);
	tap_vreport(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   failed at %s:%d\n#          got: %jd\n#     expected: %jd\n",
		       file, line, got, want);
	return pass;
}

static inline TAP_PRINTF(5, 6) int
tap_is_str(const char *got, const char *want, const char *file, int line,
           const char *fmt, ...)
{
	va_list ap;
	int pass = (got == NULL && want == NULL) ||
	           (got != NULL && want != NULL && strcmp(got, want) == 0);

	va_start(ap, fmt);
	tap_vreport(pass, fmt, ap);
	va_end(ap);
	if (!pass) {
		printf("#   failed at %s:%d\n#          got: ", file, line);
		tap_print_str(got);
		fputs("\n#     expected: ", stdout);
		tap_print_str(want);
		putchar('\n');
	}
	return pass;
}

static inline TAP_PRINTF(1, 2) void
diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline TAP_PRINTF(1, 2) void
skip(const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("ok %d # skip ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Prints the plan and a summary; returns the process exit status. */
static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed != 0)
		printf("# failed %d of %d checks\n", tap_failed, tap_count);
	fflush(stdout);
	return tap_failed != 0 ? 1 : 0;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int((intmax_t)(got), (intmax_t)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

#endif
