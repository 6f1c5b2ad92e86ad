#include "autoconf.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "safefile.h"
#include "util.h"

#ifndef AG_SYSCONFDIR
#error "AG_SYSCONFDIR must be defined by the build"
#endif
#ifndef AG_LOCALSTATEDIR
#error "AG_LOCALSTATEDIR must be defined by the build"
#endif

enum opt_type { T_PATH, T_COUNT, T_DURATION, T_DURATION_MS, T_BOOL, T_SYNC, T_NETLIST, T_ISSUER,
                T_NAME, T_NAMELIST, T_ONLIMIT, T_COOKIE, T_SAMESITE, T_STORE, T_CONNINFO,
                T_SCHEMA, T_FALLBACK, T_ACCOUNT, T_DAEMON_FALLBACK };

/* W_FILE_ONLY: a module argument sits in /etc/pam.d, readable by every
 * user, and cannot hold spaces: the database connection string (which
 * may carry a password) is only taken from the file. */
enum opt_where { W_BOTH = 0, W_ARG_ONLY = 1, W_FILE_ONLY = 2 };

struct option_def {
	const char *name;
	enum opt_type type;
	size_t offset;
	int64_t min, max;
	enum opt_where where;
};

#define OFF(f) offsetof(struct ag_config, f)

/* Every option, once.  Ranges are the documented ones (authguard.conf.5). */
static const struct option_def options[] = {
	{ "state_file",     T_PATH,        OFF(state_file),      0, 0, W_BOTH },
	{ "deny",           T_COUNT,       OFF(deny),            1, 100000, W_BOTH },
	{ "fail_window",    T_DURATION,    OFF(fail_window),     1, 30 * 86400, W_BOTH },
	{ "lock_time",      T_DURATION,    OFF(lock_time),       0, 365 * 86400, W_BOTH },
	{ "even_deny_root", T_BOOL,        OFF(even_deny_root),  0, 1, W_BOTH },
	{ "pam_user_fold",  T_BOOL,        OFF(pam_user_fold),   0, 1, W_BOTH },
	{ "web_subject_fold", T_BOOL,      OFF(web_subject_fold), 0, 1, W_BOTH },
	{ "host_deny",      T_COUNT,       OFF(host_deny),       0, 10000000, W_BOTH },
	{ "host_lock_time", T_DURATION,    OFF(host_lock_time),  0, 365 * 86400, W_BOTH },
	{ "host_allow",     T_NETLIST,     OFF(host_allow),      0, 0, W_BOTH },
	{ "ipv6_prefix",    T_COUNT,       OFF(ipv6_prefix),     32, 128, W_BOTH },
	{ "delay_base",     T_DURATION,    OFF(delay_base),      0, 60, W_BOTH },
	{ "delay_max",      T_DURATION,    OFF(delay_max),       0, 3600, W_BOTH },
	{ "busy_timeout",   T_DURATION_MS, OFF(busy_timeout_ms), 0, 60000, W_BOTH },
	{ "sync",           T_SYNC,        OFF(sync),            0, 0, W_BOTH },
	{ "store",          T_STORE,       OFF(store),           0, 0, W_BOTH },
	{ "store_fallback", T_FALLBACK,    OFF(store_fallback),  0, 0, W_BOTH },
	{ "pg_conninfo",    T_CONNINFO,    OFF(pg_conninfo),     0, AG_PG_CONNINFO_MAX, W_FILE_ONLY },
	{ "pg_schema",      T_SCHEMA,      OFF(pg_schema),       0, AG_PG_SCHEMA_MAX, W_BOTH },
	{ "pg_connect_timeout", T_DURATION_MS, OFF(pg_connect_timeout_ms), 100, 60000, W_BOTH },
	{ "pg_statement_timeout", T_DURATION_MS, OFF(pg_statement_timeout_ms), 100, 60000, W_BOTH },
	{ "daemon",         T_BOOL,        OFF(daemon),          0, 1, W_BOTH },
	{ "daemon_socket",  T_PATH,        OFF(daemon_socket),   0, 0, W_BOTH },
	{ "daemon_fallback", T_DAEMON_FALLBACK, OFF(daemon_fallback), 0, 0, W_BOTH },
	{ "daemon_timeout", T_DURATION_MS, OFF(daemon_timeout_ms), 100, 120000, W_BOTH },
	{ "daemon_user",    T_ACCOUNT,     OFF(daemon_user),     0, AG_ACCOUNT_MAX, W_BOTH },
	{ "daemon_web_group", T_ACCOUNT,   OFF(daemon_web_group), 0, AG_ACCOUNT_MAX, W_BOTH },
	{ "daemon_workers", T_COUNT,       OFF(daemon_workers),  1, 64, W_BOTH },
	{ "daemon_max_clients", T_COUNT,   OFF(daemon_max_clients), 1, 65536, W_BOTH },
	{ "daemon_idle_timeout", T_DURATION, OFF(daemon_idle_timeout), 1, 3600, W_BOTH },
	{ "daemon_request_timeout", T_DURATION, OFF(daemon_request_timeout), 1, 600, W_BOTH },
	{ "secrets_key",    T_PATH,        OFF(secrets_key),     0, 0, W_BOTH },
	{ "totp_issuer",    T_ISSUER,      OFF(totp_issuer),     0, 0, W_BOTH },
	{ "totp_window",    T_COUNT,       OFF(totp_window),     0, 10, W_BOTH },
	{ "enroll_timeout", T_DURATION,    OFF(enroll_timeout),  60, 7 * 86400, W_BOTH },
	{ "backup_codes",   T_COUNT,       OFF(backup_codes),    0, 100, W_BOTH },
	{ "nullok",         T_BOOL,        OFF(nullok),          0, 1, W_BOTH },
	{ "token_keys_dir", T_PATH,        OFF(token_keys_dir),  0, 0, W_BOTH },
	{ "token_issuer",   T_NAME,        OFF(token_issuer),    0, AG_TOKEN_NAME_MAX, W_BOTH },
	{ "token_audience", T_NAME,        OFF(token_audience),  0, AG_TOKEN_NAME_MAX, W_BOTH },
	{ "token_audiences", T_NAMELIST,   OFF(token_audiences), 0, AG_TOKEN_LIST_MAX, W_BOTH },
	{ "access_ttl",     T_DURATION,    OFF(access_ttl),      60, 86400, W_BOTH },
	{ "refresh_ttl",    T_DURATION,    OFF(refresh_ttl),     300, 365 * 86400, W_BOTH },
	{ "refresh_grace",  T_DURATION,    OFF(refresh_grace),   0, 60, W_BOTH },
	{ "token_leeway",   T_DURATION,    OFF(token_leeway),    0, 300, W_BOTH },
	{ "token_max_len",  T_COUNT,       OFF(token_max_len),   512, 262144, W_BOTH },
	{ "session_idle",   T_DURATION,    OFF(session_idle),    60, 30 * 86400, W_BOTH },
	{ "session_lifetime", T_DURATION,  OFF(session_lifetime), 300, 365 * 86400, W_BOTH },
	{ "session_touch",  T_DURATION,    OFF(session_touch),   0, 3600, W_BOTH },
	{ "session_max",    T_COUNT,       OFF(session_max),     0, 1000, W_BOTH },
	{ "session_on_limit", T_ONLIMIT,   OFF(session_evict),   0, 0, W_BOTH },
	{ "session_revoke_on_mismatch", T_BOOL, OFF(session_revoke_on_mismatch), 0, 1, W_BOTH },
	{ "session_cookie", T_COOKIE,      OFF(session_cookie),  0, AG_COOKIE_MAX, W_BOTH },
	{ "session_samesite", T_SAMESITE,  OFF(session_samesite_lax), 0, 0, W_BOTH },
	{ "pam_session_max", T_COUNT,      OFF(pam_session_max), 0, 1000, W_BOTH },
	{ "webhook_secret_file", T_PATH,  OFF(webhook_secret_file), 0, 0, W_BOTH },
	{ "webhook_tolerance", T_DURATION, OFF(webhook_tolerance), 60, 3600, W_BOTH },
	{ "silent",         T_BOOL,        OFF(silent),          0, 1, W_ARG_ONLY },
	{ "nodelay",        T_BOOL,        OFF(nodelay),         0, 1, W_ARG_ONLY },
	{ "debug",          T_BOOL,        OFF(debug),           0, 1, W_ARG_ONLY },
};

