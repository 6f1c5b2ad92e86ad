#!/bin/bash
# Progressive delays with the defaults (delay_base 1, delay_max 16), driven
# by the test clock: after the n-th consecutive failure the next attempt is
# refused, without running the password check, until 1, 2, 4, 8, 16, 16 ...
# seconds have passed.  The delay is "not before" in the state, so it holds
# whichever connection (host) the next attempt comes from.
#
# Then the fail delay the module asks libpam for (pam_fail_delay), observed
# through the application's PAM_FAIL_DELAY function (tests/lib/
# pam_delay_probe), never timed: a failure asks for its progressive delay,
# an early attempt for the time still owed, attempts in flight for the
# delay they owe, and a refusal for a lock (account or host) for none.
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

ag_say "the fail delay requested from libpam (recorded by the application, not slept)"
AG_PROBE=$top_builddir/tests/lib/pam_delay_probe
[ -x "$AG_PROBE" ] || ag_bail "not built: $AG_PROBE (make check builds it)"

# probe_service NAME: the stack of ag_service without nodelay.
probe_service() {
	cat >"$AG_TMP/svc/$1" <<-EOF
	auth     requisite               $AG_MODULE preauth conf=$AG_CONF
	auth     [success=1 default=bad] pam_exec.so expose_authtok quiet $AG_TMP/check-password.sh
	auth     [default=die]           $AG_MODULE authfail conf=$AG_CONF
	auth     sufficient              $AG_MODULE authsucc conf=$AG_CONF
	auth     required                pam_deny.so
	EOF
	chmod 644 "$AG_TMP/svc/$1"
	AG_SVC=$1
}

# probe USER PASSWORD: one pam_authenticate through pam_delay_probe; sets
# AG_RC, AG_OUT and usec (the delay libpam would have slept, in us).
probe() {
	AG_LOG_MARK=$(ag_log_lines)
	ag_preload pam
	AG_OUT=$(printf '%s\n' "$2" | ${ag_pwrap_shared[@]+"${ag_pwrap_shared[@]}"} \
		timeout "$ag_timeout" env LD_PRELOAD="$ag_preload" PAM_WRAPPER=1 \
		PAM_WRAPPER_USE_SYSLOG=1 PAM_WRAPPER_SERVICE_DIR="$AG_TMP/svc" \
		AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
		${ag_vg[@]+"${ag_vg[@]}"} "$AG_PROBE" "$AG_SVC" "$1" "$AG_RHOST" 2>&1 \
		19>>"${ag_vg_log:-/dev/null}")
	AG_RC=$?
	ag_check_sanitizer "$AG_OUT" "pam_delay_probe $AG_SVC"
	usec=$(sed -n 's/^fail_delay_calls=1 fail_delay_usec=\([0-9]*\)$/\1/p' <<<"$AG_OUT")
}

# expect_delay DESC SECONDS: the last probe was refused and libpam was
# asked for SECONDS (0: nothing; else within libpam's +-50%).
expect_delay() {
	local lo=$(($2 * 500000)) hi=$(($2 * 1500000))
	if [ "$AG_RC" = 1 ] && [ -n "$usec" ] && [ "$usec" -ge "$lo" ] && [ "$usec" -le "$hi" ]; then
		ag_pass "$1"
	else
		ag_fail "$1" "expected exit 1 and a fail delay of $2 s ($lo..$hi us)" \
			"got exit $AG_RC: $(printf '%s' "$AG_OUT" | tr '\n' '|')"
	fi
}

ag_conf probe # defaults: delays 1..16 s, deny 10, lock 1 hour
probe_service probe
AG_RHOST=192.0.2.30
t=$((AG_T0 + 20000))
AG_NOW=$t
probe paula "$AG_WRONG"
expect_delay "failure 1: the module asks for 1 s" 1
probe paula "$AG_RIGHT"
expect_delay "at once: refused as too early, and asks for the 1 s still owed" 1
ag_expect_out "... telling the user" '^error: Too many failed logins; try again in 1 second\.$'
for n in 2 3 4 5 6 7 8 9; do
	t=$((t + 16))
	AG_NOW=$t
	probe paula "$AG_WRONG"
done
expect_delay "failure 9: the module asks for 16 s" 16
t=$((t + 16))
AG_NOW=$t
probe paula "$AG_WRONG"
expect_delay "failure 10 (it locks): still a failure, 16 s" 16
ag_expect_out "... and tells the user the account is now locked" \
	'^error: Too many failed logins; access locked for 60 minutes\.$'
AG_NOW=$((t + 20))
probe paula "$AG_RIGHT"
expect_delay "locked: refused without asking libpam for any delay" 0
ag_expect_out "... with the lock's message at once" \
	'^error: Account locked due to failed logins; try again in 60 minutes\.$'
ag_expect_eq "... and libpam called the application's delay function once" 1 \
	"$(grep -c '^fail_delay_calls=1 ' <<<"$AG_OUT")"
AG_NOW=$((t + 40))
probe paula "$AG_WRONG"
expect_delay "locked, wrong password: no delay either (the password is not checked)" 0

ag_say "attempts in flight (reserved by authguard-token guard check) owe their delay"
AG_NOW=$((AG_T0 + 30000))
for n in 1 2 3 4 5 6 7 8 9 10; do
	AG_NOW=$((AG_NOW + 16))
	ag_run_token guard check --subject quinn
	[ "$AG_RC" = 0 ] || ag_fail "guard check $n for quinn allowed" "exit $AG_RC: $AG_JSON"
done
last=$(ag_jget "$AG_JSON" attempt)
AG_NOW=$((AG_NOW + 1))
probe quinn "$AG_RIGHT"
expect_delay "10 attempts in flight, no lock: busy, asks for the 15 s they still owe" 15
ag_expect_out "... and says so, without claiming a lock" \
	'^error: Too many logins in progress; try again in 15 seconds\.$'
ag_run_token guard failure --subject quinn --attempt "$last"
probe quinn "$AG_RIGHT"
expect_delay "one of them failed and locked: no delay" 0
ag_expect_out "... the lock's own time" '^error: Account locked due to failed logins; try again in 60 minutes\.$'

ag_say "a host lock: no delay either"
ag_conf probehost "deny = 2" "host_deny = 2" "delay_base = 0"
probe_service probehost
AG_RHOST=203.0.113.77
AG_NOW=$((AG_T0 + 40000))
probe rita "$AG_WRONG"
probe sam "$AG_WRONG"
ag_expect_log "two failures lock the host" 'event=lock scope=host '
probe tess "$AG_RIGHT"
expect_delay "host locked: refused without a delay" 0
ag_expect_out "... with the host's message" \
	'^error: Too many failed logins from your address; try again in 60 minutes\.$'

ag_done
