#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "otpauth.h"
#include "totp.h"
#include "util.h"

/* A bounded output buffer: appends stop at the first overflow. */
struct outbuf {
	char *buf;
	size_t size, len;
	int overflow;
};

static void
put_bytes(struct outbuf *o, const char *s, size_t n)
{
	if (o->overflow || n >= o->size - o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
put_str(struct outbuf *o, const char *s)
{
	put_bytes(o, s, strlen(s));
}

static int
keep_literal(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '@';
}

static void
put_encoded(struct outbuf *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char pct[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (keep_literal(c)) {
			put_bytes(o, (const char *)&c, 1);
		} else {
			pct[0] = '%';
			pct[1] = hex[c >> 4];
			pct[2] = hex[c & 0x0f];
			put_bytes(o, pct, 3);
		}
	}
}

enum name_fault { NAME_OK, NAME_MISSING, NAME_EMPTY, NAME_TOOLONG, NAME_UTF8, NAME_CONTROL };

static enum name_fault
check_name(const char *name, size_t max)
{
	size_t len, i, k;
	uint32_t cp = 0;

	if (name == NULL)
		return NAME_MISSING;
	len = strnlen(name, max + 1);
	if (len == 0)
		return NAME_EMPTY;
	if (len > max)
		return NAME_TOOLONG;
	for (i = 0; i < len; i += k) {
		if ((k = ag_utf8_decode(name + i, len - i, &cp)) == 0)
			return NAME_UTF8; /* overlong, out of range, surrogate, cut short */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return NAME_CONTROL; /* C0, DEL, C1 */
	}
	return NAME_OK;
}

static int
name_result(enum name_fault f, const char *const reasons[], const char **reasonp)
{
	if (f == NAME_OK)
		return 0;
	if (reasonp != NULL)
		*reasonp = reasons[f];
	return f == NAME_TOOLONG ? AG_ERR_TOOLONG : AG_ERR_INVAL;
}

static const char *const name_reasons[] = {
	"is valid", "is missing", "is empty", "is too long", "is not valid UTF-8",
	"contains a control character"
};
static const char *const issuer_reasons[] = {
	"issuer is valid", "issuer is missing", "issuer is empty", "issuer is too long",
	"issuer is not valid UTF-8", "issuer contains a control character"
};
static const char *const account_reasons[] = {
	"account is valid", "account is missing", "account is empty", "account is too long",
	"account is not valid UTF-8", "account contains a control character"
};

int
ag_otpauth_check_name(const char *name, size_t max, const char **reasonp)
{
	return name_result(check_name(name, max), name_reasons, reasonp);
}

static int
check_secret(const char *secret)
{
	size_t len, i;

	if (secret == NULL)
		return AG_ERR_INVAL;
	len = strnlen(secret, AG_OTPAUTH_MAX_SECRET + 1);
	if (len == 0)
		return AG_ERR_INVAL;
	if (len > AG_OTPAUTH_MAX_SECRET)
		return AG_ERR_TOOLONG;
	for (i = 0; i < len; i++)
		if (!((secret[i] >= 'A' && secret[i] <= 'Z') || (secret[i] >= '2' && secret[i] <= '7')))
			return AG_ERR_INVAL;
	return 0;
}

int
ag_otpauth_uri(const char *issuer, const char *account, const char *secret,
               unsigned digits, unsigned period, char *out, size_t outsize,
               const char **reasonp)
{
	struct outbuf o = { out, outsize, 0, 0 };
	char num[64];
	const char *reason = "is invalid";
	int ret = AG_ERR_INVAL;

	if (out == NULL || outsize == 0) {
		reason = "no output buffer";
		goto out;
	}
	out[0] = '\0';
	ret = name_result(check_name(issuer, AG_OTPAUTH_MAX_ISSUER), issuer_reasons, &reason);
	if (ret != 0)
		goto out;
	ret = name_result(check_name(account, AG_OTPAUTH_MAX_ACCOUNT), account_reasons, &reason);
	if (ret != 0)
		goto out;
	if ((ret = check_secret(secret)) != 0) {
		reason = "secret is not unpadded upper-case Base32";
		goto out;
	}
	if (digits < AG_TOTP_MIN_DIGITS || digits > AG_TOTP_MAX_DIGITS || period == 0 ||
	    period > AG_TOTP_MAX_PERIOD) {
		reason = "digits or period out of range";
		ret = AG_ERR_RANGE;
		goto out;
	}
	put_str(&o, "otpauth://totp/");
	put_encoded(&o, issuer);
	put_str(&o, ":");
	put_encoded(&o, account);
	put_str(&o, "?secret=");
	put_str(&o, secret);
	put_str(&o, "&issuer=");
	put_encoded(&o, issuer);
	snprintf(num, sizeof(num), "&algorithm=SHA1&digits=%u&period=%u", digits, period);
	put_str(&o, num);
	if (o.overflow) {
		reason = "does not fit its buffer";
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	ret = 0;
out:
	if (ret != 0) {
		if (out != NULL && outsize > 0)
			sodium_memzero(out, outsize); /* it may hold the secret */
		if (reasonp != NULL)
			*reasonp = reason;
	}
	return ret;
}
