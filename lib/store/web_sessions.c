/* Web sessions and their refresh-token families: one aggregate, kept
 * together because ending one ends the other (logout, theft, webhooks).
 * The rules -- what a session's state means, when activity is written,
 * which session goes at the limit, what presenting a used refresh token
 * means -- are lib/session_policy.c and lib/refresh_policy.c; this file
 * loads, asks and writes. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "store_int.h"
#include "util.h"

enum {
	W_DROP_EXPIRED_USER, W_OF_USER, W_DELETE, W_INSERT, W_GET, W_TOUCH, W_HASHES_USER,
	W_HASHES_CLERK, W_FAM_MOVE, W_LIST_ALL, W_LIST_USER, W_PURGE,
	T_FAM_CREATE, T_TOK_INSERT, T_TOK_GET, T_TOK_USE, T_FAM_SET_CURRENT, T_FAM_REVOKE_ID,
	T_FAM_REVOKE_SUBJECT, T_FAM_REVOKE_SID, T_TOK_DELETE, T_FAM_PURGE,
	W_COUNT
};

#define SESSION_COLS "id_hash, \"user\", user_key, fingerprint, clerk_sid, created, last_seen," \
	" idle_expires, abs_expires, used_seq"

/* The next use number of a user's sessions (?1: the user key). */
#define NEXT_USE "(SELECT coalesce(max(used_seq), 0) + 1 FROM web_session WHERE user_key = ?1)"

static const struct ag_sql sql[W_COUNT] = {
	[W_DROP_EXPIRED_USER] = { "DELETE FROM web_session WHERE user_key = ?1"
	                          " AND (idle_expires <= ?2 OR abs_expires <= ?2)" },
	/* Bounded: a user has at most session_max live sessions, or had
	 * before the limit was lowered. */
	[W_OF_USER] = { "SELECT " SESSION_COLS " FROM web_session WHERE user_key = ?1 LIMIT 10000" },
	[W_DELETE] = { "DELETE FROM web_session WHERE id_hash = ?1" },
	[W_INSERT] = { "INSERT INTO web_session (id_hash, user_key, \"user\", fingerprint, clerk_sid,"
	               " created, last_seen, idle_expires, abs_expires, used_seq)"
	               " VALUES (?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, " NEXT_USE ")" },
	[W_GET] = { "SELECT " SESSION_COLS " FROM web_session WHERE id_hash = ?1" },
	[W_TOUCH] = { "UPDATE web_session SET last_seen = ?3, idle_expires = ?4,"
	              " used_seq = " NEXT_USE " WHERE id_hash = ?2" },
	[W_HASHES_USER] = { "SELECT id_hash FROM web_session WHERE user_key = ?1 LIMIT 64" },
	[W_HASHES_CLERK] = { "SELECT id_hash FROM web_session WHERE clerk_sid = ?1 LIMIT 64" },
	[W_FAM_MOVE] = { "UPDATE refresh_family SET sid = ?2 WHERE sid = ?1" },
	[W_LIST_ALL] = { "SELECT " SESSION_COLS " FROM web_session"
	                 " WHERE idle_expires > ?1 AND abs_expires > ?1"
	                 " ORDER BY user_key, last_seen DESC, used_seq DESC" },
	[W_LIST_USER] = { "SELECT " SESSION_COLS " FROM web_session WHERE user_key = ?2"
	                  " AND idle_expires > ?1 AND abs_expires > ?1"
	                  " ORDER BY last_seen DESC, used_seq DESC" },
	/* idle_expires never exceeds abs_expires: one indexed range. */
	[W_PURGE] = { "DELETE FROM web_session WHERE id_hash IN (SELECT id_hash FROM web_session"
	              " WHERE idle_expires <= ?1 LIMIT ?2)" },

	[T_FAM_CREATE] = { "INSERT INTO refresh_family (subject, subject_key, sid, created, expires,"
	                   " current) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id" },
	[T_TOK_INSERT] = { "INSERT INTO refresh_token (hash, family_id, parent, issued)"
	                   " VALUES (?1, ?2, ?3, ?4)" },
	[T_TOK_GET] = { "SELECT t.family_id, t.used_at, f.subject, f.sid, f.expires, f.revoked,"
	                " f.current, c.used_at, c.parent, f.created"
	                " FROM refresh_token t JOIN refresh_family f ON f.id = t.family_id"
	                " LEFT JOIN refresh_token c ON c.hash = f.current"
	                " WHERE t.hash = ?1" },
	[T_TOK_USE] = { "UPDATE refresh_token SET used_at = ?2 WHERE hash = ?1" },
	[T_FAM_SET_CURRENT] = { "UPDATE refresh_family SET current = ?2 WHERE id = ?1" },
	[T_FAM_REVOKE_ID] = { "UPDATE refresh_family SET revoked = 1 WHERE id = ?1 AND revoked = 0" },
	[T_FAM_REVOKE_SUBJECT] = { "UPDATE refresh_family SET revoked = 1"
	                           " WHERE subject_key = ?1 AND revoked = 0" },
	[T_FAM_REVOKE_SID] = { "UPDATE refresh_family SET revoked = 1"
	                       " WHERE sid = ?1 AND revoked = 0" },
	[T_TOK_DELETE] = { "DELETE FROM refresh_token WHERE hash = ?1" },
	[T_FAM_PURGE] = { "DELETE FROM refresh_family WHERE id IN"
	                  " (SELECT id FROM refresh_family WHERE expires < ?1 LIMIT ?2)" },
};

