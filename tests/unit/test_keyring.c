/* Unit tests for lib/keyring: key generation (all three algorithms, modes,
 * thumbprint kids), rotation and activation, raw signatures, the JWKS
 * export, and every way a key directory or key file is refused: missing
 * directory, no or several active keys, short HS256 keys, permissions,
 * symlinks, wrong curves and sizes, points off the curve, unknown or
 * duplicate members, malformed files. */
#include "autoconf.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "b64url.h"
#include "error.h"
#include "keyring.h"

#include "tap.h"

static char base[PATH_MAX];

/* RFC 8037 appendix A.1 (a published test key, written at run time into a
 * temporary directory only) and its A.3 thumbprint. */
#define RFC_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define RFC_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define RFC_KID "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

static const char *
pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats a path under base into one of a few rotating buffers. */
static const char *
pathf(const char *fmt, ...)
{
	static char bufs[4][PATH_MAX];
	static int next;
	char rel[PATH_MAX];
	char *p = bufs[next++ % 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if ((size_t)snprintf(p, PATH_MAX, "%s/%s", base, rel) >= PATH_MAX)
		p[0] = '\0';
	return p;
}

/* A fresh, empty directory base/name, mode 0700. */
static const char *
fresh_dir(const char *name)
{
	static char bufs[4][PATH_MAX];
	static int next;
	char *d = bufs[next++ % 4], cmd[PATH_MAX + 16];

	snprintf(d, PATH_MAX, "%s", pathf("%s", name));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd) != 0 || mkdir(d, 0700) != 0)
		diag("cannot create %s", d);
	return d;
}

static void
write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char p[PATH_MAX];
	size_t len = strlen(text);
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		diag("cannot write %s", p);
	if (fd >= 0)
		close(fd);
}

/* Reads dir/name into buf (NUL-terminated); returns the length or 0. */
static size_t
read_text(const char *dir, const char *name, char *buf, size_t size)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	buf[0] = '\0';
	if ((fd = open(p, O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return (size_t)n;
}

/* Replaces the string value of member name in a key file text. */
static void
set_member(char *text, size_t size, const char *name, const char *value)
{
	char pat[32], out[8192];
	char *p, *v, *end;

	snprintf(pat, sizeof(pat), "\"%s\": \"", name);
	if ((p = strstr(text, pat)) == NULL) {
		diag("no member %s", name);
		return;
	}
	v = p + strlen(pat);
	if ((end = strchr(v, '"')) == NULL)
		return;
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(v - text), text, value, end);
	snprintf(text, size, "%s", out);
}

/* Copies the string value of member name into out. */
static void
get_member(const char *text, const char *name, char *out, size_t size)
{
	char pat[32];
	const char *p, *end;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\": \"", name);
	if ((p = strstr(text, pat)) == NULL)
		return;
	p += strlen(pat);
	if ((end = strchr(p, '"')) != NULL)
		snprintf(out, size, "%.*s", (int)(end - p), p);
}

/* Loads dir and checks the result code and, on failure, that the message
 * contains each of up to two expected fragments. */
static void
check_load(const char *dir, int want, const char *frag1, const char *frag2, const char *what)
{
	struct ag_keyring *kr = (struct ag_keyring *)&kr; /* must be reset */
	char err[AG_ERRBUF];
	int r;

	r = ag_keyring_load(dir, &kr, err);
	is_int(r, want, "load: %s", what);
	if (want != 0) {
		ok(kr == NULL, "load: %s: no keyring returned", what);
		ok(frag1 == NULL || strstr(err, frag1) != NULL, "load: %s: message names \"%s\"",
		   what, frag1 != NULL ? frag1 : "");
		if (frag2 != NULL)
			ok(strstr(err, frag2) != NULL, "load: %s: message names \"%s\"", what, frag2);
		diag("%s", err);
	}
	if (r == 0)
		ag_keyring_free(kr);
}

/* Writes a one-key directory holding text as name (mode 0600) and expects
 * the load to fail with AG_ERR_CONFIG and a message naming the file and
 * containing frag. */
static void
bad_key(const char *text, const char *name, const char *frag, const char *what)
{
	const char *d = fresh_dir("bad");

	write_file(d, name, text, 0600);
	check_load(d, AG_ERR_CONFIG, name, frag, what);
}

