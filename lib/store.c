/* SQLite implementation of store.h.  Statements are prepared on first use
 * and kept for the life of the handle, so a process only pays for what it
 * runs. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "error.h"
#include "safefile.h"
#include "schema.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_SUBJ_GET, S_SUBJ_INS, S_SUBJ_SET, S_SUBJ_DEL, S_SUBJ_DEL_ID, S_SUBJ_PURGE,
	S_SUBJ_LIST,
	S_FAIL_STATS, S_FAIL_PRUNE, S_FAIL_CLEAR, S_FAIL_INS, S_FAIL_SETTLE,
	S_FAIL_REFUND, S_FAIL_LAST_SOURCE, S_FAIL_COUNT_OTHER, S_FAIL_OLDEST_PENDING,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SUBJ_GET] = "SELECT id, locked_until FROM subject WHERE kind = ?1 AND name = ?2",
	[S_SUBJ_INS] = "INSERT INTO subject (kind, name, locked_until, expires) VALUES (?1, ?2, 0, ?3)",
	[S_SUBJ_SET] = "UPDATE subject SET locked_until = ?2, expires = ?3 WHERE id = ?1",
	[S_SUBJ_DEL] = "DELETE FROM subject WHERE kind = ?1 AND name = ?2",
	[S_SUBJ_DEL_ID] = "DELETE FROM subject WHERE id = ?1",
	[S_SUBJ_PURGE] = "DELETE FROM subject WHERE id IN "
	                 "(SELECT id FROM subject WHERE expires < ?1 ORDER BY expires LIMIT ?2)",
	/* Current locks first, then the most recently active: however
	 * many names a spray adds, a limited list still shows every lock. */
	[S_SUBJ_LIST] = "SELECT s.id, s.kind, s.name, s.locked_until FROM subject s "
	                "ORDER BY s.locked_until > ?1 DESC, s.expires DESC, s.id DESC",
	[S_FAIL_STATS] = "SELECT count(*), coalesce(sum(pending), 0), coalesce(max(at), 0),"
	                 " coalesce(max(CASE WHEN pending = 0 THEN at END), 0),"
	                 " coalesce(min(at), 0)"
	                 " FROM failure WHERE subject_id = ?1 AND at > ?2",
	[S_FAIL_PRUNE] = "DELETE FROM failure WHERE subject_id = ?1 AND at <= ?2",
	[S_FAIL_CLEAR] = "DELETE FROM failure WHERE subject_id = ?1",
	[S_FAIL_INS] = "INSERT INTO failure (subject_id, attempt, at, pending, source)"
	               " VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_FAIL_SETTLE] = "UPDATE failure SET pending = 0, at = ?3"
	                  " WHERE subject_id = ?1 AND attempt = ?2 AND pending = 1",
	[S_FAIL_REFUND] = "DELETE FROM failure WHERE subject_id = ?1 AND attempt = ?2 AND pending = 1",
	[S_FAIL_OLDEST_PENDING] = "SELECT attempt FROM failure WHERE subject_id = ?1 AND pending = 1"
	                          " ORDER BY at, id LIMIT 1",
	[S_FAIL_COUNT_OTHER] = "SELECT count(*) FROM failure WHERE subject_id = ?1"
	                       " AND NOT (attempt = ?2 AND pending = 1)",
	[S_FAIL_LAST_SOURCE] = "SELECT source FROM failure WHERE subject_id = ?1"
	                       " ORDER BY at DESC, id DESC LIMIT 1",
};


/* Opportunistic clean-up per write: bounded, so no single login pays for
 * a backlog, yet a spray of random names cannot outgrow it. */
#define PURGE_PER_WRITE 16

/* WAL frames (pages) after which a commit checkpoints and empties the WAL
 * (see wal_hook; SQLite's auto-checkpoint default is 1000).  About 260 KB:
 * a process that opens the state alone replays at most that much. */
#define WAL_CHECKPOINT_PAGES 64

/* PRAGMA journal_size_limit, in bytes: the size a long-lived process trims
 * the WAL file to when it rewinds it (SQLite keeps the file's high-water
 * mark otherwise). */
#define WAL_SIZE_LIMIT (1024 * 1024)

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
	struct ag_store *st = ctx;
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
	struct ag_store *st = ctx;
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

