/* Answers of the brute-force guard and of mfa verify. */
#include "autoconf.h"

#include <string.h>

#include "clock.h"
#include "proto_int.h"
#include "util.h"

static const char *
reason_code(const struct ag_guard_result *res)
{
	if (res->verdict == AG_REFUSE_LOCKED)
		return res->refused_by == AG_SUBJECT_HOST ? "host_locked" : "locked";
	if (res->verdict == AG_REFUSE_EARLY)
		return res->refused_by == AG_SUBJECT_HOST ? "host_too_early" : "too_early";
	if (res->verdict == AG_REFUSE_BUSY)
		return res->refused_by == AG_SUBJECT_HOST ? "host_busy" : "busy";
	return NULL;
}

static json_t *
locked_until_json(int64_t t)
{
	return t == 0 ? json_null() : t == AG_FOREVER ? json_string("never") : json_integer(t);
}

/* check and success answer whether the login may go on (allowed);
 * failure says what the failure cost. */
static json_t *
result_json(const struct ag_guard_result *res, int with_allowed)
{
	const char *reason = with_allowed ? reason_code(res) : NULL;
	/* After a failure: the delay now owed (or the lock's remaining time). */
	int64_t retry = with_allowed ? res->retry_after
	                : res->locked_until == AG_FOREVER ? -1
	                : res->locked_until > 0 ? res->locked_until - ag_clock_now()
	                                        : res->delay;
	json_t *o = json_object();

	if (o == NULL ||
	    (with_allowed && json_object_set_new(o, "allowed", json_boolean(res->allowed)) != 0) ||
	    (res->attempt != 0 &&
	     json_object_set_new(o, "attempt", json_integer((json_int_t)res->attempt)) != 0) ||
	    json_object_set_new(o, "reason", reason ? json_string(reason) : json_null()) != 0 ||
	    json_object_set_new(o, "retry_after", json_integer((json_int_t)retry)) != 0 ||
	    json_object_set_new(o, "locked_until", locked_until_json(res->locked_until)) != 0 ||
	    json_object_set_new(o, "failures", json_integer((json_int_t)res->failures)) != 0 ||
	    json_object_set_new(o, "host_failures", json_integer((json_int_t)res->host_failures)) !=
	            0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
guard(struct ag_web_call *c, enum ag_web_guard_step step)
{
	struct ag_guard_result res;
	struct ag_web_err err;
	char wait[64];
	int with_allowed = step != AG_WEB_GUARD_FAILURE;

	if (ag_web_guard(c->w, step, ag_web_arg_str(c, "subject"), ag_web_arg_str(c, "ip"),
	                 ag_web_arg_int(c, "attempt"), &res, &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	if (!with_allowed || res.allowed) {
		ag_web_reply(c, AG_WEB_OK, result_json(&res, with_allowed));
		return;
	}
	ag_web_reply(c, AG_WEB_REJECTED, result_json(&res, 1));
	ag_format_wait(wait, sizeof(wait), res.retry_after);
	ag_web_note(c, "refused: %s%s%s", reason_code(&res),
	            res.retry_after > 0 ? ", retry in " : "", res.retry_after > 0 ? wait : "");
}

void
ag_web_do_guard_check(struct ag_web_call *c)
{
	guard(c, AG_WEB_GUARD_CHECK);
}

void
ag_web_do_guard_failure(struct ag_web_call *c)
{
	guard(c, AG_WEB_GUARD_FAILURE);
}

void
ag_web_do_guard_success(struct ag_web_call *c)
{
	guard(c, AG_WEB_GUARD_SUCCESS);
}

void
ag_web_do_mfa_verify(struct ag_web_call *c)
{
	struct ag_web_mfa_result res;
	struct ag_web_err err;

	if (ag_web_mfa_verify(c->w, ag_web_arg_str(c, "user"), ag_web_arg_str(c, "ip"),
	                      ag_web_arg_str(c, "code"), &res, &err) != 0) {
		ag_web_reply_err(c, &err);
		return;
	}
	if (res.valid) {
		ag_web_reply(c, AG_WEB_OK,
		             json_pack("{s:b, s:s, s:I}", "valid", 1, "method", res.method,
		                       "backup_codes_left", (json_int_t)res.backup_codes_left));
		return;
	}
	if (res.counted)
		ag_web_reply(c, AG_WEB_REJECTED,
		             json_pack("{s:b, s:s, s:I, s:o}", "valid", 0, "reason", res.reason,
		                       "failures", (json_int_t)res.failures, "locked_until",
		                       locked_until_json(res.locked_until)));
	else
		ag_web_reply(c, AG_WEB_REJECTED,
		             json_pack("{s:b, s:s, s:I}", "valid", 0, "reason", res.reason,
		                       "retry_after", (json_int_t)res.retry_after));
	if (c->rep->status == AG_WEB_REJECTED)
		ag_web_note(c, "code refused");
}
