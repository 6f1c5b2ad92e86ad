/* Unit tests of the store's administration operations that need no
 * database server:
 *
 *  - ag_store_copy between two SQLite stores: every kind of row survives
 *    with its ids and references, seen through the store's own operations
 *    afterwards (a lock, failures, a name that is not UTF-8, MFA secrets,
 *    steps, pending enrollments and backup codes, revoked jtis, a refresh
 *    family one rotation in, a web session, a PAM session, a webhook
 *    message id); a destination that holds rows is refused unchanged
 *    unless replace is set; a damaged source stops the copy with nothing
 *    written;
 *  - ag_store_advise over the facts an engine read: the password, passfile
 *    and TLS advice, and nothing when there is nothing to say;
 *  - the name rules of ag_sql_name_check / ag_sql_role_check.
 *
 * The PostgreSQL side (the same copy into a server, the facts read by
 * libpq) is tested by tests/pam/pg_migrate.sh and pg_admin.sh. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "error.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

#include "tap.h"

#define T0 INT64_C(1700000000)

static char tmpdir[64];

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static struct ag_store *
open_store(const char *name, struct ag_config *cfg)
{
	struct ag_store *st = NULL;
	char err[AG_ERRBUF];

	ag_config_defaults(cfg);
	snprintf(cfg->state_file, sizeof(cfg->state_file), "%s/%s.db", tmpdir, name);
	cfg->sync = AG_SYNC_NORMAL;
	if (ag_store_open(cfg, AG_STORE_CREATE, &st, err) != 0)
		diag("open %s: %s", name, err);
	return st;
}

static struct ag_subject_ref
account(const char *name)
{
	struct ag_subject_ref r;

	memset(&r, 0, sizeof(r));
	r.kind = AG_SUBJECT_ACCOUNT;
	r.name = name;
	r.limits.deny = 2;
	r.limits.window = 900;
	r.limits.lock_time = 3600;
	r.limits.enforce = 1;
	return r;
}

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* The TOTP check of the tests: accepts any code at step 1000. */
static int
accept_step(void *ctx, const uint8_t *sealed, size_t len, int64_t last_step, int64_t *stepp)
{
	(void)ctx;
	(void)sealed;
	(void)len;
	if (last_step >= 1000)
		return AG_MFA_REPLAY;
	*stepp = 1000;
	return 0;
}

static int
alive_yes(void *ctx, const struct ag_pam_session *row)
{
	(void)ctx;
	(void)row;
	return 1;
}

static int
count_pam(void *ctx, const struct ag_pam_session *s)
{
	struct ag_pam_session *out = ctx;

	*out = *s;
	out->pid++; /* pid holds the count from here on: copied first, then counted */
	return 0;
}

struct fixture {
	uint8_t dave_sealed[100], carol_sealed[80], backup[3][32];
	uint8_t h1[32], h2[32], sess[32], fp[32];
	int64_t family, pam_id;
};

static const char jose[] = "jos\xe9"; /* Latin-1: not UTF-8 */

