/* Small secrets at rest (TOTP secrets): XChaCha20-Poly1305 (libsodium,
 * IETF AEAD) under the secrets key, with the account name as associated
 * data so a sealed value cannot be moved to another account.
 *
 * Sealed format: 24-byte random nonce || ciphertext || 16-byte tag.
 *
 * Key file format: exactly 64 hexadecimal digits (either case) for the 32
 * key bytes, optionally followed by one "\n"; nothing else.  The file must
 * be a regular file (no symlink) owned by root or the current user, not
 * writable by group or others, not readable by others (group read is
 * allowed: web backends run in group authguard), in directories nobody
 * else can write. */
#ifndef AG_SECRETBOX_H
#define AG_SECRETBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AG_SECRETBOX_KEYBYTES 32
#define AG_SECRETBOX_NONCEBYTES 24
#define AG_SECRETBOX_ABYTES 16
#define AG_SECRETBOX_OVERHEAD (AG_SECRETBOX_NONCEBYTES + AG_SECRETBOX_ABYTES)
#define AG_SECRETBOX_MAX_MSG 4096 /* plaintext bound: small secrets only */
#define AG_SECRETBOX_MAX_AD 1024

/* Reads the key file at path into key.  Returns 0, or AG_ERR_NOTFOUND,
 * AG_ERR_UNSAFE, AG_ERR_TOOLONG, AG_ERR_INVAL (not 64 hex digits), AG_ERR_IO
 * or AG_ERR_NOMEM with *reasonp set to a static phrase to log with the
 * path.  key is wiped on every failure, and so is the file's text. */
int ag_secretbox_key_load(const char *path, uint8_t key[AG_SECRETBOX_KEYBYTES],
                          const char **reasonp);

/* Creates a new key file at path (O_CREAT|O_EXCL|O_NOFOLLOW: never
 * overwrites, never follows a link) with mode 0600 or 0640 exactly, filled
 * from the CSPRNG.  Returns 0, AG_ERR_INVAL (other mode), AG_ERR_UNSAFE
 * (parent directories), AG_ERR_IO (exists, or write failed: then the file is
 * removed) or AG_ERR_SYSTEM, with *reasonp set on failure. */
int ag_secretbox_key_generate(const char *path, mode_t mode, const char **reasonp);

/* Encrypts msg (msglen <= AG_SECRETBOX_MAX_MSG) bound to ad (adlen <=
 * AG_SECRETBOX_MAX_AD) into out, which needs msglen + AG_SECRETBOX_OVERHEAD
 * bytes; sets *outlen.  Returns 0, AG_ERR_INVAL, AG_ERR_TOOLONG or
 * AG_ERR_SYSTEM. */
int ag_secretbox_seal(const uint8_t key[AG_SECRETBOX_KEYBYTES], const uint8_t *msg,
                      size_t msglen, const uint8_t *ad, size_t adlen, uint8_t *out,
                      size_t outsize, size_t *outlen);

/* Decrypts and authenticates box against ad into out (boxlen -
 * AG_SECRETBOX_OVERHEAD bytes needed); sets *outlen.  Returns 0, or
 * AG_ERR_CORRUPT when the value was not sealed with this key and this ad
 * (tampered, truncated, wrong account, wrong key), AG_ERR_INVAL,
 * AG_ERR_TOOLONG or AG_ERR_SYSTEM.  out is wiped on every failure. */
int ag_secretbox_open(const uint8_t key[AG_SECRETBOX_KEYBYTES], const uint8_t *box,
                      size_t boxlen, const uint8_t *ad, size_t adlen, uint8_t *out,
                      size_t outsize, size_t *outlen) __attribute__((warn_unused_result));

#endif
