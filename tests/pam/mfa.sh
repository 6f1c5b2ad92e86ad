#!/bin/bash
# TOTP and backup codes at the PAM prompt: the stack of conf/pam.d/sshd-mfa
# (preauth / password / pwok / totp / authsucc / pam_deny) driven through
# pamtester + pam_wrapper, accounts enrolled with authguard-enroll, codes
# computed by oathtool (OATH Toolkit) -- an implementation nobody here wrote.
#
# A code is accepted once, within one step either side of now (also when
# 8 logins present it at the same moment); a wrong code is a failed login
# (10 lock the account); the code prompt appears whether or not the
# password was right and whether or not the account exists or is enrolled,
# with the same output, and after a wrong password the code is not used
# up; a success does not carry over to the next authentication in the same
# PAM handle; backup codes work once and die when regenerated; nullok lets
# unenrolled accounts in on the password alone; the shipped
# conf/pam.d/sshd-mfa stack behaves so; a missing, unsafe or wrong key and
# a tampered row deny with a clear error; the state file holds neither
# secrets nor backup codes; hostile input is refused and counted.  (The RFC
# 6238 vectors are checked against oathtool in
# tests/interop/totp_oathtool.sh.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool not installed (apt-get install oathtool)"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 not installed (apt-get install sqlite3)"
ag_init
[ -x "$AG_ENROLL_BIN" ] || ag_bail "helper not built: $AG_ENROLL_BIN (run make)"

# No progressive delay, so attempts can follow one another at one instant;
# no host tracking, so the many failures of this script from one address do
# not lock the address (host.sh covers that).  Otherwise the defaults:
# deny 10, lock_time 1h, totp_window 1, 10 backup codes.
ag_mfa_setup mfa "delay_base = 0" "host_deny = 0"
AG_RHOST=192.0.2.60

# Everything secret handed out, to look for it in the state and the log.
all_secrets=()
all_codes=()
enroll() { # USER
	ag_enroll "$1" || return 1
	all_secrets+=("$AG_SECRET")
	all_codes+=("${AG_BACKUP[@]}")
}
# next: moves the clock to the next 30 s time step.
next() { AG_NOW=$((AG_NOW + 30)); }
# A code in the log, as a field value or a word of its own.
code_re() { printf '(^|[^0-9])%s([^0-9]|$)' "$1"; }

ag_say "enrollment"
enroll alice || ag_bail "enrollment through $AG_ENROLL_BIN failed; nothing else can run"
alice=$AG_SECRET
ag_expect_eq "authguard-enroll hands out 10 backup codes" 10 "${#AG_BACKUP[@]}"

ag_say "a code computed by oathtool"
next
code=$(ag_totp "$alice")
ag_mfa_attempt "right password + oathtool's current code: accepted" alice "$AG_RIGHT" "$code" 0 1 \
	authenticate acct_mgmt
ag_expect_out "the verification code was asked for" '^Password: Verification code: '
ag_expect_out "pamtester reports success" 'successfully authenticated'
ag_expect_log "logged as event=mfa_ok method=totp" 'pam_authguard\(mfa:auth\): event=mfa_ok user=alice method=totp'
ag_expect_no_log "no failure logged" 'event=(auth_fail|mfa_fail|error)'
ag_expect_no_log "the code itself is not logged" "$(code_re "$code")"
ag_expect_status "no failure counted" alice -- failures=0 pending=0 locked=false

ag_say "replay: each code once, refused but not counted"
ag_mfa_attempt "the same code again, same time: refused" alice "$AG_RIGHT" "$code" 1 1
ag_expect_log "logged as event=mfa_fail reason=replayed" 'event=mfa_fail user=alice reason=replayed'
ag_expect_log "the attempt is withdrawn (event=attempt_released reason=mfa_replayed found=1)" \
	'event=attempt_released user=alice .*reason=mfa_replayed found=1'
ag_expect_no_log "not counted as a failure (no event=auth_fail)" 'event=auth_fail'
wait=$((30 - AG_NOW % 30))
ag_expect_out "the user is told to wait for the next code (in $wait seconds)" \
	"This code was already used\. Wait for the next one \(in $wait seconds?\) and try again\."
