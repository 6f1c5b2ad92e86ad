#!/bin/bash
# A successful authentication resets the account's failure count (and logs
# event=success_reset); the host's count is left to decay with the window;
# the account phase on its own (acct_mgmt without authenticate) resets
# nothing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

ag_setup reset # defaults: delays 1, 2, 4 ... so the clock moves between attempts
AG_RHOST=192.0.2.30
user=alice

ag_say "three failures, each after its delay"
AG_NOW=$AG_T0
ag_attempt "wrong password 1" $user "$AG_WRONG" 1 1
AG_NOW=$((AG_T0 + 1))
ag_attempt "wrong password 2" $user "$AG_WRONG" 1 1
AG_NOW=$((AG_T0 + 3))
ag_attempt "wrong password 3" $user "$AG_WRONG" 1 1
ag_expect_status "status: 3 failures, next attempt in 4 s" $user -- \
	failures=3 locked=false retry_after=4 last_source=192.0.2.30

ag_say "the right password after the delay"
AG_NOW=$((AG_T0 + 7))
ag_attempt "right password accepted" $user "$AG_RIGHT" 0 1 authenticate acct_mgmt
ag_expect_log "event=success_reset with the 3 failures it cleared" \
	"event=success_reset user=$user rhost=192\.0\.2\.30 .*failures=3( |$)"
ag_expect_status "status: the account's count is 0" $user -- \
	failures=0 pending=0 locked=false retry_after=0 last_failure=null
ag_expect_status "status --ip: the host keeps its 3 failures (they decay with the window)" \
	--ip 192.0.2.30 -- failures=3 pending=0 locked=false
ag_attempt "a wrong password right after the success is checked at once (no delay left)" \
	$user "$AG_WRONG" 1 1
ag_expect_log "and counts as failure 1 again" "event=auth_fail user=$user .*failures=1 "

ag_say "a success without earlier failures logs no success_reset"
AG_NOW=$((AG_T0 + 100))
ag_attempt "bob: right password" bob "$AG_RIGHT" 0 1
ag_expect_no_log "no success_reset for an account without failures" 'event=success_reset'
ag_expect_status "bob's success did not touch alice's count" $user -- failures=1

ag_say "the account phase alone does not reset failures"
AG_NOW=$((AG_T0 + 200))
AG_RHOST=192.0.2.31
ag_attempt "wrong password (2nd)" $user "$AG_WRONG" 1 1
AG_NOW=$((AG_T0 + 202))
ag_attempt "wrong password (3rd)" $user "$AG_WRONG" 1 1
ag_expect_status "status: 3 failures" $user -- failures=3
AG_NOW=$((AG_T0 + 300))
for i in 1 2 3; do
	ag_attempt "acct_mgmt alone ($i): allowed (not locked)" $user - 0 0 acct_mgmt
	ag_expect_no_log "acct_mgmt alone ($i) logs no success_reset" 'event=success_reset'
done
ag_expect_status "status after acct_mgmt: still 3 failures" $user -- failures=3 locked=false

ag_say "a success between failures restarts the count toward the lock"
ag_setup reset0 "delay_base = 0"
AG_NOW=$((AG_T0 + 1000))
AG_RHOST=192.0.2.32
for i in 1 2 3 4 5 6 7 8 9; do
	ag_pam carol "$AG_WRONG"
done
ag_expect_status "carol: 9 failures" carol -- failures=9 locked=false
ag_attempt "carol: right password after 9 failures" carol "$AG_RIGHT" 0 1
ag_expect_log "success_reset failures=9" 'event=success_reset user=carol .*failures=9( |$)'
for i in 1 2 3 4 5 6 7 8 9; do
	ag_pam carol "$AG_WRONG"
done
ag_expect_no_log "9 more failures do not lock" 'event=lock scope=account'
ag_expect_status "carol: 9 failures in the window after the reset, not locked" carol -- \
	failures=9 locked=false
ag_attempt "carol: 10th failure after the reset" carol "$AG_WRONG" 1 1
ag_expect_log "locks" 'event=lock scope=account user=carol .*failures=10'

ag_done
