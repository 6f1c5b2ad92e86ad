/* authguard-ctl: administration of the shared state.
 *
 *   authguard-ctl [--conf FILE] init [--grant ROLE]
 *   authguard-ctl [--conf FILE] migrate --from-sqlite FILE [--force]
 *   authguard-ctl [--conf FILE] status [--json] [--limit N | USER | --ip ADDR]
 *   authguard-ctl [--conf FILE] unlock USER | --ip ADDR
 *   authguard-ctl [--conf FILE] purge
 *   authguard-ctl [--conf FILE] check-config
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cli.h"
#include "config.h"
#include "daemon_client.h"
#include "error.h"
#include "guard.h"
#include "keyring.h"
#include "session.h"
#include "log.h"
#include "net.h"
#include "safefile.h"
#include "secretbox.h"
#include "store.h"
#include "subject.h"
#include "util.h"

#define STATE_GROUP "authguard"

static const char *conf_path;
static struct ag_config cfg;

static void
usage(void)
{
	fprintf(stderr,
	        "usage: authguard-ctl [--conf FILE] COMMAND [ARGS]\n"
	        "\n"
	        "commands:\n"
	        "  init                         create the state directory and file (SQLite) or\n"
	        "                               create or migrate the schema (PostgreSQL), and\n"
	        "                               the secrets key when missing\n"
	        "  init --grant ROLE            PostgreSQL: also grant ROLE the rights the\n"
	        "                               programs need (run by the schema owner)\n"
	        "  migrate --from-sqlite FILE [--force]\n"
	        "                               copy a SQLite state into the PostgreSQL store\n"
	        "                               (--force: replace what the store holds)\n"
	        "  keygen --secrets             create the key that seals TOTP secrets\n"
	        "  keygen [--alg EdDSA|ES256|HS256] [--rotate]\n"
	        "                               create a token signing key (--rotate: replace\n"
	        "                               the signing key, keep the old one for verifying)\n"
	        "  keys [--json]                list the token keys\n"
	        "  keys --prune                 delete verification keys whose tokens have expired\n"
	        "  sessions [--json] [USER]     PAM and web sessions\n"
	        "  sessions end --user USER | --sid HANDLE\n"
	        "                               end web sessions (and their refresh tokens)\n"
	        "  status [--json] [USER]       failures and locks of an account\n"
	        "  status [--json] [--limit N]  of every account and host, current locks first\n"
	        "                               (at most N, default 10000; 0: no limit)\n"
	        "  status [--json] --ip ADDR    the same for a remote host (--host NAME for\n"
	        "                               hosts tracked by DNS name)\n"
	        "  unlock USER | --ip ADDR | --host NAME\n"
	        "                               forget failures and lift a lock\n"
	        "  purge                        delete expired rows now\n"
	        "  check-config                 validate configuration, state and permissions\n"
	        "  daemon status [--json]       what the running authguardd is doing\n"
	        "  version                      print the version\n");
	exit(CLI_USAGE);
}

static struct ag_store *
open_store(int flags)
{
	struct ag_store *st = NULL;
	char err[AG_ERRBUF];
	int r;

	if ((r = ag_store_open(&cfg, flags, &st, err)) != 0)
		cli_die(cli_exit_for(r), "%s", err);
	return st;
}

/* Parses "USER", "--ip ADDR" or "--host NAME" after a command, and with
 * jsonp/limitp also --json and --limit N (status).  Returns the subject
 * name (normalised for hosts) in name, "" when none was given. */
static void
parse_subject(int argc, char **argv, int *jsonp, int64_t *limitp, enum ag_subject_kind *kind,
              char *name, size_t namesize, int allow_none)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "host", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ip = NULL, *host = NULL, *reason = NULL;
	struct ag_cidr addr;
	int c, is_ip = 0, have_limit = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'i')
			ip = optarg;
		else if (c == 'H')
			host = optarg;
		else if (c == 'j' && jsonp != NULL)
			*jsonp = 1;
		else if (c == 'l' && limitp != NULL) {
			if (ag_parse_int64(optarg, 0, INT32_MAX, limitp) != 0)
				cli_die(CLI_USAGE, "--limit: a whole number from 0 (no limit) to %d",
				        INT32_MAX);
			have_limit = 1;
		} else
			usage();
	}
	name[0] = '\0';
	/* --limit bounds the list of everyone; it means nothing for one. */
	if (have_limit && (host != NULL || ip != NULL || optind != argc))
		usage();
	if (host != NULL) {
		/* Any PAM_RHOST value, normalised as the module does (DNS names
		 * when sshd runs with UseDNS yes). */
		if (optind != argc || ip != NULL ||
		    ag_host_normalize(host, (unsigned)cfg.ipv6_prefix, name, namesize, &is_ip,
		                      &addr) != 0)
			usage();
		*kind = AG_SUBJECT_HOST;
		return;
	}
	if (ip != NULL) {
		if (optind != argc)
			usage();
		if (ag_host_normalize(ip, (unsigned)cfg.ipv6_prefix, name, namesize, &is_ip,
		                      &addr) != 0 || !is_ip)
			cli_die(CLI_USAGE, "--ip: not an IPv4 or IPv6 address");
		*kind = AG_SUBJECT_HOST;
		return;
	}
	*kind = AG_SUBJECT_ACCOUNT;
	if (optind == argc && allow_none)
		return;
	if (optind + 1 != argc)
		usage();
	if (ag_guard_check_name(argv[optind], &reason) != 0)
		cli_die(CLI_USAGE, "user: %s", reason);
	if (ag_strlcpy(name, argv[optind], namesize) != 0)
		cli_die(CLI_USAGE, "user: name too long");
}

