/* Test driver for the JWT interop tests: generates keys, signs and
 * verifies tokens and prints the JWKS through lib/keyring and lib/jwt.
 *
 *   jwt_tool keygen DIR ALG            new active key; prints its kid
 *   jwt_tool sign DIR ISS AUD SUB TTL  prints a token (iat = nbf = now)
 *   jwt_tool verify DIR ISS AUD        token on stdin; prints the reason
 *                                      and the claims; exit 0 valid, 1 not
 *   jwt_tool jwks DIR                  prints the JWKS
 *
 * "now" is the real clock (or AUTHGUARD_TEST_TIME in test builds).
 * Exit 2 on usage or key errors, 3 on internal errors. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "clock.h"
#include "error.h"
#include "jwt.h"
#include "keyring.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: jwt_tool keygen DIR ALG | sign DIR ISS AUD SUB TTL | "
	                "verify DIR ISS AUD | jwks DIR\n");
	return 2;
}

static int
cmd_keygen(const char *dir, const char *algname)
{
	char kid[AG_KEYRING_KID_MAX + 1], err[AG_ERRBUF];
	enum ag_key_alg alg;

	if (ag_keyring_alg_parse(algname, &alg) != 0)
		return usage();
	if (ag_keyring_generate(dir, alg, 1, 0600, kid, err) != 0) {
		fprintf(stderr, "jwt_tool: %s\n", err);
		return 2;
	}
	printf("%s\n", kid);
	return 0;
}

static int
cmd_sign(struct ag_keyring *kr, const char *iss, const char *aud, const char *sub,
         const char *ttls)
{
	uint8_t rnd[16];
	char jti[33], *tok = NULL;
	json_t *claims;
	int64_t now = ag_clock_now(), ttl;
	int r;

	if (ag_parse_int64(ttls, 1, 86400, &ttl) != 0)
		return usage();
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(jti, sizeof(jti), rnd, sizeof(rnd));
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", iss, "aud", aud, "sub",
	                   sub, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
	                   (json_int_t)(now + ttl), "jti", jti);
	if (claims == NULL)
		return 3;
	r = ag_jwt_sign(kr, claims, NULL, &tok);
	json_decref(claims);
	if (r != 0) {
		fprintf(stderr, "jwt_tool: sign: %s\n", ag_strerror(r));
		return 3;
	}
	printf("%s\n", tok);
	free(tok);
	return 0;
}

static int
cmd_verify(struct ag_keyring *kr, const char *iss, const char *aud)
{
	struct ag_jwt_expect e;
	enum ag_jwt_reason why = AG_JWT_ERROR;
	json_t *claims = NULL;
	char buf[AG_JWT_MAX_LEN_DEFAULT + 2], *txt;
	size_t n;
	int r;

	n = fread(buf, 1, sizeof(buf) - 1, stdin);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	ag_jwt_expect_init(&e, iss, aud);
	r = ag_jwt_verify(kr, buf, n, &e, ag_clock_now(), &claims, &why);
	printf("%s\n", ag_jwt_reason_name(why));
	if (r != 0)
		return why == AG_JWT_ERROR ? 3 : 1;
	txt = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", txt != NULL ? txt : "");
	free(txt);
	json_decref(claims);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ag_keyring *kr = NULL;
	char err[AG_ERRBUF], *txt;
	json_t *jwks = NULL;
	int ret;

	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "keygen") == 0)
		return argc == 4 ? cmd_keygen(argv[2], argv[3]) : usage();
	if (ag_keyring_load(argv[2], &kr, err) != 0) {
		fprintf(stderr, "jwt_tool: %s\n", err);
		return 2;
	}
	if (strcmp(argv[1], "sign") == 0 && argc == 7) {
		ret = cmd_sign(kr, argv[3], argv[4], argv[5], argv[6]);
	} else if (strcmp(argv[1], "verify") == 0 && argc == 5) {
		ret = cmd_verify(kr, argv[3], argv[4]);
	} else if (strcmp(argv[1], "jwks") == 0 && argc == 3) {
		ret = 3;
		if (ag_keyring_jwks(kr, &jwks) == 0 &&
		    (txt = json_dumps(jwks, JSON_COMPACT)) != NULL) {
			printf("%s\n", txt);
			free(txt);
			ret = 0;
		}
		json_decref(jwks);
	} else {
		ret = usage();
	}
	ag_keyring_free(kr);
	return ret;
}
