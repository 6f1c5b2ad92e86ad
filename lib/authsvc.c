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

static struct ag_module daemon_module = {
	.what = "daemon client",
	.file = "authsvc-daemon.so",
	.symbol = "ag_authsvc_daemon_ops",
	.missing_hint = " (not installed?)",
	.test_dir_env = "AUTHGUARD_TEST_SERVICE_DIR",
	.abi_ok = direct_abi_ok,
};

static int
get(struct ag_module *mod, const struct ag_authsvc_ops **opsp, char err[AG_ERRBUF])
{
	const void *sym = NULL;
	int r;

	*opsp = NULL;
	if ((r = ag_module_get(mod, &sym, err)) != 0)
		return r;
	*opsp = sym;
	return 0;
}

int
ag_authsvc_direct(const struct ag_authsvc_ops **opsp, char err[AG_ERRBUF])
{
	return get(&direct_module, opsp, err);
}

int
ag_authsvc_daemon(const struct ag_authsvc_ops **opsp, char err[AG_ERRBUF])
{
	return get(&daemon_module, opsp, err);
}

int
ag_authsvc_for(const struct ag_config *cfg, const struct ag_authsvc_ops **opsp,
               char err[AG_ERRBUF])
{
	return cfg->daemon ? ag_authsvc_daemon(opsp, err) : ag_authsvc_direct(opsp, err);
}
