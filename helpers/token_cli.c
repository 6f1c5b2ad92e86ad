/* authguard-token's token, session and logout commands: the command line
 * as a request of its op.  Secrets come on standard input only. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "json_out.h"
#include "session.h"
#include "token.h"
#include "util.h"
#include "web_cli.h"

#define REFRESH_PREFIX "agr_"

static void usage_tokens(void) __attribute__((noreturn));
static void usage_sessions(void) __attribute__((noreturn));

static void
usage_tokens(void)
{
	fprintf(stderr,
	        "usage: authguard-token [--conf FILE] issue --sub SUBJECT [--aud AUD] [--sid SID]\n"
	        "                       [--ttl SECONDS] [--refresh] [--claims-stdin]\n"
	        "       authguard-token [--conf FILE] verify          (access token on stdin)\n"
	        "       authguard-token [--conf FILE] refresh         (refresh token on stdin)\n"
	        "       authguard-token [--conf FILE] revoke          (access token or jti on stdin)\n"
	        "       authguard-token [--conf FILE] revoke --family (refresh token on stdin)\n"
	        "       authguard-token [--conf FILE] revoke --user SUBJECT\n"
	        "       authguard-token [--conf FILE] jwks\n"
	        "       authguard-token [--conf FILE] batch           (JSON requests, one per line)\n");
	exit(CLI_USAGE);
}

static void
usage_sessions(void)
{
	fprintf(stderr,
	        "usage: authguard-token session create --user U (--user-agent UA | --user-agent-hash HEX)\n"
	        "                       [--attr VALUE]... [--clerk-session ID]\n"
	        "       authguard-token session check (--user-agent UA | --user-agent-hash HEX)\n"
	        "                       [--attr VALUE]...          (session id on stdin)\n"
	        "       authguard-token session rotate                (session id on stdin)\n"
	        "       authguard-token session list --user U\n"
	        "       authguard-token session end [--user U | --sid HANDLE]  (else id on stdin)\n"
	        "       authguard-token logout   (session id, then optionally the access and\n"
	        "                                 refresh tokens, one per line on stdin)\n");
	exit(CLI_USAGE);
}

static int
cmd_issue(struct ag_web *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sub", required_argument, NULL, 's' },
		{ "aud", required_argument, NULL, 'a' },
		{ "sid", required_argument, NULL, 'i' },
		{ "ttl", required_argument, NULL, 't' },
		{ "refresh", no_argument, NULL, 'r' },
		{ "claims-stdin", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *req = web_req("issue"), *claims;
	json_error_t jerr;
	int64_t ttl;
	int c, claims_stdin = 0, nomem = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': web_req_str(req, "sub", optarg); break;
		case 'a': web_req_str(req, "aud", optarg); break;
		case 'i': web_req_str(req, "sid", optarg); break;
		case 'r': web_req_true(req, "refresh"); break;
		case 'c': claims_stdin = 1; break;
		case 't':
			if (ag_parse_duration(optarg, 1, 86400, &ttl) != 0)
				cli_die(CLI_USAGE, "--ttl: not a duration up to 1d");
			web_req_int(req, "ttl", ttl);
			break;
		default: usage_tokens();
		}
	}
	if (optind != argc || json_object_get(req, "sub") == NULL)
		usage_tokens();
	if (claims_stdin) {
		/* Strict: one JSON object, no duplicate members, bounded. */
		claims = ag_json_loadf(stdin, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK,
		                       &jerr, &nomem);
		if (nomem)
			cli_die(CLI_INTERNAL, "--claims-stdin: out of memory");
		if (claims == NULL || !json_is_object(claims)) {
			json_decref(claims);
			cli_die(CLI_USAGE, "--claims-stdin: not a JSON object (%s)",
			        claims != NULL ? "an array or a scalar" : jerr.text);
		}
		web_req_set(req, "claims", claims);
	}
	return web_run(w, req);
}

/* verify, refresh, revoke: the token on stdin, or revoke --user. */
static int
cmd_with_input(struct ag_web *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "family", no_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	int revoke = strcmp(argv[0], "revoke") == 0, family = 0, c;
	const char *user = NULL;
	json_t *req;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'f' && revoke)
			family = 1;
		else if (c == 'u' && revoke)
			user = optarg;
		else
			usage_tokens();
	}
	if (optind != argc || (family && user != NULL))
		usage_tokens();
	req = web_req(argv[0]);
	if (user != NULL)
		web_req_str(req, "user", user);
	else if (strcmp(argv[0], "refresh") == 0 || family)
		web_req_stdin(w->cfg, req, "refresh_token", "refresh token");
	else
		web_req_stdin(w->cfg, req, "token", "token");
	if (family)
		web_req_true(req, "family");
	return web_run(w, req);
}

