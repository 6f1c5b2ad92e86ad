#!/bin/bash
# One person, one counter: web subjects are folded (web_subject_fold, on by
# default) before they are counted or used as keys -- Unicode NFKC + case
# folding, white space trimmed, the e-mail domain's trailing dot dropped --
# in every place a web subject is a key:
#
#  - authguard-token guard check|failure|success: after 10 failures for
#    carol@example.com, "Carol@example.com", "carol@example.com.",
#    " carol@example.com", the fullwidth "ｃarol@example.com" (and more)
#    are all refused; failures under mixed spellings count together; the
#    log keeps the spelling as given (escaped) and names the key;
#  - mfa verify: a locked account is locked under any spelling, and a
#    wrong code counts on the folded counter;
#  - web sessions (create, list, end --user, the session limit), token
#    subjects (issue's sub, revoke --user, issue --sid ownership) and the
#    webhook's user.deleted;
#  - input that is not UTF-8 or folds to nothing is a usage error (2) that
#    leaves the state file exactly as it was;
#  - with web_subject_fold = no every spelling counts apart, as before;
#  - PAM login names stay exact by default ("ALICE" and "alice" are two
#    counters); pam_user_fold = yes folds them too (and refuses a name that
#    is not UTF-8 before any password check).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 not installed (apt-get install sqlite3)"
command -v openssl >/dev/null 2>&1 || ag_skip "openssl (the command) not installed"
ag_init
WH_BIN=$top_builddir/helpers/authguard-webhook
[ -x "$WH_BIN" ] || ag_bail "helper not built: $WH_BIN (run make)"

ISS=https://auth.example.test
AUD=api.example.test
UA="Mozilla/5.0 (X11; Linux x86_64) fold-test"

# expect_json DESC FIELD=VALUE...: fields of the last helper's JSON output.
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
		ag_fail "$desc" "${bad[@]}" "exit: $AG_RC" "json: $(printf '%s' "$AG_JSON" | cut -c1-300)" \
			"stderr: $AG_OUT"
	fi
}

dump() { ag_sql_dump; }

# usage_unchanged DESC ARGS... [<INPUT]: authguard-token ARGS exits 2, says
# why on stderr, prints nothing on stdout (or, for the token commands, the
# JSON error "usage") and leaves the state as it was.
usage_unchanged() {
	local desc=$1 before after
	shift
	before=$(dump)
	ag_run_token "$@"
	after=$(dump)
	if [ "$AG_RC" = 2 ] && [ "$before" = "$after" ] && [ -n "$AG_OUT" ] &&
		{ [ -z "$AG_JSON" ] || [ "$(ag_jget "$AG_JSON" error)" = usage ]; }; then
		ag_pass "$desc: exit 2, the state unchanged ($AG_OUT)"
	else
		ag_fail "$desc: exit 2, nothing on stdout, a reason, the state unchanged" \
			"exit $AG_RC, stdout: $AG_JSON, stderr: $AG_OUT" \
			"state diff: $(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | head -n 4 | tr '\n' '|')"
	fi
}

# The spellings of carol@example.com a backend may pass on: each label,
# then the value.
SPELLINGS=(
	"capital first letter" 'Carol@example.com'
	"trailing dot of the domain" 'carol@example.com.'
	"leading space" ' carol@example.com'
	"fullwidth first letter (U+FF43)" $'\xef\xbd\x83arol@example.com'
	"all capitals" 'CAROL@EXAMPLE.COM'
	"ideographic space (U+3000) after" $'carol@example.com\xe3\x80\x80'
	"no-break space (U+00A0) before" $'\xc2\xa0carol@example.com'
	"fullwidth at sign (U+FF20)" $'carol\xef\xbc\xa0example.com'
	"tab and newline around" $'\tcarol@example.com\n'
)

# ------------------------------------------------------------- the guard

ag_conf fold "deny = 10" "delay_base = 0" "host_deny = 0" \
	"token_keys_dir = $AG_TMP/tkeys" "token_issuer = $ISS" "token_audience = $AUD" \
	"session_max = 2" "session_on_limit = refuse" \
	"webhook_secret_file = $AG_TMP/keys/webhook.secret"
out=$(ag_ctl keygen 2>&1) || ag_bail "authguard-ctl keygen failed: $out"
ip=198.51.100.80

