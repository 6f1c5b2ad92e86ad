#!/bin/bash
# authguard-enroll end to end: enrollment as root with --user, the JSON
# output, confirmation with codes computed by oathtool (an implementation
# nobody here wrote), backup codes, the QR code as PNG, SVG and terminal
# text decoded by zbarimg to exactly the key URI, the raw state holding no
# secret, status / regenerate / reset, hostile account names and input, the
# rules for non-root callers and the setgid privilege drop.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"

AG_ENROLL_BIN=${AG_ENROLL_BIN:-$top_builddir/helpers/authguard-enroll}
TEXT2PNG=$top_srcdir/tests/interop/text2png.py

for tool in oathtool zbarimg rsvg-convert sqlite3; do
	command -v "$tool" >/dev/null 2>&1 ||
		ag_skip "$tool not installed (scripts/install-deps.sh installs it)"
done
ag_init
[ -x "$AG_ENROLL_BIN" ] || ag_bail "helper not built: $AG_ENROLL_BIN (run make)"

# ------------------------------------------------------------- helpers

# run_enroll ARGS... (stdin as given): authguard-enroll on AG_CONF; sets
# AG_RC, AG_JSON (stdout), AG_OUT (stderr) and the log mark.
run_enroll() {
	local errf=$AG_TMP/enroll.err
	AG_LOG_MARK=$(ag_log_lines)
	AG_JSON=$(ag_helper "$AG_ENROLL_BIN" "$@" 2>"$errf")
	AG_RC=$?
	AG_OUT=$(cat "$errf")
	printf '%s\n' "$AG_JSON" >>"$AG_TMP/stdout.all" # TOTP secrets, backup codes
	ag_check_sanitizer "$AG_OUT" "authguard-enroll $*"
	return 0
}

# totp SECRET [OFFSET]: the code oathtool computes at AG_NOW + OFFSET.
totp() {
	oathtool --totp -b -N "@$((AG_NOW + ${2:-0}))" "$1"
}

# wrong_code SECRET: a 6-digit code that matches no step in the window.
wrong_code() {
	local near c
	near=" $(totp "$1" -30) $(totp "$1") $(totp "$1" 30) "
	for c in 000000 111111 222222 333333; do
		case $near in
		*" $c "*) ;;
		*) printf '%s\n' "$c"; return ;;
		esac
	done
}

# expect_rc DESC RC: the last command's exit status.
expect_rc() {
	if [ "$AG_RC" = "$2" ]; then
		ag_pass "$1"
	else
		ag_fail "$1" "expected exit $2, got $AG_RC" \
			"stdout: $(printf '%s' "$AG_JSON" | cut -c1-300)" \
			"stderr: $(printf '%s' "$AG_OUT" | cut -c1-300)"
	fi
}

# expect_json DESC FIELD=VALUE...: fields of AG_JSON.
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
		ag_fail "$desc" "${bad[@]}" "json: $(printf '%s' "$AG_JSON" | cut -c1-300)"
	fi
}

# mfa_status USER FIELD=VALUE...: authguard-enroll --status --json.
expect_mfa_status() {
	local desc=$1 user=$2
	shift 2
	run_enroll --user "$user" --status --json </dev/null
	expect_json "$desc" "$@"
}

# decode IMAGE: what zbarimg reads in it.
decode() {
	zbarimg --raw -q --nodbus "$1" 2>/dev/null || printf '(no code found)'
}

dump() {
	ag_sql_dump
}

# Terminal QR lines of a human-readable output: UTF-8 (half blocks and
# spaces) or ASCII ("#" and spaces), whole lines only.
qr_lines() { # utf8|ascii FILE
	ag_python -c '
import re, sys
pat = {"utf8": "^[ \u2580\u2584\u2588]+$", "ascii": "^[# ]+$"}[sys.argv[1]]
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f.read().split("\n"):
        if re.match(pat, line) and len(line) >= 21:
            print(line)
' "$1" "$2"
}

# ------------------------------------------------------------- set-up

# deny = 50: the many refused codes below must not lock the accounts
# (locking is checked on a configuration of its own).
ag_setup enr "secrets_key = $AG_TMP/keys/secrets.key" "totp_issuer = Example Co" "deny = 50"
ag_expect_true "authguard-ctl init created the secrets key" test -s "$AG_TMP/keys/secrets.key"

# ------------------------------------------------------------- enrollment

ag_say "start an enrollment as root for alice (--json)"
run_enroll --user alice --json </dev/null
expect_rc "start: exit 0" 0
S=$(ag_jget "$AG_JSON" secret)
URI=$(ag_jget "$AG_JSON" uri)
expect_json "start: account, issuer and expiry" account=alice "issuer=Example Co" \
	"expires=$((AG_NOW + 600))"
ag_expect_true "the secret is 32 characters of unpadded Base32 that decode to 160 bits" \
	ag_python -c '
import base64, re, sys
s = sys.argv[1]
assert re.fullmatch("[A-Z2-7]{32}", s), s
assert len(base64.b32decode(s)) == 20' "$S"
ag_expect_eq "the key URI has Google Authenticator's format" \
	"otpauth://totp/Example%20Co:alice?secret=$S&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30" \
	"$URI"
ag_expect_true "the JSON carries an SVG document" \
	test "$(ag_jget "$AG_JSON" svg | head -c 5)" = "<svg "
