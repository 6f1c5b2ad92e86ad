#!/bin/bash
# TOTP and backup codes for web logins: authguard-token mfa verify --user
# ACCOUNT [--ip ADDR], the code on stdin.  The same rules and the same
# state as the PAM totp step: a code once, one step either side; a wrong
# code is a failed login, counted with PAM's towards one lock (a replayed
# one is refused but not counted: the attempt in flight waits for the next
# code); a locked account is refused before its code is looked at; backup codes once; a
# code used on one side is spent on the other.  Also its contract with a
# backend: one JSON object on stdout, exit 0 valid / 1 refused / 2 usage
# or configuration / 3 internal; bad stdin (100 KiB, empty, NUL) is a usage
# error that leaves the state alone; the code is never in argv (checked in
# /proc/PID/cmdline of a helper waiting for its code); parallel replays of
# one code: exactly one accepted.  Codes come from oathtool.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool not installed (apt-get install oathtool)"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 not installed (apt-get install sqlite3)"
ag_init
[ -x "$AG_ENROLL_BIN" ] || ag_bail "helper not built: $AG_ENROLL_BIN (run make)"

# expect_json DESC FIELD=VALUE...: fields of the last helper's JSON output
# ("<missing>" for an absent key).
expect_json() {
	local desc=$1 f k v got bad=()
	shift
	for f in "$@"; do
		k=${f%%=*}
		v=${f#*=}
		got=$(ag_jget "$AG_JSON" "$k")
		[ "$got" = "$v" ] || bad+=("$k: expected $v, got $got")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "${bad[@]}" "json: $AG_JSON" "stderr: $AG_OUT"
	fi
}

# json_keys: the keys of the last JSON output, sorted, space-separated.
json_keys() {
	ag_python -c '
import json, sys
try:
    print(" ".join(sorted(json.loads(sys.argv[1]))))
except Exception:
    print("<invalid json>")' "$AG_JSON"
}

# verify USER INPUT [ARGS...]: authguard-token mfa verify --user USER ARGS
# with INPUT and a newline on stdin ("-": nothing at all on stdin).
verify() {
	local user=$1 input=$2
	shift 2
	if [ "$input" = - ]; then
		: >"$AG_TMP/stdin"
	else
		printf '%s\n' "$input" >"$AG_TMP/stdin"
	fi
	ag_run_token mfa verify --user "$user" "$@" <"$AG_TMP/stdin"
}

# valid DESC USER INPUT METHOD LEFT [ARGS...]: exit 0 and the JSON of a
# valid code.
valid() {
	local desc=$1 user=$2 input=$3 method=$4 left=$5
	shift 5
	verify "$user" "$input" "$@"
	ag_expect_eq "$desc: exit 0" 0 "$AG_RC"
	expect_json "$desc: valid, method $method, $left backup codes left" \
		valid=true method="$method" backup_codes_left="$left"
}

# refused DESC USER INPUT REASON [ARGS...]: exit 1, valid false, REASON.
refused() {
	local desc=$1 user=$2 input=$3 reason=$4
	shift 4
	verify "$user" "$input" "$@"
	ag_expect_eq "$desc: exit 1" 1 "$AG_RC"
	expect_json "$desc: valid false, reason $reason" valid=false reason="$reason"
}

next() { AG_NOW=$((AG_NOW + 30)); }

# The defaults but for the delay (attempts follow one another at one
# instant).  Web addresses are passed with --ip where a check needs them.
ag_conf web "delay_base = 0"
ag_mfa_service web "$AG_CONF"
AG_SVC=web
AG_RHOST=192.0.2.90
ip=198.51.100.70

ag_say "a valid code, then its replay"
ag_enroll alice || ag_bail "enrollment through $AG_ENROLL_BIN failed; nothing else can run"
alice=$AG_SECRET
next
code=$(ag_totp "$alice")
valid "oathtool's current code" alice "$code" totp 10 --ip $ip
ag_expect_eq "valid: the JSON has exactly valid, method, backup_codes_left" \
	"backup_codes_left method valid" "$(json_keys)"
ag_expect_eq "valid: nothing on stderr" "" "$AG_OUT"
ag_expect_log "valid: logged as event=mfa_ok method=totp by authguard-token" \
	'authguard-token.*event=mfa_ok user=alice method=totp'
ag_expect_no_log "valid: the code is not logged" "(^|[^0-9])$code([^0-9]|$)"
refused "the same code again" alice "$code" replayed --ip $ip
ag_expect_eq "replayed: the JSON has exactly valid, reason, retry_after" \
	"reason retry_after valid" "$(json_keys)"
expect_json "replayed: retry_after is when the next code shows" retry_after=$((30 - AG_NOW % 30))
ag_expect_eq "replayed: one line for people on stderr" "authguard-token: code refused" "$AG_OUT"
ag_expect_log "replayed: logged as event=mfa_fail reason=replayed" 'event=mfa_fail user=alice reason=replayed'
ag_expect_no_log "replayed: not counted (no event=auth_fail)" 'event=auth_fail'
ag_expect_status "status: alice has no failure" alice -- failures=0 pending=0
ag_expect_status "status: nor has the address" --ip $ip -- failures=0
refused "a wrong code is counted" alice "$(ag_wrong_code "$alice")" wrong --ip $ip
ag_expect_eq "wrong: the JSON has exactly valid, reason, failures, locked_until" \
	"failures locked_until reason valid" "$(json_keys)"
expect_json "wrong: counted as the first failure, no lock" failures=1 locked_until=null
ag_expect_log "wrong: logged as event=auth_fail service=web" \
	"event=auth_fail user=alice rhost=$ip service=web failures=1 "
ag_expect_status "status: the address has 1 failure" --ip $ip -- failures=1

ag_say "the window"
AG_NOW=$((AG_NOW + 300))
refused "a code two steps old" alice "$(ag_totp "$alice" $((AG_NOW - 60)))" wrong
expect_json "two steps old: failure 2" failures=2
refused "a code two steps ahead" alice "$(ag_totp "$alice" $((AG_NOW + 60)))" wrong
expect_json "two steps ahead: failure 3" failures=3
valid "a code one step old, never used" alice "$(ag_totp "$alice" $((AG_NOW - 30)))" totp 10
valid "a code one step ahead, never used" alice "$(ag_totp "$alice" $((AG_NOW + 30)))" totp 10
refused "then the current code (older than the last accepted)" alice "$(ag_totp "$alice")" replayed
expect_json "... the next unused code shows at the start of the step after next" \
	retry_after=$((30 - AG_NOW % 30 + 30))
refused "a wrong code" alice "$(ag_wrong_code "$alice")" wrong
ag_expect_status "a valid code settles nothing: the failures stay until guard success" alice -- \
	failures=4 pending=0

ag_say "the web login flow: guard check, password, mfa verify, guard success"
AG_NOW=$((AG_NOW + 60)) # past the step accepted last
ag_run_token guard check --subject alice --ip $ip
ag_expect_eq "guard check allows the attempt" 0 "$AG_RC"
attempt=$(ag_jget "$AG_JSON" attempt)
expect_json "guard check counts it in flight (5 failures)" failures=5
refused "a wrong code after guard check" alice "$(ag_wrong_code "$alice")" wrong --ip $ip
expect_json "the wrong code settled the attempt in flight: still 5 failures" failures=5
ag_expect_status "status: 5 failures, nothing pending" alice -- failures=5 pending=0
ag_run_token guard check --subject alice --ip $ip
attempt=$(ag_jget "$AG_JSON" attempt)
code=$(ag_totp "$alice")
valid "the right code after guard check" alice "$code" totp 10 --ip $ip
ag_run_token guard success --subject alice --ip $ip --attempt "$attempt"
ag_expect_eq "guard success after the valid code exits 0" 0 "$AG_RC"
ag_expect_status "guard success cleared the failures" alice -- failures=0 pending=0
ag_run_token guard check --subject alice --ip $ip
attempt=$(ag_jget "$AG_JSON" attempt)
refused "the same code in the next login, after guard check" alice "$code" replayed --ip $ip
ag_expect_no_log "not counted: the attempt is not settled as a failure" 'event=auth_fail'
ag_expect_status "status: the attempt stays in flight for the next code, nothing settled" alice -- \
	failures=1 pending=1
AG_NOW=$((AG_NOW + 30))
valid "the next code, same login" alice "$(ag_totp "$alice")" totp 10 --ip $ip
ag_run_token guard success --subject alice --ip $ip --attempt "$attempt"
ag_expect_eq "guard success with that attempt exits 0" 0 "$AG_RC"
ag_expect_status "no failure left" alice -- failures=0 pending=0

ag_say "malformed codes and unenrolled accounts"
next
refused "letters" alice abcdef malformed
expect_json "letters: counted" failures=1
refused "seven digits" alice 1234567 malformed
refused "a 255-byte line" alice "$(head -c 255 /dev/zero | tr '\0' 1)" malformed
refused "an account that is not enrolled" bob 123456 not_enrolled
expect_json "not enrolled: counted" failures=1
ag_expect_log "not enrolled: logged as reason=not_enrolled" 'event=mfa_fail user=bob reason=not_enrolled'
refused "a name with control characters (an opaque, unknown name)" $'al\x1b[2J\nice' 123456 not_enrolled
ag_expect_log "... logged escaped" 'event=mfa_fail user=al\\x1b\\x5b2J\\x0aice reason=not_enrolled'
ag_run_enroll --user hank --json </dev/null
refused "a pending (unconfirmed) enrollment, with its own current code" hank \
	"$(ag_totp "$(ag_jget "$AG_JSON" secret)")" not_enrolled
code=$(ag_totp "$alice")
valid "a code with a space inside (\"${code:0:3} ${code:3}\")" alice "${code:0:3} ${code:3}" totp 10
next
code=$(ag_totp "$alice")
printf '%s\r\n' "$code" >"$AG_TMP/stdin"
ag_run_token mfa verify --user alice <"$AG_TMP/stdin"
ag_expect_eq "a code ending in CR LF: valid (exit 0)" 0 "$AG_RC"
ag_run_token guard success --subject alice
ag_expect_status "(alice reset)" alice -- failures=0

ag_say "one lock for PAM and the web"
ag_enroll carol
carol=$AG_SECRET
next
for i in 1 2 3 4 5; do
	verify carol "$(ag_wrong_code "$carol")" --ip 198.51.100.7$i
done
expect_json "web: 5 wrong codes, 5 failures" valid=false reason=wrong failures=5 locked_until=null
for i in 6 7 8 9; do
	ag_pam_mfa carol "$AG_RIGHT" "$(ag_wrong_code "$carol")"
done
ag_expect_status "PAM: 4 more wrong codes, 9 failures" carol -- failures=9 locked=false
ag_expect_status "PAM: the 4 wrong codes count for the address too" --ip $AG_RHOST -- failures=4
refused "web: the 10th wrong code" carol "$(ag_wrong_code "$carol")" wrong --ip 198.51.100.80
expect_json "web: the 10th wrong code locks for an hour" failures=10 locked_until=$((AG_NOW + 3600))
ag_expect_log "web: event=lock service=web" \
	"event=lock scope=account user=carol rhost=198.51.100.80 service=web failures=10 until=$((AG_NOW + 3600))"
refused "locked: the right code" carol "$(ag_totp "$carol")" locked --ip 198.51.100.81
expect_json "locked: retry_after 3600" retry_after=3600
ag_expect_eq "locked: the JSON has exactly valid, reason, retry_after" \
	"reason retry_after valid" "$(json_keys)"
ag_expect_no_log "locked: the code was not examined" 'event=mfa_'
ag_expect_status "locked: the refusal added no failure" carol -- failures=10 locked=true
ag_mfa_attempt "PAM: right password + right code refused, password not checked" \
	carol "$AG_RIGHT" "$(ag_totp "$carol")" 1 0
ag_run_token guard check --subject carol
expect_json "guard check: locked" allowed=false reason=locked
AG_NOW=$((AG_NOW + 3600))
valid "an hour later: the right code" carol "$(ag_totp "$carol")" totp 10

ag_enroll dave
dave=$AG_SECRET
next
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam_mfa dave "$AG_RIGHT" "$(ag_wrong_code "$dave")"
done
ag_expect_log "PAM: 10 wrong codes lock dave" 'event=lock scope=account user=dave '
refused "web after PAM locked the account: the right code" dave "$(ag_totp "$dave")" locked
ag_run_ctl unlock dave
valid "after authguard-ctl unlock: the right code" dave "$(ag_totp "$dave")" totp 10

ag_say "one code, spent on either side"
next
code=$(ag_totp "$dave")
valid "web: dave's current code" dave "$code" totp 10
ag_mfa_attempt "PAM: the same code refused (replay)" dave "$AG_RIGHT" "$code" 1 1
ag_expect_log "PAM logs reason=replayed" 'event=mfa_fail user=dave reason=replayed'
next
code=$(ag_totp "$dave")
ag_mfa_attempt "PAM: the next code accepted" dave "$AG_RIGHT" "$code" 0 1
refused "web: the code PAM accepted" dave "$code" replayed

ag_say "backup codes"
ag_enroll frank
frank=$AG_SECRET
b=("${AG_BACKUP[@]}")
next
valid "backup code 1" frank "${b[0]}" backup 9
refused "backup code 1 again" frank "${b[0]}" wrong
valid "backup code 2 in lower case without dashes" frank \
	"$(printf '%s' "${b[1]}" | tr -d - | tr '[:upper:]' '[:lower:]')" backup 8
ag_mfa_attempt "PAM: backup code 2 (spent on the web) refused" frank "$AG_RIGHT" "${b[1]}" 1 1
ag_mfa_attempt "PAM: backup code 3 accepted" frank "$AG_RIGHT" "${b[2]}" 0 1
refused "web: backup code 3 (spent in PAM)" frank "${b[2]}" wrong
ag_run_enroll --user frank --regenerate-backup-codes --json </dev/null
ag_expect_eq "authguard-enroll --regenerate-backup-codes exits 0" 0 "$AG_RC"
nb=$(ag_jget "$AG_JSON" backup_codes.0)
refused "an old, unused backup code after regenerating" frank "${b[3]}" wrong
valid "a new backup code" frank "$nb" backup 9
valid "TOTP still works" frank "$(ag_totp "$frank")" totp 9

ag_say "bad stdin: usage error, state untouched"
next
statedump() { ag_sql_dump; }
# bad_input DESC MESSAGE: the input is in $AG_TMP/stdin.
bad_input() {
	local before after
	before=$(statedump)
	AG_LOG_MARK=$(ag_log_lines)
	AG_JSON=$(ag_token mfa verify --user alice <"$AG_TMP/stdin" 2>"$AG_TMP/token.err")
	AG_RC=$?
	AG_OUT=$(cat "$AG_TMP/token.err")
	after=$(statedump)
	ag_expect_eq "$1: exit 2" 2 "$AG_RC"
	ag_expect_eq "$1: nothing on stdout" "" "$AG_JSON"
	ag_expect_eq "$1: the reason on stderr" "authguard-token: $2" "$AG_OUT"
	ag_expect_true "$1: the state is unchanged" test "$before" = "$after"
	ag_expect_eq "$1: nothing logged" "" "$(ag_log_last)"
}
head -c 102400 /dev/zero | tr '\0' 7 >"$AG_TMP/stdin"
bad_input "100 KiB of digits" "code on stdin: too long or not text"
{ head -c 102400 /dev/zero | tr '\0' 7; echo; } >"$AG_TMP/stdin"
bad_input "a 100 KiB line" "code on stdin: too long or not text"
: >"$AG_TMP/stdin"
bad_input "empty stdin" "code expected on stdin"
printf '\n' >"$AG_TMP/stdin"
bad_input "an empty line" "code expected on stdin"
printf '123\000456\n' >"$AG_TMP/stdin"
bad_input "a NUL byte" "code on stdin: too long or not text"
ag_expect_status "alice: no failure from any of that" alice -- failures=0 pending=0

ag_say "usage and configuration errors exit 2, internal errors 3"
usage() { # DESC ARGS...
	local d=$1
	shift
	printf '123456\n' >"$AG_TMP/stdin"
	ag_run_token "$@" <"$AG_TMP/stdin"
	ag_expect_eq "$d: exit 2" 2 "$AG_RC"
	ag_expect_eq "$d: nothing on stdout" "" "$AG_JSON"
}
usage "no --user" mfa verify --ip $ip
usage "empty --user" mfa verify --user ''
usage "the code as an argument" mfa verify --user alice 123456
usage "--ip not an address" mfa verify --user alice --ip not-an-address
usage "unknown sub-command" mfa frobnicate --user alice

mv "$AG_KEY" "$AG_KEY.away"
verify alice "$(ag_totp "$alice")"
ag_expect_eq "secrets key missing: exit 2" 2 "$AG_RC"
ag_expect_eq "secrets key missing: nothing on stdout" "" "$AG_JSON"
ag_expect_out "secrets key missing: stderr names the key file" "secrets key $AG_KEY: does not exist"
mv "$AG_KEY.away" "$AG_KEY"
chmod 644 "$AG_KEY"
verify alice "$(ag_totp "$alice")"
ag_expect_eq "secrets key readable by others: exit 2" 2 "$AG_RC"
ag_expect_out "secrets key readable by others: stderr says so" "secrets key $AG_KEY: is readable by others"
chmod 600 "$AG_KEY"
ag_expect_status "no failure counted for alice" alice -- failures=0 pending=0

ag_enroll tom
tom=$AG_SECRET
next
ag_sql "UPDATE mfa SET account = 'vic' WHERE account = 'tom';" ||
	ag_bail "could not move the row"
verify vic "$(ag_totp "$tom")"
ag_expect_eq "tom's row moved to vic, tom's code for vic: exit 3" 3 "$AG_RC"
ag_expect_eq "tampered row: nothing on stdout" "" "$AG_JSON"
ag_expect_out "tampered row: a clear message on stderr" '(does not open|tampered)'
valid "alice, untouched: the current code" alice "$(ag_totp "$alice")" totp 10

ag_say "the code is never in argv"
next
code=$(ag_totp "$alice")
fifo=$AG_TMP/code.fifo
mkfifo -m 600 "$fifo"
exec 7<>"$fifo" # a writer exists: the helper's open of the fifo does not block
ag_preload
env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
	"$AG_TOKEN_BIN" --conf "$AG_CONF" mfa verify --user alice \
	<"$fifo" >"$AG_TMP/fifo.out" 2>"$AG_TMP/fifo.err" &
pid=$!
# Wait until the helper itself (not env) blocks in read(2) on descriptor 0
# (x86-64 syscall 0; elsewhere: any wait in a pipe read).
cmdline= waiting=
for _ in $(seq 1 400); do
	if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$AG_TOKEN_BIN")" ]; then
		case $(cat "/proc/$pid/syscall" 2>/dev/null) in
		"0 0x0 "*) waiting="read(0, ...)" ;;
		*) grep -q pipe_read "/proc/$pid/wchan" 2>/dev/null && waiting=pipe_read ;;
		esac
		if [ -n "$waiting" ]; then
			cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
			break
		fi
	fi
	sleep 0.05
