# Shared code of the daemon tests that drive authguardd over its socket
# (tests/daemon/{authz,hostile,kill9}.sh).  Sourced after tests/pam/lib.sh
# and ag_init.
#
#   agd_start NAME [VAR=value...]  starts the daemon of $AG_CONF on
#                  $AGD_SOCK in the background (the syslog capture, the
#                  test clock, nss_wrapper when AGD_NSS=1, valgrind when
#                  AGD_VALGRIND=1); sets AGD_PID (the daemon's own pid)
#   agd_stop       SIGTERM, waits; AGD_RC is its exit status
#   agd_client [RUNAS...] -- ARGS  tests/daemon/client.py as that identity
#   agd_rss        the daemon's VmRSS in KiB
#
# Identities (AGD_NSS=1): nss_wrapper files in $AG_TMP that the daemon
# resolves peers' uids and the web group with -- the same numbers the
# test's processes get from setpriv, so the kernel's SO_PEERCRED and the
# daemon's names agree:
#   alice 5001, bob 5002, www 5003 (member of agweb 5100), nobody 65534,
#   uid 5999 has no name at all.

AGD_DAEMON=$top_builddir/daemon/authguardd
AGD_CLIENT=$top_srcdir/tests/daemon/client.py
AGD_SOCK=
AGD_PID=
AGD_RC=
AGD_ERR=
AGD_NSS=${AGD_NSS:-0}
AGD_VALGRIND=${AGD_VALGRIND:-0}
AGD_VG_LOG=
[ -x "$AGD_DAEMON" ] || ag_bail "daemon not built: $AGD_DAEMON (run make)"

agd_identities() {
	cat >"$AG_TMP/passwd" <<-'EOF2'
	root:x:0:0:root:/root:/bin/sh
	alice:x:5001:5001:alice:/nonexistent:/bin/sh
	bob:x:5002:5002:bob:/nonexistent:/bin/sh
	www:x:5003:5003:web backend:/nonexistent:/bin/sh
	nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
	EOF2
	cat >"$AG_TMP/group" <<-'EOF2'
	root:x:0:
	alice:x:5001:
	bob:x:5002:
	www:x:5003:
	agweb:x:5100:www
	nogroup:x:65534:
	EOF2
	chmod 644 "$AG_TMP/passwd" "$AG_TMP/group"
}

# agd_start NAME [VAR=value...]
agd_start() {
	local name=$1 pre=$AG_CAPTURE envs=() vg=() i
	shift
	AGD_ERR=$AG_TMP/$name.err
	AGD_SOCK=${AGD_SOCK:-$AG_TMP/d.sock}
	# AGD_STALE=1: a socket file left behind stays for the daemon to replace
	[ "${AGD_STALE:-0}" = 1 ] || rm -f "$AGD_SOCK"
	if [ "$AGD_NSS" = 1 ]; then
		[ -f "$NSS_WRAPPER_LIB" ] || ag_skip "nss_wrapper not found at $NSS_WRAPPER_LIB"
		[ -f "$AG_TMP/passwd" ] || agd_identities
		pre=$NSS_WRAPPER_LIB:$pre
		envs+=("NSS_WRAPPER_PASSWD=$AG_TMP/passwd" "NSS_WRAPPER_GROUP=$AG_TMP/group")
	fi
	[ -z "$AG_PRELOAD_EXTRA" ] || pre=$AG_PRELOAD_EXTRA:$pre
	if [ "$AGD_VALGRIND" = 1 ]; then
		command -v valgrind >/dev/null 2>&1 || ag_bail "AG_VALGRIND=1 but valgrind is not installed"
		AGD_VG_LOG=$AG_TMP/$name.vg
		vg=(valgrind -q --error-exitcode=97 --leak-check=full
			--errors-for-leak-kinds=definite --show-leak-kinds=definite
			--num-callers=30 "--log-file=$AGD_VG_LOG" --vgdb=no
			"--suppressions=$top_srcdir/tests/valgrind.supp" ${AG_VALGRIND_OPTS:-})
	fi
	env LD_PRELOAD="$pre" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
		${envs[@]+"${envs[@]}"} "$@" ${vg[@]+"${vg[@]}"} \
		"$AGD_DAEMON" --conf "$AG_CONF" --socket "$AGD_SOCK" 2>"$AGD_ERR" &
	AGD_PID=$!
	for i in $(seq 600); do
		[ -S "$AGD_SOCK" ] && agd_client -- ping >/dev/null 2>&1 && break
		kill -0 "$AGD_PID" 2>/dev/null || break
		sleep 0.05
	done
	agd_client -- ping >/dev/null 2>&1 ||
		ag_bail "authguardd did not start: $(tail -n 20 "$AG_TMP/$name.err")"
	: "$i"
}

agd_stop() {
	kill -TERM "$AGD_PID" 2>/dev/null
	wait "$AGD_PID"
	AGD_RC=$?
	# A sanitizer's report on the daemon's stderr is a failure, whatever
	# the exit status says (and the stderr is scanned for secrets).
	ag_check_sanitizer "$(cat "$AGD_ERR")" authguardd
}

# agd_client [RUNAS... --] ARGS: the client as another identity when a
# RUNAS command (setpriv ...) comes before "--".
agd_client() {
	local runas=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		runas+=("$1")
		shift
	done
	shift
	${runas[@]+"${runas[@]}"} env AGD_SOCK="$AGD_SOCK" /usr/bin/python3 "$AGD_CLIENT" "$@"
}

agd_rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$AGD_PID/status" 2>/dev/null || echo 0
}
