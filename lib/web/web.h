/* The web operations, as library functions: what a web backend asks for
 * each login and request -- the brute-force guard, verification codes,
 * access and refresh tokens, web sessions, logout and Clerk webhooks.
 * Every web rule is written here once: the jti denylist and the session
 * liveness of a token tied to a session (verify), the refusal to tie a
 * token to another user's session (issue), reuse of a refresh token ending
 * its family and session (refresh), the order of logout's revocations.
 * The front ends -- the command line, the batch mode, a daemon's socket --
 * go through lib/web/proto.h, which turns a request into one of these
 * calls and its result into the answer.
 *
 * An operation returns 0 when it reached a verdict, which its result
 * gives: accepted, or refused with a reason (the protocol's status 0 or
 * 1).  It returns a negative AG_ERR_* when it could not, with *err saying
 * why and whose fault that is (status 2 or 3); nothing was changed then
 * unless the function says otherwise.  Nothing here exits or prints;
 * events go to the context's log (never a secret).  Results that carry a
 * secret -- an access or refresh token, a session id, a cookie that holds
 * one -- are wiped by their _clear() function, which the caller calls on
 * every path.
 *
 * Files: web.c (the context, errors), web_guard.c, web_mfa.c,
 * web_token.c (issue, refresh, jwks), web_verify.c (verify, revoke),
 * web_session.c, web_logout.c, web_webhook.c. */
#ifndef AG_WEB_H
#define AG_WEB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "guard.h"
#include "keyring.h"
#include "log.h"
#include "mfa.h"
#include "opaque.h"
#include "session.h"
#include "store.h"
#include "webhook.h"

/* The protocol's statuses, which are the helpers' exit codes: every
 * non-zero one means "deny" to the caller. */
enum ag_web_status {
	AG_WEB_OK = 0,       /* accepted, valid, done */
	AG_WEB_REJECTED = 1, /* refused: invalid, expired, revoked, locked, wrong code */
	AG_WEB_USAGE = 2,    /* the request or the configuration is wrong */
	AG_WEB_INTERNAL = 3  /* internal or state error: nothing to fix in the request */
};

/* What one process keeps between operations: the state and the token keys
 * are opened on first use, so an operation pays only for what it needs
 * (jwks never opens the state). */
struct ag_web {
	const struct ag_config *cfg;
	struct ag_log log;
	struct ag_store *store;
	struct ag_keyring *keyring;
	struct timespec keys_mtime; /* of token_keys_dir when the keyring was loaded */
};

/* Why an operation could not reach a verdict.  For kind "usage" the
 * message names the request's inputs as {name} (the protocol writes them
 * as a request member or as a command-line option); other messages are
 * plain text (a file name, the state's own reason). */
struct ag_web_err {
	int status;        /* AG_WEB_USAGE or AG_WEB_INTERNAL */
	const char *kind;  /* the answer's "error": usage, config, keys, state, internal,
	                      too_large, invalid_claim, sign_failed */
	char message[AG_ERRBUF];
};

/* Sets up w for cfg (kept by reference) with events going to log (NULL:
 * dropped).  Makes jansson wipe what it frees, unless the program set an
 * allocator of its own (ag_json_wipe_by_default()). */
void ag_web_init(struct ag_web *w, const struct ag_config *cfg, const struct ag_log *log);

/* Closes the state and frees the keys; w can be used again. */
void ag_web_close(struct ag_web *w);

/* Longest token, refresh token or jti taken as input: 16 KiB or twice
 * token_max_len, whichever is larger.  Up to it a token over
 * token_max_len gets the verdict too_large; longer input is the caller's
 * error. */
size_t ag_web_token_input_max(const struct ag_config *cfg);

/* Longest session id taken as input: longer is the caller's error,
 * shorter but of the wrong shape the verdict malformed. */
#define AG_WEB_SESSION_INPUT_MAX (AG_SESSION_ID_LEN + 7)

/* Longest verification code taken as input. */
#define AG_WEB_CODE_MAX 255

/* ---------------------------------------------------------- web_guard.c */

enum ag_web_guard_step {
	AG_WEB_GUARD_CHECK,   /* before the password: counts the attempt, or refuses it */
	AG_WEB_GUARD_FAILURE, /* a wrong password: settles the attempt as a failure */
	AG_WEB_GUARD_SUCCESS  /* a right one: clears the account's failures, or refuses */
};

/* One step of a web login for subject (a user name or e-mail, folded with
 * web_subject_fold) from ip (NULL, or an IPv4 or IPv6 address: a name is
 * the caller's error).  attempt: the id check gave (0: the subject's
 * oldest in flight).  res->allowed says whether check and success let
 * the login go on; a failure is always recorded. */
int ag_web_guard(struct ag_web *w, enum ag_web_guard_step step, const char *subject,
                 const char *ip, int64_t attempt, struct ag_guard_result *res,
                 struct ag_web_err *err);

/* ------------------------------------------------------------ web_mfa.c */

