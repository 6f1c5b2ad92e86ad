/*
 * crash_at.c - LD_PRELOAD shim for tests/stress/crash_points.sh: SIGKILLs
 * the process right after its Nth sqlite3_step() returns, so that a crash
 * can be put after every statement of an operation -- inside a
 * transaction, just after a COMMIT, between two transactions -- without
 * any timing.  With the PostgreSQL back end the statements are libpq's:
 * the process dies right after the Nth result PQgetResult() hands over
 * (the server has then run the statement; the end-of-results NULL does
 * not count).
 *
 * Environment:
 *   AG_CRASH_AT     N >= 1: die after the Nth statement (unset, 0: never)
 *   AG_CRASH_STEPS  a file: "steps K" is appended at exit by a process
 *                   that was not killed (K = its statements), so a sweep
 *                   over N knows where the operation ends
 *
 * Every statement of the store goes through sqlite3_step (COMMIT and
 * BEGIN are prepared statements too), or gives one result through
 * PQgetResult (BEGIN and COMMIT as well), so N = 1, 2, ... visits every
 * point between two statements.  Calls SQLite makes internally are
 * counted only when they go through the dynamic symbol; either way each N
 * is one fixed point of the run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CRASH_EXPORT __attribute__((visibility("default")))

typedef struct sqlite3_stmt sqlite3_stmt;

CRASH_EXPORT int sqlite3_step(sqlite3_stmt *stmt);

/* libpq's, opaque: the shim does not link libpq */
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
CRASH_EXPORT PGresult *PQgetResult(PGconn *conn);

static long crash_at = -1; /* -1: not read yet */
static long steps;

/* One more statement done: SIGKILL when it is the chosen one. */
static void
step_done(void)
{
	if (crash_at < 0) {
		const char *v = getenv("AG_CRASH_AT");

		crash_at = v != NULL ? strtol(v, NULL, 10) : 0;
	}
	if (++steps == crash_at)
		kill(getpid(), SIGKILL);
}

CRASH_EXPORT int sqlite3_step(sqlite3_stmt *stmt)
{
	static int (*real_step)(sqlite3_stmt *);
	int rc;

	if (real_step == NULL) {
		/* A SQLite loaded with the PAM module (RTLD_LOCAL) is invisible
		 * to RTLD_NEXT: then it is asked for by name. */
		void *h = dlopen("libsqlite3.so.0", RTLD_LAZY | RTLD_NOLOAD);

		*(void **)&real_step = dlsym(RTLD_NEXT, "sqlite3_step");
		if (real_step == NULL && h != NULL)
			*(void **)&real_step = dlsym(h, "sqlite3_step");
		if (real_step == NULL)
			abort();
	}
	rc = real_step(stmt);
	step_done();
	return rc;
}

CRASH_EXPORT PGresult *PQgetResult(PGconn *conn)
{
	static PGresult *(*real_get)(PGconn *);
	PGresult *res;

	if (real_get == NULL) {
		/* libpq comes with the PostgreSQL back end (RTLD_LOCAL) */
		void *h = dlopen("libpq.so.5", RTLD_LAZY | RTLD_NOLOAD);

		*(void **)&real_get = dlsym(RTLD_NEXT, "PQgetResult");
		if (real_get == NULL && h != NULL)
			*(void **)&real_get = dlsym(h, "PQgetResult");
		if (real_get == NULL)
			abort();
	}
	res = real_get(conn);
	if (res != NULL)
		step_done();
	return res;
}

__attribute__((destructor)) static void crash_at_report(void)
{
	const char *path = getenv("AG_CRASH_STEPS");
	char line[64];
	int fd, n;

	if (path == NULL || *path == '\0')
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "steps %ld\n", steps);
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}
