/* The brute-force part of store.h: subjects (accounts, hosts), their
 * failures and locks.  Every decision comes from lib/policy.c; this file
 * loads a subject's state inside the transaction, asks, and writes what
 * the answer implies. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "store_int.h"
#include "util.h"

enum {
	S_SUBJ_GET, S_SUBJ_INS, S_SUBJ_SET, S_SUBJ_DEL, S_SUBJ_DEL_ID, S_SUBJ_PURGE,
	S_SUBJ_PAGE_LOCKED, S_SUBJ_PAGE_REST,
	S_FAIL_STATS, S_FAIL_PRUNE, S_FAIL_CLEAR, S_FAIL_INS, S_FAIL_SETTLE,
	S_FAIL_REFUND, S_FAIL_LAST_SOURCE, S_FAIL_COUNT_OTHER, S_FAIL_OLDEST_PENDING,
	S_COUNT
};

/* How many subjects a listing reads per statement: the list of a spray's
 * million names is walked in pages, never held in memory at once. */
#define LIST_PAGE 256

static const struct ag_sql sql[S_COUNT] = {
	/* PostgreSQL looks a subject up through its unique index
	 * (lib/store/pg/pg_schema.c: on md5(name), since a name can be too
	 * long for a B-tree): under SERIALIZABLE, two first failures of one
	 * new name then conflict there, and the loser is run again; looked
	 * up through any other index, it would get a unique violation,
	 * which cannot be retried, and its failure would be lost. */
	[S_SUBJ_GET] = { "SELECT id, locked_until FROM subject WHERE kind = ?1 AND name = ?2",
	                 "SELECT id, locked_until FROM subject"
	                 " WHERE kind = ?1 AND md5(name) = md5(?2::text) AND name = ?2" },
	[S_SUBJ_INS] = { "INSERT INTO subject (kind, name, locked_until, expires)"
	                 " VALUES (?1, ?2, 0, ?3) RETURNING id" },
	[S_SUBJ_SET] = { "UPDATE subject SET locked_until = ?2, expires = ?3 WHERE id = ?1" },
	[S_SUBJ_DEL] = { "DELETE FROM subject WHERE kind = ?1 AND name = ?2",
	                 "DELETE FROM subject"
	                 " WHERE kind = ?1 AND md5(name) = md5(?2::text) AND name = ?2" },
	[S_SUBJ_DEL_ID] = { "DELETE FROM subject WHERE id = ?1" },
	[S_SUBJ_PURGE] = { "DELETE FROM subject WHERE id IN "
	                   "(SELECT id FROM subject WHERE expires < ?1 ORDER BY expires LIMIT ?2)" },
	/* A listing shows the current locks first, then the others, each most
	 * recently active first: however many names a spray adds, a limited
	 * list still shows every lock.  Each is read a page at a time after
	 * the row (?2, ?3) last seen, along an index. */
	[S_SUBJ_PAGE_LOCKED] = { "SELECT id, kind, name, locked_until, expires FROM subject"
	                         " WHERE locked_until > 0 AND locked_until > ?1"
	                         " AND (expires, id) < (?2, ?3)"
	                         " ORDER BY expires DESC, id DESC LIMIT ?4" },
	[S_SUBJ_PAGE_REST] = { "SELECT id, kind, name, locked_until, expires FROM subject"
	                       " WHERE locked_until <= ?1 AND (expires, id) < (?2, ?3)"
	                       " ORDER BY expires DESC, id DESC LIMIT ?4" },
	[S_FAIL_STATS] = { "SELECT count(*), coalesce(sum(pending), 0), coalesce(max(at), 0),"
	                   " coalesce(max(CASE WHEN pending = 0 THEN at END), 0),"
	                   " coalesce(min(at), 0)"
	                   " FROM failure WHERE subject_id = ?1 AND at > ?2" },
	[S_FAIL_PRUNE] = { "DELETE FROM failure WHERE subject_id = ?1 AND at <= ?2" },
	[S_FAIL_CLEAR] = { "DELETE FROM failure WHERE subject_id = ?1" },
	[S_FAIL_INS] = { "INSERT INTO failure (subject_id, attempt, at, pending, source)"
	                 " VALUES (?1, ?2, ?3, ?4, ?5)" },
	[S_FAIL_SETTLE] = { "UPDATE failure SET pending = 0, at = ?3"
	                    " WHERE subject_id = ?1 AND attempt = ?2 AND pending = 1" },
	[S_FAIL_REFUND] = { "DELETE FROM failure WHERE subject_id = ?1 AND attempt = ?2"
	                    " AND pending = 1" },
	[S_FAIL_OLDEST_PENDING] = { "SELECT attempt FROM failure WHERE subject_id = ?1"
	                            " AND pending = 1 ORDER BY at, id LIMIT 1" },
	[S_FAIL_COUNT_OTHER] = { "SELECT count(*) FROM failure WHERE subject_id = ?1"
	                         " AND NOT (attempt = ?2 AND pending = 1)" },
	[S_FAIL_LAST_SOURCE] = { "SELECT source FROM failure WHERE subject_id = ?1"
	                         " ORDER BY at DESC, id DESC LIMIT 1" },
};

