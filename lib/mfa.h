/* Multi-factor authentication: TOTP enrollment and verification and
 * backup codes, for the PAM module, authguard-token and authguard-enroll.
 * One place for the rules: secrets sealed under the secrets key with the
 * account as associated data, a code accepted at most once (decided in
 * the transaction that records it), single-use backup codes stored as
 * keyed hashes.  Functions return 0 or AG_ERR_*; any error means "deny". */
#ifndef AG_MFA_H
#define AG_MFA_H

#include <stddef.h>
#include <stdint.h>

#include "backup.h"
#include "config.h"
#include "log.h"
#include "store.h"

struct ag_mfa {
	const struct ag_config *cfg;
	struct ag_store *store;
	struct ag_log log;
	uint8_t key[32];   /* the secrets key, once loaded */
	int have_key;
};

enum ag_mfa_result {
	AG_MFA_OK_TOTP = 0,   /* a fresh TOTP code */
	AG_MFA_OK_BACKUP,     /* an unused backup code (now used) */
	AG_MFA_WRONG,         /* no match */
	AG_MFA_REPLAYED,      /* the code's time step was already used */
	AG_MFA_MALFORMED,     /* neither a TOTP nor a backup code */
	AG_MFA_NOT_ENROLLED   /* the account has no confirmed TOTP secret */
};

struct ag_mfa_status {
	int enrolled;          /* a confirmed secret is in force */
	int pending;           /* an enrollment awaits confirmation */
	int64_t pending_expires;
	int64_t enrolled_at;
	int64_t backup_left;
};

#define AG_MFA_SECRET_B32 40 /* Base32 of a 160-bit secret (32) and NUL, rounded */

/* Loads cfg->secrets_key (64 hex digits, not readable by others).  A
 * missing, short or unsafe key is an error naming the file and reason. */
int ag_mfa_load_key(struct ag_mfa *m, char err[AG_ERRBUF]);

/* Wipes the key. */
void ag_mfa_clear(struct ag_mfa *m);

/* Starts (or restarts) an enrollment: a fresh 160-bit secret, sealed and
 * stored as pending until cfg->enroll_timeout.  secret_b32 receives it in
 * Base32 for the user; *expires when it lapses unconfirmed. */
int ag_mfa_enroll_begin(struct ag_mfa *m, const char *account,
                        char secret_b32[AG_MFA_SECRET_B32], int64_t *expires);

/* Confirms the pending enrollment with a current code.  On success the
 * secret is in force and cfg->backup_codes fresh backup codes are written
 * to codes (wiped by the caller after showing them once), *ncodes set.
 * *result is AG_MFA_OK_TOTP, AG_MFA_WRONG, AG_MFA_MALFORMED, or
 * AG_MFA_NOT_ENROLLED when nothing is pending. */
int ag_mfa_enroll_confirm(struct ag_mfa *m, const char *account, const char *code,
                          char codes[][AG_BACKUP_CODE_SIZE], size_t *ncodes,
                          enum ag_mfa_result *result);

/* Verifies a typed TOTP or backup code for an enrolled account. */
int ag_mfa_verify(struct ag_mfa *m, const char *account, const char *input,
                  enum ag_mfa_result *result);

/* Whether a refused code counts as a failed login (1) or not (0).  Every
 * refusal counts except AG_MFA_REPLAYED: see mfa.c for why that is safe.
 * The PAM module withdraws its attempt instead (ag_guard_release()); a web
 * login's attempt stays in flight for the next code. */
int ag_mfa_counts_as_failure(enum ag_mfa_result r);

/* After a replayed code: *seconds until the account's next unused TOTP code
 * shows in its app (0: the code shown now is unused).  A hint for the user;
 * 0 when the account has no active secret. */
int ag_mfa_next_code_wait(struct ag_mfa *m, const char *account, int64_t *seconds);

/* Replaces the backup codes of an enrolled account (AG_ERR_NOTFOUND when
 * it is not enrolled). */
int ag_mfa_backup_regenerate(struct ag_mfa *m, const char *account,
                             char codes[][AG_BACKUP_CODE_SIZE], size_t *ncodes);

/* Removes secret, enrollment and backup codes. */
int ag_mfa_reset(struct ag_mfa *m, const char *account, int *found);

/* What is stored for account (never the secret). */
int ag_mfa_get_status(struct ag_mfa *m, const char *account, struct ag_mfa_status *out);

/* The issuer shown in authenticator apps: cfg->totp_issuer, or the host
 * name when it is empty. */
void ag_mfa_issuer(const struct ag_config *cfg, char *out, size_t outsize);

/* A short word for a result, for logs and JSON ("ok", "wrong", ...). */
const char *ag_mfa_result_name(enum ag_mfa_result r);

#endif
