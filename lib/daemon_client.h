/* Talking to authguardd: one connection, one JSON request line and its
 * answer line at a time, each bounded in size and in time
 * (daemon_timeout).  Used by the PAM module's daemon service
 * (lib/authsvc_daemon.c) and by the helpers with daemon = yes. */
#ifndef AG_DAEMON_CLIENT_H
#define AG_DAEMON_CLIENT_H

#include <jansson.h>

#include "config.h"

#define AG_DAEMON_ANSWER_MAX (2 * 1024 * 1024)

struct ag_daemon_conn;

/* Connects to cfg->daemon_socket.  Returns 0, or AG_ERR_UNAVAILABLE (no
 * daemon listens there, or it does not accept in time) or another
 * AG_ERR_* with the reason in err. */
int ag_daemon_connect(const struct ag_config *cfg, struct ag_daemon_conn **cp,
                      char err[AG_ERRBUF]);

/* Sends req (one line) and reads its answer into *answer.  Returns 0, or
 * AG_ERR_UNAVAILABLE when the daemon went away or did not answer in time
 * (the connection is then closed: call ag_daemon_connect again), or
 * AG_ERR_NOMEM / AG_ERR_STORE (an answer that is not JSON). */
int ag_daemon_call(struct ag_daemon_conn *c, json_t *req, json_t **answer, char err[AG_ERRBUF]);

/* The same for a request already serialised (len bytes, no newline); the
 * answer line is returned as it came, NUL-terminated, without its newline
 * (free with ag_daemon_free_line). */
int ag_daemon_call_line(struct ag_daemon_conn *c, const char *line, size_t len, char **answer,
                        size_t *alen, char err[AG_ERRBUF]);

/* Wipes and frees an answer line (it may hold a token). */
void ag_daemon_free_line(char *line, size_t len);

/* Closes c; accepts NULL. */
void ag_daemon_close(struct ag_daemon_conn *c);

#endif
