#!/bin/bash
# Fail closed: whenever the module cannot trust its configuration or its
# state, it denies -- even the right password, without running the password
# check -- and logs one event=error line that says why (file, line, key).
# The account phase and the web guard deny as well.  With PostgreSQL
# (AG_STORE=postgresql) the state-file cases are replaced by the database's
# own: no schema, no server, a role without rights, a newer schema, a
# dropped table.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

AG_RHOST=192.0.2.70

# denied DESC ERE: the right password is refused without being checked and
# the log has an event=error line matching ERE; the account phase is
# refused too.  (A configuration error is found before the user name is
# read, so "user=" is optional.)
denied() {
	# Daemon mode: a daemon that had the state open before the damage
	# keeps what it opened (an unlinked or replaced file included); one
	# started now meets the damage.
	ag_daemon_restart
	ag_attempt "$1: right password refused, password not checked" alice "$AG_RIGHT" 1 0
	ag_expect_log "$1: event=error logged with the reason" \
		"pam_authguard\\($AG_SVC:auth\\): event=error op=(auth|preauth)( user=alice)?: .*$2.*; access denied"
	ag_expect_no_log "$1: no success logged" 'event=success'
	ag_attempt "$1: account phase refused" alice - 1 0 acct_mgmt
	ag_expect_log "$1: event=error logged by the account phase" \
		"pam_authguard\\($AG_SVC:account\\): event=error op=account( user=alice)?: .*$2.*; access denied"
}

# A working set-up to start each case from.
fresh() { # NAME
	ag_setup "$1" "delay_base = 0"
	ag_attempt "$1: sanity: right password accepted before the damage" alice "$AG_RIGHT" 0 1
}

if [ "$AG_STORE" = sqlite ]; then
ag_say "corrupt state file (random bytes)"
fresh corrupt
rm -f "$AG_DB-wal" "$AG_DB-shm"
head -c 32768 /dev/urandom >"$AG_DB"
denied "corrupt state" "$AG_DB: .*(not a database|malformed|corrupt|not an authguard state file)"
ag_run_token guard check --subject alice --ip 192.0.2.70
ag_expect_eq "corrupt state: authguard-token guard check exits 3 (internal/store error)" 3 "$AG_RC"
ag_expect_eq "corrupt state: authguard-token prints no verdict on stdout" "" "$AG_JSON"

ag_say "state file damaged after the header (pages overwritten)"
fresh damaged
for i in 1 2 3 4 5 6; do ag_pam bob$i "$AG_WRONG"; done
ag_ctl purge >/dev/null 2>&1 # checkpoints nothing on its own; make the file self-contained:
sqlite3 "$AG_DB" 'PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;' >/dev/null 2>&1
size=$(stat -c %s "$AG_DB")
dd if=/dev/urandom of="$AG_DB" bs=1024 seek=1 count=$((size / 1024 - 1)) conv=notrunc status=none
rm -f "$AG_DB-wal" "$AG_DB-shm"
denied "damaged state" "$AG_DB"

ag_say "missing state file"
fresh missing
rm -f "$AG_DB" "$AG_DB-wal" "$AG_DB-shm"
denied "missing state file" "state file $AG_DB: .*run authguard-ctl init"
ag_expect_true "missing state file: the module did not create it" test ! -e "$AG_DB"
rm -rf "$(dirname "$AG_DB")"
denied "missing state directory" "state directory $(dirname "$AG_DB") .*(run authguard-ctl init)"

ag_say "state file and directory writable by others"
fresh worldfile
chmod 606 "$AG_DB"
denied "state file mode 0606" "state file $AG_DB is writable by others"
chmod 600 "$AG_DB"
ag_attempt "state file mode back to 0600: accepted again" alice "$AG_RIGHT" 0 1
chmod 707 "$(dirname "$AG_DB")"
denied "state directory mode 0707" "state directory $(dirname "$AG_DB") is writable by others"
chmod 700 "$(dirname "$AG_DB")"

ag_say "state file replaced by a symlink"
fresh symlink
mv "$AG_DB" "$AG_DB.real"
ln -s "$AG_DB.real" "$AG_DB"
denied "state file is a symlink" "state file $AG_DB: is a symlink"

if [ "$(id -u)" = 0 ]; then
	ag_say "state file owned by another user"
	fresh owner
	chown nobody "$AG_DB"
	denied "state file owned by nobody" "state file $AG_DB is not owned by root or the current user"
