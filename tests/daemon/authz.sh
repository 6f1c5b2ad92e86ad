#!/bin/bash
# authguardd's authorization by peer credentials (lib/peer_policy.h,
# authguardd(8) WHO MAY DO WHAT), with processes that really run under
# different uids (setpriv) and send raw request lines over the socket:
#
#   root                         every PAM operation for any account, every
#                                web operation, daemon_status;
#   www, in the web group        every web operation (as a supplementary
#                                group, and as its primary group); no PAM
#                                operation for another account; no status;
#   alice's own process          every PAM operation for alice (her rhost
#                                ignored, her session recorded under her
#                                own pid); none for bob -- she can neither
#                                record nor clear bob's failures, nor close
#                                bob's session; no web operation, no status;
#   bob's own process            the same, mirrored;
#   nobody, a uid without name   nothing for alice or bob, no web, no status.
#
# Every refusal is {"error":"forbidden",...,"status":2}, leaves the state
# exactly as it was (every row of every table compared), and is logged
# event=daemon_forbidden with the caller's uid and the reason.
#
# The daemon resolves the callers' uids and its web group through
# nss_wrapper files (tests/daemon/lib.sh), the same numbers setpriv gives
# the callers.  Needs root (to take other uids).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init
. "$top_srcdir/tests/daemon/lib.sh"

[ "$(id -u)" = 0 ] || ag_skip "needs root (the callers run under other uids)"
command -v setpriv >/dev/null 2>&1 || ag_skip "setpriv (util-linux) is not installed"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 (the command) is not installed"

AGD_NSS=1
ag_conf authz "daemon_user = root" "daemon_web_group = agweb" "delay_base = 0" \
	"token_keys_dir = $AG_TMP/tkeys" "token_issuer = https://auth.example.test" \
	"token_audience = api.example.test" "webhook_secret_file = $AG_TMP/webhook.secret"
ag_run_ctl keygen
[ "$AG_RC" = 0 ] || ag_bail "authguard-ctl keygen: $AG_OUT"
printf 'whsec_%s\n' "$(head -c 24 /dev/urandom | base64)" >"$AG_TMP/webhook.secret"
chmod 600 "$AG_TMP/webhook.secret"
agd_start authz

# as IDENTITY: the command prefix that runs a process as that identity.
as() {
	case $1 in
	root) as_cmd=() ;;
	www) as_cmd=(setpriv --reuid=5003 --regid=5003 --groups=5100 --) ;;
	www-primary) as_cmd=(setpriv --reuid=5003 --regid=5100 --clear-groups --) ;;
	alice) as_cmd=(setpriv --reuid=5001 --regid=5001 --clear-groups --) ;;
	bob) as_cmd=(setpriv --reuid=5002 --regid=5002 --clear-groups --) ;;
	nobody) as_cmd=(setpriv --reuid=65534 --regid=65534 --clear-groups --) ;;
	noname) as_cmd=(setpriv --reuid=5999 --regid=5999 --clear-groups --) ;;
	*) ag_bail "no identity $1" ;;
	esac
}
uid_of() {
	case $1 in
	root) echo 0 ;; www | www-primary) echo 5003 ;; alice) echo 5001 ;; bob) echo 5002 ;;
	nobody) echo 65534 ;; noname) echo 5999 ;;
	esac
}

