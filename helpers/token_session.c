/* authguard-token session ... and logout: web sessions for a backend.
 * Session ids travel on stdin only (and in the Set-Cookie header of the
 * JSON answer); the User-Agent is not secret and is an argument. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "clock.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "session.h"
#include "subject.h"
#include "token.h"
#include "util.h"

#define MAX_ATTRS TOKEN_MAX_ATTRS

static const struct ag_log session_log = { .sink = ag_log_sink_syslog };

static void usage_sessions(void) __attribute__((noreturn));

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

static void
log_session(int prio, const char *event, const char *user, const char *sid, const char *k,
            int64_t v)
{
	struct ag_logline l;

	ag_logline_init(&l, event);
	if (user != NULL)
		ag_logline_str(&l, "user", user);
	if (sid != NULL)
		ag_logline_str(&l, "sid", sid);
	if (k != NULL)
		ag_logline_int(&l, k, v);
	ag_log_emit(&session_log, prio, &l);
}

/* A web session's user is keyed like every web subject (web_subject_fold):
 * "Carol@Example.com" and "carol@example.com" share the session limit,
 * the list and "end --user". */
static const char *
user_key(const struct ag_config *cfg, const char *user, char key[AG_NAME_MAX + 1])
{
	const char *why = NULL;
	int r;

	if ((r = ag_subject_key(cfg, AG_REALM_WEB, user, key, &why)) != 0)
		cli_die(cli_exit_for(r), "--user: %s", why);
	return key;
}

static int
open_store(struct token_ctx *ctx)
{
	char err[AG_ERRBUF];
	int r;

	if (ctx->store != NULL)
		return 0;
	if ((r = ag_store_open(ctx->cfg, 0, &ctx->store, err)) != 0)
		cli_die(cli_exit_for(r), "%s", err);
	return 0;
}

static int
hex32(const char *s, uint8_t out[32])
{
	size_t len = 0;

	if (strlen(s) != 64 || sodium_hex2bin(out, 32, s, 64, NULL, &len, NULL) != 0 || len != 32)
		return AG_ERR_INVAL;
	return 0;
}

/* Fingerprint options shared by create and check. */
struct fp_opts {
	const char *ua;
	const char *ua_hash;
	const char *attrs[MAX_ATTRS];
	size_t nattrs;
};

static void
fingerprint(const struct fp_opts *o, uint8_t out[32])
{
	if (o->ua_hash != NULL) {
		if (o->ua != NULL || o->nattrs > 0 || hex32(o->ua_hash, out) != 0)
			cli_die(CLI_USAGE,
			        "--user-agent-hash: 64 hex digits (and no --user-agent or --attr)");
		return;
	}
	if (o->ua == NULL)
		cli_die(CLI_USAGE, "--user-agent or --user-agent-hash is required");
	ag_session_fingerprint(o->ua, o->attrs, o->nattrs, out);
}

/* A session as JSON; NULL only when out of memory.  The user and the
 * Clerk session id are set with cli_json_set_name: stored names that are
 * not UTF-8 still print. */
