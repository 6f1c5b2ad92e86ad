/* Clerk webhooks (Svix / Standard Webhooks): a message verified with the
 * secret of webhook_secret_file, then acted on at most once.  The
 * signature, header and event rules are lib/webhook.c's. */
#include "autoconf.h"

#include <string.h>
#include <syslog.h>

#include "clock.h"
#include "error.h"
#include "subject.h"
#include "web_int.h"

/* Logs a configuration or internal failure (never the secret). */
static void
log_error(struct ag_web *w, const char *what)
{
	ag_web_log(w, LOG_ERR, "webhook_error", "reason", what, NULL, NULL, NULL, 0);
}

const char *
ag_web_webhook_action(enum ag_webhook_action a)
{
	switch (a) {
	case AG_WEBHOOK_END_SESSION:
		return "sessions_ended";
	case AG_WEBHOOK_END_USER:
		return "user_sessions_ended";
	default:
		return "ignored";
	}
}

static int
reject(struct ag_web *w, enum ag_webhook_reason reason, struct ag_web_webhook_res *res)
{
	struct ag_logline l;

	ag_logline_init(&l, "webhook_rejected");
	ag_logline_str(&l, "reason", ag_webhook_reason_name(reason));
	if (res->msg.id[0] != '\0')
		ag_logline_str(&l, "id", res->msg.id);
	if (res->ev.type[0] != '\0')
		ag_logline_str(&l, "type", res->ev.type);
	ag_log_emit(&w->log, LOG_WARNING, &l);
	res->reason = reason;
	return 0;
}

int
ag_web_webhook(struct ag_web *w, int apply, const struct ag_webhook_headers *h,
               int bad_headers, const uint8_t *body, size_t len,
               struct ag_web_webhook_res *res, struct ag_web_err *err)
{
	const struct ag_config *cfg = w->cfg;
	struct ag_webhook_secret secret;
	struct ag_webhook_event keyed;
	enum ag_webhook_reason reason;
	struct ag_logline l;
	const char *why = NULL;
	int64_t now;
	int r, replayed = 0;

	memset(res, 0, sizeof(*res));
	if (len > AG_WEBHOOK_BODY_MAX) {
		log_error(w, "body_too_large");
		return ag_web_fail(err, AG_ERR_TOOLONG, AG_WEB_USAGE, "usage",
		                   "{body} larger than %d bytes: refused", AG_WEBHOOK_BODY_MAX);
	}
	if ((r = ag_webhook_secret_load(cfg->webhook_secret_file, &secret, &why)) != 0) {
		log_error(w, "secret_file");
		return ag_web_fail(err, r,
		                   r == AG_ERR_SYSTEM || r == AG_ERR_NOMEM ? AG_WEB_INTERNAL
		                                                           : AG_WEB_USAGE,
		                   "config", "webhook_secret_file %s: %s", cfg->webhook_secret_file,
		                   why);
	}
	now = ag_clock_now();
	reason = bad_headers ? AG_WEBHOOK_BAD_HEADER
	                     : ag_webhook_verify(&secret, h, body, len, now, cfg->webhook_tolerance,
	                                         &res->msg);
	ag_webhook_secret_clear(&secret);
	if (reason != AG_WEBHOOK_OK)
		return reject(w, reason, res);
	if (!apply) {
		ag_web_log(w, LOG_INFO, "webhook_verified", "id", res->msg.id, NULL, NULL, NULL, 0);
		return 0;
	}

	/* Only a verified body is parsed. */
	if ((r = ag_webhook_event_parse(body, len, &res->ev)) == AG_ERR_NOMEM) {
		log_error(w, "out_of_memory");
		return ag_web_fail(err, r, AG_WEB_INTERNAL, "internal",
		                   "cannot parse the body: out of memory");
	}
	if (r != 0)
		return reject(w, AG_WEBHOOK_BAD_BODY, res);
	/* A user id is keyed like every web subject (web_subject_fold), so
	 * user.deleted ends the sessions created under any spelling of it;
	 * the log keeps the id as sent. */
	keyed = res->ev;
	if (res->ev.action == AG_WEBHOOK_END_USER &&
	    (r = ag_subject_key(cfg, AG_REALM_WEB, res->ev.target, keyed.target, &why)) != 0) {
		if (r == AG_ERR_NOMEM) {
			log_error(w, "out_of_memory");
			return ag_web_fail(err, r, AG_WEB_INTERNAL, "internal",
			                   "cannot fold the user id: out of memory");
		}
		return reject(w, AG_WEBHOOK_BAD_BODY, res);
	}
	if ((r = ag_web_need_store(w, err)) != 0) {
		log_error(w, "store_open");
		return r;
	}
	if ((r = ag_webhook_apply(w->store, &res->msg, &keyed, now, cfg->webhook_tolerance,
	                          ag_session_handle, &replayed, &res->applied)) != 0) {
		/* Nothing was recorded: the sender's retry is processed. */
		ag_logline_init(&l, "webhook_error");
		ag_logline_str(&l, "reason", "store");
		ag_logline_str(&l, "id", res->msg.id);
		ag_logline_str(&l, "type", res->ev.type);
		if (res->ev.action == AG_WEBHOOK_END_USER)
			ag_logline_str(&l, "user", res->ev.target);
		ag_log_emit(&w->log, LOG_ERR, &l);
		return ag_web_state_fail(w, err, r);
	}
	if (replayed)
		return reject(w, AG_WEBHOOK_REPLAYED, res);

	ag_logline_init(&l, "webhook_ok");
	ag_logline_str(&l, "id", res->msg.id);
	ag_logline_str(&l, "type", res->ev.type);
	ag_logline_str(&l, "action", ag_web_webhook_action(res->ev.action));
	/* A Clerk user id names the account; a Clerk session id is not logged. */
	if (res->ev.action == AG_WEBHOOK_END_USER)
		ag_logline_str(&l, "user", res->ev.target);
	ag_logline_int(&l, "sessions_ended", res->applied.sessions_ended);
	if (res->applied.families_revoked >= 0)
		ag_logline_int(&l, "families_revoked", res->applied.families_revoked);
	ag_log_emit(&w->log, res->ev.action == AG_WEBHOOK_IGNORE ? LOG_INFO : LOG_NOTICE, &l);
	return 0;
}
