#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "b64url.h"
#include "clock.h"
#include "error.h"
#include "keyring.h"
#include "safefile.h"
#include "util.h"

#define KEY_SUFFIX ".key"
#define KEY_SUFFIX_LEN 4
#define NAME_BUF (AG_KEYRING_KID_MAX + KEY_SUFFIX_LEN + 1)
#define WHY_MAX 192 /* bytes of a per-file reason */
#define EC_COORD 32
#define ED_SEED 32

struct ag_key {
	char kid[AG_KEYRING_KID_MAX + 1];
	char file[NAME_BUF];
	enum ag_key_alg alg;
	int active;
	int64_t created;
	uint8_t pub[2 * EC_COORD];           /* Ed25519: A; ES256: x || y */
	uint8_t secret[AG_KEYRING_HS_MAX];   /* Ed25519: libsodium sk; HS256: k */
	size_t secret_len;
	EVP_PKEY *pkey;                      /* ES256: the key pair */
};

struct ag_keyring {
	struct ag_key *keys; /* sodium_allocarray: guarded, locked, wiped on free */
	size_t n;
	size_t active;
};

/* ------------------------------------------------------------ names */

static const char *const alg_names[] = { NULL, "EdDSA", "ES256", "HS256" };

const char *
ag_keyring_alg_name(enum ag_key_alg alg)
{
	if ((int)alg < 1 || (size_t)alg >= AG_ARRAY_SIZE(alg_names))
		return NULL;
	return alg_names[alg];
}

int
ag_keyring_alg_parse(const char *name, enum ag_key_alg *alg)
{
	size_t i;

	if (name == NULL || alg == NULL)
		return AG_ERR_INVAL;
	for (i = 1; i < AG_ARRAY_SIZE(alg_names); i++) {
		if (strcmp(name, alg_names[i]) == 0) {
			*alg = (enum ag_key_alg)i;
			return 0;
		}
	}
	return AG_ERR_INVAL;
}

static int
is_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static int
kid_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > AG_KEYRING_KID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_b64url_char(s[i]))
			return 0;
	return 1;
}

/* ------------------------------------------------------------ ES256 (OpenSSL) */

/* The order n of the P-256 group, big-endian. */
static const uint8_t p256_order[EC_COORD] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51
};

static int
host_is_little_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;

	memcpy(&b, &one, 1);
	return b == 1;
}

/* Builds an EC key pair from raw coordinates and scalar and checks it fully:
 * the point is on P-256 and not the identity, 0 < d < n, and d*G = (x, y). */
static int
ec_pkey_from_raw(const uint8_t xy[2 * EC_COORD], const uint8_t d[EC_COORD], EVP_PKEY **out)
{
	uint8_t pub[1 + 2 * EC_COORD], dn[EC_COORD];
	OSSL_PARAM params[4];
	EVP_PKEY_CTX *ctx = NULL, *vctx = NULL;
	EVP_PKEY *pkey = NULL;
	size_t i;
	int le = host_is_little_endian(), ret = AG_ERR_CONFIG;

	*out = NULL;
	pub[0] = 0x04; /* uncompressed point */
	memcpy(pub + 1, xy, 2 * EC_COORD);
	for (i = 0; i < EC_COORD; i++) /* OSSL_PARAM integers are in host order */
		dn[i] = le ? d[EC_COORD - 1 - i] : d[i];
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, dn, sizeof(dn));
	params[3] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	if ((vctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	if (EVP_PKEY_public_check(vctx) != 1 || EVP_PKEY_private_check(vctx) != 1 ||
	    EVP_PKEY_pairwise_check(vctx) != 1)
		goto out;
	*out = pkey;
	pkey = NULL;
	ret = 0;
out:
	sodium_memzero(dn, sizeof(dn));
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ret;
}

/* Generates a P-256 key pair as raw bytes. */
static int
ec_generate(uint8_t xy[2 * EC_COORD], uint8_t d[EC_COORD])
{
	EVP_PKEY *pkey = NULL;
	BIGNUM *bx = NULL, *by = NULL, *bd = NULL;
	int ret = AG_ERR_SYSTEM;

	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL)
		goto out;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bd) != 1)
		goto out;
	if (BN_bn2binpad(bx, xy, EC_COORD) != EC_COORD ||
	    BN_bn2binpad(by, xy + EC_COORD, EC_COORD) != EC_COORD ||
	    BN_bn2binpad(bd, d, EC_COORD) != EC_COORD)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		sodium_memzero(d, EC_COORD);
	BN_free(bx);
	BN_free(by);
	BN_clear_free(bd);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ret;
}

static int
ec_sign(EVP_PKEY *pkey, const uint8_t *msg, size_t len, uint8_t sig[2 * EC_COORD])
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r = NULL, *s = NULL;
	uint8_t der[128];
	const unsigned char *p = der;
	size_t derlen = sizeof(der);
	int ret = AG_ERR_SYSTEM;

	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(md, der, &derlen, msg, len) != 1 || derlen > sizeof(der))
		goto out;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, EC_COORD) != EC_COORD ||
	    BN_bn2binpad(s, sig + EC_COORD, EC_COORD) != EC_COORD)
		goto out;
	ret = 0;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ret;
}

/* 1 when the big-endian scalar v is in [1, n-1]. */
static int
ec_scalar_ok(const uint8_t v[EC_COORD])
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < EC_COORD; i++)
		acc |= v[i];
	return acc != 0 && memcmp(v, p256_order, EC_COORD) < 0;
}

static int
ec_verify(EVP_PKEY *pkey, const uint8_t *msg, size_t len, const uint8_t sig[2 * EC_COORD])
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int derlen, ret = AG_ERR_CORRUPT;

	if (!ec_scalar_ok(sig) || !ec_scalar_ok(sig + EC_COORD))
		goto out;
	if ((es = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig, EC_COORD, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + EC_COORD, EC_COORD, NULL)) == NULL) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	if (ECDSA_SIG_set0(es, r, s) != 1) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	r = s = NULL; /* owned by es now */
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0 || (md = EVP_MD_CTX_new()) == NULL) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1) {
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	if (EVP_DigestVerify(md, der, (size_t)derlen, msg, len) == 1)
		ret = 0;
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ret;
}

/* ------------------------------------------------------------ sign, verify */

enum ag_key_alg
ag_keyring_alg(const struct ag_key *key)
{
	return key->alg;
}

static void
hs256(const struct ag_key *key, const uint8_t *msg, size_t len,
      uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key->secret, key->secret_len);
	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