# The PAM operations for USER, in the order a login makes them, with the
# attempt and session numbers taken from the answers before them.
pam_requests() {
	cat <<-EOF2
	{"op":"pam_check_user","user":"$1"}
	{"op":"pam_begin","user":"$1","rhost":"198.51.100.7","service":"authz"}
	{"op":"pam_fail","user":"$1","rhost":"198.51.100.7","service":"authz","attempt":"@attempt@"}
	{"op":"pam_begin","user":"$1","service":"authz"}
	{"op":"pam_release","user":"$1","service":"authz","attempt":"@attempt@","reason":"conversation"}
	{"op":"pam_account","user":"$1","service":"authz"}
	{"op":"pam_mfa_status","user":"$1"}
	{"op":"pam_mfa_verify","user":"$1","code":"000000"}
	{"op":"pam_session_open","user":"$1","service":"authz","tty":"pts/9","pid":1,"boot_id":"0b0e7a4e-1111-2222-3333-444455556666","host":"authz-host","started":$AG_NOW}
	{"op":"pam_session_close","user":"$1","id":"@id@"}
	{"op":"pam_begin","user":"$1","service":"authz"}
	{"op":"pam_succeed","user":"$1","service":"authz","attempt":"@attempt@"}
	EOF2
}
# A failed attempt that stays recorded (begin, fail).
pam_failure() {
	cat <<-EOF2
	{"op":"pam_begin","user":"$1","rhost":"198.51.100.7","service":"authz"}
	{"op":"pam_fail","user":"$1","rhost":"198.51.100.7","service":"authz","attempt":"@attempt@"}
	EOF2
}
# Settling and clearing another's attempts, with real attempt numbers.
pam_clear() {
	cat <<-EOF2
	{"op":"pam_succeed","user":"$1","service":"authz","attempt":"@attempt@"}
	{"op":"pam_release","user":"$1","service":"authz","attempt":"@attempt@","reason":"conversation"}
	{"op":"pam_fail","user":"$1","service":"authz","attempt":"@attempt@"}
	{"op":"pam_session_close","user":"$1","id":"@id@"}
	EOF2
}
# Every web operation, each with what it needs from the answers before.
web_requests() {
	cat <<-'EOF2'
	{"op":"jwks","id":"w1"}
	{"op":"guard_check","subject":"carol@example.com","ip":"203.0.113.5"}
	{"op":"guard_failure","subject":"carol@example.com","ip":"203.0.113.5"}
	{"op":"guard_success","subject":"dave@example.com","ip":"203.0.113.6"}
	{"op":"mfa_verify","user":"carol@example.com","code":"000000"}
	{"op":"issue","sub":"carol","refresh":true}
	{"op":"verify","token":"@token@"}
	{"op":"refresh","refresh_token":"@refresh_token@"}
	{"op":"revoke","jti":"@jti@"}
	{"op":"session_create","user":"carol","user_agent":"authz-test/1"}
	{"op":"session_check","session":"@session@","user_agent":"authz-test/1"}
	{"op":"session_rotate","session":"@session@"}
	{"op":"session_list","user":"carol"}
	{"op":"logout","session":"@session@"}
	{"op":"session_create","user":"carol","user_agent":"authz-test/1"}
	{"op":"session_end","user":"carol"}
	{"op":"webhook_verify","headers":{"webhook-id":"msg_1","webhook-timestamp":"1700000000","webhook-signature":"v1,AAAA"},"body":"{}"}
	{"op":"webhook_receive","headers":{"webhook-id":"msg_1","webhook-timestamp":"1700000000","webhook-signature":"v1,AAAA"},"body":"{}"}
	EOF2
}
status_request() { echo '{"op":"daemon_status"}'; }

# send IDENTITY NAME: stdin's requests as IDENTITY on one connection;
# answers in $AG_TMP/NAME.out.  AGD_SEEN (optional) gives the values of
# the placeholders.
send() {
	as "$1"
	agd_client ${as_cmd[@]+"${as_cmd[@]}"} -- lines >"$AG_TMP/$2.out" 2>"$AG_TMP/$2.err"
}

# count_answers FILE PYTHON-CONDITION: answers (as "a") matching it.
count_answers() {
	ag_python -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    a = json.loads(l)
    if eval(sys.argv[2]):
        n += 1
print(n)' "$1" "$2"
}

# allowed IDENTITY WHAT NAME: every answer was given (none forbidden),
# and every one has status 0 except those listed in NONZERO (ops whose
# answer is a refusal or error on its own account: a wrong code, a
# webhook with a bad signature).
allowed() {
	local id=$1 what=$2 name=$3 n total bad
	total=$(grep -c . "$AG_TMP/$name.in")
	n=$(grep -c . "$AG_TMP/$name.out")
	bad=$(count_answers "$AG_TMP/$name.out" 'a.get("error") == "forbidden"')
	if [ "$n" = "$total" ] && [ "$bad" = 0 ]; then
		ag_pass "$id: $what: all $total allowed"
	else
		ag_fail "$id: $what: all $total allowed" "answers: $n, forbidden: $bad" \
			"$(head -c 600 "$AG_TMP/$name.out")" "$(head -c 300 "$AG_TMP/$name.err")"
	fi
}

# refused IDENTITY WHAT NAME REASON: every answer forbidden (status 2)
# with REASON, the state unchanged, each refusal logged with the uid and
# the reason.
refused() {
	local id=$1 what=$2 name=$3 reason=$4 n total bad logged uid
	uid=$(uid_of "$id")
	total=$(grep -c . "$AG_TMP/$name.in")
	n=$(grep -c . "$AG_TMP/$name.out")
	bad=$(ag_python -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if not (lambda a: a.get("error") == "forbidden"
    and a.get("status") == 2 and a.get("message") == sys.argv[2])(json.loads(l))))' \
		"$AG_TMP/$name.out" "$reason")
	if [ "$n" = "$total" ] && [ "$bad" = 0 ]; then
		ag_pass "$id: $what: all $total refused ($reason)"
	else
		ag_fail "$id: $what: all $total refused ($reason)" "answers: $n, not refused: $bad" \
			"$(head -c 600 "$AG_TMP/$name.out")" "$(head -c 300 "$AG_TMP/$name.err")"
	fi
	logged=$(ag_log_last | grep -c "event=daemon_forbidden .*uid=$uid .*reason=$reason")
	ag_expect_eq "$id: $what: each refusal logged with the uid and the reason" "$total" "$logged"
}

