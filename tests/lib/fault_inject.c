/*
 * fault_inject.c - LD_PRELOAD shim that makes one library call of the code
 * under test fail, for the fault-injection tests (tests/fault/).
 *
 * Environment:
 *   AG_FAULT_CALLS   comma-separated functions to count (default: all below)
 *   AG_FAULT_AT      N >= 1: the Nth counted call fails (unset or 0: count only)
 *   AG_FAULT_MODE    "once" (default): only call N fails; "from": N and every
 *                    counted call after it fail (a disk that stays broken)
 *   AG_FAULT_OBJECT  substring of the file name of the object whose calls
 *                    count (default "pam_authguard"), or several separated
 *                    by ':' or ',' (the PAM module and the state service
 *                    it loads; with PostgreSQL also "store-postgresql", the
 *                    back end they load); the main program is matched by
 *                    its argv[0]
 *   AG_FAULT_SQLITE  busy|ioerr|nomem|full|corrupt: the SQLite error to
 *                    inject (default: nomem for open/prepare, ioerr else)
 *   AG_FAULT_REPORT  file: "fired N FUNCTION" is appended when a fault is
 *                    injected (before the caller sees it, so a crash right
 *                    after still leaves it), "calls K" at exit
 *
 * Which calls count.  Only calls made directly from the object named by
 * AG_FAULT_OBJECT (the module, or a helper program: lib/ is linked into
 * both), told by the return address.  So libpam, pam_wrapper, pamtester,
 * libc internals and the other preloaded shims run undisturbed, and the
 * counts do not depend on the machine's NSS or locale set-up.  Failures
 * deeper down reach our code as the failure of the library call it made
 * (SQLite's own allocations as SQLITE_NOMEM from sqlite3_step), which is
 * injected here directly.  jansson's allocations are the exception: the
 * helpers install lib/json.c's allocator, whose malloc call is ours, so
 * they fail here one by one (json_pack, json_loadb are also failed
 * whole).  A call our code makes as a tail call (return malloc(n)) is
 * attributed to its caller's caller and may not count, depending on the
 * optimisation level: keep such wrappers from being tail calls.  One
 * read(2) of standard input counts: secrets are read a byte at a time,
 * and every later byte would only test the same error path again.
 *
 * Errors follow each function's convention: NULL + ENOMEM for allocators,
 * -1 + EIO or EACCES for system calls, an SQLite error code (which
 * sqlite3_errcode/sqlite3_errmsg then report for that connection, as
 * SQLite would), NULL or -1 for jansson.
 *
 * libpq (the PostgreSQL back end): each call that talks to the server
 * fails as it does when the connection breaks or memory runs out:
 * PQconnectStartParams NULL, PQconnectPoll PGRES_POLLING_FAILED,
 * PQsetnonblocking and PQflush -1, PQsendQuery, PQsendPrepare,
 * PQsendQueryPrepared and PQconsumeInput 0, and PQgetResult a result with
 * PGRES_FATAL_ERROR and no SQLSTATE in place of the server's (which is
 * consumed and dropped, so the connection stays in step, as after a lost
 * answer); poll() fails with ENOMEM.  PQgetResult's end of results (NULL)
 * is passed on and not counted: faking it would never end the results.
 * The shim does not link libpq: its types are opaque here.
 *
 * Built with AddressSanitizer, the shim leaves the malloc family alone:
 * ASan's allocator must own malloc.  The tests then put this shim before
 * the sanitizer runtime in LD_PRELOAD (ASAN_OPTIONS verify_asan_link_order
 * =0), so that the calls ASan intercepts (read, stat, ...) still reach it
 * with our code as the caller.
 */

#undef _FORTIFY_SOURCE /* we define read() itself, not the fortify inline */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <dlfcn.h>
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

/* Not instrumented even in a sanitizer build: the shim runs before the
 * sanitizer runtime is initialised (libraries' constructors call open). */
#define NO_SAN __attribute__((no_sanitize("address", "undefined")))
#define AG_EXPORT __attribute__((visibility("default"))) NO_SAN
#define CALLER __builtin_return_address(0)

