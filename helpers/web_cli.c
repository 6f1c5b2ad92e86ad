#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
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

int
web_run(struct ag_web *w, json_t *req)
{
	struct ag_web_reply rep;

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
