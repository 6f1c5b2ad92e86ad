/* SQLite implementation of the token part of store.h: the jti denylist and
 * refresh-token families. */
#include "autoconf.h"

#include <string.h>

#include <sqlite3.h>

#include "error.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

enum {
	T_JTI_REVOKE, T_JTI_CHECK, T_FAM_CREATE, T_TOK_INSERT, T_TOK_GET, T_TOK_USE,
	T_FAM_SET_CURRENT, T_FAM_REVOKE_ID, T_FAM_REVOKE_SUBJECT, T_FAM_REVOKE_SID,
	T_TOK_DELETE, T_JTI_PURGE, T_FAM_PURGE,
	T_COUNT
};

static const char *const sql[T_COUNT] = {
	[T_JTI_REVOKE] = "INSERT INTO revoked_jti (jti, expires) VALUES (?1, ?2)"
	                 " ON CONFLICT (jti) DO UPDATE SET expires = max(expires, excluded.expires)",
	[T_JTI_CHECK] = "SELECT 1 FROM revoked_jti WHERE jti = ?1 AND expires >= ?2",
	[T_FAM_CREATE] = "INSERT INTO refresh_family (subject, sid, created, expires, current)"
	                 " VALUES (?1, ?2, ?3, ?4, ?5)",
	[T_TOK_INSERT] = "INSERT INTO refresh_token (hash, family_id, parent, issued)"
	                 " VALUES (?1, ?2, ?3, ?4)",
	[T_TOK_GET] = "SELECT t.family_id, t.used_at, f.subject, f.sid, f.expires, f.revoked,"
	              " f.current, (SELECT c.used_at FROM refresh_token c WHERE c.hash = f.current),"
	              " (SELECT c.parent FROM refresh_token c WHERE c.hash = f.current),"
	              " f.created"
	              " FROM refresh_token t JOIN refresh_family f ON f.id = t.family_id"
	              " WHERE t.hash = ?1",
	[T_TOK_USE] = "UPDATE refresh_token SET used_at = ?2 WHERE hash = ?1",
	[T_FAM_SET_CURRENT] = "UPDATE refresh_family SET current = ?2 WHERE id = ?1",
	[T_FAM_REVOKE_ID] = "UPDATE refresh_family SET revoked = 1 WHERE id = ?1 AND revoked = 0",
	[T_FAM_REVOKE_SUBJECT] = "UPDATE refresh_family SET revoked = 1"
	                         " WHERE subject = ?1 AND revoked = 0",
	[T_FAM_REVOKE_SID] = "UPDATE refresh_family SET revoked = 1 WHERE sid = ?1 AND revoked = 0",
	[T_TOK_DELETE] = "DELETE FROM refresh_token WHERE hash = ?1",
	[T_JTI_PURGE] = "DELETE FROM revoked_jti WHERE jti IN"
	                " (SELECT jti FROM revoked_jti WHERE expires < ?1 LIMIT ?2)",
	[T_FAM_PURGE] = "DELETE FROM refresh_family WHERE id IN"
	                " (SELECT id FROM refresh_family WHERE expires < ?1 LIMIT ?2)",
};

static sqlite3_stmt *
stmt(struct ag_store *st, unsigned id)
{
	return ag_store_prepare(st, AG_STMT_TOKEN + id, sql[id]);
}

int
ag_store_jti_revoke(struct ag_store *st, const char *jti, int64_t now, int64_t expires)
{
	sqlite3_stmt *s;
	int r;

	st->errmsg[0] = '\0';
	if (!ag_store_bounded(jti, 256))
		return AG_ERR_INVAL;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, T_JTI_REVOKE)) != NULL) {
		sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, expires);
	}
	if ((r = ag_store_exec(st, s, "revoke token")) != 0 ||
	    (r = ag_store_token_purge(st, now, 16, NULL)) != 0) {
		ag_store_rollback(st);
		return r;
	}
	return ag_store_commit(st);
}

int
ag_store_jti_is_revoked(struct ag_store *st, const char *jti, int64_t now, int *revoked)
{
	sqlite3_stmt *s;
	int rc;

	*revoked = 1; /* until proven otherwise */
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(jti, 256))
		return AG_ERR_INVAL;
	if ((s = stmt(st, T_JTI_CHECK)) == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return ag_store_fail(st, rc, "read revocations");
	*revoked = 0;
	return 0;
}

