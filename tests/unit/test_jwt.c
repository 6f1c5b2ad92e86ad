/* Unit tests for lib/jwt and lib/b64url: strict base64url, the RFC 8037
 * Ed25519 vector, sign/verify round trips for EdDSA, ES256 and HS256, out
 * of memory while verifying (no verdict), the order of the checks, and a
 * corpus of hostile tokens, each refused with the expected reason code. */
#include "autoconf.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>

#include "b64url.h"
#include "error.h"
#include "jwt.h"
#include "keyring.h"
#include "util.h"

#include "tap.h"

#define NOW INT64_C(1700000000)
#define ISS "https://issuer.test"
#define AUD "api"

/* RFC 8037 appendix A: a published test key, written at run time into a
 * temporary directory only. */
#define RFC_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define RFC_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define RFC_KID "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
#define RFC_INPUT "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define RFC_SIG "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

/* A valid claims set at NOW, and pieces to vary it. */
#define C_TIMES "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700000900"
#define C_OK "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\"," C_TIMES ",\"jti\":\"id-1\"}"

static char base[PATH_MAX];
static struct ag_keyring *ring_ed, *ring_es, *ring_hs, *ring_mixed, *ring_rfc;
static const struct ag_key *key_ed, *key_es, *key_hs;              /* single-key rings */
static const struct ag_key *mix_ed, *mix_es, *mix_hs;              /* the mixed ring */
static char kid_ed[AG_KEYRING_KID_MAX + 1], kid_es[AG_KEYRING_KID_MAX + 1];
static char kid_hs[AG_KEYRING_KID_MAX + 1];
static char mkid_ed[AG_KEYRING_KID_MAX + 1], mkid_es[AG_KEYRING_KID_MAX + 1];
static char mkid_hs[AG_KEYRING_KID_MAX + 1];
static int n_hostile; /* hostile tokens checked */

/* ------------------------------------------------------------ helpers */

static char *
b64(const void *p, size_t n)
{
	size_t cap = AG_B64URL_ENCODED_LEN(n) + 1;
	char *s = malloc(cap);

	if (s == NULL || ag_b64url_encode(p, n, s, cap, NULL) != 0) {
		printf("Bail out! b64 encode failed\n");
		exit(1);
	}
	return s;
}

/* Joins three strings with dots into a new string. */
static char *
join3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
	char *s = malloc(n);

	if (s == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	snprintf(s, n, "%s.%s.%s", a, b, c);
	return s;
}

/* header.payload signed by key (or, with key NULL, by HMAC-SHA256 under
 * the hk bytes). */
static char *
make(const struct ag_key *key, const uint8_t *hk, size_t hklen, const char *hdr,
     size_t hlen, const char *pl, size_t plen)
{
	char *h = b64(hdr, hlen), *p = b64(pl, plen), *in, *s, *tok;
	uint8_t sig[AG_KEYRING_SIG_MAX];
	size_t siglen = 0;

	in = join3(h, p, "");
	in[strlen(in) - 1] = '\0'; /* "h.p" */
	if (key != NULL) {
		if (ag_keyring_sign(key, (const uint8_t *)in, strlen(in), sig, &siglen) != 0)
			diag("signing failed");
	} else {
		crypto_auth_hmacsha256_state st;

		crypto_auth_hmacsha256_init(&st, hk, hklen);
		crypto_auth_hmacsha256_update(&st, (const uint8_t *)in, strlen(in));
		crypto_auth_hmacsha256_final(&st, sig);
		siglen = 32;
	}
	s = b64(sig, siglen);
	tok = join3(h, p, s);
	free(h);
	free(p);
	free(in);
	free(s);
	return tok;
}

/* A token with a header formatted from hfmt, claims pl, signed by key. */
static char *
tokf(const struct ag_key *key, const char *pl, const char *hfmt, ...)
        __attribute__((format(printf, 3, 4)));
static char *
tokf(const struct ag_key *key, const char *pl, const char *hfmt, ...)
{
	char hdr[8192];
	va_list ap;

	va_start(ap, hfmt);
	vsnprintf(hdr, sizeof(hdr), hfmt, ap);
	va_end(ap);
	return make(key, NULL, 0, hdr, strlen(hdr), pl, strlen(pl));
}

/* A token with the standard EdDSA header of the ed ring and claims pl. */
static char *
ed_claims(const char *pl)
{
	return tokf(key_ed, pl, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", kid_ed);
}

static void
expect_default(struct ag_jwt_expect *e)
{
	ag_jwt_expect_init(e, ISS, AUD);
}

/* Verifies len bytes of tok against kr and checks the reason; frees tok. */
static void
check_len(const struct ag_keyring *kr, char *tok, size_t len, const struct ag_jwt_expect *e,
          int64_t now, enum ag_jwt_reason want, const char *what)
{
	json_t *claims = (json_t *)&claims; /* must be reset */
	enum ag_jwt_reason why = AG_JWT_REASON_COUNT;
	int r;

	r = ag_jwt_verify(kr, tok, len, e, now, &claims, &why);
	if (want == AG_JWT_OK) {
		ok(r == 0 && why == AG_JWT_OK && claims != NULL, "valid: %s (got %s)", what,
		   ag_jwt_reason_name(why));
	} else {
		n_hostile++;
		ok(r == AG_ERR_INVAL && why == want && claims == NULL, "refused as %s: %s (got %s, %d)",
		   ag_jwt_reason_name(want), what, ag_jwt_reason_name(why), r);
	}
	if (r == 0)
		json_decref(claims);
	free(tok);
}

static void
check(const struct ag_keyring *kr, char *tok, enum ag_jwt_reason want, const char *what)
{
	struct ag_jwt_expect e;

	expect_default(&e);
	check_len(kr, tok, strlen(tok), &e, NOW, want, what);
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	return d;
}

/* Decodes segment i (0, 1, 2) of tok into out; returns its length. */
static size_t
segment(const char *tok, int i, uint8_t *out, size_t size)
{
	const char *s = tok, *e;
	size_t n = 0;

	while (i-- > 0 && s != NULL)
		if ((s = strchr(s, '.')) != NULL)
			s++;
	if (s == NULL)
		return 0;
	e = strchr(s, '.');
	if (e == NULL)
		e = s + strlen(s);
	if (ag_b64url_decode(s, (size_t)(e - s), out, size, &n) != 0)
		return 0;
	return n;
}

/* Replaces segment i of tok by the encoding of n bytes at p. */
static char *
replace_segment(const char *tok, int i, const void *p, size_t n)
{
	char *t = xstrdup(tok), *parts[3], *enc = b64(p, n), *out;

	parts[0] = t;
	parts[1] = strchr(parts[0], '.');
	*parts[1]++ = '\0';
	parts[2] = strchr(parts[1], '.');
	*parts[2]++ = '\0';
	parts[i] = enc;
	out = join3(parts[0], parts[1], parts[2]);
	free(t);
	free(enc);
	return out;
}

/* ------------------------------------------------------------ setup */

static void
write_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		diag("cannot write %s", p);
	if (fd >= 0)
		close(fd);
}

static struct ag_keyring *
ring(const char *name, const enum ag_key_alg *algs, size_t n, char (*kids)[AG_KEYRING_KID_MAX + 1])
{
	struct ag_keyring *kr = NULL;
	char d[PATH_MAX], err[AG_ERRBUF];
	size_t i;

	snprintf(d, sizeof(d), "%s/%s", base, name);
	if (mkdir(d, 0700) != 0) {
		printf("Bail out! mkdir %s\n", d);
		exit(1);
	}
	for (i = 0; i < n; i++) {
		if (ag_keyring_generate(d, algs[i], 1, 0600, kids[i], err) != 0) {
			printf("Bail out! %s\n", err);
			exit(1);
		}
	}
	if (ag_keyring_load(d, &kr, err) != 0) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	return kr;
}