ag_expect_out "pamtester reports the failure" 'Authentication failure'
AG_NOW=$((AG_NOW + 9)) # still the same 30 s step
ag_mfa_attempt "the same code 9 s later (same step): refused" alice "$AG_RIGHT" "$code" 1 1
ag_expect_log "logged as replayed" 'event=mfa_fail user=alice reason=replayed'
ag_expect_out "... the wait is 9 s shorter" "Wait for the next one \(in $((wait - 9)) seconds?\)"
ag_expect_status "no failure counted, nothing left in flight" alice -- failures=0 pending=0 locked=false
ag_mfa_attempt "a wrong code still counts" alice "$AG_RIGHT" "$(ag_wrong_code "$alice")" 1 1
ag_expect_log "counted (event=auth_fail failures=1)" 'event=auth_fail user=alice .*failures=1( |$)'
ag_mfa_attempt "a replay after it: refused, the failure stays, nothing added" alice "$AG_RIGHT" "$code" 1 1
ag_expect_status "one failure, nothing in flight" alice -- failures=1 pending=0 locked=false
ag_mfa_attempt "a wrong password with the replayed code: a failure (the code is not looked at)" \
	alice "$AG_WRONG" "$code" 1 1
ag_expect_no_log "the code was not examined" 'event=mfa_'
ag_expect_status "two failures" alice -- failures=2 pending=0 locked=false

ag_say "the window: one step either side"
AG_NOW=$((AG_T0 + 600))
ag_mfa_attempt "a code two steps old: refused" alice "$AG_RIGHT" "$(ag_totp "$alice" $((AG_NOW - 60)))" 1 1
ag_expect_log "logged as reason=wrong" 'event=mfa_fail user=alice reason=wrong'
ag_mfa_attempt "a code two steps ahead: refused" alice "$AG_RIGHT" "$(ag_totp "$alice" $((AG_NOW + 60)))" 1 1
ag_expect_log "logged as reason=wrong" 'event=mfa_fail user=alice reason=wrong'
ag_mfa_attempt "a code one step old, never used: accepted" alice "$AG_RIGHT" \
	"$(ag_totp "$alice" $((AG_NOW - 30)))" 0 1
ag_expect_status "the success cleared the failures" alice -- failures=0 locked=false
ag_mfa_attempt "a code one step ahead, never used: accepted" alice "$AG_RIGHT" \
	"$(ag_totp "$alice" $((AG_NOW + 30)))" 0 1
ag_mfa_attempt "then the current code: refused (its step is older than the last accepted one)" \
	alice "$AG_RIGHT" "$(ag_totp "$alice")" 1 1
ag_expect_log "logged as reason=replayed" 'event=mfa_fail user=alice reason=replayed'
AG_NOW=$((AG_NOW + 60))
ag_mfa_attempt "two steps later the current code: accepted" alice "$AG_RIGHT" "$(ag_totp "$alice")" 0 1

ag_say "enroll and log in at once: the confirming code is used, the login waits for the next"
# A user who confirms the enrollment and logs in within the same 30 s
# step types the same code again: refused (a code works once), with a
# message to wait for the next code, and without pushing the account
# towards a lock however often it is tried.
AG_NOW=$((AG_T0 + 3000 - AG_T0 % 30 + 5)) # 5 s into a step
enroll erin
erin=$AG_SECRET
code=$(ag_totp "$erin")
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	ag_pam_mfa erin "$AG_RIGHT" "$code"
	[ "$AG_RC" = 1 ] || ag_fail "login $i with the code that confirmed: refused" "exit $AG_RC"
done
ag_expect_out "the user is told to wait for the next code (in 25 seconds)" \
	'This code was already used\. Wait for the next one \(in 25 seconds\) and try again\.'
ag_expect_status "12 logins with the confirming code: no failure, no lock" erin -- \
	failures=0 pending=0 locked=false
ag_expect_eq "each logged its refusal" 12 \
	"$(grep -c 'event=mfa_fail user=erin reason=replayed' "$AG_LOG")"
AG_NOW=$((AG_NOW + 25))
ag_mfa_attempt "25 s later, the next code: accepted" erin "$AG_RIGHT" "$(ag_totp "$erin")" 0 1
AG_NOW=$((AG_NOW + 31))
ag_mfa_attempt "a step later, the code just used (previous step): refused" \
	erin "$AG_RIGHT" "$(ag_totp "$erin" $((AG_NOW - 31)))" 1 1
ag_expect_out "... and the code shown now is still unused: the user is told to use it" \
	'This code was already used\. Try again with the code your app shows now\.'

ag_say "totp_window as a module argument"
if ag_direct_only "totp_window as a module argument" \
	"the daemon applies its own configuration, a module argument that changes policy does not reach it (authguardd(8))"; then
