/* webload: a closed-loop load generator for the web operations, over
 * authguardd's socket or over authguard-token batch co-processes.
 *
 *   webload socket PATH   CLIENTS SECONDS WARMUP OP ARG [UA]
 *   webload batch  HELPER CONF CLIENTS SECONDS WARMUP OP ARG [UA]
 *
 * CLIENTS clients each keep exactly one request outstanding: a client
 * sends a request, waits for its answer, sends the next (a web backend's
 * worker serving one HTTP request at a time).  In socket mode each client
 * is one connection to the daemon; in batch mode each client is its own
 * `HELPER --conf CONF batch` process, as a backend with one co-process per
 * worker has.  One thread drives all clients with epoll.
 *
 * OP: verify (ARG: the token), session_check (ARG: the session id, UA: the
 * User-Agent), guard_check (ARG: a prefix; every request names another
 * e-mail and another address, so nothing locks).  Every answer must have
 * status 0 or the run fails (exit 1).  After WARMUP seconds (not
 * counted: processes start, connections open, statements compile) it
 * counts for SECONDS and prints one line:
 *
 *   ops=N seconds=S ops_per_s=R p50_us=A p90_us=B p99_us=C errors=0
 *   all_ops=M self_cpu_ms=X children_cpu_ms=Y
 *
 * all_ops counts the warm-up's requests too; self_cpu_ms is this
 * program's CPU time, children_cpu_ms that of the batch helpers (0 in
 * socket mode: the daemon's is read from /proc by the caller), both over
 * the whole run, so that CPU per request is comparable between modes
 * whatever else the machine runs.
 *
 * Built by bench/web-socket-vs-batch.sh with cc; not part of the build. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (256 * 1024)
#define MAX_SAMPLES (4 * 1024 * 1024)

struct client {
	int wfd, rfd;
	pid_t pid;
	char *in;
	size_t inlen;
	int64_t sent_ns;
	uint64_t seq;
};

static const char *op, *arg, *ua = "Mozilla/5.0 (X11; Linux x86_64) webload";
static uint64_t counter;
static uint32_t *samples;
static size_t nsamples;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "webload: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* The next request line of a client. */
static size_t
request(char *buf, size_t cap, uint64_t id)
{
	int n;

	if (strcmp(op, "verify") == 0)
		n = snprintf(buf, cap, "{\"op\":\"verify\",\"token\":\"%s\",\"id\":%llu}\n", arg,
		             (unsigned long long)id);
	else if (strcmp(op, "session_check") == 0)
		n = snprintf(buf, cap,
		             "{\"op\":\"session_check\",\"session\":\"%s\",\"user_agent\":\"%s\","
		             "\"id\":%llu}\n", arg, ua, (unsigned long long)id);
	else {
		uint64_t k = counter++;

		n = snprintf(buf, cap,
		             "{\"op\":\"guard_check\",\"subject\":\"%s%llu@example.com\","
		             "\"ip\":\"10.%u.%u.%u\",\"id\":%llu}\n", arg, (unsigned long long)k,
		             (unsigned)((k >> 16) & 255), (unsigned)((k >> 8) & 255),
		             (unsigned)(k & 255), (unsigned long long)id);
	}
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "webload: request too long\n");
		exit(2);
	}
	return (size_t)n;
}

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
send_next(struct client *c)
{
	char buf[16384];
	size_t n = request(buf, sizeof(buf), ++c->seq);

	c->sent_ns = now_ns();
	send_all(c->wfd, buf, n);
}

static int
connect_socket(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "webload: socket path too long\n");
		exit(2);
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect");
	return fd;
}

static void
spawn_batch(struct client *c, const char *helper, const char *conf)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		die("pipe");
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(helper, helper, "--conf", conf, "batch", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->wfd = in[1];
	c->rfd = out[0];
}

