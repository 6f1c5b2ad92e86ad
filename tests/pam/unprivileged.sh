#!/bin/bash
# The lockout flow run by an unprivileged user (nobody), with the state in
# a directory that user owns: authguard-ctl init, pamtester, status and
# unlock all run as nobody.  An unprivileged process gets no access to
# root's state file (and is denied, not let through).  With PostgreSQL
# (AG_STORE=postgresql) the same flow runs as nobody against the database;
# the checks of the state file's owner and mode are SQLite's only (the
# database's roles decide who gets in there).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"

if [ "$(id -u)" != 0 ]; then
	ag_skip "needs root to run the flow as nobody through runuser (running as uid $(id -u))"
fi
command -v runuser >/dev/null 2>&1 || ag_skip "runuser (util-linux) not found"
getent passwd nobody >/dev/null || ag_skip "there is no user nobody"
ag_init
ag_direct_only_script "an unprivileged caller with a state of its own; through a root daemon it acts for itself only (tests/daemon/screenlocker.sh)"

if ag_sqlite_only "a root-owned state file that nobody cannot open" \
	"access to a database is its roles' business, not a file mode"; then
	ag_say "a root-owned state that nobody cannot open"
	ag_setup rootstate "delay_base = 0"
	AG_RUNAS=(runuser -u nobody --)
	ag_attempt "as nobody, against root's 0600 state: denied, password not checked" \
		alice "$AG_RIGHT" 1 0
	ag_expect_log "the error is logged" 'event=error op=(auth|preauth) user=alice: .*state'
	AG_RUNAS=()
fi

ag_say "state owned by nobody"
mkdir -m 700 "$AG_TMP/nobody-state"
chown nobody "$AG_TMP/nobody-state"
AG_STATE_DIR=$AG_TMP/nobody-state
AG_RUNAS=(runuser -u nobody --)
ag_setup unpriv "delay_base = 0" # authguard-ctl init runs as nobody
if ag_sqlite_only "the state file's owner and mode after init" "no state file"; then
	ag_expect_eq "authguard-ctl init as nobody created the state file, owned by nobody, mode 600" \
		"nobody 600" "$(stat -c '%U %a' "$AG_DB")"
fi
AG_RHOST=192.0.2.80

ag_attempt "as nobody: right password accepted" alice "$AG_RIGHT" 0 1 authenticate acct_mgmt
ag_expect_no_log "no event=error as nobody" 'event=error'
ag_reset_count
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam alice "$AG_WRONG"
done
ag_expect_eq "as nobody: 10 wrong passwords reached the password check" 10 "$(ag_count)"
ag_expect_log "as nobody: the 10th failure locks" 'event=lock scope=account user=alice .*failures=10'
ag_attempt "as nobody: right password refused while locked, not checked" alice "$AG_RIGHT" 1 0
ag_expect_log "as nobody: logged as reason=locked" 'event=auth_refused user=alice .*reason=locked scope=account'
ag_attempt "as nobody: account phase refused" alice - 1 0 acct_mgmt
ag_expect_status "as nobody: authguard-ctl status shows the lock" alice -- failures=10 locked=true retry_after=3600

AG_NOW=$((AG_T0 + 3600))
ag_attempt "as nobody: right password accepted once lock_time has passed" alice "$AG_RIGHT" 0 1
AG_NOW=$((AG_T0 + 4000))
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam alice "$AG_WRONG"
done
ag_attempt "as nobody: locked again" alice "$AG_RIGHT" 1 0
ag_run_ctl unlock alice
ag_expect_eq "as nobody: authguard-ctl unlock exits 0" 0 "$AG_RC"
ag_expect_log "as nobody: event=admin_unlock logged with nobody's uid" \
	"event=admin_unlock scope=account user=alice uid=$(id -u nobody) had_state=1"
ag_attempt "as nobody: right password accepted after unlock" alice "$AG_RIGHT" 0 1
if ag_sqlite_only "the state file's owner and mode at the end" "no state file"; then
	ag_expect_eq "the state file is still owned by nobody, mode 600" "nobody 600" \
		"$(stat -c '%U %a' "$AG_DB")"
fi
ag_expect_true "no file in nobody's state directory is owned by anyone else" \
	test -z "$(find "$AG_TMP/nobody-state" ! -user nobody)"

ag_done