ag_mfa_service mfa-w0 "$AG_CONF" totp_window=0
ag_mfa_service mfa-w2 "$AG_CONF" totp_window=2
enroll walt
AG_NOW=$((AG_NOW + 300))
AG_SVC=mfa-w0
ag_mfa_attempt "totp_window=0: a code one step old refused" walt "$AG_RIGHT" "$(ag_totp "$AG_SECRET" $((AG_NOW - 30)))" 1 1
ag_mfa_attempt "totp_window=0: a code one step ahead refused" walt "$AG_RIGHT" "$(ag_totp "$AG_SECRET" $((AG_NOW + 30)))" 1 1
ag_mfa_attempt "totp_window=0: the current code accepted" walt "$AG_RIGHT" "$(ag_totp "$AG_SECRET")" 0 1
AG_SVC=mfa-w2
AG_NOW=$((AG_NOW + 300))
ag_mfa_attempt "totp_window=2: a code two steps old accepted" walt "$AG_RIGHT" "$(ag_totp "$AG_SECRET" $((AG_NOW - 60)))" 0 1
ag_mfa_attempt "totp_window=2: a code three steps ahead refused" walt "$AG_RIGHT" "$(ag_totp "$AG_SECRET" $((AG_NOW + 90)))" 1 1
AG_SVC=mfa
fi

ag_say "wrong codes are failed logins: 10 lock the account"
enroll carol
carol=$AG_SECRET
next
for i in 1 2 3 4 5 6 7 8 9; do
	ag_mfa_attempt "right password, wrong code $i: refused" carol "$AG_RIGHT" "$(ag_wrong_code "$carol")" 1 1
	ag_expect_log "wrong code $i: counted (event=auth_fail failures=$i)" \
		"event=auth_fail user=carol .*failures=$i( |$)"
done
ag_expect_log "the wrong code is logged as event=mfa_fail reason=wrong" 'event=mfa_fail user=carol reason=wrong'
ag_expect_no_log "no lock before the 10th failure" 'event=lock'
ag_expect_status "status: 9 failures" carol -- failures=9 pending=0 locked=false
ag_mfa_attempt "right password, wrong code 10: refused" carol "$AG_RIGHT" "$(ag_wrong_code "$carol")" 1 1
ag_expect_log "the 10th wrong code locks the account (event=lock)" \
	"event=lock scope=account user=carol .*failures=10 until=$((AG_NOW + 3600))( |$)"
# The same message as after a 10th wrong password (authfail), with the
# lock's duration; "access locked." alone means "until an administrator
# unlocks it" (lock_time = 0, pam_authguard.8).
ag_expect_out "the user is told the account is now locked for 60 minutes" \
	'Too many failed logins; access locked for 60 minutes\.'
ag_expect_status "status: locked for an hour" carol -- failures=10 locked=true retry_after=3600
ag_mfa_attempt "locked: right password + right code refused, password not checked" \
	carol "$AG_RIGHT" "$(ag_totp "$carol")" 1 0
ag_expect_out "the user is told the account is locked" 'Account locked due to failed logins; try again in 60 minutes'
ag_expect_no_log "no code was examined" 'event=mfa_'
ag_attempt "locked: the account phase refuses too" carol - 1 0 acct_mgmt
AG_NOW=$((AG_NOW + 3600))
ag_mfa_attempt "an hour later: right password + right code accepted" carol "$AG_RIGHT" "$(ag_totp "$carol")" 0 1
ag_expect_status "and the failures are cleared" carol -- failures=0 locked=false

ag_say "parallel logins with one code: one is accepted"
enroll pia
next
code=$(ag_totp "$AG_SECRET")
printf '%s\n%s\n' "$AG_RIGHT" "$code" >"$AG_TMP/answers.par"
burst() { # N processes released together, answers from answers.par
	local i
	rm -rf "$AG_TMP/par"
	mkdir "$AG_TMP/par"
	: >"$AG_TMP/barrier"
	exec 9>"$AG_TMP/barrier"
	flock -x 9
	for i in $(seq 1 "$1"); do
		(
			exec 9>&-
			flock -s "$AG_TMP/barrier" true
			ag_pamtester_run pia -- authenticate <"$AG_TMP/answers.par" >"$AG_TMP/par/out.$i" 2>&1
			echo $? >"$AG_TMP/par/rc.$i"
		) &
	done
	flock -u 9
	exec 9>&-
	wait
}
AG_LOG_MARK=$(ag_log_lines)
ag_pwrap_exclusive burst 8
# pam_wrapper 1.1.4 can keep a process started in the same instant as
# another from loading the module (see concurrency.sh); such a run never
# asks for the code.
reached=$(grep -l 'Verification code: ' "$AG_TMP"/par/out.* | wc -l | tr -d ' ')
[ "$reached" -ge 2 ] || ag_bail "only $reached of 8 parallel runs reached the module"
ag_expect_eq "8 parallel logins with one code ($reached reached the module): exactly one accepted" 1 \
	"$(grep -l '^0$' "$AG_TMP"/par/rc.* | wc -l | tr -d ' ')"
