/* What the protocol's handlers (proto_*.c) share with its dispatcher. */
#ifndef AG_WEB_PROTO_INT_H
#define AG_WEB_PROTO_INT_H

#include <stdarg.h>

#include "proto.h"

/* One request being answered. */
struct ag_web_call {
	struct ag_web *w;
	const struct ag_web_op *op;
	json_t *v[AG_WEB_FIELDS_MAX]; /* each member's value (borrowed), NULL when absent */
	struct ag_web_reply *rep;
};

/* The value of member name (NULL when absent), typed. */
json_t *ag_web_arg(const struct ag_web_call *c, const char *name);
const char *ag_web_arg_str(const struct ag_web_call *c, const char *name);
size_t ag_web_arg_len(const struct ag_web_call *c, const char *name);
int ag_web_arg_bool(const struct ag_web_call *c, const char *name);
int64_t ag_web_arg_int(const struct ag_web_call *c, const char *name);

/* Replies with answer (the reference is taken) and status; a NULL answer
 * (out of memory while building it) becomes an internal error. */
void ag_web_reply(struct ag_web_call *c, int status, json_t *answer);

/* Sets the line for people. */
void ag_web_note(struct ag_web_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the line for people to msg, which names members as {name}. */
void ag_web_note_names(struct ag_web_call *c, const char *msg);

/* Replies with the error an operation reported. */
void ag_web_reply_err(struct ag_web_call *c, const struct ag_web_err *err);

/* Replies with a usage error; msg names members as {name}. */
void ag_web_reply_usage(struct ag_web_call *c, const char *msg);

/* {"valid": false, "reason": reason}: how most refusals answer. */
json_t *ag_web_refusal(const char *reason);

/* A web session as the answers show it: user, sid, times, clerk_session
 * (names that are not UTF-8 still print: ag_json_set_name()).  NULL when
 * out of memory. */
json_t *ag_web_session_json(const struct ag_web_session *s);

/* The handlers: one per op (proto_guard.c, proto_token.c,
 * proto_session.c, proto_webhook.c). */
void ag_web_do_guard_check(struct ag_web_call *c);
void ag_web_do_guard_failure(struct ag_web_call *c);
void ag_web_do_guard_success(struct ag_web_call *c);
void ag_web_do_mfa_verify(struct ag_web_call *c);
void ag_web_do_issue(struct ag_web_call *c);
void ag_web_do_verify(struct ag_web_call *c);
void ag_web_do_refresh(struct ag_web_call *c);
void ag_web_do_revoke(struct ag_web_call *c);
void ag_web_do_jwks(struct ag_web_call *c);
void ag_web_do_session_create(struct ag_web_call *c);
void ag_web_do_session_check(struct ag_web_call *c);
void ag_web_do_session_rotate(struct ag_web_call *c);
void ag_web_do_session_list(struct ag_web_call *c);
void ag_web_do_session_end(struct ag_web_call *c);
void ag_web_do_logout(struct ag_web_call *c);
void ag_web_do_webhook_receive(struct ag_web_call *c);
void ag_web_do_webhook_verify(struct ag_web_call *c);

#endif