static struct ag_db_stmt *
stmt(struct ag_store *st, unsigned id, int *errp)
{
	return ag_st_stmt(st, AG_SLOT_WEB + id, &sql[id], errp);
}

static void
copy_text(char *dst, size_t size, const char *src)
{
	ag_strlcpy(dst, src != NULL ? src : "", size);
}

static void
copy_hash(struct ag_store *st, struct ag_db_stmt *s, int col, uint8_t out[32])
{
	size_t n = 0;
	const uint8_t *p = st->e->col_blob(s, col, &n);

	if (p != NULL && n == 32)
		memcpy(out, p, 32);
	else
		memset(out, 0, 32);
}

/* A row of SESSION_COLS from column 0. */
static void
row_to_session(struct ag_store *st, struct ag_db_stmt *s, struct ag_web_session *out)
{
	memset(out, 0, sizeof(*out));
	copy_hash(st, s, 0, out->id_hash);
	copy_text(out->user, sizeof(out->user), st->e->col_text(s, 1));
	copy_text(out->user_key, sizeof(out->user_key), st->e->col_text(s, 2));
	copy_hash(st, s, 3, out->fingerprint);
	copy_text(out->clerk_sid, sizeof(out->clerk_sid), st->e->col_text(s, 4));
	out->created = st->e->col_int64(s, 5);
	out->last_seen = st->e->col_int64(s, 6);
	out->idle_expires = st->e->col_int64(s, 7);
	out->abs_expires = st->e->col_int64(s, 8);
	out->used_seq = st->e->col_int64(s, 9);
}

static int
delete_hash(struct ag_store *st, const uint8_t hash[32], int64_t *changed)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, W_DELETE, &err);

	if (s != NULL)
		st->e->bind_blob(s, 1, hash, 32);
	return ag_st_exec(st, s, err, "end session", changed);
}

static int
insert_session(struct ag_store *st, const struct ag_web_session *ws, const char *what)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, W_INSERT, &err);

	if (s != NULL) {
		st->e->bind_text(s, 1, ws->user_key);
		st->e->bind_blob(s, 2, ws->id_hash, 32);
		st->e->bind_text(s, 3, ws->user);
		st->e->bind_blob(s, 4, ws->fingerprint, 32);
		st->e->bind_text(s, 5, ws->clerk_sid[0] != '\0' ? ws->clerk_sid : NULL);
		st->e->bind_int64(s, 6, ws->created);
		st->e->bind_int64(s, 7, ws->last_seen);
		st->e->bind_int64(s, 8, ws->idle_expires);
		st->e->bind_int64(s, 9, ws->abs_expires);
	}
	return ag_st_exec(st, s, err, what, NULL);
}