/* Opportunistic clean-up per write: bounded, so no single login pays for
 * a backlog, yet a spray of random names cannot outgrow it. */
#define PURGE_PER_WRITE 16

static struct ag_db_stmt *
stmt(struct ag_store *st, unsigned id, int *errp)
{
	return ag_st_stmt(st, AG_SLOT_ATTEMPTS + id, &sql[id], errp);
}

/* Runs statement id with one integer parameter (a subject id). */
static int
by_id(struct ag_store *st, unsigned id, int64_t subject_id, const char *what, int64_t *changes)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, id, &err);

	if (s != NULL)
		st->e->bind_int64(s, 1, subject_id);
	return ag_st_exec(st, s, err, what, changes);
}

/* Looks a subject up; with create, inserts it when missing.  *idp is 0
 * when it does not exist (and create is off). */
static int
subject_get(struct ag_store *st, const struct ag_subject_ref *ref, int create,
            int64_t expires, int64_t *idp, int64_t *locked_untilp)
{
	struct ag_db_stmt *s;
	int err = 0, r;

	*idp = 0;
	*locked_untilp = 0;
	if ((s = stmt(st, S_SUBJ_GET, &err)) != NULL) {
		st->e->bind_int64(s, 1, (int64_t)ref->kind);
		st->e->bind_text(s, 2, ref->name);
	}
	if ((r = ag_st_row(st, s, err, "read subject")) < 0)
		return r;
	if (r == 1) {
		*idp = st->e->col_int64(s, 0);
		*locked_untilp = st->e->col_int64(s, 1);
		st->e->reset(s);
		return 0;
	}
	if (!create)
		return 0;
	if ((s = stmt(st, S_SUBJ_INS, &err)) != NULL) {
		st->e->bind_int64(s, 1, (int64_t)ref->kind);
		st->e->bind_text(s, 2, ref->name);
		st->e->bind_int64(s, 3, expires);
	}
	if ((r = ag_st_row(st, s, err, "insert subject")) < 0)
		return r;
	if (r == 0)
		return ag_st_fail(st, AG_ERR_STORE, "insert subject");
	*idp = st->e->col_int64(s, 0);
	st->e->reset(s);
	return 0;
}

static int
subject_set(struct ag_store *st, int64_t id, int64_t locked_until, int64_t expires)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, S_SUBJ_SET, &err);

	if (s != NULL) {
		st->e->bind_int64(s, 1, id);
		st->e->bind_int64(s, 2, locked_until);
		st->e->bind_int64(s, 3, expires);
	}
	return ag_st_exec(st, s, err, "update subject", NULL);
}

