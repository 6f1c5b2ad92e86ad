/* The SQLite back end (db.h): one state file shared by every process on
 * a host, in WAL mode.  A write transaction is BEGIN IMMEDIATE: one
 * writer at a time, queued by the busy handler below, so every
 * read-modify-write of the store is serial and never needs a retry.
 *
 * The file is checked before it is opened (owner, mode, every directory
 * above it), trusted only as far as that goes (no triggers, views or
 * schema tricks), migrated forward when older, and refused when newer or
 * damaged. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "error.h"
#include "safefile.h"
#include "sqlite_schema.h"
#include "store/db.h"
#include "util.h"

/* WAL frames (pages) after which a commit checkpoints and empties the WAL
 * (see wal_hook; SQLite's auto-checkpoint default is 1000).  About 260 KB:
 * a process that opens the state alone replays at most that much. */
#define WAL_CHECKPOINT_PAGES 64

/* PRAGMA journal_size_limit, in bytes: the size a long-lived process trims
 * the WAL file to when it rewinds it (SQLite keeps the file's high-water
 * mark otherwise). */
#define WAL_SIZE_LIMIT (1024 * 1024)

/* How long opening waits for another process that is rebuilding the WAL
 * index (a read never waits for a writer): as long as recording a failure
 * may, since the caller may be about to record one (store.h). */
#define OPEN_WAIT_MS 15000

struct ag_db_stmt {
	sqlite3_stmt *s;
	struct ag_db *db;
};

struct ag_db {
	sqlite3 *db;
	int64_t wait_ms;         /* the busy handler's limit for this wait */
	int64_t busy_since_ns;   /* when the current wait started */
	uint32_t jitter;         /* per-process state for the wait's naps */
	int ckpt_nowait;         /* inside wal_hook: never wait */
	int version;
	int64_t changes;
	struct ag_db_stmt stmt[AG_DB_SLOTS];
	char path[PATH_MAX];
	char errmsg[AG_ERRBUF];
};

static int64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits for the write lock in short, jittered naps up to busy_timeout.
 * SQLite's own handler backs off to 100 ms naps, so under a burst of
 * writers (a password spray, many web workers) a waiter can keep losing
 * the lock to newcomers until it times out; short naps keep the wait
 * close to first come, first served. */
static int
busy_handler(void *ctx, int count)
{
	struct ag_db *st = ctx;
	struct timespec nap;
	int64_t now = monotonic_ns();

	if (st->ckpt_nowait)
		return 0; /* a checkpoint that would rather be skipped than wait */
	if (count == 0)
		st->busy_since_ns = now;
	if (now - st->busy_since_ns >= st->wait_ms * 1000000)
		return 0;
	st->jitter = st->jitter * 1103515245u + 12345u;
	nap.tv_sec = 0;
	nap.tv_nsec = 200000 + (long)((st->jitter >> 8) % 1000000); /* 0.2 to 1.2 ms */
	nanosleep(&nap, NULL);
	return 1;
}

/* Keeps the WAL short whatever mix of processes shares the state: SQLite
 * calls this after every commit, with the number of frames in the WAL.
 *
 * SQLite's own auto-checkpoint (PASSIVE) copies the WAL into the database
 * but never rewinds it; the next writer does, and only a writer that
 * shares the wal-index (the -shm file) with the checkpointer.  A process
 * that opens the state while no other has it open rebuilds the wal-index
 * from the WAL file and takes every frame in it for not yet copied.  So a
 * sequence of one-shot processes (a web backend's `authguard-token guard`
 * calls, logins on a quiet host) appended to the WAL forever, each one
 * replaying and copying all of it again: 88 MB and 7 times the CPU per
 * call after 3,000 calls.  A RESTART checkpoint would rewind only the
 * wal-index, which dies with the process; TRUNCATE empties the file, so
 * the next process has nothing to replay.
 *
 * Past WAL_CHECKPOINT_PAGES frames, then, a PASSIVE checkpoint first copies
 * the frames without taking the write lock (other writers go on), and a
 * TRUNCATE checkpoint then empties the file with the busy handler off
 * (ckpt_nowait).  It needs the write lock and no reader in the WAL; when
 * another process holds either, or runs a checkpoint itself, it gives up
 * at once and a later commit tries again.  Skipping costs nothing lasting
 * (while processes overlap they share the wal-index, and the next writer
 * rewinds the WAL; journal_size_limit then trims the file), whereas waiting
 * would make this process, maybe a login, wait for others.  Holding the
 * write lock, it copies only what was committed between the two calls and
 * truncates, so no writer waits on a long checkpoint.  Whatever happens,
 * the commit that called the hook stands: it returns SQLITE_OK. */
