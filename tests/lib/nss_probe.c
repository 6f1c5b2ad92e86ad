/*
 * nss_probe.c - LD_PRELOAD shim that records, for each user lookup, whether
 * the calling process held the state's write lock at that moment.
 *
 * It wraps getpwnam_r() and getpwnam().  Each call appends one line to the
 * file named by AG_NSS_PROBE_LOG:
 *
 *     locked NAME      the write lock of the state AG_NSS_PROBE_DB was held
 *     free NAME        it was not
 *
 * and then the next definition in the chain (nss_wrapper, or libc) answers.
 * A lookup must never run inside the store's BEGIN IMMEDIATE: with an
 * LDAP or SSSD directory it can take seconds, during which every other
 * login and web request waits for the lock (tests/pam/root.sh).
 *
 * How the lock is seen: in WAL mode SQLite's write lock is an fcntl()
 * write lock on byte 120 of the "-shm" file (UNIX_SHM_BASE + WAL_WRITE_LOCK).
 * F_OFD_GETLK on a descriptor of our own reports a conflicting traditional
 * lock even when this very process holds it -- the case to catch.  A test
 * runs its processes one at a time, so a lock seen is the caller's own.
 *
 * With a PostgreSQL store there is no file to look at: AG_NSS_PROBE_CMD
 * names a command (run through popen, with LD_PRELOAD removed) that prints
 * 1 when a transaction of the store's connection is open in the server
 * (pg_stat_activity) and 0 when none is; tests/pam/root.sh writes it.
 *
 * Names are written as given, cut at 200 bytes; the tests use plain ones.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT, F_OFD_GETLK */
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
write_lock_held(void)
{
	const char *db = getenv("AG_NSS_PROBE_DB");
	char shm[4096];
	struct flock fl;
	int fd, held = 0;

	if (db == NULL || snprintf(shm, sizeof(shm), "%s-shm", db) >= (int)sizeof(shm))
		return 0;
	if ((fd = open(shm, O_RDONLY | O_CLOEXEC)) < 0)
		return 0; /* no -shm file: nobody has the state open */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK; /* conflicts with any write lock on the byte */
	fl.l_whence = SEEK_SET;
	fl.l_start = 120;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		held = 1;
	close(fd);
	return held;
}

/* AG_NSS_PROBE_CMD: 1 when the command says a transaction is open. */
static int
txn_open(const char *cmd)
{
	static int busy; /* the command's own lookups, if any, are not probed */
	char out[16] = "";
	FILE *f;

	if (busy)
		return 0;
	busy = 1;
	if ((f = popen(cmd, "r")) != NULL) {
		if (fgets(out, sizeof(out), f) == NULL)
			out[0] = '\0';
		pclose(f);
	}
	busy = 0;
	return out[0] == '1';
}

static int
held(void)
{
	const char *cmd = getenv("AG_NSS_PROBE_CMD");

	return cmd != NULL && cmd[0] != '\0' ? txn_open(cmd) : write_lock_held();
}

static void
record(const char *name)
{
	const char *log = getenv("AG_NSS_PROBE_LOG");
	char line[256];
	int fd, n;

	if (log == NULL || log[0] == '\0')
		return;
	n = snprintf(line, sizeof(line), "%s %.200s\n", held() ? "locked" : "free",
	             name != NULL ? name : "(null)");
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	if ((fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666)) < 0)
		return;
	if (write(fd, line, (size_t)n) != n) {
		/* nothing to do: the test sees the line missing */
	}
	close(fd);
}

int
getpwnam_r(const char *name, struct passwd *pwd, char *buf, size_t buflen,
           struct passwd **result)
{
	static int (*next)(const char *, struct passwd *, char *, size_t, struct passwd **);

	record(name);
	if (next == NULL)
		*(void **)&next = dlsym(RTLD_NEXT, "getpwnam_r");
	if (next == NULL) {
		*result = NULL;
		return ENOSYS;
	}
	return next(name, pwd, buf, buflen, result);
}

struct passwd *
getpwnam(const char *name)
{
	static struct passwd *(*next)(const char *);

	record(name);
	if (next == NULL)
		*(void **)&next = dlsym(RTLD_NEXT, "getpwnam");
	return next != NULL ? next(name) : NULL;
}
