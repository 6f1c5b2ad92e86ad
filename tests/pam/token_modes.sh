#!/bin/bash
# authguard-token's batch mode agrees with its one-shot commands, for every
# op (lib/web/proto.h): one table of inputs -- good, empty, too long,
# malformed, unknown, of the wrong type -- goes through each command line
# (one process per input, the secret on stdin; the webhook ops through
# authguard-webhook) and through one batch process of authguard-token (one
# request line each), and every pair must give the same status, the status
# the table expects, and the same JSON answer (the batch answer without its
# "id" and "status"; a webhook answer's "id" is its message id, which batch
# answers keep as "message_id").  Where the command line prints nothing on
# standard output (a usage error of its arguments or of stdin, or any error
# of a command that reports errors on stderr only), the batch answer is an
# "error":"usage" object.  Inputs that change the state (a refresh, a guard
# attempt, a code, a session created, rotated or ended, a logout, a
# webhook message) get two equivalent inputs, one per mode, and their
# answers are compared with the random members (token, jti, refresh_token,
# session, set_cookie, sid, attempt, message_id) masked.
#
# Then the batch request envelope: "id" is echoed only when it is a number
# or a string of at most 256 bytes (a 1,000-deep array, an object, null, a
# 257-byte string get a usage answer without any id, and the request is not
# carried out), the process goes on serving, and a request longer than
# the line limit is refused without the process holding all of it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

ISS=https://auth.example.test
AUD=api.example.test
T0=$AG_NOW
WH_BIN=$top_builddir/helpers/authguard-webhook
[ -x "$WH_BIN" ] || ag_bail "helper not built: $WH_BIN (run make)"
ag_conf modes "token_keys_dir = $AG_TMP/tkeys" "token_issuer = $ISS" "token_audience = $AUD" \
	"token_audiences = api2.example.test" "webhook_secret_file = $AG_TMP/keys/webhook.secret"
ag_run_ctl keygen
[ "$AG_RC" = 0 ] || ag_bail "authguard-ctl keygen: $AG_OUT"
WH_SECRET=whsec_$(head -c 24 /dev/urandom | base64 -w0)
(umask 077 && printf '%s\n' "$WH_SECRET" >"$AG_TMP/keys/webhook.secret")

# field JSON KEY: one member of a JSON text (ag_jget).
field() { ag_jget "$1" "$2"; }

# issue_rt SUB [ARGS...]: prints "TOKEN RT" of a new login.
issue_rt() {
	ag_run_token issue --sub "$@" --refresh </dev/null
	[ "$AG_RC" = 0 ] || ag_bail "issue --sub $*: exit $AG_RC $AG_OUT"
	printf '%s %s\n' "$(field "$AG_JSON" token)" "$(field "$AG_JSON" refresh_token)"
}
# session UA [ARGS...]: prints "ID HANDLE" of a new session of sam.
session() {
	ag_run_token session create --user sam --user-agent "$@" </dev/null
	[ "$AG_RC" = 0 ] || ag_bail "session create: exit $AG_RC $AG_OUT"
	printf '%s %s\n' "$(field "$AG_JSON" session)" "$(field "$AG_JSON" sid)"
}

ag_say "set-up: tokens, refresh tokens and sessions for the table"
read -r TOK _ < <(issue_rt alice)
read -r TOK_REV _ < <(issue_rt rev)
ag_run_token revoke <<<"$TOK_REV"
[ "$AG_RC" = 0 ] || ag_bail "revoke: $AG_OUT"
read -r TOK_EXP _ < <(AG_NOW=$((T0 - 2000)) issue_rt old --ttl 60)
read -r TOK_R1 _ < <(issue_rt rv1)
read -r TOK_R2 _ < <(issue_rt rv2)
read -r _ RT_A < <(issue_rt ra)
read -r _ RT_B < <(issue_rt ra)
read -r _ RT_F1 < <(issue_rt rf)
read -r _ RT_F2 < <(issue_rt rf)
read -r S_OK H_OK < <(session UA-1)
read -r S_ATTR _ < <(session UA-2 --attr fr-FR)
UAH=$(printf 'UA-4' | sha256sum | cut -c1-64)
ag_run_token session create --user sam --user-agent-hash "$UAH" </dev/null
S_HASH=$(field "$AG_JSON" session)
read -r S_MM1 _ < <(session UA-3)
read -r S_MM2 _ < <(session UA-3)
ag_expect_true "set-up done (tokens, refresh tokens, sessions)" \
	test -n "$TOK" -a -n "$RT_A" -a  -n "$S_MM2" -a -n "$H_OK"

