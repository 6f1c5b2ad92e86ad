#include "autoconf.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "modload.h"
#include "safefile.h"

#ifndef AG_PKGLIBDIR
#error AG_PKGLIBDIR must name the directory of the loadable modules
#endif

/* One lock for every module: loading is rare (once per process and
 * module), and PAM may be called from several threads of one program. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* The directory modules are loaded from.  Test builds (the same switch as
 * the test clock) may point at the build tree instead. */
static const char *
module_dir(const struct ag_module *mod)
{
#ifdef AG_TEST_CLOCK
	const char *d = mod->test_dir_env != NULL ? getenv(mod->test_dir_env) : NULL;

	if (d != NULL && d[0] == '/')
		return d;
#else
	(void)mod;
#endif
	return AG_PKGLIBDIR;
}

static int
load(struct ag_module *mod, char err[AG_ERRBUF])
{
	char path[4096], dir[4096];
	const char *reason = NULL;
	const void *sym;
	struct stat sb;
	void *h;
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/%s", module_dir(mod), mod->file) >=
	    (int)sizeof(path)) {
		snprintf(err, AG_ERRBUF, "%s: module path too long", mod->what);
		return AG_ERR_CONFIG;
	}
	if ((r = ag_safe_check_parents_at(path, dir, sizeof(dir), &reason)) != 0) {
		snprintf(err, AG_ERRBUF, "%s %s %s%s%s%s", mod->what, path, reason,
		         dir[0] != '\0' ? " (" : "", dir, dir[0] != '\0' ? ")" : "");
		return r;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, AG_ERRBUF, "%s %s: %s%s", mod->what, path, strerror(errno),
		         errno == ENOENT ? mod->missing_hint : "");
		return errno == ENOENT ? AG_ERR_NOTFOUND : AG_ERR_IO;
	}
	r = fstat(fd, &sb);
	close(fd);
	if (r != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, AG_ERRBUF, "%s %s: not a regular file", mod->what, path);
		return AG_ERR_UNSAFE;
	}
	if ((r = ag_safe_check_stat(&sb, 0, &reason)) != 0) {
		snprintf(err, AG_ERRBUF, "%s %s %s", mod->what, path, reason);
		return r;
	}
	/* Never unloaded: the libraries behind a module (libpq and its TLS
	 * library, SQLite, libsodium) do not expect to be, and a process
	 * needs it until it exits anyway. */
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
		snprintf(err, AG_ERRBUF, "%s %s: cannot be loaded: %s", mod->what, path, dlerror());
		return AG_ERR_IO;
	}
	sym = dlsym(h, mod->symbol);
	if (sym == NULL || !mod->abi_ok(sym)) {
		snprintf(err, AG_ERRBUF, "%s %s: built for another version", mod->what, path);
		dlclose(h);
		return AG_ERR_CONFIG;
	}
	mod->loaded = sym;
	return 0;
}

int
ag_module_get(struct ag_module *mod, const void **symp, char err[AG_ERRBUF])
{
	int r = 0;

	*symp = NULL;
	if (pthread_mutex_lock(&load_lock) != 0) {
		snprintf(err, AG_ERRBUF, "%s: cannot take the loader's lock", mod->what);
		return AG_ERR_SYSTEM;
	}
	if (mod->loaded == NULL)
		r = load(mod, err);
	*symp = mod->loaded;
	pthread_mutex_unlock(&load_lock);
	return r;
}
