/* Token signing keys: one file per key in a directory (keys_dir, default
 * SYSCONFDIR/authguard/keys), exactly one active signing key, any number
 * of verification-only keys kept during a rotation.
 *
 * Key file: DIR/<kid>.key, a JSON object on one level -- a private JWK
 * (RFC 7517/7518/8037) plus two members of our own:
 *
 *   {"kid":"<kid>", "kty":"OKP", "crv":"Ed25519", "alg":"EdDSA", "use":"sig",
 *    "status":"active", "created":1700000000, "x":"<b64url>", "d":"<b64url>"}
 *
 *   EdDSA  kty "OKP", crv "Ed25519", x (32-byte public key), d (32-byte seed)
 *   ES256  kty "EC",  crv "P-256",   x, y (32 bytes each), d (32 bytes)
 *   HS256  kty "oct",                k (32 to 1024 bytes)
 *
 * Every member listed for the key type is required and no other member is
 * allowed.  "kid" equals the file name without ".key" and uses only
 * base64url characters (1 to 64); "use" is "sig"; "status" is "active"
 * (the signing key) or "verify"; "created" is seconds since the epoch.
 * Binary values are unpadded base64url.  The reader accepts a strict
 * subset of JSON: string values contain printable ASCII only and no escape
 * sequences, numbers are decimal integers, members are unique.  Private
 * key bytes are parsed in our own buffers only and wiped after use.
 *
 * A key is refused, with the file named, when: it is a symlink or not a
 * regular file, not owned by root or the effective user, writable by group
 * or others, or readable by others (group read is allowed: web backends
 * run in group authguard); or when its public key does not match its
 * private key, an EC point is not on P-256, a size is wrong, or an HS256
 * key is shorter than 32 bytes.  Files not ending in ".key" and names
 * starting with '.' are ignored.
 *
 * OpenSSL is used only for ES256 keys: a keyring without one never
 * initialises it. */
#ifndef AG_KEYRING_H
#define AG_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "config.h" /* AG_ERRBUF */

#define AG_KEYRING_KID_MAX 64     /* characters of a kid */
#define AG_KEYRING_MAX_KEYS 32    /* key files in one directory */
#define AG_KEYRING_HS_MIN 32      /* bytes of an HS256 key, at least */
#define AG_KEYRING_HS_MAX 1024    /* ... and at most */
#define AG_KEYRING_SIG_MAX 64     /* bytes of a raw signature */
#define AG_KEYRING_FILE_MAX 4096  /* bytes of a key file */

enum ag_key_alg { AG_KEY_EDDSA = 1, AG_KEY_ES256 = 2, AG_KEY_HS256 = 3 };

struct ag_keyring; /* opaque; holds private keys in locked, wiped memory */
struct ag_key;     /* one key, owned by its keyring */

/* Public description of a key, for listings (authguard-ctl keys).  The
 * strings belong to the keyring. */
struct ag_key_info {
	const char *kid;
	const char *alg;  /* "EdDSA", "ES256" or "HS256" */
	const char *file; /* file name inside the directory */
	int active;       /* 1 for the signing key, 0 for verification only */
	int64_t created;  /* seconds since the epoch */
};

/* Loads every key in dir.  The directory must be absolute, owned by root
 * or the effective user, not writable by group or others, with safe
 * parents; it must hold exactly one active key.  Returns 0 and sets *krp,
 * or AG_ERR_NOTFOUND, AG_ERR_UNSAFE, AG_ERR_CONFIG (a key file is invalid,
 * no or several active keys, too many keys), AG_ERR_IO, AG_ERR_NOMEM or
 * AG_ERR_SYSTEM with "PATH: reason" in err (naming every file involved). */
int ag_keyring_load(const char *dir, struct ag_keyring **krp, char err[AG_ERRBUF]);

/* Wipes and frees a keyring; accepts NULL. */
void ag_keyring_free(struct ag_keyring *kr);

/* Number of keys, and the i-th one (active key first, then the others,
 * newest first); NULL when i is out of range. */
