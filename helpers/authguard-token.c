/* authguard-token: what a web backend runs for each login or request.
 *
 *   authguard-token [--conf FILE] guard check   --subject S [--ip ADDR]
 *   authguard-token [--conf FILE] guard failure --subject S [--ip ADDR] [--attempt N]
 *   authguard-token [--conf FILE] guard success --subject S [--ip ADDR] [--attempt N]
 *
 * The same brute-force policy and state as pam_authguard: "check" before
 * verifying a password counts the attempt (and may refuse it), "failure" or
 * "success" settles it.
 *
 *   authguard-token [--conf FILE] mfa verify --user ACCOUNT [--ip ADDR] < code
 *
 * checks a TOTP or backup code with the same rules and state as the PAM
 * module's totp step.  One JSON object on stdout; exit 0 allowed or
 * recorded, 1 refused, 2 usage or configuration, 3 internal error. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "guard.h"
#include "mfa.h"
#include "token.h"
#include "net.h"
#include "store.h"
#include "util.h"

static const char *conf_path;
static struct ag_config cfg;

static void
usage(void)
{
	fprintf(stderr,
	        "usage: authguard-token [--conf FILE] guard check|failure|success\n"
	        "                       --subject NAME [--ip ADDR] [--attempt ID]\n"
	        "       authguard-token [--conf FILE] mfa verify --user ACCOUNT [--ip ADDR]\n"
	        "                       (the TOTP or backup code on stdin)\n"
	        "       authguard-token [--conf FILE] issue --sub SUBJECT [--aud AUD] [--sid SID]\n"
	        "                       [--ttl SECONDS] [--refresh] [--claims-stdin]\n"
	        "       authguard-token [--conf FILE] verify | refresh | revoke [--family | --user S]\n"
	        "                       (the token on stdin)\n"
	        "       authguard-token [--conf FILE] jwks | batch\n");
	exit(CLI_USAGE);
}

static const char *
reason_code(const struct ag_guard_result *res)
{
	if (res->verdict == AG_REFUSE_LOCKED)
		return res->refused_by == AG_SUBJECT_HOST ? "host_locked" : "locked";
	if (res->verdict == AG_REFUSE_EARLY)
		return res->refused_by == AG_SUBJECT_HOST ? "host_too_early" : "too_early";
	if (res->verdict == AG_REFUSE_BUSY)
		return res->refused_by == AG_SUBJECT_HOST ? "host_busy" : "busy";
	return NULL;
}

static json_t *
result_json(const struct ag_guard_result *res, int with_allowed)
{
	json_t *o = json_object();
	const char *reason = with_allowed ? reason_code(res) : NULL;

	if (o == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	if (with_allowed)
		json_object_set_new(o, "allowed", json_boolean(res->allowed));
	if (res->attempt != 0)
		json_object_set_new(o, "attempt", json_integer((json_int_t)res->attempt));
	json_object_set_new(o, "reason", reason != NULL ? json_string(reason) : json_null());
	/* After a failure: the delay now owed (or the lock's remaining time). */
	json_object_set_new(o, "retry_after",
	                    json_integer((json_int_t)(with_allowed ? res->retry_after
	                                              : res->locked_until == AG_FOREVER ? -1
	                                              : res->locked_until > 0
	                                                  ? res->locked_until - ag_clock_now()
	                                                  : res->delay)));
	json_object_set_new(o, "locked_until",
	                    res->locked_until == 0 ? json_null()
	                    : res->locked_until == AG_FOREVER ? json_string("never")
	                    : json_integer((json_int_t)res->locked_until));
	json_object_set_new(o, "failures", json_integer((json_int_t)res->failures));
	json_object_set_new(o, "host_failures", json_integer((json_int_t)res->host_failures));
	return o;
}

