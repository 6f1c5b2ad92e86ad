/* Copying a whole store into another (store.h, ag_store_copy): how a
 * host's SQLite state moves to the PostgreSQL store of a fleet without
 * losing a lock, an enrollment or a session.
 *
 * Rows travel through the engine interface (db.h), column by column, as
 * the engines store them: text as text (the PostgreSQL engine escapes
 * what is not UTF-8), blobs as bytes, NULL as NULL.  Row ids are kept, so
 * references between tables need no translation, and the destination's
 * id generators are then moved past the highest id copied.  Every value
 * is checked against the bound the store's own operations use before it
 * is written: a damaged source stops the copy with nothing written. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "store_int.h"
#include "util.h"

/* Column kinds: i integer, t text, b blob; upper case: may be NULL. */
struct copy_table {
	const char *name;
	const char *kinds;
	struct ag_sql select, insert;
};

/* A table: its name, its column kinds, the columns, the order read. */
#define COPY(name, kinds, cols, order, params) \
	{ name, kinds, { .text = "SELECT " cols " FROM " name " ORDER BY " order }, \
	  { .text = "INSERT INTO " name " (" cols ") VALUES (" params ")" } }

/* In the order references need: a row's parent is copied before it. */
static const struct copy_table tables[AG_STORE_TABLES] = {
	COPY("subject", "iitii", "id, kind, name, locked_until, expires", "id",
	     "?1, ?2, ?3, ?4, ?5"),
	COPY("failure", "iiiiiT", "id, subject_id, attempt, at, pending, source", "id",
	     "?1, ?2, ?3, ?4, ?5, ?6"),
	COPY("mfa", "tBiiBi", "account, secret, last_step, enrolled_at, pending, pending_expires",
	     "account", "?1, ?2, ?3, ?4, ?5, ?6"),
	COPY("backup_code", "tb", "account, hash", "account, hash", "?1, ?2"),
	COPY("revoked_jti", "ti", "jti, expires", "jti", "?1, ?2"),
	COPY("refresh_family", "ittTiiiB",
	     "id, subject, subject_key, sid, created, expires, revoked, current", "id",
	     "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"),
	COPY("refresh_token", "biBiI", "hash, family_id, parent, issued, used_at", "hash",
	     "?1, ?2, ?3, ?4, ?5"),
	COPY("web_session", "bttbTiiiii",
	     "id_hash, \"user\", user_key, fingerprint, clerk_sid, created, last_seen,"
	     " idle_expires, abs_expires, used_seq",
	     "id_hash", "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10"),
	COPY("pam_session", "itTTTitit",
	     "id, \"user\", service, tty, rhost, pid, boot_id, started, host", "id",
	     "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9"),
	COPY("webhook_msg", "ti", "id, expires", "id", "?1, ?2"),
};

/* Statement slots of the destination past the per-table ones. */
enum { SLOT_EMPTY = AG_STORE_TABLES, SLOT_DELETE = SLOT_EMPTY + 1,
       SLOT_IDS = SLOT_DELETE + AG_STORE_TABLES };

static const struct ag_sql q_empty = {
	.text = "SELECT CASE WHEN EXISTS (SELECT 1 FROM subject) OR EXISTS (SELECT 1 FROM failure)"
	" OR EXISTS (SELECT 1 FROM mfa) OR EXISTS (SELECT 1 FROM backup_code)"
	" OR EXISTS (SELECT 1 FROM revoked_jti) OR EXISTS (SELECT 1 FROM refresh_family)"
	" OR EXISTS (SELECT 1 FROM refresh_token) OR EXISTS (SELECT 1 FROM web_session)"
	" OR EXISTS (SELECT 1 FROM pam_session) OR EXISTS (SELECT 1 FROM webhook_msg)"
	" THEN 1 ELSE 0 END"
};