int
ag_store_fail(struct ag_store *st, int rc, const char *what)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s: %s", st->path, what,
	         st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	return map_rc(rc);
}

const char *
ag_store_errmsg(const struct ag_store *store)
{
	return store != NULL ? store->errmsg : "";
}

sqlite3_stmt *
ag_store_prepare(struct ag_store *st, unsigned slot, const char *sql)
{
	if (slot >= AG_STMT_SLOTS)
		return NULL;
	if (st->stmt[slot] == NULL) {
		if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[slot],
		                       NULL) != SQLITE_OK)
			return NULL;
	} else {
		sqlite3_reset(st->stmt[slot]);
		sqlite3_clear_bindings(st->stmt[slot]);
	}
	return st->stmt[slot];
}

static sqlite3_stmt *
stmt(struct ag_store *st, enum stmt_id id)
{
	return ag_store_prepare(st, AG_STMT_CORE + (unsigned)id, stmt_sql[id]);
}

int
ag_store_exec(struct ag_store *st, sqlite3_stmt *s, const char *what)
{
	int rc;

	if (s == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), what);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return ag_store_fail(st, rc, what);
	return 0;
}

int
ag_store_begin(struct ag_store *st)
{
	st->errmsg[0] = '\0';
	return ag_store_exec(st, stmt(st, S_BEGIN), "begin transaction");
}

/* The wait for what must not be given up lightly (store.h,
 * AG_STORE_RECORD_WAIT_MS). */
static int64_t
record_wait_ms(const struct ag_store *st)
{
	return st->busy_timeout_ms > AG_STORE_RECORD_WAIT_MS ? st->busy_timeout_ms
	                                                      : AG_STORE_RECORD_WAIT_MS;
}

int
ag_store_begin_record(struct ag_store *st)
{
	int r;

	st->wait_ms = record_wait_ms(st);
	r = ag_store_begin(st);
	st->wait_ms = st->busy_timeout_ms;
	return r;
}

int
ag_store_commit(struct ag_store *st)
{
	int r = ag_store_exec(st, stmt(st, S_COMMIT), "commit");

	if (r != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

void
ag_store_rollback(struct ag_store *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_stmt *s = stmt(st, S_ROLLBACK);

		if (s == NULL || sqlite3_step(s) != SQLITE_DONE)
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		if (s != NULL)
			sqlite3_reset(s);
	}
}

/* ------------------------------------------------------------------ open */

static int
check_location(struct ag_store *st, const char *path, int flags, char err[AG_ERRBUF])
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
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT && (flags & AG_STORE_CREATE))
		return 0; /* sqlite creates it; init fixes the mode */
	if (fd < 0) {
		r = errno == ENOENT ? AG_ERR_NOTFOUND : errno == ELOOP ? AG_ERR_UNSAFE : AG_ERR_IO;
		snprintf(err, AG_ERRBUF, "state file %s: %s%s", path,
		         errno == ELOOP ? "is a symlink" : strerror(errno),
		         errno == ENOENT ? " (run authguard-ctl init)" : "");
		return r;
	}
	r = fstat(fd, &sb);
	close(fd);
	if (r != 0) {
		snprintf(err, AG_ERRBUF, "state file %s: cannot be examined", path);
		return AG_ERR_IO;
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
read_header(struct ag_store *st, int *version, int *appid)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT * FROM pragma_user_version, pragma_application_id",
	                        -1, &s, NULL);
	if (rc != SQLITE_OK)
		return ag_store_fail(st, rc, "read schema version");
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		int r = ag_store_fail(st, rc, "read schema version");
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
check_tables(struct ag_store *st)
{
	sqlite3_stmt *s = NULL;
	int rc, i, r = 0;

	rc = sqlite3_prepare_v2(st->db,
	                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
	                        -1, &s, NULL);
	if (rc != SQLITE_OK)
		return ag_store_fail(st, rc, "read schema");
	for (i = 0; ag_schema_tables[i] != NULL && r == 0; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, ag_schema_tables[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE) {
			snprintf(st->errmsg, sizeof(st->errmsg), "%s: damaged: table %s is missing",
			         st->path, ag_schema_tables[i]);
			r = AG_ERR_CORRUPT;
		} else if (rc != SQLITE_ROW) {
			r = ag_store_fail(st, rc, "read schema");
		}
	}
	sqlite3_finalize(s);
	return r;
}

