/* authguard-token's token commands on the command line, and the batch
 * mode that answers newline-delimited JSON requests with the same
 * operations. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "error.h"
#include "session.h"
#include "token.h"
#include "util.h"

#define BATCH_LINE_MAX (64 * 1024) /* longest request line */
#define INPUT_MAX (16 * 1024)      /* longest token line on stdin, at least */

static void usage_tokens(void) __attribute__((noreturn));

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

/* Prints the answer, says why on stderr when it is not a success. */
static int
finish(int code, json_t *out)
{
	if (out == NULL)
		out = json_pack("{s:s}", "error", "internal");
	if (code != CLI_OK) {
		const char *why = json_string_value(json_object_get(out, "reason"));
		const char *msg = json_string_value(json_object_get(out, "message"));

		if (why == NULL)
			why = json_string_value(json_object_get(out, "error"));
		cli_warn("%s%s%s", why != NULL ? why : "failed", msg != NULL ? ": " : "",
		         msg != NULL ? msg : "");
	}
	cli_print_json(out);
	return code;
}

static int
cmd_issue(struct token_ctx *ctx, int argc, char **argv)
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
	struct token_issue_req req = { 0 };
	json_error_t jerr;
	json_t *out = NULL;
	int c, claims_stdin = 0, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': req.sub = optarg; break;
		case 'a': req.aud = optarg; break;
		case 'i': req.sid = optarg; break;
		case 'r': req.refresh = 1; break;
		case 'c': claims_stdin = 1; break;
		case 't':
			if (ag_parse_duration(optarg, 1, 86400, &req.ttl) != 0)
				cli_die(CLI_USAGE, "--ttl: not a duration up to 1d");
			break;
		default: usage_tokens();
		}
	}
	if (optind != argc || req.sub == NULL)
		usage_tokens();
	if (claims_stdin) {
		/* Strict: one JSON object, no duplicate members, bounded. */
		req.extra = json_loadf(stdin, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr);
		if (req.extra == NULL || !json_is_object(req.extra))
			cli_die(CLI_USAGE, "--claims-stdin: not a JSON object (%s)", jerr.text);
	}
	code = token_op_issue(ctx, &req, &out);
	json_decref(req.extra);
	return finish(code, out);
}

/* Reads the one secret line a command takes. */
static char *
read_input(size_t max, const char *what)
{
	char *buf = malloc(max);

	if (buf == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	cli_read_secret(buf, max, what);
	return buf;
}

static void
drop_input(char *buf, size_t max)
{
	sodium_memzero(buf, max);
	free(buf);
}

static int
cmd_with_input(struct token_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "family", no_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	/* Room beyond token_max_len, so a long token is refused as
	 * too_large by verify rather than as unreadable input. */
	size_t max = (size_t)ctx->cfg->token_max_len + 2 < INPUT_MAX ? INPUT_MAX
	                                                             : (size_t)ctx->cfg->token_max_len + 2;
	const char *user = NULL;
	json_t *out = NULL;
	char *in = NULL;
	int c, family = 0, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'f' && strcmp(argv[0], "revoke") == 0)
			family = 1;
		else if (c == 'u' && strcmp(argv[0], "revoke") == 0)
			user = optarg;
		else
			usage_tokens();
	}
	if (optind != argc || (family && user != NULL))
		usage_tokens();
	if (user == NULL)
		in = read_input(max, strcmp(argv[0], "refresh") == 0 ? "refresh token" : "token");
	if (strcmp(argv[0], "verify") == 0)
		code = token_op_verify(ctx, in, strlen(in), &out);
	else if (strcmp(argv[0], "refresh") == 0)
		code = token_op_refresh(ctx, in, strlen(in), &out);
	else
		code = token_op_revoke(ctx, in, in != NULL ? strlen(in) : 0, family, user, &out);
	if (in != NULL)
		drop_input(in, max);
	return finish(code, out);
}

int
token_cmd(struct token_ctx *ctx, int argc, char **argv)
{
	json_t *out = NULL;
	int code;

	if (strcmp(argv[0], "issue") == 0)
		return cmd_issue(ctx, argc, argv);
	if (strcmp(argv[0], "jwks") == 0) {
		if (argc != 1)
			usage_tokens();
		code = token_op_jwks(ctx, &out);
		return finish(code, out);
	}
	if (strcmp(argv[0], "verify") == 0 || strcmp(argv[0], "refresh") == 0 ||
	    strcmp(argv[0], "revoke") == 0)
		return cmd_with_input(ctx, argc, argv);
	usage_tokens();
}

/* ----------------------------------------------------------------- batch */

