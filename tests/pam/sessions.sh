#!/bin/bash
# Web sessions, secure logout and the PAM session limit, end to end through
# the real binaries (authguard-token session ... / logout, authguard-token
# issue/verify/refresh, authguard-ctl sessions) and the real module under
# pam_wrapper, with the clock moved through AUTHGUARD_TEST_TIME:
#
#  - create: JSON fields, the exact Set-Cookie header, the id stored only as
#    its SHA-256 (never in the database or the log);
#  - a stolen cookie replayed from another browser (another User-Agent) is
#    refused (fingerprint_mismatch, logged); by default the session then
#    dies for the rightful browser too; session_revoke_on_mismatch = no
#    keeps it;
#  - logout (session id + access token + refresh token on stdin): all three
#    rejected afterwards by check, verify and refresh; a second logout is
#    harmless; the clearing Set-Cookie and Clear-Site-Data headers;
#  - the per-user limit: the 6th session evicts the least recently used
#    one, or is refused (session_on_limit = refuse, reason limit);
#  - idle and absolute expiry; the sliding idle expiry written at most once
#    per session_touch (nothing written in between, checked in the
#    database);
#  - rotate: the old id dies, the new one works; refresh families follow
#    the session, an access token carrying the old sid is session_ended;
#  - cookie attributes (SameSite=Lax option, the cookie name's __Host-
#    prefix enforced by the configuration);
#  - hostile input (malformed ids, a 100 KiB line, ids in argv refused) with
#    the state unchanged; ids never in argv (/proc/PID/cmdline read while a
#    check waits on a fifo);
#  - authguard-ctl sessions: lists PAM and web sessions, ends web ones;
#  - PAM: the 6th concurrent open_session is refused (PAM_PERM_DENIED,
#    event=session_refused); a closed one frees its slot; a SIGKILLed
#    holder's row is stale and not counted; rows of another boot are not
#    counted; root is not limited unless even_deny_root.
#
# PAM sessions count only while the process that opened them is alive, so
# the PAM checks use tests/lib/pam_session_holder (open, hold until stdin
# closes, close) rather than pamtester, which exits at once.  At most 10
# holders are alive at any time (pam_wrapper allows about 62 wrapped
# processes machine-wide).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
command -v mkfifo >/dev/null 2>&1 || ag_skip "mkfifo not found"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 (the command-line shell) not found (apt-get install sqlite3)"
ag_init
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
HOLDER=$top_builddir/tests/lib/pam_session_holder
[ -x "$HOLDER" ] || ag_bail "not built: $HOLDER (make check builds it)"

ISS=https://auth.example.test
AUD=api.example.test
TKEYS=$AG_TMP/tkeys
UA_A='Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'
UA_B='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
CLEAR_SITE='Clear-Site-Data: "cookies", "storage"'
ALL_IDS=()  # every session id handed out: none may reach the database or the log
ALL_TOKENS=()

# ------------------------------------------------------------- helpers

# sx_conf NAME [LINE...]: ag_conf NAME with the shared token key directory,
# issuer and audience; the first call also creates the signing key.
SX_STATES=() # every state made, for the search for secrets at the end
sx_conf() {
	local name=$1 out
	shift
	ag_conf "$name" "token_keys_dir = $TKEYS" "token_issuer = $ISS" "token_audience = $AUD" "$@"
	SX_STATES+=("$AG_DB")
	if [ ! -d "$TKEYS" ]; then
		out=$(ag_ctl keygen 2>&1) || ag_bail "authguard-ctl keygen failed: $out"
	fi
}

# tk ARGS... <<<INPUT: authguard-token on AG_CONF (sets AG_RC, AG_JSON,
# AG_OUT and the log mark).
tk() { ag_run_token "$@"; }

# jf JSON KEY...: several fields on one line, space-separated, strings raw,
# anything else as compact JSON, "<missing>" when absent; one python start.
jf() {
	"$PY" -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("<invalid json>"); sys.exit(0)
out = []
for k in sys.argv[2:]:
    v = d
    for p in k.split("."):
        if isinstance(v, dict):
            v = v.get(p, "<missing>")
        elif isinstance(v, list) and p.isdigit() and int(p) < len(v):
            v = v[int(p)]
        else:
            v = "<missing>"
    out.append(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
print(" ".join(out))' "$@"
}

# expect_json DESC FIELD=VALUE...: fields of the last helper's JSON output.
expect_json() {
	local desc=$1 f k v got bad=()
	shift
	for f in "$@"; do
		k=${f%%=*}
		v=${f#*=}
		got=$(ag_jget "$AG_JSON" "$k")
		[ "$got" = "$v" ] || bad+=("$k: expected $(ag_show "$v"), got $(ag_show "$got")")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "${bad[@]}" "exit: $AG_RC" "json: $(printf '%s' "$AG_JSON" | cut -c1-500)" \
			"stderr: $AG_OUT"
	fi
}

# expect_result DESC RC [REASON]: exit status of the last helper and, when
# given, the "reason" of its JSON (for exit 2: REASON is matched against
# stderr).
expect_result() {
	local desc=$1 rc=$2 reason=${3:-} got=
	if [ -n "$reason" ] && [ "$rc" != 2 ]; then
		got=$(ag_jget "$AG_JSON" reason)
	fi
	if [ "$AG_RC" = "$rc" ] && { [ -z "$reason" ] || [ "$rc" = 2 ] || [ "$got" = "$reason" ]; } &&
		{ [ "$rc" != 2 ] || [ -z "$reason" ] || grep -qF -- "$reason" <<<"$AG_OUT"; }; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "expected exit $rc${reason:+, reason $reason}" \
			"got exit $AG_RC${got:+, reason $got}" \
			"json: $(printf '%s' "$AG_JSON" | cut -c1-300)" "stderr: $(printf '%s' "$AG_OUT" | cut -c1-300)"
	fi
}

# expect_dead DESC: the last helper rejected (exit 1) with a reason that says
# the credential is dead: revoked, session_ended, expired or unknown.
expect_dead() {
	local reason
	reason=$(ag_jget "$AG_JSON" reason)
	if [ "$AG_RC" = 1 ] && [[ $reason =~ ^(revoked|session_ended|expired|unknown)$ ]]; then
		ag_pass "$1 ($reason)"
	else
		ag_fail "$1" "expected exit 1 with reason revoked, session_ended, expired or unknown" \
			"got exit $AG_RC: $(printf '%s' "$AG_JSON" | cut -c1-200)"
	fi
}

# create USER UA [ARGS...]: session create; sets SID_ID (the secret id),
# SID (the public handle) and COOKIE (the Set-Cookie header).
SID_ID= SID= COOKIE=
create() {
	local user=$1 ua=$2
	shift 2
	tk session create --user "$user" --user-agent "$ua" "$@" </dev/null
	SID_ID= SID= COOKIE=
	[ "$AG_RC" = 0 ] || return 1
	read -r SID_ID SID COOKIE < <(jf "$AG_JSON" session sid set_cookie)
	ALL_IDS+=("$SID_ID")
	return 0
}

# check ID UA: session check with the id on stdin.
check() { tk session check --user-agent "$2" <<<"$1"; }

# check_as DESC ID UA RC [REASON]
check_as() {
	check "$2" "$3"
	expect_result "$1" "$4" "${5:-}"
}

# issue ARGS...: authguard-token issue; sets TOK and RT.
TOK= RT=
issue() {
	tk issue "$@" </dev/null
	TOK= RT=
	[ "$AG_RC" = 0 ] || return 1
	read -r TOK RT < <(jf "$AG_JSON" token refresh_token)
	[ "$RT" = "<missing>" ] && RT=
	ALL_TOKENS+=("$TOK")
	[ -n "$RT" ] && ALL_TOKENS+=("$RT")
	return 0
}

# claim TOKEN NAME: a claim of a JWT's payload (decoded by python, not us).
claim() {
	"$PY" -c '
import base64, json, sys
p = sys.argv[1].split(".")[1]
v = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))).get(sys.argv[2], "<missing>")
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# cookie ID MAXAGE [SAMESITE [NAME]]: the exact header the product must set.
cookie() {
	printf 'Set-Cookie: %s=%s; Path=/; Max-Age=%s; HttpOnly; Secure; SameSite=%s' \
		"${4:-__Host-ag_session}" "$1" "$2" "${3:-Strict}"
}