static void
build_source(struct ag_store *st, struct fixture *fx)
{
	struct ag_subject_ref s[2] = { account("alice"), account(jose) };
	struct ag_settled out[2];
	struct ag_web_session ws;
	struct ag_pam_session ps;
	struct ag_refresh_info info;
	enum ag_refresh_outcome outcome;
	int verdict = -1, first = 0, refused = 1;
	int64_t evicted = 0, ended = 0, fams = 0;

	is_int(ag_store_settle_failure(st, s, 2, 0, T0, out), 0,
	       "source: a failure of alice, jose");
	is_int(ag_store_settle_failure(st, s, 1, 0, T0 + 1, out), 0, "source: alice again");
	ok(out[0].locked_until > 0, "source: alice is locked");

	fill(fx->dave_sealed, sizeof(fx->dave_sealed), 1);
	fill(fx->carol_sealed, sizeof(fx->carol_sealed), 2);
	fill(fx->backup[0], 32, 3);
	fill(fx->backup[1], 32, 4);
	fill(fx->backup[2], 32, 5);
	is_int(ag_store_mfa_set_pending(st, "dave", fx->dave_sealed, sizeof(fx->dave_sealed), T0,
	                                T0 + 600), 0, "source: dave's pending enrollment");
	is_int(ag_store_mfa_set_pending(st, "carol", fx->carol_sealed, sizeof(fx->carol_sealed), T0,
	                                T0 + 600), 0, "source: carol's enrollment");
	is_int(ag_store_mfa_use_totp(st, "carol", T0, 1, accept_step, NULL,
	                             (const uint8_t(*)[32])fx->backup, 3, &verdict), 0,
	       "source: carol confirms");
	is_int(verdict, 0, "source: ... accepted at step 1000");

	is_int(ag_store_jti_revoke(st, "jti-1", T0, T0 + 3600), 0, "source: a revoked jti");

	fill(fx->h1, 32, 10);
	fill(fx->h2, 32, 11);
	is_int(ag_store_refresh_create(st, "Erin", "erin", NULL, fx->h1, T0, T0 + 86400,
	                               &fx->family), 0, "source: a refresh family");
	is_int(ag_store_refresh_redeem(st, fx->h1, fx->h2, T0 + 5, 0, NULL, &outcome, &info), 0,
	       "source: ... rotated once");
	is_int(outcome, AG_REFRESH_OK, "source: ... ok");

	memset(&ws, 0, sizeof(ws));
	fill(ws.id_hash, 32, 20);
	fill(ws.fingerprint, 32, 21);
	memcpy(fx->sess, ws.id_hash, 32);
	memcpy(fx->fp, ws.fingerprint, 32);
	ag_strlcpy(ws.user, "Frank", sizeof(ws.user));
	ag_strlcpy(ws.user_key, "frank", sizeof(ws.user_key));
	ag_strlcpy(ws.clerk_sid, "sess_1", sizeof(ws.clerk_sid));
	ws.created = ws.last_seen = T0;
	ws.idle_expires = T0 + 1800;
	ws.abs_expires = T0 + 43200;
	is_int(ag_store_session_create(st, &ws, 5, 1, T0, &evicted, &refused), 0,
	       "source: a web session");

	memset(&ps, 0, sizeof(ps));
	ag_strlcpy(ps.user, "gina", sizeof(ps.user));
	ag_strlcpy(ps.service, "sshd", sizeof(ps.service));
	ag_strlcpy(ps.boot_id, "boot-1", sizeof(ps.boot_id));
	ag_strlcpy(ps.host, "machine-1", sizeof(ps.host));
	ps.pid = 4242;
	ps.started = T0;
	is_int(ag_store_pam_session_open(st, &ps, 0, alive_yes, NULL, &fx->pam_id, &refused), 0,
	       "source: a PAM session");

	is_int(ag_store_webhook_apply(st, "msg_1", T0, T0 + 300, NULL, NULL, NULL, &first, &ended,
	                              &fams), 0, "source: a webhook message");
}

