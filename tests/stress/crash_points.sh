#!/bin/bash
# Crash points without timing: tests/stress/crash_at.so SIGKILLs a program
# right after its Nth statement of the store (SQLite's sqlite3_step, or
# with AG_STORE=postgresql the Nth result libpq hands over: the server ran
# the statement, its transaction ends when the server sees the process
# gone).  For each operation below, N runs
# over every statement the operation executes (until a run is no longer
# killed), each time on fresh names, so a crash lands inside every
# transaction, right after every COMMIT and between every two
# transactions.  After each kill the state must hold what the operation
# promises, and the retry a client would make must finish the job:
#
#   pam       a wrong password (pamtester): once the password check ran,
#             the attempt is counted; never counted twice;
#   refresh   a rotation: the token is spent exactly when the state has
#             its successor, and a retry then says "reused";
#   reuse     a rotated token replayed: its family is never revoked
#             without its web session ending too (theft detection is all
#             or nothing);
#   confirm   an enrollment confirmation: enrolled only with all backup
#             codes; a retry of the same code completes it;
#   logout    session id + access + refresh token: a retried logout kills
#             all three;
#   webhook   Clerk session.revoked and user.deleted: a message id is never
#             recorded without its event applied, and the sender's retry
#             leaves the sessions (and families) over.
# The webhook part needs the openssl command (signatures); without it the
# test says so and runs the rest.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/stress/common.sh"
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool not installed (apt-get install oathtool)"
ag_init
st_init
CRASH_AT=$top_builddir/tests/stress/.libs/crash_at.so
WH_BIN=$top_builddir/helpers/authguard-webhook
[ -f "$CRASH_AT" ] || ag_bail "not built: $CRASH_AT (make check builds it)"
UA='Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'

mkdir -m 700 "$AG_TMP/whkeys"
WH_SECRET="whsec_$(head -c 24 /dev/urandom | base64 -w0)"
(umask 077 && printf '%s\n' "$WH_SECRET" >"$AG_TMP/whkeys/webhook.secret")
ag_setup cp "delay_base = 0" "deny = 100000" "host_deny = 10000000" \
	"token_keys_dir = $AG_TMP/tkeys" "token_issuer = https://auth.cp.test" \
	"token_audience = api.cp.test" "session_max = 0" \
	"webhook_secret_file = $AG_TMP/whkeys/webhook.secret" "webhook_tolerance = 5m"
out=$(ag_ctl keygen 2>&1) || ag_bail "authguard-ctl keygen failed: $out"
cat >"$AG_TMP/hook" <<EOF
#!/bin/bash
echo "\$PAM_USER" >>'$AG_TMP/reached'
EOF
chmod 755 "$AG_TMP/hook"
: >"$AG_TMP/reached"

# ------------------------------------------------------------- plumbing

# at N BIN ARGS... (stdin as given): a helper on AG_CONF that dies after
# its Nth statement; AT_KILLED 1 when it did, AT_RC, AT_OUT (stdout).
at() {
	local n=$1 bin=$2
	shift 2
	AG_PRELOAD_TEST=$CRASH_AT ag_preload
	AT_OUT=$(env LD_PRELOAD="$ag_preload" AG_CRASH_AT="$n" AG_SYSLOG_FILE="$AG_LOG" \
		AUTHGUARD_TEST_TIME="$AG_NOW" "$bin" --conf "$AG_CONF" "$@" 2>>"$AG_TMP/at.err")
	AT_RC=$?
	AT_KILLED=0
	[ "$AT_RC" = 137 ] && AT_KILLED=1
	return 0
}

