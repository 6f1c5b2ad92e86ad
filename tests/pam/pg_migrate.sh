#!/bin/bash
# Moving a host's SQLite state to a PostgreSQL store (authguard-ctl
# migrate --from-sqlite), against a throwaway cluster
# (tests/lib/pgcluster.sh, stopped at exit).
#
# A state is built on SQLite through the real module and helpers: a
# locked account, an account with a failure in the window, one whose name
# is not UTF-8, an MFA enrollment with a used TOTP step and a used backup
# code, a pending enrollment, a revoked access token, a live refresh
# family one rotation in, a web session, an open PAM session, a webhook
# message.  It is copied by the schema owner, the configuration switched
# to PostgreSQL as the least-privileged runtime role, and the same
# programs then see the same state: the lock still refuses, the counts
# stand, the used TOTP step and backup code are still refused and the
# others accepted, the enrollment can be confirmed, the revoked token is
# refused, the refresh token redeems once (then reuse revokes the
# family), the session checks, the PAM session counts against the limit,
# the webhook message is a replay.  New rows draw fresh ids (the
# identity sequences were moved past the copied ones).
#
# Refusals: a destination that holds rows (unless --force, which
# replaces them); a copy that fails half-way leaves the destination as it
# was (one transaction); the runtime role cannot copy (no right on the
# sequences); store = sqlite, a relative or missing source.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/lib/pgcluster.sh"
ag_pgc_available || ag_skip "PostgreSQL server not installed (apt-get install postgresql)"
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool not installed (apt-get install oathtool)"
command -v openssl >/dev/null 2>&1 || ag_bail "openssl (the command) is required"
command -v mkfifo >/dev/null 2>&1 || ag_bail "mkfifo is required"
ag_init
[ -x "$top_builddir/helpers/authguard-webhook" ] || ag_bail "authguard-webhook not built"
HOLDER=$top_builddir/tests/lib/pam_session_holder
[ -x "$HOLDER" ] || ag_bail "pam_session_holder not built (make check builds it)"

pg_at_exit() {
	local rc=$?
	[ -z "${H_PID:-}" ] || kill "$H_PID" 2>/dev/null
	ag_pgc_stop immediate
	(exit "$rc")
	ag_cleanup
}
trap pg_at_exit EXIT
ag_pgc_start "$AG_TMP/pg" || ag_bail "cannot start a PostgreSQL cluster"
ag_pgc_createdb ag || ag_bail "cannot create a database"
ag_pgc_psql ag "CREATE ROLE ag_app LOGIN" || ag_bail "cannot create role ag_app"
psql_ag() { ag_pgc_psql ag "$1"; }

AG_NOW=$AG_T0
UA="Mozilla/5.0 (X11; Linux x86_64) migrate-test"
WH_SECRET=whsec_$(head -c 24 /dev/urandom | base64 -w0)
COMMON=("deny = 3" "delay_base = 0" "refresh_grace = 0" "pam_session_max = 1"
	"token_keys_dir = $AG_TMP/tkeys" "token_issuer = https://auth.example.test"
	"token_audience = api.example.test" "webhook_secret_file = $AG_TMP/keys/webhook.secret")

# The site's configuration: one path the PAM services name, switched from
# SQLite to PostgreSQL in place, as an administrator edits authguard.conf.
ag_conf site "${COMMON[@]}"
SITE=$AG_CONF
LITE_DB=$AG_DB
cp "$SITE" "$AG_TMP/site.sqlite"
ag_service login "$SITE"
ag_mfa_service mfa "$SITE"
printf 'session required %s conf=%s\n' "$AG_MODULE" "$SITE" >"$AG_TMP/svc/sess"
chmod 644 "$AG_TMP/svc/sess"
(umask 077 && printf '%s\n' "$WH_SECRET" >"$AG_TMP/keys/webhook.secret")
ag_ctl keygen >/dev/null || ag_bail "authguard-ctl keygen failed"

