/* Loading the optional parts of authguard that live in modules of their
 * own (the PostgreSQL back end, the PAM module's direct state service):
 * only from the directory this build installs them to (never from a path
 * the configuration or the environment names, so nobody can make sshd
 * load a library of theirs), after the owner and mode checks of every
 * file that decides security, once per process, and never unloaded. */
#ifndef AG_MODLOAD_H
#define AG_MODLOAD_H

#include "config.h"

struct ag_module {
	const char *what;         /* "postgresql back end": starts every message */
	const char *file;         /* "store-postgresql.so", in AG_PKGLIBDIR */
	const char *symbol;       /* the module's one exported symbol */
	const char *missing_hint; /* added when the file does not exist ("" none) */
	const char *test_dir_env; /* test builds only: a variable naming the
	                             build tree's directory instead */
	int (*abi_ok)(const void *symbol); /* 1 when built for this layout */
	const void *loaded;       /* the symbol, once loaded (under a lock) */
};

/* The module's symbol, loading the module on the first call (thread-safe).
 * Returns 0, or AG_ERR_NOTFOUND (no such file), AG_ERR_UNSAFE (owner or
 * mode of the file or of a directory above it), AG_ERR_IO (cannot be
 * loaded) or AG_ERR_CONFIG (another version) with "WHAT PATH: reason" in
 * err.  A failure is not remembered: the next call tries again. */
int ag_module_get(struct ag_module *mod, const void **symp, char err[AG_ERRBUF]);

#endif
