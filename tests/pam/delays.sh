#!/bin/bash
# Progressive delays with the defaults (delay_base 1, delay_max 16), driven
# by the test clock: after the n-th consecutive failure the next attempt is
# refused, without running the password check, until 1, 2, 4, 8, 16, 16 ...
# seconds have passed.  The delay is "not before" in the state, so it holds
# whichever connection (host) the next attempt comes from.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

ag_setup delays # defaults only
AG_RHOST=192.0.2.20
user=alice
t=$AG_T0
expected=(1 2 4 8 16 16 16)
recorded=()

n=0
for d in "${expected[@]}"; do
	n=$((n + 1))
	ag_say "failure $n at t0+$((t - AG_T0)): the next attempt must wait $d s"
	AG_NOW=$t
	AG_RHOST=192.0.2.20
	ag_attempt "wrong password $n is checked and refused" $user "$AG_WRONG" 1 1
	got=$(ag_log_last | sed -n 's/.*event=auth_fail .* delay=\([0-9]*\).*/\1/p')
	recorded+=("${got:-?}")
	ag_expect_eq "failure $n logged with failures=$n delay=$d" "$n $d" \
		"$(ag_log_last | sed -n 's/.*event=auth_fail .* failures=\([0-9]*\) .*delay=\([0-9]*\).*/\1 \2/p')"
	ag_expect_status "status: failure $n, retry_after=$d, not locked" $user -- \
		failures=$n pending=0 locked=false retry_after=$d

	ag_attempt "right password at once: refused, not checked" $user "$AG_RIGHT" 1 0
	ag_expect_log "logged as auth_refused reason=delay retry_after=$d" \
		"event=auth_refused user=$user .*reason=delay scope=account failures=$n retry_after=$d( |$)"
	if [ "$d" -gt 1 ]; then
		ag_expect_out "the user is told to wait $d seconds" "Too many failed logins; try again in $d seconds"
	else
		ag_expect_out "the user is told to wait 1 second" "Too many failed logins; try again in 1 second\."
	fi

	AG_NOW=$((t + d - 1))
	AG_RHOST=198.51.100.99
	ag_attempt "1 s too early from another host: still refused (the delay is the account's)" \
		$user "$AG_WRONG" 1 0
	ag_expect_log "logged with scope=account retry_after=1" \
		"event=auth_refused user=$user rhost=198\.51\.100\.99 .*reason=delay scope=account failures=$n retry_after=1( |$)"
	ag_expect_status "refused attempts do not count as failures" $user -- failures=$n
	t=$((t + d))
done
ag_expect_eq "delays recorded after failures 1..7" "${expected[*]}" "${recorded[*]}"
ag_expect_eq "only the 7 attempts made in time reached the password check" 7 "$(ag_count)"

ag_say "the right password once the delay is over"
AG_NOW=$t
AG_RHOST=192.0.2.20
ag_attempt "right password accepted exactly when the last delay ends" $user "$AG_RIGHT" 0 1 \
	authenticate acct_mgmt
ag_expect_log "the success resets the 7 failures" "event=success_reset user=$user .*failures=7"
# From a fresh host: the delay logged is the larger of the account's and
# the host's, and 192.0.2.20 still has its 7 failures (host counts decay
# with the window, a success does not reset them).
AG_RHOST=192.0.2.21
ag_attempt "after the reset, a wrong password is checked at once" $user "$AG_WRONG" 1 1
ag_expect_log "and the delay starts again at 1" "event=auth_fail user=$user .*failures=1 host_failures=1 delay=1( |$)"
ag_expect_status "status: 1 failure, retry_after=1" $user -- failures=1 retry_after=1

ag_say "a remote host has its own delay, over all accounts it tries"
AG_NOW=$((AG_T0 + 5000))
AG_RHOST=203.0.113.50
ag_attempt "dave: wrong password from 203.0.113.50" dave "$AG_WRONG" 1 1
ag_attempt "erin from the same host at once: refused, not checked" erin "$AG_RIGHT" 1 0
ag_expect_log "logged as auth_refused reason=delay scope=host" \
	"event=auth_refused user=erin rhost=203\.0\.113\.50 .*reason=delay scope=host failures=1 retry_after=1( |$)"
ag_expect_status "status --ip: the host must wait 1 s" --ip 203.0.113.50 -- \
	kind=host subject=203.0.113.50 failures=1 locked=false retry_after=1 last_source=dave
AG_RHOST=203.0.113.51
ag_attempt "erin from another host at once: accepted" erin "$AG_RIGHT" 0 1
AG_NOW=$((AG_T0 + 5001))
AG_RHOST=203.0.113.50
ag_attempt "erin from 203.0.113.50 after 1 s: accepted" erin "$AG_RIGHT" 0 1

ag_say "delay_base 2, delay_max 5: 2, 4, 5, 5"
ag_setup delays25 "delay_base = 2" "delay_max = 5"
AG_RHOST=192.0.2.22
t=$((AG_T0 + 10000))
recorded=()
for d in 2 4 5 5; do
	AG_NOW=$t
	ag_attempt "wrong password after the previous delay: checked" frank "$AG_WRONG" 1 1
	recorded+=("$(ag_log_last | sed -n 's/.*event=auth_fail .* delay=\([0-9]*\).*/\1/p')")
	AG_NOW=$((t + d - 1))
	ag_attempt "1 s before the $d s delay ends: refused" frank "$AG_WRONG" 1 0
	t=$((t + d))
done
ag_expect_eq "delays recorded" "2 4 5 5" "${recorded[*]}"

ag_done
