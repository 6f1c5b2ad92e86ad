#!/bin/bash
# kill -9 of authguardd in the middle of a stream of writes
# (authguardd(8) SIGNALS: a request is answered only after its
# transaction committed):
#
#   - six writers on connections of their own record guard failures
#     (four web subjects) and failed PAM attempts (alice and bob:
#     pam_begin then pam_fail), as fast as the daemon answers, while
#     authguard-token --daemon records guard failures of another subject
#     process after process;
#   - the daemon is killed with SIGKILL while they write;
#   - every acknowledged write is in the state: for each subject the
#     settled failures on record are the acknowledged ones, or one more
#     (the write in flight may have committed without its answer getting
#     out), never fewer;
#   - every client in flight gets a clean error: the raw clients an end
#     of stream or a reset with no partial answer, authguard-token a
#     non-zero exit and no answer (deny), and the next one too (no
#     daemon);
#   - the state passes its integrity check, a restarted daemon replaces
#     the socket file the killed one left, serves again, and sees the same
#     counts.
#
# KILL9_SECONDS (default 1.5) is how long the writers run before the kill.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init
. "$top_srcdir/tests/daemon/lib.sh"
ag_sqlite_only_script "counts rows of the SQLite state after the kill"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 (the command) is not installed"

AGD_NSS=1   # alice and bob exist for the daemon (tests/daemon/lib.sh)
extra=()
[ "$(id -u)" = 0 ] && extra+=("daemon_user = root")
ag_conf kill9 "delay_base = 0" "deny = 100000" "host_deny = 100000" \
	"daemon_socket = $AG_TMP/d.sock" "${extra[@]}"
AGD_SOCK=$AG_TMP/d.sock
agd_start kill9

WEB=(k9-a k9-b k9-c k9-d)
PAM=(alice bob)
HELPER=k9-helper

AGD_SOCK=$AGD_SOCK ag_python "$top_srcdir/tests/daemon/load.py" stream web "${WEB[@]}" \
	>"$AG_TMP/web.out" 2>"$AG_TMP/web.err" &
pw=$!
AGD_SOCK=$AGD_SOCK ag_python "$top_srcdir/tests/daemon/load.py" stream pam "${PAM[@]}" \
	>"$AG_TMP/pam.out" 2>"$AG_TMP/pam.err" &
pp=$!
# authguard-token through the daemon, one process per write, until one
# fails; then one more, against no daemon.
(
	ok=0
	while :; do
		out=$(ag_token --daemon guard failure --subject "$HELPER" 2>>"$AG_TMP/helper.err")
		rc=$?
		[ "$rc" = 0 ] || break
		ok=$((ok + 1))
	done
	printf '%s %s %s\n' "$ok" "$rc" "$(printf '%s' "$out" | head -c 200 | tr '\n' ' ')" >"$AG_TMP/helper.out"
	out=$(ag_token --daemon guard failure --subject "$HELPER" 2>>"$AG_TMP/helper.err")
	printf '%s %s\n' "$?" "$(printf '%s' "$out" | head -c 200 | tr '\n' ' ')" >>"$AG_TMP/helper.out"
) &
ph=$!

sleep "${KILL9_SECONDS:-1.5}"
kill -KILL "$AGD_PID"
wait "$AGD_PID" 2>/dev/null
ag_say "authguardd killed (SIGKILL) during the writes"
wait "$pw" "$pp" "$ph"

web=$(cat "$AG_TMP/web.out")
pam=$(cat "$AG_TMP/pam.out")
ag_say "web writers: $web"
ag_say "PAM writers: $pam"
read -r h_ok h_rc h_out < <(head -n 1 "$AG_TMP/helper.out")
read -r h2_rc h2_out < <(sed -n 2p "$AG_TMP/helper.out")
ag_say "authguard-token: $h_ok acknowledged, then exit $h_rc, then exit $h2_rc"

# settled failures on record for a subject (web) or an account (PAM)
on_record() {
	ag_sql "SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id
		WHERE s.kind = 1 AND s.name = '$1' AND f.pending = 0"
}
check_subject() { # NAME ACKED
	local got
	got=$(on_record "$1")
	if [ "$2" -gt 0 ] && { [ "$got" = "$2" ] || [ "$got" = $(($2 + 1)) ]; }; then
		ag_pass "$1: all $2 acknowledged failures on record ($got)"
	else
		ag_fail "$1: all acknowledged failures on record" "acknowledged $2, on record $got"
	fi
}
total=0
for n in "${WEB[@]}" "${PAM[@]}"; do
	[ "${n#k9-}" != "$n" ] && doc=$web || doc=$pam
	acked=$(ag_jget "$doc" "$n.acked")
	total=$((total + acked))
	check_subject "$n" "$acked"
	ended=$(ag_jget "$doc" "$n.ended")
	case $ended in
	ConnectionResetError | BrokenPipeError) ag_pass "$n: the write in flight ended cleanly ($ended)" ;;
	*) ag_fail "$n: the write in flight ended cleanly" "ended: $ended" ;;
	esac
	ag_expect_eq "$n: no partial answer" false "$(ag_jget "$doc" "$n.partial")"
done
ag_say "$total writes acknowledged by the raw clients"
check_subject "$HELPER" "$h_ok"
ag_expect_eq "authguard-token in flight: deny (exit 3, no answer)" "3 " "$h_rc $h_out"
ag_expect_eq "authguard-token with no daemon: deny (exit 3, no answer)" "3 " "$h2_rc $h2_out"
ag_expect_eq "the state is intact" ok "$(ag_sql_integrity)"

before=$(for n in "${WEB[@]}" "${PAM[@]}" "$HELPER"; do on_record "$n"; done | tr '\n' ' ')
ag_expect_true "the killed daemon left its socket file" test -S "$AGD_SOCK"
AGD_STALE=1 agd_start kill9-again
ag_expect_eq "a restarted daemon serves again" 0 \
	"$(ag_jget "$(agd_client -- lines <<<'{"op":"guard_failure","subject":"k9-after"}')" status)"
ag_expect_eq "... and records what it acknowledges" 1 "$(on_record k9-after)"
agd_stop
ag_expect_eq "the restarted daemon stops cleanly" 0 "$AGD_RC"
after=$(for n in "${WEB[@]}" "${PAM[@]}" "$HELPER"; do on_record "$n"; done | tr '\n' ' ')
ag_expect_eq "the counts are the same after the restart" "$before" "$after"
ag_done