#if defined(__SANITIZE_ADDRESS__)
#define FI_MALLOC 0
#else
#define FI_MALLOC 1
#endif

#define FUNCS(X) \
	X(malloc) X(calloc) X(sodium_malloc) X(sodium_allocarray) \
	X(open) X(openat) X(read) X(write) X(fstat) X(fstatat) X(lstat) X(stat) \
	X(fsync) X(fchmod) X(fchown) X(flock) X(link) X(linkat) X(unlink) \
	X(unlinkat) X(rename) X(renameat) X(mkdir) X(fdopendir) X(readdir) \
	X(getrandom) X(getpwnam_r) X(__getdelim) X(sodium_init) \
	X(sqlite3_open_v2) X(sqlite3_prepare_v2) X(sqlite3_prepare_v3) \
	X(sqlite3_step) X(sqlite3_exec) \
	X(PQconnectStartParams) X(PQconnectPoll) X(PQsetnonblocking) X(PQsendQuery) \
	X(PQsendPrepare) X(PQsendQueryPrepared) X(PQflush) X(PQconsumeInput) \
	X(PQgetResult) X(poll) \
	X(json_loadb) X(json_loadf) X(json_dumps) X(json_dumpf) X(json_pack) \
	X(json_object) X(json_array) X(json_string)

#define ENUM(f) F_##f,
#define NAME(f) #f,
enum fn { FUNCS(ENUM) F_COUNT };
static const char *const fn_name[F_COUNT] = { FUNCS(NAME) };

static int fi_ready;
static uint64_t fi_mask;          /* functions that count */
static unsigned long fi_at;       /* 0: never fail */
static int fi_from;
static unsigned long fi_count;
static int fi_stdin_seen;
static int fi_sqlite_rc;          /* 0: per-function default */
static char fi_object[4096];
static char fi_report[4096];

/* The error of the last injected SQLite fault, reported by
 * sqlite3_errcode() and sqlite3_errmsg() until the connection is used
 * again. */
static sqlite3 *fi_fault_db;
static int fi_fault_rc;

/* ------------------------------------------------------------- plumbing */

/* The next definition of a symbol: libc or a library loaded at start-up
 * through RTLD_NEXT; a library loaded with the PAM module (RTLD_LOCAL,
 * invisible to RTLD_NEXT) through the caller's own dependencies. */
NO_SAN static void *
real_sym(const char *name, const void *caller)
{
	void *p = dlsym(RTLD_NEXT, name);
	Dl_info di;

	if (p == NULL && caller != NULL && dladdr(caller, &di) != 0 && di.dli_fname != NULL) {
		/* Kept open on purpose: the library then stays mapped. */
		void *h = dlopen(di.dli_fname, RTLD_LAZY | RTLD_NOLOAD);

		if (h != NULL)
			p = dlsym(h, name);
	}
	if (p == NULL) {
		static const char msg[] = "fault_inject: cannot find the real function\n";

		/* not write(): that may be the very function missing */
		syscall(SYS_write, 2, msg, sizeof(msg) - 1);
		abort();
	}
	return p;
}

#define REAL(type, name) \
	static __typeof__(type) real_##name; \
	if (real_##name == NULL) \
		real_##name = (__typeof__(type))real_sym(#name, caller)

NO_SAN static void
report(const char *line)
{
	static int (*real_open)(const char *, int, ...);
	static ssize_t (*real_write)(int, const void *, size_t);
	int fd, saved = errno;

	if (fi_report[0] == '\0')
		return;
	if (real_open == NULL) {
		real_open = (int (*)(const char *, int, ...))real_sym("open", NULL);
		real_write = (ssize_t (*)(int, const void *, size_t))real_sym("write", NULL);
	}
	fd = real_open(fi_report, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0) {
		(void)real_write(fd, line, strlen(line)); /* lost: the test sees no report */
		close(fd);
	}
	errno = saved;
}

struct find {
	uintptr_t addr;
	const char *name;
};

NO_SAN static int
find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find *f = data;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && f->addr >= start &&
		    f->addr < start + ph->p_memsz) {
			f->name = info->dlpi_name[0] != '\0' ? info->dlpi_name
			                                     : program_invocation_name;
			return 1;
		}
	}
	return 0;
}