done
ag_expect_true "the helper waits for its code on stdin (${waiting:-not seen})" test -n "$waiting"
ag_expect_eq "a waiting mfa verify shows only its options in /proc/PID/cmdline" \
	"$AG_TOKEN_BIN --conf $AG_CONF mfa verify --user alice " "$cmdline"
ag_expect_true "the code is nowhere in its cmdline or environment" \
	eval '! grep -q -e "$code" < <(tr "\0" "\n" </proc/$pid/cmdline) && ! grep -q -e "$code" < <(tr "\0" "\n" </proc/$pid/environ)'
printf '%s\n' "$code" >&7
exec 7>&-
wait "$pid"
AG_RC=$?
AG_JSON=$(cat "$AG_TMP/fifo.out")
ag_expect_eq "the code written to its stdin afterwards is accepted (exit 0)" 0 "$AG_RC"
expect_json "valid true" valid=true method=totp

ag_say "parallel replays: one code, 8 processes, one acceptance"
ag_run_token guard success --subject alice
ag_expect_status "(alice starts the burst with no failure)" alice -- failures=0
next
code=$(ag_totp "$alice")
printf '%s\n' "$code" >"$AG_TMP/stdin"
rm -rf "$AG_TMP/par"
mkdir "$AG_TMP/par"
: >"$AG_TMP/barrier"
exec 9>"$AG_TMP/barrier"
flock -x 9
for i in $(seq 1 8); do
	(
		exec 9>&-
		flock -s "$AG_TMP/barrier" true
		ag_token mfa verify --user alice <"$AG_TMP/stdin" >"$AG_TMP/par/out.$i" 2>/dev/null
		echo $? >"$AG_TMP/par/rc.$i"
	) &
