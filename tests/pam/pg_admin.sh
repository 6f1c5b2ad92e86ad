#!/bin/bash
# Administration of a PostgreSQL store, against a throwaway cluster
# (tests/lib/pgcluster.sh, stopped at exit):
#
#  - init creates the schema and the secrets key, and no SQLite state (the
#    local one only with store_fallback = local); init --grant ROLE gives
#    the runtime role exactly USAGE on the schema, SELECT on the version
#    table and SELECT/INSERT/UPDATE/DELETE on the tables -- nothing else
#    (no CREATE, TRUNCATE, sequence) -- and refuses a role name that is
#    not a plain lower-case identifier, "public", "pg_*", or a SQLite
#    store; the PAM module and the helpers then work as that role;
#  - hostile configurations, each refused with a precise reason: a
#    connection string libpq cannot parse (its reason, which may quote the
#    password, is not shown), a socket directory with no server, a closed
#    port on 127.0.0.1, a wrong password, no password, a role without
#    rights, a role missing one right, a missing schema, a schema of a
#    newer version.  For each: check-config's exit status and message, a
#    PAM attempt denied before the password check with one syslog line
#    saying why, and authguard-token guard check exiting non-zero;
#  - check-config's advice: a password in a configuration file others may
#    read, a passfile libpq would ignore, a remote server without
#    sslmode=verify-full;
#  - the database password (a scram-sha-256 role) never appears in any
#    helper's argv, stdout or stderr, in the captured syslog, or in the
#    server's log.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/lib/pgcluster.sh"
ag_pgc_available || ag_skip "PostgreSQL server not installed (apt-get install postgresql)"
ag_init

pg_at_exit() {
	local rc=$?
	ag_pgc_stop immediate
	(exit "$rc")
	ag_cleanup
}
trap pg_at_exit EXIT
ag_pgc_start "$AG_TMP/pg" || ag_bail "cannot start a PostgreSQL cluster"
ag_pgc_createdb ag || ag_bail "cannot create a database"
psql_ag() { ag_pgc_psql ag "$1"; }

