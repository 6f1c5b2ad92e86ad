/* The PAM-session part of store.h: open PAM sessions per user and
 * machine, for the concurrent-session limit.  Whether a recorded session
 * still counts (its process runs, in this boot) is the caller's alive()
 * to say: only the machine that recorded it can tell. */
#include "autoconf.h"

#include <string.h>

#include "error.h"
#include "store_int.h"
#include "util.h"

enum { P_LIST_USER, P_DELETE, P_INSERT, P_LIST_ALL, P_LIST_OF, P_DELETE_OF, P_COUNT };

#define PAM_COLS "id, \"user\", service, tty, rhost, pid, boot_id, started, host"

static const struct ag_sql sql[P_COUNT] = {
	/* Rows from before schema 6 have no machine: they were recorded by
	 * this one (a SQLite state is one machine's). */
	[P_LIST_USER] = { "SELECT " PAM_COLS " FROM pam_session WHERE \"user\" = ?1"
	                  " AND (host = ?2 OR host = '') ORDER BY started LIMIT 1000" },
	[P_DELETE] = { "DELETE FROM pam_session WHERE id = ?1" },
	[P_INSERT] = { "INSERT INTO pam_session (\"user\", service, tty, rhost, pid, boot_id,"
	               " started, host) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id" },
	[P_LIST_ALL] = { "SELECT " PAM_COLS " FROM pam_session ORDER BY \"user\", started" },
	[P_LIST_OF] = { "SELECT " PAM_COLS " FROM pam_session WHERE \"user\" = ?1 ORDER BY started" },
	[P_DELETE_OF] = { "DELETE FROM pam_session WHERE id = ?1 AND \"user\" = ?2" },
};

static struct ag_db_stmt *
stmt(struct ag_store *st, unsigned id, int *errp)
{
	return ag_st_stmt(st, AG_SLOT_PAM + id, &sql[id], errp);
}

static void
copy_text(char *dst, size_t size, const char *src)
{
	ag_strlcpy(dst, src != NULL ? src : "", size);
}

static void
row_to_pam(struct ag_store *st, struct ag_db_stmt *s, struct ag_pam_session *p)
{
	memset(p, 0, sizeof(*p));
	p->id = st->e->col_int64(s, 0);
	copy_text(p->user, sizeof(p->user), st->e->col_text(s, 1));
	copy_text(p->service, sizeof(p->service), st->e->col_text(s, 2));
	copy_text(p->tty, sizeof(p->tty), st->e->col_text(s, 3));
	copy_text(p->rhost, sizeof(p->rhost), st->e->col_text(s, 4));
	p->pid = st->e->col_int64(s, 5);
	copy_text(p->boot_id, sizeof(p->boot_id), st->e->col_text(s, 6));
	p->started = st->e->col_int64(s, 7);
	copy_text(p->host, sizeof(p->host), st->e->col_text(s, 8));
}

static const char *
opt(const char *v)
{
	return v != NULL && v[0] != '\0' ? v : NULL;
}

struct open {
	const struct ag_pam_session *ps;
	int64_t max, id;
	int (*alive)(void *ctx, const struct ag_pam_session *row);
	void *ctx;
	int refused;
};