ag_expect_eq "one mfa_ok logged, the other $((reached - 1)) refused as replayed" "1 $((reached - 1))" \
	"$(ag_log_last | grep -c 'event=mfa_ok user=pia') $(ag_log_last | grep -c 'event=mfa_fail user=pia reason=replayed')"

ag_say "a wrong password: the code is still asked for, and not looked at"
enroll dave
dave=$AG_SECRET
next
code=$(ag_totp "$dave")
ag_mfa_attempt "wrong password + valid code: refused" dave "$AG_WRONG" "$code" 1 1
ag_expect_out "the verification code was asked for all the same" '^Password: Verification code: '
ag_expect_no_log "the code was not examined (no event=mfa_*)" 'event=mfa_'
ag_expect_log "one failure counted" 'event=auth_fail user=dave .*failures=1( |$)'
ag_expect_status "status: exactly one failure for one attempt" dave -- failures=1 pending=0
ag_mfa_attempt "the same code with the right password: accepted (it was not used up)" \
	dave "$AG_RIGHT" "$code" 0 1
ag_mfa_attempt "wrong password + wrong code: refused" dave "$AG_WRONG" "$(ag_wrong_code "$dave")" 1 1
ag_expect_out "the code was asked for" 'Verification code: '
ag_expect_status "one failure for the attempt (not one per factor)" dave -- failures=1 pending=0

# (pamtester stops at the first failed operation, so only a success can be
# followed by a second authentication.)
ag_say "one PAM handle, two authentications (as sshd retries keyboard-interactive)"
next
c1=$(ag_totp "$dave")
c2=$(ag_totp "$dave" $((AG_NOW + 30)))
ag_pam_mfa dave "$AG_RIGHT" "$c1"$'\n'"$AG_WRONG"$'\n'"$c2" authenticate authenticate
ag_expect_eq "first right password + code, then wrong password + valid code: exit 1" 1 "$AG_RC"
ag_expect_eq "the first succeeded, the second failed" "1 1" \
	"$(printf '%s\n' "$AG_OUT" | grep -c 'successfully authenticated') $(printf '%s\n' "$AG_OUT" | grep -c 'Authentication failure')"
ag_expect_eq "both asked for password and code" 2 "$(printf '%s' "$AG_OUT" | grep -o 'Password: Verification code: ' | wc -l | tr -d ' ')"
ag_expect_eq "the first success's mark did not carry over: one mfa_ok, one auth_fail" "1 1" \
	"$(ag_log_last | grep -c 'event=mfa_ok user=dave') $(ag_log_last | grep -c 'event=auth_fail user=dave')"

ag_say "no user enumeration: unknown and unenrolled accounts look the same"
enroll erin
erin=$AG_SECRET
ghost=agghost
# record USER RHOST BEFORE: exit code, password checks, output, and the
# log with the account and the address replaced.
record() {
	printf 'rc=%s checks=%s\n' "$AG_RC" "$(($(ag_count) - $3))"
	printf 'out=%s\n' "$AG_OUT"
	ag_log_last | sed -e "s/user=$1\\b/user=USER/g" -e "s/rhost=$2\\b/rhost=RHOST/g"
}
status_record() { # USER
	ag_status "$1"
	ag_python -c '
import json, sys
d = json.loads(sys.argv[1]); d.pop("subject"); d.pop("last_source", None)
print(json.dumps(d, sort_keys=True))' "$AG_JSON"
}
# same DESC PASSWORD CODE-FOR-ERIN CODE-FOR-GHOST [log]: one attempt each
# (erin from 192.0.2.61, the ghost from 192.0.2.62); the records must be
# equal -- with "log", the log lines too.
same() {
	local desc=$1 pw=$2 c1=$3 c2=$4 with_log=${5:-} before a b
	next
	AG_RHOST=192.0.2.61
	before=$(ag_count)
	ag_pam_mfa erin "$pw" "$c1"
	a=$(record erin 192\\.0\\.2\\.61 "$before")
	AG_RHOST=192.0.2.62
	before=$(ag_count)
	ag_pam_mfa $ghost "$pw" "$c2"
	b=$(record $ghost 192\\.0\\.2\\.62 "$before")
	if [ -z "$with_log" ]; then
		a=$(printf '%s\n' "$a" | head -n 2)
		b=$(printf '%s\n' "$b" | head -n 2)
	fi
	if [ "$a" = "$b" ]; then
		ag_pass "$desc: same outcome ($(printf '%s' "$a" | head -n 1))"
	else
		ag_fail "$desc: same outcome for enrolled erin and unknown $ghost" \
			"erin:   $(printf '%s' "$a" | tr '\n' '|')" "$ghost: $(printf '%s' "$b" | tr '\n' '|')"
	fi
	ag_expect_true "$desc: the code was asked for both" \
		eval 'printf "%s" "$a$b" | grep -c "Verification code: " | grep -qx 2'
}
same "wrong password, a code" "$AG_WRONG" "$(ag_wrong_code "$erin" $((AG_NOW + 30)))" 123456 log
ag_expect_eq "wrong password: same status for both" "$(status_record erin)" "$(status_record $ghost)"
same "wrong password, erin's valid code" "$AG_WRONG" "$(ag_totp "$erin" $((AG_NOW + 30)))" 123456 log
same "right password, a wrong code (unknown: not enrolled)" "$AG_RIGHT" \
	"$(ag_wrong_code "$erin" $((AG_NOW + 30)))" 123456
