/* Unit tests for lib/webhook: the Svix documentation's published test
 * vector, the secret file format and its permissions, header lines and
 * blocks, strict timestamps and the tolerance window, signature lists
 * (several entries, other versions, malformed and non-canonical entries),
 * Clerk events, hostile bodies, running out of memory while parsing, and
 * the sync against a real store (sessions ended, refresh families revoked,
 * replays refused and harmless).  Everything lives in a fresh directory
 * under /tmp. */
#include "autoconf.h" /* _GNU_SOURCE: nftw FTW_PHYS */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "config.h"
#include "error.h"
#include "session.h"
#include "store.h"
#include "util.h"
#include "webhook.h"

#include "tap.h"

/* https://docs.svix.com/receiving/verifying-payloads/how-manual */
#define SVIX_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SVIX_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SVIX_TS "1614265330"
#define SVIX_TS_N INT64_C(1614265330)
#define SVIX_BODY "{\"test\": 2432232314}"
#define SVIX_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define TOL 300

static char tmpdir[64];

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void
cleanup(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	int fd;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		diag("cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return path;
}

static void
svix_secret(struct ag_webhook_secret *s)
{
	const char *why = NULL;

	if (ag_webhook_secret_parse(SVIX_SECRET, strlen(SVIX_SECRET), s, &why) != 0)
		diag("Svix secret refused: %s", why);
}

/* Headers from "name: value" strings, NULL-terminated. */
static int
headers(struct ag_webhook_headers *h, ...)
{
	va_list ap;
	const char *line;
	int r = 0;

	ag_webhook_headers_init(h);
	va_start(ap, h);
	while ((line = va_arg(ap, const char *)) != NULL)
		if (ag_webhook_header_add(h, line, strlen(line)) != 0)
			r = -1;
	va_end(ap);
	return r;
}

static enum ag_webhook_reason
verify_svix(const char *id, const char *ts, const char *sig, const char *body, int64_t now)
{
	struct ag_webhook_secret s;
	struct ag_webhook_headers h;
	struct ag_webhook_msg msg;
	char l1[512], l2[512], l3[8192];
	enum ag_webhook_reason r;

	svix_secret(&s);
	snprintf(l1, sizeof(l1), "svix-id: %s", id);
	snprintf(l2, sizeof(l2), "svix-timestamp: %s", ts);
	snprintf(l3, sizeof(l3), "svix-signature: %s", sig);
	headers(&h, l1, l2, l3, (const char *)NULL);
	r = ag_webhook_verify(&s, &h, (const uint8_t *)body, strlen(body), now, TOL, &msg);
	ag_webhook_secret_clear(&s);
	return r;
}

static void
test_vector(void)
{
	struct ag_webhook_secret s;
	struct ag_webhook_headers h;
	struct ag_webhook_msg msg;
	char sig[3 + AG_WEBHOOK_SIG_B64_LEN + 1];
	const char *why = NULL;

	is_int(ag_webhook_secret_parse(SVIX_SECRET, strlen(SVIX_SECRET), &s, &why), 0,
	       "Svix documentation secret parses");
	is_int(s.len, 24, "... to 24 bytes");
	ag_webhook_sign(&s, SVIX_ID, SVIX_TS, (const uint8_t *)SVIX_BODY, strlen(SVIX_BODY), sig);
	is_str(sig, SVIX_SIG, "Svix documentation vector: signature as published");
	is_int(ag_webhook_check_signature(&s, SVIX_ID, SVIX_TS, (const uint8_t *)SVIX_BODY,
	                                  strlen(SVIX_BODY), SVIX_SIG),
	       AG_WEBHOOK_OK, "vector: published signature verifies");
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, SVIX_BODY, SVIX_TS_N), AG_WEBHOOK_OK,
	       "vector: full verification at its timestamp");
	headers(&h, "svix-id: " SVIX_ID, "svix-timestamp: " SVIX_TS,
	        "svix-signature: " SVIX_SIG, (const char *)NULL);
	ag_webhook_verify(&s, &h, (const uint8_t *)SVIX_BODY, strlen(SVIX_BODY), SVIX_TS_N, TOL,
	                  &msg);
	is_str(msg.id, SVIX_ID, "vector: message id reported");
	is_int(msg.timestamp, SVIX_TS_N, "vector: timestamp reported");

	/* the same message, any change refused */
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, "{\"test\": 2432232315}", SVIX_TS_N),
	       AG_WEBHOOK_BAD_SIGNATURE, "vector: one body byte changed");
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, "{\"test\":2432232314}", SVIX_TS_N),
	       AG_WEBHOOK_BAD_SIGNATURE, "vector: body re-serialised (space dropped)");
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, SVIX_BODY "\n", SVIX_TS_N),
	       AG_WEBHOOK_BAD_SIGNATURE, "vector: trailing newline added to body");
	is_int(verify_svix("msg_p5jXN8AQM9LWM0D4loKWxJel", SVIX_TS, SVIX_SIG, SVIX_BODY,
	                   SVIX_TS_N),
	       AG_WEBHOOK_BAD_SIGNATURE, "vector: other message id");
	is_int(verify_svix(SVIX_ID, "1614265331", SVIX_SIG, SVIX_BODY, SVIX_TS_N),
	       AG_WEBHOOK_BAD_SIGNATURE, "vector: other timestamp");
	{
		struct ag_webhook_secret other;
		const char *txt = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx";

		is_int(ag_webhook_secret_parse(txt, strlen(txt), &other, &why), 0,
		       "a neighbouring secret parses");
		is_int(ag_webhook_check_signature(&other, SVIX_ID, SVIX_TS,
		                                  (const uint8_t *)SVIX_BODY, strlen(SVIX_BODY),
		                                  SVIX_SIG),
		       AG_WEBHOOK_BAD_SIGNATURE, "vector: wrong secret");
		ag_webhook_secret_clear(&other);
	}
	ag_webhook_secret_clear(&s);
}