# sq SQL: a query on the current state ("user" quoted: a keyword in
# PostgreSQL).
sq() { ag_sql "$1"; }

# state_sum: a digest of the whole state (every table's rows).
state_sum() { ag_sql_dump | sha256sum | cut -c1-64; }

# sha256 of a string, hex upper case (as sqlite3's hex()).
sha_hex() { printf '%s' "$1" | sha256sum | cut -c1-64 | tr a-f A-F; }

# the public handle of an id: base64url(SHA-256(id)), computed by python.
handle_of() {
	"$PY" -c 'import base64, hashlib, sys
print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b"=").decode())' "$1"
}

ID_RE='^ags_[A-Za-z0-9_-]{43}$'
HANDLE_RE='^[A-Za-z0-9_-]{43}$'

# ============================================================= create
ag_say "create: fields, the cookie header, the id stored only as SHA-256"
sx_conf web
AG_NOW=$AG_T0
create alice "$UA_A"
ag_expect_eq "session create exits 0" 0 "$AG_RC"
ag_expect_true "the id is ags_ + 43 base64url characters (256 bits)" \
	grep -Eq -e "$ID_RE" <<<"$SID_ID"
ag_expect_true "the sid (public handle) is 43 base64url characters" grep -Eq -e "$HANDLE_RE" <<<"$SID"
ag_expect_eq "the sid is base64url(SHA-256(id)), not the id" "$(handle_of "$SID_ID")" "$SID"
expect_json "create: user, times (idle 30 min, lifetime 12 h by default), no eviction" \
	user=alice created=$AG_T0 last_seen=$AG_T0 idle_expires=$((AG_T0 + 1800)) \
	expires=$((AG_T0 + 43200)) evicted=0 clerk_session=null
ag_expect_eq "create: the exact Set-Cookie header (__Host-, Path=/, Max-Age = lifetime, HttpOnly, Secure, SameSite=Strict)" \
	"$(cookie "$SID_ID" 43200)" "$COOKIE"
ag_expect_true "the cookie has no Domain attribute" eval '! grep -qi "domain" <<<"$COOKIE"'
ag_expect_log "event=session_created logged with the handle" \
	"event=session_created user=alice sid=$SID"
A1=$SID_ID A1_SID=$SID
ag_expect_eq "the database holds SHA-256(id) as the key" "$(sha_hex "$A1")" \
	"$(sq "SELECT hex(id_hash) FROM web_session WHERE \"user\" = 'alice'")"
create alice "$UA_A"
ag_expect_true "a second session gets another id" test "$SID_ID" != "$A1"
A2=$SID_ID
check_as "check with the same browser: valid" "$A1" "$UA_A" 0
expect_json "check: user, sid, valid, and no Set-Cookie within session_touch" \
	valid=true user=alice sid="$A1_SID" set_cookie="<missing>" expires=$((AG_T0 + 43200))
check_as "check with a CRLF line ending (as a Windows client sends): valid" "$A1"$'\r' "$UA_A" 0
create bob "$UA_A" --clerk-session sess_2abcDEF
expect_json "create --clerk-session: the link is kept" clerk_session=sess_2abcDEF
tk session create --user alice </dev/null
expect_result "create without --user-agent: exit 2" 2 "--user-agent"
tk session create --user-agent "$UA_A" </dev/null
expect_result "create without --user: exit 2" 2
tk session create --user "" --user-agent "$UA_A" </dev/null
expect_result "create --user '': exit 2" 2 "--user"
tk session create --user "$(head -c 5000 /dev/zero | tr '\0' u)" --user-agent "$UA_A" </dev/null
expect_result "create --user of 5000 bytes: exit 2" 2 "--user"

ag_say "--user-agent-hash: the same 64 hex digits at create and check"
UAH=$(printf '%s' "$UA_A" | sha256sum | cut -c1-64)
tk session create --user hal --user-agent-hash "$UAH" </dev/null
ag_expect_eq "create --user-agent-hash HEX exits 0" 0 "$AG_RC"
H1=$(ag_jget "$AG_JSON" session)
ALL_IDS+=("$H1")
tk session check --user-agent-hash "$UAH" <<<"$H1"
expect_result "check --user-agent-hash with the same digest: valid" 0
tk session check --user-agent-hash "$(printf '%s' "$UA_B" | sha256sum | cut -c1-64)" <<<"$H1"
expect_result "check --user-agent-hash with another digest: fingerprint_mismatch" 1 fingerprint_mismatch
tk session check --user-agent-hash abc <<<"$A1"
expect_result "check --user-agent-hash abc: exit 2" 2 "--user-agent-hash"

# ============================================================= fingerprint
ag_say "a cookie replayed from another browser (User-Agent B)"
create alice "$UA_A"
S=$SID_ID S_SID=$SID
check_as "browser A: valid" "$S" "$UA_A" 0
check_as "browser B replays A's id: refused, reason fingerprint_mismatch" "$S" "$UA_B" 1 fingerprint_mismatch
expect_json "the refusal is {valid:false, reason}" valid=false
ag_expect_log "event=session_fingerprint_mismatch logged (user, handle, revoked=1)" \
	"event=session_fingerprint_mismatch user=alice sid=$S_SID revoked=1"
check_as "default session_revoke_on_mismatch: the session is dead, for browser A too" "$S" "$UA_A" 1 unknown
ag_expect_eq "its row is gone" 0 "$(sq "SELECT count(*) FROM web_session WHERE hex(id_hash) = '$(sha_hex "$S")'")"
check_as "browser A's other session is untouched" "$A1" "$UA_A" 0
tk session check --user-agent "$UA_A" --attr "en-GB" <<<"$A1"
expect_result "check with an extra --attr that create did not have: fingerprint_mismatch" 1 fingerprint_mismatch
create alice "$UA_A" --attr "en-GB"
tk session check --user-agent "$UA_A" --attr "en-GB" <<<"$SID_ID"
expect_result "create and check with the same User-Agent and --attr en-GB: valid" 0
check_as "the same User-Agent without the --attr: fingerprint_mismatch" "$SID_ID" "$UA_A" 1 fingerprint_mismatch

ag_say "session_revoke_on_mismatch = no"
sx_conf keep "session_revoke_on_mismatch = no"
create alice "$UA_A"
S=$SID_ID S_SID=$SID
check_as "browser B: refused, fingerprint_mismatch" "$S" "$UA_B" 1 fingerprint_mismatch
ag_expect_log "logged with revoked=0" "event=session_fingerprint_mismatch user=alice sid=$S_SID revoked=0"
check_as "the session survives for browser A" "$S" "$UA_A" 0
check_as "browser B is still refused" "$S" "$UA_B" 1 fingerprint_mismatch

# ============================================================= logout
ag_say "logout: session id + access token + refresh token on stdin"
sx_conf lo
AG_NOW=$AG_T0
create carol "$UA_A"
L=$SID_ID L_SID=$SID
issue --sub carol --sid "$L_SID" --refresh
ag_expect_eq "issue --sid HANDLE --refresh exits 0" 0 "$AG_RC"
AT=$TOK RTK=$RT
ag_expect_eq "the access token carries sid = the handle" "$L_SID" "$(claim "$AT" sid)"
tk verify <<<"$AT"
expect_result "before logout: the access token verifies" 0
printf '%s\n%s\n%s\n' "$L" "$AT" "$RTK" >"$AG_TMP/logout.in"
tk logout <"$AG_TMP/logout.in"
expect_result "logout exits 0" 0
expect_json "logout JSON: logged_out, one session ended, the family revoked, the access token denylisted" \
	logged_out=true sessions_ended=1 access_token_revoked=true