/* The caller's object is one of AG_FAULT_OBJECT's (comma-separated). */
NO_SAN static int
from_target(const void *caller)
{
	struct find f = { .addr = (uintptr_t)caller, .name = NULL };
	const char *p, *end;
	size_t n;

	dl_iterate_phdr(find_object, &f);
	if (f.name == NULL)
		return 0;
	for (p = fi_object; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = strpbrk(p, ":,");
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n > 0 && memmem(f.name, strlen(f.name), p, n) != NULL)
			return 1;
	}
	return 0;
}

/* 1 when this call is to fail. */
NO_SAN static int
fault(enum fn id, const void *caller)
{
	unsigned long n;
	char line[128];

	if (!fi_ready || !(fi_mask & (UINT64_C(1) << id)) || !from_target(caller))
		return 0;
	n = __atomic_add_fetch(&fi_count, 1, __ATOMIC_SEQ_CST);
	if (fi_at == 0 || n < fi_at || (n > fi_at && !fi_from))
		return 0;
	if (n == fi_at) {
		snprintf(line, sizeof(line), "fired %lu %s\n", n, fn_name[id]);
		report(line);
	}
	return 1;
}

__attribute__((constructor)) NO_SAN static void
fi_init(void)
{
	const char *s = getenv("AG_FAULT_CALLS"), *v;
	char buf[1024], *tok, *save = NULL;
	int i;

	if ((v = getenv("AG_FAULT_REPORT")) != NULL)
		snprintf(fi_report, sizeof(fi_report), "%s", v);
	v = getenv("AG_FAULT_OBJECT");
	snprintf(fi_object, sizeof(fi_object), "%s", v != NULL && *v != '\0' ? v : "pam_authguard");
	if ((v = getenv("AG_FAULT_AT")) != NULL)
		fi_at = strtoul(v, NULL, 10);
	fi_from = (v = getenv("AG_FAULT_MODE")) != NULL && strcmp(v, "from") == 0;
	if ((v = getenv("AG_FAULT_SQLITE")) != NULL) {
		static const struct { const char *name; int rc; } codes[] = {
			{ "busy", SQLITE_BUSY }, { "ioerr", SQLITE_IOERR_WRITE },
			{ "nomem", SQLITE_NOMEM }, { "full", SQLITE_FULL },
			{ "corrupt", SQLITE_CORRUPT },
		};
		for (i = 0; i < (int)(sizeof(codes) / sizeof(codes[0])); i++)
			if (strcmp(v, codes[i].name) == 0)
				fi_sqlite_rc = codes[i].rc;
	}
	if (s == NULL || *s == '\0') {
		fi_mask = (UINT64_C(1) << F_COUNT) - 1;
	} else {
		snprintf(buf, sizeof(buf), "%s", s);
		for (tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
			for (i = 0; i < F_COUNT; i++)
				if (strcmp(tok, fn_name[i]) == 0)
					fi_mask |= UINT64_C(1) << i;
	}
	if (!FI_MALLOC)
		fi_mask &= ~((UINT64_C(1) << F_malloc) | (UINT64_C(1) << F_calloc));
	fi_ready = 1;
}

__attribute__((destructor)) NO_SAN static void
fi_fini(void)
{
	char line[64];

	if (!fi_ready)
		return;
	snprintf(line, sizeof(line), "calls %lu\n", fi_count);
	report(line);
	fi_ready = 0;
}

/* ------------------------------------------------------------- memory */

#if FI_MALLOC
/* glibc's own entry points: no dlsym (which allocates) on this path. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);

AG_EXPORT void *
malloc(size_t n)
{
	if (fault(F_malloc, CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

AG_EXPORT void *
calloc(size_t n, size_t size)
{
	if (fault(F_calloc, CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}
#endif

AG_EXPORT void *
sodium_malloc(size_t n)
{
	const void *caller = CALLER;
	REAL(void *(*)(size_t), sodium_malloc);

	if (fault(F_sodium_malloc, caller)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_sodium_malloc(n);
}

AG_EXPORT void *
sodium_allocarray(size_t count, size_t size)
{
	const void *caller = CALLER;
	REAL(void *(*)(size_t, size_t), sodium_allocarray);

	if (fault(F_sodium_allocarray, caller)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_sodium_allocarray(count, size);
}

AG_EXPORT int
sodium_init(void)
{
	const void *caller = CALLER;
	REAL(int (*)(void), sodium_init);

	if (fault(F_sodium_init, caller))
		return -1;
	return real_sodium_init();
}

/* ------------------------------------------------------------- files */

/* FAIL_ERRNO(F, ERRNO, VALUE): the fault of a system call. */
#define FAIL_ERRNO(f, e, v) \
	do { \
		if (fault(F_##f, caller)) { \
			errno = (e); \
			return (v); \
		} \
	} while (0)

AG_EXPORT int
open(const char *path, int flags, ...)
{
	const void *caller = CALLER;
	mode_t mode = 0;
	va_list ap;
	REAL(int (*)(const char *, int, ...), open);

	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	FAIL_ERRNO(open, EACCES, -1);
	return real_open(path, flags, mode);
}

AG_EXPORT int
openat(int dirfd, const char *path, int flags, ...)
{
	const void *caller = CALLER;
	mode_t mode = 0;
	va_list ap;
	REAL(int (*)(int, const char *, int, ...), openat);

	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	FAIL_ERRNO(openat, EACCES, -1);
	return real_openat(dirfd, path, flags, mode);
}

AG_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
	const void *caller = CALLER;
	REAL(ssize_t (*)(int, void *, size_t), read);

	if (fd != 0 || !fi_stdin_seen) {
		if (fd == 0 && fi_ready && from_target(caller))
			fi_stdin_seen = 1;
		FAIL_ERRNO(read, EIO, -1);
	}
	return real_read(fd, buf, n);
}

AG_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	const void *caller = CALLER;
	REAL(ssize_t (*)(int, const void *, size_t), write);

	FAIL_ERRNO(write, EIO, -1);
	return real_write(fd, buf, n);
}