static const struct ag_sql q_delete[AG_STORE_TABLES] = {
	{ .text = "DELETE FROM subject" },     { .text = "DELETE FROM failure" },
	{ .text = "DELETE FROM mfa" },         { .text = "DELETE FROM backup_code" },
	{ .text = "DELETE FROM revoked_jti" }, { .text = "DELETE FROM refresh_family" },
	{ .text = "DELETE FROM refresh_token" }, { .text = "DELETE FROM web_session" },
	{ .text = "DELETE FROM pam_session" }, { .text = "DELETE FROM webhook_msg" },
};

/* The tables whose ids a generator draws: SQLite takes the next rowid
 * past the highest by itself; PostgreSQL's identity sequences must be
 * told, or the next insert would draw an id that was copied.  setval()
 * is not undone by a rollback, which is harmless: it only skips ids. */
#define NEXT_ID(t) \
	{ .text = "SELECT 0", .pg = "SELECT setval(pg_get_serial_sequence('" t "', 'id')," \
	              " coalesce((SELECT max(id) FROM " t "), 0) + 1, false)" }
static const struct ag_sql q_ids[] = {
	NEXT_ID("subject"), NEXT_ID("failure"), NEXT_ID("refresh_family"), NEXT_ID("pam_session"),
};

/* Bounds of the values copied: those of the store's own operations. */
#define TEXT_MAX AG_NAME_MAX
#define BLOB_MAX AG_MFA_SEALED_MAX

struct copy {
	struct ag_store *from;
	int replace;
	struct ag_store_copied counts;
};

/* Records a failure of the source (its reason is in from's message) as
 * the copy's reason, and returns r. */
static int
source_fail(struct ag_store *to, struct ag_store *from, int r)
{
	snprintf(to->errmsg, sizeof(to->errmsg), "source %s", from->errmsg);
	return r;
}

static int
damaged(struct ag_store *to, struct ag_store *from, const struct copy_table *t, int col,
        const char *why)
{
	snprintf(to->errmsg, sizeof(to->errmsg), "source %s: table %s, column %d: %s",
	         from->e->where(from->db), t->name, col + 1, why);
	return AG_ERR_CORRUPT;
}

/* Binds column i of the source's current row to parameter i + 1 of the
 * destination's statement.  Text and blobs are not copied: the
 * destination runs its statement before the source moves on. */
static int
bind_column(struct ag_store *to, struct ag_store *from, const struct copy_table *t,
            struct ag_db_stmt *src, struct ag_db_stmt *dst, int i)
{
	char kind = t->kinds[i];
	int nullable = kind >= 'A' && kind <= 'Z';
	const uint8_t *b;
	const char *v;
	size_t n = 0;

	if (from->e->col_is_null(src, i)) {
		if (!nullable)
			return damaged(to, from, t, i, "NULL in a column that may not be");
		to->e->bind_text(dst, i + 1, NULL);
		return 0;
	}
	switch (kind) {
	case 'i':
	case 'I':
		to->e->bind_int64(dst, i + 1, from->e->col_int64(src, i));
		return 0;
	case 't':
	case 'T':
		v = from->e->col_text(src, i);
		if (v == NULL || strnlen(v, TEXT_MAX + 1) > TEXT_MAX)
			return damaged(to, from, t, i,
			               "text missing or longer than the store takes");
		to->e->bind_text(dst, i + 1, v);
		return 0;
	default:
		b = from->e->col_blob(src, i, &n);
		if (b == NULL || n == 0 || n > BLOB_MAX)
			return damaged(to, from, t, i,
			               "bytes missing or longer than the store takes");
		to->e->bind_blob(dst, i + 1, b, n);
		return 0;
	}
}

