/* SQLite implementation of the session part of store.h: web sessions, PAM
 * sessions and webhook message ids. */
#include "autoconf.h"

#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "error.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

enum {
	W_DROP_EXPIRED_USER, W_COUNT_USER, W_OLDEST_USER, W_DELETE, W_INSERT, W_GET, W_TOUCH,
	W_DELETE_USER, W_DELETE_CLERK, W_HASHES_USER, W_HASHES_CLERK, W_FAM_MOVE,
	W_LIST_ALL, W_LIST_USER, P_LIST_USER, P_DELETE, P_INSERT, P_LIST_ALL, H_INSERT,
	W_PURGE, H_PURGE,
	W_COUNT
};

static const char *const sql[W_COUNT] = {
	[W_DROP_EXPIRED_USER] = "DELETE FROM web_session WHERE user = ?1"
	                        " AND (idle_expires <= ?2 OR abs_expires <= ?2)",
	[W_COUNT_USER] = "SELECT count(*) FROM web_session WHERE user = ?1",
	/* Least recently used: last_seen has whole seconds, used_seq orders
	 * the uses within one (created only matters for rows older than
	 * schema 5, whose used_seq is 0). */
	[W_OLDEST_USER] = "SELECT id_hash FROM web_session WHERE user = ?1"
	                  " ORDER BY last_seen, used_seq, created LIMIT 1",
	[W_DELETE] = "DELETE FROM web_session WHERE id_hash = ?1",
	[W_INSERT] = "INSERT INTO web_session (id_hash, user, fingerprint, clerk_sid, created,"
	             " last_seen, idle_expires, abs_expires, used_seq) VALUES (?1, ?2, ?3, ?4,"
	             " ?5, ?6, ?7, ?8, (SELECT coalesce(max(used_seq), 0) + 1 FROM web_session"
	             " WHERE user = ?2))",
	[W_GET] = "SELECT user, fingerprint, clerk_sid, created, last_seen, idle_expires,"
	          " abs_expires FROM web_session WHERE id_hash = ?1",
	[W_TOUCH] = "UPDATE web_session SET last_seen = ?2, idle_expires = ?3,"
	            " used_seq = (SELECT coalesce(max(used_seq), 0) + 1 FROM web_session"
	            " WHERE user = ?4) WHERE id_hash = ?1",
	[W_DELETE_USER] = "DELETE FROM web_session WHERE user = ?1",
	[W_DELETE_CLERK] = "DELETE FROM web_session WHERE clerk_sid = ?1",
	[W_HASHES_USER] = "SELECT id_hash FROM web_session WHERE user = ?1",
	[W_HASHES_CLERK] = "SELECT id_hash FROM web_session WHERE clerk_sid = ?1",
	[W_FAM_MOVE] = "UPDATE refresh_family SET sid = ?2 WHERE sid = ?1",
	[W_LIST_ALL] = "SELECT id_hash, user, fingerprint, clerk_sid, created, last_seen,"
	               " idle_expires, abs_expires FROM web_session"
	               " WHERE idle_expires > ?1 AND abs_expires > ?1"
	               " ORDER BY user, last_seen DESC, used_seq DESC",
	[W_LIST_USER] = "SELECT id_hash, user, fingerprint, clerk_sid, created, last_seen,"
	                " idle_expires, abs_expires FROM web_session WHERE user = ?2"
	                " AND idle_expires > ?1 AND abs_expires > ?1"
	                " ORDER BY last_seen DESC, used_seq DESC",
	[P_LIST_USER] = "SELECT id, user, service, tty, rhost, pid, boot_id, started"
	                " FROM pam_session WHERE user = ?1 ORDER BY started",
	[P_DELETE] = "DELETE FROM pam_session WHERE id = ?1",
	[P_INSERT] = "INSERT INTO pam_session (user, service, tty, rhost, pid, boot_id, started)"
	             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[P_LIST_ALL] = "SELECT id, user, service, tty, rhost, pid, boot_id, started"
	               " FROM pam_session ORDER BY user, started",
	[H_INSERT] = "INSERT INTO webhook_msg (id, expires) VALUES (?1, ?2)"
	             " ON CONFLICT (id) DO NOTHING",
	/* idle_expires never exceeds abs_expires: one indexed range. */
	[W_PURGE] = "DELETE FROM web_session WHERE id_hash IN (SELECT id_hash FROM web_session"
	            " WHERE idle_expires <= ?1 LIMIT ?2)",
	[H_PURGE] = "DELETE FROM webhook_msg WHERE id IN"
	            " (SELECT id FROM webhook_msg WHERE expires < ?1 LIMIT ?2)",
};

