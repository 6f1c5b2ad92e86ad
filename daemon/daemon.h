/* Internal to authguardd (daemon/): the server's state and the pieces
 * that share it.  Every rule -- who may call what, what an operation
 * decides -- stays in lib/ (peer_policy.h, the web and PAM operations);
 * this directory only moves lines between sockets and workers.
 *
 * Shape: one I/O thread runs an epoll loop over the listening socket and
 * every client connection (non-blocking, bounded buffers, deadlines);
 * a small fixed pool of worker threads, each with its own store handle
 * (one SQLite connection or one PostgreSQL connection each: the pool is
 * the connection pool), runs the requests.  Store operations block --
 * SQLite waits for the write lock, PostgreSQL for round trips -- so they
 * run off the I/O thread, and a fixed pool bounds both the database
 * connections and the memory, whatever the number of clients.  A
 * connection has at most one request in a worker at a time and the queue
 * is first come, first served, so every client gets its turn. */
#ifndef AG_DAEMON_H
#define AG_DAEMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "peer_policy.h"

/* Limits (see authguardd(8)). */
#define AGD_LINE_MIN (64 * 1024)   /* a request line may always be this long */
#define AGD_ANSWER_MAX (1024 * 1024) /* an answer longer than this is an error */

struct agd_job;

/* One client connection. */
struct agd_client {
	int fd;
	uint64_t gen;            /* changes when the slot is reused */
	struct ag_peer peer;     /* who is on the other end (SO_PEERCRED) */
	char *in;                /* the request line being read */
	size_t inlen, incap;
	int discarding;          /* the line is over the limit: read and drop */
	char *out;               /* the answer being written */
	size_t outlen, outoff;
	int busy;                /* a request of this client is in a worker */
	int64_t deadline_ms;     /* idle, slow request or slow reader */
	struct agd_client *next; /* the free list */
};

/* A request on its way to a worker and back. */
struct agd_job {
	struct agd_client *client;
	uint64_t gen;            /* the client's gen when queued */
	struct ag_peer peer;
	char *line;              /* the request (NUL-terminated) */
	size_t len;
	char *answer;            /* the answer line, '\n'-terminated */
	size_t alen;
	int64_t queued_ms;
	struct agd_job *next;
};

/* What a worker needs to serve requests: its store, the keys, the
 * configuration of the current generation (reloaded on SIGHUP). */
struct agd_worker;

struct agd_server {
	struct ag_config cfg;
	const char *conf_path;

	int listen_fd;
	int epoll_fd;
	int wake_fd;             /* eventfd: workers signal finished jobs */
	int signal_fd;

	struct agd_client *clients; /* slots, daemon_max_clients of them */
	struct agd_client *free_clients;
	size_t nclients, max_clients;
	int accepting;

	size_t line_max;         /* longest request line accepted */
	int64_t idle_ms, request_ms;

	/* the job queue (I/O thread -> workers) and the done queue */
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct agd_job *queue_head, *queue_tail;
	size_t queued;
	size_t working;          /* jobs a worker holds (taken, not done) */
	struct agd_job *done_head, *done_tail;
	int stopping;            /* workers: finish what you hold, then exit */
	uint64_t config_gen;     /* bumped by a reload; workers follow */

	pthread_t *threads;
	struct agd_worker **workers;
	size_t nworkers;

	/* counters for `authguard-ctl daemon status` */
	int64_t started;
	uint64_t served, errors, refused, rejected_clients;
};

/* peer.c: the credentials of the process at the other end of fd. */
int agd_peer_credentials(int fd, struct ag_peer *peer, const char **whyp);

/* Fills peer->user from its uid (a worker calls it: NSS may be slow). */
void agd_peer_name(struct ag_peer *peer);

/* reload.c: reads and validates the configuration at path (NULL: the
 * default file, which may be absent); cfg is untouched on error. */
int agd_load_config(struct ag_config *cfg, const char *path, char err[AG_ERRBUF]);

/* reload.c: reads the configuration and keys again (SIGHUP); the
 * workers follow between requests. */
void agd_reload(struct agd_server *s);

/* server.c: the I/O loop.  Runs until SIGTERM/SIGINT and a drain, then
 * returns 0 (or -1 when the loop itself failed). */
int agd_serve(struct agd_server *s);

/* workers.c */
int agd_workers_start(struct agd_server *s);
void agd_workers_stop(struct agd_server *s);   /* joins them */
void agd_queue_job(struct agd_server *s, struct agd_job *job);
struct agd_job *agd_take_done(struct agd_server *s);

/* handle.c: a worker's answer to one request line (never NULL unless out
 * of memory); sets *ok = 0 for an error answer. */
struct agd_worker *agd_worker_new(struct agd_server *s, size_t index);
void agd_worker_free(struct agd_worker *w);
void agd_worker_reload(struct agd_worker *w);
char *agd_handle(struct agd_worker *w, const struct ag_peer *peer, const char *line, size_t len,
                 size_t *alen, int *ok);
/* The refusal of a request taken once the daemon is stopping, carrying
 * the request's id when it has a valid one (NULL: out of memory). */
char *agd_refuse_stopping(const char *line, size_t len, size_t *alen);

/* Monotonic milliseconds. */
int64_t agd_now_ms(void);

/* log.c: logging (syslog LOG_AUTHPRIV, and stderr as well once
 * agd_log_to_stderr(1) was called: --verbose in the foreground). */
void agd_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void agd_log_to_stderr(int on);

#endif
