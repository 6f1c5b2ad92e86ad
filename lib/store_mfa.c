/* SQLite implementation of the MFA part of store.h. */
#include "autoconf.h"

#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "error.h"
#include "store.h"
#include "store_int.h"

enum {
	M_GET, M_BACKUP_COUNT, M_SET_PENDING, M_SET_STEP, M_PROMOTE, M_BACKUP_CLEAR,
	M_BACKUP_ADD, M_BACKUP_USE, M_RESET, M_DROP_EXPIRED, M_EXPIRE_PENDING,
	M_COUNT
};

static const char *const sql[M_COUNT] = {
	[M_GET] = "SELECT secret, last_step, enrolled_at, pending, pending_expires"
	          " FROM mfa WHERE account = ?1",
	[M_BACKUP_COUNT] = "SELECT count(*) FROM backup_code WHERE account = ?1",
	[M_SET_PENDING] = "INSERT INTO mfa (account, pending, pending_expires) VALUES (?1, ?2, ?3)"
	                  " ON CONFLICT (account) DO UPDATE SET pending = excluded.pending,"
	                  " pending_expires = excluded.pending_expires",
	[M_SET_STEP] = "UPDATE mfa SET last_step = ?2 WHERE account = ?1",
	[M_PROMOTE] = "UPDATE mfa SET secret = pending, last_step = ?2, enrolled_at = ?3,"
	              " pending = NULL, pending_expires = 0 WHERE account = ?1",
	[M_BACKUP_CLEAR] = "DELETE FROM backup_code WHERE account = ?1",
	[M_BACKUP_ADD] = "INSERT OR IGNORE INTO backup_code (account, hash) VALUES (?1, ?2)",
	[M_BACKUP_USE] = "DELETE FROM backup_code WHERE account = ?1 AND hash = ?2",
	[M_RESET] = "DELETE FROM mfa WHERE account = ?1",
	/* Both use the partial index on pending enrollments. */
	[M_DROP_EXPIRED] = "DELETE FROM mfa WHERE account IN"
	                   " (SELECT account FROM mfa WHERE pending IS NOT NULL"
	                   "  AND pending_expires < ?1 AND secret IS NULL LIMIT ?2)",
	[M_EXPIRE_PENDING] = "UPDATE mfa SET pending = NULL, pending_expires = 0 WHERE account IN"
	                     " (SELECT account FROM mfa WHERE pending IS NOT NULL"
	                     "  AND pending_expires < ?1 LIMIT ?2)",
};

static sqlite3_stmt *
stmt(struct ag_store *st, unsigned id)
{
	return ag_store_prepare(st, AG_STMT_MFA + id, sql[id]);
}

static int
check_account(struct ag_store *st, const char *account)
{
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(account, AG_NAME_MAX))
		return AG_ERR_INVAL;
	return 0;
}

/* Copies a BLOB column into buf; a wrong size means the row was tampered
 * with. */
static int
copy_blob(struct ag_store *st, sqlite3_stmt *s, int col, uint8_t *buf, size_t *lenp)
{
	const void *p = sqlite3_column_blob(s, col);
	int n = sqlite3_column_bytes(s, col);

	*lenp = 0;
	if (sqlite3_column_type(s, col) != SQLITE_BLOB || n <= 0 || n > AG_MFA_SEALED_MAX || p == NULL) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: damaged MFA row", st->path);
		return AG_ERR_CORRUPT;
	}
	memcpy(buf, p, (size_t)n);
	*lenp = (size_t)n;
	return 0;
}

/* Reads the row inside the caller's transaction (or as a plain read). */
static int
read_record(struct ag_store *st, const char *account, int64_t now, struct ag_mfa_record *rec)
{
	sqlite3_stmt *s;
	int rc, r = 0;

	memset(rec, 0, sizeof(*rec));
	rec->last_step = -1;
	if ((s = stmt(st, M_GET)) == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return AG_ERR_NOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return ag_store_fail(st, rc, "read MFA");
	}
	if (sqlite3_column_type(s, 0) != SQLITE_NULL) {
		r = copy_blob(st, s, 0, rec->secret, &rec->secret_len);
		rec->active = r == 0;
	}
	rec->last_step = sqlite3_column_int64(s, 1);
	rec->enrolled_at = sqlite3_column_int64(s, 2);
	rec->pending_expires = sqlite3_column_int64(s, 4);
	if (r == 0 && sqlite3_column_type(s, 3) != SQLITE_NULL && rec->pending_expires >= now) {
		r = copy_blob(st, s, 3, rec->pending_secret, &rec->pending_len);
		rec->pending = r == 0;
	}
	sqlite3_reset(s);
	if (r != 0) {
		sodium_memzero(rec, sizeof(*rec));
		return r;
	}
	if ((s = stmt(st, M_BACKUP_COUNT)) == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		rec->backup_left = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return ag_store_fail(st, rc, "read backup codes");
	if (!rec->active && !rec->pending)
		return AG_ERR_NOTFOUND;
	return 0;
}

int
ag_store_mfa_get(struct ag_store *st, const char *account, int64_t now, struct ag_mfa_record *rec)
{
	int r;

	if ((r = check_account(st, account)) != 0)
		return r;
	return read_record(st, account, now, rec);
}

int
ag_store_mfa_set_pending(struct ag_store *st, const char *account, const uint8_t *sealed,
                         size_t len, int64_t now, int64_t expires)
{
	sqlite3_stmt *s;
	int r;

	if ((r = check_account(st, account)) != 0)
		return r;
	if (sealed == NULL || len == 0 || len > AG_MFA_SEALED_MAX)
		return AG_ERR_INVAL;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, M_SET_PENDING)) != NULL) {
		sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, sealed, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, expires);
	}
	if ((r = ag_store_exec(st, s, "store enrollment")) != 0 ||
	    (r = ag_store_mfa_purge(st, now, 16)) != 0) {
		ag_store_rollback(st);
		return r;
	}
	return ag_store_commit(st);
}

