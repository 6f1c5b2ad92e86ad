#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "guard.h"
#include "net.h"
#include "subject.h"
#include "util.h"

int
ag_guard_check_name(const char *name, const char **reasonp)
{
	if (name == NULL || name[0] == '\0') {
		*reasonp = "empty name";
		return AG_ERR_INVAL;
	}
	if (strnlen(name, AG_NAME_MAX + 1) > AG_NAME_MAX) {
		*reasonp = "name longer than 4096 bytes";
		return AG_ERR_TOOLONG;
	}
	return 0;
}

int
ag_guard_subject_key(const struct ag_config *cfg, const struct ag_guard_req *req,
                     char key[AG_NAME_MAX + 1], const char **reasonp)
{
	return ag_subject_key(cfg, req->system_account ? AG_REALM_LOGIN : AG_REALM_WEB, req->user,
	                      key, reasonp);
}

void
ag_guard_limits(const struct ag_config *cfg, enum ag_subject_kind kind, int exempt,
                struct ag_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->window = cfg->fail_window;
	lim->delay_base = cfg->delay_base;
	lim->delay_max = cfg->delay_max;
	lim->enforce = !exempt;
	if (kind == AG_SUBJECT_ACCOUNT) {
		lim->deny = cfg->deny;
		lim->lock_time = cfg->lock_time;
		lim->delay_pending = 1;
	} else {
		lim->deny = cfg->host_deny;
		lim->lock_time = cfg->host_lock_time;
		lim->delay_pending = 0;
	}
}

int
ag_guard_host_subject(const struct ag_config *cfg, const char *rhost, char *out,
                      size_t outsize)
{
	struct ag_cidr ip;
	int is_ip = 0;
	unsigned i;

	if (outsize == 0)
		return AG_ERR_INVAL;
	out[0] = '\0';
	if (rhost == NULL || rhost[0] == '\0' || cfg->host_deny == 0)
		return 0;
	if (ag_host_normalize(rhost, (unsigned)cfg->ipv6_prefix, out, outsize, &is_ip, &ip) != 0)
		return AG_ERR_INVAL;
	if (is_ip) {
		for (i = 0; i < cfg->n_host_allow; i++) {
			if (ag_cidr_contains(&cfg->host_allow[i], &ip)) {
				out[0] = '\0';
				break;
			}
		}
	}
	return 0;
}

int
ag_guard_account_exempt(const struct ag_config *cfg, const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (cfg->even_deny_root)
		return 0;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 0;
	return pw.pw_uid == 0;
}

static int
is_exempt(const struct ag_config *cfg, const struct ag_guard_req *req)
{
	return req->system_account && ag_guard_account_exempt(cfg, req->user);
}

struct subjects {
	struct ag_subject_ref ref[AG_MAX_SUBJECTS];
	size_t n;
	char host[AG_HOST_MAX];
	char key[AG_NAME_MAX + 1]; /* the account's key: req->user, or its fold */
	int exempt;
	const struct ag_config *cfg;
	const char *user;
};

/* The deferred root check.  An NSS lookup per attempt (systemd's userdb
 * probes a dozen paths for an unknown name) would double the module's
 * cost, and the answer only matters when an attempt is about to be
 * refused or to lock; so the store is called with the exemption open
 * (exempt_unknown) and says when it needs it (AG_STORE_DECIDE_EXEMPT),
 * having changed nothing.  The lookup then runs here, with no transaction
 * open -- never while the write lock on everyone's state is held, however
 * long the directory (LDAP, SSSD) takes -- and the store is called again
 * with the answer.  Returns 1 when the caller should call again. */
static int
decided_exempt(int r, struct subjects *s)
{
	if (r != AG_STORE_DECIDE_EXEMPT || !s->ref[0].exempt_unknown)
		return 0;
	s->exempt = ag_guard_account_exempt(s->cfg, s->user);
	s->ref[0].limits.enforce = !s->exempt;
	s->ref[0].exempt_unknown = 0;
	return 1;
}

/* A store result after decided_exempt(): the store cannot ask twice. */
static int
store_result(int r)
{
	return r > 0 ? AG_ERR_STORE : r;
}

