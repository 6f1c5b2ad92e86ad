/* Unit tests for lib/store: one test body for the store's behaviour, run
 * against the back end the environment selects, and the SQLite back end's
 * own tests (its file: opening, refusing and migrating state files, the
 * WAL, PRAGMAs, a lock held by another process).
 *
 *   AG_TEST_PG_CONNINFO unset   SQLite, in a fresh directory under /tmp:
 *                               every test below.
 *   AG_TEST_PG_CONNINFO=...     PostgreSQL (libpq connection string, e.g.
 *                               "host=/tmp/x port=5432 user=postgres"): the
 *                               behaviour tests, each in a fresh schema
 *                               that is dropped at the end; the SQLite-only
 *                               tests are skipped, visibly.
 *                               tests/unit/store_pg.sh starts a throwaway
 *                               cluster and runs this program so.
 *
 * The behaviour tests look at the rows through the store's own engine
 * (store_int.h), so one query serves both back ends; SQLite is opened
 * directly only to build hostile files and to read its PRAGMAs. */
#include "autoconf.h" /* defines _GNU_SOURCE: nftw FTW_PHYS */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "error.h"
#include "policy.h"
#include "store.h"
#include "store_int.h"
#include "sqlite/sqlite_schema.h"
#include "util.h"

#include "tap.h"

#define T0 INT64_C(1700000000)
#define APP_ID 0x41475244 /* "AGRD", the store's PRAGMA application_id */
#define WINDOW 900

static char tmpdir[64];

/* AG_TEST_PG_CONNINFO: the behaviour tests run against PostgreSQL. */
static const char *pg_conninfo;
static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void
cleanup(void)
{
	if (tmpdir[0] != '\0') {
		chmod(tmpdir, 0755);
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

/* Makes tmpdir/name with mode; returns the path in buf. */
static const char *
subdir(char *buf, size_t size, const char *name, mode_t mode)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	if (mkdir(buf, 0700) != 0 || chmod(buf, mode) != 0)
		diag("mkdir %s: %s", buf, strerror(errno));
	return buf;
}

static void
config_for(struct ag_config *cfg, const char *dir, const char *file)
{
	ag_config_defaults(cfg);
	snprintf(cfg->state_file, sizeof(cfg->state_file), "%s/%s", dir, file);
	cfg->sync = AG_SYNC_NORMAL; /* thousands of commits below */
}

static int
write_bytes(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok_ = fd >= 0 && write(fd, data, len) == (ssize_t)len && fchmod(fd, mode) == 0;

	if (fd >= 0)
		close(fd);
	if (!ok_)
		diag("cannot write %s: %s", path, strerror(errno));
	return ok_ ? 0 : -1;
}

/* Runs sql on a fresh SQLite connection to path (creating it). */
static int
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		diag("sqlite (%s): %s", sql, msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc;
}

/* Runs a one-value query on path; the text of the first column goes to
 * out.  Returns 0 or -1. */
static int
sql_text(const char *path, const char *sql, char *out, size_t outsize)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int r = -1;

	out[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		ag_strlcpy(out, t != NULL ? (const char *)t : "NULL", outsize);
		r = 0;
	} else {
		diag("sqlite (%s): %s", sql, db != NULL ? sqlite3_errmsg(db) : "no connection");
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return r;
}

static int64_t
sql_int(const char *path, const char *sql)
{
	char buf[64];
	int64_t v;

	if (sql_text(path, sql, buf, sizeof(buf)) != 0 ||
	    ag_parse_int64(buf, INT64_MIN, INT64_MAX, &v) != 0)
		return -999;
	return v;
}

static int64_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static int
contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* ------------------------------------------------------------ back ends */

/* PostgreSQL: each store of a run is a schema agt_RUN_NAME (RUN: random
 * hex, so that a cluster kept between runs never hands an old schema to a
 * new run), all dropped at the end (drop_schemas). */
static char pg_run[16];
static char pg_schemas[32][AG_PG_SCHEMA_MAX + 1];
static size_t pg_nschemas;

static const char *
backend_name(void)
{
	return pg_conninfo != NULL ? "postgresql" : "sqlite";
}

/* The configuration of the store called name. */
static void
store_config(struct ag_config *cfg, const char *name)
{
	char dir[PATH_MAX];

	if (pg_conninfo == NULL) {
		snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
		config_for(cfg, dir, "state.db");
		return;
	}
	ag_config_defaults(cfg);
	cfg->store = AG_STORE_POSTGRESQL;
	ag_strlcpy(cfg->pg_conninfo, pg_conninfo, sizeof(cfg->pg_conninfo));
	snprintf(cfg->pg_schema, sizeof(cfg->pg_schema), "agt_%s_%s", pg_run, name);
}

/* A fresh store called name (a directory of tmpdir, or a schema), or
 * NULL. */
static struct ag_store *
open_store(const char *name)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	char dir[PATH_MAX], err[AG_ERRBUF];

	store_config(&cfg, name);
	if (pg_conninfo == NULL) {
		subdir(dir, sizeof(dir), name, 0755);
	} else if (pg_nschemas < AG_ARRAY_SIZE(pg_schemas)) {
		ag_strlcpy(pg_schemas[pg_nschemas++], cfg.pg_schema, sizeof(pg_schemas[0]));
	} else {
		diag("too many stores for one run");
		return NULL;
	}
	if (ag_store_open(&cfg, AG_STORE_CREATE, &st, err) != 0) {
		diag("open store %s (%s): %s", name, backend_name(), err);
		return NULL;
	}
	return st;
}

/* Another handle on the store called name (as another process has). */
static struct ag_store *
reopen_store(const char *name)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	char err[AG_ERRBUF];

	store_config(&cfg, name);
	if (ag_store_open(&cfg, 0, &st, err) != 0) {
		diag("reopen store %s: %s", name, err);
		return NULL;
	}
	return st;
}

/* --------------------------------------------------- looking at the rows
 * Through the store's engine, on statement slots above the store's own.
 * A slot keeps the statement first prepared in it, so each query text
 * gets a slot of its own, the same on every handle. */
#define SLOT_DROP (AG_SLOT_STORE + 1)
#define SLOT_FIRST (AG_SLOT_STORE + 2)

static const char *slot_sql[AG_DB_SLOTS - SLOT_FIRST];

static struct ag_db_stmt *
query(struct ag_store *st, const char *sql, int *errp)
{
	struct ag_sql q = { sql, NULL };
	size_t i;

	for (i = 0; i < AG_ARRAY_SIZE(slot_sql) && slot_sql[i] != NULL; i++)
		if (strcmp(slot_sql[i], sql) == 0)
			break;
	if (i == AG_ARRAY_SIZE(slot_sql)) {
		diag("out of statement slots for \"%s\"", sql);
		*errp = AG_ERR_INVAL;
		return NULL;
	}
	slot_sql[i] = sql;
	return ag_st_stmt(st, SLOT_FIRST + (unsigned)i, &q, errp);
}

/* The integer in the first column of sql's first row (?1: the text arg,
 * when not NULL); -999 when there is none or on error. */
static int64_t
st_int(struct ag_store *st, const char *sql, const char *arg)
{
	struct ag_db_stmt *s;
	int64_t v = -999;
	int err = 0, r;

	if ((s = query(st, sql, &err)) != NULL && arg != NULL)
		st->e->bind_text(s, 1, arg);
	r = ag_st_row(st, s, err, "test query");
	if (r == 1) {
		v = st->e->col_int64(s, 0);
		st->e->reset(s);
	} else {
		diag("query \"%s\": %s", sql, r == 0 ? "no row" : ag_store_errmsg(st));
	}
	return v;
}

/* Runs sql (?1: the text arg, when not NULL); 0 or AG_ERR_*. */
static int
st_exec(struct ag_store *st, const char *sql, const char *arg)
{
	struct ag_db_stmt *s;
	int err = 0, r;

	if ((s = query(st, sql, &err)) != NULL && arg != NULL)
		st->e->bind_text(s, 1, arg);
	if ((r = ag_st_exec(st, s, err, "test statement", NULL)) != 0)
		diag("statement \"%s\": %s", sql, ag_store_errmsg(st));
	return r;
}

/* PostgreSQL: drops the run's schemas, through a handle on the first. */
static void
drop_schemas(void)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	struct ag_sql q;
	struct ag_db_stmt *s;
	char sql[4096], err[AG_ERRBUF];
	size_t i, o;
	int e = 0, r;

	if (pg_conninfo == NULL || pg_nschemas == 0)
		return;
	o = (size_t)snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS");
	for (i = 0; i < pg_nschemas && o < sizeof(sql); i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s %s", i ? "," : "",
		                      pg_schemas[i]);
	if (o < sizeof(sql))
		snprintf(sql + o, sizeof(sql) - o, " CASCADE");
	ag_config_defaults(&cfg);
	cfg.store = AG_STORE_POSTGRESQL;
	ag_strlcpy(cfg.pg_conninfo, pg_conninfo, sizeof(cfg.pg_conninfo));
	ag_strlcpy(cfg.pg_schema, pg_schemas[0], sizeof(cfg.pg_schema));
	if ((r = ag_store_open(&cfg, 0, &st, err)) == 0) {
		q.text = sql;
		q.pg = NULL;
		s = ag_st_stmt(st, SLOT_DROP, &q, &e);
		if ((r = ag_st_exec(st, s, e, "drop test schemas", NULL)) != 0)
			ag_strlcpy(err, ag_store_errmsg(st), sizeof(err));
		ag_store_close(st);
	}
	ok(r == 0, "the run's %zu schemas are dropped%s%s", pg_nschemas, r != 0 ? ": " : "",
	   r != 0 ? err : "");
}

/* ---------------------------------------------------- subjects */

static struct ag_limits
limits(int64_t deny, int64_t lock_time, int64_t delay_base, int delay_pending)
{
	struct ag_limits lim;

	memset(&lim, 0, sizeof(lim));
	lim.deny = deny;
	lim.window = WINDOW;
	lim.lock_time = lock_time;
	lim.delay_base = delay_base;
	lim.delay_max = 16;
	lim.enforce = 1;
	lim.delay_pending = delay_pending;
	return lim;
}

static struct ag_subject_ref
account(const char *name, int64_t deny, int64_t lock_time, int64_t delay_base)
{
	struct ag_subject_ref r;

	memset(&r, 0, sizeof(r));
	r.kind = AG_SUBJECT_ACCOUNT;
	r.name = name;
	r.limits = limits(deny, lock_time, delay_base, 1);
	return r;
}

static struct ag_subject_ref
host(const char *name, int64_t deny)
{
	struct ag_subject_ref r;

	memset(&r, 0, sizeof(r));
	r.kind = AG_SUBJECT_HOST;
	r.name = name;
	r.limits = limits(deny, 3600, 0, 0);
	return r;
}

static struct ag_subject_info info_buf;

/* A name of AG_NAME_MAX random bytes (no NUL), which nothing compresses. */
static void
random_name(char *name, unsigned seed)
{
	size_t k;

	for (k = 0; k < AG_NAME_MAX; k++)
		name[k] = (char)(1 + rand_r(&seed) % 255);
	name[AG_NAME_MAX] = '\0';
}

/* Failures of a subject in the window at now (-1: the store has nothing
 * about it); *pending receives the in-flight ones. */
static int64_t
failures_of(struct ag_store *st, enum ag_subject_kind kind, const char *name, int64_t now,
            int64_t *pending)
{
	int r = ag_store_subject_info(st, kind, name, WINDOW, now, &info_buf);

	if (pending != NULL)
		*pending = r == 0 ? info_buf.state.pending : -1;
	if (r == AG_ERR_NOTFOUND)
		return -1;
	if (r != 0)
		return -1000 + r;
	return info_buf.state.failures;
}


/* ======================================================== SQLite only */

/* Opens cfg's state file and expects want; the message must name the
 * file and mention what (when not NULL). */
static void
expect_open(const char *what, const struct ag_config *cfg, int flags, int want, const char *mention)
{
	static char sentinel;
	struct ag_store *st = (struct ag_store *)(void *)&sentinel; /* must be reset */
	char err[AG_ERRBUF], dir[PATH_MAX];
	char *slash;
	int r;

	/* a message names the state file, or the directory it is refused for */
	ag_strlcpy(dir, cfg->state_file, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';

	memset(err, 'Z', sizeof(err));
	r = ag_store_open(cfg, flags, &st, err);
	is_int(r, want, "%s: ag_store_open returns %d (%s)", what, want, ag_strerror(want));
	if (want != 0) {
		ok(st == NULL, "%s: no handle on error", what);
		ok(memchr(err, '\0', sizeof(err)) != NULL, "%s: message terminated", what);
		err[sizeof(err) - 1] = '\0';
		ok(contains(err, dir), "%s: message names the file or its directory (got \"%s\")",
		   what, err);
		if (mention != NULL)
			ok(contains(err, mention), "%s: message says \"%s\" (got \"%s\")", what,
			   mention, err);
	} else if (r != 0) {
		diag("%s", err);
	}
	if (r == 0)
		ag_store_close(st);
}

static void
test_open_refusals(void)
{
	struct ag_config cfg;
	char dir[PATH_MAX], sql[128];
	unsigned char junk[4096];
	unsigned seed = 4242;
	size_t i;

	subdir(dir, sizeof(dir), "open", 0755);

	/* missing file, missing directory, relative path */
	config_for(&cfg, dir, "missing.db");
	expect_open("missing file", &cfg, 0, AG_ERR_NOTFOUND, "init");
	ok(file_size(cfg.state_file) == -1, "missing file: not created without AG_STORE_CREATE");
	config_for(&cfg, dir, "nodir/state.db");
	expect_open("missing directory", &cfg, 0, AG_ERR_NOTFOUND, NULL);
	expect_open("missing directory, create", &cfg, AG_STORE_CREATE, AG_ERR_NOTFOUND, NULL);
	ag_config_defaults(&cfg);
	ag_strlcpy(cfg.state_file, "relative/state.db", sizeof(cfg.state_file));
	expect_open("relative path", &cfg, AG_STORE_CREATE, AG_ERR_CONFIG, NULL);

	/* an empty file is not initialised, and is left alone */
	config_for(&cfg, dir, "empty.db");
	write_bytes(cfg.state_file, "", 0, 0600);
	expect_open("empty file", &cfg, 0, AG_ERR_CORRUPT, "not initialised");
	is_int(file_size(cfg.state_file), 0, "empty file: still empty");

	/* not SQLite at all */
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(rand_r(&seed) & 0xff);
	config_for(&cfg, dir, "random.db");
	write_bytes(cfg.state_file, junk, sizeof(junk), 0600);
	expect_open("random bytes", &cfg, 0, AG_ERR_CORRUPT, NULL);
	expect_open("random bytes, create", &cfg, AG_STORE_CREATE, AG_ERR_CORRUPT, NULL);
	config_for(&cfg, dir, "text.db");
	write_bytes(cfg.state_file, "deny = 10\n", 10, 0600);
	expect_open("short text file", &cfg, 0, AG_ERR_CORRUPT, NULL);
	config_for(&cfg, dir, "header.db");
	memcpy(junk, "SQLite format 3", 16); /* the right magic, garbage after it */
	write_bytes(cfg.state_file, junk, sizeof(junk), 0600);
	expect_open("SQLite magic, garbage header", &cfg, 0, AG_ERR_CORRUPT, NULL);

	/* another application's SQLite file */
	config_for(&cfg, dir, "foreign.db");
	sql_exec(cfg.state_file, "PRAGMA application_id = 305419896; PRAGMA user_version = 1;"
	                         "CREATE TABLE t (x);");
	expect_open("foreign application_id", &cfg, 0, AG_ERR_CORRUPT, "not an authguard");
	expect_open("foreign application_id, create", &cfg, AG_STORE_CREATE, AG_ERR_CORRUPT, NULL);
	config_for(&cfg, dir, "foreign0.db");
	sql_exec(cfg.state_file, "PRAGMA application_id = 305419896;");
	expect_open("foreign application_id, version 0", &cfg, AG_STORE_CREATE, AG_ERR_CORRUPT,
	            NULL);

	/* a foreign database without an application_id is not taken over by
	 * init either: creating only initialises an empty file */
	config_for(&cfg, dir, "otherapp.db");
	sql_exec(cfg.state_file, "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('x');");
	expect_open("other application's data, no application_id", &cfg, 0, AG_ERR_CORRUPT, NULL);
	expect_open("other application's data, create", &cfg, AG_STORE_CREATE, AG_ERR_CORRUPT,
	            NULL);
	is_int(sql_int(cfg.state_file, "SELECT count(*) FROM sqlite_schema WHERE name = 'subject'"),
	       0, "other application's data: no authguard tables added");
	is_int(sql_int(cfg.state_file, "PRAGMA application_id"), 0,
	       "other application's data: application_id not stamped");

	/* written by a newer version */
	config_for(&cfg, dir, "newer.db");
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = 99;", APP_ID);
	sql_exec(cfg.state_file, sql);
	expect_open("schema version 99", &cfg, 0, AG_ERR_SCHEMA, "99");
	expect_open("schema version 99, create", &cfg, AG_STORE_CREATE, AG_ERR_SCHEMA, NULL);
	is_int(sql_int(cfg.state_file, "PRAGMA user_version"), 99, "version 99: left alone");

	/* the state file is a directory */
	config_for(&cfg, dir, "isdir.db");
	mkdir(cfg.state_file, 0755);
	{
		struct ag_store *st = NULL;
		char err[AG_ERRBUF];
		int r = ag_store_open(&cfg, AG_STORE_CREATE, &st, err);

		ok(r < 0 && st == NULL, "state file is a directory: refused (%d: %s)", r, err);
		ag_store_close(st);
	}
}

static void
test_open_unsafe(void)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	char dir[PATH_MAX], dir2[PATH_MAX], link[PATH_MAX + 64], err[AG_ERRBUF];

	/* a good store to point things at */
	subdir(dir, sizeof(dir), "unsafe", 0755);
	config_for(&cfg, dir, "state.db");
	is_int(ag_store_open(&cfg, AG_STORE_CREATE, &st, err), 0, "create a store for mode tests");
	ag_store_close(st);
	st = NULL;

	chmod(cfg.state_file, 0666);
	expect_open("state file mode 0666", &cfg, 0, AG_ERR_UNSAFE, "writable by others");
	chmod(cfg.state_file, 0602);
	expect_open("state file mode 0602", &cfg, 0, AG_ERR_UNSAFE, "writable by others");
	chmod(cfg.state_file, 0660);
	expect_open("state file mode 0660 (group authguard)", &cfg, 0, 0, NULL);
	chmod(cfg.state_file, 0600);
	expect_open("state file mode 0600", &cfg, 0, 0, NULL);

	chmod(dir, 0777);
	expect_open("state directory mode 0777", &cfg, 0, AG_ERR_UNSAFE, NULL);
	expect_open("state directory mode 0777, create", &cfg, AG_STORE_CREATE, AG_ERR_UNSAFE,
	            NULL);
	chmod(dir, 01777);
	expect_open("state directory mode 1777", &cfg, 0, AG_ERR_UNSAFE, NULL);
	chmod(dir, 0757);
	expect_open("state directory mode 0757", &cfg, 0, AG_ERR_UNSAFE, NULL);
	chmod(dir, 0770);
	expect_open("state directory mode 0770 (group authguard)", &cfg, 0, 0, NULL);
	chmod(dir, 0755);

	/* a directory above, writable by others, without the sticky bit */
	subdir(dir2, sizeof(dir2), "open-parent", 0777);
	snprintf(link, sizeof(link), "%s/state", dir2);
	mkdir(link, 0755);
	config_for(&cfg, link, "state.db");
	expect_open("parent directory mode 0777", &cfg, AG_STORE_CREATE, AG_ERR_UNSAFE, NULL);
	ok(file_size(cfg.state_file) == -1, "parent directory mode 0777: nothing created");
	chmod(dir2, 0755);

	/* symlinks: the file, a dangling one, the directory */
	config_for(&cfg, dir, "state.db");
	snprintf(link, sizeof(link), "%s/link.db", dir);
	if (symlink(cfg.state_file, link) != 0)
		diag("symlink: %s", strerror(errno));
	ag_strlcpy(cfg.state_file, link, sizeof(cfg.state_file));
	expect_open("symlinked state file", &cfg, 0, AG_ERR_UNSAFE, "symlink");
	expect_open("symlinked state file, create", &cfg, AG_STORE_CREATE, AG_ERR_UNSAFE,
	            "symlink");

	snprintf(link, sizeof(link), "%s/dangling.db", dir);
	if (symlink("/tmp/authguard-test-nonexistent-target.db", link) != 0)
		diag("symlink: %s", strerror(errno));
	ag_strlcpy(cfg.state_file, link, sizeof(cfg.state_file));
	expect_open("dangling symlink, create", &cfg, AG_STORE_CREATE, AG_ERR_UNSAFE, NULL);
	ok(file_size("/tmp/authguard-test-nonexistent-target.db") == -1,
	   "dangling symlink: target not created");

	snprintf(link, sizeof(link), "%s/dirlink", tmpdir);
	if (symlink(dir, link) != 0)
		diag("symlink: %s", strerror(errno));
	config_for(&cfg, link, "state.db");
	expect_open("symlinked state directory", &cfg, 0, AG_ERR_UNSAFE, NULL);

	/* owned by someone else */
	if (geteuid() == 0) {
		config_for(&cfg, dir, "state.db");
		if (chown(cfg.state_file, 12345, 12345) == 0)
			expect_open("state file owned by another user", &cfg, 0, AG_ERR_UNSAFE,
			            "owned");
		if (chown(cfg.state_file, 0, 0) != 0)
			diag("chown back: %s", strerror(errno));
		if (chown(dir, 12345, 12345) == 0)
			expect_open("state directory owned by another user", &cfg, 0, AG_ERR_UNSAFE,
			            NULL);
		if (chown(dir, 0, 0) != 0)
			diag("chown back: %s", strerror(errno));
	} else {
		skip("files owned by another user: needs root");
	}
}