/* A file without our header may be initialised only when it holds nothing:
 * never take over another program's database. */
static int
check_empty(struct ag_store *st)
{
	sqlite3_stmt *s = NULL;
	int rc, n = -1;

	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (n < 0)
		return ag_store_fail(st, rc, "read schema");
	if (n > 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
		         "%s: not an authguard state file (it holds other tables)", st->path);
		return AG_ERR_CORRUPT;
	}
	return 0;
}

static int
migrate(struct ag_store *st, int from)
{
	char *msg = NULL;
	int rc, r;

	if ((r = ag_store_begin(st)) != 0)
		return r;
	/* Re-read inside the lock: another process may have migrated. */
	{
		int v = 0, appid = 0;

		if ((r = read_header(st, &v, &appid)) != 0) {
			ag_store_rollback(st);
			return r;
		}
		if (v >= ag_schema_latest()) {
			ag_store_rollback(st);
			return 0;
		}
		from = v;
	}
	if (from == 0) {
		rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, &msg);
		sqlite3_free(msg);
		msg = NULL;
		(void)rc; /* cannot change inside a transaction; done after commit */
	}
	rc = ag_schema_migrate(st->db, from, &msg);
	if (rc != SQLITE_OK) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: migrate schema %d -> %d: %s",
		         st->path, from, ag_schema_latest(), msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		ag_store_rollback(st);
		return map_rc(rc);
	}
	return ag_store_commit(st);
}