tk() { ag_run_token "$@"; }
wh() { # wh BODYFILE MSG_ID: delivers a signed webhook; AG_RC, AG_JSON
	local hex sig
	hex=$(printf '%s' "${WH_SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
	sig=v1,$({ printf '%s.%s.' "$2" "$AG_NOW"; cat "$1"; } |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary | base64 -w0)
	AG_JSON=$(ag_helper "$top_builddir/helpers/authguard-webhook" receive \
		--header "svix-id: $2" --header "svix-timestamp: $AG_NOW" \
		--header "svix-signature: $sig" <"$1" 2>"$AG_TMP/wh.err")
	AG_RC=$?
	AG_OUT=$(cat "$AG_TMP/wh.err")
	ag_check_sanitizer "$AG_OUT" "authguard-webhook receive"
}
# expect_json DESC FIELD=VALUE...: fields of the last helper's JSON.
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
		ag_fail "$desc" "${bad[@]}" "exit: $AG_RC" "json: $(printf '%s' "$AG_JSON" | cut -c1-300)" \
			"stderr: $AG_OUT"
	fi
}

# hold / release: a PAM session held open by pam_session_holder (stdin a
# fifo this shell keeps open), with the /tmp lock of lib.sh held while
# pam_wrapper starts.
H_PID= H_FD= H_OUT=$AG_TMP/holder.out
hold() {
	local fifo=$AG_TMP/holder.in i
	rm -f "$fifo"
	mkfifo "$fifo"
	: >"$H_OUT"
	ag_preload pam
	exec 8</tmp
	flock -x 8
	(
		exec 8<&-
		exec env LD_PRELOAD="$ag_preload" PAM_WRAPPER=1 PAM_WRAPPER_USE_SYSLOG=1 \
			PAM_WRAPPER_SERVICE_DIR="$AG_TMP/svc" AG_SYSLOG_FILE="$AG_LOG" \
			AUTHGUARD_TEST_TIME="$AG_NOW" "$HOLDER" sess "$1" pts/7 "" \
			<"$fifo" >"$H_OUT" 2>"$H_OUT.err"
	) &
	H_PID=$!
	exec {H_FD}>"$fifo"
	for i in $(seq 1 400); do
		[ -s "$H_OUT" ] && break
		sleep 0.05
	done
	flock -u 8
	exec 8<&-
	ag_check_sanitizer "$(cat "$H_OUT.err")" "pam_session_holder"
}
release() {
	exec {H_FD}>&-
	wait "$H_PID"
	AG_RC=$?
	H_PID=
}
# A session opened and closed at once: the limit's verdict.
session_once() {
	ag_preload pam
	printf '' | ${ag_pwrap_shared[@]+"${ag_pwrap_shared[@]}"} timeout 20 env \
		LD_PRELOAD="$ag_preload" PAM_WRAPPER=1 PAM_WRAPPER_USE_SYSLOG=1 \
		PAM_WRAPPER_SERVICE_DIR="$AG_TMP/svc" AG_SYSLOG_FILE="$AG_LOG" \
		AUTHGUARD_TEST_TIME="$AG_NOW" "$HOLDER" sess "$1" pts/8 "" 2>/dev/null | head -n 1
}

# ============================================================ on SQLite

ag_say "a state on SQLite"
AG_SVC=login
for i in 1 2 3; do
	ag_attempt "alice: wrong password $i" alice "$AG_WRONG" 1 1
done
ag_attempt "... alice is locked: the right password is refused unchecked" alice "$AG_RIGHT" 1 0
ag_attempt "bob: one wrong password" bob "$AG_WRONG" 1 1
JOSE=$'jos\xe9'
ag_attempt "a Latin-1 account name: one wrong password" "$JOSE" "$AG_WRONG" 1 1
ag_expect_status "... counted under its bytes" "$JOSE" -- failures=1

ag_enroll carol || ag_bail "cannot enroll carol"
CAROL=$AG_SECRET
CB=("${AG_BACKUP[@]}")
AG_NOW=$((AG_T0 + 30))
AG_SVC=mfa
CODE30=$(ag_totp "$CAROL")
ag_mfa_attempt "carol: password and TOTP code (step of T0+30)" carol "$AG_RIGHT" "$CODE30" 0 1
ag_mfa_attempt "carol: backup code 1" carol "$AG_RIGHT" "${CB[0]}" 0 1
ag_run_enroll --user dave --json </dev/null
ag_expect_eq "dave: an enrollment started, not confirmed" 0 "$AG_RC"
DAVE=$(ag_jget "$AG_JSON" secret)

