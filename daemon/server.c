/* The I/O loop of authguardd: accepts clients on the Unix socket, reads
 * one request line at a time from each (bounded, with deadlines), hands
 * it to the workers, and writes the answer back.  Never blocks: every
 * descriptor is non-blocking and every wait has an end.
 *
 * A client that sends a line longer than the limit gets an error answer
 * for it (the rest of the line is read and dropped, never held); one that
 * is idle, sends a request too slowly (slow-loris) or does not read its
 * answers is disconnected.  At the connection limit the listening socket
 * is left unread until a slot frees up: the kernel's backlog holds the
 * next clients, and none is accepted only to be dropped. */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define TAG_LISTEN ((uint64_t)1 << 62)
#define TAG_WAKE ((uint64_t)2 << 62)
#define TAG_SIGNAL ((uint64_t)3 << 62)
#define TAG_MASK ((uint64_t)3 << 62)
#define READ_CHUNK 4096
#define SLOW_WRITE_MS 5000

int64_t
agd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Answers may hold tokens and session ids: wiped before they are freed. */
static void
free_answer(char *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

static int
watch(struct agd_server *s, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(s->epoll_fd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev);
}

static uint64_t
client_tag(const struct agd_server *s, const struct agd_client *c)
{
	return (uint64_t)(c - s->clients);
}

/* The events a client is watched for: its next line unless a request is
 * in a worker, and writability while an answer is pending. */
static void
rearm(struct agd_server *s, struct agd_client *c)
{
	uint32_t ev = 0;

	/* The end of the client's side is news only when its next line is
	 * wanted: EPOLLRDHUP is level-triggered, and watched while a request
	 * is in a worker it would wake the loop again and again until the
	 * answer came.  (EPOLLHUP and EPOLLERR come unasked.) */
	if (!c->busy && c->out == NULL && !s->stopping)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->out != NULL)
		ev |= EPOLLOUT;
	watch(s, EPOLL_CTL_MOD, c->fd, ev, client_tag(s, c));
}

static void
close_client(struct agd_server *s, struct agd_client *c)
{
	if (c->fd < 0)
		return;
	watch(s, EPOLL_CTL_DEL, c->fd, 0, 0);
	close(c->fd);
	c->fd = -1;
	c->gen++;             /* a job still in a worker finds a new gen */
	free_answer(c->in, c->incap);
	c->in = NULL;
	c->inlen = c->incap = 0;
	free_answer(c->out, c->outlen);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	c->busy = 0;
	c->discarding = 0;
	c->next = s->free_clients;
	s->free_clients = c;
	s->nclients--;
	if (!s->accepting && !s->stopping && s->listen_fd >= 0) {
		/* A slot is free again: take the next client. */
		if (watch(s, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, TAG_LISTEN) == 0)
			s->accepting = 1;
	}
}

static void
accept_clients(struct agd_server *s)
{
	struct agd_client *c;
	const char *why;
	int fd;

	while (s->accepting) {
		if (s->free_clients == NULL) {
			/* At the limit: leave the rest in the backlog. */
			watch(s, EPOLL_CTL_DEL, s->listen_fd, 0, 0);
			s->accepting = 0;
			s->rejected_clients++;
			return;
		}
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				agd_log(LOG_WARNING, "event=daemon_accept_error error=%s", strerror(errno));
			return;
		}
		c = s->free_clients;
		s->free_clients = c->next;
		memset(&c->peer, 0, sizeof(c->peer));
		if (agd_peer_credentials(fd, &c->peer, &why) != 0) {
			agd_log(LOG_WARNING, "event=daemon_refused reason=%s", why);
			close(fd);
			c->next = s->free_clients;
			s->free_clients = c;
			s->refused++;
			continue;
		}
		c->fd = fd;
		c->next = NULL;
		c->deadline_ms = agd_now_ms() + s->idle_ms;
		s->nclients++;
		if (watch(s, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP, client_tag(s, c)) != 0) {
			s->nclients++; /* close_client counts it out again */
			close_client(s, c);
			s->nclients--;
		}
	}
}

/* Queues a complete line (without its '\n') as a job. */
static void
submit(struct agd_server *s, struct agd_client *c, const char *line, size_t len)
{
	struct agd_job *job = calloc(1, sizeof(*job));

	if (job == NULL || (job->line = malloc(len + 1)) == NULL) {
		free(job);
		close_client(s, c);
		return;
	}
	memcpy(job->line, line, len);
	job->line[len] = '\0';
	job->len = len;
	job->client = c;
	job->gen = c->gen;
	job->peer = c->peer;
	job->queued_ms = agd_now_ms();
	c->busy = 1;
	agd_queue_job(s, job);
}

