#!/bin/bash
# authguard-ctl status and sessions show every subject, whatever bytes its
# name holds, and say what a limited list left out:
#
#  - a PAM attempt as user spray\xffuser (not UTF-8) from 10.77.0.1 and a
#    locked \xc0\xafadmin (an overlong '/') appear in status --json (parsed
#    by Python's json) with their exact bytes in subject_hex, a printable
#    subject, and in the text output; status --json --ip 10.77.0.1 and
#    status --json USER exit 0;
#  - the text and the JSON list the same subjects (compared entry by entry
#    through the documented escapes), and a UTF-8 name that merely looks
#    like an escape stays apart from the bytes it spells;
#  - with more subjects than --limit, the current lock is listed first and
#    the rest is counted (text and JSON);
#  - sessions --json and the text show a PAM session of a non-UTF-8 user
#    from a non-UTF-8 service and host; authguard-token session create refuses a non-UTF-8 --user (exit 2)
#    before storing anything, and session list echoes such a user encoded.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 (the command-line shell) not found (apt-get install sqlite3)"
ag_init

SPRAY=$'spray\xffuser'
ADMIN=$'\xc0\xafadmin'
LOOKALIKE='spray\xffuser' # valid UTF-8: a real backslash, x, f, f

ag_setup sj "delay_base = 0" "deny = 3"

# names JSON: the subjects of a status --json list (or of one subject) as
# "kind hex-of-the-bytes" lines, sorted; the bytes come from subject_hex when
# present, else from subject (UTF-8).  Also checks, for every entry with
# subject_hex, that subject reads back to the same bytes through the
# documented \xHH escapes and that subject alone without _hex is UTF-8.
names() {
	ag_python -c '
import json, re, sys
d = json.loads(sys.argv[1])
subs = d["subjects"] if isinstance(d, dict) and "subjects" in d else [d]
out = []
for e in subs:
    if "subject_hex" in e:
        raw = bytes.fromhex(e["subject_hex"])
        back = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                      e["subject"].encode("utf-8"))
        if back != raw:
            print("BAD-ESCAPE", e["subject"]); continue
    else:
        raw = e["subject"].encode("utf-8")
    out.append("%s %s" % (e["kind"], raw.hex()))
print("\n".join(sorted(out)))
' "$1"
}

# text_names TEXT: the same lines from the text output: "account NAME: ..."
# with NAME in the log escapes (\xHH for anything outside [A-Za-z0-9._@:/+-]).
text_names() {
	ag_python -c '
import re, sys
out = []
for line in sys.argv[1].splitlines():
    m = re.match(r"^(account|host) (\S+): ", line)
    if not m:
        continue
    raw = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                 m.group(2).encode("ascii"))
    out.append("%s %s" % (m.group(1), raw.hex()))
print("\n".join(sorted(out)))
' "$1"
}

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

ag_say "non-UTF-8 names through a real PAM stack"
AG_RHOST=10.77.0.1
ag_attempt "$(ag_show "$SPRAY") from 10.77.0.1: wrong password checked and refused" "$SPRAY" "$AG_WRONG" 1 1
AG_RHOST=10.77.0.2
for i in 1 2 3; do
	ag_attempt "$(ag_show "$ADMIN") attempt $i from 10.77.0.2: refused" "$ADMIN" "$AG_WRONG" 1 1
done
ag_attempt "$(ag_show "$ADMIN") is now locked: not checked" "$ADMIN" "$AG_RIGHT" 1 0
AG_RHOST=10.77.0.3
ag_attempt "a UTF-8 name that looks like an escape: refused" "$LOOKALIKE" "$AG_WRONG" 1 1

EXPECTED=$(printf '%s\n' "account $(hex "$SPRAY")" "account $(hex "$ADMIN")" \
	"account $(hex "$LOOKALIKE")" "host $(hex 10.77.0.1)" "host $(hex 10.77.0.2)" \
	"host $(hex 10.77.0.3)" | sort)

