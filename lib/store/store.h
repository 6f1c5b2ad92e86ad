/* The state store: the contract every front end (the PAM module, the
 * helpers) uses, whatever holds the state: one SQLite file per host (the
 * default) or one PostgreSQL database for a fleet (store = postgresql).
 *
 * Every operation below is one transaction, serialisable with every other
 * (SQLite: BEGIN IMMEDIATE; PostgreSQL: SERIALIZABLE, run again when a
 * concurrent transaction won), so concurrent sshd processes and web
 * workers, on one host or many, never lose a count and never let an
 * attempt past a limit.  Functions return 0 or a negative AG_ERR_* code;
 * on error nothing has been changed (the transaction is rolled back) and
 * a reason is available from ag_store_errmsg().
 *
 * Layout: the operations (lib/store/attempts.c, mfa_rows.c,
 * revocations.c, web_sessions.c, pam_sessions.c, webhook_msgs.c) are
 * written once over the engine interface of db.h; the decisions come
 * from lib/ (policy.h, session_policy.h, refresh_policy.h); the engines
 * (lib/store/sqlite/, lib/store/pg/) only store, load and lock. */
#ifndef AG_STORE_H
#define AG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"
#include "refresh_policy.h"
#include "session_policy.h"

struct ag_store;

enum ag_subject_kind {
	AG_SUBJECT_ACCOUNT = 1,
	AG_SUBJECT_HOST = 2
};

#define AG_MAX_SUBJECTS 2 /* one attempt touches an account and a host */

/* One subject of an attempt and the limits that apply to it. */
struct ag_subject_ref {
	enum ag_subject_kind kind;
	const char *name;   /* NUL-terminated, at most AG_NAME_MAX bytes */
	struct ag_limits limits;
	/* 1: limits.enforce holds unless the subject turns out to be exempt,
	 * which the caller has not decided yet (an NSS lookup, kept off the
	 * common path and out of every transaction).  An operation that would
	 * refuse or lock such a subject changes nothing and returns
	 * AG_STORE_DECIDE_EXEMPT instead: the caller decides, sets enforce,
	 * clears this and calls again. */
	int exempt_unknown;
};

/* Returned by reserve_attempt, settle_failure, settle_success and peek
 * (see exempt_unknown above); positive, so a caller that does not expect
 * it still takes it for "not done". */
#define AG_STORE_DECIDE_EXEMPT 1

/* Per-subject outcome of a settle operation. */
struct ag_settled {
	int64_t failures;     /* failures in the window after this one */
	int64_t locked_until; /* 0 when not locked */
	int newly_locked;     /* this failure caused the lock */
	int64_t delay;        /* seconds before the next attempt may start */
};

/* A subject as status shows it. */
struct ag_subject_info {
	enum ag_subject_kind kind;
	char name[AG_NAME_MAX + 1];
	struct ag_subject_state state;
	char last_source[256];  /* where the newest failure came from */
};

enum ag_store_flags {
	AG_STORE_CREATE = 1 /* create and initialise a missing store (init) */
};

/* Maps a session hash to the public handle refresh families record. */
typedef void (*ag_sid_of_hash_fn)(const uint8_t h[32], char out[AG_SID_MAX + 1]);

/* Opens the store the configuration names.  SQLite: the state file, after
 * checking that neither it nor a directory above it can be changed by
 * others; older schemas are migrated forward.  PostgreSQL: a connection
 * within pg_connect_timeout, and a schema of exactly this build's version
 * (only AG_STORE_CREATE creates or migrates it).  Returns 0, or AG_ERR_*
 * with a one-line reason in err that never quotes the connection string
 * or the password: AG_ERR_UNAVAILABLE when the server cannot be reached
 * or did not answer in time; AG_ERR_CONFIG for a connection string libpq
 * cannot parse, a failed authentication, a missing database or right;
 * AG_ERR_SCHEMA for a missing schema or one of another version. */
int ag_store_open(const struct ag_config *cfg, int flags, struct ag_store **storep,
                  char err[AG_ERRBUF]);

/* Closes the store; accepts NULL. */
void ag_store_close(struct ag_store *store);

/* Reason for the last failed operation on this store ("" when none). */
const char *ag_store_errmsg(const struct ag_store *store);

