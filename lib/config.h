/* Configuration: /etc/authguard/authguard.conf and PAM module arguments.
 *
 * One grammar for both: "key = value" lines in the file, "key=value" words
 * as module arguments (a bare boolean key means "yes").  Module arguments
 * override the file.  Unknown keys, bad values and out-of-range numbers are
 * errors that name the file, line and key. */
#ifndef AG_CONFIG_H
#define AG_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "net.h"

#define AG_CONFIG_MAX_SIZE (64 * 1024) /* larger config files are refused */
#define AG_CONFIG_MAX_ALLOW 64         /* networks in host_allow */
#define AG_ERRBUF 512                  /* size of error message buffers */
#define AG_ISSUER_MAX 64               /* bytes of the TOTP issuer name */
#define AG_TOKEN_NAME_MAX 256          /* bytes of a token issuer or audience */
#define AG_TOKEN_LIST_MAX 2048         /* bytes of the audience allow-list */
#define AG_COOKIE_MAX 64               /* bytes of the session cookie name */

#define AG_PG_CONNINFO_MAX 1024         /* bytes of a libpq connection string */
#define AG_PG_SCHEMA_MAX 63             /* bytes of a PostgreSQL schema name */

enum ag_sync { AG_SYNC_NORMAL = 1, AG_SYNC_FULL = 2 };
enum ag_store_kind { AG_STORE_SQLITE = 1, AG_STORE_POSTGRESQL = 2 };
enum ag_store_fallback { AG_FALLBACK_NONE = 0, AG_FALLBACK_LOCAL = 1 };
enum ag_daemon_fallback { AG_DAEMON_FALLBACK_NONE = 0, AG_DAEMON_FALLBACK_DIRECT = 1 };
#define AG_ACCOUNT_MAX 32               /* bytes of a user or group name */

struct ag_config {
	char state_file[PATH_MAX];

	/* account subject */
	int64_t deny;          /* failures within fail_window that lock */
	int64_t fail_window;   /* seconds */
	int64_t lock_time;     /* seconds; 0 = until an admin unlocks */
	int even_deny_root;
	int pam_user_fold;     /* count login names by their folded form (lib/subject.h) */

	/* remote-host subject */
	int64_t host_deny;     /* 0 disables host lockout */
	int64_t host_lock_time;
	int64_t ipv6_prefix;     /* IPv6 hosts are grouped by this prefix */
	struct ag_cidr host_allow[AG_CONFIG_MAX_ALLOW];
	unsigned n_host_allow;

	/* progressive delay: delay_base * 2^(n-1), capped at delay_max */
	int64_t delay_base;
	int64_t delay_max;

	/* state store */
	int64_t busy_timeout_ms;
	enum ag_sync sync;
	enum ag_store_kind store;   /* sqlite (state_file) or postgresql */
	enum ag_store_fallback store_fallback; /* PAM auth only: local SQLite while
	                                          PostgreSQL is unreachable */
	char pg_conninfo[AG_PG_CONNINFO_MAX + 1]; /* libpq connection string; may
	                                             hold a password */
	char pg_schema[AG_PG_SCHEMA_MAX + 1];
	int64_t pg_connect_timeout_ms;
	int64_t pg_statement_timeout_ms;

	/* authguardd: the clients' side (the module, the helpers) */
	int daemon;                  /* ask authguardd instead of opening the store */
	char daemon_socket[PATH_MAX];
	enum ag_daemon_fallback daemon_fallback; /* unreachable: deny, or open the
	                                            store directly (root only) */
	int64_t daemon_timeout_ms;   /* one request's answer, at most */
	/* authguardd: the daemon's side */
	char daemon_user[AG_ACCOUNT_MAX + 1];      /* it drops from root to this user */
	char daemon_web_group[AG_ACCOUNT_MAX + 1]; /* members may do the web operations */
	int64_t daemon_workers;      /* threads, each with one store connection */
	int64_t daemon_max_clients;  /* connections at once */
	int64_t daemon_idle_timeout; /* seconds a connection may stay silent */
	int64_t daemon_request_timeout; /* seconds to send one request line */

	/* multi-factor authentication */
	char secrets_key[PATH_MAX]; /* key file sealing TOTP secrets, keying backup codes */
	char totp_issuer[AG_ISSUER_MAX + 1]; /* "" = this machine's host name */
	int64_t totp_window;   /* steps accepted either side of now */
	int64_t enroll_timeout;/* seconds an unconfirmed enrollment stays valid */
	int64_t backup_codes;  /* codes issued per account */
	int nullok;            /* accounts without MFA pass the code step */