static json_t *
session_json(const struct ag_config *cfg, const struct ag_web_session *s)
{
	char sid[AG_SID_MAX + 1];
	json_t *o;

	ag_session_handle(s->id_hash, sid);
	(void)cfg;
	o = json_pack("{s:n, s:s, s:I, s:I, s:I, s:I, s:n}", "user", "sid", sid,
	              "created", (json_int_t)s->created, "last_seen", (json_int_t)s->last_seen,
	              "idle_expires", (json_int_t)s->idle_expires, "expires",
	              (json_int_t)s->abs_expires, "clerk_session");
	if (o == NULL || cli_json_set_name(o, "user", s->user) != 0 ||
	    cli_json_set_name(o, "clerk_session", s->clerk_sid[0] != '\0' ? s->clerk_sid : NULL) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
reject(const char *reason)
{
	cli_print_json(json_pack("{s:b, s:s}", "valid", 0, "reason", reason));
	cli_warn("session refused: %s", reason);
	return CLI_REJECT;
}

static void
read_id(char *buf, size_t max, uint8_t hash[32])
{
	cli_read_secret(buf, max, "session id");
	if (ag_session_parse_id(buf, strlen(buf), hash) != 0) {
		sodium_memzero(buf, max);
		cli_print_json(json_pack("{s:b, s:s}", "valid", 0, "reason", "malformed"));
		cli_die(CLI_REJECT, "session id on stdin: malformed");
	}
}

static int
cmd_create(struct token_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "user-agent", required_argument, NULL, 'a' },
		{ "user-agent-hash", required_argument, NULL, 'h' },
		{ "attr", required_argument, NULL, 't' },
		{ "clerk-session", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ag_config *cfg = ctx->cfg;
	struct fp_opts fo = { 0 };
	struct ag_web_session ws;
	char id[AG_SESSION_ID_LEN + 1], cookie[AG_COOKIE_HEADER_MAX], sid[AG_SID_MAX + 1];
	char key[AG_NAME_MAX + 1];
	const char *user = NULL, *clerk = NULL, *reason = NULL;
	int64_t now = ag_clock_now(), evicted = 0;
	int c, refused = 0, r;
	json_t *o;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'u': user = optarg; break;
		case 'a': fo.ua = optarg; break;
		case 'h': fo.ua_hash = optarg; break;
		case 'c': clerk = optarg; break;
		case 't':
			if (fo.nattrs == MAX_ATTRS)
				cli_die(CLI_USAGE, "--attr: at most %d", MAX_ATTRS);
			fo.attrs[fo.nattrs++] = optarg;
			break;
		default: usage_sessions();
		}
	}
	if (optind != argc || user == NULL)
		usage_sessions();
	if (user[0] == '\0' || strnlen(user, AG_NAME_MAX + 1) > AG_NAME_MAX)
		cli_die(CLI_USAGE, "--user: 1 to 4096 bytes");
	/* A web subject is a JSON string everywhere else (token sub, batch
	 * requests): refused here, before anything is stored. */
	if (!ag_utf8_valid(user, strlen(user)))
		cli_die(CLI_USAGE, "--user: not valid UTF-8");
	if (clerk != NULL && (clerk[0] == '\0' || strnlen(clerk, AG_SID_MAX + 1) > AG_SID_MAX))
		cli_die(CLI_USAGE, "--clerk-session: 1 to 128 bytes");
	memset(&ws, 0, sizeof(ws));
	fingerprint(&fo, ws.fingerprint);
	/* The session keeps the spelling given (the backend reads it back)
	 * and its key, which the limit, lists and "end --user" compare. */
	ag_strlcpy(ws.user, user, sizeof(ws.user));
	ag_strlcpy(ws.user_key, user_key(cfg, user, key), sizeof(ws.user_key));
	if (clerk != NULL)
		ag_strlcpy(ws.clerk_sid, clerk, sizeof(ws.clerk_sid));
	ws.created = ws.last_seen = now;
	ws.abs_expires = now + cfg->session_lifetime;
	ws.idle_expires = now + cfg->session_idle < ws.abs_expires ? now + cfg->session_idle
	                                                           : ws.abs_expires;
	if (ag_session_new_id(id, ws.id_hash) != 0)
		cli_die(CLI_INTERNAL, "no randomness");
	/* The answer is built before the session is stored: once the row is
	 * committed, nothing but writing it out may fail, so no session is
	 * left that its caller never heard of. */
	ag_session_cookie(cfg, id, cfg->session_lifetime, cookie);
	o = session_json(cfg, &ws);
	if (o == NULL || json_object_set_new(o, "session", json_string(id)) != 0 ||
	    json_object_set_new(o, "set_cookie", json_string(cookie)) != 0 ||
	    json_object_set_new(o, "evicted", json_integer(0)) != 0) {
		sodium_memzero(id, sizeof(id));
		sodium_memzero(cookie, sizeof(cookie));
		json_decref(o);
		cli_die(CLI_INTERNAL, "out of memory");
	}
	sodium_memzero(id, sizeof(id));
	sodium_memzero(cookie, sizeof(cookie));
	open_store(ctx);
	r = ag_store_session_create(ctx->store, &ws, cfg->session_max, cfg->session_evict, now,
	                            &evicted, &refused);
	if (r != 0) {
		json_decref(o);
		cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(ctx->store));
	}
	ag_session_handle(ws.id_hash, sid);
	if (refused) {
		json_decref(o);
		log_session(LOG_NOTICE, "session_refused", user, NULL, "max", cfg->session_max);
		reason = "limit";
		return reject(reason);
	}
	if (evicted > 0)
		log_session(LOG_NOTICE, "session_evicted", user, NULL, "count", evicted);
	log_session(LOG_INFO, "session_created", user, sid, NULL, 0);
	json_integer_set(json_object_get(o, "evicted"), (json_int_t)evicted); /* cannot fail */
	cli_print_json(o);
	return CLI_OK;
}

