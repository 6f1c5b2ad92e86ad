/* The web protocol: a request is a JSON object {"op": NAME, members...},
 * its answer one JSON object and a status (lib/web/web.h's statuses, the
 * helpers' exit codes).  Every front end goes through it: the command
 * line builds the request from its arguments and standard input, the
 * batch mode reads one request per line, a daemon one per message; so
 * every command has its op with the same members, the same answer and
 * the same status, by construction.
 *
 * The op table (proto.c) lists every op with its members -- type, bounds,
 * required or not, and how the command line names each -- and its
 * handler (proto_*.c), which calls lib/web/web.h and builds the answer.
 * A member not in the table, or of the wrong type (null included), is a
 * usage error (status 2), never silently ignored.
 *
 * Answers: the command's JSON output; errors (status 2 and 3) as
 * {"error": KIND, "message": TEXT}.  Batch answers add "status", and the
 * request's "id" when it has a valid one (a number, or a string of at
 * most AG_WEB_ID_MAX bytes). */
#ifndef AG_WEB_PROTO_H
#define AG_WEB_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "web.h"

#define AG_WEB_ID_MAX 256     /* bytes of a string id */
#define AG_WEB_FIELDS_MAX 8   /* members of one op, at most */

enum ag_web_type {
	AG_WEB_STRING,  /* a string */
	AG_WEB_BOOL,    /* true or false */
	AG_WEB_INT,     /* an integer within [min, max] */
	AG_WEB_OBJECT,  /* a JSON object */
	AG_WEB_STRINGS, /* an array of at most max strings */
	AG_WEB_HEADERS  /* HTTP headers: an object of names and values (a string, or an
	                   array of strings for a header given several times), or an array
	                   of "Name: value" lines */
};

/* Bounds of a string member that the command line reads on standard
 * input (AG_WEB_INPUT): the same bound in both modes. */
enum ag_web_bound {
	AG_WEB_NO_BOUND = 0,
	AG_WEB_TOKEN_BOUND,   /* ag_web_token_input_max() */
	AG_WEB_SESSION_BOUND, /* AG_WEB_SESSION_INPUT_MAX */
	AG_WEB_CODE_BOUND     /* AG_WEB_CODE_MAX */
};

#define AG_WEB_REQUIRED 1u /* the member must be present */
#define AG_WEB_INPUT 2u    /* a secret the command line reads on standard input: a
                              non-empty string within its bound, else a usage error */

struct ag_web_field {
	const char *name;       /* the request member */
	const char *cli;        /* how the command line names it (an option, or where
	                           it reads it) in messages for people */
	enum ag_web_type type;
	unsigned flags;         /* AG_WEB_REQUIRED, AG_WEB_INPUT */
	enum ag_web_bound bound;
	int64_t min, max;       /* AG_WEB_INT: the range; AG_WEB_STRINGS: max items */
};

struct ag_web_call;

#define AG_WEB_OP_ERRORS_ON_STDOUT 1u /* the command line prints error answers on
                                         stdout too (the token commands); others
                                         report errors on stderr only */

struct ag_web_op {
	const char *name;       /* "guard_check" */
	const char *command;    /* the one-shot command, for people */
	const struct ag_web_field *fields;
	size_t nfields;
	unsigned flags;
	void (*handler)(struct ag_web_call *c);
};

/* The ops, in the order of the manual; *n receives their number. */
const struct ag_web_op *ag_web_ops(size_t *n);

/* The op named name, or NULL. */
const struct ag_web_op *ag_web_op_find(const char *name);

/* The member name of op, or NULL. */
const struct ag_web_field *ag_web_op_field(const struct ag_web_op *op, const char *name);

/* The bound of a string member read on standard input (AG_WEB_INPUT), in
 * bytes; 0 for other members. */
size_t ag_web_field_max(const struct ag_config *cfg, const struct ag_web_field *f);

/* One request answered. */
struct ag_web_reply {
	int status;            /* AG_WEB_OK ... AG_WEB_INTERNAL */
	json_t *answer;        /* the answer, without status and id; NULL only when
	                          out of memory (status 3) */
	int quiet;             /* the command line prints nothing on stdout (an error
	                          of an op without AG_WEB_OP_ERRORS_ON_STDOUT) */
	char note[AG_ERRBUF];  /* one line for people (the command line's stderr),
	                          naming inputs as the command line does; "" for none */
};

/* Answers req ({"op": ..., members}; an "id" member is allowed and not
 * looked at).  rep is always filled; release it with
 * ag_web_reply_clear(). */
void ag_web_dispatch(struct ag_web *w, json_t *req, struct ag_web_reply *rep);

void ag_web_reply_clear(struct ag_web_reply *rep);

/* Longest batch request line: 64 KiB, or four times token_max_len, or
 * what a webhook body of AG_WEBHOOK_BODY_MAX bytes needs as a JSON string
 * with its headers (twice its size, and 64 KiB), whichever is largest. */
size_t ag_web_line_max(const struct ag_config *cfg);

/* The answer to one batch request line (len bytes, no newline): parsed
 * (one JSON object, no duplicate members), answered, with "status" and
 * the request's "id".  too_long: the line was longer than
 * ag_web_line_max() and was not kept (a usage error, no id).  NULL only
 * when out of memory. */
json_t *ag_web_answer_line(struct ag_web *w, const char *line, size_t len, int too_long);

/* 1 when id may be echoed as a request's "id" (a number, or a string of at
 * most AG_WEB_ID_MAX bytes): the batch mode's rule and authguardd's. */
int ag_web_id_ok(const json_t *id);

#endif