FAMS=$(ag_jget "$AG_JSON" families_revoked)
ag_expect_true "logout revoked at least one refresh family (got $FAMS)" test "$FAMS" -ge 1
expect_json "logout headers: the clearing cookie (same attributes, Max-Age=0) and Clear-Site-Data" \
	"headers.0=$(cookie "" 0)" "headers.1=$CLEAR_SITE" headers.2="<missing>"
ag_expect_eq "the clearing header, exactly" \
	'Set-Cookie: __Host-ag_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict' \
	"$(ag_jget "$AG_JSON" headers.0)"
ag_expect_log "event=logout logged" "event=logout sessions_ended=1"
check_as "after logout: the session id is rejected (unknown)" "$L" "$UA_A" 1 unknown
tk verify <<<"$AT"
expect_dead "after logout: the access token is rejected"
tk refresh <<<"$RTK"
expect_result "after logout: the refresh token is rejected (revoked)" 1 revoked
tk revoke <<<"$AT"
ag_expect_eq "revoke of the logged-out access token still answers (exit 0)" 0 "$AG_RC"
SUM=$(state_sum)
tk logout <"$AG_TMP/logout.in"
expect_result "a second logout is harmless: exit 0" 0
ag_expect_eq "...and changes nothing in the state" "$SUM" "$(state_sum)"
expect_json "second logout: nothing left to end, headers still given" logged_out=true sessions_ended=0 \
	"headers.1=$CLEAR_SITE"
check_as "after the second logout the id is still rejected" "$L" "$UA_A" 1 unknown
tk refresh <<<"$RTK"
expect_result "...and the refresh token" 1 revoked

ag_say "logout with the session id only: the session's tokens die with it"
create carol "$UA_A"
L=$SID_ID L_SID=$SID
issue --sub carol --sid "$L_SID" --refresh
AT=$TOK RTK=$RT
tk logout <<<"$L"
expect_json "logout (id only): session ended, its refresh family revoked" sessions_ended=1 \
	families_revoked=1 access_token_revoked=false
tk verify <<<"$AT"
expect_result "the access token tied to the session: session_ended" 1 session_ended
tk refresh <<<"$RTK"
expect_result "the refresh token of the session's family: revoked" 1 revoked
tk issue --sub carol --sid "$L_SID" </dev/null
expect_result "issue --sid of the ended session: session_ended" 1 session_ended
tk issue --sub carol --sid "not-a-handle" </dev/null
expect_result "issue --sid with something that is not a handle: exit 2" 2

ag_say "logout input: tokens first, blank lines, missing id"
create carol "$UA_A"
L=$SID_ID L_SID=$SID
issue --sub carol --sid "$L_SID" --refresh
AT=$TOK RTK=$RT
tk logout < <(printf '%s\n%s\n%s\n' "$RTK" "$AT" "$L")
expect_json "logout with the lines in another order: all three handled" sessions_ended=1 \
	access_token_revoked=true logged_out=true
check_as "...the session is gone" "$L" "$UA_A" 1 unknown
tk refresh <<<"$RTK"
expect_result "...the refresh token is revoked" 1 revoked
tk logout </dev/null
expect_result "logout with empty stdin: exit 2 (the session id is required)" 2 "session id is required"
issue --sub carol --refresh
tk logout <<<"$TOK"
expect_result "logout with only an access token: exit 2" 2 "session id is required"
create carol "$UA_A"
L=$SID_ID
SUM=$(state_sum)
tk logout < <(printf 'hello world\n%s\n' "$L")
expect_result "logout with a line that is no credential: exit 2" 2 "neither a session id nor a token"
ag_expect_eq "...and nothing changed (the id on the next line was not reached)" "$SUM" "$(state_sum)"
tk logout < <(head -c 102400 /dev/zero | tr '\0' a; printf '\n%s\n' "$L")
expect_result "logout with a 100 KiB line: exit 2" 2 "too long"
ag_expect_eq "...and nothing changed" "$SUM" "$(state_sum)"
check_as "the session is still valid" "$L" "$UA_A" 0

# ============================================================= limit
ag_say "limit: the 6th session evicts the least recently used"
sx_conf lim
AG_NOW=$AG_T0
declare -a D
for i in 1 2 3 4 5; do
	AG_NOW=$((AG_T0 + 100 * i))
	create dave "$UA_A"
	D[i]=$SID_ID
	DS[i]=$SID
done
ag_expect_eq "5 sessions for dave" 5 "$(sq "SELECT count(*) FROM web_session WHERE \"user\" = 'dave'")"
create erin "$UA_A"
ERIN=$SID_ID
AG_NOW=$((AG_T0 + 700))
check_as "dave's first (oldest) session is used at T+700 (beyond session_touch: last_seen moves)" \
	"${D[1]}" "$UA_A" 0
expect_json "...last_seen is now T+700" last_seen=$((AG_T0 + 700))
issue --sub dave --sid "${DS[2]}" --refresh
D2RT=$RT
AG_NOW=$((AG_T0 + 800))
create dave "$UA_A"
ag_expect_eq "the 6th session is created (exit 0)" 0 "$AG_RC"
D6=$SID_ID
expect_json "create reports one eviction" evicted=1
ag_expect_log "event=session_evicted logged" "event=session_evicted user=dave count=1"
check_as "the least recently used one (the 2nd, last seen T+200) is gone" "${D[2]}" "$UA_A" 1 unknown
tk refresh <<<"$D2RT"
expect_dead "the evicted session's refresh token is rejected"
check_as "the oldest by creation, used at T+700, survives" "${D[1]}" "$UA_A" 0
for i in 3 4 5; do
	check_as "session $i survives" "${D[i]}" "$UA_A" 0
done
check_as "the new one works" "$D6" "$UA_A" 0
check_as "another user's session is not counted nor evicted" "$ERIN" "$UA_A" 0
ag_expect_eq "still 5 rows for dave" 5 "$(sq "SELECT count(*) FROM web_session WHERE \"user\" = 'dave'")"
tk session list --user dave
ag_expect_eq "session list --user dave exits 0" 0 "$AG_RC"
ag_expect_eq "session list: 5 sessions" 5 "$("$PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])["sessions"]))' "$AG_JSON")"
ag_expect_true "session list shows handles, never ids" eval '! grep -q "ags_" <<<"$AG_JSON"'
ag_expect_true "session list names the 6th session's handle" grep -qF -e "$SID" <<<"$AG_JSON"

ag_say "limit: session_on_limit = refuse"
sx_conf refuse "session_on_limit = refuse"
AG_NOW=$AG_T0
for i in 1 2 3 4 5; do
	create fay "$UA_A"
	F[i]=$SID_ID
done
SUM=$(state_sum)
tk session create --user fay --user-agent "$UA_A" </dev/null
expect_result "the 6th session is refused: exit 1, reason limit" 1 limit
expect_json "refusal JSON" valid=false session="<missing>" set_cookie="<missing>"
ag_expect_log "event=session_refused logged" "event=session_refused user=fay max=5"
ag_expect_eq "nothing changed in the state" "$SUM" "$(state_sum)"
for i in 1 2 3 4 5; do
	check_as "fay's session $i still valid" "${F[i]}" "$UA_A" 0
done
tk session end <<<"${F[3]}"
expect_json "session end (id on stdin) ends one" sessions_ended=1
create fay "$UA_A"
ag_expect_eq "after ending one, a new session is allowed" 0 "$AG_RC"
AG_NOW=$((AG_T0 + 1800))
create fay "$UA_A"
ag_expect_eq "expired sessions do not count: after the idle timeout a new one is allowed" 0 "$AG_RC"
ag_expect_eq "...and the expired ones were removed" 1 "$(sq "SELECT count(*) FROM web_session WHERE \"user\" = 'fay'")"

