/* Unit tests for lib/store against real SQLite files: opening, creating
 * and refusing state files (hostile ones included), and the attempt
 * protocol (reserve / settle), windows, locks, unlock and purge.  SQLite is
 * used directly only to build hostile files and to look at what the store
 * wrote.  Everything lives in a fresh directory under /tmp. */
#include "autoconf.h" /* defines _GNU_SOURCE: nftw FTW_PHYS */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "error.h"
#include "policy.h"
#include "store.h"
#include "sqlite/sqlite_schema.h"
#include "util.h"

#include "tap.h"

#define T0 INT64_C(1700000000)
#define APP_ID 0x41475244 /* "AGRD", the store's PRAGMA application_id */
#define WINDOW 900

static char tmpdir[64];

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

/* ------------------------------------------------------------- opening */

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

	/* two handles on one file see each other's writes */
	{
		struct ag_store *a = NULL, *b = NULL;
		struct ag_subject_ref ref;
		struct ag_decision dec;
		struct ag_settled out;
		struct ag_subject_info *info = malloc(sizeof(*info));
		int64_t attempt = 0;

		config_for(&cfg, dir, "state.db");
		memset(&ref, 0, sizeof(ref));
		ref.kind = AG_SUBJECT_ACCOUNT;
		ref.name = "shared";
		ref.limits.deny = 10;
		ref.limits.window = WINDOW;
		ref.limits.lock_time = 3600;
		ref.limits.enforce = 1;
		ref.limits.delay_pending = 1;
		ok(info != NULL && ag_store_open(&cfg, 0, &a, err) == 0 &&
		           ag_store_open(&cfg, 0, &b, err) == 0,
		   "two handles open");
		if (a != NULL && b != NULL && info != NULL) {
			is_int(ag_store_reserve_attempt(a, &ref, 1, T0, &attempt, &dec), 0,
			       "reserve on handle A");
			is_int(ag_store_settle_failure(b, &ref, 1, attempt, T0, &out), 0,
			       "settle on handle B with A's attempt");
			is_int(out.failures, 1, "settled once across handles");
			is_int(ag_store_subject_info(a, AG_SUBJECT_ACCOUNT, "shared", WINDOW, T0,
			                             info),
			       0, "handle A sees B's write");
			is_int(info->state.pending, 0, "nothing left pending");
		}
		ag_store_close(a);
		ag_store_close(b);
		free(info);
	}
	ag_store_close(NULL); /* accepts NULL */
	is_str(ag_store_errmsg(NULL), "", "ag_store_errmsg(NULL) is empty");
}

/* --------------------------------------------------------- the protocol */

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

static struct ag_store *
open_store(const char *name)
{
	struct ag_config cfg;
	struct ag_store *st = NULL;
	char dir[PATH_MAX], err[AG_ERRBUF];

	subdir(dir, sizeof(dir), name, 0755);
	config_for(&cfg, dir, "state.db");
	if (ag_store_open(&cfg, AG_STORE_CREATE, &st, err) != 0) {
		diag("%s", err);
		return NULL;
	}
	return st;
}

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
test_window_and_expiry(struct ag_store *st, const char *path)
{
	struct ag_subject_ref s[1];
	struct ag_decision dec[1], d;
	struct ag_settled out[1];
	int64_t a, t = T0 + 30000;
	int found = -1;
	char sql[160];

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
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM failure f JOIN subject s"
	         " ON s.id = f.subject_id WHERE s.name = 'frank'");
	is_int(sql_int(path, sql), 3, "the failure outside the window was deleted");
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
	struct ag_config cfg;
	struct ag_subject_ref s[1];
	struct ag_settled out[1];
	char dir[PATH_MAX], path[PATH_MAX + 16], name[64];
	int64_t deleted = -1, t = T0, sub, omitted = -1;
	int i, j, errors = 0, n;
	unsigned seed = 12345;

	if (st == NULL) {
		ok(0, "open purge store");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/purge", tmpdir);
	config_for(&cfg, dir, "state.db");
	ag_strlcpy(path, cfg.state_file, sizeof(path));

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
	is_int(sql_int(path, "SELECT count(*) FROM subject"), 1000, "1000 subjects stored");
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
	sub = sql_int(path, "SELECT count(*) FROM subject");
	is_int(sub, 2, "only the two locked subjects are left");
	is_int(sql_int(path, "SELECT count(*) FROM failure WHERE subject_id NOT IN"
	                     " (SELECT id FROM subject)"),
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
	is_int(sql_int(path, "SELECT count(*) FROM subject WHERE name LIKE 'spray-%'"), 0,
	       "70 later writes purged 1000 expired subjects on the way");
	is_int(sql_int(path, "SELECT count(*) FROM failure"), 71, "failure rows bounded too");
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

int
main(void)
{
	struct ag_store *st;

	umask(022);
	ag_strlcpy(tmpdir, "/tmp/authguard-test.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0) {
		printf("Bail out! cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	test_open_refusals();
	test_open_unsafe();
	test_create_and_migrate();

	st = open_store("protocol");
	ok(st != NULL, "open the protocol store");
	if (st != NULL) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/protocol/state.db", tmpdir);
		test_reserve_settle(st);
		test_success(st);
		test_parallel_and_delay(st);
		test_release(st);
		test_window_and_expiry(st, path);
		test_names(st);
		test_exempt_unknown(st);
		is_int(ag_store_check(st), 0, "quick_check after all of it");
		ag_store_close(st);
	}
	test_list_locks_first();
	test_purge();
	test_tampered();
	test_sync();
	test_wal_bounded();
	test_session_lru();
	test_busy_failure();
	cleanup();
	return done_testing();
}