/* The check itself, for the command line and batch mode: id and
 * fingerprint in, one JSON answer and the exit code out. */
int
token_op_session_check(struct token_ctx *ctx, const char *id, size_t len, const uint8_t fp[32],
                       json_t **out)
{
	const struct ag_config *cfg = ctx->cfg;
	struct ag_web_session ws;
	enum ag_session_verdict v = AG_SESSION_UNKNOWN;
	char cookie[AG_COOKIE_HEADER_MAX], sid[AG_SID_MAX + 1], err[AG_ERRBUF];
	uint8_t hash[32];
	int64_t now = ag_clock_now();
	int touched = 0, r;

	*out = NULL;
	if (ag_session_parse_id(id, len, hash) != 0) {
		*out = json_pack("{s:b, s:s}", "valid", 0, "reason", "malformed");
		return CLI_REJECT;
	}
	if (ctx->store == NULL && (r = ag_store_open(cfg, 0, &ctx->store, err)) != 0) {
		*out = json_pack("{s:s, s:s}", "error", "state", "message", err);
		return cli_exit_for(r);
	}
	r = ag_store_session_check(ctx->store, hash, fp, now, cfg->session_idle, cfg->session_touch,
	                           cfg->session_revoke_on_mismatch, &v, &ws, &touched);
	if (r != 0) {
		*out = json_pack("{s:s, s:s}", "error", "state", "message", ag_store_errmsg(ctx->store));
		return CLI_INTERNAL;
	}
	ag_session_handle(hash, sid);
	if (v != AG_SESSION_OK) {
		if (v == AG_SESSION_MISMATCH)
			log_session(LOG_WARNING, "session_fingerprint_mismatch", ws.user, sid,
			            "revoked", cfg->session_revoke_on_mismatch);
		*out = json_pack("{s:b, s:s}", "valid", 0, "reason",
		                 v == AG_SESSION_MISMATCH ? "fingerprint_mismatch"
		                 : v == AG_SESSION_EXPIRED ? "expired" : "unknown");
		return CLI_REJECT;
	}
	*out = session_json(cfg, &ws);
	json_object_set_new(*out, "valid", json_true());
	if (touched) {
		/* The expiry moved: refresh the cookie's Max-Age too. */
		ag_session_cookie(cfg, id, ws.abs_expires - now, cookie);
		json_object_set_new(*out, "set_cookie", json_string(cookie));
		sodium_memzero(cookie, sizeof(cookie));
	}
	return CLI_OK;
}

static int
cmd_check(struct token_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user-agent", required_argument, NULL, 'a' },
		{ "user-agent-hash", required_argument, NULL, 'h' },
		{ "attr", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct fp_opts fo = { 0 };
	char id[TOKEN_SESSION_INPUT_MAX + 1];
	uint8_t fp[32];
	json_t *out = NULL;
	int c, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'a': fo.ua = optarg; break;
		case 'h': fo.ua_hash = optarg; break;
		case 't':
			if (fo.nattrs == MAX_ATTRS)
				cli_die(CLI_USAGE, "--attr: at most %d", MAX_ATTRS);
			fo.attrs[fo.nattrs++] = optarg;
			break;
		default: usage_sessions();
		}
	}
	if (optind != argc)
		usage_sessions();
	fingerprint(&fo, fp);
	cli_read_secret(id, sizeof(id), "session id");
	code = token_op_session_check(ctx, id, strlen(id), fp, &out);
	sodium_memzero(id, sizeof(id));
	if (code != CLI_OK) {
		const char *why = json_string_value(json_object_get(out, "reason"));

		if (why == NULL)
			why = json_string_value(json_object_get(out, "message"));
		cli_warn("session refused: %s", why != NULL ? why : "error");
	}
	cli_print_json(out);
	return code;
}

