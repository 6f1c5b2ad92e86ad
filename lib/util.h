/* Small, bounded helpers: number and duration parsing, string copies,
 * escaping for log lines. */
#ifndef AG_UTIL_H
#define AG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define AG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a decimal integer in [min, max]: digits only (an optional leading
 * '-' when min < 0), no spaces, no sign, no trailing bytes.
 * Returns 0, AG_ERR_INVAL or AG_ERR_RANGE; *out is untouched on error. */
int ag_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses a duration in seconds: a decimal number with an optional unit
 * suffix s, m, h or d ("900", "15m", "1h").  Bounds are in seconds. */
int ag_parse_duration(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses yes/no, true/false, on/off, 1/0 (case-insensitive). */
int ag_parse_bool(const char *s, int *out);

/* Copies src into dst of size dstsize, always NUL-terminating.
 * Returns 0, or AG_ERR_TOOLONG (dst then holds a truncated copy). */
int ag_strlcpy(char *dst, const char *src, size_t dstsize);

/* Writes src (srclen bytes) into dst as a log-safe token: bytes in
 * [A-Za-z0-9._@:/+-] are copied, anything else is written as \xHH, so no
 * control character, space, quote or '=' can forge a field or a line.
 * Output longer than maxout bytes is cut and ends in "...".  dst must hold
 * 4 * maxout + 4 bytes; an empty input yields "\"\"". */
void ag_log_escape(char *dst, size_t dstsize, const char *src, size_t srclen,
                   size_t maxout);

/* Length of the UTF-8 sequence at s (n bytes available, n > 0): 1 to 4
 * when it is well-formed per RFC 3629 -- no overlong form, no surrogate,
 * nothing above U+10FFFF, not cut short -- with the code point in *cp
 * (may be NULL); 0 when it is not, *cp then untouched.  jansson refuses
 * exactly the strings that hold such a byte. */
size_t ag_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* 1 when the len bytes of s are all well-formed UTF-8 (see above). */
int ag_utf8_valid(const char *s, size_t len);

/* The n bytes of src as 2n lower-case hex digits and a NUL, in dst (2n + 1
 * bytes).  For names and hosts, not keys (libsodium's bin2hex for those). */
void ag_hex_encode(char *dst, const void *src, size_t n);

/* The value of a lower-case hex digit, or -1. */
int ag_hex_digit(char c);

/* Returns 1 when ag_log_escape() copies byte c as itself, else 0. */
int ag_log_safe_byte(unsigned char c);

/* A PostgreSQL name (schema, role) that authguard writes into SQL: 1 to
 * 63 bytes of lower-case letters, digits and '_', not starting with a
 * digit, so that it means the same quoted or not (PostgreSQL folds
 * unquoted names to lower case).  Returns 0, or AG_ERR_INVAL with the
 * reason in *why. */
int ag_sql_name_check(const char *s, const char **why);

/* ag_sql_name_check() for a role to grant rights to, which also refuses
 * "public" (every role) and the names PostgreSQL reserves ("pg_..."). */
int ag_sql_role_check(const char *s, const char **why);

/* Formats a duration in words for people: "57 minutes", "16 seconds". */
void ag_format_wait(char *dst, size_t dstsize, int64_t seconds);

#endif
