/* Internal to the store modules (store.c, store_mfa.c): the handle and the
 * helpers every operation uses.  Not for policy code. */
#ifndef AG_STORE_INT_H
#define AG_STORE_INT_H

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"

/* Prepared statements are cached per handle in numbered slots; each store
 * module owns a range. */
#define AG_STMT_CORE 0
#define AG_STMT_MFA 32
#define AG_STMT_TOKEN 48
#define AG_STMT_SESSION 64
#define AG_STMT_SLOTS 100

struct ag_store {
	sqlite3 *db;
	int64_t busy_timeout_ms; /* the configured wait (busy_timeout) */
	int64_t wait_ms;         /* the wait of the current lock request */
	int64_t busy_since_ns;   /* when the current wait started */
	uint32_t jitter;         /* per-process state for the retry jitter */
	int ckpt_nowait;         /* busy_handler gives up at once (wal_hook) */
	sqlite3_stmt *stmt[AG_STMT_SLOTS];
	char path[PATH_MAX];
	char errmsg[AG_ERRBUF];
	int file_version;
};

/* 1 when s is a non-empty string of at most max bytes (every name and id
 * the store takes is checked with this before it is bound). */
static inline int
ag_store_bounded(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strnlen(s, max + 1) <= max;
}

/* Records "PATH: what: sqlite message" as the handle's error and returns
 * the AG_ERR_* code for the SQLite result rc. */
int ag_store_fail(struct ag_store *st, int rc, const char *what);

/* The statement in slot, prepared from sql on first use, else reset with
 * its bindings cleared.  NULL when it cannot be prepared. */
sqlite3_stmt *ag_store_prepare(struct ag_store *st, unsigned slot, const char *sql);

/* Steps a statement that returns no rows (s may be NULL: prepare failed). */
int ag_store_exec(struct ag_store *st, sqlite3_stmt *s, const char *what);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback only when a transaction is
 * open).  ag_store_begin_record waits longer for the write lock (see
 * AG_STORE_RECORD_WAIT_MS): for writes that record what already happened. */
int ag_store_begin(struct ag_store *st);
int ag_store_begin_record(struct ag_store *st);
int ag_store_commit(struct ag_store *st);
void ag_store_rollback(struct ag_store *st);

/* Inside a transaction: expires up to limit unconfirmed enrollments (0:
 * all) and drops MFA rows left empty. */
int ag_store_mfa_purge(struct ag_store *st, int64_t now, int64_t limit);

/* Inside a transaction: deletes up to limit expired revocations and
 * refresh families (0: all).  Adds the number removed to *deleted. */
int ag_store_token_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted);

/* Inside a transaction: revokes every live refresh family of subject, or
 * (subject NULL) tied to the session handle sid; *n receives how many. */
int ag_store_refresh_revoke_by(struct ag_store *st, const char *subject, const char *sid,
                               int64_t *n);

/* Inside a transaction: ends the web session with id hash, and revokes
 * the refresh families tied to it (sid, its handle). */
int ag_store_session_drop(struct ag_store *st, const uint8_t hash[32], const char *sid);

/* Inside a transaction: deletes up to limit expired web sessions and
 * webhook message ids (0: all).  Adds the number removed to *deleted. */
int ag_store_session_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted);

#endif