/* What the destination shows through the store's operations. */
static void
check_copy(struct ag_store *st, const struct fixture *fx)
{
	struct ag_subject_ref alice = account("alice");
	struct ag_subject_info info;
	struct ag_decision dec;
	struct ag_mfa_record rec;
	struct ag_refresh_info rinfo;
	struct ag_web_session ws;
	struct ag_pam_session ps;
	enum ag_refresh_outcome outcome;
	enum ag_session_verdict sv;
	uint8_t h3[32];
	int used = 0, revoked = 0, touched = 0, first = 1;
	int64_t ended = 0, fams = 0;

	is_int(ag_store_peek(st, &alice, T0 + 10, &dec), 0, "copy: peek alice");
	is_int(dec.verdict, AG_REFUSE_LOCKED, "copy: alice is still locked");
	is_int(ag_store_subject_info(st, AG_SUBJECT_ACCOUNT, jose, 900, T0 + 10, &info), 0,
	       "copy: the Latin-1 name is found by its bytes");
	is_int(info.state.failures, 1, "copy: ... with its failure");

	is_int(ag_store_mfa_get(st, "dave", T0 + 10, &rec), 0, "copy: dave's MFA");
	ok(!rec.active && rec.pending && rec.pending_len == sizeof(fx->dave_sealed) &&
	       memcmp(rec.pending_secret, fx->dave_sealed, rec.pending_len) == 0 &&
	       rec.pending_expires == T0 + 600,
	   "copy: dave's pending enrollment, byte for byte, with its expiry");
	is_int(ag_store_mfa_get(st, "carol", T0 + 10, &rec), 0, "copy: carol's MFA");
	ok(rec.active && rec.secret_len == sizeof(fx->carol_sealed) &&
	       memcmp(rec.secret, fx->carol_sealed, rec.secret_len) == 0 && rec.last_step == 1000 &&
	       rec.backup_left == 3,
	   "copy: carol's sealed secret, last step and 3 backup codes");
	is_int(ag_store_mfa_use_backup(st, "carol", fx->backup[1], &used), 0,
	       "copy: a backup code");
	is_int(used, 1, "copy: ... is accepted");
	is_int(ag_store_mfa_use_backup(st, "carol", fx->backup[1], &used), 0, "copy: again");
	is_int(used, 0, "copy: ... once");

	is_int(ag_store_jti_is_revoked(st, "jti-1", T0 + 10, &revoked), 0, "copy: jti lookup");
	is_int(revoked, 1, "copy: the jti is still revoked");

	fill(h3, 32, 12);
	is_int(ag_store_refresh_redeem(st, fx->h2, h3, T0 + 20, 0, NULL, &outcome, &rinfo), 0,
	       "copy: redeem the family's newest token");
	is_int(outcome, AG_REFRESH_OK, "copy: ... ok");
	ok(rinfo.family == fx->family && strcmp(rinfo.subject, "Erin") == 0,
	   "copy: ... in the same family (id %lld), subject as spelt", (long long)rinfo.family);
	is_int(ag_store_refresh_redeem(st, fx->h1, h3, T0 + 30, 0, NULL, &outcome, &rinfo), 0,
	       "copy: the token used before the copy");
	is_int(outcome, AG_REFRESH_REUSED, "copy: ... is reuse");

	memset(&ws, 0, sizeof(ws));
	is_int(ag_store_session_check(st, fx->sess, fx->fp, T0 + 10, 1800, 60, 1, &sv, &ws,
	                              &touched), 0, "copy: session check");
	is_int(sv, AG_SESSION_OK, "copy: the web session is valid");
	ok(strcmp(ws.user, "Frank") == 0 && strcmp(ws.user_key, "frank") == 0 &&
	       strcmp(ws.clerk_sid, "sess_1") == 0,
	   "copy: ... user, key and Clerk session kept");

	memset(&ps, 0, sizeof(ps));
	is_int(ag_store_pam_session_list(st, "gina", count_pam, &ps), 0, "copy: PAM sessions");
	ok(ps.id == fx->pam_id && ps.pid == 4243 && strcmp(ps.host, "machine-1") == 0,
	   "copy: gina's PAM session, same id %lld, same machine", (long long)fx->pam_id);

	is_int(ag_store_webhook_apply(st, "msg_1", T0 + 10, T0 + 300, NULL, NULL, NULL, &first,
	                              &ended, &fams), 0, "copy: the webhook message again");
	is_int(first, 0, "copy: ... is a replay");
}