fi
else
	ag_sqlite_only "a corrupt, damaged, missing, exposed, symlinked or foreign-owned state file" \
		"no state file; the database's equivalents follow"
	ag_say "a database that is not initialised (no schema)"
	fresh noschema
	ag_sql "DROP SCHEMA $(ag_pg_schema "$AG_DB") CASCADE" >/dev/null || ag_bail "could not drop the schema"
	denied "schema missing" "postgresql: schema: [a-z0-9_]+ does not exist \\(run authguard-ctl init\\)"
	ag_run_token guard check --subject alice --ip 192.0.2.70
	ag_expect_eq "schema missing: authguard-token guard check exits 3 (internal/store error)" 3 "$AG_RC"
	ag_expect_eq "schema missing: authguard-token prints no verdict on stdout" "" "$AG_JSON"

	ag_say "the server is unreachable"
	fresh unreachable
	sed -i "s/ port=$AG_PGC_PORT / port=1 /" "$AG_CONF"
	denied "nothing listens at the configured address" "postgresql: connect: .*(No such file|refused)"

	ag_say "a role without rights on the tables"
	fresh norights
	ag_pg_psql postgres "DROP ROLE IF EXISTS ag_noright_$$; CREATE ROLE ag_noright_$$ LOGIN" >/dev/null ||
		ag_bail "could not create a role"
	sed -i "s/ user=postgres / user=ag_noright_$$ /" "$AG_CONF"
	denied "the role may not use the schema" "postgresql: rights: role [a-z0-9_]+ lacks USAGE on schema [a-z0-9_]+ \\(the schema owner runs authguard-ctl init --grant ROLE\\)"
	ag_pg_psql postgres "DROP ROLE ag_noright_$$" >/dev/null
fi

ag_say "state from a newer schema"
fresh schema
if [ "$AG_STORE" = sqlite ]; then
	sqlite3 "$AG_DB" 'PRAGMA user_version = 99;' || ag_bail "sqlite3 could not set user_version"
else
	ag_sql "UPDATE authguard_meta SET value = 99 WHERE name = 'schema_version'" >/dev/null ||
		ag_bail "could not set the schema version"
fi
denied "schema version 99" "schema:? ([a-z0-9_]+ has )?version 99"
ag_run_token guard check --subject alice
ag_expect_true "schema version 99: authguard-token guard check exits non-zero" test "$AG_RC" -ne 0

if ag_sqlite_only "a SQLite file that is not an authguard state file" "no state file"; then
	ag_say "a SQLite file that is not an authguard state file"
	fresh appid
	sqlite3 "$AG_DB" 'PRAGMA application_id = 12345;' || ag_bail "sqlite3 could not set application_id"
	denied "foreign application_id" "not an authguard state file"
fi

ag_say "a state whose tables are gone"
fresh notable
ag_sql 'DROP TABLE failure;' || ag_bail "could not drop a table"
if [ "$AG_STORE" = sqlite ]; then
	denied "table failure dropped" "$AG_DB: .*(no such table|failure)"
else
	denied "table failure dropped" "postgresql: .*failure"
fi

ag_say "configuration errors name the file, the line and the key"
ag_setup conf "delay_base = 0"
good=$AG_CONF
bad_conf() { # NAME LINE...: a copy of the good file with lines appended
	local n=$1
	shift
	cp "$good" "$AG_TMP/$n.conf"
	printf '%s\n' "$@" >>"$AG_TMP/$n.conf"
	chmod 644 "$AG_TMP/$n.conf"
	ag_service "$n" "$AG_TMP/$n.conf"
	AG_SVC=$n
}
# The good file has 4 lines (comment, state_file, secrets_key, delay_base),
# and with PostgreSQL those that select it: L1 and L2 are the first and the
# second line appended.
L1=$(($(wc -l <"$good") + 1))
L2=$((L1 + 1))
bad_conf unknownkey "# a comment" "frobnicate = 3"
denied "unknown key" "$AG_TMP/unknownkey.conf:$L2: frobnicate: unknown key"
bad_conf denyzero "deny = 0"
denied "deny = 0 (below the range)" "$AG_TMP/denyzero.conf:$L1: deny: number out of range"
bad_conf denyhuge "" "deny = 100001"
denied "deny = 100001 (above the range)" "$AG_TMP/denyhuge.conf:$L2: deny: number out of range"
bad_conf denyword "deny = ten"
denied "deny = ten" "$AG_TMP/denyword.conf:$L1: deny: not a whole number"
bad_conf delaymax "delay_max = 2h"
denied "delay_max = 2h (above 3600 s)" "$AG_TMP/delaymax.conf:$L1: delay_max: duration out of range"
bad_conf argonly "nodelay = yes"
denied "module-only key in the file" "$AG_TMP/argonly.conf:$L1: nodelay: only valid as a module argument"
bad_conf noequals "deny 5"
denied "line without =" "$AG_TMP/noequals.conf:$L1: expected"
bad_conf badnet "host_allow = 10.0.0.1/8"
denied "host_allow with host bits set" "$AG_TMP/badnet.conf:$L1: host_allow: not an address or CIDR"
bad_conf relation "delay_base = 10" "delay_max = 5"
denied "delay_max smaller than delay_base" "delay_max \\(5\\) is smaller than delay_base \\(10\\)"
bad_conf evilkey $'bad\x1bkey = 1'
denied "control character in a line" "$AG_TMP/evilkey.conf:$L1: control character in line"