int
ag_keyring_sign(const struct ag_key *key, const uint8_t *msg, size_t len,
                uint8_t sig[AG_KEYRING_SIG_MAX], size_t *siglen)
{
	unsigned long long slen = 0;
	int ret = AG_ERR_INVAL;

	if (siglen != NULL)
		*siglen = 0;
	if (key == NULL || sig == NULL || siglen == NULL || (msg == NULL && len != 0))
		return AG_ERR_INVAL;
	switch (key->alg) {
	case AG_KEY_EDDSA:
		if (crypto_sign_detached(sig, &slen, msg, len, key->secret) != 0 ||
		    slen != crypto_sign_BYTES) {
			ret = AG_ERR_SYSTEM;
			break;
		}
		*siglen = crypto_sign_BYTES;
		ret = 0;
		break;
	case AG_KEY_ES256:
		if ((ret = ec_sign(key->pkey, msg, len, sig)) == 0)
			*siglen = 2 * EC_COORD;
		break;
	case AG_KEY_HS256:
		hs256(key, msg, len, sig);
		*siglen = crypto_auth_hmacsha256_BYTES;
		ret = 0;
		break;
	}
	if (ret != 0)
		sodium_memzero(sig, AG_KEYRING_SIG_MAX);
	return ret;
}

int
ag_keyring_verify(const struct ag_key *key, const uint8_t *msg, size_t len, const uint8_t *sig,
                  size_t siglen)
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	int ret = AG_ERR_CORRUPT;

	if (key == NULL || (sig == NULL && siglen != 0) || (msg == NULL && len != 0))
		return AG_ERR_INVAL;
	switch (key->alg) {
	case AG_KEY_EDDSA:
		if (siglen == crypto_sign_BYTES &&
		    crypto_sign_verify_detached(sig, msg, len, key->pub) == 0)
			ret = 0;
		break;
	case AG_KEY_ES256:
		if (siglen == 2 * EC_COORD)
			ret = ec_verify(key->pkey, msg, len, sig);
		break;
	case AG_KEY_HS256:
		if (siglen == sizeof(mac)) {
			hs256(key, msg, len, mac);
			if (sodium_memcmp(mac, sig, sizeof(mac)) == 0)
				ret = 0;
			sodium_memzero(mac, sizeof(mac));
		}
		break;
	}
	return ret;
}

/* ------------------------------------------------------------ thumbprints */