AG_EXPORT int
fstat(int fd, struct stat *sb)
{
	const void *caller = CALLER;
	REAL(int (*)(int, struct stat *), fstat);

	FAIL_ERRNO(fstat, EIO, -1);
	return real_fstat(fd, sb);
}

AG_EXPORT int
fstatat(int dirfd, const char *path, struct stat *sb, int flags)
{
	const void *caller = CALLER;
	REAL(int (*)(int, const char *, struct stat *, int), fstatat);

	FAIL_ERRNO(fstatat, EIO, -1);
	return real_fstatat(dirfd, path, sb, flags);
}

AG_EXPORT int
lstat(const char *path, struct stat *sb)
{
	const void *caller = CALLER;
	REAL(int (*)(const char *, struct stat *), lstat);

	FAIL_ERRNO(lstat, EIO, -1);
	return real_lstat(path, sb);
}

AG_EXPORT int
stat(const char *path, struct stat *sb)
{
	const void *caller = CALLER;
	REAL(int (*)(const char *, struct stat *), stat);

	FAIL_ERRNO(stat, EIO, -1);
	return real_stat(path, sb);
}

AG_EXPORT int
fsync(int fd)
{
	const void *caller = CALLER;
	REAL(int (*)(int), fsync);

	FAIL_ERRNO(fsync, EIO, -1);
	return real_fsync(fd);
}

AG_EXPORT int
fchmod(int fd, mode_t mode)
{
	const void *caller = CALLER;
	REAL(int (*)(int, mode_t), fchmod);

	FAIL_ERRNO(fchmod, EPERM, -1);
	return real_fchmod(fd, mode);
}

AG_EXPORT int
fchown(int fd, uid_t uid, gid_t gid)
{
	const void *caller = CALLER;
	REAL(int (*)(int, uid_t, gid_t), fchown);

	FAIL_ERRNO(fchown, EPERM, -1);
	return real_fchown(fd, uid, gid);
}