static int
insert_token(struct ag_store *st, const uint8_t hash[32], int64_t family, const uint8_t *parent,
             int64_t now)
{
	sqlite3_stmt *s = stmt(st, T_TOK_INSERT);

	if (s != NULL) {
		sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, family);
		if (parent != NULL)
			sqlite3_bind_blob(s, 3, parent, 32, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, now);
	}
	return ag_store_exec(st, s, "store refresh token");
}

int
ag_store_refresh_create(struct ag_store *st, const char *subject, const char *sid,
                        const uint8_t hash[32], int64_t now, int64_t expires, int64_t *family)
{
	sqlite3_stmt *s;
	int r;

	*family = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(subject, AG_NAME_MAX) || (sid != NULL && !ag_store_bounded(sid, AG_SID_MAX)))
		return AG_ERR_INVAL;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, T_FAM_CREATE)) != NULL) {
		sqlite3_bind_text(s, 1, subject, -1, SQLITE_STATIC);
		if (sid != NULL)
			sqlite3_bind_text(s, 2, sid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, now);
		sqlite3_bind_int64(s, 4, expires);
		sqlite3_bind_blob(s, 5, hash, 32, SQLITE_STATIC);
	}
	if ((r = ag_store_exec(st, s, "create refresh family")) != 0)
		goto out;
	*family = sqlite3_last_insert_rowid(st->db);
	if ((r = insert_token(st, hash, *family, NULL, now)) != 0 ||
	    (r = ag_store_token_purge(st, now, 16, NULL)) != 0)
		goto out;
	return ag_store_commit(st);
out:
	*family = 0;
	ag_store_rollback(st);
	return r;
}

static int
blob_is(sqlite3_stmt *s, int col, const uint8_t *want)
{
	return sqlite3_column_type(s, col) == SQLITE_BLOB && sqlite3_column_bytes(s, col) == 32 &&
	       memcmp(sqlite3_column_blob(s, col), want, 32) == 0;
}

static int
revoke_family(struct ag_store *st, int64_t family)
{
	sqlite3_stmt *s = stmt(st, T_FAM_REVOKE_ID);

	if (s != NULL)
		sqlite3_bind_int64(s, 1, family);
	return ag_store_exec(st, s, "revoke refresh family");
}

int
ag_store_refresh_redeem(struct ag_store *st, const uint8_t hash[32], const uint8_t new_hash[32],
                        int64_t now, int64_t grace,
                        int (*sid_hash)(const char *sid, uint8_t out[32]),
                        enum ag_refresh_outcome *outcome, struct ag_refresh_info *info)
{
	sqlite3_stmt *s;
	uint8_t current[32];
	int64_t used_at, revoked, current_used_at, created;
	int is_current, current_is_child, current_unused, rc, r;
	const unsigned char *txt;