int
ag_store_open(const struct ag_config *cfg, int flags, struct ag_store **storep,
              char err[AG_ERRBUF])
{
	struct ag_store *st = NULL;
	char sql[160];
	int version = 0, appid = 0, rc, r, oflags;

	*storep = NULL;
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
	if (flags & AG_STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(st->path, &st->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		r = ag_store_fail(st, rc, "open");
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
	st->busy_timeout_ms = cfg->busy_timeout_ms;
	/* Opening reads the file, and a read waits only while another
	 * process rebuilds the WAL index or sets up the -shm file (never for
	 * a writer): short, and the caller may be about to record a failure,
	 * so opening waits as long as recording would. */
	st->wait_ms = record_wait_ms(st);
	st->jitter = (uint32_t)getpid() ^ (uint32_t)monotonic_ns();
	sqlite3_busy_handler(st->db, busy_handler, st);
	/* synchronous: FULL syncs the WAL at every commit, NORMAL only at
	 * checkpoints (authguard.conf(5), sync). */
	snprintf(sql, sizeof(sql),
	         "PRAGMA foreign_keys = ON; PRAGMA synchronous = %s;"
	         " PRAGMA journal_size_limit = %d;",
	         cfg->sync == AG_SYNC_FULL ? "FULL" : "NORMAL", WAL_SIZE_LIMIT);
	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		r = ag_store_fail(st, rc, "configure");
		goto report;
	}
	/* Replaces SQLite's auto-checkpoint (no PRAGMA wal_autocheckpoint
	 * after this point: it would put the default back). */
	sqlite3_wal_hook(st->db, wal_hook, st);
	if ((r = read_header(st, &version, &appid)) != 0)
		goto report;
	if (version == 0 && appid == 0 && !(flags & AG_STORE_CREATE)) {
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
		if ((r = migrate(st, version)) != 0)
			goto report;
		if (version == 0) {
			rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
			if (rc != SQLITE_OK) {
				r = ag_store_fail(st, rc, "enable WAL");
				goto report;
			}
		}
		version = ag_schema_latest();
	}
	if ((r = check_tables(st)) != 0)
		goto report;
	st->file_version = version;
	st->wait_ms = st->busy_timeout_ms;
	*storep = st;
	st = NULL;
	r = 0;
	goto out;
report:
	snprintf(err, AG_ERRBUF, "%s", st->errmsg[0] != '\0' ? st->errmsg : ag_strerror(r));
out:
	ag_store_close(st);
	return r;
}

void
ag_store_close(struct ag_store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < AG_STMT_SLOTS; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close_v2(st->db);
	free(st);
}

int
ag_store_synchronous(struct ag_store *st)
{
	sqlite3_stmt *s = NULL;
	int rc, v = -1;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA synchronous", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v >= 0 ? v : ag_store_fail(st, rc, "read synchronous");
}

int
ag_store_schema_version(void)
{
	return ag_schema_latest();
}

int
ag_store_file_version(struct ag_store *st)
{
	return st->file_version;
}

/* -------------------------------------------------------------- subjects */

/* Looks a subject up; with create, inserts it when missing.  *idp is 0
 * when it does not exist (and create is off). */
static int
subject_get(struct ag_store *st, const struct ag_subject_ref *ref, int create,
            int64_t expires, int64_t *idp, int64_t *locked_untilp)
{
	sqlite3_stmt *s = stmt(st, S_SUBJ_GET);
	int rc;

	*idp = 0;
	*locked_untilp = 0;
	if (s == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_int(s, 1, (int)ref->kind);
	sqlite3_bind_text(s, 2, ref->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*idp = sqlite3_column_int64(s, 0);
		*locked_untilp = sqlite3_column_int64(s, 1);
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return ag_store_fail(st, rc, "read subject");
	if (!create)
		return 0;
	if ((s = stmt(st, S_SUBJ_INS)) == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_int(s, 1, (int)ref->kind);
	sqlite3_bind_text(s, 2, ref->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, expires);
	if ((rc = ag_store_exec(st, s, "insert subject")) != 0)
		return rc;
	*idp = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int
subject_set(struct ag_store *st, int64_t id, int64_t locked_until, int64_t expires)
{
	sqlite3_stmt *s = stmt(st, S_SUBJ_SET);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, locked_until);
		sqlite3_bind_int64(s, 3, expires);
	}
	return ag_store_exec(st, s, "update subject");
}

static int
by_id(struct ag_store *st, enum stmt_id id, int64_t subject_id, const char *what)
{
	sqlite3_stmt *s = stmt(st, id);

	if (s != NULL)
		sqlite3_bind_int64(s, 1, subject_id);
	return ag_store_exec(st, s, what);
}

static int
load_state(struct ag_store *st, int64_t id, int64_t locked_until, int64_t window,
           int64_t now, struct ag_subject_state *out)
{
	sqlite3_stmt *s = stmt(st, S_FAIL_STATS);
	int rc;

	memset(out, 0, sizeof(*out));
	out->locked_until = locked_until;
	if (id == 0)
		return 0;
	if (s == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now - window);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return ag_store_fail(st, rc, "read failures");
	}
	out->failures = sqlite3_column_int64(s, 0);
	out->pending = sqlite3_column_int64(s, 1);
	out->last_any = sqlite3_column_int64(s, 2);
	out->last_settled = sqlite3_column_int64(s, 3);
	out->oldest = sqlite3_column_int64(s, 4);
	sqlite3_reset(s);
	return 0;
}

/* Brings a subject up to date at now: a lock that has run out is lifted
 * together with the failures behind it; otherwise failures older than the
 * window are forgotten (kept while locked, for status). */
static int
refresh_subject(struct ag_store *st, const struct ag_subject_ref *ref, int64_t id,
                int64_t *locked_until, int64_t now)
{
	int r;

	if (*locked_until != 0 && *locked_until <= now) {
		if ((r = by_id(st, S_FAIL_CLEAR, id, "clear failures")) != 0)
			return r;
		*locked_until = 0;
		return subject_set(st, id, 0, now);
	}
	if (*locked_until == 0) {
		sqlite3_stmt *s = stmt(st, S_FAIL_PRUNE);

		if (s != NULL) {
			sqlite3_bind_int64(s, 1, id);
			sqlite3_bind_int64(s, 2, now - ref->limits.window);
		}
		return ag_store_exec(st, s, "prune failures");
	}
	return 0;
}

static int
purge_some(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	sqlite3_stmt *s = stmt(st, S_SUBJ_PURGE);
	int r;

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
	}
	r = ag_store_exec(st, s, "purge");
	if (r == 0 && deleted != NULL)
		*deleted = sqlite3_changes(st->db);
	return r;
}

static int
insert_failure(struct ag_store *st, int64_t id, int64_t attempt, int64_t now, int pending,
               const char *source)
{
	sqlite3_stmt *s = stmt(st, S_FAIL_INS);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, attempt);
		sqlite3_bind_int64(s, 3, now);
		sqlite3_bind_int(s, 4, pending);
		if (source != NULL)
			sqlite3_bind_text(s, 5, source, -1, SQLITE_STATIC);
	}
	return ag_store_exec(st, s, "record failure");
}