static int
load_state(struct ag_store *st, int64_t id, int64_t locked_until, int64_t window,
           int64_t now, struct ag_subject_state *out)
{
	struct ag_db_stmt *s;
	int err = 0, r;

	memset(out, 0, sizeof(*out));
	out->locked_until = locked_until;
	if (id == 0)
		return 0;
	if ((s = stmt(st, S_FAIL_STATS, &err)) != NULL) {
		st->e->bind_int64(s, 1, id);
		st->e->bind_int64(s, 2, now - window);
	}
	if ((r = ag_st_row(st, s, err, "read failures")) < 0)
		return r;
	if (r == 0)
		return ag_st_fail(st, AG_ERR_STORE, "read failures");
	out->failures = st->e->col_int64(s, 0);
	out->pending = st->e->col_int64(s, 1);
	out->last_any = st->e->col_int64(s, 2);
	out->last_settled = st->e->col_int64(s, 3);
	out->oldest = st->e->col_int64(s, 4);
	st->e->reset(s);
	return 0;
}

/* Brings a subject up to date at now: a lock that has run out is lifted
 * together with the failures behind it; otherwise failures older than the
 * window are forgotten (kept while locked, for status). */
static int
refresh_subject(struct ag_store *st, const struct ag_subject_ref *ref, int64_t id,
                int64_t *locked_until, int64_t now)
{
	int err = 0, r;

	if (*locked_until != 0 && *locked_until <= now) {
		if ((r = by_id(st, S_FAIL_CLEAR, id, "clear failures", NULL)) != 0)
			return r;
		*locked_until = 0;
		return subject_set(st, id, 0, now);
	}
	if (*locked_until == 0) {
		struct ag_db_stmt *s = stmt(st, S_FAIL_PRUNE, &err);

		if (s != NULL) {
			st->e->bind_int64(s, 1, id);
			st->e->bind_int64(s, 2, now - ref->limits.window);
		}
		return ag_st_exec(st, s, err, "prune failures", NULL);
	}
	return 0;
}

int
ag_st_attempts_purge(struct ag_store *st, int64_t now, int64_t limit, int64_t *deleted)
{
	int err = 0, r;
	int64_t n = 0;
	struct ag_db_stmt *s = stmt(st, S_SUBJ_PURGE, &err);

	if (s != NULL) {
		st->e->bind_int64(s, 1, now);
		st->e->bind_int64(s, 2, ag_st_limit(limit));
	}
	r = ag_st_exec(st, s, err, "purge", &n);
	if (r == 0 && deleted != NULL)
		*deleted += n;
	return r;
}

static int
insert_failure(struct ag_store *st, int64_t id, int64_t attempt, int64_t now, int pending,
               const char *source)
{
	int err = 0;
	struct ag_db_stmt *s = stmt(st, S_FAIL_INS, &err);

	if (s != NULL) {
		st->e->bind_int64(s, 1, id);
		st->e->bind_int64(s, 2, attempt);
		st->e->bind_int64(s, 3, now);
		st->e->bind_int64(s, 4, pending);
		st->e->bind_text(s, 5, source);
	}
	return ag_st_exec(st, s, err, "record failure", NULL);
}

static int64_t
new_attempt_id(void)
{
	uint64_t v = 0;

	/* Only needs to be unique among a subject's in-flight attempts; random
	 * so a stale id handed back by a client cannot settle a newer one. */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)getpid() ^ ((uint64_t)time(NULL) << 20);
	v &= (UINT64_C(1) << 53) - 1; /* exact in JSON numbers */
	return v == 0 ? 1 : (int64_t)v;
}

/* Source label of a subject's failure: the other subject's name (an account
 * row records the host it came from, a host row the account tried). */
static const char *
source_for(const struct ag_subject_ref *subj, size_t n, size_t i)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (j != i && subj[j].kind != subj[i].kind)
			return subj[j].name;
	return NULL;
}

static int
check_refs(struct ag_store *st, const struct ag_subject_ref *subj, size_t n)
{
	size_t i;

	st->errmsg[0] = '\0';
	if (n == 0 || n > AG_MAX_SUBJECTS)
		return AG_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (!ag_store_bounded(subj[i].name, AG_NAME_MAX))
			return AG_ERR_INVAL;
	return 0;
}