	*outcome = AG_REFRESH_UNKNOWN;
	memset(info, 0, sizeof(*info));
	st->errmsg[0] = '\0';
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, T_TOK_GET)) == NULL) {
		r = ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
		goto out;
	}
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		ag_store_rollback(st);
		return 0; /* unknown: nothing to write */
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		r = ag_store_fail(st, rc, "read refresh token");
		goto out;
	}
	info->family = sqlite3_column_int64(s, 0);
	used_at = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1);
	if ((txt = sqlite3_column_text(s, 2)) != NULL)
		ag_strlcpy(info->subject, (const char *)txt, sizeof(info->subject));
	if ((txt = sqlite3_column_text(s, 3)) != NULL)
		ag_strlcpy(info->sid, (const char *)txt, sizeof(info->sid));
	info->expires = sqlite3_column_int64(s, 4);
	revoked = sqlite3_column_int64(s, 5);
	is_current = blob_is(s, 6, hash);
	memset(current, 0, sizeof(current));
	if (sqlite3_column_type(s, 6) == SQLITE_BLOB && sqlite3_column_bytes(s, 6) == 32)
		memcpy(current, sqlite3_column_blob(s, 6), 32);
	current_used_at = sqlite3_column_type(s, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 7);
	current_unused = current_used_at < 0;
	current_is_child = blob_is(s, 8, hash);
	created = sqlite3_column_int64(s, 9);
	sqlite3_reset(s);

	if (revoked) {
		*outcome = AG_REFRESH_REVOKED;
		goto readonly;
	}
	if (info->expires <= now) {
		*outcome = AG_REFRESH_EXPIRED;
		goto readonly;
	}
	if (created > now + AG_REFRESH_MAX_SKEW) {
		*outcome = AG_REFRESH_NOT_YET_VALID;
		goto readonly;
	}
	if (used_at >= 0) {
		/* Used before.  Only the newest token's parent, within the grace
		 * period, and only while that newest token was never used, may
		 * be retried: the client lost the response.  Anything else is
		 * a copy being replayed: end the whole family. */
		if (!is_current && current_is_child && current_unused && grace > 0 &&
		    now - used_at <= grace) {
			if ((s = stmt(st, T_TOK_DELETE)) != NULL)
				sqlite3_bind_blob(s, 1, current, 32, SQLITE_STATIC);
			if ((r = ag_store_exec(st, s, "drop lost refresh token")) != 0 ||
			    (r = insert_token(st, new_hash, info->family, hash, now)) != 0)
				goto out;
			*outcome = AG_REFRESH_RETRIED;
		} else {
			uint8_t sh[32];

			/* Theft: the family and its session end in this one
			 * transaction, so that no crash leaves the session alive. */
			if ((r = revoke_family(st, info->family)) != 0 ||
			    (info->sid[0] != '\0' && sid_hash != NULL && sid_hash(info->sid, sh) == 0 &&
			     (r = ag_store_session_drop(st, sh, info->sid)) != 0))
				goto out;
			*outcome = AG_REFRESH_REUSED;
			return ag_store_commit(st);
		}
	} else {
		if ((s = stmt(st, T_TOK_USE)) != NULL) {
			sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, now);
		}
		if ((r = ag_store_exec(st, s, "use refresh token")) != 0 ||
		    (r = insert_token(st, new_hash, info->family, hash, now)) != 0)
			goto out;
		*outcome = AG_REFRESH_OK;
	}
	if ((s = stmt(st, T_FAM_SET_CURRENT)) != NULL) {
		sqlite3_bind_int64(s, 1, info->family);
		sqlite3_bind_blob(s, 2, new_hash, 32, SQLITE_STATIC);
	}
	if ((r = ag_store_exec(st, s, "rotate refresh token")) != 0)
		goto out;
	return ag_store_commit(st);
readonly:
	ag_store_rollback(st);
	return 0;
out:
	*outcome = AG_REFRESH_UNKNOWN;
	ag_store_rollback(st);
	return r;
}

int
ag_store_refresh_revoke(struct ag_store *st, int64_t family, const uint8_t *hash,
                        const char *subject, const char *sid, int64_t *n)
{
	sqlite3_stmt *s;
	int selectors = (family != 0) + (hash != NULL) + (subject != NULL) + (sid != NULL);
	int rc, r;

	*n = 0;
	st->errmsg[0] = '\0';
	if (selectors != 1 || (subject != NULL && !ag_store_bounded(subject, AG_NAME_MAX)) ||
	    (sid != NULL && !ag_store_bounded(sid, AG_SID_MAX)))
		return AG_ERR_INVAL;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if (hash != NULL) {
		if ((s = stmt(st, T_TOK_GET)) == NULL) {
			r = ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
			goto out;
		}
		sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			family = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			r = ag_store_fail(st, rc, "read refresh token");
			goto out;
		}
		if (family == 0) {
			ag_store_rollback(st);
			return 0;
		}
	}
	if (family != 0) {
		if ((r = revoke_family(st, family)) != 0)
			goto out;
		*n = sqlite3_changes(st->db);
	} else if ((r = ag_store_refresh_revoke_by(st, subject, sid, n)) != 0) {
		goto out;
	}
	return ag_store_commit(st);
out:
	ag_store_rollback(st);
	return r;
}

int
ag_store_refresh_revoke_by(struct ag_store *st, const char *subject, const char *sid, int64_t *n)
{
	sqlite3_stmt *s = stmt(st, subject != NULL ? T_FAM_REVOKE_SUBJECT : T_FAM_REVOKE_SID);
	int r;

	if (s != NULL)
		sqlite3_bind_text(s, 1, subject != NULL ? subject : sid, -1, SQLITE_TRANSIENT);
	if ((r = ag_store_exec(st, s, "revoke refresh families")) == 0)
		*n = sqlite3_changes(st->db);
	return r;
}

int
ag_store_token_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	sqlite3_stmt *s;
	int i, r;
	static const unsigned which[] = { T_JTI_PURGE, T_FAM_PURGE };

	for (i = 0; i < 2; i++) {
		if ((s = stmt(st, which[i])) != NULL) {
			sqlite3_bind_int64(s, 1, now);
			sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
		}
		if ((r = ag_store_exec(st, s, "purge tokens")) != 0)
			return r;
		if (deleted != NULL)
			*deleted += sqlite3_changes(st->db);
	}
	return 0;
}