static int
thumbprint_raw(enum ag_key_alg alg, const uint8_t *pub, char out[AG_KEYRING_KID_MAX + 1])
{
	char x[AG_B64URL_ENCODED_LEN(EC_COORD) + 1], y[sizeof(x)], json[160];
	uint8_t h[crypto_hash_sha256_BYTES];
	int n;

	out[0] = '\0';
	if (alg == AG_KEY_EDDSA) {
		ag_b64url_encode(pub, crypto_sign_PUBLICKEYBYTES, x, sizeof(x), NULL);
		/* RFC 7638: required members only, sorted, no whitespace */
		n = snprintf(json, sizeof(json), "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}",
		             x);
	} else if (alg == AG_KEY_ES256) {
		ag_b64url_encode(pub, EC_COORD, x, sizeof(x), NULL);
		ag_b64url_encode(pub + EC_COORD, EC_COORD, y, sizeof(y), NULL);
		n = snprintf(json, sizeof(json),
		             "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	} else {
		return AG_ERR_INVAL;
	}
	if (n < 0 || (size_t)n >= sizeof(json))
		return AG_ERR_TOOLONG;
	crypto_hash_sha256(h, (const uint8_t *)json, (size_t)n);
	return ag_b64url_encode(h, sizeof(h), out, AG_KEYRING_KID_MAX + 1, NULL);
}

int
ag_keyring_thumbprint(const struct ag_key *key, char out[AG_KEYRING_KID_MAX + 1])
{
	if (key == NULL || out == NULL)
		return AG_ERR_INVAL;
	return thumbprint_raw(key->alg, key->pub, out);
}

/* ------------------------------------------------------------ key files */

enum kf_id { F_KID, F_KTY, F_CRV, F_ALG, F_USE, F_STATUS, F_CREATED, F_X, F_Y, F_D, F_K, F_COUNT };

static const char *const kf_names[F_COUNT] = {
	"kid", "kty", "crv", "alg", "use", "status", "created", "x", "y", "d", "k"
};

#define BIT(f) (1u << (f))
#define COMMON_FIELDS \
	(BIT(F_KID) | BIT(F_KTY) | BIT(F_ALG) | BIT(F_USE) | BIT(F_STATUS) | BIT(F_CREATED))
static const unsigned kf_fields[] = {
	[AG_KEY_EDDSA] = COMMON_FIELDS | BIT(F_CRV) | BIT(F_X) | BIT(F_D),
	[AG_KEY_ES256] = COMMON_FIELDS | BIT(F_CRV) | BIT(F_X) | BIT(F_Y) | BIT(F_D),
	[AG_KEY_HS256] = COMMON_FIELDS | BIT(F_K),
};
static const char *const kf_kty[] = { NULL, "OKP", "EC", "oct" };
static const char *const kf_crv[] = { NULL, "Ed25519", "P-256", NULL };

struct kf_value {
	int present;
	int is_int;
	const char *s; /* string value inside the file buffer, not terminated */
	size_t len;
	size_t off;    /* offset of s in the buffer */
	int64_t i;
};

struct keyfile {
	struct kf_value f[F_COUNT];
};

static int
kf_plain(char c)
{
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

static int
kf_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
kf_is(const struct kf_value *v, const char *s)
{
	return v->len == strlen(s) && memcmp(v->s, s, v->len) == 0;
}

/* Parses the strict JSON subset of a key file (see keyring.h). */
static int
kf_parse(const char *buf, size_t len, struct keyfile *kf, char *why, size_t whysize)
{
	char num[24];
	const char *name;
	size_t i = 0, nlen, start, ndig;
	int id, first = 1;

	memset(kf, 0, sizeof(*kf));
#define SKIP_WS() while (i < len && kf_ws(buf[i])) i++
#define FAIL(...) do { snprintf(why, whysize, __VA_ARGS__); return AG_ERR_CONFIG; } while (0)
	SKIP_WS();
	if (i >= len || buf[i] != '{')
		FAIL("is not a JSON object");
	i++;
	for (;;) {
		SKIP_WS();
		if (first && i < len && buf[i] == '}') {
			i++;
			break;
		}
		if (i >= len || buf[i] != '"')
			FAIL("is not valid: a member name was expected at byte %zu", i);
		name = buf + ++i;
		while (i < len && kf_plain(buf[i]))
			i++;
		if (i >= len || buf[i] != '"')
			FAIL("is not valid: a member name at byte %zu holds an escape, a control "
			     "or non-ASCII character, or does not end", (size_t)(name - buf));
		nlen = (size_t)(buf + i - name);
		i++;
		for (id = 0; id < F_COUNT; id++)
			if (nlen == strlen(kf_names[id]) && memcmp(name, kf_names[id], nlen) == 0)
				break;
		if (id == F_COUNT)
			FAIL("has an unknown member \"%.*s\"", (int)(nlen > 32 ? 32 : nlen), name);
		if (kf->f[id].present)
			FAIL("has the member \"%s\" twice", kf_names[id]);
		SKIP_WS();
		if (i >= len || buf[i] != ':')
			FAIL("is not valid: ':' expected after \"%s\"", kf_names[id]);
		i++;
		SKIP_WS();
		if (i < len && buf[i] == '"') {
			start = ++i;
			while (i < len && kf_plain(buf[i]))
				i++;
			if (i >= len || buf[i] != '"')
				FAIL("has a value of \"%s\" with an escape, a control or non-ASCII "
				     "character, or that does not end", kf_names[id]);
			kf->f[id].s = buf + start;
			kf->f[id].len = i - start;
			kf->f[id].off = start;
			i++;
		} else if (i < len && (buf[i] == '-' || (buf[i] >= '0' && buf[i] <= '9'))) {
			start = i;
			if (buf[i] == '-')
				i++;
			for (ndig = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
				ndig++;
			if (ndig == 0 || ndig > 19 || (buf[start] == '0' && ndig > 1) ||
			    (buf[start] == '-' && buf[start + 1] == '0') ||
			    (i < len && (buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E')))
				FAIL("has a value of \"%s\" that is not a plain decimal integer",
				     kf_names[id]);
			memcpy(num, buf + start, i - start);
			num[i - start] = '\0';
			if (ag_parse_int64(num, INT64_MIN, INT64_MAX, &kf->f[id].i) != 0)
				FAIL("has a value of \"%s\" out of range", kf_names[id]);
			kf->f[id].is_int = 1;
			kf->f[id].off = start;
		} else {
			FAIL("has a value of \"%s\" that is neither a string nor an integer",
			     kf_names[id]);
		}
		kf->f[id].present = 1;
		first = 0;
		SKIP_WS();
		if (i < len && buf[i] == ',') {
			i++;
			continue;
		}
		if (i < len && buf[i] == '}') {
			i++;
			break;
		}
		FAIL("is not valid: ',' or '}' expected at byte %zu", i);
	}
	SKIP_WS();
	if (i != len)
		FAIL("has bytes after the JSON object");
#undef SKIP_WS
#undef FAIL
	return 0;
}

/* Decodes a base64url member of exactly want bytes (or, with want_max,
 * between want and want_max bytes) into out. */
static int
kf_bytes(const struct kf_value *v, const char *name, uint8_t *out, size_t want, size_t want_max,
         size_t *got, char *why, size_t whysize)
{
	size_t n = 0;
	int r;

	r = ag_b64url_decode(v->s, v->len, out, want_max, &n);
	if (r == AG_ERR_TOOLONG) {
		/* too long for the buffer: say so only when it is base64url at all */
		size_t i;

		for (i = 0; i < v->len && is_b64url_char(v->s[i]); i++)
			;
		if (i < v->len || v->len % 4 == 1)
			r = AG_ERR_INVAL;
	}
	if (r == AG_ERR_INVAL) {
		snprintf(why, whysize, "has a value of \"%s\" that is not canonical unpadded base64url",
		         name);
		return AG_ERR_CONFIG;
	}
	if (r != 0 || n < want) {
		if (want == want_max)
			snprintf(why, whysize, "has \"%s\" of the wrong size (must be %zu bytes)", name,
			         want);
		else if (r != 0)
			snprintf(why, whysize, "has \"%s\" longer than %zu bytes", name, want_max);
		else
			snprintf(why, whysize,
			         "has \"%s\" of only %zu bytes: an HS256 key needs at least %zu", name,
			         n, want);
		sodium_memzero(out, want_max);
		return AG_ERR_CONFIG;
	}
	if (got != NULL)
		*got = n;
	return 0;
}

/* Validates a parsed key file and fills key.  fname is the file's name,
 * which must be "<kid>.key". */
static int
kf_to_key(const struct keyfile *kf, const char *fname, struct ag_key *key, char *why,
          size_t whysize)
{
	const struct kf_value *f = kf->f;
	uint8_t seed[ED_SEED], pk[crypto_sign_PUBLICKEYBYTES], d[EC_COORD];
	char algname[16];
	enum ag_key_alg alg;
	size_t stem;
	int id, ret = AG_ERR_CONFIG;

	sodium_memzero(key, sizeof(*key));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(d, sizeof(d));
#define FAIL(...) do { snprintf(why, whysize, __VA_ARGS__); goto out; } while (0)
	for (id = 0; id < F_COUNT; id++) {
		if (!f[id].present)
			continue;
		if (id == F_CREATED && !f[id].is_int)
			FAIL("has \"created\" that is not an integer");
		if (id != F_CREATED && f[id].is_int)
			FAIL("has \"%s\" that is not a string", kf_names[id]);
	}
	if (!f[F_ALG].present)
		FAIL("lacks the member \"alg\"");
	if (f[F_ALG].len >= sizeof(algname))
		FAIL("has an unsupported \"alg\" (EdDSA, ES256 or HS256)");
	memcpy(algname, f[F_ALG].s, f[F_ALG].len);
	algname[f[F_ALG].len] = '\0';
	if (ag_keyring_alg_parse(algname, &alg) != 0)
		FAIL("has the unsupported \"alg\" \"%s\" (EdDSA, ES256 or HS256)", algname);
	for (id = 0; id < F_COUNT; id++) {
		if ((kf_fields[alg] & BIT(id)) && !f[id].present)
			FAIL("lacks the member \"%s\" (required for an %s key)", kf_names[id],
			     algname);
		if (!(kf_fields[alg] & BIT(id)) && f[id].present)
			FAIL("has the member \"%s\", which an %s key must not have", kf_names[id],
			     algname);
	}
	if (!kf_is(&f[F_KTY], kf_kty[alg]))
		FAIL("has a \"kty\" that does not match \"alg\" %s (must be \"%s\")", algname,
		     kf_kty[alg]);
	if (kf_crv[alg] != NULL && !kf_is(&f[F_CRV], kf_crv[alg]))
		FAIL("has a curve (\"crv\") that does not match \"alg\" %s (must be \"%s\")",
		     algname, kf_crv[alg]);
	if (!kf_is(&f[F_USE], "sig"))
		FAIL("has a \"use\" other than \"sig\"");
	if (kf_is(&f[F_STATUS], "active"))
		key->active = 1;
	else if (!kf_is(&f[F_STATUS], "verify"))
		FAIL("has a \"status\" other than \"active\" or \"verify\"");
	if (f[F_CREATED].i < 0)
		FAIL("has a negative \"created\"");
	stem = strlen(fname) - KEY_SUFFIX_LEN;
	if (!kid_valid(f[F_KID].s, f[F_KID].len))
		FAIL("has a \"kid\" that is not 1 to %d base64url characters", AG_KEYRING_KID_MAX);
	if (f[F_KID].len != stem || memcmp(f[F_KID].s, fname, stem) != 0)
		FAIL("has a \"kid\" that differs from its file name (must be <kid>.key)");
	memcpy(key->kid, f[F_KID].s, f[F_KID].len);
	key->kid[f[F_KID].len] = '\0';
	ag_strlcpy(key->file, fname, sizeof(key->file));
	key->alg = alg;
	key->created = f[F_CREATED].i;

	switch (alg) {
	case AG_KEY_EDDSA:
		if (kf_bytes(&f[F_X], "x", key->pub, sizeof(pk), sizeof(pk), NULL, why, whysize) != 0 ||
		    kf_bytes(&f[F_D], "d", seed, sizeof(seed), sizeof(seed), NULL, why, whysize) != 0)
			goto out;
		if (crypto_sign_seed_keypair(pk, key->secret, seed) != 0) {
			ret = AG_ERR_SYSTEM;
			FAIL("could not be turned into an Ed25519 key");
		}
		key->secret_len = crypto_sign_SECRETKEYBYTES;
		if (memcmp(pk, key->pub, sizeof(pk)) != 0)
			FAIL("has an \"x\" that is not the public key of its \"d\"");
		break;
	case AG_KEY_ES256:
		if (kf_bytes(&f[F_X], "x", key->pub, EC_COORD, EC_COORD, NULL, why, whysize) != 0 ||
		    kf_bytes(&f[F_Y], "y", key->pub + EC_COORD, EC_COORD, EC_COORD, NULL, why,
		             whysize) != 0 ||
		    kf_bytes(&f[F_D], "d", d, EC_COORD, EC_COORD, NULL, why, whysize) != 0)
			goto out;
		if ((ret = ec_pkey_from_raw(key->pub, d, &key->pkey)) != 0) {
			if (ret == AG_ERR_SYSTEM)
				FAIL("could not be checked (OpenSSL failed)");
			FAIL("is not a valid P-256 key pair (point not on the curve, d out of "
			     "range, or x/y not the public key of d)");
		}
		ret = AG_ERR_CONFIG;
		break;
	case AG_KEY_HS256:
		if (kf_bytes(&f[F_K], "k", key->secret, AG_KEYRING_HS_MIN, AG_KEYRING_HS_MAX,
		             &key->secret_len, why, whysize) != 0)
			goto out;
		break;
	}
	ret = 0;
#undef FAIL
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(d, sizeof(d));
	sodium_memzero(pk, sizeof(pk));
	if (ret != 0) {
		if (key->pkey != NULL)
			EVP_PKEY_free(key->pkey);
		sodium_memzero(key, sizeof(*key));
	}
	return ret;
}

/* Reads and validates DIR/NAME into key; kf (optional) keeps the parsed
 * offsets, valid while *bufp lives (the caller wipes and frees it; with
 * bufp NULL the text is wiped here). */
static int
key_read(const char *dir, const char *name, struct ag_key *key, struct keyfile *kf_out,
         char **bufp, size_t *lenp, char err[AG_ERRBUF])
{
	struct keyfile kf;
	char path[PATH_MAX], why[WHY_MAX];
	const char *reason = "is invalid";
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, AG_ERRBUF, "%s: path too long", dir);
		return AG_ERR_TOOLONG;
	}
	ret = ag_safe_read_file(path, AG_KEYRING_FILE_MAX, AG_SAFE_NO_OTHER_READ, &buf, &len,
	                        &reason);
	if (ret != 0) {
		snprintf(err, AG_ERRBUF, "%s: %s", path, reason);
		if (ret == AG_ERR_TOOLONG)
			ret = AG_ERR_CONFIG;
		goto out;
	}
	if ((ret = kf_parse(buf, len, &kf, why, sizeof(why))) != 0 ||
	    (ret = kf_to_key(&kf, name, key, why, sizeof(why))) != 0) {
		snprintf(err, AG_ERRBUF, "%s: %s", path, why);
		goto out;
	}
	if (kf_out != NULL)
		*kf_out = kf;
out:
	if (ret == 0 && bufp != NULL) {
		*bufp = buf;
		*lenp = len;
		buf = NULL;
	}
	if (buf != NULL) {
		sodium_memzero(buf, len);
		free(buf);
	}
	sodium_memzero(&kf, sizeof(kf));
	return ret;
}

/* ------------------------------------------------------------ keyring */

static void
key_clear(struct ag_key *key)
{
	if (key->pkey != NULL)
		EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
	sodium_memzero(key, sizeof(*key));
}

void
ag_keyring_free(struct ag_keyring *kr)
{
	size_t i;

	if (kr == NULL)
		return;
	if (kr->keys != NULL) {
		for (i = 0; i < kr->n; i++)
			key_clear(&kr->keys[i]);
		sodium_free(kr->keys); /* wipes too */
	}
	free(kr);
}

size_t
ag_keyring_count(const struct ag_keyring *kr)
{
	return kr != NULL ? kr->n : 0;
}

const struct ag_key *
ag_keyring_key(const struct ag_keyring *kr, size_t i)
{
	return kr != NULL && i < kr->n ? &kr->keys[i] : NULL;
}

const struct ag_key *
ag_keyring_active(const struct ag_keyring *kr)
{
	return kr != NULL && kr->n > 0 && kr->keys[kr->active].active ? &kr->keys[kr->active]
	                                                                 : NULL;
}

const struct ag_key *
ag_keyring_find(const struct ag_keyring *kr, const char *kid, size_t kidlen)
{
	size_t i;

	if (kr == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < kr->n; i++)
		if (strlen(kr->keys[i].kid) == kidlen && memcmp(kr->keys[i].kid, kid, kidlen) == 0)
			return &kr->keys[i];
	return NULL;
}

void
ag_keyring_info(const struct ag_key *key, struct ag_key_info *info)
{
	info->kid = key->kid;
	info->alg = ag_keyring_alg_name(key->alg);
	info->file = key->file;
	info->active = key->active;
	info->created = key->created;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* active first, then newest first, then by kid */
static int
key_cmp(const void *a, const void *b)
{
	const struct ag_key *x = a, *y = b;

	if (x->active != y->active)
		return x->active ? -1 : 1;
	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return strcmp(x->kid, y->kid);
}

/* Checks dir and opens it; strips trailing slashes into dpath. */
static int
dir_open(const char *dir, char dpath[PATH_MAX], int *dirfdp, char err[AG_ERRBUF])
{
	struct stat st;
	const char *reason = "is unsafe";
	size_t len;
	int fd, ret;

	*dirfdp = -1;
	if (dir == NULL || *dir == '\0') {
		snprintf(err, AG_ERRBUF, "no key directory given");
		return AG_ERR_INVAL;
	}
	if (ag_strlcpy(dpath, dir, PATH_MAX) != 0) {
		snprintf(err, AG_ERRBUF, "key directory path too long");
		return AG_ERR_TOOLONG;
	}
	len = strlen(dpath);
	while (len > 1 && dpath[len - 1] == '/')
		dpath[--len] = '\0';
	if ((ret = ag_safe_check_parents(dpath, &reason)) != 0) {
		snprintf(err, AG_ERRBUF, "%s: %s", dpath, reason);
		return ret;
	}
	fd = open(dpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			snprintf(err, AG_ERRBUF, "%s: key directory does not exist", dpath);
			return AG_ERR_NOTFOUND;
		}
		if (errno == ELOOP || errno == ENOTDIR) {
			snprintf(err, AG_ERRBUF, "%s: is not a directory (or is a symlink)", dpath);
			return AG_ERR_UNSAFE;
		}
		snprintf(err, AG_ERRBUF, "%s: cannot be opened: %s", dpath, strerror(errno));
		return AG_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, AG_ERRBUF, "%s: cannot be examined", dpath);
		close(fd);
		return AG_ERR_IO;
	}
	if ((ret = ag_safe_check_stat(&st, 0, &reason)) != 0) {
		snprintf(err, AG_ERRBUF, "%s: %s", dpath, reason);
		close(fd);
		return ret;
	}
	*dirfdp = fd;
	return 0;
}

/* Lists the key file names of an open directory, sorted. */
static int
dir_list(int dirfd, const char *dpath, char (*names)[NAME_BUF], size_t *np, char err[AG_ERRBUF])
{
	DIR *d = NULL;
	struct dirent *de;
	size_t n = 0, len;
	int fd, ret = AG_ERR_IO;

	*np = 0;
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(err, AG_ERRBUF, "%s: cannot be listed: %s", dpath, strerror(errno));
		return AG_ERR_IO;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				snprintf(err, AG_ERRBUF, "%s: cannot be listed: %s", dpath,
				         strerror(errno));
				goto out;
			}
			break;
		}
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= KEY_SUFFIX_LEN ||
		    strcmp(de->d_name + len - KEY_SUFFIX_LEN, KEY_SUFFIX) != 0)
			continue;
		if (!kid_valid(de->d_name, len - KEY_SUFFIX_LEN)) {
			char esc[4 * 40 + 4];

			ag_log_escape(esc, sizeof(esc), de->d_name, len, 40);
			snprintf(err, AG_ERRBUF,
			         "%s/%s: a key file name must be <kid>.key with a kid of 1 to %d "
			         "base64url characters",
			         dpath, esc, AG_KEYRING_KID_MAX);
			ret = AG_ERR_CONFIG;
			goto out;
		}
		if (n == AG_KEYRING_MAX_KEYS) {
			snprintf(err, AG_ERRBUF, "%s: holds more than %d key files", dpath,
			         AG_KEYRING_MAX_KEYS);
			ret = AG_ERR_CONFIG;
			goto out;
		}
		memcpy(names[n], de->d_name, len + 1);
		n++;
	}
	if (n > 1)
		qsort(names, n, NAME_BUF, name_cmp);
	*np = n;
	ret = 0;
