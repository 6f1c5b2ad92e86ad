/* The PAM module's state operations (lib/authsvc.h) as requests to
 * authguardd: one JSON object per line, as the web operations of
 * lib/web/proto.h, with ops named pam_*.  The daemon answers them with
 * ag_authsvc_proto_serve() over its direct service; the module's daemon
 * service (lib/authsvc_daemon.c) builds the requests and reads the answers
 * with the other functions here.  One codec, so both sides agree.
 *
 *   pam_check_user   {user}                               -> {}
 *   pam_begin        {user, rhost?, service?}             -> RESULT
 *   pam_fail         {user, rhost?, service?, attempt}    -> RESULT
 *   pam_succeed      {user, rhost?, service?, attempt}    -> RESULT
 *   pam_release      {user, rhost?, service?, attempt, reason} -> {released}
 *   pam_account      {user, rhost?, service?}             -> RESULT
 *   pam_mfa_status   {user}                               -> {enrolled}
 *   pam_mfa_verify   {user, code}                         -> {result, counts_as_failure,
 *                                                             backup_left, next_code_wait}
 *   pam_session_open {user, service?, tty?, rhost?, pid, boot_id, host, started}
 *                                                         -> {refused, id}
 *   pam_session_close {user, id}                          -> {}
 *
 * RESULT is struct ag_guard_result member by member.  Every answer carries
 * "status" (0, or 2 for a request that is wrong, 3 for a state error) and
 * errors {"error": KIND, "message": TEXT}.  The daemon applies its own
 * configuration: the limits, the session maximum and the store are its
 * own, whatever a caller's module arguments say. */
#ifndef AG_AUTHSVC_PROTO_H
#define AG_AUTHSVC_PROTO_H

#include <jansson.h>

#include "authsvc.h"

/* The longest code pam_mfa_verify carries, in bytes (0 to this).  Longer
 * than any code a user may type (AG_TOTP_MAX_INPUT, AG_BACKUP_MAX_INPUT,
 * checked where both are known, lib/authsvc_direct.c): a typed answer
 * longer than this travels as its first AG_AUTHSVC_CODE_MAX bytes, which
 * lib/mfa refuses as malformed exactly as it would the whole answer. */
#define AG_AUTHSVC_CODE_MAX 255

/* The longest rhost a request carries: lib reads no more of one
 * (ag_host_normalize), so a longer PAM_RHOST travels cut to this. */
#define AG_AUTHSVC_RHOST_MAX 1024

/* 1 when op names a PAM operation (pam_*). */
int ag_authsvc_proto_is_pam(const char *op);

/* The account a PAM request is about (its "user", decoded when it came
 * as bytes: see ag_authsvc_proto_text), or NULL. */
const char *ag_authsvc_proto_user(json_t *req);

/* Answers req with the service svc of ops (the daemon's, under its
 * configuration cfg): the answer object with "status", never NULL unless
 * out of memory.  pid is the caller's process (SO_PEERCRED): a session is
 * recorded under it when peer_is_root is 0, whatever the request says. */
json_t *ag_authsvc_proto_serve(const struct ag_authsvc_ops *ops, struct ag_authsvc *svc,
                               const struct ag_config *cfg, json_t *req, int peer_is_root,
                               pid_t pid);

/* --------------------------------------------------------- client side */

/* A text member's value: the string when it is UTF-8, else the object
 * {"hex": HEX} of its bytes (to PAM a user name or a host is bytes, a
 * JSON string is UTF-8 text; the daemon decodes it back, so that it
 * counts and checks exactly these bytes, as the module would without it).
 * n bytes of s at most.  NULL when out of memory. */
json_t *ag_authsvc_proto_text(const char *s, size_t n);

/* A request for op about req (rhost and service from req; NULL members
 * left out). */
json_t *ag_authsvc_proto_request(const char *op, const struct ag_guard_req *req);

/* Reads an answer: its status as AG_ERR_* (0; AG_ERR_INVAL for 2,
 * AG_ERR_STORE for 3 or anything unreadable) with the message in msg. */
int ag_authsvc_proto_status(json_t *answer, char msg[AG_ERRBUF]);

/* Reads a RESULT answer into res. */
int ag_authsvc_proto_result(json_t *answer, struct ag_guard_result *res);

/* Reads an integer or boolean member (0 when absent or of another type). */
int64_t ag_authsvc_proto_int(json_t *answer, const char *name);

#endif
