#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "daemon_client.h"
#include "error.h"
#include "json_out.h"
#include "web_cli.h"

static void
oom(void)
{
	cli_die(CLI_INTERNAL, "out of memory");
}

/* The request being built: released (and so wiped, with cli.c's
 * allocator) at exit when the command line dies before it is answered
 * -- a logout may already hold a session id when its next line is
 * refused. */
static json_t *pending;

static void
drop_pending(void)
{
	json_decref(pending);
	pending = NULL;
}

json_t *
web_req(const char *op)
{
	static int registered;

	if (!registered && atexit(drop_pending) == 0)
		registered = 1;
	drop_pending();
	if ((pending = json_pack("{s:s}", "op", op)) == NULL)
		oom();
	return pending;
}

void
web_req_set(json_t *req, const char *name, json_t *v)
{
	if (v == NULL || json_object_set_new(req, name, v) != 0)
		oom();
}

/* (jansson's nocheck strings hold any bytes; they are never dumped: the
 * answers are built from what lib/web accepted.) */
void
web_req_bytes(json_t *req, const char *name, const char *v, size_t len)
{
	web_req_set(req, name, json_stringn_nocheck(v, len));
}

void
web_req_str(json_t *req, const char *name, const char *v)
{
	web_req_bytes(req, name, v, strlen(v));
}

void
web_req_true(json_t *req, const char *name)
{
	web_req_set(req, name, json_true());
}

void
web_req_int(json_t *req, const char *name, int64_t v)
{
	web_req_set(req, name, json_integer((json_int_t)v));
}

void
web_req_append(json_t *req, const char *name, const char *v)
{
	json_t *arr = json_object_get(req, name);

	if (arr == NULL) {
		web_req_set(req, name, json_array());
		arr = json_object_get(req, name);
	}
	if (json_array_append_new(arr, json_stringn_nocheck(v, strlen(v))) != 0)
		oom();
}

size_t
web_input_max(const struct ag_config *cfg, const json_t *req, const char *name)
{
	const struct ag_web_op *op = ag_web_op_find(json_string_value(json_object_get(req, "op")));
	const struct ag_web_field *f = op != NULL ? ag_web_op_field(op, name) : NULL;

	return f != NULL ? ag_web_field_max(cfg, f) : 0;
}

void
web_req_stdin(const struct ag_config *cfg, json_t *req, const char *name, const char *what)
{
	/* the longest input and its NUL: a longer line is a usage error */
	size_t max = web_input_max(cfg, req, name) + 1;
	char *buf = malloc(max);
	int r;

	if (buf == NULL)
		oom();
	if ((r = cli_read_line(buf, max)) != CLI_LINE_OK) {
		free(buf); /* (wiped by cli_read_line) */
		cli_die_line(r, what);
	}
	web_req_str(req, name, buf);
	sodium_memzero(buf, max);
	free(buf);
}

/* The daemon's answer has its status in it: taken out, as the command
 * line has it in its exit status.  The request said "cli": the answer
 * also has the line for people ("note", on stderr) and "quiet" (nothing
 * on stdout), taken out and used as the local dispatcher's reply would
 * be, so that the output is the same with and without the daemon.  A
 * refusal of the daemon's own (a line too long, forbidden, stopping) has
 * neither: its message is said on stderr, and it goes to stdout only for
 * the ops whose errors do. */
static int
print_daemon_answer(json_t *req, json_t *answer)
{
	const struct ag_web_op *op = ag_web_op_find(json_string_value(json_object_get(req, "op")));
	json_t *st = json_object_get(answer, "status");
	int status = json_is_integer(st) ? (int)json_integer_value(st) : CLI_INTERNAL;
	const char *note = json_string_value(json_object_get(answer, "note"));
	int quiet = json_is_true(json_object_get(answer, "quiet"));

	if (status < CLI_OK || status > CLI_INTERNAL)
		status = CLI_INTERNAL;
	if (note == NULL && json_object_get(answer, "error") != NULL) {
		note = json_string_value(json_object_get(answer, "message"));
		quiet = op == NULL || (op->flags & AG_WEB_OP_ERRORS_ON_STDOUT) == 0;
	}
	if (note != NULL)
		cli_warn("%s", note);
	json_object_del(answer, "status");
	json_object_del(answer, "note");
	json_object_del(answer, "quiet");
	if (!quiet)
		cli_print_json(answer);
	else
		json_decref(answer);
	return status;
}

/* daemon = yes: the request goes to authguardd, which holds the state and
 * the keys (this process reads neither).  When it cannot be reached:
 * denied (exit 3), or with daemon_fallback = direct and root, answered
 * here as without a daemon, said on stderr and in syslog. */
static int
daemon_run(struct ag_web *w, json_t *req, int *done)
{
	struct ag_daemon_conn *c = NULL;
	char err[AG_ERRBUF], *text, *line = NULL;
	json_error_t jerr;
	json_t *answer = NULL;
	size_t len = 0;
	int r, nomem = 0, status;

	*done = 1;
	if ((r = ag_daemon_connect(w->cfg, &c, err)) == 0) {
		/* A request is JSON text: bytes that are not UTF-8 cannot go. */
		if (json_object_set_new(req, "cli", json_true()) != 0)
			oom();
		if ((text = json_dumps(req, JSON_COMPACT)) == NULL) {
			ag_daemon_close(c);
			cli_die(CLI_USAGE, "an argument or input is not valid UTF-8");
		}
		r = ag_daemon_call_line(c, text, strlen(text), &line, &len, err);
		ag_daemon_free_line(text, strlen(text));
		ag_daemon_close(c);
		/* Sent, maybe carried out: never sent twice, never done here. */
		if (r != 0)
			cli_die(CLI_INTERNAL, "%s", err);
		answer = ag_json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr, &nomem);
		ag_daemon_free_line(line, len);
		if (answer == NULL || !json_is_object(answer))
			cli_die(CLI_INTERNAL, "authguardd: %s", nomem ? "out of memory"
			                                             : "an answer that is not JSON");
		status = print_daemon_answer(req, answer);
		if (req == pending)
			pending = NULL;
		json_decref(req);
		return status;
	}
	if (r == AG_ERR_UNAVAILABLE && w->cfg->daemon_fallback == AG_DAEMON_FALLBACK_DIRECT &&
	    geteuid() == 0) {
		cli_warn("%s; answering without the daemon (daemon_fallback = direct)", err);
		syslog(LOG_WARNING, "event=daemon_fallback reason=unreachable");
		*done = 0;
		return 0;
	}
	cli_die(r == AG_ERR_CONFIG ? CLI_USAGE : CLI_INTERNAL, "%s", err);
}

int
web_run(struct ag_web *w, json_t *req)
{
	struct ag_web_reply rep;

	if (w->cfg->daemon) {
		int done, status = daemon_run(w, req, &done);

		if (done)
			return status;
	}

	ag_web_dispatch(w, req, &rep);
	if (req == pending)
		pending = NULL;
	json_decref(req);
	if (rep.note[0] != '\0')
		cli_warn("%s", rep.note);
	if (!rep.quiet && rep.answer != NULL) {
		cli_print_json(rep.answer);
		rep.answer = NULL;
	}
	ag_web_reply_clear(&rep);
	return rep.status;
}
