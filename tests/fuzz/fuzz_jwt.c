/* libFuzzer target: JWT verification (compact form, header and claims).
 *
 * Two keyrings are generated once, in a private temporary directory, with
 * ag_keyring_generate(): ring A holds an active EdDSA key and an HS256
 * verification key, ring B an active HS256 key.  Issuer, audience and the
 * time are fixed.  The first input byte selects a mode:
 *
 *   0  the rest is a token, verified against both rings.  The input cannot
 *      know the keys, so acceptance is a failure.
 *   1  the rest is a claims object: it is signed with each ring's active
 *      key (ag_jwt_sign) and verified.  Acceptance is allowed only when
 *      the claims really satisfy every documented rule (checked here
 *      independently).
 *   2  the rest is a header (raw bytes; "@E" and "@H" are replaced by the
 *      EdDSA and HS256 kids): header "." valid claims is signed with the
 *      EdDSA and with the HS256 key (ag_keyring_sign) and verified.
 *      Acceptance is allowed only for a header naming that key and its
 *      alg, with typ "at+jwt" and no other member (no crit, jwk, b64...).
 *
 * verify must never leak *claims on refusal, and never crash. */
#include "autoconf.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "b64url.h"
#include "jwt.h"
#include "keyring.h"

#define FUZZ_MAX_INPUT 12288
#define NOW ((int64_t)1700000000)
#define ISS "https://auth.example.test"
#define AUD "api.example.test"

static char tmpdir[64], dir_a[96], dir_b[96];
static char kid_ed[AG_KEYRING_KID_MAX + 1], kid_hs[AG_KEYRING_KID_MAX + 1];
static char kid_hs_b[AG_KEYRING_KID_MAX + 1];
static struct ag_keyring *ring_a, *ring_b;
static struct ag_jwt_expect expect;

static void
rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static void
cleanup(void)
{
	ag_keyring_free(ring_a);
	ag_keyring_free(ring_b);
	rm_dir(dir_a);
	rm_dir(dir_b);
	rmdir(tmpdir);
}

static void
setup(void)
{
	const char *base = getenv("TMPDIR");
	char err[AG_ERRBUF];

	snprintf(tmpdir, sizeof(tmpdir), "%s/agfz-jwt.XXXXXX",
	         base != NULL && base[0] == '/' && strlen(base) < 30 ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(dir_a, sizeof(dir_a), "%s/a", tmpdir);
	snprintf(dir_b, sizeof(dir_b), "%s/b", tmpdir);
	if (mkdir(dir_a, 0700) != 0 || mkdir(dir_b, 0700) != 0)
		abort();
	if (ag_keyring_generate(dir_a, AG_KEY_HS256, 1, 0600, kid_hs, err) != 0 ||
	    ag_keyring_generate(dir_a, AG_KEY_EDDSA, 1, 0600, kid_ed, err) != 0 ||
	    ag_keyring_generate(dir_b, AG_KEY_HS256, 1, 0600, kid_hs_b, err) != 0) {
		fprintf(stderr, "fuzz_jwt: key generation failed: %s\n", err);
		abort();
	}
	if (ag_keyring_load(dir_a, &ring_a, err) != 0 ||
	    ag_keyring_load(dir_b, &ring_b, err) != 0) {
		fprintf(stderr, "fuzz_jwt: keyring load failed: %s\n", err);
		abort();
	}
	ag_jwt_expect_init(&expect, ISS, AUD);
}

/* Runs verify and checks the contract on the outputs.  Returns 1 when the
 * token was accepted (claims then in *out, owned by the caller). */
static int
verify(const struct ag_keyring *kr, const char *tok, size_t len, json_t **out)
{
	enum ag_jwt_reason reason = AG_JWT_REASON_COUNT;
	json_t *claims = (json_t *)0x1;
	int r = ag_jwt_verify(kr, tok, len, &expect, NOW, &claims, &reason);

	if ((unsigned)reason >= AG_JWT_REASON_COUNT)
		abort();
	(void)ag_jwt_reason_name(reason);
	if (r == 0) {
		if (reason != AG_JWT_OK || claims == NULL || !json_is_object(claims))
			abort();
		*out = claims;
		return 1;
	}
	if (reason == AG_JWT_OK || claims != NULL)
		abort();
	return 0;
}

static int
nonempty_string(json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0;
}

/* The documented rules, checked independently of the library. */
static void
check_valid_claims(json_t *c)
{
	json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
	json_t *iat = json_object_get(c, "iat"), *aud = json_object_get(c, "aud");
	json_t *sid = json_object_get(c, "sid");
	int64_t lw = expect.leeway;
	int aud_ok = 0;
	size_t i;

	if (!json_is_integer(exp) || !json_is_integer(nbf) || !json_is_integer(iat))
		abort();
	if (!((__int128)NOW < (__int128)json_integer_value(exp) + lw))
		abort();
	if (!((__int128)NOW >= (__int128)json_integer_value(nbf) - lw))
		abort();
	if (!((__int128)json_integer_value(iat) <= (__int128)NOW + lw))
		abort();
	if (!json_is_string(json_object_get(c, "iss")) ||
	    strcmp(json_string_value(json_object_get(c, "iss")), ISS) != 0 ||
	    json_string_length(json_object_get(c, "iss")) != strlen(ISS))
		abort();
	if (json_is_string(aud)) {
		aud_ok = json_string_length(aud) == strlen(AUD) &&
		         strcmp(json_string_value(aud), AUD) == 0;
	} else if (json_is_array(aud)) {
		for (i = 0; i < json_array_size(aud); i++) {
			json_t *a = json_array_get(aud, i);
			if (json_is_string(a) && json_string_length(a) == strlen(AUD) &&
			    strcmp(json_string_value(a), AUD) == 0)
				aud_ok = 1;
		}
	}
	if (!aud_ok)
		abort();
	if (!nonempty_string(json_object_get(c, "sub")) ||
	    !nonempty_string(json_object_get(c, "jti")))
		abort();
	if (sid != NULL && !json_is_string(sid))
		abort();
}

static void
mode_token(const char *tok, size_t len)
{
	json_t *c = NULL;

	if (verify(ring_a, tok, len, &c) || verify(ring_b, tok, len, &c)) {
		fprintf(stderr, "fuzz_jwt: a token not signed here was accepted\n");
		abort();
	}
}

static void
mode_claims(const char *text, size_t len)
{
	const struct ag_keyring *rings[2] = { ring_a, ring_b };
	json_t *claims = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL), *c;
	char *tok;
	int i;

	if (claims == NULL)
		return;
	for (i = 0; i < 2; i++) {
		tok = NULL;
		if (ag_jwt_sign(rings[i], claims, NULL, &tok) != 0)
			continue;
		c = NULL;
		if (verify(rings[i], tok, strlen(tok), &c)) {
			check_valid_claims(c);
			json_decref(c);
		}
		/* The other ring must never accept it. */
		if (verify(rings[1 - i], tok, strlen(tok), &c))
			abort();
		free(tok);
	}
	json_decref(claims);
}

