/* What the files of lib/web share: filling an error, the state and the
 * keys opened on first use, subject keys, events.  Not for front ends. */
#ifndef AG_WEB_INT_H
#define AG_WEB_INT_H

#include <stdarg.h>

#include "web.h"

#define AG_WEB_REFRESH_PREFIX "agr_"

/* Fills err (status, kind and a formatted message) and returns ret, a
 * negative AG_ERR_*. */
int ag_web_fail(struct ag_web_err *err, int ret, int status, const char *kind, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

/* The state failed an operation: status 3, kind "state", the store's own
 * reason (or ret's).  Returns ret. */
int ag_web_state_fail(struct ag_web *w, struct ag_web_err *err, int ret);

/* Opens the state on first use. */
int ag_web_need_store(struct ag_web *w, struct ag_web_err *err);

/* Loads the token keys on first use, and again when token_keys_dir has
 * changed since (a rotation adds a file and rewrites one): a long-running
 * process signs with the new key and verifies tokens signed by it. */
int ag_web_need_keyring(struct ag_web *w, struct ag_web_err *err);

/* Issuing and verifying need to know who we are: token_issuer and
 * token_audience, no default. */
int ag_web_need_identity(struct ag_web *w, struct ag_web_err *err);

/* The key of a web subject (web_subject_fold) given as the request input
 * named input: a name that cannot be keyed is a usage error naming it
 * (out of memory: internal). */
int ag_web_subject_key(struct ag_web *w, const char *input, const char *name,
                       char key[AG_NAME_MAX + 1], struct ag_web_err *err);

/* Parses an IPv4 or IPv6 address given as input ip: anything else is a
 * usage error (the web side passes addresses, never names, which would
 * silently become new subjects). */
int ag_web_check_ip(struct ag_web *w, const char *ip, struct ag_web_err *err);

/* Logs event with up to two string fields and an integer (NULL keys and
 * values are left out). */
void ag_web_log(struct ag_web *w, int prio, const char *event, const char *k1, const char *v1,
                const char *k2, const char *v2, const char *ki, int64_t vi);

#endif
