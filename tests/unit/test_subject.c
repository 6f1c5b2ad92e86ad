/* Unit tests for lib/subject: folding web subjects and login names to one
 * key per person, with hostile input (invalid UTF-8, overlong forms,
 * expansion past the length bound, names that fold to nothing). */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "subject.h"

#include "tap.h"

/* Folds s; checks the key, and that folding the key again changes
 * nothing (a key is its own key). */
static void
check_fold(const char *desc, const char *s, const char *want)
{
	char out[AG_NAME_MAX + 1], again[AG_NAME_MAX + 1];
	const char *why = "unset";
	int r;

	memset(out, 'Z', sizeof(out));
	r = ag_subject_fold(s, strlen(s), out, sizeof(out), &why);
	is_int(r, 0, "%s: folds", desc);
	is_str(r == 0 ? out : NULL, want, "%s", desc);
	ok(why == NULL, "%s: no reason on success", desc);
	if (r == 0) {
		r = ag_subject_fold(out, strlen(out), again, sizeof(again), &why);
		ok(r == 0 && strcmp(out, again) == 0, "%s: the key is its own key", desc);
	}
}

/* Refused with err and a reason containing what. */
static void
check_refused(const char *desc, const char *s, size_t len, int err, const char *what)
{
	char out[AG_NAME_MAX + 1];
	const char *why = NULL;
	int r;

	memset(out, 'Z', sizeof(out));
	r = ag_subject_fold(s, len, out, sizeof(out), &why);
	is_int(r, err, "%s: refused", desc);
	ok(why != NULL && strstr(why, what) != NULL, "%s: reason says \"%s\" (%s)", desc, what,
	   why != NULL ? why : "none");
	is_str(out, "", "%s: output empty", desc);
}

static void
test_spellings(void)
{
	const char *key = "carol@example.com";

	/* the spellings of issue 9: one key */
	check_fold("as typed", "carol@example.com", key);
	check_fold("capital first letter", "Carol@example.com", key);
	check_fold("all capitals", "CAROL@EXAMPLE.COM", key);
	check_fold("trailing dot of the domain", "carol@example.com.", key);
	check_fold("leading space", " carol@example.com", key);
	check_fold("fullwidth first letter", "\xef\xbd\x83" "arol@example.com", key);
	/* more of the same */
	check_fold("trailing space", "carol@example.com ", key);
	check_fold("tab and newline around", "\tcarol@example.com\r\n", key);
	check_fold("ideographic space (U+3000) around", "\xe3\x80\x80" "carol@example.com\xe3\x80\x80", key);
	check_fold("no-break space (U+00A0) around", "\xc2\xa0" "carol@example.com\xc2\xa0", key);
	check_fold("byte order mark (U+FEFF) before", "\xef\xbb\xbf" "carol@example.com", key);
	check_fold("zero-width space (U+200B) after", "carol@example.com\xe2\x80\x8b", key);
	check_fold("dot, then a space", "carol@example.com. ", key);
	check_fold("space, then a dot", "carol@example.com .", key);
	check_fold("two trailing dots", "carol@example.com..", key);
	check_fold("all fullwidth, '＠' and '．' too",
	           "\xef\xbc\xa3\xef\xbc\xa1\xef\xbc\xb2\xef\xbc\xaf\xef\xbc\xac\xef\xbc\xa0"
	           "\xef\xbd\x85\xef\xbd\x98\xef\xbd\x81\xef\xbd\x8d\xef\xbd\x90\xef\xbd\x8c"
	           "\xef\xbd\x85\xef\xbc\x8e\xef\xbd\x83\xef\xbd\x8f\xef\xbd\x8d",
	           key);
	check_fold("ideographic full stop (U+3002) in the domain", "carol@example\xe3\x80\x82" "com", key);
	check_fold("halfwidth ideographic full stop (U+FF61) in the domain",
	           "carol@example\xef\xbd\xa1" "com", key);
	check_fold("ideographic full stop at the end of the domain", "carol@example.com\xe3\x80\x82", key);
	check_fold("mathematical bold capital C (U+1D402)", "\xf0\x9d\x90\x82" "arol@example.com", key);
	check_fold("Kelvin sign (U+212A) is k", "\xe2\x84\xaa" "arol@example.com", "karol@example.com");
}

