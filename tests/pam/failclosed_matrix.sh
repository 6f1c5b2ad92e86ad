#!/bin/bash
# The fail-closed matrix, beyond tests/pam/failclosed.sh (corrupt, damaged,
# missing or unsafe state, foreign or newer files, bad configuration
# files): each fault below is injected for real, and the test asserts what
# the module and the helpers do -- deny (pamtester exit 1, the password
# check not run), the helper's exit status, and the exact log or stderr
# line that says why.  Nothing may be let through, nothing may crash.
#
#   1. read-only state file      read-only bind mount (chattr +i if that
#                                fails); skipped only if neither works
#   2. full disk                 the state on a 1 MiB tmpfs, filled up
#   3. unreadable state          mode 000 file / directory, run as nobody
#                                (root reads through any mode)
#   4. secrets key (TOTP)        missing, short, empty, readable by others,
#                                writable by its group, owned by another
#                                user, a symlink: PAM totp, authguard-token
#                                mfa verify, authguard-enroll
#   5. token signing keys        missing directory, short/empty/symlinked
#                                key file, readable by others, key file or
#                                directory owned by another user
#   6. webhook secret            missing, short, empty, readable by others,
#                                owned by another user, a symlink
#   7. bad module arguments      conf= relative or empty or a directory,
#                                malformed values, two modes on one line
#   8. clock extremes            AUTHGUARD_TEST_TIME 0, year 2200,
#                                INT64_MAX/2 (the largest accepted), and
#                                values the test clock ignores (-1, 2^63,
#                                garbage); tokens issued "in the future"
#   9. out of memory             prlimit --as sweeps over pamtester and
#                                authguard-token (not under ASan/valgrind)
#  10. PAM conversation failure  MFA stack with stdin closed
#  11. helper killed mid-request authguard-token refresh killed while
#                                reading stdin, while waiting for the
#                                state lock, and after its commit
#
# Rows 1-3 and the "owned by another user" cases need root (mounts,
# chown, runuser); without root they are skipped with a message, and the
# others still run.  With PostgreSQL (AG_STORE=postgresql) row 1 makes the
# database read-only instead, rows 2 and 3 (the state file's disk and
# modes) are skipped, and in row 11 the helper waits for a table lock
# held by psql.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init
[ "$AG_STORE" != sqlite ] || command -v sqlite3 >/dev/null 2>&1 ||
	ag_bail "sqlite3 (the command-line tool) is required"
command -v oathtool >/dev/null 2>&1 || ag_bail "oathtool is required (apt-get install oathtool)"
command -v mkfifo >/dev/null 2>&1 || ag_bail "mkfifo is required"
[ -x "$AG_ENROLL_BIN" ] || ag_bail "helper not built: $AG_ENROLL_BIN (run make)"
WH_BIN=$top_builddir/helpers/authguard-webhook
[ -x "$WH_BIN" ] || ag_bail "helper not built: $WH_BIN (run make)"

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1
SKIPPED=()

# skip_row ROW REASON: a row that cannot run here, said in the log.
skip_row() {
	SKIPPED+=("$1: $2")
	ag_say "SKIP row $1: $2"
}

# Mounts and immutable files this test made are undone however it ends;
# then lib.sh's own exit handler runs with the exit status unchanged.
FC_MOUNTS=()
FC_IMMUTABLE=()
fc_undo() {
	local rc=$? m
	for m in ${FC_IMMUTABLE[@]+"${FC_IMMUTABLE[@]}"}; do chattr -i "$m" 2>/dev/null; done
	for m in ${FC_MOUNTS[@]+"${FC_MOUNTS[@]}"}; do umount -l "$m" 2>/dev/null; done
	FC_MOUNTS=() FC_IMMUTABLE=()
	return $rc
}
eval "set -- $(trap -p EXIT)"
trap "fc_undo; ${3:-}" EXIT
set --

AG_RHOST=192.0.2.120

# denied DESC USER ERE: the right password of USER is refused without
# being checked, an event=error line matching "ERE; access denied" is
# logged by the auth phase, and nothing succeeds.
denied() {
	# Daemon mode: a daemon that had the state open before the fault
	# keeps what it opened; one started now meets the fault.
	ag_daemon_restart
	ag_attempt "$1: right password refused, password not checked" "$2" "$AG_RIGHT" 1 0
	ag_expect_log "$1: event=error says why" \
		"pam_authguard\\($AG_SVC:auth\\): event=error op=(auth|preauth)( user=$2)?: $3; access denied"
	ag_expect_no_log "$1: no success logged" 'event=success'
}