static int
cmd_rotate(struct token_ctx *ctx, int argc, char **argv)
{
	const struct ag_config *cfg = ctx->cfg;
	struct ag_web_session ws;
	enum ag_session_verdict v = AG_SESSION_UNKNOWN;
	char id[AG_SESSION_ID_LEN + 8], nid[AG_SESSION_ID_LEN + 1], cookie[AG_COOKIE_HEADER_MAX];
	char old_sid[AG_SID_MAX + 1], new_sid[AG_SID_MAX + 1];
	uint8_t hash[32], nhash[32];
	int64_t now = ag_clock_now();
	json_t *o;
	int r;

	(void)argv;
	if (argc != 1)
		usage_sessions();
	read_id(id, sizeof(id), hash);
	sodium_memzero(id, sizeof(id));
	if (ag_session_new_id(nid, nhash) != 0)
		cli_die(CLI_INTERNAL, "no randomness");
	ag_session_handle(hash, old_sid);
	ag_session_handle(nhash, new_sid);
	open_store(ctx);
	r = ag_store_session_rotate(ctx->store, hash, nhash, old_sid, new_sid, now, &v, &ws);
	if (r != 0) {
		sodium_memzero(nid, sizeof(nid));
		cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(ctx->store));
	}
	if (v != AG_SESSION_OK) {
		sodium_memzero(nid, sizeof(nid));
		return reject(v == AG_SESSION_EXPIRED ? "expired" : "unknown");
	}
	log_session(LOG_INFO, "session_rotated", ws.user, new_sid, NULL, 0);
	ag_session_cookie(cfg, nid, ws.abs_expires - now, cookie);
	o = session_json(cfg, &ws);
	json_object_set_new(o, "session", json_string(nid));
	json_object_set_new(o, "set_cookie", json_string(cookie));
	sodium_memzero(nid, sizeof(nid));
	sodium_memzero(cookie, sizeof(cookie));
	cli_print_json(o);
	return CLI_OK;
}

struct list_ctx {
	const struct ag_config *cfg;
	json_t *arr;
};

static int
list_one(void *vctx, const struct ag_web_session *s)
{
	struct list_ctx *l = vctx;

	/* No silent gap in the list: a session that cannot be shown (out of
	 * memory) ends the command. */
	if (json_array_append_new(l->arr, session_json(l->cfg, s)) != 0)
		cli_die(CLI_INTERNAL, "out of memory");
	return 0;
}

static int
cmd_list(struct token_ctx *ctx, int argc, char **argv)
{
	struct list_ctx l = { ctx->cfg, json_array() };
	char key[AG_NAME_MAX + 1];
	const char *user;

	if (argc != 3 || strcmp(argv[1], "--user") != 0)
		usage_sessions();
	user = user_key(ctx->cfg, argv[2], key);
	open_store(ctx);
	if (ag_store_session_list(ctx->store, user, ag_clock_now(), list_one, &l) != 0)
		cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(ctx->store));
	{
		json_t *o = json_pack("{s:n, s:o}", "user", "sessions", l.arr);

		if (o != NULL && cli_json_set_name(o, "user", user) != 0) {
			json_decref(o);
			o = NULL;
		}
		cli_print_json(o);
	}
	return CLI_OK;
}

static int
cmd_end(struct token_ctx *ctx, int argc, char **argv)
{
	char id[AG_SESSION_ID_LEN + 8], key[AG_NAME_MAX + 1];
	uint8_t hash[32];
	int64_t n = 0, fams = 0;
	const char *user = NULL;
	int r;

	if (argc == 3 && strcmp(argv[1], "--user") == 0) {
		user = user_key(ctx->cfg, argv[2], key);
	} else if (argc == 3 && strcmp(argv[1], "--sid") == 0) {
		if (ag_session_handle_parse(argv[2], hash) != 0)
			cli_die(CLI_USAGE, "--sid: not a session handle");
	} else if (argc == 1) {
		read_id(id, sizeof(id), hash);
		sodium_memzero(id, sizeof(id));
	} else {
		usage_sessions();
	}
	open_store(ctx);
	r = ag_store_session_end(ctx->store, user != NULL ? NULL : hash, user, NULL,
	                         ag_session_handle, &n, &fams);
	if (r == 0 && user != NULL) {
		/* Also families not tied to any session ("log out everywhere"). */
		int64_t more = 0;

		r = ag_store_refresh_revoke(ctx->store, 0, NULL, user, NULL, &more);
		fams += more;
	}
	if (r != 0)
		cli_die(r == AG_ERR_INVAL ? CLI_USAGE : CLI_INTERNAL, "%s",
		        ag_store_errmsg(ctx->store)[0] != '\0' ? ag_store_errmsg(ctx->store)
		                                               : ag_strerror(r));
	log_session(LOG_NOTICE, user != NULL ? "sessions_ended_user" : "session_ended", user, NULL,
	            "count", n);
	cli_print_json(json_pack("{s:I, s:I}", "sessions_ended", (json_int_t)n, "families_revoked",
	                         (json_int_t)fams));
	return CLI_OK;
}

