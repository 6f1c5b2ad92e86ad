/* authguard-token: what a web backend runs for each login or request.
 *
 *   authguard-token [--conf FILE] guard check|failure|success --subject S [--ip A] [--attempt N]
 *   authguard-token [--conf FILE] mfa verify --user ACCOUNT [--ip ADDR] < code
 *   authguard-token [--conf FILE] issue|verify|refresh|revoke|jwks ...
 *   authguard-token [--conf FILE] session create|check|rotate|list|end ...
 *   authguard-token [--conf FILE] logout < "id access-token refresh-token"
 *   authguard-token [--conf FILE] batch
 *
 * Each command is the request of one op of the web protocol
 * (lib/web/proto.h), built from its arguments and standard input and
 * answered by the same dispatcher as the batch mode, which reads one JSON
 * request per line and serves every op (the webhook's too).  Every rule
 * is in lib/web; this file and token_cli.c only turn argv and stdin into
 * requests.  One JSON object on stdout; exit 0 ok, 1 refused, 2 usage or
 * configuration, 3 internal error. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "daemon_client.h"
#include "config.h"
#include "proto.h"
#include "token.h"
#include "util.h"
#include "web_cli.h"

static const char *conf_path;
static struct ag_config cfg;

static void usage(void) __attribute__((noreturn));

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
	        "       authguard-token [--conf FILE] session create|check|rotate|list|end ...\n"
	        "       authguard-token [--conf FILE] logout   (session id and tokens on stdin)\n"
	        "       authguard-token [--conf FILE] jwks | batch\n"
	        "--daemon (or daemon = yes in the file): ask authguardd, which holds the\n"
	        "state and the keys; given before the command like --conf.\n");
	exit(CLI_USAGE);
}

/* guard check|failure|success --subject S [--ip A] [--attempt N] */
static int
cmd_guard(struct ag_web *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "ip", required_argument, NULL, 'i' },
		{ "attempt", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	char op[32];
	int64_t attempt;
	json_t *req;
	int c;

	if (argc < 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "failure") != 0 &&
	                 strcmp(argv[1], "success") != 0))
		usage();
	snprintf(op, sizeof(op), "guard_%s", argv[1]);
	req = web_req(op);
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			web_req_str(req, "subject", optarg);
			break;
		case 'i':
			web_req_str(req, "ip", optarg);
			break;
		case 'a':
			/* check starts an attempt; failure and success settle one */
			if (strcmp(argv[1], "check") == 0)
				usage();
			if (ag_parse_int64(optarg, 1, INT64_MAX, &attempt) != 0)
				cli_die(CLI_USAGE, "--attempt: not a positive whole number");
			web_req_int(req, "attempt", attempt);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || json_object_get(req, "subject") == NULL)
		usage();
	return web_run(w, req);
}

/* mfa verify --user ACCOUNT [--ip ADDR], the code on stdin. */
static int
cmd_mfa(struct ag_web *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "ip", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *req;
	int c;

	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		usage();
	req = web_req("mfa_verify");
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "+", opts, NULL)) != -1) {
		if (c == 'u')
			web_req_str(req, "user", optarg);
		else if (c == 'i')
			web_req_str(req, "ip", optarg);
		else
			usage();
	}
	if (optind != argc - 1 || json_object_get(req, "user") == NULL)
		usage();
	web_req_stdin(&cfg, req, "code", "code");
	return web_run(w, req);
}

/* Reads one request line into buf (cap bytes): its length (NUL added),
 * -1 at the end of the input, or -2 for a line longer than cap - 1 bytes,
 * whose rest is read and dropped so that the next line is the next
 * request.  Holds at most cap bytes, however long the line (getline(3)
 * would take all of it into memory first). */
static ssize_t
batch_read_line(char *buf, size_t cap)
{
	size_t n = 0;
	int c, over = 0;

	while ((c = getc_unlocked(stdin)) != EOF && c != '\n') {
		if (n + 1 < cap)
			buf[n++] = (char)c;
		else
			over = 1;
	}
	buf[n] = '\0';
	if (c == EOF && n == 0 && !over)
		return -1;
	return over ? -2 : (ssize_t)n;
}

