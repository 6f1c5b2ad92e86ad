/* The web context: the state and the token keys opened on first use, and
 * how an operation reports that it could not reach a verdict. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "json_out.h"
#include "net.h"
#include "subject.h"
#include "web_int.h"

#define TOKEN_INPUT_MIN (16 * 1024)

void
ag_web_init(struct ag_web *w, const struct ag_config *cfg, const struct ag_log *log)
{
	/* Requests and answers hold tokens, session ids and codes: their
	 * memory is wiped when freed, whichever front end runs us. */
	ag_json_wipe_by_default();
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	if (log != NULL)
		w->log = *log;
}

void
ag_web_close(struct ag_web *w)
{
	ag_store_close(w->store);
	ag_keyring_free(w->keyring);
	w->store = NULL;
	w->keyring = NULL;
	memset(&w->keys_mtime, 0, sizeof(w->keys_mtime));
}

size_t
ag_web_token_input_max(const struct ag_config *cfg)
{
	size_t twice = 2 * (size_t)cfg->token_max_len;

	return twice > TOKEN_INPUT_MIN ? twice : TOKEN_INPUT_MIN;
}

int
ag_web_fail(struct ag_web_err *err, int ret, int status, const char *kind, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return ret;
}

int
ag_web_state_fail(struct ag_web *w, struct ag_web_err *err, int ret)
{
	const char *msg = w->store != NULL ? ag_store_errmsg(w->store) : "";

	return ag_web_fail(err, ret, AG_WEB_INTERNAL, "state", "%s",
	                   msg[0] != '\0' ? msg : ag_strerror(ret));
}

int
ag_web_need_store(struct ag_web *w, struct ag_web_err *err)
{
	char msg[AG_ERRBUF];
	int r;

	if (w->store != NULL)
		return 0;
	if ((r = ag_store_open(w->cfg, 0, &w->store, msg)) != 0)
		return ag_web_fail(err, r, ag_err_status(r), "state", "%s", msg);
	return 0;
}

int
ag_web_need_keyring(struct ag_web *w, struct ag_web_err *err)
{
	char msg[AG_ERRBUF];
	struct stat sb;
	int r;

	if (stat(w->cfg->token_keys_dir, &sb) != 0)
		memset(&sb, 0, sizeof(sb));
	if (w->keyring != NULL && sb.st_mtim.tv_sec == w->keys_mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == w->keys_mtime.tv_nsec)
		return 0;
	ag_keyring_free(w->keyring);
	w->keyring = NULL;
	w->keys_mtime = sb.st_mtim;
	if ((r = ag_keyring_load(w->cfg->token_keys_dir, &w->keyring, msg)) != 0)
		return ag_web_fail(err, r,
		                   r == AG_ERR_NOMEM || r == AG_ERR_SYSTEM ? AG_WEB_INTERNAL
		                                                           : AG_WEB_USAGE,
		                   "keys", "%s", msg);
	return 0;
}

int
ag_web_need_identity(struct ag_web *w, struct ag_web_err *err)
{
	if (w->cfg->token_issuer[0] == '\0' || w->cfg->token_audience[0] == '\0')
		return ag_web_fail(err, AG_ERR_CONFIG, AG_WEB_USAGE, "config",
		                   "token_issuer and token_audience must be set in the "
		                   "configuration");
	return 0;
}

int
ag_web_subject_key(struct ag_web *w, const char *input, const char *name,
                   char key[AG_NAME_MAX + 1], struct ag_web_err *err)
{
	const char *why = NULL;
	int r;

	if ((r = ag_subject_key(w->cfg, AG_REALM_WEB, name, key, &why)) != 0)
		return ag_web_fail(err, r, ag_err_status(r),
		                   r == AG_ERR_NOMEM ? "internal" : "usage", "{%s}: %s", input,
		                   why != NULL ? why : ag_strerror(r));
	return 0;
}

int
ag_web_check_ip(struct ag_web *w, const char *ip, struct ag_web_err *err)
{
	struct ag_cidr addr;
	char host[AG_HOST_MAX];
	int is_ip = 0;

	if (ip != NULL && (ag_host_normalize(ip, (unsigned)w->cfg->ipv6_prefix, host, sizeof(host),
	                                     &is_ip, &addr) != 0 || !is_ip))
		return ag_web_fail(err, AG_ERR_INVAL, AG_WEB_USAGE, "usage",
		                   "{ip}: not an IPv4 or IPv6 address");
	return 0;
}

void
ag_web_log(struct ag_web *w, int prio, const char *event, const char *k1, const char *v1,
           const char *k2, const char *v2, const char *ki, int64_t vi)
{
	struct ag_logline l;

	ag_logline_init(&l, event);
	if (k1 != NULL && v1 != NULL)
		ag_logline_str(&l, k1, v1);
	if (k2 != NULL && v2 != NULL)
		ag_logline_str(&l, k2, v2);
	if (ki != NULL)
		ag_logline_int(&l, ki, vi);
	ag_log_emit(&w->log, prio, &l);
}