AG_EXPORT int
flock(int fd, int op)
{
	const void *caller = CALLER;
	REAL(int (*)(int, int), flock);

	FAIL_ERRNO(flock, ENOLCK, -1);
	return real_flock(fd, op);
}

AG_EXPORT int
link(const char *from, const char *to)
{
	const void *caller = CALLER;
	REAL(int (*)(const char *, const char *), link);

	FAIL_ERRNO(link, EACCES, -1);
	return real_link(from, to);
}

AG_EXPORT int
linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	const void *caller = CALLER;
	REAL(int (*)(int, const char *, int, const char *, int), linkat);

	FAIL_ERRNO(linkat, EACCES, -1);
	return real_linkat(fromfd, from, tofd, to, flags);
}

AG_EXPORT int
unlink(const char *path)
{
	const void *caller = CALLER;
	REAL(int (*)(const char *), unlink);

	FAIL_ERRNO(unlink, EACCES, -1);
	return real_unlink(path);
}

AG_EXPORT int
unlinkat(int dirfd, const char *path, int flags)
{
	const void *caller = CALLER;
	REAL(int (*)(int, const char *, int), unlinkat);

	FAIL_ERRNO(unlinkat, EACCES, -1);
	return real_unlinkat(dirfd, path, flags);
}

AG_EXPORT int
rename(const char *from, const char *to)
{
	const void *caller = CALLER;
	REAL(int (*)(const char *, const char *), rename);

	FAIL_ERRNO(rename, EACCES, -1);
	return real_rename(from, to);
}

AG_EXPORT int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	const void *caller = CALLER;
	REAL(int (*)(int, const char *, int, const char *), renameat);

	FAIL_ERRNO(renameat, EACCES, -1);
	return real_renameat(fromfd, from, tofd, to);
}

AG_EXPORT int
mkdir(const char *path, mode_t mode)
{
	const void *caller = CALLER;
	REAL(int (*)(const char *, mode_t), mkdir);

	FAIL_ERRNO(mkdir, EACCES, -1);
	return real_mkdir(path, mode);
}

AG_EXPORT DIR *
fdopendir(int fd)
{
	const void *caller = CALLER;
	REAL(DIR *(*)(int), fdopendir);

	FAIL_ERRNO(fdopendir, ENOMEM, NULL);
	return real_fdopendir(fd);
}

AG_EXPORT struct dirent *
readdir(DIR *d)
{
	const void *caller = CALLER;
	REAL(struct dirent *(*)(DIR *), readdir);

	FAIL_ERRNO(readdir, EIO, NULL);
	return real_readdir(d);
}

AG_EXPORT ssize_t
getrandom(void *buf, size_t n, unsigned int flags)
{
	const void *caller = CALLER;
	REAL(ssize_t (*)(void *, size_t, unsigned int), getrandom);

	FAIL_ERRNO(getrandom, EAGAIN, -1);
	return real_getrandom(buf, n, flags);
}

AG_EXPORT int
getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t n, struct passwd **res)
{
	const void *caller = CALLER;
	REAL(int (*)(const char *, struct passwd *, char *, size_t, struct passwd **), getpwnam_r);

	if (fault(F_getpwnam_r, caller)) {
		*res = NULL;
		return EIO;
	}
	return real_getpwnam_r(name, pw, buf, n, res);
}

/* getline() is an inline calling __getdelim() in an optimised build. */
AG_EXPORT ssize_t
__getdelim(char **line, size_t *n, int delim, FILE *f)
{
	const void *caller = CALLER;
	REAL(ssize_t (*)(char **, size_t *, int, FILE *), __getdelim);

	FAIL_ERRNO(__getdelim, ENOMEM, -1);
	return real___getdelim(line, n, delim, f);
}

/* ------------------------------------------------------------- SQLite */

NO_SAN static int
sqlite_rc(int dflt)
{
	return fi_sqlite_rc != 0 ? fi_sqlite_rc : dflt;
}

NO_SAN static void
sqlite_faulted(sqlite3 *db, int rc)
{
	fi_fault_db = db;
	fi_fault_rc = rc;
}