static sqlite3_stmt *
stmt(struct ag_store *st, unsigned id)
{
	return ag_store_prepare(st, AG_STMT_SESSION + id, sql[id]);
}

static void
bind_opt_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v != NULL && v[0] != '\0')
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static void
row_to_session(sqlite3_stmt *s, int first, struct ag_web_session *out)
{
	const unsigned char *t;

	if ((t = sqlite3_column_text(s, first)) != NULL)
		ag_strlcpy(out->user, (const char *)t, sizeof(out->user));
	if (sqlite3_column_bytes(s, first + 1) == 32)
		memcpy(out->fingerprint, sqlite3_column_blob(s, first + 1), 32);
	if ((t = sqlite3_column_text(s, first + 2)) != NULL)
		ag_strlcpy(out->clerk_sid, (const char *)t, sizeof(out->clerk_sid));
	out->created = sqlite3_column_int64(s, first + 3);
	out->last_seen = sqlite3_column_int64(s, first + 4);
	out->idle_expires = sqlite3_column_int64(s, first + 5);
	out->abs_expires = sqlite3_column_int64(s, first + 6);
}

static int
delete_hash(struct ag_store *st, const uint8_t hash[32])
{
	sqlite3_stmt *s = stmt(st, W_DELETE);

	if (s != NULL)
		sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	return ag_store_exec(st, s, "end session");
}

static int
insert_session(struct ag_store *st, const struct ag_web_session *ws, const char *what)
{
	sqlite3_stmt *s = stmt(st, W_INSERT);

	if (s != NULL) {
		sqlite3_bind_blob(s, 1, ws->id_hash, 32, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, ws->user, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 3, ws->fingerprint, 32, SQLITE_STATIC);
		bind_opt_text(s, 4, ws->clerk_sid);
		sqlite3_bind_int64(s, 5, ws->created);
		sqlite3_bind_int64(s, 6, ws->last_seen);
		sqlite3_bind_int64(s, 7, ws->idle_expires);
		sqlite3_bind_int64(s, 8, ws->abs_expires);
	}
	return ag_store_exec(st, s, what);
}

int
ag_store_session_create(struct ag_store *st, const struct ag_web_session *ws, int64_t max,
                        int evict, int64_t now, int64_t *evicted, int *refused)
{
	sqlite3_stmt *s;
	uint8_t oldest[32];
	int64_t count = 0;
	int rc, r;

	*evicted = 0;
	*refused = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(ws->user, AG_NAME_MAX))
		return AG_ERR_INVAL;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, W_DROP_EXPIRED_USER)) != NULL) {
		sqlite3_bind_text(s, 1, ws->user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, now);
	}
	if ((r = ag_store_exec(st, s, "drop expired sessions")) != 0)
		goto out;
	for (;;) {
		if ((s = stmt(st, W_COUNT_USER)) == NULL) {
			r = ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
			goto out;
		}
		sqlite3_bind_text(s, 1, ws->user, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		sqlite3_reset(s);
		if (rc != SQLITE_ROW) {
			r = ag_store_fail(st, rc, "count sessions");
			goto out;
		}
		if (max <= 0 || count < max)
			break;
		if (!evict) {
			*refused = 1;
			ag_store_rollback(st);
			return 0;
		}
		if ((s = stmt(st, W_OLDEST_USER)) == NULL) {
			r = ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
			goto out;
		}
		sqlite3_bind_text(s, 1, ws->user, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32)
			memcpy(oldest, sqlite3_column_blob(s, 0), 32);
		sqlite3_reset(s);
		if (rc != SQLITE_ROW) {
			r = ag_store_fail(st, rc, "find oldest session");
			goto out;
		}
		if ((r = delete_hash(st, oldest)) != 0)
			goto out;
		(*evicted)++;
	}
	if ((r = insert_session(st, ws, "create session")) != 0 ||
	    (r = ag_store_session_purge(st, now, 16, NULL)) != 0)
		goto out;
	return ag_store_commit(st);
out:
	ag_store_rollback(st);
	return r;
}