static void
test_create_and_migrate(void)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	char dir[PATH_MAX], err[AG_ERRBUF], txt[64], sql[128];
	int r;

	subdir(dir, sizeof(dir), "create", 0755);
	config_for(&cfg, dir, "state.db");
	ok(ag_schema_latest() >= 1, "schema version is at least 1");

	r = ag_store_open(&cfg, AG_STORE_CREATE, &st, err);
	is_int(r, 0, "AG_STORE_CREATE creates a missing file");
	if (r != 0) {
		diag("%s", err);
		return;
	}
	is_int(ag_store_file_version(st), ag_schema_latest(),
	       "new file at the latest version");
	is_int(ag_store_check(st), 0, "new file passes quick_check");
	is_str(ag_store_errmsg(st), "", "no error message after open");
	ag_store_close(st);
	st = NULL;

	sql_text(cfg.state_file, "PRAGMA journal_mode", txt, sizeof(txt));
	is_str(txt, "wal", "new file is in WAL mode");
	is_int(sql_int(cfg.state_file, "PRAGMA user_version"), ag_schema_latest(),
	       "user_version is the schema version");
	is_int(sql_int(cfg.state_file, "PRAGMA application_id"), APP_ID, "application_id is AGRD");
	is_int(sql_int(cfg.state_file, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
	                               " AND name IN ('subject', 'failure')"),
	       2, "subject and failure tables exist");

	r = ag_store_open(&cfg, 0, &st, err);
	is_int(r, 0, "reopen without AG_STORE_CREATE");
	if (r == 0)
		is_int(ag_store_file_version(st), ag_schema_latest(), "reopened: version");
	ag_store_close(st);
	st = NULL;
	r = ag_store_open(&cfg, AG_STORE_CREATE, &st, err);
	is_int(r, 0, "AG_STORE_CREATE on an existing store is harmless");
	ag_store_close(st);
	st = NULL;

	/* an empty file (e.g. made by install -m 0660) is initialised by create */
	config_for(&cfg, dir, "touched.db");
	write_bytes(cfg.state_file, "", 0, 0660);
	r = ag_store_open(&cfg, AG_STORE_CREATE, &st, err);
	is_int(r, 0, "create initialises an empty file");
	ag_store_close(st);
	st = NULL;
	sql_text(cfg.state_file, "PRAGMA journal_mode", txt, sizeof(txt));
	is_str(txt, "wal", "initialised empty file is in WAL mode");

	/* migration from version 0: only the application_id is set */
	config_for(&cfg, dir, "v0.db");
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d;", APP_ID);
	sql_exec(cfg.state_file, sql);
	is_int(sql_int(cfg.state_file, "PRAGMA user_version"), 0, "hand-made file at version 0");
	r = ag_store_open(&cfg, 0, &st, err);
	is_int(r, 0, "version 0 file opens (migrated) without AG_STORE_CREATE");
	if (r == 0)
		is_int(ag_store_file_version(st), ag_schema_latest(),
		       "migrated to the latest");
	else
		diag("%s", err);
	ag_store_close(st);
	st = NULL;
	is_int(sql_int(cfg.state_file, "PRAGMA user_version"), ag_schema_latest(),
	       "migrated file: user_version");
	is_int(sql_int(cfg.state_file, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
	                               " AND name IN ('subject', 'failure')"),
	       2, "migrated file: tables exist");
	sql_text(cfg.state_file, "PRAGMA journal_mode", txt, sizeof(txt));
	is_str(txt, "wal", "migrated file is in WAL mode");
}

static void
test_tampered(void)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	struct ag_subject_ref s[1];
	struct ag_decision dec[1];
	struct ag_settled out[1];
	char dir[PATH_MAX], err[AG_ERRBUF], sql[160];
	int64_t a = -1;
	int r;

	subdir(dir, sizeof(dir), "tampered", 0755);
	config_for(&cfg, dir, "notables.db");
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d;", APP_ID,
	         ag_schema_latest());
	sql_exec(cfg.state_file, sql);
	r = ag_store_open(&cfg, 0, &st, err);
	if (r == 0) {
		s[0] = account("ivan", 10, 3600, 0);
		r = ag_store_reserve_attempt(st, s, 1, T0, &a, dec);
		ok(r < 0 && a == 0, "stamped file without tables: operations fail (%d), deny", r);
		ok(ag_store_errmsg(st)[0] != '\0',
		   "stamped file without tables: a reason is given (%s)", ag_store_errmsg(st));
		ag_store_close(st);
		st = NULL;
	} else {
		ok(r < 0, "stamped file without tables: refused at open (%d)", r);
	}

	config_for(&cfg, dir, "trigger.db");
	is_int(ag_store_open(&cfg, AG_STORE_CREATE, &st, err), 0, "create store for trigger test");
	ag_store_close(st);
	st = NULL;
	sql_exec(cfg.state_file, "CREATE TRIGGER wipe AFTER INSERT ON failure BEGIN"
	                         " DELETE FROM failure; END;");
	r = ag_store_open(&cfg, 0, &st, err);
	is_int(r, 0, "store with a planted trigger opens");
	if (r == 0) {
		s[0] = account("judy", 10, 3600, 0);
		ag_store_settle_failure(st, s, 1, 0, T0, out);
		ag_store_settle_failure(st, s, 1, 0, T0, out);
		is_int(out[0].failures, 2, "planted trigger does not run: failures counted");
		ag_store_close(st);
	}
}

/* An attempt withdrawn (neither failure nor success): its failures in
 * flight go, settled ones stay; only by its exact id. */

static void
test_sync(void)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	char dir[PATH_MAX], err[AG_ERRBUF];

	subdir(dir, sizeof(dir), "sync", 0755);
	config_for(&cfg, dir, "state.db");
	is_int(ag_config_apply_arg(&cfg, "sync=full", err), 0, "sync=full parses");
	is_int(cfg.sync, AG_SYNC_FULL, "sync=full is AG_SYNC_FULL");
	is_int(ag_store_open(&cfg, AG_STORE_CREATE, &st, err), 0, "open with sync=full");
	if (st != NULL)
		is_int(ag_store_synchronous(st), 2, "sync=full: PRAGMA synchronous is FULL (2)");
	ag_store_close(st);
	st = NULL;
	is_int(ag_config_apply_arg(&cfg, "sync=normal", err), 0, "sync=normal parses");
	is_int(ag_store_open(&cfg, 0, &st, err), 0, "open with sync=normal");
	if (st != NULL)
		is_int(ag_store_synchronous(st), 1, "sync=normal: PRAGMA synchronous is NORMAL (1)");
	ag_store_close(st);
	ag_config_defaults(&cfg);
	is_int(cfg.sync, AG_SYNC_NORMAL, "the default is normal");
}

/* One handle per operation, as one-shot helpers and PAM logins use the
 * state: each open after the last close rebuilds the wal-index from the
 * WAL.  The WAL must stay short (it once grew by every commit, and every
 * open replayed all of it), and the checkpoints must keep the data. */
static void
test_wal_bounded(void)
{
	struct ag_config cfg;
	struct ag_store *st = NULL, *other = NULL;
	struct ag_subject_ref s[2];
	struct ag_settled out[2];
	char dir[PATH_MAX], err[AG_ERRBUF], name[64], wal[PATH_MAX + 8];
	int64_t size, max_size = 0;
	int i, errors = 0;

	subdir(dir, sizeof(dir), "wal", 0755);
	config_for(&cfg, dir, "state.db");
	snprintf(wal, sizeof(wal), "%s-wal", cfg.state_file);
	if (ag_store_open(&cfg, AG_STORE_CREATE, &st, err) != 0) {
		ok(0, "open the wal store: %s", err);
		return;
	}
	ag_store_close(st);
	for (i = 0; i < 1500; i++) {
		snprintf(name, sizeof(name), "user%d@example.com", i % 300);
		s[0] = account(name, 1000, 3600, 0);
		snprintf(name + 32, sizeof(name) - 32, "198.51.100.%d", i % 250);
		s[1] = host(name + 32, 100000);
		st = NULL;
		if (ag_store_open(&cfg, 0, &st, err) != 0 ||
		    ag_store_settle_failure(st, s, 2, 0, T0 + i / 10, out) != 0)
			errors++;
		ag_store_close(st);
		if ((size = file_size(wal)) > max_size)
			max_size = size;
	}
	is_int(errors, 0, "1500 failures, each through its own handle");
	ok(max_size > 0 && max_size <= 1024 * 1024,
	   "the WAL never passed 1 MiB (largest: %jd bytes)", (intmax_t)max_size);
	is_int(sql_int(cfg.state_file, "SELECT count(*) FROM failure"), 3000,
	       "every failure is in the state (1500 accounts', 1500 hosts')");

	/* A handle that stays open (a batch process) does not stop the
	 * others from emptying the WAL, and a reader in the middle of a
	 * read makes the checkpoint skip, not wait or fail. */
	other = NULL;
	ok(ag_store_open(&cfg, 0, &other, err) == 0, "a long-lived handle");
	max_size = 0;
	errors = 0;
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "batch%d", i % 50);
		s[0] = account(name, 1000, 3600, 0);
		st = NULL;
		if (ag_store_open(&cfg, 0, &st, err) != 0 ||
		    ag_store_settle_failure(i % 2 ? st : other, s, 1, 0, T0 + 200, out) != 0)
			errors++;
		ag_store_close(st);
		if ((size = file_size(wal)) > max_size)
			max_size = size;
	}
	is_int(errors, 0, "1000 failures, every other one through the long-lived handle");
	ok(max_size > 0 && max_size <= 1024 * 1024,
	   "the WAL never passed 1 MiB with a long-lived handle (largest: %jd bytes)",
	   (intmax_t)max_size);
	ag_store_close(other);
	is_int(sql_int(cfg.state_file, "SELECT count(*) FROM failure"), 4000,
	       "and every failure is in the state");
}

/* A subject whose exemption the caller has not decided (exempt_unknown):
 * the store asks (AG_STORE_DECIDE_EXEMPT) instead of refusing or locking,
 * having changed nothing, and never looks anything up itself. */

static void
test_busy_failure(void)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	struct ag_subject_ref s[1];
	struct ag_decision dec[1];
	struct ag_settled out[1];
	char dir[PATH_MAX], err[AG_ERRBUF], c = 0;
	int to_child[2], to_parent[2], status = 0;
	int64_t a = -1;
	pid_t pid;

	subdir(dir, sizeof(dir), "busy", 0755);
	config_for(&cfg, dir, "state.db");
	cfg.busy_timeout_ms = 200;
	if (ag_store_open(&cfg, AG_STORE_CREATE, &st, err) != 0 || pipe(to_child) != 0 ||
	    pipe(to_parent) != 0) {
		ok(0, "set up the busy test: %s", err);
		ag_store_close(st);
		return;
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		sqlite3 *db = NULL;
		struct timespec nap = { 0, 600 * 1000000L };
		int rc;

		close(to_child[1]);
		close(to_parent[0]);
		rc = sqlite3_open_v2(cfg.state_file, &db, SQLITE_OPEN_READWRITE, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		c = rc == SQLITE_OK ? 'L' : 'E';
		if (write(to_parent[1], &c, 1) != 1 || c != 'L')
			_exit(1);
		if (read(to_child[0], &c, 1) != 1) /* the parent starts to record */
			_exit(1);
		nanosleep(&nap, NULL);
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(rc == SQLITE_OK ? 0 : 1);
	}
	close(to_child[0]);
	close(to_parent[1]);
	ok(pid > 0 && read(to_parent[0], &c, 1) == 1 && c == 'L',
	   "another process holds the write lock");
	s[0] = account("busybee", 10, 3600, 0);
	is_int(ag_store_reserve_attempt(st, s, 1, T0, &a, dec), AG_ERR_BUSY,
	       "a check gives up after busy_timeout (200 ms): refused");
	is_int(a, 0, "no attempt");
	c = 'R';
	if (write(to_child[1], &c, 1) != 1)
		diag("cannot signal the child");
	is_int(ag_store_settle_failure(st, s, 1, 0, T0, out), 0,
	       "a failure waits past busy_timeout until the lock is free: recorded");
	is_int(out[0].failures, 1, "counted once");
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	           WEXITSTATUS(status) == 0,
	   "the lock holder committed after 600 ms");
	close(to_child[1]);
	close(to_parent[0]);
	ag_store_close(st);
}

/* ---------------------------------------------------------- sessions */


/* ================================================ the store's behaviour
 * The same tests on every back end. */

static void
test_reserve_settle(struct ag_store *st)
{
	struct ag_subject_ref s[2];
	struct ag_decision dec[2];
	struct ag_settled out[2];
	int64_t a1, a2, a3, pending, t = T0;

	s[0] = account("alice", 5, 3600, 0);
	s[1] = host("192.0.2.1", 50);

	/* reserve counts an attempt for both subjects */
	is_int(ag_store_reserve_attempt(st, s, 2, t, &a1, dec), 0, "reserve: ok");
	ok(a1 != 0, "reserve: attempt id given");
	is_int(dec[0].verdict, AG_ALLOW, "reserve: account allowed");
	is_int(dec[1].verdict, AG_ALLOW, "reserve: host allowed");
	is_int(dec[0].failures, 1, "reserve: account counts the attempt");
	is_int(dec[1].failures, 1, "reserve: host counts the attempt");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "alice", t, &pending), 1, "reserved: 1 failure");
	is_int(pending, 1, "reserved: 1 pending");
	is_str(info_buf.last_source, "192.0.2.1", "account row records the host as source");

	/* settling by id turns the pending row into a failure: counted once */
	is_int(ag_store_settle_failure(st, s, 2, a1, t, out), 0, "settle failure: ok");
	is_int(out[0].failures, 1, "settle failure by id: account counted once");
	is_int(out[1].failures, 1, "settle failure by id: host counted once");
	is_int(out[0].newly_locked, 0, "1 of 5: not locked");
	is_int(out[0].locked_until, 0, "1 of 5: locked_until 0");
	is_int(out[0].delay, 0, "delay_base 0: no delay");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "alice", t, &pending), 1, "settled: 1 failure");
	is_int(pending, 0, "settled: nothing pending");
	is_int(failures_of(st, AG_SUBJECT_HOST, "192.0.2.1", t, &pending), 1, "host: 1 failure");
	is_str(info_buf.last_source, "alice", "host row records the account as source");

	/* attempt 0 settles the oldest pending attempt */
	is_int(ag_store_reserve_attempt(st, s, 2, t + 1, &a2, dec), 0, "reserve a2");
	is_int(ag_store_reserve_attempt(st, s, 2, t + 2, &a3, dec), 0, "reserve a3");
	ok(a2 != 0 && a3 != 0 && a2 != a3 && a1 != a2, "attempt ids are distinct");
	is_int(dec[0].failures, 3, "two in flight + one settled = 3");
	is_int(ag_store_settle_failure(st, s, 2, 0, t + 3, out), 0, "settle failure, attempt 0");
	is_int(out[0].failures, 3, "attempt 0 settled a pending one (no new row)");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "alice", t + 3, &pending), 3, "still 3");
	is_int(pending, 1, "one left pending");
	is_int(ag_store_settle_failure(st, s, 2, a3, t + 3, out), 0, "settle a3 by id");
	is_int(out[0].failures, 3, "a3 was still pending: attempt 0 took the oldest (a2)");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "alice", t + 3, &pending), 3, "3 failures");
	is_int(pending, 0, "none pending");

	/* without a reservation (or with an unknown id), a failure is recorded afresh */
	is_int(ag_store_settle_failure(st, s, 2, 0, t + 4, out), 0, "attempt 0, nothing pending");
	is_int(out[0].failures, 4, "attempt 0 with nothing pending records a failure");
	is_int(ag_store_settle_failure(st, s, 2, 123456789, t + 5, out), 0, "unknown attempt id");
	is_int(out[0].failures, 5, "an unknown attempt id is never dropped");
	is_int(out[0].newly_locked, 1, "5 of 5: newly locked");
	is_int(out[0].locked_until, t + 5 + 3600, "5 of 5: locked for lock_time");
	is_int(out[1].newly_locked, 0, "host 5 of 50: not locked");
	is_int(out[1].failures, 5, "host: 5 failures");

	/* refused reservations add nothing, to either subject */
	is_int(ag_store_reserve_attempt(st, s, 2, t + 6, &a1, dec), 0, "reserve while locked: ok");
	is_int(a1, 0, "reserve while locked: no attempt id");
	is_int(dec[0].verdict, AG_REFUSE_LOCKED, "reserve while locked: account locked");
	is_int(dec[0].retry_after, 3600 - 1, "reserve while locked: retry after the lock");
	is_int(dec[0].locked_until, t + 5 + 3600, "reserve while locked: locked_until");
	is_int(dec[0].failures, 5, "reserve while locked: failures not increased");
	is_int(dec[1].verdict, AG_ALLOW, "the host alone would be allowed");
	ag_store_reserve_attempt(st, s, 2, t + 7, &a1, dec);
	ag_store_reserve_attempt(st, s, 2, t + 8, &a1, dec);
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "alice", t + 8, &pending), 5,
	       "three refused reservations: account still 5");
	is_int(failures_of(st, AG_SUBJECT_HOST, "192.0.2.1", t + 8, &pending), 5,
	       "three refused reservations: host still 5");

	/* peek is read-only and agrees */
	{
		struct ag_decision d;

		is_int(ag_store_peek(st, &s[0], t + 9, &d), 0, "peek: ok");
		is_int(d.verdict, AG_REFUSE_LOCKED, "peek: locked");
		is_int(d.failures, 5, "peek: 5 failures");
		is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "alice", t + 9, NULL), 5,
		       "peek adds nothing");
		is_int(ag_store_peek(st, &s[1], t + 9, &d), 0, "peek host: ok");
		is_int(d.verdict, AG_ALLOW, "peek host: allowed");
	}

	/* a success while locked is refused and resets nothing */
	is_int(ag_store_settle_success(st, s, 2, 0, t + 10, dec), 0, "success while locked: ok");
	is_int(dec[0].verdict, AG_REFUSE_LOCKED, "success while locked: refused");
	is_int(dec[0].retry_after, 3600 - 5, "success while locked: retry_after");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "alice", t + 10, NULL), 5,
	       "success while locked: failures kept");
}