static char ed_text[4096], es_text[4096], hs_text[4096];
static char ed_kid[AG_KEYRING_KID_MAX + 1], es_kid[AG_KEYRING_KID_MAX + 1];
static char hs_kid[AG_KEYRING_KID_MAX + 1];

static void
test_generate(void)
{
	struct ag_keyring *kr = NULL;
	const struct ag_key *k;
	struct ag_key_info info;
	char err[AG_ERRBUF], kid[AG_KEYRING_KID_MAX + 1], tp[AG_KEYRING_KID_MAX + 1];
	char name[128], text[4096];
	const char *d;
	struct stat st;
	mode_t old;

	d = fresh_dir("gen");
	old = umask(077); /* the requested mode must still come out exactly */
	is_int(ag_keyring_generate(d, AG_KEY_EDDSA, 1, 0640, ed_kid, err), 0,
	       "generate an EdDSA signing key");
	umask(old);
	is_int(strlen(ed_kid), 43, "EdDSA kid is a 43-character thumbprint");
	snprintf(name, sizeof(name), "%s.key", ed_kid);
	ok(stat(pathf("gen/%s", name), &st) == 0 && (st.st_mode & 07777) == 0640,
	   "key file mode is exactly 0640");
	read_text(d, name, ed_text, sizeof(ed_text));
	ok(strstr(ed_text, "\"status\": \"active\"") != NULL, "file says active");
	ok(strstr(ed_text, "\"kty\": \"OKP\"") != NULL && strstr(ed_text, "\"d\": \"") != NULL,
	   "file is a private JWK (kty, d)");
	is_int(ag_keyring_load(d, &kr, err), 0, "generated key loads");
	is_int(ag_keyring_count(kr), 1, "one key");
	k = ag_keyring_active(kr);
	ok(k != NULL, "it is the active key");
	if (k != NULL) {
		ag_keyring_info(k, &info);
		is_str(info.kid, ed_kid, "active kid");
		is_str(info.alg, "EdDSA", "active alg");
		is_str(info.file, name, "file name is <kid>.key");
		ok(info.active == 1 && info.created > 0, "active, created set");
		is_int(ag_keyring_thumbprint(k, tp), 0, "thumbprint");
		is_str(tp, ed_kid, "kid is the RFC 7638 thumbprint");
	}
	ag_keyring_free(kr);
	kr = NULL;

	/* rotation: ES256 becomes active, EdDSA is kept for verification */
	is_int(ag_keyring_generate(d, AG_KEY_ES256, 1, 0600, es_kid, err), 0,
	       "generate an ES256 key, rotating");
	is_int(strlen(es_kid), 43, "ES256 kid is a 43-character thumbprint");
	read_text(d, name, text, sizeof(text));
	ok(strstr(text, "\"status\": \"verify\"") != NULL, "old key rewritten as verify");
	set_member(text, sizeof(text), "status", "active");
	is_str(text, ed_text, "nothing else in the old key file changed");
	ok(stat(pathf("gen/%s", name), &st) == 0 && (st.st_mode & 07777) == 0640,
	   "old key file kept its mode 0640");
	snprintf(name, sizeof(name), "%s.key", es_kid);
	ok(stat(pathf("gen/%s", name), &st) == 0 && (st.st_mode & 07777) == 0600,
	   "new key file mode is exactly 0600");
	read_text(d, name, es_text, sizeof(es_text));
	is_int(ag_keyring_load(d, &kr, err), 0, "rotated ring loads");
	is_int(ag_keyring_count(kr), 2, "two keys");
	k = ag_keyring_active(kr);
	ok(k != NULL && ag_keyring_alg(k) == AG_KEY_ES256, "ES256 is active");
	if (k != NULL) {
		is_int(ag_keyring_thumbprint(k, tp), 0, "ES256 thumbprint");
		is_str(tp, es_kid, "ES256 kid is its thumbprint");
	}
	k = ag_keyring_key(kr, 1);
	ok(k != NULL && ag_keyring_alg(k) == AG_KEY_EDDSA, "EdDSA kept, listed second");
	ag_keyring_free(kr);
	kr = NULL;

	/* a verification-only HS256 key does not change the signing key */
	is_int(ag_keyring_generate(d, AG_KEY_HS256, 0, 0640, hs_kid, err), 0,
	       "generate an HS256 verification key");
	is_int(strlen(hs_kid), 22, "HS256 kid is 128 random bits in base64url");
	snprintf(name, sizeof(name), "%s.key", hs_kid);
	read_text(d, name, hs_text, sizeof(hs_text));
	ok(strstr(hs_text, "\"status\": \"verify\"") != NULL, "HS256 key is a verify key");
	get_member(hs_text, "k", text, sizeof(text));
	is_int(strlen(text), 43, "HS256 key holds 32 bytes");
	is_int(ag_keyring_load(d, &kr, err), 0, "three keys load");
	is_int(ag_keyring_count(kr), 3, "three keys");
	k = ag_keyring_active(kr);
	ok(k != NULL && ag_keyring_alg(k) == AG_KEY_ES256, "ES256 still active");
	k = ag_keyring_find(kr, hs_kid, strlen(hs_kid));
	ok(k != NULL && ag_keyring_thumbprint(k, tp) == AG_ERR_INVAL,
	   "no thumbprint for an HS256 key");
	ok(ag_keyring_find(kr, hs_kid, strlen(hs_kid) - 1) == NULL, "find: a prefix is no match");
	ag_keyring_free(kr);
	kr = NULL;

	/* activation of an existing key */
	is_int(ag_keyring_activate(d, ed_kid, err), 0, "activate the EdDSA key again");
	is_int(ag_keyring_load(d, &kr, err), 0, "loads after activation");
	k = ag_keyring_active(kr);
	ok(k != NULL && ag_keyring_alg(k) == AG_KEY_EDDSA, "EdDSA is active again");
	ag_keyring_free(kr);
	kr = NULL;
	read_text(d, name, text, sizeof(text));
	is_str(text, hs_text, "the HS256 verify key was not rewritten");
	is_int(ag_keyring_activate(d, "nosuchkid", err), AG_ERR_NOTFOUND, "activate: unknown kid");
	is_int(ag_keyring_activate(d, "../x", err), AG_ERR_INVAL, "activate: hostile kid");

	/* refusals */
	is_int(ag_keyring_generate(d, AG_KEY_EDDSA, 1, 0644, kid, err), AG_ERR_INVAL,
	       "generate: mode 0644 refused");
	is_int(ag_keyring_generate(d, AG_KEY_EDDSA, 1, 0660, kid, err), AG_ERR_INVAL,
	       "generate: mode 0660 refused");
	is_int(ag_keyring_generate(d, (enum ag_key_alg)7, 1, 0600, kid, err), AG_ERR_INVAL,
	       "generate: unknown algorithm");
	is_int(ag_keyring_generate(pathf("nodir"), AG_KEY_EDDSA, 1, 0600, kid, err),
	       AG_ERR_NOTFOUND, "generate: missing directory");
	is_int(ag_keyring_generate("relative", AG_KEY_EDDSA, 1, 0600, kid, err), AG_ERR_UNSAFE,
	       "generate: relative directory");
	write_file(d, "junk.key", "{}", 0600);
	is_int(ag_keyring_generate(d, AG_KEY_EDDSA, 1, 0600, kid, err), AG_ERR_CONFIG,
	       "generate: refused while a key file is invalid");
	ok(kid[0] == '\0', "no kid returned");
	ok(strstr(err, "junk.key") != NULL, "message names the invalid file: %s", err);
	unlink(pathf("gen/junk.key"));
	is_int(ag_keyring_load(d, &kr, err), 0, "ring intact after the refusals");
	is_int(ag_keyring_count(kr), 3, "still three keys");
	ag_keyring_free(kr);
}

