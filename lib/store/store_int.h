/* Internal to the store's operation modules (the files of lib/store): the handle
 * and the helpers every operation uses.  Engine-neutral: statements go
 * through db.h, never to SQLite or libpq directly.  Not for policy code. */
#ifndef AG_STORE_INT_H
#define AG_STORE_INT_H

#include <stdint.h>
#include <string.h>

#include "config.h"
#include "store.h"
#include "store/db.h"

/* Statement slots (db.h): each operation module owns a range. */
#define AG_SLOT_ATTEMPTS 0
#define AG_SLOT_MFA 40
#define AG_SLOT_REVOKED 60
#define AG_SLOT_WEB 70
#define AG_SLOT_PAM 110
#define AG_SLOT_WEBHOOK 120
#define AG_SLOT_STORE 130
#define AG_SLOT_COPY 160

struct ag_store {
	const struct ag_db_engine *e;
	struct ag_db *db;
	int64_t busy_timeout_ms;
	uint32_t jitter;          /* per-process state for the retry back-off */
	int store_kind;           /* AG_STORE_SQLITE / AG_STORE_POSTGRESQL */
	char errmsg[AG_ERRBUF];
};

/* 1 when s is a non-empty string of at most max bytes (every name and id
 * the store takes is checked with this before it is bound). */
static inline int
ag_store_bounded(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strnlen(s, max + 1) <= max;
}

/* Records the engine's reason for error r ("" reasons become what) and
 * returns r. */
int ag_st_fail(struct ag_store *st, int r, const char *what);

/* The statement in slot (prepared on first use, else reset and unbound);
 * NULL with the error recorded in *errp. */
struct ag_db_stmt *ag_st_stmt(struct ag_store *st, unsigned slot, const struct ag_sql *sql,
                              int *errp);

/* Runs a statement that returns no rows; *changes (may be NULL) receives
 * the rows it changed.  s may be NULL (preparing failed): returns err. */
int ag_st_exec(struct ag_store *st, struct ag_db_stmt *s, int err, const char *what,
               int64_t *changes);

/* Steps a statement expected to return at most one row: 1 with the row,
 * 0 without, or AG_ERR_*. */
int ag_st_row(struct ag_store *st, struct ag_db_stmt *s, int err, const char *what);

/* How long a transaction may wait for the state before it gives up. */
enum ag_txn_wait {
	AG_WAIT_NORMAL = 0, /* busy_timeout: giving up only denies */
	AG_WAIT_RECORD = 1  /* AG_STORE_RECORD_WAIT_MS or longer: it records
	                       what already happened (a failure) */
};

/* The body of a write transaction: returns 0 to commit, AG_TXN_NOWRITE to
 * roll back and succeed (it found nothing to write), a positive answer
 * such as AG_STORE_DECIDE_EXEMPT to roll back and return it, or AG_ERR_*
 * to roll back and fail.  A body may run several times (see ag_txn): it
 * starts by resetting every output. */
#define AG_TXN_NOWRITE 1000
typedef int (*ag_txn_body)(struct ag_store *st, void *ctx);

/* Runs body in one write transaction.  When the engine reports that a
 * concurrent transaction won (AG_ERR_RETRY: PostgreSQL's serialization
 * failures and deadlocks, a lost connection before commit), it rolls back
 * and runs body again after a short random pause, until the wait is
 * over; then AG_ERR_BUSY. */
int ag_txn(struct ag_store *st, enum ag_txn_wait wait, ag_txn_body body, void *ctx);

/* Runs body in one read-only transaction (a consistent snapshot for
 * several statements); body returns 0 or AG_ERR_*. */
int ag_txn_read(struct ag_store *st, ag_txn_body body, void *ctx);

/* A LIMIT for n rows, where 0 means no limit (no engine takes -1). */
static inline int64_t
ag_st_limit(int64_t n)
{
	return n > 0 ? n : INT64_MAX;
}

/* Inside a transaction: bounded clean-up after a write, per module.  Each
 * adds the rows it removed to *deleted (may be NULL); limit 0: all. */
int ag_st_attempts_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted);
int ag_st_mfa_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted);
int ag_st_revoked_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted);
int ag_st_web_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted);
int ag_st_webhook_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted);

/* Inside a transaction (web_sessions.c, for webhook_msgs.c): ends the web
 * sessions of user key, or linked to clerk_sid, revoking their refresh
 * families; with families_of_user also every family of that user. */
int ag_st_web_end(struct ag_store *st, const uint8_t *id_hash, const char *user_key,
                  const char *clerk_sid, ag_sid_of_hash_fn sid_of_hash, int64_t *sessions,
                  int64_t *families);
int ag_st_refresh_revoke_user(struct ag_store *st, const char *user_key, int64_t *families);

/* The advice of ag_store_advice() over facts already read (advice.c). */
void ag_store_advise(const struct ag_db_conn_facts *f, const char *conf_path, unsigned conf_mode,
                     ag_store_advice_fn fn, void *ctx);

#endif
