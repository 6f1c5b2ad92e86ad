#!/bin/bash
# store_fallback = local through the real module, against a throwaway
# PostgreSQL cluster (tests/lib/pgcluster.sh) that is stopped and started
# again:
#
#  - while the shared store is down, preauth, authfail and authsucc count
#    and lock on the host's SQLite state, and so does the account phase;
#    the switch is logged at LOG_CRIT once (event=store_fallback state=on)
#    and at LOG_WARNING on every later attempt;
#  - the code check (totp) and the session phase never fall back: they
#    deny with the reason;
#  - when the server is back, the next attempt uses it again and says so
#    once at LOG_CRIT (state=off); what was counted meanwhile stays in the
#    local state, the shared one holds none of it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/lib/pgcluster.sh"
ag_pgc_available || ag_skip "PostgreSQL server not installed (apt-get install postgresql)"
[ -f "${AUTHGUARD_TEST_MODULE_DIR:-}/store-postgresql.so" ] ||
	ag_skip "built without the PostgreSQL back end"
ag_init

fb_at_exit() {
	local rc=$?
	ag_pgc_stop immediate
	(exit "$rc")
	ag_cleanup
}
trap fb_at_exit EXIT
ag_pgc_start "$AG_TMP/pg" || ag_bail "cannot start a PostgreSQL cluster"
ag_pgc_createdb ag || ag_bail "cannot create a database"

AG_RHOST=192.0.2.30
LOCAL_DB=$AG_TMP/fb-state/state.db
AG_CONF=$AG_TMP/fb.conf
cat >"$AG_CONF" <<EOF
state_file = $LOCAL_DB
secrets_key = $AG_TMP/keys/secrets.key
store = postgresql
pg_conninfo = $AG_PGC_CONNINFO dbname=ag
pg_connect_timeout = 2s
pg_statement_timeout = 2s
store_fallback = local
deny = 3
host_deny = 0
delay_base = 0
EOF
chmod 600 "$AG_CONF"
out=$(ag_ctl init 2>&1) || ag_bail "authguard-ctl init failed: $out"
[ -f "$LOCAL_DB" ] || ag_bail "init made no local state for the fallback: $LOCAL_DB"
ag_service fb "$AG_CONF"
cat >>"$AG_TMP/svc/fb" <<EOF
session  required                $AG_MODULE conf=$AG_CONF
EOF
ag_mfa_service fbmfa "$AG_CONF"
AG_SVC=fb
# The local state as a configuration of its own, for status.
LOCAL_CONF=$AG_TMP/local.conf
printf 'state_file = %s\nsecrets_key = %s\n' "$LOCAL_DB" "$AG_TMP/keys/secrets.key" >"$LOCAL_CONF"
chmod 600 "$LOCAL_CONF"
local_status() { # USER FIELD=VALUE...
	local conf=$AG_CONF
	AG_CONF=$LOCAL_CONF
	ag_expect_status "$@"
	AG_CONF=$conf
}

# count ERE: lines the last command logged that match ERE.
count() { ag_log_last | grep -Ec -- "$1" || true; }
ON='pam_authguard\(fb:auth\): event=store_fallback state=on store=postgresql reason='
CRIT='^<82> '
WARN='^<84> '

ag_say "the shared store is up"
ag_attempt "right password accepted through PostgreSQL" alice "$AG_RIGHT" 0 1
ag_expect_no_log "no fallback while it is up" 'event=store_fallback|event=error'

ag_say "the server stops"
ag_pgc_stop fast
ag_attempt "wrong password during the outage: checked, refused" alice "$AG_WRONG" 1 1
ag_expect_eq "the switch is logged once at LOG_CRIT" 1 "$(count "$CRIT.*$ON")"
ag_expect_no_log "no event=error: the attempt was counted locally" 'event=error'
ag_expect_log "the failure is logged as usual" 'event=auth_fail user=alice .*failures=1'
ag_attempt "a second wrong password: checked, refused" alice "$AG_WRONG" 1 1
ag_expect_eq "... the fallback is logged at LOG_WARNING" 1 "$(count "$WARN.*$ON")"
ag_expect_eq "... and not again at LOG_CRIT" 0 "$(count "$CRIT.*event=store_fallback")"
ag_attempt "a third wrong password locks the account (deny = 3), locally" alice "$AG_WRONG" 1 1
ag_expect_log "the lock is logged" 'event=lock scope=account user=alice'
ag_attempt "the right password is refused now, unchecked" alice "$AG_RIGHT" 1 0
ag_attempt "the account phase falls back too and refuses the locked account" \
	alice - 1 0 acct_mgmt
ag_expect_no_log "... without an error" 'event=error'
local_status "the local state holds the three failures and the lock" alice -- \
	failures=3 locked=true

ag_say "what never falls back"
ag_pam bob - open_session
ag_expect_eq "session phase during the outage: refused" 1 "$AG_RC"
ag_expect_log "... with the reason" \
	'pam_authguard\(fb:session\): event=error op=session user=bob: .*; access denied$'
AG_SVC=fbmfa
ag_pam_mfa bob "$AG_RIGHT" 123456
ag_expect_eq "code check during the outage: right password, refused" 1 "$AG_RC"
ag_expect_log "... the code step says why" \
	'pam_authguard\(fbmfa:auth\): event=error op=auth user=bob: .*; access denied$'
ag_expect_no_log "... and nothing succeeded" 'event=success|success_reset'
AG_SVC=fb

ag_say "the server is back"
ag_pgc_restart || ag_bail "cannot restart the cluster"
ag_attempt "carol's right password: accepted through PostgreSQL" carol "$AG_RIGHT" 0 1
ag_expect_eq "the return is logged once at LOG_CRIT" 1 \
	"$(count "$CRIT.*event=store_fallback state=off store=postgresql")"
ag_attempt "alice's right password: accepted (the shared store never saw the lock)" \
	alice "$AG_RIGHT" 0 1
ag_expect_no_log "... and nothing more about the fallback" 'event=store_fallback'
local_status "the local state keeps what was counted during the outage" alice -- \
	failures=3 locked=true

ag_done