out:
	closedir(d);
	return ret;
}

/* Loads every key of an open, checked directory.  With strict, exactly one
 * key must be active. */
static int
keyring_read(const char *dpath, int dirfd, int strict, struct ag_keyring **krp,
             char err[AG_ERRBUF])
{
	char names[AG_KEYRING_MAX_KEYS][NAME_BUF];
	struct ag_keyring *kr = NULL;
	size_t n = 0, i, nactive = 0, o;
	int ret;

	*krp = NULL;
	if ((ret = dir_list(dirfd, dpath, names, &n, err)) != 0)
		goto out;
	if (n == 0 && strict) {
		snprintf(err, AG_ERRBUF, "%s: no key files (<kid>.key): create a signing key first",
		         dpath);
		ret = AG_ERR_CONFIG;
		goto out;
	}
	ret = AG_ERR_NOMEM;
	if ((kr = calloc(1, sizeof(*kr))) == NULL) {
		snprintf(err, AG_ERRBUF, "%s: out of memory", dpath);
		goto out;
	}
	if (n > 0 && (kr->keys = sodium_allocarray(n, sizeof(struct ag_key))) == NULL) {
		snprintf(err, AG_ERRBUF, "%s: out of memory", dpath);
		goto out;
	}
	if (n > 0)
		sodium_memzero(kr->keys, n * sizeof(struct ag_key));
	for (i = 0; i < n; i++) {
		if ((ret = key_read(dpath, names[i], &kr->keys[i], NULL, NULL, NULL, err)) != 0)
			goto out;
		kr->n++;
		if (kr->keys[i].active)
			nactive++;
	}
	if (kr->n > 1)
		qsort(kr->keys, kr->n, sizeof(struct ag_key), key_cmp);
	kr->active = 0;
	if (strict && nactive != 1) {
		ret = AG_ERR_CONFIG;
		if (nactive == 0) {
			o = (size_t)snprintf(err, AG_ERRBUF, "%s: no active signing key among ",
			                     dpath);
			for (i = 0; i < kr->n && o < AG_ERRBUF; i++)
				o += (size_t)snprintf(err + o, AG_ERRBUF - o, "%s%s",
				                      i > 0 ? ", " : "", kr->keys[i].file);
			if (o < AG_ERRBUF)
				snprintf(err + o, AG_ERRBUF - o,
				         " (one must have \"status\": \"active\")");
			goto out;
		}
		o = (size_t)snprintf(err, AG_ERRBUF, "%s: several active signing keys (", dpath);
		for (i = 0; i < kr->n && kr->keys[i].active && o < AG_ERRBUF; i++)
			o += (size_t)snprintf(err + o, AG_ERRBUF - o, "%s%s", i > 0 ? ", " : "",
			                      kr->keys[i].file);
		if (o < AG_ERRBUF)
			snprintf(err + o, AG_ERRBUF - o,
			         "); exactly one may have \"status\": \"active\"");
		goto out;
	}
	*krp = kr;
	kr = NULL;
	ret = 0;
out:
	ag_keyring_free(kr);
	return ret;
}

