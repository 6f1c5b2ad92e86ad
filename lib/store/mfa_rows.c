/* The MFA part of store.h: sealed TOTP secrets, the last step accepted,
 * unconfirmed enrollments and backup-code hashes.  Whether a code is
 * right is decided by the caller's check function (lib/mfa.c), inside the
 * transaction that records the step it used. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "store_int.h"

enum {
	M_GET, M_BACKUP_COUNT, M_SET_PENDING, M_SET_STEP, M_PROMOTE, M_BACKUP_CLEAR,
	M_BACKUP_ADD, M_BACKUP_USE, M_RESET, M_DROP_EXPIRED, M_EXPIRE_PENDING,
	M_COUNT
};

static const struct ag_sql sql[M_COUNT] = {
	[M_GET] = { "SELECT secret, last_step, enrolled_at, pending, pending_expires"
	            " FROM mfa WHERE account = ?1" },
	[M_BACKUP_COUNT] = { "SELECT count(*) FROM backup_code WHERE account = ?1" },
	[M_SET_PENDING] = { "INSERT INTO mfa (account, pending, pending_expires) VALUES (?1, ?2, ?3)"
	                    " ON CONFLICT (account) DO UPDATE SET pending = excluded.pending,"
	                    " pending_expires = excluded.pending_expires" },
	[M_SET_STEP] = { "UPDATE mfa SET last_step = ?2 WHERE account = ?1" },
	[M_PROMOTE] = { "UPDATE mfa SET secret = pending, last_step = ?2, enrolled_at = ?3,"
	                " pending = NULL, pending_expires = 0 WHERE account = ?1" },
	[M_BACKUP_CLEAR] = { "DELETE FROM backup_code WHERE account = ?1" },
	[M_BACKUP_ADD] = { "INSERT INTO backup_code (account, hash) VALUES (?1, ?2)"
	                   " ON CONFLICT DO NOTHING" },
	[M_BACKUP_USE] = { "DELETE FROM backup_code WHERE account = ?1 AND hash = ?2" },
	[M_RESET] = { "DELETE FROM mfa WHERE account = ?1" },
	/* Both use the partial index on pending enrollments. */
	[M_DROP_EXPIRED] = { "DELETE FROM mfa WHERE account IN"
	                     " (SELECT account FROM mfa WHERE pending IS NOT NULL"
	                     "  AND pending_expires < ?1 AND secret IS NULL LIMIT ?2)" },
	[M_EXPIRE_PENDING] = { "UPDATE mfa SET pending = NULL, pending_expires = 0 WHERE account IN"
	                       " (SELECT account FROM mfa WHERE pending IS NOT NULL"
	                       "  AND pending_expires < ?1 LIMIT ?2)" },
};

static struct ag_db_stmt *
stmt(struct ag_store *st, unsigned id, int *errp)
{
	return ag_st_stmt(st, AG_SLOT_MFA + id, &sql[id], errp);
}

/* Runs statement id with the account as its only parameter. */
static int
by_account(struct ag_store *st, unsigned id, const char *account, const char *what,
           int64_t *changes)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, id, &err);

	if (s != NULL)
		st->e->bind_text(s, 1, account);
	return ag_st_exec(st, s, err, what, changes);
}

static int
check_account(struct ag_store *st, const char *account)
{
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(account, AG_NAME_MAX))
		return AG_ERR_INVAL;
	return 0;
}

/* Copies a blob column into buf; a wrong size means the row was tampered
 * with. */
static int
copy_blob(struct ag_store *st, struct ag_db_stmt *s, int col, uint8_t *buf, size_t *lenp)
{
	size_t n = 0;
	const uint8_t *p = st->e->col_blob(s, col, &n);

	*lenp = 0;
	if (p == NULL || n == 0 || n > AG_MFA_SEALED_MAX) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: damaged MFA row", st->e->where(st->db));
		return AG_ERR_CORRUPT;
	}
	memcpy(buf, p, n);
	*lenp = n;
	return 0;
}