AG_EXPORT int
sqlite3_open_v2(const char *path, sqlite3 **db, int flags, const char *vfs)
{
	const void *caller = CALLER;
	REAL(int (*)(const char *, sqlite3 **, int, const char *), sqlite3_open_v2);

	/* A new connection has no injected error, even where malloc gives
	 * it the address of one that had (closed since). */
	fi_fault_db = NULL;
	/* SQLite's answer when it cannot even allocate the handle. */
	if (fault(F_sqlite3_open_v2, caller)) {
		*db = NULL;
		return SQLITE_NOMEM;
	}
	return real_sqlite3_open_v2(path, db, flags, vfs);
}

AG_EXPORT int
sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **s, const char **tail)
{
	const void *caller = CALLER;
	REAL(int (*)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **),
	     sqlite3_prepare_v2);

	fi_fault_db = NULL;
	if (fault(F_sqlite3_prepare_v2, caller)) {
		*s = NULL;
		if (tail != NULL)
			*tail = sql;
		sqlite_faulted(db, sqlite_rc(SQLITE_NOMEM));
		return fi_fault_rc;
	}
	return real_sqlite3_prepare_v2(db, sql, n, s, tail);
}

AG_EXPORT int
sqlite3_prepare_v3(sqlite3 *db, const char *sql, int n, unsigned int pf, sqlite3_stmt **s,
                   const char **tail)
{
	const void *caller = CALLER;
	REAL(int (*)(sqlite3 *, const char *, int, unsigned int, sqlite3_stmt **, const char **),
	     sqlite3_prepare_v3);

	fi_fault_db = NULL;
	if (fault(F_sqlite3_prepare_v3, caller)) {
		*s = NULL;
		if (tail != NULL)
			*tail = sql;
		sqlite_faulted(db, sqlite_rc(SQLITE_NOMEM));
		return fi_fault_rc;
	}
	return real_sqlite3_prepare_v3(db, sql, n, pf, s, tail);
}

AG_EXPORT int
sqlite3_step(sqlite3_stmt *s)
{
	const void *caller = CALLER;
	REAL(int (*)(sqlite3_stmt *), sqlite3_step);
	REAL(sqlite3 *(*)(sqlite3_stmt *), sqlite3_db_handle);

	fi_fault_db = NULL;
	if (s != NULL && fault(F_sqlite3_step, caller)) {
		sqlite_faulted(real_sqlite3_db_handle(s), sqlite_rc(SQLITE_IOERR_WRITE));
		return fi_fault_rc;
	}
	return real_sqlite3_step(s);
}

AG_EXPORT int
sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **), void *ctx,
             char **errmsg)
{
	const void *caller = CALLER;
	REAL(int (*)(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *,
	             char **), sqlite3_exec);

	fi_fault_db = NULL;
	if (fault(F_sqlite3_exec, caller)) {
		if (errmsg != NULL)
			*errmsg = NULL;
		sqlite_faulted(db, sqlite_rc(SQLITE_IOERR_WRITE));
		return fi_fault_rc;
	}
	return real_sqlite3_exec(db, sql, cb, ctx, errmsg);
}

AG_EXPORT int
sqlite3_errcode(sqlite3 *db)
{
	const void *caller = CALLER;
	REAL(int (*)(sqlite3 *), sqlite3_errcode);

	/* extended, as on the product's connections (SQLITE_OPEN_EXRESCODE) */
	if (db != NULL && db == fi_fault_db)
		return fi_fault_rc;
	return real_sqlite3_errcode(db);
}

AG_EXPORT int
sqlite3_extended_errcode(sqlite3 *db)
{
	const void *caller = CALLER;
	REAL(int (*)(sqlite3 *), sqlite3_extended_errcode);

	if (db != NULL && db == fi_fault_db)
		return fi_fault_rc;
	return real_sqlite3_extended_errcode(db);
}

AG_EXPORT const char *
sqlite3_errmsg(sqlite3 *db)
{
	const void *caller = CALLER;
	REAL(const char *(*)(sqlite3 *), sqlite3_errmsg);
	REAL(const char *(*)(int), sqlite3_errstr);

	if (db != NULL && db == fi_fault_db)
		return real_sqlite3_errstr(fi_fault_rc);
	return real_sqlite3_errmsg(db);
}