ag_expect_log "(the log, for the administrator, says not_enrolled)" "event=mfa_fail user=$ghost reason=not_enrolled"
ag_expect_eq "same status for both after three failures" "$(status_record erin)" "$(status_record $ghost)"
AG_RHOST=192.0.2.60

ag_say "backup codes"
enroll frank
frank=$AG_SECRET
b=("${AG_BACKUP[@]}")
ag_expect_eq "backup codes look like XXXX-XXXX-XXXX in the unambiguous alphabet" 0 \
	"$(printf '%s\n' "${b[@]}" | grep -Evc '^([2-9A-HJKMNP-TV-Z]{4}-){2}[2-9A-HJKMNP-TV-Z]{4}$')"
ag_expect_eq "the 10 backup codes are distinct" 10 "$(printf '%s\n' "${b[@]}" | sort -u | wc -l | tr -d ' ')"
next
ag_mfa_attempt "backup code 1, as shown: accepted" frank "$AG_RIGHT" "${b[0]}" 0 1
ag_expect_log "logged as event=mfa_ok method=backup" 'event=mfa_ok user=frank method=backup'
ag_expect_no_log "the backup code is not logged" "${b[0]}|$(printf '%s' "${b[0]}" | tr -d -)"
ag_mfa_attempt "backup code 1 again: refused" frank "$AG_RIGHT" "${b[0]}" 1 1
ag_expect_log "logged as reason=wrong" 'event=mfa_fail user=frank reason=wrong'
ag_expect_log "and counted" 'event=auth_fail user=frank .*failures=1( |$)'
ag_mfa_attempt "backup code 2 in lower case without dashes: accepted" frank "$AG_RIGHT" \
	"$(printf '%s' "${b[1]}" | tr -d - | tr '[:upper:]' '[:lower:]')" 0 1
ag_mfa_attempt "backup code 3 with spaces for dashes: accepted" frank "$AG_RIGHT" \
	"$(printf '%s' "${b[2]}" | tr - ' ')" 0 1
ag_mfa_attempt "backup code 2 again, as shown: refused" frank "$AG_RIGHT" "${b[1]}" 1 1
ag_mfa_attempt "another account's backup code (alice's first): refused" frank "$AG_RIGHT" "${all_codes[0]}" 1 1
for i in 3 4 5 6; do
	ag_mfa_attempt "backup code $((i + 1)): accepted" frank "$AG_RIGHT" "${b[i]}" 0 1
