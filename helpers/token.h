/* authguard-token's token operations, shared by the one-shot commands and
 * the batch mode.  Each operation takes its secret input as bytes, answers
 * with one JSON object and returns the exit code of the contract (0 ok,
 * 1 rejected, 2 usage/configuration, 3 internal); *out is always set. */
#ifndef AG_TOKEN_H
#define AG_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "keyring.h"
#include "session.h"
#include "store.h"

/* Longest session id line read (on stdin or in a batch request): longer
 * is a usage error (status 2), shorter but of the wrong shape malformed
 * (status 1). */
#define TOKEN_SESSION_INPUT_MAX (AG_SESSION_ID_LEN + 7)

/* --attr values (attrs in batch) of a session fingerprint, at most. */
#define TOKEN_MAX_ATTRS 8

/* What one process keeps open: loaded on first use, so a command only
 * pays for what it needs (jwks never opens the state). */
struct token_ctx {
	const struct ag_config *cfg;
	struct ag_store *store;
	struct ag_keyring *keyring;
	struct timespec keys_mtime; /* of token_keys_dir when the keyring was loaded */
};

void token_ctx_close(struct token_ctx *ctx);

/* Longest token, refresh token or jti taken as input -- a line on stdin
 * without its newline, or a string in a batch request: 16 KiB or twice
 * token_max_len, whichever is larger.  Up to it a token over
 * token_max_len gets the verdict too_large (status 1); longer input is a
 * usage error (status 2), in both modes alike. */
size_t token_input_max(const struct ag_config *cfg);

/* Issue options beyond the subject. */
struct token_issue_req {
	const char *sub;
	const char *aud;       /* NULL: token_audience */
	const char *sid;       /* NULL: not tied to a session */
	int64_t ttl;           /* 0: access_ttl */
	int refresh;           /* also start a refresh family */
	json_t *extra;         /* extra claims (borrowed), or NULL */
};

int token_op_issue(struct token_ctx *ctx, const struct token_issue_req *req, json_t **out);
int token_op_verify(struct token_ctx *ctx, const char *token, size_t len, json_t **out);
int token_op_refresh(struct token_ctx *ctx, const char *token, size_t len, json_t **out);

/* Revokes an access token (a JWT, or a bare jti) -- or with family set, the
 * refresh family of a refresh token; or with user set (token NULL), every
 * refresh family of that subject. */
int token_op_revoke(struct token_ctx *ctx, const char *token, size_t len, int family,
                    const char *user, json_t **out);
int token_op_jwks(struct token_ctx *ctx, json_t **out);

/* Command-line entry points (argv[0] is the command name). */
int token_cmd(struct token_ctx *ctx, int argc, char **argv);
int token_cmd_batch(struct token_ctx *ctx, int argc, char **argv);
int token_cmd_session(struct token_ctx *ctx, int argc, char **argv);

/* Checks a web session (id, fingerprint of the request). */
int token_op_session_check(struct token_ctx *ctx, const char *id, size_t len,
                           const uint8_t fp[32], json_t **out);
int token_cmd_logout(struct token_ctx *ctx, int argc, char **argv);

#endif