static void
test_unicode(void)
{
	/* German sharp s: full case folding gives "ss" */
	check_fold("straße", "stra\xc3\x9f" "e", "strasse");
	check_fold("STRASSE", "STRASSE", "strasse");
	check_fold("capital sharp s (U+1E9E)", "STRA\xe1\xba\x9e" "E", "strasse");
	/* precomposed and decomposed é are one letter */
	check_fold("é precomposed", "jos\xc3\xa9", "jos\xc3\xa9");
	check_fold("é as e + combining acute", "jose\xcc\x81", "jos\xc3\xa9");
	check_fold("É as E + combining acute", "JOSE\xcc\x81", "jos\xc3\xa9");
	check_fold("Angstrom sign (U+212B) is å", "\xe2\x84\xab", "\xc3\xa5");
	check_fold("ligature ﬃ (U+FB03)", "o\xef\xac\x83" "ce", "office");
	check_fold("roman numeral Ⅻ (U+216B)", "\xe2\x85\xab", "xii");
	check_fold("superscript two", "x\xc2\xb2", "x2");
	check_fold("Greek final sigma", "\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91",
	           "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1");
	check_fold("ς and σ are one letter", "\xcf\x82", "\xcf\x83");
	check_fold("Cyrillic capitals", "\xd0\x90\xd0\x91", "\xd0\xb0\xd0\xb1");
	check_fold("combining mark left alone at the start", "\xcc\x81" "a", "\xcc\x81" "a");
	check_fold("U+00B4 (acute accent) becomes space + combining acute, space kept inside",
	           "a\xc2\xb4" "b", "a \xcc\x81" "b");
	check_fold("U+00B4 at the start: its space is trimmed", "\xc2\xb4" "b", "\xcc\x81" "b");
	/* Turkish: language-independent folding, documented in subject.h:
	 * dotted capital İ folds to i + combining dot above (not to i),
	 * dotless ı stays itself, I folds to i. */
	check_fold("Turkish capital dotted I (U+0130)", "\xc4\xb0", "i\xcc\x87");
	check_fold("Turkish dotless i (U+0131) is not i", "\xc4\xb1", "\xc4\xb1");
	check_fold("Latin capital I is i", "I", "i");
	/* what is not folded */
	check_fold("local-part dots kept", "Car.Ol@example.com", "car.ol@example.com");
	check_fold("plus tags kept", "carol+x@example.com", "carol+x@example.com");
	check_fold("a trailing dot without '@' is kept", "carol.", "carol.");
	check_fold("a dot before the '@' is kept", "carol.@example.com", "carol.@example.com");
	check_fold("inner spaces are kept", "Carol  Smith", "carol  smith");
	check_fold("inner zero-width space is kept", "ca\xe2\x80\x8brol", "ca\xe2\x80\x8brol");
	check_fold("the last '@' starts the domain", "\"a@b\"@Example.COM.", "\"a@b\"@example.com");
	check_fold("'@' alone", "@", "@");
	check_fold("'@' and dots: the domain's dots go", "x@...", "x@");
	check_fold("control characters inside are kept", "a\nb", "a\nb");
	check_fold("A-label domains are not decoded", "a@XN--BCHER-KVA.example",
	           "a@xn--bcher-kva.example");
	check_fold("unassigned code point (U+0378) kept", "a\xcd\xb8", "a\xcd\xb8");
	check_fold("private use (U+E000) kept", "\xee\x80\x80", "\xee\x80\x80");
	check_fold("plane 16 (U+10FFFD) kept", "\xf4\x8f\xbf\xbd", "\xf4\x8f\xbf\xbd");
}