static void
setup(void)
{
	static const enum ag_key_alg ed[] = { AG_KEY_EDDSA }, es[] = { AG_KEY_ES256 };
	static const enum ag_key_alg hs[] = { AG_KEY_HS256 };
	static const enum ag_key_alg mixed[] = { AG_KEY_HS256, AG_KEY_ES256, AG_KEY_EDDSA };
	char kids[3][AG_KEYRING_KID_MAX + 1], d[PATH_MAX], err[AG_ERRBUF];

	ring_ed = ring("ed", ed, 1, kids);
	memcpy(kid_ed, kids[0], sizeof(kid_ed));
	ring_es = ring("es", es, 1, kids);
	memcpy(kid_es, kids[0], sizeof(kid_es));
	ring_hs = ring("hs", hs, 1, kids);
	memcpy(kid_hs, kids[0], sizeof(kid_hs));
	ring_mixed = ring("mixed", mixed, 3, kids); /* rotated HS256 -> ES256 -> EdDSA */
	memcpy(mkid_hs, kids[0], sizeof(mkid_hs));
	memcpy(mkid_es, kids[1], sizeof(mkid_es));
	memcpy(mkid_ed, kids[2], sizeof(mkid_ed));
	key_ed = ag_keyring_active(ring_ed);
	key_es = ag_keyring_active(ring_es);
	key_hs = ag_keyring_active(ring_hs);
	mix_ed = ag_keyring_find(ring_mixed, mkid_ed, strlen(mkid_ed));
	mix_es = ag_keyring_find(ring_mixed, mkid_es, strlen(mkid_es));
	mix_hs = ag_keyring_find(ring_mixed, mkid_hs, strlen(mkid_hs));
	if (mix_ed == NULL || mix_es == NULL || mix_hs == NULL ||
	    ag_keyring_active(ring_mixed) != mix_ed) {
		printf("Bail out! mixed ring not as rotated\n");
		exit(1);
	}

	snprintf(d, sizeof(d), "%s/rfc", base);
	if (mkdir(d, 0700) != 0) {
		printf("Bail out! mkdir %s\n", d);
		exit(1);
	}
	write_file(d, RFC_KID ".key",
	           "{\"kid\":\"" RFC_KID "\",\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\","
	           "\"use\":\"sig\",\"status\":\"active\",\"created\":0,\"x\":\"" RFC_X "\","
	           "\"d\":\"" RFC_D "\"}");
	if (ag_keyring_load(d, &ring_rfc, err) != 0) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
}

/* ------------------------------------------------------------ b64url */

static void
b64_ok(const char *bin, size_t n, const char *want)
{
	char enc[64];
	uint8_t dec[64];
	size_t len = 99;

	is_int(ag_b64url_encode((const uint8_t *)bin, n, enc, sizeof(enc), &len), 0,
	       "encode %zu bytes", n);
	is_str(enc, want, "encode \"%.*s\"", (int)n, bin);
	is_int(len, strlen(want), "encoded length");
	ok(ag_b64url_decode(want, strlen(want), dec, sizeof(dec), &len) == 0 && len == n &&
	   memcmp(dec, bin, n) == 0, "decode \"%s\"", want);
}

static void
b64_bad(const char *s, size_t n, const char *what)
{
	uint8_t dec[64];
	size_t len = 99;

	memset(dec, 0xa5, sizeof(dec));
	is_int(ag_b64url_decode(s, n, dec, sizeof(dec), &len), AG_ERR_INVAL, "refuse %s", what);
	ok(len == 0 && dec[0] == 0, "%s: output cleared", what);
}

static void
test_b64url(void)
{
	uint8_t buf[300], dec[300];
	char enc[420];
	size_t i, n, len, bad = 0;

	/* RFC 4648 section 10 vectors, unpadded */
	b64_ok("", 0, "");
	b64_ok("f", 1, "Zg");
	b64_ok("fo", 2, "Zm8");
	b64_ok("foo", 3, "Zm9v");
	b64_ok("foob", 4, "Zm9vYg");
	b64_ok("fooba", 5, "Zm9vYmE");
	b64_ok("foobar", 6, "Zm9vYmFy");
	b64_ok("\xfb\xff", 2, "-_8");
	b64_ok("\xff\xff\xff", 3, "____");
	b64_ok("\xfb\xef\xbe", 3, "----");

	b64_bad("Zg==", 4, "padding \"Zg==\"");
	b64_bad("Zg=", 3, "padding \"Zg=\"");
	b64_bad("Zm8=", 4, "padding \"Zm8=\"");
	b64_bad("Z", 1, "one character (length 1 mod 4)");
	b64_bad("Zm9vY", 5, "length 5");
	b64_bad("Zh", 2, "non-zero trailing bits \"Zh\"");
	b64_bad("Zm9", 3, "non-zero trailing bits \"Zm9\"");
	b64_bad("+_8", 3, "'+'");
	b64_bad("-/8", 3, "'/'");
	b64_bad("Zm9v Yg", 7, "space");
	b64_bad("Zm9vYg\n", 7, "newline");
	b64_bad("\tZm9v", 5, "tab");
	b64_bad("Zm\0v", 4, "NUL byte");
	b64_bad("Zm9\xc3", 4, "non-ASCII byte");
	b64_bad("Zm9.", 4, "dot");
	is_int(ag_b64url_decode("Zm9vYmFy", 8, dec, 5, &len), AG_ERR_TOOLONG,
	       "decode: output too small");
	memcpy(buf, "foo", 3);
	is_int(ag_b64url_encode(buf, 3, enc, 4, &len), AG_ERR_TOOLONG,
	       "encode: no room for the NUL");
	is_int(ag_b64url_encode(buf, 3, enc, 5, &len), 0, "encode: exact room");

	for (i = 0; i < 256; i++) {
		buf[0] = (uint8_t)i;
		if (ag_b64url_encode(buf, 1, enc, sizeof(enc), &n) != 0 ||
		    ag_b64url_decode(enc, n, dec, sizeof(dec), &len) != 0 || len != 1 ||
		    dec[0] != buf[0])
			bad++;
	}
	is_int(bad, 0, "all 256 one-byte values round-trip");
	bad = 0;
	for (n = 0; n < sizeof(buf); n++) {
		randombytes_buf(buf, n);
		if (ag_b64url_encode(buf, n, enc, sizeof(enc), &i) != 0 ||
		    i != AG_B64URL_ENCODED_LEN(n) ||
		    ag_b64url_decode(enc, i, dec, sizeof(dec), &len) != 0 || len != n ||
		    memcmp(buf, dec, n) != 0)
			bad++;
	}
	is_int(bad, 0, "random strings of 0..299 bytes round-trip");
	/* each of the 64 characters as the last of 2 or 3: exactly the
	 * canonical ones (low 4 or 2 bits zero) are accepted */
	bad = 0;
	for (i = 0; i < 64; i++) {
		static const char abc[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		char two[3] = { 'A', abc[i], 0 }, three[4] = { 'A', 'A', abc[i], 0 };

		if ((ag_b64url_decode(two, 2, dec, sizeof(dec), &len) == 0) != ((i & 15) == 0))
			bad++;
		if ((ag_b64url_decode(three, 3, dec, sizeof(dec), &len) == 0) != ((i & 3) == 0))
			bad++;
	}
	is_int(bad, 0, "trailing bits: only canonical final characters accepted");
}

/* ------------------------------------------------------------ vectors */

static void
test_rfc8037(void)
{
	const struct ag_key *k = ag_keyring_active(ring_rfc);
	uint8_t sig[AG_KEYRING_SIG_MAX], want[64];
	size_t siglen = 0, wlen = 0;
	char enc[128];

	is_int(ag_keyring_sign(k, (const uint8_t *)RFC_INPUT, strlen(RFC_INPUT), sig, &siglen), 0,
	       "RFC 8037 A.4: sign the JWS input");
	ag_b64url_encode(sig, siglen, enc, sizeof(enc), NULL);
	is_str(enc, RFC_SIG, "RFC 8037 A.4: signature matches");
	ok(ag_b64url_decode(RFC_SIG, strlen(RFC_SIG), want, sizeof(want), &wlen) == 0 &&
	   ag_keyring_verify(k, (const uint8_t *)RFC_INPUT, strlen(RFC_INPUT), want, wlen) == 0,
	   "RFC 8037 A.5: signature verifies");
	/* the A.4 token itself has no kid and no typ: our verifier refuses it */
	check(ring_rfc, xstrdup(RFC_INPUT "." RFC_SIG), AG_JWT_BAD_CLAIMS,
	      "RFC 8037 A.4 token (its payload is not a claims set)");
}

/* ------------------------------------------------------------ round trips */

static json_t *
std_claims(int64_t now)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "iss", ISS, "aud", AUD, "sub",
	                 "alice", "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
	                 (json_int_t)(now + 900), "jti", "6d9f1a0b", "sid", "s-1");
}

