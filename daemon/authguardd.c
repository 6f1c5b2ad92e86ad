/* authguardd: holds the state and the keys behind a Unix socket and
 * serves the web and PAM operations to the processes the peer-credential
 * rule allows (lib/peer_policy.h).  See authguardd(8).
 *
 * It runs in the foreground (a service manager supervises it), takes its
 * socket from systemd's socket activation (LISTEN_FDS) or binds it
 * itself, drops from root to daemon_user right after binding, says
 * READY=1 on NOTIFY_SOCKET when it serves, reloads the configuration and
 * keys on SIGHUP, and on SIGTERM stops taking requests, answers those it
 * took, lets the workers finish the transactions they hold, and exits. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stddef.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "json_out.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: authguardd [--conf FILE] [--socket PATH] [--verbose]\n");
	exit(2);
}

static void
die(int code, const char *fmt, ...)
{
	char msg[AG_ERRBUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "authguardd: %s\n", msg);
	syslog(LOG_ERR, "event=daemon_error reason=%s", msg);
	exit(code);
}

/* systemd's socket activation (sd_listen_fds(3)): one listening Unix
 * stream socket as descriptor 3. */
static int
activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int64_t p = 0, n = 0;
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);

	if (pid == NULL || fds == NULL || ag_parse_int64(pid, 1, INT32_MAX, &p) != 0 ||
	    (pid_t)p != getpid() || ag_parse_int64(fds, 1, 64, &n) != 0)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n != 1)
		die(2, "socket activation: expected 1 socket, got %lld", (long long)n);
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
		die(2, "socket activation: descriptor 3 is not a stream socket");
	len = sizeof(listening);
	if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
		die(2, "socket activation: descriptor 3 is not listening");
	if (fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK) != 0 ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) != 0)
		die(3, "socket activation: %s", strerror(errno));
	return 3;
}

/* Binds the socket: every local process may connect (the peer's
 * credentials decide what it may do); a stale socket file is replaced
 * only when no daemon answers on it. */
static int
bind_socket(const char *path)
{
	struct sockaddr_un sa;
	struct stat sb;
	mode_t old;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path) || path[0] != '/')
		die(2, "daemon_socket %s: must be an absolute path of at most %zu bytes", path,
		    sizeof(sa.sun_path) - 1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			die(2, "daemon_socket %s: exists and is not a socket", path);
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			die(2, "daemon_socket %s: another daemon answers there", path);
		if (probe >= 0)
			close(probe);
		if (unlink(path) != 0)
			die(3, "daemon_socket %s: cannot remove the stale socket: %s", path,
			    strerror(errno));
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		die(3, "socket: %s", strerror(errno));
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		die(3, "bind %s: %s", path, strerror(errno));
	}
	umask(old);
	if (listen(fd, 1024) != 0)
		die(3, "listen %s: %s", path, strerror(errno));
	return fd;
}

/* Leaves root for daemon_user, for good (no way back, no new privileges). */
static void
drop_privileges(const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (geteuid() != 0 || strcmp(user, "root") == 0)
		return;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		die(2, "daemon_user %s: no such user (create it, or see authguardd(8))", user);
	if (pw.pw_uid == 0)
		return;
	if (initgroups(pw.pw_name, pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 ||
	    setuid(pw.pw_uid) != 0)
		die(3, "cannot become %s: %s", user, strerror(errno));
	if (setuid(0) == 0)
		die(3, "could become root again after dropping to %s", user);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* sd_notify(3)'s protocol: one datagram to NOTIFY_SOCKET. */
static void
notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

static void
raise_fd_limit(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conf", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agd_server s;
	const char *socket_path = NULL;
	char err[AG_ERRBUF];
	sigset_t mask;
	int c, created = 0, rc;
	size_t i;

	memset(&s, 0, sizeof(s));
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'c': s.conf_path = optarg; break;
		case 's': socket_path = optarg; break;
		case 'v': agd_log_to_stderr(1); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (s.conf_path != NULL && s.conf_path[0] != '/')
		die(2, "--conf: an absolute path is needed (the daemon reads it again on SIGHUP)");
	openlog("authguardd", LOG_PID, LOG_AUTHPRIV);
	if (agd_load_config(&s.cfg, s.conf_path, err) != 0)
		die(2, "%s", err);
	if (socket_path == NULL)
		socket_path = s.cfg.daemon_socket;

	/* Signals come through a descriptor of the loop; SIGPIPE never. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		die(3, "cannot block signals");
	signal(SIGPIPE, SIG_IGN);
	if ((s.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		die(3, "signalfd: %s", strerror(errno));

	if ((s.listen_fd = activated_socket()) < 0) {
		s.listen_fd = bind_socket(socket_path);
		created = 1;
	}
	drop_privileges(s.cfg.daemon_user);

	s.max_clients = (size_t)s.cfg.daemon_max_clients;
	s.nworkers = (size_t)s.cfg.daemon_workers;
	s.idle_ms = s.cfg.daemon_idle_timeout * 1000;
	s.request_ms = s.cfg.daemon_request_timeout * 1000;
	/* A request line holds at least what the batch mode takes. */
	s.line_max = (size_t)(4 * s.cfg.token_max_len) > AGD_LINE_MIN
	                 ? (size_t)(4 * s.cfg.token_max_len) : AGD_LINE_MIN;
	raise_fd_limit(s.max_clients + 64 + s.nworkers * 4);
	if ((s.clients = calloc(s.max_clients, sizeof(*s.clients))) == NULL)
		die(3, "out of memory");
	for (i = s.max_clients; i-- > 0;) {
		s.clients[i].fd = -1;
		s.clients[i].next = s.free_clients;
		s.free_clients = &s.clients[i];
	}
	if ((s.epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		die(3, "epoll: %s", strerror(errno));
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.more, NULL);
	s.started = ag_clock_now();
	/* jansson's allocator is process-wide: set once, before any thread
	 * (it wipes what it frees: requests and answers carry tokens). */
	ag_json_wipe_on_free();
	if (agd_workers_start(&s) != 0)
		die(3, "cannot start the workers");
	agd_log(LOG_INFO, "event=daemon_ready socket=%s workers=%zu max_clients=%zu", socket_path,
	        s.nworkers, s.max_clients);
	notify("READY=1");
	rc = agd_serve(&s);
	notify("STOPPING=1");
	agd_workers_stop(&s);
	close(s.epoll_fd);
	close(s.wake_fd);
	if (created)
		(void)unlink(socket_path);
	agd_log(LOG_INFO, "event=daemon_stopped served=%llu", (unsigned long long)s.served);
	/* agd_serve closed every client; the slots go too (a leak checker
	 * run on the daemon sees nothing left behind). */
	free(s.clients);
	return rc == 0 ? 0 : 3;
}