int
ag_keyring_load(const char *dir, struct ag_keyring **krp, char err[AG_ERRBUF])
{
	char dpath[PATH_MAX];
	int dirfd = -1, ret;

	err[0] = '\0';
	if (krp == NULL)
		return AG_ERR_INVAL;
	*krp = NULL;
	if (sodium_init() < 0) {
		snprintf(err, AG_ERRBUF, "libsodium failed to initialise");
		return AG_ERR_SYSTEM;
	}
	if ((ret = dir_open(dir, dpath, &dirfd, err)) != 0)
		return ret;
	ret = keyring_read(dpath, dirfd, 1, krp, err);
	close(dirfd);
	return ret;
}

/* ------------------------------------------------------------ JWKS */

static int
jwks_add(json_t *keys, const struct ag_key *key)
{
	char x[AG_B64URL_ENCODED_LEN(EC_COORD) + 1], y[sizeof(x)];
	json_t *jwk = NULL;
	int bad = 0;

	if ((jwk = json_object()) == NULL)
		return AG_ERR_NOMEM;
	if (key->alg == AG_KEY_EDDSA) {
		ag_b64url_encode(key->pub, crypto_sign_PUBLICKEYBYTES, x, sizeof(x), NULL);
		bad |= json_object_set_new(jwk, "kty", json_string("OKP"));
		bad |= json_object_set_new(jwk, "crv", json_string("Ed25519"));
		bad |= json_object_set_new(jwk, "x", json_string(x));
	} else {
		ag_b64url_encode(key->pub, EC_COORD, x, sizeof(x), NULL);
		ag_b64url_encode(key->pub + EC_COORD, EC_COORD, y, sizeof(y), NULL);
		bad |= json_object_set_new(jwk, "kty", json_string("EC"));
		bad |= json_object_set_new(jwk, "crv", json_string("P-256"));
		bad |= json_object_set_new(jwk, "x", json_string(x));
		bad |= json_object_set_new(jwk, "y", json_string(y));
	}
	bad |= json_object_set_new(jwk, "kid", json_string(key->kid));
	bad |= json_object_set_new(jwk, "alg", json_string(ag_keyring_alg_name(key->alg)));
	bad |= json_object_set_new(jwk, "use", json_string("sig"));
	if (bad != 0 || json_array_append_new(keys, jwk) != 0) {
		json_decref(jwk);
		return AG_ERR_NOMEM;
	}
	return 0;
}