ag_say "set-up: guard subjects, sessions, logins, MFA enrollments, webhook messages"
# mksession USER UA [ARGS...]: prints "ID HANDLE" of a new session.
mksession() {
	local user=$1
	shift
	ag_run_token session create --user "$user" --user-agent "$@" </dev/null
	[ "$AG_RC" = 0 ] || ag_bail "session create --user $user: exit $AG_RC $AG_OUT"
	printf '%s %s\n' "$(field "$AG_JSON" session)" "$(field "$AG_JSON" sid)"
}
# login USER: prints "ID TOKEN RT" of a session with a token pair tied to it.
login() {
	local id h
	read -r id h < <(mksession "$1" UA-O)
	ag_run_token issue --sub "$1" --sid "$h" --refresh </dev/null
	[ "$AG_RC" = 0 ] || ag_bail "issue --sid: exit $AG_RC $AG_OUT"
	printf '%s %s %s\n' "$id" "$(field "$AG_JSON" token)" "$(field "$AG_JSON" refresh_token)"
}
# a subject locked by 10 failures; an attempt in flight for each mode's
# success
for i in $(seq 10); do ag_run_token guard failure --subject glocked@example.com </dev/null; done
ag_run_token guard check --subject gs1@example.com --ip 198.51.100.31 </dev/null
GS1=$(field "$AG_JSON" attempt)
ag_run_token guard check --subject gs2@example.com --ip 198.51.100.32 </dev/null
GS2=$(field "$AG_JSON" attempt)
read -r R1 _ < <(mksession rot UA-R)
read -r R2 _ < <(mksession rot UA-R)
mksession lister UA-L >/dev/null
mksession lister UA-L2 --attr de-CH --clerk-session sess_L >/dev/null
read -r E1 _ < <(mksession ender UA-E)
read -r E2 _ < <(mksession ender UA-E)
read -r _ EH1 < <(mksession ender UA-E)
read -r _ EH2 < <(mksession ender UA-E)
mksession eu1 UA-E >/dev/null
mksession eu2 UA-E >/dev/null
read -r LO1 LT1 LR1 < <(login lo1)
read -r LO2 LT2 LR2 < <(login lo2)
read -r LO3 _ _ < <(login lo3)
read -r LO4 _ _ < <(login lo4)
read -r LO5 LT5 LR5 < <(login lo5)
read -r LO6 LT6 LR6 < <(login lo6)
mksession wh1 UA-W --clerk-session sess_W1 >/dev/null
mksession wh2 UA-W --clerk-session sess_W2 >/dev/null
mksession whu1 UA-W >/dev/null
mksession whu2 UA-W >/dev/null
# a message recorded, to be replayed
printf '{"data":{"id":"x"},"object":"event","type":"email.created"}' >"$AG_TMP/replay.body"
# (signed by Python's hmac, as the table's messages are)
WH_RSIG=$(ag_python -c '
import base64, hashlib, hmac, sys
key = base64.b64decode(sys.argv[1][len("whsec_"):])
msg = ("%s.%s." % (sys.argv[2], sys.argv[3])).encode() + open(sys.argv[4], "rb").read()
print("v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode())' \
	"$WH_SECRET" msg_replay "$T0" "$AG_TMP/replay.body")
ag_helper "$WH_BIN" receive --header "svix-id: msg_replay" --header "svix-timestamp: $T0" \
	--header "svix-signature: $WH_RSIG" <"$AG_TMP/replay.body" >/dev/null 2>&1 ||
	ag_bail "the webhook message to replay was not received"
rm -f "$AG_TMP/replay.body"
# verification codes: each enrollment confirmed a step before T0, so the
# codes of T0 are fresh
HAVE_OATH=0
if command -v oathtool >/dev/null 2>&1; then
	HAVE_OATH=1
	AG_NOW=$((T0 - 30))
	for u in mok1 mok2 mbk1 mbk2 mwr1 mwr2 mrep mlock; do
		ag_enroll "$u" || ag_bail "enrollment of $u failed"
		printf -v "SEC_$u" '%s' "$AG_SECRET"
		printf -v "BK_$u" '%s' "${AG_BACKUP[0]}"
	done
	AG_NOW=$T0
	for i in $(seq 10); do ag_run_token guard failure --subject mlock </dev/null; done
	C_mok1=$(ag_totp "$SEC_mok1") C_mok2=$(ag_totp "$SEC_mok2")
	C_mrep=$(ag_totp "$SEC_mrep" $((T0 - 30))) C_mlock=$(ag_totp "$SEC_mlock")
	W_mwr1=$(ag_wrong_code "$SEC_mwr1") W_mwr2=$(ag_wrong_code "$SEC_mwr2")
else
	ag_say "oathtool not installed (apt-get install oathtool): the mfa verify cases are NOT run"
fi
ag_expect_true "set-up done (attempts, sessions, logins, a recorded webhook)" \
	test -n "$GS2" -a -n "$R2" -a -n "$EH2" -a -n "$LR6"

# The table, written by Python: for case N, $AG_TMP/cases/N.args (the
# command line, NUL-separated), N.in (its stdin), N.req (the batch
# request, id N) and N.meta (description, expected status, comparison).
mkdir "$AG_TMP/cases"
export TOK TOK_REV TOK_EXP TOK_R1 TOK_R2 UAH S_HASH RT_A RT_B RT_F1 RT_F2 S_OK H_OK S_ATTR S_MM1 S_MM2
export T0 GS1 GS2 R1 R2 E1 E2 EH1 EH2 LO1 LT1 LR1 LO2 LT2 LR2 LO3 LO4 LO5 LT5 LR5 LO6 LT6 LR6
export WH_SECRET HAVE_OATH C_mok1 C_mok2 C_mrep C_mlock W_mwr1 W_mwr2 BK_mbk1 BK_mbk2
ag_python - "$AG_TMP/cases" <<'EOF'
import json, os, sys

d = sys.argv[1]
E = os.environ
tok = E["TOK"]
# a signature character changed (not the last: it carries padding bits)
sig = tok.rsplit(".", 1)[1]
bad_sig = tok.rsplit(".", 1)[0] + "." + sig[:3] + ("B" if sig[3] == "A" else "A") + sig[4:]
jti_r1 = json.loads(__import__("base64").urlsafe_b64decode(
    E["TOK_R1"].split(".")[1] + "==").decode())["jti"]
well_formed_rt = "agr_" + "A" * 42 + "E"
well_formed_sid = "ags_" + "A" * 42 + "E"
handle = E["H_OK"]
other_handle = ("B" if handle[0] == "A" else "A") + handle[1:]
UA = ["--user-agent", "UA-1"]

cases = []

def case(desc, status, args, stdin, req, compare="same"):
    """args and stdin: the command line; req: the batch request.  compare:
    same (the answers must be equal), masked (equal once the random members
    are masked: a new token, or two equivalent inputs, one per mode, where
    the first use changes the state).  No case may change what another
    case sees: every one-shot case runs before every batch request."""
    cases.append((desc, status, args, stdin, req, compare))

# verify: read-only, one input both ways
for desc, st, t in [
        ("verify: a valid token", 0, tok),
        ("verify: an empty token", 2, ""),
        ("verify: garbage", 1, "hello"),
        ("verify: three empty-ish segments x.y.z", 1, "x.y.z"),
        ("verify: non-ASCII text", 1, "caf\u00e9.x.y"),
        ("verify: a trailing space", 1, tok + " "),
        ("verify: token_max_len + 1 bytes", 1, "A" * 8193),
        ("verify: 16 KiB, the longest input", 1, "A" * 16384),
        ("verify: 16 KiB + 1, longer than any input", 2, "A" * 16385),
        ("verify: 40,000 bytes", 2, "A" * 40000),
        ("verify: 70,000 bytes (over the batch line limit too)", 2, "A" * 70000),
        ("verify: a revoked token", 1, E["TOK_REV"]),
        ("verify: an expired token", 1, E["TOK_EXP"]),
        ("verify: a bad signature", 1, bad_sig),
        ("verify: a refresh token", 1, E["RT_A"]),
        ("verify: a session id", 1, E["S_OK"])]:
    case(desc, st, ["verify"], t, {"op": "verify", "token": t})
case("verify: no token at all", 2, ["verify"], None, {"op": "verify"})
case("verify: an unknown option / member", 2, ["verify", "--tokn"], tok,
     {"op": "verify", "token": tok, "tokn": tok})
case("verify: token not a string", 2, ["verify"], None, {"op": "verify", "token": 12})

# refresh
for desc, st, t in [
        ("refresh: an empty token", 2, ""),
        ("refresh: agr_short", 1, "agr_short"),
        ("refresh: well-formed, never issued", 1, well_formed_rt),
        ("refresh: an access token", 1, tok),
        ("refresh: 10,000 bytes", 1, "agr_" + "A" * 9996),
        ("refresh: 16 KiB + 1", 2, "agr_" + "A" * 16381)]:
    case(desc, st, ["refresh"], t, {"op": "refresh", "refresh_token": t})
# (not here: a family past refresh_ttl, which any new family may purge
# meanwhile, and is then unknown; tests/pam/token.sh has it)
case("refresh: a fresh token (two logins, one per mode)", 0, ["refresh"], E["RT_A"],
     {"op": "refresh", "refresh_token": E["RT_B"]}, "masked")
case("refresh: the token member misnamed", 2, ["refresh"], None,
     {"op": "refresh", "token": E["RT_A"]})

# revoke: revoking a token or a jti twice gives the same answer
for desc, st, t, key in [
        ("revoke: an empty token", 2, "", "token"),
        ("revoke: garbage", 1, "not a jti!", "token"),
        ("revoke: a valid token", 0, E["TOK_R2"], "token"),
        ("revoke: a bare jti (as token)", 0, jti_r1, "token"),
        ("revoke: a bare jti (as jti)", 0, jti_r1, "jti"),
        ("revoke: a bad signature", 1, bad_sig, "token"),
        ("revoke: an expired token", 0, E["TOK_EXP"], "token"),
        ("revoke: 16 KiB + 1", 2, "A" * 16385, "token")]:
    case(desc, st, ["revoke"], t, {"op": "revoke", key: t})
case("revoke --family: empty", 2, ["revoke", "--family"], "",
     {"op": "revoke", "refresh_token": "", "family": True})
case("revoke --family: garbage", 1, ["revoke", "--family"], "garbage",
     {"op": "revoke", "refresh_token": "garbage", "family": True})
case("revoke --family: a live family (one login per mode)", 0, ["revoke", "--family"],
     E["RT_F1"], {"op": "revoke", "refresh_token": E["RT_F2"], "family": True}, "masked")
case("revoke --user: a user without families", 0, ["revoke", "--user", "nobody-here"], None,
     {"op": "revoke", "user": "nobody-here"})
case("revoke --family --user together", 2, ["revoke", "--family", "--user", "x"], None,
     {"op": "revoke", "user": "x", "family": True})
case("revoke --user and a token together", 2, ["revoke", "--user", "x", "extra"], tok,
     {"op": "revoke", "user": "x", "token": tok})
case("revoke: a misspelt family member", 2, ["revoke", "--famly"], E["RT_F1"],
     {"op": "revoke", "refresh_token": E["RT_F1"], "famly": True})
case("revoke: family not a boolean", 2, ["revoke", "--family=yes"], E["RT_F1"],
     {"op": "revoke", "refresh_token": E["RT_F1"], "family": "yes"})

# issue: the answer is random (token, jti), its shape and exp are not
case("issue: a subject", 0, ["issue", "--sub", "ivy"], None,
     {"op": "issue", "sub": "ivy"}, "masked")
case("issue: a subject, a refresh family, a ttl", 0,
     ["issue", "--sub", "ivy", "--refresh", "--ttl", "120"], None,
     {"op": "issue", "sub": "ivy", "refresh": True, "ttl": 120}, "masked")
case("issue: no subject", 2, ["issue"], None, {"op": "issue"})
case("issue: an empty subject", 2, ["issue", "--sub", ""], None, {"op": "issue", "sub": ""})
case("issue: a subject of 4097 bytes", 2, ["issue", "--sub", "s" * 4097], None,
     {"op": "issue", "sub": "s" * 4097})
case("issue: an audience not allowed", 2, ["issue", "--sub", "ivy", "--aud", "evil.test"],
     None, {"op": "issue", "sub": "ivy", "aud": "evil.test"})
case("issue: an allowed audience", 0, ["issue", "--sub", "ivy", "--aud", "api2.example.test"],
     None, {"op": "issue", "sub": "ivy", "aud": "api2.example.test"}, "masked")
case("issue: the audience not a string", 2, ["issue", "--sub", "ivy", "--aud"], None,
     {"op": "issue", "sub": "ivy", "aud": 5})
case("issue: ttl 30", 2, ["issue", "--sub", "ivy", "--ttl", "30"], None,
     {"op": "issue", "sub": "ivy", "ttl": 30})
case("issue: ttl 0", 2, ["issue", "--sub", "ivy", "--ttl", "0"], None,
     {"op": "issue", "sub": "ivy", "ttl": 0})
case("issue: refresh not a boolean", 2, ["issue", "--sub", "ivy", "--refresh=yes"], None,
     {"op": "issue", "sub": "ivy", "refresh": "yes"})
case("issue: a reserved extra claim", 2, ["issue", "--sub", "ivy", "--claims-stdin"],
     '{"sub":"root"}', {"op": "issue", "sub": "ivy", "claims": {"sub": "root"}})
case("issue: extra claims not an object", 2, ["issue", "--sub", "ivy", "--claims-stdin"],
     '["x"]', {"op": "issue", "sub": "ivy", "claims": ["x"]})
case("issue: extra claims", 0, ["issue", "--sub", "ivy", "--claims-stdin"],
     '{"role":"ops"}', {"op": "issue", "sub": "ivy", "claims": {"role": "ops"}}, "masked")
case("issue: sid not a session handle", 2, ["issue", "--sub", "sam", "--sid", "nope"], None,
     {"op": "issue", "sub": "sam", "sid": "nope"})
case("issue: sid of no live session", 1, ["issue", "--sub", "sam", "--sid", other_handle],
     None, {"op": "issue", "sub": "sam", "sid": other_handle})
case("issue: sid null", 2, ["issue", "--sub", "sam", "--sid"], None,
     {"op": "issue", "sub": "sam", "sid": None})
case("issue: a live session's sid", 0, ["issue", "--sub", "sam", "--sid", handle], None,
     {"op": "issue", "sub": "sam", "sid": handle}, "masked")
case("issue: an unknown option / member", 2, ["issue", "--sub", "ivy", "--scope", "x"], None,
     {"op": "issue", "sub": "ivy", "scope": "x"})

# jwks
case("jwks", 0, ["jwks"], None, {"op": "jwks"})
case("jwks: an argument too many", 2, ["jwks", "extra"], None, {"op": "jwks", "extra": 1})

# session check (a valid check does not write: the clock stands still)
for desc, st, sid in [
        ("session check: a valid id", 0, E["S_OK"]),
        ("session check: an empty id", 2, ""),
        ("session check: ags_short", 1, "ags_short"),
        ("session check: well-formed, unknown", 1, well_formed_sid),
        ("session check: 54 bytes, the longest input", 1, E["S_OK"] + "AAAAAAA"),
        ("session check: 55 bytes", 2, E["S_OK"] + "AAAAAAAA"),
        ("session check: 1,000 bytes", 2, "x" * 1000)]:
    case(desc, st, ["session", "check"] + UA, sid,
         {"op": "session_check", "session": sid, "user_agent": "UA-1"})
case("session check: with --attr / attrs", 0,
     ["session", "check", "--user-agent", "UA-2", "--attr", "fr-FR"], E["S_ATTR"],
     {"op": "session_check", "session": E["S_ATTR"], "user_agent": "UA-2", "attrs": ["fr-FR"]})
case("session check: the User-Agent's hash", 0,
     ["session", "check", "--user-agent-hash", E["UAH"]], E["S_HASH"],
     {"op": "session_check", "session": E["S_HASH"], "user_agent_hash": E["UAH"]})
case("session check: a hash that is not 64 hex digits", 2,
     ["session", "check", "--user-agent-hash", "abc"], E["S_OK"],
     {"op": "session_check", "session": E["S_OK"], "user_agent_hash": "abc"})
case("session check: both user agent and its hash", 2,
     ["session", "check", "--user-agent", "UA-1", "--user-agent-hash", "0" * 64], E["S_OK"],
     {"op": "session_check", "session": E["S_OK"], "user_agent": "UA-1",
      "user_agent_hash": "0" * 64})
case("session check: neither", 2, ["session", "check"], E["S_OK"],
     {"op": "session_check", "session": E["S_OK"]})
case("session check: 9 attrs", 2,
     ["session", "check", "--user-agent", "UA-1"] + ["--attr", "a"] * 9, E["S_OK"],
     {"op": "session_check", "session": E["S_OK"], "user_agent": "UA-1", "attrs": ["a"] * 9})
case("session check: another browser (one session per mode, each then ended)", 1,
     ["session", "check", "--user-agent", "UA-other"], E["S_MM1"],
     {"op": "session_check", "session": E["S_MM2"], "user_agent": "UA-other"}, "masked")

# guard: a fresh subject (and address) per mode where an attempt is counted
case("guard check: a fresh subject, an address (one per mode)", 0,
     ["guard", "check", "--subject", "gc1@example.com", "--ip", "198.51.100.21"], None,
     {"op": "guard_check", "subject": "gc2@example.com", "ip": "198.51.100.22"}, "masked")
case("guard check: a locked subject", 1, ["guard", "check", "--subject", "glocked@example.com"],
     None, {"op": "guard_check", "subject": "glocked@example.com"})
case("guard check: --attempt / attempt (check starts one)", 2,
     ["guard", "check", "--subject", "gc1@example.com", "--attempt", "1"], None,
     {"op": "guard_check", "subject": "gc1@example.com", "attempt": 1})
case("guard check: no subject", 2, ["guard", "check", "--ip", "198.51.100.21"], None,
     {"op": "guard_check", "ip": "198.51.100.21"})
case("guard check: a subject that folds to nothing", 2, ["guard", "check", "--subject", "   "],
     None, {"op": "guard_check", "subject": "   "})
case("guard check: a host name for --ip / ip", 2,
     ["guard", "check", "--subject", "gc1@example.com", "--ip", "evil.example"], None,
     {"op": "guard_check", "subject": "gc1@example.com", "ip": "evil.example"})
case("guard check: subject not a string", 2, ["guard", "check", "--subject"], None,
     {"op": "guard_check", "subject": ["x"]})
case("guard check: an unknown option / member", 2,
     ["guard", "check", "--subject", "gc1@example.com", "--user", "x"], None,
     {"op": "guard_check", "subject": "gc1@example.com", "user": "x"})
case("guard failure: a fresh subject (one per mode)", 0,
     ["guard", "failure", "--subject", "gf1@example.com", "--ip", "198.51.100.41"], None,
     {"op": "guard_failure", "subject": "gf2@example.com", "ip": "198.51.100.42"}, "masked")
case("guard failure: attempt 0", 2,
     ["guard", "failure", "--subject", "gf1@example.com", "--attempt", "0"], None,
     {"op": "guard_failure", "subject": "gf1@example.com", "attempt": 0})
case("guard failure: attempt not a number", 2,
     ["guard", "failure", "--subject", "gf1@example.com", "--attempt", "x"], None,
     {"op": "guard_failure", "subject": "gf1@example.com", "attempt": "x"})
case("guard success: the attempt of a check (one per mode)", 0,
     ["guard", "success", "--subject", "gs1@example.com", "--ip", "198.51.100.31",
      "--attempt", E["GS1"]], None,
     {"op": "guard_success", "subject": "gs2@example.com", "ip": "198.51.100.32",
      "attempt": int(E["GS2"])}, "masked")
case("guard success: a locked subject", 1, ["guard", "success", "--subject", "glocked@example.com"],
     None, {"op": "guard_success", "subject": "glocked@example.com"})

# mfa verify (oathtool computes the codes; enrollments confirmed at T0 - 30)
if E["HAVE_OATH"] == "1":
    MV = ["mfa", "verify", "--user"]
    case("mfa verify: the current TOTP code (one account per mode)", 0, MV + ["mok1"],
         E["C_mok1"], {"op": "mfa_verify", "user": "mok2", "code": E["C_mok2"]}, "masked")
    case("mfa verify: a backup code (one account per mode)", 0, MV + ["mbk1"], E["BK_mbk1"],
         {"op": "mfa_verify", "user": "mbk2", "code": E["BK_mbk2"]}, "masked")
    case("mfa verify: a replayed code (not counted)", 1, MV + ["mrep"], E["C_mrep"],
         {"op": "mfa_verify", "user": "mrep", "code": E["C_mrep"]})
    case("mfa verify: a wrong code, counted (one account per mode)", 1,
         MV + ["mwr1", "--ip", "198.51.100.61"], E["W_mwr1"],
         {"op": "mfa_verify", "user": "mwr2", "ip": "198.51.100.62", "code": E["W_mwr2"]},
         "masked")
    case("mfa verify: a malformed code, counted (one account per mode)", 1, MV + ["mmal1"],
         "hello", {"op": "mfa_verify", "user": "mmal2", "code": "hello"}, "masked")
    case("mfa verify: an account never enrolled (one per mode)", 1, MV + ["mne1"], "123456",
         {"op": "mfa_verify", "user": "mne2", "code": "123456"}, "masked")
    case("mfa verify: a locked account (the code not looked at)", 1, MV + ["mlock"],
         E["C_mlock"], {"op": "mfa_verify", "user": "mlock", "code": E["C_mlock"]})
    case("mfa verify: an empty code", 2, MV + ["mok1"], "", {"op": "mfa_verify", "user": "mok1",
                                                           "code": ""})
    case("mfa verify: 256 bytes of code", 2, MV + ["mok1"], "7" * 256,
         {"op": "mfa_verify", "user": "mok1", "code": "7" * 256})
    case("mfa verify: no code at all", 2, MV + ["mok1"], None,
         {"op": "mfa_verify", "user": "mok1"})
    case("mfa verify: no user", 2, ["mfa", "verify"], "123456",
         {"op": "mfa_verify", "code": "123456"})
    case("mfa verify: a host name for --ip / ip", 2, MV + ["mok1", "--ip", "nowhere"], "123456",
         {"op": "mfa_verify", "user": "mok1", "ip": "nowhere", "code": "123456"})
    case("mfa verify: the code not a string", 2, MV + ["mok1"], None,
         {"op": "mfa_verify", "user": "mok1", "code": 123456})
    case("mfa verify: the code as an argument / unknown member", 2, MV + ["mok1", "123456"],
         None, {"op": "mfa_verify", "user": "mok1", "code": "123456", "otp": "123456"})

# session create: one session per mode
SC = ["session", "create", "--user"]
# (a user per case: the sixth session of one user would evict the first)
case("session create: a User-Agent", 0, SC + ["maker1", "--user-agent", "UA-M"], None,
     {"op": "session_create", "user": "maker1", "user_agent": "UA-M"}, "masked")
case("session create: attributes and a Clerk session", 0,
     SC + ["Maker2", "--user-agent", "UA-M", "--attr", "fr-FR", "--attr", "x",
           "--clerk-session", "sess_M"], None,
     {"op": "session_create", "user": "Maker2", "user_agent": "UA-M", "attrs": ["fr-FR", "x"],
      "clerk_session": "sess_M"}, "masked")
case("session create: the User-Agent's hash", 0, SC + ["maker3", "--user-agent-hash", E["UAH"]],
     None, {"op": "session_create", "user": "maker3", "user_agent_hash": E["UAH"]}, "masked")
case("session create: no User-Agent", 2, SC + ["maker"], None,
     {"op": "session_create", "user": "maker"})
case("session create: both user agent and its hash", 2,
     SC + ["maker", "--user-agent", "UA-M", "--user-agent-hash", E["UAH"]], None,
     {"op": "session_create", "user": "maker", "user_agent": "UA-M", "user_agent_hash": E["UAH"]})
case("session create: a hash with attributes", 2,
     SC + ["maker", "--user-agent-hash", E["UAH"], "--attr", "x"], None,
     {"op": "session_create", "user": "maker", "user_agent_hash": E["UAH"], "attrs": ["x"]})
case("session create: an empty user", 2, SC + ["", "--user-agent", "UA-M"], None,
     {"op": "session_create", "user": "", "user_agent": "UA-M"})
case("session create: a user of 4097 bytes", 2, SC + ["u" * 4097, "--user-agent", "UA-M"], None,
     {"op": "session_create", "user": "u" * 4097, "user_agent": "UA-M"})
case("session create: a user that folds to nothing", 2, SC + ["\u3000", "--user-agent", "UA-M"],
     None, {"op": "session_create", "user": "\u3000", "user_agent": "UA-M"})
case("session create: a Clerk session of 129 bytes", 2,
     SC + ["maker", "--user-agent", "UA-M", "--clerk-session", "c" * 129], None,
     {"op": "session_create", "user": "maker", "user_agent": "UA-M", "clerk_session": "c" * 129})
case("session create: 9 attributes", 2, SC + ["maker", "--user-agent", "UA-M"] + ["--attr", "a"] * 9,
     None, {"op": "session_create", "user": "maker", "user_agent": "UA-M", "attrs": ["a"] * 9})
case("session create: no user", 2, ["session", "create", "--user-agent", "UA-M"], None,
     {"op": "session_create", "user_agent": "UA-M"})
case("session create: attrs not an array", 2, SC + ["maker", "--user-agent", "UA-M", "--atr", "x"],
     None, {"op": "session_create", "user": "maker", "user_agent": "UA-M", "attrs": "x"})

# session rotate
case("session rotate: a live session (one per mode)", 0, ["session", "rotate"], E["R1"],
     {"op": "session_rotate", "session": E["R2"]}, "masked")
for desc, st, sid in [
        ("session rotate: ags_short", 1, "ags_short"),
        ("session rotate: well-formed, unknown", 1, well_formed_sid),
        ("session rotate: an empty id", 2, ""),
        ("session rotate: 55 bytes", 2, well_formed_sid + "A" * 8)]:
    case(desc, st, ["session", "rotate"], sid, {"op": "session_rotate", "session": sid})
case("session rotate: an argument too many", 2, ["session", "rotate", "--user", "rot"], E["R1"],
     {"op": "session_rotate", "session": E["R1"], "user": "rot"})

# session list (lister's sessions are used by nothing else)
case("session list: two sessions", 0, ["session", "list", "--user", "lister"], None,
     {"op": "session_list", "user": "lister"})
case("session list: another spelling of the user", 0, ["session", "list", "--user", " Lister"],
     None, {"op": "session_list", "user": " Lister"})
case("session list: a user without sessions", 0, ["session", "list", "--user", "nobody-here"],
     None, {"op": "session_list", "user": "nobody-here"})
case("session list: a user that folds to nothing", 2, ["session", "list", "--user", " "], None,
     {"op": "session_list", "user": " "})
case("session list: no user", 2, ["session", "list"], None, {"op": "session_list"})

# session end
case("session end: by id (one session per mode)", 0, ["session", "end"], E["E1"],
     {"op": "session_end", "session": E["E2"]}, "masked")
case("session end: by handle (one session per mode)", 0, ["session", "end", "--sid", E["EH1"]],
     None, {"op": "session_end", "sid": E["EH2"]}, "masked")
case("session end: by user (one user per mode)", 0, ["session", "end", "--user", "eu1"], None,
     {"op": "session_end", "user": "eu2"}, "masked")
case("session end: a malformed id", 1, ["session", "end"], "ags_short",
     {"op": "session_end", "session": "ags_short"})
case("session end: a well-formed unknown id", 0, ["session", "end"], well_formed_sid,
     {"op": "session_end", "session": well_formed_sid})
case("session end: a handle of no session", 0, ["session", "end", "--sid", other_handle], None,
     {"op": "session_end", "sid": other_handle})
case("session end: --sid / sid not a handle", 2, ["session", "end", "--sid", "ags_x"], None,
     {"op": "session_end", "sid": "ags_x"})
case("session end: --sid and --user together", 2,
     ["session", "end", "--sid", other_handle, "--user", "eu1"], None,
     {"op": "session_end", "sid": other_handle, "user": "eu1"})
case("session end: nothing to end", 2, ["session", "end"], None, {"op": "session_end"})

# logout: one login per mode where something ends
case("logout: session, access and refresh token (one login per mode)", 0, ["logout"],
     "\n".join([E["LO1"], E["LT1"], E["LR1"]]),
     {"op": "logout", "session": E["LO2"], "token": E["LT2"], "refresh_token": E["LR2"]},
     "masked")
case("logout: the session id only (one login per mode)", 0, ["logout"], E["LO3"],
     {"op": "logout", "session": E["LO4"]}, "masked")
case("logout: the lines in another order (one login per mode)", 0, ["logout"],
     "\n".join([E["LR5"], E["LT5"], E["LO5"]]),
     {"op": "logout", "refresh_token": E["LR6"], "token": E["LT6"], "session": E["LO6"]},
     "masked")
case("logout: a well-formed unknown session id", 0, ["logout"], well_formed_sid,
     {"op": "logout", "session": well_formed_sid})
case("logout: an access token without a session id (nothing revoked)", 2, ["logout"], tok,
     {"op": "logout", "token": tok})
case("logout: something that is no credential", 2, ["logout"],
     "hello world\n" + well_formed_sid, {"op": "logout", "session": "hello world"})
case("logout: an argument / an unknown member", 2, ["logout", "--all"], well_formed_sid,
     {"op": "logout", "session": well_formed_sid, "all": True})

# webhooks, signed here (Python's hmac), through authguard-webhook on the
# command line and authguard-token batch
import base64, hashlib, hmac
wh_key = base64.b64decode(E["WH_SECRET"][len("whsec_"):])
T0 = int(E["T0"])

def sign(mid, ts, body):
    mac = hmac.new(wh_key, f"{mid}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()

def event(typ, data_id, **extra):
    data = {"id": data_id}
    data.update(extra)
    return json.dumps({"data": data, "object": "event", "type": typ},
                      separators=(",", ":")).encode()

def hook(desc, status, op, mid, body, compare="same", mid2=None, body2=None, ts=T0,
         sig=None, cli_headers=None, headers=None):
    """A message through authguard-webhook OP (header lines) and as a batch
    request (a headers object); mid2/body2: the batch's own message."""
    mid2 = mid2 or mid
    body2 = body2 if body2 is not None else body
    h1 = cli_headers if cli_headers is not None else [
        f"svix-id: {mid}", f"svix-timestamp: {ts}", f"svix-signature: {sig or sign(mid, ts, body)}"]
    h2 = headers if headers is not None else {
        "svix-id": mid2, "svix-timestamp": str(ts),
        "svix-signature": sig or sign(mid2, ts, body2)}
    args = ["@webhook", op.split("_")[1]]
    for h in h1:
        args += ["--header", h]
    case(desc, status, args, body, {"op": op, "headers": h2, "body": body2.decode()}, compare)

hook("webhook receive: session.revoked (one message and session per mode)", 0,
     "webhook_receive", "msg_w1", event("session.revoked", "sess_W1", object="session"),
     "masked", "msg_w2", event("session.revoked", "sess_W2", object="session"))
hook("webhook receive: user.deleted (one message and user per mode)", 0, "webhook_receive",
     "msg_u1", event("user.deleted", "whu1", deleted=True), "masked", "msg_u2",
     event("user.deleted", "whu2", deleted=True))
hook("webhook receive: an event that is ignored (one message per mode)", 0, "webhook_receive",
     "msg_i1", event("email.created", "x"), "masked", "msg_i2", event("email.created", "x"))
hook("webhook receive: a replayed message", 1, "webhook_receive", "msg_replay",
     b'{"data":{"id":"x"},"object":"event","type":"email.created"}')
hook("webhook receive: a bad signature", 1, "webhook_receive", "msg_bad",
     event("session.revoked", "sess_L"), sig="v1," + base64.b64encode(b"x" * 32).decode())
hook("webhook receive: a stale timestamp", 1, "webhook_receive", "msg_old",
     event("session.revoked", "sess_L"), ts=T0 - 1000)
hook("webhook receive: no signature header", 1, "webhook_receive", "msg_ns",
     event("session.revoked", "sess_L"),
     cli_headers=["svix-id: msg_ns", f"svix-timestamp: {T0}"],
     headers={"svix-id": "msg_ns", "svix-timestamp": str(T0)})
body = event("session.revoked", "sess_L")
hook("webhook receive: svix-id given twice", 1, "webhook_receive", "msg_dup", body,
     cli_headers=["svix-id: msg_dup", "svix-id: msg_dup2", f"svix-timestamp: {T0}",
                  "svix-signature: " + sign("msg_dup", T0, body)],
     headers={"svix-id": ["msg_dup", "msg_dup2"], "svix-timestamp": str(T0),
              "svix-signature": sign("msg_dup", T0, body)})
hook("webhook receive: a header line without a colon (lines both ways)", 1, "webhook_receive",
     "msg_nc", body,
     cli_headers=["garbage", "svix-id: msg_nc", f"svix-timestamp: {T0}",
                  "svix-signature: " + sign("msg_nc", T0, body)],
     headers=["garbage", "svix-id: msg_nc", f"svix-timestamp: {T0}",
              "svix-signature: " + sign("msg_nc", T0, body)])
hook("webhook receive: a signed body that is no event", 1, "webhook_receive", "msg_nb",
     b"not json at all")
hook("webhook receive: a body over 1 MiB", 2, "webhook_receive", "msg_big",
     b"a" * (1024 * 1024 + 1))
case("webhook receive: an unknown option / headers of the wrong type", 2,
     ["@webhook", "receive", "--hedaer", "x"], "{}",
     {"op": "webhook_receive", "headers": 5, "body": "{}"})
case("webhook receive: no body at all (batch) / an argument too many", 2,
     ["@webhook", "receive", "extra"], "{}", {"op": "webhook_receive", "headers": {}})
hook("webhook verify: a good message (nothing recorded)", 0, "webhook_verify", "msg_v",
     event("session.revoked", "sess_L"))
hook("webhook verify: a bad signature", 1, "webhook_verify", "msg_v",
     event("session.revoked", "sess_L"), sig="v1," + base64.b64encode(b"y" * 32).decode())

for i, (desc, status, args, stdin, req, compare) in enumerate(cases, 1):
    with open(f"{d}/{i}.args", "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in args))
    with open(f"{d}/{i}.in", "wb") as f:
        if isinstance(stdin, bytes):
            f.write(stdin)  # a webhook body, byte for byte
        elif stdin is not None:
            f.write(stdin.encode() + b"\n")
    r = dict(req)
    r["id"] = i
    with open(f"{d}/{i}.req", "w") as f:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
    with open(f"{d}/{i}.meta", "w") as f:
        json.dump({"desc": desc, "status": status, "compare": compare,
                   "jti_case": (isinstance(stdin, str) and jti_r1 in stdin) or
                               jti_r1 in json.dumps(req)}, f)
print(len(cases))
EOF
n=$(ls "$AG_TMP/cases"/*.meta | wc -l)
ag_expect_true "the table has $n cases" test "$n" -ge 140

ag_say "each case on the command line (one process each), then all of them in one batch process"
for i in $(seq 1 "$n"); do
	args=()
	while IFS= read -r -d '' a; do args+=("$a"); done <"$AG_TMP/cases/$i.args"
	if [ "${args[0]}" = @webhook ]; then
		ag_helper "$WH_BIN" "${args[@]:1}"
	else
		ag_token "${args[@]}"
	fi <"$AG_TMP/cases/$i.in" >"$AG_TMP/cases/$i.out" 2>"$AG_TMP/cases/$i.err"
	echo $? >"$AG_TMP/cases/$i.rc"
done
for i in $(seq 1 "$n"); do cat "$AG_TMP/cases/$i.req"; done >"$AG_TMP/batch.in"
ag_token batch <"$AG_TMP/batch.in" >"$AG_TMP/batch.out" 2>"$AG_TMP/batch.err"
ag_expect_eq "batch: exit 0 at the end of the input, one answer per request" "0 $n" \
	"$? $(wc -l <"$AG_TMP/batch.out")"

# compare.py: one line per case, "ok DESC" or "not ok DESC<TAB>DETAIL".
AG_DAEMON=$AG_DAEMON ag_python - "$AG_TMP/cases" "$AG_TMP/batch.out" "$n" >"$AG_TMP/compare.out" <<'EOF'
import json, os, sys

d, batch_file, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
answers = open(batch_file).read().splitlines()
# A line over the limit is refused unread, so without its id: batch's
# limit, and through the daemon (AG_DAEMON=1) also authguardd's, which is
# smaller (64 KiB: authguardd(8), LIMITS AND TIMEOUTS).
too_long = ("request too long",)
if os.environ.get("AG_DAEMON") == "1":
    too_long += ("request line too long",)
MASK = ("token", "jti", "refresh_token", "session", "set_cookie", "sid", "attempt", "message_id")

def mask(v):
    if isinstance(v, dict):
        return {k: ("<random>" if k in MASK else mask(x)) for k, x in v.items()}
    return v

for i in range(1, n + 1):
    meta = json.load(open(f"{d}/{i}.meta"))
    desc, want = meta["desc"], meta["status"]
    rc = int(open(f"{d}/{i}.rc").read())
    out = open(f"{d}/{i}.out").read().strip()
    bad = []
    try:
        ans = json.loads(answers[i - 1])
    except (IndexError, ValueError):
        print(f"not ok {desc}\tno batch answer")
        continue
    st = ans.pop("status", None)
    aid = ans.pop("id", None)
    if rc != want:
        bad.append(f"command line: exit {rc}, expected {want}")
    if st != want:
        bad.append(f"batch: status {st}, expected {want}")
    if aid != i and not (want == 2 and aid is None and ans.get("message") in too_long):
        bad.append(f"batch: id {aid!r}, expected {i}")
    if out == "":
        if rc != 2:
            bad.append("command line: nothing on stdout, but not a usage error")
        if ans.get("error") != "usage":
            bad.append(f"batch: {ans} where the command line has a usage error")
    else:
        try:
            one = json.loads(out)
        except ValueError:
            one = out
        # a webhook answer's "id" is its message id; in batch mode "id" is
        # the request's, and message_id has the message id
        if isinstance(one, dict) and "message_id" in one:
            one.pop("id", None)
        a, b = (mask(one), mask(ans)) if meta["compare"] == "masked" else (one, ans)
        if a != b:
            bad.append(f"answers differ: command line {json.dumps(a)[:300]} / batch {json.dumps(b)[:300]}")
    if bad:
        print(f"not ok {desc}\t" + " | ".join(bad))
    else:
        print(f"ok {desc}")
EOF
# A jti is no secret (the log names it), but the secret scan at the end
# takes whatever a request carries as "token" for one: the requests that
# carry a bare jti go now that they have been compared.
grep -l '"jti_case": true' "$AG_TMP/cases"/*.meta | sed 's/\.meta$//' | while read -r f; do
	rm -f "$f.req" "$f.in"
done
rm -f "$AG_TMP/batch.in"
while IFS=$'\t' read -r res detail; do
	case $res in
	"ok "*) ag_pass "same status and answer both ways: ${res#ok }" ;;
	*) ag_fail "same status and answer both ways: ${res#not ok }" "$detail" ;;
	esac
done <"$AG_TMP/compare.out"
ag_expect_eq "every case compared" "$n" "$(wc -l <"$AG_TMP/compare.out")"

ag_say "the states both modes leave agree: a refresh, a family revocation, a mismatch"
ag_run_token session check --user-agent UA-3 <<<"$S_MM1"
ag_expect_eq "the session of the command line's mismatch has ended (unknown)" "1 unknown" \
	"$AG_RC $(field "$AG_JSON" reason)"
ag_run_token session check --user-agent UA-3 <<<"$S_MM2"
ag_expect_eq "... and so has the batch's" "1 unknown" "$AG_RC $(field "$AG_JSON" reason)"
ag_run_token refresh <<<"$RT_F1"
ag_expect_eq "the family revoked on the command line is revoked" "1 revoked" \
	"$AG_RC $(field "$AG_JSON" reason)"
ag_run_token refresh <<<"$RT_F2"
ag_expect_eq "... and so is the batch's" "1 revoked" "$AG_RC $(field "$AG_JSON" reason)"

ag_say "the states both modes leave agree: rotations, logouts, a webhook, ends"
# states: what each mode's input left, one word each, command line / batch
states() {
	local a b
	for a in "$@"; do
		b=$(eval "$a")
		printf '%s ' "$b"
	done | sed 's/ $//'
}
st_session() { ag_run_token session check --user-agent "$2" <<<"$1"; printf '%s' "$(field "$AG_JSON" reason)"; }
st_verify() { ag_run_token verify <<<"$1"; printf '%s' "$(field "$AG_JSON" reason)"; }
st_refresh() { ag_run_token refresh <<<"$1"; printf '%s' "$(field "$AG_JSON" reason)"; }
st_list() { ag_run_token session list --user "$1"; ag_python -c '
import json, sys
print(len(json.loads(sys.argv[1])["sessions"]))' "$AG_JSON"; }
ag_expect_eq "rotated: the old ids are gone" "unknown unknown" \
	"$(states 'st_session "$R1" UA-R' 'st_session "$R2" UA-R')"
ag_expect_eq "logged out: sessions gone, access tokens revoked, refresh families revoked" \
	"unknown unknown revoked revoked revoked revoked" \
	"$(states 'st_session "$LO1" UA-O' 'st_session "$LO2" UA-O' 'st_verify "$LT1"' \
		'st_verify "$LT2"' 'st_refresh "$LR1"' 'st_refresh "$LR2"')"
ag_expect_eq "logged out in another order: the same" "unknown unknown revoked revoked" \
	"$(states 'st_session "$LO5" UA-O' 'st_session "$LO6" UA-O' 'st_verify "$LT5"' \
		'st_verify "$LT6"')"
ag_expect_eq "the access token sent to logout without a session id still verifies" "0 valid" \
	"$(st_verify "$TOK" >/dev/null; ag_run_token verify <<<"$TOK"; echo "$AG_RC valid")"
ag_expect_eq "the webhooks ended the Clerk-linked sessions and the deleted users' sessions" \
	"0 0 0 0" "$(states 'st_list wh1' 'st_list wh2' 'st_list whu1' 'st_list whu2')"
ag_expect_eq "session end by id and by handle ended ender's 4 sessions; by user eu1's and eu2's" \
	"0 0 0" "$(states 'st_list ender' 'st_list eu1' 'st_list eu2')"
ag_expect_eq "each session create stored one session per mode" "2 2 2" \
	"$(states 'st_list maker1' 'st_list maker2' 'st_list maker3')"

ag_say "logout: two lines of the same kind are refused, nothing is revoked"
read -r LO7 LT7 _ < <(login lo7)
ag_run_token logout < <(printf '%s\n%s\n' "$LO7" "$LO7")
ag_expect_eq "two session ids: exit 2, nothing on stdout" "2 " "$AG_RC $AG_JSON"
ag_expect_out "... saying so" "two lines of the same kind"
ag_run_token logout < <(printf '%s\n%s\n%s\n' "$LO7" "$LT7" "$LT7")
ag_expect_eq "two access tokens: exit 2" 2 "$AG_RC"
ag_expect_eq "... and the session and its token still live" "0 0" \
	"$(ag_run_token verify <<<"$LT7"; printf '%s ' "$AG_RC"
	   ag_run_token session check --user-agent UA-O <<<"$LO7"; printf '%s' "$AG_RC")"

ag_say "the input limit follows token_max_len (20000: too_large up to 40000 bytes)"
conf_main=$AG_CONF
ag_conf big "token_keys_dir = $AG_TMP/tkeys" "token_issuer = $ISS" "token_audience = $AUD" \
	"token_max_len = 20000"
bad=()
for len_st in 20001:1 40000:1 40001:2 90000:2; do
	len=${len_st%%:*}
	ag_python -c 'import sys; print("A" * int(sys.argv[1]))' "$len" >"$AG_TMP/long.in"
	ag_token verify <"$AG_TMP/long.in" >"$AG_TMP/long.out" 2>/dev/null
	rc=$?
	ag_python -c 'import sys; print("{\"id\":1,\"op\":\"verify\",\"token\":\"" + "A" * int(sys.argv[1]) + "\"}")' \
		"$len" | ag_token batch >"$AG_TMP/long.bout" 2>/dev/null
	st=$(field "$(cat "$AG_TMP/long.bout")" status)
	why=$(field "$(cat "$AG_TMP/long.out")" reason)
	bwhy=$(field "$(cat "$AG_TMP/long.bout")" reason)
	[ "$rc $st" = "${len_st#*:} ${len_st#*:}" ] || bad+=("$len bytes: exit $rc, batch status $st")
	[ "$rc" != 1 ] || [ "$why $bwhy" = "too_large too_large" ] || bad+=("$len bytes: $why / $bwhy")
done
rm -f "$AG_TMP/long.in"
ag_expect_eq "20001 and 40000 bytes: too_large (1); 40001 and 90000: usage (2); both modes" "" \
	"${bad[*]:-}"
AG_CONF=$conf_main

# ============================================================= the envelope

ag_say "batch: id only a number or a bounded string; never echoed otherwise"
read -r _ RT_V < <(issue_rt victim)
ag_python - "$RT_V" >"$AG_TMP/ids.in" <<'EOF'
import json, sys
rt = sys.argv[1]
deep = "[" * 1000 + "]" * 1000
lines = [
    '{"id":%s,"op":"revoke","refresh_token":"%s","family":true}' % (deep, rt),
    '{"id":{"a":1},"op":"jwks"}',
    '{"id":null,"op":"jwks"}',
    '{"id":true,"op":"jwks"}',
    '{"id":["x"],"op":"jwks"}',
    json.dumps({"id": "i" * 257, "op": "jwks"}),
    json.dumps({"id": "i" * 256, "op": "jwks"}),
    '{"id":"","op":"jwks"}',
    '{"id":-7,"op":"jwks"}',
    '{"id":1.5,"op":"jwks"}',
    '{"id":9007199254740993,"op":"jwks"}',
    '{"op":"jwks"}',
]
print("\n".join(lines))
EOF
ag_token batch <"$AG_TMP/ids.in" >"$AG_TMP/ids.out" 2>"$AG_TMP/ids.err"
ag_expect_eq "batch exits 0 and answers all 12 requests" "0 12" "$? $(wc -l <"$AG_TMP/ids.out")"
ag_expect_eq "each answer's status and id (<none>: not echoed)" \
	"2:<none> 2:<none> 2:<none> 2:<none> 2:<none> 2:<none> 0:i*256 0:'' 0:-7 0:1.5 0:9007199254740993 0:<none>" \
	"$(ag_python -c '
import json, sys
out = []
for l in open(sys.argv[1]):
    a = json.loads(l)
    i = a.get("id", None)
    if i is None:
        i = "<none>"
    elif isinstance(i, str):
        i = "i*%d" % len(i) if i else "\x27\x27"
    out.append("%s:%s" % (a["status"], i))
print(" ".join(out))' "$AG_TMP/ids.out")"
ag_expect_true "... the refused answers are short (nothing of the id in them)" \
	eval '! head -n 6 "$AG_TMP/ids.out" | grep -q -e "\[\[" -e "iiii" -e "{\"a\""'
ag_expect_true "... the refused ones say why (\"id must be ...\")" \
	eval '[ "$(head -n 6 "$AG_TMP/ids.out" | grep -c "\"message\":\"id must be")" = 6 ]'
rm -f "$AG_TMP/ids.in" # (a 1,000-deep array is too deep for the secret scan's parser)
ag_run_token refresh <<<"$RT_V"
ag_expect_eq "the request with a 1,000-deep id was not carried out: its family still refreshes" \
	0 "$AG_RC"

ag_say "batch: a line over the limit is dropped, not held, and the next line is answered"
ag_python -c '
import sys
sys.stdout.write("{\"id\":1,\"op\":\"verify\",\"token\":\"" + "A" * (32 << 20) + "\"}\n")
sys.stdout.write("{\"id\":2,\"op\":\"jwks\"}\n")' >"$AG_TMP/huge.in"
ag_preload
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%M' -o "$AG_TMP/huge.rss")
${timer[@]+"${timer[@]}"} env LD_PRELOAD="$ag_preload" \
	AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
	"$AG_TOKEN_BIN" --conf "$AG_CONF" batch <"$AG_TMP/huge.in" >"$AG_TMP/huge.out" \
	2>"$AG_TMP/huge.err"
ag_expect_eq "a 32 MiB line: status 2, request too long, no id; then jwks answered (id 2)" \
	"2 request too long <missing> / 0 2" \
	"$(field "$(sed -n 1p "$AG_TMP/huge.out")" status) $(field "$(sed -n 1p "$AG_TMP/huge.out")" message) $(field "$(sed -n 1p "$AG_TMP/huge.out")" id) / $(field "$(sed -n 2p "$AG_TMP/huge.out")" status) $(field "$(sed -n 2p "$AG_TMP/huge.out")" id)"
if [ ${#timer[@]} = 0 ]; then
	ag_say "/usr/bin/time not found: the peak resident size is NOT checked"
elif [ -n "$AG_PRELOAD_EXTRA" ]; then
	ag_say "a sanitizer runtime is preloaded: the peak resident size is NOT checked"
else
	ag_expect_le "... with a peak resident size under 16 MiB (the line is never held whole)" \
		16384 "$(tail -n 1 "$AG_TMP/huge.rss")"
fi
rm -f "$AG_TMP/huge.in"

ag_say "batch: unknown members and wrong types are refused, the request not carried out"
read -r _ RT_W < <(issue_rt wendy)
{
	printf '%s\n' "{\"id\":1,\"op\":\"revoke\",\"refresh_token\":\"$RT_W\",\"famly\":true}"
	printf '%s\n' "{\"id\":2,\"op\":\"revoke\",\"token\":\"$RT_W\",\"family\":true}"
	printf '%s\n' '{"id":3,"op":"revoke","user":"wendy","family":true}'
	printf '%s\n' '{"id":4,"op":7}'
	printf '%s\n' '{"id":5,"op":"verify","token":"x.y.z"}'
} >"$AG_TMP/members.in"
ag_token batch <"$AG_TMP/members.in" >"$AG_TMP/members.out" 2>/dev/null
ag_expect_eq "statuses 2 2 2 2, then the process still answers (1)" "1:2 2:2 3:2 4:2 5:1" \
	"$(while IFS= read -r l; do printf '%s:%s ' "$(field "$l" id)" "$(field "$l" status)"; done \
		<"$AG_TMP/members.out" | sed 's/ $//')"
ag_expect_eq "... the message names the unknown member" \
	'unknown member "famly" for op revoke' "$(field "$(sed -n 1p "$AG_TMP/members.out")" message)"
ag_run_token refresh <<<"$RT_W"
ag_expect_eq "... and wendy's family was not revoked by any of them" 0 "$AG_RC"

ag_done