static int
build(struct ag_guard *g, const struct ag_guard_req *req, int with_host, struct subjects *s)
{
	const char *reason;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = ag_guard_subject_key(g->cfg, req, s->key, &reason)) != 0)
		return r;
	s->cfg = g->cfg;
	s->user = req->user;
	s->ref[0].kind = AG_SUBJECT_ACCOUNT;
	s->ref[0].name = s->key;
	/* "root" itself is looked up at once (its failures are logged as
	 * exempt); any other login name only if it is about to be refused. */
	if (req->system_account && strcmp(req->user, "root") == 0)
		s->exempt = is_exempt(g->cfg, req);
	ag_guard_limits(g->cfg, AG_SUBJECT_ACCOUNT, s->exempt, &s->ref[0].limits);
	if (req->system_account && !s->exempt && !g->cfg->even_deny_root)
		s->ref[0].exempt_unknown = 1;
	s->n = 1;
	if (!with_host)
		return 0;
	if ((r = ag_guard_host_subject(g->cfg, req->rhost, s->host, sizeof(s->host))) != 0)
		return r;
	if (s->host[0] != '\0') {
		s->ref[1].kind = AG_SUBJECT_HOST;
		s->ref[1].name = s->host;
		ag_guard_limits(g->cfg, AG_SUBJECT_HOST, 0, &s->ref[1].limits);
		s->n = 2;
	}
	return 0;
}

static void
line_subject(struct ag_logline *l, const struct ag_guard_req *req, const struct subjects *s)
{
	/* The name as given, and the key it is counted under when folding
	 * changed it. */
	ag_logline_str(l, "user", req->user);
	if (strcmp(s->key, req->user) != 0)
		ag_logline_str(l, "subject", s->key);
	if (req->rhost != NULL && req->rhost[0] != '\0')
		ag_logline_str(l, "rhost", req->rhost);
	/* A raw host subject is already escaped ("raw:a\x0ab"): as is, or
	 * its backslashes would be escaped a second time. */
	if (s->host[0] != '\0' && (req->rhost == NULL || strcmp(s->host, req->rhost) != 0))
		ag_logline_escaped(l, "host", s->host);
	ag_logline_str(l, "service", req->service);
}

static const char *
scope_name(enum ag_subject_kind k)
{
	return k == AG_SUBJECT_HOST ? "host" : "account";
}

static void
init_result(struct ag_guard_result *res, const struct subjects *s)
{
	memset(res, 0, sizeof(*res));
	res->verdict = AG_ALLOW;
	res->exempt = s->exempt;
}

/* How strongly a verdict refuses: a lock outranks attempts in flight
 * (which may or may not end in a lock), which outrank a delay. */
static int
refusal_rank(enum ag_verdict v)
{
	switch (v) {
	case AG_REFUSE_LOCKED: return 3;
	case AG_REFUSE_BUSY: return 2;
	case AG_REFUSE_EARLY: return 1;
	case AG_ALLOW: break;
	}
	return 0;
}

/* Copies the strongest refusing decision into res (the first of equals). */
static void
take_refusal(struct ag_guard_result *res, const struct subjects *s,
             const struct ag_decision dec[])
{
	size_t i;

	res->allowed = 1;
	for (i = 0; i < s->n; i++) {
		if (s->ref[i].kind == AG_SUBJECT_ACCOUNT)
			res->failures = dec[i].failures;
		else
			res->host_failures = dec[i].failures;
	}
	for (i = 0; i < s->n; i++) {
		if (dec[i].verdict == AG_ALLOW)
			continue;
		/* whichever subject has it */
		if (res->allowed || refusal_rank(dec[i].verdict) > refusal_rank(res->verdict)) {
			res->allowed = 0;
			res->verdict = dec[i].verdict;
			res->refused_by = s->ref[i].kind;
			res->retry_after = dec[i].retry_after;
			res->locked_until = dec[i].locked_until;
		}
	}
}

/* The reason= of a refusal in the log. */
static const char *
reason_name(enum ag_verdict v)
{
	switch (v) {
	case AG_REFUSE_LOCKED: return "locked";
	case AG_REFUSE_EARLY: return "delay";
	case AG_REFUSE_BUSY: return "busy";
	case AG_ALLOW: break;
	}
	return "allowed";
}

static void
log_refusal(struct ag_guard *g, const char *event, const struct ag_guard_req *req,
            const struct subjects *s, const struct ag_guard_result *res)
{
	struct ag_logline l;

	ag_logline_init(&l, event);
	line_subject(&l, req, s);
	ag_logline_str(&l, "reason", reason_name(res->verdict));
	ag_logline_str(&l, "scope", scope_name(res->refused_by));
	ag_logline_int(&l, "failures", res->refused_by == AG_SUBJECT_HOST ? res->host_failures
	                                                                  : res->failures);
	ag_logline_int(&l, "retry_after", res->retry_after);
	ag_log_emit(&g->log, LOG_NOTICE, &l);
}