/* Reads a session by hash; 0 with *found. */
static int
get_session(struct ag_store *st, const uint8_t hash[32], struct ag_web_session *out, int *found)
{
	struct ag_db_stmt *s;
	int err = 0, r;

	*found = 0;
	memset(out, 0, sizeof(*out));
	if ((s = stmt(st, W_GET, &err)) != NULL)
		st->e->bind_blob(s, 1, hash, 32);
	if ((r = ag_st_row(st, s, err, "read session")) < 0)
		return r;
	if (r == 1) {
		row_to_session(st, s, out);
		st->e->reset(s);
		*found = 1;
	}
	return 0;
}

/* --------------------------------------------------------------- create */

struct create {
	const struct ag_web_session *ws;
	int64_t max, now, evicted;
	int evict, refused;
};

static int
create_body(struct ag_store *st, void *ctx)
{
	struct create *a = ctx;
	struct ag_web_session *rows = NULL;
	struct ag_db_stmt *s;
	size_t n = 0, cap = 0;
	long go, i;
	int err = 0, r;

	a->evicted = 0;
	a->refused = 0;
	if ((s = stmt(st, W_DROP_EXPIRED_USER, &err)) != NULL) {
		st->e->bind_text(s, 1, a->ws->user_key);
		st->e->bind_int64(s, 2, a->now);
	}
	if ((r = ag_st_exec(st, s, err, "drop expired sessions", NULL)) != 0)
		return r;
	if (a->max > 0) {
		/* The user's live sessions, for ag_session_evictions(). */
		if ((s = stmt(st, W_OF_USER, &err)) != NULL)
			st->e->bind_text(s, 1, a->ws->user_key);
		while ((r = ag_st_row(st, s, err, "list sessions")) == 1) {
			if (n == cap) {
				struct ag_web_session *m;

				cap = cap == 0 ? 8 : cap * 2;
				if ((m = realloc(rows, cap * sizeof(*rows))) == NULL) {
					st->e->reset(s);
					free(rows);
					return AG_ERR_NOMEM;
				}
				rows = m;
			}
			row_to_session(st, s, &rows[n++]);
		}
		if (r < 0) {
			free(rows);
			return r;
		}
		go = ag_session_evictions(rows, n, a->max, a->evict);
		if (go < 0) {
			free(rows);
			a->refused = 1;
			return AG_TXN_NOWRITE;
		}
		for (i = 0; i < go; i++) {
			if ((r = delete_hash(st, rows[i].id_hash, NULL)) != 0) {
				free(rows);
				return r;
			}
			a->evicted++;
		}
		free(rows);
	}
	if ((r = insert_session(st, a->ws, "create session")) != 0)
		return r;
	return ag_st_web_purge(st, a->now, 16, NULL);
}

int
ag_store_session_create(struct ag_store *st, const struct ag_web_session *ws, int64_t max,
                        int evict, int64_t now, int64_t *evicted, int *refused)
{
	struct create a = { .ws = ws, .max = max, .now = now, .evict = evict };
	int r;

	*evicted = 0;
	*refused = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(ws->user, AG_NAME_MAX) || !ag_store_bounded(ws->user_key, AG_NAME_MAX))
		return AG_ERR_INVAL;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, create_body, &a)) != 0)
		return r;
	*evicted = a.evicted;
	*refused = a.refused;
	return 0;
}

/* ---------------------------------------------------------------- check */

struct check {
	const uint8_t *hash, *fp, *new_hash;
	const char *old_sid, *new_sid;
	int64_t now, idle, touch;
	int revoke, touched;
	enum ag_session_verdict verdict;
	struct ag_web_session *out;
};

