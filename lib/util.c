#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "util.h"

int
ag_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *p = s;
	int neg = 0;
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return AG_ERR_INVAL;
	if (*p == '-') {
		if (min >= 0)
			return AG_ERR_INVAL;
		neg = 1;
		p++;
	}
	if (*p == '\0')
		return AG_ERR_INVAL;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return AG_ERR_INVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return AG_ERR_RANGE;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > (uint64_t)INT64_MAX + 1)
			return AG_ERR_RANGE;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return AG_ERR_RANGE;
		int64_t n = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
		if (n < min || n > max)
			return AG_ERR_RANGE;
		*out = n;
		return 0;
	}
	if (v > (uint64_t)INT64_MAX || (int64_t)v < min || (int64_t)v > max)
		return AG_ERR_RANGE;
	*out = (int64_t)v;
	return 0;
}

int
ag_parse_duration(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char num[24];
	size_t len;
	int64_t mult = 1, v;
	int r;

	if (s == NULL || *s == '\0')
		return AG_ERR_INVAL;
	len = strlen(s);
	switch (s[len - 1]) {
	case 's': mult = 1; len--; break;
	case 'm': mult = 60; len--; break;
	case 'h': mult = 3600; len--; break;
	case 'd': mult = 86400; len--; break;
	default: break;
	}
	if (len == 0 || len >= sizeof(num))
		return len == 0 ? AG_ERR_INVAL : AG_ERR_RANGE;
	memcpy(num, s, len);
	num[len] = '\0';
	if ((r = ag_parse_int64(num, 0, INT64_MAX / 86400, &v)) != 0)
		return r;
	v *= mult;
	if (v < min || v > max)
		return AG_ERR_RANGE;
	*out = v;
	return 0;
}

int
ag_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	if (s == NULL)
		return AG_ERR_INVAL;
	for (i = 0; i < AG_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return AG_ERR_INVAL;
}

int
ag_strlcpy(char *dst, const char *src, size_t dstsize)
{
	size_t len = strlen(src);

	if (dstsize == 0)
		return AG_ERR_TOOLONG;
	if (len >= dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return AG_ERR_TOOLONG;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

int
ag_log_safe_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	    c == ':' || c == '/' || c == '+' || c == '-';
}

void
ag_log_escape(char *dst, size_t dstsize, const char *src, size_t srclen,
              size_t maxout)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i, need;

	if (dstsize == 0)
		return;
	if (srclen == 0) {
		ag_strlcpy(dst, "\"\"", dstsize);
		return;
	}
	for (i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];

		need = ag_log_safe_byte(c) ? 1 : 4;
		if (o + need > maxout || o + need + 4 > dstsize) {
			ag_strlcpy(dst + o, "...", dstsize - o);
			return;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
}

size_t
ag_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t v, min;
	size_t need, k;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		if (cp != NULL)
			*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 1;
		v = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2;
		v = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 3;
		v = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0; /* a continuation byte, 0xc0/0xc1 (overlong), 0xf5..0xff */
	}
	if (need >= n)
		return 0; /* cut short */
	for (k = 1; k <= need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0; /* overlong, out of range, surrogate */
	if (cp != NULL)
		*cp = v;
	return need + 1;
}

void
ag_hex_encode(char *dst, const void *src, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = src;
	size_t i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[b[i] >> 4];
		dst[2 * i + 1] = digits[b[i] & 15];
	}
	dst[2 * n] = '\0';
}

int
ag_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ag_utf8_valid(const char *s, size_t len)
{
	size_t i = 0, k;

	while (i < len) {
		if ((k = ag_utf8_decode(s + i, len - i, NULL)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

int
ag_sql_name_check(const char *s, const char **why)
{
	size_t n;

	if (s == NULL || s[0] == '\0') {
		*why = "empty";
		return AG_ERR_INVAL;
	}
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) {
		*why = "must start with a lower-case letter or '_'";
		return AG_ERR_INVAL;
	}
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 63) {
			*why = "longer than 63 bytes";
			return AG_ERR_INVAL;
		}
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		      s[n] == '_')) {
			*why = "may hold lower-case letters, digits and '_' only";
			return AG_ERR_INVAL;
		}
	}
	return 0;
}

int
ag_sql_role_check(const char *s, const char **why)
{
	int r;

	if ((r = ag_sql_name_check(s, why)) != 0)
		return r;
	/* GRANT ... TO "public" grants to every role, quoted or not. */
	if (strcmp(s, "public") == 0) {
		*why = "public means every role";
		return AG_ERR_INVAL;
	}
	if (strncmp(s, "pg_", 3) == 0) {
		*why = "names starting with pg_ are PostgreSQL's own roles";
		return AG_ERR_INVAL;
	}
	return 0;
}

void
ag_format_wait(char *dst, size_t dstsize, int64_t seconds)
{
	int64_t n;
	const char *unit;

	if (seconds < 0)
		seconds = 0;
	/* Rounded up, without adding to seconds (it may be INT64_MAX). */
	if (seconds < 120) {
		n = seconds;
		unit = "second";
	} else if (seconds < 2 * 3600) {
		n = seconds / 60 + (seconds % 60 != 0);
		unit = "minute";
	} else if (seconds < 2 * 86400) {
		n = seconds / 3600 + (seconds % 3600 != 0);
		unit = "hour";
	} else {
		n = seconds / 86400 + (seconds % 86400 != 0);
		unit = "day";
	}
	snprintf(dst, dstsize, "%lld %s%s", (long long)n, unit, n == 1 ? "" : "s");
}
