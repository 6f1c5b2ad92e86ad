/* Brute-force guard: the one place that turns an authentication attempt
 * into subjects (account, remote host), applies the root and allow-list
 * rules, runs the store operations and logs each event.  The PAM module and
 * `authguard-token guard` are thin callers of these functions.
 *
 * The attempt protocol, for every front end:
 *   ag_guard_begin()   before the secret is checked; counts the attempt
 *                      (a crash afterwards leaves it counted as a failure);
 *   ag_guard_fail()    when the secret was wrong;
 *   ag_guard_succeed() when it was right (resets the account).
 * Functions return 0 or AG_ERR_*; any error means "deny". */
#ifndef AG_GUARD_H
#define AG_GUARD_H

#include <stdint.h>

#include "config.h"
#include "log.h"
#include "policy.h"
#include "store.h"

struct ag_guard {
	const struct ag_config *cfg;
	struct ag_store *store;
	struct ag_log log;
};

struct ag_guard_req {
	const char *user;    /* account subject: user name or e-mail (required) */
	const char *rhost;   /* remote host; NULL or "" when local */
	const char *service; /* for logs: "sshd", "web", ... */
	int system_account;  /* user is a login name: the root rule applies */
};

struct ag_guard_result {
	int allowed;          /* begin: go on and check the secret;
	                         succeed: the success stands */
	enum ag_verdict verdict;
	enum ag_subject_kind refused_by; /* 0 when allowed */
	int64_t attempt;      /* begin: id to pass to fail/succeed */
	int64_t retry_after;  /* seconds; -1 means only an admin can unlock */
	int64_t locked_until; /* the refusing (or failing) subject's lock; 0 none */
	int64_t failures;     /* account failures in the window */
	int64_t host_failures;
	int64_t delay;        /* after fail: seconds before the next attempt */
	int newly_locked;     /* fail: this failure locked the account or host */
	int exempt;           /* root without even_deny_root: never refused */
};

/* Checks that a subject name is acceptable: 1..AG_NAME_MAX bytes, valid
 * UTF-8 is not required but NUL is impossible by construction.  Returns 0
 * or AG_ERR_INVAL / AG_ERR_TOOLONG with a reason. */
int ag_guard_check_name(const char *name, const char **reasonp);

/* The key the account of req is counted under: req->user itself, or its
 * fold (lib/subject.h) when the configuration folds that realm (login
 * names: pam_user_fold; web subjects: web_subject_fold).  key holds
 * AG_NAME_MAX + 1 bytes.  Returns 0 or AG_ERR_INVAL / AG_ERR_TOOLONG with
 * a reason; front ends call it first to refuse bad input as such. */
int ag_guard_subject_key(const struct ag_config *cfg, const struct ag_guard_req *req,
                         char key[AG_NAME_MAX + 1], const char **reasonp);

int ag_guard_begin(struct ag_guard *g, const struct ag_guard_req *req,
                   struct ag_guard_result *res);
int ag_guard_fail(struct ag_guard *g, const struct ag_guard_req *req, int64_t attempt,
                  struct ag_guard_result *res);
int ag_guard_succeed(struct ag_guard *g, const struct ag_guard_req *req, int64_t attempt,
                     struct ag_guard_result *res);

/* Withdraws an attempt that ended neither in a failure nor in a success:
 * the failure ag_guard_begin() counted in flight for it is removed, so it
 * adds to no delay or lock.  Needs the attempt's own id (0 withdraws
 * nothing).  Only for refusals that give a guesser nothing -- a replayed
 * verification code after the right password (ag_mfa_counts_as_failure()
 * says which).  Logs event=attempt_released with reason (a short word).
 * *released (may be NULL) tells whether the attempt was still in flight. */
int ag_guard_release(struct ag_guard *g, const struct ag_guard_req *req, int64_t attempt,
                     const char *reason, int *released);

/* Read-only: is the account locked right now?  (PAM account phase.)  The
 * host is not consulted: a host lock blocks password guessing, not
 * logins that were authenticated another way. */
int ag_guard_account_check(struct ag_guard *g, const struct ag_guard_req *req,
                           struct ag_guard_result *res);

/* Builds the host subject name for rhost under cfg (normalised; "" when
 * the host is allow-listed or host tracking is off).  out must hold
 * AG_HOST_MAX bytes. */
int ag_guard_host_subject(const struct ag_config *cfg, const char *rhost, char *out,
                          size_t outsize);

/* Returns 1 when user is a login account with uid 0 (root under any name)
 * and even_deny_root is off: counted, never refused. */
int ag_guard_account_exempt(const struct ag_config *cfg, const char *user);

/* Opens the store for the PAM auth path.  With store = postgresql and
 * store_fallback = local, a shared store that cannot be reached (or does
 * not answer in time) is replaced by the host's local SQLite state
 * (state_file), so that counting and locking go on during an outage;
 * *fell_back is then 1.  The switch is logged at LOG_CRIT once per outage
 * (event=store_fallback state=on) and on every attempt at LOG_WARNING,
 * and the return to the shared store at LOG_CRIT (state=off), using a
 * marker file beside the local state.  Anything else fails closed. */
int ag_guard_open_store(struct ag_guard *g, struct ag_store **storep, int *fell_back,
                        char err[AG_ERRBUF]);

/* 1 when err, returned by an operation on the shared store, may be
 * answered by falling back to the local state (see above). */
int ag_guard_may_fall_back(const struct ag_config *cfg, int err);

/* Opens the local fallback state after an operation on the shared one
 * failed with err (logged as above).  Returns 0 or AG_ERR_*. */
int ag_guard_fall_back(struct ag_guard *g, int err, const char *why, struct ag_store **storep,
                       char errbuf[AG_ERRBUF]);

/* The limits that apply to an account or host subject. */
void ag_guard_limits(const struct ag_config *cfg, enum ag_subject_kind kind, int exempt,
                     struct ag_limits *lim);

#endif