size_t ag_keyring_count(const struct ag_keyring *kr);
const struct ag_key *ag_keyring_key(const struct ag_keyring *kr, size_t i);

/* The signing key (never NULL for a loaded keyring). */
const struct ag_key *ag_keyring_active(const struct ag_keyring *kr);

/* The key whose kid is exactly the kidlen bytes at kid, or NULL. */
const struct ag_key *ag_keyring_find(const struct ag_keyring *kr, const char *kid,
                                     size_t kidlen);

/* Fills info with the public description of key. */
void ag_keyring_info(const struct ag_key *key, struct ag_key_info *info);

/* The algorithm a key is bound to. */
enum ag_key_alg ag_keyring_alg(const struct ag_key *key);

/* JWS name of an algorithm ("EdDSA", "ES256", "HS256"), or NULL. */
const char *ag_keyring_alg_name(enum ag_key_alg alg);

/* Parses an exact, case-sensitive JWS algorithm name.  Returns 0 or
 * AG_ERR_INVAL. */
int ag_keyring_alg_parse(const char *name, enum ag_key_alg *alg);

/* Signs len bytes with key into sig: 64 bytes for EdDSA and ES256 (raw
 * R||S), 32 for HS256; sets *siglen.  Returns 0, AG_ERR_INVAL or
 * AG_ERR_SYSTEM (sig is then wiped). */
int ag_keyring_sign(const struct ag_key *key, const uint8_t *msg, size_t len,
                    uint8_t sig[AG_KEYRING_SIG_MAX], size_t *siglen);

/* Verifies sig over msg with key.  Returns 0 when valid, AG_ERR_CORRUPT
 * when not (wrong length included; ES256 R or S of 0 or >= the group order
 * too), AG_ERR_INVAL or AG_ERR_SYSTEM.  HS256 compares in constant time. */
int ag_keyring_verify(const struct ag_key *key, const uint8_t *msg, size_t len,
                      const uint8_t *sig, size_t siglen) __attribute__((warn_unused_result));

/* RFC 7638 JWK thumbprint (SHA-256, base64url, 43 characters) of an EdDSA
 * or ES256 key's public part.  Returns 0, or AG_ERR_INVAL for HS256. */
int ag_keyring_thumbprint(const struct ag_key *key, char out[AG_KEYRING_KID_MAX + 1]);

/* Builds {"keys":[...]} with the public keys (kty crv x y kid alg use) of
 * every EdDSA and ES256 key; never d or k, and no HS256 key at all.
 * Returns 0 and a new reference in *out, or AG_ERR_NOMEM. */
int ag_keyring_jwks(const struct ag_keyring *kr, json_t **out);

/* Creates a new key for alg in dir, with mode 0600 or 0640 exactly (group
 * read for the web backend's group; the file takes the directory's group
 * when the caller may set it).  The kid is the RFC 7638 thumbprint for
 * EdDSA and ES256, 128 random bits in base64url for HS256; it is copied
 * to kid.  The file is written under a temporary name and linked into
 * place, so it never replaces an existing file and is never seen half
 * written.  With make_active, the new key becomes the signing key and
 * every previously active key is rewritten (temporary file + rename) with
 * status "verify"; otherwise the new key is a verification key.  Existing
 * key files must all be valid.  Concurrent calls are serialised with an
 * exclusive flock on the directory.  Returns 0, or an AG_ERR_* code with
 * the reason in err.  Should rewriting an old key fail after the new one
 * was linked, kid still names the new key and the directory holds two
 * active keys, which loading refuses (naming both) until
 * ag_keyring_activate() settles it. */
int ag_keyring_generate(const char *dir, enum ag_key_alg alg, int make_active, mode_t mode,
                        char kid[AG_KEYRING_KID_MAX + 1], char err[AG_ERRBUF]);

/* Makes the existing key kid the signing key and every other active key a
 * verification key (same rewriting and locking as ag_keyring_generate).
 * Returns 0, AG_ERR_NOTFOUND (no such key) or another AG_ERR_* code, with
 * the reason in err. */
int ag_keyring_activate(const char *dir, const char *kid, char err[AG_ERRBUF]);

#endif