/* ------------------------------------------------------------------ init */

static void
make_dirs(const char *dir, mode_t mode, gid_t gid)
{
	char buf[PATH_MAX];
	const char *reason = NULL;
	struct stat st;
	char *p;

	if (ag_strlcpy(buf, dir, sizeof(buf)) != 0)
		cli_die(CLI_USAGE, "%s: path too long", dir);
	/* Missing parents get 0755 root-style modes; the last one ours. */
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == 0) {
			if (chmod(buf, 0755) != 0) /* umask is 077 here */
				cli_die(CLI_INTERNAL, "chmod %s: %s", buf, strerror(errno));
		} else if (errno != EEXIST) {
			cli_die(CLI_INTERNAL, "mkdir %s: %s", buf, strerror(errno));
		}
		*p = '/';
	}
	if (mkdir(buf, mode) == 0) {
		if (gid != (gid_t)-1 && chown(buf, (uid_t)-1, gid) != 0)
			cli_die(CLI_INTERNAL, "chown %s: %s", buf, strerror(errno));
		if (chmod(buf, mode) != 0)
			cli_die(CLI_INTERNAL, "chmod %s: %s", buf, strerror(errno));
		printf("created %s\n", buf);
	} else if (errno != EEXIST) {
		cli_die(CLI_INTERNAL, "mkdir %s: %s", buf, strerror(errno));
	}
	if (lstat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
		cli_die(CLI_USAGE, "%s: not a directory", buf);
	if (ag_safe_check_parents(buf, &reason) != 0 ||
	    ag_safe_check_dir(buf, AG_SAFE_GROUP_WRITE, &reason) != 0)
		cli_die(CLI_USAGE, "%s %s", buf, reason);
}

static void make_secrets_key(gid_t gid, int exists_ok);
static void fmt_time(char *buf, size_t size, int64_t t);

/* Creates the SQLite state of c (its directory and file, group authguard
 * given write access when gid is set) and its schema, and says so with
 * label. */
static void
init_sqlite_state(const struct ag_config *c, gid_t gid, const char *label)
{
	char dir[PATH_MAX], *slash;
	mode_t dmode = gid != (gid_t)-1 ? 02770 : 0700, fmode = gid != (gid_t)-1 ? 0660 : 0600;
	struct ag_store *st = NULL;
	char err[AG_ERRBUF];
	int fd, r;

	ag_strlcpy(dir, c->state_file, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		cli_die(CLI_USAGE, "state_file %s: must be a file in a directory", c->state_file);
	*slash = '\0';
	umask(077);
	make_dirs(dir, dmode, gid);

	fd = open(c->state_file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fmode);
	if (fd >= 0) {
		if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0)
			cli_die(CLI_INTERNAL, "chown %s: %s", c->state_file, strerror(errno));
		if (fchmod(fd, fmode) != 0)
			cli_die(CLI_INTERNAL, "chmod %s: %s", c->state_file, strerror(errno));
		close(fd);
		printf("created %s\n", c->state_file);
	} else if (errno != EEXIST) {
		cli_die(CLI_INTERNAL, "create %s: %s", c->state_file, strerror(errno));
	}
	if ((r = ag_store_open(c, AG_STORE_CREATE, &st, err)) != 0)
		cli_die(cli_exit_for(r), "%s", err);
	if (ag_store_check(st) != 0)
		cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(st));
	printf("%s %s ready (schema %d)\n", label, c->state_file, ag_store_file_version(st));
	ag_store_close(st);
}

/* init [--grant ROLE].  SQLite: the state directory and file.
 * PostgreSQL: the schema, created or migrated by whoever may (the schema
 * owner), and with --grant the runtime role's rights; no local file,
 * except the local SQLite state of store_fallback = local. */
static int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grant", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL, *why = NULL;
	struct group *gr;
	gid_t gid = (gid_t)-1;
	struct ag_store *st;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'g' && role == NULL)
			role = optarg;
		else
			usage();
	}
	if (optind != argc)
		usage();
	if (role != NULL && cfg.store != AG_STORE_POSTGRESQL)
		cli_die(CLI_USAGE,
		        "--grant: only for store = postgresql (a SQLite state has no roles)");
	if (role != NULL && ag_sql_role_check(role, &why) != 0)
		cli_die(CLI_USAGE, "--grant: role name: %s", why);
	/* Web backends run in group authguard: give it write access when the
	 * group exists, nobody else any. */
	if ((gr = getgrnam(STATE_GROUP)) != NULL)
		gid = gr->gr_gid;

	if (cfg.store != AG_STORE_POSTGRESQL) {
		init_sqlite_state(&cfg, gid, "state");
	} else {
		if (cfg.store_fallback == AG_FALLBACK_LOCAL) {
			struct ag_config local = cfg;

			local.store = AG_STORE_SQLITE;
			local.store_fallback = AG_FALLBACK_NONE;
			init_sqlite_state(&local, gid, "local state (store_fallback = local)");
		}
		st = open_store(AG_STORE_CREATE);
		if (ag_store_check(st) != 0)
			cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(st));
		printf("postgresql schema %s ready (schema %d)\n", cfg.pg_schema,
		       ag_store_file_version(st));
		if (role != NULL) {
			if ((r = ag_store_grant(st, role)) != 0)
				cli_die(cli_exit_for(r), "%s", ag_store_errmsg(st));
			printf("granted role %s USAGE on schema %s, SELECT on its version table, "
			       "and SELECT, INSERT, UPDATE, DELETE on its tables\n",
			       role, cfg.pg_schema);
			{
				struct ag_log log = { .sink = ag_log_sink_syslog };
				struct ag_logline l;

				ag_logline_init(&l, "store_grant");
				ag_logline_str(&l, "role", role);
				ag_logline_str(&l, "schema", cfg.pg_schema);
				ag_logline_int(&l, "uid", (int64_t)getuid());
				ag_log_emit(&log, LOG_NOTICE, &l);
			}
		}
		ag_store_close(st);
	}
	make_secrets_key(gid, 1);
	return CLI_OK;
}

