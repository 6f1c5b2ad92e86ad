#!/bin/bash
# A screen locker through authguardd: pamtester run as an unprivileged
# user (nobody) with the module's "daemon = yes", the daemon running as
# root (daemon_user = root, as the tests run it; the rule does not depend
# on the daemon's own user).  A screen locker runs as the logged-in user,
# cannot write the root-owned state, and asks the daemon instead:
#
#   - for its own user, the flow is exactly the one of a root caller (the
#     same steps run as root for another account, side by side): the
#     right password passes, 10 wrong ones lock, the 11th attempt with the
#     right password is refused without checking it, the account phase is
#     refused, and root's authguard-ctl sees the lock;
#   - for another user, every PAM operation is refused by the daemon: the
#     module denies (password never checked, nothing counted for that
#     user, neither for a wrong nor for the right password) and the daemon
#     logs why (event=daemon_forbidden ... reason=a PAM operation for
#     another user).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# Whatever the caller says: this script is about the daemon.
AG_DAEMON=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"

[ "$(id -u)" = 0 ] || ag_skip "needs root (the daemon as root, pamtester as nobody through runuser)"
command -v runuser >/dev/null 2>&1 || ag_skip "runuser (util-linux) not found"
LOCKER=nobody
getent passwd "$LOCKER" >/dev/null || ag_skip "there is no user $LOCKER"
ag_init

# lib.sh's daemon mode: daemon = yes, a socket in AG_TMP/d, daemon_user =
# root, the daemon started (and stopped at exit) with the syslog capture.
ag_setup locker "delay_base = 0"
ag_expect_eq "the configuration makes the module a client of the daemon" "yes" \
	"$(sed -n 's/^daemon = //p' "$AG_CONF")"
ag_expect_eq "the state file is root's, mode 600 (nobody cannot open it)" "root 600" \
	"$(stat -c '%U %a' "$AG_DB")"

# flow USER WHO: the lockout flow for USER, run as WHO (root or the
# locker); prints nothing, records one check per step.
flow() {
	local user=$1 who=$2 i
	if [ "$who" = root ]; then AG_RUNAS=(); else AG_RUNAS=(runuser -u "$who" --); fi
	ag_reset_count
	ag_attempt "as $who, for $user: right password accepted" "$user" "$AG_RIGHT" 0 1 \
		authenticate acct_mgmt
	ag_expect_no_log "as $who, for $user: nothing refused or in error" \
		'event=(daemon_forbidden|error|auth_refused)'
	ag_reset_count
	for i in 1 2 3 4 5 6 7 8 9 10; do
		ag_pam "$user" "$AG_WRONG"
		[ "$AG_RC" = 1 ] || ag_fail "as $who, for $user: wrong password $i refused" "exit $AG_RC"
	done
	ag_expect_eq "as $who, for $user: 10 wrong passwords reached the password check" 10 \
		"$(ag_count)"
	ag_expect_log "as $who, for $user: the 10th failure locks" \
		"event=lock scope=account user=$user .*failures=10"
	ag_attempt "as $who, for $user: 11th attempt, right password, refused unchecked" \
		"$user" "$AG_RIGHT" 1 0
	ag_expect_log "as $who, for $user: logged as reason=locked" \
		"event=auth_refused user=$user .*reason=locked scope=account"
	ag_attempt "as $who, for $user: account phase refused" "$user" - 1 0 acct_mgmt
	AG_RUNAS=()
	ag_expect_status "root's authguard-ctl status shows $user locked" "$user" -- \
		failures=10 locked=true retry_after=3600
}

ag_say "a root caller (the PAM stack of login or sshd) for alice"
flow alice root
ag_say "the screen locker, running as $LOCKER, for $LOCKER"
flow "$LOCKER" "$LOCKER"

ag_say "the lock runs out for both alike"
AG_NOW=$((AG_T0 + 3600))
ag_attempt "as root, for alice: accepted once lock_time has passed" alice "$AG_RIGHT" 0 1
AG_RUNAS=(runuser -u "$LOCKER" --)
ag_attempt "as $LOCKER, for $LOCKER: accepted once lock_time has passed" "$LOCKER" "$AG_RIGHT" 0 1

ag_say "the screen locker asking for another user"
before=$(ag_sql_dump)
forbidden() { # DESC PASSWORD [OPERATION...]
	local desc=$1 pw=$2
	shift 2
	ag_attempt "as $LOCKER, for bob: $desc: refused, password not checked" bob "$pw" 1 0 "$@"
	ag_expect_log "... the daemon logs why" \
		"authguardd: event=daemon_forbidden op=pam_[a-z_]+ uid=$(id -u "$LOCKER") pid=[0-9]+ reason=a PAM operation for another user"
	ag_expect_log "... the module logs that it denied" "pam_authguard\\(locker:(auth|account)\\): event=error"
}
forbidden "the right password" "$AG_RIGHT"
forbidden "a wrong password" "$AG_WRONG"
forbidden "the account phase" - acct_mgmt
AG_RUNAS=()
ag_expect_eq "nothing was recorded for bob (the state is unchanged)" "$before" "$(ag_sql_dump)"
ag_expect_status "bob has no failures" bob -- failures=0 locked=false
ag_attempt "as root, for bob: right password accepted at once" bob "$AG_RIGHT" 0 1

ag_done