static void
test_hostile(void)
{
	char big[AG_NAME_MAX + 64], out[AG_NAME_MAX + 1];
	const char *why = NULL;
	size_t i;
	int r;

	check_refused("empty", "", 0, AG_ERR_INVAL, "empty");
	check_refused("NULL", NULL, 0, AG_ERR_INVAL, "empty");
	check_refused("only spaces", "   ", 3, AG_ERR_INVAL, "nothing left");
	check_refused("only U+3000 and a tab", "\xe3\x80\x80\t", 4, AG_ERR_INVAL, "nothing left");
	check_refused("only zero-width characters", "\xe2\x80\x8b\xef\xbb\xbf", 6, AG_ERR_INVAL,
	              "nothing left");
	check_refused("a stray 0xff", "carol\xff@example.com", 18, AG_ERR_INVAL, "UTF-8");
	check_refused("a lone continuation byte", "\x80", 1, AG_ERR_INVAL, "UTF-8");
	check_refused("overlong '/' (C0 AF)", "\xc0\xaf" "admin", 7, AG_ERR_INVAL, "UTF-8");
	check_refused("overlong NUL (C0 80)", "a\xc0\x80", 3, AG_ERR_INVAL, "UTF-8");
	check_refused("overlong 3-byte (E0 80 AF)", "\xe0\x80\xaf", 3, AG_ERR_INVAL, "UTF-8");
	check_refused("UTF-16 surrogate (ED A0 80)", "\xed\xa0\x80", 3, AG_ERR_INVAL, "UTF-8");
	check_refused("past U+10FFFF (F4 90 80 80)", "\xf4\x90\x80\x80", 4, AG_ERR_INVAL, "UTF-8");
	check_refused("5-byte form", "\xf8\x88\x80\x80\x80", 5, AG_ERR_INVAL, "UTF-8");
	check_refused("cut sequence at the end", "carol\xe2\x82", 7, AG_ERR_INVAL, "UTF-8");
	check_refused("NUL inside the given length", "ab\0cd", 5, AG_ERR_INVAL, "UTF-8");

	/* length bounds */
	memset(big, 'A', sizeof(big));
	r = ag_subject_fold(big, AG_NAME_MAX, out, sizeof(out), &why);
	ok(r == 0 && strlen(out) == AG_NAME_MAX && out[0] == 'a', "4096 bytes fold to 4096 bytes");
	check_refused("4097 bytes", big, AG_NAME_MAX + 1, AG_ERR_TOOLONG, "longer than 4096");
	/* expansion: "ß" (2 bytes) -> "ss" (2 bytes) stays within the bound;
	 * U+FDFA (3 bytes) -> 33 bytes does not */
	for (i = 0; i + 2 <= AG_NAME_MAX; i += 2)
		memcpy(big + i, "\xc3\x9f", 2);
	r = ag_subject_fold(big, AG_NAME_MAX, out, sizeof(out), &why);
	ok(r == 0 && strlen(out) == AG_NAME_MAX, "2048 × ß fold to 4096 bytes of s");
	for (i = 0; i + 3 <= 124 * 3; i += 3)
		memcpy(big + i, "\xef\xb7\xba", 3);
	r = ag_subject_fold(big, 124 * 3, out, sizeof(out), &why);
	ok(r == 0 && strlen(out) == 124 * 33, "124 × U+FDFA fold to %d bytes", 124 * 33);
	memcpy(big + 124 * 3, "\xef\xb7\xba", 3);
	check_refused("125 × U+FDFA fold past 4096 bytes", big, 125 * 3, AG_ERR_TOOLONG,
	              "after folding");
	/* the caller's buffer bounds the output too */
	r = ag_subject_fold("abcd", 4, out, 4, &why);
	is_int(r, AG_ERR_TOOLONG, "a 4-byte buffer cannot take \"abcd\"");
	is_str(out, "", "... and is left empty");
	r = ag_subject_fold("abc", 3, out, 4, &why);
	ok(r == 0 && strcmp(out, "abc") == 0, "a 4-byte buffer takes \"abc\"");
	r = ag_subject_fold("a\xc3\x9f", 3, out, 4, &why);
	ok(r == 0 && strcmp(out, "ass") == 0, "\"aß\" -> \"ass\" fits 3 bytes + NUL");
	r = ag_subject_fold("\xc3\x9f\xc3\x9f", 4, out, 4, &why);
	is_int(r, AG_ERR_TOOLONG, "\"ßß\" (4 bytes) -> \"ssss\" does not fit 4 bytes");

	/* every single byte: folds or is refused, never anything else */
	{
		int bad = 0;

		for (i = 1; i < 256; i++) {
			char b[3] = { 'x', (char)i, '\0' };

			r = ag_subject_fold(b, 2, out, sizeof(out), &why);
			if (!(r == 0 && i < 0x80) && !(r == AG_ERR_INVAL && i >= 0x80))
				bad++;
		}
		is_int(bad, 0, "\"x\" + every byte: ASCII folds, the rest is refused");
	}
}

