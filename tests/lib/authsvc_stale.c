/* A state service module from another build (tests/pam/service_module.sh):
 * its table carries another ABI number (STALE_ABI) or, with this build's
 * number, a configuration of another size (STALE_CONFIG).  The module
 * must refuse it before calling anything in it: every function pointer
 * here is NULL. */
#include "autoconf.h"

#include "authsvc.h"

__attribute__((visibility("default"))) const struct ag_authsvc_ops ag_authsvc_direct_ops = {
#ifdef STALE_ABI
	.abi = AG_AUTHSVC_ABI + 1000,
	.config_size = sizeof(struct ag_config),
#else
	.abi = AG_AUTHSVC_ABI,
	.config_size = sizeof(struct ag_config) + 8,
#endif
	.name = "stale",
};
