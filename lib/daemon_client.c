/* Talking to authguardd (daemon_client.h). */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon_client.h"
#include "error.h"
#include "json_out.h"
#include "util.h"

struct ag_daemon_conn {
	int fd;
	int64_t timeout_ms;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return -1;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return (p.revents & (POLLERR | POLLNVAL)) ? -1 : 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int
ag_daemon_connect(const struct ag_config *cfg, struct ag_daemon_conn **cp, char err[AG_ERRBUF])
{
	struct ag_daemon_conn *c;
	struct sockaddr_un sa;
	int64_t deadline = now_ms() + cfg->daemon_timeout_ms;
	int fd, r, e;
	socklen_t len = sizeof(e);

	*cp = NULL;
	err[0] = '\0';
	if (strlen(cfg->daemon_socket) >= sizeof(sa.sun_path)) {
		snprintf(err, AG_ERRBUF, "daemon_socket %s: path too long", cfg->daemon_socket);
		return AG_ERR_CONFIG;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, AG_ERRBUF, "out of memory");
		return AG_ERR_NOMEM;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	ag_strlcpy(sa.sun_path, cfg->daemon_socket, sizeof(sa.sun_path));
	ag_strlcpy(c->path, cfg->daemon_socket, sizeof(c->path));
	c->timeout_ms = cfg->daemon_timeout_ms;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, AG_ERRBUF, "authguardd: socket: %s", strerror(errno));
		free(c);
		return AG_ERR_SYSTEM;
	}
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	/* A full backlog answers EAGAIN on a Unix socket: wait for room
	 * within the timeout rather than fail a login at once. */
	while (r != 0 && errno == EAGAIN && now_ms() < deadline) {
		struct timespec nap = { 0, 2000000 };

		nanosleep(&nap, NULL);
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (r != 0 && errno == EINPROGRESS) {
		if (wait_fd(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
			r = 0;
		else
			errno = e != 0 ? e : ETIMEDOUT;
	}
	if (r != 0) {
		snprintf(err, AG_ERRBUF, "authguardd at %s: %s", cfg->daemon_socket, strerror(errno));
		close(fd);
		free(c);
		return AG_ERR_UNAVAILABLE;
	}
	c->fd = fd;
	*cp = c;
	return 0;
}

static int
lost(struct ag_daemon_conn *c, const char *what, char err[AG_ERRBUF])
{
	snprintf(err, AG_ERRBUF, "authguardd at %s: %s", c->path, what);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return AG_ERR_UNAVAILABLE;
}

int
ag_daemon_call_line(struct ag_daemon_conn *c, const char *line, size_t len, char **answer,
                    size_t *alen, char err[AG_ERRBUF])
{
	int64_t deadline = now_ms() + c->timeout_ms;
	size_t off = 0, cap = 4096, n = 0;
	char *buf = NULL, *nl;
	ssize_t k;

	*answer = NULL;
	*alen = 0;
	err[0] = '\0';
	if (c->fd < 0)
		return lost(c, "not connected", err);
	/* The request and its newline. */
	while (off < len + 1) {
		const char *p = off < len ? line + off : "\n";
		size_t want = off < len ? len - off : 1;

		k = send(c->fd, p, want, MSG_NOSIGNAL);
		if (k > 0) {
			off += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(c->fd, POLLOUT, deadline) == 0)
			continue;
		return lost(c, k < 0 && errno != EAGAIN ? strerror(errno) : "no answer in time", err);
	}
	/* One answer line, bounded. */
	for (;;) {
		if (buf == NULL || cap - n < 4096) {
			char *m;

			if (cap > AG_DAEMON_ANSWER_MAX) {
				ag_daemon_free_line(buf, n);
				return lost(c, "answer too long", err);
			}
			cap = buf == NULL ? cap : cap * 2;
			if ((m = malloc(cap)) == NULL) {
				ag_daemon_free_line(buf, n);
				snprintf(err, AG_ERRBUF, "out of memory");
				return AG_ERR_NOMEM;
			}
			if (buf != NULL) {
				memcpy(m, buf, n);
				ag_daemon_free_line(buf, n);
			}
			buf = m;
		}
		k = recv(c->fd, buf + n, cap - n - 1, 0);
		if (k > 0) {
			n += (size_t)k;
			if ((nl = memchr(buf, '\n', n)) != NULL) {
				if ((size_t)(nl - buf) + 1 != n) {
					ag_daemon_free_line(buf, n);
					return lost(c, "more than one answer", err);
				}
				*nl = '\0';
				*answer = buf;
				*alen = (size_t)(nl - buf);
				return 0;
			}
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(c->fd, POLLIN, deadline) == 0)
			continue;
		ag_daemon_free_line(buf, n);
		return lost(c, k == 0 ? "closed the connection" :
		               (errno == EAGAIN || errno == EWOULDBLOCK) ? "no answer in time"
		                                                         : strerror(errno), err);
	}
}

int
ag_daemon_call(struct ag_daemon_conn *c, json_t *req, json_t **answer, char err[AG_ERRBUF])
{
	json_error_t jerr;
	char *text, *line = NULL;
	size_t len = 0;
	int nomem = 0, r;

	*answer = NULL;
	if ((text = json_dumps(req, JSON_COMPACT)) == NULL) {
		snprintf(err, AG_ERRBUF, "out of memory");
		return AG_ERR_NOMEM;
	}
	r = ag_daemon_call_line(c, text, strlen(text), &line, &len, err);
	ag_daemon_free_line(text, strlen(text));
	if (r != 0)
		return r;
	*answer = ag_json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr, &nomem);
	ag_daemon_free_line(line, len);
	if (*answer == NULL || !json_is_object(*answer)) {
		json_decref(*answer);
		*answer = NULL;
		snprintf(err, AG_ERRBUF, nomem ? "out of memory" : "authguardd: an answer that is not JSON");
		return nomem ? AG_ERR_NOMEM : AG_ERR_STORE;
	}
	return 0;
}

void
ag_daemon_free_line(char *line, size_t len)
{
	if (line == NULL)
		return;
	explicit_bzero(line, len);
	free(line);
}

void
ag_daemon_close(struct ag_daemon_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