ag_say "session end --user (log out everywhere), end --sid"
sx_conf ends
AG_NOW=$AG_T0
create gus "$UA_A"; G1=$SID_ID
issue --sub gus --sid "$SID" --refresh; GRT=$RT
create gus "$UA_B"; G2=$SID_ID; G2_SID=$SID
create hana "$UA_A"; HN=$SID_ID
tk session end --sid "$G2_SID" </dev/null
expect_json "session end --sid HANDLE ends that one (no family)" sessions_ended=1 families_revoked=0
create gus "$UA_A"; G4=$SID_ID G4_SID=$SID
issue --sub gus --sid "$G4_SID" --refresh; G4RT=$RT
# families_revoked counts every family this call revoked, those revoked
# together with the ended sessions included.
tk session end <<<"$G4"
expect_json "session end (id on stdin) of a session with a refresh family: reports it revoked" \
	sessions_ended=1 families_revoked=1
tk refresh <<<"$G4RT"
expect_result "...and the family is revoked" 1 revoked
check_as "...it is gone" "$G2" "$UA_B" 1 unknown
create gus "$UA_B"; G3=$SID_ID
tk session end --user gus </dev/null
expect_json "session end --user gus ends both remaining sessions and revokes gus's families" \
	sessions_ended=2 families_revoked=1
check_as "gus's sessions are gone" "$G1" "$UA_A" 1 unknown
check_as "(both)" "$G3" "$UA_B" 1 unknown
tk refresh <<<"$GRT"
expect_result "gus's refresh token is revoked" 1 revoked
check_as "hana is untouched" "$HN" "$UA_A" 0
tk session end --sid "ags_nothandle" </dev/null
expect_result "session end --sid with a non-handle: exit 2" 2

# ============================================================= expiry
ag_say "idle expiry and absolute expiry (session_idle 600, session_lifetime 3600, session_touch 60)"
sx_conf exp "session_idle = 600" "session_lifetime = 3600" "session_touch = 60"
AG_NOW=$AG_T0
create ivan "$UA_A"; X1=$SID_ID
create ivan "$UA_A"; X2=$SID_ID
expect_json "idle_expires = now + 600, expires = now + 3600" idle_expires=$((AG_T0 + 600)) \
	expires=$((AG_T0 + 3600))
ag_expect_eq "the cookie's Max-Age is the absolute lifetime" "$(cookie "$X2" 3600)" "$COOKIE"
AG_NOW=$((AG_T0 + 599))
check_as "idle 599 s: valid" "$X1" "$UA_A" 0
AG_NOW=$((AG_T0 + 600))
check_as "idle 600 s (= session_idle): expired" "$X2" "$UA_A" 1 expired
ag_expect_eq "the expired row is removed" 0 "$(sq "SELECT count(*) FROM web_session WHERE hex(id_hash) = '$(sha_hex "$X2")'")"
check_as "checked again: unknown" "$X2" "$UA_A" 1 unknown
# X1 kept alive by a check every 500 s until its absolute lifetime ends.
for t in 1000 1500 2000 2500 3000 3500; do
	AG_NOW=$((AG_T0 + t))
	check "$X1" "$UA_A"
	[ "$AG_RC" = 0 ] || break
done
ag_expect_eq "a session used every 500 s stays valid up to T+3500" "0 $((AG_T0 + 3500))" \
	"$AG_RC $(ag_jget "$AG_JSON" last_seen)"
expect_json "near the end, idle_expires is capped at the absolute expiry" idle_expires=$((AG_T0 + 3600)) \
	"set_cookie=$(cookie "$X1" 100)"
AG_NOW=$((AG_T0 + 3599))
check_as "T+3599: still valid" "$X1" "$UA_A" 0
AG_NOW=$((AG_T0 + 3600))
check_as "T+3600 (absolute lifetime), though used 100 s ago: expired" "$X1" "$UA_A" 1 expired
tk session rotate <<<"$X1"
expect_result "rotate of an expired (removed) session: unknown" 1 unknown
AG_NOW=$AG_T0
create ivan "$UA_A"
issue --sub ivan --sid "$SID" --refresh
XRT=$RT
AG_NOW=$((AG_T0 + 700))
tk refresh <<<"$XRT"
expect_dead "a refresh token of a session past its idle timeout: rejected"

ag_say "expired sessions of other users are purged"
AG_NOW=$AG_T0
for i in 1 2 3; do create jack "$UA_A"; done
AG_NOW=$((AG_T0 + 700))
create kim "$UA_A"
ag_expect_eq "a create after the idle timeout purged jack's expired sessions" 0 \
	"$(sq "SELECT count(*) FROM web_session WHERE \"user\" = 'jack'")"

# ============================================================= sliding refresh
ag_say "sliding refresh: written at most once per session_touch (300 s)"
sx_conf slide "session_touch = 300"
AG_NOW=$AG_T0
create lena "$UA_A"; SL=$SID_ID
ROW0=$(sq "SELECT last_seen, idle_expires FROM web_session")
# files_stamp: what changes with any write to the state (ag_sql_stamp).
files_stamp() { ag_sql_stamp; }
AG_NOW=$((AG_T0 + 1))
check "$SL" "$UA_A"
STAMP0=$(files_stamp)
AG_NOW=$((AG_T0 + 299))
check_as "check at T+299: valid" "$SL" "$UA_A" 0
STAMP1=$(files_stamp)
expect_json "within the interval: no Set-Cookie, expiry unchanged" set_cookie="<missing>" \
	last_seen=$AG_T0 idle_expires=$((AG_T0 + 1800))
for t in 50 150 298; do
	AG_NOW=$((AG_T0 + t))
	check "$SL" "$UA_A"
done
STAMP2=$(files_stamp)
ag_expect_eq "within the interval: nothing written (database and WAL untouched by 4 checks)" \
	"$STAMP0
$STAMP0" "$STAMP1
$STAMP2"
ag_expect_eq "within the interval: the row is unchanged" "$ROW0" \
	"$(sq "SELECT last_seen, idle_expires FROM web_session")"
AG_NOW=$((AG_T0 + 300))
check_as "check at T+300 (= session_touch): valid" "$SL" "$UA_A" 0
expect_json "the expiry moved: last_seen, idle_expires and a refreshed Set-Cookie (Max-Age = time left)" \
	last_seen=$((AG_T0 + 300)) idle_expires=$((AG_T0 + 2100)) "set_cookie=$(cookie "$SL" $((43200 - 300)))"
ag_expect_eq "the row moved" "$((AG_T0 + 300))|$((AG_T0 + 2100))" \
	"$(sq "SELECT last_seen, idle_expires FROM web_session")"
AG_NOW=$((AG_T0 + 599))
check_as "T+599 (299 s after the touch): valid, nothing written" "$SL" "$UA_A" 0
expect_json "no Set-Cookie" set_cookie="<missing>" last_seen=$((AG_T0 + 300))
AG_NOW=$((AG_T0 + 2099))
check_as "T+2099: valid thanks to the slide (beyond the original idle expiry T+1800)" "$SL" "$UA_A" 0
ag_expect_eq "...and moved again" "$((AG_T0 + 2099))" "$(sq "SELECT last_seen FROM web_session")"

ag_say "session_touch = 0: every check writes"
sx_conf touch0 "session_touch = 0"
AG_NOW=$AG_T0
create mia "$UA_A"; M0=$SID_ID
AG_NOW=$((AG_T0 + 1))
check_as "a check 1 s later" "$M0" "$UA_A" 0
expect_json "moves the expiry at once" last_seen=$((AG_T0 + 1)) "set_cookie=$(cookie "$M0" 43199)"