struct ag_web_mfa_result {
	int valid;
	const char *reason;        /* refused: locked, or ag_mfa_result_name() */
	const char *method;        /* valid: totp or backup */
	int64_t backup_codes_left; /* valid */
	int counted;               /* refused and recorded as a failed login: */
	int64_t failures;          /*   the account's failures, this one included */
	int64_t locked_until;      /*   the lock it set (0 none, AG_FOREVER) */
	int64_t retry_after;       /* locked: the lock's time left; replayed: until the next code */
};

/* Checks a TOTP or backup code for user (the enrolled account; its
 * failures are counted under its folded key, with ip as for the guard).
 * A locked account is refused without looking at the code; a wrong code
 * counts as a failed login (it settles the attempt guard check started);
 * a replayed one is refused without counting. */
int ag_web_mfa_verify(struct ag_web *w, const char *user, const char *ip, const char *code,
                      struct ag_web_mfa_result *res, struct ag_web_err *err);

/* ---------------------------------------------------------- web_token.c */

#define AG_WEB_JTI_MAX 64

struct ag_web_issue_req {
	const char *sub;
	const char *aud;  /* NULL: token_audience */
	const char *sid;  /* NULL: not tied to a session */
	int64_t ttl;      /* 0: access_ttl */
	int refresh;      /* also start a refresh family (a login) */
	const json_t *claims; /* extra claims, or NULL */
};

/* An access token issued or refreshed, with its refresh token. */
struct ag_web_token {
	const char *reason;              /* refused: why; NULL when issued */
	char *token;                     /* the access token */
	char jti[AG_WEB_JTI_MAX + 1];
	int64_t exp;
	char refresh_token[AG_OPAQUE_LEN + 1]; /* "" without one */
	int64_t refresh_expires;
	int64_t family;
	char sub[AG_NAME_MAX + 1];       /* refresh: the subject, as issue was given it */
};

/* Wipes and frees what t holds; accepts NULL. */
void ag_web_token_clear(struct ag_web_token *t);

/* Issues an access token for req->sub (and a refresh family).  A sid
 * must name a live session of the same subject (by key): else refused,
 * reason session_ended. */
int ag_web_issue(struct ag_web *w, const struct ag_web_issue_req *req, struct ag_web_token *out,
                 struct ag_web_err *err);

/* Exchanges a refresh token (len bytes) for a new access token and the
 * next refresh token of its family.  A token used before is theft: its
 * family and session end (reason reused); a family tied to a session that
 * is no longer live is revoked (reason session_ended). */
int ag_web_refresh(struct ag_web *w, const char *token, size_t len, struct ag_web_token *out,
                   struct ag_web_err *err);

/* The public keys as a JWKS (a new reference in *jwks). */
int ag_web_jwks(struct ag_web *w, json_t **jwks, struct ag_web_err *err);

/* --------------------------------------------------------- web_verify.c */

struct ag_web_verified {
	const char *reason; /* refused: why; NULL when valid */
	json_t *claims;     /* valid: the claims */
};

void ag_web_verified_clear(struct ag_web_verified *v);

/* Verifies an access token (len bytes): signature and claims, then that
 * its jti is not revoked and that the session it names (sid) is live. */
int ag_web_verify(struct ag_web *w, const char *token, size_t len, struct ag_web_verified *out,
                  struct ag_web_err *err);

enum ag_web_revoke_what {
	AG_WEB_REVOKE_TOKEN,  /* an access token, or a bare jti */
	AG_WEB_REVOKE_FAMILY, /* the family of a refresh token */
	AG_WEB_REVOKE_USER    /* every refresh family of a subject */
};

struct ag_web_revoked {
	int refused;         /* the input is not a credential of ours (reason says why) */
	int revoked;         /* 0 with reason "expired": nothing left to revoke */
	const char *reason;
	char jti[AG_WEB_JTI_MAX + 1]; /* a token: its jti, denylisted until */
	int64_t until;
	int64_t families;    /* a family or a subject: families revoked now */
};

/* Revokes what in (len bytes): a JWT (only a genuine one of any audience
 * issue may use), a bare jti, a refresh token's family, or a subject's
 * families.  Revoking twice is harmless. */
int ag_web_revoke(struct ag_web *w, enum ag_web_revoke_what what, const char *in, size_t len,
                  struct ag_web_revoked *out, struct ag_web_err *err);

/* -------------------------------------------------------- web_session.c */

#define AG_WEB_MAX_ATTRS 8

/* A request's fingerprint: its User-Agent (and extra attributes such as
 * Accept-Language), or the SHA-256 of the User-Agent in hex. */
struct ag_web_fp_in {
	const char *user_agent;
	const char *user_agent_hash;
	const char *const *attrs;
	size_t nattrs;
};

/* The fingerprint of in; exactly one of user_agent and user_agent_hash,
 * attributes only with a user_agent, at most AG_WEB_MAX_ATTRS. */