ag_run_ctl status --json
ag_expect_eq "status --json exits 0" 0 "$AG_RC"
ag_expect_eq "status --json: every subject is listed, bytes exact" "$EXPECTED" "$(names "$AG_JSON")"
ag_expect_eq "status --json: omitted 0, limit 10000" "0 10000" \
	"$(ag_jget "$AG_JSON" omitted) $(ag_jget "$AG_JSON" limit)"
JSON_LIST=$AG_JSON
ag_run_ctl status
ag_expect_eq "status (text) exits 0" 0 "$AG_RC"
ag_expect_eq "status (text) lists the same subjects as the JSON" "$(names "$JSON_LIST")" "$(text_names "$AG_JSON")"
ag_expect_eq "status (text): one line per subject" 6 "$(printf '%s\n' "$AG_JSON" | wc -l | tr -d ' ')"

ag_expect_eq "the locked non-UTF-8 account comes first, locked" \
	"$(hex "$ADMIN") true" \
	"$(ag_jget "$JSON_LIST" subjects.0.subject_hex) $(ag_jget "$JSON_LIST" subjects.0.locked)"
ag_expect_eq "its printable subject escapes the bad bytes" '\xc0\xafadmin' \
	"$(ag_jget "$JSON_LIST" subjects.0.subject)"

ag_run_ctl status --json --ip 10.77.0.1
ag_expect_eq "status --json --ip 10.77.0.1 exits 0" 0 "$AG_RC"
ag_expect_eq "...its last_source is the non-UTF-8 account, exact in last_source_hex" \
	"$(hex "$SPRAY") spray\\xffuser" \
	"$(ag_jget "$AG_JSON" last_source_hex) $(ag_jget "$AG_JSON" last_source)"

ag_run_ctl status --json "$SPRAY"
ag_expect_eq "status --json USER (not UTF-8) exits 0" 0 "$AG_RC"
ag_expect_eq "...with the exact bytes and 1 failure" "account $(hex "$SPRAY") 1" \
	"$(names "$AG_JSON") $(ag_jget "$AG_JSON" failures)"

ag_run_ctl status --json "$LOOKALIKE"
ag_expect_eq "the look-alike UTF-8 name: subject as it is, no subject_hex" \
	"0 spray\\xffuser <missing>" \
	"$AG_RC $(ag_jget "$AG_JSON" subject) $(ag_jget "$AG_JSON" subject_hex)"

ag_say "a spray of more names than --limit cannot hide the lock"
AG_NOW=$((AG_T0 + 60))
for i in $(seq 1 12); do
	ag_token guard failure --subject "spray$i@example.com" --ip "198.51.100.$i" >/dev/null 2>&1 ||
		ag_fail "guard failure spray$i" "exit $?"
done
ag_run_ctl status --json --limit 5
ag_expect_eq "status --json --limit 5 exits 0" 0 "$AG_RC"
ag_expect_eq "5 listed, the lock first, 25 omitted, limit 5" "5 $(hex "$ADMIN") 25 5" \
	"$(ag_python -c 'import json,sys; print(len(json.loads(sys.argv[1])["subjects"]))' "$AG_JSON") $(ag_jget "$AG_JSON" subjects.0.subject_hex) $(ag_jget "$AG_JSON" omitted) $(ag_jget "$AG_JSON" limit)"
ag_run_ctl status --limit 5
ag_expect_eq "status --limit 5 (text): 5 subjects and a line saying 25 more" \
	"5 1" \
	"$(text_names "$AG_JSON" | wc -l | tr -d ' ') $(grep -c '^\.\.\. and 25 more not shown' <<<"$AG_JSON")"
ag_expect_eq "...the first text line is the lock" "account \\xc0\\xafadmin:" \
	"$(head -n 1 <<<"$AG_JSON" | cut -d' ' -f1-2)"