static int
wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct ag_db *st = ctx;
	int log = 0, copied = 0;

	if (frames < WAL_CHECKPOINT_PAGES)
		return SQLITE_OK;
	if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) !=
	            SQLITE_OK ||
	    copied < log)
		return SQLITE_OK; /* a reader holds an older snapshot: later */
	st->ckpt_nowait = 1;
	(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	st->ckpt_nowait = 0;
	return SQLITE_OK;
}

static int
map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return AG_ERR_BUSY;
	case SQLITE_NOMEM:
		return AG_ERR_NOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
		return AG_ERR_CORRUPT;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_PERM:
		return AG_ERR_IO;
	default:
		return AG_ERR_STORE;
	}
}

/* Records "PATH: what: SQLite's message" and returns the AG_ERR_* code for
 * the SQLite result rc. */
static int
fail(struct ag_db *st, int rc, const char *what)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s: %s", st->path, what,
	         st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	return map_rc(rc);
}

/* Records SQLite's message alone (the store adds where and what). */
static int
bare(struct ag_db *st, int rc)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s",
	         st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	return map_rc(rc);
}

/* Runs one statement of ours without parameters or rows: during open the
 * message is whole (it goes to the caller as it is), afterwards bare. */
static int
run(struct ag_db *st, const char *sql, const char *what)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	return st->version != 0 ? bare(st, rc) : fail(st, rc, what);
}

/* ------------------------------------------------------------ statements */

static struct ag_db_stmt *
sq_stmt(struct ag_db *st, unsigned slot, const struct ag_sql *sql, int *errp)
{
	struct ag_db_stmt *s;
	int rc;

	*errp = 0;
	if (slot >= AG_DB_SLOTS) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: statement slot out of range", st->path);
		*errp = AG_ERR_INVAL;
		return NULL;
	}
	s = &st->stmt[slot];
	if (s->s == NULL) {
		rc = sqlite3_prepare_v3(st->db, sql->text, -1, SQLITE_PREPARE_PERSISTENT, &s->s, NULL);
		if (rc != SQLITE_OK) {
			*errp = bare(st, rc);
			s->s = NULL;
			return NULL;
		}
		s->db = st;
	} else {
		sqlite3_reset(s->s);
		sqlite3_clear_bindings(s->s);
	}
	return s;
}

static void
sq_bind_int64(struct ag_db_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(s->s, i, v);
}

static void
sq_bind_text(struct ag_db_stmt *s, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(s->s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s->s, i);
}

static void
sq_bind_blob(struct ag_db_stmt *s, int i, const void *p, size_t n)
{
	sqlite3_bind_blob(s->s, i, p, (int)n, SQLITE_STATIC);
}

static int
sq_step(struct ag_db_stmt *s)
{
	int rc = sqlite3_step(s->s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE) {
		s->db->changes = sqlite3_changes64(s->db->db);
		sqlite3_reset(s->s); /* ends the statement's read of the file */
		return 0;
	}
	rc = bare(s->db, rc);
	sqlite3_reset(s->s);
	return rc;
}

static void
sq_reset(struct ag_db_stmt *s)
{
	sqlite3_reset(s->s);
}

static int
sq_col_is_null(struct ag_db_stmt *s, int i)
{
	return sqlite3_column_type(s->s, i) == SQLITE_NULL;
}

static int64_t
sq_col_int64(struct ag_db_stmt *s, int i)
{
	return sqlite3_column_int64(s->s, i);
}