static int
touch(struct ag_store *st, struct ag_web_session *ws, int64_t now, int64_t idle)
{
	int err = 0;
	struct ag_db_stmt *s;

	ag_session_slide(ws, now, idle);
	if ((s = stmt(st, W_TOUCH, &err)) != NULL) {
		st->e->bind_text(s, 1, ws->user_key);
		st->e->bind_blob(s, 2, ws->id_hash, 32);
		st->e->bind_int64(s, 3, ws->last_seen);
		st->e->bind_int64(s, 4, ws->idle_expires);
	}
	return ag_st_exec(st, s, err, "touch session", NULL);
}

static int
check_body(struct ag_store *st, void *ctx)
{
	struct check *a = ctx;
	int found = 0, r;

	a->touched = 0;
	if ((r = get_session(st, a->hash, a->out, &found)) != 0)
		return r;
	a->verdict = ag_session_judge(a->out, found, a->fp, a->now);
	if (ag_session_drop_after(a->verdict, a->revoke))
		return delete_hash(st, a->hash, NULL);
	if (a->verdict == AG_SESSION_OK && ag_session_needs_touch(a->out, a->now, a->touch)) {
		if ((r = touch(st, a->out, a->now, a->idle)) != 0)
			return r;
		a->touched = 1;
		return 0;
	}
	return AG_TXN_NOWRITE;
}

int
ag_store_session_check(struct ag_store *st, const uint8_t id_hash[32], const uint8_t fp[32],
                       int64_t now, int64_t idle, int64_t touch_interval, int revoke,
                       enum ag_session_verdict *verdict, struct ag_web_session *out, int *touched)
{
	struct check a = { .hash = id_hash, .fp = fp, .now = now, .idle = idle,
		           .touch = touch_interval, .revoke = revoke, .out = out };
	int found = 0, r;

	*touched = 0;
	st->errmsg[0] = '\0';
	/* A plain read first: most checks of a busy session write nothing. */
	if ((r = get_session(st, id_hash, out, &found)) != 0)
		return r;
	*verdict = ag_session_judge(out, found, fp, now);
	if (!ag_session_drop_after(*verdict, revoke) &&
	    !(*verdict == AG_SESSION_OK && ag_session_needs_touch(out, now, touch_interval)))
		return 0;
	/* Something to write: decide again inside the write transaction. */
	if ((r = ag_txn(st, AG_WAIT_NORMAL, check_body, &a)) != 0)
		return r;
	*verdict = a.verdict;
	*touched = a.touched;
	return 0;
}

static int
rotate_body(struct ag_store *st, void *ctx)
{
	struct check *a = ctx;
	struct ag_web_session ws;
	struct ag_db_stmt *s;
	int found = 0, err = 0, r;

	if ((r = get_session(st, a->hash, &ws, &found)) != 0)
		return r;
	a->verdict = ag_session_judge(&ws, found, NULL, a->now);
	if (a->verdict != AG_SESSION_OK)
		return AG_TXN_NOWRITE;
	memcpy(ws.id_hash, a->new_hash, 32);
	ws.last_seen = a->now;
	if ((r = delete_hash(st, a->hash, NULL)) != 0 ||
	    (r = insert_session(st, &ws, "rotate session")) != 0)
		return r;
	if ((s = stmt(st, W_FAM_MOVE, &err)) != NULL) {
		st->e->bind_text(s, 1, a->old_sid);
		st->e->bind_text(s, 2, a->new_sid);
	}
	if ((r = ag_st_exec(st, s, err, "move refresh families", NULL)) != 0)
		return r;
	*a->out = ws;
	return 0;
}

int
ag_store_session_rotate(struct ag_store *st, const uint8_t old_hash[32], const uint8_t new_hash[32],
                        const char *old_sid, const char *new_sid, int64_t now,
                        enum ag_session_verdict *verdict, struct ag_web_session *out)
{
	struct check a = { .hash = old_hash, .new_hash = new_hash, .old_sid = old_sid,
		           .new_sid = new_sid, .now = now, .out = out };
	int r;