static void
test_success(struct ag_store *st)
{
	struct ag_subject_ref s[2];
	struct ag_decision dec[2];
	struct ag_settled out[2];
	int64_t a, pending, t = T0 + 10000;
	int i;

	s[0] = account("bob", 10, 3600, 0);
	s[1] = host("198.51.100.7", 50);

	for (i = 0; i < 2; i++) {
		ag_store_reserve_attempt(st, s, 2, t + i, &a, dec);
		ag_store_settle_failure(st, s, 2, a, t + i, out);
	}
	is_int(out[0].failures, 2, "bob: 2 failures");
	is_int(ag_store_reserve_attempt(st, s, 2, t + 5, &a, dec), 0,
	       "bob: third attempt reserved");
	is_int(ag_store_settle_success(st, s, 2, a, t + 6, dec), 0, "bob: success");
	is_int(dec[0].verdict, AG_ALLOW, "success: account allowed");
	is_int(dec[1].verdict, AG_ALLOW, "success: host allowed");
	is_int(dec[0].failures, 2, "success: reports the 2 failures being reset");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "bob", t + 6, NULL), -1,
	       "success: account subject is gone");
	is_int(failures_of(st, AG_SUBJECT_HOST, "198.51.100.7", t + 6, &pending), 2,
	       "success: host keeps its settled failures (decay with the window)");
	is_int(pending, 0, "success: host's pending row for this attempt refunded");

	/* a success with attempt 0 refunds the host's oldest pending one */
	is_int(ag_store_reserve_attempt(st, s, 2, t + 7, &a, dec), 0, "bob: reserve again");
	is_int(ag_store_settle_success(st, s, 2, 0, t + 8, dec), 0, "bob: success, attempt 0");
	is_int(dec[0].failures, 0,
	       "success, attempt 0: the attempt in flight is not reported as a failure reset");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "bob", t + 8, NULL), -1,
	       "success, attempt 0: account subject is gone");
	is_int(failures_of(st, AG_SUBJECT_HOST, "198.51.100.7", t + 8, &pending), 2,
	       "success, attempt 0: host back to its 2 settled failures");
	is_int(pending, 0, "success, attempt 0: nothing pending");

	/* a success for a subject the store never saw */
	is_int(ag_store_settle_success(st, s, 1, 0, t + 9, dec), 0, "success for a clean account");
	is_int(dec[0].verdict, AG_ALLOW, "clean account: allowed");
	is_int(dec[0].failures, 0, "clean account: nothing reset");

	/* locked while the attempt was in flight: the lock wins */
	s[0] = account("carol", 2, 3600, 0);
	t += 20; /* after bob's events: time only moves forward */
	{
		int64_t c1 = 0, c2 = 0;

		is_int(ag_store_reserve_attempt(st, s, 2, t, &c1, dec), 0,
		       "carol: first in flight");
		is_int(ag_store_reserve_attempt(st, s, 2, t, &c2, dec), 0,
		       "carol: second in flight");
		ok(c1 != 0 && c2 != 0, "carol: two attempts in flight");
		is_int(ag_store_settle_failure(st, s, 2, c2, t + 1, out), 0, "carol: one fails");
		is_int(out[0].newly_locked, 1, "carol: 2 of 2 (one still in flight) locks");
		is_int(ag_store_settle_success(st, s, 2, c1, t + 2, dec), 0,
		       "carol: the other succeeds");
		is_int(dec[0].verdict, AG_REFUSE_LOCKED,
		       "carol: success refused, locked meanwhile");
		is_int(dec[0].locked_until, t + 1 + 3600, "carol: locked_until reported");
		is_int(dec[0].retry_after, 3600 - 1, "carol: retry_after reported");
		is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "carol", t + 2, NULL), 2,
		       "carol: failures not reset");
	}
}

static void
test_parallel_and_delay(struct ag_store *st)
{
	struct ag_subject_ref s[2];
	struct ag_decision dec[2];
	struct ag_settled out[2];
	int64_t a, t = T0 + 20000;
	int i, allowed = 0;

	/* parallel attempts never get past deny */
	s[0] = account("dave", 3, 3600, 0);
	for (i = 0; i < 10; i++) {
		ag_store_reserve_attempt(st, s, 1, t, &a, dec);
		if (a != 0)
			allowed++;
	}
	is_int(allowed, 3, "10 parallel reservations, deny 3: exactly 3 go through");
	is_int(dec[0].verdict, AG_REFUSE_BUSY, "the rest: refused, window full of attempts in flight");
	is_int(dec[0].locked_until, 0, "in flight: no lock claimed");
	is_int(dec[0].retry_after, 1, "in flight, delays off: retry after 1 s");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "dave", t, NULL), 3, "dave: 3 counted");

	/* progressive delay as "not before" in the state */
	s[0] = account("erin", 10, 3600, 1);
	s[1] = host("203.0.113.50", 50);
	s[1].limits.delay_base = 1;
	is_int(ag_store_reserve_attempt(st, s, 2, t, &a, dec), 0, "erin: first attempt");
	is_int(ag_store_settle_failure(st, s, 2, a, t, out), 0, "erin: fails");
	is_int(out[0].delay, 1, "erin: delay 1 after the first failure");
	is_int(out[1].delay, 1, "host: delay 1 after the first failure");
	is_int(ag_store_reserve_attempt(st, s, 2, t, &a, dec), 0, "erin: at once");
	is_int(a, 0, "erin: at once: no attempt");
	is_int(dec[0].verdict, AG_REFUSE_EARLY, "erin: at once: too early");
	is_int(dec[0].retry_after, 1, "erin: at once: retry after 1");
	is_int(ag_store_reserve_attempt(st, s, 2, t + 1, &a, dec), 0, "erin: 1 s later");
	ok(a != 0, "erin: 1 s later: allowed");
	is_int(ag_store_settle_failure(st, s, 2, a, t + 1, out), 0, "erin: fails again");
	is_int(out[0].delay, 2, "erin: delay 2 after the second failure");
	is_int(ag_store_reserve_attempt(st, s, 2, t + 2, &a, dec), 0, "erin: 1 s later");
	is_int(dec[0].verdict, AG_REFUSE_EARLY, "erin: 1 s later: still early");
	is_int(dec[0].retry_after, 1, "erin: 1 s left");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "erin", t + 2, NULL), 2,
	       "erin: early refusals add nothing");
	s[0].name = "erin2";
	is_int(ag_store_reserve_attempt(st, s, 2, t + 2, &a, dec), 0, "other account, same host");
	is_int(dec[0].verdict, AG_ALLOW, "erin2: the account itself is clean");
	is_int(dec[1].verdict, AG_REFUSE_EARLY, "host: its settled failures' delay still runs");
	is_int(a, 0, "one refusing subject refuses the attempt");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "erin2", t + 2, NULL), 0,
	       "erin2: the refused attempt is not counted");
	s[0].name = "erin";
	is_int(ag_store_reserve_attempt(st, s, 2, t + 3, &a, dec), 0, "erin: 2 s later");
	ok(a != 0, "erin: 2 s later: allowed");
	/* the account owes a delay for the attempt in flight; the host does not */
	is_int(ag_store_reserve_attempt(st, s, 2, t + 3, &a, dec), 0, "erin: again at once");
	is_int(dec[0].verdict, AG_REFUSE_EARLY, "erin: her attempt in flight owes a delay");
	s[0].name = "erin2";
	is_int(ag_store_reserve_attempt(st, s, 2, t + 3, &a, dec), 0,
	       "erin2: same host, same time");
	is_int(dec[1].verdict, AG_ALLOW, "host: erin's attempt in flight does not delay others");
	is_int(dec[0].verdict, AG_ALLOW, "erin2: allowed");

	/* enforce 0 (root): counted, never refused, never locked */
	s[0] = account("root", 2, 3600, 1);
	s[0].limits.enforce = 0;
	for (i = 0; i < 5; i++) {
		ag_store_reserve_attempt(st, s, 1, t, &a, dec);
		if (dec[0].verdict != AG_ALLOW || a == 0)
			break;
		ag_store_settle_failure(st, s, 1, a, t, out);
	}
	is_int(i, 5, "enforce 0: five quick failures all allowed");
	is_int(out[0].failures, 5, "enforce 0: failures counted");
	is_int(out[0].locked_until, 0, "enforce 0: never locked");
	is_int(out[0].delay, 0, "enforce 0: no delay");
}

static void
test_window_and_expiry(struct ag_store *st)
{
	struct ag_subject_ref s[1];
	struct ag_decision dec[1], d;
	struct ag_settled out[1];
	int64_t a, t = T0 + 30000;
	int found = -1;

	/* failures leave the window */
	s[0] = account("frank", 10, 3600, 0);
	ag_store_settle_failure(st, s, 1, 0, t, out);
	ag_store_settle_failure(st, s, 1, 0, t + 100, out);
	ag_store_settle_failure(st, s, 1, 0, t + 200, out);
	is_int(out[0].failures, 3, "frank: 3 failures");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "frank", t + WINDOW, NULL), 2,
	       "at t + window the first failure has left the window");
	is_int(ag_store_reserve_attempt(st, s, 1, t + 950, &a, dec), 0, "reserve at t + 950");
	is_int(dec[0].failures, 3, "t + 950: 2 in window + this attempt");
	is_int(st_int(st, "SELECT count(*) FROM failure f JOIN subject s"
	                  " ON s.id = f.subject_id WHERE s.name = ?1", "frank"),
	       3, "the failure outside the window was deleted");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "frank", t + 1200, NULL), 1,
	       "t + 1200: only the pending attempt is in the window");

	/* a lock runs out: the failures behind it go with it */
	s[0] = account("grace", 2, 60, 0);
	ag_store_settle_failure(st, s, 1, 0, t, out);
	ag_store_settle_failure(st, s, 1, 0, t, out);
	is_int(out[0].locked_until, t + 60, "grace: locked for 60 s");
	is_int(ag_store_reserve_attempt(st, s, 1, t + 59, &a, dec), 0, "grace: t + 59");
	is_int(dec[0].verdict, AG_REFUSE_LOCKED, "grace: t + 59: locked");
	is_int(dec[0].retry_after, 1, "grace: t + 59: 1 s left");
	is_int(ag_store_peek(st, &s[0], t + 60, &d), 0, "grace: peek at t + 60");
	is_int(d.verdict, AG_ALLOW, "grace: peek at t + 60: the lock has run out");
	is_int(ag_store_reserve_attempt(st, s, 1, t + 60, &a, dec), 0, "grace: t + 60");
	is_int(dec[0].verdict, AG_ALLOW, "grace: t + 60: allowed");
	is_int(dec[0].failures, 1, "grace: t + 60: old failures cleared with the lock");
	ok(a != 0, "grace: t + 60: attempt given");

	/* lock_time 0: until an admin unlocks */
	s[0] = account("heidi", 1, 0, 0);
	ag_store_settle_failure(st, s, 1, 0, t, out);
	is_int(out[0].locked_until, AG_FOREVER, "heidi: lock_time 0 locks forever");
	is_int(out[0].newly_locked, 1, "heidi: newly locked");
	ag_store_reserve_attempt(st, s, 1, t + 1000000, &a, dec);
	is_int(dec[0].verdict, AG_REFUSE_LOCKED, "heidi: still locked much later");
	is_int(dec[0].retry_after, -1, "heidi: retry_after -1");
	is_int(dec[0].locked_until, AG_FOREVER, "heidi: locked_until AG_FOREVER");

	/* unlock */
	is_int(ag_store_unlock(st, AG_SUBJECT_ACCOUNT, "heidi", &found), 0, "unlock heidi");
	is_int(found, 1, "unlock: found");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "heidi", t, NULL), -1, "unlock: subject gone");
	ag_store_reserve_attempt(st, s, 1, t + 1000001, &a, dec);
	is_int(dec[0].verdict, AG_ALLOW, "heidi: allowed after unlock");
	is_int(dec[0].failures, 1, "heidi: counting from scratch");
	found = -1;
	is_int(ag_store_unlock(st, AG_SUBJECT_ACCOUNT, "nobody", &found), 0, "unlock unknown");
	is_int(found, 0, "unlock unknown: not found");
	found = -1;
	is_int(ag_store_unlock(st, AG_SUBJECT_HOST, "heidi", &found), 0, "unlock: kind matters");
	is_int(found, 0, "unlock of the host \"heidi\" does not touch the account");
}

static int
count_cb(void *ctx, const struct ag_subject_info *info)
{
	(void)info;
	(*(int *)ctx)++;
	return 0;
}

/* Records the names fn sees, in order. */
struct seen {
	char names[8][32];
	int n;
};

static int
seen_cb(void *ctx, const struct ag_subject_info *info)
{
	struct seen *sn = ctx;

	if (sn->n < 8)
		ag_strlcpy(sn->names[sn->n], info->name, sizeof(sn->names[0]));
	sn->n++;
	return 0;
}

/* A spray newer than a lock cannot push the lock out of a limited list;
 * the rest is counted, not silently dropped. */
static void
test_list_locks_first(void)
{
	struct ag_store *st = open_store("listlimit");
	struct ag_subject_ref s[1];
	struct ag_settled out[1];
	struct seen sn;
	char name[32];
	int64_t t = T0, omitted = -1;
	int i;

	if (st == NULL) {
		ok(0, "open listlimit store");
		return;
	}
	/* oldest: a lock that has run out, then a current lock */
	s[0] = account("was-locked", 1, 60, 0);
	ag_store_settle_failure(st, s, 1, 0, t, out);
	s[0] = account("locked", 1, 3600, 0);
	ag_store_settle_failure(st, s, 1, 0, t + 1, out);
	/* then, late in the lock, a spray of 20 names whose rows outlive it */
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "spray%02d", i);
		s[0] = account(name, 10, 3600, 0);
		ag_store_settle_failure(st, s, 1, 0, t + 3000 + i, out);
	}
	memset(&sn, 0, sizeof(sn));
	is_int(ag_store_list_subjects(st, WINDOW, t + 3100, 5, seen_cb, &sn, &omitted), 0,
	       "list with a limit of 5");
	is_int(sn.n, 5, "5 subjects listed");
	is_str(sn.names[0], "locked", "the current lock comes first, before newer failures");
	is_str(sn.names[1], "spray19", "then the most recently active");
	is_int(omitted, 16, "16 left out and counted (the lock that ran out is not one)");
	memset(&sn, 0, sizeof(sn));
	is_int(ag_store_list_subjects(st, WINDOW, t + 3100, 1, seen_cb, &sn, &omitted), 0,
	       "list with a limit of 1");
	is_str(sn.names[0], "locked", "a limit of 1 still shows the lock");
	is_int(omitted, 20, "20 left out");
	memset(&sn, 0, sizeof(sn));
	is_int(ag_store_list_subjects(st, WINDOW, t + 3100, 0, seen_cb, &sn, &omitted), 0,
	       "list without a limit");
	is_int(sn.n, 21, "21 subjects without a limit");
	is_int(omitted, 0, "none left out");
	ag_store_close(st);
}