/* -------------------------------------------------------------- migrate */

/* migrate --from-sqlite FILE [--force]: copies a host's SQLite state into
 * the configured PostgreSQL store, in one transaction there (ag_store_copy). */
static int
cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from-sqlite", required_argument, NULL, 'f' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct ag_config src_cfg;
	struct ag_store_copied n;
	struct stat sb;
	struct ag_store *src = NULL, *dst;
	const char *from = NULL;
	char err[AG_ERRBUF];
	int64_t total = 0;
	int c, r, force = 0;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'f' && from == NULL)
			from = optarg;
		else if (c == 'F')
			force = 1;
		else
			usage();
	}
	if (optind != argc || from == NULL)
		usage();
	if (cfg.store != AG_STORE_POSTGRESQL)
		cli_die(CLI_USAGE, "migrate copies into a PostgreSQL store: this configuration has "
		        "store = sqlite");
	if (from[0] != '/')
		cli_die(CLI_USAGE, "--from-sqlite: must be an absolute path");
	if (lstat(from, &sb) != 0)
		cli_die(CLI_USAGE, "--from-sqlite %s: %s", from, strerror(errno));
	src_cfg = cfg;
	src_cfg.store = AG_STORE_SQLITE;
	src_cfg.store_fallback = AG_FALLBACK_NONE;
	if (ag_strlcpy(src_cfg.state_file, from, sizeof(src_cfg.state_file)) != 0)
		cli_die(CLI_USAGE, "--from-sqlite: path too long");
	/* Opening the source as any program would: its checks, and an older
	 * schema migrated forward first. */
	if ((r = ag_store_open(&src_cfg, 0, &src, err)) != 0)
		cli_die(cli_exit_for(r), "%s", err);
	dst = open_store(0);
	if ((r = ag_store_copy(src, dst, force, &n)) != 0) {
		if (r == AG_ERR_EXISTS)
			cli_die(CLI_USAGE, "%s; nothing copied (--force replaces what it holds)",
			        ag_store_errmsg(dst));
		cli_die(r == AG_ERR_CORRUPT ? CLI_USAGE : CLI_INTERNAL, "%s; nothing copied",
		        ag_store_errmsg(dst));
	}
	ag_store_close(dst);
	ag_store_close(src);
	for (i = 0; i < n.n; i++) {
		printf("%-15s %lld row%s\n", n.table[i], (long long)n.rows[i],
		       n.rows[i] == 1 ? "" : "s");
		total += n.rows[i];
	}
	printf("copied %lld row%s from %s into postgresql schema %s%s\n", (long long)total,
	       total == 1 ? "" : "s", from, cfg.pg_schema,
	       force ? " (what it held before was deleted)" : "");
	{
		struct ag_log log = { .sink = ag_log_sink_syslog };
		struct ag_logline l;

		ag_logline_init(&l, "store_migrated");
		ag_logline_str(&l, "from", from);
		ag_logline_str(&l, "schema", cfg.pg_schema);
		ag_logline_int(&l, "rows", total);
		ag_logline_int(&l, "replaced", force);
		ag_logline_int(&l, "uid", (int64_t)getuid());
		ag_log_emit(&log, LOG_NOTICE, &l);
	}
	return CLI_OK;
}

/* --------------------------------------------------------------- keygen */

/* Creates the secrets key (TOTP secrets, backup codes) unless it exists:
 * readable by group authguard when that group exists (web backends verify
 * codes), by nobody else.  With exists_ok unset, an existing key is an
 * error: a new key would orphan every enrolled secret. */
