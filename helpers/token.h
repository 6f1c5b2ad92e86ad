/* authguard-token's commands.  Each builds the request of its op
 * (lib/web/proto.h) from its arguments and standard input and has it
 * answered by the dispatcher the batch mode uses (helpers/web_cli.h);
 * each returns the exit code (0 ok, 1 rejected, 2 usage/configuration,
 * 3 internal).  argv[0] is the command name. */
#ifndef AG_TOKEN_H
#define AG_TOKEN_H

#include "web.h"

/* issue, verify, refresh, revoke, jwks */
int token_cmd(struct ag_web *w, int argc, char **argv);

/* session create|check|rotate|list|end */
int token_cmd_session(struct ag_web *w, int argc, char **argv);

int token_cmd_logout(struct ag_web *w, int argc, char **argv);

#endif