static int64_t
new_attempt_id(void)
{
	uint64_t v = 0;

	/* Only needs to be unique among a subject's in-flight attempts; random
	 * so a stale id handed back by a client cannot settle a newer one. */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)getpid() ^ ((uint64_t)time(NULL) << 20);
	v &= (UINT64_C(1) << 53) - 1; /* exact in JSON numbers */
	return v == 0 ? 1 : (int64_t)v;
}

/* Source label of a subject's failure: the other subject's name (an account
 * row records the host it came from, a host row the account tried). */
static const char *
source_for(const struct ag_subject_ref *subj, size_t n, size_t i)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (j != i && subj[j].kind != subj[i].kind)
			return subj[j].name;
	return NULL;
}

static int
check_refs(struct ag_store *st, const struct ag_subject_ref *subj, size_t n)
{
	size_t i;

	st->errmsg[0] = '\0';
	if (n == 0 || n > AG_MAX_SUBJECTS)
		return AG_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (!ag_store_bounded(subj[i].name, AG_NAME_MAX))
			return AG_ERR_INVAL;
	return 0;
}

/* The attempt to settle for a subject: the one given, or when the caller
 * did not keep it (attempt 0), the subject's oldest attempt in flight, so a
 * check followed by a failure counts once.  0 when there is none. */
static int
resolve_attempt(struct ag_store *st, int64_t id, int64_t attempt, int64_t *out)
{
	sqlite3_stmt *s;
	int rc;

	*out = attempt;
	if (attempt != 0 || id == 0)
		return 0;
	if ((s = stmt(st, S_FAIL_OLDEST_PENDING)) == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ag_store_fail(st, rc, "read attempts");
	return 0;
}

/* 1 when a refusal or a lock of subject ref must wait for the caller to
 * decide whether it is exempt (struct ag_subject_ref, exempt_unknown).
 * The store never looks anything up itself: an NSS lookup inside BEGIN
 * IMMEDIATE would hold everyone's write lock for as long as the directory
 * takes to answer. */
static int
ask_exempt(const struct ag_subject_ref *ref)
{
	return ref->exempt_unknown && ref->limits.enforce;
}

/* ------------------------------------------------------------ operations */

int
ag_store_reserve_attempt(struct ag_store *st, const struct ag_subject_ref *subj, size_t n,
                         int64_t now, int64_t *attemptp, struct ag_decision dec[])
{
	int64_t ids[AG_MAX_SUBJECTS], locked[AG_MAX_SUBJECTS];
	struct ag_subject_state state;
	int64_t attempt = 0;
	int allowed = 1, r;
	size_t i;

	*attemptp = 0;
	if ((r = check_refs(st, subj, n)) != 0)
		return r;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		const struct ag_limits *lim = &subj[i].limits;
		int64_t was_locked;

		if ((r = subject_get(st, &subj[i], 1, now + lim->window, &ids[i], &locked[i])) != 0)
			goto out;
		was_locked = locked[i];
		if ((r = refresh_subject(st, &subj[i], ids[i], &locked[i], now)) != 0 ||
		    (r = load_state(st, ids[i], locked[i], lim->window, now, &state)) != 0)
			goto out;
		ag_policy_decide(lim, &state, now, &dec[i]);
		if (dec[i].verdict != AG_ALLOW && ask_exempt(&subj[i])) {
			r = AG_STORE_DECIDE_EXEMPT;
			goto out;
		}
		dec[i].lock_expired = was_locked != 0 && locked[i] == 0;
		if (dec[i].verdict != AG_ALLOW)
			allowed = 0;
	}
	if (allowed) {
		attempt = new_attempt_id();
		for (i = 0; i < n; i++) {
			const struct ag_limits *lim = &subj[i].limits;

			if ((r = insert_failure(st, ids[i], attempt, now, 1,
			                        source_for(subj, n, i))) != 0 ||
			    (r = subject_set(st, ids[i], locked[i],
			                     ag_policy_expiry(lim, now, locked[i]))) != 0)
				goto out;
			dec[i].failures++;
		}
	}
	if ((r = purge_some(st, now, PURGE_PER_WRITE, NULL)) != 0)
		goto out;
	if ((r = ag_store_commit(st)) != 0)
		goto out_norollback;
	*attemptp = attempt;
	return 0;
out:
	ag_store_rollback(st);
out_norollback:
	return r;
}

