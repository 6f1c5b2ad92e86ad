/* Error codes shared by every lib/ module.
 *
 * Library functions return 0 on success or a negative AG_ERR_* code; they
 * never exit or abort (they run inside sshd, sudo and login).  Only the PAM
 * glue maps these codes to PAM_*, and only the helpers turn them into exit
 * statuses. */
#ifndef AG_ERROR_H
#define AG_ERROR_H

enum ag_err {
	AG_OK = 0,
	AG_ERR_NOMEM = -1,    /* allocation failed */
	AG_ERR_IO = -2,       /* a file could not be read or written */
	AG_ERR_CONFIG = -3,   /* configuration rejected */
	AG_ERR_UNSAFE = -4,   /* file or directory owner/mode is unsafe */
	AG_ERR_STORE = -5,    /* state store failed (a database error) */
	AG_ERR_BUSY = -6,     /* state store stayed locked past busy_timeout */
	AG_ERR_CORRUPT = -7,  /* state file is not a valid authguard store */
	AG_ERR_INVAL = -8,    /* invalid argument or input */
	AG_ERR_SCHEMA = -9,   /* state file schema is newer than this build */
	AG_ERR_NOTFOUND = -10,/* no such file, row or key */
	AG_ERR_RANGE = -11,   /* number out of range */
	AG_ERR_TOOLONG = -12, /* input longer than its bound */
	AG_ERR_SYSTEM = -13,  /* other system call failure */
	AG_ERR_RETRY = -14,   /* store: a concurrent transaction won; run it again */
	AG_ERR_UNAVAILABLE = -15, /* store: the database server cannot be reached */
	AG_ERR_EXISTS = -16   /* the destination already holds data */
};

/* Returns a static, human-readable description of an AG_ERR_* code. */
const char *ag_strerror(int err);

/* The helpers' exit status (and the web protocol's status) for an error
 * found while loading the configuration, a key or opening the state: 2
 * when the configuration, a permission or a missing file is to blame --
 * the administrator's to fix --, 3 for anything else (internal, the
 * state, the system). */
int ag_err_status(int err);

#endif