static int
cmd_guard(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "ip", required_argument, NULL, 'i' },
		{ "attempt", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct ag_guard g = { .cfg = &cfg, .log = { .sink = ag_log_sink_syslog } };
	struct ag_guard_req req = { .service = "web" };
	struct ag_guard_result res;
	struct ag_cidr addr;
	char host[AG_HOST_MAX], err[AG_ERRBUF], key[AG_NAME_MAX + 1];
	const char *op, *reason = NULL;
	int64_t attempt = 0;
	int c, r, is_ip = 0, code = CLI_OK;

	if (argc < 2)
		usage();
	op = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			req.user = optarg;
			break;
		case 'i':
			req.rhost = optarg;
			break;
		case 'a':
			if (ag_parse_int64(optarg, 1, INT64_MAX, &attempt) != 0)
				cli_die(CLI_USAGE, "--attempt: not a positive whole number");
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || req.user == NULL)
		usage();
	/* Folding (web_subject_fold) happens in the guard; a subject that
	 * cannot be folded is the caller's error. */
	if ((r = ag_guard_subject_key(&cfg, &req, key, &reason)) != 0)
		cli_die(cli_exit_for(r), "--subject: %s", reason);
	/* The web side passes addresses, never names: anything else is a bug
	 * in the caller and must not silently become a new subject. */
	if (req.rhost != NULL &&
	    (ag_host_normalize(req.rhost, (unsigned)cfg.ipv6_prefix, host, sizeof(host), &is_ip,
	                       &addr) != 0 || !is_ip))
		cli_die(CLI_USAGE, "--ip: not an IPv4 or IPv6 address");
	if (strcmp(op, "check") != 0 && strcmp(op, "failure") != 0 && strcmp(op, "success") != 0)
		usage();

	if ((r = ag_store_open(&cfg, 0, &g.store, err)) != 0)
		cli_die(cli_exit_for(r), "%s", err);
	if (strcmp(op, "check") == 0) {
		r = ag_guard_begin(&g, &req, &res);
		if (r == 0 && !res.allowed)
			code = CLI_REJECT;
	} else if (strcmp(op, "failure") == 0) {
		r = ag_guard_fail(&g, &req, attempt, &res);
	} else {
		r = ag_guard_succeed(&g, &req, attempt, &res);
		if (r == 0 && !res.allowed)
			code = CLI_REJECT;
	}
	if (r != 0) {
		const char *msg = ag_store_errmsg(g.store);

		cli_warn("%s", msg[0] != '\0' ? msg : ag_strerror(r));
		ag_store_close(g.store);
		return CLI_INTERNAL;
	}
	ag_store_close(g.store);
	cli_print_json(result_json(&res, strcmp(op, "failure") != 0));
	if (code == CLI_REJECT) {
		char wait[64];

		ag_format_wait(wait, sizeof(wait), res.retry_after);
		cli_warn("refused: %s%s%s", reason_code(&res),
		         res.retry_after > 0 ? ", retry in " : "", res.retry_after > 0 ? wait : "");
	}
	return code;
}

/* authguard-token mfa verify --user ACCOUNT [--ip ADDR]: a TOTP or backup
 * code on stdin.  Refused while the account is locked; a wrong code counts
 * as a failed attempt (it settles the attempt a "guard check" started). */
