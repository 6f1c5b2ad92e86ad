/* The state as the PAM module asks for it: the few operations its steps
 * need (the attempt protocol of lib/guard.h, the code check of lib/mfa.h,
 * the session limit), as a table of functions over an opaque handle.
 *
 * pam_authguard.so itself links no state library (no SQLite, libsodium,
 * liboath, libunistring): it parses its configuration, talks to the user
 * and maps results to PAM codes, and leaves every rule to an
 * implementation of this table.  The direct one (lib/authsvc_direct.c,
 * the module authsvc-direct.so in $(pkglibdir), loaded on first use) opens
 * the store in the calling process, as the module always did; another may
 * carry the same calls to a daemon that holds the state and the keys.  So
 * that one can, everything in and out is a plain struct, a string or a
 * number, and no operation hands out a pointer into the state.  open()
 * and reuse() take the module's whole configuration (its file and its
 * arguments) and its log sink: the direct service applies them as the
 * module always did; a daemon client may keep them on its side (its socket,
 * its timeouts, where events go) while the daemon applies its own policy,
 * its requests carrying the ag_guard_req, the user, the code, the row.
 *
 * Every int function returns 0 or a negative AG_ERR_*; any error means
 * "deny", with a reason for the log from errmsg(). */
#ifndef AG_AUTHSVC_H
#define AG_AUTHSVC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "guard.h"
#include "log.h"
#include "mfa.h"
#include "store.h"

/* Bumped whenever struct ag_authsvc_ops or a struct it carries changes: a
 * service module built for another layout is refused. */
#define AG_AUTHSVC_ABI 2

struct ag_authsvc; /* one caller's open state (per PAM handle) */

/* What a code check found out (mfa_verify). */
struct ag_authsvc_mfa {
	enum ag_mfa_result result;
	int counts_as_failure;  /* a refusal that counts as a failed login
	                           (ag_mfa_counts_as_failure()); 0 for a
	                           replayed code, whose attempt is withdrawn */
	int64_t backup_left;    /* AG_MFA_OK_BACKUP: codes left now; -1 unknown */
	int64_t next_code_wait; /* a refusal that does not count: seconds until
	                           the app shows an unused code; 0 unknown or
	                           at once */
};

struct ag_authsvc_ops {
	int abi;            /* AG_AUTHSVC_ABI */
	size_t config_size; /* sizeof(struct ag_config) of its build */
	const char *name;   /* "direct" */

	/* Checks req->user before anything is counted: a name that has no
	 * key (empty, too long, not foldable under pam_user_fold) is refused
	 * with the reason in why.  Needs no open handle. */
	int (*check_user)(const struct ag_config *cfg, const struct ag_guard_req *req,
	                  char why[AG_ERRBUF]);

	/* Opens the state for the calls of one caller under cfg; events go to
	 * log.  may_fall_back: this caller may count on the local state while
	 * a shared store is unreachable (store_fallback = local; the attempt
	 * and account operations only), as ag_guard_open_store() says. */
	int (*open)(const struct ag_config *cfg, const struct ag_log *log, int may_fall_back,
	            struct ag_authsvc **svcp, char err[AG_ERRBUF]);

	/* Takes svc over for a later call of the same caller, whose cfg (the
	 * PAM module's arguments differ from line to line), log and
	 * may_fall_back apply from now on.  Returns 1, or 0 when svc cannot
	 * serve it (another state; a local state standing in for a shared
	 * one, for a call that may not fall back): then open a new one. */
	int (*reuse)(struct ag_authsvc *svc, const struct ag_config *cfg, const struct ag_log *log,
	             int may_fall_back);

	/* Closes svc; accepts NULL. */
	void (*close)(struct ag_authsvc *svc);

	/* The reason for the last failed operation on svc, or the text of
	 * err.  Valid until the next operation. */
	const char *(*errmsg)(const struct ag_authsvc *svc, int err);

	/* After an operation failed with err: when the caller may fall back
	 * and err says a shared store is unreachable, switches svc to the
	 * local state (logged) and sets *switched; the caller then runs the
	 * operation again.  Returns AG_ERR_* with the reason in errbuf when
	 * the local state cannot be opened either. */
	int (*fall_back)(struct ag_authsvc *svc, int err, int *switched, char errbuf[AG_ERRBUF]);

	/* The attempt protocol and the account phase: ag_guard_begin(),
	 * ag_guard_fail(), ag_guard_succeed(), ag_guard_release() and
	 * ag_guard_account_check(), same contracts. */
	int (*begin)(struct ag_authsvc *svc, const struct ag_guard_req *req,
	             struct ag_guard_result *res);
	int (*fail)(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
	            struct ag_guard_result *res);
	int (*succeed)(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
	               struct ag_guard_result *res);
	int (*release)(struct ag_authsvc *svc, const struct ag_guard_req *req, int64_t attempt,
	               const char *reason, int *released /* may be NULL */);
	int (*account)(struct ag_authsvc *svc, const struct ag_guard_req *req,
	               struct ag_guard_result *res);

	/* Whether user has a confirmed TOTP secret.  Fails (before any code is
	 * asked for) when the secrets key cannot be used. */
	int (*mfa_status)(struct ag_authsvc *svc, const char *user, int *enrolled);

	/* Checks a typed code (TOTP or backup) of user, consuming it when it
	 * is accepted (ag_mfa_verify()).  code is a secret: the caller wipes
	 * it; the implementation keeps no copy. */
	int (*mfa_verify)(struct ag_authsvc *svc, const char *user, const char *code,
	                  struct ag_authsvc_mfa *out);

	/* Records a PAM session (row: user, service, tty, rhost, pid, boot,
	 * machine, start) unless row->user already has max sessions alive on
	 * row->host (0: no limit; root is not limited unless even_deny_root).
	 * A row of that machine counts while its process runs on row->boot_id;
	 * the others are dropped.  *id is for session_close, which removes the
 * row only if it is user's. */
	int (*session_open)(struct ag_authsvc *svc, const struct ag_pam_session *row, int64_t max,
	                    int *refused, int64_t *id);
	int (*session_close)(struct ag_authsvc *svc, int64_t id, const char *user);
};

/* The direct implementation (opens the store in this process): loaded
 * from $(pkglibdir)/authsvc-direct.so on the first call, once per process
 * (lib/modload.h).  Returns 0 or AG_ERR_* with the reason in err. */
int ag_authsvc_direct(const struct ag_authsvc_ops **opsp, char err[AG_ERRBUF]);

/* The daemon client (lib/authsvc_daemon.c, authsvc-daemon.so): the same
 * operations asked of authguardd over its socket. */
int ag_authsvc_daemon(const struct ag_authsvc_ops **opsp, char err[AG_ERRBUF]);

/* The service the configuration asks for: the daemon client with
 * daemon = yes, else the direct one. */
int ag_authsvc_for(const struct ag_config *cfg, const struct ag_authsvc_ops **opsp,
                   char err[AG_ERRBUF]);

#endif