static void
make_secrets_key(gid_t gid, int exists_ok)
{
	char dir[PATH_MAX], *slash;
	const char *reason = NULL;
	struct stat sb;
	int r;

	ag_strlcpy(dir, cfg.secrets_key, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		cli_die(CLI_USAGE, "secrets_key %s: must be a file in a directory", cfg.secrets_key);
	*slash = '\0';
	umask(077);
	make_dirs(dir, gid != (gid_t)-1 ? 0750 : 0700, gid);
	if (lstat(cfg.secrets_key, &sb) == 0) {
		if (!exists_ok)
			cli_die(CLI_USAGE, "%s already exists; refusing to replace it (every enrolled "
			        "TOTP secret and backup code depends on it)", cfg.secrets_key);
		printf("secrets key %s present\n", cfg.secrets_key);
		return;
	}
	r = ag_secretbox_key_generate(cfg.secrets_key, gid != (gid_t)-1 ? 0640 : 0600, &reason);
	if (r != 0)
		cli_die(cli_exit_for(r), "%s: %s", cfg.secrets_key, reason);
	if (gid != (gid_t)-1 && chown(cfg.secrets_key, (uid_t)-1, gid) != 0)
		cli_die(CLI_INTERNAL, "chown %s: %s", cfg.secrets_key, strerror(errno));
	printf("created secrets key %s\n", cfg.secrets_key);
}

/* keygen --alg ALG [--rotate]: a new token signing key.  The first key
 * becomes the signing key; afterwards a new one needs --rotate, which keeps
 * the old key for verifying the tokens it signed until they expire. */
static int
keygen_token(const char *algname, int rotate)
{
	char kid[AG_KEYRING_KID_MAX + 1], err[AG_ERRBUF];
	struct ag_keyring *kr = NULL;
	enum ag_key_alg alg;
	struct group *gr = getgrnam(STATE_GROUP);
	gid_t gid = gr != NULL ? gr->gr_gid : (gid_t)-1;
	int r, have_keys;

	if (ag_keyring_alg_parse(algname, &alg) != 0)
		cli_die(CLI_USAGE, "--alg: EdDSA, ES256 or HS256");
	umask(077);
	make_dirs(cfg.token_keys_dir, gid != (gid_t)-1 ? 0750 : 0700, gid);
	r = ag_keyring_load(cfg.token_keys_dir, &kr, err);
	have_keys = r == 0;
	ag_keyring_free(kr);
	if (have_keys && !rotate)
		cli_die(CLI_USAGE, "%s already has a signing key; use --rotate to replace it",
		        cfg.token_keys_dir);
	if (r != 0 && r != AG_ERR_CONFIG && r != AG_ERR_NOTFOUND)
		cli_die(cli_exit_for(r), "%s", err);
	r = ag_keyring_generate(cfg.token_keys_dir, alg, 1, gid != (gid_t)-1 ? 0640 : 0600, kid, err);
	if (r != 0)
		cli_die(cli_exit_for(r), "%s", err);
	{
		struct ag_log log = { .sink = ag_log_sink_syslog };
		struct ag_logline l;

		ag_logline_init(&l, rotate ? "key_rotated" : "key_created");
		ag_logline_str(&l, "kid", kid);
		ag_logline_str(&l, "alg", algname);
		ag_logline_int(&l, "uid", (int64_t)getuid());
		ag_log_emit(&log, LOG_NOTICE, &l);
	}
	printf("created %s key %s in %s%s\n", algname, kid, cfg.token_keys_dir,
	       rotate ? " (now signing; the previous key verifies until its tokens expire)" : "");
	return CLI_OK;
}

static int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secrets", no_argument, NULL, 's' },
		{ "alg", required_argument, NULL, 'a' },
		{ "rotate", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *alg = NULL;
	struct group *gr;
	int c, secrets = 0, rotate = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 's')
			secrets = 1;
		else if (c == 'a')
			alg = optarg;
		else if (c == 'r')
			rotate = 1;
		else
			usage();
	}
	if (optind != argc || (secrets && (alg != NULL || rotate)))
		usage();
	if (!secrets)
		return keygen_token(alg != NULL ? alg : "EdDSA", rotate);
	gr = getgrnam(STATE_GROUP);
	make_secrets_key(gr != NULL ? gr->gr_gid : (gid_t)-1, 0);
	return CLI_OK;
}

/* keys --prune: deletes verification keys no token can need any more.
 * Every token they signed was issued before the signing key was created,
 * so all of them expire by then + access_ttl + token_leeway. */
static int
prune_keys(struct ag_keyring *kr)
{
	struct ag_key_info active, info;
	char path[PATH_MAX];
	int64_t cutoff;
	size_t i;
	int n = 0;

	ag_keyring_info(ag_keyring_active(kr), &active);
	cutoff = active.created + cfg.access_ttl + cfg.token_leeway;
	if (ag_clock_now() <= cutoff) {
		printf("nothing to prune before %lld (tokens of older keys may still be valid)\n",
		       (long long)cutoff);
		return CLI_OK;
	}
	for (i = 0; i < ag_keyring_count(kr); i++) {
		ag_keyring_info(ag_keyring_key(kr, i), &info);
		if (info.active || info.created > active.created)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg.token_keys_dir, info.file);
		if (unlink(path) != 0)
			cli_die(CLI_INTERNAL, "remove %s: %s", path, strerror(errno));
		printf("removed verification key %s\n", info.kid);
		n++;
	}
	if (n == 0)
		printf("no verification keys to remove\n");
	return CLI_OK;
}

/* keys [--json | --prune]: the token keys, signing key first. */
static int
cmd_keys(int argc, char **argv)
{
	struct ag_keyring *kr = NULL;
	struct ag_key_info info;
	char err[AG_ERRBUF], when[64];
	json_t *arr = NULL;
	size_t i;
	int r, json = argc == 2 && strcmp(argv[1], "--json") == 0;
	int prune = argc == 2 && strcmp(argv[1], "--prune") == 0;

	if (argc != 1 && !json && !prune)
		usage();
	if ((r = ag_keyring_load(cfg.token_keys_dir, &kr, err)) != 0)
		cli_die(cli_exit_for(r), "%s", err);
	if (prune) {
		r = prune_keys(kr);
		ag_keyring_free(kr);
		return r;
	}
	if (json)
		arr = json_array();
	for (i = 0; i < ag_keyring_count(kr); i++) {
		ag_keyring_info(ag_keyring_key(kr, i), &info);
		if (json) {
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:s}", "kid", info.kid,
			                                     "alg", info.alg, "status",
			                                     info.active ? "signing" : "verify", "created",
			                                     (json_int_t)info.created, "file", info.file));
			continue;
		}
		fmt_time(when, sizeof(when), info.created);
		printf("%-8s %-6s %s  created %s  (%s)\n", info.active ? "signing" : "verify", info.alg,
		       info.kid, when, info.file);
	}
	ag_keyring_free(kr);
	if (json)
		cli_print_json(arr);
	return CLI_OK;
}

/* ---------------------------------------------------------------- status */

static void
fmt_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == AG_FOREVER || gmtime_r(&tt, &tm) == NULL)
		ag_strlcpy(buf, "until unlocked", size);
	else
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static int
exempt_for(const struct ag_subject_info *info)
{
	return info->kind == AG_SUBJECT_ACCOUNT && ag_guard_account_exempt(&cfg, info->name);
}