int
ag_store_settle_failure(struct ag_store *st, const struct ag_subject_ref *subj, size_t n,
                        int64_t attempt, int64_t now, struct ag_settled out[])
{
	struct ag_subject_state state;
	int64_t id, locked, lock, this_attempt;
	sqlite3_stmt *s;
	int r;
	size_t i;

	if ((r = check_refs(st, subj, n)) != 0)
		return r;
	/* The failure has happened (the password was checked): giving up on
	 * a busy state would forget it, so wait longer than for an attempt,
	 * which a busy state only refuses. */
	if ((r = ag_store_begin_record(st)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		const struct ag_limits *lim = &subj[i].limits;

		memset(&out[i], 0, sizeof(out[i]));
		if ((r = subject_get(st, &subj[i], 1, now + lim->window, &id, &locked)) != 0 ||
		    (r = refresh_subject(st, &subj[i], id, &locked, now)) != 0 ||
		    (r = resolve_attempt(st, id, attempt, &this_attempt)) != 0)
			goto out;
		/* Settle the reservation; without one (or when it was lost),
		 * record the failure afresh: a failure is never dropped. */
		if ((s = stmt(st, S_FAIL_SETTLE)) != NULL) {
			sqlite3_bind_int64(s, 1, id);
			sqlite3_bind_int64(s, 2, this_attempt);
			sqlite3_bind_int64(s, 3, now);
		}
		if ((r = ag_store_exec(st, s, "settle failure")) != 0)
			goto out;
		if (this_attempt == 0 || sqlite3_changes(st->db) == 0) {
			if ((r = insert_failure(st, id, this_attempt, now, 0,
			                        source_for(subj, n, i))) != 0)
				goto out;
		}
		if ((r = load_state(st, id, locked, lim->window, now, &state)) != 0)
			goto out;
		lock = ag_policy_lock_after_failure(lim, state.failures, now);
		if (lock > locked && ask_exempt(&subj[i])) {
			r = AG_STORE_DECIDE_EXEMPT;
			goto out;
		}
		if (lock > locked) {
			out[i].newly_locked = locked <= now;
			locked = lock;
		}
		if ((r = subject_set(st, id, locked, ag_policy_expiry(lim, now, locked))) != 0)
			goto out;
		out[i].failures = state.failures;
		out[i].locked_until = locked;
		out[i].delay = ag_policy_delay(lim, lim->delay_pending ? state.failures
		                                              : state.failures - state.pending);
		if (!lim->enforce)
			out[i].delay = 0;
	}
	if ((r = purge_some(st, now, PURGE_PER_WRITE, NULL)) != 0)
		goto out;
	return ag_store_commit(st);
out:
	ag_store_rollback(st);
	return r;
}

int
ag_store_settle_success(struct ag_store *st, const struct ag_subject_ref *subj, size_t n,
                        int64_t attempt, int64_t now, struct ag_decision dec[])
{
	int64_t ids[AG_MAX_SUBJECTS], locked[AG_MAX_SUBJECTS];
	sqlite3_stmt *s;
	int still_ok = 1, r;
	size_t i;

	if ((r = check_refs(st, subj, n)) != 0)
		return r;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		memset(&dec[i], 0, sizeof(dec[i]));
		dec[i].verdict = AG_ALLOW;
		if ((r = subject_get(st, &subj[i], 0, 0, &ids[i], &locked[i])) != 0)
			goto out;
		if (ids[i] != 0 && subj[i].limits.enforce && locked[i] > now) {
			if (ask_exempt(&subj[i])) {
				r = AG_STORE_DECIDE_EXEMPT;
				goto out;
			}
			/* Locked while this attempt was in flight: the lock wins. */
			dec[i].verdict = AG_REFUSE_LOCKED;
			dec[i].locked_until = locked[i];
			dec[i].retry_after = locked[i] == AG_FOREVER ? -1 : locked[i] - now;
			still_ok = 0;
		}
	}
	for (i = 0; i < n && still_ok; i++) {
		if (ids[i] == 0)
			continue;
		if (subj[i].kind == AG_SUBJECT_ACCOUNT) {
			/* Report what is being reset (this attempt aside), then
			 * forget the account entirely: nothing is left to keep. */
			int64_t this_attempt;

			if ((r = resolve_attempt(st, ids[i], attempt, &this_attempt)) != 0)
				goto out;
			if ((s = stmt(st, S_FAIL_COUNT_OTHER)) == NULL) {
				r = ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
				goto out;
			}
			sqlite3_bind_int64(s, 1, ids[i]);
			sqlite3_bind_int64(s, 2, this_attempt);
			if (sqlite3_step(s) == SQLITE_ROW)
				dec[i].failures = sqlite3_column_int64(s, 0);
			sqlite3_reset(s);
			if ((r = by_id(st, S_SUBJ_DEL_ID, ids[i], "reset account")) != 0)
				goto out;
		} else {
			int64_t this_attempt;

			if ((r = resolve_attempt(st, ids[i], attempt, &this_attempt)) != 0)
				goto out;
			if ((s = stmt(st, S_FAIL_REFUND)) != NULL) {
				sqlite3_bind_int64(s, 1, ids[i]);
				sqlite3_bind_int64(s, 2, this_attempt);
			}
			if ((r = ag_store_exec(st, s, "settle host attempt")) != 0)
				goto out;
		}
	}
	return ag_store_commit(st);
out:
	ag_store_rollback(st);
	return r;
}

