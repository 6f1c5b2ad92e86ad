#!/bin/bash
# authguard-token through authguardd (daemon = yes) prints what it prints
# without the daemon: the same exit status, the same answer on stdout (or
# none), the same line for people on stderr -- the refusal with its reason
# and wait, "code refused", a malformed input named by its option, a usage
# error -- and its batch mode echoes the same ids (a number with a
# fraction included).  Each case runs on one state, once directly (a copy
# of the configuration without the daemon lines) and once through the
# daemon, in an order that leaves the state the same for both.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
AG_DAEMON=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"

[ "$(id -u)" = 0 ] || ag_skip "needs root (the daemon's web operations)"
ag_init
ag_conf clisame "delay_base = 0" "token_keys_dir = $AG_TMP/tkeys"
ag_run_ctl keygen
[ "$AG_RC" = 0 ] || ag_bail "authguard-ctl keygen: $AG_OUT"
DAEMON_CONF=$AG_CONF
DIRECT_CONF=$AG_TMP/clisame-direct.conf
grep -v '^daemon' "$DAEMON_CONF" >"$DIRECT_CONF"
chmod 644 "$DIRECT_CONF"

# same DESC STDIN ARGS...: authguard-token ARGS (STDIN on its input) both
# ways; the exit status, stdout and stderr must be equal.
same() {
	local desc=$1 in=$2 d_out d_err d_rc m_out m_err m_rc
	shift 2
	AG_CONF=$DIRECT_CONF
	d_out=$(printf '%s' "$in" | ag_token "$@" 2>"$AG_TMP/d.err")
	d_rc=$?
	d_err=$(cat "$AG_TMP/d.err")
	AG_CONF=$DAEMON_CONF
	m_out=$(printf '%s' "$in" | ag_token "$@" 2>"$AG_TMP/m.err")
	m_rc=$?
	m_err=$(cat "$AG_TMP/m.err")
	ag_check_sanitizer "$d_err$m_err" "authguard-token $*"
	ag_expect_eq "$desc: the same exit status ($d_rc)" "$d_rc" "$m_rc"
	ag_expect_eq "$desc: the same stderr" "$d_err" "$m_err"
	ag_expect_eq "$desc: the same stdout" "$d_out" "$m_out"
}

AG_CONF=$DIRECT_CONF
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_token guard failure --subject locked@example.com --ip 192.0.2.5 >/dev/null 2>&1
done
same "guard check of a locked subject (refused: locked, retry in ...)" "" \
	guard check --subject locked@example.com --ip 192.0.2.5
same "guard success of a locked subject" "" \
	guard success --subject locked@example.com --ip 192.0.2.5 --attempt 1
same "session check of a malformed session id" "not-a-session-id" session check
same "verify of a token that is no JWT" "garbage" verify
same "verify of an input longer than any" "$(head -c 16385 /dev/zero | tr '\0' A)" verify
same "an unknown option" "" guard check --subject a@example.com --bogus
same "jwks" "" jwks

ag_say "batch: the same ids echoed"
printf '%s\n' '{"id":1.5,"op":"jwks"}' '{"id":-7,"op":"jwks"}' '{"id":"x","op":"jwks"}' \
	'{"id":9007199254740993,"op":"jwks"}' '{"id":true,"op":"jwks"}' '{"op":"jwks"}' >"$AG_TMP/ids.in"
ids() { ag_python -c '
import json, sys
print(" ".join("%s:%s" % (json.loads(l)["status"], json.dumps(json.loads(l).get("id"))) for l in sys.stdin))'; }
AG_CONF=$DIRECT_CONF
direct=$(ag_token batch <"$AG_TMP/ids.in" 2>/dev/null | ids)
AG_CONF=$DAEMON_CONF
daemon=$(ag_token batch <"$AG_TMP/ids.in" 2>/dev/null | ids)
ag_expect_eq "batch without the daemon echoes the ids it should" \
	"0:1.5 0:-7 0:\"x\" 0:9007199254740993 2:null 0:null" "$direct"
ag_expect_eq "... and through the daemon the same" "$direct" "$daemon"
ag_done
