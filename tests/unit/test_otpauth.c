/* Unit tests for lib/otpauth: Google Authenticator key URIs, percent-
 * encoding of issuer and account (spaces, ':', '@', non-ASCII), and refusal
 * of control characters, broken UTF-8 and overlong input. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "otpauth.h"
#include "util.h"

#include "tap.h"

#define SECRET "JBSWY3DPEHPK3PXP"
#define TAIL "&algorithm=SHA1&digits=6&period=30"

static void
check_uri(const char *issuer, const char *account, const char *want)
{
	char uri[AG_OTPAUTH_URI_MAX];
	const char *reason = NULL;

	is_int(ag_otpauth_uri(issuer, account, SECRET, 6, 30, uri, sizeof(uri), &reason), 0,
	       "uri for \"%s\" / \"%s\"", issuer, account);
	is_str(uri, want, "uri for \"%s\" / \"%s\"", issuer, account);
}

static void
test_encodings(void)
{
	check_uri("Example Co", "alice@example.com",
	          "otpauth://totp/Example%20Co:alice@example.com?secret=" SECRET
	          "&issuer=Example%20Co" TAIL);
	check_uri("Example", "alice@google.com",
	          "otpauth://totp/Example:alice@google.com?secret=" SECRET "&issuer=Example" TAIL);
	check_uri("a:b", "a:b", "otpauth://totp/a%3Ab:a%3Ab?secret=" SECRET "&issuer=a%3Ab" TAIL);
	check_uri("Zo\xc3\xab", "zo\xc3\xab@example.org",
	          "otpauth://totp/Zo%C3%AB:zo%C3%AB@example.org?secret=" SECRET
	          "&issuer=Zo%C3%AB" TAIL);
	check_uri("\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80",
	          "otpauth://totp/%E6%97%A5%E6%9C%AC:%F0%9F%98%80?secret=" SECRET
	          "&issuer=%E6%97%A5%E6%9C%AC" TAIL);
	check_uri("A&B=C?D#E/F", "x+y%z",
	          "otpauth://totp/A%26B%3DC%3FD%23E%2FF:x%2By%25z?secret=" SECRET
	          "&issuer=A%26B%3DC%3FD%23E%2FF" TAIL);
	check_uri("-._~", "quote\"'<>\\ ",
	          "otpauth://totp/-._~:quote%22%27%3C%3E%5C%20?secret=" SECRET "&issuer=-._~" TAIL);
	check_uri("authguard", "root", "otpauth://totp/authguard:root?secret=" SECRET
	                               "&issuer=authguard" TAIL);
}

static void
test_parameters(void)
{
	char uri[AG_OTPAUTH_URI_MAX], tiny[40];
	const char *reason = NULL;

	is_int(ag_otpauth_uri("X", "y", SECRET, 8, 60, uri, sizeof(uri), &reason), 0,
	       "8 digits, 60 s");
	is_str(uri, "otpauth://totp/X:y?secret=" SECRET "&issuer=X&algorithm=SHA1&digits=8&period=60",
	       "digits and period written as given");
	is_int(ag_otpauth_uri("X", "y", SECRET, 5, 30, uri, sizeof(uri), &reason), AG_ERR_RANGE,
	       "5 digits refused");
	is_int(ag_otpauth_uri("X", "y", SECRET, 9, 30, uri, sizeof(uri), &reason), AG_ERR_RANGE,
	       "9 digits refused");
	is_int(ag_otpauth_uri("X", "y", SECRET, 6, 0, uri, sizeof(uri), &reason), AG_ERR_RANGE,
	       "period 0 refused");
	is_int(ag_otpauth_uri("X", "y", "jbswy3dpehpk3pxp", 6, 30, uri, sizeof(uri), &reason),
	       AG_ERR_INVAL, "lower-case secret refused");
	is_int(ag_otpauth_uri("X", "y", "JBSWY3DPEHPK3PX=", 6, 30, uri, sizeof(uri), &reason),
	       AG_ERR_INVAL, "padded secret refused");
	is_int(ag_otpauth_uri("X", "y", "JBSWY3DP&issuer=evil", 6, 30, uri, sizeof(uri), &reason),
	       AG_ERR_INVAL, "secret cannot inject parameters");
	is_int(ag_otpauth_uri("X", "y", "", 6, 30, uri, sizeof(uri), &reason), AG_ERR_INVAL,
	       "empty secret refused");
	is_int(ag_otpauth_uri("X", "y", NULL, 6, 30, uri, sizeof(uri), &reason), AG_ERR_INVAL,
	       "no secret");

	is_int(ag_otpauth_uri("Example Co", "alice@example.com", SECRET, 6, 30, tiny,
	                      sizeof(tiny), &reason), AG_ERR_TOOLONG, "small buffer refused");
	is_str(tiny, "", "small buffer left empty (no partial URI with a secret in it)");
	ok(reason != NULL && strstr(reason, "buffer") != NULL, "reason: %s",
	   reason != NULL ? reason : "");
}

static void
check_bad_name(const char *name, int want, const char *what, const char *expect_reason)
{
	char uri[AG_OTPAUTH_URI_MAX];
	const char *reason = NULL;

	is_int(ag_otpauth_uri("Example", name, SECRET, 6, 30, uri, sizeof(uri), &reason), want,
	       "account %s refused", what);
	is_str(uri, "", "account %s: no URI", what);
	ok(reason != NULL && strstr(reason, expect_reason) != NULL,
	   "account %s: reason \"%s\"", what, reason != NULL ? reason : "");
	reason = NULL;
	is_int(ag_otpauth_uri(name, "alice", SECRET, 6, 30, uri, sizeof(uri), &reason), want,
	       "issuer %s refused", what);
	ok(reason != NULL && strstr(reason, "issuer") != NULL, "issuer %s: reason \"%s\"", what,
	   reason != NULL ? reason : "");
}

static void
test_hostile_names(void)
{
	char big[AG_OTPAUTH_MAX_ACCOUNT + 2], issuer[AG_OTPAUTH_MAX_ISSUER + 1];
	char uri[AG_OTPAUTH_URI_MAX], acct[AG_OTPAUTH_MAX_ACCOUNT + 1];
	const char *reason = NULL;
	size_t i;

	check_bad_name("", AG_ERR_INVAL, "empty", "empty");
	check_bad_name("ali\nce", AG_ERR_INVAL, "with a newline", "control");
	check_bad_name("alice\r", AG_ERR_INVAL, "with CR", "control");
	check_bad_name("ali\tce", AG_ERR_INVAL, "with a tab", "control");
	check_bad_name("\x1b[31malice", AG_ERR_INVAL, "with an escape sequence", "control");
	check_bad_name("alice\x7f", AG_ERR_INVAL, "with DEL", "control");
	check_bad_name("alice\xc2\x85", AG_ERR_INVAL, "with C1 NEL", "control");
	check_bad_name("alice\xc2\x9b", AG_ERR_INVAL, "with C1 CSI", "control");
	check_bad_name("alice\xff", AG_ERR_INVAL, "with byte 0xff", "UTF-8");
	check_bad_name("alice\xc3", AG_ERR_INVAL, "truncated UTF-8", "UTF-8");
	check_bad_name("\xc3\x28", AG_ERR_INVAL, "bad continuation", "UTF-8");
	check_bad_name("\xc0\xaf", AG_ERR_INVAL, "overlong '/'", "UTF-8");
	check_bad_name("\xe0\x80\xaf", AG_ERR_INVAL, "3-byte overlong", "UTF-8");
	check_bad_name("\xed\xa0\x80", AG_ERR_INVAL, "a surrogate", "UTF-8");
	check_bad_name("\xf4\x90\x80\x80", AG_ERR_INVAL, "past U+10FFFF", "UTF-8");
	check_bad_name("\xf8\x88\x80\x80\x80", AG_ERR_INVAL, "5-byte form", "UTF-8");
	check_bad_name("\x80", AG_ERR_INVAL, "lone continuation byte", "UTF-8");
	is_int(ag_otpauth_uri(NULL, "alice", SECRET, 6, 30, uri, sizeof(uri), &reason),
	       AG_ERR_INVAL, "no issuer");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	check_bad_name(big, AG_ERR_TOOLONG, "over the maximum length", "too long");

	/* the longest names, every byte encoded, still fit AG_OTPAUTH_URI_MAX */
	memset(issuer, ':', sizeof(issuer) - 1);
	issuer[sizeof(issuer) - 1] = '\0';
	for (i = 0; i + 4 <= AG_OTPAUTH_MAX_ACCOUNT; i += 4)
		memcpy(acct + i, "\xf0\x9f\x98\x80", 4);
	acct[i] = '\0';
	memset(big, 'A', AG_OTPAUTH_MAX_SECRET);
	big[AG_OTPAUTH_MAX_SECRET] = '\0';
	is_int(ag_otpauth_uri(issuer, acct, big, 8, 3600, uri, sizeof(uri), &reason), 0,
	       "longest fully encoded names fit AG_OTPAUTH_URI_MAX");
	is_int(ag_otpauth_check_name("Zo\xc3\xab", 16, &reason), 0, "check_name accepts UTF-8");
	is_int(ag_otpauth_check_name("Zo\xc3\xab", 3, &reason), AG_ERR_TOOLONG,
	       "check_name counts bytes");
}

int
main(void)
{
	test_encodings();
	test_parameters();
	test_hostile_names();
	return done_testing();
}