static int
number(const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "webload: not a number in [%d, %d]: %s\n", lo, hi, s);
		exit(2);
	}
	return (int)v;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[256];
	struct client *cl;
	int nclients, seconds, warmup, ep, i, batch;
	int64_t t_start, t_count = 0, t_end;
	uint64_t ops = 0, errors = 0, all_ops = 0;
	int counting = 0;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 8)
		goto usage;
	batch = strcmp(argv[1], "batch") == 0;
	if (!batch && strcmp(argv[1], "socket") != 0)
		goto usage;
	if (batch && argc < 9)
		goto usage;
	{
		int a = batch ? 4 : 3;

		nclients = number(argv[a], 1, 4096);
		seconds = number(argv[a + 1], 1, 3600);
		warmup = number(argv[a + 2], 0, 3600);
		op = argv[a + 3];
		arg = argv[a + 4];
		if (argc > a + 5)
			ua = argv[a + 5];
	}
	if ((strcmp(op, "verify") != 0 && strcmp(op, "session_check") != 0 &&
	     strcmp(op, "guard_check") != 0))
		goto usage;
	if ((samples = malloc(MAX_SAMPLES * sizeof(*samples))) == NULL ||
	    (cl = calloc((size_t)nclients, sizeof(*cl))) == NULL)
		die("malloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	for (i = 0; i < nclients; i++) {
		if (batch)
			spawn_batch(&cl[i], argv[2], argv[3]);
		else
			cl[i].wfd = cl[i].rfd = connect_socket(argv[2]);
		if ((cl[i].in = malloc(LINE_MAX_BYTES)) == NULL)
			die("malloc");
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].rfd, &ev) != 0)
			die("epoll_ctl");
	}
	t_start = now_ns();
	t_end = t_start + (int64_t)(warmup + seconds) * 1000000000;
	for (i = 0; i < nclients; i++)
		send_next(&cl[i]);
	for (;;) {
		int64_t t = now_ns();
		int n;

		if (!counting && t >= t_start + (int64_t)warmup * 1000000000) {
			counting = 1;
			t_count = t;
		}
		if (t >= t_end)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int k = 0; k < n; k++) {
			struct client *c = &cl[evs[k].data.u32];
			ssize_t r = read(c->rfd, c->in + c->inlen, LINE_MAX_BYTES - c->inlen);
			char *nl;

			if (r <= 0) {
				fprintf(stderr, "webload: a client's %s closed\n", batch ? "helper" : "connection");
				exit(1);
			}
			c->inlen += (size_t)r;
			while ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
				size_t len = (size_t)(nl - c->in) + 1;
				int64_t done = now_ns();

				*nl = '\0';
				if (strstr(c->in, "\"status\":0") == NULL) {
					if (errors++ < 3)
						fprintf(stderr, "webload: answer: %.300s\n", c->in);
				}
				all_ops++;
				if (counting) {
					ops++;
					if (nsamples < MAX_SAMPLES)
						samples[nsamples++] = (uint32_t)((done - c->sent_ns) / 1000);
				}
				memmove(c->in, c->in + len, c->inlen - len);
				c->inlen -= len;
				send_next(c);
			}
		}
	}
	double secs = (double)(now_ns() - t_count) / 1e9;

	qsort(samples, nsamples, sizeof(*samples), cmp_u32);
	printf("ops=%llu seconds=%.3f ops_per_s=%.0f p50_us=%u p90_us=%u p99_us=%u errors=%llu\n",
	       (unsigned long long)ops, secs, (double)ops / secs,
	       nsamples ? samples[nsamples / 2] : 0, nsamples ? samples[nsamples * 9 / 10] : 0,
	       nsamples ? samples[nsamples * 99 / 100] : 0, (unsigned long long)errors);
	/* The end of input for every client; a helper answers the request it
	 * holds (read and dropped here) and exits. */
	for (i = 0; i < nclients; i++)
		if (batch)
			close(cl[i].wfd);
	for (i = 0; i < nclients; i++) {
		if (batch) {
			while (read(cl[i].rfd, cl[i].in, LINE_MAX_BYTES) > 0)
				;
			waitpid(cl[i].pid, NULL, 0);
		}
		close(cl[i].rfd);
	}
	{
		struct rusage self, kids;

		getrusage(RUSAGE_SELF, &self);
		getrusage(RUSAGE_CHILDREN, &kids);
		printf("all_ops=%llu self_cpu_ms=%.0f children_cpu_ms=%.0f\n", (unsigned long long)all_ops,
		       (self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1e3 +
		           (self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e3,
		       (kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) * 1e3 +
		           (kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e3);
	}
	return errors == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: webload socket PATH CLIENTS SECONDS WARMUP OP ARG [UA]\n"
	                "       webload batch HELPER CONF CLIENTS SECONDS WARMUP OP ARG [UA]\n");
	return 2;
}