/* One subject as JSON; NULL only when out of memory.  Names are set
 * with cli_json_set_name: a name that is not UTF-8 is never dropped. */
static json_t *
info_json(const struct ag_subject_info *info, const struct ag_decision *dec)
{
	json_t *o;

	/* The names are placeholders here, set in place below. */
	o = json_pack("{s:s, s:n, s:b, s:I, s:I, s:b, s:o, s:I, s:o, s:n}",
	              "kind", info->kind == AG_SUBJECT_HOST ? "host" : "account",
	              "subject",
	              "exempt", exempt_for(info),
	              "failures", (json_int_t)info->state.failures,
	              "pending", (json_int_t)info->state.pending,
	              "locked", dec->verdict == AG_REFUSE_LOCKED,
	              "locked_until", dec->verdict == AG_REFUSE_LOCKED
	                  ? (dec->locked_until == AG_FOREVER ? json_string("never")
	                                                     : json_integer(dec->locked_until))
	                  : json_null(),
	              "retry_after", (json_int_t)dec->retry_after,
	              "last_failure", cli_json_time(info->state.last_any),
	              "last_source");
	if (o == NULL || cli_json_set_name(o, "subject", info->name) != 0 ||
	    cli_json_set_name(o, "last_source",
	                      info->last_source[0] != '\0' ? info->last_source : NULL) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
print_info(const struct ag_subject_info *info, const struct ag_decision *dec)
{
	char esc[4 * 200 + 8], when[64], wait[64];

	ag_log_escape(esc, sizeof(esc), info->name, strlen(info->name), 200);
	printf("%s %s: %lld failure%s in the window", info->kind == AG_SUBJECT_HOST ? "host" : "account",
	       esc, (long long)info->state.failures, info->state.failures == 1 ? "" : "s");
	if (info->state.pending > 0)
		printf(" (%lld in progress)", (long long)info->state.pending);
	if (info->last_source[0] != '\0') {
		ag_log_escape(esc, sizeof(esc), info->last_source, strlen(info->last_source), 100);
		printf(", last from %s", esc);
	}
	if (exempt_for(info)) {
		printf("; exempt (root; set even_deny_root to lock it)");
	} else if (dec->verdict == AG_REFUSE_LOCKED) {
		fmt_time(when, sizeof(when), dec->locked_until);
		if (dec->retry_after < 0) {
			printf("; LOCKED until unlocked by an administrator");
		} else {
			ag_format_wait(wait, sizeof(wait), dec->retry_after);
			printf("; LOCKED until %s (%s)", when, wait);
		}
	} else if (dec->verdict == AG_REFUSE_EARLY) {
		ag_format_wait(wait, sizeof(wait), dec->retry_after);
		printf("; next attempt allowed in %s", wait);
	}
	putchar('\n');
}

struct list_ctx {
	json_t *arr;
	int64_t now;
	unsigned count;
};

/* The decision the next attempt of this subject would get, root rule
 * included, so status never shows a lock that does not apply. */
static void
decide_for(const struct ag_subject_info *info, int64_t now, struct ag_decision *dec)
{
	struct ag_limits lim;

	ag_guard_limits(&cfg, info->kind, exempt_for(info), &lim);
	ag_policy_decide(&lim, &info->state, now, dec);
}

static int
list_one(void *vctx, const struct ag_subject_info *info)
{
	struct list_ctx *ctx = vctx;
	struct ag_decision dec;

	decide_for(info, ctx->now, &dec);
	/* The text and the JSON list the same subjects: an entry that cannot
	 * be built ends the command rather than leaving a gap. */
	if (ctx->arr != NULL && json_array_append_new(ctx->arr, info_json(info, &dec)) != 0)
		cli_die(CLI_INTERNAL, "out of memory");
	if (ctx->arr == NULL)
		print_info(info, &dec);
	ctx->count++;
	return 0;
}

/* Default of status --limit: enough for any real list, small enough that
 * a spray of random names cannot make status take minutes. */
#define STATUS_LIMIT_DEFAULT 10000

static int
cmd_status(int argc, char **argv)
{
	enum ag_subject_kind kind;
	char name[AG_NAME_MAX + 1];
	struct ag_subject_info *info;
	struct ag_decision dec;
	struct ag_store *st;
	int64_t now = ag_clock_now(), limit = STATUS_LIMIT_DEFAULT, omitted = 0;
	int json = 0, r;

	parse_subject(argc, argv, &json, &limit, &kind, name, sizeof(name), 1);
	st = open_store(0);
	if (name[0] == '\0') {
		struct list_ctx ctx = { .arr = json ? json_array() : NULL, .now = now };

		if (json && ctx.arr == NULL)
			cli_die(CLI_INTERNAL, "out of memory");
		r = ag_store_list_subjects(st, cfg.fail_window, now, (size_t)limit, list_one, &ctx,
		                           &omitted);
		if (r != 0)
			cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(st));
		ag_store_close(st);
		if (json) {
			cli_print_json(json_pack("{s:o, s:I, s:o}", "subjects", ctx.arr, "omitted",
			                         (json_int_t)omitted, "limit",
			                         limit > 0 ? json_integer(limit) : json_null()));
			return CLI_OK;
		}
		if (ctx.count == 0 && omitted == 0)
			printf("no failures recorded\n");
		if (omitted > 0)
			printf("... and %lld more not shown (the list stops at %lld, current locks "
			       "first; see --limit)\n", (long long)omitted, (long long)limit);
		return CLI_OK;
	}
	if ((info = calloc(1, sizeof(*info))) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	r = ag_store_subject_info(st, kind, name, cfg.fail_window, now, info);
	if (r == AG_ERR_NOTFOUND) {
		info->kind = kind;
		ag_strlcpy(info->name, name, sizeof(info->name));
		r = 0;
	}
	if (r != 0)
		cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(st));
	decide_for(info, now, &dec);
	if (json)
		cli_print_json(info_json(info, &dec));
	else
		print_info(info, &dec);
	free(info);
	ag_store_close(st);
	return CLI_OK;
}

/* ---------------------------------------------------------------- unlock */

static int
cmd_unlock(int argc, char **argv)
{
	enum ag_subject_kind kind;
	char name[AG_NAME_MAX + 1];
	struct ag_logline l;
	struct ag_store *st;
	int found = 0, r;
	struct ag_log log = { .sink = ag_log_sink_syslog };

	parse_subject(argc, argv, NULL, NULL, &kind, name, sizeof(name), 0);
	st = open_store(0);
	if ((r = ag_store_unlock(st, kind, name, &found)) != 0)
		cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(st));
	ag_store_close(st);

	ag_logline_init(&l, "admin_unlock");
	ag_logline_str(&l, "scope", kind == AG_SUBJECT_HOST ? "host" : "account");
	/* A host subject is already log-safe ("raw:a\x0ab" included). */
	if (kind == AG_SUBJECT_HOST)
		ag_logline_escaped(&l, "host", name);
	else
		ag_logline_str(&l, "user", name);
	ag_logline_int(&l, "uid", (int64_t)getuid());
	ag_logline_int(&l, "had_state", found);
	ag_log_emit(&log, LOG_NOTICE, &l);
	{
		char esc[4 * 200 + 8];

		ag_log_escape(esc, sizeof(esc), name, strlen(name), 200);
		printf("%s %s: %s\n", kind == AG_SUBJECT_HOST ? "host" : "account", esc,
		       found ? "unlocked, failures cleared" : "had no failures or lock");
	}
	return CLI_OK;
}