static void
check_valid_header(const char *h, size_t len, const char *kid, const char *alg)
{
	json_t *o = json_loadb(h, len, JSON_REJECT_DUPLICATES, NULL), *v;

	if (!json_is_object(o))
		abort();
	v = json_object_get(o, "alg");
	if (!json_is_string(v) || strcmp(json_string_value(v), alg) != 0)
		abort();
	v = json_object_get(o, "kid");
	if (!json_is_string(v) || json_string_length(v) != strlen(kid) ||
	    strcmp(json_string_value(v), kid) != 0)
		abort();
	v = json_object_get(o, "typ");
	if (!json_is_string(v) || strcmp(json_string_value(v), AG_JWT_TYP_DEFAULT) != 0)
		abort();
	/* alg, kid and typ, nothing else (a name with a NUL never loads) */
	if (json_object_size(o) != 3)
		abort();
	json_decref(o);
}

static void
mode_header(const char *in, size_t inlen)
{
	static const char claims[] =
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"iat\":1700000000,"
	    "\"nbf\":1700000000,\"exp\":1700000300,\"jti\":\"j1\"}";
	const struct { const struct ag_keyring *kr; const char *kid; const char *alg; } k[2] = {
		{ ring_a, kid_ed, "EdDSA" }, { ring_b, kid_hs_b, "HS256" }
	};
	char *hdr, *tok;
	size_t hlen = 0, i, tlen, n, siglen;
	uint8_t sig[AG_KEYRING_SIG_MAX];
	json_t *c;
	int j;

	/* Expand "@E" and "@H" into the kids. */
	if ((hdr = malloc(inlen * (AG_KEYRING_KID_MAX / 2 + 1) + 1)) == NULL)
		abort();
	for (i = 0; i < inlen; i++) {
		if (in[i] == '@' && i + 1 < inlen && (in[i + 1] == 'E' || in[i + 1] == 'H')) {
			const char *kid = in[i + 1] == 'E' ? kid_ed : kid_hs_b;
			memcpy(hdr + hlen, kid, strlen(kid));
			hlen += strlen(kid);
			i++;
		} else {
			hdr[hlen++] = in[i];
		}
	}
	tlen = AG_B64URL_ENCODED_LEN(hlen) + 1 + AG_B64URL_ENCODED_LEN(sizeof(claims) - 1) + 1 +
	       AG_B64URL_ENCODED_LEN(AG_KEYRING_SIG_MAX) + 1;
	if ((tok = malloc(tlen)) == NULL)
		abort();
	for (j = 0; j < 2; j++) {
		size_t off = 0;

		if (ag_b64url_encode((const uint8_t *)hdr, hlen, tok, tlen, &n) != 0)
			abort();
		off = n;
		tok[off++] = '.';
		if (ag_b64url_encode((const uint8_t *)claims, sizeof(claims) - 1, tok + off,
		                     tlen - off, &n) != 0)
			abort();
		off += n;
		if (ag_keyring_sign(ag_keyring_active(k[j].kr), (const uint8_t *)tok, off, sig,
		                    &siglen) != 0)
			abort();
		tok[off++] = '.';
		if (ag_b64url_encode(sig, siglen, tok + off, tlen - off, &n) != 0)
			abort();
		off += n;
		c = NULL;
		if (verify(k[j].kr, tok, off, &c)) {
			check_valid_header(hdr, hlen, k[j].kid, k[j].alg);
			json_decref(c);
		}
	}
	free(tok);
	free(hdr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	switch (data[0] % 3) {
	case 0:
		mode_token((const char *)data + 1, size - 1);
		break;
	case 1:
		mode_claims((const char *)data + 1, size - 1);
		break;
	default:
		mode_header((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
