/* The access-token denylist of store.h: jti values revoked before their
 * token expires, kept until then (the token is refused anyway after). */
#include "autoconf.h"

#include "error.h"
#include "store_int.h"

enum { J_REVOKE, J_CHECK, J_PURGE, J_COUNT };

static const struct ag_sql sql[J_COUNT] = {
	[J_REVOKE] = { "INSERT INTO revoked_jti (jti, expires) VALUES (?1, ?2)"
	               " ON CONFLICT (jti) DO UPDATE SET expires = max(expires, excluded.expires)",
	               "INSERT INTO revoked_jti (jti, expires) VALUES (?1, ?2)"
	               " ON CONFLICT (jti) DO UPDATE"
	               " SET expires = greatest(revoked_jti.expires, excluded.expires)" },
	[J_CHECK] = { "SELECT 1 FROM revoked_jti WHERE jti = ?1 AND expires >= ?2" },
	[J_PURGE] = { "DELETE FROM revoked_jti WHERE jti IN"
	              " (SELECT jti FROM revoked_jti WHERE expires < ?1 LIMIT ?2)" },
};

#define JTI_MAX 256

static struct ag_db_stmt *
stmt(struct ag_store *st, unsigned id, int *errp)
{
	return ag_st_stmt(st, AG_SLOT_REVOKED + id, &sql[id], errp);
}

struct revoke {
	const char *jti;
	int64_t now, expires;
};

static int
revoke_body(struct ag_store *st, void *ctx)
{
	struct revoke *a = ctx;
	int err = 0, r;
	struct ag_db_stmt *s = stmt(st, J_REVOKE, &err);

	if (s != NULL) {
		st->e->bind_text(s, 1, a->jti);
		st->e->bind_int64(s, 2, a->expires);
	}
	if ((r = ag_st_exec(st, s, err, "revoke token", NULL)) != 0)
		return r;
	return ag_st_revoked_purge(st, a->now, 16, NULL);
}

int
ag_store_jti_revoke(struct ag_store *st, const char *jti, int64_t now, int64_t expires)
{
	struct revoke a = { .jti = jti, .now = now, .expires = expires };

	st->errmsg[0] = '\0';
	if (!ag_store_bounded(jti, JTI_MAX))
		return AG_ERR_INVAL;
	return ag_txn(st, AG_WAIT_NORMAL, revoke_body, &a);
}

int
ag_store_jti_is_revoked(struct ag_store *st, const char *jti, int64_t now, int *revoked)
{
	struct ag_db_stmt *s;
	int err = 0, r;

	*revoked = 1; /* until proven otherwise */
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(jti, JTI_MAX))
		return AG_ERR_INVAL;
	if ((s = stmt(st, J_CHECK, &err)) != NULL) {
		st->e->bind_text(s, 1, jti);
		st->e->bind_int64(s, 2, now);
	}
	if ((r = ag_st_row(st, s, err, "read revocations")) < 0)
		return r;
	if (r == 1) {
		st->e->reset(s);
		return 0;
	}
	*revoked = 0;
	return 0;
}

int
ag_st_revoked_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	int64_t n = 0;
	int err = 0, r;
	struct ag_db_stmt *s = stmt(st, J_PURGE, &err);

	if (s != NULL) {
		st->e->bind_int64(s, 1, now);
		st->e->bind_int64(s, 2, ag_st_limit(limit));
	}
	if ((r = ag_st_exec(st, s, err, "purge revocations", &n)) == 0 && deleted != NULL)
		*deleted += n;
	return r;
}