static const char *
sq_col_text(struct ag_db_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s->s, i);
}

static const uint8_t *
sq_col_blob(struct ag_db_stmt *s, int i, size_t *n)
{
	const void *p;

	*n = 0;
	if (sqlite3_column_type(s->s, i) != SQLITE_BLOB)
		return NULL;
	p = sqlite3_column_blob(s->s, i);
	*n = (size_t)sqlite3_column_bytes(s->s, i);
	return p;
}

static int64_t
sq_changes(struct ag_db *st)
{
	return st->changes;
}

static const char *
sq_where(const struct ag_db *st)
{
	return st->path;
}

static const char *
sq_detail(const struct ag_db *st)
{
	return st->errmsg;
}

/* ---------------------------------------------------------- transactions */

static int
sq_begin(struct ag_db *st, int write, int64_t wait_ms)
{
	int r;

	st->errmsg[0] = '\0';
	st->wait_ms = wait_ms;
	r = run(st, write ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction");
	return r;
}

static int
sq_commit(struct ag_db *st)
{
	int r = run(st, "COMMIT", "commit");

	if (r != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static void
sq_rollback(struct ag_db *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ open */

static int
check_location(struct ag_db *st, const char *path, int flags, char err[AG_ERRBUF])
{
	char dir[PATH_MAX];
	const char *reason = NULL;
	struct stat sb;
	char *slash;
	int fd, r;

	if (path[0] != '/') {
		snprintf(err, AG_ERRBUF, "state file %s: not an absolute path", path);
		return AG_ERR_CONFIG;
	}
	ag_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((r = ag_safe_check_parents(dir, &reason)) != 0 ||
	    (r = ag_safe_check_dir(dir, AG_SAFE_GROUP_WRITE, &reason)) != 0) {
		snprintf(err, AG_ERRBUF, "state directory %s %s%s", dir, reason,
		         r == AG_ERR_NOTFOUND ? " (run authguard-ctl init)" : "");
		return r;
	}
	/* An O_PATH descriptor: the file is looked at, not opened.  Closing
	 * a real descriptor of the state file would drop every POSIX lock
	 * this process holds on it -- those of the connections it already
	 * has (authguardd keeps several): another process would then think
	 * it is the last connection, checkpoint and delete the WAL and the
	 * -shm index under them.  An O_PATH descriptor holds no lock and
	 * drops none when closed (fs/open.c), and O_NOFOLLOW gives the link
	 * itself rather than ELOOP. */
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && (flags & AG_DB_CREATE))
		return 0; /* sqlite creates it; init fixes the mode */
	if (fd < 0) {
		r = errno == ENOENT ? AG_ERR_NOTFOUND : AG_ERR_IO;
		snprintf(err, AG_ERRBUF, "state file %s: %s%s", path, strerror(errno),
		         errno == ENOENT ? " (run authguard-ctl init)" : "");
		return r;
	}
	r = fstat(fd, &sb);
	close(fd);
	if (r != 0) {
		snprintf(err, AG_ERRBUF, "state file %s: cannot be examined", path);
		return AG_ERR_IO;
	}
	if (S_ISLNK(sb.st_mode)) {
		snprintf(err, AG_ERRBUF, "state file %s: is a symlink", path);
		return AG_ERR_UNSAFE;
	}
	/* What opening it for writing would have said (SQLite would fall
	 * back to reading only): no permission, a read-only file system. */
	if (S_ISREG(sb.st_mode) && faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) != 0) {
		r = errno == ENOENT ? AG_ERR_NOTFOUND : AG_ERR_IO;
		snprintf(err, AG_ERRBUF, "state file %s: %s", path, strerror(errno));
		return r;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, AG_ERRBUF, "state file %s: is not a regular file", path);
		return AG_ERR_UNSAFE;
	}
	if ((r = ag_safe_check_stat(&sb, AG_SAFE_GROUP_WRITE, &reason)) != 0) {
		snprintf(err, AG_ERRBUF, "state file %s %s", path, reason);
		return r;
	}
	(void)st;
	return 0;
}

static int
read_header(struct ag_db *st, int *version, int *appid)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT * FROM pragma_user_version, pragma_application_id",
	                        -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, "read schema version");
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		int r = fail(st, rc, "read schema version");
		sqlite3_finalize(s);
		return r;
	}
	*version = sqlite3_column_int(s, 0);
	*appid = sqlite3_column_int(s, 1);
	sqlite3_finalize(s);
	return 0;
}