	st->errmsg[0] = '\0';
	*verdict = AG_SESSION_UNKNOWN;
	if (!ag_store_bounded(old_sid, AG_SID_MAX) || !ag_store_bounded(new_sid, AG_SID_MAX))
		return AG_ERR_INVAL;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, rotate_body, &a)) != 0)
		return r;
	*verdict = a.verdict;
	return 0;
}

/* ------------------------------------------------------------------ end */

static int
revoke_by(struct ag_store *st, unsigned id, const char *key, int64_t *n)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, id, &err);

	if (s != NULL)
		st->e->bind_text(s, 1, key);
	return ag_st_exec(st, s, err, "revoke refresh families", n);
}

int
ag_st_refresh_revoke_user(struct ag_store *st, const char *user_key, int64_t *families)
{
	return revoke_by(st, T_FAM_REVOKE_SUBJECT, user_key, families);
}

/* Ends the session with hash and revokes the families tied to it. */
static int
drop_session(struct ag_store *st, const uint8_t hash[32], ag_sid_of_hash_fn sid_of_hash,
             int64_t *sessions, int64_t *families)
{
	char sid[AG_SID_MAX + 1];
	int64_t n = 0;
	int r;

	if ((r = delete_hash(st, hash, &n)) != 0)
		return r;
	*sessions += n;
	if (sid_of_hash == NULL)
		return 0;
	sid_of_hash(hash, sid);
	if ((r = revoke_by(st, T_FAM_REVOKE_SID, sid, &n)) == 0)
		*families += n;
	return r;
}

int
ag_st_web_end(struct ag_store *st, const uint8_t *id_hash, const char *user_key,
              const char *clerk_sid, ag_sid_of_hash_fn sid_of_hash, int64_t *sessions,
              int64_t *families)
{
	uint8_t hashes[64][32];
	struct ag_db_stmt *s;
	int err = 0, r, k, i;

	if (id_hash != NULL)
		return drop_session(st, id_hash, sid_of_hash, sessions, families);
	/* In batches: collect hashes, end them, until none is left. */
	do {
		k = 0;
		if ((s = stmt(st, user_key != NULL ? W_HASHES_USER : W_HASHES_CLERK, &err)) != NULL)
			st->e->bind_text(s, 1, user_key != NULL ? user_key : clerk_sid);
		while ((r = ag_st_row(st, s, err, "list sessions")) == 1) {
			if (k < 64)
				copy_hash(st, s, 0, hashes[k++]);
		}
		if (r < 0)
			return r;
		for (i = 0; i < k; i++)
			if ((r = drop_session(st, hashes[i], sid_of_hash, sessions, families)) != 0)
				return r;
	} while (k == 64);
	return 0;
}

struct end {
	const uint8_t *hash;
	const char *user_key, *clerk_sid, *sid;
	ag_sid_of_hash_fn sid_of_hash;
	int64_t sessions, families, family;
	int64_t now, grace;
	const uint8_t *new_hash;
	int (*sid_hash)(const char *sid, uint8_t out[32]);
	enum ag_refresh_outcome outcome;
	struct ag_refresh_info *info;
};

static int
end_body(struct ag_store *st, void *ctx)
{
	struct end *a = ctx;

	a->sessions = a->families = 0;
	return ag_st_web_end(st, a->hash, a->user_key, a->clerk_sid, a->sid_of_hash, &a->sessions,
	                     &a->families);
}

int
ag_store_session_end(struct ag_store *st, const uint8_t *id_hash, const char *user_key,
                     const char *clerk_sid, ag_sid_of_hash_fn sid_of_hash, int64_t *n,
                     int64_t *families)
{
	struct end a = { .hash = id_hash, .user_key = user_key, .clerk_sid = clerk_sid,
		         .sid_of_hash = sid_of_hash };
	int selectors = (id_hash != NULL) + (user_key != NULL) + (clerk_sid != NULL);
	int r;

	*n = 0;
	if (families != NULL)
		*families = 0;
	st->errmsg[0] = '\0';
	if (selectors != 1 || (user_key != NULL && !ag_store_bounded(user_key, AG_NAME_MAX)) ||
	    (clerk_sid != NULL && !ag_store_bounded(clerk_sid, AG_SID_MAX)))
		return AG_ERR_INVAL;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, end_body, &a)) != 0)
		return r;
	*n = a.sessions;
	if (families != NULL)
		*families = a.families;
	return 0;
}

