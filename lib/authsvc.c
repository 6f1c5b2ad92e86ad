/* Finding an implementation of the PAM module's state service.  Linked
 * into the module, so nothing here may need the state's libraries. */
#include "autoconf.h"

#include "authsvc.h"
#include "error.h"
#include "modload.h"

static int
direct_abi_ok(const void *sym)
{
	const struct ag_authsvc_ops *ops = sym;

	/* The configuration crosses over as a struct: a module from another
	 * build (other options) must not read it with another layout. */
	return ops->abi == AG_AUTHSVC_ABI && ops->config_size == sizeof(struct ag_config);
}

/* In test builds, AUTHGUARD_TEST_SERVICE_DIR may name the build tree's
 * lib/.libs (tests/Makefile.inc). */
static struct ag_module direct_module = {
	.what = "state service",
	.file = "authsvc-direct.so",
	.symbol = "ag_authsvc_direct_ops",
	.missing_hint = " (not installed?)",
	.test_dir_env = "AUTHGUARD_TEST_SERVICE_DIR",
	.abi_ok = direct_abi_ok,
};

int
ag_authsvc_direct(const struct ag_authsvc_ops **opsp, char err[AG_ERRBUF])
{
	const void *sym = NULL;
	int r;

	*opsp = NULL;
	if ((r = ag_module_get(&direct_module, &sym, err)) != 0)
		return r;
	*opsp = sym;
	return 0;
}