int
ag_store_release_attempt(struct ag_store *st, const struct ag_subject_ref *subj, size_t n,
                         int64_t attempt, int *released)
{
	int64_t id, locked;
	sqlite3_stmt *s;
	int r;
	size_t i;

	*released = 0;
	if ((r = check_refs(st, subj, n)) != 0)
		return r;
	/* Only the exact attempt: "the oldest in flight" could be another
	 * login's, and withdrawing that one would let more than deny
	 * attempts be in flight at once. */
	if (attempt == 0)
		return 0;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((r = subject_get(st, &subj[i], 0, 0, &id, &locked)) != 0)
			goto out;
		if (id == 0)
			continue;
		if ((s = stmt(st, S_FAIL_REFUND)) != NULL) {
			sqlite3_bind_int64(s, 1, id);
			sqlite3_bind_int64(s, 2, attempt);
		}
		if ((r = ag_store_exec(st, s, "release attempt")) != 0)
			goto out;
		if (sqlite3_changes(st->db) > 0)
			*released = 1;
	}
	return ag_store_commit(st);
out:
	ag_store_rollback(st);
	return r;
}

int
ag_store_peek(struct ag_store *st, const struct ag_subject_ref *subj, int64_t now,
              struct ag_decision *dec)
{
	struct ag_subject_state state;
	int64_t id, locked;
	int r;

	if ((r = check_refs(st, subj, 1)) != 0)
		return r;
	/* A plain read: WAL gives a consistent snapshot without blocking. */
	if ((r = subject_get(st, subj, 0, 0, &id, &locked)) != 0)
		return r;
	if (locked != 0 && locked <= now)
		id = locked = 0; /* expired: the next write clears it and its failures */
	if ((r = load_state(st, id, locked, subj->limits.window, now, &state)) != 0)
		return r;
	ag_policy_decide(&subj->limits, &state, now, dec);
	return dec->verdict != AG_ALLOW && ask_exempt(subj) ? AG_STORE_DECIDE_EXEMPT : 0;
}

static int
fill_info(struct ag_store *st, int64_t id, enum ag_subject_kind kind, const char *name,
          int64_t locked, int64_t window, int64_t now, struct ag_subject_info *info)
{
	sqlite3_stmt *s;
	const unsigned char *src;
	int rc, r;

	memset(info, 0, sizeof(*info));
	info->kind = kind;
	ag_strlcpy(info->name, name, sizeof(info->name));
	if (locked != 0 && locked <= now) {
		/* The lock ran out: its failures go with it at the next write. */
		info->state.locked_until = 0;
		return 0;
	}
	if ((r = load_state(st, id, locked, window, now, &info->state)) != 0)
		return r;
	if ((s = stmt(st, S_FAIL_LAST_SOURCE)) == NULL)
		return ag_store_fail(st, sqlite3_errcode(st->db), "prepare");
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && (src = sqlite3_column_text(s, 0)) != NULL)
		ag_strlcpy(info->last_source, (const char *)src, sizeof(info->last_source));
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ag_store_fail(st, rc, "read failures");
	return 0;
}

