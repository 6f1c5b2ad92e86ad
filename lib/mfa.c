#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "backup.h"
#include "base32.h"
#include "clock.h"
#include "error.h"
#include "mfa.h"
#include "secretbox.h"
#include "totp.h"
#include "util.h"

int
ag_mfa_load_key(struct ag_mfa *m, char err[AG_ERRBUF])
{
	const char *reason = "cannot be read";
	int r;

	err[0] = '\0';
	if (m->have_key)
		return 0;
	r = ag_secretbox_key_load(m->cfg->secrets_key, m->key, &reason);
	if (r != 0) {
		snprintf(err, AG_ERRBUF, "secrets key %s: %s%s", m->cfg->secrets_key, reason,
		         r == AG_ERR_NOTFOUND ? " (create it with authguard-ctl keygen --secrets)" : "");
		return r == AG_ERR_NOTFOUND ? AG_ERR_CONFIG : r;
	}
	m->have_key = 1;
	return 0;
}

void
ag_mfa_clear(struct ag_mfa *m)
{
	sodium_memzero(m->key, sizeof(m->key));
	m->have_key = 0;
}

void
ag_mfa_issuer(const struct ag_config *cfg, char *out, size_t outsize)
{
	if (cfg->totp_issuer[0] != '\0') {
		ag_strlcpy(out, cfg->totp_issuer, outsize);
		return;
	}
	if (gethostname(out, outsize) != 0 || out[0] == '\0')
		ag_strlcpy(out, "authguard", outsize);
	out[outsize - 1] = '\0';
}

const char *
ag_mfa_result_name(enum ag_mfa_result r)
{
	switch (r) {
	case AG_MFA_OK_TOTP: return "ok";
	case AG_MFA_OK_BACKUP: return "ok_backup";
	case AG_MFA_WRONG: return "wrong";
	case AG_MFA_REPLAYED: return "replayed";
	case AG_MFA_MALFORMED: return "malformed";
	case AG_MFA_NOT_ENROLLED: return "not_enrolled";
	}
	return "unknown";
}

static void
log_event(struct ag_mfa *m, int prio, const char *event, const char *account,
          const char *k1, const char *v1, const char *k2, int64_t v2)
{
	struct ag_logline l;

	ag_logline_init(&l, event);
	ag_logline_str(&l, "user", account);
	if (k1 != NULL)
		ag_logline_str(&l, k1, v1);
	if (k2 != NULL)
		ag_logline_int(&l, k2, v2);
	ag_log_emit(&m->log, prio, &l);
}

static int
need_key(struct ag_mfa *m)
{
	char err[AG_ERRBUF];

	return ag_mfa_load_key(m, err);
}

int
ag_mfa_enroll_begin(struct ag_mfa *m, const char *account, char secret_b32[AG_MFA_SECRET_B32],
                    int64_t *expires)
{
	uint8_t secret[AG_TOTP_SECRET_BYTES], sealed[AG_MFA_SEALED_MAX];
	size_t sealed_len = 0;
	int64_t now = ag_clock_now();
	int r;

	secret_b32[0] = '\0';
	*expires = 0;
	if ((r = need_key(m)) != 0)
		return r;
	if ((r = ag_totp_secret_generate(secret, sizeof(secret))) != 0)
		goto out;
	if ((r = ag_secretbox_seal(m->key, secret, sizeof(secret), (const uint8_t *)account,
	                           strlen(account), sealed, sizeof(sealed), &sealed_len)) != 0)
		goto out;
	if ((r = ag_base32_encode(secret, sizeof(secret), 0, secret_b32, AG_MFA_SECRET_B32)) != 0)
		goto out;
	*expires = now + m->cfg->enroll_timeout;
	if ((r = ag_store_mfa_set_pending(m->store, account, sealed, sealed_len, now, *expires)) != 0)
		goto out;
	log_event(m, LOG_NOTICE, "mfa_enroll_started", account, NULL, NULL, "expires", *expires);
out:
	sodium_memzero(secret, sizeof(secret));
	if (r != 0) {
		sodium_memzero(secret_b32, AG_MFA_SECRET_B32);
		*expires = 0;
	}
	return r;
}

/* Opens a sealed secret for account and checks a code against it: the
 * callback the store runs inside its transaction. */
struct totp_check {
	struct ag_mfa *m;
	const char *account;
	const char *code;
	int64_t now;
};

static int
check_totp(void *vctx, const uint8_t *sealed, size_t sealed_len, int64_t last_step,
           int64_t *stepp)
{
	struct totp_check *c = vctx;
	struct ag_totp_params params = AG_TOTP_PARAMS_DEFAULT;
	uint8_t secret[AG_MFA_SEALED_MAX];
	size_t len = 0;
	int r;

	params.window = (unsigned)c->m->cfg->totp_window;
	/* The account is the associated data: a row moved to another
	 * account does not open. */
	r = ag_secretbox_open(c->m->key, sealed, sealed_len, (const uint8_t *)c->account,
	                      strlen(c->account), secret, sizeof(secret), &len);
	if (r != 0)
		return r;
	r = ag_totp_verify(secret, len, c->code, &params, c->now, last_step, stepp);
	sodium_memzero(secret, sizeof(secret));
	if (r == AG_TOTP_MISMATCH)
		return AG_MFA_MISMATCH;
	if (r == AG_TOTP_REPLAY)
		return AG_MFA_REPLAY;
	return r;
}

