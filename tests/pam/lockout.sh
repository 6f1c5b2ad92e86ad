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

ag_say "only failures within fail_window (15 minutes) count"
AG_NOW=$((AG_T0 + 20000))
for i in 1 2 3 4 5 6 7 8 9; do
	ag_pam wendy "$AG_WRONG"
	ag_pam walt "$AG_WRONG"
done
AG_NOW=$((AG_T0 + 20000 + 899))
ag_attempt "walt: 10th failure 899 s after the first nine" walt "$AG_WRONG" 1 1
ag_expect_log "walt is locked (all ten inside the window)" 'event=lock scope=account user=walt '
AG_NOW=$((AG_T0 + 20000 + 900))
ag_attempt "wendy: 10th failure 900 s after the first nine" wendy "$AG_WRONG" 1 1
ag_expect_no_log "wendy is not locked (the first nine left the window)" 'event=lock'
ag_expect_status "wendy: 1 failure in the window" wendy -- failures=1 locked=false
ag_attempt "wendy: right password accepted" wendy "$AG_RIGHT" 0 1

ag_say "an attempt whose process dies during the password check still counts"
AG_NOW=$((AG_T0 + 30000))
cat >"$AG_TMP/hook" <<'EOF'
#!/bin/bash
# parent: check-password.sh; grandparent: pamtester
pt=$(awk '{ print $4 }' "/proc/$PPID/stat")
echo "$pt" >"${0%/*}/killed.pid"
kill -KILL "$pt"
sleep 5 # never reached
EOF
chmod 755 "$AG_TMP/hook"
{ ag_attempt "kurt: pamtester killed during the password check" kurt "$AG_RIGHT" 137 1; } 2>/dev/null
rm -f "$AG_TMP/hook"
# The killed pamtester could not remove its pam_wrapper directory.
for d in /tmp/pam.?; do
	if [ -f "$d/pid" ] && [ "$(cat "$d/pid")" = "$(cat "$AG_TMP/killed.pid")" ]; then
		rm -rf "$d"
	fi
done
ag_expect_no_log "nothing settled for kurt" 'user=kurt'
ag_expect_status "status: kurt has 1 failure, still pending" kurt -- failures=1 pending=1 locked=false
for i in 1 2 3 4 5 6 7 8; do
	ag_pam kurt "$AG_WRONG"
done
ag_expect_status "8 wrong passwords later: 9 failures" kurt -- failures=9 locked=false
ag_attempt "kurt: the 9th wrong password is the 10th failure" kurt "$AG_WRONG" 1 1
ag_expect_log "kurt is locked" 'event=lock scope=account user=kurt .*failures=10'

ag_say "locked while the password was being checked: the right password is refused"
# The hook runs inside the password check of the next attempt: ten failures
# for the same account arrive through the web guard meanwhile.
AG_NOW=$((AG_T0 + 40000))
cat >"$AG_TMP/hook" <<EOF
#!/bin/bash
for i in 1 2 3 4 5 6 7 8 9 10; do
	AUTHGUARD_TEST_TIME=$AG_NOW '$AG_TOKEN_BIN' --conf '$AG_CONF' guard failure \\
		--subject dora --ip 203.0.113.9 >/dev/null 2>&1 || exit 1
done
EOF
chmod 755 "$AG_TMP/hook"
ag_attempt "dora: right password checked, then refused (locked meanwhile)" dora "$AG_RIGHT" 1 1
rm -f "$AG_TMP/hook"
ag_expect_log "authsucc logs auth_refused reason=locked" \
	'pam_authguard\(lockout:auth\): event=auth_refused user=dora .*reason=locked scope=account'
ag_expect_no_log "no success_reset for dora" 'event=success_reset'
ag_expect_out "the user is told the account is locked" 'Account locked due to failed logins'
ag_expect_status "dora stays locked" dora -- locked=true

ag_say "attempts in flight fill the window: busy, no lock is claimed until one fails"
# lock_time 10 minutes, fail_window 15: a refusal while the ten attempts
# are still being checked must not announce a lock (nor the window's 15
# minutes); the lock set when one of them fails is 10 minutes.
ag_setup lockout-busy "delay_base = 0" "lock_time = 10m" "fail_window = 15m"
AG_NOW=$((AG_T0 + 45000))
attempts=()
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_run_token guard check --subject hana --ip 198.51.100.$i
	attempts+=("$(ag_jget "$AG_JSON" attempt)")