done
ag_expect_no_log "no warning while 4 are left" 'left'
ag_mfa_attempt "backup code 8: accepted" frank "$AG_RIGHT" "${b[7]}" 0 1
ag_expect_out "with 2 left the user is told to make new ones" 'Backup code accepted; 2 left\. Generate new ones soon\.'
ag_run_enroll --user frank --regenerate-backup-codes --json </dev/null
ag_expect_eq "authguard-enroll --regenerate-backup-codes exits 0" 0 "$AG_RC"
mapfile -t nb < <(ag_python -c '
import json, sys
try:
    for c in json.loads(sys.argv[1])["backup_codes"]: print(c)
except Exception: pass' "$AG_JSON")
ag_expect_eq "10 new backup codes" 10 "${#nb[@]}"
all_codes+=("${nb[@]}")
ag_mfa_attempt "an old, never used backup code after regenerating: refused" frank "$AG_RIGHT" "${b[8]}" 1 1
ag_expect_log "logged as reason=wrong" 'event=mfa_fail user=frank reason=wrong'
ag_mfa_attempt "a new backup code: accepted" frank "$AG_RIGHT" "${nb[0]}" 0 1
ag_mfa_attempt "the TOTP secret is untouched: a fresh code accepted" frank "$AG_RIGHT" "$(ag_totp "$frank")" 0 1

ag_say "accounts without MFA: refused, unless nullok"
next
ag_mfa_attempt "not enrolled: right password + a code refused" gina "$AG_RIGHT" 123456 1 1
ag_expect_out "the code was asked for" 'Verification code: '
ag_expect_log "logged as event=mfa_fail reason=not_enrolled" 'event=mfa_fail user=gina reason=not_enrolled'
ag_expect_log "counted as a failure" 'event=auth_fail user=gina .*failures=1( |$)'
ag_run_enroll --user hank --json </dev/null
hank=$(ag_jget "$AG_JSON" secret)
ag_expect_eq "hank's enrollment started (not confirmed)" 0 "$AG_RC"
ag_mfa_attempt "pending enrollment: its current code does not log in" hank "$AG_RIGHT" "$(ag_totp "$hank")" 1 1
ag_expect_log "logged as reason=not_enrolled" 'event=mfa_fail user=hank reason=not_enrolled'
ag_mfa_service mfa-nullok "$AG_CONF" nullok
AG_SVC=mfa-nullok
ag_mfa_attempt "nullok: not enrolled, right password alone: accepted" gina "$AG_RIGHT" - 0 1
ag_expect_true "nullok: no code was asked for" eval '! grep -q "Verification code" <<<"$AG_OUT"'
ag_expect_status "nullok: the success cleared gina's failure" gina -- failures=0
ag_mfa_attempt "nullok: not enrolled, wrong password: refused" gina "$AG_WRONG" - 1 1
ag_expect_log "nullok: counted" 'event=auth_fail user=gina .*failures=1( |$)'
ag_mfa_attempt "nullok: pending enrollment, right password alone: accepted" hank "$AG_RIGHT" - 0 1
ag_mfa_attempt "nullok: enrolled account, right password, no code: refused" alice "$AG_RIGHT" - 1 1
ag_expect_out "nullok: the enrolled account was asked for a code" 'Verification code: '
ag_mfa_attempt "nullok: enrolled account, right password, wrong code: refused" alice "$AG_RIGHT" \
	"$(ag_wrong_code "$alice")" 1 1
ag_mfa_attempt "nullok: enrolled account, right password, right code: accepted" alice "$AG_RIGHT" \
	"$(ag_totp "$alice")" 0 1
AG_SVC=mfa

ag_say "the stack shipped in conf/pam.d/sshd-mfa (pam_unix replaced by the test check)"
shipped=$top_srcdir/conf/pam.d/sshd-mfa
if [ -f "$shipped" ]; then
	{
		grep -E '^auth[[:space:]]' "$shipped" |
			sed -e "s|pam_authguard\\.so\\(.*\\)|$AG_MODULE\\1 conf=$AG_CONF nodelay|" \
				-e "s|pam_unix\\.so.*|pam_exec.so expose_authtok quiet $AG_TMP/check-password.sh|"
		printf 'account required %s conf=%s nodelay\n' "$AG_MODULE" "$AG_CONF"
	} >"$AG_TMP/svc/shipped"
	chmod 644 "$AG_TMP/svc/shipped"
	ag_expect_eq "the shipped auth stack has the six lines of the MFA stack" \
		"preauth pam_exec.so pwok totp authsucc pam_deny.so" \
		"$(grep '^auth' "$AG_TMP/svc/shipped" |
			sed -E -e "s|.*$AG_MODULE ([a-z]+).*|\1|" -e 's|.*[[:space:]](pam_[a-z]+\.so).*|\1|' |
			tr '\n' ' ' | sed 's/ $//')"
	AG_SVC=shipped
	enroll ivan
	next
	ag_mfa_attempt "shipped stack: right password + code accepted" ivan "$AG_RIGHT" "$(ag_totp "$AG_SECRET")" 0 1
	ag_mfa_attempt "shipped stack: wrong password + code refused" ivan "$AG_WRONG" "$(ag_totp "$AG_SECRET" $((AG_NOW + 30)))" 1 1
	ag_expect_out "shipped stack: the code was asked for after the wrong password" 'Verification code: '
	ag_mfa_attempt "shipped stack: right password + the same code refused (replay)" ivan "$AG_RIGHT" "$(ag_totp "$AG_SECRET")" 1 1
	ag_mfa_attempt "shipped stack: unknown account asked for the code and refused" nosuchuser "$AG_RIGHT" 123456 1 1
	ag_expect_out "shipped stack: the code was asked for" 'Verification code: '
	AG_SVC=mfa