/* Reads a session by hash; 0 with *found. */
static int
get_session(struct ag_store *st, const uint8_t hash[32], struct ag_web_session *out, int *found)
{
	sqlite3_stmt *s = stmt(st, W_GET);
	int rc;

	*found = 0;
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memcpy(out->id_hash, hash, 32);
		row_to_session(s, 0, out);
		*found = 1;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ag_store_fail(st, rc, "read session");
	return 0;
}

static enum ag_session_verdict
judge(const struct ag_web_session *ws, int found, const uint8_t *fp, int64_t now)
{
	if (!found)
		return AG_SESSION_UNKNOWN;
	if (ws->idle_expires <= now || ws->abs_expires <= now)
		return AG_SESSION_EXPIRED;
	if (fp != NULL && sodium_memcmp(ws->fingerprint, fp, 32) != 0)
		return AG_SESSION_MISMATCH;
	return AG_SESSION_OK;
}

int
ag_store_session_check(struct ag_store *st, const uint8_t id_hash[32], const uint8_t fp[32],
                       int64_t now, int64_t idle, int64_t touch_interval, int revoke,
                       enum ag_session_verdict *verdict, struct ag_web_session *out, int *touched)
{
	sqlite3_stmt *s;
	int found = 0, r;

	*touched = 0;
	st->errmsg[0] = '\0';
	/* A plain read first: most checks of a busy session write nothing. */
	if ((r = get_session(st, id_hash, out, &found)) != 0)
		return r;
	*verdict = judge(out, found, fp, now);
	if (*verdict == AG_SESSION_OK && now - out->last_seen < touch_interval)
		return 0;
	if (*verdict != AG_SESSION_OK && !(*verdict == AG_SESSION_MISMATCH && revoke) &&
	    *verdict != AG_SESSION_EXPIRED)
		return 0;
	/* Something to write: decide again inside the write transaction. */
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((r = get_session(st, id_hash, out, &found)) != 0)
		goto out;
	*verdict = judge(out, found, fp, now);
	if (*verdict == AG_SESSION_MISMATCH ? revoke : *verdict == AG_SESSION_EXPIRED) {
		if ((r = delete_hash(st, id_hash)) != 0)
			goto out;
	} else if (*verdict == AG_SESSION_OK && now - out->last_seen >= touch_interval) {
		out->last_seen = now;
		out->idle_expires = now + idle < out->abs_expires ? now + idle : out->abs_expires;
		if ((s = stmt(st, W_TOUCH)) != NULL) {
			sqlite3_bind_blob(s, 1, id_hash, 32, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, out->last_seen);
			sqlite3_bind_int64(s, 3, out->idle_expires);
			sqlite3_bind_text(s, 4, out->user, -1, SQLITE_STATIC);
		}
		if ((r = ag_store_exec(st, s, "touch session")) != 0)
			goto out;
		*touched = 1;
	}
	return ag_store_commit(st);
out:
	ag_store_rollback(st);
	return r;
}

int
ag_store_session_rotate(struct ag_store *st, const uint8_t old_hash[32], const uint8_t new_hash[32],
                        const char *old_sid, const char *new_sid, int64_t now,
                        enum ag_session_verdict *verdict, struct ag_web_session *out)
{
	struct ag_web_session ws;
	sqlite3_stmt *s;
	int found = 0, r;