ag_say "10 failures for carol@example.com lock every spelling"
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_run_token guard failure --subject carol@example.com --ip $ip
done
expect_json "10th failure for carol@example.com: locked" failures=10 retry_after=3600
ag_run_token guard check --subject carol@example.com --ip $ip
ag_expect_eq "carol@example.com itself: refused (exit 1)" 1 "$AG_RC"
for ((i = 0; i < ${#SPELLINGS[@]}; i += 2)); do
	label=${SPELLINGS[i]}
	ag_run_token guard check --subject "${SPELLINGS[i + 1]}" --ip $ip
	ag_expect_eq "$label: refused (exit 1)" 1 "$AG_RC"
	expect_json "$label: locked, the same 10 failures, no attempt counted" \
		allowed=false reason=locked failures=10 attempt='<missing>'
done
ag_expect_eq "one account subject in the state" 1 \
	"$(ag_sql "SELECT count(*) FROM subject WHERE kind = 1;")"
ag_expect_status "status carol@example.com: 10 failures, locked" carol@example.com -- \
	failures=10 locked=true

ag_say "the log keeps the spelling as given and names the key"
ag_run_token guard check --subject $'\xef\xbd\x83arol@example.com' --ip $ip
ag_expect_log "fullwidth: user= escaped as given, subject=carol@example.com" \
	'event=auth_refused user=\\xef\\xbd\\x83arol@example.com subject=carol@example.com rhost=198\.51\.100\.80 service=web reason=locked'
ag_run_token guard check --subject ' carol@example.com' --ip $ip
ag_expect_log "leading space: user=\\x20carol@example.com subject=carol@example.com" \
	'event=auth_refused user=\\x20carol@example.com subject=carol@example.com '
ag_run_token guard check --subject carol@example.com --ip $ip
ag_expect_no_log "the key itself: no subject= field" 'subject='

ag_say "failures under mixed spellings count together"
dave=(dave@example.com Dave@example.com dave@example.com. ' dave@example.com' \
	$'\xef\xbd\x84ave@example.com')
for i in 0 1 2 3 4 5 6 7 8; do
	ag_run_token guard check --subject "${dave[i % 5]}" --ip $ip
	ag_run_token guard failure --subject "${dave[i % 5]}" --ip $ip --attempt "$(ag_jget "$AG_JSON" attempt)"
done
expect_json "9 failures under 5 spellings: 9 on one counter, no lock" failures=9 locked_until=null
ag_run_token guard failure --subject 'DAVE@EXAMPLE.COM.' --ip $ip
expect_json "the 10th, in capitals with a dot: locked" failures=10 retry_after=3600
ag_expect_log "the lock is logged under the key" \
	'event=lock scope=account user=DAVE@EXAMPLE.COM. subject=dave@example.com '
ag_run_token guard check --subject dave@example.com --ip $ip
ag_expect_eq "dave@example.com: refused" 1 "$AG_RC"

ag_say "success under another spelling resets the one counter"
ag_run_token guard failure --subject erin@example.com --ip $ip
ag_run_token guard failure --subject Erin@Example.com --ip $ip
ag_run_token guard check --subject ' ERIN@example.com.' --ip $ip
ag_run_token guard success --subject ' ERIN@example.com.' --ip $ip --attempt "$(ag_jget "$AG_JSON" attempt)"
expect_json "success: allowed" allowed=true
ag_expect_log "success_reset cleared the 2 failures of erin@example.com" \
	'event=success_reset user=\\x20ERIN@example.com. subject=erin@example.com .*failures=2'
ag_expect_status "status erin@example.com: reset" erin@example.com -- failures=0

ag_say "input that cannot be folded is a usage error; the state is unchanged"
usage_unchanged "a subject with a 0xff byte" guard failure --subject $'carol\xff@example.com' --ip $ip
ag_expect_out "... says not valid UTF-8" 'not valid UTF-8'
usage_unchanged "an overlong '/' (C0 AF)" guard check --subject $'\xc0\xafadmin' --ip $ip
usage_unchanged "a UTF-16 surrogate" guard check --subject $'\xed\xa0\x80x' --ip $ip
usage_unchanged "only spaces" guard failure --subject '   ' --ip $ip
ag_expect_out "... says nothing is left" 'nothing left'
usage_unchanged "only U+3000 and a zero-width space" guard check --subject $'\xe3\x80\x80\xe2\x80\x8b'
usage_unchanged "mfa verify --user not UTF-8" mfa verify --user $'al\xffice' <<<123456
usage_unchanged "125 × U+FDFA: longer than 4096 bytes once folded" guard check \
	--subject "$(for i in $(seq 125); do printf '\xef\xb7\xba'; done)"
ag_expect_out "... says so" 'longer than 4096 bytes after folding'

# ------------------------------------------------------------- MFA

ag_say "mfa verify: the folded counter"
ag_run_token mfa verify --user 'Carol@Example.COM' <<<123456
ag_expect_eq "mfa verify for Carol@Example.COM while carol@example.com is locked: exit 1" 1 "$AG_RC"
expect_json "... reason locked" valid=false reason=locked
ag_run_token mfa verify --user ' FRANK@example.com.' --ip $ip <<<123456
ag_expect_eq "a wrong code for ' FRANK@example.com.': exit 1" 1 "$AG_RC"
expect_json "... counted as failure 1" valid=false failures=1
ag_expect_log "... on frank@example.com" \
	'event=auth_fail user=\\x20FRANK@example.com. subject=frank@example.com '
ag_run_token guard check --subject frank@example.com --ip $ip
expect_json "guard check for frank@example.com sees that failure (+ this attempt)" failures=2

# ------------------------------------------------------------- sessions

ag_say "web sessions: one user, whatever the spelling"
ag_run_token session create --user 'Gina@Example.com' --user-agent "$UA" </dev/null
ag_expect_eq "session create --user Gina@Example.com: exit 0" 0 "$AG_RC"
expect_json "... the session keeps the spelling given" user=Gina@Example.com
sid1=$(ag_jget "$AG_JSON" sid)
ag_run_token session create --user $'\xef\xbd\x87ina@example.com.' --user-agent "$UA" </dev/null
expect_json "a second under the fullwidth spelling (its own spelling kept)" \
	user=$'\xef\xbd\x87ina@example.com.'
ag_run_token session create --user ' GINA@EXAMPLE.COM' --user-agent "$UA" </dev/null
ag_expect_eq "a third under a third spelling: refused at session_max = 2 (exit 1)" 1 "$AG_RC"
ag_run_token session list --user 'gina@example.com.'
expect_json "session list --user gina@example.com. lists both, one user" user=gina@example.com \
	sessions.0.user=$'\xef\xbd\x87ina@example.com.' sessions.1.user=Gina@Example.com \
	sessions.2='<missing>'
ag_run_token issue --sub 'GINA@example.com' --sid "$sid1" </dev/null
ag_expect_eq "issue --sub GINA@example.com --sid (gina's session): exit 0" 0 "$AG_RC"
tok=$(ag_jget "$AG_JSON" token)
ag_run_token verify <<<"$tok"
expect_json "the token's sub is the spelling given (tied to gina's session by the key)" \
	valid=true claims.sub=GINA@example.com
ag_run_token issue --sub 'GINA@example.com' --refresh </dev/null
ag_expect_eq "issue --sub GINA@example.com --refresh: exit 0" 0 "$AG_RC"
ag_run_token session end --user $'Gina@Example.com\xe3\x80\x80' </dev/null
expect_json "session end --user under yet another spelling ends both, revokes the family" \
	sessions_ended=2 families_revoked=1
ag_run_token session list --user gina@example.com
expect_json "none left" sessions.0='<missing>'
usage_unchanged "session create --user not UTF-8" session create --user $'gi\xffna' --user-agent "$UA"
usage_unchanged "session list --user only spaces" session list --user '  '
usage_unchanged "session end --user not UTF-8" session end --user $'gi\xffna'

# ------------------------------------------------------------- tokens

ag_say "token subjects: revoke --user finds every spelling"
ag_run_token issue --sub 'Hugo@Example.com' --refresh </dev/null
ag_expect_eq "issue --sub Hugo@Example.com --refresh: exit 0" 0 "$AG_RC"
ag_run_token verify <<<"$(ag_jget "$AG_JSON" token)"
expect_json "sub is Hugo@Example.com, as given" claims.sub=Hugo@Example.com
ag_run_token issue --sub $'\xef\xbd\x88ugo@example.com.' --refresh </dev/null
ag_run_token revoke --user ' HUGO@EXAMPLE.COM' </dev/null
expect_json "revoke --user ' HUGO@EXAMPLE.COM': both families" revoked=true families=2
usage_unchanged "issue --sub not UTF-8" issue --sub $'hu\xffgo'
usage_unchanged "revoke --user not UTF-8" revoke --user $'hu\xffgo'
ag_run_token batch <<<'{"op":"revoke","user":"  ","id":1}'
ag_expect_eq "batch revoke with a user of spaces: the answer says usage (2)" 2 \
	"$(ag_jget "$AG_JSON" status)"

# ------------------------------------------------------------- webhook

ag_say "webhook user.deleted ends sessions under the folded user id"
SECRET=whsec_$(head -c 24 /dev/urandom | base64 -w0)
(umask 077 && printf '%s\n' "$SECRET" >"$AG_TMP/keys/webhook.secret")
ag_run_token session create --user user_2AbC --user-agent "$UA" </dev/null
expect_json "a session for the Clerk id user_2AbC (keyed user_2abc)" user=user_2AbC
printf '%s' '{"data":{"deleted":true,"id":"user_2AbC","object":"user"},"object":"event","type":"user.deleted"}' \
	>"$AG_TMP/deleted.json"
mid=msg_fold1
hex=$(printf '%s' "${SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
sig=v1,$({ printf '%s.%s.' "$mid" "$AG_NOW"; cat "$AG_TMP/deleted.json"; } |
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary | base64 -w0)
AG_LOG_MARK=$(ag_log_lines)
AG_JSON=$(ag_helper "$WH_BIN" receive --header "svix-id: $mid" --header "svix-timestamp: $AG_NOW" \
	--header "svix-signature: $sig" <"$AG_TMP/deleted.json" 2>"$AG_TMP/wh.err")
AG_RC=$?
AG_OUT=$(cat "$AG_TMP/wh.err")
ag_check_sanitizer "$AG_OUT" "authguard-webhook receive"
ag_expect_eq "user.deleted for user_2AbC accepted: exit 0" 0 "$AG_RC"
expect_json "... ended the session keyed user_2abc" sessions_ended=1
ag_expect_log "... logged with the id as sent" 'event=webhook_ok .*user=user_2AbC '

# ------------------------------------------------------------- folding off

ag_say "web_subject_fold = no: every spelling counts apart (case-sensitive backends)"
ag_conf nofold "deny = 10" "delay_base = 0" "host_deny = 0" "web_subject_fold = no"
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_run_token guard failure --subject carol@example.com --ip $ip
done
expect_json "10 failures for carol@example.com: locked" failures=10 retry_after=3600
for ((i = 0; i < ${#SPELLINGS[@]}; i += 2)); do
	label=${SPELLINGS[i]}
	ag_run_token guard check --subject "${SPELLINGS[i + 1]}" --ip $ip
	ag_expect_eq "$label: a counter of its own, allowed (exit 0)" 0 "$AG_RC"
	expect_json "$label: 1 failure (this attempt)" allowed=true failures=1
done
if ag_direct_only "a subject that is not UTF-8 is counted as it is" \
	"the daemon's requests are JSON text, as batch mode's: the helper refuses it (exit 2)"; then
	ag_run_token guard check --subject $'carol\xff@example.com' --ip $ip
	ag_expect_eq "a subject that is not UTF-8 is counted as it is (exit 0)" 0 "$AG_RC"
fi
ag_run_token session create --user 'Ivy@Example.com' --user-agent "$UA" </dev/null
expect_json "session create keeps the user as given" user=Ivy@Example.com

# ------------------------------------------------------------- PAM

ag_say "PAM login names are exact by default"
ag_setup pamexact "deny = 10" "delay_base = 0" "host_deny = 0"
AG_RHOST=192.0.2.120
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam alice "$AG_WRONG"
done
ag_expect_log "alice locked after 10 failures" 'event=lock scope=account user=alice '
ag_attempt "ALICE is another counter: its password is checked" ALICE "$AG_WRONG" 1 1
ag_expect_log "... failure 1 for ALICE, no subject=" 'event=auth_fail user=ALICE rhost=192\.0\.2\.120 service=pamexact failures=1 '
ag_attempt "a name that is not UTF-8 is checked and counted as it is" $'al\xffice' "$AG_WRONG" 1 1

ag_say "pam_user_fold = yes (a case-insensitive directory: SSSD, AD)"
ag_setup pamfold "deny = 10" "delay_base = 0" "host_deny = 0" "pam_user_fold = yes"
names=(alice ALICE Alice ' alice' $'\xef\xbd\x81lice')
for i in 0 1 2 3 4 5 6 7 8 9; do
	ag_pam "${names[i % 5]}" "$AG_WRONG"
done
ag_expect_log "the 10th failure, as fullwidth ａlice, locks alice" \
	'event=lock scope=account user=\\xef\\xbd\\x81lice subject=alice '
ag_attempt "ALICE: refused, password not checked" ALICE "$AG_RIGHT" 1 0
ag_attempt "alice: refused, password not checked" alice "$AG_RIGHT" 1 0
ag_attempt "Alice: account phase refused" Alice - 1 0 acct_mgmt
ag_attempt "a name that is not UTF-8: refused before the password check" $'al\xffice' "$AG_RIGHT" 1 0
# (op=preauth through the daemon: the name is the daemon's to judge, at
# its first request)
ag_expect_log "... event=error says why" 'event=error op=(auth|preauth) user=al\\xffice: not valid UTF-8; access denied'
ag_say "pam_user_fold as a module argument"
if ag_direct_only "pam_user_fold as a module argument" \
	"the daemon applies its own configuration, a module argument that changes policy does not reach it (authguardd(8))"; then
	ag_conf pamarg "deny = 10" "delay_base = 0" "host_deny = 0"
	ag_service pamarg "$AG_CONF" pam_user_fold
	AG_SVC=pamarg
	for i in 1 2 3 4 5 6 7 8 9 10; do
		ag_pam BOB "$AG_WRONG"
	done
	ag_attempt "bob after 10 failures as BOB: refused, not checked" bob "$AG_RIGHT" 1 0
fi

ag_expect_log_clean
ag_done