/* Counts an attempt before the secret is checked.  For each subject, in
 * one transaction: expire an old lock, forget failures older than the
 * window, and decide with ag_policy_decide().  When every subject allows,
 * records a pending failure for each (a crash before settling leaves it
 * counted), and sets *attemptp to the id that settles them.  dec[i] holds
 * each subject's decision either way. */
int ag_store_reserve_attempt(struct ag_store *store, const struct ag_subject_ref *subj,
                             size_t n, int64_t now, int64_t *attemptp,
                             struct ag_decision dec[]);

/* How long the operations that record what already happened (a failure)
 * wait for the write lock when busy_timeout is shorter: a busy state must
 * not make the store forget a wrong password.  ag_store_open waits as long
 * for its reads (they wait only for another process's WAL recovery).
 * Everything else waits busy_timeout and is refused when it runs out,
 * which only denies. */
#define AG_STORE_RECORD_WAIT_MS 15000

/* Settles attempt as a failure for each subject (or records a new failure
 * when the attempt is unknown, e.g. attempt 0), locking a subject that
 * reaches its deny count.  out[i] receives each subject's new state.
 * Waits up to AG_STORE_RECORD_WAIT_MS (or busy_timeout when longer) for
 * the state; AG_ERR_BUSY then means that nothing was recorded. */
int ag_store_settle_failure(struct ag_store *store, const struct ag_subject_ref *subj,
                            size_t n, int64_t attempt, int64_t now,
                            struct ag_settled out[]);

/* Settles attempt as a success: an account subject's failures are reset; a
 * host subject only gets this attempt's pending failure removed (host
 * counts decay with the window).  If a subject became locked meanwhile,
 * nothing is reset and dec[i].verdict says so. */
int ag_store_settle_success(struct ag_store *store, const struct ag_subject_ref *subj,
                            size_t n, int64_t attempt, int64_t now,
                            struct ag_decision dec[]);

/* Withdraws attempt: its failure still in flight is removed from each
 * subject, as if it had never been counted -- neither a failure nor a
 * success (see ag_guard_release()).  A failure already settled stays, and
 * attempt 0 withdraws nothing.  *released is 1 when something was
 * withdrawn. */
int ag_store_release_attempt(struct ag_store *store, const struct ag_subject_ref *subj,
                             size_t n, int64_t attempt, int *released);

/* Read-only decision for one subject (the account phase, status).
 *
 * These four return 0, a negative AG_ERR_*, or AG_STORE_DECIDE_EXEMPT for a
 * subject with exempt_unknown set that they would refuse or lock. */
int ag_store_peek(struct ag_store *store, const struct ag_subject_ref *subj,
                  int64_t now, struct ag_decision *dec);

/* Fills info for one subject.  Returns AG_ERR_NOTFOUND when the store holds
 * nothing about it. */
int ag_store_subject_info(struct ag_store *store, enum ag_subject_kind kind,
                          const char *name, int64_t window, int64_t now,
                          struct ag_subject_info *info);

/* Calls fn for each subject with failures or a lock: the current locks
 * first, then the others, each group most recently active first; at most
 * limit subjects (0: all).  *omitted receives how many more there are
 * past the limit.  fn returns 0 to continue (a stop leaves *omitted
 * short). */
int ag_store_list_subjects(struct ag_store *store, int64_t window, int64_t now,
                           size_t limit,
                           int (*fn)(void *ctx, const struct ag_subject_info *info),
                           void *ctx, int64_t *omitted);

/* Forgets a subject's failures and lock.  *found tells whether it had any. */
int ag_store_unlock(struct ag_store *store, enum ag_subject_kind kind, const char *name,
                    int *found);

/* Deletes up to limit expired subjects (0: all).  *deleted receives the
 * number removed. */
int ag_store_purge(struct ag_store *store, int64_t now, int64_t limit, int64_t *deleted);

/* ------------------------------------------------------------------ MFA
 * Secrets are stored sealed (secretbox.h) and only ever opened by the
 * caller's callback, inside the transaction that records the outcome. */

#define AG_MFA_SEALED_MAX 256 /* bytes of a sealed TOTP secret */

struct ag_mfa_record {
	int active;                 /* a confirmed secret exists */
	uint8_t secret[AG_MFA_SEALED_MAX];
	size_t secret_len;
	int64_t last_step;          /* -1 before the first accepted code */
	int64_t enrolled_at;
	int pending;                /* an unconfirmed, unexpired enrollment */
	uint8_t pending_secret[AG_MFA_SEALED_MAX];
	size_t pending_len;
	int64_t pending_expires;
	int64_t backup_left;        /* unused backup codes */
};