/* ------------------------------------------------------------- jansson */

/* What jansson 2.14 leaves when an allocation fails while parsing: NULL,
 * an error without text (or a bogus syntax error), and malloc's ENOMEM. */
NO_SAN static void
json_oom(json_error_t *error)
{
	if (error != NULL) {
		memset(error, 0, sizeof(*error));
		error->line = error->column = error->position = -1;
	}
	errno = ENOMEM;
}

AG_EXPORT json_t *
json_loadb(const char *buf, size_t n, size_t flags, json_error_t *error)
{
	const void *caller = CALLER;
	REAL(json_t *(*)(const char *, size_t, size_t, json_error_t *), json_loadb);

	if (fault(F_json_loadb, caller)) {
		json_oom(error);
		return NULL;
	}
	return real_json_loadb(buf, n, flags, error);
}

AG_EXPORT json_t *
json_loadf(FILE *f, size_t flags, json_error_t *error)
{
	const void *caller = CALLER;
	REAL(json_t *(*)(FILE *, size_t, json_error_t *), json_loadf);

	if (fault(F_json_loadf, caller)) {
		json_oom(error);
		return NULL;
	}
	return real_json_loadf(f, flags, error);
}

AG_EXPORT char *
json_dumps(const json_t *j, size_t flags)
{
	const void *caller = CALLER;
	REAL(char *(*)(const json_t *, size_t), json_dumps);

	if (fault(F_json_dumps, caller))
		return NULL;
	return real_json_dumps(j, flags);
}

AG_EXPORT int
json_dumpf(const json_t *j, FILE *f, size_t flags)
{
	const void *caller = CALLER;
	REAL(int (*)(const json_t *, FILE *, size_t), json_dumpf);

	if (fault(F_json_dumpf, caller))
		return -1;
	return real_json_dumpf(j, f, flags);
}

/* json_pack steals the references of its "o" arguments, also when it
 * fails: the real one runs and its result is dropped, so a fault leaks
 * nothing that a real out-of-memory would not. */
AG_EXPORT json_t *
json_pack(const char *fmt, ...)
{
	const void *caller = CALLER;
	json_t *j;
	va_list ap;
	REAL(json_t *(*)(json_error_t *, size_t, const char *, va_list), json_vpack_ex);
	REAL(void (*)(json_t *), json_delete);

	va_start(ap, fmt);
	j = real_json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	if (fault(F_json_pack, caller)) {
		if (j != NULL && j->refcount != (size_t)-1 &&
		    __atomic_sub_fetch(&j->refcount, 1, __ATOMIC_ACQ_REL) == 0)
			real_json_delete(j);
		return NULL;
	}
	return j;
}

AG_EXPORT json_t *
json_object(void)
{
	const void *caller = CALLER;
	REAL(json_t *(*)(void), json_object);

	if (fault(F_json_object, caller))
		return NULL;
	return real_json_object();
}

AG_EXPORT json_t *
json_array(void)
{
	const void *caller = CALLER;
	REAL(json_t *(*)(void), json_array);

	if (fault(F_json_array, caller))
		return NULL;
	return real_json_array();
}

AG_EXPORT json_t *
json_string(const char *s)
{
	const void *caller = CALLER;
	REAL(json_t *(*)(const char *), json_string);

	if (fault(F_json_string, caller))
		return NULL;
	return real_json_string(s);
}

/* ------------------------------------------------------------- libpq */

/* libpq's types, opaque here (the shim does not link libpq), and the
 * values of its enums that the faults return (libpq-fe.h). */
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
#define FI_PGRES_POLLING_FAILED 0
#define FI_PGRES_FATAL_ERROR 7

/* Their prototypes, as libpq-fe.h declares them (enums as int). */
PGconn *PQconnectStartParams(const char *const *keys, const char *const *values, int expand);
int PQconnectPoll(PGconn *conn);
int PQsetnonblocking(PGconn *conn, int arg);
int PQsendQuery(PGconn *conn, const char *query);
int PQsendPrepare(PGconn *conn, const char *name, const char *query, int n,
                  const unsigned int *types);