/* -------------------------------------------------------------- sessions */

struct sess_ctx {
	json_t *arr;  /* NULL: print for people */
	int64_t now;
	unsigned count;
};

/* Appends o to the JSON list, or ends the command: an entry that cannot be
 * built (out of memory) must not leave a silent gap. */
static void
append_or_die(json_t *arr, json_t *o)
{
	if (json_array_append_new(arr, o) != 0)
		cli_die(CLI_INTERNAL, "out of memory");
}

static int
list_pam(void *vctx, const struct ag_pam_session *s)
{
	struct sess_ctx *c = vctx;
	char user[4 * 64 + 8], when[64];
	json_t *o;

	c->count++;
	if (c->arr != NULL) {
		/* The user name came from a PAM application: any bytes. */
		o = json_pack("{s:s, s:n, s:n, s:n, s:n, s:I, s:I}", "kind", "pam", "user", "service",
		              "tty", "rhost", "pid", (json_int_t)s->pid, "started",
		              (json_int_t)s->started);
		if (o == NULL || cli_json_set_name(o, "user", s->user) != 0 ||
		    cli_json_set_name(o, "service", s->service) != 0 ||
		    cli_json_set_name(o, "tty", s->tty) != 0 ||
		    cli_json_set_name(o, "rhost", s->rhost) != 0) {
			json_decref(o);
			o = NULL;
		}
		append_or_die(c->arr, o);
		return 0;
	}
	ag_log_escape(user, sizeof(user), s->user, strlen(s->user), 64);
	fmt_time(when, sizeof(when), s->started);
	/* service, tty and rhost are stored log-escaped by the module. */
	printf("pam  %-16s %-8s tty=%s rhost=%s pid=%lld since %s\n", user, s->service,
	       s->tty[0] != '\0' ? s->tty : "-", s->rhost[0] != '\0' ? s->rhost : "-",
	       (long long)s->pid, when);
	return 0;
}

static int
list_web(void *vctx, const struct ag_web_session *s)
{
	struct sess_ctx *c = vctx;
	char user[4 * 64 + 8], clerk[4 * AG_SID_MAX + 8], sid[AG_SID_MAX + 1], when[64];
	json_t *o;

	c->count++;
	ag_session_handle(s->id_hash, sid);
	if (c->arr != NULL) {
		o = json_pack("{s:s, s:n, s:s, s:I, s:I, s:I, s:n}", "kind", "web", "user", "sid", sid,
		              "last_seen", (json_int_t)s->last_seen, "idle_expires",
		              (json_int_t)s->idle_expires, "expires", (json_int_t)s->abs_expires,
		              "clerk_session");
		if (o == NULL || cli_json_set_name(o, "user", s->user) != 0 ||
		    cli_json_set_name(o, "clerk_session",
		                      s->clerk_sid[0] != '\0' ? s->clerk_sid : NULL) != 0) {
			json_decref(o);
			o = NULL;
		}
		append_or_die(c->arr, o);
		return 0;
	}
	ag_log_escape(user, sizeof(user), s->user, strlen(s->user), 64);
	clerk[0] = '\0';
	if (s->clerk_sid[0] != '\0')
		ag_log_escape(clerk, sizeof(clerk), s->clerk_sid, strlen(s->clerk_sid), AG_SID_MAX);
	fmt_time(when, sizeof(when), s->last_seen);
	printf("web  %-16s sid=%s last seen %s%s%s\n", user, sid, when,
	       clerk[0] != '\0' ? " clerk=" : "", clerk);
	return 0;
}

/* A web user's key (authguard.conf(5), web_subject_fold), so that an
 * administrator can name a web user in any spelling; a PAM user name,
 * which may not fold (not UTF-8), is used as it is. */
static const char *
web_key(const char *user, char key[AG_NAME_MAX + 1])
{
	const char *why = NULL;

	if (ag_subject_key(&cfg, AG_REALM_WEB, user, key, &why) != 0)
		return user;
	return key;
}

