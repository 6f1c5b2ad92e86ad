/* Verification codes on the web: the rules and state of the PAM module's
 * totp step, with the guard's counting. */
#include "autoconf.h"

#include <string.h>

#include "error.h"
#include "web_int.h"

int
ag_web_mfa_verify(struct ag_web *w, const char *user, const char *ip, const char *code,
                  struct ag_web_mfa_result *res, struct ag_web_err *err)
{
	struct ag_guard g = { .cfg = w->cfg, .log = w->log };
	struct ag_guard_req req = { .user = user, .rhost = ip, .service = "web" };
	struct ag_guard_result gr;
	struct ag_mfa mfa = { .cfg = w->cfg, .log = w->log };
	struct ag_mfa_status st;
	enum ag_mfa_result result = AG_MFA_WRONG;
	char key[AG_NAME_MAX + 1], msg[AG_ERRBUF];
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = ag_web_subject_key(w, "user", user, key, err)) != 0 ||
	    (r = ag_web_check_ip(w, ip, err)) != 0 || (r = ag_web_need_store(w, err)) != 0)
		return r;
	g.store = mfa.store = w->store;
	if ((r = ag_mfa_load_key(&mfa, msg)) != 0)
		return ag_web_fail(err, r, ag_err_status(r), "config", "%s", msg);
	/* A locked account is refused before its code is looked at. */
	if ((r = ag_guard_account_check(&g, &req, &gr)) != 0)
		goto fail;
	if (!gr.allowed) {
		res->reason = "locked";
		res->retry_after = gr.retry_after;
		goto out;
	}
	if ((r = ag_mfa_verify(&mfa, user, code, &result)) != 0)
		goto fail;
	if (result == AG_MFA_OK_TOTP || result == AG_MFA_OK_BACKUP) {
		if ((r = ag_mfa_get_status(&mfa, user, &st)) != 0)
			goto fail;
		res->valid = 1;
		res->method = result == AG_MFA_OK_TOTP ? "totp" : "backup";
		res->backup_codes_left = st.backup_left;
		goto out;
	}
	res->reason = ag_mfa_result_name(result);
	if (!ag_mfa_counts_as_failure(result)) {
		/* Replayed: refused, not counted.  The attempt "guard check"
		 * started stays in flight for the next code (the backend asks
		 * for it, then runs guard success); it is not withdrawn, as
		 * without its id the oldest in flight could be another
		 * login's.  retry_after: when the next code shows. */
		if ((r = ag_mfa_next_code_wait(&mfa, user, &res->retry_after)) != 0)
			goto fail;
		goto out;
	}
	if ((r = ag_guard_fail(&g, &req, 0, &gr)) != 0)
		goto fail;
	res->counted = 1;
	res->failures = gr.failures;
	res->locked_until = gr.locked_until;
out:
	ag_mfa_clear(&mfa);
	return 0;
fail:
	ag_mfa_clear(&mfa);
	if (r == AG_ERR_CORRUPT && ag_store_errmsg(w->store)[0] == '\0')
		return ag_web_fail(err, r, AG_WEB_INTERNAL, "internal",
		                   "stored TOTP secret does not open (wrong secrets key or "
		                   "tampered row)");
	return ag_web_state_fail(w, err, r);
}
