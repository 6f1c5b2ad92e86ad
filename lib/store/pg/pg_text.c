/* The escaped form of text PostgreSQL cannot store as it is (pg_int.h). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "pg_int.h"
#include "util.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0. */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		               (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

int
ag_pg_text_needs_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if (*p == '\\' || (n = utf8_seq(p)) == 0)
			return 1;
		p += n;
	}
	return 0;
}

char *
ag_pg_text_escape(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t n;

	if ((out = malloc(strlen(s) * 4 + 1)) == NULL)
		return NULL;
	for (o = out; *p != '\0';) {
		if (*p == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			p++;
		} else if ((n = utf8_seq(p)) == 0) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 0xf];
			p++;
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	return out;
}

char *
ag_pg_text_unescape(const char *s)
{
	char *out, *o;

	if ((out = malloc(strlen(s) + 1)) == NULL)
		return NULL;
	for (o = out; *s != '\0'; s++) {
		if (*s != '\\') {
			*o++ = *s;
		} else if (s[1] == '\\') {
			*o++ = '\\';
			s++;
		} else if (s[1] == 'x' && ag_hex_digit(s[2]) >= 0 && ag_hex_digit(s[3]) >= 0 &&
		           (ag_hex_digit(s[2]) << 4 | ag_hex_digit(s[3])) != 0) {
			*o++ = (char)(ag_hex_digit(s[2]) << 4 | ag_hex_digit(s[3]));
			s += 3;
		} else {
			*o++ = *s; /* not ours: kept as it is */
		}
	}
	*o = '\0';
	return out;
}