	st->errmsg[0] = '\0';
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((r = get_session(st, old_hash, &ws, &found)) != 0)
		goto out;
	*verdict = judge(&ws, found, NULL, now);
	if (*verdict != AG_SESSION_OK) {
		ag_store_rollback(st);
		return 0;
	}
	memcpy(ws.id_hash, new_hash, 32);
	ws.last_seen = now;
	if ((r = delete_hash(st, old_hash)) != 0)
		goto out;
	if ((r = insert_session(st, &ws, "rotate session")) != 0)
		goto out;
	if ((s = stmt(st, W_FAM_MOVE)) != NULL) {
		sqlite3_bind_text(s, 1, old_sid, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, new_sid, -1, SQLITE_STATIC);
	}
	if ((r = ag_store_exec(st, s, "move refresh families")) != 0)
		goto out;
	*out = ws;
	return ag_store_commit(st);
out:
	ag_store_rollback(st);
	return r;
}

static int
revoke_sid(struct ag_store *st, const uint8_t hash[32],
           void (*sid_of_hash)(const uint8_t h[32], char out[AG_SID_MAX + 1]), int64_t *families)
{
	char sid[AG_SID_MAX + 1];
	int64_t n = 0;
	int r;

	if (sid_of_hash == NULL)
		return 0;
	sid_of_hash(hash, sid);
	if ((r = ag_store_refresh_revoke_by(st, NULL, sid, &n)) == 0)
		*families += n;
	return r;
}

int
ag_store_session_drop(struct ag_store *st, const uint8_t hash[32], const char *sid)
{
	int64_t n = 0;
	int r;

	if ((r = delete_hash(st, hash)) != 0)
		return r;
	return ag_store_refresh_revoke_by(st, NULL, sid, &n);
}

/* The body of ag_store_session_end, inside the caller's transaction. */
static int
end_sessions(struct ag_store *st, const uint8_t *id_hash, const char *user, const char *clerk_sid,
             void (*sid_of_hash)(const uint8_t h[32], char out[AG_SID_MAX + 1]), int64_t *n,
             int64_t *fams)
{
	uint8_t hashes[64][32];
	sqlite3_stmt *s;
	int rc, r, k, more;

	if (id_hash != NULL) {
		if ((r = delete_hash(st, id_hash)) != 0)
			return r;
		*n = sqlite3_changes(st->db);
		return revoke_sid(st, id_hash, sid_of_hash, fams);
	}
	/* In batches: collect hashes, revoke their families, delete them. */
	do {
		k = 0;
		more = 0;
		if ((s = stmt(st, user != NULL ? W_HASHES_USER : W_HASHES_CLERK)) == NULL)
			return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
		sqlite3_bind_text(s, 1, user != NULL ? user : clerk_sid, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (k == 64) {
				more = 1;
				break;
			}
			if (sqlite3_column_bytes(s, 0) == 32)
				memcpy(hashes[k++], sqlite3_column_blob(s, 0), 32);
		}
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return ag_store_fail(st, rc, "list sessions");
		for (int i = 0; i < k; i++) {
			if ((r = revoke_sid(st, hashes[i], sid_of_hash, fams)) != 0 ||
			    (r = delete_hash(st, hashes[i])) != 0)
				return r;
			(*n)++;
		}
	} while (more);
	return 0;
}

int
ag_store_session_end(struct ag_store *st, const uint8_t *id_hash, const char *user,
                     const char *clerk_sid,
                     void (*sid_of_hash)(const uint8_t h[32], char out[AG_SID_MAX + 1]),
                     int64_t *n, int64_t *families)
{
	int64_t fams = 0;
	int selectors = (id_hash != NULL) + (user != NULL) + (clerk_sid != NULL);
	int r;

	*n = 0;
	if (families != NULL)
		*families = 0;
	st->errmsg[0] = '\0';
	if (selectors != 1 || (user != NULL && !ag_store_bounded(user, AG_NAME_MAX)) ||
	    (clerk_sid != NULL && !ag_store_bounded(clerk_sid, AG_SID_MAX)))
		return AG_ERR_INVAL;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((r = end_sessions(st, id_hash, user, clerk_sid, sid_of_hash, n, &fams)) != 0) {
		ag_store_rollback(st);
		*n = 0;
		return r;
	}
	if ((r = ag_store_commit(st)) == 0 && families != NULL)
		*families = fams;
	return r;
}

