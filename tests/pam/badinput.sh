#!/bin/bash
# Hostile user names and PAM_RHOST values: nothing crashes, odd names are
# tracked as themselves (status gives them back exactly, JSON-escaped), a
# name over 4096 bytes is refused, every log line stays one line with no
# raw control character, and the state file's schema is intact.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init
command -v sqlite3 >/dev/null 2>&1 || ag_bail "sqlite3 (the command-line tool) is required"

ag_setup bad "delay_base = 0"
AG_RHOST=192.0.2.90

# status_subject NAME: runs authguard-ctl status --json for the account NAME
# (AG_JSON) and sets subject to the name it gives back, byte for byte.
status_subject() {
	ag_status "$1"
	subject=$(ag_jget "$AG_JSON" subject)
}

# odd_user DESC NAME ESCAPED: a wrong password for NAME is checked and
# counted; status returns NAME exactly; the log shows it as ESCAPED.
odd_user() {
	local desc=$1 name=$2 esc=$3 got
	ag_attempt "$desc: wrong password is checked and refused" "$name" "$AG_WRONG" 1 1
	if grep -Fq -- "event=auth_fail user=$esc " <<<"$(ag_log_last)"; then
		ag_pass "$desc: logged escaped as user=$esc"
	else
		ag_fail "$desc: logged escaped as user=$esc" "log: $(ag_log_last | tail -n 1 | cut -c1-300)"
	fi
	status_subject "$name"
	ag_expect_eq "$desc: status --json gives the name back exactly" "$name" "$subject"
	ag_expect_eq "$desc: status --json counts 1 failure" 1 "$(ag_jget "$AG_JSON" failures)"
	got=$(ag_ctl status "$name" 2>&1)
	ag_expect_eq "$desc: plain status is one line" 1 "$(printf '%s\n' "$got" | wc -l | tr -d ' ')"
	if printf '%s' "$got" | LC_ALL=C grep -q '[[:cntrl:]]'; then
		ag_fail "$desc: plain status has no raw control characters" "$(printf '%s' "$got" | od -c | head -n 3)"
	else
		ag_pass "$desc: plain status has no raw control characters"
	fi
}

ag_say "odd user names"
odd_user "newline in the name" $'line1\nline2' 'line1\x0aline2'
odd_user "quotes and backquotes" "o'brien \"the\" \`id\`" \
	'o\x27brien\x20\x22the\x22\x20\x60id\x60'
odd_user "SQL in the name" "'; DROP TABLE subject; --" \
	'\x27\x3b\x20DROP\x20TABLE\x20subject\x3b\x20--'
odd_user "terminal escapes, tab, DEL" $'\e[2J\e]0;pwned\a\tx\x7f' \
	'\x1b\x5b2J\x1b\x5d0\x3bpwned\x07\x09x\x7f'
odd_user "printf directives" '%s%n%x%p' '\x25s\x25n\x25x\x25p'
odd_user "UTF-8" 'jürgen' 'j\xc3\xbcrgen'
odd_user "a carriage return" $'root\rfake' 'root\x0dfake'

ag_say "a 4096-byte name is accepted and tracked"
long4096=$(head -c 4096 /dev/zero | tr '\0' 'a')
ag_expect_eq "the name is 4096 bytes" 4096 "${#long4096}"
ag_attempt "4096 bytes: wrong password is checked and refused" "$long4096" "$AG_WRONG" 1 1
ag_expect_log "4096 bytes: logged, the name cut short with ..." 'event=auth_fail user=a{100,}\.\.\. '
status_subject "$long4096"
ag_expect_eq "4096 bytes: status --json gives the whole name back" "$long4096" "$subject"
ag_expect_eq "4096 bytes: 1 failure counted" 1 "$(ag_jget "$AG_JSON" failures)"
ag_attempt "4096 bytes: right password accepted" "$long4096" "$AG_RIGHT" 0 1 authenticate acct_mgmt
ag_expect_log "4096 bytes: success_reset logged" 'event=success_reset user=a+\.\.\. '