# The database password of role ag_pw, and a wrong one: secrets (the
# final scan looks for both everywhere).
PW=Pg-$(head -c 12 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
WRONG=Wr-$(head -c 12 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
ag_secret "$PW" "$WRONG"
ag_pgc_scram ag_pw "$PW" || ag_bail "cannot create a role with a password"
BASE="host=$AG_PGC_DIR port=$AG_PGC_PORT dbname=ag"
STDOUT_ALL=$AG_TMP/ctl-stdout.all

# pg_conf NAME MODE LINE...: $AG_TMP/NAME.conf for store = postgresql (no
# init), mode MODE; made current (AG_CONF) with a service of the same name.
pg_conf() {
	local name=$1 mode=$2 line
	shift 2
	AG_CONF=$AG_TMP/$name.conf
	{
		printf 'state_file = %s\n' "$AG_TMP/$name-state/state.db"
		printf 'secrets_key = %s\n' "$AG_TMP/keys/secrets.key"
		printf 'store = postgresql\npg_connect_timeout = 2s\npg_statement_timeout = 2s\n'
		printf 'delay_base = 0\n'
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$AG_CONF"
	chmod "$mode" "$AG_CONF"
	ag_service "$name" "$AG_CONF"
	AG_SVC=$name
}

# ctl ARGS...: authguard-ctl; stdout is also kept for the secret checks.
ctl() {
	ag_run_ctl "$@"
	printf '%s\n' "$AG_JSON" >>"$STDOUT_ALL"
}

# expect_check DESC RC ERE: check-config exits RC with a line matching ERE.
expect_check() {
	ctl check-config
	if [ "$AG_RC" = "$2" ] && grep -Eq -- "$3" <<<"$AG_JSON"; then
		ag_pass "$1"
	else
		ag_fail "$1" "expected exit $2 and a line matching: $3" "got exit $AG_RC:" \
			"$(printf '%s' "$AG_JSON" | head -n 8 | cut -c1-300 | tr '\n' '|')" \
			"stderr: $AG_OUT"
	fi
}

# expect_denied DESC ERE: with AG_CONF's service, a login with the right
# password is denied before its check, with exactly one syslog line
# matching ERE that says access was denied; authguard-token guard check
# exits non-zero saying the same.
expect_denied() {
	local desc=$1 ere=$2 n
	ag_attempt "$desc: PAM denies the right password, unchecked" carol "$AG_RIGHT" 1 0
	n=$(ag_log_last | grep -Ec -- "event=error .*$ere.*; access denied")
	ag_expect_eq "... one syslog line says why" 1 "$n"
	ag_run_token guard check --subject carol --ip 192.0.2.20
	if [ "$AG_RC" != 0 ] && grep -Eq -- "$ere" <<<"$AG_OUT"; then
		ag_pass "$desc: authguard-token guard check exits $AG_RC, saying why"
	else
		ag_fail "$desc: authguard-token guard check exits non-zero, saying why" \
			"exit $AG_RC, stdout $AG_JSON, stderr $AG_OUT"
	fi
}

# ============================================================ init

ag_say "init as the schema owner, with --grant"
psql_ag "CREATE ROLE ag_app LOGIN" || ag_bail "cannot create role ag_app"
pg_conf owner 600 "pg_conninfo = $AG_PGC_CONNINFO dbname=ag"
OWNER_CONF=$AG_CONF
ctl init --grant ag_app
ag_expect_eq "init --grant ag_app exits 0" 0 "$AG_RC"
ag_expect_eq "... the schema is created" 1 \
	"$(grep -cxF 'postgresql schema authguard ready (schema 1)' <<<"$AG_JSON")"
ag_expect_eq "... the rights are granted" 1 "$(grep -c '^granted role ag_app USAGE' <<<"$AG_JSON")"
ag_expect_eq "... no SQLite state directory or file is created" no \
	"$([ -e "$AG_TMP/owner-state" ] && echo yes || echo no)"
ag_expect_eq "... the secrets key is" yes "$([ -f "$AG_TMP/keys/secrets.key" ] && echo yes || echo no)"
ag_expect_log "... and the grant is logged" "event=store_grant role=ag_app schema=authguard uid=[0-9]+"

GRANTS=$(psql_ag "SELECT table_name || ':' || privilege_type FROM information_schema.role_table_grants
	WHERE grantee = 'ag_app' ORDER BY 1" | tr '\n' ' ')
WANT=
for t in authguard_meta backup_code failure mfa pam_session refresh_family refresh_token \
	revoked_jti subject web_session webhook_msg; do
	if [ "$t" = authguard_meta ]; then
		WANT="${WANT}$t:SELECT "
	else
		WANT="${WANT}$t:DELETE $t:INSERT $t:SELECT $t:UPDATE "
	fi
done
ag_expect_eq "the role has exactly these table rights" "$WANT" "$GRANTS"
ag_expect_eq "... USAGE on the schema, not CREATE" "t f" \
	"$(psql_ag "SELECT has_schema_privilege('ag_app', 'authguard', 'USAGE'),
		has_schema_privilege('ag_app', 'authguard', 'CREATE')" | tr '|' ' ')"
ag_expect_eq "... and no right on a sequence" 0 \
	"$(psql_ag "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'authguard' AND c.relkind = 'S'
		AND (has_sequence_privilege('ag_app', c.oid, 'USAGE')
		  OR has_sequence_privilege('ag_app', c.oid, 'UPDATE')
		  OR has_sequence_privilege('ag_app', c.oid, 'SELECT'))")"
ctl init --grant ag_app
ag_expect_eq "init --grant again: exit 0, same rights" "0 $WANT" "$AG_RC $(psql_ag "SELECT
	table_name || ':' || privilege_type FROM information_schema.role_table_grants
	WHERE grantee = 'ag_app' ORDER BY 1" | tr '\n' ' ')"

for bad in Ag_App public pg_monitor 'ag"; DROP SCHEMA authguard; --' '' 1ag \
	"$(printf 'a%.0s' $(seq 1 64))"; do
	ctl init --grant "$bad"
	ag_expect_eq "init --grant '${bad:0:40}': exit 2" 2 "$AG_RC"
	ag_expect_out "... with the reason" "^authguard-ctl: --grant: role name: "
done
ag_expect_eq "... and the schema is still there" 1 \
	"$(psql_ag "SELECT count(*) FROM pg_namespace WHERE nspname = 'authguard'")"
ctl init --grant ag_ghost
ag_expect_eq "init --grant for a role that does not exist: exit 2" 2 "$AG_RC"
ag_expect_out "... saying so" 'grant: role "ag_ghost" does not exist'

ag_conf lite
ctl init --grant ag_app
ag_expect_eq "init --grant with store = sqlite: exit 2" 2 "$AG_RC"
ag_expect_out "... saying why" "only for store = postgresql"

ag_say "the runtime role (USAGE and DML only) runs everything"
pg_conf app 600 "pg_conninfo = $BASE user=ag_app"
APP_CONF=$AG_CONF
expect_check "check-config as ag_app: exit 0, schema and rights ok" 0 \
	'^store: ok \(schema 1; the role may read and write every table\)$'
ag_attempt "a wrong password as ag_app: checked, denied" carol "$AG_WRONG" 1 1
ag_expect_status "... and counted in the shared store" carol -- failures=1
ag_attempt "the right password: allowed" carol "$AG_RIGHT" 0 1
ag_run_token guard check --subject dave@example.test --ip 192.0.2.20
ag_expect_eq "authguard-token guard check as ag_app: exit 0" 0 "$AG_RC"
S_BEFORE=$(psql_ag "SELECT value FROM authguard.authguard_meta")
ctl init
ag_expect_eq "init as ag_app on the current schema: exit 0, the schema left alone" \
	"0 $S_BEFORE" "$AG_RC $(psql_ag "SELECT value FROM authguard.authguard_meta")"
pg_conf app2 600 "pg_conninfo = $BASE user=ag_app" "pg_schema = ag_other"
ctl init
ag_expect_eq "init as ag_app of a schema to create (no DDL right): refused" 3 "$AG_RC"
ag_expect_out "... naming the missing right" "permission denied"
AG_CONF=$APP_CONF AG_SVC=app
ag_expect_eq "ag_app cannot create, truncate or drop in the schema" "no no no" \
	"$(for q in 'CREATE TABLE authguard.x (i int)' 'TRUNCATE authguard.subject' \
		'DROP TABLE authguard.webhook_msg'; do
		psql -X -q -At -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" -U ag_app -d ag -c "$q" \
			>/dev/null 2>&1 && echo yes || echo no
	done | tr '\n' ' ' | sed 's/ $//')"

ag_say "store_fallback = local: init also creates the local SQLite state"
pg_conf fb 600 "pg_conninfo = $AG_PGC_CONNINFO dbname=ag" "store_fallback = local"
ctl init
ag_expect_eq "init exits 0" 0 "$AG_RC"
ag_expect_eq "... and creates the local state" 1 \
	"$(grep -cxF "local state (store_fallback = local) $AG_TMP/fb-state/state.db ready (schema 6)" \
		<<<"$AG_JSON")"
expect_check "check-config checks both" 0 \
	"^local state \\(store_fallback = local\\) $AG_TMP/fb-state/state.db: ok"

# ============================================================ hostile

ag_say "a connection string libpq cannot parse"
for ci in "postgresql://ag_pw:$PW@[::1/ag" "$BASE user=ag_pw $PW"; do
	pg_conf badci 600 "pg_conninfo = $ci"
	expect_check "check-config: exit 2" 2 \
		"^store: FAILED: postgresql: pg_conninfo: not a valid libpq connection string .*libpq's reason is not shown"
	expect_denied "bad connection string" "pg_conninfo: not a valid libpq connection string"
done

ag_say "no server on the socket directory"
mkdir -m 755 "$AG_TMP/nopg"
pg_conf nosrv 600 "pg_conninfo = host=$AG_TMP/nopg port=$AG_PGC_PORT user=postgres dbname=ag"
expect_check "check-config: exit 3, cannot reach the server" 3 \
	"^store: FAILED: postgresql: connect: cannot reach the server: .*$AG_TMP/nopg/.*No such file or directory"
expect_denied "no server" "connect: cannot reach the server"

ag_say "127.0.0.1 on a closed port"
pg_conf closed 600 "pg_conninfo = host=127.0.0.1 port=1 user=postgres dbname=ag"
expect_check "check-config: exit 3, cannot reach the server" 3 \
	'^store: FAILED: postgresql: connect: cannot reach the server: .*127\.0\.0\.1.*port 1'
ag_expect_eq "... and no advice about TLS for the loopback" 0 \
	"$(grep -c '^store warning' <<<"$AG_JSON")"
expect_denied "closed port" "connect: cannot reach the server"

ag_say "a wrong password, and none"
pg_conf wrongpw 600 "pg_conninfo = $BASE user=ag_pw password=$WRONG"
expect_check "wrong password: check-config exit 2, authentication failed" 2 \
	'^store: FAILED: postgresql: connect: authentication failed: .*password authentication failed for user "ag_pw"'
expect_denied "wrong password" "authentication failed"
pg_conf nopw 600 "pg_conninfo = $BASE user=ag_pw"
expect_check "no password: check-config exit 2, says none was given" 2 \
	'^store: FAILED: postgresql: connect: authentication failed: the server asks for a password and none was given'
expect_denied "no password" "authentication failed"

ag_say "a role without rights, and one missing a right"
psql_ag "CREATE ROLE ag_none LOGIN" || ag_bail "cannot create role ag_none"
pg_conf norights 600 "pg_conninfo = $BASE user=ag_none"
expect_check "role without rights: check-config exit 2, names the missing USAGE" 2 \
	'^store: FAILED: postgresql: rights: role ag_none lacks USAGE on schema authguard \(the schema owner runs authguard-ctl init --grant ROLE\)$'
expect_denied "role without rights" "role ag_none lacks USAGE on schema authguard"
psql_ag "CREATE ROLE ag_part LOGIN" || ag_bail "cannot create role ag_part"
AG_CONF=$OWNER_CONF
ctl init --grant ag_part
psql_ag "REVOKE INSERT ON authguard.failure FROM ag_part" || ag_bail "cannot revoke"
pg_conf part 600 "pg_conninfo = $BASE user=ag_part"
expect_check "a role missing INSERT on failure: check-config exit 2, names it" 2 \
	'^store: FAILED: postgresql: check: rights: role ag_part lacks INSERT on table authguard\.failure'
expect_denied "role missing a right" "permission denied for table failure"

ag_say "no schema, and a schema of a newer version"
ag_pgc_createdb empty || ag_bail "cannot create a database"
pg_conf noschema 600 "pg_conninfo = $AG_PGC_CONNINFO dbname=empty"
expect_check "missing schema: check-config exit 3, run init" 3 \
	'^store: FAILED: postgresql: schema: authguard does not exist \(run authguard-ctl init\)$'
expect_denied "missing schema" "schema: authguard does not exist"
ag_pgc_createdb newer || ag_bail "cannot create a database"
pg_conf newer 600 "pg_conninfo = $AG_PGC_CONNINFO dbname=newer"
ctl init
ag_pgc_psql newer "UPDATE authguard.authguard_meta SET value = 99" || ag_bail "cannot set the version"
expect_check "newer schema: check-config exit 3, version named" 3 \
	'^store: FAILED: postgresql: schema: authguard has version 99, this build needs 1 \(newer: written by a newer authguard; upgrade this host\)$'
expect_denied "newer schema" "has version 99, this build needs 1"
ctl init
ag_expect_eq "init refuses to touch a newer schema" 3 "$AG_RC"
ag_expect_eq "... which keeps its version" 99 \
	"$(ag_pgc_psql newer "SELECT value FROM authguard.authguard_meta")"

# ============================================================ advice

ag_say "advice: where the password is kept, TLS to a remote server"
AG_CONF=$OWNER_CONF
ctl init --grant ag_pw
ag_expect_eq "init --grant ag_pw (the role with a password)" 0 "$AG_RC"
pg_conf pw644 644 "pg_conninfo = $BASE user=ag_pw password=$PW"
expect_check "the right password in a 0644 file: exit 0" 0 '^store: ok '
ag_expect_eq "... with a warning to use a passfile" 1 \
	"$(grep -c "^store warning: pg_conninfo holds a password and $AG_CONF can be read by group or others (mode 0644): keep the password in a passfile" <<<"$AG_JSON")"
pg_conf pw600 600 "pg_conninfo = $BASE user=ag_pw password=$PW"
expect_check "the same in a 0600 file: exit 0" 0 '^store: ok '
ag_expect_eq "... and no warning" 0 "$(grep -c '^store warning' <<<"$AG_JSON")"
PGPASS=$AG_TMP/pgpass
printf '*:*:*:ag_pw:%s\n' "$PW" >"$PGPASS"
chmod 600 "$PGPASS"
pg_conf passfile 644 "pg_conninfo = $BASE user=ag_pw passfile=$PGPASS"
expect_check "the password in a 0600 passfile: exit 0" 0 '^store: ok '
ag_expect_eq "... and no warning (the configuration file holds none)" 0 \
	"$(grep -c '^store warning' <<<"$AG_JSON")"
ag_attempt "... and PAM logs in through it" carol "$AG_RIGHT" 0 1
chmod 644 "$PGPASS"
expect_check "a 0644 passfile (libpq ignores it): exit 2, no password given" 2 \
	'none was given'
ag_expect_eq "... with a warning about its mode" 1 \
	"$(grep -c "^store warning: passfile $PGPASS can be used by group or others (mode 0644): libpq ignores it" <<<"$AG_JSON")"
chmod 600 "$PGPASS"

pg_conf remote 600 "pg_conninfo = host=192.0.2.1 port=5432 dbname=ag user=ag_app sslmode=require" \
	"pg_connect_timeout = 1s"
expect_check "a remote server with sslmode=require: fails to connect in time (exit 3)" 3 \
	'^store: FAILED: postgresql: connect: cannot reach the server'
ag_expect_eq "... and a warning names it and verify-full" 1 \
	"$(grep -c '^store warning: pg_conninfo names the remote server 192.0.2.1 without sslmode=verify-full (sslmode=require)' <<<"$AG_JSON")"
pg_conf remote2 600 "pg_conninfo = postgresql://ag_app@192.0.2.2:5432/ag" "pg_connect_timeout = 1s"
expect_check "a remote server in a URI, sslmode not set: exit 3" 3 '^store: FAILED: '
ag_expect_eq "... warned about" 1 \
	"$(grep -c '^store warning: pg_conninfo names the remote server 192.0.2.2 without sslmode=verify-full (sslmode not set)' <<<"$AG_JSON")"
pg_conf remote3 600 "pg_conninfo = host=192.0.2.1 dbname=ag user=ag_app sslmode=verify-full" \
	"pg_connect_timeout = 1s"
expect_check "a remote server with verify-full: exit 3" 3 '^store: FAILED: '
ag_expect_eq "... and no warning" 0 "$(grep -c '^store warning' <<<"$AG_JSON")"
pg_conf local 600 "pg_conninfo = host=localhost,::1,$AG_PGC_DIR port=$AG_PGC_PORT dbname=ag user=ag_app"
expect_check "localhost, ::1 and a socket directory: exit 0" 0 '^store: ok '
ag_expect_eq "... and no warning" 0 "$(grep -c '^store warning' <<<"$AG_JSON")"

# ============================================================ the password

ag_say "the database password never shows"
pg_conf pwbatch 600 "pg_conninfo = $BASE user=ag_pw password=$PW" \
	"token_keys_dir = $AG_TMP/tkeys" "token_issuer = https://auth.example.test" \
	"token_audience = api.example.test"
ctl keygen
ag_expect_eq "keygen for the batch process" 0 "$AG_RC"
ag_preload
coproc BATCH { env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
	"$AG_TOKEN_BIN" --conf "$AG_CONF" batch 2>"$AG_TMP/batch.err"; }
bpid=$BATCH_PID
printf '%s\n' '{"id":1,"op":"revoke","jti":"jti-for-a-connection"}' >&"${BATCH[1]}"
IFS= read -r -t 20 -u "${BATCH[0]}" answer || answer="<no answer>"
ag_expect_eq "a batch process connected as ag_pw answers" 0 "$(ag_jget "$answer" status)"
ag_expect_eq "... its argv holds no password" 0 \
	"$(tr '\0' '\n' <"/proc/$bpid/cmdline" | grep -cF -- "$PW")"
ag_expect_eq "... nor does the server's view of the session" 0 \
	"$(psql_ag "SELECT application_name || ' ' || coalesce(query, '') FROM pg_stat_activity
		WHERE usename = 'ag_pw'" | grep -cF -- "$PW")"
eval "exec ${BATCH[1]}>&-"
wait "$bpid"
ag_expect_eq "... and it ends at the end of its input, exit 0" 0 "$?"
cat "$AG_TMP/batch.err" >>"$AG_TMP/stderr.all"
ag_expect_eq "no helper stdout held either password" 0 \
	"$(grep -cF -e "$PW" -e "$WRONG" "$STDOUT_ALL")"
ag_expect_eq "... nor a connection string" 0 \
	"$(grep -cF -e "$BASE" -e "dbname=ag user" "$STDOUT_ALL")"
ag_expect_eq "the server's log holds neither" 0 \
	"$(grep -cF -e "$PW" -e "$WRONG" "$AG_PGC_DIR/server.log")"
# libpq's messages span lines: the log keeps each reason on one.
ag_expect_log_clean

ag_done