static void
test_sign_verify(void)
{
	static const enum ag_key_alg algs[] = { AG_KEY_EDDSA, AG_KEY_ES256, AG_KEY_HS256 };
	static const size_t siglens[] = { 64, 64, 32 };
	struct ag_keyring *kr = NULL;
	const struct ag_key *k;
	char err[AG_ERRBUF], kid[AG_KEYRING_KID_MAX + 1];
	uint8_t sig[AG_KEYRING_SIG_MAX], sig2[AG_KEYRING_SIG_MAX];
	const uint8_t msg[] = "header.payload";
	size_t siglen = 0, siglen2 = 0, i, b;
	const char *d;
	int bad;

	for (i = 0; i < 3; i++) {
		const char *an = ag_keyring_alg_name(algs[i]);

		d = fresh_dir("sv");
		if (ag_keyring_generate(d, algs[i], 1, 0600, kid, err) != 0 ||
		    ag_keyring_load(d, &kr, err) != 0) {
			ok(0, "%s: key ring: %s", an, err);
			continue;
		}
		k = ag_keyring_active(kr);
		is_int(ag_keyring_sign(k, msg, sizeof(msg) - 1, sig, &siglen), 0, "%s: sign", an);
		is_int(siglen, siglens[i], "%s: signature length", an);
		is_int(ag_keyring_verify(k, msg, sizeof(msg) - 1, sig, siglen), 0, "%s: verify", an);
		is_int(ag_keyring_verify(k, msg, sizeof(msg) - 2, sig, siglen), AG_ERR_CORRUPT,
		       "%s: other message refused", an);
		is_int(ag_keyring_verify(k, msg, sizeof(msg) - 1, sig, siglen - 1), AG_ERR_CORRUPT,
		       "%s: short signature refused", an);
		is_int(ag_keyring_verify(k, msg, sizeof(msg) - 1, sig, 0), AG_ERR_CORRUPT,
		       "%s: empty signature refused", an);
		bad = 0;
		for (b = 0; b < siglen * 8; b++) {
			sig[b / 8] ^= (uint8_t)(1u << (b % 8));
			if (ag_keyring_verify(k, msg, sizeof(msg) - 1, sig, siglen) != AG_ERR_CORRUPT)
				bad++;
			sig[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		is_int(bad, 0, "%s: all %zu single-bit flips refused", an, siglen * 8);
		is_int(ag_keyring_sign(k, msg, sizeof(msg) - 1, sig2, &siglen2), 0,
		       "%s: sign again", an);
		if (algs[i] == AG_KEY_ES256) {
			ok(memcmp(sig, sig2, 64) != 0, "ES256: signatures are randomised");
			/* R = 0, S = 0, S = n, R = n: refused before any arithmetic */
			static const uint8_t n[32] = {
				0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
				0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51
			};
			memcpy(sig2, sig, 64);
			memset(sig2, 0, 32);
			is_int(ag_keyring_verify(k, msg, sizeof(msg) - 1, sig2, 64), AG_ERR_CORRUPT,
			       "ES256: R = 0 refused");
			memcpy(sig2, sig, 64);
			memset(sig2 + 32, 0, 32);
			is_int(ag_keyring_verify(k, msg, sizeof(msg) - 1, sig2, 64), AG_ERR_CORRUPT,
			       "ES256: S = 0 refused");
			memcpy(sig2, sig, 64);
			memcpy(sig2 + 32, n, 32);
			is_int(ag_keyring_verify(k, msg, sizeof(msg) - 1, sig2, 64), AG_ERR_CORRUPT,
			       "ES256: S = n refused");
			memcpy(sig2, n, 32);
			is_int(ag_keyring_verify(k, msg, sizeof(msg) - 1, sig2, 64), AG_ERR_CORRUPT,
			       "ES256: R = n refused");
			memset(sig2, 0xff, 64);
			is_int(ag_keyring_verify(k, msg, sizeof(msg) - 1, sig2, 64), AG_ERR_CORRUPT,
			       "ES256: R, S > n refused");
		} else {
			ok(memcmp(sig, sig2, siglen) == 0, "%s: deterministic", an);
		}
		ag_keyring_free(kr);
		kr = NULL;
	}
	is_int(ag_keyring_sign(NULL, msg, 1, sig, &siglen), AG_ERR_INVAL, "sign: no key");
	is_int(ag_keyring_verify(NULL, msg, 1, sig, 64), AG_ERR_INVAL, "verify: no key");
}

static void
test_rfc8037(void)
{
	struct ag_keyring *kr = NULL;
	char err[AG_ERRBUF], tp[AG_KEYRING_KID_MAX + 1];
	const char *d = fresh_dir("rfc");

	write_file(d, RFC_KID ".key",
	           "{\"kid\":\"" RFC_KID "\",\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\","
	           "\"use\":\"sig\",\"status\":\"active\",\"created\":0,\"x\":\"" RFC_X "\","
	           "\"d\":\"" RFC_D "\"}",
	           0600);
	is_int(ag_keyring_load(d, &kr, err), 0, "RFC 8037 A.1 key loads (compact JSON)");
	if (kr != NULL) {
		is_int(ag_keyring_thumbprint(ag_keyring_active(kr), tp), 0, "thumbprint");
		is_str(tp, RFC_KID, "RFC 8037 A.3 thumbprint");
	}
	ag_keyring_free(kr);
}

static void
test_jwks(void)
{
	struct ag_keyring *kr = NULL;
	json_t *jwks = NULL, *keys, *k, *v;
	const char *name;
	char err[AG_ERRBUF], *txt;
	size_t i;
	int bad = 0, n_ed = 0, n_es = 0;

	if (ag_keyring_load(pathf("gen"), &kr, err) != 0) {
		ok(0, "jwks: load: %s", err);
		return;
	}
	is_int(ag_keyring_jwks(kr, &jwks), 0, "export JWKS");
	keys = json_object_get(jwks, "keys");
	is_int(json_array_size(keys), 2, "two public keys (the HS256 key is not exported)");
	json_array_foreach(keys, i, k) {
		json_object_foreach(k, name, v) {
			if (strcmp(name, "kty") != 0 && strcmp(name, "crv") != 0 &&
			    strcmp(name, "x") != 0 && strcmp(name, "y") != 0 &&
			    strcmp(name, "kid") != 0 && strcmp(name, "alg") != 0 &&
			    strcmp(name, "use") != 0)
				bad++;
		}
		v = json_object_get(k, "alg");
		if (json_is_string(v) && strcmp(json_string_value(v), "EdDSA") == 0) {
			n_ed++;
			ok(json_object_size(k) == 6, "EdDSA JWK: kty crv x kid alg use");
			is_str(json_string_value(json_object_get(k, "kid")), ed_kid, "EdDSA kid");
			is_str(json_string_value(json_object_get(k, "crv")), "Ed25519", "crv");
		} else {
			n_es++;
			ok(json_object_size(k) == 7, "ES256 JWK: kty crv x y kid alg use");
			is_str(json_string_value(json_object_get(k, "kid")), es_kid, "ES256 kid");
			is_str(json_string_value(json_object_get(k, "crv")), "P-256", "crv");
		}
	}
	is_int(bad, 0, "no member other than kty crv x y kid alg use");
	ok(n_ed == 1 && n_es == 1, "one EdDSA and one ES256 key");
	txt = json_dumps(jwks, JSON_COMPACT);
	ok(txt != NULL && strstr(txt, "\"d\"") == NULL && strstr(txt, "\"k\"") == NULL &&
	   strstr(txt, hs_kid) == NULL, "no private member, no HS256 kid anywhere");
	free(txt);
	json_decref(jwks);
	ag_keyring_free(kr);
	is_int(ag_keyring_jwks(NULL, &jwks), AG_ERR_INVAL, "jwks: no keyring");
}

/* Builds an HS256 key file text for kid with a key of n bytes. */
static void
hs_file(char *out, size_t size, const char *kid, size_t n, const char *status)
{
	uint8_t key[64];
	char k[128];

	memset(key, 0x42, sizeof(key));
	ag_b64url_encode(key, n, k, sizeof(k), NULL);
	snprintf(out, size,
	         "{\"kid\":\"%s\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\","
	         "\"status\":\"%s\",\"created\":1,\"k\":\"%s\"}\n",
	         kid, status, k);
}

static void
test_dir_errors(void)
{
	char text[4096], name[128];
	const char *d;
	int i;

	check_load(pathf("does-not-exist"), AG_ERR_NOTFOUND, "does-not-exist", NULL,
	           "missing directory");
	check_load("relative/keys", AG_ERR_UNSAFE, "absolute", NULL, "relative directory");
	check_load(NULL, AG_ERR_INVAL, NULL, NULL, "no directory");
	d = fresh_dir("empty");
	check_load(d, AG_ERR_CONFIG, "no key files", NULL, "empty directory");

	d = fresh_dir("noactive");
	hs_file(text, sizeof(text), "hs1", 32, "verify");
	write_file(d, "hs1.key", text, 0600);
	check_load(d, AG_ERR_CONFIG, "no active signing key", "hs1.key", "no active key");

	d = fresh_dir("twoactive");
	hs_file(text, sizeof(text), "hsA", 32, "active");
	write_file(d, "hsA.key", text, 0600);
	hs_file(text, sizeof(text), "hsB", 32, "active");
	write_file(d, "hsB.key", text, 0600);
	hs_file(text, sizeof(text), "hsC", 32, "verify");
	write_file(d, "hsC.key", text, 0600);
	check_load(d, AG_ERR_CONFIG, "hsA.key", "hsB.key", "two active keys, both named");

	d = fresh_dir("okhs");
	hs_file(text, sizeof(text), "hs32", 32, "active");
	write_file(d, "hs32.key", text, 0640);
	write_file(d, "README", "not a key", 0644);
	write_file(d, ".hidden.key", "junk", 0644);
	write_file(d, "old.key~", "junk", 0644);
	check_load(d, 0, NULL, NULL, "HS256 key of 32 bytes, mode 0640; other files ignored");
	if (mkdir(pathf("okhs/sub.key"), 0700) != 0)
		diag("mkdir failed");
	check_load(d, AG_ERR_UNSAFE, "sub.key", "regular", "a directory named *.key");

	hs_file(text, sizeof(text), "hs31", 31, "active");
	bad_key(text, "hs31.key", "only 31 bytes", "HS256 key of 31 bytes");
	hs_file(text, sizeof(text), "hs0", 0, "active");
	bad_key(text, "hs0.key", "bytes", "HS256 key of 0 bytes");

	/* permissions and file types */
	d = fresh_dir("perm");
	hs_file(text, sizeof(text), "p", 32, "active");
	write_file(d, "p.key", text, 0644);
	check_load(d, AG_ERR_UNSAFE, "p.key", "readable by others", "world-readable key (0644)");
	write_file(d, "p.key", text, 0604);
	check_load(d, AG_ERR_UNSAFE, "p.key", "readable by others", "key readable by others (0604)");
	write_file(d, "p.key", text, 0660);
	check_load(d, AG_ERR_UNSAFE, "p.key", "writable by its group", "group-writable key (0660)");
	write_file(d, "p.key", text, 0602);
	check_load(d, AG_ERR_UNSAFE, "p.key", "writable by others", "key writable by others");
	write_file(d, "p.key", text, 0400);
	check_load(d, 0, NULL, NULL, "read-only key (0400)");
	if (geteuid() == 0) {
		if (chown(pathf("perm/p.key"), 65534, 65534) != 0)
			diag("chown failed");
		check_load(d, AG_ERR_UNSAFE, "p.key", "not owned", "key owned by another user");
		if (chown(pathf("perm/p.key"), 0, 65534) != 0)
			diag("chown failed");
		check_load(d, 0, NULL, NULL, "root-owned key in another group, mode 0400");
	} else {
		skip("not root: cannot give a key file to another user");
	}
	unlink(pathf("perm/p.key"));
	write_file(pathf("perm"), "target", text, 0600);
	if (symlink(pathf("perm/target"), pathf("perm/p.key")) != 0)
		diag("symlink failed");
	check_load(d, AG_ERR_UNSAFE, "p.key", "symlink", "key file is a symlink");

	d = fresh_dir("gw");
	write_file(d, "p.key", text, 0600);
	chmod(d, 0770);
	check_load(d, AG_ERR_UNSAFE, "gw", "writable by its group", "group-writable directory");
	chmod(d, 0757);
	check_load(d, AG_ERR_UNSAFE, "gw", "writable by others", "world-writable directory");
	chmod(d, 0755);
	check_load(d, 0, NULL, NULL, "directory 0755 is fine");
	if (symlink(d, pathf("gwlink")) != 0)
		diag("symlink failed");
	check_load(pathf("gwlink"), AG_ERR_UNSAFE, "gwlink", "symlink", "directory is a symlink");
	check_load(pathf("gwlink/"), AG_ERR_UNSAFE, "gwlink", "symlink",
	           "directory is a symlink, given with a trailing slash");
	check_load(pathf("gw/"), 0, NULL, NULL, "trailing slash accepted");

	d = fresh_dir("many");
	for (i = 0; i < AG_KEYRING_MAX_KEYS + 1; i++) {
		snprintf(name, sizeof(name), "k%02d", i);
		hs_file(text, sizeof(text), name, 32, i == 0 ? "active" : "verify");
		snprintf(name, sizeof(name), "k%02d.key", i);
		write_file(d, name, text, 0600);
	}
	check_load(d, AG_ERR_CONFIG, "more than", NULL, "33 key files");
	unlink(pathf("many/k32.key"));
	check_load(d, 0, NULL, NULL, "32 key files");
}

static void
test_file_errors(void)
{
	char text[8192], v[256], name[128];
	const char *d;
	uint8_t raw[64];
	size_t n;

	/* EdDSA key files derived from the generated one */
	snprintf(name, sizeof(name), "%s.key", ed_kid);
#define ED_VARIANT(member, value, frag, what)                                   \
	do {                                                                    \
		snprintf(text, sizeof(text), "%s", ed_text);                    \
		set_member(text, sizeof(text), member, value);                  \
		bad_key(text, name, frag, what);                                \
	} while (0)
	ED_VARIANT("crv", "X25519", "crv", "EdDSA key on curve X25519");
	ED_VARIANT("crv", "Ed448", "crv", "EdDSA key on curve Ed448");
	ED_VARIANT("kty", "EC", "kty", "EdDSA key with kty EC");
	ED_VARIANT("alg", "ES256", "lacks the member \"y\"", "EdDSA key relabelled ES256");
	ED_VARIANT("alg", "none", "unsupported", "alg none");
	ED_VARIANT("alg", "RS256", "unsupported", "alg RS256");
	ED_VARIANT("alg", "eddsa", "unsupported", "alg in the wrong case");
	ED_VARIANT("use", "enc", "use", "use enc");
	ED_VARIANT("status", "Active", "status", "status Active");
	ED_VARIANT("status", "", "status", "empty status");
	ED_VARIANT("kid", "other", "file name", "kid differs from the file name");
	ED_VARIANT("x", "AAAA", "wrong size", "x of 3 bytes");
	get_member(ed_text, "x", v, sizeof(v));
	n = strlen(v);
	v[5] = v[5] == 'A' ? 'B' : 'A';
	ED_VARIANT("x", v, "public key", "x that is not d's public key");
	get_member(ed_text, "d", v, sizeof(v));
	strncat(v, "=", sizeof(v) - strlen(v) - 1);
	ED_VARIANT("d", v, "base64url", "padded d");
	get_member(ed_text, "d", v, sizeof(v));
	v[3] = '+';
	ED_VARIANT("d", v, "base64url", "d with '+'");
	get_member(ed_text, "d", v, sizeof(v));
	v[n - 1] = 'B'; /* 32 bytes in 43 characters: 2 unused bits, here 01 */
	ED_VARIANT("d", v, "base64url", "d with non-zero trailing bits");
	memset(raw, 7, sizeof(raw));
	ag_b64url_encode(raw, 33, v, sizeof(v), NULL);
	ED_VARIANT("d", v, "wrong size", "d of 33 bytes");
	ag_b64url_encode(raw, 31, v, sizeof(v), NULL);
	ED_VARIANT("d", v, "wrong size", "d of 31 bytes");
#undef ED_VARIANT

	/* ES256 */
	snprintf(name, sizeof(name), "%s.key", es_kid);
#define ES_VARIANT(member, value, frag, what)                                   \
	do {                                                                    \
		snprintf(text, sizeof(text), "%s", es_text);                    \
		set_member(text, sizeof(text), member, value);                  \
		bad_key(text, name, frag, what);                                \
	} while (0)
	ES_VARIANT("crv", "P-384", "crv", "ES256 key on curve P-384");
	ES_VARIANT("crv", "secp256k1", "crv", "ES256 key on secp256k1");
	get_member(es_text, "y", v, sizeof(v));
	v[10] = v[10] == 'A' ? 'B' : 'A';
	ES_VARIANT("y", v, "P-256", "point not on the curve (y changed)");
	get_member(es_text, "x", v, sizeof(v));
	v[0] = v[0] == 'A' ? 'B' : 'A';
	ES_VARIANT("x", v, "P-256", "point not on the curve (x changed)");
	memset(raw, 0, sizeof(raw));
	ag_b64url_encode(raw, 32, v, sizeof(v), NULL);
	ES_VARIANT("x", v, "P-256", "x = 0");
	ES_VARIANT("d", v, "P-256", "d = 0");
	memset(raw, 0xff, sizeof(raw));
	ag_b64url_encode(raw, 32, v, sizeof(v), NULL);
	ES_VARIANT("d", v, "P-256", "d > n");
	memset(raw, 0x11, sizeof(raw));
	ag_b64url_encode(raw, 32, v, sizeof(v), NULL);
	ES_VARIANT("d", v, "P-256", "d of another key");
	ag_b64url_encode(raw, 48, v, sizeof(v), NULL);
	ES_VARIANT("x", v, "wrong size", "x of 48 bytes (P-384 size)");
	ag_b64url_encode(raw, 31, v, sizeof(v), NULL);
	ES_VARIANT("y", v, "wrong size", "y of 31 bytes");
#undef ES_VARIANT
	snprintf(text, sizeof(text), "%s", es_text);
	*strstr(text, "  \"y\"") = '\0';
	strncat(text, "  \"d\": \"AA\"\n}\n", sizeof(text) - strlen(text) - 1);
	bad_key(text, name, "lacks the member \"y\"", "ES256 key without y");

	/* members */
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":\"" RFC_D "\",\"foo\":\"bar\"}",
	        "u.key", "unknown member \"foo\"", "unknown member");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":\"" RFC_D "\",\"x\":\"" RFC_X "\"}",
	        "u.key", "must not have", "HS256 key with an x");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":\"" RFC_D "\",\"alg\":\"HS256\"}",
	        "u.key", "twice", "duplicate member");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1}",
	        "u.key", "lacks the member \"k\"", "HS256 key without k");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":\"1\",\"k\":\"" RFC_D "\"}",
	        "u.key", "created", "created as a string");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1.5,\"k\":\"" RFC_D "\"}",
	        "u.key", "integer", "created as a real number");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":-1,\"k\":\"" RFC_D "\"}",
	        "u.key", "negative", "negative created");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":true}",
	        "u.key", "neither", "k as a boolean");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":\"\\u0041" RFC_D "\"}",
	        "u.key", "escape", "escape sequence in a value");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":\"" RFC_D "\"} x",
	        "u.key", "after", "bytes after the object");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":\"" RFC_D "\",}",
	        "u.key", "member name", "trailing comma");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":\"" RFC_D "\"",
	        "u.key", "expected", "unterminated object");
	bad_key("kid=u\n", "u.key", "JSON object", "not JSON");
	bad_key("", "u.key", "JSON object", "empty file");
	bad_key("{}", "u.key", "lacks", "empty object");
	bad_key("{\"kid\":\"u\",\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"status\":"
	        "\"active\",\"created\":1,\"k\":\"\xc3\xa9" RFC_D "\"}",
	        "u.key", "non-ASCII", "non-ASCII byte in a value");
	d = fresh_dir("bad");
	write_file(d, "bad name.key", "{}", 0600);
	check_load(d, AG_ERR_CONFIG, "name.key", "<kid>.key", "file name with a space");
	memset(text, ' ', 5000);
	text[5000] = '\0';
	text[0] = '{';
	bad_key(text, "big.key", "too large", "file larger than 4 KiB");
}