int ag_web_fingerprint(const struct ag_web_fp_in *in, uint8_t fp[32], struct ag_web_err *err);

struct ag_web_session_res {
	const char *reason;               /* refused: why; NULL when accepted */
	struct ag_web_session ws;         /* accepted: the session */
	char handle[AG_SID_MAX + 1];      /* its public handle (sid) */
	char id[AG_SESSION_ID_LEN + 1];   /* create, rotate: the new id */
	char cookie[AG_COOKIE_HEADER_MAX];/* Set-Cookie with the id; "" when none is due */
	int64_t evicted;                  /* create: older sessions evicted */
};

void ag_web_session_res_clear(struct ag_web_session_res *r);

/* A new session for user (1 to AG_NAME_MAX bytes of UTF-8, kept as given
 * and keyed by its fold), optionally linked to a Clerk session: the id,
 * the row and the cookie, nothing stored.  ag_web_session_commit() stores
 * it, or refuses it at the limit (reason limit); a caller that builds its
 * answer in between never leaves a session its client did not hear of. */
int ag_web_session_prepare(struct ag_web *w, const char *user, const struct ag_web_fp_in *fp,
                           const char *clerk_session, struct ag_web_session_res *s,
                           struct ag_web_err *err);
int ag_web_session_commit(struct ag_web *w, struct ag_web_session_res *s, struct ag_web_err *err);

/* Checks a session id (len bytes) against the request's fingerprint; a
 * match records the activity, and when that moved the expiry, the cookie
 * is due again (s->cookie).  Refused: malformed, unknown, expired,
 * fingerprint_mismatch (which ends the session unless
 * session_revoke_on_mismatch is off). */
int ag_web_session_check(struct ag_web *w, const char *id, size_t len, const uint8_t fp[32],
                         struct ag_web_session_res *s, struct ag_web_err *err);

/* Gives a live session a new id (privilege change). */
int ag_web_session_rotate(struct ag_web *w, const char *id, size_t len,
                          struct ag_web_session_res *s, struct ag_web_err *err);

/* Calls fn for each live session of user; key receives the key they are
 * listed under.  fn returns 0 to go on; anything else stops the list and
 * is an internal error. */
int ag_web_session_list(struct ag_web *w, const char *user, char key[AG_NAME_MAX + 1],
                        int (*fn)(void *ctx, const struct ag_web_session *s), void *ctx,
                        struct ag_web_err *err);

enum ag_web_end_by {
	AG_WEB_END_ID,     /* a session id */
	AG_WEB_END_HANDLE, /* a session's handle (sid) */
	AG_WEB_END_USER    /* every session and refresh family of a user */
};

struct ag_web_ended {
	const char *reason;  /* refused: malformed (an id of the wrong shape) */
	int64_t sessions;    /* sessions ended */
	int64_t families;    /* refresh families revoked, with them or on their own */
};

int ag_web_session_end(struct ag_web *w, enum ag_web_end_by by, const char *what, size_t len,
                       struct ag_web_ended *out, struct ag_web_err *err);

/* --------------------------------------------------------- web_logout.c */

struct ag_web_logout_res {
	int64_t sessions_ended;
	int64_t families_revoked;
	int access_token_revoked;
	char cookie[AG_COOKIE_HEADER_MAX]; /* Set-Cookie that clears the session cookie */
};

/* Logs a browser out: every credential given dies.  session (an id) is
 * required; access_token (a JWT) and refresh_token (agr_...) are
 * optional.  Order: the session's refresh families, the session, the
 * access token's jti, the refresh token's family -- so that the session,
 * and with it every token tied to it, is gone first.  Doing it twice is
 * harmless. */
int ag_web_logout(struct ag_web *w, const char *session, const char *access_token,
                  const char *refresh_token, struct ag_web_logout_res *out,
                  struct ag_web_err *err);

/* -------------------------------------------------------- web_webhook.c */

struct ag_web_webhook_res {
	enum ag_webhook_reason reason;   /* AG_WEBHOOK_OK: accepted */
	struct ag_webhook_msg msg;       /* the message id and timestamp (for the answer) */
	struct ag_webhook_event ev;      /* receive: the event */
	struct ag_webhook_result applied;/* receive: what it changed */
};

/* Verifies a signed message -- headers h (bad_headers: some header could
 * not be read, refused as bad_header), body of len bytes -- with the
 * secret of webhook_secret_file, and with apply set acts on it: records
 * the message id (a replay is refused) and syncs the Clerk event into the
 * sessions.  Without apply nothing is read or written in the state. */
int ag_web_webhook(struct ag_web *w, int apply, const struct ag_webhook_headers *h,
                   int bad_headers, const uint8_t *body, size_t len,
                   struct ag_web_webhook_res *res, struct ag_web_err *err);

/* What an accepted event did, as the answer and the log name it
 * ("sessions_ended", "user_sessions_ended", "ignored"). */
const char *ag_web_webhook_action(enum ag_webhook_action a);

#endif