done
ag_expect_status "10 attempts in flight, no lock" hana -- failures=10 pending=10 locked=false \
	locked_until=null retry_after=1
AG_NOW=$((AG_NOW + 1))
ag_attempt "PAM: right password refused while 10 attempts are in flight, not checked" \
	hana "$AG_RIGHT" 1 0
ag_expect_out "the user is told attempts are in progress, not that the account is locked" \
	'Too many logins in progress; try again in 1 second\.'
ag_expect_no_log "no lock is claimed" 'reason=locked|event=lock '
ag_expect_log "logged as auth_refused reason=busy" \
	'event=auth_refused user=hana .*reason=busy scope=account failures=10 retry_after=1( |$)'
ag_run_token guard check --subject hana --ip 198.51.100.99
ag_expect_eq "web: guard check refused (exit 1)" 1 "$AG_RC"
ag_expect_eq "web: reason busy, retry_after 1, locked_until null" "busy 1 null" \
	"$(ag_jget "$AG_JSON" reason) $(ag_jget "$AG_JSON" retry_after) $(ag_jget "$AG_JSON" locked_until)"
ag_run_token guard success --subject hana --ip 198.51.100.1 --attempt "${attempts[0]}"
ag_expect_eq "one of them succeeds" 0 "$AG_RC"
ag_attempt "busy was true: the next attempt goes through at once" hana "$AG_RIGHT" 0 1

for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_run_token guard check --subject hana --ip 198.51.100.$i
	attempts[i - 1]=$(ag_jget "$AG_JSON" attempt)
done
AG_NOW=$((AG_NOW + 2))
ag_run_token guard failure --subject hana --ip 198.51.100.3 --attempt "${attempts[2]}"
ag_expect_eq "web: one of ten in flight fails and locks, for lock_time (600 s)" "600" \
	"$(ag_jget "$AG_JSON" retry_after)"
ag_attempt "PAM: right password refused, locked" hana "$AG_RIGHT" 1 0
ag_expect_out "the user is told the lock's true time (10 minutes)" \
	'Account locked due to failed logins; try again in 10 minutes\.'
ag_run_token guard check --subject hana
ag_expect_eq "web: reason locked, retry_after 600, locked_until the lock's" \
	"locked 600 $((AG_NOW + 600))" \
	"$(ag_jget "$AG_JSON" reason) $(ag_jget "$AG_JSON" retry_after) $(ag_jget "$AG_JSON" locked_until)"

ag_say "lock_time = 0: locked until an administrator unlocks"
ag_setup lockout-forever "delay_base = 0" "lock_time = 0"
AG_NOW=$((AG_T0 + 50000))
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam gus "$AG_WRONG"
done
ag_expect_log "the lock is logged with until=-1" 'event=lock scope=account user=gus .*failures=10 until=-1'
ag_expect_out "the user is told the account is locked" 'Too many failed logins; access locked\.'
ag_attempt "right password refused" gus "$AG_RIGHT" 1 0
ag_expect_out "the user is told to contact the administrator" 'Account locked; contact your administrator\.'
ag_expect_log "refusal logged with retry_after=-1" 'event=auth_refused user=gus .*reason=locked scope=account failures=10 retry_after=-1'
ag_expect_status "status: locked_until never, retry_after -1" gus -- \
	locked=true locked_until=never retry_after=-1
ag_run_token guard check --subject gus
ag_expect_eq "the web guard refuses too (exit 1)" 1 "$AG_RC"
ag_expect_eq "with locked_until never and retry_after -1" "never -1" \
	"$(ag_jget "$AG_JSON" locked_until) $(ag_jget "$AG_JSON" retry_after)"
AG_NOW=$((AG_T0 + 50000 + 400 * 86400))
ag_attempt "400 days later: still refused" gus "$AG_RIGHT" 1 0
ag_attempt "400 days later: account phase still refused" gus - 1 0 acct_mgmt
ag_run_ctl unlock gus
ag_attempt "after authguard-ctl unlock: right password accepted" gus "$AG_RIGHT" 0 1

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
