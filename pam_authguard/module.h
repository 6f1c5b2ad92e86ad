/* Internal to pam_authguard/: the state one module call works with and the
 * helpers the mode handlers share.  Every rule stays in lib/. */
#ifndef PAM_AUTHGUARD_MODULE_H
#define PAM_AUTHGUARD_MODULE_H

#include <limits.h>
#include <stdint.h>

#include <security/pam_modules.h>

#include "authsvc.h"
#include "config.h"
#include "log.h"

#define DATA_SVC "pam_authguard:state"
#define DATA_ATTEMPT "pam_authguard:attempt"
#define DATA_CONFIG "pam_authguard:config"

enum mode { MODE_NONE, MODE_PREAUTH, MODE_AUTHFAIL, MODE_AUTHSUCC, MODE_PWOK, MODE_TOTP };

struct module {
	pam_handle_t *pamh;
	struct ag_config cfg;
	enum mode mode;
	int quiet;           /* silent argument or PAM_SILENT */
	struct ag_log log;   /* events, through pam_syslog */
	const struct ag_authsvc_ops *ops; /* the state service */
	struct ag_authsvc *svc; /* its handle for this PAM handle */
	struct ag_guard_req req;
	int may_fall_back;   /* this call may count on the local state during an
	                        outage of a shared store (store_fallback) */
};

/* What preauth leaves for authfail/authsucc in the same handle. */
struct attempt_data {
	int64_t attempt;
	char user[AG_NAME_MAX + 1];
};

/* After an operation on a shared store failed with err: go on with the
 * local state when store_fallback and this call allow it (0: run the
 * operation again), else err. */
int module_fall_back(struct module *m, int err);

/* Logs "event=error op=OP user=...: MSG; access denied" (LOG_ERR). */
void module_log_error(struct module *m, const char *op, const char *msg);

/* The state service's reason for its last failure, or the text of err. */
const char *module_state_error(struct module *m, int err);

/* Tells the user something through the conversation, unless quiet. */
void module_say(struct module *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tells the user that this failure locked the account or host. */
void module_say_locked(struct module *m, int64_t locked_until);

/* Asks libpam to delay a failing pam_authenticate() (capped, unless nodelay). */
void module_request_delay(struct module *m, int64_t seconds);

/* The attempt preauth started for this user in this handle, or 0. */
int64_t module_current_attempt(struct module *m);

/* Forgets the attempt (it has been settled). */
void module_forget_attempt(struct module *m);

/* The session phase (session_step.c). */
int module_open_session(struct module *m);
int module_close_session(struct module *m);

/* The pwok and totp modes (mfa_step.c). */
int module_do_pwok(struct module *m);
int module_do_totp(struct module *m);

#endif