/* Reads the row inside the caller's transaction. */
static int
read_record(struct ag_store *st, const char *account, int64_t now, struct ag_mfa_record *rec)
{
	struct ag_db_stmt *s;
	int err = 0, r, rr = 0;

	memset(rec, 0, sizeof(*rec));
	rec->last_step = -1;
	if ((s = stmt(st, M_GET, &err)) != NULL)
		st->e->bind_text(s, 1, account);
	if ((r = ag_st_row(st, s, err, "read MFA")) < 0)
		return r;
	if (r == 0)
		return AG_ERR_NOTFOUND;
	if (!st->e->col_is_null(s, 0)) {
		rr = copy_blob(st, s, 0, rec->secret, &rec->secret_len);
		rec->active = rr == 0;
	}
	rec->last_step = st->e->col_int64(s, 1);
	rec->enrolled_at = st->e->col_int64(s, 2);
	rec->pending_expires = st->e->col_int64(s, 4);
	if (rr == 0 && !st->e->col_is_null(s, 3) && rec->pending_expires >= now) {
		rr = copy_blob(st, s, 3, rec->pending_secret, &rec->pending_len);
		rec->pending = rr == 0;
	}
	st->e->reset(s);
	if (rr != 0) {
		sodium_memzero(rec, sizeof(*rec));
		return rr;
	}
	if ((s = stmt(st, M_BACKUP_COUNT, &err)) != NULL)
		st->e->bind_text(s, 1, account);
	if ((r = ag_st_row(st, s, err, "read backup codes")) < 0) {
		sodium_memzero(rec, sizeof(*rec));
		return r;
	}
	if (r == 1) {
		rec->backup_left = st->e->col_int64(s, 0);
		st->e->reset(s);
	}
	if (!rec->active && !rec->pending)
		return AG_ERR_NOTFOUND;
	return 0;
}

struct mfa_op {
	const char *account;
	int64_t now, expires;
	const uint8_t *sealed;
	size_t len;
	struct ag_mfa_record *rec;
	int confirm;
	ag_mfa_check_fn check;
	void *ctx;
	const uint8_t (*hashes)[32];
	const uint8_t *hash;
	size_t n;
	int verdict;
	int done; /* used / found */
};

static int
get_body(struct ag_store *st, void *ctx)
{
	struct mfa_op *a = ctx;

	return read_record(st, a->account, a->now, a->rec);
}

int
ag_store_mfa_get(struct ag_store *st, const char *account, int64_t now, struct ag_mfa_record *rec)
{
	struct mfa_op a = { .account = account, .now = now, .rec = rec };
	int r;

	if ((r = check_account(st, account)) != 0)
		return r;
	return ag_txn_read(st, get_body, &a);
}

static int
set_pending_body(struct ag_store *st, void *ctx)
{
	struct mfa_op *a = ctx;
	int err = 0, r;
	struct ag_db_stmt *s = stmt(st, M_SET_PENDING, &err);

	if (s != NULL) {
		st->e->bind_text(s, 1, a->account);
		st->e->bind_blob(s, 2, a->sealed, a->len);
		st->e->bind_int64(s, 3, a->expires);
	}
	if ((r = ag_st_exec(st, s, err, "store enrollment", NULL)) != 0)
		return r;
	return ag_st_mfa_purge(st, a->now, 16, NULL);
}

int
ag_store_mfa_set_pending(struct ag_store *st, const char *account, const uint8_t *sealed,
                         size_t len, int64_t now, int64_t expires)
{
	struct mfa_op a = { .account = account, .sealed = sealed, .len = len, .now = now,
		            .expires = expires };
	int r;

	if ((r = check_account(st, account)) != 0)
		return r;
	if (sealed == NULL || len == 0 || len > AG_MFA_SEALED_MAX)
		return AG_ERR_INVAL;
	return ag_txn(st, AG_WAIT_NORMAL, set_pending_body, &a);
}