static void
round_trip(struct ag_keyring *kr, const char *alg, const char *kid)
{
	struct ag_jwt_expect e;
	json_t *claims = std_claims(NOW), *got = NULL, *hdr;
	enum ag_jwt_reason why = AG_JWT_ERROR;
	uint8_t buf[512];
	size_t n;
	char *tok = NULL;

	is_int(ag_jwt_sign(kr, claims, NULL, &tok), 0, "%s: sign", alg);
	if (tok == NULL) {
		json_decref(claims);
		return;
	}
	ok(strlen(tok) < 1024 && strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                     "0123456789-_.") == strlen(tok),
	   "%s: compact, base64url only", alg);
	n = segment(tok, 0, buf, sizeof(buf));
	hdr = json_loadb((const char *)buf, n, 0, NULL);
	is_str(json_string_value(json_object_get(hdr, "alg")), alg, "%s: header alg", alg);
	is_str(json_string_value(json_object_get(hdr, "kid")), kid, "%s: header kid", alg);
	is_str(json_string_value(json_object_get(hdr, "typ")), "at+jwt", "%s: header typ", alg);
	is_int(json_object_size(hdr), 3, "%s: header has alg, kid, typ only", alg);
	json_decref(hdr);
	n = segment(tok, 2, buf, sizeof(buf));
	is_int(n, strcmp(alg, "HS256") == 0 ? 32 : 64, "%s: raw signature length", alg);

	expect_default(&e);
	is_int(ag_jwt_verify(kr, tok, strlen(tok), &e, NOW, &got, &why), 0, "%s: verify", alg);
	is_int(why, AG_JWT_OK, "%s: reason ok", alg);
	ok(json_equal(got, claims), "%s: claims come back unchanged", alg);
	json_decref(got);
	got = NULL;
	/* boundaries of exp with the default leeway of 30 s */
	ok(ag_jwt_verify(kr, tok, strlen(tok), &e, NOW + 900 + 29, &got, &why) == 0,
	   "%s: valid 29 s after exp", alg);
	json_decref(got);
	got = NULL;
	ok(ag_jwt_verify(kr, tok, strlen(tok), &e, NOW + 900 + 30, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_EXPIRED && got == NULL, "%s: expired 30 s after exp", alg);
	e.leeway = 0;
	ok(ag_jwt_verify(kr, tok, strlen(tok), &e, NOW + 900, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_EXPIRED, "%s: expired at exp with no leeway", alg);
	ok(ag_jwt_verify(kr, tok, strlen(tok), &e, NOW + 899, &got, &why) == 0,
	   "%s: valid 1 s before exp with no leeway", alg);
	json_decref(got);
	got = NULL;
	ok(ag_jwt_verify(kr, tok, strlen(tok), &e, NOW - 1, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_NOT_YET_VALID, "%s: not valid 1 s before nbf with no leeway", alg);
	/* verification keys during a rotation verify too; other rings do not */
	if (kr != ring_mixed) {
		ok(ag_jwt_verify(ring_mixed, tok, strlen(tok), &e, NOW, &got, &why) ==
		   AG_ERR_INVAL && why == AG_JWT_UNKNOWN_KID,
		   "%s: another keyring does not know the kid", alg);
	}
	free(tok);
	tok = NULL;
	is_int(ag_jwt_sign(kr, claims, "JWT", &tok), 0, "%s: sign with typ JWT", alg);
	expect_default(&e);
	ok(tok != NULL && ag_jwt_verify(kr, tok, strlen(tok), &e, NOW, &got, &why) ==
	   AG_ERR_INVAL && why == AG_JWT_BAD_TYPE, "%s: typ JWT is not at+jwt", alg);
	e.typ = "JWT";
	ok(tok != NULL && ag_jwt_verify(kr, tok, strlen(tok), &e, NOW, &got, &why) == 0,
	   "%s: typ JWT when expected", alg);
	json_decref(got);
	free(tok);
	json_decref(claims);
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

/* Every allocation jansson makes while a good token is verified fails in
 * turn: each answer is the claims or AG_ERR_NOMEM with AG_JWT_ERROR (no
 * verdict), never a rejection -- jansson drops a byte it cannot buffer,
 * which once turned a kid into unknown_kid and an iss into bad_issuer. */
static void
verify_nomem(struct ag_keyring *kr, const char *alg)
{
	struct ag_jwt_expect e;
	json_t *claims = std_claims(NOW), *got;
	enum ag_jwt_reason why;
	long n, wrong = 0, nomem = 0;
	char *tok = NULL;
	int r;

	expect_default(&e);
	if (ag_jwt_sign(kr, claims, NULL, &tok) != 0) {
		ok(0, "%s: sign for the out-of-memory sweep", alg);
		json_decref(claims);
		return;
	}
	json_set_alloc_funcs(failing_malloc, free);
	for (n = 1;; n++) {
		alloc_calls = 0;
		fail_at = n;
		got = NULL;
		r = ag_jwt_verify(kr, tok, strlen(tok), &e, NOW, &got, &why);
		if (alloc_calls < n) {
			ok(r == 0 && why == AG_JWT_OK && json_equal(got, claims),
			   "%s: fault-free verify gives the claims", alg);
			json_decref(got);
			break;
		}
		if (r == AG_ERR_NOMEM && why == AG_JWT_ERROR && got == NULL)
			nomem++;
		else if (wrong++ < 5)
			diag("%s: allocation %ld failed: returned %d, reason %s", alg, n, r,
			     ag_jwt_reason_name(why));
		json_decref(got);
	}
	fail_at = 0;
	json_set_alloc_funcs(malloc, free);
	is_int(wrong, 0, "%s: each of %ld failed allocations is AG_ERR_NOMEM, no verdict", alg,
	       n - 1);
	ok(nomem >= 10, "%s: the sweep reached %ld allocations", alg, nomem);
	free(tok);
	json_decref(claims);
}

/* A token signed with a verification key of the mixed ring. */
static void
mixed_ok(const struct ag_key *k, const char *alg, const char *kid)
{
	char what[64];

	snprintf(what, sizeof(what), "rotation: %s verification key", alg);
	check(ring_mixed,
	      tokf(k, C_OK, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", alg, kid),
	      AG_JWT_OK, what);
}

static void
test_round_trips(void)
{
	struct ag_jwt_expect e;
	json_t *claims, *got = NULL;
	enum ag_jwt_reason why;
	char *tok = NULL;
	char big[9000];

	round_trip(ring_ed, "EdDSA", kid_ed);
	round_trip(ring_es, "ES256", kid_es);
	round_trip(ring_hs, "HS256", kid_hs);
	round_trip(ring_mixed, "EdDSA", mkid_ed);
	mixed_ok(mix_es, "ES256", mkid_es);
	mixed_ok(mix_hs, "HS256", mkid_hs);
	mixed_ok(mix_ed, "EdDSA", mkid_ed);
	verify_nomem(ring_ed, "EdDSA");
	verify_nomem(ring_es, "ES256");
	verify_nomem(ring_hs, "HS256");

	/* sign: argument checks */
	claims = std_claims(NOW);
	is_int(ag_jwt_sign(ring_ed, claims, "", &tok), AG_ERR_INVAL, "sign: empty typ");
	is_int(ag_jwt_sign(ring_ed, claims, "at jwt", &tok), AG_ERR_INVAL, "sign: typ with space");
	is_int(ag_jwt_sign(ring_ed, claims, "\"", &tok), 0, "sign: typ with a quote is escaped");
	free(tok);
	tok = NULL;
	is_int(ag_jwt_sign(NULL, claims, NULL, &tok), AG_ERR_INVAL, "sign: no keyring");
	json_decref(claims);
	claims = json_array();
	is_int(ag_jwt_sign(ring_ed, claims, NULL, &tok), AG_ERR_INVAL, "sign: claims not an object");
	ok(tok == NULL, "sign: no token on failure");
	json_decref(claims);
	claims = std_claims(NOW);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_object_set_new(claims, "pad", json_string(big));
	is_int(ag_jwt_sign(ring_ed, claims, NULL, &tok), AG_ERR_TOOLONG, "sign: token over 8 KiB");
	json_decref(claims);
	/* sign never makes a token verify refuses: claims of depth 32 (the
	 * object and 31 arrays) are signed and verify, 33 are refused */
	{
		json_t *inner = json_array(), *c2;
		enum ag_jwt_reason w = AG_JWT_ERROR;
		int d;

		for (d = 2; d < AG_JWT_MAX_DEPTH; d++)
			inner = json_pack("[o]", inner);
		claims = std_claims(NOW);
		json_object_set(claims, "deep", inner);
		tok = NULL;
		is_int(ag_jwt_sign(ring_ed, claims, NULL, &tok), 0, "sign: claims %d levels deep",
		       AG_JWT_MAX_DEPTH);
		expect_default(&e);
		c2 = NULL;
		ok(tok != NULL && ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW, &c2, &w) == 0,
		   "... and verify accepts them (%s)", ag_jwt_reason_name(w));
		json_decref(c2);
		free(tok);
		json_object_set_new(claims, "deep", json_pack("[o]", inner));
		tok = NULL;
		is_int(ag_jwt_sign(ring_ed, claims, NULL, &tok), AG_ERR_INVAL,
		       "sign: claims %d levels deep refused (verify would say bad_claims)",
		       AG_JWT_MAX_DEPTH + 1);
		ok(tok == NULL, "sign: no token then");
		json_decref(claims);
	}

	/* verify: argument checks give AG_JWT_ERROR, never a verdict */
	expect_default(&e);
	tok = ed_claims(C_OK);
	ok(ag_jwt_verify(NULL, tok, strlen(tok), &e, NOW, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: no keyring");
	e.leeway = AG_JWT_LEEWAY_MAX + 1;
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: leeway above %d s refused", AG_JWT_LEEWAY_MAX);
	e.leeway = -1;
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: negative leeway refused");
	expect_default(&e);
	e.max_len = 0;
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: size cap 0 refused");
	expect_default(&e);
	e.issuer = NULL;
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: no expected issuer refused");
	expect_default(&e);
	e.audience = NULL;
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: no expected audience refused");
	expect_default(&e);
	e.audience = "";
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: empty expected audience refused");
	expect_default(&e);
	e.typ = "";
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: empty expected typ refused");
	expect_default(&e);
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, -1, &got, &why) == AG_ERR_INVAL &&
	   why == AG_JWT_ERROR, "verify: negative time refused");
	e.leeway = AG_JWT_LEEWAY_MAX;
	ok(ag_jwt_verify(ring_ed, tok, strlen(tok), &e, NOW + 900 + 299, &got, &why) == 0,
	   "verify: leeway of %d s accepted", AG_JWT_LEEWAY_MAX);
	json_decref(got);
	free(tok);
}

/* ------------------------------------------------------------ hostile tokens */

#define H_ALG_KID "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}"
#define H_KID "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}"

static void
test_alg(void)
{
	static const char *const nones[] = { "none", "None", "NONE", "nOnE", "none ", " none",
		                             "\\tnone\\n", "non\\u0065", "NoNe\\r" };
	char what[64], *jwks_txt;
	json_t *jwks = NULL;
	uint8_t pub[64];
	size_t i, n;

	for (i = 0; i < AG_ARRAY_SIZE(nones); i++) {
		snprintf(what, sizeof(what), "alg \"%s\"", nones[i]);
		check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
		                    nones[i], kid_ed), AG_JWT_ALG_NONE, what);
	}
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"none\",\"typ\":\"at+jwt\"}"),
	      AG_JWT_ALG_NONE, "alg none without kid");
	{
		/* the classic: header.payload. with an empty signature */
		char *t = ed_claims(C_OK), *h64 = b64("{\"alg\":\"none\"}", 14);
		char *p = strchr(t, '.') + 1, *dot = strchr(p, '.');

		dot[1] = '\0'; /* "payload." */
		check(ring_ed, join3(h64, p, "") /* "h.payload.." */, AG_JWT_MALFORMED,
		      "alg none, empty signature, extra dot");
		dot[0] = '\0';
		check(ring_ed, join3(h64, p, ""), AG_JWT_MALFORMED,
		      "alg none with an empty signature");
		free(t);
		free(h64);
	}
	check(ring_ed, tokf(key_ed, C_OK, "{\"kid\":\"%s\",\"typ\":\"at+jwt\"}", kid_ed),
	      AG_JWT_BAD_HEADER, "no alg");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":[\"EdDSA\"],\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_BAD_HEADER, "alg as an array");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":null,\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_BAD_HEADER, "alg null");
	check(ring_ed, tokf(key_ed, C_OK, H_ALG_KID, "RS256", kid_ed), AG_JWT_ALG_MISMATCH, "alg RS256");
	check(ring_ed, tokf(key_ed, C_OK, H_ALG_KID, "eddsa", kid_ed), AG_JWT_ALG_MISMATCH,
	      "alg in the wrong case");
	check(ring_ed, tokf(key_ed, C_OK, H_ALG_KID, "EdDSA ", kid_ed), AG_JWT_ALG_MISMATCH,
	      "alg with a trailing space");
	check(ring_ed, tokf(key_ed, C_OK, H_ALG_KID, "Ed25519", kid_ed), AG_JWT_ALG_MISMATCH,
	      "alg Ed25519 (not what the key is bound to)");
	check(ring_ed, tokf(key_es, C_OK, H_ALG_KID, "ES256", kid_ed), AG_JWT_ALG_MISMATCH,
	      "ES256 token naming an EdDSA key");
	check(ring_es, tokf(key_ed, C_OK, H_ALG_KID, "EdDSA", kid_es), AG_JWT_ALG_MISMATCH,
	      "EdDSA token naming an ES256 key");
	check(ring_hs, tokf(key_ed, C_OK, H_ALG_KID, "EdDSA", kid_hs), AG_JWT_ALG_MISMATCH,
	      "EdDSA token naming an HS256 key");

	/* HMAC with public key material (algorithm confusion) */
	char hdr[256];
	snprintf(hdr, sizeof(hdr), H_ALG_KID, "HS256", kid_ed);
	ag_keyring_jwks(ring_ed, &jwks);
	jwks_txt = json_dumps(jwks, JSON_COMPACT);
	{
		json_t *k0 = json_array_get(json_object_get(jwks, "keys"), 0);
		const char *x = json_string_value(json_object_get(k0, "x"));

		n = 0;
		if (x == NULL || ag_b64url_decode(x, strlen(x), pub, sizeof(pub), &n) != 0)
			diag("cannot decode x");
		check(ring_ed, make(NULL, pub, n, hdr, strlen(hdr), C_OK, strlen(C_OK)),
		      AG_JWT_ALG_MISMATCH, "HS256 keyed with the EdDSA public key bytes");
		check(ring_ed, make(NULL, (const uint8_t *)x, strlen(x), hdr, strlen(hdr), C_OK,
		                    strlen(C_OK)),
		      AG_JWT_ALG_MISMATCH, "HS256 keyed with the EdDSA public key as base64url");
	}
	check(ring_ed, make(NULL, (const uint8_t *)jwks_txt, strlen(jwks_txt), hdr, strlen(hdr),
	                    C_OK, strlen(C_OK)),
	      AG_JWT_ALG_MISMATCH, "HS256 keyed with the JWKS text");
	free(jwks_txt);
	json_decref(jwks);
	ag_keyring_jwks(ring_es, &jwks);
	jwks_txt = json_dumps(jwks, JSON_COMPACT);
	snprintf(hdr, sizeof(hdr), H_ALG_KID, "HS256", kid_es);
	check(ring_es, make(NULL, (const uint8_t *)jwks_txt, strlen(jwks_txt), hdr, strlen(hdr),
	                    C_OK, strlen(C_OK)),
	      AG_JWT_ALG_MISMATCH, "HS256 keyed with the ES256 JWKS text");
	free(jwks_txt);
	json_decref(jwks);
	/* in a ring that does hold an HS256 key, the public key is still no secret */
	ag_keyring_jwks(ring_mixed, &jwks);
	jwks_txt = json_dumps(jwks, JSON_COMPACT);
	snprintf(hdr, sizeof(hdr), H_ALG_KID, "HS256", mkid_hs);
	check(ring_mixed, make(NULL, (const uint8_t *)jwks_txt, strlen(jwks_txt), hdr,
	                       strlen(hdr), C_OK, strlen(C_OK)),
	      AG_JWT_BAD_SIGNATURE, "HS256 key's kid, HMAC keyed with the JWKS text");
	snprintf(hdr, sizeof(hdr), H_ALG_KID, "HS256", mkid_ed);
	check(ring_mixed, make(NULL, (const uint8_t *)jwks_txt, strlen(jwks_txt), hdr,
	                       strlen(hdr), C_OK, strlen(C_OK)),
	      AG_JWT_ALG_MISMATCH, "mixed ring: HS256 naming the EdDSA key");
	free(jwks_txt);
	json_decref(jwks);
}