static int
copy_table(struct ag_store *to, struct copy *c, size_t k)
{
	const struct copy_table *t = &tables[k];
	struct ag_store *from = c->from;
	struct ag_db_stmt *src, *dst;
	int err = 0, r, i, ncols = (int)strlen(t->kinds);
	char what[64];

	snprintf(what, sizeof(what), "copy %s", t->name);
	if ((src = ag_st_stmt(from, AG_SLOT_COPY + (unsigned)k, &t->select, &err)) == NULL)
		return source_fail(to, from, err);
	while ((r = from->e->step(src)) == 1) {
		if ((dst = ag_st_stmt(to, AG_SLOT_COPY + (unsigned)k, &t->insert, &err)) == NULL) {
			r = err;
			goto out;
		}
		for (i = 0; i < ncols; i++)
			if ((r = bind_column(to, from, t, src, dst, i)) != 0)
				goto out;
		if ((r = ag_st_exec(to, dst, 0, what, NULL)) != 0)
			goto out;
		c->counts.rows[k]++;
	}
	if (r < 0) {
		ag_st_fail(from, r, what);
		r = source_fail(to, from, r);
	}
out:
	from->e->reset(src);
	return r;
}

static int
copy_body(struct ag_store *to, void *vctx)
{
	struct copy *c = vctx;
	struct ag_store *from = c->from;
	struct ag_db_stmt *s;
	size_t k;
	int err = 0, r, reading = 0;

	memset(&c->counts, 0, sizeof(c->counts));
	s = ag_st_stmt(to, AG_SLOT_COPY + SLOT_EMPTY, &q_empty, &err);
	if ((r = ag_st_row(to, s, err, "look for rows")) < 0)
		return r;
	if (r == 1 && to->e->col_int64(s, 0) != 0) {
		to->e->reset(s);
		if (!c->replace) {
			snprintf(to->errmsg, sizeof(to->errmsg),
			         "%s: destination already holds rows", to->e->where(to->db));
			return AG_ERR_EXISTS;
		}
		/* Children first, though deleting a parent would take them. */
		for (k = AG_STORE_TABLES; k-- > 0;) {
			s = ag_st_stmt(to, AG_SLOT_COPY + SLOT_DELETE + (unsigned)k, &q_delete[k],
			               &err);
			if ((r = ag_st_exec(to, s, err, "delete rows", NULL)) != 0)
				return r;
		}
	} else if (s != NULL) {
		to->e->reset(s);
	}

	/* One snapshot of the source for every table. */
	from->errmsg[0] = '\0';
	if ((r = from->e->begin(from->db, 0, from->busy_timeout_ms)) != 0) {
		ag_st_fail(from, r, "begin read");
		return source_fail(to, from, r);
	}
	reading = 1;
	for (k = 0; k < AG_STORE_TABLES; k++) {
		c->counts.table[k] = tables[k].name;
		if ((r = copy_table(to, c, k)) != 0)
			goto out;
	}
	c->counts.n = AG_STORE_TABLES;
	for (k = 0; k < AG_ARRAY_SIZE(q_ids); k++) {
		s = ag_st_stmt(to, AG_SLOT_COPY + SLOT_IDS + (unsigned)k, &q_ids[k], &err);
		if ((r = ag_st_exec(to, s, err, "move id generators", NULL)) != 0)
			goto out;
	}
	r = 0;
out:
	if (reading)
		from->e->rollback(from->db); /* nothing was written there */
	return r;
}

int
ag_store_copy(struct ag_store *from, struct ag_store *to, int replace,
              struct ag_store_copied *out)
{
	struct copy c = { .from = from, .replace = replace };
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	to->errmsg[0] = '\0';
	if (from == to) {
		snprintf(to->errmsg, sizeof(to->errmsg), "a store cannot be copied into itself");
		return AG_ERR_INVAL;
	}
	if (from->e->schema_version(from->db) != from->e->schema_latest() ||
	    to->e->schema_version(to->db) != to->e->schema_latest()) {
		snprintf(to->errmsg, sizeof(to->errmsg),
		         "both stores must have this build's schema version");
		return AG_ERR_SCHEMA;
	}
	if ((r = ag_txn(to, AG_WAIT_NORMAL, copy_body, &c)) != 0)
		return r;
	if (out != NULL)
		*out = c.counts;
	return 0;
}
