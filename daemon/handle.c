/* One worker of authguardd: what it keeps between requests (its store
 * connection, the token keys, the configuration of its generation) and
 * how it answers one request line: parse, find the op, ask
 * lib/peer_policy whether this caller may, then hand the request to the
 * web protocol (lib/web/proto.h) or the PAM protocol
 * (lib/authsvc_proto.h), both of which apply the daemon's own
 * configuration. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "authsvc.h"
#include "authsvc_proto.h"
#include "clock.h"
#include "daemon.h"
#include "error.h"
#include "json_out.h"
#include "util.h"
#include "web/proto.h"
#include "web/web.h"

extern const struct ag_authsvc_ops ag_authsvc_direct_ops;

struct agd_worker {
	struct agd_server *s;
	size_t index;
	struct ag_config cfg;    /* this worker's copy of the current generation */
	struct ag_web web;       /* the web operations' state and keys */
	struct ag_authsvc *pam;  /* the PAM operations' state (opened on first use) */
	gid_t web_gid;           /* (gid_t)-1: no web group */
};

static void
log_sink(void *ctx, int priority, const char *line)
{
	(void)ctx;
	syslog(priority, "%s", line);
}

static const struct ag_log worker_log = { .sink = log_sink, .ctx = NULL, .debug = 0 };

static void
resolve_web_group(struct agd_worker *w)
{
	struct group gr, *res = NULL;
	char buf[4096];

	w->web_gid = (gid_t)-1;
	if (w->cfg.daemon_web_group[0] != '\0' &&
	    getgrnam_r(w->cfg.daemon_web_group, &gr, buf, sizeof(buf), &res) == 0 && res != NULL)
		w->web_gid = gr.gr_gid;
}

/* Takes the current configuration (start, and after SIGHUP): the store is
 * opened again and the keys loaded again at the next request. */
void
agd_worker_reload(struct agd_worker *w)
{
	pthread_mutex_lock(&w->s->lock);
	w->cfg = w->s->cfg;
	pthread_mutex_unlock(&w->s->lock);
	ag_web_close(&w->web);
	ag_web_init(&w->web, &w->cfg, &worker_log);
	ag_authsvc_direct_ops.close(w->pam);
	w->pam = NULL;
	resolve_web_group(w);
}

#ifdef AG_TEST_CLOCK
static int caller_clock(int64_t *now);
#endif

struct agd_worker *
agd_worker_new(struct agd_server *s, size_t index)
{
	struct agd_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
#ifdef AG_TEST_CLOCK
	/* The first worker is made before any worker thread runs. */
	if (index == 0)
		ag_clock_set_test_hook(caller_clock);
#endif
	w->s = s;
	w->index = index;
	w->cfg = s->cfg;
	ag_web_init(&w->web, &w->cfg, &worker_log);
	resolve_web_group(w);
	return w;
}

void
agd_worker_free(struct agd_worker *w)
{
	if (w == NULL)
		return;
	ag_web_close(&w->web);
	ag_authsvc_direct_ops.close(w->pam);
	free(w);
}

static json_t *
error_answer(int status, const char *kind, const char *msg)
{
	return json_pack("{s:s, s:s, s:i}", "error", kind, "message", msg, "status", status);
}

/* The PAM state of this worker for a request that may (or may not) count
 * on the local state during an outage of a shared store. */
static struct ag_authsvc *
pam_service(struct agd_worker *w, int may_fall_back, char err[AG_ERRBUF])
{
	const struct ag_authsvc_ops *ops = &ag_authsvc_direct_ops;

	if (w->pam != NULL && ops->reuse(w->pam, &w->cfg, &worker_log, may_fall_back))
		return w->pam;
	ops->close(w->pam);
	w->pam = NULL;
	if (ops->open(&w->cfg, &worker_log, may_fall_back, &w->pam, err) != 0)
		return NULL;
	return w->pam;
}

static json_t *
daemon_status(struct agd_worker *w)
{
	struct agd_server *s = w->s;
	json_t *o;

	pthread_mutex_lock(&s->lock);
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:i}", "started",
	              (json_int_t)s->started, "uptime", (json_int_t)(ag_clock_now() - s->started),
	              "connections", (json_int_t)s->nclients, "max_clients",
	              (json_int_t)s->max_clients, "workers", (json_int_t)s->nworkers, "queued",
	              (json_int_t)s->queued, "working", (json_int_t)s->working, "served",
	              (json_int_t)s->served, "errors", (json_int_t)s->errors, "refused", (json_int_t)s->refused, "waited_for_slot",
	              (json_int_t)s->rejected_clients, "store",
	              w->cfg.store == AG_STORE_POSTGRESQL ? "postgresql" : "sqlite", "status", 0);
	pthread_mutex_unlock(&s->lock);
	return o;
}