static void
test_signature_lists(void)
{
	static const struct {
		const char *header;
		enum ag_webhook_reason want;
		const char *name;
	} cases[] = {
		{ SVIX_SIG, AG_WEBHOOK_OK, "one v1 entry" },
		{ "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SVIX_SIG, AG_WEBHOOK_OK,
		  "wrong v1 first, right v1 second (key rotation)" },
		{ SVIX_SIG " v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", AG_WEBHOOK_OK,
		  "right v1 first, wrong v1 second" },
		{ "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " SVIX_SIG, AG_WEBHOOK_OK,
		  "a v2 entry is ignored, the v1 counts" },
		{ "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " SVIX_SIG, AG_WEBHOOK_OK,
		  "a v1a (asymmetric) entry is ignored, the v1 counts" },
		{ "  " SVIX_SIG "  ", AG_WEBHOOK_OK, "extra spaces around the list" },
		{ "garbage " SVIX_SIG, AG_WEBHOOK_OK, "an entry without a comma is skipped" },
		{ "v1,!!!! " SVIX_SIG, AG_WEBHOOK_OK, "a malformed v1 entry is skipped" },
		{ "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", AG_WEBHOOK_NO_V1_SIGNATURE,
		  "only a v2 entry (right MAC): no v1" },
		{ "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", AG_WEBHOOK_NO_V1_SIGNATURE,
		  "only v1a: no v1" },
		{ "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", AG_WEBHOOK_NO_V1_SIGNATURE,
		  "V1 (upper case) is not v1" },
		{ "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", AG_WEBHOOK_NO_V1_SIGNATURE,
		  "a bare signature without version" },
		{ "", AG_WEBHOOK_NO_V1_SIGNATURE, "empty list" },
		{ "   ", AG_WEBHOOK_NO_V1_SIGNATURE, "only spaces" },
		{ "v1,", AG_WEBHOOK_BAD_SIGNATURE, "v1 with an empty signature" },
		{ "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1 without Base64 padding" },
		{ "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1 with non-zero padding bits (non-canonical Base64)" },
		{ "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1 in base64url" },
		{ "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\tv2,x", AG_WEBHOOK_BAD_SIGNATURE,
		  "a tab is not a separator" },
		{ "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=,extra", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1 entry with a second comma" },
		{ "v1, g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1, then a space before the signature" },
		{ "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=AAAA", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1 signature longer than 32 bytes" },
		{ "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O==", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1 signature of 31 bytes" },
		{ "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1 with a newline appended" },
		{ "v1,G0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", AG_WEBHOOK_BAD_SIGNATURE,
		  "v1 with one bit changed" },
	};
	struct ag_webhook_secret s;
	char big[AG_WEBHOOK_HEADER_MAX + 1];
	size_t i, n;

	svix_secret(&s);
	for (i = 0; i < AG_ARRAY_SIZE(cases); i++)
		is_int(ag_webhook_check_signature(&s, SVIX_ID, SVIX_TS, (const uint8_t *)SVIX_BODY,
		                                  strlen(SVIX_BODY), cases[i].header),
		       cases[i].want, "signature list: %s", cases[i].name);

	/* 80 wrong entries, then the right one: still found */
	n = 0;
	for (i = 0; i < 80; i++) {
		memcpy(big + n, "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ", 48);
		n += 48;
	}
	memcpy(big + n, SVIX_SIG, strlen(SVIX_SIG) + 1);
	is_int(ag_webhook_check_signature(&s, SVIX_ID, SVIX_TS, (const uint8_t *)SVIX_BODY,
	                                  strlen(SVIX_BODY), big),
	       AG_WEBHOOK_OK, "signature list: the right entry after 80 wrong ones");
	ag_webhook_secret_clear(&s);
}

static void
test_timestamps(void)
{
	static const char *const bad[] = {
		"", "+1614265330", "-1614265330", " 1614265330", "1614265330 ", "01614265330",
		"00", "1614265330.0", "1.6e9", "0x60372Ef2", "16142653３0", "1614265330\t",
		"1234567890123", "99999999999999999999999", "１", "NaN", "1614265330a",
	};
	int64_t v = -1;
	size_t i;

	is_int(ag_webhook_parse_timestamp("1614265330", &v), 0, "timestamp: plain seconds");
	is_int(v, SVIX_TS_N, "timestamp: value");
	is_int(ag_webhook_parse_timestamp("0", &v), 0, "timestamp: 0 parses");
	is_int(ag_webhook_parse_timestamp("999999999999", &v), 0, "timestamp: 12 digits parse");
	for (i = 0; i < AG_ARRAY_SIZE(bad); i++)
		is_int(ag_webhook_parse_timestamp(bad[i], &v), AG_ERR_INVAL,
		       "timestamp refused: \"%s\"", bad[i]);

	/* the window, inclusive at both ends (the signature is valid) */
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, SVIX_BODY, SVIX_TS_N + TOL), AG_WEBHOOK_OK,
	       "window: exactly tolerance old is accepted");
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, SVIX_BODY, SVIX_TS_N + TOL + 1),
	       AG_WEBHOOK_STALE_TIMESTAMP, "window: tolerance + 1 s old is stale");
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, SVIX_BODY, SVIX_TS_N - TOL), AG_WEBHOOK_OK,
	       "window: exactly tolerance ahead is accepted");
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, SVIX_BODY, SVIX_TS_N - TOL - 1),
	       AG_WEBHOOK_FUTURE_TIMESTAMP, "window: tolerance + 1 s ahead is future");
	is_int(verify_svix(SVIX_ID, SVIX_TS, SVIX_SIG, SVIX_BODY, SVIX_TS_N + 86400 * 365),
	       AG_WEBHOOK_STALE_TIMESTAMP, "window: a year old is stale");
	is_int(verify_svix(SVIX_ID, "abc", SVIX_SIG, SVIX_BODY, SVIX_TS_N),
	       AG_WEBHOOK_BAD_TIMESTAMP, "non-numeric timestamp: bad_timestamp");
	is_int(verify_svix(SVIX_ID, "+1614265330", SVIX_SIG, SVIX_BODY, SVIX_TS_N),
	       AG_WEBHOOK_BAD_TIMESTAMP, "signed timestamp: bad_timestamp");
	is_int(verify_svix(SVIX_ID, "1614265330000", SVIX_SIG, SVIX_BODY, SVIX_TS_N),
	       AG_WEBHOOK_BAD_TIMESTAMP, "milliseconds: bad_timestamp");
	/* the timestamp is checked before the signature, as Svix does */
	is_int(verify_svix(SVIX_ID, "1614265000", SVIX_SIG, SVIX_BODY, SVIX_TS_N + 301),
	       AG_WEBHOOK_STALE_TIMESTAMP, "stale and badly signed: stale reported");
}

