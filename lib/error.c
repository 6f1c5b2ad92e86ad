#include "autoconf.h"
#include "error.h"

const char *
ag_strerror(int err)
{
	switch (err) {
	case AG_OK:           return "success";
	case AG_ERR_NOMEM:    return "out of memory";
	case AG_ERR_IO:       return "input/output error";
	case AG_ERR_CONFIG:   return "invalid configuration";
	case AG_ERR_UNSAFE:   return "unsafe file ownership or permissions";
	case AG_ERR_STORE:    return "state store error";
	case AG_ERR_BUSY:     return "state store locked for too long";
	case AG_ERR_CORRUPT:  return "state file is corrupt or not an authguard store";
	case AG_ERR_INVAL:    return "invalid argument";
	case AG_ERR_SCHEMA:   return "state file was written by a newer version";
	case AG_ERR_NOTFOUND: return "not found";
	case AG_ERR_RANGE:    return "value out of range";
	case AG_ERR_TOOLONG:  return "input too long";
	case AG_ERR_SYSTEM:   return "system error";
	case AG_ERR_RETRY:    return "conflict with a concurrent transaction";
	case AG_ERR_UNAVAILABLE: return "database server unavailable";
	case AG_ERR_EXISTS:   return "already holds data";
	}
	return "unknown error";
}

int
ag_err_status(int err)
{
	switch (err) {
	case AG_ERR_CONFIG:
	case AG_ERR_UNSAFE:
	case AG_ERR_NOTFOUND:
	case AG_ERR_INVAL:
	case AG_ERR_TOOLONG:
	case AG_ERR_RANGE:
		return 2;
	default:
		return 3;
	}
}
