#!/bin/bash
# Account lockout through a real PAM stack: 10 wrong passwords lock the
# account for lock_time (1 hour); the right password is then refused without
# being checked, the account phase refuses too; the lock runs out with the
# clock, and authguard-ctl unlock lifts it at once.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

# delay_base = 0: no progressive delay, so ten attempts can be made at the
# same instant.  The defaults otherwise (deny 10, lock_time 1h).
ag_setup lockout "delay_base = 0"
AG_RHOST=192.0.2.10
user=alice

ag_say "a right password works on a fresh account"
ag_attempt "right password accepted before any failure" $user "$AG_RIGHT" 0 1 authenticate acct_mgmt
ag_expect_out "pamtester reports success" 'successfully authenticated'

ag_say "ten wrong passwords"
ag_reset_count
for i in 1 2 3 4 5 6 7 8 9; do
	ag_attempt "wrong password $i refused after the password check" $user "$AG_WRONG" 1 1
	ag_expect_log "failure $i logged as event=auth_fail failures=$i" \
		"event=auth_fail user=$user rhost=192\.0\.2\.10 .*failures=$i( |$)"
done
ag_expect_no_log "no lock before the 10th failure" 'event=lock'
ag_attempt "wrong password 10 refused after the password check" $user "$AG_WRONG" 1 1
ag_expect_log "10th failure logged as event=auth_fail failures=10" \
	"event=auth_fail user=$user .*failures=10( |$)"
ag_expect_log "10th failure logs event=lock scope=account" \
	"event=lock scope=account user=$user rhost=192\.0\.2\.10 .*failures=10 until=$((AG_NOW + 3600))( |$)"
ag_expect_eq "the password check ran exactly 10 times" 10 "$(ag_count)"
ag_expect_out "the user is told the account is now locked (60 minutes)" 'Too many failed logins; access locked for 60 minutes'

ag_expect_status "status: account locked for 3600 s with 10 failures" $user -- \
	kind=account subject=$user failures=10 pending=0 locked=true \
	locked_until=$((AG_NOW + 3600)) retry_after=3600 last_source=192.0.2.10

ag_say "while locked"
ag_attempt "right password refused while locked, password not checked" $user "$AG_RIGHT" 1 0
ag_expect_log "refusal logged as event=auth_refused reason=locked scope=account" \
	"event=auth_refused user=$user .*reason=locked scope=account failures=10 retry_after=3600"
ag_expect_out "the user is told to come back in 1 hour" 'Account locked due to failed logins; try again in 60 minutes'
ag_expect_no_log "a refused attempt is not logged as a failure" 'event=auth_fail'
ag_expect_status "a refused attempt does not add a failure" $user -- failures=10 locked=true

ag_attempt "account phase alone (acct_mgmt) refuses the locked account" $user - 1 0 acct_mgmt
ag_expect_out "acct_mgmt fails with permission denied" 'Permission denied'
ag_expect_log "account phase logs event=account_refused reason=locked" \
	"event=account_refused user=$user .*reason=locked scope=account"

ag_say "another account is not affected"
ag_attempt "another account logs in from the same host" bob "$AG_RIGHT" 0 1 authenticate acct_mgmt

ag_say "the lock runs out with the clock"
AG_NOW=$((AG_T0 + 1800))
ag_attempt "right password still refused after 30 minutes" $user "$AG_RIGHT" 1 0
ag_expect_log "retry_after counts down (1800)" "event=auth_refused user=$user .*retry_after=1800"
AG_NOW=$((AG_T0 + 3599))
ag_attempt "right password still refused 1 s before the lock ends" $user "$AG_RIGHT" 1 0
ag_attempt "acct_mgmt still refused 1 s before the lock ends" $user - 1 0 acct_mgmt
AG_NOW=$((AG_T0 + 3600))
ag_attempt "acct_mgmt allowed once lock_time has passed" $user - 0 0 acct_mgmt
ag_attempt "right password accepted once lock_time has passed" $user "$AG_RIGHT" 0 1 authenticate acct_mgmt
ag_expect_status "status after the lock ran out: no failures, not locked" $user -- \
	failures=0 locked=false locked_until=null retry_after=0

ag_say "a fresh lock lifted by authguard-ctl unlock"
AG_NOW=$((AG_T0 + 7200))
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam $user "$AG_WRONG"
done
ag_expect_log "locked again after 10 more failures" "event=lock scope=account user=$user "
ag_attempt "right password refused (locked again)" $user "$AG_RIGHT" 1 0
ag_run_ctl unlock $user
ag_expect_eq "authguard-ctl unlock exits 0" 0 "$AG_RC"
ag_expect_eq "authguard-ctl unlock says what it did" "account $user: unlocked, failures cleared" "$AG_JSON"
ag_expect_log "unlock logged as event=admin_unlock" \
	"authguard-ctl.*event=admin_unlock scope=account user=$user uid=$(id -u) had_state=1"
ag_expect_status "status after unlock: no failures, not locked" $user -- failures=0 locked=false
ag_attempt "right password accepted right after unlock" $user "$AG_RIGHT" 0 1 authenticate acct_mgmt

ag_run_ctl unlock $user
ag_expect_log "unlocking an account without state logs had_state=0" \
	"event=admin_unlock scope=account user=$user .*had_state=0"

ag_say "with the default delays, moving the clock past each delay also locks at 10"
ag_setup lockout-delays
AG_NOW=$((AG_T0 + 10000))
ag_reset_count
t=$AG_NOW
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam carol "$AG_WRONG"
	d=$(ag_log_last | sed -n 's/.*event=auth_fail .* delay=\([0-9]*\).*/\1/p')
	AG_NOW=$((AG_NOW + ${d:-1}))
done
ag_expect_eq "10 attempts, each after its delay, all reached the password check" 10 "$(ag_count)"
ag_expect_log "the 10th locks" "event=lock scope=account user=carol .*failures=10 until=$((AG_NOW - 16 + 3600))"
ag_attempt "right password refused after the delayed 10 failures" carol "$AG_RIGHT" 1 0
ag_expect_log "refused as locked (not as too early)" "event=auth_refused user=carol .*reason=locked"

ag_done