int
ag_store_session_alive(struct ag_store *st, const uint8_t id_hash[32], int64_t now, int *alive,
                       char *user)
{
	struct ag_web_session ws;
	int found = 0, r;

	*alive = 0;
	st->errmsg[0] = '\0';
	if ((r = get_session(st, id_hash, &ws, &found)) != 0)
		return r;
	*alive = judge(&ws, found, NULL, now) == AG_SESSION_OK;
	if (user != NULL)
		ag_strlcpy(user, *alive ? ws.user : "", AG_NAME_MAX + 1);
	return 0;
}

int
ag_store_session_list(struct ag_store *st, const char *user, int64_t now,
                      int (*fn)(void *ctx, const struct ag_web_session *s), void *ctx)
{
	struct ag_web_session ws;
	sqlite3_stmt *s;
	int rc;

	st->errmsg[0] = '\0';
	rc = sqlite3_prepare_v2(st->db, sql[user != NULL ? W_LIST_USER : W_LIST_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return ag_store_fail(st, rc, "list sessions");
	sqlite3_bind_int64(s, 1, now);
	if (user != NULL)
		sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&ws, 0, sizeof(ws));
		if (sqlite3_column_bytes(s, 0) == 32)
			memcpy(ws.id_hash, sqlite3_column_blob(s, 0), 32);
		row_to_session(s, 1, &ws);
		if (fn(ctx, &ws) != 0)
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ag_store_fail(st, rc, "list sessions");
	return 0;
}

static void
row_to_pam(sqlite3_stmt *s, struct ag_pam_session *p)
{
	const unsigned char *t;

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(s, 0);
	if ((t = sqlite3_column_text(s, 1)) != NULL)
		ag_strlcpy(p->user, (const char *)t, sizeof(p->user));
	if ((t = sqlite3_column_text(s, 2)) != NULL)
		ag_strlcpy(p->service, (const char *)t, sizeof(p->service));
	if ((t = sqlite3_column_text(s, 3)) != NULL)
		ag_strlcpy(p->tty, (const char *)t, sizeof(p->tty));
	if ((t = sqlite3_column_text(s, 4)) != NULL)
		ag_strlcpy(p->rhost, (const char *)t, sizeof(p->rhost));
	p->pid = sqlite3_column_int64(s, 5);
	if ((t = sqlite3_column_text(s, 6)) != NULL)
		ag_strlcpy(p->boot_id, (const char *)t, sizeof(p->boot_id));
	p->started = sqlite3_column_int64(s, 7);
}

int
ag_store_pam_session_open(struct ag_store *st, const struct ag_pam_session *ps, int64_t max,
                          int (*alive)(void *ctx, const struct ag_pam_session *row), void *ctx,
                          int64_t *id, int *refused)
{
	struct ag_pam_session row, stale[32];
	sqlite3_stmt *s;
	int64_t live = 0;
	int nstale = 0, rc, r, i;

	*id = 0;
	*refused = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(ps->user, AG_NAME_MAX))
		return AG_ERR_INVAL;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, P_LIST_USER)) == NULL) {
		r = ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
		goto out;
	}
	sqlite3_bind_text(s, 1, ps->user, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_pam(s, &row);
		if (alive(ctx, &row))
			live++;
		else if (nstale < (int)AG_ARRAY_SIZE(stale))
			stale[nstale++] = row;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		r = ag_store_fail(st, rc, "list PAM sessions");
		goto out;
	}
	for (i = 0; i < nstale; i++) {
		if ((s = stmt(st, P_DELETE)) != NULL)
			sqlite3_bind_int64(s, 1, stale[i].id);
		if ((r = ag_store_exec(st, s, "drop stale PAM session")) != 0)
			goto out;
	}
	if (max > 0 && live >= max) {
		*refused = 1;
		return ag_store_commit(st); /* stale rows are gone either way */
	}
	if ((s = stmt(st, P_INSERT)) != NULL) {
		sqlite3_bind_text(s, 1, ps->user, -1, SQLITE_STATIC);
		bind_opt_text(s, 2, ps->service);
		bind_opt_text(s, 3, ps->tty);
		bind_opt_text(s, 4, ps->rhost);
		sqlite3_bind_int64(s, 5, ps->pid);
		sqlite3_bind_text(s, 6, ps->boot_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 7, ps->started);
	}
	if ((r = ag_store_exec(st, s, "record PAM session")) != 0)
		goto out;
	*id = sqlite3_last_insert_rowid(st->db);
	return ag_store_commit(st);