# A JSON field of a helper's output (strings only).
jstr() { [[ $1 =~ \"$2\":\"([^\"]*)\" ]] && printf '%s' "${BASH_REMATCH[1]}"; }

VIOL=() # what went wrong, for the verdict of the operation
viol() { VIOL+=("N=$N: $*"); }

# A program that is still killed after this many statements never ends.
cap() { [ "$N" -le 2000 ] || { viol "still running after 2000 statements"; return 1; }; }

# verdict OPERATION: one check per operation: how many crash points, and
# that none broke what it promises.
verdict() {
	if [ ${#VIOL[@]} -eq 0 ]; then
		ag_pass "$1: $((N - 1)) crash points, each consistent, each retry completed"
	else
		ag_fail "$1: every crash point consistent, every retry completed" "${VIOL[@]:0:8}"
	fi
	VIOL=()
	ag_expect_true "$1: the last run was not killed (all its statements visited)" test "$N" -gt 1
}

# ------------------------------------------------------------- pam

ag_say "pam: a wrong password, killed after each statement"
AG_SVC=cp
for ((N = 1; ; N++)); do
	cap || break
	u=pam$N
	st_pam_lock
	st_pam_snapshot
	# In a subshell, whose stderr takes the shell's "Killed" notice.
	(AG_PRELOAD_TEST=$CRASH_AT AG_ENV=("AG_CRASH_AT=$N")
		st_spawn_pam "$u" "$AG_WRONG" "$N" "$AG_TMP/pam.out"
		st_reap
		echo "$ST_RC $ST_KILLED $ST_PID" >"$AG_TMP/pam.res") 2>/dev/null
	read -r ST_RC ST_KILLED pid <"$AG_TMP/pam.res"
	[ "$ST_KILLED" = 1 ] && st_pam_clean "$pid"
	st_pam_unlock
	read -r n pend < <(st_failures "$u")
	checked=$(grep -cx "$u" "$AG_TMP/reached")
	[ "$n" -le 1 ] || viol "$n failures for one attempt"
	[ "$checked" = 0 ] || [ "$n" = 1 ] || viol "the password check ran, but no failure is counted"
	[ "$ST_KILLED" = 1 ] || break
done
[ "$n $pend $ST_RC" = "1 0 1" ] || viol "the run that was not killed: exit $ST_RC, $n failures, $pend pending"
verdict pam

# ------------------------------------------------------------- refresh

ag_say "refresh: a rotation, killed after each statement"
for ((N = 1; ; N++)); do
	cap || break
	ag_run_token issue --sub rot$N --refresh </dev/null
	t=$(jstr "$AG_JSON" refresh_token)
	at "$N" "$AG_TOKEN_BIN" refresh <<<"$t"
	[ "$AT_KILLED" = 1 ] || break
	h=$(st_sha256 "$t")
	spent=$(st_sql "SELECT (SELECT CASE WHEN used_at IS NOT NULL THEN 1 ELSE 0 END
		FROM refresh_token WHERE hash = $(ag_sql_blob "$h")),
		(SELECT count(*) FROM refresh_token WHERE parent = $(ag_sql_blob "$h"));" | tr '|' ' ')
	[ "$spent" = "1 1" ] || [ "$spent" = "0 0" ] || viol "used, successors: $spent"
	ag_run_token refresh <<<"$t" # the client retries
	if [ "$spent" = "1 1" ]; then
		[ "$AG_RC $(jstr "$AG_JSON" reason)" = "1 reused" ] || viol "a spent token: exit $AG_RC $AG_JSON"
	else
		[ "$AG_RC" = 0 ] || viol "an unspent token refused: exit $AG_RC $AG_JSON"
	fi
done
[ "$AT_RC" = 0 ] || viol "the run that was not killed exited $AT_RC"
verdict refresh

# ------------------------------------------------------------- reuse

ag_say "reuse: a rotated token replayed, killed after each statement"
for ((N = 1; ; N++)); do
	cap || break
	ag_run_token session create --user reuse$N --user-agent "$UA" </dev/null
	sid=$(jstr "$AG_JSON" sid) sess=$(jstr "$AG_JSON" session)
	ag_run_token issue --sub reuse$N --sid "$sid" --refresh </dev/null
	t=$(jstr "$AG_JSON" refresh_token)
	ag_run_token refresh <<<"$t"
	[ "$AG_RC" = 0 ] || viol "the first rotation failed: $AG_RC"
	at "$N" "$AG_TOKEN_BIN" refresh <<<"$t"
	revoked=$(st_sql "SELECT revoked FROM refresh_family WHERE sid = '$sid';")
	ag_run_token session check --user-agent "$UA" <<<"$sess"
	[ "$revoked $AG_RC" = "1 1" ] || [ "$revoked $AG_RC" = "0 0" ] ||
		viol "family revoked: $revoked, session check exit $AG_RC (both or neither)"
	ag_run_token refresh <<<"$t" # the thief tries again
	ag_run_token session check --user-agent "$UA" <<<"$sess"
	[ "$AG_RC" = 1 ] || viol "after a second replay the session is still valid"
	[ "$AT_KILLED" = 1 ] || break
done
[ "$AT_RC $(jstr "$AT_OUT" reason)" = "1 reused" ] || viol "the run that was not killed: $AT_RC $AT_OUT"
verdict reuse

# ------------------------------------------------------------- confirm

ag_say "confirm: an enrollment confirmation, killed after each statement"
for ((N = 1; ; N++)); do
	cap || break
	ag_run_enroll --user mfa$N --json </dev/null
	code=$(oathtool --totp -b -N "@$AG_NOW" "$(jstr "$AG_JSON" secret)")
	at "$N" "$AG_ENROLL_BIN" --user "mfa$N" --confirm --json <<<"$code"
	ag_run_enroll --user "mfa$N" --status --json </dev/null
	if [[ $AG_JSON =~ \"enrolled\":true ]]; then
		[[ $AG_JSON =~ \"backup_codes_left\":10[,}] ]] || viol "enrolled without its 10 backup codes: $AG_JSON"
	else
		ag_run_enroll --user "mfa$N" --confirm --json <<<"$code" # the user retries
		[ "$AG_RC" = 0 ] || viol "the retried confirmation failed: $AG_RC $AG_OUT"
	fi
	[ "$AT_KILLED" = 1 ] || break
done
[ "$AT_RC" = 0 ] || viol "the run that was not killed exited $AT_RC"
verdict confirm

# ------------------------------------------------------------- logout

ag_say "logout: killed after each statement, then retried"
for ((N = 1; ; N++)); do
	cap || break
	ag_run_token session create --user out$N --user-agent "$UA" </dev/null
	sid=$(jstr "$AG_JSON" sid) sess=$(jstr "$AG_JSON" session)
	ag_run_token issue --sub out$N --sid "$sid" --refresh </dev/null
	acc=$(jstr "$AG_JSON" token) t=$(jstr "$AG_JSON" refresh_token)
	printf '%s\n%s\n%s\n' "$sess" "$acc" "$t" >"$AG_TMP/logout.in"
	at "$N" "$AG_TOKEN_BIN" logout <"$AG_TMP/logout.in"
	ag_run_token logout <"$AG_TMP/logout.in"
	[ "$AG_RC" = 0 ] || viol "the retried logout exited $AG_RC"
	ag_run_token session check --user-agent "$UA" <<<"$sess"
	r1=$AG_RC
	ag_run_token verify <<<"$acc"
	r2=$AG_RC
	ag_run_token refresh <<<"$t"
	[ "$r1 $r2 $AG_RC" = "1 1 1" ] || viol "after the retry: session $r1, access token $r2, refresh $AG_RC"
	[ "$AT_KILLED" = 1 ] || break
done
[ "$AT_RC" = 0 ] || viol "the run that was not killed exited $AT_RC"
verdict logout

# ------------------------------------------------------------- webhook

# webhook_msg ID TYPE DATA_ID: a signed Clerk message in $AG_TMP/wh.body,
# its headers in WH_H (Standard Webhooks: HMAC-SHA256 of id.timestamp.body).
webhook_msg() {
	local hex
	printf '{"data":{"id":"%s","object":"%s"},"object":"event","type":"%s"}' \
		"$3" "${2%%.*}" "$2" >"$AG_TMP/wh.body"
	hex=$(printf '%s' "${WH_SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
	WH_H=(--header "svix-id: $1" --header "svix-timestamp: $AG_NOW" --header "svix-signature: v1,$(
		{ printf '%s.%s.' "$1" "$AG_NOW"; cat "$AG_TMP/wh.body"; } |
			openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary | base64 -w0)")
}

if ! command -v openssl >/dev/null 2>&1; then
	ag_say "WEBHOOK CRASH POINTS NOT RUN: the openssl command is missing"
else
	ag_say "webhook: session.revoked and user.deleted, killed after each statement"
	for kind in session user; do
		for ((N = 1; ; N++)); do
			cap || break
			u=wh$kind$N
			ag_run_token session create --user "$u" --user-agent "$UA" --clerk-session "sess_$u" </dev/null
			sess=$(jstr "$AG_JSON" session)
			ag_run_token issue --sub "$u" --refresh </dev/null # a family without a session
			if [ $kind = session ]; then
				webhook_msg "msg_$u" session.revoked "sess_$u"
			else
				webhook_msg "msg_$u" user.deleted "$u"
			fi
			at "$N" "$WH_BIN" receive "${WH_H[@]}" <"$AG_TMP/wh.body"
			recorded=$(st_sql "SELECT count(*) FROM webhook_msg WHERE id = 'msg_$u';")
			ag_run_token session check --user-agent "$UA" <<<"$sess"
			[ "$recorded" = 0 ] || [ "$AG_RC" = 1 ] ||
				viol "$kind: the message is recorded, but its session is still valid"
			# The sender retries the same message.
			ag_helper "$WH_BIN" receive "${WH_H[@]}" <"$AG_TMP/wh.body" >/dev/null 2>>"$AG_TMP/at.err"
			rc=$?
			ag_run_token session check --user-agent "$UA" <<<"$sess"
			[ "$AG_RC" = 1 ] || viol "$kind: after the retry (exit $rc) the session is still valid"
			[ $kind = session ] || [ "$(st_sql "SELECT count(*) FROM refresh_family
				WHERE subject = '$u' AND revoked = 0;")" = 0 ] ||
				viol "user: after the retry a refresh family of the user is live"
			[ "$AT_KILLED" = 1 ] || break
		done
		[ "$AT_RC" = 0 ] || viol "the run that was not killed exited $AT_RC"
		verdict "webhook $kind"
	done
fi

st_expect_db_sane "after every crash point"
st_expect_no_sanitizer "no sanitizer report" "$AG_TMP/at.err" "$AG_TMP/pam.out"
ag_done