else
	ag_fail "conf/pam.d/sshd-mfa exists" "not found: $shipped"
fi

ag_say "a stack without pwok never accepts"
cat >"$AG_TMP/svc/nopwok" <<EOF
auth requisite                $AG_MODULE preauth conf=$AG_CONF nodelay
auth [success=ok default=1]   pam_exec.so expose_authtok quiet $AG_TMP/check-password.sh
auth [success=ok default=die] $AG_MODULE totp conf=$AG_CONF nodelay
auth sufficient               $AG_MODULE authsucc conf=$AG_CONF nodelay
auth requisite                pam_deny.so
EOF
chmod 644 "$AG_TMP/svc/nopwok"
AG_SVC=nopwok
next
ag_mfa_attempt "no pwok line: right password + right code refused" alice "$AG_RIGHT" "$(ag_totp "$alice")" 1 1
ag_expect_no_log "the code was not examined" 'event=mfa_ok'
AG_SVC=mfa
ag_mfa_attempt "the code was not used up: accepted with the full stack" alice "$AG_RIGHT" "$(ag_totp "$alice")" 0 1

ag_say "the secrets key: missing, unsafe, wrong"
next
mv "$AG_KEY" "$AG_KEY.away"
ag_mfa_attempt "key missing: right password + right code refused" alice "$AG_RIGHT" "$(ag_totp "$alice")" 1 1
ag_expect_log "event=error names the key file" \
	"pam_authguard\\(mfa:auth\\): event=error op=totp user=alice: secrets key $AG_KEY: does not exist.*; access denied"
ag_expect_no_log "nothing accepted" 'event=mfa_ok|event=success'
mv "$AG_KEY.away" "$AG_KEY"
chmod 644 "$AG_KEY"
ag_mfa_attempt "key readable by others: refused" alice "$AG_RIGHT" "$(ag_totp "$alice")" 1 1
ag_expect_log "event=error says why" "event=error op=totp user=alice: secrets key $AG_KEY: is readable by others"
chmod 600 "$AG_KEY"
cp -p "$AG_KEY" "$AG_KEY.good"
head -c 63 "$AG_KEY.good" >"$AG_KEY"
ag_mfa_attempt "a key of 63 hexadecimal digits: refused" alice "$AG_RIGHT" "$(ag_totp "$alice")" 1 1
ag_expect_log "event=error says why" "event=error op=totp user=alice: secrets key $AG_KEY: is too short"
printf '%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$AG_KEY"
ag_mfa_attempt "another key in its place: refused" alice "$AG_RIGHT" "$(ag_totp "$alice")" 1 1
ag_expect_log "event=error: the secret does not open" \
	"event=error op=totp user=alice: .*(does not open|tampered|damaged).*; access denied"
ag_expect_no_log "nothing accepted" 'event=mfa_ok|event=success'
cp -p "$AG_KEY.good" "$AG_KEY"
rm -f "$AG_KEY.good"
ag_mfa_attempt "the right key back: the same code accepted" alice "$AG_RIGHT" "$(ag_totp "$alice")" 0 1

ag_say "tampered rows"
enroll tom
tom=$AG_SECRET
enroll uma
uma=$AG_SECRET
enroll wes
wes=$AG_SECRET
next
ag_sql "UPDATE mfa SET account = 'vic' WHERE account = 'tom';" ||
	ag_bail "could not move the row"
ag_mfa_attempt "tom's row moved to vic: vic with tom's current code refused" vic "$AG_RIGHT" "$(ag_totp "$tom")" 1 1
ag_expect_log "a clear event=error" \
	"event=error op=totp user=vic: .*(does not open|tampered).*; access denied"
ag_expect_no_log "nothing accepted" 'event=mfa_ok|event=success'
ag_mfa_attempt "tom (no row any more): refused" tom "$AG_RIGHT" "$(ag_totp "$tom")" 1 1
ag_sql "UPDATE mfa SET secret = (SELECT secret FROM mfa WHERE account = 'uma') WHERE account = 'wes';" ||
	ag_bail "could not copy the secret"
