#!/bin/bash
# The PAM module's state service (authsvc-direct.so, which holds the
# guard, the code check and the store) is loaded from one fixed directory
# (here, through the test builds' AUTHGUARD_TEST_SERVICE_DIR), once per
# process, and only when it is safe: a missing file, a symlink, a file or
# directory others may write, a file owned by another user, or a module of
# another build all deny -- even the right password, without running the
# password check -- with one event=error line naming the file and the
# reason.  The account and session phases deny as well.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init
ag_direct_only_script "the module's direct state service (authsvc-direct.so) is not loaded when it goes through the daemon"

STALE_ABI=$top_builddir/tests/lib/.libs/authsvc_stale_abi.so
STALE_CONFIG=$top_builddir/tests/lib/.libs/authsvc_stale_config.so
[ -f "$STALE_ABI" ] && [ -f "$STALE_CONFIG" ] ||
	ag_bail "stale service modules not built (make check builds them)"

AG_RHOST=192.0.2.90
ag_setup svcmod "delay_base = 0"
cat >>"$AG_TMP/svc/svcmod" <<EOF
session  required                $AG_MODULE conf=$AG_CONF
EOF

ag_attempt "sanity: right password accepted with the built service" alice "$AG_RIGHT" 0 1
ag_expect_no_log "sanity: no event=error" 'event=error'

# The service is loaded once per process, however many module calls the
# stack makes (preauth, authfail, the account phase): the dynamic loader
# says "opening file=" at every dlopen() of it.
AG_ENV=(LD_DEBUG=files)
ag_pam alice "$AG_RIGHT" authenticate acct_mgmt
AG_ENV=()
ag_expect_eq "right password, authenticate and acct_mgmt: accepted" 0 "$AG_RC"
n=$(grep -c 'opening file=[^ ]*/authsvc-direct\.so ' <<<"$AG_OUT" || true)
ag_expect_eq "one process, three module calls: one dlopen() of the service" 1 "$n"
ag_attempt "a wrong password is counted" alice "$AG_WRONG" 1 1

# denied CASE DIR ERE: with the service looked for in DIR, the right
# password is refused without being checked, the account and session
# phases are refused, each with one event=error line matching ERE.
denied() {
	local desc=$1 dir=$2 ere=$3 n
	AG_ENV=(AUTHGUARD_TEST_SERVICE_DIR="$dir")
	ag_attempt "$desc: right password refused, password not checked" alice "$AG_RIGHT" 1 0
	n=$(ag_log_last | grep -Ec "pam_authguard\\($AG_SVC:auth\\): event=error op=auth user=alice: state service $ere; access denied$" || true)
	ag_expect_eq "$desc: one event=error line with the reason" 1 "$n"
	ag_expect_no_log "$desc: nothing else logged by the module" 'event=(attempt|auth_fail|success)'
	ag_attempt "$desc: account phase refused" alice - 1 0 acct_mgmt
	ag_expect_log "$desc: the account phase logs the reason" \
		"pam_authguard\\($AG_SVC:account\\): event=error op=account user=alice: state service $ere; access denied$"
	ag_pam alice - open_session
	ag_expect_eq "$desc: session phase refused" 1 "$AG_RC"
	ag_expect_log "$desc: the session phase logs the reason" \
		"pam_authguard\\($AG_SVC:session\\): event=error op=session user=alice: state service $ere; access denied$"
	AG_ENV=()
}

D=$AG_TMP/svcdir
mkdir -m 755 "$D"

ag_say "no service module in the directory"
denied "missing" "$D" "$D/authsvc-direct\\.so: No such file or directory \\(not installed\\?\\)"

ag_expect_status "nothing was counted while the service could not be loaded" alice -- \
	failures=1 pending=0

ag_say "a safe copy of the built one"
cp "$AG_SERVICE_MODULE" "$D/authsvc-direct.so"
chmod 755 "$D/authsvc-direct.so"
AG_ENV=(AUTHGUARD_TEST_SERVICE_DIR="$D")
ag_attempt "copy, mode 0755: right password accepted" alice "$AG_RIGHT" 0 1
ag_expect_no_log "copy: no event=error" 'event=error'
AG_ENV=()

ag_say "the file writable by others, by its group"
chmod 757 "$D/authsvc-direct.so"
denied "mode 0757" "$D" "$D/authsvc-direct\\.so is writable by others"
chmod 775 "$D/authsvc-direct.so"
denied "mode 0775" "$D" "$D/authsvc-direct\\.so is writable by its group"
chmod 755 "$D/authsvc-direct.so"

ag_say "the directory writable by others"
chmod 777 "$D"
denied "directory mode 0777" "$D" \
	"$D/authsvc-direct\\.so has a parent directory writable by group or others \\($D\\)"
chmod 755 "$D"

ag_say "a symlink to the built one"
rm -f "$D/authsvc-direct.so"
ln -s "$AG_SERVICE_MODULE" "$D/authsvc-direct.so"
denied "symlink" "$D" "$D/authsvc-direct\\.so: Too many levels of symbolic links"
rm -f "$D/authsvc-direct.so"

ag_say "a directory in its place"
mkdir -m 755 "$D/authsvc-direct.so"
denied "directory" "$D" "$D/authsvc-direct\\.so: not a regular file"
rmdir "$D/authsvc-direct.so"

ag_say "modules of another build"
install -m 755 "$STALE_ABI" "$D/authsvc-direct.so"
denied "another ABI" "$D" "$D/authsvc-direct\\.so: built for another version"
install -m 755 "$STALE_CONFIG" "$D/authsvc-direct.so"
denied "another configuration layout" "$D" "$D/authsvc-direct\\.so: built for another version"

if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	ag_say "the file owned by another user"
	install -m 755 "$AG_SERVICE_MODULE" "$D/authsvc-direct.so"
	chown nobody "$D/authsvc-direct.so"
	denied "owned by nobody" "$D" "$D/authsvc-direct\\.so is not owned by root or the current user"
else
	ag_say "SKIP the owner check: it needs root and a user nobody"
fi

ag_say "back to the built one"
ag_attempt "right password accepted again" alice "$AG_RIGHT" 0 1
ag_expect_no_log "no event=error" 'event=error'

ag_done