static void
test_kid(void)
{
	char longkid[4001], upper[AG_KEYRING_KID_MAX + 1];
	size_t i;

	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\"}"),
	      AG_JWT_UNKNOWN_KID, "no kid");
	check(ring_ed, tokf(key_ed, C_OK, H_KID, ""), AG_JWT_UNKNOWN_KID, "empty kid");
	check(ring_ed, tokf(key_ed, C_OK, H_KID, "../x"), AG_JWT_UNKNOWN_KID, "kid ../x");
	check(ring_ed, tokf(key_ed, C_OK, H_KID, "../../../../etc/passwd"), AG_JWT_UNKNOWN_KID,
	      "kid ../../../../etc/passwd");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s.key\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_UNKNOWN_KID, "kid with .key appended");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"/%s\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_UNKNOWN_KID, "kid with a slash prepended");
	memset(longkid, 'A', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	check(ring_ed, tokf(key_ed, C_OK, H_KID, longkid), AG_JWT_UNKNOWN_KID, "kid of 4000 bytes");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\\u0000\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_BAD_HEADER, "kid with NUL via \\u0000");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%.20s\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_UNKNOWN_KID, "kid prefix");
	for (i = 0; kid_ed[i] != '\0'; i++)
		upper[i] = (char)(kid_ed[i] >= 'a' && kid_ed[i] <= 'z' ? kid_ed[i] - 32 : kid_ed[i]);
	upper[i] = '\0';
	check(ring_ed, tokf(key_ed, C_OK, H_KID, upper), AG_JWT_UNKNOWN_KID, "kid in another case");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":42,\"typ\":\"at+jwt\"}"),
	      AG_JWT_UNKNOWN_KID, "kid as a number");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":[\"%s\"],\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_UNKNOWN_KID, "kid as an array");
	check(ring_ed, tokf(key_es, C_OK, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
	                    kid_es), AG_JWT_UNKNOWN_KID, "kid of a key in another ring");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"\xc3\xa9\",\"typ\":\"at+jwt\"}"),
	      AG_JWT_UNKNOWN_KID, "non-ASCII kid");
}