out:
	ag_store_rollback(st);
	return r;
}

int
ag_store_pam_session_close(struct ag_store *st, int64_t id)
{
	sqlite3_stmt *s;
	int r;

	st->errmsg[0] = '\0';
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, P_DELETE)) != NULL)
		sqlite3_bind_int64(s, 1, id);
	if ((r = ag_store_exec(st, s, "close PAM session")) != 0) {
		ag_store_rollback(st);
		return r;
	}
	return ag_store_commit(st);
}

int
ag_store_pam_session_list(struct ag_store *st, const char *user,
                          int (*fn)(void *ctx, const struct ag_pam_session *s), void *ctx)
{
	struct ag_pam_session row;
	sqlite3_stmt *s;
	int rc;

	st->errmsg[0] = '\0';
	rc = sqlite3_prepare_v2(st->db, sql[user != NULL ? P_LIST_USER : P_LIST_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return ag_store_fail(st, rc, "list PAM sessions");
	if (user != NULL)
		sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_pam(s, &row);
		if (fn(ctx, &row) != 0)
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ag_store_fail(st, rc, "list PAM sessions");
	return 0;
}

int
ag_store_webhook_apply(struct ag_store *st, const char *msg_id, int64_t now, int64_t expires,
                       const char *end_user, const char *end_clerk_sid,
                       void (*sid_of_hash)(const uint8_t h[32], char out[AG_SID_MAX + 1]),
                       int *first, int64_t *sessions_ended, int64_t *families)
{
	sqlite3_stmt *s;
	int64_t fams = 0;
	int r;

	*first = 0;
	*sessions_ended = *families = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(msg_id, 256) || (end_user != NULL && end_clerk_sid != NULL) ||
	    (end_user != NULL && !ag_store_bounded(end_user, AG_NAME_MAX)) ||
	    (end_clerk_sid != NULL && !ag_store_bounded(end_clerk_sid, AG_SID_MAX)))
		return AG_ERR_INVAL;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, H_INSERT)) != NULL) {
		sqlite3_bind_text(s, 1, msg_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, expires);
	}
	if ((r = ag_store_exec(st, s, "record webhook message")) != 0)
		goto out;
	*first = sqlite3_changes(st->db) == 1;
	/* A user's families first (all of them, counted), then the sessions. */
	if (*first && end_user != NULL &&
	    ((r = ag_store_refresh_revoke_by(st, end_user, NULL, families)) != 0 ||
	     (r = end_sessions(st, NULL, end_user, NULL, sid_of_hash, sessions_ended, &fams)) != 0))
		goto out;
	if (*first && end_clerk_sid != NULL &&
	    (r = end_sessions(st, NULL, NULL, end_clerk_sid, sid_of_hash, sessions_ended, &fams)) != 0)
		goto out;
	if ((r = ag_store_session_purge(st, now, 16, NULL)) != 0)
		goto out;
	if ((r = ag_store_commit(st)) == 0)
		return 0;
out:
	ag_store_rollback(st);
	*first = 0;
	*sessions_ended = *families = 0;
	return r;
}

int
ag_store_session_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	static const unsigned which[] = { W_PURGE, H_PURGE };
	sqlite3_stmt *s;
	size_t i;
	int r;

	for (i = 0; i < AG_ARRAY_SIZE(which); i++) {
		if ((s = stmt(st, which[i])) != NULL) {
			sqlite3_bind_int64(s, 1, now);
			sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
		}
		if ((r = ag_store_exec(st, s, "purge sessions")) != 0)
			return r;
		if (deleted != NULL)
			*deleted += sqlite3_changes(st->db);
	}
	return 0;
}