static int
replace_backup(struct ag_store *st, const char *account, const uint8_t (*hashes)[32], size_t n)
{
	sqlite3_stmt *s;
	size_t i;
	int r;

	if ((s = stmt(st, M_BACKUP_CLEAR)) != NULL)
		sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
	if ((r = ag_store_exec(st, s, "clear backup codes")) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((s = stmt(st, M_BACKUP_ADD)) != NULL) {
			sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
			sqlite3_bind_blob(s, 2, hashes[i], 32, SQLITE_STATIC);
		}
		if ((r = ag_store_exec(st, s, "store backup code")) != 0)
			return r;
	}
	return 0;
}

int
ag_store_mfa_use_totp(struct ag_store *st, const char *account, int64_t now, int confirm,
                      ag_mfa_check_fn check, void *ctx, const uint8_t (*backup_hashes)[32],
                      size_t n, int *verdict)
{
	struct ag_mfa_record rec;
	sqlite3_stmt *s;
	int64_t step = -1;
	int r;

	*verdict = AG_MFA_MISMATCH;
	if ((r = check_account(st, account)) != 0)
		return r;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((r = read_record(st, account, now, &rec)) != 0)
		goto out;
	if (confirm ? !rec.pending : !rec.active) {
		r = AG_ERR_NOTFOUND;
		goto out;
	}
	/* A new secret starts with no step used; the active one with its
	 * last accepted step, so a code is never accepted twice. */
	if (confirm)
		r = check(ctx, rec.pending_secret, rec.pending_len, -1, &step);
	else
		r = check(ctx, rec.secret, rec.secret_len, rec.last_step, &step);
	if (r < 0)
		goto out;
	*verdict = r;
	r = 0;
	if (*verdict != 0)
		goto done; /* nothing to write */
	if (confirm) {
		if ((s = stmt(st, M_PROMOTE)) != NULL) {
			sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, step);
			sqlite3_bind_int64(s, 3, now);
		}
		if ((r = ag_store_exec(st, s, "confirm enrollment")) != 0 ||
		    (r = replace_backup(st, account, backup_hashes, n)) != 0)
			goto out;
	} else {
		if ((s = stmt(st, M_SET_STEP)) != NULL) {
			sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, step);
		}
		if ((r = ag_store_exec(st, s, "record code step")) != 0)
			goto out;
	}
done:
	sodium_memzero(&rec, sizeof(rec));
	if (*verdict != 0) {
		ag_store_rollback(st);
		return 0;
	}
	return ag_store_commit(st);
out:
	sodium_memzero(&rec, sizeof(rec));
	ag_store_rollback(st);
	return r;
}

int
ag_store_mfa_use_backup(struct ag_store *st, const char *account, const uint8_t hash[32], int *used)
{
	sqlite3_stmt *s;
	int r;

	*used = 0;
	if ((r = check_account(st, account)) != 0)
		return r;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, M_BACKUP_USE)) != NULL) {
		sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, hash, 32, SQLITE_STATIC);
	}
	if ((r = ag_store_exec(st, s, "use backup code")) != 0) {
		ag_store_rollback(st);
		return r;
	}
	*used = sqlite3_changes(st->db) == 1;
	return ag_store_commit(st);
}

int
ag_store_mfa_set_backup(struct ag_store *st, const char *account, const uint8_t (*hashes)[32],
                        size_t n)
{
	struct ag_mfa_record rec;
	int r;

	if ((r = check_account(st, account)) != 0)
		return r;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	r = read_record(st, account, 0, &rec);
	if (r == 0 && !rec.active)
		r = AG_ERR_NOTFOUND;
	sodium_memzero(&rec, sizeof(rec));
	if (r == 0)
		r = replace_backup(st, account, hashes, n);
	if (r != 0) {
		ag_store_rollback(st);
		return r;
	}
	return ag_store_commit(st);
}

int
ag_store_mfa_reset(struct ag_store *st, const char *account, int *found)
{
	sqlite3_stmt *s;
	int r;

	*found = 0;
	if ((r = check_account(st, account)) != 0)
		return r;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, M_RESET)) != NULL)
		sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
	if ((r = ag_store_exec(st, s, "reset MFA")) != 0) {
		ag_store_rollback(st);
		return r;
	}
	*found = sqlite3_changes(st->db) > 0;
	return ag_store_commit(st);
}

int
ag_store_mfa_purge(struct ag_store *st, int64_t now, int64_t limit)
{
	sqlite3_stmt *s;
	int r;

	if ((s = stmt(st, M_DROP_EXPIRED)) != NULL) {
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
	}
	if ((r = ag_store_exec(st, s, "drop expired enrollments")) != 0)
		return r;
	if ((s = stmt(st, M_EXPIRE_PENDING)) != NULL) {
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
	}
	return ag_store_exec(st, s, "expire enrollments");
}