/* ---------------------------------------------------------------- reads */

int
ag_store_session_alive(struct ag_store *st, const uint8_t id_hash[32], int64_t now, int *alive,
                       struct ag_web_session *out)
{
	struct ag_web_session ws;
	int found = 0, r;

	*alive = 0;
	st->errmsg[0] = '\0';
	if ((r = get_session(st, id_hash, &ws, &found)) != 0)
		return r;
	*alive = ag_session_judge(&ws, found, NULL, now) == AG_SESSION_OK;
	if (out != NULL) {
		if (*alive)
			*out = ws;
		else
			memset(out, 0, sizeof(*out));
	}
	return 0;
}

int
ag_store_session_list(struct ag_store *st, const char *user_key, int64_t now,
                      int (*fn)(void *ctx, const struct ag_web_session *s), void *ctx)
{
	struct ag_web_session ws;
	struct ag_db_stmt *s;
	int err = 0, r;

	st->errmsg[0] = '\0';
	if (user_key != NULL && !ag_store_bounded(user_key, AG_NAME_MAX))
		return AG_ERR_INVAL;
	if ((s = stmt(st, user_key != NULL ? W_LIST_USER : W_LIST_ALL, &err)) != NULL) {
		st->e->bind_int64(s, 1, now);
		if (user_key != NULL)
			st->e->bind_text(s, 2, user_key);
	}
	while ((r = ag_st_row(st, s, err, "list sessions")) == 1) {
		row_to_session(st, s, &ws);
		if (fn(ctx, &ws) != 0) {
			st->e->reset(s);
			break;
		}
	}
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------- refresh tokens */

static int
insert_token(struct ag_store *st, const uint8_t hash[32], int64_t family, const uint8_t *parent,
             int64_t now)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, T_TOK_INSERT, &err);

	if (s != NULL) {
		st->e->bind_blob(s, 1, hash, 32);
		st->e->bind_int64(s, 2, family);
		if (parent != NULL)
			st->e->bind_blob(s, 3, parent, 32);
		st->e->bind_int64(s, 4, now);
	}
	return ag_st_exec(st, s, err, "store refresh token", NULL);
}

struct fam {
	const char *subject, *subject_key, *sid;
	const uint8_t *hash;
	int64_t now, expires, family;
};

static int
fam_create_body(struct ag_store *st, void *ctx)
{
	struct fam *a = ctx;
	struct ag_db_stmt *s;
	int err = 0, r;

	a->family = 0;
	if ((s = stmt(st, T_FAM_CREATE, &err)) != NULL) {
		st->e->bind_text(s, 1, a->subject);
		st->e->bind_text(s, 2, a->subject_key);
		st->e->bind_text(s, 3, a->sid);
		st->e->bind_int64(s, 4, a->now);
		st->e->bind_int64(s, 5, a->expires);
		st->e->bind_blob(s, 6, a->hash, 32);
	}
	if ((r = ag_st_row(st, s, err, "create refresh family")) < 0)
		return r;
	if (r == 0)
		return ag_st_fail(st, AG_ERR_STORE, "create refresh family");
	a->family = st->e->col_int64(s, 0);
	st->e->reset(s);
	if ((r = insert_token(st, a->hash, a->family, NULL, a->now)) != 0)
		return r;
	return ag_st_web_purge(st, a->now, 16, NULL);
}