static void
test_purge(void)
{
	struct ag_store *st = open_store("purge");
	struct ag_subject_ref s[1];
	struct ag_settled out[1];
	char name[64];
	int64_t deleted = -1, t = T0, sub, omitted = -1;
	int i, j, errors = 0, n;
	unsigned seed = 12345;

	if (st == NULL) {
		ok(0, "open purge store");
		return;
	}
	/* a spray of 1000 random names */
	for (i = 0; i < 1000; i++) {
		int len = 1 + (int)(rand_r(&seed) % 40);

		for (j = 0; j < len; j++)
			name[j] = (char)(1 + rand_r(&seed) % 255);
		snprintf(name + len, sizeof(name) - (size_t)len, "#%d", i); /* unique */
		s[0] = account(name, 10, 3600, 1);
		if (ag_store_settle_failure(st, s, 1, 0, t, out) != 0)
			errors++;
	}
	is_int(errors, 0, "1000 random names recorded");
	is_int(st_int(st, "SELECT count(*) FROM subject", NULL), 1000, "1000 subjects stored");
	n = 0;
	is_int(ag_store_list_subjects(st, WINDOW, t, 0, count_cb, &n, &omitted), 0, "list subjects");
	is_int(n, 1000, "list shows 1000 subjects");
	is_int(omitted, 0, "no limit: nothing omitted");
	n = 0;
	ag_store_list_subjects(st, WINDOW, t, 10, count_cb, &n, &omitted);
	is_int(n, 10, "list honours its limit");
	is_int(omitted, 990, "the list says how many it left out");

	/* one locked subject outlives the window, one forever-locked stays */
	s[0] = account("locked", 1, 3600, 0);
	ag_store_settle_failure(st, s, 1, 0, t, out);
	s[0] = account("forever", 1, 0, 0);
	ag_store_settle_failure(st, s, 1, 0, t, out);

	is_int(ag_store_purge(st, t + WINDOW, 0, &deleted), 0, "purge at t + window");
	is_int(deleted, 0, "nothing expired at t + window");
	is_int(ag_store_purge(st, t + WINDOW + 1, 100, &deleted), 0, "purge with a limit");
	is_int(deleted, 100, "purge with limit 100 deletes 100");
	is_int(ag_store_purge(st, t + WINDOW + 1, 0, &deleted), 0, "purge all");
	is_int(deleted, 900, "purge deletes the other 900");
	sub = st_int(st, "SELECT count(*) FROM subject", NULL);
	is_int(sub, 2, "only the two locked subjects are left");
	is_int(st_int(st, "SELECT count(*) FROM failure WHERE subject_id NOT IN"
	                  " (SELECT id FROM subject)", NULL),
	       0, "no orphaned failure rows");
	is_int(ag_store_purge(st, t + 3601, 0, &deleted), 0, "purge after the lock");
	is_int(deleted, 1, "the timed lock expired");
	is_int(ag_store_purge(st, INT64_MAX, 0, &deleted), 0, "purge at the end of time");
	is_int(deleted, 0, "a forever lock is never purged");
	ok(failures_of(st, AG_SUBJECT_ACCOUNT, "forever", t + 3601, NULL) >= 0 &&
	           info_buf.state.locked_until == AG_FOREVER,
	   "forever-locked subject still there, locked");

	/* growth is bounded without an explicit purge: each write cleans up */
	seed = 777;
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "spray-%u-%d", rand_r(&seed), i);
		s[0] = account(name, 10, 3600, 1);
		ag_store_settle_failure(st, s, 1, 0, t + 10000, out);
	}
	for (i = 0; i < 70; i++) {
		snprintf(name, sizeof(name), "later-%d", i);
		s[0] = account(name, 10, 3600, 1);
		ag_store_settle_failure(st, s, 1, 0, t + 10000 + WINDOW + 1, out);
	}
	is_int(st_int(st, "SELECT count(*) FROM subject WHERE name LIKE 'spray-%'", NULL), 0,
	       "70 later writes purged 1000 expired subjects on the way");
	is_int(st_int(st, "SELECT count(*) FROM failure", NULL), 71, "failure rows bounded too");
	ag_store_close(st);
}

static void
test_names(struct ag_store *st)
{
	static const char *const hostile[] = {
		"x'); DROP TABLE subject; --",
		"' OR '1'='1",
		"\" OR \"\"=\"",
		"%s%s%s%n",
		"a\nb\r\n",
		"\xff\xfe\x80 not utf-8",
		"mallory",
		"Mallory",
		"mallory ",
		"*",
		"%",
		"_",
	};
	struct ag_subject_ref s[2];
	struct ag_decision dec[2];
	struct ag_settled out[2];
	char *big;
	int64_t a, t = T0 + 50000;
	size_t i;
	int good = 1;

	for (i = 0; i < AG_ARRAY_SIZE(hostile); i++) {
		s[0] = account(hostile[i], 10, 3600, 0);
		if (ag_store_settle_failure(st, s, 1, 0, t, out) != 0)
			good = 0;
	}
	ok(good, "hostile names recorded");
	for (i = 0; i < AG_ARRAY_SIZE(hostile); i++) {
		int64_t f = failures_of(st, AG_SUBJECT_ACCOUNT, hostile[i], t, NULL);

		is_int(f, 1, "name %zu: exactly its own failure", i);
		is_str(f == 1 ? info_buf.name : NULL, hostile[i], "name %zu: stored verbatim", i);
	}
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "MALLORY", t, NULL), -1,
	       "no case folding in the store: MALLORY unknown");
	is_int(failures_of(st, AG_SUBJECT_HOST, "mallory", t, NULL), -1,
	       "the host \"mallory\" is not the account \"mallory\"");

	/* the longest name, and one byte more */
	big = malloc(AG_NAME_MAX + 2);
	if (big == NULL) {
		ok(0, "malloc");
		return;
	}
	memset(big, 'n', AG_NAME_MAX + 1);
	big[AG_NAME_MAX] = '\0';
	s[0] = account(big, 10, 3600, 0);
	s[1] = host("192.0.2.99", 50);
	is_int(ag_store_reserve_attempt(st, s, 2, t, &a, dec), 0, "4096-byte name: reserve ok");
	is_int(ag_store_settle_failure(st, s, 2, a, t, out), 0, "4096-byte name: settle ok");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, big, t, NULL), 1, "4096-byte name: stored");
	is_int(strlen(info_buf.name), AG_NAME_MAX, "4096-byte name: read back whole");
	is_str(info_buf.last_source, "192.0.2.99", "4096-byte name: source recorded");
	{
		struct ag_subject_info *hi = malloc(sizeof(*hi));

		ok(hi != NULL &&
		           ag_store_subject_info(st, AG_SUBJECT_HOST, "192.0.2.99", WINDOW, t,
		                                 hi) == 0 &&
		           hi->last_source[sizeof(hi->last_source) - 1] == '\0' &&
		           strlen(hi->last_source) == sizeof(hi->last_source) - 1,
		   "a 4096-byte source is cut to fit last_source");
		free(hi);
	}

	big[AG_NAME_MAX] = 'n';
	big[AG_NAME_MAX + 1] = '\0';
	s[0] = account(big, 10, 3600, 0);
	a = -1;
	is_int(ag_store_reserve_attempt(st, s, 2, t, &a, dec), AG_ERR_INVAL, "4097 bytes: reserve");
	is_int(a, 0, "4097 bytes: no attempt id");
	is_int(ag_store_settle_failure(st, s, 2, 0, t, out), AG_ERR_INVAL, "4097 bytes: settle");
	is_int(ag_store_settle_success(st, s, 2, 0, t, dec), AG_ERR_INVAL, "4097 bytes: success");
	is_int(ag_store_peek(st, s, t, dec), AG_ERR_INVAL, "4097 bytes: peek");
	is_int(ag_store_subject_info(st, AG_SUBJECT_ACCOUNT, big, WINDOW, t, &info_buf),
	       AG_ERR_INVAL, "4097 bytes: subject_info");
	is_int(failures_of(st, AG_SUBJECT_HOST, "192.0.2.99", t, NULL), 1,
	       "4097 bytes: the host was not counted either");

	/* The longest names that do not compress, such as a spray of random
	 * bytes sends: stored and told apart like any other (PostgreSQL
	 * cannot index a value of more than 2704 bytes as it is). */
	{
		int64_t f1, f2;

		random_name(big, 99);
		s[0] = account(big, 10, 3600, 0);
		s[1] = host("192.0.2.98", 50);
		is_int(ag_store_reserve_attempt(st, s, 2, t, &a, dec), 0,
		       "4096 random bytes: reserve ok");
		is_int(ag_store_settle_failure(st, s, 2, a, t, out), 0, "4096 random bytes: settle ok");
		f1 = failures_of(st, AG_SUBJECT_ACCOUNT, big, t, NULL);
		ok(f1 == 1 && memcmp(info_buf.name, big, AG_NAME_MAX + 1) == 0,
		   "4096 random bytes: stored, read back whole");
		big[AG_NAME_MAX - 1] = big[AG_NAME_MAX - 1] == 'x' ? 'y' : 'x';
		is_int(ag_store_settle_failure(st, s, 1, 0, t, out), 0,
		       "4096 random bytes, the last one different: settle ok");
		f2 = failures_of(st, AG_SUBJECT_ACCOUNT, big, t, NULL);
		ok(f1 == 1 && f2 == 1, "4096 random bytes, the last one different: its own subject");
		is_int(failures_of(st, AG_SUBJECT_HOST, "192.0.2.98", t, NULL), 1,
		       "4096 random bytes: the host counted");
	}
	free(big);

	s[0] = account("", 10, 3600, 0);
	is_int(ag_store_reserve_attempt(st, s, 1, t, &a, dec), AG_ERR_INVAL, "empty name rejected");
	s[0] = account(NULL, 10, 3600, 0);
	is_int(ag_store_reserve_attempt(st, s, 1, t, &a, dec), AG_ERR_INVAL, "NULL name rejected");
	s[0] = account("ok", 10, 3600, 0);
	is_int(ag_store_reserve_attempt(st, s, 0, t, &a, dec), AG_ERR_INVAL,
	       "no subjects rejected");
	is_int(ag_store_settle_failure(st, s, AG_MAX_SUBJECTS + 1, 0, t, out), AG_ERR_INVAL,
	       "too many subjects rejected");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "ok", t, NULL), -1,
	       "rejected calls stored nothing");
}

/* sync = normal | full reaches the connection as PRAGMA synchronous (it
 * once parsed but was dropped: full gave NORMAL). */

static void
test_exempt_unknown(struct ag_store *st)
{
	struct ag_subject_ref s[1];
	struct ag_decision dec[1];
	struct ag_settled out[1];
	int64_t a = -1, pending = -1, t = T0 + 90000;

	s[0] = account("uncle", 3, 3600, 0);
	s[0].exempt_unknown = 1;
	is_int(ag_store_settle_failure(st, s, 1, 0, t, out), 0, "unknown exemption: failure 1");
	is_int(ag_store_settle_failure(st, s, 1, 0, t, out), 0, "failure 2");
	is_int(ag_store_settle_failure(st, s, 1, 0, t, out), AG_STORE_DECIDE_EXEMPT,
	       "failure 3 would lock: the store asks");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "uncle", t, &pending), 2,
	       "and recorded nothing");
	s[0].exempt_unknown = 0;
	s[0].limits.enforce = 0; /* decided: exempt */
	is_int(ag_store_settle_failure(st, s, 1, 0, t, out), 0, "asked again, exempt: recorded");
	ok(out[0].failures == 3 && out[0].locked_until == 0, "3 failures, not locked");

	s[0].limits.enforce = 1;
	s[0].exempt_unknown = 1;
	is_int(ag_store_reserve_attempt(st, s, 1, t, &a, dec), AG_STORE_DECIDE_EXEMPT,
	       "a full window would refuse: reserve asks");
	is_int(a, 0, "no attempt id");
	ok(failures_of(st, AG_SUBJECT_ACCOUNT, "uncle", t, &pending) == 3 && pending == 0,
	   "nothing reserved");
	is_int(ag_store_peek(st, s, t, dec), AG_STORE_DECIDE_EXEMPT, "peek asks too");
	s[0].exempt_unknown = 0; /* decided: not exempt */
	is_int(ag_store_reserve_attempt(st, s, 1, t, &a, dec), 0, "asked again, not exempt");
	is_int(dec[0].verdict, AG_REFUSE_LOCKED, "refused");
	s[0].limits.enforce = 0; /* exempt */
	is_int(ag_store_reserve_attempt(st, s, 1, t, &a, dec), 0, "asked again, exempt");
	ok(dec[0].verdict == AG_ALLOW && a != 0, "allowed, with an attempt id");

	/* settle_success of a locked subject */
	s[0] = account("aunt", 1, 3600, 0);
	is_int(ag_store_settle_failure(st, s, 1, 0, t, out), 0, "aunt locked (deny 1)");
	s[0].exempt_unknown = 1;
	is_int(ag_store_settle_success(st, s, 1, 0, t, dec), AG_STORE_DECIDE_EXEMPT,
	       "a success of a locked, maybe exempt, account: the store asks");
	ok(failures_of(st, AG_SUBJECT_ACCOUNT, "aunt", t, NULL) == 1 &&
	           info_buf.state.locked_until == t + 3600,
	   "still locked, failure kept");
	s[0].exempt_unknown = 0;
	s[0].limits.enforce = 0;
	is_int(ag_store_settle_success(st, s, 1, 0, t, dec), 0, "asked again, exempt");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "aunt", t, NULL), -1, "the success reset it");
}

/* A busy state refuses an attempt after busy_timeout, but a failure that
 * already happened waits longer (AG_STORE_RECORD_WAIT_MS) rather than be
 * forgotten.  A child process holds the write lock: through a check with
 * busy_timeout 200 ms, then until 600 ms after the parent starts to
 * record a failure. */

static void
test_release(struct ag_store *st)
{
	struct ag_subject_ref s[2];
	struct ag_decision dec[2];
	struct ag_settled out[2];
	int64_t a1 = 0, a2 = 0, a3 = 0, pending, t = T0 + 40000;
	int released = -1;

	s[0] = account("ivan", 3, 3600, 0);
	s[1] = host("198.51.100.200", 50);
	is_int(ag_store_reserve_attempt(st, s, 2, t, &a1, dec), 0, "ivan: attempt 1");
	is_int(ag_store_settle_failure(st, s, 2, a1, t, out), 0, "ivan: attempt 1 fails");
	is_int(ag_store_reserve_attempt(st, s, 2, t + 1, &a2, dec), 0, "ivan: attempt 2");
	is_int(ag_store_release_attempt(st, s, 2, a2, &released), 0, "release attempt 2");
	is_int(released, 1, "release: found");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "ivan", t + 1, &pending), 1,
	       "release: the settled failure stays");
	is_int(pending, 0, "release: nothing in flight");
	is_int(failures_of(st, AG_SUBJECT_HOST, "198.51.100.200", t + 1, &pending), 1,
	       "release: the host keeps its settled failure only");
	is_int(ag_store_release_attempt(st, s, 2, a1, &released), 0, "release a settled attempt");
	is_int(released, 0, "a settled failure is not released");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "ivan", t + 1, NULL), 1, "still 1 failure");

	/* attempt 0 withdraws nothing: the oldest in flight could be
	 * another login's */
	is_int(ag_store_reserve_attempt(st, s, 2, t + 2, &a3, dec), 0, "ivan: attempt in flight");
	is_int(ag_store_release_attempt(st, s, 2, 0, &released), 0, "release attempt 0");
	is_int(released, 0, "attempt 0: nothing released");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "ivan", t + 2, &pending), 2, "ivan: 2 failures");
	is_int(pending, 1, "ivan: the attempt is still in flight");
	is_int(ag_store_release_attempt(st, s, 2, a3, &released), 0, "release it by its id");
	is_int(released, 1, "by its id: released");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "ivan", t + 2, &pending), 1, "ivan: 1 failure");
	is_int(pending, 0, "ivan: nothing in flight");
	is_int(failures_of(st, AG_SUBJECT_HOST, "198.51.100.200", t + 2, &pending), 1,
	       "host: the attempt withdrawn there too");
	is_int(pending, 0, "host: nothing in flight");
}


static struct ag_web_session *sess_buf;

/* Creates a session of eve at now whose id hash is all byte b; 0 or -1. */
static int
sess_create(struct ag_store *st, uint8_t b, int64_t now, int64_t *evicted)
{
	int refused = 0;

	memset(sess_buf, 0, sizeof(*sess_buf));
	memset(sess_buf->id_hash, b, 32);
	ag_strlcpy(sess_buf->user, "eve", sizeof(sess_buf->user));
	ag_strlcpy(sess_buf->user_key, "eve", sizeof(sess_buf->user_key));
	memset(sess_buf->fingerprint, 0xaa, 32);
	sess_buf->created = sess_buf->last_seen = now;
	sess_buf->idle_expires = now + 3600;
	sess_buf->abs_expires = now + 86400;
	if (ag_store_session_create(st, sess_buf, 5, 1, now, evicted, &refused) != 0 || refused)
		return -1;
	return 0;
}

static int
sess_alive(struct ag_store *st, uint8_t b, int64_t now)
{
	uint8_t h[32];
	int alive = -1;

	memset(h, b, 32);
	if (ag_store_session_alive(st, h, now, &alive, NULL) != 0)
		return -1;
	return alive;
}

/* Uses (touches) the session with hash byte b at now; 1 when written. */
static int
sess_touch(struct ag_store *st, uint8_t b, int64_t now)
{
	enum ag_session_verdict v;
	uint8_t h[32], fp[32];
	int touched = 0;

	memset(h, b, 32);
	memset(fp, 0xaa, 32);
	if (ag_store_session_check(st, h, fp, now, 3600, 60, 1, &v, sess_buf, &touched) != 0 ||
	    v != AG_SESSION_OK)
		return -1;
	return touched;
}

/* At the session limit the least recently used session goes, exactly,
 * even when several were created or used in the same second (whole
 * seconds once tied, and the tie fell to the order of the random id
 * hashes).  The hashes below are chosen so that hash order would pick
 * another session than the right one each time. */
static void
test_session_lru(void)
{
	struct ag_store *st = open_store("sessions");
	int64_t ev = -1, t = T0;
	static const uint8_t later[] = { 0x10, 0x20, 0x30, 0x40 };
	int i, good = 1;

	if ((sess_buf = malloc(sizeof(*sess_buf))) == NULL || st == NULL) {
		ok(0, "open the sessions store");
		free(sess_buf);
		ag_store_close(st);
		return;
	}
	/* 6 sessions in one second, limit 5: the first one created goes */
	good = sess_create(st, 0xff, t, &ev) == 0;
	for (i = 0; i < 4; i++)
		good = good && sess_create(st, later[i], t, &ev) == 0 && ev == 0;
	ok(good, "5 sessions created in the same second, none evicted");
	is_int(sess_create(st, 0x50, t, &ev), 0, "a 6th in the same second is created");
	is_int(ev, 1, "one session evicted");
	is_int(sess_alive(st, 0xff, t), 0, "the first one created (hash ff..) is the one evicted");
	good = 1;
	for (i = 0; i < 4; i++)
		good = good && sess_alive(st, later[i], t) == 1;
	ok(good && sess_alive(st, 0x50, t) == 1, "the other five are alive");

	/* uses within one later second: the order of use decides */
	t += 100;
	is_int(sess_touch(st, 0x40, t), 1, "use 40.. at t+100 (written)");
	is_int(sess_touch(st, 0x30, t), 1, "then 30..");
	is_int(sess_touch(st, 0x20, t), 1, "then 20..");
	is_int(sess_touch(st, 0x10, t), 1, "then 10.. (50.. not used since t)");
	is_int(sess_create(st, 0x60, t, &ev), 0, "a new session at t+100");
	is_int(sess_alive(st, 0x50, t), 0, "evicts 50.., unused since t");
	is_int(sess_create(st, 0x70, t, &ev), 0, "another one at t+100");
	is_int(sess_alive(st, 0x40, t), 0, "evicts 40.., the first used at t+100");
	is_int(sess_create(st, 0x80, t, &ev), 0, "and another");
	is_int(sess_alive(st, 0x30, t), 0, "evicts 30.., the next used");
	ok(sess_alive(st, 0x10, t) == 1 && sess_alive(st, 0x20, t) == 1 &&
	           sess_alive(st, 0x60, t) == 1 && sess_alive(st, 0x70, t) == 1 &&
	           sess_alive(st, 0x80, t) == 1,
	   "the five most recently used are left");
	ag_store_close(st);
	free(sess_buf);
	sess_buf = NULL;
}

