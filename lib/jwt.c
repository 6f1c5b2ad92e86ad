#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "b64url.h"
#include "error.h"
#include "json_out.h"
#include "jwt.h"
#include "keyring.h"
#include "util.h"

static const char *const reason_names[AG_JWT_REASON_COUNT] = {
	[AG_JWT_OK] = "ok",
	[AG_JWT_ERROR] = "error",
	[AG_JWT_TOO_LARGE] = "too_large",
	[AG_JWT_MALFORMED] = "malformed",
	[AG_JWT_BAD_HEADER] = "bad_header",
	[AG_JWT_BAD_CLAIMS] = "bad_claims",
	[AG_JWT_ALG_NONE] = "alg_none",
	[AG_JWT_ALG_MISMATCH] = "alg_mismatch",
	[AG_JWT_UNKNOWN_KID] = "unknown_kid",
	[AG_JWT_CRIT] = "crit",
	[AG_JWT_EMBEDDED_KEY] = "embedded_key",
	[AG_JWT_UNKNOWN_HEADER] = "unknown_header",
	[AG_JWT_BAD_SIGNATURE] = "bad_signature",
	[AG_JWT_EXPIRED] = "expired",
	[AG_JWT_NOT_YET_VALID] = "not_yet_valid",
	[AG_JWT_ISSUED_IN_FUTURE] = "issued_in_future",
	[AG_JWT_BAD_ISSUER] = "bad_issuer",
	[AG_JWT_BAD_AUDIENCE] = "bad_audience",
	[AG_JWT_BAD_TYPE] = "bad_type",
	[AG_JWT_MISSING_CLAIM] = "missing_claim",
	[AG_JWT_BAD_CLAIM_TYPE] = "bad_claim_type",
	[AG_JWT_REVOKED] = "revoked",
	[AG_JWT_SESSION_ENDED] = "session_ended",
};

/* Header parameters that carry or point at a key: a verifier that used
 * them would let the token choose its own key.  We never do, and refuse
 * tokens that carry them. */
static const char *const embedded_key_params[] = { "jwk", "jku", "x5u", "x5c" };

const char *
ag_jwt_reason_name(enum ag_jwt_reason reason)
{
	if ((int)reason < 0 || reason >= AG_JWT_REASON_COUNT || reason_names[reason] == NULL)
		return "unknown";
	return reason_names[reason];
}

void
ag_jwt_expect_init(struct ag_jwt_expect *exp, const char *issuer, const char *audience)
{
	exp->issuer = issuer;
	exp->audience = audience;
	exp->typ = AG_JWT_TYP_DEFAULT;
	exp->leeway = AG_JWT_LEEWAY_DEFAULT;
	exp->max_len = AG_JWT_MAX_LEN_DEFAULT;
}

static int depth_ok(const uint8_t *p, size_t n, unsigned max);