int
ag_keyring_jwks(const struct ag_keyring *kr, json_t **out)
{
	json_t *jwks = NULL, *keys = NULL;
	size_t i;
	int ret = AG_ERR_NOMEM;

	if (out == NULL)
		return AG_ERR_INVAL;
	*out = NULL;
	if (kr == NULL)
		return AG_ERR_INVAL;
	if ((jwks = json_object()) == NULL || (keys = json_array()) == NULL)
		goto out;
	for (i = 0; i < kr->n; i++) {
		if (kr->keys[i].alg == AG_KEY_HS256)
			continue; /* a shared secret is never published */
		if ((ret = jwks_add(keys, &kr->keys[i])) != 0)
			goto out;
	}
	ret = AG_ERR_NOMEM;
	if (json_object_set_new(jwks, "keys", keys) != 0) {
		keys = NULL;
		goto out;
	}
	keys = NULL;
	*out = jwks;
	jwks = NULL;
	ret = 0;
out:
	json_decref(keys);
	json_decref(jwks);
	return ret;
}

/* ------------------------------------------------------------ writing keys */

/* Writes data to a new temporary file in the directory, with mode and
 * (when gid_required, or when possible) group gid; its name goes to tmp. */
static int
write_temp(int dirfd, const char *dpath, const char *data, size_t len, mode_t mode, gid_t gid,
           int gid_required, char tmp[48], char err[AG_ERRBUF])
{
	uint8_t rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	int fd = -1, ret = AG_ERR_IO;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(tmp, 48, ".tmp-%s.new", hex);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	            mode);
	if (fd < 0) {
		snprintf(err, AG_ERRBUF, "%s/%s: cannot be created: %s", dpath, tmp, strerror(errno));
		tmp[0] = '\0';
		return AG_ERR_IO;
	}
	if (fchown(fd, (uid_t)-1, gid) != 0 && gid_required) {
		snprintf(err, AG_ERRBUF, "%s/%s: cannot be given group %lu: %s", dpath, tmp,
		         (unsigned long)gid, strerror(errno));
		goto out;
	}
	/* after fchown, which may clear bits; and the umask may have taken some */
	if (fchmod(fd, mode) != 0 || ag_safe_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		snprintf(err, AG_ERRBUF, "%s/%s: cannot be written: %s", dpath, tmp, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (close(fd) != 0 && ret == 0) {
		snprintf(err, AG_ERRBUF, "%s/%s: cannot be written: %s", dpath, tmp, strerror(errno));
		ret = AG_ERR_IO;
	}
	if (ret != 0) {
		unlinkat(dirfd, tmp, 0);
		tmp[0] = '\0';
	}
	return ret;
}

/* Rewrites DIR/NAME with "status" set to status (temporary file + rename),
 * keeping its mode and group.  The file is re-read and re-validated first. */
static int
rewrite_status(int dirfd, const char *dpath, const char *name, const char *status,
               char err[AG_ERRBUF])
{
	struct ag_key *key = NULL;
	struct keyfile kf;
	struct stat st;
	char tmp[48] = "", *buf = NULL, *out = NULL;
	size_t len = 0, off, olen = 0, slen = strlen(status);
	int ret = AG_ERR_NOMEM;

	sodium_memzero(&kf, sizeof(kf));
	if ((key = sodium_malloc(sizeof(*key))) == NULL) {
		snprintf(err, AG_ERRBUF, "%s/%s: out of memory", dpath, name);
		goto out;
	}
	if ((ret = key_read(dpath, name, key, &kf, &buf, &len, err)) != 0)
		goto out;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, AG_ERRBUF, "%s/%s: cannot be examined", dpath, name);
		ret = AG_ERR_IO;
		goto out;
	}
	off = kf.f[F_STATUS].off;
	olen = len - kf.f[F_STATUS].len + slen;
	if ((out = malloc(olen + 1)) == NULL) {
		snprintf(err, AG_ERRBUF, "%s/%s: out of memory", dpath, name);
		ret = AG_ERR_NOMEM;
		goto out;
	}
	memcpy(out, buf, off);
	memcpy(out + off, status, slen);
	memcpy(out + off + slen, buf + off + kf.f[F_STATUS].len, len - off - kf.f[F_STATUS].len);
	out[olen] = '\0';
	if ((ret = write_temp(dirfd, dpath, out, olen, st.st_mode & (S_IRWXU | S_IRGRP | S_IXGRP),
	                      st.st_gid, 1, tmp, err)) != 0)
		goto out;
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		snprintf(err, AG_ERRBUF, "%s/%s: cannot be replaced: %s", dpath, name,
		         strerror(errno));
		ret = AG_ERR_IO;
		unlinkat(dirfd, tmp, 0);
		goto out;
	}
	ret = 0;