ag_say "a 5000-byte name is refused without a crash"
long5000=$(head -c 5000 /dev/zero | tr '\0' 'b')
ag_attempt "5000 bytes: wrong password refused, not checked" "$long5000" "$AG_WRONG" 1 0
ag_expect_log "5000 bytes: event=error says why" 'event=error op=auth( user=b+\.\.\.)?: name longer than 4096 bytes; access denied'
ag_attempt "5000 bytes: right password refused too, not checked" "$long5000" "$AG_RIGHT" 1 0
ag_attempt "5000 bytes: account phase refused" "$long5000" - 1 0 acct_mgmt
ag_run_ctl status --json "$long5000"
ag_expect_eq "5000 bytes: authguard-ctl status refuses it as a usage error (2)" 2 "$AG_RC"
ag_expect_eq "5000 bytes: nothing stored under a 4096+ byte name" 0 \
	"$(ag_sql 'SELECT count(*) FROM subject WHERE length(name) > 4096;')"

ag_say "odd PAM_RHOST values"
# odd_rhost DESC RHOST EXPECTED-HOST-SUBJECT ("" = check only the shape)
n=0
odd_rhost() {
	local desc=$1 host
	n=$((n + 1))
	AG_RHOST=$2
	ag_attempt "rhost $desc: wrong password checked and refused" "rh$n" "$AG_WRONG" 1 1
	ag_status "rh$n"
	host=$(ag_jget "$AG_JSON" last_source)
	if [ -n "$3" ]; then
		ag_expect_eq "rhost $desc: tracked as host subject $3" "$3" "$host"
	fi
	if printf '%s' "$host" | LC_ALL=C grep -q '[[:cntrl:] ]'; then
		ag_fail "rhost $desc: host subject has no spaces or control characters" "$(ag_show "$host")"
	else
		ag_pass "rhost $desc: host subject has no spaces or control characters"
	fi
	ag_expect_le "rhost $desc: host subject is at most 299 bytes" 299 "${#host}"
	# the host's own count: hosts are listed by authguard-ctl status (all)
	ag_status
	ag_expect_eq "rhost $desc: the host subject has a failure counted" 1 "$(ag_python -c '
import json, sys
rows = [r for r in json.loads(sys.argv[1])["subjects"] if r["kind"] == "host" and r["subject"] == sys.argv[2]]
print(1 if len(rows) == 1 and rows[0]["failures"] >= 1 else 0)' "$AG_JSON" "$host")"
	AG_RHOST=192.0.2.90
}
odd_rhost "with spaces" 'evil host name' 'raw:evil\x20host\x20name'
odd_rhost "with control characters" $'\e[2J\a10.0.0.1\r\n' 'raw:\x1b\x5b2J\x0710.0.0.1\x0d\x0a'
odd_rhost "5000 bytes long" "$(head -c 5000 /dev/zero | tr '\0' 'h')" ''
odd_rhost "[::1]" '[::1]' '::/64'
odd_rhost "a DNS name in capitals" 'Gateway.Example.COM' 'gateway.example.com'
odd_rhost "the same DNS name in lower case" 'gateway.example.com' 'gateway.example.com'
ag_status
ag_expect_eq "gateway.example.com has 2 failures" 2 "$(ag_python -c '
import json, sys
print(sum(r["failures"] for r in json.loads(sys.argv[1])["subjects"] if r["subject"] == "gateway.example.com"))' "$AG_JSON")"
odd_rhost "the same DNS name, fully qualified with a trailing dot" 'Gateway.Example.COM.' 'gateway.example.com'
ag_status
ag_expect_eq "gateway.example.com. counts with gateway.example.com: 3 failures" 3 "$(ag_python -c '
import json, sys
rows = json.loads(sys.argv[1])["subjects"]
print(sum(r["failures"] for r in rows if r["subject"] == "gateway.example.com"),
      *[r["subject"] for r in rows if r["subject"].startswith("gateway.example.com.")])' "$AG_JSON")"
odd_rhost "address with a port" '192.0.2.1:22' 'raw:192.0.2.1:22'
odd_rhost "scoped link-local" 'fe80::1%eth0' 'raw:fe80::1\x25eth0'
odd_rhost "SQL" "'); DELETE FROM failure; --" 'raw:\x27\x29\x3b\x20DELETE\x20FROM\x20failure\x3b\x20--'