static void
test_header_params(void)
{
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"crit\":[\"exp\"]}",
	                    kid_ed), AG_JWT_CRIT, "crit [\"exp\"]");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"crit\":[]}",
	                    kid_ed), AG_JWT_CRIT, "crit []");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"b64\":false,"
	                    "\"crit\":[\"b64\"]}",
	                    kid_ed), AG_JWT_CRIT, "crit [\"b64\"] (unencoded payload)");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"jwk\":{\"kty\":"
	                    "\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC_X "\"}}",
	                    kid_ed), AG_JWT_EMBEDDED_KEY, "embedded jwk");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"jku\":"
	                    "\"https://evil.test/jwks.json\"}",
	                    kid_ed), AG_JWT_EMBEDDED_KEY, "jku");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"x5u\":"
	                    "\"https://evil.test/cert.pem\"}",
	                    kid_ed), AG_JWT_EMBEDDED_KEY, "x5u");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"x5c\":[\"MIIB\"]}",
	                    kid_ed), AG_JWT_EMBEDDED_KEY, "x5c");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"jwk\":null}",
	                    kid_ed), AG_JWT_EMBEDDED_KEY, "jwk null");
	/* typ */
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", kid_ed),
	      AG_JWT_BAD_TYPE, "no typ");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
	                    kid_ed), AG_JWT_BAD_TYPE, "typ JWT");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"AT+JWT\"}",
	                    kid_ed), AG_JWT_BAD_TYPE, "typ AT+JWT");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"application/at+jwt\"}",
	                    kid_ed), AG_JWT_BAD_TYPE, "typ application/at+jwt");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":1}", kid_ed),
	      AG_JWT_BAD_TYPE, "typ as a number");
	/* Only alg, kid and typ: any other member is refused, not ignored.
	 * "b64": false without crit (RFC 7797) makes a verifier that honours
	 * it read the payload unencoded, so it must not pass here for any
	 * algorithm. */
	{
		static const struct { const char *alg; } algs[] = { { "EdDSA" }, { "ES256" }, { "HS256" } };
		static const char *const extra[] = {
			"\"b64\":false", "\"b64\":true", "\"cty\":\"x\"", "\"zip\":\"DEF\"",
			"\"x5t\":\"AAAA\"", "\"x5t#S256\":\"AAAA\"", "\"enc\":\"A256GCM\"",
			"\"x\":null", "\"\":1", "\"Alg\":\"none\"", "\"typ \":\"JWT\"",
		};
		const struct ag_keyring *rings[] = { ring_ed, ring_es, ring_hs };
		const struct ag_key *keys[] = { key_ed, key_es, key_hs };
		const char *kids[] = { kid_ed, kid_es, kid_hs };
		char what[96];
		size_t a, x;

		for (a = 0; a < AG_ARRAY_SIZE(algs); a++) {
			for (x = 0; x < AG_ARRAY_SIZE(extra); x++) {
				snprintf(what, sizeof(what), "%s: header member %s refused", algs[a].alg,
				         extra[x]);
				check(rings[a], tokf(keys[a], C_OK,
				                     "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\",%s}",
				                     algs[a].alg, kids[a], extra[x]),
				      AG_JWT_UNKNOWN_HEADER, what);
			}
			snprintf(what, sizeof(what), "%s: b64 false before alg, no typ", algs[a].alg);
			check(rings[a], tokf(keys[a], C_OK, "{\"b64\":false,\"alg\":\"%s\",\"kid\":\"%s\"}",
			                     algs[a].alg, kids[a]),
			      AG_JWT_UNKNOWN_HEADER, what);
		}
	}
	/* the control: exactly alg, kid, typ, in any order */
	check(ring_ed, tokf(key_ed, C_OK, "{\"typ\":\"at+jwt\",\"kid\":\"%s\",\"alg\":\"EdDSA\"}",
	                    kid_ed), AG_JWT_OK, "alg, kid, typ in another order");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"a\\u0000\":1}",
	                    kid_ed), AG_JWT_BAD_HEADER, "a member name with a NUL: bad_header");
}

/* Flips one bit inside the decoded segment i at the first occurrence of
 * needle, re-encodes and checks for a bad signature. */
static void
flip_in_segment(const struct ag_keyring *kr, char *tok, int i, const char *needle,
                const char *what)
{
	uint8_t buf[1024];
	size_t n = segment(tok, i, buf, sizeof(buf) - 1);
	char *p;

	buf[n] = '\0';
	p = strstr((char *)buf, needle);
	if (p == NULL) {
		ok(0, "%s: needle not found", what);
		free(tok);
		return;
	}
	*p ^= 0x01;
	check(kr, replace_segment(tok, i, buf, n), AG_JWT_BAD_SIGNATURE, what);
	free(tok);
}