int
ag_guard_begin(struct ag_guard *g, const struct ag_guard_req *req, struct ag_guard_result *res)
{
	struct ag_decision dec[AG_MAX_SUBJECTS];
	struct subjects s;
	int64_t now;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = build(g, req, 1, &s)) != 0)
		return r;
	init_result(res, &s);
	now = ag_clock_now();
	do
		r = ag_store_reserve_attempt(g->store, s.ref, s.n, now, &res->attempt, dec);
	while (decided_exempt(r, &s));
	if (r != 0)
		return store_result(r);
	res->exempt = s.exempt;
	for (size_t i = 0; i < s.n; i++) {
		struct ag_logline l;

		if (!dec[i].lock_expired)
			continue;
		ag_logline_init(&l, "unlock");
		ag_logline_str(&l, "scope", scope_name(s.ref[i].kind));
		line_subject(&l, req, &s);
		ag_logline_str(&l, "reason", "expired");
		ag_log_emit(&g->log, LOG_INFO, &l);
	}
	take_refusal(res, &s, dec);
	if (!res->allowed) {
		log_refusal(g, "auth_refused", req, &s, res);
	} else if (g->log.debug) {
		struct ag_logline l;

		ag_logline_init(&l, "attempt");
		line_subject(&l, req, &s);
		ag_logline_int(&l, "failures", res->failures);
		ag_log_emit(&g->log, LOG_DEBUG, &l);
	}
	return 0;
}

int
ag_guard_fail(struct ag_guard *g, const struct ag_guard_req *req, int64_t attempt,
              struct ag_guard_result *res)
{
	struct ag_settled out[AG_MAX_SUBJECTS];
	struct ag_logline l;
	struct subjects s;
	int64_t now;
	size_t i;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = build(g, req, 1, &s)) != 0)
		return r;
	init_result(res, &s);
	now = ag_clock_now();
	do
		r = ag_store_settle_failure(g->store, s.ref, s.n, attempt, now, out);
	while (decided_exempt(r, &s));
	if (r != 0)
		return store_result(r);
	res->exempt = s.exempt;
	for (i = 0; i < s.n; i++) {
		if (s.ref[i].kind == AG_SUBJECT_ACCOUNT) {
			res->failures = out[i].failures;
			res->locked_until = out[i].locked_until;
		} else {
			res->host_failures = out[i].failures;
			if (res->locked_until == 0)
				res->locked_until = out[i].locked_until;
		}
		if (out[i].delay > res->delay)
			res->delay = out[i].delay;
	}
	res->verdict = res->locked_until != 0 ? AG_REFUSE_LOCKED : AG_ALLOW;

	ag_logline_init(&l, "auth_fail");
	line_subject(&l, req, &s);
	ag_logline_int(&l, "failures", res->failures);
	if (s.n > 1)
		ag_logline_int(&l, "host_failures", res->host_failures);
	ag_logline_int(&l, "delay", res->delay);
	if (s.exempt)
		ag_logline_str(&l, "exempt", "root");
	ag_log_emit(&g->log, LOG_NOTICE, &l);

	for (i = 0; i < s.n; i++) {
		if (!out[i].newly_locked)
			continue;
		res->newly_locked = 1;
		res->refused_by = s.ref[i].kind;
		ag_logline_init(&l, "lock");
		ag_logline_str(&l, "scope", scope_name(s.ref[i].kind));
		line_subject(&l, req, &s);
		ag_logline_int(&l, "failures", out[i].failures);
		ag_logline_int(&l, "until", out[i].locked_until == AG_FOREVER ? -1
		                                                               : out[i].locked_until);
		ag_log_emit(&g->log, LOG_WARNING, &l);
	}
	return 0;
}

int
ag_guard_succeed(struct ag_guard *g, const struct ag_guard_req *req, int64_t attempt,
                 struct ag_guard_result *res)
{
	struct ag_decision dec[AG_MAX_SUBJECTS];
	struct ag_logline l;
	struct subjects s;
	int64_t now;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = build(g, req, 1, &s)) != 0)
		return r;
	init_result(res, &s);
	now = ag_clock_now();
	do
		r = ag_store_settle_success(g->store, s.ref, s.n, attempt, now, dec);
	while (decided_exempt(r, &s));
	if (r != 0)
		return store_result(r);
	res->exempt = s.exempt;
	take_refusal(res, &s, dec);
	if (!res->allowed) {
		log_refusal(g, "auth_refused", req, &s, res);
		return 0;
	}
	if (res->failures > 0) {
		ag_logline_init(&l, "success_reset");
		line_subject(&l, req, &s);
		ag_logline_int(&l, "failures", res->failures);
		ag_log_emit(&g->log, LOG_INFO, &l);
	}
	return 0;
}

