/* Answers of the webhook ops: the request's headers and body handed to
 * lib/web/web_webhook.c as the sender sent them.  The message id is the
 * answer's "id", as the command has always printed it, and its
 * "message_id", which a batch answer keeps (its "id" is the request's). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "proto_int.h"

/* Adds the headers of the request to h; 0, or -1 when one of them cannot
 * be read as a header (refused as bad_header once the secret has
 * loaded, as a malformed header line is). */
static int
add_headers(struct ag_webhook_headers *h, json_t *headers)
{
	const char *name;
	json_t *v, *x;
	size_t i;

	if (json_is_array(headers)) {
		/* "Name: value" lines, as the command line's --header */
		json_array_foreach(headers, i, v) {
			size_t len = json_string_length(v);

			if (ag_webhook_header_add(h, json_string_value(v), len) != 0)
				return -1;
		}
		return 0;
	}
	json_object_foreach(headers, name, v) {
		if (json_is_string(v)) {
			if (ag_webhook_header_add_value(h, name, strlen(name), json_string_value(v),
			                                json_string_length(v)) != 0)
				return -1;
			continue;
		}
		/* a header given several times: each value, as each line */
		json_array_foreach(v, i, x) {
			if (ag_webhook_header_add_value(h, name, strlen(name), json_string_value(x),
			                                json_string_length(x)) != 0)
				return -1;
		}
	}
	return 0;
}

static void
webhook(struct ag_web_call *c, int apply)
{
	struct ag_web_webhook_res res;
	struct ag_webhook_headers *h;
	struct ag_web_err err;
	const char *name;
	json_t *o;
	int bad;

	if ((h = malloc(sizeof(*h))) == NULL) {
		ag_web_reply(c, AG_WEB_INTERNAL, NULL);
		return;
	}
	ag_webhook_headers_init(h);
	bad = add_headers(h, ag_web_arg(c, "headers")) != 0;
	if (ag_web_webhook(c->w, apply, h, bad, (const uint8_t *)ag_web_arg_str(c, "body"),
	                   ag_web_arg_len(c, "body"), &res, &err) != 0) {
		free(h);
		ag_web_reply_err(c, &err);
		return;
	}
	free(h);
	if (res.reason != AG_WEBHOOK_OK) {
		name = ag_webhook_reason_name(res.reason);
		o = ag_web_refusal(name);
		if (o != NULL && res.msg.id[0] != '\0' &&
		    (json_object_set_new(o, "id", json_string(res.msg.id)) != 0 ||
		     json_object_set_new(o, "message_id", json_string(res.msg.id)) != 0)) {
			json_decref(o);
			o = NULL;
		}
		ag_web_reply(c, AG_WEB_REJECTED, o);
		if (c->rep->status == AG_WEB_REJECTED)
			ag_web_note(c, "rejected: %s", name);
		return;
	}
	if (!apply) {
		ag_web_reply(c, AG_WEB_OK,
		             json_pack("{s:b, s:s, s:s, s:I}", "valid", 1, "id", res.msg.id,
		                       "message_id", res.msg.id, "timestamp",
		                       (json_int_t)res.msg.timestamp));
		return;
	}
	ag_web_reply(c, AG_WEB_OK,
	             json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:o}", "valid", 1, "id", res.msg.id,
	                       "message_id", res.msg.id, "type", res.ev.type, "action",
	                       ag_web_webhook_action(res.ev.action),
	                       "sessions_ended", (json_int_t)res.applied.sessions_ended,
	                       "families_revoked",
	                       res.applied.families_revoked >= 0
	                               ? json_integer((json_int_t)res.applied.families_revoked)
	                               : json_null()));
}

void
ag_web_do_webhook_receive(struct ag_web_call *c)
{
	webhook(c, 1);
}

void
ag_web_do_webhook_verify(struct ag_web_call *c)
{
	webhook(c, 0);
}