	/* access and refresh tokens (authguard-token) */
	char token_keys_dir[PATH_MAX];          /* signing keys, one file each */
	char token_issuer[AG_TOKEN_NAME_MAX + 1];   /* iss; required to issue/verify */
	char token_audience[AG_TOKEN_NAME_MAX + 1]; /* aud; required likewise */
	char token_audiences[AG_TOKEN_LIST_MAX + 1];/* other aud values issue may use */
	int64_t access_ttl;    /* seconds an access token lives */
	int64_t refresh_ttl;   /* absolute lifetime of a login's refresh family */
	int64_t refresh_grace; /* seconds the previous refresh token may be retried */
	int64_t token_leeway;  /* clock skew tolerated on exp/nbf/iat */
	int64_t token_max_len; /* bytes of a token accepted for verification */

	/* web and PAM sessions */
	int64_t session_idle;      /* seconds without activity before a session ends */
	int64_t session_lifetime;  /* absolute lifetime of a web session */
	int64_t session_touch;     /* write activity at most once per this many seconds */
	int64_t session_max;       /* live web sessions per user (0: no limit) */
	int session_evict;         /* at the limit: 1 evict the least recently used, 0 refuse */
	int session_revoke_on_mismatch; /* a foreign fingerprint ends the session */
	char session_cookie[AG_COOKIE_MAX + 1]; /* cookie name, __Host- prefixed */
	int session_samesite_lax;  /* SameSite=Lax instead of Strict */
	int64_t pam_session_max;   /* concurrent PAM sessions per user (0: no limit) */

	/* web subjects (guard, MFA, sessions, token subjects, webhooks) are
	 * counted and keyed by their folded form (lib/subject.h) */
	int web_subject_fold;

	/* Clerk webhooks (authguard-webhook) */
	char webhook_secret_file[PATH_MAX]; /* whsec_ signing secret, one line */
	int64_t webhook_tolerance; /* seconds a webhook timestamp may differ from now */

	/* module-only switches (not valid in the file) */
	int silent;            /* no messages through the conversation */
	int nodelay;           /* do not ask libpam for a failure delay */
	int debug;             /* log every decision, not only refusals */
};

/* Fills cfg with the compiled-in defaults (documented in authguard.conf.5). */
void ag_config_defaults(struct ag_config *cfg);

/* The configuration file path this build uses when none is given. */
const char *ag_config_default_path(void);

/* Reads a configuration file into cfg (over what is already there).  The
 * file must be a regular file, not a symlink, owned by root or the caller,
 * not writable by group or others, and at most AG_CONFIG_MAX_SIZE bytes;
 * every directory above it must pass ag_safe_check_parents() (as the
 * state's do), even when the file is missing: whoever can write there
 * could put one in.  With missing_ok set, a file that does not exist
 * leaves cfg unchanged.  On error, returns AG_ERR_* and writes
 * "FILE:LINE: key: reason" to err. */
int ag_config_load_file(struct ag_config *cfg, const char *path, int missing_ok,
                        char err[AG_ERRBUF]);

/* Receives a warning about a file that loaded: one line of at most
 * AG_ERRBUF bytes, "FILE:LINE: key: what". */
typedef void (*ag_config_warn_fn)(void *ctx, const char *msg);

/* ag_config_load_file(), calling warn (when not NULL) for what is legal
 * but probably a mistake: a key set on more than one line (the last one
 * applies; host_allow, whose lines add up, excepted), one warning per key
 * naming its lines.  Warnings come only for a file that loaded. */
int ag_config_load_file_warn(struct ag_config *cfg, const char *path, int missing_ok,
                             ag_config_warn_fn warn, void *warn_ctx, char err[AG_ERRBUF]);

/* Applies one module argument ("key=value" or a bare boolean key).  Keys
 * that only make sense for the PAM module (silent, nodelay, debug) are
 * accepted here but not in the file.  Returns 0 or AG_ERR_CONFIG. */
int ag_config_apply_arg(struct ag_config *cfg, const char *arg, char err[AG_ERRBUF]);

/* Returns 1 when aud is the configured token_audience or one of
 * token_audiences (an exact match), else 0. */
int ag_config_audience_allowed(const struct ag_config *cfg, const char *aud);

/* Checks relations between options (e.g. delay_max >= delay_base).
 * Returns 0 or AG_ERR_CONFIG with the reason in err. */
int ag_config_validate(const struct ag_config *cfg, char err[AG_ERRBUF]);

#endif
