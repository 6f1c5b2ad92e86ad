#include "autoconf.h"

#include <string.h>

#include "peer_policy.h"

static int
in_group(const struct ag_peer *p, gid_t gid)
{
	size_t i;

	if (p->gid == gid)
		return 1;
	for (i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return 1;
	return 0;
}

int
ag_peer_allowed(const struct ag_peer *peer, enum ag_op_class cls, const char *user,
                gid_t web_gid, const char **reasonp)
{
	*reasonp = NULL;
	if (peer->uid == 0)
		return 0;
	switch (cls) {
	case AG_OP_PAM:
		/* Only for oneself, by name: the name the uid resolves to. */
		if (user != NULL && peer->user[0] != '\0' && strcmp(user, peer->user) == 0)
			return 0;
		*reasonp = "a PAM operation for another user";
		return -1;
	case AG_OP_WEB:
		if (web_gid != (gid_t)-1 && in_group(peer, web_gid))
			return 0;
		*reasonp = "not in the web group";
		return -1;
	case AG_OP_ADMIN:
		*reasonp = "not root";
		return -1;
	}
	*reasonp = "unknown operation class";
	return -1;
}