void
ag_config_defaults(struct ag_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	ag_strlcpy(cfg->state_file, AG_LOCALSTATEDIR "/lib/authguard/state.db",
	           sizeof(cfg->state_file));
	cfg->deny = 10;
	cfg->fail_window = 15 * 60;
	cfg->lock_time = 3600;
	cfg->even_deny_root = 0;
	/* Linux login names are case-sensitive: "ALICE" is not "alice". */
	cfg->pam_user_fold = 0;
	/* Web backends match e-mail addresses loosely (lower-casing, NFKC,
	 * trimming): count every spelling of one address once. */
	cfg->web_subject_fold = 1;
	cfg->host_deny = 50;
	cfg->host_lock_time = 3600;
	cfg->ipv6_prefix = 64;
	cfg->delay_base = 1;
	cfg->delay_max = 16;
	cfg->busy_timeout_ms = 5000;
	ag_strlcpy(cfg->secrets_key, AG_SYSCONFDIR "/authguard/keys/secrets.key",
	           sizeof(cfg->secrets_key));
	cfg->totp_window = 1;
	cfg->enroll_timeout = 10 * 60;
	cfg->backup_codes = 10;
	ag_strlcpy(cfg->token_keys_dir, AG_SYSCONFDIR "/authguard/keys/tokens",
	           sizeof(cfg->token_keys_dir));
	cfg->access_ttl = 15 * 60;
	cfg->refresh_ttl = 30 * 86400;
	cfg->refresh_grace = 0;
	cfg->token_leeway = 30;
	cfg->token_max_len = 8192;
	cfg->session_idle = 30 * 60;
	cfg->session_lifetime = 12 * 3600;
	cfg->session_touch = 60;
	cfg->session_max = 5;
	cfg->session_evict = 1;
	cfg->session_revoke_on_mismatch = 1;
	ag_strlcpy(cfg->session_cookie, "__Host-ag_session", sizeof(cfg->session_cookie));
	cfg->session_samesite_lax = 0;
	cfg->pam_session_max = 5;
	ag_strlcpy(cfg->webhook_secret_file, AG_SYSCONFDIR "/authguard/keys/webhook.secret",
	           sizeof(cfg->webhook_secret_file));
	cfg->webhook_tolerance = 300;
	cfg->sync = AG_SYNC_NORMAL; /* WAL: a crash loses nothing; power loss at most the last commits */
	cfg->store = AG_STORE_SQLITE;
	cfg->store_fallback = AG_FALLBACK_NONE;
	ag_strlcpy(cfg->pg_schema, "authguard", sizeof(cfg->pg_schema));
	/* A login waits at most this long for the database, then is denied. */
	cfg->pg_connect_timeout_ms = 3000;
	cfg->pg_statement_timeout_ms = 3000;
	/* authguardd (authguardd(8)); clients use it only with daemon = yes. */
	cfg->daemon = 0;
	ag_strlcpy(cfg->daemon_socket, "/run/authguard/authguardd.sock", sizeof(cfg->daemon_socket));
	cfg->daemon_fallback = AG_DAEMON_FALLBACK_NONE;
	cfg->daemon_timeout_ms = 10000;
	ag_strlcpy(cfg->daemon_user, "authguard", sizeof(cfg->daemon_user));
	ag_strlcpy(cfg->daemon_web_group, "authguard-web", sizeof(cfg->daemon_web_group));
	cfg->daemon_workers = 4;
	cfg->daemon_max_clients = 1024;
	cfg->daemon_idle_timeout = 30;
	cfg->daemon_request_timeout = 5;
}