ag_say "a PAM_RHOST with a newline is logged escaped once"
AG_RHOST=$'evil\nevent=auth_ok user=root'
ag_attempt "rhost with a newline: wrong password checked and refused" rhnl "$AG_WRONG" 1 1
# rhost= is the value escaped once; host= is the subject (already escaped
# by the normalisation) as it is: "\x0a", never "\x5cx0a".
ag_expect_log "the auth_fail line shows rhost and host escaped once" \
	'event=auth_fail user=rhnl rhost=evil\\x0aevent\\x3dauth_ok\\x20user\\x3droot host=raw:evil\\x0aevent\\x3dauth_ok\\x20user\\x3droot service=bad '
ag_expect_no_log "no backslash escaped a second time (\\x5c)" '\\x5c'
ag_expect_eq "the auth_fail line is one line" 1 "$(ag_log_last | grep -c 'event=auth_fail')"
ag_run_ctl unlock --host $'evil\nevent=auth_ok user=root'
ag_expect_eq "authguard-ctl unlock --host with the raw value: exit 0" 0 "$AG_RC"
ag_expect_log "admin_unlock logs the raw host escaped once" \
	'event=admin_unlock scope=host host=raw:evil\\x0aevent\\x3dauth_ok\\x20user\\x3droot uid=[0-9]+ had_state=1'
ag_expect_no_log "... and nothing escaped twice" '\\x5c'
AG_RHOST=192.0.2.90

ag_say "the web helper with odd subjects"
ag_run_token guard check --subject $'line1\nline2' --ip 192.0.2.91
ag_expect_eq "guard check with a newline in the subject: exit 0" 0 "$AG_RC"
ag_expect_eq "its JSON output is one line" 1 "$(printf '%s\n' "$AG_JSON" | wc -l | tr -d ' ')"
ag_expect_eq "its JSON parses and counts the PAM failure too" 2 "$(ag_jget "$AG_JSON" failures)"
ag_run_token guard check --subject "$long5000"
ag_expect_eq "guard check with a 5000-byte subject: usage error (2)" 2 "$AG_RC"
ag_run_token guard check --subject alice --ip 'evil host name'
ag_expect_eq "guard check with a host name as --ip: usage error (2)" 2 "$AG_RC"

ag_say "the state file and the log afterwards"
ag_expect_eq "the state is consistent (integrity check)" ok "$(ag_sql_integrity)"
ag_expect_eq "every table still exists" "backup_code failure mfa pam_session refresh_family refresh_token revoked_jti subject web_session webhook_msg" \
	"$(ag_sql_tables | tr '\n' ' ' | sed 's/ $//')"
ag_expect_eq "the SQL-looking name is stored as a plain row" 1 \
	"$(ag_sql "SELECT count(*) FROM subject WHERE kind = 1 AND name = '''; DROP TABLE subject; --';")"

ag_say "a spray of random names does not grow the state without limit"
for i in $(seq 1 100); do
	ag_token guard failure --subject "spray-a-$i-$RANDOM" >/dev/null 2>&1
done
ag_expect_eq "100 sprayed names are tracked" 100 \
	"$(ag_sql "SELECT count(*) FROM subject WHERE name LIKE 'spray-a-%';")"
AG_NOW=$((AG_T0 + 901)) # the default fail_window (900 s) later
for i in $(seq 1 100); do
	ag_token guard failure --subject "spray-b-$i-$RANDOM" >/dev/null 2>&1
done
ag_expect_eq "after the window, the first 100 are gone (purged by later writes)" 0 \
	"$(ag_sql "SELECT count(*) FROM subject WHERE name LIKE 'spray-a-%';")"
ag_expect_le "the state holds little more than the second 100" 110 \
	"$(ag_sql "SELECT count(*) FROM subject;")"

ag_run_ctl check-config
ag_expect_eq "authguard-ctl check-config still passes" 0 "$AG_RC"
ag_expect_log_clean
ag_expect_eq "no module error other than the 5000-byte name" 0 \
	"$(grep 'event=error' "$AG_LOG" | grep -vc 'name longer than 4096 bytes')"

ag_done
