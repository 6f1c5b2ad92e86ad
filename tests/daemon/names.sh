#!/bin/bash
# PAM names and hosts are bytes; the daemon's requests are JSON text.
# Through authguardd the module counts and checks exactly the bytes it
# would count without the daemon:
#   - a user name that is not UTF-8 is checked (the password check runs),
#     counted under its own bytes, locked after 10 failures, and listed by
#     authguard-ctl status byte for byte (the module sends such a name as
#     {"hex": ...});
#   - a 5000-byte PAM_RHOST is counted against its host subject (the
#     module sends the first 1024 bytes, all the rules ever read of it);
#   - a 5000-byte user name is refused before the daemon is asked, with
#     the reason the module gives without the daemon.
# (They used to be refused with "out of memory" or as a malformed request:
# denied, nothing counted, the password never checked.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
AG_DAEMON=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"

[ "$(id -u)" = 0 ] || ag_skip "needs root (the PAM operations for other accounts)"
ag_init
ag_setup names "delay_base = 0" "pam_user_fold = no"

user=$'al\xffice'
ag_attempt "a name that is not UTF-8: right password checked and accepted" "$user" "$AG_RIGHT" 0 1
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam "$user" "$AG_WRONG"
done
ag_expect_log "... its 10th failure locks it" 'event=lock scope=account user=al\\xffice .*failures=10'
ag_attempt "... then the right password is refused unchecked" "$user" "$AG_RIGHT" 1 0
ag_expect_no_log "... and no error was logged" 'event=error'
AG_JSON=$(ag_ctl status --json 2>/dev/null)
ag_expect_eq "authguard-ctl status lists it byte for byte, locked" "616cff696365 true" \
	"$(ag_python -c '
import json, sys
for s in json.loads(sys.argv[1])["subjects"]:
    if s["kind"] == "account" and "subject_hex" in s:
        print(s["subject_hex"], json.dumps(s["locked"]))' "$AG_JSON" | tr -d '\n')"

AG_RHOST=$(head -c 5000 /dev/zero | tr '\0' h)
ag_attempt "a 5000-byte rhost: wrong password checked and refused" rhbob "$AG_WRONG" 1 1
ag_expect_no_log "... no error" 'event=error'
AG_JSON=$(ag_ctl status --json 2>/dev/null)
ag_expect_eq "... its host subject has the failure" 1 "$(ag_python -c '
import json, sys
print(sum(s["failures"] for s in json.loads(sys.argv[1])["subjects"]
          if s["kind"] == "host" and s.get("subject", "").startswith("raw:hhhh")))' "$AG_JSON")"
AG_RHOST=192.0.2.10

long=$(head -c 5000 /dev/zero | tr '\0' b)
ag_attempt "a 5000-byte name: refused, not checked" "$long" "$AG_RIGHT" 1 0
ag_expect_log "... the reason is the module's own" \
	'event=error op=auth( user=b+\.\.\.)?: name longer than 4096 bytes; access denied'
ag_done
