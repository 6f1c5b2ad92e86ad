/* Web-session rules: pure functions over plain structs, like policy.h for
 * brute force.  No I/O, no SQL, no clock reads: the store loads a session
 * inside its transaction, asks, and writes what the answer implies. */
#ifndef AG_SESSION_POLICY_H
#define AG_SESSION_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define AG_NAME_MAX 4096  /* longest subject or user name, in bytes */
#define AG_SID_MAX 128    /* bytes of a session reference kept with a family */

struct ag_web_session {
	uint8_t id_hash[32];          /* SHA-256 of the session id */
	char user[AG_NAME_MAX + 1];   /* as the backend spelled it */
	char user_key[AG_NAME_MAX + 1]; /* the folded key (subject.h) */
	uint8_t fingerprint[32];      /* SHA-256 of the User-Agent (and attributes) */
	char clerk_sid[AG_SID_MAX + 1];  /* "" when not linked */
	int64_t created, last_seen, idle_expires, abs_expires;
	int64_t used_seq;             /* order of last use within one second */
};

enum ag_session_verdict {
	AG_SESSION_OK = 0,
	AG_SESSION_UNKNOWN,   /* no such session (never was, ended, rotated) */
	AG_SESSION_EXPIRED,   /* idle timeout or absolute lifetime passed */
	AG_SESSION_MISMATCH   /* fingerprint differs: another browser */
};

/* The verdict on a session (found: it exists) presented with fingerprint
 * fp at now; fp NULL skips the fingerprint (logout, rotation).  The
 * fingerprints are compared in constant time. */
enum ag_session_verdict ag_session_judge(const struct ag_web_session *s, int found,
                                         const uint8_t *fp, int64_t now);

/* 1 when a live session's activity should be written now: at most once
 * per touch_interval seconds, so a busy session does not write on every
 * request. */
int ag_session_needs_touch(const struct ag_web_session *s, int64_t now, int64_t touch_interval);

/* Records activity at now: last_seen, and the idle expiry slid to now +
 * idle but never past the absolute expiry. */
void ag_session_slide(struct ag_web_session *s, int64_t now, int64_t idle);

/* At the session limit: which of a user's n live sessions go before a new
 * one is stored.  With max 0 (no limit) or fewer than max sessions, none.
 * Otherwise, with evict set, the least recently used ones (last_seen,
 * then used_seq, then created) are moved to the front of s and their
 * number is returned; without evict, -1: the new session is refused. */
long ag_session_evictions(struct ag_web_session *s, size_t n, int64_t max, int evict);

/* Whether a fingerprint mismatch ends the session (the default) or only
 * refuses the request, and whether an expired one is deleted: what the
 * store writes after a verdict.  1 when the session is to be deleted. */
int ag_session_drop_after(enum ag_session_verdict v, int revoke_on_mismatch);

#endif