static int
typ_valid(const char *typ)
{
	size_t i, len = strlen(typ);

	if (len == 0 || len > AG_JWT_TYP_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (typ[i] < 0x21 || typ[i] > 0x7e)
			return 0;
	return 1;
}

int
ag_jwt_sign(const struct ag_keyring *kr, const json_t *claims, const char *typ, char **token)
{
	const struct ag_key *key;
	struct ag_key_info info;
	json_t *hdr = NULL;
	char *htxt = NULL, *ptxt = NULL, *buf = NULL;
	uint8_t sig[AG_KEYRING_SIG_MAX];
	size_t hlen, plen, hb, pb, total, siglen = 0, o, n;
	int ret = AG_ERR_INVAL;

	if (token != NULL)
		*token = NULL;
	if (token == NULL || (key = ag_keyring_active(kr)) == NULL || !json_is_object(claims))
		goto out;
	if (typ == NULL)
		typ = AG_JWT_TYP_DEFAULT;
	if (!typ_valid(typ))
		goto out;
	ag_keyring_info(key, &info);
	ret = AG_ERR_NOMEM;
	hdr = json_pack("{s:s, s:s, s:s}", "alg", info.alg, "kid", info.kid, "typ", typ);
	if (hdr == NULL || (htxt = json_dumps(hdr, JSON_COMPACT)) == NULL ||
	    (ptxt = json_dumps(claims, JSON_COMPACT)) == NULL)
		goto out;
	hlen = strlen(htxt);
	plen = strlen(ptxt);
	/* Never sign what ag_jwt_verify would refuse as bad_claims. */
	ret = AG_ERR_INVAL;
	if (!depth_ok((const uint8_t *)ptxt, plen, AG_JWT_MAX_DEPTH))
		goto out;
	ret = AG_ERR_TOOLONG;
	if (hlen > AG_JWT_MAX_LEN_DEFAULT || plen > AG_JWT_MAX_LEN_DEFAULT)
		goto out;
	hb = AG_B64URL_ENCODED_LEN(hlen);
	pb = AG_B64URL_ENCODED_LEN(plen);
	total = hb + 1 + pb + 1 + AG_B64URL_ENCODED_LEN(AG_KEYRING_SIG_MAX);
	if (total > AG_JWT_MAX_LEN_DEFAULT)
		goto out;
	ret = AG_ERR_NOMEM;
	if ((buf = malloc(total + 1)) == NULL)
		goto out;
	ret = AG_ERR_SYSTEM;
	o = 0;
	if (ag_b64url_encode((const uint8_t *)htxt, hlen, buf, total + 1, &n) != 0)
		goto out;
	o += n;
	buf[o++] = '.';
	if (ag_b64url_encode((const uint8_t *)ptxt, plen, buf + o, total + 1 - o, &n) != 0)
		goto out;
	o += n;
	if ((ret = ag_keyring_sign(key, (const uint8_t *)buf, o, sig, &siglen)) != 0)
		goto out;
	buf[o++] = '.';
	if ((ret = ag_b64url_encode(sig, siglen, buf + o, total + 1 - o, &n)) != 0) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	*token = buf;
	buf = NULL;
	ret = 0;
out:
	sodium_memzero(sig, sizeof(sig));
	free(buf);
	free(htxt);
	free(ptxt);
	json_decref(hdr);
	return ret;
}

/* 1 when the JSON text nests arrays and objects at most max deep.  Runs
 * before the parser so that a deeply nested document costs one linear
 * scan and no recursion. */
static int
depth_ok(const uint8_t *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	int in_str = 0, esc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (in_str) {
			if (esc)
				esc = 0;
			else if (p[i] == '\\')
				esc = 1;
			else if (p[i] == '"')
				in_str = 0;
			continue;
		}
		if (p[i] == '"') {
			in_str = 1;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > max)
				return 0;
		} else if ((p[i] == ']' || p[i] == '}') && depth > 0) {
			depth--;
		}
	}
	return 1;
}

/* Parses a JSON object strictly: no duplicate names, valid UTF-8 (jansson
 * checks it, and refuses \u0000), nothing after the object, bounded depth.
 * Running out of memory sets *nomem: an internal error, not a bad token. */
static json_t *
parse_object(const uint8_t *p, size_t n, int *nomem)
{
	json_error_t jerr;
	json_t *j;
	int failed = 0;

	if (!depth_ok(p, n, AG_JWT_MAX_DEPTH))
		return NULL;
	/* A failed allocation must not give a claim shorter than it was
	 * signed: ag_json_loadb tells (jansson's own error would not). */
	j = ag_json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr, &failed);
	if (failed) {
		*nomem = 1;
		return NULL;
	}
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* "none" in any letter case, with any surrounding white space. */
static int
alg_is_none(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || (*s >= '\t' && *s <= '\r'))) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || (s[len - 1] >= '\t' && s[len - 1] <= '\r')))
		len--;
	return len == 4 && strncasecmp(s, "none", 4) == 0;
}

static int
str_eq(const json_t *j, const char *want)
{
	return json_string_length(j) == strlen(want) &&
	       memcmp(json_string_value(j), want, strlen(want)) == 0;
}

/* Fetches an integer claim; returns AG_JWT_OK or why not. */
static enum ag_jwt_reason
claim_int(const json_t *claims, const char *name, int64_t *v)
{
	const json_t *j = json_object_get(claims, name);

	if (j == NULL)
		return AG_JWT_MISSING_CLAIM;
	if (!json_is_integer(j))
		return AG_JWT_BAD_CLAIM_TYPE;
	*v = (int64_t)json_integer_value(j);
	return AG_JWT_OK;
}

/* Fetches a claim that must be a non-empty string. */
static enum ag_jwt_reason
claim_str(const json_t *claims, const char *name, const json_t **out)
{
	const json_t *j = json_object_get(claims, name);

	if (j == NULL)
		return AG_JWT_MISSING_CLAIM;
	if (!json_is_string(j))
		return AG_JWT_BAD_CLAIM_TYPE;
	if (json_string_length(j) == 0)
		return AG_JWT_MISSING_CLAIM;
	*out = j;
	return AG_JWT_OK;
}

