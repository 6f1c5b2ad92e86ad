/* Opening, closing and whole-store operations of store.h; the domain
 * operations are in the files next to this one, the engines below it. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "store_int.h"

int
ag_store_open(const struct ag_config *cfg, int flags, struct ag_store **storep,
              char err[AG_ERRBUF])
{
	const struct ag_db_engine *e = NULL;
	struct ag_store *st;
	struct timespec ts;
	int r;

	*storep = NULL;
	err[0] = '\0';
	if ((r = ag_db_engine_for(cfg, &e, err)) != 0)
		return r;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, AG_ERRBUF, "state store: out of memory");
		return AG_ERR_NOMEM;
	}
	st->e = e;
	st->store_kind = cfg->store;
	st->busy_timeout_ms = cfg->busy_timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	st->jitter = (uint32_t)getpid() ^ (uint32_t)ts.tv_nsec;
	if ((r = e->open(cfg, (flags & AG_STORE_CREATE) ? AG_DB_CREATE : 0, &st->db, err)) != 0) {
		free(st);
		return r;
	}
	*storep = st;
	return 0;
}

void
ag_store_close(struct ag_store *st)
{
	if (st == NULL)
		return;
	st->e->close(st->db);
	free(st);
}

const char *
ag_store_errmsg(const struct ag_store *store)
{
	return store != NULL ? store->errmsg : "";
}

const char *
ag_store_engine(const struct ag_store *store)
{
	return store->e->name;
}

struct purge {
	int64_t now, limit, deleted;
};

static int
purge_body(struct ag_store *st, void *ctx)
{
	struct purge *a = ctx;
	int r;

	a->deleted = 0;
	if ((r = ag_st_attempts_purge(st, a->now, a->limit, &a->deleted)) != 0 ||
	    (r = ag_st_mfa_purge(st, a->now, a->limit, NULL)) != 0 ||
	    (r = ag_st_revoked_purge(st, a->now, a->limit, &a->deleted)) != 0 ||
	    (r = ag_st_web_purge(st, a->now, a->limit, &a->deleted)) != 0 ||
	    (r = ag_st_webhook_purge(st, a->now, a->limit, &a->deleted)) != 0)
		return r;
	return 0;
}

int
ag_store_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	struct purge a = { .now = now, .limit = limit };
	int r;

	*deleted = 0;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, purge_body, &a)) != 0)
		return r;
	*deleted = a.deleted;
	return 0;
}

int
ag_store_grant(struct ag_store *st, const char *role)
{
	int r;

	st->errmsg[0] = '\0';
	if (st->e->grant == NULL) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: a %s store has no roles to grant to",
		         st->e->where(st->db), st->e->name);
		return AG_ERR_INVAL;
	}
	if ((r = st->e->grant(st->db, role)) != 0)
		return ag_st_fail(st, r, "grant");
	return 0;
}

int
ag_store_check(struct ag_store *st)
{
	int r;

	st->errmsg[0] = '\0';
	if ((r = st->e->check(st->db)) != 0)
		return ag_st_fail(st, r, "check");
	return 0;
}

int
ag_store_schema_version(const struct ag_store *st)
{
	return st->e->schema_latest();
}

int
ag_store_file_version(struct ag_store *st)
{
	return st->e->schema_version(st->db);
}

int
ag_store_synchronous(struct ag_store *st)
{
	static const struct ag_sql q = { "PRAGMA synchronous", NULL };
	struct ag_db_stmt *s;
	int64_t v;
	int err = 0, r;

	if (st->store_kind != AG_STORE_SQLITE)
		return AG_ERR_INVAL;
	if ((s = ag_st_stmt(st, AG_SLOT_STORE, &q, &err)) == NULL)
		return err;
	if ((r = ag_st_row(st, s, err, "read synchronous")) <= 0)
		return r < 0 ? r : AG_ERR_STORE;
	v = st->e->col_int64(s, 0);
	st->e->reset(s);
	return (int)v;
}