int
ag_store_refresh_create(struct ag_store *st, const char *subject, const char *subject_key,
                        const char *sid, const uint8_t hash[32], int64_t now, int64_t expires,
                        int64_t *family)
{
	struct fam a = { .subject = subject, .subject_key = subject_key, .sid = sid,
		         .hash = hash, .now = now, .expires = expires };
	int r;

	*family = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(subject, AG_NAME_MAX) || !ag_store_bounded(subject_key, AG_NAME_MAX) ||
	    (sid != NULL && !ag_store_bounded(sid, AG_SID_MAX)))
		return AG_ERR_INVAL;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, fam_create_body, &a)) != 0)
		return r;
	*family = a.family;
	return 0;
}

static int
blob_is(struct ag_store *st, struct ag_db_stmt *s, int col, const uint8_t *want)
{
	size_t n = 0;
	const uint8_t *p = st->e->col_blob(s, col, &n);

	return p != NULL && n == 32 && memcmp(p, want, 32) == 0;
}

static int
revoke_family(struct ag_store *st, int64_t family, int64_t *n)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, T_FAM_REVOKE_ID, &err);

	if (s != NULL)
		st->e->bind_int64(s, 1, family);
	return ag_st_exec(st, s, err, "revoke refresh family", n);
}

/* Loads the presented token with its family for ag_refresh_judge(). */
static int
load_token(struct ag_store *st, const uint8_t hash[32], struct ag_refresh_row *row,
           struct ag_refresh_info *info, uint8_t current[32])
{
	struct ag_db_stmt *s;
	int err = 0, r;

	memset(row, 0, sizeof(*row));
	memset(info, 0, sizeof(*info));
	memset(current, 0, 32);
	if ((s = stmt(st, T_TOK_GET, &err)) != NULL)
		st->e->bind_blob(s, 1, hash, 32);
	if ((r = ag_st_row(st, s, err, "read refresh token")) <= 0)
		return r;
	row->found = 1;
	info->family = st->e->col_int64(s, 0);
	row->used_at = st->e->col_is_null(s, 1) ? -1 : st->e->col_int64(s, 1);
	copy_text(info->subject, sizeof(info->subject), st->e->col_text(s, 2));
	copy_text(info->sid, sizeof(info->sid), st->e->col_text(s, 3));
	info->expires = row->expires = st->e->col_int64(s, 4);
	row->revoked = st->e->col_int64(s, 5) != 0;
	row->is_current = blob_is(st, s, 6, hash);
	copy_hash(st, s, 6, current);
	row->current_unused = st->e->col_is_null(s, 7);
	row->current_is_child = blob_is(st, s, 8, hash);
	row->created = st->e->col_int64(s, 9);
	st->e->reset(s);
	return 0;
}

static int
redeem_body(struct ag_store *st, void *ctx)
{
	struct end *a = ctx;
	struct ag_refresh_row row;
	struct ag_db_stmt *s;
	uint8_t current[32];
	int err = 0, r;

	if ((r = load_token(st, a->hash, &row, a->info, current)) != 0)
		return r;
	a->outcome = ag_refresh_judge(&row, a->now, a->grace);
	switch (a->outcome) {
	case AG_REFRESH_OK:
		if ((s = stmt(st, T_TOK_USE, &err)) != NULL) {
			st->e->bind_blob(s, 1, a->hash, 32);
			st->e->bind_int64(s, 2, a->now);
		}
		if ((r = ag_st_exec(st, s, err, "use refresh token", NULL)) != 0)
			return r;
		break;
	case AG_REFRESH_RETRIED:
		/* The lost successor is replaced by the new one. */
		if ((s = stmt(st, T_TOK_DELETE, &err)) != NULL)
			st->e->bind_blob(s, 1, current, 32);
		if ((r = ag_st_exec(st, s, err, "drop lost refresh token", NULL)) != 0)
			return r;
		break;
	case AG_REFRESH_REUSED: {
		int64_t families = 0;
		uint8_t sh[32];

		/* Theft: the family and its session end in this one
		 * transaction, so that no crash leaves the session alive. */
		if ((r = revoke_family(st, a->info->family, NULL)) != 0)
			return r;
		if (a->info->sid[0] != '\0' && a->sid_hash != NULL &&
		    a->sid_hash(a->info->sid, sh) == 0) {
			if ((r = delete_hash(st, sh, NULL)) != 0 ||
			    (r = revoke_by(st, T_FAM_REVOKE_SID, a->info->sid, &families)) != 0)
				return r;
		}
		return 0;
	}
	default:
		return AG_TXN_NOWRITE; /* unknown, expired, revoked, not yet valid */
	}
	if ((r = insert_token(st, a->new_hash, a->info->family, a->hash, a->now)) != 0)
		return r;
	if ((s = stmt(st, T_FAM_SET_CURRENT, &err)) != NULL) {
		st->e->bind_int64(s, 1, a->info->family);
		st->e->bind_blob(s, 2, a->new_hash, 32);
	}
	return ag_st_exec(st, s, err, "rotate refresh token", NULL);
}