static void
sig_flips(const struct ag_keyring *kr, const struct ag_key *k, const char *alg, const char *kid)
{
	struct ag_jwt_expect e;
	json_t *claims = NULL;
	enum ag_jwt_reason why;
	uint8_t sig[128];
	char *tok = tokf(k, C_OK, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", alg, kid);
	char *t, what[80];
	size_t n = segment(tok, 2, sig, sizeof(sig)), b, bad = 0;

	expect_default(&e);
	for (b = 0; b < n * 8; b++) {
		sig[b / 8] ^= (uint8_t)(1u << (b % 8));
		t = replace_segment(tok, 2, sig, n);
		if (ag_jwt_verify(kr, t, strlen(t), &e, NOW, &claims, &why) != AG_ERR_INVAL ||
		    why != AG_JWT_BAD_SIGNATURE || claims != NULL)
			bad++;
		free(t);
		sig[b / 8] ^= (uint8_t)(1u << (b % 8));
	}
	n_hostile++;
	is_int(bad, 0, "%s: all %zu single-bit flips of the signature refused as bad_signature",
	       alg, n * 8);
	snprintf(what, sizeof(what), "%s: signature one byte short", alg);
	check(kr, replace_segment(tok, 2, sig, n - 1), AG_JWT_BAD_SIGNATURE, what);
	sig[n] = 0;
	snprintf(what, sizeof(what), "%s: signature one byte long", alg);
	check(kr, replace_segment(tok, 2, sig, n + 1), AG_JWT_BAD_SIGNATURE, what);
	snprintf(what, sizeof(what), "%s: signature of another token", alg);
	t = tokf(k, C_OK, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"x\":1}", alg, kid);
	{
		uint8_t other[128];
		size_t m = segment(t, 2, other, sizeof(other));

		check(kr, replace_segment(tok, 2, other, m), AG_JWT_BAD_SIGNATURE, what);
	}
	free(t);
	snprintf(what, sizeof(what), "%s: bit flip in the header", alg);
	flip_in_segment(kr, xstrdup(tok), 0, "at+jwt", what);
	snprintf(what, sizeof(what), "%s: bit flip in the claims", alg);
	flip_in_segment(kr, xstrdup(tok), 1, "alice", what);
	free(tok);
}

static void
test_signatures(void)
{
	uint8_t sig[128], der[80];
	size_t n, i;
	char *tok;

	sig_flips(ring_ed, key_ed, "EdDSA", kid_ed);
	sig_flips(ring_es, key_es, "ES256", kid_es);
	sig_flips(ring_hs, key_hs, "HS256", kid_hs);

	/* ES256: the DER form some libraries emit is not the JWS form */
	tok = tokf(key_es, C_OK, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", kid_es);
	n = segment(tok, 2, sig, sizeof(sig));
	i = 0;
	der[i++] = 0x30;
	der[i++] = 68;
	der[i++] = 0x02;
	der[i++] = 32;
	memcpy(der + i, sig, 32);
	i += 32;
	der[i++] = 0x02;
	der[i++] = 32;
	memcpy(der + i, sig + 32, 32);
	i += 32;
	check(ring_es, replace_segment(tok, 2, der, i), AG_JWT_BAD_SIGNATURE,
	      "ES256: DER-encoded signature");
	memset(sig, 0, 32);
	check(ring_es, replace_segment(tok, 2, sig, n), AG_JWT_BAD_SIGNATURE, "ES256: R = 0");
	memset(sig, 0, 64);
	check(ring_es, replace_segment(tok, 2, sig, n), AG_JWT_BAD_SIGNATURE, "ES256: R = S = 0");
	memset(sig, 0xff, 64);
	check(ring_es, replace_segment(tok, 2, sig, n), AG_JWT_BAD_SIGNATURE,
	      "ES256: R and S above the group order");
	free(tok);

	/* EdDSA: a signature by another Ed25519 key under our kid */
	check(ring_ed, tokf(ag_keyring_active(ring_rfc), C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", kid_ed),
	      AG_JWT_BAD_SIGNATURE, "EdDSA: signed by another key under our kid");
	check(ring_hs, tokf(mix_hs, C_OK, "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
	                    kid_hs), AG_JWT_BAD_SIGNATURE, "HS256: another secret under our kid");
}

static void
test_encoding(void)
{
	char *good = ed_claims(C_OK), *t, *p;
	size_t len = strlen(good);
	char buf[2048];

#define VARIANT(s_, what_) check(ring_ed, xstrdup(s_), AG_JWT_MALFORMED, what_)
	snprintf(buf, sizeof(buf), "%s=", good);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "padding after the signature");
	snprintf(buf, sizeof(buf), "%s==", good);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "two padding characters");
	t = xstrdup(good);
	p = strchr(t, '.');
	snprintf(buf, sizeof(buf), "%.*s=%s", (int)(p - t), t, p);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "padding in the header segment");
	free(t);
	snprintf(buf, sizeof(buf), "%s", good);
	buf[len - 5] = '+';
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "'+' in the signature");
	snprintf(buf, sizeof(buf), "%s", good);
	buf[3] = '/';
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "'/' in the header");
	snprintf(buf, sizeof(buf), "%s\n", good);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "trailing newline");
	snprintf(buf, sizeof(buf), " %s", good);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "leading space");
	snprintf(buf, sizeof(buf), "%.10s %s", good, good + 10);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "space inside the header");
	p = strchr(good, '.');
	snprintf(buf, sizeof(buf), "%.*s\t%s", (int)(p + 1 - good), good, p + 1);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "tab after the first dot");
	/* an EdDSA signature is 64 bytes: 86 characters, 2 unused bits in
	 * the last one; 'B' sets one of them */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[len - 1] = 'B';
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "non-zero trailing bits in the signature");
	snprintf(buf, sizeof(buf), "%s", good);
	buf[len - 1] = '\0';
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "signature cut by one character");
	snprintf(buf, sizeof(buf), "%sAAA", good);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "signature of 89 characters (1 mod 4)");
	snprintf(buf, sizeof(buf), "%sA", good);
	check(ring_ed, xstrdup(buf), AG_JWT_BAD_SIGNATURE, "signature of 87 characters (65 bytes)");
	{
		struct ag_jwt_expect e;

		expect_default(&e);
		check_len(ring_ed, xstrdup(good), len + 1, &e, NOW, AG_JWT_MALFORMED,
		          "NUL byte after the token, counted in its length");
		check_len(ring_ed, xstrdup(good), len - 1, &e, NOW, AG_JWT_MALFORMED,
		          "length one short of the token");
	}
	/* segment counts */
	VARIANT("", "empty token");
	VARIANT("abc", "one segment");
	VARIANT("abc.def", "two segments");
	snprintf(buf, sizeof(buf), "%s.AAAA", good);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "four segments");
	snprintf(buf, sizeof(buf), "%s.", good);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "four segments, the last empty");
	VARIANT("..", "three empty segments");
	VARIANT("...", "four empty segments");
	t = xstrdup(good);
	p = strchr(t, '.');
	snprintf(buf, sizeof(buf), "%s", p);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "empty header segment");
	snprintf(buf, sizeof(buf), "%.*s.%s", (int)(p - t), t, strchr(p + 1, '.'));
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "empty claims segment");
	*strrchr(t, '.') = '\0';
	snprintf(buf, sizeof(buf), "%s.", t);
	check(ring_ed, xstrdup(buf), AG_JWT_MALFORMED, "empty signature segment");
	free(t);
#undef VARIANT
	free(good);
}

/* A token whose claims hold "x" with arrays nested k deep. */
static char *
nested_claims(size_t k)
{
	char buf[1024], *tok;
	size_t off, i;

	off = (size_t)snprintf(buf, 256, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\","
	                                 C_TIMES ",\"jti\":\"id-1\",\"x\":");
	for (i = 0; i < k; i++)
		buf[off++] = '[';
	for (i = 0; i < k; i++)
		buf[off++] = ']';
	buf[off++] = '}';
	buf[off] = '\0';
	tok = ed_claims(buf);
	return tok;
}