static int
is_totp_shape(const char *input)
{
	char code[AG_TOTP_CODE_SIZE];
	int r = ag_totp_parse_code(input, 6, code);

	sodium_memzero(code, sizeof(code));
	return r == 0;
}

static int
new_backup_codes(struct ag_mfa *m, const char *account, char codes[][AG_BACKUP_CODE_SIZE],
                 uint8_t (*hashes)[32], size_t n)
{
	size_t i;
	int r;

	if (n == 0)
		return 0;
	if ((r = ag_backup_generate(codes, n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = ag_backup_hash(m->key, account, codes[i], hashes[i])) != 0)
			return r;
	return 0;
}

int
ag_mfa_enroll_confirm(struct ag_mfa *m, const char *account, const char *code,
                      char codes[][AG_BACKUP_CODE_SIZE], size_t *ncodes,
                      enum ag_mfa_result *result)
{
	uint8_t hashes[AG_BACKUP_MAX_COUNT][32];
	struct totp_check c = { m, account, code, ag_clock_now() };
	size_t n = (size_t)m->cfg->backup_codes;
	int verdict = AG_MFA_MISMATCH, r;

	*ncodes = 0;
	*result = AG_MFA_WRONG;
	if ((r = need_key(m)) != 0)
		return r;
	if (!is_totp_shape(code)) {
		*result = AG_MFA_MALFORMED;
		return 0;
	}
	if (n > AG_BACKUP_MAX_COUNT)
		n = AG_BACKUP_MAX_COUNT;
	if ((r = new_backup_codes(m, account, codes, hashes, n)) != 0)
		goto out;
	r = ag_store_mfa_use_totp(m->store, account, c.now, 1, check_totp, &c,
	                          (const uint8_t(*)[32])hashes, n, &verdict);
	if (r == AG_ERR_NOTFOUND) {
		*result = AG_MFA_NOT_ENROLLED;
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	if (verdict != 0) {
		*result = AG_MFA_WRONG; /* a fresh secret has no replay */
		log_event(m, LOG_NOTICE, "mfa_enroll_refused", account, "reason", "wrong", NULL, 0);
		goto out;
	}
	*result = AG_MFA_OK_TOTP;
	*ncodes = n;
	log_event(m, LOG_NOTICE, "mfa_enrolled", account, NULL, NULL, "backup_codes", (int64_t)n);
out:
	sodium_memzero(hashes, sizeof(hashes));
	if (*ncodes == 0 && n > 0)
		sodium_memzero(codes, n * AG_BACKUP_CODE_SIZE);
	return r;
}

int
ag_mfa_verify(struct ag_mfa *m, const char *account, const char *input,
              enum ag_mfa_result *result)
{
	struct totp_check c = { m, account, input, ag_clock_now() };
	struct ag_mfa_record rec;
	uint8_t hash[32];
	char norm[AG_BACKUP_NORM_SIZE];
	int verdict = AG_MFA_MISMATCH, used = 0, r;

	*result = AG_MFA_WRONG;
	if ((r = need_key(m)) != 0)
		return r;
	if (is_totp_shape(input)) {
		r = ag_store_mfa_use_totp(m->store, account, c.now, 0, check_totp, &c, NULL, 0,
		                          &verdict);
		if (r == AG_ERR_NOTFOUND) {
			*result = AG_MFA_NOT_ENROLLED;
			r = 0;
		} else if (r == 0) {
			*result = verdict == 0 ? AG_MFA_OK_TOTP
			        : verdict == AG_MFA_REPLAY ? AG_MFA_REPLAYED : AG_MFA_WRONG;
		}
	} else if (ag_backup_normalize(input, norm) == 0) {
		/* Only an enrolled account has backup codes in force. */
		r = ag_store_mfa_get(m->store, account, c.now, &rec);
		if (r == 0 && !rec.active)
			r = AG_ERR_NOTFOUND;
		sodium_memzero(&rec, sizeof(rec));
		if (r == 0 && (r = ag_backup_hash(m->key, account, norm, hash)) == 0)
			r = ag_store_mfa_use_backup(m->store, account, hash, &used);
		if (r == AG_ERR_NOTFOUND) {
			*result = AG_MFA_NOT_ENROLLED;
			r = 0;
		} else if (r == 0) {
			*result = used ? AG_MFA_OK_BACKUP : AG_MFA_WRONG;
		}
	} else {
		*result = AG_MFA_MALFORMED;
	}
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(norm, sizeof(norm));
	if (r != 0)
		return r;
	if (*result == AG_MFA_OK_TOTP || *result == AG_MFA_OK_BACKUP)
		log_event(m, LOG_INFO, "mfa_ok", account, "method",
		          *result == AG_MFA_OK_TOTP ? "totp" : "backup", NULL, 0);
	else
		log_event(m, LOG_NOTICE, "mfa_fail", account, "reason", ag_mfa_result_name(*result),
		          NULL, 0);
	return 0;
}

/* A replayed code is refused (a code works once) but not counted as a
 * failure, because a legitimate user hits it often -- the code typed to
 * confirm an enrollment, or to log in a moment ago, is still on the screen
 * for the rest of its 30-second step -- and counting it pushed such a user
 * towards a lock (4 failures for one enrollment and login).  Not counting
 * it gives a guesser nothing, because "replayed" is decided strictly:
 * ag_totp_verify() answers it only for a well-formed code that equals the
 * code of a step inside the window and no newer than the last step
 * accepted, and that matches no unused step.  So:
 *   - a code that could still be accepted is never "replayed": every
 *     guess at an unused code is a counted failure, as before;
 *   - a "replayed" answer tells only that the code is one already used,
 *     which opens nothing (that step can never be accepted again) and
 *     says nothing useful about the secret;
 *   - a random guess lands in that set -- the used codes inside the
 *     window, at most 2 * totp_window + 1 of 10^6 -- with a chance of 3
 *     in a million by default, so uncounted guesses add a negligible
 *     number of tries;
 *   - the PAM module looks at a code only after the right password (and
 *     a web backend calls mfa verify after it), so the answer is given
 *     only to someone who already has the first factor.
 * Backup codes have no such case: a used one is gone, and "wrong". */
int
ag_mfa_counts_as_failure(enum ag_mfa_result r)
{
	return r != AG_MFA_OK_TOTP && r != AG_MFA_OK_BACKUP && r != AG_MFA_REPLAYED;
}

int
ag_mfa_next_code_wait(struct ag_mfa *m, const char *account, int64_t *seconds)
{
	struct ag_totp_params params = AG_TOTP_PARAMS_DEFAULT;
	struct ag_mfa_record rec;
	int64_t now = ag_clock_now(), next;
	int r;

	*seconds = 0;
	r = ag_store_mfa_get(m->store, account, now, &rec);
	if (r == AG_ERR_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	/* The next code that can be accepted is that of the step after the
	 * last one used; the app shows it from the start of that step. */
	if (rec.active && rec.last_step >= 0 && rec.last_step < INT64_MAX / params.period - 1) {
		next = (rec.last_step + 1) * (int64_t)params.period;
		if (next > now)
			*seconds = next - now;
	}
	sodium_memzero(&rec, sizeof(rec));
	return 0;
}

int
ag_mfa_backup_regenerate(struct ag_mfa *m, const char *account,
                         char codes[][AG_BACKUP_CODE_SIZE], size_t *ncodes)
{
	uint8_t hashes[AG_BACKUP_MAX_COUNT][32];
	size_t n = (size_t)m->cfg->backup_codes;
	int r;

	*ncodes = 0;
	if ((r = need_key(m)) != 0)
		return r;
	if (n > AG_BACKUP_MAX_COUNT)
		n = AG_BACKUP_MAX_COUNT;
	if ((r = new_backup_codes(m, account, codes, hashes, n)) == 0)
		r = ag_store_mfa_set_backup(m->store, account, (const uint8_t(*)[32])hashes, n);
	sodium_memzero(hashes, sizeof(hashes));
	if (r != 0) {
		if (n > 0)
			sodium_memzero(codes, n * AG_BACKUP_CODE_SIZE);
		return r;
	}
	*ncodes = n;
	log_event(m, LOG_NOTICE, "mfa_backup_regenerated", account, NULL, NULL, "backup_codes",
	          (int64_t)n);
	return 0;
}

int
ag_mfa_reset(struct ag_mfa *m, const char *account, int *found)
{
	int r = ag_store_mfa_reset(m->store, account, found);

	if (r == 0 && *found)
		log_event(m, LOG_NOTICE, "mfa_reset", account, NULL, NULL, "uid", (int64_t)getuid());
	return r;
}

int
ag_mfa_get_status(struct ag_mfa *m, const char *account, struct ag_mfa_status *out)
{
	struct ag_mfa_record rec;
	int r;

	memset(out, 0, sizeof(*out));
	r = ag_store_mfa_get(m->store, account, ag_clock_now(), &rec);
	if (r == AG_ERR_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	out->enrolled = rec.active;
	out->pending = rec.pending;
	out->pending_expires = rec.pending ? rec.pending_expires : 0;
	out->enrolled_at = rec.enrolled_at;
	out->backup_left = rec.active ? rec.backup_left : 0;
	sodium_memzero(&rec, sizeof(rec));
	return 0;
}
