/* Backup codes: single-use MFA codes shown once at enrollment.
 *
 * A code is 12 characters from a 30-symbol alphabet without look-alikes
 * (digits 2-9 and A-Z without I, L, O, U: no 0/O, 1/I/L, U/V), so
 * 12 * log2(30) = 58.9 bits each, shown as "ABCD-EFGH-JKMN".  Input is
 * normalised: case folded to upper, spaces and dashes dropped.
 *
 * Codes are stored only as a keyed BLAKE2b-256 hash of account || NUL ||
 * normalised code, keyed with a subkey derived from the secrets key
 * (crypto_kdf, context "agbackup", id 1), so the state file alone cannot be
 * used to test guesses offline. */
#ifndef AG_BACKUP_H
#define AG_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#define AG_BACKUP_CODE_CHARS 12
#define AG_BACKUP_GROUP_CHARS 4
#define AG_BACKUP_CODE_SIZE 15 /* "ABCD-EFGH-JKMN" and NUL */
#define AG_BACKUP_NORM_SIZE (AG_BACKUP_CODE_CHARS + 1)
#define AG_BACKUP_HASH_BYTES 32
#define AG_BACKUP_KEYBYTES 32   /* the secrets key (see secretbox.h) */
#define AG_BACKUP_MAX_INPUT 64  /* longest typed code, separators included */
#define AG_BACKUP_MAX_ACCOUNT 256
#define AG_BACKUP_DEFAULT_COUNT 10
#define AG_BACKUP_MAX_COUNT 100

/* Non-negative result of ag_backup_verify() other than 0 (found). */
#define AG_BACKUP_MISMATCH 1

/* Writes n (1..AG_BACKUP_MAX_COUNT) fresh, distinct codes, formatted for
 * reading.  Returns 0, AG_ERR_INVAL or AG_ERR_SYSTEM; codes are wiped on
 * error. */
int ag_backup_generate(char codes[][AG_BACKUP_CODE_SIZE], size_t n);

/* Normalises a typed code: ASCII letters upper-cased, ' ' and '-'
 * dropped, then exactly AG_BACKUP_CODE_CHARS alphabet symbols must remain.
 * Returns 0, AG_ERR_INVAL or AG_ERR_TOOLONG (more than AG_BACKUP_MAX_INPUT
 * bytes; never read further); out is wiped on error. */
int ag_backup_normalize(const char *input, char out[AG_BACKUP_NORM_SIZE]);

/* Computes the stored form of a code (typed or formatted; normalised
 * here) for account (1..AG_BACKUP_MAX_ACCOUNT bytes).  Returns 0,
 * AG_ERR_INVAL, AG_ERR_TOOLONG or AG_ERR_SYSTEM; out is wiped on error. */
int ag_backup_hash(const uint8_t key[AG_BACKUP_KEYBYTES], const char *account,
                   const char *code, uint8_t out[AG_BACKUP_HASH_BYTES]);

/* Looks a typed code up among n stored hashes, comparing with sodium_memcmp
 * against every one of them.  Returns 0 with *index set to the match,
 * AG_BACKUP_MISMATCH, or a negative AG_ERR_* (malformed code, bad account).
 * Only 0 grants; the caller must then delete that hash (single use). */
int ag_backup_verify(const uint8_t key[AG_BACKUP_KEYBYTES], const char *account,
                     const char *input, const uint8_t (*hashes)[AG_BACKUP_HASH_BYTES],
                     size_t n, size_t *index) __attribute__((warn_unused_result));

#endif