/* Every table of the schema must be there: a damaged file fails here, at
 * open, rather than passing a check that happens not to touch the missing
 * table. */
static int
check_tables(struct ag_db *st)
{
	sqlite3_stmt *s = NULL;
	int rc, i, r = 0;

	rc = sqlite3_prepare_v2(st->db,
	                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
	                        -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, "read schema");
	for (i = 0; ag_schema_tables[i] != NULL && r == 0; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, ag_schema_tables[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE) {
			snprintf(st->errmsg, sizeof(st->errmsg), "%s: damaged: table %s is missing",
			         st->path, ag_schema_tables[i]);
			r = AG_ERR_CORRUPT;
		} else if (rc != SQLITE_ROW) {
			r = fail(st, rc, "read schema");
		}
	}
	sqlite3_finalize(s);
	return r;
}

/* A file without our header may be initialised only when it holds nothing:
 * never take over another program's database. */
static int
check_empty(struct ag_db *st)
{
	sqlite3_stmt *s = NULL;
	int rc, n = -1;

	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (n < 0)
		return fail(st, rc, "read schema");
	if (n > 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
		         "%s: not an authguard state file (it holds other tables)", st->path);
		return AG_ERR_CORRUPT;
	}
	return 0;
}

static int
migrate(struct ag_db *st)
{
	char *msg = NULL;
	int v = 0, appid = 0, rc, r;

	st->wait_ms = OPEN_WAIT_MS;
	if ((r = run(st, "BEGIN IMMEDIATE", "begin transaction")) != 0)
		return r;
	/* Re-read inside the lock: another process may have migrated. */
	if ((r = read_header(st, &v, &appid)) != 0) {
		sq_rollback(st);
		return r;
	}
	if (v >= ag_schema_latest()) {
		sq_rollback(st);
		return 0;
	}
	rc = ag_schema_migrate(st->db, v, &msg);
	if (rc != SQLITE_OK) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: migrate schema %d -> %d: %s",
		         st->path, v, ag_schema_latest(), msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sq_rollback(st);
		return map_rc(rc);
	}
	return sq_commit(st);
}

static void
sq_close(struct ag_db *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < AG_DB_SLOTS; i++)
		sqlite3_finalize(st->stmt[i].s);
	sqlite3_close_v2(st->db);
	free(st);
}