# expect_helper DESC RC STDERR-ERE: exit status and stderr of the last
# ag_run_* helper; on errors (2, 3) nothing may be printed on stdout as a
# verdict (an {"error":...} object is allowed).
expect_helper() {
	local bad=()
	[ "$AG_RC" = "$2" ] || bad+=("exit $AG_RC, expected $2")
	grep -Eq -- "$3" <<<"$AG_OUT" || bad+=("stderr does not match: $3")
	case $AG_JSON in
	*'"valid":true'* | *'"allowed":true'* | *'"enrolled":true'*)
		bad+=("a positive verdict on stdout") ;;
	esac
	if [ ${#bad[@]} -eq 0 ]; then
		ag_pass "$1"
	else
		ag_fail "$1" "${bad[@]}" "stderr: $(printf '%s' "$AG_OUT" | tr '\n' '|' | cut -c1-300)" \
			"stdout: $(printf '%s' "$AG_JSON" | cut -c1-200)"
	fi
}

# ============================================================ 1. read-only
if [ "$AG_STORE" = postgresql ]; then
	# The database's read-only state: every transaction it starts is read
	# only (as on a hot standby), so no write gets through.
	ag_say "1. read-only database (default_transaction_read_only)"
	ag_setup rostate "delay_base = 0" "deny = 3"
	for i in 1 2 3; do ag_pam lockd "$AG_WRONG"; done
	ag_attempt "read-only: sanity: right password accepted before" bob "$AG_RIGHT" 0 1
	ag_pg_psql postgres "ALTER DATABASE $ag_pgdb SET default_transaction_read_only = on" >/dev/null ||
		ag_bail "could not make the database read-only"
	ro_why="postgresql: .*read-only transaction"
	denied "read-only database" bob "$ro_why"
	ag_attempt "read-only database: a locked account stays refused, not checked" lockd "$AG_RIGHT" 1 0
	ag_expect_no_log "read-only database: ... and nothing succeeds" 'event=success'
	ag_attempt "read-only database: account phase of the locked account refused" lockd - 1 0 acct_mgmt
	ag_run_token guard check --subject bob --ip 192.0.2.121
	expect_helper "read-only database: authguard-token guard check exits 3 saying why" 3 \
		"^authguard-token: $ro_why"
	ag_expect_eq "read-only database: guard check prints no verdict" "" "$AG_JSON"
	ag_pg_psql postgres "ALTER DATABASE $ag_pgdb RESET default_transaction_read_only" >/dev/null
	ag_attempt "read-only undone: right password accepted again" bob "$AG_RIGHT" 0 1
	ag_attempt "read-only undone: the lock is still there" lockd "$AG_RIGHT" 1 0
	ag_sqlite_only "2. full disk" "the database's disk is the server's: a full disk there is not injected here"
	ag_sqlite_only "3. unreadable state file and directory" \
		"no state file (failclosed.sh: a role without rights)"
	skip_row "full disk, unreadable state file" "SQLite only"
else
ag_say "1. read-only state file"
ag_setup rostate "delay_base = 0" "deny = 3"
for i in 1 2 3; do ag_pam lockd "$AG_WRONG"; done
ag_attempt "read-only: sanity: right password accepted before" bob "$AG_RIGHT" 0 1
rodir=$(dirname "$AG_DB")
ro_how=
if [ $IS_ROOT = 1 ] && mount --bind "$rodir" "$rodir" 2>/dev/null; then
	FC_MOUNTS+=("$rodir")
	if mount -o remount,bind,ro "$rodir" 2>/dev/null; then
		ro_how="read-only bind mount"
	else
		umount "$rodir"
		FC_MOUNTS=()
	fi
fi
if [ -z "$ro_how" ] && [ $IS_ROOT = 1 ] && command -v chattr >/dev/null 2>&1 &&
	chattr +i "$AG_DB" 2>/dev/null; then
	FC_IMMUTABLE+=("$AG_DB")
	ro_how="chattr +i"
fi
if [ -z "$ro_how" ]; then
	skip_row "read-only state file" "neither a read-only bind mount nor chattr +i is permitted here"
else
	ag_say "the state is made read-only by $ro_how"
	ro_why="state file $AG_DB: (Read-only file system|Operation not permitted)"
	denied "read-only state ($ro_how)" bob "$ro_why"
	denied "read-only state: a locked account" lockd "$ro_why"
	ag_attempt "read-only state: account phase refused" bob - 1 0 acct_mgmt
	ag_expect_log "read-only state: the account phase logs why" \
		"pam_authguard\\($AG_SVC:account\\): event=error op=account user=bob: $ro_why; access denied"
	ag_run_token guard check --subject bob --ip 192.0.2.121
	expect_helper "read-only state: authguard-token guard check exits 3 naming the file" 3 \
		"^authguard-token: $ro_why\$"
	ag_expect_eq "read-only state: guard check prints no verdict" "" "$AG_JSON"
	ag_run_ctl status bob
	expect_helper "read-only state: authguard-ctl status exits 3 naming the file" 3 \
		"^authguard-ctl: $ro_why\$"
	fc_undo
	ag_attempt "read-only state undone: right password accepted again" bob "$AG_RIGHT" 0 1
	ag_attempt "read-only state undone: the lock is still there" lockd "$AG_RIGHT" 1 0
fi

# ============================================================ 2. full disk
ag_say "2. full disk (the state on a 1 MiB tmpfs)"
mkdir -m 700 "$AG_TMP/full"
if [ $IS_ROOT = 1 ] && mount -t tmpfs -o size=1m,mode=700 fc-full "$AG_TMP/full" 2>/dev/null; then
	FC_MOUNTS+=("$AG_TMP/full")
	AG_STATE_DIR=$AG_TMP/full
	ag_setup full "delay_base = 0" "deny = 3"
	AG_STATE_DIR=
	for i in 1 2 3; do ag_pam lockd "$AG_WRONG"; done
	ag_attempt "full disk: sanity: right password accepted before" bob "$AG_RIGHT" 0 1
	dd if=/dev/zero of="$AG_TMP/full/filler" bs=4096 status=none 2>/dev/null
	ag_expect_eq "full disk: the file system has no space left" 0 \
		"$(df -P "$AG_TMP/full" | awk 'NR == 2 { print $4 }')"
	full_why="$AG_DB: commit: database or disk is full"
	denied "full disk" bob "$full_why"
	ag_attempt "full disk: a wrong password is not checked either" carol "$AG_WRONG" 1 0
	ag_expect_log "full disk: ... and logged" "event=error op=preauth user=carol: $full_why; access denied"
	ag_attempt "full disk: the locked account stays locked (reads still work)" lockd "$AG_RIGHT" 1 0
	ag_expect_log "full disk: ... refused as locked" 'event=auth_refused user=lockd .*reason=locked'
	ag_attempt "full disk: account phase of the locked account refused" lockd - 1 0 acct_mgmt
	ag_run_token guard failure --subject carol --ip 192.0.2.122
	expect_helper "full disk: authguard-token guard failure exits 3" 3 "^authguard-token: $full_why\$"
	ag_run_token guard check --subject dave --ip 192.0.2.122
	expect_helper "full disk: authguard-token guard check (writes the attempt) exits 3" 3 \
		"^authguard-token: $full_why\$"
	ag_run_token guard check --subject lockd
	ag_expect_eq "full disk: guard check of the locked account still refuses (1)" 1 "$AG_RC"
	rm -f "$AG_TMP/full/filler"
	ag_attempt "space back: right password accepted" bob "$AG_RIGHT" 0 1
	ag_expect_status "space back: nothing half-written for carol" carol -- failures=0 locked=false
	ag_expect_eq "space back: the state is consistent (integrity check)" ok "$(ag_sql_integrity)"
	fc_undo
else
	skip_row "full disk" "mounting a tmpfs is not permitted here$([ $IS_ROOT = 1 ] || echo ' (not root)')"
fi

# ============================================================ 3. unreadable
ag_say "3. unreadable state file and directory (as nobody: root reads any mode)"
if ! ag_direct_only "3. unreadable state file and directory, as nobody" \
	"through the daemon nobody may act for no one but itself, and the daemon opens the state (tests/daemon/screenlocker.sh)"; then
	skip_row "unreadable state" "without the daemon only"
elif [ $IS_ROOT = 1 ] && command -v runuser >/dev/null 2>&1 && getent passwd nobody >/dev/null; then
	mkdir -m 700 "$AG_TMP/nb-state"
	chown nobody "$AG_TMP/nb-state"
	AG_STATE_DIR=$AG_TMP/nb-state
	AG_RUNAS=(runuser -u nobody --)
	ag_setup unread "delay_base = 0"
	AG_STATE_DIR=
	ag_attempt "unreadable: sanity: as nobody, right password accepted" bob "$AG_RIGHT" 0 1
	chmod 000 "$AG_DB"
	denied "state file mode 000" bob "state file $AG_DB: Permission denied"
	ag_attempt "state file mode 000: account phase refused" bob - 1 0 acct_mgmt
	ag_run_token guard check --subject bob
	expect_helper "state file mode 000: authguard-token guard check exits 3" 3 \
		"^authguard-token: state file $AG_DB: Permission denied\$"
	chmod 600 "$AG_DB"
	chmod 000 "$AG_TMP/nb-state"
	denied "state directory mode 000" bob "state file $AG_DB: Permission denied"
	chmod 700 "$AG_TMP/nb-state"
	ag_attempt "modes back: right password accepted" bob "$AG_RIGHT" 0 1
	AG_RUNAS=()
else
	skip_row "unreadable state" "needs root, runuser and a user nobody"
fi
fi # SQLite rows 1-3

# ============================================================ 4. secrets key
ag_say "4. the secrets key (TOTP secrets, backup codes)"
ag_mfa_setup mfk "delay_base = 0" "deny = 50"
ag_enroll alice || ag_bail "enrollment failed; the secrets key rows cannot run"
AG_NOW=$((AG_NOW + 60))
code=$(ag_totp "$AG_SECRET")

# break_file FAULT FILE: puts FILE in the state FAULT (from its good copy
# FILE.good, which restore_file puts back).
break_file() {
	local f=$2
	rm -f "$f" "$f.real"
	case $1 in
	missing) ;;
	short)
		case $f in
		*.secret) printf 'whsec_%s\n' "$(head -c 16 /dev/urandom | base64 -w0)" >"$f" ;;
		*) head -c 20 "$f.good" >"$f" ;;
		esac
		chmod 600 "$f" ;;
	empty) : >"$f" && chmod 600 "$f" ;;
	other-readable) cp -p "$f.good" "$f" && chmod 644 "$f" ;;
	group-writable) cp -p "$f.good" "$f" && chmod 660 "$f" ;;
	owner) cp -p "$f.good" "$f" && chown nobody "$f" ;;
	symlink) cp -p "$f.good" "$f.real" && ln -s "$f.real" "$f" ;;
	esac
}
restore_file() {
	rm -f "$1" "$1.real"
	cp -p "$1.good" "$1"
}