/* A file that says it is an authguard store but lacks the tables, and one
 * with a trigger planted to erase failures. */

/* ------------------------------------------------------------------ MFA */

/* A stand-in for lib/mfa.c's code check: the "code" is right when the
 * sealed secret is the one expected, and names the step it is for. */
struct fake_totp {
	const uint8_t *want;
	size_t want_len;
	int64_t step;         /* the step the code is for */
	int64_t seen_last;    /* last_step the store passed */
	int calls;
};

static int
fake_check(void *ctx, const uint8_t *sealed, size_t len, int64_t last_step, int64_t *stepp)
{
	struct fake_totp *f = ctx;

	f->calls++;
	f->seen_last = last_step;
	if (len != f->want_len || memcmp(sealed, f->want, len) != 0)
		return AG_MFA_MISMATCH;
	if (f->step <= last_step)
		return AG_MFA_REPLAY;
	*stepp = f->step;
	return 0;
}

static void
fill_bytes(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	/* every byte value, NUL included: blobs are bytes, not text */
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 37 + seed);
}

static void
test_mfa(void)
{
	struct ag_store *st = open_store("mfa");
	struct ag_mfa_record *rec = malloc(sizeof(*rec));
	uint8_t sealed1[100], sealed2[AG_MFA_SEALED_MAX], codes[10][32], codes2[3][32], big[300];
	struct fake_totp f;
	int64_t t = T0;
	int verdict = -1, used = -1, found = -1;
	size_t i;

	if (st == NULL || rec == NULL) {
		ok(0, "open the mfa store");
		ag_store_close(st);
		free(rec);
		return;
	}
	fill_bytes(sealed1, sizeof(sealed1), 1);
	fill_bytes(sealed2, sizeof(sealed2), 2);
	for (i = 0; i < 10; i++)
		memset(codes[i], (int)(0x10 + i), 32);
	for (i = 0; i < 3; i++)
		memset(codes2[i], (int)(0x80 + i), 32);

	is_int(ag_store_mfa_get(st, "mia", t, rec), AG_ERR_NOTFOUND, "mfa: nothing for mia");
	is_int(ag_store_mfa_set_pending(st, "mia", sealed1, sizeof(sealed1), t, t + 600), 0,
	       "mfa: enrollment stored");
	is_int(ag_store_mfa_get(st, "mia", t, rec), 0, "mfa: read back");
	ok(rec->pending && !rec->active, "mfa: pending, not active");
	ok(rec->pending_len == sizeof(sealed1) &&
	           memcmp(rec->pending_secret, sealed1, sizeof(sealed1)) == 0,
	   "mfa: the sealed secret comes back byte for byte (NULs included)");
	is_int(rec->pending_expires, t + 600, "mfa: enrollment expiry");
	is_int(rec->backup_left, 0, "mfa: no backup codes yet");

	memset(&f, 0, sizeof(f));
	f.want = sealed1;
	f.want_len = sizeof(sealed1);
	f.step = 1000;
	is_int(ag_store_mfa_use_totp(st, "mia", t, 0, fake_check, &f, NULL, 0, &verdict),
	       AG_ERR_NOTFOUND, "mfa: no active secret to check a login code against");
	is_int(f.calls, 0, "mfa: and the check was not called");

	f.want = sealed2; /* a wrong code */
	f.want_len = sizeof(sealed2);
	is_int(ag_store_mfa_use_totp(st, "mia", t, 1, fake_check, &f, codes, 10, &verdict), 0,
	       "mfa: confirm with a wrong code");
	is_int(verdict, AG_MFA_MISMATCH, "mfa: mismatch");
	is_int(f.seen_last, -1, "mfa: a new secret is checked with no step used");
	ok(ag_store_mfa_get(st, "mia", t, rec) == 0 && rec->pending && !rec->active,
	   "mfa: still pending");

	f.want = sealed1;
	f.want_len = sizeof(sealed1);
	is_int(ag_store_mfa_use_totp(st, "mia", t + 1, 1, fake_check, &f, codes, 10, &verdict), 0,
	       "mfa: confirm with the right code");
	is_int(verdict, 0, "mfa: accepted");
	is_int(ag_store_mfa_get(st, "mia", t + 1, rec), 0, "mfa: read the confirmed record");
	ok(rec->active && !rec->pending, "mfa: active, nothing pending");
	ok(rec->secret_len == sizeof(sealed1) && memcmp(rec->secret, sealed1, sizeof(sealed1)) == 0,
	   "mfa: the pending secret became the active one");
	is_int(rec->last_step, 1000, "mfa: the confirming code's step is used");
	is_int(rec->enrolled_at, t + 1, "mfa: enrolled_at");
	is_int(rec->backup_left, 10, "mfa: 10 backup codes");

	is_int(ag_store_mfa_use_totp(st, "mia", t + 2, 0, fake_check, &f, NULL, 0, &verdict), 0,
	       "mfa: the same code again");
	is_int(f.seen_last, 1000, "mfa: checked against the last step used");
	is_int(verdict, AG_MFA_REPLAY, "mfa: refused as a replay");
	f.step = 1001;
	is_int(ag_store_mfa_use_totp(st, "mia", t + 30, 0, fake_check, &f, NULL, 0, &verdict), 0,
	       "mfa: the next step's code");
	is_int(verdict, 0, "mfa: accepted");
	ok(ag_store_mfa_get(st, "mia", t + 30, rec) == 0 && rec->last_step == 1001,
	   "mfa: its step recorded");

	is_int(ag_store_mfa_use_backup(st, "mia", codes[3], &used), 0, "mfa: a backup code");
	is_int(used, 1, "mfa: used");
	is_int(ag_store_mfa_use_backup(st, "mia", codes[3], &used), 0, "mfa: the same code again");
	is_int(used, 0, "mfa: single use");
	ag_store_mfa_use_backup(st, "mia", codes2[0], &used);
	is_int(used, 0, "mfa: an unknown code is not used");
	ag_store_mfa_use_backup(st, "max", codes[4], &used);
	is_int(used, 0, "mfa: another account's code does not count");
	ok(ag_store_mfa_get(st, "mia", t + 30, rec) == 0 && rec->backup_left == 9,
	   "mfa: 9 backup codes left");

	/* a new enrollment leaves the active secret in force */
	is_int(ag_store_mfa_set_pending(st, "mia", sealed2, sizeof(sealed2), t + 40, t + 640), 0,
	       "mfa: re-enrollment stored");
	ok(ag_store_mfa_get(st, "mia", t + 40, rec) == 0 && rec->active && rec->pending &&
	           rec->secret_len == sizeof(sealed1) && rec->pending_len == sizeof(sealed2) &&
	           memcmp(rec->pending_secret, sealed2, sizeof(sealed2)) == 0,
	   "mfa: old secret active, new one pending (256 bytes)");
	ok(ag_store_mfa_get(st, "mia", t + 641, rec) == 0 && rec->active && !rec->pending,
	   "mfa: an expired enrollment is not reported");

	is_int(ag_store_mfa_set_backup(st, "mia", codes2, 3), 0, "mfa: new backup codes");
	ag_store_mfa_use_backup(st, "mia", codes[5], &used);
	is_int(used, 0, "mfa: the old codes are gone");
	ag_store_mfa_use_backup(st, "mia", codes2[2], &used);
	is_int(used, 1, "mfa: a new one works");
	is_int(ag_store_mfa_set_backup(st, "nobody", codes2, 3), AG_ERR_NOTFOUND,
	       "mfa: backup codes need an active secret");

	/* an enrollment never confirmed goes at its expiry */
	ag_store_mfa_set_pending(st, "nina", sealed1, sizeof(sealed1), t, t + 600);
	is_int(ag_store_mfa_set_backup(st, "nina", codes2, 3), AG_ERR_NOTFOUND,
	       "mfa: nor a pending one");
	is_int(ag_store_mfa_get(st, "nina", t + 601, rec), AG_ERR_NOTFOUND,
	       "mfa: an expired enrollment alone is nothing");
	{
		int64_t deleted = -1;

		is_int(ag_store_purge(st, t + 700, 0, &deleted), 0, "mfa: purge");
	}
	is_int(st_int(st, "SELECT count(*) FROM mfa WHERE account = ?1", "nina"), 0,
	       "mfa: purge removed the expired enrollment");
	is_int(st_int(st, "SELECT count(*) FROM mfa WHERE account = ?1 AND pending IS NULL", "mia"),
	       1, "mfa: and cleared mia's expired one, keeping her secret");

	/* names that PostgreSQL must store escaped stay distinct */
	ag_store_mfa_set_pending(st, "b\\x41", sealed1, sizeof(sealed1), t, t + 600);
	ag_store_mfa_set_pending(st, "bA", sealed2, sizeof(sealed2), t, t + 600);
	ag_store_mfa_set_pending(st, "b\xff\xfe", sealed2, 50, t, t + 600);
	ok(ag_store_mfa_get(st, "b\\x41", t, rec) == 0 && rec->pending_len == sizeof(sealed1),
	   "mfa: a name with a backslash is its own");
	ok(ag_store_mfa_get(st, "bA", t, rec) == 0 && rec->pending_len == sizeof(sealed2),
	   "mfa: and not the name its escape would spell");
	ok(ag_store_mfa_get(st, "b\xff\xfe", t, rec) == 0 && rec->pending_len == 50,
	   "mfa: a name that is not UTF-8");
	is_int(ag_store_mfa_get(st, "b\\xff\\xfe", t, rec), AG_ERR_NOTFOUND,
	       "mfa: is not the same as its escaped spelling");

	/* reset */
	is_int(ag_store_mfa_reset(st, "mia", &found), 0, "mfa: reset");
	is_int(found, 1, "mfa: reset found mia");
	is_int(ag_store_mfa_get(st, "mia", t + 50, rec), AG_ERR_NOTFOUND, "mfa: mia has nothing");
	is_int(st_int(st, "SELECT count(*) FROM backup_code WHERE account = ?1", "mia"), 0,
	       "mfa: her backup codes went with it");
	is_int(ag_store_mfa_reset(st, "mia", &found), 0, "mfa: reset again");
	is_int(found, 0, "mfa: nothing found");

	/* bad input */
	fill_bytes(big, sizeof(big), 3);
	is_int(ag_store_mfa_set_pending(st, "", sealed1, 10, t, t + 1), AG_ERR_INVAL,
	       "mfa: empty account");
	is_int(ag_store_mfa_set_pending(st, "x", sealed1, 0, t, t + 1), AG_ERR_INVAL,
	       "mfa: empty secret");
	is_int(ag_store_mfa_set_pending(st, "x", big, AG_MFA_SEALED_MAX + 1, t, t + 1), AG_ERR_INVAL,
	       "mfa: secret too long");
	is_int(ag_store_mfa_get(st, "x", t, rec), AG_ERR_NOTFOUND, "mfa: nothing stored for them");
	ag_store_close(st);
	free(rec);
}

/* ------------------------------------------------------------ jti denylist */

static int
revoked(struct ag_store *st, const char *jti, int64_t now)
{
	int r = -1;

	if (ag_store_jti_is_revoked(st, jti, now, &r) != 0)
		return -1;
	return r;
}

static void
test_jti(void)
{
	struct ag_store *st = open_store("jti");
	char long_jti[258], name[32];
	int64_t t = T0, deleted = -1;
	int r = 0, i, errors = 0;

	if (st == NULL) {
		ok(0, "open the jti store");
		return;
	}
	is_int(revoked(st, "j1", t), 0, "jti: not revoked");
	is_int(ag_store_jti_revoke(st, "j1", t, t + 100), 0, "jti: revoke until t + 100");
	is_int(revoked(st, "j1", t), 1, "jti: revoked");
	is_int(revoked(st, "j1", t + 100), 1, "jti: still at its expiry");
	is_int(revoked(st, "j1", t + 101), 0, "jti: not after (the token is refused anyway)");
	is_int(revoked(st, "j2", t), 0, "jti: another id is not");
	is_int(ag_store_jti_revoke(st, "j1", t, t + 50), 0, "jti: revoke again, shorter");
	is_int(revoked(st, "j1", t + 100), 1, "jti: the longer expiry is kept");
	is_int(ag_store_jti_revoke(st, "j1", t, t + 200), 0, "jti: revoke again, longer");
	is_int(revoked(st, "j1", t + 200), 1, "jti: extended");

	memset(long_jti, 'j', 256);
	long_jti[256] = '\0';
	is_int(ag_store_jti_revoke(st, long_jti, t, t + 100), 0, "jti: 256 bytes");
	is_int(revoked(st, long_jti, t), 1, "jti: 256 bytes revoked");
	long_jti[256] = 'j';
	long_jti[257] = '\0';
	is_int(ag_store_jti_revoke(st, long_jti, t, t + 100), AG_ERR_INVAL, "jti: 257 bytes refused");
	is_int(ag_store_jti_is_revoked(st, long_jti, t, &r), AG_ERR_INVAL, "jti: 257 bytes checked");
	is_int(r, 1, "jti: an id that cannot be checked reads as revoked");
	r = 0;
	is_int(ag_store_jti_is_revoked(st, "", t, &r), AG_ERR_INVAL, "jti: empty id");
	is_int(r, 1, "jti: empty id reads as revoked");
	is_int(ag_store_jti_revoke(st, "a\\b\xc3\x28", t, t + 100), 0, "jti: odd bytes");
	is_int(revoked(st, "a\\b\xc3\x28", t), 1, "jti: odd bytes revoked");
	is_int(revoked(st, "a\\\\b\\xc3(", t), 0, "jti: its escaped spelling is not");

	/* expired ids go with the writes that follow, a few at a time */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "old%d", i);
		if (ag_store_jti_revoke(st, name, t, t + 10) != 0)
			errors++;
	}
	is_int(errors, 0, "jti: 100 short-lived revocations");
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "new%d", i);
		ag_store_jti_revoke(st, name, t + 1000, t + 2000);
	}
	is_int(st_int(st, "SELECT count(*) FROM revoked_jti WHERE jti LIKE 'old%'", NULL), 0,
	       "jti: 10 later revocations purged the 100 expired ones");
	is_int(ag_store_purge(st, t + 2001, 0, &deleted), 0, "jti: purge");
	is_int(st_int(st, "SELECT count(*) FROM revoked_jti", NULL), 0, "jti: all expired, all gone");
	ok(deleted >= 10, "jti: purge counted them (%jd)", (intmax_t)deleted);
	ag_store_close(st);
}

/* ------------------------------------------------------ refresh families */

/* The public handle of a session (what families record as their sid):
 * "s-" and the hash in hex, and back. */