int
token_cmd(struct ag_web *w, int argc, char **argv)
{
	if (strcmp(argv[0], "issue") == 0)
		return cmd_issue(w, argc, argv);
	if (strcmp(argv[0], "jwks") == 0) {
		if (argc != 1)
			usage_tokens();
		return web_run(w, web_req("jwks"));
	}
	if (strcmp(argv[0], "verify") == 0 || strcmp(argv[0], "refresh") == 0 ||
	    strcmp(argv[0], "revoke") == 0)
		return cmd_with_input(w, argc, argv);
	usage_tokens();
}

/* ------------------------------------------------------------- sessions */

/* create and check: the user, the fingerprint options, and for check the
 * id on stdin. */
static int
cmd_create_check(struct ag_web *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "user-agent", required_argument, NULL, 'a' },
		{ "user-agent-hash", required_argument, NULL, 'h' },
		{ "attr", required_argument, NULL, 't' },
		{ "clerk-session", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int create = strcmp(argv[0], "create") == 0, c;
	json_t *req = web_req(create ? "session_create" : "session_check");

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'a': web_req_str(req, "user_agent", optarg); break;
		case 'h': web_req_str(req, "user_agent_hash", optarg); break;
		case 't': web_req_append(req, "attrs", optarg); break;
		case 'u':
			if (!create)
				usage_sessions();
			web_req_str(req, "user", optarg);
			break;
		case 'c':
			if (!create)
				usage_sessions();
			web_req_str(req, "clerk_session", optarg);
			break;
		default: usage_sessions();
		}
	}
	if (optind != argc || (create && json_object_get(req, "user") == NULL))
		usage_sessions();
	if (!create)
		web_req_stdin(w->cfg, req, "session", "session id");
	return web_run(w, req);
}

int
token_cmd_session(struct ag_web *w, int argc, char **argv)
{
	json_t *req;

	if (argc < 2)
		usage_sessions();
	argc--;
	argv++;
	if (strcmp(argv[0], "create") == 0 || strcmp(argv[0], "check") == 0)
		return cmd_create_check(w, argc, argv);
	if (strcmp(argv[0], "rotate") == 0) {
		if (argc != 1)
			usage_sessions();
		req = web_req("session_rotate");
		web_req_stdin(w->cfg, req, "session", "session id");
		return web_run(w, req);
	}
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 3 || strcmp(argv[1], "--user") != 0)
			usage_sessions();
		req = web_req("session_list");
		web_req_str(req, "user", argv[2]);
		return web_run(w, req);
	}
	if (strcmp(argv[0], "end") == 0) {
		req = web_req("session_end");
		if (argc == 3 && strcmp(argv[1], "--user") == 0)
			web_req_str(req, "user", argv[2]);
		else if (argc == 3 && strcmp(argv[1], "--sid") == 0)
			web_req_str(req, "sid", argv[2]);
		else if (argc == 1)
			web_req_stdin(w->cfg, req, "session", "session id");
		else
			usage_sessions();
		return web_run(w, req);
	}
	usage_sessions();
}

/* logout: up to three lines on stdin, each recognised by its shape -- an
 * ags_... session id, an agr_... refresh token, a JWT (with dots) access
 * token -- in any order; empty lines are skipped.  The session id is
 * required.  Nothing is done before all of them have been read. */
int
token_cmd_logout(struct ag_web *w, int argc, char **argv)
{
	size_t max = ag_web_token_input_max(w->cfg) + 1; /* the longest line and its NUL */
	const char *member = NULL, *why;
	char *line;
	uint8_t hash[32];
	json_t *req;
	int lines = 0, got;

	(void)argv;
	if (argc != 1)
		usage_sessions();
	if ((line = malloc(max)) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	req = web_req("logout");
	while (lines < 3 && (got = cli_read_line(line, max)) != CLI_LINE_EOF) {
		size_t len = strlen(line);

		lines++;
		if (got == CLI_LINE_EMPTY)
			continue;
		why = NULL;
		if (got != CLI_LINE_OK)
			why = "input line too long or not text";
		else if (ag_session_parse_id(line, len, hash) == 0)
			member = "session";
		else if (strncmp(line, REFRESH_PREFIX, strlen(REFRESH_PREFIX)) == 0)
			member = "refresh_token";
		else if (memchr(line, '.', len) != NULL)
			member = "token";
		else
			why = "a line is neither a session id nor a token";
		if (why == NULL && json_object_get(req, member) != NULL)
			why = "two lines of the same kind";
		if (why == NULL)
			web_req_bytes(req, member, line, len);
		sodium_memzero(line, max);
		if (why != NULL) {
			free(line);
			cli_die(CLI_USAGE, "logout: %s", why);
		}
	}
	free(line);
	if (json_object_get(req, "session") == NULL)
		cli_die(CLI_USAGE, "logout: the session id is required on stdin");
	return web_run(w, req);
}