static void
test_json(void)
{
	struct ag_jwt_expect e;
	char *deep, *pl, *tok;
	size_t i, n, off;

	/* duplicate member names */
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_BAD_HEADER, "duplicate alg in the header");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"none\",\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_BAD_HEADER, "duplicate alg, none first");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"kid\":\"x\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_BAD_HEADER, "duplicate kid in the header");
	check(ring_ed, tokf(key_ed, C_OK,
	                    "{\"alg\":\"EdDSA\",\"a\\u006cg\":\"none\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
	                    kid_ed), AG_JWT_BAD_HEADER, "duplicate alg spelled with an escape");
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"sub\":"
	                         "\"admin\"," C_TIMES ",\"jti\":\"id-1\"}"),
	      AG_JWT_BAD_CLAIMS, "duplicate sub in the claims");
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\","
	                         C_TIMES ",\"exp\":9999999999,\"jti\":\"id-1\"}"),
	      AG_JWT_BAD_CLAIMS, "duplicate exp in the claims");
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\","
	                         C_TIMES ",\"jti\":\"id-1\",\"x\":{\"a\":1,\"a\":2}}"),
	      AG_JWT_BAD_CLAIMS, "duplicate member in a nested object");

	/* not JSON objects */
	check(ring_ed, tokf(key_ed, C_OK, "[\"EdDSA\"]"), AG_JWT_BAD_HEADER, "header is an array");
	check(ring_ed, tokf(key_ed, C_OK, "\"EdDSA\""), AG_JWT_BAD_HEADER, "header is a string");
	check(ring_ed, tokf(key_ed, C_OK, "null"), AG_JWT_BAD_HEADER, "header is null");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"", kid_ed),
	      AG_JWT_BAD_HEADER, "header is truncated JSON");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\"} {}",
	                    kid_ed), AG_JWT_BAD_HEADER, "header has a second value");
	check(ring_ed, tokf(key_ed, C_OK, "{'alg':'EdDSA'}"), AG_JWT_BAD_HEADER,
	      "header in single quotes");
	check(ring_ed, ed_claims("[1,2]"), AG_JWT_BAD_CLAIMS, "claims are an array");
	check(ring_ed, ed_claims("Example of Ed25519 signing"), AG_JWT_BAD_CLAIMS,
	      "claims are not JSON");
	check(ring_ed, ed_claims(""), AG_JWT_MALFORMED, "claims are empty (empty segment)");
	check(ring_ed, ed_claims("{\"sub\":\"a\",}"), AG_JWT_BAD_CLAIMS, "trailing comma");
	check(ring_ed, ed_claims("{\"exp\":1e400}"), AG_JWT_BAD_CLAIMS, "number overflow");
	check(ring_ed, ed_claims("{\"exp\":99999999999999999999999}"), AG_JWT_BAD_CLAIMS,
	      "integer overflow");

	/* UTF-8 */
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\xff\","
	                         C_TIMES ",\"jti\":\"id-1\"}"),
	      AG_JWT_BAD_CLAIMS, "invalid UTF-8 byte 0xff in sub");
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\xc0\xaf\","
	                         C_TIMES ",\"jti\":\"id-1\"}"),
	      AG_JWT_BAD_CLAIMS, "overlong UTF-8 encoding of '/'");
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\xed\xa0\x80\","
	                         C_TIMES ",\"jti\":\"id-1\"}"),
	      AG_JWT_BAD_CLAIMS, "UTF-8 encoded surrogate");
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\\ud800\","
	                         C_TIMES ",\"jti\":\"id-1\"}"),
	      AG_JWT_BAD_CLAIMS, "lone surrogate escape");
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\xe2\x82\","
	                         C_TIMES ",\"jti\":\"id-1\"}"),
	      AG_JWT_BAD_CLAIMS, "truncated UTF-8 sequence");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"at+jwt\xfe\"}",
	                    kid_ed), AG_JWT_BAD_HEADER, "invalid UTF-8 in the header");
	check(ring_ed, ed_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\xc3\xa9l\xc3\xa8ne\","
	                         C_TIMES ",\"jti\":\"id-1\"}"),
	      AG_JWT_OK, "valid UTF-8 in sub is fine");

	/* nesting: 10000 nested arrays (under a larger size cap, so that the
	 * depth check is what refuses it) */
	n = 10000;
	deep = malloc(2 * n + 256);
	off = (size_t)snprintf(deep, 256, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\","
	                                  C_TIMES ",\"jti\":\"id-1\",\"x\":");
	for (i = 0; i < n; i++)
		deep[off++] = '[';
	for (i = 0; i < n; i++)
		deep[off++] = ']';
	deep[off++] = '}';
	deep[off] = '\0';
	tok = ed_claims(deep);
	expect_default(&e);
	check_len(ring_ed, xstrdup(tok), strlen(tok), &e, NOW, AG_JWT_TOO_LARGE,
	          "10000 nested arrays: too large under the default cap");
	e.max_len = AG_JWT_MAX_LEN_LIMIT;
	check_len(ring_ed, tok, strlen(tok), &e, NOW, AG_JWT_BAD_CLAIMS,
	          "10000 nested arrays: too deep (256 KiB cap)");
	/* and 10000 nested objects in the header */
	free(deep);
	deep = malloc(5 * n + 1);
	off = 0;
	for (i = 0; i < n; i++) {
		memcpy(deep + off, "{\"a\":", 5);
		off += 5;
	}
	deep[off] = '\0';
	pl = make(key_ed, NULL, 0, deep, off, C_OK, strlen(C_OK));
	check_len(ring_ed, pl, strlen(pl), &e, NOW, AG_JWT_BAD_HEADER,
	          "10000 nested objects in the header");
	free(deep);
	/* the claims object plus 31 arrays is exactly the limit; one more is not */
	check(ring_ed, nested_claims(AG_JWT_MAX_DEPTH - 1), AG_JWT_OK,
	      "nesting of exactly AG_JWT_MAX_DEPTH");
	check(ring_ed, nested_claims(AG_JWT_MAX_DEPTH), AG_JWT_BAD_CLAIMS,
	      "nesting one deeper than AG_JWT_MAX_DEPTH");
	/* brackets inside strings do not count */
	deep = malloc(2 * n + 256);
	off = (size_t)snprintf(deep, 256, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\","
	                                  C_TIMES ",\"jti\":\"id-1\",\"x\":\"\\\"");
	for (i = 0; i < 100; i++)
		deep[off++] = '[';
	deep[off++] = '"';
	deep[off++] = '}';
	deep[off] = '\0';
	check(ring_ed, ed_claims(deep), AG_JWT_OK, "brackets inside a string are not nesting");
	free(deep);
}

static void
test_claims(void)
{
	struct ag_jwt_expect e;
	char *tok;

#define CL(body_, want_, what_) check(ring_ed, ed_claims(body_), want_, what_)
	/* types of the time claims */
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000000,\"exp\":\"1700000900\",\"jti\":\"j\"}", AG_JWT_BAD_CLAIM_TYPE,
	   "exp as a string");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000000,\"exp\":1700000900.5,\"jti\":\"j\"}", AG_JWT_BAD_CLAIM_TYPE,
	   "exp as a real number");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000000,\"exp\":1.7000009e9,\"jti\":\"j\"}", AG_JWT_BAD_CLAIM_TYPE,
	   "exp in exponent notation");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000000,\"exp\":true,\"jti\":\"j\"}", AG_JWT_BAD_CLAIM_TYPE, "exp as a boolean");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000000,\"exp\":null,\"jti\":\"j\"}", AG_JWT_BAD_CLAIM_TYPE, "exp null");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000000,\"jti\":\"j\"}", AG_JWT_MISSING_CLAIM, "exp missing");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "\"1700000000\",\"exp\":1700000900,\"jti\":\"j\"}", AG_JWT_BAD_CLAIM_TYPE,
	   "nbf as a string");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,"
	   "\"exp\":1700000900,\"jti\":\"j\"}", AG_JWT_MISSING_CLAIM, "nbf missing");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":[1700000000],\"nbf\":"
	   "1700000000,\"exp\":1700000900,\"jti\":\"j\"}", AG_JWT_BAD_CLAIM_TYPE,
	   "iat as an array");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"nbf\":1700000000,"
	   "\"exp\":1700000900,\"jti\":\"j\"}", AG_JWT_MISSING_CLAIM, "iat missing");
	/* time */
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1699999000,\"nbf\":"
	   "1699999000,\"exp\":1699999969,\"jti\":\"j\"}", AG_JWT_EXPIRED,
	   "expired 31 s ago (leeway 30 s)");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1699999000,\"nbf\":"
	   "1699999000,\"exp\":1699999970,\"jti\":\"j\"}", AG_JWT_EXPIRED,
	   "expired exactly 30 s ago");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1699999000,\"nbf\":"
	   "1699999000,\"exp\":1699999971,\"jti\":\"j\"}", AG_JWT_OK,
	   "expired 29 s ago: within the leeway");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":0,\"nbf\":0,"
	   "\"exp\":-1,\"jti\":\"j\"}", AG_JWT_EXPIRED, "negative exp");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000000,\"exp\":-9223372036854775808,\"jti\":\"j\"}", AG_JWT_EXPIRED,
	   "exp of INT64_MIN");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000031,\"exp\":1700000900,\"jti\":\"j\"}", AG_JWT_NOT_YET_VALID,
	   "nbf 31 s ahead");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "1700000030,\"exp\":1700000900,\"jti\":\"j\"}", AG_JWT_OK, "nbf 30 s ahead: leeway");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000000,\"nbf\":"
	   "9223372036854775807,\"exp\":9223372036854775807,\"jti\":\"j\"}",
	   AG_JWT_NOT_YET_VALID, "nbf of INT64_MAX");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1700000031,\"nbf\":"
	   "1700000000,\"exp\":1700000900,\"jti\":\"j\"}", AG_JWT_ISSUED_IN_FUTURE,
	   "iat 31 s in the future");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"iat\":1800000000,\"nbf\":"
	   "1700000000,\"exp\":1800000900,\"jti\":\"j\"}", AG_JWT_ISSUED_IN_FUTURE,
	   "iat years in the future");
	/* issuer */
	CL("{\"iss\":\"https://evil.test\",\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES
	   ",\"jti\":\"j\"}", AG_JWT_BAD_ISSUER, "wrong iss");
	CL("{\"iss\":\"" ISS "/\",\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_BAD_ISSUER, "iss with a trailing slash");
	CL("{\"iss\":\"HTTPS://ISSUER.TEST\",\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES
	   ",\"jti\":\"j\"}", AG_JWT_BAD_ISSUER, "iss in another case");
	CL("{\"iss\":[\"" ISS "\"],\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_BAD_CLAIM_TYPE, "iss as an array");
	CL("{\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}", AG_JWT_MISSING_CLAIM,
	   "iss missing");
	/* audience */
	CL("{\"iss\":\"" ISS "\",\"aud\":\"other\",\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_BAD_AUDIENCE, "wrong aud");
	CL("{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"more\"],\"sub\":\"a\"," C_TIMES
	   ",\"jti\":\"j\"}", AG_JWT_BAD_AUDIENCE, "aud array without ours");
	CL("{\"iss\":\"" ISS "\",\"aud\":[],\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_BAD_AUDIENCE, "empty aud array");
	CL("{\"iss\":\"" ISS "\",\"aud\":42,\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_BAD_CLAIM_TYPE, "aud as a number");
	CL("{\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\",42],\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_BAD_CLAIM_TYPE, "aud array with a number");
	CL("{\"iss\":\"" ISS "\",\"aud\":{\"" AUD "\":true},\"sub\":\"a\"," C_TIMES
	   ",\"jti\":\"j\"}", AG_JWT_BAD_CLAIM_TYPE, "aud as an object");
	CL("{\"iss\":\"" ISS "\",\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}", AG_JWT_MISSING_CLAIM,
	   "aud missing");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "x\",\"sub\":\"a\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_BAD_AUDIENCE, "aud with our audience as a prefix");
	CL("{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"" AUD "\"],\"sub\":\"a\"," C_TIMES
	   ",\"jti\":\"j\"}", AG_JWT_OK, "aud array containing ours");
	/* the other required claims */
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_MISSING_CLAIM, "sub missing");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\"," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_MISSING_CLAIM, "sub empty");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":42," C_TIMES ",\"jti\":\"j\"}",
	   AG_JWT_BAD_CLAIM_TYPE, "sub as a number");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES "}",
	   AG_JWT_MISSING_CLAIM, "jti missing");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES ",\"jti\":7}",
	   AG_JWT_BAD_CLAIM_TYPE, "jti as a number");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES
	   ",\"jti\":\"j\",\"sid\":5}", AG_JWT_BAD_CLAIM_TYPE, "sid as a number");
	CL("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\"," C_TIMES
	   ",\"jti\":\"j\",\"sid\":\"s\"}", AG_JWT_OK, "sid as a string");