tk issue --sub erin --refresh </dev/null
ag_expect_eq "erin: an access token and a refresh token" 0 "$AG_RC"
A1=$(ag_jget "$AG_JSON" token)
R1=$(ag_jget "$AG_JSON" refresh_token)
tk revoke <<<"$A1"
ag_expect_eq "... the access token revoked" 0 "$AG_RC"
tk refresh <<<"$R1"
ag_expect_eq "... the refresh token rotated once" 0 "$AG_RC"
R2=$(ag_jget "$AG_JSON" refresh_token)

tk session create --user Frank --user-agent "$UA" </dev/null
ag_expect_eq "Frank: a web session" 0 "$AG_RC"
SID=$(ag_jget "$AG_JSON" session)

hold gina
ag_expect_eq "gina: a PAM session held open" open "$(head -n 1 "$H_OUT")"
ag_expect_eq "... and a second one is refused (pam_session_max = 1)" \
	"Permission denied" "$(session_once gina)"

printf '%s' '{"data":{"id":"user_hal","object":"user"},"object":"event","type":"user.created"}' \
	>"$AG_TMP/created.json"
wh "$AG_TMP/created.json" msg_migrate_1
expect_json "a webhook message, applied" valid=true

LITE_COUNTS=$(for t in subject failure mfa backup_code revoked_jti refresh_family refresh_token \
	web_session pam_session webhook_msg; do
	printf '%s=%s ' "$t" "$(sqlite3 "$LITE_DB" "SELECT count(*) FROM $t")"
done)
ag_say "SQLite rows: $LITE_COUNTS"

# ============================================================ migrate

ag_say "the schema owner creates the schema, grants the runtime role, copies"
OWNER=$AG_TMP/owner.conf
{ cat "$AG_TMP/site.sqlite"; printf 'store = postgresql\npg_conninfo = %s dbname=ag\n' \
	"$AG_PGC_CONNINFO"; } >"$OWNER"
chmod 600 "$OWNER"
APP=$AG_TMP/site.pg
{ cat "$AG_TMP/site.sqlite"; printf 'store = postgresql\npg_conninfo = host=%s port=%s dbname=ag user=ag_app\n' \
	"$AG_PGC_DIR" "$AG_PGC_PORT"; } >"$APP"
chmod 644 "$APP"

AG_CONF=$OWNER
ag_run_ctl init --grant ag_app
ag_expect_eq "init --grant ag_app" 0 "$AG_RC"

AG_CONF=$APP
ag_run_ctl migrate --from-sqlite "$LITE_DB"
ag_expect_eq "migrate as the runtime role: refused (no right on the id sequences)" 3 "$AG_RC"
ag_expect_out "... saying so, and that nothing was copied" \
	"permission denied for sequence .*; nothing copied$"
ag_expect_eq "... the store is still empty" 0 "$(psql_ag "SELECT count(*) FROM authguard.subject")"

AG_CONF=$OWNER
ag_run_ctl migrate --from-sqlite "$LITE_DB"
ag_expect_eq "migrate as the owner: exit 0" 0 "$AG_RC"
ag_expect_eq "... reports the rows copied" 1 \
	"$(grep -c "^copied [0-9]* rows from $LITE_DB into postgresql schema authguard$" <<<"$AG_JSON")"
ag_expect_log "... and logs it" "event=store_migrated from=$LITE_DB schema=authguard rows=[0-9]+ replaced=0"
PG_COUNTS=$(for t in subject failure mfa backup_code revoked_jti refresh_family refresh_token \
	web_session pam_session webhook_msg; do
	printf '%s=%s ' "$t" "$(psql_ag "SELECT count(*) FROM authguard.$t")"
done)
ag_expect_eq "every table holds the rows SQLite held" "$LITE_COUNTS" "$PG_COUNTS"
ag_expect_eq "... with the same ids and references" \
	"$(sqlite3 "$LITE_DB" "SELECT group_concat(x, ' ') FROM (SELECT f.id || ':' || s.id || ':' ||
		s.kind || ':' || f.attempt AS x FROM failure f JOIN subject s ON s.id = f.subject_id
		ORDER BY f.id); SELECT group_concat(x, ' ') FROM (SELECT hex(t.hash) || ':' || f.id || ':'
		|| f.subject AS x FROM refresh_token t JOIN refresh_family f ON f.id = t.family_id
		ORDER BY t.hash); SELECT group_concat(x, ' ') FROM (SELECT b.account || ':' || hex(b.hash)
		AS x FROM backup_code b JOIN mfa m ON m.account = b.account ORDER BY 1)")" \
	"$(psql_ag "SELECT string_agg(f.id || ':' || s.id || ':' || s.kind || ':' || f.attempt, ' '
		ORDER BY f.id) FROM authguard.failure f JOIN authguard.subject s ON s.id = f.subject_id;
		SELECT string_agg(upper(encode(t.hash, 'hex')) || ':' || f.id || ':' || f.subject, ' '
		ORDER BY t.hash) FROM authguard.refresh_token t
		JOIN authguard.refresh_family f ON f.id = t.family_id;
		SELECT string_agg(b.account || ':' || upper(encode(b.hash, 'hex')), ' ' ORDER BY 1)
		FROM authguard.backup_code b JOIN authguard.mfa m ON m.account = b.account")"