/* sessions [--json] [USER] | sessions end (--user USER | --sid HANDLE) */
static int
cmd_sessions(int argc, char **argv)
{
	char key[AG_NAME_MAX + 1];
	struct sess_ctx c = { .now = ag_clock_now() };
	struct ag_store *st;
	const char *user = NULL;
	uint8_t hash[32];
	int64_t n = 0, fams = 0;
	int i, json = 0, r;

	if (argc >= 2 && strcmp(argv[1], "end") == 0) {
		if (argc != 4 || (strcmp(argv[2], "--user") != 0 && strcmp(argv[2], "--sid") != 0))
			usage();
		st = open_store(0);
		if (strcmp(argv[2], "--user") == 0) {
			const char *k = web_key(argv[3], key);

			r = ag_store_session_end(st, NULL, k, NULL, ag_session_handle, &n, &fams);
			if (r == 0) {
				int64_t more = 0;

				r = ag_store_refresh_revoke(st, 0, NULL, k, NULL, &more);
				fams += more;
			}
		} else {
			if (ag_session_handle_parse(argv[3], hash) != 0)
				cli_die(CLI_USAGE, "--sid: not a session handle");
			r = ag_store_session_end(st, hash, NULL, NULL, ag_session_handle, &n, &fams);
		}
		if (r != 0)
			cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(st));
		ag_store_close(st);
		printf("ended %lld web session%s, revoked %lld refresh famil%s\n", (long long)n,
		       n == 1 ? "" : "s", (long long)fams, fams == 1 ? "y" : "ies");
		return CLI_OK;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (user == NULL && argv[i][0] != '-')
			user = argv[i];
		else
			usage();
	}
	if (json && (c.arr = json_array()) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	st = open_store(0);
	if (ag_store_pam_session_list(st, user, list_pam, &c) != 0 ||
	    ag_store_session_list(st, user != NULL ? web_key(user, key) : NULL, c.now, list_web,
	                          &c) != 0)
		cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(st));
	ag_store_close(st);
	if (json)
		cli_print_json(c.arr);
	else if (c.count == 0)
		printf("no sessions\n");
	return CLI_OK;
}

/* ----------------------------------------------------------------- purge */

static int
cmd_purge(int argc, char **argv)
{
	struct ag_store *st;
	int64_t deleted = 0;

	(void)argv;
	if (argc != 1)
		usage();
	st = open_store(0);
	if (ag_store_purge(st, ag_clock_now(), 0, &deleted) != 0)
		cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(st));
	ag_store_close(st);
	printf("purged %lld expired subject%s\n", (long long)deleted, deleted == 1 ? "" : "s");
	return CLI_OK;
}

/* ---------------------------------------------------------- check-config */

static void
print_advice(void *ctx, const char *msg)
{
	(*(unsigned *)ctx)++;
	printf("store warning: %s\n", msg);
}

/* The PostgreSQL store: advice about the settings (no connection), then a
 * connection within pg_connect_timeout, the schema version and the
 * role's rights.  Every message comes from the store, which never quotes
 * the connection string or the password. */
static int
check_pg(const char *path)
{
	struct ag_store *st = NULL;
	char err[AG_ERRBUF];
	struct stat sb;
	unsigned nadvice = 0;
	int r;

	printf("store postgresql: schema %s, pg_connect_timeout %lld ms, pg_statement_timeout "
	       "%lld ms, store_fallback %s\n", cfg.pg_schema, (long long)cfg.pg_connect_timeout_ms,
	       (long long)cfg.pg_statement_timeout_ms,
	       cfg.store_fallback == AG_FALLBACK_LOCAL ? "local" : "none");
	/* A settings error is reported once, by the open below. */
	if (stat(path, &sb) == 0)
		(void)ag_store_advice(&cfg, path, (unsigned)sb.st_mode, print_advice, &nadvice,
		                      err);
	if ((r = ag_store_open(&cfg, 0, &st, err)) != 0) {
		printf("store: FAILED: %s\n", err);
		return cli_exit_for(r) == CLI_USAGE ? CLI_USAGE : CLI_INTERNAL;
	}
	if ((r = ag_store_check(st)) != 0) {
		printf("store: FAILED: %s\n", ag_store_errmsg(st));
		ag_store_close(st);
		return cli_exit_for(r) == CLI_USAGE ? CLI_USAGE : CLI_INTERNAL;
	}
	printf("store: ok (schema %d; the role may read and write every table)%s\n",
	       ag_store_file_version(st), nadvice > 0 ? ", see the warnings above" : "");
	ag_store_close(st);
	if (cfg.store_fallback == AG_FALLBACK_LOCAL) {
		struct ag_config local = cfg;

		local.store = AG_STORE_SQLITE;
		local.store_fallback = AG_FALLBACK_NONE;
		if ((r = ag_store_open(&local, 0, &st, err)) != 0) {
			printf("local state: FAILED: %s\n", err);
			return cli_exit_for(r) == CLI_USAGE ? CLI_USAGE : CLI_INTERNAL;
		}
		if (ag_store_check(st) != 0) {
			printf("local state: FAILED: %s\n", ag_store_errmsg(st));
			ag_store_close(st);
			return CLI_INTERNAL;
		}
		printf("local state (store_fallback = local) %s: ok (schema %d, permissions "
		       "safe)\n", cfg.state_file, ag_store_file_version(st));
		ag_store_close(st);
	}
	return CLI_OK;
}