# The reason each fault gives (after "FILE: ").
fault_why() {
	case $1 in
	missing) echo "does not exist" ;;
	other-readable) echo "is readable by others" ;;
	group-writable) echo "is writable by its group" ;;
	owner) echo "is not owned by root or the current user" ;;
	symlink) echo "is a symlink" ;;
	esac
}

cp -p "$AG_KEY" "$AG_KEY.good"
faults=(missing short empty other-readable group-writable symlink)
[ $IS_ROOT = 1 ] && faults+=(owner) || skip_row "secrets key owned by another user" "chown needs root"
for f in "${faults[@]}"; do
	case $f in
	short | empty) why="is too short \\(must hold exactly 64 hexadecimal digits\\)" ;;
	missing) why="does not exist \\(create it with authguard-ctl keygen --secrets\\)" ;;
	*) why=$(fault_why "$f") ;;
	esac
	break_file "$f" "$AG_KEY"
	ag_mfa_attempt "secrets key $f: PAM totp refuses the right password and code" \
		alice "$AG_RIGHT" "$code" 1 1
	ag_expect_log "secrets key $f: event=error names the key" \
		"pam_authguard\\(mfk:auth\\): event=error op=totp user=alice: secrets key $AG_KEY: $why; access denied"
	ag_expect_no_log "secrets key $f: no mfa_ok, no success" 'event=mfa_ok|event=success'
	ag_run_token mfa verify --user alice <<<"$code"
	expect_helper "secrets key $f: authguard-token mfa verify exits 2 naming the key" 2 \
		"^authguard-token: secrets key $AG_KEY: $why\$"
	ag_run_enroll --user erin --json </dev/null
	expect_helper "secrets key $f: authguard-enroll exits 2 naming the key" 2 \
		"^authguard-enroll: secrets key $AG_KEY: $why\$"
	restore_file "$AG_KEY"
