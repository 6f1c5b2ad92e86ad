/* Key URIs for authenticator apps, in Google Authenticator's format:
 *
 *   otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER
 *       &algorithm=SHA1&digits=6&period=30
 *
 * Issuer and account are UTF-8 and percent-encoded per RFC 3986: the
 * unreserved characters A-Z a-z 0-9 - . _ ~ and '@' (legal in both path and
 * query, and written literally in Google's examples: "alice@google.com")
 * are kept; everything else is %XX in upper-case hex, so a space is %20
 * (never '+') and a ':' inside a name is %3A, leaving the one literal ':'
 * as the label separator.  The same rule is used in label and query. */
#ifndef AG_OTPAUTH_H
#define AG_OTPAUTH_H

#include <stddef.h>

#define AG_OTPAUTH_MAX_ISSUER 128  /* bytes of UTF-8 */
#define AG_OTPAUTH_MAX_ACCOUNT 256 /* bytes of UTF-8 */
#define AG_OTPAUTH_MAX_SECRET 128  /* Base32 characters */
/* A buffer of this size holds any URI the function accepts to build. */
#define AG_OTPAUTH_URI_MAX (96 + 6 * AG_OTPAUTH_MAX_ISSUER + 3 * AG_OTPAUTH_MAX_ACCOUNT + \
                            AG_OTPAUTH_MAX_SECRET)

/* Checks a name for a key URI: 1..max bytes of valid UTF-8 (no overlong
 * forms, surrogates or code points past U+10FFFF) without control
 * characters (C0, DEL, C1).  Returns 0, AG_ERR_INVAL or AG_ERR_TOOLONG,
 * with *reasonp set on failure. */
int ag_otpauth_check_name(const char *name, size_t max, const char **reasonp);

/* Writes the key URI into out (outsize bytes; AG_OTPAUTH_URI_MAX always
 * suffices).  secret must be unpadded upper-case Base32; digits 6..8,
 * period 1..3600.  Returns 0, AG_ERR_INVAL, AG_ERR_RANGE or AG_ERR_TOOLONG
 * (out then holds ""), with *reasonp set on failure. */
int ag_otpauth_uri(const char *issuer, const char *account, const char *secret,
                   unsigned digits, unsigned period, char *out, size_t outsize,
                   const char **reasonp);

#endif