ag_expect_log "mfa_enroll_started is logged" 'event=mfa_enroll_started user=alice expires='
expect_mfa_status "status: pending, not enrolled" alice enrolled=false pending=true \
	"pending_expires=$((AG_NOW + 600))" enrolled_at=null backup_codes_left=0

ag_say "a pending enrollment grants nothing"
ag_run_token mfa verify --user alice <<<"$(totp "$S")"
ag_expect_eq "authguard-token mfa verify with the pending secret's code: refused" 1 "$AG_RC"
ag_expect_eq "... as not enrolled" not_enrolled "$(ag_jget "$AG_JSON" reason)"

ag_say "wrong and malformed codes are refused; the enrollment stays pending"
run_enroll --user alice --confirm --json <<<"$(wrong_code "$S")"
expect_rc "confirm with a wrong code: exit 1" 1
expect_json "... enrolled false, reason wrong" account=alice enrolled=false reason=wrong
run_enroll --user alice --confirm --json <<<"12ab56"
expect_rc "confirm with a malformed code: exit 1" 1
expect_json "... reason malformed" enrolled=false reason=malformed
expect_mfa_status "status after refused codes: still pending, not enrolled" alice \
	enrolled=false pending=true backup_codes_left=0

state0=$(dump)
run_enroll --user alice --confirm --json < <(head -c 102400 /dev/zero | tr '\0' 7; echo)
expect_rc "a 100 KiB line on stdin: exit 2" 2
ag_expect_eq "... and the state is unchanged" "$state0" "$(dump)"
run_enroll --user alice --confirm --json </dev/null
expect_rc "no code on stdin: exit 2" 2
run_enroll --user alice --confirm --json <<<""
expect_rc "an empty line: exit 2" 2
run_enroll --user alice --confirm --json < <(printf '123'; printf '\0'; printf '456\n')
expect_rc "a NUL byte in the code: exit 2" 2
ag_expect_eq "... and the state is unchanged" "$state0" "$(dump)"

ag_say "the code oathtool computes confirms"
CODE=$(totp "$S")
run_enroll --user alice --confirm --json <<<"$CODE"
expect_rc "confirm with oathtool's code: exit 0" 0
expect_json "... enrolled true" account=alice enrolled=true
CODES=$(ag_jget "$AG_JSON" backup_codes | ag_python -c '
import json, sys
print("\n".join(json.load(sys.stdin)))')
ag_expect_eq "10 backup codes" 10 "$(printf '%s\n' "$CODES" | grep -c .)"
ag_expect_eq "... all different" 10 "$(printf '%s\n' "$CODES" | sort -u | grep -c .)"
ag_expect_eq "... each XXXX-XXXX-XXXX in the unambiguous alphabet" 10 \
	"$(printf '%s\n' "$CODES" | grep -cE '^[2-9ABCDEFGHJKMNPQRSTVWXYZ]{4}(-[2-9ABCDEFGHJKMNPQRSTVWXYZ]{4}){2}$')"
ag_expect_log "mfa_enrolled is logged" 'event=mfa_enrolled user=alice backup_codes=10'
expect_mfa_status "status: enrolled now, 10 backup codes" alice enrolled=true pending=false \
	pending_expires=null "enrolled_at=$AG_NOW" backup_codes_left=10

ag_run_token mfa verify --user alice <<<"$CODE"
ag_expect_eq "the code that confirmed cannot be used again (replay)" \
	"1 replayed" "$AG_RC $(ag_jget "$AG_JSON" reason)"

ag_say "the raw state holds neither the secret nor a backup code"
grouped=$(printf '%s' "$S" | sed 's/..../& /g; s/ $//')
# The dump writes blobs in hex: the raw secret must not be there either.
hex=$(ag_python -c 'import base64, sys; print(base64.b32decode(sys.argv[1]).hex())' "$S")
raw=$(dump)
leaks=()
for needle in "$S" "$grouped" "$hex" "${hex^^}" $(printf '%s\n' "$CODES") \
	$(printf '%s\n' "$CODES" | tr -d -); do
	case $raw in *"$needle"*) leaks+=("$needle") ;; esac
done
raw_files=()
ag_sqlite_only "the raw state file and WAL are searched" "the rows are in the server (the dump is)" &&
	raw_files=("$AG_DB" "$AG_DB-wal")