cp "$good" "$AG_TMP/groupw.conf"
chmod 664 "$AG_TMP/groupw.conf"
ag_service groupw "$AG_TMP/groupw.conf"
AG_SVC=groupw
denied "config file mode 0664" "$AG_TMP/groupw.conf: is writable by its group"
cp "$good" "$AG_TMP/worldw.conf"
chmod 646 "$AG_TMP/worldw.conf"
ag_service worldw "$AG_TMP/worldw.conf"
AG_SVC=worldw
denied "config file mode 0646" "$AG_TMP/worldw.conf: is writable by others"
ln -s "$good" "$AG_TMP/link.conf"
ag_service symlinkconf "$AG_TMP/link.conf"
AG_SVC=symlinkconf
denied "config file is a symlink" "$AG_TMP/link.conf: is a symlink"
{ cat "$good"; head -c 70000 /dev/zero | tr '\0' '#'; echo; } >"$AG_TMP/huge.conf"
chmod 644 "$AG_TMP/huge.conf"
ag_service hugeconf "$AG_TMP/huge.conf"
AG_SVC=hugeconf
denied "config file over 64 KiB" "$AG_TMP/huge.conf: is too large"
{ cat "$good"; printf 'deny = 5\0\n'; } >"$AG_TMP/nul.conf"
chmod 644 "$AG_TMP/nul.conf"
ag_service nulconf "$AG_TMP/nul.conf"
AG_SVC=nulconf
denied "config file with a NUL byte" "$AG_TMP/nul.conf: contains a NUL byte"
if [ "$(id -u)" = 0 ]; then
	cp "$good" "$AG_TMP/owned.conf"
	chmod 644 "$AG_TMP/owned.conf"
	chown nobody "$AG_TMP/owned.conf"
	ag_service ownedconf "$AG_TMP/owned.conf"
	AG_SVC=ownedconf
	denied "config file owned by nobody" "$AG_TMP/owned.conf: is not owned by root or the current user"
fi
ag_service noconf "$AG_TMP/does-not-exist.conf"
AG_SVC=noconf
denied "config file missing" "$AG_TMP/does-not-exist.conf: does not exist"
ag_service badarg "$good" "bogus=1"
AG_SVC=badarg
denied "unknown module argument" "module argument bogus: unknown key"
ag_service badargval "$good" "deny=0"
AG_SVC=badargval
denied "module argument out of range" "module argument deny: number out of range"

AG_CONF=$AG_TMP/unknownkey.conf
ag_run_token guard check --subject alice
ag_expect_eq "authguard-token with the unknown key exits 2 (configuration)" 2 "$AG_RC"
ag_expect_out "authguard-token names file, line and key on stderr" "unknownkey.conf:$L2: frobnicate: unknown key"
ag_run_ctl status alice
ag_expect_eq "authguard-ctl status with the unknown key exits 2" 2 "$AG_RC"

ag_say "a stack that forgot preauth: authsucc refuses"
cat >"$AG_TMP/svc/nopreauth" <<EOF
auth     [success=1 default=bad] pam_exec.so expose_authtok quiet $AG_TMP/check-password.sh
auth     [default=die]           $AG_MODULE authfail conf=$good nodelay
auth     sufficient              $AG_MODULE authsucc conf=$good nodelay
auth     required                pam_deny.so
EOF
chmod 644 "$AG_TMP/svc/nopreauth"
AG_SVC=nopreauth
ag_attempt "no preauth: right password checked, then refused" alice "$AG_RIGHT" 1 1
ag_expect_log "event=error names the broken stack" \
	'event=error op=authsucc user=alice: no preauth for this user in this PAM handle'

ag_say "the good configuration still works"
AG_SVC=conf
AG_CONF=$good
ag_attempt "right password accepted with the good file" alice "$AG_RIGHT" 0 1

ag_done
