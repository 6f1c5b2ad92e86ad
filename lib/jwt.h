/* JWT access tokens: compact JWS (RFC 7515/7519) signed with the keyring's
 * active key, verified strictly against the keyring.
 *
 * The algorithm always comes from the key, never from the token.  Tokens
 * carry the header {"alg", "kid", "typ"} and whatever claims the caller
 * signs; a valid token has iss, aud, sub, iat, nbf, exp and jti. */
#ifndef AG_JWT_H
#define AG_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "keyring.h"

#define AG_JWT_MAX_LEN_DEFAULT 8192        /* bytes of a token, default cap */
#define AG_JWT_MAX_LEN_LIMIT (256 * 1024)  /* the cap may not be set above this */
#define AG_JWT_LEEWAY_DEFAULT 30           /* seconds of clock skew tolerated */
#define AG_JWT_LEEWAY_MAX 300
#define AG_JWT_MAX_DEPTH 32                /* nesting of arrays and objects */
#define AG_JWT_TYP_DEFAULT "at+jwt"        /* RFC 9068 access token */
#define AG_JWT_TYP_MAX 64

/* Why a token was refused: one machine-readable code per check. */
enum ag_jwt_reason {
	AG_JWT_OK = 0,
	AG_JWT_ERROR,            /* internal error or bad arguments: no verdict */
	AG_JWT_TOO_LARGE,        /* longer than the size cap */
	AG_JWT_MALFORMED,        /* not three non-empty canonical base64url segments */
	AG_JWT_BAD_HEADER,       /* header not a JSON object (duplicates, depth, UTF-8), no alg */
	AG_JWT_BAD_CLAIMS,       /* claims not a JSON object (duplicates, depth, UTF-8) */
	AG_JWT_ALG_NONE,         /* "none" in any case or spacing */
	AG_JWT_ALG_MISMATCH,     /* unsupported alg, or not the alg of the key named by kid */
	AG_JWT_UNKNOWN_KID,      /* kid missing, not a string or not in the keyring */
	AG_JWT_CRIT,             /* a "crit" header parameter (none is understood) */
	AG_JWT_EMBEDDED_KEY,     /* jwk, jku, x5u or x5c in the header */
	AG_JWT_UNKNOWN_HEADER,   /* a header member other than alg, kid and typ */
	AG_JWT_BAD_SIGNATURE,
	AG_JWT_EXPIRED,          /* now >= exp + leeway */
	AG_JWT_NOT_YET_VALID,    /* now < nbf - leeway */
	AG_JWT_ISSUED_IN_FUTURE, /* iat > now + leeway */
	AG_JWT_BAD_ISSUER,
	AG_JWT_BAD_AUDIENCE,
	AG_JWT_BAD_TYPE,         /* header typ missing or not the expected one */
	AG_JWT_MISSING_CLAIM,    /* a required claim is absent (or an empty string) */
	AG_JWT_BAD_CLAIM_TYPE,   /* a claim has the wrong JSON type */
	AG_JWT_REVOKED,          /* never set here: for callers checking a denylist */
	AG_JWT_SESSION_ENDED,    /* never set here: for callers checking sessions */
	AG_JWT_REASON_COUNT
};

/* What a valid token must match.  Fill with ag_jwt_expect_init(), then
 * change what differs. */
struct ag_jwt_expect {
	const char *issuer;   /* iss must equal this (required, not empty) */
	const char *audience; /* aud (string or array) must contain this (required, not empty) */
	const char *typ;      /* header typ must equal this exactly (not empty) */
	int64_t leeway;       /* seconds, 0 .. AG_JWT_LEEWAY_MAX */
	size_t max_len;       /* bytes, 1 .. AG_JWT_MAX_LEN_LIMIT */
};

/* Sets issuer and audience, typ AG_JWT_TYP_DEFAULT, leeway
 * AG_JWT_LEEWAY_DEFAULT and max_len AG_JWT_MAX_LEN_DEFAULT. */
void ag_jwt_expect_init(struct ag_jwt_expect *exp, const char *issuer, const char *audience);

/* The code's stable name ("too_large", "alg_none", ...; "ok", "error"), or
 * "unknown" for a value outside the enum. */
const char *ag_jwt_reason_name(enum ag_jwt_reason reason);

/* Signs claims (a JSON object, serialised compactly as given) with the
 * keyring's active key: header {"alg": the key's, "kid", "typ": typ or
 * AG_JWT_TYP_DEFAULT when NULL}.  *token gets a new NUL-terminated string
 * (free with free()).  Returns 0, AG_ERR_INVAL (no active key, claims not
 * an object or nested deeper than AG_JWT_MAX_DEPTH, typ empty, longer than
 * AG_JWT_TYP_MAX or not printable ASCII),
 * AG_ERR_TOOLONG (token above AG_JWT_MAX_LEN_DEFAULT), AG_ERR_NOMEM or
 * AG_ERR_SYSTEM. */
int ag_jwt_sign(const struct ag_keyring *kr, const json_t *claims, const char *typ,
                char **token);

/* Verifies the len bytes at token (no trailing newline) at time now
 * (seconds since the epoch), in this order, stopping at the first failure:
 *   size cap; three non-empty canonical base64url segments; header and
 *   claims are JSON objects without duplicate member names, with valid
 *   UTF-8 and at most AG_JWT_MAX_DEPTH levels; alg present and not "none"
 *   in any spelling, and one we implement; kid names a key; alg is that
 *   key's alg; no crit; no jwk/jku/x5u/x5c; no other header member than
 *   alg, kid and typ (what ag_jwt_sign writes); signature; exp, nbf, iat
 *   (integers) with leeway; iss; aud; typ; sub and jti non-empty strings
 *   (sid, if present, a string).
 * A missing claim reports missing_claim and a claim of the wrong JSON type
 * bad_claim_type, at the step that uses it.
 * Returns 0 with *reason AG_JWT_OK and *claims set (a new reference) only
 * for a valid token.  A refused token gives AG_ERR_INVAL and *reason the
 * first failed check; other failures (bad arguments, out of memory) give
 * an AG_ERR_* code and *reason AG_JWT_ERROR.  *claims is NULL unless
 * valid. */
int ag_jwt_verify(const struct ag_keyring *kr, const char *token, size_t len,
                  const struct ag_jwt_expect *exp, int64_t now, json_t **claims,
                  enum ag_jwt_reason *reason) __attribute__((warn_unused_result));

#endif