/* The attempt to settle for a subject: the one given, or when the caller
 * did not keep it (attempt 0), the subject's oldest attempt in flight, so a
 * check followed by a failure counts once.  0 when there is none. */
static int
resolve_attempt(struct ag_store *st, int64_t id, int64_t attempt, int64_t *out)
{
	struct ag_db_stmt *s;
	int err = 0, r;

	*out = attempt;
	if (attempt != 0 || id == 0)
		return 0;
	if ((s = stmt(st, S_FAIL_OLDEST_PENDING, &err)) != NULL)
		st->e->bind_int64(s, 1, id);
	if ((r = ag_st_row(st, s, err, "read attempts")) < 0)
		return r;
	if (r == 1) {
		*out = st->e->col_int64(s, 0);
		st->e->reset(s);
	}
	return 0;
}

/* 1 when a refusal or a lock of subject ref must wait for the caller to
 * decide whether it is exempt (struct ag_subject_ref, exempt_unknown).
 * The store never looks anything up itself: an NSS lookup inside the
 * transaction would hold everyone's write lock for as long as the
 * directory takes to answer. */
static int
ask_exempt(const struct ag_subject_ref *ref)
{
	return ref->exempt_unknown && ref->limits.enforce;
}

/* ------------------------------------------------------------ operations */

struct reserve {
	const struct ag_subject_ref *subj;
	size_t n;
	int64_t now;
	int64_t attempt;
	struct ag_decision *dec;
};

static int
reserve_body(struct ag_store *st, void *ctx)
{
	struct reserve *a = ctx;
	int64_t ids[AG_MAX_SUBJECTS], locked[AG_MAX_SUBJECTS];
	struct ag_subject_state state;
	int allowed = 1, r;
	size_t i;

	a->attempt = 0;
	for (i = 0; i < a->n; i++) {
		const struct ag_subject_ref *ref = &a->subj[i];
		const struct ag_limits *lim = &ref->limits;
		int64_t was_locked;

		memset(&a->dec[i], 0, sizeof(a->dec[i]));
		if ((r = subject_get(st, ref, 1, a->now + lim->window, &ids[i], &locked[i])) != 0)
			return r;
		was_locked = locked[i];
		if ((r = refresh_subject(st, ref, ids[i], &locked[i], a->now)) != 0 ||
		    (r = load_state(st, ids[i], locked[i], lim->window, a->now, &state)) != 0)
			return r;
		ag_policy_decide(lim, &state, a->now, &a->dec[i]);
		if (a->dec[i].verdict != AG_ALLOW && ask_exempt(ref))
			return AG_STORE_DECIDE_EXEMPT;
		a->dec[i].lock_expired = was_locked != 0 && locked[i] == 0;
		if (a->dec[i].verdict != AG_ALLOW)
			allowed = 0;
	}
	if (allowed) {
		int64_t attempt = new_attempt_id();

		for (i = 0; i < a->n; i++) {
			const struct ag_limits *lim = &a->subj[i].limits;

			if ((r = insert_failure(st, ids[i], attempt, a->now, 1,
			                        source_for(a->subj, a->n, i))) != 0 ||
			    (r = subject_set(st, ids[i], locked[i],
			                     ag_policy_expiry(lim, a->now, locked[i]))) != 0)
				return r;
			a->dec[i].failures++;
		}
		a->attempt = attempt;
	}
	return ag_st_attempts_purge(st, a->now, PURGE_PER_WRITE, NULL);
}

int
ag_store_reserve_attempt(struct ag_store *st, const struct ag_subject_ref *subj, size_t n,
                         int64_t now, int64_t *attemptp, struct ag_decision dec[])
{
	struct reserve a = { .subj = subj, .n = n, .now = now, .dec = dec };
	int r;

	*attemptp = 0;
	if ((r = check_refs(st, subj, n)) != 0)
		return r;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, reserve_body, &a)) != 0)
		return r;
	*attemptp = a.attempt;
	return 0;
}

