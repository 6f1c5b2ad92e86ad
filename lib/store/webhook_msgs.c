/* The webhook part of store.h: ids of processed messages, recorded in the
 * same transaction as the event they carried is applied, so a replay is
 * refused and a crash can neither record an event it did not apply nor
 * apply one it did not record. */
#include "autoconf.h"

#include "error.h"
#include "store_int.h"

enum { H_INSERT, H_PURGE, H_COUNT };

static const struct ag_sql sql[H_COUNT] = {
	[H_INSERT] = { "INSERT INTO webhook_msg (id, expires) VALUES (?1, ?2)"
	               " ON CONFLICT (id) DO NOTHING" },
	[H_PURGE] = { "DELETE FROM webhook_msg WHERE id IN"
	              " (SELECT id FROM webhook_msg WHERE expires < ?1 LIMIT ?2)" },
};

#define MSG_ID_MAX 256

static struct ag_db_stmt *
stmt(struct ag_store *st, unsigned id, int *errp)
{
	return ag_st_stmt(st, AG_SLOT_WEBHOOK + id, &sql[id], errp);
}

struct apply {
	const char *msg_id, *end_user_key, *end_clerk_sid;
	int64_t now, expires, sessions, families;
	ag_sid_of_hash_fn sid_of_hash;
	int first;
};

static int
apply_body(struct ag_store *st, void *ctx)
{
	struct apply *a = ctx;
	int64_t inserted = 0;
	int err = 0, r;
	struct ag_db_stmt *s = stmt(st, H_INSERT, &err);

	a->first = 0;
	a->sessions = a->families = 0;
	if (s != NULL) {
		st->e->bind_text(s, 1, a->msg_id);
		st->e->bind_int64(s, 2, a->expires);
	}
	if ((r = ag_st_exec(st, s, err, "record webhook message", &inserted)) != 0)
		return r;
	a->first = inserted == 1;
	if (a->first && a->end_user_key != NULL) {
		int64_t fams = 0;

		/* A user's families first (all of them, counted), then the
		 * sessions (their families are revoked already). */
		if ((r = ag_st_refresh_revoke_user(st, a->end_user_key, &a->families)) != 0 ||
		    (r = ag_st_web_end(st, NULL, a->end_user_key, NULL, a->sid_of_hash, &a->sessions,
		                       &fams)) != 0)
			return r;
	}
	if (a->first && a->end_clerk_sid != NULL) {
		int64_t fams = 0;

		/* Only the families tied to the sessions ended. */
		if ((r = ag_st_web_end(st, NULL, NULL, a->end_clerk_sid, a->sid_of_hash,
		                       &a->sessions, &fams)) != 0)
			return r;
	}
	return ag_st_webhook_purge(st, a->now, 16, NULL);
}

int
ag_store_webhook_apply(struct ag_store *st, const char *msg_id, int64_t now, int64_t expires,
                       const char *end_user_key, const char *end_clerk_sid,
                       ag_sid_of_hash_fn sid_of_hash, int *first, int64_t *sessions_ended,
                       int64_t *families)
{
	struct apply a = { .msg_id = msg_id, .end_user_key = end_user_key,
		           .end_clerk_sid = end_clerk_sid, .now = now, .expires = expires,
		           .sid_of_hash = sid_of_hash };
	int r;

	*first = 0;
	*sessions_ended = *families = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(msg_id, MSG_ID_MAX) || (end_user_key != NULL && end_clerk_sid != NULL) ||
	    (end_user_key != NULL && !ag_store_bounded(end_user_key, AG_NAME_MAX)) ||
	    (end_clerk_sid != NULL && !ag_store_bounded(end_clerk_sid, AG_SID_MAX)))
		return AG_ERR_INVAL;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, apply_body, &a)) != 0)
		return r;
	*first = a.first;
	*sessions_ended = a.sessions;
	*families = a.families;
	return 0;
}

int
ag_st_webhook_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	int64_t n = 0;
	int err = 0, r;
	struct ag_db_stmt *s = stmt(st, H_PURGE, &err);

	if (s != NULL) {
		st->e->bind_int64(s, 1, now);
		st->e->bind_int64(s, 2, ag_st_limit(limit));
	}
	if ((r = ag_st_exec(st, s, err, "purge webhook messages", &n)) == 0 && deleted != NULL)
		*deleted += n;
	return r;
}
