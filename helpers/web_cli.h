/* The command line of the web helpers (authguard-token, authguard-webhook):
 * each command builds the request of its op (lib/web/proto.h) from its
 * arguments and standard input, has it answered by the same dispatcher as
 * the batch mode, prints the answer on stdout and a line for people on
 * stderr, and exits with the status.  The exit paths here are the
 * command line's own: an option or standard input that cannot make a
 * request at all (exit 2, nothing on stdout), or no memory (exit 3). */
#ifndef AG_WEB_CLI_H
#define AG_WEB_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto.h"

/* A new request {"op": op}: one at a time; released at exit if the
 * command dies before web_run(). */
json_t *web_req(const char *op);

/* Sets member name of req to the bytes given, as they are: whether they
 * make a valid name (UTF-8, bounds) is for lib/web to judge, as for a
 * batch request. */
void web_req_bytes(json_t *req, const char *name, const char *v, size_t len);
void web_req_str(json_t *req, const char *name, const char *v);
void web_req_true(json_t *req, const char *name);
void web_req_int(json_t *req, const char *name, int64_t v);

/* Appends v to the array member name (created when absent). */
void web_req_append(json_t *req, const char *name, const char *v);

/* Sets member name to v (the reference is taken). */
void web_req_set(json_t *req, const char *name, json_t *v);

/* The bound of req's input member name (ag_web_field_max()), in bytes. */
size_t web_input_max(const struct ag_config *cfg, const json_t *req, const char *name);

/* Reads one line of standard input (cli_read_secret(): what names it in
 * messages) into member name, at most the member's bound. */
void web_req_stdin(const struct ag_config *cfg, json_t *req, const char *name,
                   const char *what);

/* Answers req (released), prints the answer and the line for people, and
 * returns the status, which is the exit code. */
int web_run(struct ag_web *w, json_t *req);

#endif