static int
cmd_check_config(int argc, char **argv)
{
	const char *path = conf_path != NULL ? conf_path : ag_config_default_path();
	const char *const *warnings;
	struct ag_store *st = NULL;
	char err[AG_ERRBUF];
	struct stat sb;
	size_t i, nwarn = cli_config_warnings(&warnings);
	int r;

	(void)argv;
	if (argc != 1)
		usage();
	if (conf_path == NULL && stat(path, &sb) != 0)
		printf("config %s: not present, built-in defaults apply\n", path);
	else if (nwarn == 0)
		printf("config %s: ok\n", path);
	else
		printf("config %s: ok, with %zu warning%s\n", path, nwarn, nwarn == 1 ? "" : "s");
	/* Legal, so not an error (the last line applies), but shown. */
	for (i = 0; i < nwarn; i++)
		printf("config warning: %s\n", warnings[i]);
	if (cfg.store == AG_STORE_POSTGRESQL) {
		if ((r = check_pg(path)) != CLI_OK)
			return r;
	} else {
		printf("state_file %s\n", cfg.state_file);
		if ((r = ag_store_open(&cfg, 0, &st, err)) != 0) {
			printf("state: FAILED: %s\n", err);
			return cli_exit_for(r) == CLI_USAGE ? CLI_USAGE : CLI_INTERNAL;
		}
		if (ag_store_check(st) != 0) {
			printf("state: FAILED: %s\n", ag_store_errmsg(st));
			ag_store_close(st);
			return CLI_INTERNAL;
		}
		printf("state: ok (schema %d, permissions safe)\n", ag_store_file_version(st));
		ag_store_close(st);
	}
	printf("policy: deny=%lld fail_window=%llds lock_time=%llds host_deny=%lld "
	       "host_lock_time=%llds delay=%lld..%llds host_allow=%u networks\n",
	       (long long)cfg.deny, (long long)cfg.fail_window, (long long)cfg.lock_time,
	       (long long)cfg.host_deny, (long long)cfg.host_lock_time,
	       (long long)cfg.delay_base, (long long)cfg.delay_max, cfg.n_host_allow);
	return CLI_OK;
}

/* daemon status [--json]: asks the running authguardd (root only). */
static int
cmd_daemon(int argc, char **argv)
{
	struct ag_daemon_conn *c = NULL;
	char err[AG_ERRBUF], when[64];
	json_t *req, *a = NULL;
	int json = 0, r;

	if (argc < 2 || strcmp(argv[1], "status") != 0 || argc > 3 ||
	    (argc == 3 && !(json = strcmp(argv[2], "--json") == 0)))
		usage();
	if ((r = ag_daemon_connect(&cfg, &c, err)) != 0)
		cli_die(r == AG_ERR_CONFIG ? CLI_USAGE : CLI_INTERNAL, "%s", err);
	if ((req = json_pack("{s:s}", "op", "daemon_status")) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	r = ag_daemon_call(c, req, &a, err);
	json_decref(req);
	ag_daemon_close(c);
	if (r != 0)
		cli_die(CLI_INTERNAL, "%s", err);
	if (json_integer_value(json_object_get(a, "status")) != 0) {
		const char *m = json_string_value(json_object_get(a, "message"));

		cli_die(CLI_USAGE, "authguardd refused: %s", m != NULL ? m : "?");
	}
	json_object_del(a, "status");
	if (json) {
		cli_print_json(a);
		return CLI_OK;
	}
	fmt_time(when, sizeof(when), (int64_t)json_integer_value(json_object_get(a, "started")));
	printf("authguardd at %s: up since %s (%lld s), store %s\n", cfg.daemon_socket, when,
	       (long long)json_integer_value(json_object_get(a, "uptime")),
	       json_string_value(json_object_get(a, "store")));
	printf("connections %lld of %lld, workers %lld (%lld working), queued %lld\n",
	       (long long)json_integer_value(json_object_get(a, "connections")),
	       (long long)json_integer_value(json_object_get(a, "max_clients")),
	       (long long)json_integer_value(json_object_get(a, "workers")),
	       (long long)json_integer_value(json_object_get(a, "working")),
	       (long long)json_integer_value(json_object_get(a, "queued")));
	printf("requests served %lld, errors %lld, clients refused %lld\n",
	       (long long)json_integer_value(json_object_get(a, "served")),
	       (long long)json_integer_value(json_object_get(a, "errors")),
	       (long long)json_integer_value(json_object_get(a, "refused")));
	json_decref(a);
	return CLI_OK;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "init", cmd_init },
		{ "migrate", cmd_migrate },
		{ "keygen", cmd_keygen },
		{ "keys", cmd_keys },
		{ "sessions", cmd_sessions },
		{ "status", cmd_status },
		{ "unlock", cmd_unlock },
		{ "purge", cmd_purge },
		{ "check-config", cmd_check_config },
		{ "daemon", cmd_daemon },
	};
	int i;
	size_t c;

	cli_progname = "authguard-ctl";
	i = cli_global_options(argc, argv, &conf_path, usage);
	if (strcmp(argv[i], "version") == 0) {
		printf("authguard-ctl %s\n", PACKAGE_VERSION);
		return CLI_OK;
	}
	cli_log_open();
	cli_load_config(&cfg, conf_path);
	for (c = 0; c < AG_ARRAY_SIZE(cmds); c++) {
		if (strcmp(argv[i], cmds[c].name) != 0)
			continue;
		/* check-config reports them itself, on stdout. */
		if (cmds[c].fn != cmd_check_config) {
			const char *const *warnings;
			size_t w, nwarn = cli_config_warnings(&warnings);

			for (w = 0; w < nwarn; w++)
				cli_warn("warning: %s", warnings[w]);
		}
		return cmds[c].fn(argc - i, argv + i);
	}
	cli_warn("unknown command %s", argv[i]);
	usage();
}
