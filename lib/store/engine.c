/* Choosing the back end: SQLite is built in; the PostgreSQL back end is a
 * module loaded on first use from the directory this build installs it
 * to (never from a path the configuration or the environment names, so
 * nobody can make sshd load a library of theirs), after the same owner
 * and mode checks as any file that decides security (lib/modload.c). */
#include "autoconf.h"

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "modload.h"
#include "store/db.h"

static int
pg_abi_ok(const void *sym)
{
	return ((const struct ag_db_engine *)sym)->abi == AG_DB_ABI;
}

/* In test builds, AUTHGUARD_TEST_MODULE_DIR may name the build tree's
 * lib/store/pg/.libs (tests/Makefile.inc). */
static struct ag_module pg_module = {
	.what = "postgresql back end",
	.file = "store-postgresql.so",
	.symbol = "ag_db_postgresql",
	.missing_hint = " (built without PostgreSQL support?)",
	.test_dir_env = "AUTHGUARD_TEST_MODULE_DIR",
	.abi_ok = pg_abi_ok,
};

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
	case AG_STORE_POSTGRESQL: {
		const void *sym = NULL;

		if ((r = ag_module_get(&pg_module, &sym, err)) != 0)
			return r;
		*enginep = sym;
		return 0;
	}
	}
	snprintf(err, AG_ERRBUF, "unknown store");
	return AG_ERR_CONFIG;
}