done
flock -u 9
exec 9>&-
wait
ag_expect_eq "exactly one exit 0, seven exit 1" "1x0 7x1" \
	"$(cat "$AG_TMP"/par/rc.* | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = " " }')"
ag_expect_eq "the seven say reason replayed" 7 "$(grep -l '"reason":"replayed"' "$AG_TMP"/par/out.* | wc -l | tr -d ' ')"
ag_expect_status "no failure counted for the seven replays" alice -- failures=0 pending=0 locked=false
ag_run_token guard success --subject alice

ag_say "group authguard (a web backend's): it may read the secrets key, so it can open every TOTP secret"
# What README and SECURITY.md say: authguard-ctl init, when a group
# authguard exists, gives it the state (2770/0660) and the secrets key
# (0640), because mfa verify runs in the backend's process and needs the
# key; a member can therefore unseal every TOTP secret.  A backend that
# does not verify codes is better off without the key: chgrp root +
# chmod 0600 and mfa verify fails closed for the group, the guard and
# PAM (root) keep working.  The group comes from nss_wrapper (no change to
# /etc/group); the backend is nobody with that group (setpriv).
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1 || [ ! -f "$NSS_WRAPPER_LIB" ] ||
	! getent passwd nobody >/dev/null; then
	ag_say "SKIP the group checks: they need root, setpriv, nss_wrapper and a user nobody"