static void
test_headers(void)
{
	struct ag_webhook_secret s;
	struct ag_webhook_headers h;
	struct ag_webhook_msg msg;
	const uint8_t *body = (const uint8_t *)SVIX_BODY;
	size_t blen = strlen(SVIX_BODY);
	char *long_line;

	svix_secret(&s);
#define V(want, name) \
	is_int(ag_webhook_verify(&s, &h, body, blen, SVIX_TS_N, TOL, &msg), want, name)

	is_int(headers(&h, "SVIX-ID: " SVIX_ID, "Svix-Timestamp:" SVIX_TS,
	               "svix-SIGNATURE: \t " SVIX_SIG " \t", (const char *)NULL),
	       0, "header names in any case, optional whitespace");
	V(AG_WEBHOOK_OK, "... verify");
	headers(&h, "webhook-id: " SVIX_ID, "webhook-timestamp: " SVIX_TS,
	        "webhook-signature: " SVIX_SIG, (const char *)NULL);
	V(AG_WEBHOOK_OK, "unbranded webhook-* headers verify");
	headers(&h, "svix-id: " SVIX_ID, "svix-timestamp: " SVIX_TS, "svix-signature: " SVIX_SIG,
	        "webhook-id: other", "webhook-timestamp: 1", "webhook-signature: v1,x",
	        (const char *)NULL);
	V(AG_WEBHOOK_OK, "both sets: the complete svix-* set is used");
	headers(&h, "svix-id: " SVIX_ID, "svix-timestamp: " SVIX_TS, "webhook-id: " SVIX_ID,
	        "webhook-timestamp: " SVIX_TS, "webhook-signature: " SVIX_SIG, (const char *)NULL);
	V(AG_WEBHOOK_OK, "incomplete svix-*, complete webhook-*: webhook-* used");
	headers(&h, "svix-id: " SVIX_ID, "svix-timestamp: " SVIX_TS, "webhook-signature: " SVIX_SIG,
	        (const char *)NULL);
	V(AG_WEBHOOK_MISSING_HEADER, "mixed incomplete sets: missing_header");
	headers(&h, "svix-timestamp: " SVIX_TS, "svix-signature: " SVIX_SIG, (const char *)NULL);
	V(AG_WEBHOOK_MISSING_HEADER, "no id: missing_header");
	headers(&h, "svix-id: " SVIX_ID, "svix-signature: " SVIX_SIG, (const char *)NULL);
	V(AG_WEBHOOK_MISSING_HEADER, "no timestamp: missing_header");
	headers(&h, "svix-id: " SVIX_ID, "svix-timestamp: " SVIX_TS, (const char *)NULL);
	V(AG_WEBHOOK_MISSING_HEADER, "no signature: missing_header");
	headers(&h, "svix-id:", "svix-timestamp: " SVIX_TS, "svix-signature: " SVIX_SIG,
	        (const char *)NULL);
	V(AG_WEBHOOK_MISSING_HEADER, "empty id: missing_header");
	headers(&h, (const char *)NULL);
	V(AG_WEBHOOK_MISSING_HEADER, "no headers at all: missing_header");
	headers(&h, "svix-id: msg with space", "svix-timestamp: " SVIX_TS,
	        "svix-signature: " SVIX_SIG, (const char *)NULL);
	V(AG_WEBHOOK_BAD_HEADER, "id with a space: bad_header");
	{
		char line[400];

		memset(line, 'a', sizeof(line));
		memcpy(line, "svix-id: ", 9);
		line[9 + AG_WEBHOOK_ID_MAX + 1] = '\0';
		headers(&h, line, "svix-timestamp: " SVIX_TS, "svix-signature: " SVIX_SIG,
		        (const char *)NULL);
		V(AG_WEBHOOK_BAD_HEADER, "id of 257 bytes: bad_header");
	}

	/* malformed lines */
	ag_webhook_headers_init(&h);
	is_int(ag_webhook_header_add(&h, "svix-id " SVIX_ID, 8 + strlen(SVIX_ID)), AG_ERR_INVAL,
	       "line without a colon refused");
	is_int(ag_webhook_header_add(&h, ": x", 3), AG_ERR_INVAL, "line without a name refused");
	is_int(ag_webhook_header_add(&h, " svix-id: x", 11), AG_ERR_INVAL,
	       "space before the name refused");
	is_int(ag_webhook_header_add(&h, "svix-id : x", 11), AG_ERR_INVAL,
	       "space before the colon refused");
	is_int(ag_webhook_header_add(&h, "svix-id: a\rb", 12), AG_ERR_INVAL, "CR in a value refused");
	is_int(ag_webhook_header_add(&h, "svix-id: a\0b", 12), AG_ERR_INVAL,
	       "NUL in a value refused");
	is_int(ag_webhook_header_add(&h, "svix-id: a\x1b[31m", 14), AG_ERR_INVAL,
	       "escape sequence in a value refused");
	is_int(ag_webhook_header_add(&h, "svix-id: caf\xc3\xa9", 14), AG_ERR_INVAL,
	       "non-ASCII in one of our headers refused");
	is_int(ag_webhook_header_add(&h, "user-agent: caf\xc3\xa9", 17), 0,
	       "non-ASCII in another header ignored");
	is_int(ag_webhook_header_add(&h, "x-other: a\nb", 12), AG_ERR_INVAL,
	       "newline in another header refused");
	is_int(h.seen, 0, "... and nothing was recorded");
	is_int(ag_webhook_header_add(&h, "svix-id: one", 12), 0, "first svix-id");
	is_int(ag_webhook_header_add(&h, "SVIX-ID: two", 12), AG_ERR_INVAL,
	       "svix-id given twice refused");

	long_line = malloc(AG_WEBHOOK_HEADER_MAX + 32);
	if (long_line != NULL) {
		size_t n = strlen("svix-signature: ");

		memcpy(long_line, "svix-signature: ", n);
		memset(long_line + n, 'v', AG_WEBHOOK_HEADER_MAX);
		ag_webhook_headers_init(&h);
		is_int(ag_webhook_header_add(&h, long_line, n + AG_WEBHOOK_HEADER_MAX), 0,
		       "value of AG_WEBHOOK_HEADER_MAX bytes accepted");
		ag_webhook_headers_init(&h);
		long_line[n + AG_WEBHOOK_HEADER_MAX] = 'v';
		is_int(ag_webhook_header_add(&h, long_line, n + AG_WEBHOOK_HEADER_MAX + 1),
		       AG_ERR_INVAL, "value one byte longer refused");
		free(long_line);
	}

	/* blocks */
	{
		static const char crlf[] = "Content-Type: application/json\r\n"
		                           "svix-id: " SVIX_ID "\r\n"
		                           "svix-timestamp: " SVIX_TS "\r\n"
		                           "svix-signature: " SVIX_SIG "\r\n"
		                           "\r\n"
		                           "svix-id: ignored after the empty line\r\n";
		static const char lf[] = "svix-id: " SVIX_ID "\n"
		                         "svix-timestamp: " SVIX_TS "\n"
		                         "svix-signature: " SVIX_SIG;
		static const char bare[] = "svix-id: " SVIX_ID "\n"
		                           "not a header line\n";
		char *huge;

		ag_webhook_headers_init(&h);
		is_int(ag_webhook_headers_parse(&h, crlf, sizeof(crlf) - 1), 0,
		       "CRLF block with another header and an empty line parses");
		V(AG_WEBHOOK_OK, "... and verifies");
		ag_webhook_headers_init(&h);
		is_int(ag_webhook_headers_parse(&h, lf, sizeof(lf) - 1), 0,
		       "LF block, last line unterminated, parses");
		V(AG_WEBHOOK_OK, "... and verifies");
		ag_webhook_headers_init(&h);
		is_int(ag_webhook_headers_parse(&h, bare, sizeof(bare) - 1), AG_ERR_INVAL,
		       "block with a line that is not a header refused");
		huge = malloc(AG_WEBHOOK_BLOCK_MAX + 2);
		if (huge != NULL) {
			memset(huge, 'a', AG_WEBHOOK_BLOCK_MAX + 1);
			memcpy(huge, "x-pad: ", 7);
			ag_webhook_headers_init(&h);
			is_int(ag_webhook_headers_parse(&h, huge, AG_WEBHOOK_BLOCK_MAX + 1),
			       AG_ERR_INVAL, "block over 64 KiB refused");
			free(huge);
		}
	}
#undef V
	ag_webhook_secret_clear(&s);
}