struct settle {
	const struct ag_subject_ref *subj;
	size_t n;
	int64_t attempt, now;
	struct ag_settled *out;
	struct ag_decision *dec;
	int released;
};

static int
settle_failure_body(struct ag_store *st, void *ctx)
{
	struct settle *a = ctx;
	struct ag_subject_state state;
	int64_t id, locked, lock, this_attempt, changed;
	struct ag_db_stmt *s;
	int err = 0, r;
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct ag_subject_ref *ref = &a->subj[i];
		const struct ag_limits *lim = &ref->limits;

		memset(&a->out[i], 0, sizeof(a->out[i]));
		if ((r = subject_get(st, ref, 1, a->now + lim->window, &id, &locked)) != 0 ||
		    (r = refresh_subject(st, ref, id, &locked, a->now)) != 0 ||
		    (r = resolve_attempt(st, id, a->attempt, &this_attempt)) != 0)
			return r;
		/* Settle the reservation; without one (or when it was lost),
		 * record the failure afresh: a failure is never dropped. */
		if ((s = stmt(st, S_FAIL_SETTLE, &err)) != NULL) {
			st->e->bind_int64(s, 1, id);
			st->e->bind_int64(s, 2, this_attempt);
			st->e->bind_int64(s, 3, a->now);
		}
		if ((r = ag_st_exec(st, s, err, "settle failure", &changed)) != 0)
			return r;
		if (this_attempt == 0 || changed == 0) {
			if ((r = insert_failure(st, id, this_attempt, a->now, 0,
			                        source_for(a->subj, a->n, i))) != 0)
				return r;
		}
		if ((r = load_state(st, id, locked, lim->window, a->now, &state)) != 0)
			return r;
		lock = ag_policy_lock_after_failure(lim, state.failures, a->now);
		if (lock > locked && ask_exempt(ref))
			return AG_STORE_DECIDE_EXEMPT;
		if (lock > locked) {
			a->out[i].newly_locked = locked <= a->now;
			locked = lock;
		}
		if ((r = subject_set(st, id, locked, ag_policy_expiry(lim, a->now, locked))) != 0)
			return r;
		a->out[i].failures = state.failures;
		a->out[i].locked_until = locked;
		a->out[i].delay = ag_policy_delay(lim, lim->delay_pending ? state.failures
		                                                   : state.failures - state.pending);
		if (!lim->enforce)
			a->out[i].delay = 0;
	}
	return ag_st_attempts_purge(st, a->now, PURGE_PER_WRITE, NULL);
}

int
ag_store_settle_failure(struct ag_store *st, const struct ag_subject_ref *subj, size_t n,
                        int64_t attempt, int64_t now, struct ag_settled out[])
{
	struct settle a = { .subj = subj, .n = n, .attempt = attempt, .now = now, .out = out };
	int r;

	if ((r = check_refs(st, subj, n)) != 0)
		return r;
	/* The failure has happened (the password was checked): giving up on
	 * a busy state would forget it, so wait longer than for an attempt,
	 * which a busy state only refuses. */
	return ag_txn(st, AG_WAIT_RECORD, settle_failure_body, &a);
}