/* Verdict of a TOTP check callback: 0 accepted (with the step), or one of
 * these, or a negative AG_ERR_*. */
#define AG_MFA_MISMATCH 1
#define AG_MFA_REPLAY 2

/* Checks a code against a sealed secret; returns 0 with *stepp set, or
 * AG_MFA_MISMATCH, AG_MFA_REPLAY, or AG_ERR_*. */
typedef int (*ag_mfa_check_fn)(void *ctx, const uint8_t *sealed, size_t sealed_len,
                               int64_t last_step, int64_t *stepp);

/* Reads an account's MFA state at now (expired enrollments are not
 * reported).  Returns AG_ERR_NOTFOUND when there is none. */
int ag_store_mfa_get(struct ag_store *store, const char *account, int64_t now,
                     struct ag_mfa_record *rec);

/* Stores a new unconfirmed enrollment, replacing an older one; an active
 * secret stays in force until the new one is confirmed. */
int ag_store_mfa_set_pending(struct ag_store *store, const char *account, const uint8_t *sealed,
                             size_t len, int64_t now, int64_t expires);

/* One transaction: check the code with check() against the active secret
 * (confirm = 0) or the pending enrollment (confirm = 1), and on success
 * record the step so no code of it or an older step is accepted again.
 * Confirming makes the pending secret the active one and replaces the
 * backup codes with the n hashes given.  *verdict receives check()'s
 * verdict; AG_ERR_NOTFOUND when there is nothing to check against. */
int ag_store_mfa_use_totp(struct ag_store *store, const char *account, int64_t now, int confirm,
                          ag_mfa_check_fn check, void *ctx,
                          const uint8_t (*backup_hashes)[32], size_t n, int *verdict);

/* Consumes a backup code by its keyed hash: *used is 1 when it existed
 * (and is now gone), 0 otherwise. */
int ag_store_mfa_use_backup(struct ag_store *store, const char *account, const uint8_t hash[32],
                            int *used);

/* Replaces an active account's backup codes.  AG_ERR_NOTFOUND when the
 * account has no active secret. */
int ag_store_mfa_set_backup(struct ag_store *store, const char *account,
                            const uint8_t (*hashes)[32], size_t n);

/* Forgets an account's MFA entirely (secret, enrollment, backup codes). */
int ag_store_mfa_reset(struct ag_store *store, const char *account, int *found);

/* ---------------------------------------------------------------- tokens */

/* Denylists an access token's jti until expires (when it would be refused
 * anyway).  Revoking twice is harmless. */
int ag_store_jti_revoke(struct ag_store *store, const char *jti, int64_t now, int64_t expires);

/* *revoked = 1 when jti is denylisted at now.  A plain indexed read. */
int ag_store_jti_is_revoked(struct ag_store *store, const char *jti, int64_t now, int *revoked);

/* Starts a refresh family (one per login) whose first token has the
 * SHA-256 hash: subject as the backend spelled it (the sub of the access
 * tokens it refreshes), subject_key its folded key (revocation by user);
 * sid may be NULL.  *family receives its id. */
int ag_store_refresh_create(struct ag_store *store, const char *subject,
                            const char *subject_key, const char *sid, const uint8_t hash[32],
                            int64_t now, int64_t expires, int64_t *family);


struct ag_refresh_info {
	int64_t family;
	int64_t expires;                 /* the family's absolute expiry */
	char subject[AG_NAME_MAX + 1];
	char sid[AG_SID_MAX + 1];        /* "" when not tied to a session */
};

/* Redeems the token with hash, exactly once, in one transaction: marks it
 * used and records new_hash as its successor.  What a token that was used
 * before means is ag_refresh_judge()'s to say (refresh_policy.h); when it
 * is theft the family is revoked, and the family's
 * web session ends in the same transaction, with every family tied to it:
 * sid_hash turns the family's sid into the session's id hash (0 on
 * success); NULL leaves the session to the caller. */
int ag_store_refresh_redeem(struct ag_store *store, const uint8_t hash[32],
                            const uint8_t new_hash[32], int64_t now, int64_t grace,
                            int (*sid_hash)(const char *sid, uint8_t out[32]),
                            enum ag_refresh_outcome *outcome, struct ag_refresh_info *info);