static void
sid_of(const uint8_t h[32], char out[AG_SID_MAX + 1])
{
	size_t i;

	out[0] = 's';
	out[1] = '-';
	for (i = 0; i < 32; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", h[i]);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
sid_hash(const char *sid, uint8_t out[32])
{
	size_t i;

	if (strlen(sid) != 66 || sid[0] != 's' || sid[1] != '-')
		return -1;
	for (i = 0; i < 32; i++) {
		int hi = hexval(sid[2 + 2 * i]), lo = hexval(sid[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static void
hash_of(uint8_t h[32], uint8_t b)
{
	memset(h, b, 32);
}

/* Redeems the token with hash byte b for one with hash byte next. */
static enum ag_refresh_outcome
redeem_info(struct ag_store *st, uint8_t b, uint8_t next, int64_t now, int64_t grace,
            struct ag_refresh_info *info)
{
	enum ag_refresh_outcome out = (enum ag_refresh_outcome)-1;
	uint8_t h[32], n[32];
	int r;

	hash_of(h, b);
	hash_of(n, next);
	if ((r = ag_store_refresh_redeem(st, h, n, now, grace, sid_hash, &out, info)) != 0) {
		diag("redeem: %d %s", r, ag_store_errmsg(st));
		return (enum ag_refresh_outcome)-1;
	}
	return out;
}

static enum ag_refresh_outcome
redeem(struct ag_store *st, uint8_t b, uint8_t next, int64_t now, int64_t grace)
{
	struct ag_refresh_info info;

	return redeem_info(st, b, next, now, grace, &info);
}

/* A family whose first token has hash byte b; its id, or -1. */
static int64_t
family(struct ag_store *st, const char *subject, const char *key, const char *sid, uint8_t b,
       int64_t now, int64_t expires)
{
	uint8_t h[32];
	int64_t fam = 0;

	hash_of(h, b);
	if (ag_store_refresh_create(st, subject, key, sid, h, now, expires, &fam) != 0) {
		diag("refresh_create: %s", ag_store_errmsg(st));
		return -1;
	}
	return fam;
}

/* A web session of user (key) with hash byte b and fingerprint byte fp. */
static int
web_session(struct ag_store *st, struct ag_web_session *ws, const char *user, const char *key,
            uint8_t b, uint8_t fp, const char *clerk, int64_t now, int64_t idle, int64_t life,
            int64_t max, int evict, int64_t *evicted, int *refused)
{
	int64_t ev = 0;
	int ref = 0, r;

	memset(ws, 0, sizeof(*ws));
	hash_of(ws->id_hash, b);
	ag_strlcpy(ws->user, user, sizeof(ws->user));
	ag_strlcpy(ws->user_key, key, sizeof(ws->user_key));
	memset(ws->fingerprint, fp, 32);
	if (clerk != NULL)
		ag_strlcpy(ws->clerk_sid, clerk, sizeof(ws->clerk_sid));
	ws->created = ws->last_seen = now;
	ws->idle_expires = now + idle;
	ws->abs_expires = now + life;
	r = ag_store_session_create(st, ws, max, evict, now, evicted != NULL ? evicted : &ev,
	                            refused != NULL ? refused : &ref);
	if (r != 0)
		diag("session_create: %s", ag_store_errmsg(st));
	return r;
}

static int
web_alive(struct ag_store *st, uint8_t b, int64_t now)
{
	uint8_t h[32];
	int alive = -1;

	hash_of(h, b);
	if (ag_store_session_alive(st, h, now, &alive, NULL) != 0)
		return -1;
	return alive;
}

static void
test_refresh(void)
{
	struct ag_store *st = open_store("refresh");
	struct ag_web_session *ws = malloc(sizeof(*ws));
	struct ag_refresh_info info;
	char sid[AG_SID_MAX + 1];
	uint8_t h[32];
	int64_t t = T0, f1, f2, f3, n = -1;

	if (st == NULL || ws == NULL) {
		ok(0, "open the refresh store");
		ag_store_close(st);
		free(ws);
		return;
	}
	/* a session, two families tied to it, one not */
	ok(web_session(st, ws, "Alice", "alice", 0xa0, 1, NULL, t, 3600, 86400, 0, 1, NULL, NULL) ==
	           0,
	   "refresh: alice's session");
	sid_of(ws->id_hash, sid);
	f1 = family(st, "Alice", "alice", sid, 0x01, t, t + 1000);
	f2 = family(st, "Alice", "alice", sid, 0x21, t, t + 1000);
	f3 = family(st, "Alice", "alice", NULL, 0x31, t, t + 1000);
	ok(f1 > 0 && f2 > 0 && f3 > 0 && f1 != f2 && f2 != f3, "refresh: three families");

	is_int(redeem_info(st, 0x01, 0x02, t + 1, 0, &info), AG_REFRESH_OK, "refresh: redeem");
	is_int(info.family, f1, "refresh: the family's id");
	is_str(info.subject, "Alice", "refresh: the subject as given, not its key");
	is_str(info.sid, sid, "refresh: the session's handle");
	is_int(info.expires, t + 1000, "refresh: the family's expiry");
	is_int(redeem(st, 0x02, 0x03, t + 2, 0), AG_REFRESH_OK, "refresh: its successor");
	is_int(redeem(st, 0x02, 0x04, t + 3, 0), AG_REFRESH_REUSED,
	       "refresh: a used token again: theft");
	is_int(redeem(st, 0x03, 0x05, t + 3, 0), AG_REFRESH_REVOKED,
	       "refresh: the family's newest token is revoked with it");
	is_int(web_alive(st, 0xa0, t + 3), 0, "refresh: the family's session has ended");
	is_int(redeem(st, 0x21, 0x22, t + 3, 0), AG_REFRESH_REVOKED,
	       "refresh: and the other family of that session is revoked");
	is_int(redeem(st, 0x31, 0x32, t + 3, 0), AG_REFRESH_OK,
	       "refresh: a family of the same user without the session is not");
	is_int(redeem(st, 0x77, 0x78, t + 3, 0), AG_REFRESH_UNKNOWN, "refresh: unknown token");

	/* expiry, and a family issued while the clock was ahead */
	family(st, "bob", "bob", NULL, 0x41, t, t + 10);
	is_int(redeem(st, 0x41, 0x42, t + 10, 0), AG_REFRESH_EXPIRED, "refresh: at its expiry");
	family(st, "bob", "bob", NULL, 0x43, t, t + 10);
	is_int(redeem(st, 0x43, 0x44, t + 9, 0), AG_REFRESH_OK, "refresh: a second before");
	family(st, "bob", "bob", NULL, 0x45, t + 1000, t + 5000);
	is_int(redeem(st, 0x45, 0x46, t + 1000 - AG_REFRESH_MAX_SKEW - 1, 0),
	       AG_REFRESH_NOT_YET_VALID, "refresh: created more than the skew ahead: not yet");
	is_int(redeem(st, 0x45, 0x46, t + 1000 - AG_REFRESH_MAX_SKEW, 0), AG_REFRESH_OK,
	       "refresh: at the skew: redeemed (and the early try changed nothing)");

	/* grace: the previous token again, its successor never used */
	family(st, "carl", "carl", NULL, 0x51, t, t + 1000);
	is_int(redeem(st, 0x51, 0x52, t + 100, 10), AG_REFRESH_OK, "refresh grace: redeem");
	is_int(redeem(st, 0x51, 0x53, t + 110, 10), AG_REFRESH_RETRIED,
	       "refresh grace: retried at the end of the grace period");
	is_int(redeem(st, 0x52, 0x54, t + 111, 10), AG_REFRESH_UNKNOWN,
	       "refresh grace: the lost successor is gone");
	is_int(redeem(st, 0x53, 0x55, t + 111, 10), AG_REFRESH_OK,
	       "refresh grace: its replacement is the family's token");
	is_int(redeem(st, 0x51, 0x56, t + 112, 10), AG_REFRESH_REUSED,
	       "refresh grace: once the successor was used, theft");
	family(st, "dora", "dora", NULL, 0x61, t, t + 1000);
	redeem(st, 0x61, 0x62, t + 100, 10);
	is_int(redeem(st, 0x61, 0x63, t + 111, 10), AG_REFRESH_REUSED,
	       "refresh grace: a second after the grace period, theft");
	is_int(redeem(st, 0x62, 0x64, t + 111, 10), AG_REFRESH_REVOKED,
	       "refresh grace: the family is revoked");

	/* revocation */
	f1 = family(st, "Erin", "erin", "s-erin1", 0x71, t, t + 1000);
	family(st, "ERIN", "erin", "s-erin2", 0x72, t, t + 1000);
	family(st, "erin", "erin", NULL, 0x73, t, t + 1000);
	family(st, "frank", "frank", "s-erin1", 0x74, t, t + 1000);
	is_int(ag_store_refresh_revoke(st, f1, NULL, NULL, NULL, &n), 0, "revoke by family id");
	is_int(n, 1, "revoke by id: one");
	ag_store_refresh_revoke(st, f1, NULL, NULL, NULL, &n);
	is_int(n, 0, "revoke by id again: none now");
	is_int(ag_store_refresh_revoke(st, 0, NULL, NULL, "s-erin1", &n), 0, "revoke by sid");
	is_int(n, 1, "revoke by sid: frank's family of that session");
	is_int(ag_store_refresh_revoke(st, 0, NULL, "Erin", NULL, &n), 0, "revoke by spelling");
	is_int(n, 0, "revoke by user compares the key, not the spelling");
	is_int(ag_store_refresh_revoke(st, 0, NULL, "erin", NULL, &n), 0, "revoke by user key");
	is_int(n, 2, "revoke by key: her two live families, whatever their spelling");
	is_int(redeem(st, 0x73, 0x75, t + 5, 0), AG_REFRESH_REVOKED, "revoked by key: refused");
	family(st, "gus", "gus", NULL, 0x76, t, t + 1000);
	hash_of(h, 0x76);
	is_int(ag_store_refresh_revoke(st, 0, h, NULL, NULL, &n), 0, "revoke by token hash");
	is_int(n, 1, "revoke by hash: its family");
	hash_of(h, 0x99);
	is_int(ag_store_refresh_revoke(st, 0, h, NULL, NULL, &n), 0, "revoke by unknown hash");
	is_int(n, 0, "unknown hash: nothing");
	is_int(ag_store_refresh_revoke(st, 0, NULL, NULL, NULL, &n), AG_ERR_INVAL, "no selector");
	is_int(ag_store_refresh_revoke(st, 1, NULL, "gus", NULL, &n), AG_ERR_INVAL, "two selectors");
	hash_of(h, 0x98);
	is_int(ag_store_refresh_create(st, "", "x", NULL, h, t, t + 1, &n), AG_ERR_INVAL,
	       "create: empty subject");
	is_int(ag_store_refresh_create(st, "x", "", NULL, h, t, t + 1, &n), AG_ERR_INVAL,
	       "create: empty key");

	/* families expire and are purged with their tokens */
	{
		int64_t deleted = 0;

		ag_store_purge(st, t + 6000, 0, &deleted);
		is_int(st_int(st, "SELECT count(*) FROM refresh_family", NULL), 0,
		       "refresh: purge removes expired families");
		is_int(st_int(st, "SELECT count(*) FROM refresh_token", NULL), 0,
		       "refresh: and their tokens");
	}
	ag_store_close(st);
	free(ws);
}

/* ------------------------------------------------------------ web sessions */

struct listed {
	uint8_t first[8];
	char users[8][16];
	int n;
};

static int
listed_cb(void *ctx, const struct ag_web_session *s)
{
	struct listed *l = ctx;

	if (l->n < 8) {
		l->first[l->n] = s->id_hash[0];
		ag_strlcpy(l->users[l->n], s->user, sizeof(l->users[0]));
	}
	l->n++;
	return 0;
}

static enum ag_session_verdict
web_check(struct ag_store *st, uint8_t b, uint8_t fp, int64_t now, int revoke,
          struct ag_web_session *out, int *touched)
{
	enum ag_session_verdict v = (enum ag_session_verdict)-1;
	uint8_t h[32], f[32];
	int t = 0;

	hash_of(h, b);
	memset(f, fp, 32);
	if (ag_store_session_check(st, h, f, now, 600, 60, revoke, &v, out,
	                           touched != NULL ? touched : &t) != 0)
		diag("session_check: %s", ag_store_errmsg(st));
	return v;
}

static void
test_web_sessions(void)
{
	struct ag_store *st = open_store("web");
	struct ag_web_session *ws = malloc(sizeof(*ws)), *out = malloc(sizeof(*out));
	enum ag_session_verdict v;
	struct listed l;
	uint8_t h[32], h2[32];
	int64_t t = T0, ev = -1, n = -1, fams = -1;
	int refused = -1, touched = -1, alive = -1;

	if (st == NULL || ws == NULL || out == NULL) {
		ok(0, "open the web store");
		ag_store_close(st);
		free(ws);
		free(out);
		return;
	}
	ok(web_session(st, ws, "Eve@Example.com", "eve@example.com", 0x11, 1, "sess_1", t, 600,
	               3600, 5, 1, &ev, &refused) == 0 &&
	           ev == 0 && refused == 0,
	   "web: a session");
	hash_of(h, 0x11);
	ok(ag_store_session_alive(st, h, t, &alive, out) == 0 && alive == 1, "web: alive");
	is_str(out->user, "Eve@Example.com", "web: the user as the backend spelled it");
	is_str(out->user_key, "eve@example.com", "web: and its key");
	is_str(out->clerk_sid, "sess_1", "web: the Clerk session");
	ok(out->fingerprint[0] == 1 && out->fingerprint[31] == 1 && out->id_hash[5] == 0x11,
	   "web: hashes round trip");
	ok(out->created == t && out->last_seen == t && out->idle_expires == t + 600 &&
	           out->abs_expires == t + 3600,
	   "web: times round trip");

	/* activity: written at most once per touch interval, idle slides */
	is_int(web_check(st, 0x11, 1, t + 59, 1, out, &touched), AG_SESSION_OK, "web: check");
	is_int(touched, 0, "web: 59 s after the last write: not written");
	is_int(out->idle_expires, t + 600, "web: idle expiry unchanged");
	is_int(web_check(st, 0x11, 1, t + 60, 1, out, &touched), AG_SESSION_OK, "web: check");
	is_int(touched, 1, "web: 60 s after: written");
	is_int(out->last_seen, t + 60, "web: last_seen moved");
	is_int(out->idle_expires, t + 660, "web: idle expiry slid");
	is_int(web_alive(st, 0x11, t + 630), 1, "web: alive past its first idle expiry");
	ok(ag_store_session_alive(st, h, t + 61, &alive, out) == 0 && out->last_seen == t + 60 &&
	           out->idle_expires == t + 660,
	   "web: the slide was stored");
	is_int(web_check(st, 0x11, 1, t + 3000, 1, out, &touched), AG_SESSION_EXPIRED,
	       "web: idle too long: expired");
	is_int(web_alive(st, 0x11, t), 0, "web: an expired session is deleted when checked");

	/* never past the absolute expiry */
	web_session(st, ws, "eve", "eve", 0x12, 1, NULL, t, 600, 700, 5, 1, NULL, NULL);
	is_int(web_check(st, 0x12, 1, t + 300, 1, out, &touched), AG_SESSION_OK, "web: check");
	is_int(out->idle_expires, t + 700, "web: the slide stops at the absolute expiry");
	is_int(web_check(st, 0x12, 1, t + 700, 1, out, &touched), AG_SESSION_EXPIRED,
	       "web: expired at its absolute expiry");

	/* another browser */
	web_session(st, ws, "eve", "eve", 0x13, 1, NULL, t, 600, 3600, 5, 1, NULL, NULL);
	is_int(web_check(st, 0x13, 2, t + 1, 0, out, NULL), AG_SESSION_MISMATCH,
	       "web: another fingerprint");
	is_int(web_alive(st, 0x13, t + 1), 1, "web: revoke off: the session stays");
	is_int(web_check(st, 0x13, 2, t + 1, 1, out, NULL), AG_SESSION_MISMATCH,
	       "web: another fingerprint, revoke on");
	is_int(web_alive(st, 0x13, t + 1), 0, "web: the session is ended");
	is_int(web_check(st, 0x13, 1, t + 1, 1, out, NULL), AG_SESSION_UNKNOWN, "web: unknown now");

	/* rotation carries the session and its families */
	web_session(st, ws, "eve", "eve", 0x14, 1, NULL, t, 600, 3600, 5, 1, NULL, NULL);
	family(st, "eve", "eve", "s-old", 0x15, t, t + 1000);
	hash_of(h, 0x14);
	hash_of(h2, 0x16);
	is_int(ag_store_session_rotate(st, h, h2, "s-old", "s-new", t + 5, &v, out), 0, "web: rotate");
	is_int(v, AG_SESSION_OK, "web: rotated");
	ok(out->id_hash[0] == 0x16 && strcmp(out->user, "eve") == 0 && out->last_seen == t + 5,
	   "web: the new session");
	ok(web_alive(st, 0x14, t + 5) == 0 && web_alive(st, 0x16, t + 5) == 1,
	   "web: the old id is gone, the new one alive");
	ag_store_refresh_revoke(st, 0, NULL, NULL, "s-new", &n);
	is_int(n, 1, "web: the family followed the session to its new handle");
	is_int(ag_store_session_rotate(st, h, h2, "s-old", "s-new", t + 6, &v, out), 0,
	       "web: rotate the old id again");
	is_int(v, AG_SESSION_UNKNOWN, "web: unknown");

	/* the limit counts the key: two spellings, one user */
	web_session(st, ws, "Zoe", "zoe", 0x21, 1, NULL, t, 600, 3600, 2, 0, &ev, &refused);
	web_session(st, ws, "ZOE", "zoe", 0x22, 1, NULL, t + 1, 600, 3600, 2, 0, &ev, &refused);
	web_session(st, ws, "zoe", "zoe", 0x23, 1, NULL, t + 2, 600, 3600, 2, 0, &ev, &refused);
	is_int(refused, 1, "web: limit 2, refuse: the third is refused");
	is_int(ev, 0, "web: nothing evicted");
	is_int(web_alive(st, 0x23, t + 2), 0, "web: and not stored");
	web_session(st, ws, "zoe", "zoe", 0x24, 1, NULL, t + 2, 600, 3600, 2, 1, &ev, &refused);
	ok(refused == 0 && ev == 1, "web: limit 2, evict: stored, one evicted");
	is_int(web_alive(st, 0x21, t + 2), 0, "web: the least recently used went");
	web_session(st, ws, "zoe", "zoe", 0x25, 1, NULL, t + 700, 600, 3600, 2, 0, &ev, &refused);
	is_int(refused, 0, "web: once the others expired, a new one fits (expired are dropped first)");

	/* lists: live sessions, most recent use first */
	web_session(st, ws, "Yan", "yan", 0x31, 1, NULL, t, 600, 3600, 0, 1, NULL, NULL);
	web_session(st, ws, "Yan", "yan", 0x32, 1, NULL, t, 600, 3600, 0, 1, NULL, NULL);
	web_session(st, ws, "YAN", "yan", 0x33, 1, NULL, t, 600, 3600, 0, 1, NULL, NULL);
	web_check(st, 0x32, 1, t + 100, 1, out, NULL);
	memset(&l, 0, sizeof(l));
	is_int(ag_store_session_list(st, "yan", t + 100, listed_cb, &l), 0, "web: list yan");
	is_int(l.n, 3, "web: three sessions");
	ok(l.first[0] == 0x32 && l.first[1] == 0x33 && l.first[2] == 0x31,
	   "web: most recently used first, ties by order of use");
	is_str(l.users[2], "Yan", "web: each with its spelling");
	memset(&l, 0, sizeof(l));
	ag_store_session_list(st, "Yan", t + 100, listed_cb, &l);
	is_int(l.n, 0, "web: a list by spelling finds nothing (keys are compared)");
	memset(&l, 0, sizeof(l));
	ag_store_session_list(st, NULL, t + 700, listed_cb, &l);
	is_int(l.n, 1, "web: all users' live sessions at t + 700: zoe's newest only");

	/* ending: by hash, by user, by Clerk session, with their families */
	web_session(st, ws, "xia", "xia", 0x41, 1, "clerk_x", t, 600, 3600, 0, 1, NULL, NULL);
	web_session(st, ws, "xia", "xia", 0x42, 1, "clerk_x", t, 600, 3600, 0, 1, NULL, NULL);
	web_session(st, ws, "xia", "xia", 0x43, 1, NULL, t, 600, 3600, 0, 1, NULL, NULL);
	web_session(st, ws, "wu", "wu", 0x44, 1, "clerk_x2", t, 600, 3600, 0, 1, NULL, NULL);
	{
		char sid[AG_SID_MAX + 1];

		hash_of(h, 0x41);
		sid_of(h, sid);
		family(st, "xia", "xia", sid, 0x45, t, t + 1000);
		hash_of(h, 0x43);
		sid_of(h, sid);
		family(st, "xia", "xia", sid, 0x46, t, t + 1000);
		family(st, "xia", "xia", NULL, 0x47, t, t + 1000);
	}
	is_int(ag_store_session_end(st, NULL, NULL, "clerk_x", sid_of, &n, &fams), 0,
	       "web: end by Clerk session");
	is_int(n, 2, "web: both of its sessions");
	is_int(fams, 1, "web: the family tied to one of them");
	is_int(redeem(st, 0x45, 0x48, t + 1, 0), AG_REFRESH_REVOKED, "web: that family is revoked");
	is_int(web_alive(st, 0x44, t + 1), 1, "web: clerk_x2 is another Clerk session");
	hash_of(h, 0x43);
	is_int(ag_store_session_end(st, h, NULL, NULL, sid_of, &n, &fams), 0, "web: end by hash");
	ok(n == 1 && fams == 1, "web: one session, its family");
	ag_store_session_end(st, h, NULL, NULL, sid_of, &n, &fams);
	is_int(n, 0, "web: ending twice ends nothing");
	is_int(redeem(st, 0x47, 0x49, t + 1, 0), AG_REFRESH_OK,
	       "web: a family not tied to a session lives on");
	is_int(ag_store_session_end(st, NULL, "wu", NULL, NULL, &n, NULL), 0, "web: end by user");
	is_int(n, 1, "web: wu's session");
	is_int(ag_store_session_end(st, NULL, NULL, NULL, NULL, &n, NULL), AG_ERR_INVAL,
	       "web: end without a selector");
	is_int(ag_store_session_end(st, h, "wu", NULL, NULL, &n, NULL), AG_ERR_INVAL,
	       "web: end with two selectors");
	memset(ws, 0, sizeof(*ws));
	ag_strlcpy(ws->user, "u", sizeof(ws->user));
	is_int(ag_store_session_create(st, ws, 5, 1, t, &ev, &refused), AG_ERR_INVAL,
	       "web: a session without a key");

	/* the longest user and key, random bytes that do not compress */
	{
		char *name = malloc(AG_NAME_MAX + 1);

		if (name != NULL) {
			random_name(name, 7);
			ok(web_session(st, ws, name, name, 0x51, 1, NULL, t, 600, 3600, 5, 1, &ev,
			               &refused) == 0 && refused == 0,
			   "web: a session of a 4096-byte random user");
			hash_of(h, 0x51);
			ok(ag_store_session_alive(st, h, t, &alive, out) == 0 && alive == 1 &&
			           strcmp(out->user, name) == 0 && strcmp(out->user_key, name) == 0,
			   "web: read back whole");
			ok(family(st, name, name, NULL, 0x52, t, t + 1000) > 0,
			   "web: a refresh family of that user");
			ag_store_refresh_revoke(st, 0, NULL, name, NULL, &n);
			is_int(n, 1, "web: revoked by that key");
			ag_store_session_end(st, NULL, name, NULL, NULL, &n, NULL);
			is_int(n, 1, "web: the session ended by that key");
		}
		free(name);
	}
	ag_store_close(st);
	free(ws);
	free(out);
}

/* ------------------------------------------------------------ PAM sessions */

/* alive() for the tests: a row counts unless its pid is in dead[]; every
 * row asked about is recorded, by its machine. */
struct liveness {
	int64_t dead[4];
	int ndead;
	int asked, asked_other; /* rows asked about; of them, not of host */
	const char *host;
};

static int
alive_cb(void *ctx, const struct ag_pam_session *row)
{
	struct liveness *lv = ctx;
	int i;

	lv->asked++;
	if (strcmp(row->host, lv->host) != 0 && row->host[0] != '\0')
		lv->asked_other++;
	for (i = 0; i < lv->ndead; i++)
		if (row->pid == lv->dead[i])
			return 0;
	return 1;
}

static int64_t
pam_open(struct ag_store *st, const char *user, const char *host, int64_t pid, int64_t max,
         struct liveness *lv, int *refused)
{
	struct ag_pam_session s;
	int64_t id = 0;
	int r;

	memset(&s, 0, sizeof(s));
	ag_strlcpy(s.user, user, sizeof(s.user));
	ag_strlcpy(s.service, "sshd", sizeof(s.service));
	ag_strlcpy(s.rhost, "192.0.2.7", sizeof(s.rhost));
	ag_strlcpy(s.boot_id, "boot-1", sizeof(s.boot_id));
	ag_strlcpy(s.host, host, sizeof(s.host));
	s.pid = pid;
	s.started = T0 + pid;
	lv->host = host;
	if ((r = ag_store_pam_session_open(st, &s, max, alive_cb, lv, &id, refused)) != 0) {
		diag("pam_session_open: %d %s", r, ag_store_errmsg(st));
		return -1;
	}
	return id;
}

struct pam_seen {
	int n;
	int64_t pids[16];
	char hosts[16][64];
	char tty[64];
};

static int
pam_seen_cb(void *ctx, const struct ag_pam_session *s)
{
	struct pam_seen *p = ctx;

	if (p->n < 16) {
		p->pids[p->n] = s->pid;
		ag_strlcpy(p->hosts[p->n], s->host, sizeof(p->hosts[0]));
	}
	if (p->n == 0)
		ag_strlcpy(p->tty, s->tty[0] != '\0' ? s->tty : "(none)", sizeof(p->tty));
	p->n++;
	return 0;
}

static void
test_pam_sessions(void)
{
	struct ag_store *st = open_store("pam");
	struct liveness lv;
	struct pam_seen seen;
	struct ag_pam_session bad;
	int64_t id1, id2, id3, id = -1;
	int refused = -1;

	if (st == NULL) {
		ok(0, "open the pam store");
		return;
	}
	memset(&lv, 0, sizeof(lv));
	id1 = pam_open(st, "pat", "host-a", 101, 2, &lv, &refused);
	ok(id1 > 0 && refused == 0, "pam: first session on host-a");
	id2 = pam_open(st, "pat", "host-a", 102, 2, &lv, &refused);
	ok(id2 > 0 && id2 != id1 && refused == 0, "pam: second");
	id3 = pam_open(st, "pat", "host-a", 103, 2, &lv, &refused);
	ok(id3 == 0 && refused == 1, "pam: a third on host-a is refused (limit 2)");

	/* another machine of the fleet counts its own */
	memset(&lv, 0, sizeof(lv));
	lv.dead[lv.ndead++] = 101; /* host-b must not judge host-a's rows */
	lv.dead[lv.ndead++] = 102;
	ok(pam_open(st, "pat", "host-b", 201, 2, &lv, &refused) > 0 && refused == 0,
	   "pam: host-b opens one although host-a is at the limit");
	ok(pam_open(st, "pat", "host-b", 202, 2, &lv, &refused) > 0 && refused == 0,
	   "pam: and a second");
	is_int(lv.asked_other, 0, "pam: host-a's rows were never shown to host-b's alive()");
	memset(&seen, 0, sizeof(seen));
	ag_store_pam_session_list(st, "pat", pam_seen_cb, &seen);
	is_int(seen.n, 4, "pam: host-a's rows were not taken for stale");
	is_str(seen.hosts[0], "host-a", "pam: each row keeps its machine");
	is_str(seen.tty, "(none)", "pam: an empty tty is stored as none");

	/* a session whose process is gone does not count, and is removed */
	memset(&lv, 0, sizeof(lv));
	lv.dead[lv.ndead++] = 101;
	id3 = pam_open(st, "pat", "host-a", 103, 2, &lv, &refused);
	ok(id3 > 0 && refused == 0, "pam: host-a's dead session makes room");
	is_int(st_int(st, "SELECT count(*) FROM pam_session WHERE pid = 101", NULL), 0,
	       "pam: its row is gone");
	ok(ag_store_pam_session_close(st, id3, NULL) == 0 && ag_store_pam_session_close(st, id3, NULL) == 0,
	   "pam: close twice");
	is_int(st_int(st, "SELECT count(*) FROM pam_session WHERE \"user\" = ?1", "pat"), 3,
	       "pam: three left");

	/* rows from before machines were recorded count on every machine */
	is_int(st_exec(st, "INSERT INTO pam_session (\"user\", pid, boot_id, started, host)"
	                   " VALUES ('old', 7, 'boot-0', 1, '')",
	               NULL),
	       0, "pam: a row without a machine");
	memset(&lv, 0, sizeof(lv));
	ok(pam_open(st, "old", "host-a", 301, 1, &lv, &refused) == 0 && refused == 1,
	   "pam: it counts against the limit on host-a");
	is_int(lv.asked, 1, "pam: host-a judged it");

	/* no limit, other users, lists */
	memset(&lv, 0, sizeof(lv));
	ok(pam_open(st, "quinn", "host-a", 401, 0, &lv, &refused) > 0 &&
	           pam_open(st, "quinn", "host-a", 402, 0, &lv, &refused) > 0 &&
	           pam_open(st, "quinn", "host-a", 403, 0, &lv, &refused) > 0 && refused == 0,
	   "pam: limit 0: no limit");
	memset(&seen, 0, sizeof(seen));
	ag_store_pam_session_list(st, NULL, pam_seen_cb, &seen);
	is_int(seen.n, 7, "pam: all sessions listed");
	memset(&seen, 0, sizeof(seen));
	ag_store_pam_session_list(st, "quinn", pam_seen_cb, &seen);
	ok(seen.n == 3 && seen.pids[0] == 401 && seen.pids[2] == 403, "pam: quinn's, oldest first");

	/* the longest user, random bytes that do not compress */
	{
		char *name = malloc(AG_NAME_MAX + 1);

		if (name != NULL) {
			random_name(name, 8);
			memset(&lv, 0, sizeof(lv));
			ok(pam_open(st, name, "host-a", 501, 1, &lv, &refused) > 0 && refused == 0,
			   "pam: a session of a 4096-byte random user");
			memset(&seen, 0, sizeof(seen));
			ag_store_pam_session_list(st, name, pam_seen_cb, &seen);
			ok(seen.n == 1 && seen.pids[0] == 501, "pam: listed by that user");
		}
		free(name);
	}

	memset(&bad, 0, sizeof(bad));
	ag_strlcpy(bad.user, "x", sizeof(bad.user));
	is_int(ag_store_pam_session_open(st, &bad, 1, alive_cb, &lv, &id, &refused), AG_ERR_INVAL,
	       "pam: no boot id");
	is_int(id, 0, "pam: no id");
	bad.user[0] = '\0';
	ag_strlcpy(bad.boot_id, "b", sizeof(bad.boot_id));
	is_int(ag_store_pam_session_open(st, &bad, 1, alive_cb, &lv, &id, &refused), AG_ERR_INVAL,
	       "pam: no user");
	ag_store_close(st);
}

/* ---------------------------------------------------------------- webhooks */

static void
test_webhook_apply(void)
{
	struct ag_store *st = open_store("webhook");
	struct ag_web_session *ws = malloc(sizeof(*ws));
	char sid[AG_SID_MAX + 1], long_id[258];
	uint8_t h[32];
	int64_t t = T0, ended = -1, fams = -1;
	int first = -1;

	if (st == NULL || ws == NULL) {
		ok(0, "open the webhook store");
		ag_store_close(st);
		free(ws);
		return;
	}
	web_session(st, ws, "User_Al", "user_al", 0x01, 1, "sess_A", t, 600, 3600, 0, 1, NULL, NULL);
	web_session(st, ws, "User_Al", "user_al", 0x02, 1, "sess_A", t, 600, 3600, 0, 1, NULL, NULL);
	web_session(st, ws, "User_Al", "user_al", 0x03, 1, "sess_C", t, 600, 3600, 0, 1, NULL, NULL);
	web_session(st, ws, "user_bo", "user_bo", 0x04, 1, "sess_B", t, 600, 3600, 0, 1, NULL, NULL);
	hash_of(h, 0x01);
	sid_of(h, sid);
	family(st, "User_Al", "user_al", sid, 0x11, t, t + 1000);
	family(st, "User_Al", "user_al", NULL, 0x12, t, t + 1000);
	family(st, "user_bo", "user_bo", NULL, 0x13, t, t + 1000);

	is_int(ag_store_webhook_apply(st, "msg_1", t, t + 300, NULL, "sess_A", sid_of, &first,
	                              &ended, &fams),
	       0, "webhook: end a Clerk session");
	is_int(first, 1, "webhook: first time");
	is_int(ended, 2, "webhook: its two sessions ended");
	ok(web_alive(st, 0x01, t) == 0 && web_alive(st, 0x02, t) == 0 && web_alive(st, 0x03, t) == 1,
	   "webhook: those two, not the others");
	is_int(redeem(st, 0x11, 0x21, t, 0), AG_REFRESH_REVOKED,
	       "webhook: the family tied to one is revoked");
	web_session(st, ws, "User_Al", "user_al", 0x05, 1, "sess_A", t, 600, 3600, 0, 1, NULL, NULL);
	is_int(ag_store_webhook_apply(st, "msg_1", t + 1, t + 300, NULL, "sess_A", sid_of, &first,
	                              &ended, &fams),
	       0, "webhook: the same message again");
	ok(first == 0 && ended == 0, "webhook: a replay: recorded already, nothing done");
	is_int(web_alive(st, 0x05, t + 1), 1, "webhook: a session made since is untouched");

	is_int(ag_store_webhook_apply(st, "msg_2", t + 2, t + 300, "user_al", NULL, sid_of, &first,
	                              &ended, &fams),
	       0, "webhook: end a user");
	ok(first == 1 && ended == 2, "webhook: her two remaining sessions");
	is_int(fams, 1, "webhook: every live family of hers revoked (the one not tied to a session)");
	is_int(redeem(st, 0x12, 0x22, t + 2, 0), AG_REFRESH_REVOKED, "webhook: it is revoked");
	ok(web_alive(st, 0x04, t + 2) == 1 && redeem(st, 0x13, 0x23, t + 2, 0) == AG_REFRESH_OK,
	   "webhook: another user untouched");

	is_int(ag_store_webhook_apply(st, "msg_3", t + 3, t + 10, NULL, NULL, sid_of, &first, &ended,
	                              &fams),
	       0, "webhook: record only");
	is_int(first, 1, "webhook: recorded");
	ag_store_webhook_apply(st, "msg_4", t + 20, t + 300, NULL, NULL, sid_of, &first, &ended,
	                       &fams);
	is_int(st_int(st, "SELECT count(*) FROM webhook_msg WHERE id = ?1", "msg_3"), 0,
	       "webhook: an expired id goes with the next message");
	ag_store_webhook_apply(st, "msg_3", t + 21, t + 300, NULL, NULL, sid_of, &first, &ended,
	                       &fams);
	is_int(first, 1, "webhook: and is new again (its signature has expired by then)");

	memset(long_id, 'm', 256);
	long_id[256] = '\0';
	is_int(ag_store_webhook_apply(st, long_id, t, t + 300, NULL, NULL, sid_of, &first, &ended,
	                              &fams),
	       0, "webhook: a 256-byte id");
	long_id[256] = 'm';
	long_id[257] = '\0';
	is_int(ag_store_webhook_apply(st, long_id, t, t + 300, NULL, NULL, sid_of, &first, &ended,
	                              &fams),
	       AG_ERR_INVAL, "webhook: a 257-byte id");
	is_int(ag_store_webhook_apply(st, "msg_5", t, t + 300, "user_bo", "sess_B", sid_of, &first,
	                              &ended, &fams),
	       AG_ERR_INVAL, "webhook: two events at once");
	is_int(st_int(st, "SELECT count(*) FROM webhook_msg WHERE id = ?1", "msg_5"), 0,
	       "webhook: refused, not recorded");
	ag_store_close(st);
	free(ws);
}

/* ------------------------------------------------------------ concurrency
 * Processes with a handle each (on PostgreSQL a connection each), let go
 * at the same moment once every one has opened the store.  What matters
 * is what SERIALIZABLE plus retry must give on PostgreSQL and BEGIN
 * IMMEDIATE gives on SQLite: no lost update, no limit passed, one winner. */

#define NPROC 6

struct proc_out {
	int index, status; /* status: 0 ran, 1 could not open */
	int64_t v[4];
};

typedef void (*proc_fn)(struct ag_store *st, int i, int64_t v[4]);

/* Runs fn in NPROC children on the store called name; out[i] receives
 * child i's values.  The caller's handle *stp is closed first (a child
 * must neither use nor close a connection it inherits) and opened again
 * after (NULL if that fails).  Returns how many children reported
 * (NPROC when all ran). */
static int
run_procs(const char *name, struct ag_store **stp, proc_fn fn, struct proc_out out[NPROC])
{
	int gate[2], ready[2], res[2], got = 0, i, status;
	pid_t pids[NPROC];
	struct proc_out o;
	char c;

	memset(out, 0, NPROC * sizeof(out[0]));
	ag_store_close(*stp);
	*stp = NULL;
	if (pipe(gate) != 0 || pipe(ready) != 0 || pipe(res) != 0) {
		diag("pipe: %s", strerror(errno));
		*stp = reopen_store(name);
		return 0;
	}
	fflush(stdout);
	for (i = 0; i < NPROC; i++) {
		if ((pids[i] = fork()) == 0) {
			struct ag_store *st;

			alarm(120); /* a child that hangs dies; the parent sees it */
			close(gate[1]);
			close(ready[0]);
			close(res[0]);
			memset(&o, 0, sizeof(o));
			o.index = i;
			st = reopen_store(name);
			c = st != NULL ? 'r' : 'e';
			if (write(ready[1], &c, 1) != 1)
				_exit(1);
			/* the gate opens (EOF) when the parent closes it */
			if (st != NULL && read(gate[0], &c, 1) == 0)
				fn(st, i, o.v);
			else
				o.status = 1;
			ag_store_close(st);
			fflush(stdout); /* its diag lines; _exit flushes nothing */
			if (write(res[1], &o, sizeof(o)) != (ssize_t)sizeof(o))
				_exit(1);
			_exit(0);
		}
		if (pids[i] < 0)
			diag("fork: %s", strerror(errno));
	}
	close(gate[0]);
	close(ready[1]);
	close(res[1]);
	for (i = 0; i < NPROC && read(ready[0], &c, 1) == 1; i++)
		;
	close(gate[1]); /* go */
	while (read(res[0], &o, sizeof(o)) == (ssize_t)sizeof(o)) {
		if (o.index >= 0 && o.index < NPROC && o.status == 0) {
			out[o.index] = o;
			got++;
		}
	}
	close(ready[0]);
	close(res[0]);
	for (i = 0; i < NPROC; i++)
		if (pids[i] > 0 && (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		                    WEXITSTATUS(status) != 0))
			diag("child %d did not exit cleanly", i);
	*stp = reopen_store(name);
	return got;
}

static int64_t
sum_of(const struct proc_out out[NPROC], int k)
{
	int64_t sum = 0;
	int i;

	for (i = 0; i < NPROC; i++)
		sum += out[i].v[k];
	return sum;
}

#define CONC_DENY 5
#define CONC_ITER 4

static void
conc_attempt_fn(struct ag_store *st, int i, int64_t v[4])
{
	struct ag_subject_ref s[2];
	struct ag_decision dec[2];
	struct ag_settled out[2];
	int64_t a;
	int k, r;

	s[0] = account("target", CONC_DENY, 3600, 0);
	s[1] = host("203.0.113.9", 1000);
	for (k = 0; k < CONC_ITER; k++) {
		a = 0;
		if ((r = ag_store_reserve_attempt(st, s, 2, T0, &a, dec)) != 0) {
			v[2]++; /* refused for a busy state: denies, counts nothing */
			diag("process %d: reserve_attempt: %s", i, ag_store_errmsg(st));
		}
		if (a == 0)
			continue;
		v[0]++;
		if (ag_store_settle_failure(st, s, 2, a, T0, out) != 0) {
			v[1]++;
			diag("process %d: settle_failure: %s", i, ag_store_errmsg(st));
		}
	}
}

#define CONC_FAILS 10

static void
conc_failure_fn(struct ag_store *st, int i, int64_t v[4])
{
	struct ag_subject_ref s[2];
	struct ag_settled out[2];
	int k;

	s[0] = account("many", 1000, 3600, 0);
	s[1] = host("203.0.113.10", 1000);
	for (k = 0; k < CONC_FAILS; k++) {
		if (ag_store_settle_failure(st, s, 2, 0, T0, out) == 0) {
			v[0]++;
		} else {
			v[1]++;
			diag("process %d: settle_failure: %s", i, ag_store_errmsg(st));
		}
	}
}

static void
conc_redeem_fn(struct ag_store *st, int i, int64_t v[4])
{
	v[0] = redeem(st, 0xf1, (uint8_t)(0xe0 + i), T0 + 10, 0);
}

#define CONC_MAX 3

static void
conc_session_fn(struct ag_store *st, int i, int64_t v[4])
{
	struct ag_web_session *ws = malloc(sizeof(*ws));
	int64_t ev = 0;
	int refused = 0, k;

	if (ws == NULL)
		return;
	/* one each, refused past the limit */
	if (web_session(st, ws, "crowd", "crowd", (uint8_t)(0x80 + i), 1, NULL, T0, 600, 3600,
	                CONC_MAX, 0, &ev, &refused) == 0)
		v[refused ? 1 : 0]++;
	else
		v[3]++;
	/* three each, the least recently used evicted */
	for (k = 0; k < 3; k++) {
		if (web_session(st, ws, "throng", "throng", (uint8_t)(0x10 + i * 3 + k), 1, NULL,
		                T0 + k, 600, 3600, CONC_MAX, 1, &ev, &refused) == 0 && !refused)
			v[2] += 1 + ev * 100; /* created; evicted */
		else
			v[3]++;
	}
	free(ws);
}

/* The sealed secret of the concurrency store's MFA account. */
static const uint8_t conc_sealed[40] = { 1, 2, 3, 0, 5, 6, 7, 8, 9 };

static void
conc_mfa_fn(struct ag_store *st, int i, int64_t v[4])
{
	struct fake_totp f;
	uint8_t code[32];
	int verdict = -1, used = 0;

	/* the same TOTP code, the same backup code, the same webhook
	 * message, from every process at once */
	memset(&f, 0, sizeof(f));
	f.want = conc_sealed;
	f.want_len = sizeof(conc_sealed);
	f.step = 5000;
	if (ag_store_mfa_use_totp(st, "conc_mfa", T0, 0, fake_check, &f, NULL, 0, &verdict) != 0) {
		v[3]++;
		diag("process %d: use_totp: %s", i, ag_store_errmsg(st));
	} else if (verdict == 0) {
		v[0]++;
	}
	memset(code, 0x77, sizeof(code));
	if (ag_store_mfa_use_backup(st, "conc_mfa", code, &used) != 0) {
		v[3]++;
		diag("process %d: use_backup: %s", i, ag_store_errmsg(st));
	} else if (used) {
		v[1]++;
	}
	{
		int64_t ended = 0, fams = 0;
		int first = 0;

		if (ag_store_webhook_apply(st, "msg_conc", T0, T0 + 300, NULL, NULL, sid_of, &first,
		                           &ended, &fams) != 0) {
			v[3]++;
			diag("process %d: webhook_apply: %s", i, ag_store_errmsg(st));
		} else if (first) {
			v[2]++;
		}
	}
}

static void
conc_pam_fn(struct ag_store *st, int i, int64_t v[4])
{
	struct liveness lv;
	int refused = 0;
	int64_t id;

	memset(&lv, 0, sizeof(lv));
	id = pam_open(st, "crowd", "host-a", 1000 + i, 2, &lv, &refused);
	if (id > 0)
		v[0]++;
	else if (id == 0 && refused)
		v[1]++;
	else
		v[3]++;
}

static void
test_concurrency(void)
{
	struct ag_store *st = open_store("conc");
	struct proc_out out[NPROC];
	int64_t sum[4], pending = -1, created = 0, evicted = 0;
	int i, n, outcomes[8];

	if (st == NULL) {
		ok(0, "open the concurrency store");
		return;
	}

	/* attempts and failures on one subject */
	n = run_procs("conc", &st, conc_attempt_fn, out);
	if (st == NULL) {
		ok(0, "reopen the concurrency store");
		return;
	}
	is_int(n, NPROC, "concurrent attempts: %d processes ran", NPROC);
	sum[0] = sum_of(out, 0);
	sum[1] = sum_of(out, 1);
	sum[2] = sum_of(out, 2);
	is_int(sum[0], CONC_DENY, "%d processes x %d attempts, deny %d: exactly %d allowed",
	       NPROC, CONC_ITER, CONC_DENY, CONC_DENY);
	is_int(sum[1], 0, "every allowed attempt's failure was recorded");
	if (sum[2] != 0)
		diag("%jd reservations refused for a busy state", (intmax_t)sum[2]);
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "target", T0, &pending), sum[0],
	       "the account holds one failure per allowed attempt");
	is_int(pending, 0, "nothing left in flight");
	ok(info_buf.state.locked_until == T0 + 3600, "and is locked");
	is_int(failures_of(st, AG_SUBJECT_HOST, "203.0.113.9", T0, NULL), sum[0],
	       "the host too");

	n = run_procs("conc", &st, conc_failure_fn, out);
	if (st == NULL) {
		ok(0, "reopen the concurrency store");
		return;
	}
	sum[0] = sum_of(out, 0);
	sum[1] = sum_of(out, 1);
	ok(n == NPROC && sum[1] == 0, "concurrent failures: all recorded without error");
	is_int(failures_of(st, AG_SUBJECT_ACCOUNT, "many", T0, NULL), NPROC * CONC_FAILS,
	       "%d processes x %d failures: no failure lost (account)", NPROC, CONC_FAILS);
	is_int(failures_of(st, AG_SUBJECT_HOST, "203.0.113.10", T0, NULL), NPROC * CONC_FAILS,
	       "no failure lost (host)");

	/* one refresh token, redeemed by all at once */
	family(st, "rita", "rita", NULL, 0xf1, T0, T0 + 1000);
	n = run_procs("conc", &st, conc_redeem_fn, out);
	if (st == NULL) {
		ok(0, "reopen the concurrency store");
		return;
	}
	memset(outcomes, 0, sizeof(outcomes));
	for (i = 0; i < NPROC; i++)
		if (out[i].v[0] >= 0 && out[i].v[0] < 8)
			outcomes[out[i].v[0]]++;
	is_int(n, NPROC, "concurrent redeem: %d processes ran", NPROC);
	is_int(outcomes[AG_REFRESH_OK], 1, "the same token redeemed at once: exactly one winner");
	ok(outcomes[AG_REFRESH_REUSED] >= 1 &&
	           outcomes[AG_REFRESH_REUSED] + outcomes[AG_REFRESH_REVOKED] == NPROC - 1,
	   "the others: reuse detected (%d), then revoked (%d)", outcomes[AG_REFRESH_REUSED],
	   outcomes[AG_REFRESH_REVOKED]);
	for (i = 0; i < NPROC; i++)
		if (out[i].v[0] == AG_REFRESH_OK)
			is_int(redeem(st, (uint8_t)(0xe0 + i), 0xd0, T0 + 11, 0), AG_REFRESH_REVOKED,
			       "the winner's new token is revoked with the family");

	/* the session limit */
	n = run_procs("conc", &st, conc_session_fn, out);
	if (st == NULL) {
		ok(0, "reopen the concurrency store");
		return;
	}
	is_int(n, NPROC, "concurrent sessions: %d processes ran", NPROC);
	sum[0] = sum_of(out, 0);
	sum[1] = sum_of(out, 1);
	sum[3] = sum_of(out, 3);
	is_int(sum[0], CONC_MAX, "one session each, limit %d, refuse: exactly %d created", CONC_MAX,
	       CONC_MAX);
	is_int(sum[1], NPROC - CONC_MAX, "the rest refused");
	is_int(st_int(st, "SELECT count(*) FROM web_session WHERE user_key = ?1", "crowd"), CONC_MAX,
	       "%d stored", CONC_MAX);
	for (i = 0; i < NPROC; i++) {
		created += out[i].v[2] % 100;
		evicted += out[i].v[2] / 100;
	}
	is_int(created, NPROC * 3, "three each, limit %d, evict: all created", CONC_MAX);
	is_int(st_int(st, "SELECT count(*) FROM web_session WHERE user_key = ?1", "throng"),
	       CONC_MAX, "never more than %d stored", CONC_MAX);
	is_int(evicted, NPROC * 3 - CONC_MAX, "the others evicted, each counted once");
	is_int(sum[3], 0, "no errors");

	/* the PAM session limit of one machine */
	n = run_procs("conc", &st, conc_pam_fn, out);
	if (st == NULL) {
		ok(0, "reopen the concurrency store");
		return;
	}
	sum[0] = sum_of(out, 0);
	sum[1] = sum_of(out, 1);
	sum[3] = sum_of(out, 3);
	ok(n == NPROC && sum[3] == 0, "concurrent PAM sessions: no errors");
	ok(sum[0] == 2 && sum[1] == NPROC - 2, "limit 2: exactly 2 opened (%jd), the rest refused",
	   (intmax_t)sum[0]);

	/* single use: a TOTP code, a backup code, a webhook message */
	{
		struct fake_totp f;
		uint8_t codes[2][32];
		int verdict = -1;

		memset(&f, 0, sizeof(f));
		f.want = conc_sealed;
		f.want_len = sizeof(conc_sealed);
		f.step = 4999;
		memset(codes[0], 0x77, 32);
		memset(codes[1], 0x78, 32);
		ok(ag_store_mfa_set_pending(st, "conc_mfa", conc_sealed, sizeof(conc_sealed), T0,
		                            T0 + 600) == 0 &&
		           ag_store_mfa_use_totp(st, "conc_mfa", T0, 1, fake_check, &f, codes, 2,
		                                 &verdict) == 0 &&
		           verdict == 0,
		   "an MFA account with two backup codes");
	}
	n = run_procs("conc", &st, conc_mfa_fn, out);
	if (st == NULL) {
		ok(0, "reopen the concurrency store");
		return;
	}
	sum[0] = sum_of(out, 0);
	sum[1] = sum_of(out, 1);
	sum[2] = sum_of(out, 2);
	sum[3] = sum_of(out, 3);
	ok(n == NPROC && sum[3] == 0, "concurrent single-use operations: no errors");
	is_int(sum[0], 1, "one TOTP code from %d processes at once: accepted once", NPROC);
	is_int(sum[1], 1, "one backup code from %d processes at once: used once", NPROC);
	is_int(sum[2], 1, "one webhook message from %d processes at once: applied once", NPROC);
	ag_store_close(st);
}

/* PostgreSQL: two transactions look the same new subject up; the first
 * inserts it and commits, then the second inserts it too.  SERIALIZABLE
 * must report that as a conflict to run again (the store then does, and
 * finds the subject), never as a unique violation, an error the store
 * cannot retry: a failure being recorded would be lost.  PostgreSQL
 * reports the conflict only when the lookups read the unique index, not
 * another one.  Both transactions are held open by hand and run the
 * store's own statements: attempts.c's subject lookup and insert, in the
 * slots (S_SUBJ_GET, S_SUBJ_INS) where each handle's first operation
 * prepared them. */
#define SLOT_SUBJ_GET (AG_SLOT_ATTEMPTS + 0)
#define SLOT_SUBJ_INS (AG_SLOT_ATTEMPTS + 1)

/* Runs the store's subject lookup (insert: and then its insert) of the
 * account name in h's open transaction: 1 found, 0 not, or AG_ERR_*. */
static int
subject_step(struct ag_store *h, const char *name, int insert)
{
	/* fails if the slot does not hold the store's statement */
	static const struct ag_sql unprepared = { "SELECT * FROM \"slot not prepared\"", NULL };
	struct ag_db_stmt *q;
	int err = 0, r;

	if ((q = ag_st_stmt(h, insert ? SLOT_SUBJ_INS : SLOT_SUBJ_GET, &unprepared, &err)) !=
	    NULL) {
		h->e->bind_int64(q, 1, AG_SUBJECT_ACCOUNT);
		h->e->bind_text(q, 2, name);
		if (insert)
			h->e->bind_int64(q, 3, T0 + WINDOW);
	}
	r = ag_st_row(h, q, err, insert ? "insert subject" : "look up subject");
	if (r == 1)
		h->e->reset(q);
	return r;
}

static void
test_first_insert_race(void)
{
	struct ag_store *a, *b;
	struct ag_subject_ref s[1];
	struct ag_settled out[1];
	int r;

	if (pg_conninfo == NULL) {
		skip("PostgreSQL only: two first inserts of one subject (SQLite writers take turns)");
		return;
	}
	a = open_store("race");
	b = reopen_store("race");
	if (a == NULL || b == NULL) {
		ok(0, "open the race store twice");
		ag_store_close(a);
		ag_store_close(b);
		return;
	}
	/* a store of some size, its statistics known: the planner picks
	 * what it would in production */
	ok(st_exec(a, "INSERT INTO subject (kind, name, expires)"
	              " SELECT 1 + g % 2, 'filler' || g, 0 FROM generate_series(1, 5000) g",
	           NULL) == 0 &&
	           st_exec(a, "ANALYZE subject", NULL) == 0,
	   "race: 5000 subjects, analysed");
	s[0] = account("warm-up-a", 10, 3600, 0);
	ok(ag_store_settle_failure(a, s, 1, 0, T0, out) == 0, "race: A creates a subject");
	s[0] = account("warm-up-b", 10, 3600, 0);
	ok(ag_store_settle_failure(b, s, 1, 0, T0, out) == 0,
	   "race: B creates one (each has prepared the store's statements)");

	ok(b->e->begin(b->db, 1, 1000) == 0 && a->e->begin(a->db, 1, 1000) == 0,
	   "race: A and B open write transactions");
	is_int(subject_step(b, "racer", 0), 0, "race: B looks the new subject up: none");
	is_int(subject_step(a, "racer", 0), 0, "race: A looks it up: none");
	is_int(subject_step(a, "racer", 1), 1, "race: A inserts it");
	is_int(a->e->commit(a->db), 0, "race: A commits");
	r = subject_step(b, "racer", 1);
	is_int(r, AG_ERR_RETRY, "race: B's insert is a conflict to run again, not an error (%s)",
	       r < 0 ? ag_store_errmsg(b) : "no error");
	b->e->rollback(b->db);
	s[0] = account("racer", 10, 3600, 0);
	is_int(ag_store_settle_failure(b, s, 1, 0, T0, out), 0, "race: B's operation, run again");
	is_int(out[0].failures, 1, "race: its failure counted, on A's subject");
	ag_store_close(a);
	ag_store_close(b);
}

/* Two handles on one store (two processes) see each other's writes. */
static void
test_two_handles(void)
{
	struct ag_store *a = open_store("handles"), *b = reopen_store("handles");
	struct ag_subject_ref ref = account("shared", 10, 3600, 0);
	struct ag_decision dec;
	struct ag_settled out;
	struct ag_subject_info *info = malloc(sizeof(*info));
	int64_t attempt = 0;

	ok(a != NULL && b != NULL && info != NULL, "two handles open");
	if (a != NULL && b != NULL && info != NULL) {
		is_int(ag_store_reserve_attempt(a, &ref, 1, T0, &attempt, &dec), 0,
		       "reserve on handle A");
		is_int(ag_store_settle_failure(b, &ref, 1, attempt, T0, &out), 0,
		       "settle on handle B with A's attempt");
		is_int(out.failures, 1, "settled once across handles");
		is_int(ag_store_subject_info(a, AG_SUBJECT_ACCOUNT, "shared", WINDOW, T0, info), 0,
		       "handle A sees B's write");
		is_int(info->state.pending, 0, "nothing left pending");
		is_str(ag_store_engine(a), backend_name(), "the engine is %s", backend_name());
	}
	ag_store_close(a);
	ag_store_close(b);
	free(info);
	ag_store_close(NULL); /* accepts NULL */
	is_str(ag_store_errmsg(NULL), "", "ag_store_errmsg(NULL) is empty");
}

/* The store's behaviour, the same on every back end. */
static void
test_behaviour(void)
{
	struct ag_store *st = open_store("protocol");

	ok(st != NULL, "open the protocol store (%s)", backend_name());
	if (st != NULL) {
		test_reserve_settle(st);
		test_success(st);
		test_parallel_and_delay(st);
		test_release(st);
		test_window_and_expiry(st);
		test_names(st);
		test_exempt_unknown(st);
		is_int(ag_store_check(st), 0, "the store checks out after all of it");
		ag_store_close(st);
	}
	test_two_handles();
	test_first_insert_race();
	test_list_locks_first();
	test_purge();
	test_session_lru();
	test_mfa();
	test_jti();
	test_refresh();
	test_web_sessions();
	test_pam_sessions();
	test_webhook_apply();
	test_concurrency();
}

/* The SQLite back end's own: its file, its PRAGMAs, its lock. */
static void
test_sqlite_only(void)
{
	if (pg_conninfo != NULL) {
		skip("SQLite only: opening, refusing and migrating state files");
		skip("SQLite only: file modes, owners and symlinks");
		skip("SQLite only: application_id, user_version, migration, WAL mode");
		skip("SQLite only: a stamped file without tables, a planted trigger");
		skip("SQLite only: PRAGMA synchronous");
		skip("SQLite only: the WAL stays bounded");
		skip("SQLite only: a write lock held by another process");
		return;
	}
	test_open_refusals();
	test_open_unsafe();
	test_create_and_migrate();
	test_tampered();
	test_sync();
	test_wal_bounded();
	test_busy_failure();
}

int
main(void)
{
	uint32_t run = 0;

	umask(022);
	pg_conninfo = getenv("AG_TEST_PG_CONNINFO");
	if (pg_conninfo != NULL && pg_conninfo[0] == '\0')
		pg_conninfo = NULL;
	if (getrandom(&run, sizeof(run), 0) != (ssize_t)sizeof(run))
		run = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	snprintf(pg_run, sizeof(pg_run), "%08x", run);
	ag_strlcpy(tmpdir, "/tmp/authguard-test.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0) {
		printf("Bail out! cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	diag("back end: %s%s", backend_name(),
	     pg_conninfo != NULL ? " (AG_TEST_PG_CONNINFO), schemas agt_<run>_*" : "");
	test_sqlite_only();
	test_behaviour();
	drop_schemas();
	cleanup();
	return done_testing();
}