int
ag_store_subject_info(struct ag_store *st, enum ag_subject_kind kind, const char *name,
                      int64_t window, int64_t now, struct ag_subject_info *info)
{
	struct ag_subject_ref ref = { .kind = kind, .name = name };
	int64_t id, locked;
	int r;

	if ((r = check_refs(st, &ref, 1)) != 0)
		return r;
	if ((r = subject_get(st, &ref, 0, 0, &id, &locked)) != 0)
		return r;
	if (id == 0)
		return AG_ERR_NOTFOUND;
	return fill_info(st, id, kind, name, locked, window, now, info);
}

int
ag_store_list_subjects(struct ag_store *st, int64_t window, int64_t now, size_t limit,
                       int (*fn)(void *ctx, const struct ag_subject_info *info), void *ctx,
                       int64_t *omittedp)
{
	struct ag_subject_info *info = NULL;
	sqlite3_stmt *s;
	size_t shown = 0;
	int rc, r = 0;

	*omittedp = 0;
	st->errmsg[0] = '\0';
	if ((info = malloc(sizeof(*info))) == NULL)
		return AG_ERR_NOMEM;
	/* A separate statement: fill_info uses the cached ones meanwhile,
	 * all within the read transaction this one holds, so the list and
	 * the count of the rest come from one snapshot. */
	rc = sqlite3_prepare_v2(st->db, stmt_sql[S_SUBJ_LIST], -1, &s, NULL);
	if (rc != SQLITE_OK) {
		free(info);
		return ag_store_fail(st, rc, "list subjects");
	}
	sqlite3_bind_int64(s, 1, now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(s, 2);

		if (name == NULL)
			continue;
		r = fill_info(st, sqlite3_column_int64(s, 0), (enum ag_subject_kind)sqlite3_column_int(s, 1),
		              (const char *)name, sqlite3_column_int64(s, 3), window, now, info);
		if (r != 0)
			break;
		if (info->state.failures == 0 && info->state.locked_until == 0)
			continue;
		/* Past the limit, only counted: the caller says how many. */
		if (limit > 0 && shown >= limit) {
			(*omittedp)++;
			continue;
		}
		shown++;
		if (fn(ctx, info) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = ag_store_fail(st, rc, "list subjects");
	sqlite3_finalize(s);
	free(info);
	return r;
}

int
ag_store_unlock(struct ag_store *st, enum ag_subject_kind kind, const char *name, int *found)
{
	sqlite3_stmt *s;
	int r;

	*found = 0;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((s = stmt(st, S_SUBJ_DEL)) != NULL) {
		sqlite3_bind_int(s, 1, (int)kind);
		sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	}
	if ((r = ag_store_exec(st, s, "unlock")) != 0) {
		ag_store_rollback(st);
		return r;
	}
	*found = sqlite3_changes(st->db) > 0;
	return ag_store_commit(st);
}

int
ag_store_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	int r;

	*deleted = 0;
	if ((r = ag_store_begin(st)) != 0)
		return r;
	if ((r = purge_some(st, now, limit, deleted)) != 0 ||
	    (r = ag_store_mfa_purge(st, now, limit)) != 0 ||
	    (r = ag_store_token_purge(st, now, limit, deleted)) != 0 ||
	    (r = ag_store_session_purge(st, now, limit, deleted)) != 0) {
		ag_store_rollback(st);
		return r;
	}
	return ag_store_commit(st);
}

int
ag_store_check(struct ag_store *st)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *txt;
	int rc, ok = 0;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return ag_store_fail(st, rc, "quick_check");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && (txt = sqlite3_column_text(s, 0)) != NULL &&
	    strcmp((const char *)txt, "ok") == 0)
		ok = 1;
	else if (rc == SQLITE_ROW)
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: integrity check failed", st->path);
	else
		ag_store_fail(st, rc, "quick_check");
	sqlite3_finalize(s);
	return ok ? 0 : AG_ERR_CORRUPT;
}