cp "$APP" "$SITE" # every program now uses PostgreSQL, as ag_app
AG_CONF=$SITE
ag_run_ctl check-config
ag_expect_eq "check-config on the switched configuration: ok" 0 "$AG_RC"

# ============================================================ on PostgreSQL

ag_say "the same state, seen through PostgreSQL"
AG_SVC=login
ag_attempt "alice is still locked: the right password refused unchecked" alice "$AG_RIGHT" 1 0
ag_expect_status "... status says locked, 3 failures" alice -- failures=3 locked=true
ag_expect_status "bob still has his failure" bob -- failures=1 locked=false
ag_expect_status "the Latin-1 name too, under its bytes" "$JOSE" -- failures=1
ag_attempt "... whose next failure adds to it" "$JOSE" "$AG_WRONG" 1 1
ag_expect_status "... 2 now" "$JOSE" -- failures=2
ag_attempt "a new account: counted (fresh subject id)" eve "$AG_WRONG" 1 1
ag_expect_status "... eve has 1 failure" eve -- failures=1

AG_SVC=mfa
ag_mfa_attempt "carol: the TOTP code already used is still refused" carol "$AG_RIGHT" "$CODE30" 1 1
ag_mfa_attempt "carol: the backup code already used is still refused" carol "$AG_RIGHT" "${CB[0]}" 1 1
ag_mfa_attempt "carol: backup code 2 is accepted" carol "$AG_RIGHT" "${CB[1]}" 0 1
ag_mfa_attempt "... once" carol "$AG_RIGHT" "${CB[1]}" 1 1
AG_NOW=$((AG_T0 + 90))
ag_mfa_attempt "carol: the code of a later step is accepted (the sealed secret opens)" carol \
	"$AG_RIGHT" "$(ag_totp "$CAROL")" 0 1
ag_run_enroll --user dave --confirm --json <<<"$(ag_totp "$DAVE")"
expect_json "dave confirms his pending enrollment" enrolled=true

tk verify <<<"$A1"
expect_json "erin's revoked access token is still refused" valid=false reason=revoked
tk refresh <<<"$R2"
expect_json "erin's refresh token redeems" sub=erin
ag_expect_eq "... exit 0" 0 "$AG_RC"
R3=$(ag_jget "$AG_JSON" refresh_token)
tk refresh <<<"$R2"
expect_json "... once: presented again it is reuse" valid=false reason=reused
tk refresh <<<"$R3"
expect_json "... and the family is revoked" valid=false reason=revoked
tk issue --sub ida --refresh </dev/null
ag_expect_eq "a new refresh family: created" 0 "$AG_RC"
ag_expect_eq "... with a fresh id" \
	"$(($(sqlite3 "$LITE_DB" "SELECT max(id) FROM refresh_family") + 1))" \
	"$(psql_ag "SELECT id FROM authguard.refresh_family WHERE subject = 'ida'")"

tk session check --user-agent "$UA" <<<"$SID"
expect_json "Frank's web session checks" valid=true user=Frank
tk session list --user frank </dev/null
ag_expect_eq "... and is listed under any spelling of the user" 1 \
	"$(ag_python -c 'import json,sys; print(len(json.loads(sys.argv[1])["sessions"]))' "$AG_JSON")"