# ============================================================= rotate
ag_say "rotate: the old id dies, the new one works; what happens to the session's tokens"
sx_conf rot
AG_NOW=$AG_T0
create nina "$UA_A" --clerk-session sess_rot
R=$SID_ID R_SID=$SID
issue --sub nina --sid "$R_SID" --refresh
RAT=$TOK RRT=$RT
AG_NOW=$((AG_T0 + 120))
tk session rotate <<<"$R"
expect_result "rotate exits 0" 0
read -r N N_SID NCOOK < <(jf "$AG_JSON" session sid set_cookie)
ALL_IDS+=("$N")
ag_expect_true "rotate gives a new id" eval '[[ $N =~ $ID_RE ]] && [ "$N" != "$R" ]'
ag_expect_eq "and a new handle = base64url(SHA-256(new id))" "$(handle_of "$N")" "$N_SID"
expect_json "rotate keeps the user, the creation time, the absolute expiry and the Clerk link" \
	user=nina created=$AG_T0 expires=$((AG_T0 + 43200)) last_seen=$((AG_T0 + 120)) clerk_session=sess_rot
ag_expect_eq "rotate: the Set-Cookie for the new id, Max-Age = time left" \
	"$(cookie "$N" $((43200 - 120)))" "$NCOOK"
ag_expect_log "event=session_rotated logged with the new handle" "event=session_rotated user=nina sid=$N_SID"
check_as "the old id is dead" "$R" "$UA_A" 1 unknown
check_as "the new id works" "$N" "$UA_A" 0
# Observed and kept: rotation moves the session's refresh families to the new
# handle (so a refresh token keeps working and mints access tokens with the
# new sid), while an access token already issued carries the old sid, which
# no longer names a live session: it is rejected as session_ended and the
# client refreshes.
ag_expect_eq "rotate moved the refresh family to the new handle" "$N_SID" \
	"$(sq "SELECT sid FROM refresh_family ORDER BY id DESC LIMIT 1")"
tk verify <<<"$RAT"
expect_result "an access token carrying the OLD sid: rejected, session_ended" 1 session_ended
tk refresh <<<"$RRT"
expect_result "the refresh token issued before the rotation still works" 0
read -r NAT NRT < <(jf "$AG_JSON" token refresh_token)
ALL_TOKENS+=("$NAT" "$NRT")
ag_expect_eq "the refreshed access token carries the NEW sid" "$N_SID" "$(claim "$NAT" sid)"
tk verify <<<"$NAT"
expect_result "and verifies" 0
tk session rotate <<<"$R"
expect_result "rotating the old id again: unknown" 1 unknown
tk session rotate </dev/null
expect_result "rotate without an id on stdin: exit 2" 2
tk session rotate --user nina </dev/null
expect_result "rotate with arguments: exit 2 (usage)" 2
check_as "the new id keeps the fingerprint: browser B is refused" "$N" "$UA_B" 1 fingerprint_mismatch
check_as "(and the mismatch revoked it)" "$N" "$UA_A" 1 unknown
# A session that ends takes its refresh families with it (as logout, end and
# the webhooks do): otherwise the refresh token goes on minting access tokens
# for a session that no longer exists.
tk refresh <<<"$NRT"
expect_dead "a session revoked on a fingerprint mismatch takes its refresh tokens with it (refresh rejected)"

# ============================================================= cookies
ag_say "cookie attributes: SameSite=Lax, another __Host- name, names refused by the configuration"
sx_conf lax "session_samesite = lax"
create olga "$UA_A"
ag_expect_eq "session_samesite = lax: SameSite=Lax" "$(cookie "$SID_ID" 43200 Lax)" "$COOKIE"
tk logout <<<"$SID_ID"
ag_expect_eq "...and the clearing header too" "$(cookie "" 0 Lax)" "$(ag_jget "$AG_JSON" headers.0)"
sx_conf named "session_cookie = __Host-app.sid" "session_lifetime = 8h"
create olga "$UA_A"
ag_expect_eq "session_cookie = __Host-app.sid, session_lifetime = 8h" \
	"$(cookie "$SID_ID" 28800 Strict __Host-app.sid)" "$COOKIE"
tk logout <<<"$SID_ID"
ag_expect_eq "...and its clearing header" "$(cookie "" 0 Strict __Host-app.sid)" "$(ag_jget "$AG_JSON" headers.0)"

# bad_conf DESC LINE WHY: a configuration whose 4th line is LINE is refused
# with exit 2 naming FILE:4: KEY.
bad_conf() {
	local desc=$1 line=$2 why=$3 f=$AG_TMP/bad.conf key=${2%%[ =]*}
	{
		printf '# bad\n'
		printf 'state_file = %s\n' "$AG_TMP/web-state/state.db"
		printf 'secrets_key = %s\n' "$AG_TMP/keys/secrets.key"
		printf '%s\n' "$line"
	} >"$f"
	AG_JSON=$(AUTHGUARD_TEST_TIME=$AG_NOW "$AG_TOKEN_BIN" --conf "$f" session create --user x \
		--user-agent "$UA_A" </dev/null 2>"$AG_TMP/bad.err")
	AG_RC=$?
	AG_OUT=$(cat "$AG_TMP/bad.err")
	if [ "$AG_RC" = 2 ] && [ -z "$AG_JSON" ] && grep -qF -e "$f:4: $key: $why" <<<"$AG_OUT"; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "expected exit 2 and \"$f:4: $key: $why\" on stderr" \
			"got exit $AG_RC, stdout $(ag_show "$AG_JSON"), stderr: $AG_OUT"
	fi
}
bad_conf "session_cookie = ag_session (no __Host- prefix): exit 2 naming file:line:key" \
	"session_cookie = ag_session" "must start with __Host-"
bad_conf "session_cookie = __Secure-ag: refused" "session_cookie = __Secure-ag" "must start with __Host-"
bad_conf "session_cookie = __Host- (no name): refused" "session_cookie = __Host-" "must start with __Host-"
bad_conf "session_cookie = __Host-a;Domain=evil.test: refused" "session_cookie = __Host-a;Domain=evil.test" \
	"cookie names may use"
bad_conf "session_samesite = none: refused" "session_samesite = none" "must be strict or lax"
bad_conf "session_on_limit = drop: refused" "session_on_limit = drop" "must be evict or refuse"
bad_conf "session_idle = 59: out of range" "session_idle = 59" "duration out of range"
bad_conf "session_lifetime = 299: out of range" "session_lifetime = 299" "duration out of range"
bad_conf "session_touch = 3601: out of range" "session_touch = 3601" "duration out of range"
bad_conf "session_max = 1001: out of range" "session_max = 1001" "number out of range"
bad_conf "pam_session_max = -1: refused" "pam_session_max = -1" "not a whole number"
bad_conf "pam_session_max = 1001: out of range" "pam_session_max = 1001" "number out of range"
bad_conf "session_revoke_on_mismatch = maybe: refused" "session_revoke_on_mismatch = maybe" "not a boolean"
AG_CONF=$AG_TMP/web.conf AG_DB=$AG_TMP/web-state/state.db

# ============================================================= hostile input
ag_say "hostile input: malformed ids, long lines, ids in argv -- the state unchanged"
use_web() { AG_CONF=$AG_TMP/web.conf; AG_DB=$AG_TMP/web-state/state.db; }
use_web
AG_NOW=$AG_T0
create pia "$UA_A"
P=$SID_ID
SUM=$(state_sum)
LAST=${P: -1}
# The last of 43 characters carries 4 bits and 2 zero bits: only A, E, I,
# ... (values divisible by 4) keep the id canonical base64url.
case $LAST in A) ALT=E ;; *) ALT=A ;; esac
malformed=(
	"ags_"
	"${P}x"
	"${P:0:46}"
	"AGS_${P:4}"
	"ags-${P:4}"
	"${P:0:46}!"
	"${P:0:46}="
	" $P"
	"$P "
	"${P:0:20}%${P:21}"
	"$(printf 'ags_%s' "$(head -c 43 /dev/zero | tr '\0' '/')")"
	"eyJhbGciOiJub25lIn0.e30."
	"agr_${P:4}"
)
for m in "${malformed[@]}"; do
	for op in check rotate end; do
		case $op in
		check) tk session check --user-agent "$UA_A" <<<"$m" ;;
		*) tk session $op <<<"$m" ;;
		esac
		if [ "$AG_RC" = 1 ] && [ "$(ag_jget "$AG_JSON" reason)" = malformed ]; then
			:
		else
			ag_fail "session $op refuses the malformed id $(ag_show "$m") (exit 1, reason malformed)" \
				"got exit $AG_RC: $AG_JSON / $AG_OUT"
		fi
	done