done
# preauth counts every attempt until authsucc settles it: the refused ones
# stay counted towards the lock.
ag_expect_status "secrets key faults: each refused attempt still counts as a failure" \
	alice -- failures=${#faults[@]} pending=${#faults[@]}
ag_mfa_attempt "the key back: the same code is accepted (it was not used up)" alice "$AG_RIGHT" "$code" 0 1

# ============================================================ 5. token keys
ag_say "5. token signing keys"
ag_conf tk "token_keys_dir = $AG_TMP/tk" "token_issuer = https://issuer.example" \
	"token_audience = api.example"
ag_run_ctl keygen
[ "$AG_RC" = 0 ] || ag_bail "authguard-ctl keygen failed: $AG_OUT"
tkconf=$AG_CONF
kf=$(ls "$AG_TMP"/tk/*.key)
ag_run_token issue --sub alice --refresh </dev/null
good_tok=$(ag_jget "$AG_JSON" token)
good_rt=$(ag_jget "$AG_JSON" refresh_token)
[ "$AG_RC" = 0 ] || ag_bail "authguard-token issue failed: $AG_OUT"
cp -p "$kf" "$kf.good"

# token_key_fault DESC ERE: issue, verify (of a token that was valid),
# refresh and jwks all exit 2 with "authguard-token: keys: ERE" on stderr.
token_key_fault() {
	local c bad=()
	for c in issue verify refresh jwks; do
		case $c in
		issue) ag_run_token issue --sub alice </dev/null ;;
		verify) ag_run_token verify <<<"$good_tok" ;;
		refresh) ag_run_token refresh <<<"$good_rt" ;;
		jwks) ag_run_token jwks </dev/null ;;
		esac
		[ "$AG_RC" = 2 ] || bad+=("$c: exit $AG_RC")
		grep -Eq -- "^authguard-token: keys: $2\$" <<<"$AG_OUT" ||
			bad+=("$c: stderr: $(printf '%s' "$AG_OUT" | head -c 200)")
		case $AG_JSON in *'"valid":true'* | *'"token":'*) bad+=("$c: a token or verdict on stdout") ;; esac
	done
	# batch mode: the process lives on, and answers each request with
	# status 2 and error "keys"
	printf '%s\n' "{\"id\":1,\"op\":\"verify\",\"token\":\"$good_tok\"}" \
		'{"id":2,"op":"issue","sub":"alice"}' "{\"id\":3,\"op\":\"refresh\",\"refresh_token\":\"$good_rt\"}" \
		>"$AG_TMP/batch.in"
	ag_run_token batch <"$AG_TMP/batch.in"
	[ "$AG_RC" = 0 ] || bad+=("batch: exit $AG_RC")
	[ "$(printf '%s\n' "$AG_JSON" | grep -c '"error":"keys".*"status":2')" = 3 ] ||
		bad+=("batch: not three answers with error keys, status 2: $(printf '%s' "$AG_JSON" | head -c 300)")
	if [ ${#bad[@]} -eq 0 ]; then
		ag_pass "$1: issue, verify, refresh and jwks exit 2 naming the file; batch answers status 2"
	else
		ag_fail "$1" "${bad[@]}"
	fi
}
faults=(missing short empty other-readable symlink)
[ $IS_ROOT = 1 ] && faults+=(owner)
for f in "${faults[@]}"; do
	break_file "$f" "$kf"
	case $f in
	missing) token_key_fault "token key file missing (directory empty)" \
		"$AG_TMP/tk: no key files \\(<kid>\\.key\\): create a signing key first" ;;
	short) token_key_fault "token key file short (20 bytes)" \
		"$kf: has a value of \"kid\" with an escape, a control or non-ASCII character, or that does not end.*" ;;
	empty) token_key_fault "token key file empty" "$kf: is not a JSON object" ;;
	*) token_key_fault "token key file $f" "$kf: $(fault_why "$f")" ;;
	esac
	restore_file "$kf"
done
if [ $IS_ROOT = 1 ]; then
	chown nobody "$AG_TMP/tk"
	token_key_fault "token key directory owned by another user" \
		"$AG_TMP/tk: is not owned by root or the current user"
	chown root "$AG_TMP/tk"
fi
mv "$AG_TMP/tk" "$AG_TMP/tk.away"
token_key_fault "token key directory missing" "$AG_TMP/tk: key directory does not exist"
mv "$AG_TMP/tk.away" "$AG_TMP/tk"
ag_run_token verify <<<"$good_tok"
ag_expect_eq "keys back: the token verifies again" 0 "$AG_RC"
ag_run_token refresh <<<"$good_rt"
ag_expect_eq "keys back: the refresh token was not used up by the failed attempts" 0 "$AG_RC"

# ============================================================ 6. webhook secret
ag_say "6. the webhook secret"
ag_conf wh "webhook_secret_file = $AG_TMP/keys/webhook.secret"
whconf=$AG_CONF
wsec=$AG_TMP/keys/webhook.secret
(umask 077 && printf 'whsec_%s\n' "$(head -c 24 /dev/urandom | base64 -w0)" >"$wsec")
cp -p "$wsec" "$wsec.good"
printf '%s' '{"data":{"id":"user_x"},"object":"event","type":"user.deleted"}' >"$AG_TMP/wh.json"
# wh CMD: authguard-webhook CMD with well-formed headers (the signature is
# not checked before the secret is read).
wh() {
	AG_LOG_MARK=$(ag_log_lines)
	AG_JSON=$(ag_helper "$WH_BIN" "$1" --header "svix-id: msg_fc1" \
		--header "svix-timestamp: $AG_NOW" --header "svix-signature: v1,AAAA" \
		<"$AG_TMP/wh.json" 2>"$AG_TMP/wh.err")
	AG_RC=$?
	AG_OUT=$(cat "$AG_TMP/wh.err")
	ag_check_sanitizer "$AG_OUT" "authguard-webhook $1"
}
faults=(missing short empty other-readable symlink)
[ $IS_ROOT = 1 ] && faults+=(owner)
for f in "${faults[@]}"; do
	break_file "$f" "$wsec"
	case $f in
	short) why="holds a secret shorter than 24 bytes" ;;
	empty) why="is empty \\(expected one line: whsec_ and the Base64 signing secret\\)" ;;
	*) why=$(fault_why "$f") ;;
	esac
	for c in receive verify; do
		wh $c
		expect_helper "webhook secret $f: authguard-webhook $c exits 2 naming the file" 2 \
			"^authguard-webhook: webhook_secret_file $wsec: ($why)"
	done
	ag_expect_log "webhook secret $f: logged as event=webhook_error reason=secret_file" \
		'event=webhook_error reason=secret_file'
	restore_file "$wsec"
done
ag_expect_eq "webhook secret faults: no message id was recorded" 0 \
	"$(ag_sql 'SELECT count(*) FROM webhook_msg;')"
wh verify
ag_expect_eq "secret back: verify refuses the bad signature (1), it no longer exits 2" 1 "$AG_RC"

# ============================================================ 7. module arguments
ag_say "7. bad module arguments"
ag_setup args "delay_base = 0"
goodconf=$AG_CONF
# badargs NAME DESC ERE ARGS...: a service whose module lines carry ARGS
# after conf=GOOD; the right password is refused unchecked, with ERE.
badargs() {
	local name=$1 desc=$2 ere=$3
	shift 3
	ag_service "$name" "$goodconf" "$@"
	AG_SVC=$name
	denied "module argument $desc" alice "$ere"
}
badargs arelconf "conf= a relative path" "module argument conf: must be an absolute path" \
	conf=authguard.conf
badargs aemptyconf "conf= empty" "module argument conf: must be an absolute path" conf=
badargs adirconf "conf= a directory" "$AG_TMP: is not a regular file" "conf=$AG_TMP"
badargs abool "nodelay=maybe" "module argument nodelay: not a boolean \\(yes/no\\)" nodelay=maybe
badargs arelstate "state_file=relative.db" "module argument state_file: must be an absolute path" \
	state_file=relative.db
badargs adeny5x "deny=5x" "module argument deny: not a whole number" deny=5x
badargs adenyempty "deny= (empty)" "module argument deny: not a whole number" deny=
badargs anegwin "fail_window=-5" "module argument fail_window: not a duration .*" fail_window=-5
badargs anokey "=5 (no key)" 'module argument "": unknown key' =5
badargs arel "delay_base=10 delay_max=5" \
	"$goodconf \\(with module arguments\\): delay_max \\(5\\) is smaller than delay_base \\(10\\)" \
	delay_base=10 delay_max=5
badargs atwomodes "a second mode (preauth authsucc)" \
	"module argument authsucc: more than one mode on the line" authsucc
ag_say "two modes on the MFA line: \"totp pwok\" must not skip the code"
ag_mfa_setup mfa2 "delay_base = 0"
ag_enroll mona || ag_bail "enrollment failed"
AG_NOW=$((AG_NOW + 60))
sed -i "s| totp conf=| totp pwok conf=|" "$AG_TMP/svc/mfa2"
ag_expect_true "(the service has a \"totp pwok\" line)" grep -q ' totp pwok conf=' "$AG_TMP/svc/mfa2"
ag_mfa_attempt "totp pwok: right password and a wrong code refused" mona "$AG_RIGHT" \
	"$(ag_wrong_code "$AG_SECRET")" 1 1
ag_expect_log "totp pwok: event=error says why" \
	'pam_authguard\(mfa2:auth\): event=error op=auth: module argument pwok: more than one mode on the line; access denied'
ag_expect_no_log "totp pwok: no success" 'event=success'
AG_NOW=$AG_T0

# ============================================================ 8. clock
ag_say "8. the clock at its extremes (AUTHGUARD_TEST_TIME)"
ag_setup clk "delay_base = 0" "deny = 3" "token_keys_dir = $AG_TMP/tk" \
	"token_issuer = https://issuer.example" "token_audience = api.example" "refresh_grace = 0"
# lock_at T USER: three wrong passwords at time T lock USER; then its right
# password is refused unchecked with retry_after 3600 (lock_time).
lock_at() {
	AG_NOW=$1
	for i in 1 2 3; do ag_pam "$2" "$AG_WRONG"; done
	ag_expect_log "clock $1: the third failure locks $2" "event=lock scope=account user=$2 .*failures=3"
	ag_attempt "clock $1: $2's right password refused while locked" "$2" "$AG_RIGHT" 1 0
	ag_expect_log "clock $1: ... reason=locked, retry_after=3600 (no overflow)" \
		"event=auth_refused user=$2 .*reason=locked scope=account failures=3 retry_after=3600\$"
}
AG_RHOST=
lock_at 0 epoch0
ag_attempt "clock 0: another account is accepted" clock0ok "$AG_RIGHT" 0 1
ag_run_token issue --sub alice </dev/null
ag_expect_eq "clock 0: a token issued at 0 expires at 900 (access_ttl)" "0 900" \
	"$AG_RC $(ag_jget "$AG_JSON" exp)"
tok0=$(ag_jget "$AG_JSON" token)
AG_NOW=$AG_T0
ag_run_token verify <<<"$tok0"
ag_expect_eq "... and is expired at 2023 (exit 1, expired)" "1 expired" "$AG_RC $(ag_jget "$AG_JSON" reason)"

Y2200=7258118400
lock_at $Y2200 future
ag_run_token issue --sub alice --refresh </dev/null
ftok=$(ag_jget "$AG_JSON" token)
frt=$(ag_jget "$AG_JSON" refresh_token)
ag_expect_eq "year 2200: issue works (exp = now + 900)" "0 $((Y2200 + 900))" "$AG_RC $(ag_jget "$AG_JSON" exp)"
AG_NOW=$AG_T0
ag_say "back to 2023"
ag_attempt "back from 2200: the lock set in 2200 still holds" future "$AG_RIGHT" 1 0
ag_expect_log "... refused as locked until 2200 + lock_time" \
	"event=auth_refused user=future .*reason=locked .*retry_after=$((Y2200 + 3600 - AG_T0))\$"
ag_run_token verify <<<"$ftok"
ag_expect_eq "an access token issued in 2200 does not verify in 2023 (exit 1, not_yet_valid)" \
	"1 not_yet_valid" "$AG_RC $(ag_jget "$AG_JSON" reason)"
ag_run_token refresh <<<"$frt"
ag_expect_eq "a refresh token issued in 2200 is refused in 2023 (exit 1, not_yet_valid)" \
	"1 not_yet_valid" "$AG_RC $(ag_jget "$AG_JSON" reason)"
ag_expect_no_log "... and no token is handed out" 'event=token_refreshed'
AG_NOW=$Y2200
ag_run_token refresh <<<"$frt"
ag_expect_eq "... it was not used up: in 2200 again it refreshes (exit 0)" 0 "$AG_RC"

TMAX=4611686018427387903 # INT64_MAX / 2, the largest time the test clock takes
lock_at $TMAX tmax
ag_run_token issue --sub alice </dev/null
ag_expect_eq "clock INT64_MAX/2: issue works, exp = now + 900 exactly" "0 $((TMAX + 900))" \
	"$AG_RC $(ag_jget "$AG_JSON" exp)"
mtok=$(ag_jget "$AG_JSON" token)
ag_run_token verify <<<"$mtok"
ag_expect_eq "clock INT64_MAX/2: ... and verifies then" 0 "$AG_RC"
AG_NOW=$AG_T0
ag_run_token verify <<<"$mtok"
ag_expect_eq "... but not in 2023 (exit 1, not_yet_valid)" "1 not_yet_valid" \
	"$AG_RC $(ag_jget "$AG_JSON" reason)"

# Values the test clock does not take leave the real clock in charge
# (release builds have no test clock at all).
for t in -1 9223372036854775808 -9223372036854775809 12abc ""; do
	AG_NOW=$t
	before=$(date +%s)
	ag_run_token issue --sub alice </dev/null
	after=$(date +%s)
	iat=$(ag_jget "$AG_JSON" exp)
	iat=$((iat - 900))
	if [ "$AG_RC" = 0 ] && [ "$iat" -ge "$before" ] && [ "$iat" -le "$after" ]; then
		ag_pass "AUTHGUARD_TEST_TIME='$t' is ignored: the token is issued at the real time"
	else
		ag_fail "AUTHGUARD_TEST_TIME='$t' is ignored: the token is issued at the real time" \
			"exit $AG_RC, iat $iat, real time $before..$after"
	fi
done
AG_NOW=-1
ag_attempt "AUTHGUARD_TEST_TIME=-1: the module runs on the real clock (a right password accepted)" \
	realclock "$AG_RIGHT" 0 1
AG_NOW=$AG_T0
AG_RHOST=192.0.2.120

# The log so far: one line per message, no raw control character.  (Row
# 9 adds libpam's own "unable to dlopen" lines, whose dlerror() text is
# garbage when memory runs out: only this project's lines are checked
# after it.)
ag_expect_log_clean
log_lines_before_oom=$(ag_log_lines)

# ============================================================ 9. out of memory
ag_say "9. out of memory (prlimit --as)"
if [ -n "$AG_PRELOAD_EXTRA" ] || [ -n "$ag_vg_log" ]; then
	skip_row "out of memory" "an address-space limit cannot work with a sanitizer runtime or valgrind"
elif ! command -v prlimit >/dev/null 2>&1; then
	skip_row "out of memory" "prlimit (util-linux) not found"
else
	# orderly: AG_RC is an exit status, not a signal or a timeout (127,
	# the loader unable to map a library, is an orderly refusal to start).
	orderly() { [ "$AG_RC" -lt 124 ] || [ "$AG_RC" = 127 ]; }
	ag_setup oom "delay_base = 0" "deny = 3" "token_keys_dir = $AG_TMP/tk" \
		"token_issuer = https://issuer.example" "token_audience = api.example"
	for i in 1 2 3; do ag_pam lockd "$AG_WRONG"; done
	ag_run_token issue --sub alice </dev/null
	rtok=$(ag_jget "$AG_JSON" token)
	ag_run_token revoke <<<"$rtok"
	# The smallest limit (in 64 KiB steps from 1 MiB) at which pamtester
	# loads the module and authenticates a fresh account.
	lim=0
	for kb in $(seq 1024 64 65536); do
		AG_RUNAS=(prlimit --as=$((kb * 1024)) --)
		ag_pam "probe$kb" "$AG_RIGHT"
		if [ "$AG_RC" = 0 ]; then lim=$kb; break; fi
	done
	AG_RUNAS=()
	if [ $lim = 0 ]; then
		ag_fail "out of memory: a limit under 64 MiB lets pamtester authenticate (probe)"
	else
		ag_say "pamtester authenticates from an address-space limit of $lim KiB; sweeping below it"
		bad=() oom_seen=0 nruns=0
		for kb in $(seq $((lim - 1024)) 16 $((lim + 64))); do
			[ $kb -gt 0 ] || continue
			AG_RUNAS=(prlimit --as=$((kb * 1024)) --)
			ag_pam lockd "$AG_RIGHT"
			nruns=$((nruns + 1))
			[ "$AG_RC" != 0 ] || bad+=("${kb} KiB: the locked account was let in")
			orderly || bad+=("${kb} KiB: locked account: exit $AG_RC (crash or hang)")
			ag_pam "fresh$kb" "$AG_RIGHT"
			nruns=$((nruns + 1))
			orderly || bad+=("${kb} KiB: fresh account: exit $AG_RC (crash or hang)")
			if grep -q 'event=error' <<<"$(ag_log_last)"; then
				[ "$AG_RC" != 0 ] || bad+=("${kb} KiB: an error was logged, yet the login succeeded")
				grep -q 'out of memory' <<<"$(ag_log_last)" && oom_seen=$((oom_seen + 1))
			fi
		done
		AG_RUNAS=()
		if [ ${#bad[@]} -eq 0 ]; then
			ag_pass "out of memory: $nruns pamtester runs under tight limits: the locked account never let in, no crash, no success after an error"
		else
			ag_fail "out of memory: pamtester under tight limits" "${bad[@]}"
		fi
		if [ $oom_seen -gt 0 ]; then
			ag_pass "out of memory: the module ran out of memory in $oom_seen run(s), denied and logged \"out of memory\""
		elif ! ag_direct_only "the sweep made the module run out of memory at least once" \
			"the module's work on the state is the daemon's, outside the limits"; then
			:
		else
			ag_fail "out of memory: the sweep made the module run out of memory at least once" \
				"no run logged event=error ... out of memory; the sweep missed the window"
		fi
	fi
	# The helpers: authguard-token on the locked account and on a revoked
	# token, with the same kind of sweep.
	lim=0
	for kb in $(seq 1024 64 65536); do
		AG_RUNAS=(prlimit --as=$((kb * 1024)) --)
		ag_run_token guard check --subject "probe$kb"
		if [ "$AG_RC" = 0 ]; then lim=$kb; break; fi
	done
	AG_RUNAS=()
	if [ $lim = 0 ]; then
		ag_fail "out of memory: a limit under 64 MiB lets authguard-token guard check run (probe)"
	else
		bad=() errs=0 nruns=0
		for kb in $(seq $((lim - 1024)) 16 $((lim + 64))); do
			[ $kb -gt 0 ] || continue
			AG_RUNAS=(prlimit --as=$((kb * 1024)) --)
			ag_run_token guard check --subject lockd
			nruns=$((nruns + 1))
			[ "$AG_RC" != 0 ] || bad+=("${kb} KiB: guard check allowed the locked account")
			orderly || bad+=("${kb} KiB: guard check: exit $AG_RC (crash or hang)")
			[ "$AG_RC" = 3 ] && grep -q 'out of memory' <<<"$AG_OUT" &&
				errs=$((errs + 1))
			ag_run_token verify <<<"$rtok"
			nruns=$((nruns + 1))
			[ "$AG_RC" != 0 ] || bad+=("${kb} KiB: verify accepted a revoked token")
			orderly || bad+=("${kb} KiB: verify: exit $AG_RC (crash or hang)")
		done
		AG_RUNAS=()
		if [ ${#bad[@]} -eq 0 ]; then
			ag_pass "out of memory: $nruns authguard-token runs under tight limits: never exit 0, no crash"
		else
			ag_fail "out of memory: authguard-token under tight limits" "${bad[@]}"
		fi
		if [ $errs -gt 0 ]; then
			ag_pass "out of memory: guard check ran out of memory in $errs run(s): exit 3, \"out of memory\" on stderr"
		elif ! ag_sqlite_only "the sweep made guard check run out of memory at least once" \
			"loading libpq and its libraries takes the whole window here (tests/fault/*.sh fail its allocations one by one)"; then
			:
		elif ! ag_direct_only "the sweep made guard check run out of memory at least once" \
			"guard check's work on the state is the daemon's, outside the limits"; then
			:
		else
			ag_fail "out of memory: the sweep made guard check run out of memory at least once"
		fi
	fi
	ag_expect_status "out of memory: the locked account is still locked, nothing lost" lockd -- \
		failures=3 locked=true
	ag_expect_eq "out of memory: the state is consistent (integrity check)" ok "$(ag_sql_integrity)"
fi

# ============================================================ 10. conversation
ag_say "10. the PAM conversation fails (MFA stack, stdin closed)"
ag_mfa_setup conv "delay_base = 0" "deny = 2"
ag_enroll carl || ag_bail "enrollment failed"
AG_NOW=$((AG_NOW + 60))
for n in 1 2; do
	AG_LOG_MARK=$(ag_log_lines)
	before=$(ag_count)
	AG_OUT=$(ag_pamtester_run carl -I "rhost=$AG_RHOST" -- authenticate <&-)
	AG_RC=$?
	ag_check_sanitizer "$AG_OUT" "pamtester conv"
	ag_expect_eq "stdin closed ($n): refused, the password check not run" "1 0" \
		"$AG_RC $(($(ag_count) - before))"
	ag_expect_log "stdin closed ($n): event=error says the conversation gave no code" \
		'pam_authguard\(conv:auth\): event=error op=totp user=carl: the conversation gave no code; access denied'
	ag_expect_log "stdin closed ($n): counted as a failure" "event=auth_fail user=carl .*failures=$n"
	ag_expect_no_log "stdin closed ($n): no success" 'event=success|event=mfa_ok'
done
ag_expect_status "two failed conversations lock the account (deny = 2)" carl -- failures=2 locked=true
ag_mfa_attempt "... so the right password and code are refused now" carl "$AG_RIGHT" \
	"$(ag_totp "$AG_SECRET")" 1 0
AG_NOW=$AG_T0

# ============================================================ 11. killed helper
ag_say "11. authguard-token refresh killed mid-request"
# (the longest waits for the lock, so that the kill comes first)
kill_wait=("busy_timeout = 60s")
[ "$AG_STORE" = sqlite ] || kill_wait+=("pg_statement_timeout = 60s")
ag_conf kill "token_keys_dir = $AG_TMP/tk" "token_issuer = https://issuer.example" \
	"token_audience = api.example" "refresh_grace = 30" "${kill_wait[@]}"
TOKEN_EXE=$(readlink -f "$AG_TOKEN_BIN")

# start_refresh STDIN STDOUT: authguard-token refresh in the background
# (not through ag_helper: its pid must be the helper's), stdin and stdout
# opened read-write on the given fifos or files; sets kpid.
start_refresh() {
	ag_preload
	env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
		"$AG_TOKEN_BIN" --conf "$AG_CONF" refresh 0<>"$1" 1<>"$2" 2>>"$AG_TMP/kill.err" &
	kpid=$!
}

# wait_syscall PID NAME: waits (at most 60 s) until PID, running the
# helper, sits in the system call NAME -- read0 (read on descriptor 0),
# write1 (write on descriptor 1) or sleep (nanosleep, clock_nanosleep) --
# as /proc/PID/syscall shows it (x86-64 numbers); prints NAME then.
wait_syscall() {
	local pid=$1 s
	for _ in $(seq 1 1200); do
		if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$TOKEN_EXE" ]; then
			s=$(cat "/proc/$pid/syscall" 2>/dev/null)
			case $2:$s in
			"read0:0 0x0 "* | "write1:1 0x1 "* | "sleep:35 "* | "sleep:230 "*)
				echo "$2"
				return 0
				;;
			esac
		fi
		sleep 0.05
	done
	echo "not seen"
	return 1
}

# fill_pipe FIFO: writes into FIFO (open for reading elsewhere) until its
# pipe buffer is full, so that the next writer blocks.
fill_pipe() {
	ag_python -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
try:
    while True:
        os.write(fd, b"x" * 4096)
except BlockingIOError:
    pass
' "$1"
}

killed_ok() { # DESC: kills kpid with SIGKILL and reaps it
	kill -KILL "$kpid" 2>/dev/null
	wait "$kpid" 2>/dev/null
	ag_expect_eq "$1: the helper died of SIGKILL" 137 "$?"
}

if [ "$(uname -m)" != x86_64 ]; then
	skip_row "helper killed mid-request" "the system call numbers used are x86-64's"
elif ! ag_direct_only "11. authguard-token refresh killed mid-request" \
	"through the daemon a request that was sent is carried out whatever becomes of its client (authguardd(8); tests/daemon/halfclose.sh)"; then
	skip_row "helper killed mid-request" "without the daemon only"
else
	ag_run_token issue --sub kim --refresh </dev/null
	rt1=$(ag_jget "$AG_JSON" refresh_token)
	dump0=$(ag_sql_dump)

	ag_say "a) killed while reading the token from stdin"
	rm -f "$AG_TMP/kin" "$AG_TMP/kout"
	mkfifo "$AG_TMP/kin"
	: >"$AG_TMP/kout"
	start_refresh "$AG_TMP/kin" "$AG_TMP/kout"
	exec 7<>"$AG_TMP/kin"
	printf '%s' "${rt1:0:20}" >&7
	ag_expect_eq "a) the helper waits in read(0) with half a token" read0 "$(wait_syscall "$kpid" read0)"
	killed_ok "a)"
	exec 7>&-
	ag_expect_eq "a) the state is exactly as before" "$dump0" "$(ag_sql_dump)"

	ag_say "b) killed while waiting for the state lock"
	rm -f "$AG_TMP/kin"
	printf '%s\n' "$rt1" >"$AG_TMP/kin"
	if [ "$AG_STORE" = postgresql ]; then
		# psql holds the tables the refresh writes locked (it answers
		# at once on a pipe); the helper then waits for the lock in
		# the server, which pg_locks shows as a lock not granted (on
		# this script's database: the pass runs others at the same time).
		coproc LOCKER { PGOPTIONS="-c search_path=$(ag_pg_schema "$AG_DB")" \
			"$AG_PSQL" -X -q -At -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" -U postgres -d "$ag_pgdb"; }
		printf '%s\n' "BEGIN; LOCK TABLE refresh_family, refresh_token IN EXCLUSIVE MODE;" \
			"SELECT 'held';" >&"${LOCKER[1]}"
	else
		# (Python's sqlite3: it answers at once on a pipe, the shell buffers)
		coproc LOCKER { ag_python -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
' "$AG_DB"; }
	fi
	IFS= read -r -t 60 -u "${LOCKER[0]}" held || held=
	ag_expect_eq "b) another connection holds the write lock" held "$held"
	start_refresh "$AG_TMP/kin" "$AG_TMP/kout"
	if [ "$AG_STORE" = postgresql ]; then
		lock_wait() {
			local _
			for _ in $(seq 1 1200); do
				[ "$(ag_sql "SELECT count(*) FROM pg_locks WHERE NOT granted
					AND database = (SELECT oid FROM pg_database
					                WHERE datname = current_database())")" = 0 ] || return 0
				sleep 0.05
			done
			return 1
		}
		ag_expect_true "b) the helper waits for the lock (in the server)" lock_wait
	else
		ag_expect_true "b) the helper waits for the lock (sleeping in its busy handler)" \
			eval 'wait_syscall "$kpid" sleep >/dev/null'
	fi
	killed_ok "b)"
	if [ "$AG_STORE" = postgresql ]; then
		printf 'ROLLBACK;\n\\q\n' >&"${LOCKER[1]}"
	else
		printf 'release\n' >&"${LOCKER[1]}"
	fi
	wait "$LOCKER_PID" 2>/dev/null
	ag_expect_eq "b) the state is exactly as before" "$dump0" "$(ag_sql_dump)"
	ag_run_token refresh <<<"$rt1"
	ag_expect_eq "a) and b): the token was not used up: it refreshes now (exit 0)" 0 "$AG_RC"
	rt2=$(ag_jget "$AG_JSON" refresh_token)

	ag_say "c) killed after its commit, while writing the answer"
	used0=$(ag_sql 'SELECT count(*) FROM refresh_token WHERE used_at IS NOT NULL;')
	rm -f "$AG_TMP/kout"
	mkfifo "$AG_TMP/kout"
	exec 8<>"$AG_TMP/kout"
	# fill the pipe, so that the helper's answer cannot be written
	fill_pipe "$AG_TMP/kout"
	printf '%s\n' "$rt2" >"$AG_TMP/kin"
	start_refresh "$AG_TMP/kin" "$AG_TMP/kout"
	ag_expect_eq "c) the helper blocks in write(1) with its answer" write1 "$(wait_syscall "$kpid" write1)"
	killed_ok "c)"
	exec 8>&-
	ag_expect_eq "c) the token was used up by the commit (one more used token)" $((used0 + 1)) \
		"$(ag_sql 'SELECT count(*) FROM refresh_token WHERE used_at IS NOT NULL;')"
	ag_expect_eq "c) the state is consistent (integrity check, foreign keys)" "ok" \
		"$(ag_sql_integrity)"
	ag_run_token refresh <<<"$rt2"
	ag_expect_eq "c) the client's retry within refresh_grace gets a new token (exit 0)" 0 "$AG_RC"
	ag_expect_log "c) ... logged as refresh_retried" 'event=refresh_retried sub=kim'
	ag_run_token refresh <<<"$rt1"
	ag_expect_eq "c) the older token again: reused (exit 1), the family ends" "1 reused" \
		"$AG_RC $(ag_jget "$AG_JSON" reason)"

	ag_say "d) the same kill without a grace period"
	ag_conf kill0 "token_keys_dir = $AG_TMP/tk" "token_issuer = https://issuer.example" \
		"token_audience = api.example" "refresh_grace = 0"
	ag_run_token issue --sub kurt --refresh </dev/null
	rt3=$(ag_jget "$AG_JSON" refresh_token)
	rm -f "$AG_TMP/kout"
	mkfifo "$AG_TMP/kout"
	exec 8<>"$AG_TMP/kout"
	fill_pipe "$AG_TMP/kout"
	printf '%s\n' "$rt3" >"$AG_TMP/kin"
	start_refresh "$AG_TMP/kin" "$AG_TMP/kout"
	ag_expect_eq "d) the helper blocks in write(1) with its answer" write1 "$(wait_syscall "$kpid" write1)"
	killed_ok "d)"
	exec 8>&-
	ag_run_token refresh <<<"$rt3"
	ag_expect_eq "d) the retry is refused as reused (exit 1): fail closed, the user logs in again" \
		"1 reused" "$AG_RC $(ag_jget "$AG_JSON" reason)"
	ag_expect_eq "d) kurt's family is revoked" 1 \
		"$(ag_sql "SELECT revoked FROM refresh_family WHERE subject = 'kurt';")"
	ag_expect_eq "nothing on the killed helpers' stderr" "" "$(cat "$AG_TMP/kill.err" 2>/dev/null)"
fi

# ============================================================ summary
ours=$(tail -n +"$((log_lines_before_oom + 1))" "$AG_LOG" |
	grep -E '^<[0-9]+> [^ ]+: pam_authguard\(|^<[0-9]+> authguard-' || true)
if printf '%s' "$ours" | LC_ALL=C grep -q '[[:cntrl:]]'; then
	ag_fail "rows 9-11: no raw control characters in this project's log lines" \
		"$(printf '%s' "$ours" | LC_ALL=C grep '[[:cntrl:]]' | head -n 2 | cut -c1-200)"
else
	ag_pass "rows 9-11: no raw control characters in this project's log lines"
fi
if [ ${#SKIPPED[@]} -gt 0 ]; then
	ag_say "rows skipped here (${#SKIPPED[@]}):"
	for s in "${SKIPPED[@]}"; do ag_say "  $s"; done
fi
ag_done