static int
settle_success_body(struct ag_store *st, void *ctx)
{
	struct settle *a = ctx;
	int64_t ids[AG_MAX_SUBJECTS], locked[AG_MAX_SUBJECTS], this_attempt;
	struct ag_db_stmt *s;
	int still_ok = 1, err = 0, r;
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct ag_subject_ref *ref = &a->subj[i];

		memset(&a->dec[i], 0, sizeof(a->dec[i]));
		a->dec[i].verdict = AG_ALLOW;
		if ((r = subject_get(st, ref, 0, 0, &ids[i], &locked[i])) != 0)
			return r;
		if (ids[i] != 0 && ref->limits.enforce && locked[i] > a->now) {
			if (ask_exempt(ref))
				return AG_STORE_DECIDE_EXEMPT;
			/* Locked while this attempt was in flight: the lock wins. */
			a->dec[i].verdict = AG_REFUSE_LOCKED;
			a->dec[i].locked_until = locked[i];
			a->dec[i].retry_after = locked[i] == AG_FOREVER ? -1 : locked[i] - a->now;
			still_ok = 0;
		}
	}
	for (i = 0; i < a->n && still_ok; i++) {
		if (ids[i] == 0)
			continue;
		if ((r = resolve_attempt(st, ids[i], a->attempt, &this_attempt)) != 0)
			return r;
		if (a->subj[i].kind == AG_SUBJECT_ACCOUNT) {
			/* Report what is being reset (this attempt aside), then
			 * forget the account entirely: nothing is left to keep. */
			if ((s = stmt(st, S_FAIL_COUNT_OTHER, &err)) != NULL) {
				st->e->bind_int64(s, 1, ids[i]);
				st->e->bind_int64(s, 2, this_attempt);
			}
			if ((r = ag_st_row(st, s, err, "count failures")) < 0)
				return r;
			if (r == 1) {
				a->dec[i].failures = st->e->col_int64(s, 0);
				st->e->reset(s);
			}
			if ((r = by_id(st, S_SUBJ_DEL_ID, ids[i], "reset account", NULL)) != 0)
				return r;
		} else {
			if ((s = stmt(st, S_FAIL_REFUND, &err)) != NULL) {
				st->e->bind_int64(s, 1, ids[i]);
				st->e->bind_int64(s, 2, this_attempt);
			}
			if ((r = ag_st_exec(st, s, err, "settle host attempt", NULL)) != 0)
				return r;
		}
	}
	return 0;
}

int
ag_store_settle_success(struct ag_store *st, const struct ag_subject_ref *subj, size_t n,
                        int64_t attempt, int64_t now, struct ag_decision dec[])
{
	struct settle a = { .subj = subj, .n = n, .attempt = attempt, .now = now, .dec = dec };
	int r;

	if ((r = check_refs(st, subj, n)) != 0)
		return r;
	return ag_txn(st, AG_WAIT_NORMAL, settle_success_body, &a);
}

static int
release_body(struct ag_store *st, void *ctx)
{
	struct settle *a = ctx;
	int64_t id, locked, changed;
	struct ag_db_stmt *s;
	int err = 0, r;
	size_t i;

	a->released = 0;
	for (i = 0; i < a->n; i++) {
		if ((r = subject_get(st, &a->subj[i], 0, 0, &id, &locked)) != 0)
			return r;
		if (id == 0)
			continue;
		if ((s = stmt(st, S_FAIL_REFUND, &err)) != NULL) {
			st->e->bind_int64(s, 1, id);
			st->e->bind_int64(s, 2, a->attempt);
		}
		if ((r = ag_st_exec(st, s, err, "release attempt", &changed)) != 0)
			return r;
		if (changed > 0)
			a->released = 1;
	}
	return 0;
}

int
ag_store_release_attempt(struct ag_store *st, const struct ag_subject_ref *subj, size_t n,
                         int64_t attempt, int *released)
{
	struct settle a = { .subj = subj, .n = n, .attempt = attempt };
	int r;

	*released = 0;
	if ((r = check_refs(st, subj, n)) != 0)
		return r;
	/* Only the exact attempt: "the oldest in flight" could be another
	 * login's, and withdrawing that one would let more than deny
	 * attempts be in flight at once. */
	if (attempt == 0)
		return 0;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, release_body, &a)) != 0)
		return r;
	*released = a.released;
	return 0;
}

struct peek {
	const struct ag_subject_ref *subj;
	int64_t now;
	struct ag_decision *dec;
};

static int
peek_body(struct ag_store *st, void *ctx)
{
	struct peek *a = ctx;
	struct ag_subject_state state;
	int64_t id, locked;
	int r;

	if ((r = subject_get(st, a->subj, 0, 0, &id, &locked)) != 0)
		return r;
	if (locked != 0 && locked <= a->now)
		id = locked = 0; /* expired: the next write clears it and its failures */
	if ((r = load_state(st, id, locked, a->subj->limits.window, a->now, &state)) != 0)
		return r;
	ag_policy_decide(&a->subj->limits, &state, a->now, a->dec);
	return 0;
}

