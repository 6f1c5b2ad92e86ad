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

#define INPUT_MIN (16 * 1024)      /* token_input_max(), at least */
#define BATCH_LINE_MIN (64 * 1024) /* batch_line_max(), at least */
#define BATCH_ID_MAX 256           /* bytes of a string id */

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
		unsigned long failures = ag_json_alloc_failures();

		req.extra = json_loadf(stdin, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr);
		if (ag_json_alloc_failures() != failures)
			cli_die(CLI_INTERNAL, "out of memory");
		if (req.extra == NULL || !json_is_object(req.extra))
			cli_die(CLI_USAGE, "--claims-stdin: not a JSON object (%s)", jerr.text);
	}
	code = token_op_issue(ctx, &req, &out);
	json_decref(req.extra);
	return finish(code, out);
}

size_t
token_input_max(const struct ag_config *cfg)
{
	size_t twice = 2 * (size_t)cfg->token_max_len;

	return twice > INPUT_MIN ? twice : INPUT_MIN;
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
	/* the longest input and its NUL (a longer line: status 2) */
	size_t max = token_input_max(ctx->cfg) + 1;
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

/* A request carries "op", optionally "id", and the members of its command
 * line, nothing else: an unknown member, or one of the wrong type (null
 * included), is a usage error as an unknown or malformed option is, never
 * silently ignored (a misspelt "family" must not revoke something else,
 * an "aud" of the wrong type must not become token_audience). */
static const struct batch_op {
	const char *op;
	const char *members[7];
} batch_ops[] = {
	{ "verify", { "token" } },
	{ "refresh", { "refresh_token" } },
	{ "issue", { "sub", "aud", "sid", "ttl", "refresh", "claims" } },
	{ "revoke", { "token", "jti", "refresh_token", "family", "user" } },
	{ "jwks", { NULL } },
	{ "session_check", { "session", "user_agent", "user_agent_hash", "attrs" } },
};

/* Longest request line: 64 KiB or four times token_max_len, whichever is
 * larger; at least twice token_input_max(), so that every token the
 * command line reads fits in a request with its JSON around it. */
static size_t
batch_line_max(const struct ag_config *cfg)
{
	size_t four = 4 * (size_t)cfg->token_max_len;

	return four > BATCH_LINE_MIN ? four : BATCH_LINE_MIN;
}

static int
usage_answer(json_t **out, const char *msg)
{
	*out = json_pack("{s:s, s:s}", "error", "usage", "message", msg);
	return CLI_USAGE;
}

/* The string member key: 0 with *v NULL when absent or set when a string;
 * anything else is a usage error. */
static int
member_str(json_t *req, const char *key, const char **v, json_t **out)
{
	json_t *j = json_object_get(req, key);
	char msg[96];

	*v = NULL;
	if (j == NULL)
		return 0;
	if (!json_is_string(j)) {
		snprintf(msg, sizeof(msg), "\"%s\" must be a string", key);
		return usage_answer(out, msg);
	}
	*v = json_string_value(j);
	return 0;
}

/* The boolean member key: 0 (absent or false) or 1 in *v. */
static int
member_bool(json_t *req, const char *key, int *v, json_t **out)
{
	json_t *j = json_object_get(req, key);
	char msg[96];

	*v = 0;
	if (j == NULL)
		return 0;
	if (!json_is_boolean(j)) {
		snprintf(msg, sizeof(msg), "\"%s\" must be true or false", key);
		return usage_answer(out, msg);
	}
	*v = json_is_true(j);
	return 0;
}

/* What the command line refuses before the operation sees its input (an
 * empty line, a line too long) is refused here alike: usage, status 2. */
static int
input_ok(const char *key, const char *v, size_t max, json_t **out)
{
	char msg[96];

	if (v[0] == '\0')
		snprintf(msg, sizeof(msg), "\"%s\" is empty", key);
	else if (strnlen(v, max + 1) > max)
		snprintf(msg, sizeof(msg), "\"%s\" is longer than %zu bytes", key, max);
	else
		return 0;
	return usage_answer(out, msg);
}

/* A required input member: a non-empty string of at most max bytes. */
static int
member_input(json_t *req, const char *key, size_t max, const char **v, json_t **out)
{
	char msg[96];
	int code;

	if ((code = member_str(req, key, v, out)) != 0)
		return code;
	if (*v == NULL) {
		snprintf(msg, sizeof(msg), "\"%s\" required", key);
		return usage_answer(out, msg);
	}
	return input_ok(key, *v, max, out);
}

static int
batch_issue(struct token_ctx *ctx, json_t *req, json_t **out)
{
	struct token_issue_req ir = { 0 };
	json_t *v;
	int code;

	if ((code = member_str(req, "sub", &ir.sub, out)) != 0 ||
	    (code = member_str(req, "aud", &ir.aud, out)) != 0 ||
	    (code = member_str(req, "sid", &ir.sid, out)) != 0 ||
	    (code = member_bool(req, "refresh", &ir.refresh, out)) != 0)
		return code;
	ir.extra = json_object_get(req, "claims"); /* token_op_issue wants an object */
	if ((v = json_object_get(req, "ttl")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return usage_answer(out, "ttl must be a positive integer");
		ir.ttl = json_integer_value(v);
	}
	return token_op_issue(ctx, &ir, out);
}

/* One thing to revoke, as on the command line: an access token or a jti
 * (what stdin carries for revoke), a refresh token with "family": true
 * (revoke --family), or a user (revoke --user). */
static int
batch_revoke(struct token_ctx *ctx, json_t *req, json_t **out)
{
	const char *tok, *jti, *rt, *user, *in, *key;
	int family, code;

	if ((code = member_str(req, "token", &tok, out)) != 0 ||
	    (code = member_str(req, "jti", &jti, out)) != 0 ||
	    (code = member_str(req, "refresh_token", &rt, out)) != 0 ||
	    (code = member_str(req, "user", &user, out)) != 0 ||
	    (code = member_bool(req, "family", &family, out)) != 0)
		return code;
	if ((tok != NULL) + (jti != NULL) + (rt != NULL) + (user != NULL) != 1 ||
	    family != (rt != NULL))
		return usage_answer(out, "one of token, jti, refresh_token with \"family\": true, "
		                         "or user required");
	if (user != NULL)
		return token_op_revoke(ctx, NULL, 0, 0, user, out);
	in = tok != NULL ? tok : jti != NULL ? jti : rt;
	key = tok != NULL ? "token" : jti != NULL ? "jti" : "refresh_token";
	if ((code = input_ok(key, in, token_input_max(ctx->cfg), out)) != 0)
		return code;
	return token_op_revoke(ctx, in, strlen(in), family, NULL, out);
}

/* session check: the fingerprint from user_agent (with attrs, as --attr)
 * or user_agent_hash, one of them. */
static int
batch_session_check(struct token_ctx *ctx, json_t *req, json_t **out)
{
	const char *id, *ua, *uah, *attrs[TOKEN_MAX_ATTRS];
	json_t *arr = json_object_get(req, "attrs"), *v;
	uint8_t fp[32];
	size_t i, n = 0, got = 0;
	int code;

	if ((code = member_str(req, "user_agent", &ua, out)) != 0 ||
	    (code = member_str(req, "user_agent_hash", &uah, out)) != 0)
		return code;
	if (arr != NULL) {
		if (!json_is_array(arr) || json_array_size(arr) > TOKEN_MAX_ATTRS)
			return usage_answer(out, "attrs: an array of at most 8 strings");
		json_array_foreach(arr, i, v) {
			if (!json_is_string(v))
				return usage_answer(out, "attrs: an array of at most 8 strings");
			attrs[n++] = json_string_value(v);
		}
	}
	if ((ua == NULL) == (uah == NULL))
		return usage_answer(out, "one of user_agent, user_agent_hash required");
	if (uah != NULL && (n > 0 || strlen(uah) != 64 ||
	                    sodium_hex2bin(fp, 32, uah, 64, NULL, &got, NULL) != 0 || got != 32))
		return usage_answer(out, "user_agent_hash: 64 hex digits (and no attrs)");
	if ((code = member_input(req, "session", TOKEN_SESSION_INPUT_MAX, &id, out)) != 0)
		return code;
	if (ua != NULL)
		ag_session_fingerprint(ua, attrs, n, fp);
	return token_op_session_check(ctx, id, strlen(id), fp, out);
}

/* Answers one request; returns its exit code and sets *out. */
static int
batch_one(struct token_ctx *ctx, json_t *req, json_t **out)
{
	const struct batch_op *bo = NULL;
	const char *op, *key, *tok;
	char msg[128];
	size_t i, j;
	json_t *v;
	int code, known;

	*out = NULL;
	if ((code = member_str(req, "op", &op, out)) != 0)
		return code;
	if (op == NULL)
		return usage_answer(out, "no \"op\"");
	for (i = 0; i < AG_ARRAY_SIZE(batch_ops) && bo == NULL; i++)
		if (strcmp(op, batch_ops[i].op) == 0)
			bo = &batch_ops[i];
	if (bo == NULL)
		return usage_answer(out, "unknown op");
	json_object_foreach(req, key, v) {
		known = strcmp(key, "op") == 0 || strcmp(key, "id") == 0;
		for (j = 0; !known && j < AG_ARRAY_SIZE(bo->members) && bo->members[j] != NULL; j++)
			known = strcmp(key, bo->members[j]) == 0;
		if (known)
			continue;
		/* the name is repeated only when short (and so never cut
		 * inside a UTF-8 sequence) */
		if (strlen(key) <= 64)
			snprintf(msg, sizeof(msg), "unknown member \"%s\" for op %s", key, op);
		else
			snprintf(msg, sizeof(msg), "unknown member for op %s", op);
		return usage_answer(out, msg);
	}
	if (strcmp(op, "verify") == 0 || strcmp(op, "refresh") == 0) {
		if ((code = member_input(req, bo->members[0], token_input_max(ctx->cfg), &tok, out)) != 0)
			return code;
		return strcmp(op, "verify") == 0 ? token_op_verify(ctx, tok, strlen(tok), out)
		                                 : token_op_refresh(ctx, tok, strlen(tok), out);
	}
	if (strcmp(op, "issue") == 0)
		return batch_issue(ctx, req, out);
	if (strcmp(op, "revoke") == 0)
		return batch_revoke(ctx, req, out);
	if (strcmp(op, "session_check") == 0)
		return batch_session_check(ctx, req, out);
	return token_op_jwks(ctx, out);
}

/* The id a request may carry to match its answer: a number, or a string
 * of at most BATCH_ID_MAX bytes.  Anything else is refused unechoed. */
static int
batch_id_ok(const json_t *id)
{
	return json_is_number(id) || (json_is_string(id) && json_string_length(id) <= BATCH_ID_MAX);
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

int
token_cmd_batch(struct token_ctx *ctx, int argc, char **argv)
{
	size_t cap = batch_line_max(ctx->cfg) + 1;
	json_error_t jerr;
	char *line;
	ssize_t n;

	(void)argv;
	if (argc != 1)
		usage_tokens();
	if ((line = malloc(cap)) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	while ((n = batch_read_line(line, cap)) != -1) {
		json_t *req = NULL, *out = NULL, *id = NULL;
		unsigned long failures = ag_json_alloc_failures();
		int code;

		if (n == 0)
			continue;
		if (n > 0)
			req = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
		if (n < 0) {
			code = usage_answer(&out, "request too long");
		} else if (ag_json_alloc_failures() != failures) {
			/* parsed while memory ran out: it may be damaged (a
			 * name cut short), so it is never carried out */
			out = json_pack("{s:s}", "error", "internal");
			code = CLI_INTERNAL;
		} else if (req == NULL || !json_is_object(req)) {
			code = usage_answer(&out, "not a JSON object");
		} else if ((id = json_object_get(req, "id")) != NULL && !batch_id_ok(id)) {
			code = usage_answer(&out, "id must be a number or a string of at most 256 bytes");
		} else {
			code = batch_one(ctx, req, &out);
			if (out == NULL)
				out = json_pack("{s:s}", "error", "internal");
			if (id != NULL)
				json_object_set(out, "id", id);
		}
		json_object_set_new(out, "status", json_integer(code));
		sodium_memzero(line, n < 0 ? cap : (size_t)n);
		json_decref(req);
		cli_print_json(out);
	}
	sodium_memzero(line, cap);
	free(line);
	return CLI_OK;
}