/* An answer of the I/O thread's own (a line over the limit). */
static void
answer_now(struct agd_server *s, struct agd_client *c, const char *text)
{
	size_t n = strlen(text);

	if ((c->out = malloc(n)) == NULL) {
		close_client(s, c);
		return;
	}
	memcpy(c->out, text, n);
	c->outlen = n;
	c->outoff = 0;
	c->deadline_ms = agd_now_ms() + SLOW_WRITE_MS;
	s->errors++;
}

/* Looks for a complete line in what was read: submits it, or answers an
 * over-long one.  Keeps what follows for the next request.  Empty lines
 * are skipped on the spot: the request behind them is taken now, not at
 * the client's next write, which may never come (it waits for the
 * answer). */
static void
take_line(struct agd_server *s, struct agd_client *c)
{
	char *nl;
	size_t len, rest;

	for (;;) {
		nl = c->inlen > 0 ? memchr(c->in, '\n', c->inlen) : NULL;
		if (nl == NULL) {
			if (c->inlen > s->line_max) {
				/* Drop what was read; drop on until the end of the line. */
				c->discarding = 1;
				c->inlen = 0;
			}
			return;
		}
		len = (size_t)(nl - c->in);
		rest = c->inlen - len - 1;
		if (c->discarding) {
			c->discarding = 0;
			answer_now(s, c, "{\"error\":\"usage\",\"message\":\"request line too long\","
			                 "\"status\":2}\n");
		} else if (len > 1 || (len == 1 && c->in[0] != '\r')) {
			submit(s, c, c->in, len);
		}
		if (c->fd < 0)
			return; /* out of memory: closed */
		memmove(c->in, nl + 1, rest);
		c->inlen = rest;
		if (!c->busy && c->out == NULL) {
			/* An empty line: nothing to answer; the next one. */
			c->deadline_ms = agd_now_ms() + (c->inlen > 0 ? s->request_ms : s->idle_ms);
			if (c->inlen > 0)
				continue;
		}
		break;
	}
	rearm(s, c);
}

static void
read_client(struct agd_server *s, struct agd_client *c)
{
	ssize_t n;

	/* One chunk per wake-up: a client streaming bytes cannot keep the
	 * loop for itself. */
	if (c->incap - c->inlen < READ_CHUNK) {
		size_t cap = c->incap == 0 ? READ_CHUNK * 2 : c->incap * 2;
		char *p;

		if (cap > s->line_max + READ_CHUNK * 2)
			cap = s->line_max + READ_CHUNK * 2;
		if (cap - c->inlen < READ_CHUNK) {
			/* Full of one over-long line: drop it. */
			c->discarding = 1;
			c->inlen = 0;
		} else {
			if ((p = realloc(c->in, cap)) == NULL) {
				close_client(s, c);
				return;
			}
			c->in = p;
			c->incap = cap;
		}
	}
	n = read(c->fd, c->in + c->inlen, READ_CHUNK);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			close_client(s, c);
		return;
	}
	if (n == 0) {
		/* Only read between requests: every line before the end was
		 * answered, and a partial one never will be. */
		close_client(s, c);
		return;
	}
	if (c->inlen == 0 && !c->discarding)
		c->deadline_ms = agd_now_ms() + s->request_ms;
	c->inlen += (size_t)n;
	if (c->discarding) {
		char *nl = memchr(c->in, '\n', c->inlen);

		if (nl == NULL) {
			c->inlen = 0;
			return;
		}
		/* Keep "\n..." so that take_line ends the dropped line. */
		memmove(c->in, nl, c->inlen - (size_t)(nl - c->in));
		c->inlen -= (size_t)(nl - c->in);
	}
	take_line(s, c);
}

static void
write_client(struct agd_server *s, struct agd_client *c)
{
	ssize_t n;

	while (c->out != NULL && c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			close_client(s, c);
			return;
		}
		c->outoff += (size_t)n;
	}
	/* The answer is out. */
	free_answer(c->out, c->outlen);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	c->deadline_ms = agd_now_ms() + (c->inlen > 0 ? s->request_ms : s->idle_ms);
	/* A request that came behind the last one. */
	take_line(s, c);
	if (c->fd >= 0)
		rearm(s, c);
}