for f in ${raw_files[@]+"${raw_files[@]}"}; do
	[ -f "$f" ] || continue
	# Bytes, not text: the Base32 secret, the raw 20 secret bytes, the
	# backup codes as shown and as normalised.
	found=$(ag_python -c '
import base64, sys
data = open(sys.argv[1], "rb").read()
for n in sys.argv[2:]:
    for form in (n.encode(), n.replace("-", "").encode()):
        if form in data:
            print(n)
if base64.b32decode(sys.argv[2]) in data:
    print("the raw secret bytes")' "$f" "$S" $(printf '%s\n' "$CODES"))
	[ -n "$found" ] && leaks+=("in $(basename "$f"): $found")
done
if [ ${#leaks[@]} -eq 0 ]; then
	ag_pass "the dump of the state (and the raw file and WAL) contain no secret, grouped or plain, and no backup code"
else
	ag_fail "the state leaks secrets" "${leaks[@]}"
fi
ag_expect_true "the dump does hold alice's sealed secret (the check above is not vacuous)" \
	grep -Eq "^mfa\|.*alice.*[0-9a-fA-F]{80,}" <<<"$raw"
ag_expect_eq "... and her 10 backup code hashes" 10 \
	"$(grep -Ec "^backup_code\|.*alice.*[0-9a-fA-F]{64}" <<<"$raw")"

ag_say "backup codes work once each"
AG_NOW=$((AG_NOW + 60))
first=$(printf '%s\n' "$CODES" | sed -n 1p)
ag_run_token mfa verify --user alice <<<"$first"
ag_expect_eq "a backup code verifies" "0 backup" "$AG_RC $(ag_jget "$AG_JSON" method)"
ag_run_token mfa verify --user alice <<<"$first"
ag_expect_eq "... once only" 1 "$AG_RC"
ag_run_token mfa verify --user alice <<<"$(printf '%s\n' "$CODES" | sed -n 2p | tr 'A-Z' 'a-z' | tr -d -)"
ag_expect_eq "another one typed in lower case without dashes verifies" 0 "$AG_RC"

ag_say "--regenerate-backup-codes replaces them"
run_enroll --user alice --regenerate-backup-codes --json </dev/null
expect_rc "regenerate as root (no code needed): exit 0" 0
NEW=$(ag_jget "$AG_JSON" backup_codes | ag_python -c '
import json, sys
print("\n".join(json.load(sys.stdin)))')
ag_expect_eq "10 new codes" 10 "$(printf '%s\n' "$NEW" | sort -u | grep -c .)"
ag_expect_eq "none of them an old one" 20 "$(printf '%s\n%s\n' "$CODES" "$NEW" | sort -u | grep -c .)"
ag_run_token mfa verify --user alice <<<"$(printf '%s\n' "$CODES" | sed -n 3p)"
ag_expect_eq "an old unused code no longer verifies" "1 wrong" "$AG_RC $(ag_jget "$AG_JSON" reason)"
n1=$(printf '%s\n' "$NEW" | sed -n 1p)
ag_run_token mfa verify --user alice <<<"$n1"
ag_expect_eq "a new code verifies" 0 "$AG_RC"
ag_run_token mfa verify --user alice <<<"$n1"
ag_expect_eq "... once" 1 "$AG_RC"
AG_NOW=$((AG_NOW + 30))
ag_run_token mfa verify --user alice <<<"$(totp "$S")"
ag_expect_eq "the TOTP secret is untouched by the regeneration" 0 "$AG_RC"
expect_mfa_status "status: 9 backup codes left" alice enrolled=true backup_codes_left=9
run_enroll --user nobody-enrolled --regenerate-backup-codes --json </dev/null
expect_rc "regenerating for an account that is not enrolled: exit 1" 1
expect_json "... reason not_enrolled" enrolled=false reason=not_enrolled

ag_say "human output"
run_enroll --user alice --status </dev/null
ag_expect_true "status for people" \
	grep -q '^account alice: enrolled since 2023-11-14 .* UTC, 9 backup codes left$' <<<"$AG_JSON"

ag_say "the hint after a start repeats --conf and --user, quoted; followed literally, it confirms"
# A configuration of its own, in directories whose names need quoting (a
# space and a quote; a tab, which needs $'...').  The hint is run as it is
# printed, by bash, with authguard-enroll found on PATH.
conf_enr=$AG_CONF
ag_conf hint "secrets_key = $AG_TMP/keys/secrets.key" "totp_issuer = Example Co"
n=0
for dir in "conf dir's" $'tab\there'; do
	n=$((n + 1))
	mkdir -m 755 "$AG_TMP/$dir"
	cp -p "$AG_TMP/hint.conf" "$AG_TMP/$dir/authguard.conf"
	AG_CONF=$AG_TMP/$dir/authguard.conf
	user="o'hint $n"
	run_enroll --user "$user" --no-qr </dev/null
	expect_rc "start with --conf in \"$(printf '%q' "$dir")\": exit 0" 0
	hint=$(grep -A1 '^The enrollment is pending until' <<<"$AG_JSON" | sed -n '2s/^  //p')
	secret=$(sed -n 's/^Secret key: *//p' <<<"$AG_JSON" | tr -d ' ')
	if [ $n = 1 ]; then
		want="authguard-enroll --conf '$AG_TMP/conf dir'\\''s/authguard.conf' --user 'o'\\''hint 1' --confirm"
	else
		want="authguard-enroll --conf \$'$AG_TMP/tab\\x09here/authguard.conf' --user 'o'\\''hint 2' --confirm"
	fi
	ag_expect_eq "... the hint names that --conf and --user, quoted for the shell" "$want" "$hint"
	ag_preload
	env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
		PATH="$top_builddir/helpers:$PATH" bash -c "$hint" <<<"$(totp "$secret")" \
		>"$AG_TMP/hint.out" 2>"$AG_TMP/hint.err"
	AG_RC=$?
	cat "$AG_TMP/hint.out" >>"$AG_TMP/stdout.all" # the backup codes, for the scan
	expect_rc "... run as printed, with the code on stdin: exit 0" 0
	expect_mfa_status "... the account is enrolled in that configuration's state" "$user" \
		enrolled=true pending=false
	AG_CONF=$conf_enr
	expect_mfa_status "... and not in the other one" "$user" enrolled=false pending=false
done

ag_say "re-enrolling an enrolled account as root; the old secret stays until confirmed"
run_enroll --user alice --json </dev/null
expect_rc "root restarts alice's enrollment without a code" 0
S2=$(ag_jget "$AG_JSON" secret)
AG_NOW=$((AG_NOW + 30))
ag_run_token mfa verify --user alice <<<"$(totp "$S")"
ag_expect_eq "the old secret still verifies while the new one is pending" 0 "$AG_RC"
ag_run_token mfa verify --user alice <<<"$(totp "$S2" 30)"
ag_expect_eq "the pending secret does not" 1 "$AG_RC"
run_enroll --user alice --confirm <<<"$(totp "$S2")"
expect_rc "confirm the new secret (human output): exit 0" 0
ag_expect_true "... prints a numbered list of 10 backup codes" \
	test "$(grep -cE '^ +([1-9]|10)\. [2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$' <<<"$AG_JSON")" = 10
ag_expect_true "... with the note to store them safely, each working once" \
	grep -q 'store them safely; each works once' <<<"$AG_JSON"
AG_NOW=$((AG_NOW + 30))
ag_run_token mfa verify --user alice <<<"$(totp "$S")"
ag_expect_eq "the old secret no longer verifies" 1 "$AG_RC"
ag_run_token mfa verify --user alice <<<"$(totp "$S2")"
ag_expect_eq "the new one does" 0 "$AG_RC"

ag_say "interactive enrollment through a pseudo-terminal"
cat >"$AG_TMP/ptydrive.py" <<'EOF'
# ptydrive.py ANSWERS CMD...: runs CMD on a pseudo-terminal; at each
# "Code from your app: " prompt answers with the next of ANSWERS
# (comma-separated: "wrong" or "right", computed with oathtool from the
# printed secret at AUTHGUARD_TEST_TIME).  Prints the transcript, exits
# with CMD's status.
import os, pty, select, subprocess, sys, time
answers = sys.argv[1].split(",")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
buf, asked, deadline = b"", 0, time.time() + 30
def code(offset):
    text = buf.decode("utf-8", "replace")
    sec = [l for l in text.splitlines() if l.startswith("Secret key:")][0]
    sec = sec.split(":", 1)[1].replace(" ", "").strip()
    t = int(os.environ["AUTHGUARD_TEST_TIME"]) + offset
    return subprocess.check_output(["oathtool", "--totp", "-b", "-N", "@%d" % t, sec]).strip()
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if fd not in r:
        continue
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    buf += data
    while buf.count(b"Code from your app: ") > asked and asked < len(answers):
        right = code(0)
        if answers[asked] == "right":
            os.write(fd, right + b"\n")
        else:
            near = {code(-30), code(0), code(30)}
            os.write(fd, [c for c in (b"000000", b"111111", b"222222") if c not in near][0] + b"\n")
        asked += 1
done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:  # still waiting for input after the deadline
    time.sleep(1)
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
EOF
PY=$(command -v /usr/bin/python3 || command -v python3)
ag_preload
out=$(AUTHGUARD_TEST_TIME="$AG_NOW" "$PY" "$AG_TMP/ptydrive.py" wrong,right \
	env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
	"$AG_ENROLL_BIN" --conf "$AG_CONF" --user tty-user --no-qr 2>&1)
rc=$?
ag_check_sanitizer "$out" "authguard-enroll on a terminal" screen
printf '%s\n' "$out" >"$AG_TMP/terminal.txt" # its secrets, for the scan
ag_expect_eq "on a terminal: a wrong code, then the right one, confirms (exit 0)" 0 "$rc"
ag_expect_true "... it said the first code was wrong and asked again" \
	grep -q 'wrong code' <<<"$out"
ag_expect_true "... and printed the backup codes" grep -q '^ *10\. ' <<<"$out"
expect_mfa_status "... tty-user is enrolled" tty-user enrolled=true backup_codes_left=10
out=$(AUTHGUARD_TEST_TIME="$AG_NOW" "$PY" "$AG_TMP/ptydrive.py" wrong,wrong,wrong \
	env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
	"$AG_ENROLL_BIN" --conf "$AG_CONF" --user tty-user2 --no-qr 2>&1)
rc=$?
ag_expect_eq "on a terminal: three wrong codes give up with exit 1" 1 "$rc"
ag_expect_true "... saying the enrollment stays pending" grep -q 'stays pending' <<<"$out"
ag_expect_true "... and how to confirm it: with the same --conf and --user" \
	grep -qF "(confirm it with authguard-enroll --conf $AG_CONF --user tty-user2 --confirm)" <<<"$out"
expect_mfa_status "... tty-user2 is pending, not enrolled" tty-user2 enrolled=false pending=true

# ------------------------------------------------------------- QR codes

ag_say "QR codes decode to exactly the key URI"
mkdir -m 700 "$AG_TMP/out"
run_enroll --user qr --json --png "$AG_TMP/out/qr.png" --svg "$AG_TMP/out/qr.svg" </dev/null
expect_rc "start with --png and --svg: exit 0" 0
URI=$(ag_jget "$AG_JSON" uri)
ag_expect_eq "the PNG decodes to the URI (zbarimg)" "$URI" "$(decode "$AG_TMP/out/qr.png")"
ag_expect_eq "the PNG is mode 600" 600 "$(stat -c %a "$AG_TMP/out/qr.png")"
rsvg-convert -b white -w 400 -o "$AG_TMP/out/svg.png" "$AG_TMP/out/qr.svg"
ag_expect_eq "the SVG, rasterised by rsvg-convert, decodes to the URI" "$URI" \
	"$(decode "$AG_TMP/out/svg.png")"
ag_expect_eq "the SVG file is the JSON's svg" "$(ag_jget "$AG_JSON" svg)" "$(cat "$AG_TMP/out/qr.svg")"
ag_expect_eq "the SVG is mode 600" 600 "$(stat -c %a "$AG_TMP/out/qr.svg")"
ag_expect_eq "no temporary file or directory is left next to them" \
	"qr.png qr.svg svg.png" "$(cd "$AG_TMP/out" && echo *)"

state0=$(dump)
run_enroll --user qr --json --png "$AG_TMP/out/qr.png" </dev/null
expect_rc "an existing --png file is not overwritten: exit 2" 2
ag_expect_eq "... the state is unchanged (checked before anything)" "$state0" "$(dump)"
echo precious >"$AG_TMP/out/victim"
ln -s victim "$AG_TMP/out/link.svg"
ln -s victim "$AG_TMP/out/link.png"
ln -s nowhere "$AG_TMP/out/dangling.png"
run_enroll --user qr --json --svg "$AG_TMP/out/link.svg" </dev/null
expect_rc "--svg naming a symlink: exit 2" 2
run_enroll --user qr --json --png "$AG_TMP/out/link.png" </dev/null
expect_rc "--png naming a symlink: exit 2" 2
run_enroll --user qr --json --png "$AG_TMP/out/dangling.png" </dev/null
expect_rc "--png naming a dangling symlink: exit 2" 2
ag_expect_eq "... the symlinks' targets are untouched" "precious" "$(cat "$AG_TMP/out/victim")"
ag_expect_true "... and nothing was created through the dangling one" test ! -e "$AG_TMP/out/nowhere"
ag_expect_eq "... the state is unchanged" "$state0" "$(dump)"
run_enroll --user qr --json --png "$AG_TMP/no-such-dir/q.png" </dev/null
expect_rc "--png in a missing directory: exit 2" 2

for variant in "utf8 light" "utf8 dark --invert" "ascii light --ascii" "ascii dark --ascii --invert"; do
	set -- $variant
	kind=$1 ink=$2
	shift 2
	run_enroll --user qr "$@" </dev/null
	printf '%s\n' "$AG_JSON" >"$AG_TMP/out/term.txt"
	uri=$(sed -n 's/^Key URI: *//p' "$AG_TMP/out/term.txt")
	qr_lines "$kind" "$AG_TMP/out/term.txt" >"$AG_TMP/out/term-qr.txt"
	if ag_python "$TEXT2PNG" "$kind" "$ink" "$AG_TMP/out/term-qr.txt" "$AG_TMP/out/term.png" \
		2>"$AG_TMP/out/t2p.err"; then
		got=$(decode "$AG_TMP/out/term.png")
	else
		got="(text2png: $(cat "$AG_TMP/out/t2p.err"))"
	fi
	ag_expect_eq "terminal rendering ${*:-(default)} decodes to the printed key URI" "$uri" "$got"
done
ag_expect_true "the printed URI is the enrollment's (otpauth://totp/Example%20Co:qr?...)" \
	grep -q '^otpauth://totp/Example%20Co:qr?secret=[A-Z2-7]\{32\}&issuer=Example%20Co&' <<<"$uri"
sec=$(sed -n 's/^Secret key: *//p' "$AG_TMP/out/term.txt")
ag_expect_true "the secret is printed in groups of four that spell the URI's secret" \
	test "$(tr -d ' ' <<<"$sec")" = "$(sed 's/.*secret=\([A-Z2-7]*\)&.*/\1/' <<<"$uri")" -a \
	-n "$(grep -E '^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$' <<<"$sec")"
run_enroll --user qr --no-qr </dev/null
ag_expect_eq "--no-qr prints no QR code" "" "$(printf '%s\n' "$AG_JSON" | { qr_lines utf8 /dev/stdin; })"
ag_expect_true "... but the secret and the URI" grep -q '^Key URI: *otpauth://' <<<"$AG_JSON"

# ------------------------------------------------------------- account names

ag_say "hostile account names"
state0=$(dump)
for bad in $'ev\nil' $'a\tb' $'\e[31mred' $'del\x7f' $'\xff\xfe' "" \
	"$(head -c 257 /dev/zero | tr '\0' a)"; do
	run_enroll --user "$bad" --json </dev/null
	expect_rc "--user $(ag_show "$bad" | cut -c1-40): exit 2" 2
done
run_enroll --user alice --issuer $'Bad\nIssuer' --json </dev/null
expect_rc "an issuer with a control character: exit 2" 2
ag_expect_eq "... none of them changed the state" "$state0" "$(dump)"

run_enroll --user 'a:b' --png "$AG_TMP/out/colon.png" --json </dev/null
expect_rc "an account with ':' is accepted" 0
Sc=$(ag_jget "$AG_JSON" secret)
ag_expect_eq "... percent-encoded as %3A in the label" \
	"otpauth://totp/Example%20Co:a%3Ab?secret=$Sc&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30" \
	"$(ag_jget "$AG_JSON" uri)"
ag_expect_eq "... and its QR code decodes to that URI" "$(ag_jget "$AG_JSON" uri)" \
	"$(decode "$AG_TMP/out/colon.png")"
run_enroll --user 'a:b' --confirm --json <<<"$(totp "$Sc")"
expect_rc "... and confirms" 0
run_enroll --user 'zoë@example.org' --issuer 'Zoë & Co' --json </dev/null
expect_rc "UTF-8 names are accepted" 0
ag_expect_true "... percent-encoded as UTF-8 bytes" \
	grep -q '^otpauth://totp/Zo%C3%AB%20%26%20Co:zo%C3%AB@example.org?secret=' <<<"$(ag_jget "$AG_JSON" uri)"

# ------------------------------------------------------------- lock, reset

ag_say "--reset"
run_enroll --user alice --reset --json </dev/null
expect_rc "reset alice: exit 0" 0
expect_json "... she had MFA" account=alice reset=true had_mfa=true
ag_expect_log "mfa_reset is logged with the caller's uid" 'event=mfa_reset user=alice uid=0'
expect_mfa_status "status: nothing left" alice enrolled=false pending=false backup_codes_left=0
AG_NOW=$((AG_NOW + 30))
ag_run_token mfa verify --user alice <<<"$(totp "$S2")"
ag_expect_eq "her TOTP code is refused as not enrolled" "1 not_enrolled" \
	"$AG_RC $(ag_jget "$AG_JSON" reason)"
ag_run_token mfa verify --user alice <<<"$(printf '%s\n' "$NEW" | sed -n 5p)"
ag_expect_eq "her backup codes are gone" 1 "$AG_RC"
run_enroll --user alice --reset --json </dev/null
expect_json "a second reset: nothing to remove" reset=true had_mfa=false

ag_say "usage errors"
for args in "--confirm --status" "--confirm --png x.png" "--status --issuer X" "extra" "--bogus"; do
	run_enroll --user alice $args </dev/null
	expect_rc "authguard-enroll $args: exit 2" 2
done

ag_say "wrong confirmation codes count as failures; a locked account is refused"
ag_conf lock "secrets_key = $AG_TMP/keys/secrets.key" "deny = 3"
run_enroll --user locky --json </dev/null
Sl=$(ag_jget "$AG_JSON" secret)
for i in 1 2 3; do
	run_enroll --user locky --confirm --json <<<"$(wrong_code "$Sl")"
done
ag_expect_status "3 wrong confirmation codes lock the account (deny = 3)" locky -- failures=3 locked=true
run_enroll --user locky --confirm --json <<<"$(totp "$Sl")"
expect_rc "the right code while locked: exit 1" 1
expect_json "... reason locked" enrolled=false reason=locked
ag_ctl unlock locky >/dev/null
run_enroll --user locky --confirm --json <<<"$(totp "$Sl")"
expect_rc "after authguard-ctl unlock the right code confirms" 0
run_enroll --user locky --json </dev/null
Sl2=$(ag_jget "$AG_JSON" secret)
for i in 1 2 3; do
	run_enroll --user locky --confirm --json <<<"$(wrong_code "$Sl2")"
done
AG_NOW=$((AG_NOW + 30))
ag_run_token mfa verify --user locky <<<"$(totp "$Sl")"
ag_expect_eq "... failures from authguard-enroll lock the web verification too" \
	"1 locked" "$AG_RC $(ag_jget "$AG_JSON" reason)"

ag_say "the log holds no secret"
leaks=()
for needle in "$S" "$S2" "$Sc" "$Sl" "$Sl2" $(printf '%s\n' "$CODES" "$NEW") \
	$(printf '%s\n' "$CODES" "$NEW" | tr -d -); do
	grep -qF -- "$needle" "$AG_LOG" && leaks+=("$needle")
done
if [ ${#leaks[@]} -eq 0 ]; then
	ag_pass "no secret or backup code in the captured syslog"
else
	ag_fail "secrets in the captured syslog" "${leaks[@]}"
fi
ag_expect_log_clean

# ------------------------------------------------------------- non-root

if [ "$(id -u)" != 0 ] || ! command -v runuser >/dev/null 2>&1 ||
	! getent passwd nobody >/dev/null || ! command -v unshare >/dev/null 2>&1; then
	ag_say "SKIP the non-root and setgid checks: they need root, runuser, unshare and a user nobody"
	ag_done
fi

NOBODY_GID=$(id -g nobody)
DEFCONF=$("$AG_ENROLL_BIN" --help 2>&1 | sed -n 's/.*(default: \([^)]*\)).*/\1/p')
[ -n "$DEFCONF" ] || ag_bail "cannot find the built-in configuration path in --help"
DEFDIR=$(dirname "$DEFCONF")

# as_nobody CONFDIR BIN ARGS...: runs BIN as nobody, without --conf, in a
# private mount namespace where the built-in configuration's directory is
# CONFDIR (nothing outside the namespace sees it).  Sets AG_RC, AG_JSON,
# AG_OUT.
# LeakSanitizer cannot inspect a set-group-ID (hence non-dumpable) process
# and aborts at exit: leaks are checked by the runs as root instead.
as_nobody() {
	local confdir=$1 bin=$2 errf=$AG_TMP/nobody.err
	shift 2
	ag_preload
	AG_LOG_MARK=$(ag_log_lines)
	AG_JSON=$(unshare -m -- /bin/sh -c '
		src=$1 dst=$2 ovl=$3
		shift 3
		# An overlay over the parent (in this namespace only) makes
		# sure the mount point exists, whether or not it does outside;
		# a plain bind where overlays are unavailable.
		parent=$(dirname "$dst")
		mkdir -p "$ovl/up" "$ovl/work" || exit 99
		if mount -t overlay overlay \
			-o "lowerdir=$parent,upperdir=$ovl/up,workdir=$ovl/work" "$parent" 2>/dev/null; then
			mkdir -p "$dst" || exit 99
		fi
		mount --bind "$src" "$dst" || exit 99
		exec "$@"' sh "$confdir" "$DEFDIR" "$AG_TMP/ovl" \
		runuser -u nobody -- env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		AUTHGUARD_TEST_TIME="$AG_NOW" "$bin" "$@" 2>"$errf")
	AG_RC=$?
	AG_OUT=$(cat "$errf")
	if [ "$AG_RC" = 99 ]; then
		[ "${ns_probe:-0}" = 1 ] && return 0
		ag_bail "cannot set up the mount namespace: $AG_OUT"
	fi
	ag_check_sanitizer "$AG_OUT" "authguard-enroll as nobody $*"
	return 0
}

# A configuration at the built-in path, as root would install it.
make_confdir() { # DIR CONF
	mkdir -m 755 "$1"
	cp "$2" "$1/$(basename "$DEFCONF")"
	chmod 644 "$1/$(basename "$DEFCONF")"
}

mkdir -m 755 "$AG_TMP/empty-conf"
ns_probe=1
as_nobody "$AG_TMP/empty-conf" /bin/true </dev/null
ns_probe=0
if [ "$AG_RC" != 0 ]; then
	ag_say "SKIP the non-root and setgid checks: no private mount namespace here" \
		"(exit $AG_RC: $AG_OUT)"
	ag_done
fi

ag_say "non-root callers: root's options are refused before anything is opened"
for args in "--user root" "--user alice --status" "--reset" "--conf $AG_CONF --status"; do
	as_nobody "$AG_TMP/empty-conf" "$AG_ENROLL_BIN" $args --json </dev/null
	expect_rc "as nobody: $args: exit 2" 2
done
as_nobody "$AG_TMP/empty-conf" "$AG_ENROLL_BIN" --user root --json </dev/null
ag_expect_out "... with a clear message" 'only root may act on another account'
ag_expect_log "... and the refusal is logged with the caller's uid" \
	"event=mfa_cli_denied op=start user=root uid=$(id -u nobody) reason=other_user"
as_nobody "$AG_TMP/empty-conf" "$AG_ENROLL_BIN" --conf "$AG_CONF" --status </dev/null
ag_expect_out "--conf: a clear message" '--conf is for root only'

ag_say "non-root: enrolling oneself against a state owned by nobody"
mkdir -m 700 "$AG_TMP/nobody-state"
chown nobody "$AG_TMP/nobody-state"
saved_conf=$AG_CONF saved_db=$AG_DB
AG_STATE_DIR=$AG_TMP/nobody-state
AG_RUNAS=(runuser -u nobody --)
ag_conf unpriv "secrets_key = $AG_TMP/nobody-state/keys/secrets.key" "totp_issuer = Example Co"
AG_RUNAS=()
unset AG_STATE_DIR
make_confdir "$AG_TMP/unpriv-etc" "$AG_CONF"

as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --json </dev/null
expect_rc "nobody starts an enrollment for itself: exit 0" 0
expect_json "... for its own login name" account=nobody
Sn=$(ag_jget "$AG_JSON" secret)
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --confirm --json <<<"$(totp "$Sn")"
expect_rc "... and confirms it" 0
NCODES=$(ag_jget "$AG_JSON" backup_codes | ag_python -c '
import json, sys
print("\n".join(json.load(sys.stdin)))')
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --user nobody --status --json </dev/null
expect_json "--user naming oneself is fine" account=nobody enrolled=true backup_codes_left=10

AG_NOW=$((AG_NOW + 30))
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --json </dev/null
expect_rc "re-enrolling without a current code: exit 2" 2
ag_expect_out "... a code is expected" 'current code expected on stdin'
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --json <<<"$(wrong_code "$Sn")"
expect_rc "re-enrolling with a wrong current code: exit 1" 1
expect_json "... reason wrong" account=nobody allowed=false reason=wrong
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --status --json </dev/null
expect_json "... nothing pending, still enrolled" enrolled=true pending=false
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --json <<<"$(totp "$Sn")"
expect_rc "re-enrolling with a current code: exit 0" 0
Sn2=$(ag_jget "$AG_JSON" secret)
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --status --json </dev/null
expect_json "... a new enrollment is pending, the old secret still in force" enrolled=true pending=true
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --regenerate-backup-codes --json </dev/null
expect_rc "regenerating backup codes without a current code: exit 2" 2
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --regenerate-backup-codes --json \
	<<<"$(printf '%s\n' "$NCODES" | sed -n 1p)"
expect_rc "... with a backup code as the current code: exit 0" 0
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --regenerate-backup-codes --json \
	<<<"$(printf '%s\n' "$NCODES" | sed -n 2p)"
expect_rc "... an old backup code is no longer one: exit 1" 1
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --confirm --json <<<"$(totp "$Sn2")"
expect_rc "confirming the re-enrollment (no current code needed): exit 0" 0
as_nobody "$AG_TMP/unpriv-etc" "$AG_ENROLL_BIN" --reset --json </dev/null
expect_rc "--reset as nobody: exit 2" 2
ag_expect_true "no file in nobody's state directory is owned by anyone else" \
	test -z "$(find "$AG_TMP/nobody-state" ! -user nobody)"
AG_CONF=$saved_conf AG_DB=$saved_db

if command -v findmnt >/dev/null 2>&1 &&
	findmnt -no OPTIONS -T "$AG_TMP" | grep -qw nosuid; then
	ag_say "SKIP the setgid checks: $AG_TMP is on a nosuid file system"
	ag_done
fi
ag_say "setgid: group privileges are used to open the state, then dropped"
# A gid without a name stands for the authguard group: no change to
# /etc/group.  The state and key are reachable through that group only.
SG=64901
while getent group "$SG" >/dev/null; do SG=$((SG + 1)); done
AG_STATE_DIR=$AG_TMP/sg-state
ag_conf sg "secrets_key = $AG_TMP/sg-keys/secrets.key" "totp_issuer = Example Co"
unset AG_STATE_DIR
chgrp -R "$SG" "$AG_TMP/sg-state" "$AG_TMP/sg-keys"
chmod 2770 "$AG_TMP/sg-state"
chmod 660 "$AG_TMP/sg-state"/state.db*
chmod 750 "$AG_TMP/sg-keys"
chmod 640 "$AG_TMP/sg-keys/secrets.key"
make_confdir "$AG_TMP/sg-etc" "$AG_CONF"
mkdir -m 755 "$AG_TMP/bin"
cp "$AG_ENROLL_BIN" "$AG_TMP/bin/authguard-enroll"
chgrp "$SG" "$AG_TMP/bin/authguard-enroll"
chmod 2755 "$AG_TMP/bin/authguard-enroll"
SGBIN=$AG_TMP/bin/authguard-enroll
mkdir -m 755 "$AG_TMP/nobody-out"
chown nobody "$AG_TMP/nobody-out"
mkdir -m 2770 "$AG_TMP/group-only"
chgrp "$SG" "$AG_TMP/group-only"

if ag_sqlite_only "control: without the setgid bit, nobody cannot open the group's state file" \
	"the database's roles, not a file group, decide who opens it"; then
	as_nobody "$AG_TMP/sg-etc" "$AG_ENROLL_BIN" --status --json </dev/null
	expect_rc "control: without the setgid bit, nobody cannot open the group's state (exit 3)" 3
	ag_expect_out "... the store's permission message" 'state file .*: Permission denied'
fi
as_nobody "$AG_TMP/sg-etc" "$SGBIN" --json --png "$AG_TMP/nobody-out/qr.png" </dev/null
expect_rc "the setgid copy run by nobody opens the state and the key: exit 0" 0
Sg=$(ag_jget "$AG_JSON" secret)
ag_expect_eq "the PNG belongs to nobody and nobody's group, not the setgid group" \
	"$(id -u nobody):$NOBODY_GID" "$(stat -c %u:%g "$AG_TMP/nobody-out/qr.png" 2>&1)"
ag_expect_eq "... and decodes to the URI" "$(ag_jget "$AG_JSON" uri)" \
	"$(decode "$AG_TMP/nobody-out/qr.png")"
as_nobody "$AG_TMP/sg-etc" "$SGBIN" --confirm --json <<<"$(totp "$Sg")"
expect_rc "the state is written after the drop (confirm): exit 0" 0
as_nobody "$AG_TMP/sg-etc" "$SGBIN" --status --json </dev/null
expect_json "... enrolled" account=nobody enrolled=true backup_codes_left=10
as_nobody "$AG_TMP/sg-etc" "$SGBIN" --json --png "$AG_TMP/group-only/qr.png" <<<"$(wrong_code "$Sg")"
expect_rc "a directory writable only by the setgid group is out of reach: exit 2" 2
ag_expect_eq "... nothing was created there" "" "$(ls -A "$AG_TMP/group-only")"
# While it waits for the code it holds the key and the state open: the
# caller must not be able to read its memory (ptrace, /proc/PID/mem).
mkfifo -m 666 "$AG_TMP/fifo"
(as_nobody "$AG_TMP/sg-etc" "$SGBIN" --confirm --json <"$AG_TMP/fifo") >/dev/null &
bg=$!
exec 7>"$AG_TMP/fifo"
pid=
for i in $(seq 50); do
	pid=$(pgrep -xf "$SGBIN --confirm --json") && break
	sleep 0.1
done
if [ -n "$pid" ]; then
	ag_expect_eq "waiting for the code, the process's /proc files belong to root (not dumpable)" \
		root "$(stat -c %U "/proc/$pid/mem" 2>&1)"
	ag_expect_true "... and nobody cannot read its memory map" \
		test -z "$(runuser -u nobody -- cat "/proc/$pid/maps" 2>/dev/null)"
else
	ag_fail "the setgid process waiting for a code was found"
fi
echo 000000 >&7
exec 7>&-
wait "$bg"
as_nobody "$AG_TMP/sg-etc" "$SGBIN" --user root --status --json </dev/null
expect_rc "the setgid copy refuses --user root for nobody" 2
as_nobody "$AG_TMP/sg-etc" "$SGBIN" --conf "$AG_CONF" --status --json </dev/null
expect_rc "... and --conf" 2

SU=64901
while getent passwd "$SU" >/dev/null; do SU=$((SU + 1)); done
cp "$AG_ENROLL_BIN" "$AG_TMP/bin/authguard-enroll-suid"
chown "$SU" "$AG_TMP/bin/authguard-enroll-suid"
chmod 4755 "$AG_TMP/bin/authguard-enroll-suid"
as_nobody "$AG_TMP/sg-etc" "$AG_TMP/bin/authguard-enroll-suid" --status --json </dev/null
expect_rc "installed setuid, it refuses to run: exit 2" 2
ag_expect_out "... saying so" 'setuid'
rm -f "$AG_TMP/bin/authguard-enroll-suid" "$SGBIN"

ag_done