static int
replace_backup(struct ag_store *st, const char *account, const uint8_t (*hashes)[32], size_t n)
{
	struct ag_db_stmt *s;
	size_t i;
	int err = 0, r;

	if ((r = by_account(st, M_BACKUP_CLEAR, account, "clear backup codes", NULL)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((s = stmt(st, M_BACKUP_ADD, &err)) != NULL) {
			st->e->bind_text(s, 1, account);
			st->e->bind_blob(s, 2, hashes[i], 32);
		}
		if ((r = ag_st_exec(st, s, err, "store backup code", NULL)) != 0)
			return r;
	}
	return 0;
}

static int
use_totp_body(struct ag_store *st, void *ctx)
{
	struct mfa_op *a = ctx;
	struct ag_mfa_record rec;
	struct ag_db_stmt *s;
	int64_t step = -1;
	int err = 0, r;

	a->verdict = AG_MFA_MISMATCH;
	if ((r = read_record(st, a->account, a->now, &rec)) != 0)
		goto out;
	if (a->confirm ? !rec.pending : !rec.active) {
		r = AG_ERR_NOTFOUND;
		goto out;
	}
	/* A new secret starts with no step used; the active one with its
	 * last accepted step, so a code is never accepted twice. */
	if (a->confirm)
		r = a->check(a->ctx, rec.pending_secret, rec.pending_len, -1, &step);
	else
		r = a->check(a->ctx, rec.secret, rec.secret_len, rec.last_step, &step);
	if (r < 0)
		goto out;
	a->verdict = r;
	if (a->verdict != 0) {
		r = AG_TXN_NOWRITE;
		goto out;
	}
	if (a->confirm) {
		if ((s = stmt(st, M_PROMOTE, &err)) != NULL) {
			st->e->bind_text(s, 1, a->account);
			st->e->bind_int64(s, 2, step);
			st->e->bind_int64(s, 3, a->now);
		}
		if ((r = ag_st_exec(st, s, err, "confirm enrollment", NULL)) == 0)
			r = replace_backup(st, a->account, a->hashes, a->n);
	} else {
		if ((s = stmt(st, M_SET_STEP, &err)) != NULL) {
			st->e->bind_text(s, 1, a->account);
			st->e->bind_int64(s, 2, step);
		}
		r = ag_st_exec(st, s, err, "record code step", NULL);
	}
out:
	sodium_memzero(&rec, sizeof(rec));
	return r;
}

int
ag_store_mfa_use_totp(struct ag_store *st, const char *account, int64_t now, int confirm,
                      ag_mfa_check_fn check, void *ctx, const uint8_t (*backup_hashes)[32],
                      size_t n, int *verdict)
{
	struct mfa_op a = { .account = account, .now = now, .confirm = confirm, .check = check,
		            .ctx = ctx, .hashes = backup_hashes, .n = n };
	int r;

	*verdict = AG_MFA_MISMATCH;
	if ((r = check_account(st, account)) != 0)
		return r;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, use_totp_body, &a)) != 0)
		return r;
	*verdict = a.verdict;
	return 0;
}

static int
use_backup_body(struct ag_store *st, void *ctx)
{
	struct mfa_op *a = ctx;
	int64_t changed = 0;
	int err = 0, r;
	struct ag_db_stmt *s = stmt(st, M_BACKUP_USE, &err);

	if (s != NULL) {
		st->e->bind_text(s, 1, a->account);
		st->e->bind_blob(s, 2, a->hash, 32);
	}
	r = ag_st_exec(st, s, err, "use backup code", &changed);
	a->done = changed == 1;
	return r;
}

int
ag_store_mfa_use_backup(struct ag_store *st, const char *account, const uint8_t hash[32], int *used)
{
	struct mfa_op a = { .account = account, .hash = hash };
	int r;

	*used = 0;
	if ((r = check_account(st, account)) != 0)
		return r;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, use_backup_body, &a)) != 0)
		return r;
	*used = a.done;
	return 0;
}

static int
set_backup_body(struct ag_store *st, void *ctx)
{
	struct mfa_op *a = ctx;
	struct ag_mfa_record rec;
	int r;

	r = read_record(st, a->account, 0, &rec);
	if (r == 0 && !rec.active)
		r = AG_ERR_NOTFOUND;
	sodium_memzero(&rec, sizeof(rec));
	if (r == 0)
		r = replace_backup(st, a->account, a->hashes, a->n);
	return r;
}

int
ag_store_mfa_set_backup(struct ag_store *st, const char *account, const uint8_t (*hashes)[32],
                        size_t n)
{
	struct mfa_op a = { .account = account, .hashes = hashes, .n = n };
	int r;

	if ((r = check_account(st, account)) != 0)
		return r;
	return ag_txn(st, AG_WAIT_NORMAL, set_backup_body, &a);
}

static int
reset_body(struct ag_store *st, void *ctx)
{
	struct mfa_op *a = ctx;
	int64_t changed = 0;
	int r = by_account(st, M_RESET, a->account, "reset MFA", &changed);

	a->done = changed > 0;
	return r;
}

int
ag_store_mfa_reset(struct ag_store *st, const char *account, int *found)
{
	struct mfa_op a = { .account = account };
	int r;

	*found = 0;
	if ((r = check_account(st, account)) != 0)
		return r;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, reset_body, &a)) != 0)
		return r;
	*found = a.done;
	return 0;
}

int
ag_st_mfa_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	struct ag_db_stmt *s;
	int64_t n = 0;
	int err = 0, r;

	if ((s = stmt(st, M_DROP_EXPIRED, &err)) != NULL) {
		st->e->bind_int64(s, 1, now);
		st->e->bind_int64(s, 2, ag_st_limit(limit));
	}
	if ((r = ag_st_exec(st, s, err, "drop expired enrollments", &n)) != 0)
		return r;
	if (deleted != NULL)
		*deleted += n;
	if ((s = stmt(st, M_EXPIRE_PENDING, &err)) != NULL) {
		st->e->bind_int64(s, 1, now);
		st->e->bind_int64(s, 2, ag_st_limit(limit));
	}
	return ag_st_exec(st, s, err, "expire enrollments", NULL);
}