static void
test_key(void)
{
	struct ag_config cfg;
	char key[AG_NAME_MAX + 1], big[AG_NAME_MAX + 2];
	const char *why = NULL;

	ag_config_defaults(&cfg);
	is_int(ag_subject_key(&cfg, AG_REALM_WEB, "Carol@Example.com.", key, &why), 0,
	       "web subject, default: folded");
	is_str(key, "carol@example.com", "web subject key");
	is_int(ag_subject_key(&cfg, AG_REALM_LOGIN, "ALICE", key, &why), 0,
	       "login name, default: exact");
	is_str(key, "ALICE", "login name key");
	is_int(ag_subject_key(&cfg, AG_REALM_LOGIN, "al\xffice", key, &why), 0,
	       "login name, default: any bytes");
	is_str(key, "al\xffice", "login name key kept byte for byte");
	is_int(ag_subject_key(&cfg, AG_REALM_WEB, "al\xffice", key, &why), AG_ERR_INVAL,
	       "web subject, default: invalid UTF-8 refused");
	ok(why != NULL && strstr(why, "UTF-8") != NULL, "... with a reason");

	cfg.web_subject_fold = 0;
	cfg.pam_user_fold = 1;
	is_int(ag_subject_key(&cfg, AG_REALM_WEB, " Carol@Example.com.", key, &why), 0,
	       "web_subject_fold = no: exact");
	is_str(key, " Carol@Example.com.", "web subject kept byte for byte");
	is_int(ag_subject_key(&cfg, AG_REALM_WEB, "al\xffice", key, &why), 0,
	       "web_subject_fold = no: any bytes");
	is_int(ag_subject_key(&cfg, AG_REALM_LOGIN, "ALICE", key, &why), 0,
	       "pam_user_fold = yes: folded");
	is_str(key, "alice", "login name folded");
	is_int(ag_subject_key(&cfg, AG_REALM_LOGIN, "al\xffice", key, &why), AG_ERR_INVAL,
	       "pam_user_fold = yes: invalid UTF-8 refused");

	/* bounds apply with folding off as well */
	is_int(ag_subject_key(&cfg, AG_REALM_WEB, "", key, &why), AG_ERR_INVAL, "empty refused");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(ag_subject_key(&cfg, AG_REALM_WEB, big, key, &why), AG_ERR_TOOLONG,
	       "4097 bytes refused");
	ok(why != NULL && strcmp(why, "name longer than 4096 bytes") == 0, "... with a reason");
	big[AG_NAME_MAX] = '\0';
	is_int(ag_subject_key(&cfg, AG_REALM_WEB, big, key, &why), 0, "4096 bytes accepted");
	is_int(strlen(key), AG_NAME_MAX, "... whole");
}

int
main(void)
{
	test_spellings();
	test_unicode();
	test_hostile();
	test_key();
	return done_testing();
}