static void
test_copy(void)
{
	struct ag_config ca, cb, cc;
	struct ag_store *a = open_store("source", &ca), *b = open_store("dest", &cb), *c;
	struct ag_store_copied n;
	struct fixture fx;
	uint8_t h[32];
	int64_t fam = 0, total = 0;
	size_t i;
	char sql[512];
	sqlite3 *db = NULL;

	if (a == NULL || b == NULL) {
		ok(0, "open two SQLite stores");
		return;
	}
	memset(&fx, 0, sizeof(fx));
	build_source(a, &fx);

	is_int(ag_store_copy(a, b, 0, &n), 0, "copy into an empty store: ok");
	is_int(n.n, AG_STORE_TABLES, "... through every table");
	for (i = 0; i < n.n; i++)
		total += n.rows[i];
	ok(n.n > 0 && strcmp(n.table[0], "subject") == 0 && n.rows[0] == 2 && total >= 15,
	   "... counting rows per table (%lld in all)", (long long)total);
	check_copy(b, &fx);

	fill(h, 32, 30);
	is_int(ag_store_refresh_create(b, "Ida", "ida", NULL, h, T0, T0 + 86400, &fam), 0,
	       "a new family after the copy");
	ok(fam > fx.family, "... draws an id past the copied ones (%lld > %lld)", (long long)fam,
	   (long long)fx.family);

	is_int(ag_store_copy(a, b, 0, &n), AG_ERR_EXISTS,
	       "copy into a store that holds rows: refused");
	ok(strstr(ag_store_errmsg(b), "already holds rows") != NULL, "... saying so: %s",
	   ag_store_errmsg(b));
	{
		enum ag_refresh_outcome o;
		struct ag_refresh_info ri;
		uint8_t h2[32];

		fill(h2, 32, 31);
		is_int(ag_store_refresh_redeem(b, h, h2, T0 + 1, 0, NULL, &o, &ri), 0,
		       "... and changes nothing: Ida's family is there");
		is_int(o, AG_REFRESH_OK, "... and redeems");
	}
	is_int(ag_store_copy(a, b, 1, &n), 0, "copy with replace: ok");
	{
		enum ag_refresh_outcome o;
		struct ag_refresh_info ri;
		uint8_t h2[32];

		fill(h2, 32, 32);
		is_int(ag_store_refresh_redeem(b, h, h2, T0 + 2, 0, NULL, &o, &ri), 0,
		       "... Ida's family, not in the source");
		is_int(o, AG_REFRESH_UNKNOWN, "... is gone");
	}
	is_int(ag_store_copy(a, a, 0, &n), AG_ERR_INVAL, "a store into itself: refused");

	/* A damaged source: a sealed secret longer than the store takes. */
	snprintf(sql, sizeof(sql), "UPDATE mfa SET secret = randomblob(%d) WHERE account = 'carol'",
	         AG_MFA_SEALED_MAX + 1);
	if (sqlite3_open(ca.state_file, &db) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		diag("cannot damage the source");
	sqlite3_close(db);
	c = open_store("dest2", &cc);
	if (c != NULL) {
		struct ag_subject_info info;

		is_int(ag_store_copy(a, c, 0, &n), AG_ERR_CORRUPT, "a damaged source: refused");
		ok(strstr(ag_store_errmsg(c), "table mfa") != NULL, "... naming the table: %s",
		   ag_store_errmsg(c));
		is_int(ag_store_subject_info(c, AG_SUBJECT_ACCOUNT, "alice", 900, T0, &info),
		       AG_ERR_NOTFOUND, "... with nothing written (the tables before it neither)");
	}
	ag_store_close(c);
	ag_store_close(a);
	ag_store_close(b);
}

/* ---------------------------------------------------------------- advice */

struct advice {
	int n;
	char last[2048];
};

static void
collect(void *ctx, const char *msg)
{
	struct advice *a = ctx;

	a->n++;
	ag_strlcpy(a->last, msg, sizeof(a->last));
}

static void
test_advice(void)
{
	struct ag_db_conn_facts f;
	struct advice a;
	char pf[PATH_MAX];
	int fd;

	memset(&f, 0, sizeof(f));
	memset(&a, 0, sizeof(a));
	ag_store_advise(&f, "/etc/authguard/authguard.conf", 0644, collect, &a);
	is_int(a.n, 0, "advice: a local server, no password: nothing to say");

	f.has_password = 1;
	ag_store_advise(&f, "/etc/authguard/authguard.conf", 0600, collect, &a);
	is_int(a.n, 0, "advice: a password in a 0600 file: nothing");
	ag_store_advise(&f, "/etc/authguard/authguard.conf", 0640, collect, &a);
	is_int(a.n, 1, "advice: a password in a 0640 file: one warning");
	ok(strstr(a.last, "/etc/authguard/authguard.conf can be read by group or others "
	                  "(mode 0640)") &&
	       strstr(a.last, "passfile"),
	   "... naming the file, its mode and the passfile: %s", a.last);
	memset(&a, 0, sizeof(a));
	ag_store_advise(&f, "/x.conf", 0604, collect, &a);
	is_int(a.n, 1, "advice: ... 0604 too");

	memset(&f, 0, sizeof(f));
	memset(&a, 0, sizeof(a));
	snprintf(pf, sizeof(pf), "%s/pgpass", tmpdir);
	ag_strlcpy(f.passfile, pf, sizeof(f.passfile));
	ag_store_advise(&f, "/x.conf", 0644, collect, &a);
	ok(a.n == 1 && strstr(a.last, "does not exist") != NULL, "advice: a missing passfile: %s",
	   a.last);
	fd = open(pf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	memset(&a, 0, sizeof(a));
	ag_store_advise(&f, "/x.conf", 0644, collect, &a);
	is_int(a.n, 0, "advice: a 0600 passfile: nothing");
	chmod(pf, 0640);
	ag_store_advise(&f, "/x.conf", 0644, collect, &a);
	ok(a.n == 1 && strstr(a.last, "(mode 0640): libpq ignores it") != NULL,
	   "advice: a 0640 passfile: libpq ignores it: %s", a.last);

	memset(&f, 0, sizeof(f));
	memset(&a, 0, sizeof(a));
	f.remote = 1;
	ag_strlcpy(f.remote_host, "db.example.com", sizeof(f.remote_host));
	ag_store_advise(&f, "/x.conf", 0600, collect, &a);
	ok(a.n == 1 && strstr(a.last, "remote server db.example.com without sslmode=verify-full "
	                              "(sslmode not set)") != NULL,
	   "advice: a remote server, sslmode not set: %s", a.last);
	ag_strlcpy(f.sslmode, "verify-ca", sizeof(f.sslmode));
	ag_store_advise(&f, "/x.conf", 0600, collect, &a);
	ok(a.n == 2 && strstr(a.last, "(sslmode=verify-ca)") != NULL,
	   "advice: ... verify-ca is not enough: %s", a.last);
	ag_strlcpy(f.sslmode, "verify-full", sizeof(f.sslmode));
	ag_store_advise(&f, "/x.conf", 0600, collect, &a);
	is_int(a.n, 2, "advice: ... verify-full: nothing");
}

/* ----------------------------------------------------------------- names */

static void
test_names(void)
{
	static const char *const good[] = { "authguard", "authguard_app", "_x", "a1", NULL };
	static const char *const bad[] = { "", "Authguard", "1a", "a-b", "a b", "a\"b", "a;b",
		                           "\xc3\xa9t\xc3\xa9", NULL };
	char long63[64], long64[65];
	const char *why = NULL;
	size_t i;

	for (i = 0; good[i] != NULL; i++)
		is_int(ag_sql_name_check(good[i], &why), 0, "name %s: accepted", good[i]);
	for (i = 0; bad[i] != NULL; i++) {
		why = NULL;
		is_int(ag_sql_name_check(bad[i], &why), AG_ERR_INVAL, "name %s: refused", bad[i]);
		ok(why != NULL, "... with a reason (%s)", why != NULL ? why : "none");
	}
	memset(long63, 'a', 63);
	long63[63] = '\0';
	memset(long64, 'a', 64);
	long64[64] = '\0';
	is_int(ag_sql_name_check(long63, &why), 0, "a 63-byte name: accepted");
	is_int(ag_sql_name_check(long64, &why), AG_ERR_INVAL, "a 64-byte name: refused");
	is_int(ag_sql_role_check("authguard_app", &why), 0, "role authguard_app: accepted");
	is_int(ag_sql_role_check("public", &why), AG_ERR_INVAL, "role public: refused");
	is_int(ag_sql_role_check("pg_monitor", &why), AG_ERR_INVAL, "role pg_monitor: refused");
	is_int(ag_sql_role_check("Admin", &why), AG_ERR_INVAL, "role Admin: refused");
	is_int(ag_sql_name_check("public", &why), 0, "schema public: a name like any other");
}

int
main(void)
{
	umask(022);
	ag_strlcpy(tmpdir, "/tmp/authguard-admin.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0) {
		printf("Bail out! cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	test_names();
	test_advice();
	test_copy();
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