static const char *
str_member(json_t *req, const char *key)
{
	json_t *v = json_object_get(req, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Answers one request; returns its exit code and sets *out. */
static int
batch_one(struct token_ctx *ctx, json_t *req, json_t **out)
{
	const char *op = str_member(req, "op"), *tok;
	json_t *v;

	*out = NULL;
	if (op == NULL)
		return *out = json_pack("{s:s, s:s}", "error", "usage", "message", "no \"op\""), CLI_USAGE;
	if (strcmp(op, "verify") == 0 || strcmp(op, "refresh") == 0) {
		tok = str_member(req, strcmp(op, "verify") == 0 ? "token" : "refresh_token");
		if (tok == NULL)
			return *out = json_pack("{s:s, s:s}", "error", "usage", "message",
			                        "token missing"), CLI_USAGE;
		return strcmp(op, "verify") == 0 ? token_op_verify(ctx, tok, strlen(tok), out)
		                                 : token_op_refresh(ctx, tok, strlen(tok), out);
	}
	if (strcmp(op, "issue") == 0) {
		struct token_issue_req ir = { 0 };

		ir.sub = str_member(req, "sub");
		ir.aud = str_member(req, "aud");
		ir.sid = str_member(req, "sid");
		ir.refresh = json_is_true(json_object_get(req, "refresh"));
		ir.extra = json_object_get(req, "claims");
		if ((v = json_object_get(req, "ttl")) != NULL) {
			if (!json_is_integer(v) || json_integer_value(v) < 1)
				return *out = json_pack("{s:s, s:s}", "error", "usage", "message",
				                        "ttl must be a positive integer"), CLI_USAGE;
			ir.ttl = json_integer_value(v);
		}
		return token_op_issue(ctx, &ir, out);
	}
	if (strcmp(op, "revoke") == 0) {
		const char *user = str_member(req, "user");
		int family = json_is_true(json_object_get(req, "family"));

		tok = str_member(req, family ? "refresh_token" : "token");
		if (tok == NULL && !family)
			tok = str_member(req, "jti");
		if (user == NULL && tok == NULL)
			return *out = json_pack("{s:s, s:s}", "error", "usage", "message",
			                        "token, jti, refresh_token or user required"), CLI_USAGE;
		return token_op_revoke(ctx, user != NULL ? NULL : tok,
		                       user != NULL ? 0 : strlen(tok), family, user, out);
	}
	if (strcmp(op, "jwks") == 0)
		return token_op_jwks(ctx, out);
	if (strcmp(op, "session_check") == 0) {
		const char *id = str_member(req, "session"), *ua = str_member(req, "user_agent");
		const char *uah = str_member(req, "user_agent_hash");
		uint8_t fp[32];
		size_t got = 0;

		if (id == NULL || (ua == NULL) == (uah == NULL))
			return *out = json_pack("{s:s, s:s}", "error", "usage", "message",
			                        "session and one of user_agent, user_agent_hash required"),
			       CLI_USAGE;
		if (ua != NULL)
			ag_session_fingerprint(ua, NULL, 0, fp);
		else if (strlen(uah) != 64 ||
		         sodium_hex2bin(fp, 32, uah, 64, NULL, &got, NULL) != 0 || got != 32)
			return *out = json_pack("{s:s, s:s}", "error", "usage", "message",
			                        "user_agent_hash: 64 hex digits"), CLI_USAGE;
		return token_op_session_check(ctx, id, strlen(id), fp, out);
	}
	return *out = json_pack("{s:s, s:s}", "error", "usage", "message", "unknown op"), CLI_USAGE;
}

int
token_cmd_batch(struct token_ctx *ctx, int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	json_error_t jerr;

	(void)argv;
	if (argc != 1)
		usage_tokens();
	while ((n = getline(&line, &cap, stdin)) != -1) {
		json_t *req = NULL, *out = NULL, *id = NULL;
		int code;

		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if ((size_t)n > BATCH_LINE_MAX) {
			out = json_pack("{s:s, s:s}", "error", "usage", "message", "request too long");
			code = CLI_USAGE;
		} else if ((req = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
		           !json_is_object(req)) {
			out = json_pack("{s:s, s:s}", "error", "usage", "message",
			                "not a JSON object");
			code = CLI_USAGE;
		} else {
			code = batch_one(ctx, req, &out);
			if (out == NULL)
				out = json_pack("{s:s}", "error", "internal");
			if ((id = json_object_get(req, "id")) != NULL)
				json_object_set(out, "id", id);
		}
		json_object_set_new(out, "status", json_integer(code));
		sodium_memzero(line, (size_t)n);
		json_decref(req);
		cli_print_json(out);
	}
	if (line != NULL) {
		sodium_memzero(line, cap);
		free(line);
	}
	return CLI_OK;
}