done
ag_pass "${#malformed[@]} malformed ids: check, rotate and end each refuse with exit 1, reason malformed"
ag_expect_eq "...and the state is unchanged" "$SUM" "$(state_sum)"
check_as "a well-formed id of no session: unknown" "${P:0:46}$ALT" "$UA_A" 1 unknown
check_as "an id of 43 zeros (well-formed, no session): unknown" "ags_$(printf '%043d' 0)" "$UA_A" 1 unknown
for op in check rotate end; do
	{ head -c 102400 /dev/zero | tr '\0' a; printf '\n'; } >"$AG_TMP/long.in"
	case $op in
	check) tk session check --user-agent "$UA_A" <"$AG_TMP/long.in" ;;
	*) tk session $op <"$AG_TMP/long.in" ;;
	esac
	expect_result "session $op with a 100 KiB stdin line: exit 2" 2 "too long"
	printf '%s\0x\n' "$P" >"$AG_TMP/nul.in"
	case $op in
	check) tk session check --user-agent "$UA_A" <"$AG_TMP/nul.in" ;;
	*) tk session $op <"$AG_TMP/nul.in" ;;
	esac
	expect_result "session $op with a NUL byte after the id: exit 2" 2 "not text"
	case $op in
	check) tk session check --user-agent "$UA_A" </dev/null ;;
	*) tk session $op </dev/null ;;
	esac
	expect_result "session $op with nothing on stdin: exit 2" 2 "expected on stdin"
done
tk session check --user-agent "$UA_A" "$P" </dev/null
expect_result "session check with the id as an argument: refused (exit 2), never read from argv" 2
tk session end "$P" </dev/null
expect_result "session end with the id as an argument: exit 2" 2
tk session check --user-agent "$(head -c 102400 /dev/zero | tr '\0' a)" <<<"$P"
if [ "$AG_DAEMON" = 0 ]; then
	expect_result "a 100 KiB User-Agent (not this browser's): fingerprint_mismatch" 1 fingerprint_mismatch
else # the request line is over authguardd's 64 KiB limit (authguardd(8))
	expect_result "a 100 KiB User-Agent: over the daemon's line limit, refused (exit 2)" 2 \
		"request line too long"
fi
create pia "$UA_A"
P=$SID_ID
SUM=$(state_sum)
tk session check --user-agent "$UA_A" --attr 1 --attr 2 --attr 3 --attr 4 --attr 5 --attr 6 \
	--attr 7 --attr 8 --attr 9 <<<"$P"
expect_result "9 --attr: exit 2" 2 "--attr"
tk session create --user "pia" --user-agent "$UA_A" --clerk-session "$(head -c 129 /dev/zero | tr '\0' c)" </dev/null
expect_result "--clerk-session of 129 bytes: exit 2" 2 "--clerk-session"
tk session frobnicate </dev/null
expect_result "an unknown session subcommand: exit 2" 2
ag_expect_eq "after all of these, the state is unchanged" "$SUM" "$(state_sum)"
check_as "and the session is still valid" "$P" "$UA_A" 0
create "bad
name" "$UA_A"
ag_expect_true "a user name with a newline: exit 0 or 2, never 3 (got $AG_RC)" eval '[ "$AG_RC" = 0 ] || [ "$AG_RC" = 2 ]'
ag_expect_log_clean

ag_say "ids never in argv: /proc/PID/cmdline while a check waits on a fifo"
mkfifo "$AG_TMP/idfifo"
ag_preload
env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
	"$AG_TOKEN_BIN" --conf "$AG_CONF" session check --user-agent "$UA_A" \
	<"$AG_TMP/idfifo" >"$AG_TMP/fifo.out" 2>"$AG_TMP/fifo.err" &
FPID=$!
exec 7>"$AG_TMP/idfifo"
# Wait until the process is authguard-token itself (not the shell or env
# before the exec); it then sits reading its stdin.
TOKEN_EXE=$(readlink -f "$AG_TOKEN_BIN")
for i in $(seq 1 200); do
	[ "$(readlink "/proc/$FPID/exe" 2>/dev/null)" = "$TOKEN_EXE" ] && break
	sleep 0.05
done
sleep 0.1
CMDLINE=$(tr '\0' ' ' <"/proc/$FPID/cmdline" 2>/dev/null)
ENVIRON=$(tr '\0' '\n' <"/proc/$FPID/environ" 2>/dev/null)
ag_expect_true "the waiting check is authguard-token session check (cmdline: $CMDLINE)" \
	grep -q "authguard-token .*session check" <<<"$CMDLINE"
printf '%s\n' "$P" >&7
exec 7>&-
wait "$FPID"
FRC=$?
ag_expect_eq "the check through the fifo is valid" "0 true" "$FRC $(ag_jget "$(cat "$AG_TMP/fifo.out")" valid)"
ag_expect_true "no session id in its command line" eval '! grep -q "ags_" <<<"$CMDLINE"'
ag_expect_true "nor in its environment" eval '! grep -q "ags_" <<<"$ENVIRON"'

# ============================================================= authguard-ctl sessions
ag_say "authguard-ctl sessions: PAM and web sessions, end --user / --sid"
sx_conf ctl
AG_NOW=$AG_T0
cat >"$AG_TMP/svc/ctlsvc" <<EOF
session required $AG_MODULE conf=$AG_CONF
EOF
chmod 644 "$AG_TMP/svc/ctlsvc"