/* Concurrent rotations are serialised by the directory lock: whatever the
 * interleaving, every key is kept and exactly one ends up active. */
static void
test_concurrent_generate(void)
{
	struct ag_keyring *kr = NULL;
	char err[AG_ERRBUF];
	const char *d = fresh_dir("race");
	pid_t pids[8];
	int i, status, bad = 0;

	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char kid[AG_KEYRING_KID_MAX + 1], e[AG_ERRBUF];

			_exit(ag_keyring_generate(d, i % 2 ? AG_KEY_EDDSA : AG_KEY_HS256, 1, 0600,
			                          kid, e) == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < 8; i++)
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			bad++;
	is_int(bad, 0, "8 concurrent rotating key generations succeed");
	is_int(ag_keyring_load(d, &kr, err), 0, "the directory loads: exactly one active key");
	is_int(ag_keyring_count(kr), 8, "all 8 keys kept");
	ag_keyring_free(kr);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_keyring.XXXXXX";
	char cmd[PATH_MAX + 16];
	int status;

	if (sodium_init() < 0)
		return 1;
	if (mkdtemp(tmpl) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	snprintf(base, sizeof(base), "%s", tmpl);
	test_generate();
	test_sign_verify();
	test_rfc8037();
	test_jwks();
	test_dir_errors();
	test_file_errors();
	test_concurrent_generate();
	status = done_testing();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		diag("could not remove %s", base);
	return status;
}
