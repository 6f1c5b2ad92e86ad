/* Who is at the other end of a client socket: the kernel's word
 * (SO_PEERCRED, SO_PEERGROUPS), taken when the client connected, and the
 * uid's login name for the rule "PAM operations for one's own user". */
#include "autoconf.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon.h"
#include "util.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

int
agd_peer_credentials(int fd, struct ag_peer *peer, const char **whyp)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[AG_PEER_GROUPS_MAX + 1];

	memset(peer, 0, sizeof(*peer));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
		*whyp = "no peer credentials";
		return -1;
	}
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		peer->ngroups = len / sizeof(gid_t);
		if (peer->ngroups > AG_PEER_GROUPS_MAX) {
			peer->ngroups = AG_PEER_GROUPS_MAX;
			peer->groups_truncated = 1;
		}
		memcpy(peer->groups, groups, peer->ngroups * sizeof(gid_t));
	} else if (errno == ERANGE) {
		/* More groups than we keep: the primary group still counts,
		 * supplementary ones do not (deny rather than guess). */
		peer->groups_truncated = 1;
	}
	return 0;
}

void
agd_peer_name(struct ag_peer *peer)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	/* The name the uid resolves to (NSS): looked up by a worker, never
	 * by the I/O thread (a directory may be slow).  Without one the peer
	 * may do no PAM operation. */
	if (peer->user[0] == '\0' &&
	    getpwuid_r(peer->uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		ag_strlcpy(peer->user, pw.pw_name, sizeof(peer->user));
}