static int
cmd_mfa(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "ip", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct ag_guard g = { .cfg = &cfg, .log = { .sink = ag_log_sink_syslog } };
	struct ag_guard_req req = { .service = "web" };
	struct ag_guard_result res;
	struct ag_mfa mfa = { .cfg = &cfg, .log = { .sink = ag_log_sink_syslog } };
	enum ag_mfa_result result = AG_MFA_WRONG;
	struct ag_cidr addr;
	char code[256], host[AG_HOST_MAX], err[AG_ERRBUF], key[AG_NAME_MAX + 1];
	const char *reason = NULL;
	json_t *o;
	int c, r, is_ip = 0;

	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		usage();
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "+", opts, NULL)) != -1) {
		if (c == 'u')
			req.user = optarg;
		else if (c == 'i')
			req.rhost = optarg;
		else
			usage();
	}
	if (optind != argc - 1 || req.user == NULL)
		usage();
	if ((r = ag_guard_subject_key(&cfg, &req, key, &reason)) != 0)
		cli_die(cli_exit_for(r), "--user: %s", reason);
	if (req.rhost != NULL &&
	    (ag_host_normalize(req.rhost, (unsigned)cfg.ipv6_prefix, host, sizeof(host), &is_ip,
	                       &addr) != 0 || !is_ip))
		cli_die(CLI_USAGE, "--ip: not an IPv4 or IPv6 address");
	cli_read_secret(code, sizeof(code), "code");

	if ((r = ag_store_open(&cfg, 0, &g.store, err)) != 0) {
		sodium_memzero(code, sizeof(code));
		cli_die(cli_exit_for(r), "%s", err);
	}
	mfa.store = g.store;
	if ((r = ag_mfa_load_key(&mfa, err)) != 0) {
		sodium_memzero(code, sizeof(code));
		cli_die(cli_exit_for(r), "%s", err);
	}
	if ((r = ag_guard_account_check(&g, &req, &res)) != 0)
		goto internal;
	if (!res.allowed) {
		o = json_pack("{s:b, s:s, s:I}", "valid", 0, "reason", "locked", "retry_after",
		              (json_int_t)res.retry_after);
		goto reject;
	}
	if ((r = ag_mfa_verify(&mfa, req.user, code, &result)) != 0)
		goto internal;
	if (result == AG_MFA_OK_TOTP || result == AG_MFA_OK_BACKUP) {
		struct ag_mfa_status st;

		if ((r = ag_mfa_get_status(&mfa, req.user, &st)) != 0)
			goto internal;
		sodium_memzero(code, sizeof(code));
		ag_mfa_clear(&mfa);
		ag_store_close(g.store);
		cli_print_json(json_pack("{s:b, s:s, s:I}", "valid", 1, "method",
		                         result == AG_MFA_OK_TOTP ? "totp" : "backup",
		                         "backup_codes_left", (json_int_t)st.backup_left));
		return CLI_OK;
	}
	if (!ag_mfa_counts_as_failure(result)) {
		/* Replayed: refused, not counted.  The attempt "guard check"
		 * started stays in flight for the next code (the backend asks
		 * for it, then runs guard success); it is not withdrawn, as
		 * without its id the oldest in flight could be another
		 * login's.  retry_after: when the next code shows. */
		int64_t wait = 0;

		if ((r = ag_mfa_next_code_wait(&mfa, req.user, &wait)) != 0)
			goto internal;
		o = json_pack("{s:b, s:s, s:I}", "valid", 0, "reason", ag_mfa_result_name(result),
		              "retry_after", (json_int_t)wait);
		goto reject;
	}
	if ((r = ag_guard_fail(&g, &req, 0, &res)) != 0)
		goto internal;
	o = json_pack("{s:b, s:s, s:I, s:o}", "valid", 0, "reason", ag_mfa_result_name(result),
	              "failures", (json_int_t)res.failures, "locked_until",
	              res.locked_until == 0 ? json_null()
	              : res.locked_until == AG_FOREVER ? json_string("never")
	              : json_integer((json_int_t)res.locked_until));
reject:
	sodium_memzero(code, sizeof(code));
	ag_mfa_clear(&mfa);
	ag_store_close(g.store);
	cli_print_json(o);
	cli_warn("code refused");
	return CLI_REJECT;
internal:
	sodium_memzero(code, sizeof(code));
	ag_mfa_clear(&mfa);
	{
		const char *msg = ag_store_errmsg(g.store);

		cli_warn("%s", msg[0] != '\0' ? msg
		              : r == AG_ERR_CORRUPT ? "stored TOTP secret does not open (wrong secrets key or tampered row)"
		              : ag_strerror(r));
	}
	ag_store_close(g.store);
	return CLI_INTERNAL;
}

int
main(int argc, char **argv)
{
	int i;

	cli_progname = "authguard-token";
	cli_json_wipe_memory();
	i = cli_global_options(argc, argv, &conf_path, usage);
	if (strcmp(argv[i], "version") == 0) {
		printf("authguard-token %s\n", PACKAGE_VERSION);
		return CLI_OK;
	}
	cli_log_open();
	cli_load_config(&cfg, conf_path);
	if (strcmp(argv[i], "guard") == 0)
		return cmd_guard(argc - i, argv + i);
	if (strcmp(argv[i], "mfa") == 0)
		return cmd_mfa(argc - i, argv + i);
	if (strcmp(argv[i], "issue") == 0 || strcmp(argv[i], "verify") == 0 ||
	    strcmp(argv[i], "refresh") == 0 || strcmp(argv[i], "revoke") == 0 ||
	    strcmp(argv[i], "jwks") == 0 || strcmp(argv[i], "batch") == 0 ||
	    strcmp(argv[i], "session") == 0 || strcmp(argv[i], "logout") == 0) {
		struct token_ctx ctx = { .cfg = &cfg };
		int code = strcmp(argv[i], "batch") == 0     ? token_cmd_batch(&ctx, argc - i, argv + i)
		         : strcmp(argv[i], "session") == 0   ? token_cmd_session(&ctx, argc - i, argv + i)
		         : strcmp(argv[i], "logout") == 0    ? token_cmd_logout(&ctx, argc - i, argv + i)
		                                             : token_cmd(&ctx, argc - i, argv + i);

		token_ctx_close(&ctx);
		return code;
	}
	cli_warn("unknown command %s", argv[i]);
	usage();
}