else
	G=64911
	while getent group "$G" >/dev/null; do G=$((G + 1)); done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:%s:%s:nobody:/nonexistent:/bin/false\n' \
		"$(id -u nobody)" "$(id -g nobody)" >"$AG_TMP/nss.passwd"
	printf 'root:x:0:\nauthguard:x:%s:\n' "$G" >"$AG_TMP/nss.group"
	saved_conf=$AG_CONF saved_db=$AG_DB saved_key=$AG_KEY
	AG_PRELOAD_TEST=$NSS_WRAPPER_LIB
	AG_ENV=(NSS_WRAPPER_PASSWD="$AG_TMP/nss.passwd" NSS_WRAPPER_GROUP="$AG_TMP/nss.group")
	AG_CONF=$AG_TMP/grp.conf
	AG_DB=$AG_TMP/grp-state/state.db
	AG_KEY=$AG_TMP/grp-keys/secrets.key
	{
		printf 'state_file = %s\nsecrets_key = %s\ndelay_base = 0\n' "$AG_DB" "$AG_KEY"
		ag_store_lines "$AG_DB"
	} >"$AG_CONF"
	chmod 644 "$AG_CONF"
	out=$(ag_ctl init 2>&1) || ag_bail "authguard-ctl --conf $AG_CONF init failed: $out"
	if ag_sqlite_only "the state file's group and modes after init" "no state file"; then
		ag_expect_eq "init with a group authguard: state directory 2770, state file 0660, group authguard" \
			"2770 $G 660 $G" "$(stat -c '%a %g' "$(dirname "$AG_DB")" "$AG_DB" | tr '\n' ' ' | sed 's/ $//')"
	fi
	ag_expect_eq "... and the secrets key 0640, readable by the group, in a directory 0750" \
		"640 0 $G 750 0 $G" "$(stat -c '%a %u %g' "$AG_KEY" "$(dirname "$AG_KEY")" | tr '\n' ' ' | sed 's/ $//')"
	ag_enroll gina
	gina=$AG_SECRET
	next
	AG_RUNAS=(setpriv --reuid=nobody --regid="$G" --clear-groups --)
	ag_expect_true "a member of the group (nobody, group authguard) can read the key itself" \
		"${AG_RUNAS[@]}" head -c 64 "$AG_KEY" >/dev/null
	valid "as a member of the group: mfa verify works (it opens the sealed secret)" gina \
		"$(ag_totp "$gina")" totp 10
	AG_RUNAS=()
	chgrp 0 "$AG_KEY" && chmod 600 "$AG_KEY"
	AG_RUNAS=(setpriv --reuid=nobody --regid="$G" --clear-groups --)
	next
	verify gina "$(ag_totp "$gina")"
	ag_expect_eq "key root-only: a member's mfa verify fails closed (exit 3, as for an unreadable state)" \
		3 "$AG_RC"
	ag_expect_out "... naming the key and the reason" "secrets key $AG_KEY: cannot be opened"
	ag_expect_true "... and the member cannot read the key" \
		eval '! "${AG_RUNAS[@]}" head -c 1 "$AG_KEY" >/dev/null 2>&1'
	ag_run_token guard check --subject gina --ip $ip
	ag_expect_eq "... while its guard check still works (exit 0)" 0 "$AG_RC"
	ag_run_token guard success --subject gina --ip $ip --attempt "$(ag_jget "$AG_JSON" attempt)"
	AG_RUNAS=()
	valid "... and root (PAM's side) still verifies codes" gina "$(ag_totp "$gina")" totp 10
	AG_PRELOAD_TEST=
	AG_ENV=()
	AG_CONF=$saved_conf AG_DB=$saved_db AG_KEY=$saved_key
fi

ag_expect_log_clean

ag_done