int
ag_store_peek(struct ag_store *st, const struct ag_subject_ref *subj, int64_t now,
              struct ag_decision *dec)
{
	struct peek a = { .subj = subj, .now = now, .dec = dec };
	int r;

	if ((r = check_refs(st, subj, 1)) != 0)
		return r;
	memset(dec, 0, sizeof(*dec));
	/* A read: one snapshot for the subject and its failures. */
	if ((r = ag_txn_read(st, peek_body, &a)) != 0)
		return r;
	return dec->verdict != AG_ALLOW && ask_exempt(subj) ? AG_STORE_DECIDE_EXEMPT : 0;
}

static int
fill_info(struct ag_store *st, int64_t id, enum ag_subject_kind kind, const char *name,
          int64_t locked, int64_t window, int64_t now, struct ag_subject_info *info)
{
	struct ag_db_stmt *s;
	const char *src;
	int err = 0, r;

	memset(info, 0, sizeof(*info));
	info->kind = kind;
	ag_strlcpy(info->name, name, sizeof(info->name));
	if (locked != 0 && locked <= now) {
		/* The lock ran out: its failures go with it at the next write. */
		info->state.locked_until = 0;
		return 0;
	}
	if ((r = load_state(st, id, locked, window, now, &info->state)) != 0)
		return r;
	if ((s = stmt(st, S_FAIL_LAST_SOURCE, &err)) != NULL)
		st->e->bind_int64(s, 1, id);
	if ((r = ag_st_row(st, s, err, "read failures")) < 0)
		return r;
	if (r == 1) {
		if ((src = st->e->col_text(s, 0)) != NULL)
			ag_strlcpy(info->last_source, src, sizeof(info->last_source));
		st->e->reset(s);
	}
	return 0;
}

struct info {
	enum ag_subject_kind kind;
	const char *name;
	int64_t window, now;
	struct ag_subject_info *info;
	/* listing */
	size_t limit;
	int (*fn)(void *ctx, const struct ag_subject_info *info);
	void *ctx;
	int64_t omitted;
};

static int
info_body(struct ag_store *st, void *ctx)
{
	struct info *a = ctx;
	struct ag_subject_ref ref = { .kind = a->kind, .name = a->name };
	int64_t id, locked;
	int r;

	if ((r = subject_get(st, &ref, 0, 0, &id, &locked)) != 0)
		return r;
	if (id == 0)
		return AG_ERR_NOTFOUND;
	return fill_info(st, id, a->kind, a->name, locked, a->window, a->now, a->info);
}

int
ag_store_subject_info(struct ag_store *st, enum ag_subject_kind kind, const char *name,
                      int64_t window, int64_t now, struct ag_subject_info *info)
{
	struct ag_subject_ref ref = { .kind = kind, .name = name };
	struct info a = { .kind = kind, .name = name, .window = window, .now = now, .info = info };
	int r;

	if ((r = check_refs(st, &ref, 1)) != 0)
		return r;
	return ag_txn_read(st, info_body, &a);
}

/* One row of a page of the listing, copied out before the next statement
 * runs (a statement's columns last only until its next use). */
struct page_row {
	int64_t id, kind, locked, expires;
	char *name;
};