/* The answer of authguardd to one batch line (daemon = yes), written as
 * it came; a daemon that went away is connected to again for the next
 * line, and this line gets an internal error (it may have been carried
 * out: never sent twice). */
static void
batch_via_daemon(struct ag_daemon_conn **c, const char *line, size_t len)
{
	char err[AG_ERRBUF], *answer = NULL;
	size_t alen = 0;
	json_t *o;
	int r;

	if (*c == NULL && ag_daemon_connect(&cfg, c, err) != 0) {
		o = json_pack("{s:s, s:s, s:i}", "error", "internal", "message", err, "status", 3);
		cli_print_json(o);
		return;
	}
	if ((r = ag_daemon_call_line(*c, line, len, &answer, &alen, err)) != 0) {
		ag_daemon_close(*c);
		*c = NULL;
		o = json_pack("{s:s, s:s, s:i}", "error", "internal", "message", err, "status", 3);
		cli_print_json(o);
		return;
	}
	if (fwrite(answer, 1, alen, stdout) != alen || putchar('\n') == EOF || fflush(stdout) != 0) {
		ag_daemon_free_line(answer, alen);
		cli_die(CLI_INTERNAL, "cannot write the answer");
	}
	ag_daemon_free_line(answer, alen);
}

/* batch: one JSON request per line, one answer line each, every op. */
static int
cmd_batch(struct ag_web *w, int argc, char **argv)
{
	size_t cap = ag_web_line_max(&cfg) + 1;
	struct ag_daemon_conn *conn = NULL;
	char *line;
	ssize_t n;

	(void)argv;
	if (argc != 1)
		usage();
	if ((line = malloc(cap)) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	while ((n = batch_read_line(line, cap)) != -1) {
		json_t *out;

		if (n == 0)
			continue;
		if (cfg.daemon && n > 0) {
			batch_via_daemon(&conn, line, (size_t)n);
			sodium_memzero(line, (size_t)n);
			continue;
		}
		out = ag_web_answer_line(w, line, n < 0 ? 0 : (size_t)n, n < 0);
		sodium_memzero(line, n < 0 ? cap : (size_t)n);
		cli_print_json(out); /* (exits 3 when out of memory left no answer) */
	}
	ag_daemon_close(conn);
	sodium_memzero(line, cap);
	free(line);
	return CLI_OK;
}

int
main(int argc, char **argv)
{
	static const struct ag_log log = { .sink = ag_log_sink_syslog };
	struct ag_web w;
	const char *cmd;
	int i, code;

	cli_progname = "authguard-token";
	cli_json_wipe_memory();
	i = cli_global_options(argc, argv, &conf_path, usage);
	cmd = argv[i];
	if (strcmp(cmd, "version") == 0) {
		printf("authguard-token %s\n", PACKAGE_VERSION);
		return CLI_OK;
	}
	if (strcmp(cmd, "guard") != 0 && strcmp(cmd, "mfa") != 0 && strcmp(cmd, "issue") != 0 &&
	    strcmp(cmd, "verify") != 0 && strcmp(cmd, "refresh") != 0 &&
	    strcmp(cmd, "revoke") != 0 && strcmp(cmd, "jwks") != 0 && strcmp(cmd, "batch") != 0 &&
	    strcmp(cmd, "session") != 0 && strcmp(cmd, "logout") != 0) {
		cli_warn("unknown command %s", cmd);
		usage();
	}
	cli_log_open();
	cli_load_config(&cfg, conf_path);
	ag_web_init(&w, &cfg, &log);
	argc -= i;
	argv += i;
	if (strcmp(cmd, "guard") == 0)
		code = cmd_guard(&w, argc, argv);
	else if (strcmp(cmd, "mfa") == 0)
		code = cmd_mfa(&w, argc, argv);
	else if (strcmp(cmd, "batch") == 0)
		code = cmd_batch(&w, argc, argv);
	else if (strcmp(cmd, "session") == 0)
		code = token_cmd_session(&w, argc, argv);
	else if (strcmp(cmd, "logout") == 0)
		code = token_cmd_logout(&w, argc, argv);
	else
		code = token_cmd(&w, argc, argv);
	ag_web_close(&w);
	return code;
}