static void
test_secret(void)
{
	static const struct {
		const char *text;
		int ok;
		const char *name;
	} cases[] = {
		{ SVIX_SECRET, 1, "no newline" },
		{ SVIX_SECRET "\n", 1, "LF" },
		{ SVIX_SECRET "\r\n", 1, "CRLF" },
		/* 64 bytes */
		{ "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
		  1, "64 bytes" },
		{ "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		  0, "65 bytes" },
		{ "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0, "without the whsec_ prefix" },
		{ "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0, "prefix in upper case" },
		{ "whsec_", 0, "prefix only" },
		{ "whsec_\n", 0, "prefix and newline only" },
		{ "", 0, "empty" },
		{ "\n", 0, "empty line" },
		{ " " SVIX_SECRET, 0, "leading space" },
		{ SVIX_SECRET " ", 0, "trailing space" },
		{ SVIX_SECRET "\n\n", 0, "two newlines" },
		{ SVIX_SECRET "\nwhsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 0, "two lines" },
		{ "whsec_MfKQ9r8GKYqrTwjUPD8I LPZIo2LaLaSw", 0, "space inside" },
		{ "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, "23 bytes: too short" },
		{ "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, "25 bytes without padding" },
		{ "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", 1, "25 bytes with padding" },
		{ "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB==", 0, "non-canonical last character" },
		{ "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_", 0, "base64url characters" },
		{ "whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1,
		  "64 hex digits are Base64 too (48 bytes)" },
	};
	struct ag_webhook_secret s;
	const char *why = NULL, *path;
	size_t i;
	char link[300];

	for (i = 0; i < AG_ARRAY_SIZE(cases); i++) {
		why = NULL;
		is_int(ag_webhook_secret_parse(cases[i].text, strlen(cases[i].text), &s, &why),
		       cases[i].ok ? 0 : AG_ERR_INVAL, "secret %s: %s", cases[i].ok ? "ok" : "refused",
		       cases[i].name);
		if (!cases[i].ok)
			ok(why != NULL && strstr(why, "MfKQ") == NULL && s.len == 0,
			   "... with a reason that does not quote it, key wiped");
	}
	why = NULL;
	ag_webhook_secret_parse(SVIX_SECRET "\0x", sizeof(SVIX_SECRET "\0x") - 1, &s, &why);
	ok(why != NULL, "secret with a NUL byte refused");

	path = write_file("ok.secret", SVIX_SECRET "\n", 0600);
	is_int(ag_webhook_secret_load(path, &s, &why), 0, "secret file 0600 loads");
	is_int(s.len, 24, "... 24 bytes");
	path = write_file("group.secret", SVIX_SECRET "\n", 0640);
	is_int(ag_webhook_secret_load(path, &s, &why), 0, "secret file 0640 loads");
	path = write_file("world.secret", SVIX_SECRET "\n", 0644);
	is_int(ag_webhook_secret_load(path, &s, &why), AG_ERR_UNSAFE,
	       "world-readable secret file refused");
	is_int(s.len, 0, "... nothing loaded");
	path = write_file("gw.secret", SVIX_SECRET "\n", 0660);
	is_int(ag_webhook_secret_load(path, &s, &why), AG_ERR_UNSAFE,
	       "group-writable secret file refused");
	path = write_file("short.secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0600);
	is_int(ag_webhook_secret_load(path, &s, &why), AG_ERR_INVAL, "short secret file refused");
	path = write_file("nob64.secret", "whsec_not*base64*at*all\n", 0600);
	is_int(ag_webhook_secret_load(path, &s, &why), AG_ERR_INVAL,
	       "non-Base64 secret file refused");
	snprintf(link, sizeof(link), "%s/missing.secret", tmpdir);
	is_int(ag_webhook_secret_load(link, &s, &why), AG_ERR_NOTFOUND, "missing secret file");
	path = write_file("target.secret", SVIX_SECRET "\n", 0600);
	snprintf(link, sizeof(link), "%s/link.secret", tmpdir);
	if (symlink(path, link) == 0)
		ok(ag_webhook_secret_load(link, &s, &why) != 0, "symlinked secret file refused");
	else
		skip("symlink: %s", strerror(errno));
	is_int(ag_webhook_secret_load(NULL, &s, &why), AG_ERR_INVAL, "no path refused");
	ag_webhook_secret_clear(&s);
	ag_webhook_secret_clear(NULL);
}

static long alloc_calls, fail_at; /* fail_at 0: never */

static void *
failing_malloc(size_t n)
{
	if (++alloc_calls == fail_at) {
		errno = ENOMEM; /* as malloc */
		return NULL;
	}
	return malloc(n);
}

/* A failed allocation while the body is parsed is out of memory (the
 * helper's exit 3, so that the sender retries), never an event read
 * wrong: jansson drops the byte it cannot buffer, which once made
 * "session.revoked" an ignored "session.revoke", acknowledged but never
 * applied. */
static void
test_events_nomem(void)
{
	static const char body[] =
		"{\"data\":{\"id\":\"sess_2bxQ8Zk3yUoWlDfRuN7cLmVtPa\",\"object\":\"session\","
		"\"status\":\"revoked\",\"user_id\":\"user_2bxQ8Zk3yUoWl\"},\"object\":\"event\","
		"\"type\":\"session.revoked\"}";
	struct ag_webhook_event ev;
	long n, wrong = 0, nomem = 0;
	int r;

	json_set_alloc_funcs(failing_malloc, free);
	for (n = 1;; n++) {
		alloc_calls = 0;
		fail_at = n;
		r = ag_webhook_event_parse((const uint8_t *)body, strlen(body), &ev);
		if (alloc_calls < n) {
			ok(r == 0 && ev.action == AG_WEBHOOK_END_SESSION &&
			   strcmp(ev.target, "sess_2bxQ8Zk3yUoWlDfRuN7cLmVtPa") == 0,
			   "events: fault-free parse of session.revoked");
			break;
		}
		if (r == AG_ERR_NOMEM && ev.type[0] == '\0')
			nomem++;
		else if (wrong++ < 5)
			diag("allocation %ld failed: returned %d, type \"%s\", target \"%s\"", n, r,
			     ev.type, ev.target);
	}
	fail_at = 0;
	json_set_alloc_funcs(malloc, free);
	is_int(wrong, 0, "events: each of %ld failed allocations is AG_ERR_NOMEM", n - 1);
	ok(nomem >= 5, "events: the sweep reached %ld allocations", nomem);
}

static void
test_events(void)
{
	static const struct {
		const char *body;
		int ok;
		enum ag_webhook_action action;
		const char *target;
		const char *name;
	} cases[] = {
		{ "{\"type\":\"session.revoked\",\"object\":\"event\",\"data\":{\"id\":\"sess_2abc\","
		  "\"user_id\":\"user_1\",\"status\":\"revoked\"}}",
		  1, AG_WEBHOOK_END_SESSION, "sess_2abc", "session.revoked" },
		{ "{\"data\":{\"id\":\"sess_x\"},\"type\":\"session.ended\"}", 1,
		  AG_WEBHOOK_END_SESSION, "sess_x", "session.ended" },
		{ "{\"data\":{\"id\":\"sess_y\"},\"type\":\"session.removed\"}", 1,
		  AG_WEBHOOK_END_SESSION, "sess_y", "session.removed" },
		{ "{\"type\":\"user.deleted\",\"data\":{\"deleted\":true,\"id\":\"user_29w83sx\","
		  "\"object\":\"user\"}}",
		  1, AG_WEBHOOK_END_USER, "user_29w83sx", "user.deleted" },
		{ "{\"type\":\"user.created\",\"data\":{\"id\":\"user_1\"}}", 1, AG_WEBHOOK_IGNORE,
		  "", "user.created is ignored" },
		{ "{\"type\":\"session.created\"}", 1, AG_WEBHOOK_IGNORE, "",
		  "session.created without data is ignored" },
		{ "{\"type\":\"email.created\",\"data\":[1,2]}", 1, AG_WEBHOOK_IGNORE, "",
		  "ignored events need no object data" },
		{ " \n{\"type\":\"user.deleted\",\"data\":{\"id\":\"u\"}}\n ", 1, AG_WEBHOOK_END_USER, "u",
		  "whitespace around the object" },
		{ "{\"type\":\"user.deleted\",\"data\":{\"id\":\"u\",\"id\":\"v\"}}", 0, 0, "",
		  "duplicate key in data" },
		{ "{\"type\":\"user.deleted\",\"type\":\"user.created\",\"data\":{\"id\":\"u\"}}", 0,
		  0, "", "duplicate type" },
		{ "{\"data\":{\"id\":\"u\"}}", 0, 0, "", "no type" },
		{ "{\"type\":1}", 0, 0, "", "type not a string" },
		{ "{\"type\":\"\"}", 0, 0, "", "empty type" },
		{ "{\"type\":\"user deleted\"}", 0, 0, "", "type with a space" },
		{ "{\"type\":\"user.deleted\\u0000x\",\"data\":{\"id\":\"u\"}}", 0, 0, "",
		  "type with NUL" },
		{ "{\"type\":\"user.deleted\"}", 0, 0, "", "user.deleted without data" },
		{ "{\"type\":\"user.deleted\",\"data\":{}}", 0, 0, "", "user.deleted without id" },
		{ "{\"type\":\"user.deleted\",\"data\":{\"id\":42}}", 0, 0, "", "numeric id" },
		{ "{\"type\":\"user.deleted\",\"data\":{\"id\":\"\"}}", 0, 0, "", "empty id" },
		{ "{\"type\":\"user.deleted\",\"data\":{\"id\":\"a\\u0000b\"}}", 0, 0, "",
		  "id with NUL" },
		{ "{\"type\":\"user.deleted\",\"data\":{\"id\":\"a\\nb\"}}", 0, 0, "",
		  "id with a newline" },
		{ "{\"type\":\"session.revoked\",\"data\":\"sess_1\"}", 0, 0, "", "data not an object" },
		{ "[{\"type\":\"user.deleted\",\"data\":{\"id\":\"u\"}}]", 0, 0, "", "top-level array" },
		{ "{\"type\":\"user.deleted\",\"data\":{\"id\":\"u\"}} {}", 0, 0, "",
		  "two documents" },
		{ "{\"type\":\"user.deleted\",\"data\":{\"id\":\"u\"}", 0, 0, "", "truncated" },
		{ "\"user.deleted\"", 0, 0, "", "a bare string" },
		{ "{\"test\": 2432232314}", 0, 0, "", "the Svix vector body (no type)" },
		{ "\xef\xbb\xbf{\"type\":\"x\"}", 0, 0, "", "byte order mark" },
	};
	struct ag_webhook_event ev;
	char buf[600];
	size_t i;

	for (i = 0; i < AG_ARRAY_SIZE(cases); i++) {
		int r = ag_webhook_event_parse((const uint8_t *)cases[i].body,
		                               strlen(cases[i].body), &ev);

		is_int(r, cases[i].ok ? 0 : AG_ERR_INVAL, "event %s: %s",
		       cases[i].ok ? "ok" : "bad_body", cases[i].name);
		if (cases[i].ok) {
			is_int(ev.action, cases[i].action, "... action");
			is_str(ev.target, cases[i].target, "... target");
		}
	}
	is_int(ag_webhook_event_parse((const uint8_t *)"", 0, &ev), AG_ERR_INVAL,
	       "event: empty body");
	is_int(ag_webhook_event_parse(NULL, 0, &ev), AG_ERR_INVAL, "event: no body");
	/* a session id one byte over AG_SID_MAX */
	snprintf(buf, sizeof(buf), "{\"type\":\"session.revoked\",\"data\":{\"id\":\"%0*d\"}}",
	         AG_SID_MAX + 1, 0);
	is_int(ag_webhook_event_parse((const uint8_t *)buf, strlen(buf), &ev), AG_ERR_INVAL,
	       "event: session id of AG_SID_MAX + 1 bytes");
	snprintf(buf, sizeof(buf), "{\"type\":\"session.revoked\",\"data\":{\"id\":\"%0*d\"}}",
	         AG_SID_MAX, 0);
	is_int(ag_webhook_event_parse((const uint8_t *)buf, strlen(buf), &ev), 0,
	       "event: session id of AG_SID_MAX bytes");
	/* deep nesting is jansson's to refuse, without crashing */
	{
		char *deep = malloc(40010);

		if (deep != NULL) {
			memset(deep, '[', 20000);
			memset(deep + 20000, ']', 20000);
			is_int(ag_webhook_event_parse((const uint8_t *)deep, 40000, &ev),
			       AG_ERR_INVAL, "event: 20000 nested arrays");
			free(deep);
		}
	}
	ok(strcmp(ag_webhook_reason_name(AG_WEBHOOK_REPLAYED), "replayed") == 0 &&
	           strcmp(ag_webhook_reason_name(AG_WEBHOOK_BAD_BODY), "bad_body") == 0 &&
	           strcmp(ag_webhook_reason_name((enum ag_webhook_reason)99), "invalid") == 0,
	   "reason names");
}

/* ------------------------------------------------------------- store */

static int
add_session(struct ag_store *st, const char *user, const char *clerk, int64_t now,
            uint8_t hash[32])
{
	struct ag_web_session ws;
	int64_t evicted = 0;
	int refused = 0;

	memset(&ws, 0, sizeof(ws));
	randombytes_buf(ws.id_hash, 32);
	randombytes_buf(ws.fingerprint, 32);
	ag_strlcpy(ws.user, user, sizeof(ws.user));
	ag_strlcpy(ws.user_key, user, sizeof(ws.user_key));
	if (clerk != NULL)
		ag_strlcpy(ws.clerk_sid, clerk, sizeof(ws.clerk_sid));
	ws.created = ws.last_seen = now;
	ws.idle_expires = now + 1800;
	ws.abs_expires = now + 43200;
	memcpy(hash, ws.id_hash, 32);
	return ag_store_session_create(st, &ws, 0, 1, now, &evicted, &refused);
}

/* A refresh family of subject tied to the session with hash (NULL: none);
 * tok receives its first token's hash. */
static int
add_family(struct ag_store *st, const char *subject, const uint8_t *sess_hash, int64_t now,
           uint8_t tok[32])
{
	char sid[AG_SID_MAX + 1];
	int64_t fam = 0;

	randombytes_buf(tok, 32);
	if (sess_hash != NULL)
		ag_session_handle(sess_hash, sid);
	return ag_store_refresh_create(st, subject, subject, sess_hash != NULL ? sid : NULL, tok, now,
	                               now + 86400, &fam);
}

/* The outcome of redeeming a family's token (OK: the family is alive). */
static enum ag_refresh_outcome
redeem(struct ag_store *st, const uint8_t tok[32], int64_t now)
{
	struct ag_refresh_info info;
	enum ag_refresh_outcome out = AG_REFRESH_UNKNOWN;
	uint8_t next[32];

	randombytes_buf(next, 32);
	if (ag_store_refresh_redeem(st, tok, next, now, 0, NULL, &out, &info) != 0)
		diag("redeem failed: %s", ag_store_errmsg(st));
	return out;
}

static int
alive(struct ag_store *st, const uint8_t hash[32], int64_t now)
{
	int a = -1;

	if (ag_store_session_alive(st, hash, now, &a, NULL) != 0)
		return -1;
	return a;
}

static int
event(const char *body, struct ag_webhook_event *ev)
{
	return ag_webhook_event_parse((const uint8_t *)body, strlen(body), ev);
}

static void
test_apply(void)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	struct ag_webhook_msg msg;
	struct ag_webhook_event ev;
	struct ag_webhook_result res;
	uint8_t a1[32], a2[32], a3[32], b1[32], t_a1[32], t_a3[32], t_b1[32], t_free[32],
	        t_bob[32];
	char err[AG_ERRBUF];
	int64_t now = INT64_C(1700000000);
	int replayed = -1;

	ag_config_defaults(&cfg);
	snprintf(cfg.state_file, sizeof(cfg.state_file), "%s/state.db", tmpdir);
	if (ag_store_open(&cfg, AG_STORE_CREATE, &st, err) != 0) {
		ok(0, "store opens: %s", err);
		return;
	}
	ok(add_session(st, "user_alice", "sess_A", now, a1) == 0 &&
	           add_session(st, "user_alice", "sess_A", now, a2) == 0 &&
	           add_session(st, "user_alice", "sess_C", now, a3) == 0 &&
	           add_session(st, "user_bob", "sess_B", now, b1) == 0,
	   "four sessions stored (two linked to Clerk session sess_A)");
	ok(add_family(st, "user_alice", a1, now, t_a1) == 0 &&
	           add_family(st, "user_alice", a3, now, t_a3) == 0 &&
	           add_family(st, "user_bob", b1, now, t_b1) == 0 &&
	           add_family(st, "user_alice", NULL, now, t_free) == 0 &&
	           add_family(st, "user_bob", NULL, now, t_bob) == 0,
	   "refresh families stored");

	memset(&msg, 0, sizeof(msg));
	ag_strlcpy(msg.id, "msg_1", sizeof(msg.id));
	msg.timestamp = now;
	event("{\"type\":\"session.revoked\",\"data\":{\"id\":\"sess_A\"}}", &ev);
	is_int(ag_webhook_apply(st, &msg, &ev, now, TOL, ag_session_handle, &replayed, &res), 0,
	       "session.revoked applied");
	is_int(replayed, 0, "... first time: not a replay");
	is_int(res.recorded, 1, "... the id is recorded");
	is_int(res.sessions_ended, 2, "... both sessions of sess_A ended");
	is_int(res.families_revoked, -1, "... families revoked with them (not counted)");
	ok(alive(st, a1, now) == 0 && alive(st, a2, now) == 0, "... sess_A's sessions are gone");
	ok(alive(st, a3, now) == 1 && alive(st, b1, now) == 1, "... the others are alive");
	is_int(redeem(st, t_a1, now), AG_REFRESH_REVOKED, "... sess_A's family is revoked");
	is_int(redeem(st, t_a3, now), AG_REFRESH_OK, "... another session's family is not");

	/* the same message again: nothing happens, even to a session created
	 * since with the same Clerk link */
	add_session(st, "user_alice", "sess_A", now, a2);
	is_int(ag_webhook_apply(st, &msg, &ev, now + 10, TOL, ag_session_handle, &replayed, &res),
	       0, "replayed message: no error");
	is_int(replayed, 1, "... reported as replayed");
	is_int(res.sessions_ended, 0, "... nothing ended");
	is_int(alive(st, a2, now + 10), 1, "... the new session is untouched");

	/* user.deleted: every session and every family of the user */
	ag_strlcpy(msg.id, "msg_2", sizeof(msg.id));
	event("{\"type\":\"user.deleted\",\"data\":{\"id\":\"user_alice\",\"deleted\":true}}", &ev);
	is_int(ag_webhook_apply(st, &msg, &ev, now + 20, TOL, ag_session_handle, &replayed, &res),
	       0, "user.deleted applied");
	is_int(res.sessions_ended, 2, "... alice's two remaining sessions ended");
	/* t_a3 was redeemed above (its family lives on), t_free never was */
	is_int(res.families_revoked, 2, "... her two live families revoked");
	ok(alive(st, a3, now + 20) == 0 && alive(st, a2, now + 20) == 0, "... alice has no session");
	is_int(redeem(st, t_free, now + 20), AG_REFRESH_REVOKED,
	       "... her family without a session is revoked");
	is_int(alive(st, b1, now + 20), 1, "... bob's session is alive");
	is_int(redeem(st, t_b1, now + 20), AG_REFRESH_OK, "... bob's session family is alive");
	is_int(redeem(st, t_bob, now + 20), AG_REFRESH_OK, "... bob's other family is alive");

	/* ignored event: recorded (a replay is refused), nothing changes */
	ag_strlcpy(msg.id, "msg_3", sizeof(msg.id));
	event("{\"type\":\"user.updated\",\"data\":{\"id\":\"user_bob\"}}", &ev);
	is_int(ag_webhook_apply(st, &msg, &ev, now + 30, TOL, ag_session_handle, &replayed, &res),
	       0, "ignored event applied");
	ok(replayed == 0 && res.sessions_ended == 0 && res.families_revoked == 0,
	   "... nothing done");
	ag_webhook_apply(st, &msg, &ev, now + 31, TOL, ag_session_handle, &replayed, &res);
	is_int(replayed, 1, "... its id is consumed too");

	/* A message stamped ahead of our clock stays acceptable until its
	 * timestamp + tolerance: its id must be remembered that long, even
	 * when another message purges expired ids in between. */
	ag_strlcpy(msg.id, "msg_future", sizeof(msg.id));
	msg.timestamp = now + 1000 + 250;
	ag_webhook_apply(st, &msg, &ev, now + 1000, TOL, ag_session_handle, &replayed, &res);
	is_int(replayed, 0, "message 250 s ahead accepted");
	ag_strlcpy(msg.id, "msg_other", sizeof(msg.id));
	msg.timestamp = now + 1000 + 450;
	ag_webhook_apply(st, &msg, &ev, now + 1000 + 450, TOL, ag_session_handle, &replayed, &res);
	ag_strlcpy(msg.id, "msg_future", sizeof(msg.id));
	msg.timestamp = now + 1000 + 250;
	ag_webhook_apply(st, &msg, &ev, now + 1000 + 500, TOL, ag_session_handle, &replayed, &res);
	is_int(replayed, 1, "... and still a replay 500 s later (its window is not over)");

	/* an action that fails forgets the id again, so a retry is processed */
	ag_strlcpy(msg.id, "msg_fails", sizeof(msg.id));
	msg.timestamp = now;
	memset(&ev, 0, sizeof(ev));
	ag_strlcpy(ev.type, "session.revoked", sizeof(ev.type));
	ev.action = AG_WEBHOOK_END_SESSION; /* with an empty target: refused by the store */
	is_int(ag_webhook_apply(st, &msg, &ev, now, TOL, ag_session_handle, &replayed, &res),
	       AG_ERR_INVAL, "failing action: error returned");
	ok(res.recorded == 0 && replayed == 0, "... with the id forgotten again");
	ag_webhook_apply(st, &msg, &ev, now, TOL, ag_session_handle, &replayed, &res);
	ok(replayed == 0, "... so the sender's retry is processed, not refused as a replay");

	/* hostile ids never reach the store */
	ag_strlcpy(msg.id, "", sizeof(msg.id));
	is_int(ag_webhook_apply(st, &msg, &ev, now, TOL, ag_session_handle, &replayed, &res),
	       AG_ERR_INVAL, "empty message id refused by apply");
	ag_strlcpy(msg.id, "a b", sizeof(msg.id));
	is_int(ag_webhook_apply(st, &msg, &ev, now, TOL, ag_session_handle, &replayed, &res),
	       AG_ERR_INVAL, "message id with a space refused by apply");
	ag_store_close(st);
}

int
main(void)
{
	umask(022);
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	ag_strlcpy(tmpdir, "/tmp/authguard-webhook.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0) {
		printf("Bail out! cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	test_vector();
	test_signature_lists();
	test_timestamps();
	test_headers();
	test_secret();
	test_events();
	test_events_nomem();
	test_apply();
	cleanup();
	return done_testing();
}