int
token_cmd_session(struct token_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		usage_sessions();
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return cmd_rotate(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "end") == 0)
		return cmd_end(ctx, argc - 1, argv + 1);
	usage_sessions();
}

/* logout: every credential the product set for this browser dies, and the
 * answer carries the headers that make the browser forget them.  Lines on
 * stdin are recognised by shape: ags_... session id, agr_... refresh
 * token, a JWT (two dots) access token.  Doing it twice is harmless. */
int
token_cmd_logout(struct token_ctx *ctx, int argc, char **argv)
{
	size_t max = token_input_max(ctx->cfg) + 1; /* the longest line and its NUL */
	char *line = malloc(max), cookie[AG_COOKIE_HEADER_MAX];
	int64_t ended = 0, fams = 0, n;
	int have_session = 0, token_revoked = 0, r, lines = 0, got;
	uint8_t hash[32];
	json_t *out = NULL, *headers;

	(void)argv;
	if (argc != 1)
		usage_sessions();
	if (line == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	open_store(ctx);
	while (lines < 3 && (got = cli_read_line(line, max)) != CLI_LINE_EOF) {
		size_t len = strlen(line);

		lines++;
		if (got == CLI_LINE_EMPTY)
			continue;
		if (got != CLI_LINE_OK) {
			sodium_memzero(line, max);
			free(line);
			cli_die(CLI_USAGE, "logout: input line too long or not text");
		}
		if (ag_session_parse_id(line, len, hash) == 0) {
			char sid[AG_SID_MAX + 1];

			have_session = 1;
			/* The session's refresh families first (counted), then
			 * the session; the families go even if it had expired. */
			ag_session_handle(hash, sid);
			r = ag_store_refresh_revoke(ctx->store, 0, NULL, NULL, sid, &n);
			if (r == 0) {
				fams += n;
				r = ag_store_session_end(ctx->store, hash, NULL, NULL, ag_session_handle, &n,
				                         NULL);
				ended += r == 0 ? n : 0;
			}
		} else if (strncmp(line, "agr_", 4) == 0 || memchr(line, '.', len) != NULL) {
			int fam = strncmp(line, "agr_", 4) == 0;

			r = token_op_revoke(ctx, line, len, fam, NULL, &out);
			if (r == CLI_OK && fam)
				fams += json_integer_value(json_object_get(out, "families"));
			else if (r == CLI_OK)
				token_revoked = json_is_true(json_object_get(out, "revoked")) ||
				                token_revoked;
			json_decref(out);
			out = NULL;
			r = r == CLI_INTERNAL ? AG_ERR_STORE : 0;
		} else {
			sodium_memzero(line, max);
			free(line);
			cli_die(CLI_USAGE, "logout: a line is neither a session id nor a token");
		}
		if (r != 0) {
			sodium_memzero(line, max);
			free(line);
			cli_die(CLI_INTERNAL, "%s", ag_store_errmsg(ctx->store));
		}
	}
	sodium_memzero(line, max);
	free(line);
	if (!have_session)
		cli_die(CLI_USAGE, "logout: the session id is required on stdin");
	ag_session_cookie(ctx->cfg, "", 0, cookie);
	headers = json_pack("[s, s]", cookie, "Clear-Site-Data: \"cookies\", \"storage\"");
	log_session(LOG_INFO, "logout", NULL, NULL, "sessions_ended", ended);
	cli_print_json(json_pack("{s:b, s:I, s:I, s:b, s:o}", "logged_out", 1, "sessions_ended",
	                         (json_int_t)ended, "families_revoked", (json_int_t)fams,
	                         "access_token_revoked", token_revoked, "headers", headers));
	return CLI_OK;
}