int
ag_store_refresh_redeem(struct ag_store *st, const uint8_t hash[32], const uint8_t new_hash[32],
                        int64_t now, int64_t grace,
                        int (*sid_hash)(const char *sid, uint8_t out[32]),
                        enum ag_refresh_outcome *outcome, struct ag_refresh_info *info)
{
	struct end a = { .hash = hash, .new_hash = new_hash, .now = now, .grace = grace,
		         .sid_hash = sid_hash, .info = info };
	int r;

	*outcome = AG_REFRESH_UNKNOWN;
	memset(info, 0, sizeof(*info));
	if ((r = ag_txn(st, AG_WAIT_NORMAL, redeem_body, &a)) != 0) {
		memset(info, 0, sizeof(*info));
		return r;
	}
	*outcome = a.outcome;
	return 0;
}

static int
revoke_body(struct ag_store *st, void *ctx)
{
	struct end *a = ctx;
	struct ag_refresh_row row;
	struct ag_refresh_info info;
	uint8_t current[32];
	int r;

	a->families = 0;
	if (a->hash != NULL) {
		if ((r = load_token(st, a->hash, &row, &info, current)) != 0)
			return r;
		if (!row.found)
			return AG_TXN_NOWRITE;
		return revoke_family(st, info.family, &a->families);
	}
	if (a->family != 0)
		return revoke_family(st, a->family, &a->families);
	return revoke_by(st, a->user_key != NULL ? T_FAM_REVOKE_SUBJECT : T_FAM_REVOKE_SID,
	                 a->user_key != NULL ? a->user_key : a->sid, &a->families);
}

int
ag_store_refresh_revoke(struct ag_store *st, int64_t family, const uint8_t *hash,
                        const char *subject_key, const char *sid, int64_t *n)
{
	struct end a = { .family = family, .hash = hash, .user_key = subject_key, .sid = sid };
	int selectors = (family != 0) + (hash != NULL) + (subject_key != NULL) + (sid != NULL);
	int r;

	*n = 0;
	st->errmsg[0] = '\0';
	if (selectors != 1 || (subject_key != NULL && !ag_store_bounded(subject_key, AG_NAME_MAX)) ||
	    (sid != NULL && !ag_store_bounded(sid, AG_SID_MAX)))
		return AG_ERR_INVAL;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, revoke_body, &a)) != 0)
		return r;
	*n = a.families;
	return 0;
}

int
ag_st_web_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	static const unsigned which[] = { W_PURGE, T_FAM_PURGE };
	struct ag_db_stmt *s;
	int64_t n;
	size_t i;
	int err = 0, r;

	for (i = 0; i < AG_ARRAY_SIZE(which); i++) {
		if ((s = stmt(st, which[i], &err)) != NULL) {
			st->e->bind_int64(s, 1, now);
			st->e->bind_int64(s, 2, ag_st_limit(limit));
		}
		if ((r = ag_st_exec(st, s, err, "purge sessions", &n)) != 0)
			return r;
		if (deleted != NULL)
			*deleted += n;
	}
	return 0;
}
