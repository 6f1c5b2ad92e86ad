/* Statements and transactions for the store's operations, over whichever
 * engine the store was opened with (db.h). */
#include "autoconf.h"

#include <stdio.h>
#include <time.h>

#include "error.h"
#include "store_int.h"

int
ag_st_fail(struct ag_store *st, int r, const char *what)
{
	const char *d = st->db != NULL ? st->e->detail(st->db) : NULL;

	snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s: %s",
	         st->db != NULL ? st->e->where(st->db) : st->e->name, what,
	         d != NULL && d[0] != '\0' ? d : ag_strerror(r));
	return r;
}

struct ag_db_stmt *
ag_st_stmt(struct ag_store *st, unsigned slot, const struct ag_sql *sql, int *errp)
{
	struct ag_db_stmt *s = st->e->stmt(st->db, slot, sql, errp);

	if (s == NULL) {
		if (*errp == 0)
			*errp = AG_ERR_STORE;
		ag_st_fail(st, *errp, "prepare");
	}
	return s;
}

int
ag_st_exec(struct ag_store *st, struct ag_db_stmt *s, int err, const char *what,
           int64_t *changes)
{
	int r;

	if (changes != NULL)
		*changes = 0;
	if (s == NULL)
		return err != 0 ? err : AG_ERR_STORE;
	/* A statement that returns rows (RETURNING) is run to its end. */
	while ((r = st->e->step(s)) == 1)
		;
	if (r < 0)
		return ag_st_fail(st, r, what);
	if (changes != NULL)
		*changes = st->e->changes(st->db);
	return 0;
}

int
ag_st_row(struct ag_store *st, struct ag_db_stmt *s, int err, const char *what)
{
	int r;

	if (s == NULL)
		return err != 0 ? err : AG_ERR_STORE;
	if ((r = st->e->step(s)) < 0)
		return ag_st_fail(st, r, what);
	return r;
}

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A short random pause before running a transaction again, growing with
 * each try (0.5 to 2 ms at first, at most about 50 ms), so that the
 * transactions that collided do not collide again in step. */
static void
back_off(struct ag_store *st, int tries)
{
	struct timespec nap;
	long cap = 2000L << (tries < 5 ? tries : 5); /* microseconds */

	st->jitter = st->jitter * 1103515245u + 12345u;
	nap.tv_sec = 0;
	nap.tv_nsec = (500 + (long)((st->jitter >> 8) % (unsigned long)cap)) * 1000L;
	nanosleep(&nap, NULL);
}

static int64_t
wait_ms(const struct ag_store *st, enum ag_txn_wait wait)
{
	if (wait == AG_WAIT_RECORD && st->busy_timeout_ms < AG_STORE_RECORD_WAIT_MS)
		return AG_STORE_RECORD_WAIT_MS;
	return st->busy_timeout_ms;
}

int
ag_txn(struct ag_store *st, enum ag_txn_wait wait, ag_txn_body body, void *ctx)
{
	int64_t limit = wait_ms(st, wait), deadline = monotonic_ms() + limit, left;
	int tries = 0, r;

	st->errmsg[0] = '\0';
	for (;;) {
		left = deadline - monotonic_ms();
		if ((r = st->e->begin(st->db, 1, left > 0 ? left : 0)) == 0) {
			r = body(st, ctx);
			if (r == 0) {
				if ((r = st->e->commit(st->db)) != 0)
					ag_st_fail(st, r, "commit");
			} else {
				st->e->rollback(st->db);
				if (r == AG_TXN_NOWRITE)
					r = 0;
			}
		} else {
			ag_st_fail(st, r, "begin transaction");
		}
		if (r != AG_ERR_RETRY)
			return r;
		if (monotonic_ms() >= deadline) {
			snprintf(st->errmsg, sizeof(st->errmsg),
			         "state store: concurrent transactions kept conflicting for %lld ms",
			         (long long)limit);
			return AG_ERR_BUSY;
		}
		back_off(st, tries++);
	}
}

int
ag_txn_read(struct ag_store *st, ag_txn_body body, void *ctx)
{
	int r;

	st->errmsg[0] = '\0';
	if ((r = st->e->begin(st->db, 0, st->busy_timeout_ms)) != 0)
		return ag_st_fail(st, r, "begin read");
	r = body(st, ctx);
	st->e->rollback(st->db); /* nothing was written */
	return r;
}