declare -A H_PID H_FD H_OUT
# hold NAME SERVICE USER [TTY [RHOST]]: starts a holder NAME (in the
# background, stdin a fifo whose write end this shell keeps) and waits for
# its first line, left in H_LINE.  The /tmp lock of lib.sh is held while it
# starts, so that no other pam_wrapper process starts at the same instant.
H_LINE=
hold() {
	local name=$1 svc=$2 user=$3 tty=${4:-pts/$1} rhost=${5:-} fifo=$AG_TMP/h-$1.in
	local out=$AG_TMP/h-$1.out fd i locked=0
	rm -f "$fifo"
	mkfifo "$fifo"
	: >"$out"
	H_OUT[$name]=$out
	ag_preload pam
	if [ ${#ag_pwrap_shared[@]} -gt 0 ]; then
		exec 8</tmp
		flock -x 8
		locked=1
	fi
	(
		# The holder keeps none of this shell's descriptors: not the lock,
		# not the other holders' fifos (their EOF must reach them).
		exec 8<&- 7>&-
		for i in "${H_FD[@]}"; do
			exec {i}>&-
		done
		exec env LD_PRELOAD="$ag_preload" PAM_WRAPPER=1 PAM_WRAPPER_USE_SYSLOG=1 \
			PAM_WRAPPER_SERVICE_DIR="$AG_TMP/svc" AG_SYSLOG_FILE="$AG_LOG" \
			AUTHGUARD_TEST_TIME="$AG_NOW" "$HOLDER" "$svc" "$user" "$tty" "$rhost" \
			<"$fifo" >"$out" 2>"$out.err"
	) &
	H_PID[$name]=$!
	exec {fd}>"$fifo"
	H_FD[$name]=$fd
	for i in $(seq 1 400); do
		[ -s "$out" ] && break
		sleep 0.05
	done
	if [ "$locked" = 1 ]; then
		flock -u 8
		exec 8<&-
	fi
	H_LINE=$(head -n 1 "$out")
	ag_check_sanitizer "$(cat "$out.err")" "pam_session_holder $name"
}

# release NAME: closes the holder's stdin (EOF: it closes the session and
# exits); sets AG_RC to its exit status and H_LINE to its last line.
release() {
	local fd=${H_FD[$1]}
	exec {fd}>&-
	unset "H_FD[$1]"
	wait "${H_PID[$1]}"
	AG_RC=$?
	H_LINE=$(tail -n 1 "${H_OUT[$1]}")
}

# killhold NAME: SIGKILL, no close_session.
killhold() {
	local fd=${H_FD[$1]}
	kill -KILL "${H_PID[$1]}"
	wait "${H_PID[$1]}" 2>/dev/null
	exec {fd}>&-
	unset "H_FD[$1]"
}

# drop NAME: waits for a holder that was refused (it exits by itself) and
# closes its fifo; returns the holder's exit status.
drop() {
	local fd=${H_FD[$1]} rc
	wait "${H_PID[$1]}"
	rc=$?
	exec {fd}>&-
	unset "H_FD[$1]"
	return $rc
}

# hold_ok DESC NAME SERVICE USER [TTY [RHOST]]: the holder opens.
hold_ok() {
	local desc=$1
	shift
	AG_LOG_MARK=$(ag_log_lines)
	hold "$@"
	ag_expect_eq "$desc" open "$H_LINE"
}

hold_ok "holder c1: alice opens a PAM session" c1 ctlsvc alice pts/1 198.51.100.7
hold_ok "holder c2: alice opens a second one" c2 ctlsvc alice pts/2
create alice "$UA_A"; W1=$SID_ID W1_SID=$SID
issue --sub alice --sid "$W1_SID" --refresh; WRT=$RT
create alice "$UA_B"; W2=$SID_ID W2_SID=$SID
create bob "$UA_A"; WB=$SID_ID
ag_run_ctl sessions --json alice
ag_expect_eq "authguard-ctl sessions --json alice exits 0" 0 "$AG_RC"
LISTING=$("$PY" -c '
import json, sys
for s in json.loads(sys.argv[1]):
    if s["kind"] == "pam":
        print("pam", s["user"], s["service"], s["tty"], s["rhost"] or "-", s["pid"], s["started"])
    else:
        print("web", s["user"], s["sid"], s["last_seen"], s["expires"])' "$AG_JSON")
ag_expect_eq "it lists alice's 2 PAM sessions (service, tty, rhost, pid, start) and 2 web sessions" \
	"$(sort <<<"pam alice ctlsvc pts/1 198.51.100.7 ${H_PID[c1]} $AG_T0
pam alice ctlsvc pts/2 - ${H_PID[c2]} $AG_T0
web alice $W2_SID $AG_T0 $((AG_T0 + 43200))
web alice $W1_SID $AG_T0 $((AG_T0 + 43200))")" "$(sort <<<"$LISTING")"
ag_expect_true "the listing has no session id" eval '! grep -q "ags_" <<<"$AG_JSON"'
ag_run_ctl sessions
ag_expect_true "authguard-ctl sessions (text) lists both kinds and every user" eval \
	'[ "$(grep -c "^pam  alice" <<<"$AG_JSON")" = 2 ] && [ "$(grep -c "^web  alice" <<<"$AG_JSON")" = 2 ] && grep -q "^web  bob .*sid=" <<<"$AG_JSON"'
ag_run_ctl sessions nobody-here
ag_expect_eq "authguard-ctl sessions for a user without any" "no sessions" "$AG_JSON"
ag_run_ctl sessions end --sid "$W2_SID"
ag_expect_eq "sessions end --sid HANDLE" "0 ended 1 web session, revoked 0 refresh families" "$AG_RC $AG_JSON"
check_as "...that session is gone" "$W2" "$UA_B" 1 unknown
ag_run_ctl sessions end --user alice
ag_expect_eq "sessions end --user alice" "0 ended 1 web session, revoked 1 refresh family" "$AG_RC $AG_JSON"
check_as "alice's web session is gone" "$W1" "$UA_A" 1 unknown
tk refresh <<<"$WRT"
expect_result "alice's refresh token is revoked" 1 revoked
check_as "bob's web session is untouched" "$WB" "$UA_A" 0
ag_run_ctl sessions --json alice
ag_expect_eq "alice's PAM sessions are listed still (ctl ends web sessions only)" 2 \
	"$("$PY" -c 'import json,sys; print(sum(1 for s in json.loads(sys.argv[1]) if s["kind"]=="pam"))' "$AG_JSON")"
ag_run_ctl sessions end --sid "$W1"
ag_expect_eq "sessions end --sid with a session id (not a handle): exit 2" 2 "$AG_RC"
ag_run_ctl sessions end
ag_expect_eq "sessions end without a selector: exit 2" 2 "$AG_RC"
release c1
ag_expect_eq "holder c1 closes its session on EOF" "0 closed" "$AG_RC $H_LINE"
release c2
ag_run_ctl sessions --json alice
ag_expect_eq "after close_session, no PAM row is left" "[]" "$AG_JSON"

# ============================================================= PAM limit
ag_say "PAM: 5 concurrent sessions, the 6th refused; close and SIGKILL free a slot"
sx_conf pam
AG_NOW=$AG_T0
cat >"$AG_TMP/svc/psess" <<EOF
session required $AG_MODULE conf=$AG_CONF
EOF
chmod 644 "$AG_TMP/svc/psess"
pam_rows() { sq "SELECT count(*) FROM pam_session WHERE \"user\" = '$1'"; }
for i in 1 2 3 4 5; do
	hold_ok "alice's PAM session $i opens" p$i psess alice
done
ag_expect_eq "5 rows recorded" 5 "$(pam_rows alice)"
ag_expect_log "event=session_open logged" "event=session_open user=alice tty=pts/p5"
AG_LOG_MARK=$(ag_log_lines)
hold p6 psess alice
ag_expect_eq "the 6th concurrent open_session is refused: PAM_PERM_DENIED" "Permission denied" "$H_LINE"
drop p6
ag_expect_eq "the refused holder exits 1" 1 "$?"
ag_expect_eq "the user is told why (PAM_ERROR_MSG)" "error: Too many logins for 'alice' (at most 5)." \
	"$(cat "$AG_TMP/h-p6.out.err")"
ag_expect_log "event=session_refused logged with the limit" "event=session_refused user=alice tty=pts/p6 max=5"
ag_expect_eq "no row for the refused one" 5 "$(pam_rows alice)"
hold_ok "another user (bob) is not limited by alice's sessions" b1 psess bob
release b1
release p3
ag_expect_eq "closing one (EOF on the holder's stdin): close_session succeeds" "0 closed" "$AG_RC $H_LINE"
ag_expect_eq "its row is removed" 4 "$(pam_rows alice)"
hold_ok "after one closed, a new session opens" p7 psess alice
hold p8 psess alice
ag_expect_eq "and the next one is refused again" "Permission denied" "$H_LINE"
drop p8
KPID=${H_PID[p1]}
killhold p1
ag_expect_eq "p1 killed with SIGKILL: its row stays (no close_session ran)" 5 "$(pam_rows alice)"
hold_ok "the killed process no longer counts: a new session opens" p9 psess alice
ag_expect_eq "the stale row was dropped at that open" 0 \
	"$(sq "SELECT count(*) FROM pam_session WHERE pid = $KPID")"
ag_expect_eq "5 live rows" 5 "$(pam_rows alice)"
hold p10 psess alice
ag_expect_eq "the 6th live one is refused" "Permission denied" "$H_LINE"
drop p10

ag_say "PAM: a row of another boot is not counted"
release p2
sq "INSERT INTO pam_session (\"user\", service, tty, rhost, pid, boot_id, started)
    VALUES ('alice', 'psess', 'pts/9', NULL, $$, '00000000-0000-4000-8000-000000000000', $AG_T0)"
ag_expect_eq "5 rows: 4 live holders and a row of another boot naming a live pid" 5 "$(pam_rows alice)"
hold_ok "the row of another boot is not counted: a 5th session opens" p11 psess alice
ag_expect_eq "and that row was dropped" 0 \
	"$(sq "SELECT count(*) FROM pam_session WHERE boot_id = '00000000-0000-4000-8000-000000000000'")"
for h in p4 p5 p7 p9 p11; do
	release "$h"
	[ "$AG_RC $H_LINE" = "0 closed" ] || ag_fail "holder $h closes" "exit $AG_RC: $H_LINE"
done
ag_expect_eq "every holder closed: no rows" 0 "$(pam_rows alice)"

ag_say "PAM: open and close in one process (pamtester), close without open"
cat >"$AG_TMP/svc/pt" <<EOF
auth     required pam_permit.so
session  required $AG_MODULE conf=$AG_CONF
EOF
chmod 644 "$AG_TMP/svc/pt"
AG_SVC=pt
AG_RHOST=
ag_pam alice - open_session close_session
ag_expect_eq "pamtester open_session close_session: exit 0" 0 "$AG_RC"
ag_expect_eq "...no row left" 0 "$(pam_rows alice)"
ag_pam alice - close_session
ag_expect_eq "close_session without an open one: PAM_SUCCESS" 0 "$AG_RC"
ag_pam alice - open_session
ag_expect_eq "pamtester open_session then exit (no close): exit 0" 0 "$AG_RC"
ag_expect_eq "...its row remains, stale" 1 "$(pam_rows alice)"
for i in 1 2 3 4 5; do hold q$i psess alice; done
ag_expect_eq "the stale pamtester row does not count: 5 holders open" "open" "$(head -qn1 "$AG_TMP"/h-q{1,2,3,4,5}.out | sort -u)"
for i in 1 2 3 4 5; do release q$i; done

ag_say "PAM: the session lines shipped in conf/pam.d (sshd, sshd-mfa, login)"
for f in sshd sshd-mfa login; do
	shipped=$top_srcdir/conf/pam.d/$f
	lines=$(grep -E '^session[[:space:]].*pam_authguard\.so' "$shipped" 2>/dev/null)
	ag_expect_eq "conf/pam.d/$f has one pam_authguard session line: session required pam_authguard.so" \
		"session required pam_authguard.so" "$(tr -s ' \t' '  ' <<<"$lines")"
	sed -e "s|pam_authguard\.so|$AG_MODULE conf=$AG_CONF|" <<<"$lines" >"$AG_TMP/svc/shipped-$f"
	chmod 644 "$AG_TMP/svc/shipped-$f"
done
for i in 1 2 3 4 5; do
	hold_ok "the shipped sshd line: alice's session $i opens" s$i shipped-sshd alice
done
hold s6 shipped-login alice tty1
ag_expect_eq "the shipped login line: a console login over the limit is refused" "Permission denied" "$H_LINE"
drop s6
hold s7 shipped-sshd-mfa alice
ag_expect_eq "the shipped sshd-mfa line: refused too (the count is shared by every service)" \
	"Permission denied" "$H_LINE"
drop s7
for i in 1 2 3 4 5; do release s$i; done
ag_expect_eq "all closed: no rows" 0 "$(pam_rows alice)"

ag_say "PAM: root is not limited unless even_deny_root"
sx_conf proot "pam_session_max = 1"
cat >"$AG_TMP/svc/proot" <<EOF
session required $AG_MODULE conf=$AG_CONF
EOF
chmod 644 "$AG_TMP/svc/proot"
hold_ok "pam_session_max 1: root's first session opens" r1 proot root
hold_ok "root's second session opens too (root is not limited)" r2 proot root
hold_ok "alice's first session opens" a1 proot alice
hold a2 proot alice
ag_expect_eq "alice's second is refused (pam_session_max 1)" "Permission denied" "$H_LINE"
drop a2
for h in r1 r2 a1; do release "$h"; done
sx_conf prootdeny "pam_session_max = 1" "even_deny_root = yes"
cat >"$AG_TMP/svc/prootdeny" <<EOF
session required $AG_MODULE conf=$AG_CONF
EOF
chmod 644 "$AG_TMP/svc/prootdeny"
hold_ok "even_deny_root: root's first session opens" d1 prootdeny root
AG_LOG_MARK=$(ag_log_lines)
hold d2 prootdeny root
ag_expect_eq "even_deny_root: root's second is refused" "Permission denied" "$H_LINE"
ag_expect_log "event=session_refused for root" "event=session_refused user=root .*max=1"
drop d2
release d1

ag_say "PAM: pam_session_max = 0 (no limit); a state that cannot be opened"
sx_conf pnolimit "pam_session_max = 0"
cat >"$AG_TMP/svc/pnolimit" <<EOF
session required $AG_MODULE conf=$AG_CONF
EOF
chmod 644 "$AG_TMP/svc/pnolimit"
for i in 1 2 3 4 5 6 7; do hold n$i pnolimit alice; done
ag_expect_eq "pam_session_max 0: 7 concurrent sessions open" "7 open" \
	"$(head -qn1 "$AG_TMP"/h-n?.out | sort | uniq -c | tr -s ' ' | sed 's/^ //')"
for i in 1 2 3 4 5 6 7; do release n$i; done
# (PostgreSQL: a schema nobody initialised)
{
	printf 'state_file = %s\n' "$AG_TMP/no-such-dir/state.db"
	printf 'secrets_key = %s\n' "$AG_TMP/keys/secrets.key"
	ag_store_lines "$AG_TMP/no-such-dir/state.db"
} >"$AG_TMP/nostate.conf"
chmod 644 "$AG_TMP/nostate.conf"
cat >"$AG_TMP/svc/pbroken" <<EOF
session required $AG_MODULE conf=$AG_TMP/nostate.conf
EOF
chmod 644 "$AG_TMP/svc/pbroken"
hold x1 pbroken alice
ag_expect_eq "a state file that cannot be opened: open_session fails closed (PAM_SYSTEM_ERR)" \
	"System error" "$H_LINE"
drop x1

# ============================================================= secrets at rest
ag_say "no session id, access or refresh token in any state file or the log"
leaks=()
raw=()
ag_sqlite_only "the raw state files are searched" "the rows are in the server (their dumps are)" &&
	raw=("$AG_TMP"/*-state/state.db*)
for f in ${raw[@]+"${raw[@]}"}; do
	[ -f "$f" ] || continue
	for id in "${ALL_IDS[@]}" "${ALL_TOKENS[@]}"; do
		[ -n "$id" ] || continue
		if grep -qaF -- "$id" "$f"; then
			leaks+=("$(basename "$(dirname "$f")")/$(basename "$f") contains ${id:0:8}...")
		fi
	done
done
for db in "${SX_STATES[@]}"; do
	ag_sql_dump "$db" >"$AG_TMP/dump.sql" 2>/dev/null
	for id in "${ALL_IDS[@]}"; do
		grep -qF -- "$id" "$AG_TMP/dump.sql" && leaks+=("dump of $db contains ${id:0:8}...")
		grep -qF -- "${id#ags_}" "$AG_TMP/dump.sql" && leaks+=("dump of $db contains the id's random part")
	done
done
ag_expect_eq "none of the ${#ALL_IDS[@]} session ids (or ${#ALL_TOKENS[@]} tokens) is in a state file or a dump" \
	"" "${leaks[*]}"
LOGLEAK=
for id in "${ALL_IDS[@]}" "${ALL_TOKENS[@]}"; do
	[ -n "$id" ] && grep -qF -- "$id" "$AG_LOG" && LOGLEAK="$LOGLEAK ${id:0:8}..."
done
ag_expect_eq "none of them is in the log" "" "$LOGLEAK"
ag_expect_log_clean

ag_done