/* Revokes the family with id family, or the family of the token with
 * hash (pass family 0), or every family of the user with key subject_key,
 * or of session sid (exactly one selector non-zero/non-NULL).  *n
 * receives the number of families revoked now. */
int ag_store_refresh_revoke(struct ag_store *store, int64_t family, const uint8_t *hash,
                            const char *subject_key, const char *sid, int64_t *n);

/* -------------------------------------------------------------- sessions */

/* Stores a new session.  At most max_per_user live sessions per user (by
 * user_key): when the user already has that many, evict set removes the
 * least recently used ones (*evicted counts them), else nothing is stored
 * and *refused is set (ag_session_evictions()).  Expired sessions of the
 * user are removed first. */
int ag_store_session_create(struct ag_store *store, const struct ag_web_session *s,
                            int64_t max_per_user, int evict, int64_t now, int64_t *evicted,
                            int *refused);

/* Checks a session at now (ag_session_judge()).  A match records the
 * activity (ag_session_slide()) -- but writes only when touch_interval
 * seconds have passed since the last write (*touched says whether it
 * did).  An expired session, and with revoke set a fingerprint mismatch,
 * is deleted. */
int ag_store_session_check(struct ag_store *store, const uint8_t id_hash[32],
                           const uint8_t fingerprint[32], int64_t now, int64_t idle,
                           int64_t touch_interval, int revoke, enum ag_session_verdict *verdict,
                           struct ag_web_session *out, int *touched);

/* Replaces a live session's id (privilege change): the new hash takes over
 * everything, the old one is gone, refresh families follow (old_sid and
 * new_sid are the public handles recorded with them). */
int ag_store_session_rotate(struct ag_store *store, const uint8_t old_hash[32],
                            const uint8_t new_hash[32], const char *old_sid, const char *new_sid,
                            int64_t now, enum ag_session_verdict *verdict,
                            struct ag_web_session *out);

/* Ends sessions -- one by hash, all of a user (by key), or all linked to a
 * Clerk session (exactly one selector) -- and revokes their refresh
 * families.  sid_of_hash maps a session hash to the handle families were
 * recorded with.  *n counts the sessions ended; *families (may be NULL)
 * the refresh families revoked with them. */
int ag_store_session_end(struct ag_store *store, const uint8_t *id_hash, const char *user_key,
                         const char *clerk_sid, ag_sid_of_hash_fn sid_of_hash, int64_t *n,
                         int64_t *families);

/* 1 in *alive when the session with this hash exists and has not expired;
 * out (when not NULL) receives it. */
int ag_store_session_alive(struct ag_store *store, const uint8_t id_hash[32], int64_t now,
                           int *alive, struct ag_web_session *out);

/* Calls fn for each live session of the user with key user_key (all users
 * when NULL). */
int ag_store_session_list(struct ag_store *store, const char *user_key, int64_t now,
                          int (*fn)(void *ctx, const struct ag_web_session *s), void *ctx);

struct ag_pam_session {
	int64_t id;
	char user[AG_NAME_MAX + 1];
	char service[64], tty[64], rhost[256], boot_id[40];
	char host[64];        /* the machine (its machine id) */
	int64_t pid, started;
};

/* Records a PAM session unless user already has max live ones on this
 * machine (s->host; max 0: no limit).  alive(ctx, row) tells whether an
 * existing row of this machine still counts (its process runs, same
 * boot); rows that do not are deleted.  Rows of other machines (a shared
 * store) are neither counted nor touched: only their machine can tell.
 * *id receives the new row's id; *refused is set when over the limit. */
int ag_store_pam_session_open(struct ag_store *store, const struct ag_pam_session *s,
                              int64_t max, int (*alive)(void *ctx, const struct ag_pam_session *row),
                              void *ctx, int64_t *id, int *refused);

/* Removes a PAM session row -- only one of user, when user is not NULL
 * (closing twice is harmless). */
int ag_store_pam_session_close(struct ag_store *store, int64_t id, const char *user);

/* Calls fn for each recorded PAM session of user (all when NULL). */
int ag_store_pam_session_list(struct ag_store *store, const char *user,
                              int (*fn)(void *ctx, const struct ag_pam_session *s), void *ctx);