const char *
ag_config_default_path(void)
{
	return AG_SYSCONFDIR "/authguard/authguard.conf";
}

static const struct option_def *
find_option(const char *name)
{
	size_t i;

	for (i = 0; i < AG_ARRAY_SIZE(options); i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* Appends the comma- or space-separated networks in value to host_allow. */
static int
parse_netlist(struct ag_config *cfg, const char *value, const char **why)
{
	char word[128];
	const char *p = value;
	size_t len;

	while (*p != '\0') {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		if (len >= sizeof(word)) {
			*why = "network too long";
			return AG_ERR_CONFIG;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		if (cfg->n_host_allow >= AG_CONFIG_MAX_ALLOW) {
			*why = "too many networks (at most 64)";
			return AG_ERR_CONFIG;
		}
		if (ag_cidr_parse(word, &cfg->host_allow[cfg->n_host_allow]) != 0) {
			*why = "not an address or CIDR network with zero host bits";
			return AG_ERR_CONFIG;
		}
		cfg->n_host_allow++;
		p += len;
	}
	return 0;
}

static int
set_option(struct ag_config *cfg, const struct option_def *o, const char *value,
           const char **why)
{
	char *field = (char *)cfg + o->offset;
	int64_t v;
	int b, r;

	switch (o->type) {
	case T_PATH:
		if (value[0] != '/') {
			*why = "must be an absolute path";
			return AG_ERR_CONFIG;
		}
		if (ag_strlcpy(field, value, PATH_MAX) != 0) {
			*why = "path too long";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_COUNT:
		r = ag_parse_int64(value, o->min, o->max, &v);
		if (r != 0) {
			*why = r == AG_ERR_RANGE ? "number out of range" : "not a whole number";
			return AG_ERR_CONFIG;
		}
		*(int64_t *)(void *)field = v;
		return 0;
	case T_DURATION:
	case T_DURATION_MS:
		r = ag_parse_duration(value, 0, INT64_MAX / 1000, &v);
		if (r == 0 && o->type == T_DURATION_MS) {
			/* busy_timeout takes "ms" too: "250ms" */
			v *= 1000;
		}
		if (r != 0 && o->type == T_DURATION_MS) {
			size_t len = strlen(value);
			char num[24];

			if (len > 2 && len < sizeof(num) + 2 &&
			    strcmp(value + len - 2, "ms") == 0) {
				memcpy(num, value, len - 2);
				num[len - 2] = '\0';
				r = ag_parse_int64(num, 0, INT64_MAX / 1000, &v);
			}
		}
		if (r != 0) {
			*why = "not a duration (e.g. 900, 15m, 1h, 1d)";
			return AG_ERR_CONFIG;
		}
		if (v < o->min || v > o->max) {
			*why = "duration out of range";
			return AG_ERR_CONFIG;
		}
		*(int64_t *)(void *)field = v;
		return 0;
	case T_BOOL:
		if (ag_parse_bool(value, &b) != 0) {
			*why = "not a boolean (yes/no)";
			return AG_ERR_CONFIG;
		}
		*(int *)(void *)field = b;
		return 0;
	case T_SYNC:
		if (strcmp(value, "normal") == 0)
			cfg->sync = AG_SYNC_NORMAL;
		else if (strcmp(value, "full") == 0)
			cfg->sync = AG_SYNC_FULL;
		else {
			*why = "must be normal or full";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_NETLIST:
		return parse_netlist(cfg, value, why);
	case T_STORE:
		if (strcmp(value, "sqlite") == 0)
			cfg->store = AG_STORE_SQLITE;
		else if (strcmp(value, "postgresql") == 0)
			cfg->store = AG_STORE_POSTGRESQL;
		else {
			*why = "must be sqlite or postgresql";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_FALLBACK:
		if (strcmp(value, "none") == 0)
			cfg->store_fallback = AG_FALLBACK_NONE;
		else if (strcmp(value, "local") == 0)
			cfg->store_fallback = AG_FALLBACK_LOCAL;
		else {
			*why = "must be none or local";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_DAEMON_FALLBACK:
		if (strcmp(value, "none") == 0)
			cfg->daemon_fallback = AG_DAEMON_FALLBACK_NONE;
		else if (strcmp(value, "direct") == 0)
			cfg->daemon_fallback = AG_DAEMON_FALLBACK_DIRECT;
		else {
			*why = "must be none or direct";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_ACCOUNT:
		/* A user or group name as useradd(8) takes it (the portable
		 * set), looked up by name at start. */
		if (!((value[0] >= 'a' && value[0] <= 'z') || value[0] == '_')) {
			*why = "must start with a lower-case letter or '_'";
			return AG_ERR_CONFIG;
		}
		for (const char *p = value; *p != '\0'; p++) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
			      *p == '-')) {
				*why = "may hold lower-case letters, digits, '_' and '-' only";
				return AG_ERR_CONFIG;
			}
		}
		if (ag_strlcpy(field, value, (size_t)o->max + 1) != 0) {
			*why = "longer than 32 bytes";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_CONNINFO:
		/* Passed to libpq as it is; what it means is libpq's to say (at
		 * connect time).  Printable ASCII only: no line breaks or
		 * control characters that could forge a log line. */
		for (const char *p = value; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;

			if (c < 0x20 || c >= 0x7f) {
				*why = "must be printable ASCII (a libpq connection string)";
				return AG_ERR_CONFIG;
			}
		}
		if (ag_strlcpy(field, value, (size_t)o->max + 1) != 0) {
			*why = "longer than 1024 bytes";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_SCHEMA:
		/* Put in search_path and in CREATE SCHEMA: a name that means
		 * the same quoted or not (ag_sql_name_check). */
		if (ag_sql_name_check(value, why) != 0)
			return AG_ERR_CONFIG;
		if (ag_strlcpy(field, value, (size_t)o->max + 1) != 0) {
			*why = "longer than 63 bytes";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_ONLIMIT:
		if (strcmp(value, "evict") == 0)
			cfg->session_evict = 1;
		else if (strcmp(value, "refuse") == 0)
			cfg->session_evict = 0;
		else {
			*why = "must be evict or refuse";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_SAMESITE:
		if (strcmp(value, "strict") == 0)
			cfg->session_samesite_lax = 0;
		else if (strcmp(value, "lax") == 0)
			cfg->session_samesite_lax = 1;
		else {
			*why = "must be strict or lax";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_COOKIE:
		/* The __Host- prefix makes browsers insist on Secure, Path=/ and
		 * no Domain: the cookie cannot be planted from a subdomain. */
		if (strncmp(value, "__Host-", 7) != 0 || value[7] == '\0') {
			*why = "must start with __Host- and name a cookie";
			return AG_ERR_CONFIG;
		}
		for (const char *p = value; *p != '\0'; p++) {
			char c = *p;

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '_' || c == '-' || c == '.')) {
				*why = "cookie names may use letters, digits, '_', '-' and '.'";
				return AG_ERR_CONFIG;
			}
		}
		if (ag_strlcpy(field, value, AG_COOKIE_MAX + 1) != 0) {
			*why = "too long";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_NAME:
	case T_NAMELIST:
		/* Issuers and audiences are compared byte for byte: printable
		 * ASCII only, no quotes; a list is separated by spaces or commas. */
		for (const char *p = value; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;

			if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' ||
			    (o->type == T_NAME && c == ',')) {
				if (o->type == T_NAMELIST && (c == ' ' || c == ','))
					continue;
				*why = o->type == T_NAME ? "must be printable ASCII without spaces, commas or quotes"
				                         : "must be printable ASCII names separated by spaces or commas";
				return AG_ERR_CONFIG;
			}
		}
		if (ag_strlcpy(field, value, (size_t)o->max + 1) != 0) {
			*why = "too long";
			return AG_ERR_CONFIG;
		}
		return 0;
	case T_ISSUER:
		/* Shown in authenticator apps: printable, no ':' (it separates
		 * the issuer from the account in the key URI's label). */
		for (const char *p = value; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ':') {
				*why = "control character or ':' in issuer";
				return AG_ERR_CONFIG;
			}
		}
		if (ag_strlcpy(field, value, AG_ISSUER_MAX + 1) != 0) {
			*why = "issuer longer than 64 bytes";
			return AG_ERR_CONFIG;
		}
		return 0;
	}
	*why = "internal error";
	return AG_ERR_CONFIG;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
printable_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 0;
	return 1;
}

/* Where a key was set: how often, its first lines and its last. */
#define SEEN_LINES 8

struct key_lines {
	unsigned n;
	unsigned first[SEEN_LINES];
	unsigned last;
};

/* One warning per key set on several lines, at the line that applies and
 * naming the earlier ones: "FILE:LAST: key: set on N lines (also lines 3,
 * 7, ... and M more); the last one applies". */
static void
warn_duplicates(const char *path, const struct key_lines *seen, ag_config_warn_fn warn,
                void *ctx)
{
	char msg[AG_ERRBUF], more[32];
	size_t i, k, shown, len;

	for (i = 0; i < AG_ARRAY_SIZE(options); i++) {
		if (seen[i].n < 2 || options[i].type == T_NETLIST)
			continue;
		len = (size_t)snprintf(msg, sizeof(msg), "%s:%u: %s: set on %u lines (also line%s",
		                       path, seen[i].last, options[i].name, seen[i].n,
		                       seen[i].n > 2 ? "s" : "");
		shown = seen[i].n - 1 < SEEN_LINES ? seen[i].n - 1 : SEEN_LINES;
		for (k = 0; k < shown && len < sizeof(msg); k++)
			len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s %u", k > 0 ? "," : "",
			                        seen[i].first[k]);
		more[0] = '\0';
		if (seen[i].n - 1 > shown)
			snprintf(more, sizeof(more), " and %u more", seen[i].n - 1 - (unsigned)shown);
		if (len < sizeof(msg))
			snprintf(msg + len, sizeof(msg) - len, "%s); the last one applies", more);
		warn(ctx, msg);
	}
}

int
ag_config_load_file(struct ag_config *cfg, const char *path, int missing_ok,
                    char err[AG_ERRBUF])
{
	return ag_config_load_file_warn(cfg, path, missing_ok, NULL, NULL, err);
}

int
ag_config_load_file_warn(struct ag_config *cfg, const char *path, int missing_ok,
                         ag_config_warn_fn warn, void *warn_ctx, char err[AG_ERRBUF])
{
	struct ag_config work;
	struct key_lines seen[AG_ARRAY_SIZE(options)];
	const struct option_def *o;
	const char *reason = NULL, *why = NULL;
	char *buf = NULL, *line, *next, *key, *value, *eq;
	char ekey[4 * 32 + 8], abspath[PATH_MAX], baddir[PATH_MAX];
	size_t len, llen, idx;
	unsigned lineno = 0;
	int r, ret = AG_ERR_CONFIG;

	err[0] = '\0';
	/* The directories above it, as for the state: a directory others may
	 * write lets them swap the file.  A relative name (helpers' --conf)
	 * is checked from the working directory's real path. */
	if (path[0] == '/') {
		r = ag_strlcpy(abspath, path, sizeof(abspath));
	} else if (getcwd(abspath, sizeof(abspath)) != NULL) {
		len = strlen(abspath);
		r = snprintf(abspath + len, sizeof(abspath) - len, "/%s", path) >=
		            (int)(sizeof(abspath) - len) ? AG_ERR_TOOLONG : 0;
	} else {
		snprintf(err, AG_ERRBUF, "%s: the working directory cannot be examined", path);
		return AG_ERR_CONFIG;
	}
	if (r != 0) {
		snprintf(err, AG_ERRBUF, "%s: path too long", path);
		return AG_ERR_CONFIG;
	}
	r = ag_safe_check_parents_at(abspath, baddir, sizeof(baddir), &reason);
	if (r == AG_ERR_NOTFOUND && missing_ok)
		return 0;
	if (r != 0) {
		snprintf(err, AG_ERRBUF, "%s: %s%s%s%s", path, reason, baddir[0] != '\0' ? " (" : "",
		         baddir, baddir[0] != '\0' ? ")" : "");
		return r == AG_ERR_NOTFOUND ? AG_ERR_CONFIG : r;
	}
	r = ag_safe_read_file(path, AG_CONFIG_MAX_SIZE, 0, &buf, &len, &reason);
	if (r == AG_ERR_NOTFOUND && missing_ok)
		return 0;
	if (r != 0) {
		snprintf(err, AG_ERRBUF, "%s: %s", path, reason);
		return r == AG_ERR_NOTFOUND ? AG_ERR_CONFIG : r;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, AG_ERRBUF, "%s: contains a NUL byte", path);
		goto out;
	}
	memset(seen, 0, sizeof(seen));
	/* Parse into a copy so a bad file leaves cfg untouched. */
	work = *cfg;
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		/* A CRLF file is fine: drop the CR before looking for control
		 * characters. */
		llen = strlen(line);
		if (llen > 0 && line[llen - 1] == '\r')
			line[llen - 1] = '\0';
		if (!printable_line(line)) {
			snprintf(err, AG_ERRBUF, "%s:%u: control character in line", path, lineno);
			goto out;
		}
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			snprintf(err, AG_ERRBUF, "%s:%u: expected \"key = value\"", path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		ag_log_escape(ekey, sizeof(ekey), key, strlen(key), 32);
		o = find_option(key);
		if (o == NULL || o->where == W_ARG_ONLY) {
			snprintf(err, AG_ERRBUF, "%s:%u: %s: %s", path, lineno, ekey,
			         o == NULL ? "unknown key" : "only valid as a module argument");
			goto out;
		}
		if (*value == '\0') {
			snprintf(err, AG_ERRBUF, "%s:%u: %s: missing value", path, lineno, ekey);
			goto out;
		}
		if (set_option(&work, o, value, &why) != 0) {
			snprintf(err, AG_ERRBUF, "%s:%u: %s: %s", path, lineno, ekey, why);
			goto out;
		}
		/* A later line overrides an earlier one: legal, but 3,000 deny
		 * lines or a forgotten old value deserve a word. */
		idx = (size_t)(o - options);
		if (seen[idx].n > 0 && seen[idx].n - 1 < SEEN_LINES)
			seen[idx].first[seen[idx].n - 1] = seen[idx].last;
		seen[idx].n++;
		seen[idx].last = lineno;
	}
	*cfg = work;
	if (warn != NULL)
		warn_duplicates(path, seen, warn, warn_ctx);
	ret = 0;
out:
	free(buf);
	return ret;
}

int
ag_config_apply_arg(struct ag_config *cfg, const char *arg, char err[AG_ERRBUF])
{
	const struct option_def *o;
	const char *eq = strchr(arg, '='), *why = NULL, *value;
	char key[32], ekey[4 * 32 + 8];
	size_t klen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	struct ag_config work = *cfg;

	err[0] = '\0';
	ag_log_escape(ekey, sizeof(ekey), arg, klen, 32);
	if (klen == 0 || klen >= sizeof(key)) {
		snprintf(err, AG_ERRBUF, "module argument %s: unknown key", ekey);
		return AG_ERR_CONFIG;
	}
	memcpy(key, arg, klen);
	key[klen] = '\0';
	if ((o = find_option(key)) == NULL) {
		snprintf(err, AG_ERRBUF, "module argument %s: unknown key", ekey);
		return AG_ERR_CONFIG;
	}
	if (o->where == W_FILE_ONLY) {
		snprintf(err, AG_ERRBUF, "module argument %s: only valid in the configuration file",
		         ekey);
		return AG_ERR_CONFIG;
	}
	if (eq == NULL) {
		if (o->type != T_BOOL) {
			snprintf(err, AG_ERRBUF, "module argument %s: missing value", ekey);
			return AG_ERR_CONFIG;
		}
		value = "yes";
	} else {
		value = eq + 1;
	}
	if (set_option(&work, o, value, &why) != 0) {
		snprintf(err, AG_ERRBUF, "module argument %s: %s", ekey, why);
		return AG_ERR_CONFIG;
	}
	*cfg = work;
	return 0;
}

int
ag_config_audience_allowed(const struct ag_config *cfg, const char *aud)
{
	const char *p = cfg->token_audiences;
	size_t len = strlen(aud), n;

	if (len == 0)
		return 0;
	if (strcmp(aud, cfg->token_audience) == 0)
		return 1;
	while (*p != '\0') {
		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (n == len && memcmp(p, aud, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

int
ag_config_validate(const struct ag_config *cfg, char err[AG_ERRBUF])
{
	err[0] = '\0';
	if (cfg->delay_max < cfg->delay_base) {
		snprintf(err, AG_ERRBUF, "delay_max (%lld) is smaller than delay_base (%lld)",
		         (long long)cfg->delay_max, (long long)cfg->delay_base);
		return AG_ERR_CONFIG;
	}
	if (cfg->host_deny != 0 && cfg->host_deny < cfg->deny) {
		snprintf(err, AG_ERRBUF,
		         "host_deny (%lld) must be 0 (off) or at least deny (%lld)",
		         (long long)cfg->host_deny, (long long)cfg->deny);
		return AG_ERR_CONFIG;
	}
	if (cfg->store == AG_STORE_POSTGRESQL && cfg->pg_conninfo[0] == '\0') {
		snprintf(err, AG_ERRBUF, "store = postgresql needs pg_conninfo");
		return AG_ERR_CONFIG;
	}
	if (cfg->store_fallback != AG_FALLBACK_NONE && cfg->store != AG_STORE_POSTGRESQL) {
		snprintf(err, AG_ERRBUF, "store_fallback is only for store = postgresql");
		return AG_ERR_CONFIG;
	}
	return 0;
}