# try IDENTITY WHAT NAME allowed|refused [REASON]: stdin's requests as
# IDENTITY, judged; a refused batch must leave every row as it was.
try() {
	local id=$1 what=$2 name=$3 verdict=$4 before after
	cat >"$AG_TMP/$name.in"
	before=$(ag_sql_dump)
	AG_LOG_MARK=$(ag_log_lines)
	send "$id" "$name" <"$AG_TMP/$name.in"
	# the log capture appends from the daemon's workers: let it land
	sleep 0.1
	if [ "$verdict" = allowed ]; then
		allowed "$id" "$what" "$name"
	else
		refused "$id" "$what" "$name" "$5"
		after=$(ag_sql_dump)
		ag_expect_eq "$id: $what: the state is unchanged" "$before" "$after"
	fi
}

field() { ag_python -c '
import json, sys
v = None
for l in open(sys.argv[1]):
    a = json.loads(l)
    if sys.argv[2] in a:
        v = a[sys.argv[2]]
print(json.dumps(v) if not isinstance(v, str) else v)' "$AG_TMP/$1.out" "$2"; }
nth() { sed -n "$2p" "$AG_TMP/$1.out"; }

FOREIGN="a PAM operation for another user"
NOWEB="not in the web group"
NOTROOT="not root"

# ---------------------------------------------------------------- root
ag_say "root: the PAM operations for alice and bob, the web operations, the status"
try root "PAM operations for alice" root-pam-alice allowed < <(pam_requests alice)
try root "PAM operations for bob" root-pam-bob allowed < <(pam_requests bob)
ag_expect_eq "root: alice's failure counted against the host" 1 \
	"$(ag_jget "$(nth root-pam-alice 3)" host_failures)"
AGD_SEEN_OUT=$AG_TMP/web.seen
export AGD_SEEN_OUT
try root "web operations" root-web allowed < <(web_requests)
unset AGD_SEEN_OUT
ag_expect_eq "root: an access token was issued and verified" 0 \
	"$(ag_jget "$(nth root-web 7)" status)"
ag_expect_eq "root: a web session was created and checked" 0 \
	"$(ag_jget "$(nth root-web 11)" status)"
try root "daemon_status" root-status allowed < <(status_request)
ag_expect_eq "root: the status answers" 0 "$(ag_jget "$(nth root-status 1)" status)"

# (a live process of this boot and host: the daemon prunes rows of
# processes that are gone when it opens the next session)
BOOT_ID=$(cat /proc/sys/kernel/random/boot_id)
HOST=$(uname -n | cut -c1-63)
# State the others then try to touch: a failure of bob's that stays
# recorded, a session of bob's that stays open, live web credentials.
try root "a failed attempt of bob's" root-bob-fail allowed < <(pam_failure bob)
BOB_ATTEMPT=$(field root-bob-fail attempt)
ag_expect_eq "bob has one failure on record" 1 "$(field root-bob-fail failures)"
try root "a session of bob's" root-bob-session allowed \
	<<<"{\"op\":\"pam_session_open\",\"user\":\"bob\",\"service\":\"authz\",\"pid\":$$,\"boot_id\":\"$BOOT_ID\",\"host\":\"$HOST\",\"started\":$AG_NOW}"
BOB_SESSION=$(field root-bob-session id)
export AGD_SEEN_OUT=$AG_TMP/live.seen
try root "live credentials for erin" root-live allowed <<'EOF2'
{"op":"issue","sub":"erin","refresh":true}
{"op":"session_create","user":"erin","user_agent":"authz-test/1"}
EOF2
unset AGD_SEEN_OUT
SEEN_BOB="{\"attempt\":$BOB_ATTEMPT,\"id\":$BOB_SESSION}"
SEEN_ALICE="{\"attempt\":1,\"id\":1}"
LIVE=$(cat "$AG_TMP/live.seen")

# ---------------------------------------------------------------- alice, bob
for pair in alice:bob bob:alice; do
	me=${pair%%:*}
	other=${pair#*:}
	ag_say "$me's own process"
	try "$me" "every PAM operation for $me" "$me-pam-self" allowed < <(pam_requests "$me")
	ag_expect_eq "$me: each PAM operation for $me answered status 0" 0 \
		"$(count_answers "$AG_TMP/$me-pam-self.out" 'a.get("status") != 0 and a.get("result") is None')"
	ag_expect_eq "$me: her rhost is ignored (no host failure counted)" 0 \
		"$(ag_jget "$(nth "$me-pam-self" 3)" host_failures)"
	if [ "$other" = bob ]; then
		AGD_SEEN=$SEEN_BOB
	else
		AGD_SEEN=$SEEN_ALICE
	fi
	export AGD_SEEN
	try "$me" "every PAM operation for $other" "$me-pam-$other" refused "$FOREIGN" < <(pam_requests "$other")
	try "$me" "recording a failure of $other's" "$me-fail-$other" refused "$FOREIGN" < <(pam_failure "$other")
	try "$me" "clearing or settling $other's attempts, closing $other's session" \
		"$me-clear-$other" refused "$FOREIGN" < <(pam_clear "$other")
	AGD_SEEN=$LIVE
	try "$me" "every web operation" "$me-web" refused "$NOWEB" < <(web_requests)
	unset AGD_SEEN
	try "$me" "daemon_status" "$me-status" refused "$NOTROOT" < <(status_request)
	if [ "$me" = alice ]; then
		ag_say "what alice could not touch is still there"
		try root "bob's account" root-bob-account allowed \
			<<<'{"op":"pam_account","user":"bob","service":"authz"}'
		ag_expect_eq "bob still has his one failure" 1 "$(field root-bob-account failures)"
		ag_expect_eq "bob's session is still open" 1 \
			"$(ag_sql "SELECT count(*) FROM pam_session WHERE id = $BOB_SESSION AND user = 'bob'")"
	fi
done

ag_say "a session alice opens is recorded under her own process, not the pid she names"
try alice "open a session" alice-session allowed \
	<<<"{\"op\":\"pam_session_open\",\"user\":\"alice\",\"service\":\"authz\",\"pid\":1,\"boot_id\":\"0b0e7a4e-1111-2222-3333-444455556666\",\"host\":\"authz-host\",\"started\":$AG_NOW}"
ALICE_SESSION=$(field alice-session id)
ag_expect_eq "alice's session row does not carry pid 1" 0 \
	"$(ag_sql "SELECT count(*) FROM pam_session WHERE id = $ALICE_SESSION AND pid = 1")"
ag_say "alice names her own user and bob's session id"
echo "{\"op\":\"pam_session_close\",\"user\":\"alice\",\"id\":$BOB_SESSION}" >"$AG_TMP/x.in"
before=$(ag_sql_dump)
send alice alice-close-bob <"$AG_TMP/x.in"
ag_expect_eq "alice cannot close bob's session under her own name (state unchanged)" \
	"$before" "$(ag_sql_dump)"

# ---------------------------------------------------------------- the web group
for who in www www-primary; do
	ag_say "$who: in the web group ($([ $who = www ] && echo supplementary || echo primary))"
	try "$who" "every web operation" "$who-web" allowed < <(web_requests)
	AGD_SEEN=$SEEN_BOB
	export AGD_SEEN
	try "$who" "PAM operations for alice" "$who-pam-alice" refused "$FOREIGN" < <(pam_requests alice)
	try "$who" "recording a failure of bob's" "$who-fail-bob" refused "$FOREIGN" < <(pam_failure bob)
	try "$who" "clearing bob's attempts" "$who-clear-bob" refused "$FOREIGN" < <(pam_clear bob)
	unset AGD_SEEN
	try "$who" "daemon_status" "$who-status" refused "$NOTROOT" < <(status_request)
done
ag_expect_eq "www: its guard failure was recorded (status 0, carol's failures counted)" "0 yes" \
	"$(ag_jget "$(nth www-web 3)" status) $([ "$(ag_jget "$(nth www-web 3)" failures)" -ge 2 ] && echo yes)"

# ---------------------------------------------------------------- nobody
for who in nobody noname; do
	ag_say "$who: nothing"
	AGD_SEEN=$SEEN_BOB
	export AGD_SEEN
	try "$who" "PAM operations for alice" "$who-pam-alice" refused "$FOREIGN" < <(pam_requests alice)
	try "$who" "recording a failure of bob's" "$who-fail-bob" refused "$FOREIGN" < <(pam_failure bob)
	try "$who" "clearing bob's attempts" "$who-clear-bob" refused "$FOREIGN" < <(pam_clear bob)
	AGD_SEEN=$LIVE
	try "$who" "every web operation" "$who-web" refused "$NOWEB" < <(web_requests)
	unset AGD_SEEN
	try "$who" "daemon_status" "$who-status" refused "$NOTROOT" < <(status_request)
done
ag_say "a uid without a name cannot even name itself"
try noname "PAM operation for its uid as a name" noname-self refused "$FOREIGN" \
	<<<'{"op":"pam_begin","user":"5999","service":"authz"}'

agd_stop
ag_expect_eq "the daemon stops cleanly" 0 "$AGD_RC"
ag_done
