/* Unit tests for lib/config: defaults, the file grammar, module arguments,
 * file safety checks and validation, with hostile input.  Files live in a
 * fresh directory under /tmp that is removed at the end. */
#include "autoconf.h" /* defines _GNU_SOURCE: nftw FTW_PHYS */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "net.h"
#include "util.h"

#include "tap.h"

static char tmpdir[64];

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void
cleanup(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes len bytes to tmpdir/name with the given mode; returns the path
 * in a static buffer. */
static const char *
write_file_n(const char *name, const char *data, size_t len, mode_t mode)
{
	static char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
		diag("cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return path;
	}
	close(fd);
	return path;
}

static const char *
write_file(const char *name, const char *data)
{
	return write_file_n(name, data, strlen(data), 0644);
}

static int
contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* 1 when s has no control character (an error message must stay one line). */
static int
one_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

static void
test_defaults(void)
{
	struct ag_config cfg;
	char err[AG_ERRBUF];

	memset(&cfg, 0x5a, sizeof(cfg));
	ag_config_defaults(&cfg);
	is_int(cfg.deny, 10, "default deny");
	is_int(cfg.fail_window, 900, "default fail_window");
	is_int(cfg.lock_time, 3600, "default lock_time");
	is_int(cfg.even_deny_root, 0, "default even_deny_root");
	is_int(cfg.pam_user_fold, 0, "default pam_user_fold: login names exact");
	is_int(cfg.web_subject_fold, 1, "default web_subject_fold: web subjects folded");
	is_int(cfg.delay_base, 1, "default delay_base");
	is_int(cfg.delay_max, 16, "default delay_max");
	is_int(cfg.host_deny, 50, "default host_deny");
	is_int(cfg.host_lock_time, 3600, "default host_lock_time");
	is_int(cfg.ipv6_prefix, 64, "default ipv6_prefix");
	is_int(cfg.n_host_allow, 0, "default host_allow is empty");
	is_int(cfg.busy_timeout_ms, 5000, "default busy_timeout");
	is_int(cfg.sync, AG_SYNC_NORMAL, "default sync");
	is_int(cfg.silent, 0, "default silent");
	is_int(cfg.nodelay, 0, "default nodelay");
	is_int(cfg.debug, 0, "default debug");
	is_str(cfg.state_file, AG_LOCALSTATEDIR "/lib/authguard/state.db", "default state_file");
	is_str(ag_config_default_path(), AG_SYSCONFDIR "/authguard/authguard.conf",
	       "default config path");
	is_int(ag_config_validate(&cfg, err), 0, "defaults validate");
	is_str(err, "", "defaults validate: no message");
}

static void
test_good_file(void)
{
	static const char good[] = "# authguard.conf\r\n"
	                           "\r\n"
	                           "   # indented comment\r\n"
	                           "deny = 5\r\n"
	                           "fail_window=15m\r\n"
	                           "\tlock_time\t=\t2h\t\r\n"
	                           "even_deny_root = yes\r\n"
	                           "host_deny = 100\r\n"
	                           "host_lock_time = 1d\r\n"
	                           "ipv6_prefix = 56\r\n"
	                           "delay_base = 2\r\n"
	                           "delay_max = 1m\r\n"
	                           "busy_timeout = 250ms\r\n"
	                           "sync = normal\r\n"
	                           "state_file = /srv/authguard/state.db\r\n"
	                           "host_allow = 10.0.0.0/8\r\n"
	                           "\r\n";
	static const char lf[] = "# same, with LF endings and no final newline\n"
	                         "\n"
	                         "deny = 5\n"
	                         "fail_window = 900\n"
	                         "   \n"
	                         "host_allow = 192.168.0.0/16, 2001:db8::/32 127.0.0.1,::1\n"
	                         "host_allow = 172.16.0.0/12\n"
	                         "busy_timeout = 2s";
	struct ag_config cfg;
	char err[AG_ERRBUF];
	const char *path;
	int r;

	ag_config_defaults(&cfg);
	path = write_file("good-lf.conf", lf);
	r = ag_config_load_file(&cfg, path, 0, err);
	is_int(r, 0, "LF file loads");
	is_str(err, "", "LF file: no message");
	is_int(cfg.deny, 5, "LF file: deny");
	is_int(cfg.fail_window, 900, "LF file: fail_window");
	is_int(cfg.lock_time, 3600, "LF file: lock_time keeps its default");
	is_int(cfg.busy_timeout_ms, 2000, "LF file: busy_timeout in seconds");
	is_int(cfg.n_host_allow, 5, "LF file: five networks (commas, spaces, two lines)");
	if (cfg.n_host_allow == 5) {
		struct ag_cidr a;

		ok(ag_cidr_parse("192.168.77.1", &a) == 0 &&
		           ag_cidr_contains(&cfg.host_allow[0], &a),
		   "LF file: first network is 192.168.0.0/16");
		ok(cfg.host_allow[1].family == AF_INET6 && cfg.host_allow[1].prefix == 32,
		   "LF file: second network is 2001:db8::/32");
		ok(cfg.host_allow[2].family == AF_INET && cfg.host_allow[2].prefix == 32,
		   "LF file: third network is 127.0.0.1/32");
		ok(cfg.host_allow[3].family == AF_INET6 && cfg.host_allow[3].prefix == 128,
		   "LF file: fourth network is ::1/128");
		ok(cfg.host_allow[4].family == AF_INET && cfg.host_allow[4].prefix == 12,
		   "LF file: fifth network is 172.16.0.0/12");
	}

	ag_config_defaults(&cfg);
	path = write_file("good-crlf.conf", good);
	r = ag_config_load_file(&cfg, path, 0, err);
	is_int(r, 0, "CRLF file with comments and blank lines loads");
	is_str(err, "", "CRLF file: no message");
	if (r != 0) {
		/* the values below cannot have been read either */
		ok(0, "CRLF file: values read (skipped, file rejected)");
		goto crlf_done;
	}
	is_int(cfg.deny, 5, "CRLF file: deny");
	is_int(cfg.fail_window, 900, "CRLF file: fail_window 15m");
	is_int(cfg.lock_time, 7200, "CRLF file: lock_time 2h (tabs around '=')");
	is_int(cfg.even_deny_root, 1, "CRLF file: even_deny_root");
	is_int(cfg.host_deny, 100, "CRLF file: host_deny");
	is_int(cfg.host_lock_time, 86400, "CRLF file: host_lock_time 1d");
	is_int(cfg.ipv6_prefix, 56, "CRLF file: ipv6_prefix");
	is_int(cfg.delay_base, 2, "CRLF file: delay_base");
	is_int(cfg.delay_max, 60, "CRLF file: delay_max 1m");
	is_int(cfg.busy_timeout_ms, 250, "CRLF file: busy_timeout 250ms");
	is_int(cfg.sync, AG_SYNC_NORMAL, "CRLF file: sync normal");
	is_str(cfg.state_file, "/srv/authguard/state.db", "CRLF file: state_file");
	is_int(cfg.n_host_allow, 1, "CRLF file: host_allow");
crlf_done:

	/* an empty file and a comment-only file change nothing */
	{
		struct ag_config before;

		ag_config_defaults(&cfg);
		before = cfg;
		path = write_file("empty.conf", "");
		is_int(ag_config_load_file(&cfg, path, 0, err), 0, "empty file loads");
		ok(memcmp(&cfg, &before, sizeof(cfg)) == 0, "empty file changes nothing");
		path = write_file("comments.conf", "# deny = 1\n#\n\n   \t\n");
		is_int(ag_config_load_file(&cfg, path, 0, err), 0, "comment-only file loads");
		ok(memcmp(&cfg, &before, sizeof(cfg)) == 0, "comment-only file changes nothing");
	}

	/* exactly the size limit is accepted */
	{
		char *big = malloc(AG_CONFIG_MAX_SIZE);

		if (big != NULL) {
			memset(big, '#', AG_CONFIG_MAX_SIZE);
			memcpy(big, "deny = 7\n", 9);
			big[AG_CONFIG_MAX_SIZE - 1] = '\n';
			ag_config_defaults(&cfg);
			path = write_file_n("64k.conf", big, AG_CONFIG_MAX_SIZE, 0644);
			is_int(ag_config_load_file(&cfg, path, 0, err), 0,
			       "a file of exactly 64 KiB loads");
			is_int(cfg.deny, 7, "64 KiB file: deny read");
			free(big);
		}
	}

	/* group-readable, world-readable (not writable) is fine */
	ag_config_defaults(&cfg);
	path = write_file_n("0444.conf", "deny = 4\n", 9, 0444);
	is_int(ag_config_load_file(&cfg, path, 0, err), 0, "mode 0444 loads");
	ag_config_defaults(&cfg);
	path = write_file_n("0600.conf", "deny = 4\n", 9, 0600);
	is_int(ag_config_load_file(&cfg, path, 0, err), 0, "mode 0600 loads");
}

/* Loads data (len bytes) as a file and expects it to fail with a message
 * that starts with "PATH:LINE: " and contains each of want1/want2 (NULL:
 * not checked); cfg must be unchanged. */
static void
check_bad_n(const char *what, const char *data, size_t len, unsigned line, const char *want1,
            const char *want2)
{
	struct ag_config cfg, before;
	char err[AG_ERRBUF], prefix[PATH_MAX + 32];
	const char *path;
	int r;

	ag_config_defaults(&cfg);
	cfg.deny = 3; /* not a default, to see it survive */
	before = cfg;
	path = write_file_n("bad.conf", data, len, 0644);
	memset(err, 'Z', sizeof(err));
	r = ag_config_load_file(&cfg, path, 0, err);
	ok(r != 0, "%s: rejected (%d)", what, r);
	ok(memchr(err, '\0', sizeof(err)) != NULL, "%s: message terminated", what);
	err[sizeof(err) - 1] = '\0';
	if (line != 0)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s", path);
	ok(strncmp(err, prefix, strlen(prefix)) == 0, "%s: message names %s (got \"%s\")", what,
	   prefix, err);
	if (want1 != NULL)
		ok(contains(err, want1), "%s: message mentions \"%s\" (got \"%s\")", what, want1,
		   err);
	if (want2 != NULL)
		ok(contains(err, want2), "%s: message mentions \"%s\" (got \"%s\")", what, want2,
		   err);
	ok(one_line(err), "%s: message is one clean line", what);
	ok(memcmp(&cfg, &before, sizeof(cfg)) == 0, "%s: configuration unchanged", what);
	unlink(path);
}

static void
check_bad(const char *what, const char *data, unsigned line, const char *want1, const char *want2)
{
	check_bad_n(what, data, strlen(data), line, want1, want2);
}

static void
test_bad_files(void)
{
	check_bad("unknown key", "# ok\ndeny = 5\ndenyy = 5\n", 3, "denyy", "unknown key");
	check_bad("missing '='", "deny = 5\n\ndeny 5\n", 3, NULL, NULL);
	check_bad("missing value", "deny =\n", 1, "deny", "missing value");
	check_bad("missing value (spaces)", "lock_time =   \t\n", 1, "lock_time", "missing value");
	check_bad("empty key", " = 5\n", 1, "unknown key", NULL);
	check_bad("deny 0 out of range", "deny = 0\n", 1, "deny", "range");
	check_bad("deny too large", "deny = 100001\n", 1, "deny", "range");
	check_bad("deny huge", "deny = 99999999999999999999999\n", 1, "deny", "range");
	check_bad("deny negative", "deny = -1\n", 1, "deny", NULL);
	check_bad("ipv6_prefix 31", "ipv6_prefix = 31\n", 1, "ipv6_prefix", "range");
	check_bad("ipv6_prefix 129", "ipv6_prefix = 129\n", 1, "ipv6_prefix", "range");
	check_bad("not a number", "deny = ten\n", 1, "deny", "number");
	check_bad("number with junk", "deny = 5 # five\n", 1, "deny", NULL);
	check_bad("number with sign", "host_deny = +5\n", 1, "host_deny", NULL);
	check_bad("bad duration 1.5h", "lock_time = 1.5h\n", 1, "lock_time", "duration");
	check_bad("bad duration unit", "fail_window = 15x\n", 1, "fail_window", "duration");
	check_bad("duration out of range", "fail_window = 31d\n", 1, "fail_window", "range");
	check_bad("fail_window 0", "fail_window = 0\n", 1, "fail_window", "range");
	check_bad("delay_base too long", "delay_base = 2m\n", 1, "delay_base", "range");
	check_bad("busy_timeout too long", "busy_timeout = 61s\n", 1, "busy_timeout", "range");
	check_bad("bad bool", "even_deny_root = maybe\n", 1, "even_deny_root", "boolean");
	check_bad("bad host_lock_time", "host_lock_time = forever\n", 1, "host_lock_time",
	          "duration");
	check_bad("bad sync", "sync = fast\n", 1, "sync", NULL);
	check_bad("relative state_file", "state_file = state.db\n", 1, "state_file", "absolute");
	check_bad("module-only silent", "silent = yes\n", 1, "silent", "module argument");
	check_bad("module-only nodelay", "deny = 4\nnodelay = yes\n", 2, "nodelay",
	          "module argument");
	check_bad("module-only debug", "debug = 1\n", 1, "debug", "module argument");
	check_bad("control char", "deny = 5\nlock_time = 1h\033[2J\n", 2, "control", NULL);
	check_bad("bare CR inside a line", "deny = 5\rlock_time = 0\n", 1, NULL, NULL);
	check_bad("vertical tab", "deny\v= 5\n", 1, NULL, NULL);
	check_bad("host_allow with host bits", "host_allow = 10.0.0.1/8\n", 1, "host_allow", NULL);
	check_bad("host_allow garbage", "host_allow = 10.0.0.0/8, example.com\n", 1, "host_allow",
	          NULL);
	check_bad("host_allow bad prefix", "host_allow = 10.0.0.0/33\n", 1, "host_allow", NULL);
	check_bad("host_allow word too long",
	          "host_allow = 1111111111111111111111111111111111111111111111111111111111111111"
	          "11111111111111111111111111111111111111111111111111111111111111111111\n",
	          1, "host_allow", NULL);
	{
		static const char nul[] = "deny = 5\nlock_time = 1h\0 deny = 1\n";

		check_bad_n("NUL byte", nul, sizeof(nul) - 1, 0, "NUL", NULL);
	}

	/* a hostile key is escaped in the message */
	check_bad("8-bit key", "d\xc3\xa9ny = 5\n", 1, "d\\xc3\\xa9ny", "unknown key");
	check_bad("quote in key", "\"deny\" = 5\n", 1, "\\x22deny\\x22", NULL);
	check_bad("long key",
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = 1\n",
	          1, "unknown key", NULL);

	/* too many networks: 64 are fine, 65 are not */
	{
		char list[64 * 20 + 64];
		size_t off = 0;
		int i;
		struct ag_config cfg;
		char err[AG_ERRBUF];
		const char *path;

		off += (size_t)snprintf(list + off, sizeof(list) - off, "host_allow =");
		for (i = 0; i < 64; i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, " 10.0.%d.0/24", i);
		snprintf(list + off, sizeof(list) - off, "\n");
		ag_config_defaults(&cfg);
		path = write_file("64nets.conf", list);
		is_int(ag_config_load_file(&cfg, path, 0, err), 0,
		       "64 networks in host_allow load");
		is_int(cfg.n_host_allow, 64, "64 networks counted");

		snprintf(list + off, sizeof(list) - off, ", 10.1.0.0/16\n");
		check_bad("65 networks", list, 1, "host_allow", "64");
		snprintf(list + off, sizeof(list) - off, "\nhost_allow = 10.1.0.0/16\n");
		check_bad("64 + 1 over two lines", list, 2, "host_allow", "64");
	}

	/* a valid line before the bad one is not applied either */
	check_bad("valid lines then a bad one",
	          "deny = 7\nlock_time = 5m\nhost_allow = ::1\nbogus = 1\n", 4, "bogus", NULL);
}

static void
check_refused(const char *what, const char *path, int want_rc, const char *want)
{
	struct ag_config cfg, before;
	char err[AG_ERRBUF];
	int r;

	ag_config_defaults(&cfg);
	before = cfg;
	r = ag_config_load_file(&cfg, path, 0, err);
	if (want_rc != 0)
		is_int(r, want_rc, "%s: refused", what);
	else
		ok(r != 0, "%s: refused (%d)", what, r);
	ok(strncmp(err, path, strlen(path)) == 0, "%s: message names the file (got \"%s\")", what,
	   err);
	if (want != NULL)
		ok(contains(err, want), "%s: message says \"%s\" (got \"%s\")", what, want, err);
	ok(memcmp(&cfg, &before, sizeof(cfg)) == 0, "%s: configuration unchanged", what);
	r = ag_config_load_file(&cfg, path, 1, err);
	ok(r != 0, "%s: refused with missing_ok too", what);
}

static void
test_unsafe_files(void)
{
	struct ag_config cfg, before;
	char err[AG_ERRBUF], path[PATH_MAX], target[PATH_MAX];
	const char *p;
	char *big;

	p = write_file_n("g+w.conf", "deny = 1\n", 9, 0664);
	check_refused("group-writable file", p, AG_ERR_UNSAFE, "writable");
	p = write_file_n("o+w.conf", "deny = 1\n", 9, 0646);
	check_refused("world-writable file", p, AG_ERR_UNSAFE, "writable");
	p = write_file_n("0666.conf", "deny = 1\n", 9, 0666);
	check_refused("mode 0666 file", p, AG_ERR_UNSAFE, "writable");

	/* symlinks are refused, even to a good file */
	p = write_file("target.conf", "deny = 1\n");
	ag_strlcpy(target, p, sizeof(target));
	snprintf(path, sizeof(path), "%s/link.conf", tmpdir);
	if (symlink(target, path) == 0)
		check_refused("symlink to a good file", path, AG_ERR_UNSAFE, "symlink");
	else
		ok(0, "symlink: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/dangling.conf", tmpdir);
	if (symlink("/nonexistent/authguard.conf", path) == 0)
		check_refused("dangling symlink", path, AG_ERR_UNSAFE, "symlink");
	else
		ok(0, "symlink: %s", strerror(errno));

	/* not a regular file */
	snprintf(path, sizeof(path), "%s/dir.conf", tmpdir);
	if (mkdir(path, 0755) == 0)
		check_refused("directory", path, 0, "regular");
	snprintf(path, sizeof(path), "%s/fifo.conf", tmpdir);
	if (mkfifo(path, 0644) == 0)
		check_refused("FIFO (must not block)", path, 0, "regular");
	check_refused("/dev/null", "/dev/null", 0, NULL);

	/* too large */
	if ((big = malloc(AG_CONFIG_MAX_SIZE + 1)) != NULL) {
		memset(big, '#', AG_CONFIG_MAX_SIZE + 1);
		p = write_file_n("big.conf", big, AG_CONFIG_MAX_SIZE + 1, 0644);
		check_refused("file of 64 KiB + 1", p, 0, "large");
		free(big);
	}

	/* not owned by root or the caller */
	if (geteuid() == 0) {
		p = write_file("other.conf", "deny = 1\n");
		if (chown(p, 12345, 12345) == 0)
			check_refused("file owned by another user", p, AG_ERR_UNSAFE, "owned");
		else
			ok(0, "chown: %s", strerror(errno));
	} else {
		skip("file owned by another user: needs root");
	}

	/* missing */
	ag_config_defaults(&cfg);
	before = cfg;
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	ok(ag_config_load_file(&cfg, path, 0, err) != 0, "missing file: error");
	ok(strncmp(err, path, strlen(path)) == 0 && contains(err, "exist"),
	   "missing file: message names the file (got \"%s\")", err);
	is_int(ag_config_load_file(&cfg, path, 1, err), 0, "missing file with missing_ok: ok");
	ok(memcmp(&cfg, &before, sizeof(cfg)) == 0, "missing file with missing_ok: unchanged");
	snprintf(path, sizeof(path), "%s/nodir/missing.conf", tmpdir);
	is_int(ag_config_load_file(&cfg, path, 1, err), 0, "missing directory with missing_ok: ok");
}

/* The directories above the file, as the state's: one others may write
 * (without the sticky bit of /tmp) lets them swap the file. */
static void
test_unsafe_parents(void)
{
	struct ag_config cfg;
	char err[AG_ERRBUF], dir[PATH_MAX], path[PATH_MAX], cwd[PATH_MAX];
	int fd;

	/* world-writable, no sticky bit */
	snprintf(dir, sizeof(dir), "%s/o+w", tmpdir);
	snprintf(path, sizeof(path), "%s/authguard.conf", dir);
	if (mkdir(dir, 0755) != 0 || (fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0 ||
	    write(fd, "deny = 1\n", 9) != 9 || close(fd) != 0 || chmod(dir, 0777) != 0) {
		ok(0, "set up %s: %s", dir, strerror(errno));
		return;
	}
	check_refused("file in a world-writable directory", path, AG_ERR_UNSAFE,
	              "parent directory writable by group or others");
	ag_config_defaults(&cfg);
	ag_config_load_file(&cfg, path, 0, err);
	ok(contains(err, dir), "the message names the directory (got \"%s\")", err);
	/* a file that is not there yet, in such a directory: anyone could put
	 * it there, so it is refused even where a missing file is fine */
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	ok(ag_config_load_file(&cfg, path, 1, err) == AG_ERR_UNSAFE,
	   "missing file in a world-writable directory, missing_ok: refused (got \"%s\")", err);
	/* group-writable */
	chmod(dir, 0775);
	snprintf(path, sizeof(path), "%s/authguard.conf", dir);
	check_refused("file in a group-writable directory", path, AG_ERR_UNSAFE, "writable by group");
	/* world-writable with the sticky bit, as /tmp: accepted */
	chmod(dir, 01777);
	ag_config_defaults(&cfg);
	is_int(ag_config_load_file(&cfg, path, 0, err), 0, "file in a sticky 1777 directory loads");
	is_int(cfg.deny, 1, "...and applies");
	chmod(dir, 0755);
	is_int(ag_config_load_file(&cfg, path, 0, err), 0, "file in a 0755 directory loads");

	/* a relative name is checked from the real working directory */
	if (getcwd(cwd, sizeof(cwd)) != NULL && chdir(tmpdir) == 0) {
		chmod(dir, 0777);
		ok(ag_config_load_file(&cfg, "o+w/authguard.conf", 0, err) == AG_ERR_UNSAFE,
		   "relative name under a world-writable directory: refused (got \"%s\")", err);
		chmod(dir, 0755);
		is_int(ag_config_load_file(&cfg, "o+w/authguard.conf", 0, err), 0,
		       "relative name under safe directories: loads");
		if (chdir(cwd) != 0)
			diag("cannot return to %s", cwd);
	} else {
		ok(0, "chdir %s: %s", tmpdir, strerror(errno));
	}

	/* a parent owned by another user */
	if (geteuid() == 0) {
		if (chown(dir, 12345, 12345) == 0)
			check_refused("file under a directory of another user", path, AG_ERR_UNSAFE,
			              "not owned by root");
		else
			ok(0, "chown: %s", strerror(errno));
		if (chown(dir, 0, 0) != 0)
			diag("chown back: %s", strerror(errno));
	} else {
		skip("directory owned by another user: needs root");
	}
}

struct warnings {
	char msg[8][AG_ERRBUF];
	int n;
};

static void
collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;

	if (w->n < 8)
		ag_strlcpy(w->msg[w->n], msg, sizeof(w->msg[0]));
	w->n++;
}

/* A key set on several lines: the last applies, and a warning names the
 * lines (3,000 deny lines became one value without a word). */
static void
test_duplicates(void)
{
	struct ag_config cfg;
	struct warnings w;
	char err[AG_ERRBUF], want[AG_ERRBUF], *big;
	const char *p;
	size_t len = 0;
	int i;

	memset(&w, 0, sizeof(w));
	p = write_file("dup.conf", "# comment\ndeny = 3\nfail_window = 5m\n"
	                           "host_allow = 192.0.2.0/24\nhost_allow = 198.51.100.0/24\n"
	                           "deny = 7\n");
	ag_config_defaults(&cfg);
	is_int(ag_config_load_file_warn(&cfg, p, 0, collect, &w, err), 0, "duplicate key: loads");
	is_int(cfg.deny, 7, "duplicate key: the last line applies");
	is_int(cfg.n_host_allow, 2, "host_allow lines add up");
	is_int(w.n, 1, "one warning: deny (host_allow's lines add up, fail_window is once)");
	snprintf(want, sizeof(want), "%s:6: deny: set on 2 lines (also line 2); the last one applies",
	         p);
	is_str(w.msg[0], want, "the warning names the file, the lines and the key");

	/* 3,000 deny lines: one warning, the lines named up to a bound */
	if ((big = malloc(3000 * 16)) != NULL) {
		for (i = 1; i <= 3000; i++)
			len += (size_t)snprintf(big + len, 3000 * 16 - len, "deny = %d\n", i);
		p = write_file_n("dup3000.conf", big, len, 0644);
		free(big);
		memset(&w, 0, sizeof(w));
		ag_config_defaults(&cfg);
		is_int(ag_config_load_file_warn(&cfg, p, 0, collect, &w, err), 0, "3000 deny lines: load");
		is_int(cfg.deny, 3000, "3000 deny lines: the last applies");
		is_int(w.n, 1, "3000 deny lines: one warning");
		snprintf(want, sizeof(want),
		         "%s:3000: deny: set on 3000 lines (also lines 1, 2, 3, 4, 5, 6, 7, 8 and 2991 "
		         "more); the last one applies", p);
		is_str(w.msg[0], want, "3000 deny lines: the warning names lines and the count");
		ok(one_line(w.msg[0]), "the warning is one line");
	}

	/* no warning for a clean file, none for a file that fails */
	memset(&w, 0, sizeof(w));
	p = write_file("clean.conf", "deny = 3\nlock_time = 1h\n");
	is_int(ag_config_load_file_warn(&cfg, p, 0, collect, &w, err), 0, "clean file loads");
	is_int(w.n, 0, "clean file: no warning");
	p = write_file("dupbad.conf", "deny = 3\ndeny = 4\ndeny = x\n");
	ok(ag_config_load_file_warn(&cfg, p, 0, collect, &w, err) != 0, "a bad file is an error");
	is_int(w.n, 0, "...and warns about nothing");
	/* the plain loader takes the same file quietly */
	p = write_file("dup2.conf", "deny = 3\ndeny = 4\n");
	is_int(ag_config_load_file(&cfg, p, 0, err), 0, "ag_config_load_file loads a duplicate");
	is_int(cfg.deny, 4, "...the last applies");
}

static void
check_arg(struct ag_config *cfg, const char *arg)
{
	char err[AG_ERRBUF];
	int r = ag_config_apply_arg(cfg, arg, err);

	is_int(r, 0, "module argument \"%s\" accepted", arg);
	if (r != 0)
		diag("%s", err);
}

static void
check_arg_bad(const char *arg, const char *want)
{
	struct ag_config cfg, before;
	char err[AG_ERRBUF];
	int r;

	ag_config_defaults(&cfg);
	before = cfg;
	r = ag_config_apply_arg(&cfg, arg, err);
	is_int(r, AG_ERR_CONFIG, "module argument \"%s\" rejected", arg);
	ok(contains(err, "module argument"), "\"%s\": message says module argument (got \"%s\")",
	   arg, err);
	if (want != NULL)
		ok(contains(err, want), "\"%s\": message mentions \"%s\" (got \"%s\")", arg, want,
		   err);
	ok(one_line(err), "\"%s\": message is one clean line", arg);
	ok(memcmp(&cfg, &before, sizeof(cfg)) == 0, "\"%s\": configuration unchanged", arg);
}

static void
test_module_args(void)
{
	struct ag_config cfg;
	char err[AG_ERRBUF];
	const char *path;
	char longarg[5000];

	/* module arguments override the file */
	ag_config_defaults(&cfg);
	path = write_file("base.conf", "deny = 5\nlock_time = 10m\neven_deny_root = yes\n");
	is_int(ag_config_load_file(&cfg, path, 0, err), 0, "base file loads");
	check_arg(&cfg, "deny=7");
	check_arg(&cfg, "even_deny_root=no");
	is_int(cfg.deny, 7, "deny=7 overrides the file's 5");
	is_int(cfg.lock_time, 600, "lock_time from the file kept");
	is_int(cfg.even_deny_root, 0, "even_deny_root=no overrides the file's yes");

	/* bare booleans mean yes; module-only switches */
	ag_config_defaults(&cfg);
	check_arg(&cfg, "even_deny_root");
	check_arg(&cfg, "silent");
	check_arg(&cfg, "nodelay");
	check_arg(&cfg, "debug");
	is_int(cfg.even_deny_root, 1, "bare even_deny_root = yes");
	is_int(cfg.silent, 1, "bare silent = yes");
	is_int(cfg.nodelay, 1, "bare nodelay = yes");
	is_int(cfg.debug, 1, "bare debug = yes");
	check_arg(&cfg, "debug=off");
	is_int(cfg.debug, 0, "debug=off");
	check_arg(&cfg, "pam_user_fold");
	is_int(cfg.pam_user_fold, 1, "bare pam_user_fold = yes");
	check_arg(&cfg, "web_subject_fold=no");
	is_int(cfg.web_subject_fold, 0, "web_subject_fold=no");
	path = write_file("fold.conf", "web_subject_fold = no\npam_user_fold = yes\n");
	ag_config_defaults(&cfg);
	is_int(ag_config_load_file(&cfg, path, 0, err), 0, "fold options in the file");
	is_int(cfg.web_subject_fold * 10 + cfg.pam_user_fold, 1, "... both read");

	ag_config_defaults(&cfg);
	check_arg(&cfg, "fail_window=1h");
	check_arg(&cfg, "busy_timeout=250ms");
	check_arg(&cfg, "host_allow=10.0.0.0/8,192.168.0.0/16");
	check_arg(&cfg, "state_file=/tmp/x/state.db");
	check_arg(&cfg, "sync=normal");
	check_arg(&cfg, "lock_time=0");
	is_int(cfg.fail_window, 3600, "fail_window=1h");
	is_int(cfg.busy_timeout_ms, 250, "busy_timeout=250ms");
	is_int(cfg.n_host_allow, 2, "host_allow=... two networks");
	is_str(cfg.state_file, "/tmp/x/state.db", "state_file=...");
	is_int(cfg.sync, AG_SYNC_NORMAL, "sync=normal");
	is_int(cfg.lock_time, 0, "lock_time=0 (until unlocked)");

	check_arg_bad("bogus=1", "unknown key");
	check_arg_bad("bogus", "unknown key");
	check_arg_bad("=5", NULL);
	check_arg_bad("", NULL);
	check_arg_bad("deny", "missing value");
	check_arg_bad("deny=", NULL);
	check_arg_bad("deny=0", "range");
	check_arg_bad("deny=five", NULL);
	check_arg_bad("deny= 5", NULL);
	check_arg_bad("fail_window=1.5h", "duration");
	check_arg_bad("even_deny_root=maybe", "boolean");
	check_arg_bad("even_deny_root=maybe", "even_deny_root");
	check_arg_bad("host_lock_time=1y", "host_lock_time");
	check_arg_bad("silent=2", NULL);
	check_arg_bad("state_file=relative/path", "absolute");
	check_arg_bad("host_allow=10.0.0.1/8", NULL);
	check_arg_bad("sync=off", NULL);
	check_arg_bad("de\nny=1", NULL);
	check_arg_bad("deny\033[2J=1", NULL);
	memset(longarg, 'k', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	check_arg_bad(longarg, "unknown key");
	{
		char longpath[PATH_MAX + 32];

		memset(longpath, 'p', sizeof(longpath) - 1);
		longpath[sizeof(longpath) - 1] = '\0';
		memcpy(longpath, "state_file=/", 12);
		check_arg_bad(longpath, "too long");
	}
}

static void
test_validate(void)
{
	struct ag_config cfg;
	char err[AG_ERRBUF];

	ag_config_defaults(&cfg);
	cfg.delay_base = 10;
	cfg.delay_max = 5;
	is_int(ag_config_validate(&cfg, err), AG_ERR_CONFIG, "delay_max < delay_base rejected");
	ok(contains(err, "delay_max") && contains(err, "delay_base"),
	   "delay message names both options (got \"%s\")", err);
	cfg.delay_max = 10;
	is_int(ag_config_validate(&cfg, err), 0, "delay_max == delay_base accepted");
	cfg.delay_base = 0;
	cfg.delay_max = 0;
	is_int(ag_config_validate(&cfg, err), 0, "delays off (0, 0) accepted");

	ag_config_defaults(&cfg);
	cfg.host_deny = 5;
	is_int(ag_config_validate(&cfg, err), AG_ERR_CONFIG, "host_deny < deny rejected");
	ok(contains(err, "host_deny") && contains(err, "deny"),
	   "host_deny message names both options (got \"%s\")", err);
	cfg.host_deny = 10;
	is_int(ag_config_validate(&cfg, err), 0, "host_deny == deny accepted");
	cfg.host_deny = 0;
	is_int(ag_config_validate(&cfg, err), 0, "host_deny 0 (host tracking off) accepted");

	/* validation is separate from loading: a file may set them in any order */
	{
		const char *path = write_file("order.conf", "delay_max = 4\ndelay_base = 8\n");

		ag_config_defaults(&cfg);
		is_int(ag_config_load_file(&cfg, path, 0, err), 0,
		       "file with delay_max < base loads");
		is_int(ag_config_validate(&cfg, err), AG_ERR_CONFIG, "and then fails validation");
	}
}

/* The PostgreSQL store's options as module arguments (pg_conninfo is
 * for the file only: it may hold a password). */
static void
test_store_args(void)
{
	struct ag_config cfg;

	ag_config_defaults(&cfg);
	is_str(cfg.pg_schema, "authguard", "pg_schema defaults to authguard");
	is_int(cfg.pg_connect_timeout_ms, 3000, "pg_connect_timeout defaults to 3 s");
	is_int(cfg.pg_statement_timeout_ms, 3000, "pg_statement_timeout defaults to 3 s");
	check_arg(&cfg, "pg_schema=auth_guard2");
	is_str(cfg.pg_schema, "auth_guard2", "pg_schema=auth_guard2 taken");
	check_arg(&cfg, "pg_connect_timeout=500ms");
	is_int(cfg.pg_connect_timeout_ms, 500, "pg_connect_timeout=500ms is 500 ms");
	check_arg_bad("pg_schema=AuthGuard", "lower-case");
	check_arg_bad("pg_schema=auth-guard", "lower-case letters, digits and '_' only");
	check_arg_bad("pg_schema=9x", "must start with");
	check_arg_bad("pg_schema=", NULL);
	check_arg_bad("pg_conninfo=host=/tmp", NULL);
	check_arg_bad("store=mysql", "sqlite or postgresql");
	check_arg_bad("store_fallback=remote", "none or local");
	check_arg_bad("pg_statement_timeout=99ms", "out of range");
}

int
main(void)
{
	umask(022);
	ag_strlcpy(tmpdir, "/tmp/authguard-test.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0) {
		printf("Bail out! cannot create a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	test_defaults();
	test_good_file();
	test_bad_files();
	test_unsafe_files();
	test_unsafe_parents();
	test_duplicates();
	test_module_args();
	test_store_args();
	test_validate();
	cleanup();
	return done_testing();
}