/* Answers from the workers. */
static void
collect_done(struct agd_server *s)
{
	struct agd_job *job;
	uint64_t n;

	while (read(s->wake_fd, &n, sizeof(n)) > 0)
		;
	while ((job = agd_take_done(s)) != NULL) {
		struct agd_client *c = job->client;

		if (c->fd >= 0 && c->gen == job->gen) {
			c->busy = 0;
			c->out = job->answer;
			c->outlen = job->alen;
			c->outoff = 0;
			job->answer = NULL;
			c->deadline_ms = agd_now_ms() + SLOW_WRITE_MS;
			write_client(s, c);
		}
		free_answer(job->answer, job->alen);
		free_answer(job->line, job->len);
		free(job);
	}
}

static void
expire_clients(struct agd_server *s, int64_t now)
{
	size_t i;

	for (i = 0; i < s->max_clients; i++) {
		struct agd_client *c = &s->clients[i];

		/* A request in a worker is the store's to bound. */
		if (c->fd >= 0 && !c->busy && c->deadline_ms <= now)
			close_client(s, c);
	}
}

static int
handle_signals(struct agd_server *s)
{
	struct signalfd_siginfo si;

	while (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			return 1;
		case SIGHUP:
			agd_reload(s);
			break;
		default:
			break;
		}
	}
	return 0;
}

int
agd_serve(struct agd_server *s)
{
	struct epoll_event ev[64];
	int64_t next_sweep = agd_now_ms() + 1000, drain_until = 0;
	int n, i, stop = 0;

	if (watch(s, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, TAG_LISTEN) != 0 ||
	    watch(s, EPOLL_CTL_ADD, s->wake_fd, EPOLLIN, TAG_WAKE) != 0 ||
	    watch(s, EPOLL_CTL_ADD, s->signal_fd, EPOLLIN, TAG_SIGNAL) != 0)
		return -1;
	s->accepting = 1;
	for (;;) {
		int64_t now = agd_now_ms(), wait = next_sweep - now;

		if (stop) {
			int busy = 0;

			for (i = 0; i < (int)s->max_clients; i++)
				if (s->clients[i].fd >= 0 &&
				    (s->clients[i].busy || s->clients[i].out != NULL))
					busy = 1;
			/* Drained: every request taken in was answered (or its
			 * client left).  Bounded in time all the same. */
			if (!busy || now >= drain_until)
				break;
		}
		n = epoll_wait(s->epoll_fd, ev, (int)(sizeof(ev) / sizeof(ev[0])),
		               wait > 0 ? (int)wait : 0);
		if (n < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;

			if ((tag & TAG_MASK) == TAG_LISTEN) {
				accept_clients(s);
			} else if ((tag & TAG_MASK) == TAG_WAKE) {
				collect_done(s);
			} else if ((tag & TAG_MASK) == TAG_SIGNAL) {
				if (handle_signals(s) && !stop) {
					/* Stop taking clients and requests; answer
					 * what was taken in. */
					stop = 1;
					pthread_mutex_lock(&s->lock);
					s->stopping = 1;
					pthread_mutex_unlock(&s->lock);
					drain_until = agd_now_ms() + 10000;
					if (s->accepting)
						watch(s, EPOLL_CTL_DEL, s->listen_fd, 0, 0);
					s->accepting = 0;
					agd_log(LOG_INFO, "event=daemon_stopping");
					for (size_t k = 0; k < s->max_clients; k++) {
						struct agd_client *o = &s->clients[k];

						if (o->fd < 0)
							continue;
						if (!o->busy && o->out == NULL)
							close_client(s, o);
						else
							rearm(s, o);
					}
				}
			} else {
				struct agd_client *c = &s->clients[tag];

				if (c->fd < 0)
					continue;
				if (ev[i].events & EPOLLOUT)
					write_client(s, c);
				if (c->fd < 0)
					continue;
				if (!stop && !c->busy && c->out == NULL &&
				    (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
					/* Between requests: its next line, or its end
					 * (lines it sent before closing its side are
					 * answered first, one after the other). */
					read_client(s, c);
				} else if (ev[i].events & (EPOLLERR | EPOLLHUP)) {
					/* Gone entirely while its request is in a worker
					 * or its answer is pending: the worker finishes the
					 * transaction, the answer has nowhere to go. */
					close_client(s, c);
				}
			}
		}
		now = agd_now_ms();
		if (now >= next_sweep) {
			expire_clients(s, now);
			next_sweep = now + 1000;
		}
	}
	/* Drained (or out of time): the clients still connected go, with
	 * what they hold. */
	for (size_t k = 0; k < s->max_clients; k++)
		close_client(s, &s->clients[k]);
	return 0;
}