#undef CL

	/* size cap */
	{
		char pad[8200], pl[8400];
		size_t n;

		/* grow a claim until the token is just at, then just over, the cap */
		for (n = 5000; n < sizeof(pad) - 1; n++) {
			memset(pad, 'p', n);
			pad[n] = '\0';
			snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\","
			         C_TIMES ",\"jti\":\"j\",\"pad\":\"%s\"}", pad);
			tok = ed_claims(pl);
			if (strlen(tok) > AG_JWT_MAX_LEN_DEFAULT)
				break;
			free(tok);
			tok = NULL;
		}
		if (tok != NULL) {
			pad[n - 1] = '\0';
			snprintf(pl, sizeof(pl), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\","
			         C_TIMES ",\"jti\":\"j\",\"pad\":\"%s\"}", pad);
			char *under = ed_claims(pl);
			diag("token of %zu bytes against the cap of %d", strlen(tok),
			     AG_JWT_MAX_LEN_DEFAULT);
			check(ring_ed, under, AG_JWT_OK, "token just under the 8 KiB cap");
			check(ring_ed, tok, AG_JWT_TOO_LARGE, "token just over the 8 KiB cap");
		}
		tok = ed_claims(C_OK);
		expect_default(&e);
		e.max_len = strlen(tok) - 1;
		check_len(ring_ed, tok, strlen(tok), &e, NOW, AG_JWT_TOO_LARGE,
		          "token one byte over a configured cap");
		memset(pl, 'A', sizeof(pl) - 1);
		pl[sizeof(pl) - 1] = '\0';
		check(ring_ed, xstrdup(pl), AG_JWT_TOO_LARGE, "8 KiB of garbage");
	}

	/* the order of the checks: the first failing one is reported */
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"none\",\"kid\":\"nope\",\"crit\":[1]}"),
	      AG_JWT_ALG_NONE, "order: alg none before an unknown kid and crit");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"HS256\",\"kid\":\"nope\"}"),
	      AG_JWT_UNKNOWN_KID, "order: unknown kid before the alg/key match");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"crit\":[\"x\"],"
	                    "\"jwk\":{}}", kid_ed),
	      AG_JWT_CRIT, "order: crit before an embedded key");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"b64\":false,"
	                    "\"crit\":[\"b64\"]}", kid_ed),
	      AG_JWT_CRIT, "order: crit before an unknown member");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"b64\":false,"
	                    "\"jku\":\"https://evil.test/\"}", kid_ed),
	      AG_JWT_EMBEDDED_KEY, "order: an embedded key before an unknown member");
	check(ring_ed, tokf(key_ed, C_OK, "{\"alg\":\"EdDSA\",\"b64\":false}"),
	      AG_JWT_UNKNOWN_KID, "order: kid before an unknown member");
	check(ring_ed, tokf(key_es, "{\"exp\":1}", "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"b64\":false}",
	                    kid_ed),
	      AG_JWT_UNKNOWN_HEADER, "order: an unknown member before the signature");
	check(ring_ed, tokf(key_es, "{\"exp\":1}", "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", kid_ed),
	      AG_JWT_BAD_SIGNATURE, "order: signature before expiry and typ");
	check(ring_ed, ed_claims("{\"iss\":\"evil\",\"aud\":\"evil\",\"iat\":0,\"nbf\":0,\"exp\":1}"),
	      AG_JWT_EXPIRED, "order: expiry before issuer and audience");
	check(ring_ed, ed_claims("{\"iss\":\"evil\",\"aud\":\"evil\"," C_TIMES "}"),
	      AG_JWT_BAD_ISSUER, "order: issuer before audience");
	check(ring_ed, tokf(key_ed, "{\"iss\":\"" ISS "\",\"aud\":\"evil\"," C_TIMES "}",
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", kid_ed),
	      AG_JWT_BAD_AUDIENCE, "order: audience before typ");
	check(ring_ed, tokf(key_ed, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"," C_TIMES "}",
	                    "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", kid_ed),
	      AG_JWT_BAD_TYPE, "order: typ before sub and jti");
	check(ring_ed, tokf(key_ed, "[]", "{\"alg\":\"none\"}"), AG_JWT_BAD_CLAIMS,
	      "order: claims must be an object before alg is looked at");
}

static void
test_reason_names(void)
{
	const char *seen[AG_JWT_REASON_COUNT];
	int i, j, bad = 0;

	for (i = 0; i < AG_JWT_REASON_COUNT; i++) {
		seen[i] = ag_jwt_reason_name((enum ag_jwt_reason)i);
		if (strcmp(seen[i], "unknown") == 0 || strspn(seen[i], "abcdefghijklmnopqrstuvwxyz_") !=
		                                            strlen(seen[i]))
			bad++;
		for (j = 0; j < i; j++)
			if (strcmp(seen[i], seen[j]) == 0)
				bad++;
	}
	is_int(bad, 0, "every reason has a distinct snake_case name");
	is_str(ag_jwt_reason_name(AG_JWT_ALG_NONE), "alg_none", "alg_none");
	is_str(ag_jwt_reason_name(AG_JWT_REASON_COUNT), "unknown", "out of range");
	is_str(ag_jwt_reason_name((enum ag_jwt_reason)-1), "unknown", "negative");
}

int
main(void)
{
	char tmpl[] = "/tmp/test_jwt.XXXXXX";
	char cmd[PATH_MAX + 16];
	int status;

	if (sodium_init() < 0)
		return 1;
	if (mkdtemp(tmpl) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	snprintf(base, sizeof(base), "%s", tmpl);
	setup();
	test_b64url();
	test_rfc8037();
	test_round_trips();
	test_alg();
	test_kid();
	test_header_params();
	test_signatures();
	test_encoding();
	test_json();
	test_claims();
	test_reason_names();
	diag("%d hostile tokens refused with their expected reason", n_hostile);
	ok(n_hostile >= 40, "at least 40 hostile tokens in the corpus (%d)", n_hostile);
	ag_keyring_free(ring_ed);
	ag_keyring_free(ring_es);
	ag_keyring_free(ring_hs);
	ag_keyring_free(ring_mixed);
	ag_keyring_free(ring_rfc);
	status = done_testing();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		diag("could not remove %s", base);
	return status;
}