static int
sq_open(const struct ag_config *cfg, int flags, struct ag_db **dbp, char err[AG_ERRBUF])
{
	struct ag_db *st = NULL;
	char sql[160];
	int version = 0, appid = 0, rc, r, oflags;

	*dbp = NULL;
	err[0] = '\0';
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, AG_ERRBUF, "state file: out of memory");
		return AG_ERR_NOMEM;
	}
	if (ag_strlcpy(st->path, cfg->state_file, sizeof(st->path)) != 0) {
		snprintf(err, AG_ERRBUF, "state file path too long");
		r = AG_ERR_CONFIG;
		goto out;
	}
	if ((r = check_location(st, st->path, flags, err)) != 0)
		goto out;

	oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX |
	         SQLITE_OPEN_EXRESCODE;
	if (flags & AG_DB_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(st->path, &st->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		r = fail(st, rc, "open");
		goto report;
	}
	/* The file is trusted only as far as its permissions go: no schema
	 * tricks (triggers calling functions), no writes to sqlite_master. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	/* Each login is a short-lived process, usually the only connection:
	 * without these, every close would checkpoint, fsync and delete the
	 * WAL, costing more than the login's own transactions.  wal_hook
	 * checkpoints and empties the WAL once it has grown past
	 * WAL_CHECKPOINT_PAGES instead.  A WAL file that is kept, never
	 * deleted, also keeps the group and mode authguard-ctl init gave it. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	{
		int persist = 1;

		sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	}
	sqlite3_extended_result_codes(st->db, 1);
	st->wait_ms = OPEN_WAIT_MS;
	st->jitter = (uint32_t)getpid() ^ (uint32_t)monotonic_ns();
	sqlite3_busy_handler(st->db, busy_handler, st);
	/* synchronous: FULL syncs the WAL at every commit, NORMAL only at
	 * checkpoints (authguard.conf(5), sync). */
	snprintf(sql, sizeof(sql),
	         "PRAGMA foreign_keys = ON; PRAGMA synchronous = %s;"
	         " PRAGMA journal_size_limit = %d;",
	         cfg->sync == AG_SYNC_FULL ? "FULL" : "NORMAL", WAL_SIZE_LIMIT);
	if ((r = run(st, sql, "configure")) != 0)
		goto report;
	/* Replaces SQLite's auto-checkpoint (no PRAGMA wal_autocheckpoint
	 * after this point: it would put the default back). */
	sqlite3_wal_hook(st->db, wal_hook, st);
	if ((r = read_header(st, &version, &appid)) != 0)
		goto report;
	if (version == 0 && appid == 0 && !(flags & AG_DB_CREATE)) {
		snprintf(st->errmsg, sizeof(st->errmsg),
		         "%s: not initialised (run authguard-ctl init)", st->path);
		r = AG_ERR_CORRUPT;
		goto report;
	}
	if (version == 0 && appid == 0 && (r = check_empty(st)) != 0)
		goto report;
	if (appid != AG_APPLICATION_ID && !(version == 0 && appid == 0)) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: not an authguard state file",
		         st->path);
		r = AG_ERR_CORRUPT;
		goto report;
	}
	if (version > ag_schema_latest()) {
		snprintf(st->errmsg, sizeof(st->errmsg),
		         "%s: schema version %d is newer than this build's %d", st->path,
		         version, ag_schema_latest());
		r = AG_ERR_SCHEMA;
		goto report;
	}
	if (version < ag_schema_latest()) {
		if ((r = migrate(st)) != 0)
			goto report;
		/* journal_mode cannot change inside a transaction. */
		if (version == 0 && (r = run(st, "PRAGMA journal_mode = WAL", "enable WAL")) != 0)
			goto report;
		version = ag_schema_latest();
	}
	if ((r = check_tables(st)) != 0)
		goto report;
	st->version = version;
	*dbp = st;
	st = NULL;
	r = 0;
	goto out;
report:
	snprintf(err, AG_ERRBUF, "%s", st->errmsg[0] != '\0' ? st->errmsg : ag_strerror(r));
out:
	sq_close(st);
	return r;
}

/* PRAGMA quick_check: every page and index of the file is readable. */
static int
sq_check(struct ag_db *st)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *txt;
	int rc, ok = 0;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return bare(st, rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && (txt = sqlite3_column_text(s, 0)) != NULL &&
	    strcmp((const char *)txt, "ok") == 0)
		ok = 1;
	else if (rc == SQLITE_ROW)
		snprintf(st->errmsg, sizeof(st->errmsg), "integrity check failed");
	else
		bare(st, rc);
	sqlite3_finalize(s);
	return ok ? 0 : AG_ERR_CORRUPT;
}

static int
sq_schema_version(struct ag_db *st)
{
	return st->version;
}

const struct ag_db_engine ag_db_sqlite = {
	.abi = AG_DB_ABI,
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.stmt = sq_stmt,
	.bind_int64 = sq_bind_int64,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.step = sq_step,
	.reset = sq_reset,
	.col_is_null = sq_col_is_null,
	.col_int64 = sq_col_int64,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.changes = sq_changes,
	.where = sq_where,
	.detail = sq_detail,
	.check = sq_check,
	.schema_version = sq_schema_version,
	.schema_latest = ag_schema_latest,
};