/* The answer object (with status) to a parsed request, or NULL when out
 * of memory. */
static json_t *
answer(struct agd_worker *w, const struct ag_peer *peer_in, json_t *req)
{
	struct ag_peer peer = *peer_in;
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *why = NULL, *user = NULL;
	enum ag_op_class cls;
	char err[AG_ERRBUF];
	json_t *out;

	if (op == NULL)
		return error_answer(2, "usage", "no op");
	if (ag_authsvc_proto_is_pam(op)) {
		cls = AG_OP_PAM;
		user = ag_authsvc_proto_user(req);
		agd_peer_name(&peer);
	} else if (strcmp(op, "daemon_status") == 0) {
		cls = AG_OP_ADMIN;
	} else if (ag_web_op_find(op) != NULL) {
		cls = AG_OP_WEB;
	} else {
		return error_answer(2, "usage", "unknown op");
	}
	if (ag_peer_allowed(&peer, cls, user, w->web_gid, &why) != 0) {
		syslog(LOG_WARNING, "event=daemon_forbidden op=%s uid=%lu pid=%ld reason=%s", op,
		       (unsigned long)peer.uid, (long)peer.pid, why);
		return error_answer(2, "forbidden", why);
	}
	switch (cls) {
	case AG_OP_WEB: {
		struct ag_web_reply rep;
		json_t *cli = json_object_get(req, "cli");
		int for_cli = 0;

		/* "cli": true -- a command-line helper asks for what it prints
		 * without the daemon: the line for people and whether the
		 * answer goes to stdout (the batch protocol has neither). */
		if (cli != NULL) {
			if (!json_is_true(cli))
				return error_answer(2, "usage", "cli must be true");
			for_cli = 1;
			json_object_del(req, "cli");
		}
		ag_web_dispatch(&w->web, req, &rep);
		out = rep.answer;
		rep.answer = NULL;
		if (out != NULL && json_object_set_new(out, "status", json_integer(rep.status)) != 0) {
			json_decref(out);
			out = NULL;
		}
		if (out != NULL && for_cli &&
		    ((rep.note[0] != '\0' &&
		      json_object_set_new(out, "note", json_string(rep.note)) != 0) ||
		     (rep.quiet && json_object_set_new(out, "quiet", json_true()) != 0))) {
			json_decref(out);
			out = NULL;
		}
		if (out == NULL)
			out = error_answer(3, "internal", "out of memory");
		ag_web_reply_clear(&rep);
		return out;
	}
	case AG_OP_PAM: {
		/* Counting and locking may go on on the local state while a
		 * shared store is down; the code check and sessions may not. */
		int may = strcmp(op, "pam_begin") == 0 || strcmp(op, "pam_fail") == 0 ||
		          strcmp(op, "pam_succeed") == 0 || strcmp(op, "pam_release") == 0 ||
		          strcmp(op, "pam_account") == 0;
		struct ag_authsvc *svc = pam_service(w, may, err);

		if (svc == NULL)
			return error_answer(3, "state", err);
		out = ag_authsvc_proto_serve(&ag_authsvc_direct_ops, svc, &w->cfg, req,
		                             peer.uid == 0, peer.pid);
		if (out != NULL && json_integer_value(json_object_get(out, "status")) == 3) {
			int switched = 0;

			/* The store went away under this request: once more on
			 * the local state, when the configuration allows. */
			if (may && ag_authsvc_direct_ops.fall_back(svc, AG_ERR_UNAVAILABLE, &switched,
			                                           err) == 0 && switched) {
				json_decref(out);
				out = ag_authsvc_proto_serve(&ag_authsvc_direct_ops, svc, &w->cfg, req,
				                             peer.uid == 0, peer.pid);
			}
		}
		return out;
	}
	case AG_OP_ADMIN:
		return daemon_status(w);
	}
	return error_answer(3, "internal", "unknown class");
}

#ifdef AG_TEST_CLOCK
/* The clock of the request this worker thread is running (peer_clock),
 * which ag_clock_now() asks first (caller_clock). */
static __thread int have_caller_now;
static __thread int64_t caller_now;

static int
caller_clock(int64_t *now)
{
	if (have_caller_now)
		*now = caller_now;
	return have_caller_now;
}

