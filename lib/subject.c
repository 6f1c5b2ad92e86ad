#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "error.h"
#include "subject.h"

#define IDEOGRAPHIC_FULL_STOP 0x3002

/* What surrounds a name by accident: a pasted space, a no-break space, a
 * byte order mark, a zero-width space.  (NFKC has already turned most
 * white space, U+3000 and U+00A0 included, into U+0020.) */
static int
strip_char(ucs4_t uc)
{
	return uc_is_property_white_space(uc) || uc_is_property_default_ignorable_code_point(uc);
}

/* The compatibility caseless form of s (valid UTF-8): see subject.h.  The
 * first pass leaves NFKD, so the second pass folds what the compatibility
 * decomposition uncovered (e.g. U+1D400 MATHEMATICAL BOLD CAPITAL A
 * decomposes to "A").  Returns a malloc'ed string, or NULL with errno. */
static uint8_t *
caseless(const uint8_t *s, size_t n, size_t *lenp)
{
	uint8_t *a, *b;
	size_t alen = 0;
	int saved;

	/* NULL language: the same key whatever the locale of the process. */
	a = u8_casefold(s, n, NULL, UNINORM_NFKD, NULL, &alen);
	if (a == NULL)
		return NULL;
	b = u8_casefold(a, alen, NULL, UNINORM_NFKC, NULL, lenp);
	saved = errno;
	free(a);
	errno = saved;
	return b;
}

int
ag_subject_fold(const char *name, size_t len, char *out, size_t outsize, const char **reasonp)
{
	const uint8_t *s = (const uint8_t *)name;
	const uint8_t *p, *at = NULL;
	uint8_t *f = NULL;
	size_t flen = 0, start, end, o, i;
	ucs4_t uc;
	int n, ret = AG_ERR_INVAL;

	*reasonp = NULL;
	if (outsize > 0)
		out[0] = '\0';
	if (name == NULL || len == 0) {
		*reasonp = "empty name";
		return AG_ERR_INVAL;
	}
	if (len > AG_NAME_MAX) {
		*reasonp = "name longer than 4096 bytes";
		return AG_ERR_TOOLONG;
	}
	/* u8_check refuses overlong forms, surrogates and code points past
	 * U+10FFFF as well as stray bytes. */
	if (memchr(name, '\0', len) != NULL || u8_check(s, len) != NULL) {
		*reasonp = "not valid UTF-8";
		return AG_ERR_INVAL;
	}
	errno = 0;
	if ((f = caseless(s, len, &flen)) == NULL) {
		*reasonp = errno == ENOMEM ? "out of memory" : "cannot fold the name";
		return errno == ENOMEM ? AG_ERR_NOMEM : AG_ERR_INVAL;
	}

	start = 0;
	while (start < flen && (n = u8_mbtouc(&uc, f + start, flen - start)) > 0 && strip_char(uc))
		start += (size_t)n;
	for (i = start; i < flen; i++)
		if (f[i] == '@')
			at = f + i;
	/* Backwards: white space, and after an '@' also the domain's trailing
	 * dots ("example.com." names the same domain as "example.com"). */
	end = flen;
	while (end > start) {
		p = u8_prev(&uc, f + end, f + start);
		if (p == NULL)
			break;
		if (!strip_char(uc) &&
		    !(at != NULL && p > at && (uc == '.' || uc == IDEOGRAPHIC_FULL_STOP)))
			break;
		end = (size_t)(p - f);
	}

	/* Copy, reading U+3002 in the domain as '.'. */
	o = 0;
	for (i = start; i < end; i += (size_t)n) {
		n = u8_mbtouc(&uc, f + i, end - i);
		if (n <= 0) {
			*reasonp = "cannot fold the name";
			goto out;
		}
		if (at != NULL && f + i > at && uc == IDEOGRAPHIC_FULL_STOP) {
			if (o + 1 >= outsize || o + 1 > AG_NAME_MAX)
				goto toolong;
			out[o++] = '.';
			continue;
		}
		if (o + (size_t)n >= outsize || o + (size_t)n > AG_NAME_MAX)
			goto toolong;
		memcpy(out + o, f + i, (size_t)n);
		o += (size_t)n;
	}
	if (o == 0) {
		*reasonp = "nothing left of the name after folding";
		goto out;
	}
	out[o] = '\0';
	ret = 0;
	goto out;
toolong:
	*reasonp = "name longer than 4096 bytes after folding";
	ret = AG_ERR_TOOLONG;
out:
	if (ret != 0 && outsize > 0)
		out[0] = '\0';
	free(f);
	return ret;
}

int
ag_subject_key(const struct ag_config *cfg, enum ag_subject_realm realm, const char *name,
               char out[AG_NAME_MAX + 1], const char **reasonp)
{
	int fold = realm == AG_REALM_WEB ? cfg->web_subject_fold : cfg->pam_user_fold;
	size_t len;

	*reasonp = NULL;
	out[0] = '\0';
	if (name == NULL || name[0] == '\0') {
		*reasonp = "empty name";
		return AG_ERR_INVAL;
	}
	len = strnlen(name, AG_NAME_MAX + 1);
	if (len > AG_NAME_MAX) {
		*reasonp = "name longer than 4096 bytes";
		return AG_ERR_TOOLONG;
	}
	if (!fold) {
		memcpy(out, name, len + 1);
		return 0;
	}
	return ag_subject_fold(name, len, out, AG_NAME_MAX + 1, reasonp);
}