/* Records a webhook message id until expires (*first is 0 when it was
 * already recorded: a replay) and, the first time only, applies its event in the same transaction: ends the
 * web sessions of end_user, after revoking every refresh family of that
 * subject (*families: how many), or the sessions of end_clerk_sid (at
 * most one of the two; neither: record only), revoking the families tied
 * to them.  A crash can thus neither record an event it did not apply
 * nor apply one it did not record.  On an error nothing changed. */
int ag_store_webhook_apply(struct ag_store *store, const char *msg_id, int64_t now,
                           int64_t expires, const char *end_user_key,
                           const char *end_clerk_sid, ag_sid_of_hash_fn sid_of_hash,
                           int *first, int64_t *sessions_ended, int64_t *families);

/* ------------------------------------------------------- administration */

/* Grants role (ag_sql_role_check) exactly the rights the programs need
 * on a PostgreSQL store, in one transaction: USAGE on the schema, SELECT
 * on its version table, SELECT, INSERT, UPDATE and DELETE on the store's
 * tables; nothing else (no DDL, no TRUNCATE, no sequence).  The store is
 * opened by a role that may grant them (the schema owner).  AG_ERR_INVAL
 * for SQLite (no roles) or a bad name, AG_ERR_NOTFOUND when the role
 * does not exist. */
int ag_store_grant(struct ag_store *store, const char *role);

/* Called with each piece of advice, one line. */
typedef void (*ag_store_advice_fn)(void *ctx, const char *msg);

/* Advice about cfg's store settings, read as the client library reads
 * them, without connecting (PostgreSQL; SQLite has none):
 *  - a password in pg_conninfo while conf_path, the file holding it
 *    (mode conf_mode), may be read by group or others;
 *  - a passfile that group or others may read or write (libpq then
 *    ignores it), or that does not exist;
 *  - a remote server (a host that is not a Unix-socket directory and not
 *    localhost, 127.0.0.1 or ::1) without sslmode=verify-full.
 * Never quotes the connection string.  Returns 0, or AG_ERR_* with the
 * reason in err (settings that do not parse: AG_ERR_CONFIG). */
int ag_store_advice(const struct ag_config *cfg, const char *conf_path, unsigned conf_mode,
                    ag_store_advice_fn fn, void *ctx, char err[AG_ERRBUF]);

#define AG_STORE_TABLES 10 /* tables a copy goes through */

/* Rows copied, per table, in the order copied. */
struct ag_store_copied {
	size_t n;
	const char *table[AG_STORE_TABLES];
	int64_t rows[AG_STORE_TABLES];
};

/* Copies every row of from into to -- subjects with their failures and
 * locks; MFA (sealed secrets, last steps, pending enrollments, backup
 * code hashes); revoked jtis; refresh families and tokens; web and PAM
 * sessions; webhook message ids -- from one snapshot of from, in one
 * write transaction on to.  Row ids are kept, so that every reference
 * (failure.subject_id, backup_code.account, refresh_token.family_id) and
 * every id a running process holds (its PAM session's row, a family id
 * a backend kept) stays right, and to's id generators are moved past
 * them.  to must hold no row at all, else AG_ERR_EXISTS -- unless
 * replace is set: what it holds is then deleted in the same
 * transaction.  Sealed secrets are copied as they are: to's programs
 * need the same secrets key.  On any error to is unchanged and the
 * reason is in ag_store_errmsg(to).  out (may be NULL) receives the
 * counts. */
int ag_store_copy(struct ag_store *from, struct ag_store *to, int replace,
                  struct ag_store_copied *out);

/* Checks the whole store (SQLite: PRAGMA quick_check; PostgreSQL: the
 * schema version and the role's rights).  Returns 0 or AG_ERR_*. */
int ag_store_check(struct ag_store *store);

/* Schema version this build writes (for the store's engine), and the one
 * found in the store. */
int ag_store_schema_version(const struct ag_store *store);
int ag_store_file_version(struct ag_store *store);

/* "sqlite" or "postgresql". */
const char *ag_store_engine(const struct ag_store *store);

/* SQLite only: the handle's effective PRAGMA synchronous (1 NORMAL, 2
 * FULL: the sync option), or a negative AG_ERR_*. */
int ag_store_synchronous(struct ag_store *store);

#endif