int PQsendQueryPrepared(PGconn *conn, const char *name, int n, const char *const *values,
                        const int *lengths, const int *formats, int result_format);
int PQflush(PGconn *conn);
int PQconsumeInput(PGconn *conn);
PGresult *PQgetResult(PGconn *conn);

AG_EXPORT PGconn *
PQconnectStartParams(const char *const *keys, const char *const *values, int expand)
{
	const void *caller = CALLER;
	REAL(PGconn *(*)(const char *const *, const char *const *, int), PQconnectStartParams);

	FAIL_ERRNO(PQconnectStartParams, ENOMEM, NULL);
	return real_PQconnectStartParams(keys, values, expand);
}

AG_EXPORT int
PQconnectPoll(PGconn *conn)
{
	const void *caller = CALLER;
	REAL(int (*)(PGconn *), PQconnectPoll);

	FAIL_ERRNO(PQconnectPoll, ECONNRESET, FI_PGRES_POLLING_FAILED);
	return real_PQconnectPoll(conn);
}

AG_EXPORT int
PQsetnonblocking(PGconn *conn, int arg)
{
	const void *caller = CALLER;
	REAL(int (*)(PGconn *, int), PQsetnonblocking);

	FAIL_ERRNO(PQsetnonblocking, EIO, -1);
	return real_PQsetnonblocking(conn, arg);
}

AG_EXPORT int
PQsendQuery(PGconn *conn, const char *query)
{
	const void *caller = CALLER;
	REAL(int (*)(PGconn *, const char *), PQsendQuery);

	FAIL_ERRNO(PQsendQuery, EPIPE, 0);
	return real_PQsendQuery(conn, query);
}

AG_EXPORT int
PQsendPrepare(PGconn *conn, const char *name, const char *query, int n, const unsigned int *types)
{
	const void *caller = CALLER;
	REAL(int (*)(PGconn *, const char *, const char *, int, const unsigned int *),
	     PQsendPrepare);

	FAIL_ERRNO(PQsendPrepare, EPIPE, 0);
	return real_PQsendPrepare(conn, name, query, n, types);
}

AG_EXPORT int
PQsendQueryPrepared(PGconn *conn, const char *name, int n, const char *const *values,
                    const int *lengths, const int *formats, int result_format)
{
	const void *caller = CALLER;
	REAL(int (*)(PGconn *, const char *, int, const char *const *, const int *, const int *,
	             int), PQsendQueryPrepared);

	FAIL_ERRNO(PQsendQueryPrepared, EPIPE, 0);
	return real_PQsendQueryPrepared(conn, name, n, values, lengths, formats, result_format);
}

AG_EXPORT int
PQflush(PGconn *conn)
{
	const void *caller = CALLER;
	REAL(int (*)(PGconn *), PQflush);

	FAIL_ERRNO(PQflush, EPIPE, -1);
	return real_PQflush(conn);
}

AG_EXPORT int
PQconsumeInput(PGconn *conn)
{
	const void *caller = CALLER;
	REAL(int (*)(PGconn *), PQconsumeInput);

	FAIL_ERRNO(PQconsumeInput, ECONNRESET, 0);
	return real_PQconsumeInput(conn);
}

AG_EXPORT PGresult *
PQgetResult(PGconn *conn)
{
	const void *caller = CALLER;
	PGresult *res;
	REAL(PGresult *(*)(PGconn *), PQgetResult);
	REAL(void (*)(PGresult *), PQclear);
	REAL(PGresult *(*)(PGconn *, int), PQmakeEmptyPGresult);

	res = real_PQgetResult(conn);
	if (res == NULL || !fault(F_PQgetResult, caller))
		return res;
	real_PQclear(res);
	return real_PQmakeEmptyPGresult(conn, FI_PGRES_FATAL_ERROR);
}

AG_EXPORT int
poll(struct pollfd *fds, nfds_t n, int timeout)
{
	const void *caller = CALLER;
	REAL(int (*)(struct pollfd *, nfds_t, int), poll);

	FAIL_ERRNO(poll, ENOMEM, -1);
	return real_poll(fds, n, timeout);
}
