/* The brute-force guard for web logins: the policy and state of
 * pam_authguard, the subject an e-mail address or user name (folded with
 * web_subject_fold) and the client's address. */
#include "autoconf.h"

#include <string.h>

#include "error.h"
#include "web_int.h"

int
ag_web_guard(struct ag_web *w, enum ag_web_guard_step step, const char *subject,
             const char *ip, int64_t attempt, struct ag_guard_result *res,
             struct ag_web_err *err)
{
	struct ag_guard g = { .cfg = w->cfg, .log = w->log };
	struct ag_guard_req req = { .user = subject, .rhost = ip, .service = "web" };
	char key[AG_NAME_MAX + 1];
	int r;

	memset(res, 0, sizeof(*res));
	/* Folding happens in the guard; a subject that cannot be folded is
	 * the caller's error, found before anything is counted. */
	if ((r = ag_web_subject_key(w, "subject", subject, key, err)) != 0 ||
	    (r = ag_web_check_ip(w, ip, err)) != 0 || (r = ag_web_need_store(w, err)) != 0)
		return r;
	g.store = w->store;
	if (step == AG_WEB_GUARD_CHECK)
		r = ag_guard_begin(&g, &req, res);
	else if (step == AG_WEB_GUARD_FAILURE)
		r = ag_guard_fail(&g, &req, attempt, res);
	else
		r = ag_guard_succeed(&g, &req, attempt, res);
	if (r != 0)
		return ag_web_state_fail(w, err, r);
	return 0;
}