int
ag_guard_release(struct ag_guard *g, const struct ag_guard_req *req, int64_t attempt,
                 const char *reason, int *releasedp)
{
	struct ag_logline l;
	struct subjects s;
	int released = 0, r;

	if (releasedp != NULL)
		*releasedp = 0;
	if ((r = build(g, req, 1, &s)) != 0)
		return r;
	if ((r = ag_store_release_attempt(g->store, s.ref, s.n, attempt, &released)) != 0)
		return r;
	ag_logline_init(&l, "attempt_released");
	line_subject(&l, req, &s);
	ag_logline_str(&l, "reason", reason);
	ag_logline_int(&l, "found", released);
	ag_log_emit(&g->log, LOG_NOTICE, &l);
	if (releasedp != NULL)
		*releasedp = released;
	return 0;
}

int
ag_guard_account_check(struct ag_guard *g, const struct ag_guard_req *req,
                       struct ag_guard_result *res)
{
	struct ag_decision dec;
	struct subjects s;
	int64_t now;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = build(g, req, 0, &s)) != 0)
		return r;
	init_result(res, &s);
	now = ag_clock_now();
	do
		r = ag_store_peek(g->store, &s.ref[0], now, &dec);
	while (decided_exempt(r, &s));
	if (r != 0)
		return store_result(r);
	res->exempt = s.exempt;
	res->failures = dec.failures;
	res->allowed = 1;
	/* Only a lock refuses here; a pending delay concerns the next
	 * password attempt, not a login already authenticated. */
	if (dec.verdict == AG_REFUSE_LOCKED) {
		res->allowed = 0;
		res->verdict = dec.verdict;
		res->refused_by = AG_SUBJECT_ACCOUNT;
		res->retry_after = dec.retry_after;
		res->locked_until = dec.locked_until;
		log_refusal(g, "account_refused", req, &s, res);
	}
	return 0;
}

/* ------------------------------------------------------------- fallback */

int
ag_guard_may_fall_back(const struct ag_config *cfg, int err)
{
	return cfg->store == AG_STORE_POSTGRESQL && cfg->store_fallback == AG_FALLBACK_LOCAL &&
	       (err == AG_ERR_UNAVAILABLE || err == AG_ERR_BUSY);
}

/* The marker beside the local state that says "an outage is on": whoever
 * creates it logs the switch, whoever removes it logs the return, once
 * each however many processes run. */
static void
marker_path(const struct ag_config *cfg, char *out, size_t size)
{
	snprintf(out, size, "%s.fallback", cfg->state_file);
}

static void
log_switch(struct ag_guard *g, int priority, const char *state, const char *why)
{
	struct ag_logline l;

	ag_logline_init(&l, "store_fallback");
	ag_logline_str(&l, "state", state);
	ag_logline_str(&l, "store", "postgresql");
	if (why != NULL)
		ag_logline_str(&l, "reason", why);
	ag_log_emit(&g->log, priority, &l);
}

int
ag_guard_fall_back(struct ag_guard *g, int err, const char *why, struct ag_store **storep,
                   char errbuf[AG_ERRBUF])
{
	struct ag_config local = *g->cfg;
	char marker[PATH_MAX + 16];
	int fd, r;

	*storep = NULL;
	if (!ag_guard_may_fall_back(g->cfg, err))
		return err;
	local.store = AG_STORE_SQLITE;
	local.store_fallback = AG_FALLBACK_NONE;
	if ((r = ag_store_open(&local, 0, storep, errbuf)) != 0)
		return r;
	marker_path(g->cfg, marker, sizeof(marker));
	fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		log_switch(g, LOG_CRIT, "on", why);
	} else {
		log_switch(g, LOG_WARNING, "on", why);
	}
	return 0;
}

int
ag_guard_open_store(struct ag_guard *g, struct ag_store **storep, int *fell_back,
                    char err[AG_ERRBUF])
{
	char marker[PATH_MAX + 16], why[AG_ERRBUF];
	int r;

	*fell_back = 0;
	r = ag_store_open(g->cfg, 0, storep, err);
	if (g->cfg->store_fallback != AG_FALLBACK_LOCAL || g->cfg->store != AG_STORE_POSTGRESQL)
		return r;
	marker_path(g->cfg, marker, sizeof(marker));
	if (r == 0) {
		/* Back: the one process that removes the marker says so. */
		if (unlink(marker) == 0)
			log_switch(g, LOG_CRIT, "off", NULL);
		return 0;
	}
	if (!ag_guard_may_fall_back(g->cfg, r))
		return r;
	snprintf(why, sizeof(why), "%s", err);
	if ((r = ag_guard_fall_back(g, r, why, storep, err)) != 0)
		return r;
	*fell_back = 1;
	return 0;
}