out:
	if (key != NULL) {
		key_clear(key);
		sodium_free(key);
	}
	if (buf != NULL) {
		sodium_memzero(buf, len);
		free(buf);
	}
	if (out != NULL) {
		sodium_memzero(out, olen);
		free(out);
	}
	sodium_memzero(&kf, sizeof(kf));
	return ret;
}

/* Demotes every active key other than keep (a file name) to "verify". */
static int
demote_others(int dirfd, const char *dpath, const struct ag_keyring *kr, const char *keep,
              char err[AG_ERRBUF])
{
	size_t i;
	int ret;

	for (i = 0; i < kr->n; i++) {
		if (!kr->keys[i].active || strcmp(kr->keys[i].file, keep) == 0)
			continue;
		if ((ret = rewrite_status(dirfd, dpath, kr->keys[i].file, "verify", err)) != 0)
			return ret;
	}
	return 0;
}

/* Opens, checks and locks the directory, then reads its keys leniently
 * (any number of active keys). */
static int
dir_lock_read(const char *dir, char dpath[PATH_MAX], int *dirfdp, struct ag_keyring **krp,
              char err[AG_ERRBUF])
{
	int ret;

	*krp = NULL;
	if (sodium_init() < 0) {
		snprintf(err, AG_ERRBUF, "libsodium failed to initialise");
		return AG_ERR_SYSTEM;
	}
	if ((ret = dir_open(dir, dpath, dirfdp, err)) != 0)
		return ret;
	while (flock(*dirfdp, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		snprintf(err, AG_ERRBUF, "%s: cannot be locked: %s", dpath, strerror(errno));
		close(*dirfdp);
		*dirfdp = -1;
		return AG_ERR_IO;
	}
	if ((ret = keyring_read(dpath, *dirfdp, 0, krp, err)) != 0) {
		close(*dirfdp); /* releases the lock */
		*dirfdp = -1;
	}
	return ret;
}

/* Formats a new key file. */
static int
key_text(enum ag_key_alg alg, const char *kid, int active, const uint8_t *pub,
         const uint8_t *secret, size_t secret_len, char *text, size_t textsize, size_t *lenp)
{
	char x[AG_B64URL_ENCODED_LEN(EC_COORD) + 1], y[sizeof(x)];
	char s[AG_B64URL_ENCODED_LEN(AG_KEYRING_HS_MAX) + 1];
	const char *status = active ? "active" : "verify";
	long long created = (long long)ag_clock_now();
	int n = -1;

	if (alg == AG_KEY_EDDSA) {
		ag_b64url_encode(pub, crypto_sign_PUBLICKEYBYTES, x, sizeof(x), NULL);
		ag_b64url_encode(secret, secret_len, s, sizeof(s), NULL);
		n = snprintf(text, textsize,
		             "{\n  \"kid\": \"%s\",\n  \"kty\": \"OKP\",\n  \"crv\": \"Ed25519\",\n"
		             "  \"alg\": \"EdDSA\",\n  \"use\": \"sig\",\n  \"status\": \"%s\",\n"
		             "  \"created\": %lld,\n  \"x\": \"%s\",\n  \"d\": \"%s\"\n}\n",
		             kid, status, created, x, s);
	} else if (alg == AG_KEY_ES256) {
		ag_b64url_encode(pub, EC_COORD, x, sizeof(x), NULL);
		ag_b64url_encode(pub + EC_COORD, EC_COORD, y, sizeof(y), NULL);
		ag_b64url_encode(secret, secret_len, s, sizeof(s), NULL);
		n = snprintf(text, textsize,
		             "{\n  \"kid\": \"%s\",\n  \"kty\": \"EC\",\n  \"crv\": \"P-256\",\n"
		             "  \"alg\": \"ES256\",\n  \"use\": \"sig\",\n  \"status\": \"%s\",\n"
		             "  \"created\": %lld,\n  \"x\": \"%s\",\n  \"y\": \"%s\",\n"
		             "  \"d\": \"%s\"\n}\n",
		             kid, status, created, x, y, s);
	} else if (alg == AG_KEY_HS256) {
		ag_b64url_encode(secret, secret_len, s, sizeof(s), NULL);
		n = snprintf(text, textsize,
		             "{\n  \"kid\": \"%s\",\n  \"kty\": \"oct\",\n  \"alg\": \"HS256\",\n"
		             "  \"use\": \"sig\",\n  \"status\": \"%s\",\n  \"created\": %lld,\n"
		             "  \"k\": \"%s\"\n}\n",
		             kid, status, created, s);
	}
	sodium_memzero(s, sizeof(s));
	if (n < 0 || (size_t)n >= textsize)
		return AG_ERR_TOOLONG;
	*lenp = (size_t)n;
	return 0;
}

int
ag_keyring_generate(const char *dir, enum ag_key_alg alg, int make_active, mode_t mode,
                    char kid[AG_KEYRING_KID_MAX + 1], char err[AG_ERRBUF])
{
	struct ag_keyring *kr = NULL;
	struct ag_key *check = NULL;
	struct keyfile kf;
	struct stat dst;
	char dpath[PATH_MAX], name[NAME_BUF], tmp[48] = "", text[AG_KEYRING_FILE_MAX];
	char why[WHY_MAX];
	uint8_t pub[2 * EC_COORD], secret[crypto_sign_SECRETKEYBYTES], rnd[16];
	size_t secret_len = 0, tlen = 0;
	int dirfd = -1, linked = 0, ret = AG_ERR_INVAL;

	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(text, sizeof(text));
	sodium_memzero(&kf, sizeof(kf));
	err[0] = '\0';
	if (kid != NULL)
		kid[0] = '\0';
	if (kid == NULL || ag_keyring_alg_name(alg) == NULL) {
		snprintf(err, AG_ERRBUF, "unsupported key algorithm");
		goto out;
	}
	if (mode != 0600 && mode != 0640) {
		snprintf(err, AG_ERRBUF, "key files must be created with mode 0600 or 0640");
		goto out;
	}
	if ((ret = dir_lock_read(dir, dpath, &dirfd, &kr, err)) != 0)
		goto out;

	ret = AG_ERR_SYSTEM;
	switch (alg) {
	case AG_KEY_EDDSA: {
		uint8_t seed[ED_SEED];

		randombytes_buf(seed, sizeof(seed));
		if (crypto_sign_seed_keypair(pub, secret, seed) != 0) {
			sodium_memzero(seed, sizeof(seed));
			snprintf(err, AG_ERRBUF, "Ed25519 key generation failed");
			goto out;
		}
		memcpy(secret, seed, sizeof(seed)); /* the file keeps the seed (JWK "d") */
		sodium_memzero(secret + ED_SEED, sizeof(secret) - ED_SEED);
		sodium_memzero(seed, sizeof(seed));
		secret_len = ED_SEED;
		thumbprint_raw(alg, pub, kid);
		break;
	}
	case AG_KEY_ES256:
		if (ec_generate(pub, secret) != 0) {
			snprintf(err, AG_ERRBUF, "P-256 key generation failed (OpenSSL)");
			goto out;
		}
		secret_len = EC_COORD;
		thumbprint_raw(alg, pub, kid);
		break;
	case AG_KEY_HS256:
		randombytes_buf(secret, AG_KEYRING_HS_MIN);
		secret_len = AG_KEYRING_HS_MIN;
		randombytes_buf(rnd, sizeof(rnd));
		ag_b64url_encode(rnd, sizeof(rnd), kid, AG_KEYRING_KID_MAX + 1, NULL);
		break;
	}
	snprintf(name, sizeof(name), "%s%s", kid, KEY_SUFFIX);
	if (ag_keyring_find(kr, kid, strlen(kid)) != NULL) {
		snprintf(err, AG_ERRBUF, "%s/%s: already exists", dpath, name);
		ret = AG_ERR_IO;
		goto out;
	}
	if ((ret = key_text(alg, kid, make_active, pub, secret, secret_len, text, sizeof(text),
	                    &tlen)) != 0) {
		snprintf(err, AG_ERRBUF, "key file text too long");
		goto out;
	}
	/* What we write must be what we would load. */
	ret = AG_ERR_NOMEM;
	if ((check = sodium_malloc(sizeof(*check))) == NULL) {
		snprintf(err, AG_ERRBUF, "out of memory");
		goto out;
	}
	if ((ret = kf_parse(text, tlen, &kf, why, sizeof(why))) != 0 ||
	    (ret = kf_to_key(&kf, name, check, why, sizeof(why))) != 0) {
		snprintf(err, AG_ERRBUF, "generated key %s: %s", name, why);
		ret = AG_ERR_SYSTEM;
		goto out;
	}
	if (fstat(dirfd, &dst) != 0) {
		snprintf(err, AG_ERRBUF, "%s: cannot be examined", dpath);
		ret = AG_ERR_IO;
		goto out;
	}
	if ((ret = write_temp(dirfd, dpath, text, tlen, mode, dst.st_gid, 0, tmp, err)) != 0)
		goto out;
	/* link, unlike rename, never replaces an existing file */
	if (linkat(dirfd, tmp, dirfd, name, 0) != 0) {
		snprintf(err, AG_ERRBUF, "%s/%s: cannot be created: %s", dpath, name,
		         errno == EEXIST ? "already exists" : strerror(errno));
		ret = AG_ERR_IO;
		goto out;
	}
	linked = 1;
	if (make_active && (ret = demote_others(dirfd, dpath, kr, name, err)) != 0)
		goto out;
	if (fsync(dirfd) != 0) {
		snprintf(err, AG_ERRBUF, "%s: cannot be synced: %s", dpath, strerror(errno));
		ret = AG_ERR_IO;
		goto out;
	}
	ret = 0;
out:
	if (tmp[0] != '\0' && dirfd >= 0)
		unlinkat(dirfd, tmp, 0);
	if (ret != 0 && !linked && kid != NULL)
		kid[0] = '\0';
	if (check != NULL) {
		key_clear(check);
		sodium_free(check);
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(text, sizeof(text));
	sodium_memzero(&kf, sizeof(kf));
	ag_keyring_free(kr);
	if (dirfd >= 0)
		close(dirfd);
	return ret;
}

int
ag_keyring_activate(const char *dir, const char *kid, char err[AG_ERRBUF])
{
	struct ag_keyring *kr = NULL;
	const struct ag_key *key;
	char dpath[PATH_MAX];
	int dirfd = -1, ret;

	err[0] = '\0';
	if (kid == NULL || !kid_valid(kid, strlen(kid))) {
		snprintf(err, AG_ERRBUF, "invalid kid");
		return AG_ERR_INVAL;
	}
	if ((ret = dir_lock_read(dir, dpath, &dirfd, &kr, err)) != 0)
		return ret;
	if ((key = ag_keyring_find(kr, kid, strlen(kid))) == NULL) {
		snprintf(err, AG_ERRBUF, "%s: no key with kid %s", dpath, kid);
		ret = AG_ERR_NOTFOUND;
		goto out;
	}
	/* promote first: a crash in between leaves two active keys, which
	 * loading refuses loudly, never zero silently */
	if (!key->active && (ret = rewrite_status(dirfd, dpath, key->file, "active", err)) != 0)
		goto out;
	if ((ret = demote_others(dirfd, dpath, kr, key->file, err)) != 0)
		goto out;
	if (fsync(dirfd) != 0) {
		snprintf(err, AG_ERRBUF, "%s: cannot be synced: %s", dpath, strerror(errno));
		ret = AG_ERR_IO;
		goto out;
	}
	ret = 0;
out:
	ag_keyring_free(kr);
	close(dirfd);
	return ret;
}