static void
caller_clock_set(int on, int64_t now)
{
	have_caller_now = on;
	caller_now = now;
}

/* Test builds only, and only when the daemon was started with
 * AUTHGUARD_TEST_PEER_CLOCK=1 (tests/pam/lib.sh's daemon mode): a request
 * runs at its caller's test clock, the AUTHGUARD_TEST_TIME its process
 * was started with (/proc/PID/environ), or at the daemon's own clock when
 * it has none (the real one, unless the daemon has AUTHGUARD_TEST_TIME):
 * the time the caller would have used without the daemon.  The
 * test suites move that clock between two calls; one daemon serves them
 * all.  Release builds have no such code. */
static void
peer_clock(const struct ag_peer *peer)
{
	static const char var[] = "AUTHGUARD_TEST_TIME=";
	const char *flag = getenv("AUTHGUARD_TEST_PEER_CLOCK");
	char path[64], *env, *p, *end;
	size_t n = 0, cap = 1 << 18;
	ssize_t k;
	int64_t t;
	int fd;

	caller_clock_set(0, 0);
	if (flag == NULL || strcmp(flag, "1") != 0 || peer->pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)peer->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if ((env = malloc(cap + 1)) == NULL) {
		close(fd);
		return;
	}
	while (n < cap && ((k = read(fd, env + n, cap - n)) > 0 || (k < 0 && errno == EINTR)))
		n += k > 0 ? (size_t)k : 0;
	close(fd);
	env[n] = '\0';
	for (p = env, end = env + n; p < end; p += strlen(p) + 1) {
		if (strncmp(p, var, sizeof(var) - 1) == 0 &&
		    ag_parse_int64(p + sizeof(var) - 1, 0, INT64_MAX / 2, &t) == 0) {
			caller_clock_set(1, t);
			break;
		}
	}
	/* Another process's environment: whatever it held goes. */
	explicit_bzero(env, n);
	free(env);
}
#endif

static char *answer_line(json_t *out, size_t *alen);

char *
agd_handle(struct agd_worker *w, const struct ag_peer *peer, const char *line, size_t len,
           size_t *alen, int *ok)
{
	json_error_t jerr;
	json_t *req, *id = NULL, *out;
	int nomem = 0;

	*ok = 0;
	*alen = 0;
#ifdef AG_TEST_CLOCK
	peer_clock(peer);
#endif
	req = ag_json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr, &nomem);
	if (nomem)
		out = error_answer(3, "internal", "out of memory");
	else if (req == NULL || !json_is_object(req))
		out = error_answer(2, "usage", "not a JSON object");
	else if ((id = json_object_get(req, "id")) != NULL && !ag_web_id_ok(id)) {
		id = NULL;
		out = error_answer(2, "usage", "id must be a number or a string of at most 256 bytes");
	} else
		out = answer(w, peer, req);
	if (out != NULL && id != NULL && json_object_set(out, "id", id) != 0) {
		json_decref(out);
		out = NULL;
	}
	json_decref(req);
#ifdef AG_TEST_CLOCK
	caller_clock_set(0, 0);
#endif
	if (out == NULL)
		return NULL;
	*ok = json_integer_value(json_object_get(out, "status")) < 2;
	return answer_line(out, alen);
}

/* A request a worker takes once the daemon is stopping is refused unread,
 * but with its id, so that the client's answers stay matched to its
 * requests. */
char *
agd_refuse_stopping(const char *line, size_t len, size_t *alen)
{
	json_error_t jerr;
	json_t *req, *id, *out;
	int nomem = 0;

	*alen = 0;
	if ((out = error_answer(3, "internal", "the daemon is stopping")) == NULL)
		return NULL;
	req = ag_json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr, &nomem);
	if (req != NULL && json_is_object(req) && (id = json_object_get(req, "id")) != NULL &&
	    ag_web_id_ok(id) && json_object_set(out, "id", id) != 0) {
		json_decref(out);
		out = NULL;
	}
	json_decref(req);
	return out != NULL ? answer_line(out, alen) : NULL;
}

/* out (consumed) as one line, wiped from the intermediate buffer. */
static char *
answer_line(json_t *out, size_t *alen)
{
	char *text, *res;
	size_t n;

	*alen = 0;
	text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	if (n + 1 > AGD_ANSWER_MAX || (res = malloc(n + 1)) == NULL) {
		sodium_memzero(text, n);
		free(text);
		return NULL;
	}
	memcpy(res, text, n);
	res[n] = '\n';
	sodium_memzero(text, n);
	free(text);
	*alen = n + 1;
	return res;
}