ag_run_ctl status --json --limit 0
ag_expect_eq "--limit 0: all 30, none omitted, limit null" "30 0 null" \
	"$(ag_python -c 'import json,sys; print(len(json.loads(sys.argv[1])["subjects"]))' "$AG_JSON") $(ag_jget "$AG_JSON" omitted) $(ag_jget "$AG_JSON" limit)"
ag_run_ctl status --limit x
ag_expect_eq "--limit x: usage error" 2 "$AG_RC"
ag_run_ctl status --limit 3 alice
ag_expect_eq "--limit with a user: usage error" 2 "$AG_RC"

ag_say "sessions: a PAM session of a non-UTF-8 user, service and host"
SESS_SVC=$'s\xfev'
cat >"$AG_TMP/svc/$SESS_SVC" <<EOF
session required $AG_MODULE conf=$AG_CONF
EOF
chmod 644 "$AG_TMP/svc/$SESS_SVC"
SAVE_SVC=$AG_SVC
AG_SVC=$SESS_SVC
AG_RHOST=$'h\xfdst'
SESS_USER=$'ses\xffsion'
ag_pam "$SESS_USER" - open_session
ag_expect_eq "pamtester open_session as a non-UTF-8 user: exit 0" 0 "$AG_RC"
AG_SVC=$SAVE_SVC
ag_run_ctl sessions --json
ag_expect_eq "sessions --json exits 0" 0 "$AG_RC"
# The module stores service, tty and rhost log-escaped (printable ASCII);
# the user name as it is.
GOT=$(ag_python -c '
import json, sys
for e in json.loads(sys.argv[1]):
    if e["kind"] != "pam": continue
    u = bytes.fromhex(e["user_hex"]) if "user_hex" in e else e["user"].encode()
    print(u.hex(), e["service"], e["rhost"])
' "$AG_JSON")
ag_expect_eq "...the session is listed with its exact user (service and host as stored)" \
	"$(hex "$SESS_USER") s\\xfev h\\xfdst" "$GOT"
ag_run_ctl sessions
ag_expect_eq "sessions (text) lists it, escaped" "0 1" \
	"$AG_RC $(grep -Ec '^pam +ses\\xffsion +s\\xfev +tty=[^ ]+ rhost=h\\xfdst ' <<<"$AG_JSON")"
if printf '%s' "$AG_JSON" | LC_ALL=C grep -q '[^[:print:][:space:]]'; then
	ag_fail "sessions (text): no raw non-printable byte" "$(printf '%s' "$AG_JSON" | od -c | head -n 3)"
else
	ag_pass "sessions (text): no raw non-printable byte"
fi

ag_say "authguard-token: a non-UTF-8 web user is refused before anything is stored"
ag_run_token session create --user $'al\xffice' --user-agent 'UA/1.0'
ag_expect_eq "session create --user al\\xffice: exit 2, no JSON" "2 " "$AG_RC $AG_JSON"
ag_expect_eq "...and no web session stored" 0 "$(ag_sql 'SELECT count(*) FROM web_session')"
ag_run_token session list --user $'al\xffice'
ag_expect_eq "session list --user al\\xffice with folding (the default): exit 2, no JSON" "2 " \
	"$AG_RC $AG_JSON"
# Without folding a web user is any bytes the backend passes, and the
# answer must still name it exactly.
ag_conf nofold "web_subject_fold = no"
if ag_direct_only "session list of a user that is not UTF-8, without folding" \
	"the daemon's requests are JSON text, as batch mode's: the helper refuses it (exit 2)"; then
	ag_run_token session list --user $'al\xffice'
	ag_expect_eq "session list --user al\\xffice without folding: exit 0, the user echoed exactly" \
		"0 $(hex $'al\xffice') 0" \
		"$AG_RC $(ag_jget "$AG_JSON" user_hex) $(ag_python -c 'import json,sys; print(len(json.loads(sys.argv[1])["sessions"]))' "$AG_JSON")"
fi

ag_done