ag_run_ctl sessions --json gina
ag_expect_eq "gina's PAM session is in the shared store" "pam gina $H_PID" \
	"$(ag_python -c 'import json,sys
s = json.loads(sys.argv[1])
print(" ".join(str(x) for r in s for x in (r["kind"], r["user"], r["pid"])))' "$AG_JSON")"
ag_expect_eq "... and counts: a second session is refused" "Permission denied" \
	"$(session_once gina)"
release
ag_expect_eq "gina's held session closes" 0 "$AG_RC"
ag_expect_eq "... once its process is gone, a new session is allowed (fresh id)" open \
	"$(session_once gina)"

wh "$AG_TMP/created.json" msg_migrate_1
expect_json "the webhook message is a replay" valid=false reason=replayed

# ============================================================ refusals

ag_say "refusals"
snapshot() {
	psql_ag "SELECT (SELECT string_agg(id || ':' || name || ':' || locked_until, ',' ORDER BY id)
		FROM authguard.subject), (SELECT count(*) FROM authguard.failure),
		(SELECT count(*) FROM authguard.refresh_token), (SELECT count(*) FROM authguard.webhook_msg)"
}
AG_CONF=$OWNER
before=$(snapshot)
ag_run_ctl migrate --from-sqlite "$LITE_DB"
ag_expect_eq "migrate into a store that holds rows: exit 2" 2 "$AG_RC"
ag_expect_out "... saying so" "destination already holds rows; nothing copied \\(--force replaces"
ag_expect_eq "... nothing changed" "$before" "$(snapshot)"

psql_ag "CREATE FUNCTION authguard.refuse() RETURNS trigger LANGUAGE plpgsql AS
	\$\$BEGIN RAISE EXCEPTION 'injected failure'; END\$\$;
	CREATE TRIGGER refuse BEFORE INSERT ON authguard.webhook_msg
	FOR EACH ROW EXECUTE FUNCTION authguard.refuse()" || ag_bail "cannot create a trigger"
ag_run_ctl migrate --from-sqlite "$LITE_DB" --force
ag_expect_eq "--force, failing at the last table: exit 3" 3 "$AG_RC"
ag_expect_out "... saying why" "injected failure; nothing copied$"
ag_expect_eq "... and the store is as it was (one transaction)" "$before" "$(snapshot)"
psql_ag "DROP TRIGGER refuse ON authguard.webhook_msg" || ag_bail "cannot drop the trigger"

ag_run_ctl migrate --from-sqlite "$LITE_DB" --force
ag_expect_eq "--force: exit 0" 0 "$AG_RC"
# gina's session closed in the SQLite state: the store a PAM handle
# opened the session with is the one it closes it in.
ag_expect_eq "... what the store held is replaced by the SQLite rows" \
	"$(for t in subject failure mfa backup_code revoked_jti refresh_family refresh_token \
		web_session pam_session webhook_msg; do
		printf '%s=%s ' "$t" "$(sqlite3 "$LITE_DB" "SELECT count(*) FROM $t")"
	done)" \
	"$(for t in subject failure mfa backup_code revoked_jti refresh_family refresh_token \
		web_session pam_session webhook_msg; do
		printf '%s=%s ' "$t" "$(psql_ag "SELECT count(*) FROM authguard.$t")"
	done)"
ag_expect_eq "... eve, recorded only on PostgreSQL, is gone" 0 \
	"$(psql_ag "SELECT count(*) FROM authguard.subject WHERE name = 'eve'")"

ag_run_ctl migrate --from-sqlite "$AG_TMP/none.db"
ag_expect_eq "a source that does not exist: exit 2" "2 authguard-ctl: --from-sqlite $AG_TMP/none.db: No such file or directory" "$AG_RC $AG_OUT"
ag_run_ctl migrate --from-sqlite site-state/state.db
ag_expect_eq "a relative source: exit 2" "2 authguard-ctl: --from-sqlite: must be an absolute path" \
	"$AG_RC $AG_OUT"
AG_CONF=$AG_TMP/site.sqlite
ag_run_ctl migrate --from-sqlite "$LITE_DB"
ag_expect_eq "with store = sqlite: exit 2" 2 "$AG_RC"
ag_expect_out "... saying why" "migrate copies into a PostgreSQL store"

ag_done