static enum ag_jwt_reason
check_audience(const json_t *claims, const char *audience)
{
	const json_t *aud = json_object_get(claims, "aud"), *v;
	size_t i;
	int found = 0;

	if (aud == NULL)
		return AG_JWT_MISSING_CLAIM;
	if (json_is_string(aud))
		return str_eq(aud, audience) ? AG_JWT_OK : AG_JWT_BAD_AUDIENCE;
	if (!json_is_array(aud))
		return AG_JWT_BAD_CLAIM_TYPE;
	json_array_foreach(aud, i, v) {
		if (!json_is_string(v))
			return AG_JWT_BAD_CLAIM_TYPE;
		if (str_eq(v, audience))
			found = 1;
	}
	return found ? AG_JWT_OK : AG_JWT_BAD_AUDIENCE;
}

/* Decodes one segment into a fresh buffer. */
static int
decode_segment(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	size_t cap = AG_B64URL_DECODED_MAX(n) + 1;
	int r;

	*out = NULL;
	*outlen = 0;
	if ((*out = malloc(cap)) == NULL)
		return AG_ERR_NOMEM;
	if ((r = ag_b64url_decode(s, n, *out, cap, outlen)) != 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

int
ag_jwt_verify(const struct ag_keyring *kr, const char *token, size_t len,
              const struct ag_jwt_expect *exp, int64_t now, json_t **claims,
              enum ag_jwt_reason *reason)
{
	const char *d1 = NULL, *d2 = NULL;
	const struct ag_key *key;
	const json_t *alg, *kid, *typ, *j;
	enum ag_key_alg talg;
	enum ag_jwt_reason why = AG_JWT_ERROR;
	uint8_t *hbuf = NULL, *pbuf = NULL, *sig = NULL;
	size_t hlen = 0, plen = 0, slen = 0, i, ndots = 0;
	json_t *hdr = NULL, *cl = NULL;
	int64_t t;
	int r, ret = AG_ERR_INVAL, nomem = 0;

	if (claims != NULL)
		*claims = NULL;
	if (reason != NULL)
		*reason = AG_JWT_ERROR;
	if (kr == NULL || claims == NULL || reason == NULL || exp == NULL ||
	    (token == NULL && len != 0) || exp->issuer == NULL || exp->audience == NULL ||
	    exp->typ == NULL || exp->issuer[0] == '\0' || exp->audience[0] == '\0' ||
	    exp->typ[0] == '\0' || exp->leeway < 0 || exp->leeway > AG_JWT_LEEWAY_MAX ||
	    exp->max_len == 0 || exp->max_len > AG_JWT_MAX_LEN_LIMIT || now < 0 ||
	    now > INT64_MAX / 2)
		return AG_ERR_INVAL;

#define REJECT(r_) do { why = (r_); goto out; } while (0)
	/* 1. size */
	if (len > exp->max_len)
		REJECT(AG_JWT_TOO_LARGE);

	/* 2. three non-empty canonical base64url segments */
	for (i = 0; i < len; i++) {
		if (token[i] != '.')
			continue;
		if (++ndots == 1)
			d1 = token + i;
		else if (ndots == 2)
			d2 = token + i;
	}
	if (ndots != 2 || d1 == token || d2 == d1 + 1 || d2 + 1 == token + len)
		REJECT(AG_JWT_MALFORMED);
	if ((r = decode_segment(token, (size_t)(d1 - token), &hbuf, &hlen)) != 0 ||
	    (r = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1), &pbuf, &plen)) != 0 ||
	    (r = decode_segment(d2 + 1, (size_t)(token + len - d2 - 1), &sig, &slen)) != 0) {
		if (r == AG_ERR_NOMEM) {
			ret = r;
			goto out;
		}
		REJECT(AG_JWT_MALFORMED);
	}

	/* 3. header and claims: JSON objects, no duplicates, UTF-8, depth */
	if ((hdr = parse_object(hbuf, hlen, &nomem)) == NULL ||
	    (cl = parse_object(pbuf, plen, &nomem)) == NULL) {
		if (nomem) {
			ret = AG_ERR_NOMEM;
			goto out;
		}
		REJECT(hdr == NULL ? AG_JWT_BAD_HEADER : AG_JWT_BAD_CLAIMS);
	}

	/* 4. alg: never "none", one we implement */
	alg = json_object_get(hdr, "alg");
	if (!json_is_string(alg))
		REJECT(AG_JWT_BAD_HEADER);
	if (alg_is_none(json_string_value(alg), json_string_length(alg)))
		REJECT(AG_JWT_ALG_NONE);
	if (ag_keyring_alg_parse(json_string_value(alg), &talg) != 0 ||
	    strlen(json_string_value(alg)) != json_string_length(alg))
		REJECT(AG_JWT_ALG_MISMATCH);

	/* 5. kid, matched exactly; the key decides the algorithm */
	kid = json_object_get(hdr, "kid");
	if (!json_is_string(kid) ||
	    (key = ag_keyring_find(kr, json_string_value(kid), json_string_length(kid))) == NULL)
		REJECT(AG_JWT_UNKNOWN_KID);
	if (ag_keyring_alg(key) != talg)
		REJECT(AG_JWT_ALG_MISMATCH);

	/* 6. crit: we understand no extension */
	if (json_object_get(hdr, "crit") != NULL)
		REJECT(AG_JWT_CRIT);

	/* 7. keys carried by the token are never used */
	for (i = 0; i < AG_ARRAY_SIZE(embedded_key_params); i++)
		if (json_object_get(hdr, embedded_key_params[i]) != NULL)
			REJECT(AG_JWT_EMBEDDED_KEY);

	/* 8. nothing else: a member we do not understand may change how
	 * another verifier reads the token ("b64": false without crit, RFC
	 * 7797, makes it sign the payload unencoded), so only what
	 * ag_jwt_sign writes is accepted.  alg and kid are there by now;
	 * counting is exact because names are unique (no duplicates) and
	 * NUL-free (jansson refuses \u0000 in a name). */
	if (json_object_size(hdr) != 2 + (json_object_get(hdr, "typ") != NULL ? 1u : 0u))
		REJECT(AG_JWT_UNKNOWN_HEADER);

	/* 9. signature over the segments exactly as received */
	r = ag_keyring_verify(key, (const uint8_t *)token, (size_t)(d2 - token), sig, slen);
	if (r == AG_ERR_CORRUPT)
		REJECT(AG_JWT_BAD_SIGNATURE);
	if (r != 0) {
		ret = r;
		goto out;
	}

	/* 10. time, with leeway (now and leeway are bounded: no overflow) */
	if ((why = claim_int(cl, "exp", &t)) != AG_JWT_OK)
		goto out;
	if (t <= now - exp->leeway)
		REJECT(AG_JWT_EXPIRED);
	if ((why = claim_int(cl, "nbf", &t)) != AG_JWT_OK)
		goto out;
	if (t > now + exp->leeway)
		REJECT(AG_JWT_NOT_YET_VALID);
	if ((why = claim_int(cl, "iat", &t)) != AG_JWT_OK)
		goto out;
	if (t > now + exp->leeway)
		REJECT(AG_JWT_ISSUED_IN_FUTURE);

	/* 11. issuer */
	j = json_object_get(cl, "iss");
	if (j == NULL)
		REJECT(AG_JWT_MISSING_CLAIM);
	if (!json_is_string(j))
		REJECT(AG_JWT_BAD_CLAIM_TYPE);
	if (!str_eq(j, exp->issuer))
		REJECT(AG_JWT_BAD_ISSUER);

	/* 12. audience */
	if ((why = check_audience(cl, exp->audience)) != AG_JWT_OK)
		goto out;

	/* 13. explicit type */
	typ = json_object_get(hdr, "typ");
	if (!json_is_string(typ) || !str_eq(typ, exp->typ))
		REJECT(AG_JWT_BAD_TYPE);

	/* 14. the other required claims */
	if ((why = claim_str(cl, "sub", &j)) != AG_JWT_OK ||
	    (why = claim_str(cl, "jti", &j)) != AG_JWT_OK)
		goto out;
	j = json_object_get(cl, "sid");
	if (j != NULL && !json_is_string(j))
		REJECT(AG_JWT_BAD_CLAIM_TYPE);
#undef REJECT

	*claims = cl;
	cl = NULL;
	why = AG_JWT_OK;
	ret = 0;
out:
	*reason = why;
	if (why == AG_JWT_ERROR && ret == AG_ERR_INVAL)
		ret = AG_ERR_SYSTEM;
	free(hbuf);
	free(pbuf);
	free(sig);
	json_decref(hdr);
	json_decref(cl);
	return ret;
}
