/* Who may ask authguardd for what: a pure rule over the peer's
 * credentials (SO_PEERCRED, SO_PEERGROUPS), like policy.h for brute force.
 *
 *   - root (the PAM stacks of sshd, login, sudo, su) may do the PAM
 *     operations for any user, and the web operations;
 *   - any other process may do the PAM operations for its own user only
 *     (a screen locker running as alice records alice's attempts and
 *     checks alice's code, nothing else: unix_chkpwd's rule);
 *   - members of the configured web group may do the web operations;
 *   - nobody else gets anything, and the administration operations
 *     (status of the daemon) are root's. */
#ifndef AG_PEER_POLICY_H
#define AG_PEER_POLICY_H

#include <stddef.h>
#include <sys/types.h>

#define AG_PEER_GROUPS_MAX 64

struct ag_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[AG_PEER_GROUPS_MAX]; /* supplementary groups */
	size_t ngroups;
	int groups_truncated;             /* more than AG_PEER_GROUPS_MAX */
	char user[256];                   /* the uid's login name; "" unknown */
};

enum ag_op_class {
	AG_OP_PAM = 1,   /* about one login account: preauth, authfail, ... */
	AG_OP_WEB = 2,   /* the web backend's operations */
	AG_OP_ADMIN = 3  /* the daemon's own status */
};

/* 0 when peer may call an operation of class on behalf of user (the PAM
 * operations' account; NULL for the others), else -1 with a reason.
 * web_gid is the configured web group ((gid_t)-1: none). */
int ag_peer_allowed(const struct ag_peer *peer, enum ag_op_class cls, const char *user,
                    gid_t web_gid, const char **reasonp);

#endif