static int
list_body(struct ag_store *st, void *ctx)
{
	static const unsigned phases[] = { S_SUBJ_PAGE_LOCKED, S_SUBJ_PAGE_REST };
	struct ag_subject_info *info = NULL;
	struct page_row *rows = NULL;
	struct info *a = ctx;
	int64_t after_expires, after_id;
	size_t shown = 0, n, i, phase;
	struct ag_db_stmt *s;
	int err = 0, r = 0, stop = 0;

	a->omitted = 0;
	if ((info = malloc(sizeof(*info))) == NULL ||
	    (rows = calloc(LIST_PAGE, sizeof(*rows))) == NULL) {
		free(info);
		return AG_ERR_NOMEM;
	}
	for (phase = 0; phase < AG_ARRAY_SIZE(phases) && !stop && r == 0; phase++) {
		after_expires = INT64_MAX;
		after_id = INT64_MAX;
		do {
			if ((s = stmt(st, phases[phase], &err)) != NULL) {
				st->e->bind_int64(s, 1, a->now);
				st->e->bind_int64(s, 2, after_expires);
				st->e->bind_int64(s, 3, after_id);
				st->e->bind_int64(s, 4, LIST_PAGE);
			}
			for (n = 0; n < LIST_PAGE; n++) {
				const char *name;

				if ((r = ag_st_row(st, s, err, "list subjects")) <= 0)
					break;
				rows[n].id = st->e->col_int64(s, 0);
				rows[n].kind = st->e->col_int64(s, 1);
				rows[n].locked = st->e->col_int64(s, 3);
				rows[n].expires = st->e->col_int64(s, 4);
				name = st->e->col_text(s, 2);
				if ((rows[n].name = strdup(name != NULL ? name : "")) == NULL) {
					r = AG_ERR_NOMEM;
					break;
				}
			}
			if (r > 0)
				st->e->reset(s);
			if (r < 0)
				break;
			r = 0;
			for (i = 0; i < n && r == 0 && !stop; i++) {
				after_expires = rows[i].expires;
				after_id = rows[i].id;
				if (rows[i].name[0] == '\0')
					continue;
				r = fill_info(st, rows[i].id, (enum ag_subject_kind)rows[i].kind,
				              rows[i].name, rows[i].locked, a->window, a->now, info);
				if (r != 0 ||
				    (info->state.failures == 0 && info->state.locked_until == 0))
					continue;
				/* Past the limit, only counted: the caller says how many. */
				if (a->limit > 0 && shown >= a->limit) {
					a->omitted++;
					continue;
				}
				shown++;
				if (a->fn(a->ctx, info) != 0)
					stop = 1;
			}
			for (i = 0; i < n; i++) {
				free(rows[i].name);
				rows[i].name = NULL;
			}
		} while (n == LIST_PAGE && r == 0 && !stop);
	}
	free(rows);
	free(info);
	return r;
}

int
ag_store_list_subjects(struct ag_store *st, int64_t window, int64_t now, size_t limit,
                       int (*fn)(void *ctx, const struct ag_subject_info *info), void *ctx,
                       int64_t *omittedp)
{
	struct info a = { .window = window, .now = now, .limit = limit, .fn = fn, .ctx = ctx };
	int r;

	*omittedp = 0;
	/* One snapshot: the list and the count of the rest agree. */
	if ((r = ag_txn_read(st, list_body, &a)) != 0)
		return r;
	*omittedp = a.omitted;
	return 0;
}

struct unlock {
	enum ag_subject_kind kind;
	const char *name;
	int found;
};

static int
unlock_body(struct ag_store *st, void *ctx)
{
	struct unlock *a = ctx;
	int64_t changed = 0;
	int err = 0, r;
	struct ag_db_stmt *s = stmt(st, S_SUBJ_DEL, &err);

	if (s != NULL) {
		st->e->bind_int64(s, 1, (int64_t)a->kind);
		st->e->bind_text(s, 2, a->name);
	}
	r = ag_st_exec(st, s, err, "unlock", &changed);
	a->found = changed > 0;
	return r;
}

int
ag_store_unlock(struct ag_store *st, enum ag_subject_kind kind, const char *name, int *found)
{
	struct unlock a = { .kind = kind, .name = name };
	int r;

	*found = 0;
	st->errmsg[0] = '\0';
	if (!ag_store_bounded(name, AG_NAME_MAX))
		return AG_ERR_INVAL;
	if ((r = ag_txn(st, AG_WAIT_NORMAL, unlock_body, &a)) != 0)
		return r;
	*found = a.found;
	return 0;
}
