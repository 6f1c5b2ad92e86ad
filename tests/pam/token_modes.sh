#!/bin/bash
# authguard-token's batch mode agrees with its one-shot commands: one table
# of inputs -- good, empty, too long, malformed, unknown, of the wrong
# type -- goes through each command line (one process per input, the
# secret on stdin) and through one batch process (one request line each),
# and every pair must give the same status, the status the table expects,
# and the same JSON answer (the batch answer without its "id" and
# "status").  Where the command line prints nothing on standard output (a
# usage error of its arguments or of stdin), the batch answer is an
# "error":"usage" object.  Inputs that change the state (a refresh, the
# revocation of a family, a fingerprint mismatch that ends a session) get
# two equivalent inputs, one per mode, and their answers are compared with
# the random members (token, jti, refresh_token) masked.
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
ag_conf modes "token_keys_dir = $AG_TMP/tkeys" "token_issuer = $ISS" "token_audience = $AUD" \
	"token_audiences = api2.example.test"
ag_run_ctl keygen
[ "$AG_RC" = 0 ] || ag_bail "authguard-ctl keygen: $AG_OUT"

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

# The table, written by Python: for case N, $AG_TMP/cases/N.args (the
# command line, NUL-separated), N.in (its stdin), N.req (the batch
# request, id N) and N.meta (description, expected status, comparison).
mkdir "$AG_TMP/cases"
export TOK TOK_REV TOK_EXP TOK_R1 TOK_R2 UAH S_HASH RT_A RT_B RT_F1 RT_F2 S_OK H_OK S_ATTR S_MM1 S_MM2
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

for i, (desc, status, args, stdin, req, compare) in enumerate(cases, 1):
    with open(f"{d}/{i}.args", "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in args))
    with open(f"{d}/{i}.in", "wb") as f:
        if stdin is not None:
            f.write(stdin.encode() + b"\n")
    r = dict(req)
    r["id"] = i
    with open(f"{d}/{i}.req", "w") as f:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
    with open(f"{d}/{i}.meta", "w") as f:
        json.dump({"desc": desc, "status": status, "compare": compare,
                   "jti_case": jti_r1 in (stdin or "") or jti_r1 in json.dumps(req)}, f)
print(len(cases))
EOF
n=$(ls "$AG_TMP/cases"/*.meta | wc -l)
ag_expect_true "the table has $n cases" test "$n" -ge 60

ag_say "each case on the command line (one process each), then all of them in one batch process"
for i in $(seq 1 "$n"); do
	args=()
	while IFS= read -r -d '' a; do args+=("$a"); done <"$AG_TMP/cases/$i.args"
	ag_token "${args[@]}" <"$AG_TMP/cases/$i.in" >"$AG_TMP/cases/$i.out" 2>"$AG_TMP/cases/$i.err"
	echo $? >"$AG_TMP/cases/$i.rc"
done
for i in $(seq 1 "$n"); do cat "$AG_TMP/cases/$i.req"; done >"$AG_TMP/batch.in"
ag_token batch <"$AG_TMP/batch.in" >"$AG_TMP/batch.out" 2>"$AG_TMP/batch.err"
ag_expect_eq "batch: exit 0 at the end of the input, one answer per request" "0 $n" \
	"$? $(wc -l <"$AG_TMP/batch.out")"

# compare.py: one line per case, "ok DESC" or "not ok DESC<TAB>DETAIL".
ag_python - "$AG_TMP/cases" "$AG_TMP/batch.out" "$n" >"$AG_TMP/compare.out" <<'EOF'
import json, sys

d, batch_file, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
answers = open(batch_file).read().splitlines()
MASK = ("token", "jti", "refresh_token", "session", "set_cookie")

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
    if aid != i and not (want == 2 and aid is None and ans.get("message") == "request too long"):
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