ag_mfa_attempt "uma's sealed secret copied into wes's row: uma's code refused for wes" wes "$AG_RIGHT" "$(ag_totp "$uma")" 1 1
ag_expect_log "a clear event=error" "event=error op=totp user=wes: .*(does not open|tampered).*; access denied"
ag_mfa_attempt "... and wes's own code refused" wes "$AG_RIGHT" "$(ag_totp "$wes")" 1 1
ag_mfa_attempt "uma, untouched: accepted" uma "$AG_RIGHT" "$(ag_totp "$uma")" 0 1
ag_sql "UPDATE mfa SET secret = randomblob(7) WHERE account = 'wes';" ||
	ag_bail "could not damage the row"
ag_mfa_attempt "wes's sealed secret replaced by 7 random bytes: refused" wes "$AG_RIGHT" "$(ag_totp "$wes")" 1 1
ag_expect_log "a clear event=error" "event=error op=totp user=wes: .*(damaged|does not open|tampered).*; access denied"
ag_expect_no_log "nothing accepted" 'event=mfa_ok|event=success'

ag_say "hostile input at the code prompt"
enroll xena
xena=$AG_SECRET
next
n=0
hostile() { # DESC CODE [REASON]
	n=$((n + 1))
	ag_mfa_attempt "$1: refused" xena "$AG_RIGHT" "$2" 1 1
	ag_expect_log "$1: counted as failure $n" "event=auth_fail user=xena .*failures=$n( |$)"
	[ -z "${3:-}" ] || ag_expect_log "$1: logged as reason=$3" "event=mfa_fail user=xena reason=$3"
}
hostile "letters (abcdef)" abcdef malformed
hostile "an empty line" "" malformed
hostile "five digits" 12345 malformed
hostile "seven digits" 1234567 malformed
hostile "a control character" $'123\x01456' malformed
hostile "a tab inside" $'123\t456' malformed
hostile "a 100 KiB line of digits" "$(head -c 102400 /dev/zero | tr '\0' 7)"
hostile "end of input instead of a code" -
ag_expect_log "end of input: event=error says the conversation gave no code" \
	'event=error op=totp user=xena: the conversation gave no code'
ag_expect_status "status: $n failures, nothing pending" xena -- failures=$n pending=0 locked=false
code=$(ag_totp "$xena")
ag_mfa_attempt "the current code with a space inside (\"${code:0:3} ${code:3}\"): accepted" \
	xena "$AG_RIGHT" "${code:0:3} ${code:3}" 0 1
next
code=$(ag_totp "$xena")
ag_mfa_attempt "a code with blanks around it: accepted" xena "$AG_RIGHT" "  $code " 0 1
# (-n: the tampered rows above left backup codes without an mfa row)
ag_expect_eq "the state is consistent (integrity check)" ok "$(ag_sql_integrity -n)"

ag_say "the state holds no secret and no backup code"
# WAL contents included: the dump reads through the log, and the raw
# files are searched too (SQLite; PostgreSQL: the dump of every row).
dump=$(ag_sql_dump)
raw=
ag_sqlite_only "the raw state files are searched too" "the rows are in the server" && raw=$AG_DB
ag_expect_true "the dump has the mfa rows (sanity)" eval 'grep -q "^mfa|" <<<"$dump"'
ag_expect_eq "every secret and backup code handed out is looked for" \
	"$((${#all_secrets[@]} * 10 + 10)) codes" "${#all_codes[@]} codes"
all_secrets+=("$hank") # the pending one too
found=$(ag_python -c '
import base64, sys, glob
secrets = sys.argv[2].split()
codes = sys.argv[3].split()
blobs = {"dump": sys.argv[1].encode()}
for f in glob.glob(sys.argv[4] + "*") if sys.argv[4] else []:
    blobs[f] = open(f, "rb").read()
needles = []
for s in secrets:
    raw = base64.b32decode(s)
    needles += [s, s.lower(), raw.hex(), raw.hex().upper()]
    needles.append(raw)
for c in codes:
    n = c.replace("-", "")
    needles += [c, n, c.lower(), n.lower()]
for name, blob in blobs.items():
    for x in needles:
        b = x if isinstance(x, bytes) else x.encode()
        if b in blob:
            print("%s contains %r" % (name, x)); break
' "$dump" "${all_secrets[*]}" "${all_codes[*]}" "$raw")
ag_expect_eq "neither the dump nor the raw state files contain a secret (Base32, hex or raw) or a backup code" "" "$found"
found=$(ag_python -c '
import sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read()
for x in sys.argv[2].split() + sys.argv[3].split():
    if x in log or x.replace("-", "") in log:
        print("log contains", x); break
' "$AG_LOG" "${all_secrets[*]}" "${all_codes[*]}")
ag_expect_eq "the captured syslog contains no secret and no backup code" "" "$found"
ag_expect_log_clean

ag_done
