/* Choosing the back end: SQLite is built in; the PostgreSQL back end is a
 * module loaded on first use from the directory this build installs it
 * to (never from a path the configuration or the environment names, so
 * nobody can make sshd load a library of theirs), after the same owner
 * and mode checks as any file that decides security. */
#include "autoconf.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "safefile.h"
#include "store/db.h"
#include "util.h"

#ifndef AG_PKGLIBDIR
#error AG_PKGLIBDIR must name the directory of the loadable back ends
#endif

#define PG_MODULE "store-postgresql.so"

static const struct ag_db_engine *pg_engine;

/* The directory the module is loaded from.  Test builds (the same switch
 * as the test clock) may point at the build tree instead. */
static const char *
module_dir(void)
{
#ifdef AG_TEST_CLOCK
	const char *d = getenv("AUTHGUARD_TEST_MODULE_DIR");

	if (d != NULL && d[0] == '/')
		return d;
#endif
	return AG_PKGLIBDIR;
}

static int
load_pg(char err[AG_ERRBUF])
{
	char path[4096];
	const char *reason = NULL;
	const struct ag_db_engine *e;
	struct stat sb;
	void *h;
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/%s", module_dir(), PG_MODULE) >= (int)sizeof(path)) {
		snprintf(err, AG_ERRBUF, "postgresql back end: module path too long");
		return AG_ERR_CONFIG;
	}
	if ((r = ag_safe_check_parents(path, &reason)) != 0) {
		snprintf(err, AG_ERRBUF, "postgresql back end %s: a directory above it %s", path,
		         reason);
		return r;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, AG_ERRBUF, "postgresql back end %s: %s%s", path, strerror(errno),
		         errno == ENOENT ? " (built without PostgreSQL support?)" : "");
		return errno == ENOENT ? AG_ERR_NOTFOUND : AG_ERR_IO;
	}
	r = fstat(fd, &sb);
	close(fd);
	if (r != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, AG_ERRBUF, "postgresql back end %s: not a regular file", path);
		return AG_ERR_UNSAFE;
	}
	if ((r = ag_safe_check_stat(&sb, 0, &reason)) != 0) {
		snprintf(err, AG_ERRBUF, "postgresql back end %s %s", path, reason);
		return r;
	}
	/* Never unloaded: libpq and the TLS library behind it do not expect
	 * to be, and a process needs it until it exits anyway. */
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
		snprintf(err, AG_ERRBUF, "postgresql back end %s: cannot be loaded: %s", path,
		         dlerror());
		return AG_ERR_IO;
	}
	e = dlsym(h, "ag_db_postgresql");
	if (e == NULL || e->abi != AG_DB_ABI) {
		snprintf(err, AG_ERRBUF, "postgresql back end %s: built for another version", path);
		dlclose(h);
		return AG_ERR_CONFIG;
	}
	pg_engine = e;
	return 0;
}

int
ag_db_engine_for(const struct ag_config *cfg, const struct ag_db_engine **enginep,
                 char err[AG_ERRBUF])
{
	int r;

	*enginep = NULL;
	switch (cfg->store) {
	case AG_STORE_SQLITE:
		*enginep = &ag_db_sqlite;
		return 0;
	case AG_STORE_POSTGRESQL:
		if (pg_engine == NULL && (r = load_pg(err)) != 0)
			return r;
		*enginep = pg_engine;
		return 0;
	}
	snprintf(err, AG_ERRBUF, "unknown store");
	return AG_ERR_CONFIG;
}