static int
open_body(struct ag_store *st, void *ctx)
{
	struct open *a = ctx;
	struct ag_pam_session row;
	int64_t stale[32], live = 0;
	struct ag_db_stmt *s;
	int nstale = 0, err = 0, r, i;

	a->id = 0;
	a->refused = 0;
	if ((s = stmt(st, P_LIST_USER, &err)) != NULL) {
		st->e->bind_text(s, 1, a->ps->user);
		st->e->bind_text(s, 2, a->ps->host);
	}
	while ((r = ag_st_row(st, s, err, "list PAM sessions")) == 1) {
		row_to_pam(st, s, &row);
		if (a->alive(a->ctx, &row))
			live++;
		else if (nstale < (int)AG_ARRAY_SIZE(stale))
			stale[nstale++] = row.id;
	}
	if (r < 0)
		return r;
	for (i = 0; i < nstale; i++) {
		if ((s = stmt(st, P_DELETE, &err)) != NULL)
			st->e->bind_int64(s, 1, stale[i]);
		if ((r = ag_st_exec(st, s, err, "drop stale PAM session", NULL)) != 0)
			return r;
	}
	if (a->max > 0 && live >= a->max) {
		a->refused = 1;
		return 0; /* stale rows are gone either way */
	}
	if ((s = stmt(st, P_INSERT, &err)) != NULL) {
		st->e->bind_text(s, 1, a->ps->user);
		st->e->bind_text(s, 2, opt(a->ps->service));
		st->e->bind_text(s, 3, opt(a->ps->tty));
		st->e->bind_text(s, 4, opt(a->ps->rhost));
		st->e->bind_int64(s, 5, a->ps->pid);
		st->e->bind_text(s, 6, a->ps->boot_id);
		st->e->bind_int64(s, 7, a->ps->started);
		st->e->bind_text(s, 8, a->ps->host);
	}
	if ((r = ag_st_row(st, s, err, "record PAM session")) < 0)
		return r;
	if (r == 0)
		return ag_st_fail(st, AG_ERR_STORE, "record PAM session");
	a->id = st->e->col_int64(s, 0);
	st->e->reset(s);
	return 0;
}

int
ag_store_pam_session_open(struct ag_store *st, const struct ag_pam_session *ps, int64_t max,
                          int (*alive)(void *ctx, const struct ag_pam_session *row), void *ctx,
                          int64_t *id, int *refused)
{
	struct open a = { .ps = ps, .max = max, .alive = alive, .ctx = ctx };
	int r;

	*id = 0;
	*refused = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(ps->user, AG_NAME_MAX) || ps->boot_id[0] == '\0')
		return AG_ERR_INVAL;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, open_body, &a)) != 0)
		return r;
	*id = a.id;
	*refused = a.refused;
	return 0;
}

struct close {
	int64_t id;
	const char *user;
};

static int
close_body(struct ag_store *st, void *ctx)
{
	const struct close *a = ctx;
	int err = 0;
	struct ag_db_stmt *s = stmt(st, a->user != NULL ? P_DELETE_OF : P_DELETE, &err);

	if (s != NULL) {
		st->e->bind_int64(s, 1, a->id);
		if (a->user != NULL)
			st->e->bind_text(s, 2, a->user);
	}
	return ag_st_exec(st, s, err, "close PAM session", NULL);
}

int
ag_store_pam_session_close(struct ag_store *st, int64_t id, const char *user)
{
	struct close a = { .id = id, .user = user };

	st->errmsg[0] = '\0';
	if (user != NULL && !ag_store_bounded(user, AG_NAME_MAX))
		return AG_ERR_INVAL;
	return ag_txn(st, AG_WAIT_NORMAL, close_body, &a);
}

int
ag_store_pam_session_list(struct ag_store *st, const char *user,
                          int (*fn)(void *ctx, const struct ag_pam_session *s), void *ctx)
{
	struct ag_pam_session row;
	struct ag_db_stmt *s;
	int err = 0, r;

	st->errmsg[0] = '\0';
	if (user != NULL && !ag_store_bounded(user, AG_NAME_MAX))
		return AG_ERR_INVAL;
	if ((s = stmt(st, user != NULL ? P_LIST_OF : P_LIST_ALL, &err)) != NULL && user != NULL)
		st->e->bind_text(s, 1, user);
	while ((r = ag_st_row(st, s, err, "list PAM sessions")) == 1) {
		row_to_pam(st, s, &row);
		if (fn(ctx, &row) != 0) {
			st->e->reset(s);
			break;
		}
	}
	return r < 0 ? r : 0;
}
