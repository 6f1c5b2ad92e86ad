#!/bin/bash
# authguardd keeps several connections to one SQLite state in one process
# (each worker: one for the web operations, one for the PAM operations),
# and SQLite's locking between processes rests on the POSIX locks the
# process holds on the state file.  Opening a connection must not drop
# the locks of those already open -- it did: the check of the file before
# the open closed a plain descriptor of it, and closing any descriptor of
# a file drops every POSIX lock of the process on it.  Another process
# then took itself for the last connection when it closed, checkpointed
# and removed the WAL under the daemon, whose connections read a damaged
# ("database disk image is malformed") or stale state.
#
# With one worker, a web operation opens the first connection and a PAM
# operation the second; then:
#   - the daemon still holds a lock on the state file (/proc/locks);
#   - a connection of another process (sqlite3) opens and closes: the WAL
#     stays (it is not the last connection);
#   - both connections of the daemon still read what other processes
#     write, and write what they read.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
AG_DAEMON=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"

[ "$(id -u)" = 0 ] || ag_skip "needs root (root's PAM and web operations on one daemon)"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 (the command) is not installed"
[ -r /proc/locks ] || ag_skip "no /proc/locks"
ag_init
ag_sqlite_only_script "SQLite's locks between processes"

ag_setup locks "delay_base = 0" "daemon_workers = 1"
pid=${ag_dpid[$AG_CONF]}
inode=$(stat -c %i "$AG_DB")

# daemon_locks: the POSIX locks the daemon holds on the state file.
daemon_locks() {
	awk -v pid="$pid" -v ino="$inode" '$2 == "POSIX" && $5 == pid {
		n = split($6, d, ":"); if (d[n] == ino) c++ } END { print c + 0 }' /proc/locks
}

ag_run_token guard failure --subject web@example.com --ip 198.51.100.7
ag_expect_eq "a web operation through the daemon (its first connection)" 0 "$AG_RC"
ag_attempt "a PAM operation through the daemon (its second connection)" alice "$AG_WRONG" 1 1
ag_run_token guard failure --subject web@example.com --ip 198.51.100.7
ag_expect_eq "the first connection again" 0 "$AG_RC"

ag_expect_true "the daemon holds a POSIX lock on the state file ($(daemon_locks))" \
	[ "$(daemon_locks)" -ge 1 ]
ag_expect_true "the WAL is there while the daemon is connected" test -f "$AG_DB-wal"
sqlite3 "$AG_DB" "SELECT count(*) FROM subject;" >/dev/null ||
	ag_bail "sqlite3 could not read the state"
ag_expect_true "another process's connection opened and closed: the WAL stays" \
	test -f "$AG_DB-wal"

# What another process writes, both connections see; what they write, it does.
ag_run_ctl unlock alice
ag_expect_eq "authguard-ctl (another process) clears alice's failure" 0 "$AG_RC"
ag_attempt "PAM connection: alice's next failure is her first again" alice "$AG_WRONG" 1 1
ag_expect_log "... logged failures=1" 'event=auth_fail user=alice .*failures=1 '
ag_expect_no_log "... and no store error" 'malformed|event=error'
ag_run_token guard failure --subject web@example.com --ip 198.51.100.7
ag_expect_eq "web connection: a third failure" "0 3" "$AG_RC $(ag_jget "$AG_JSON" failures)"
ag_expect_status "authguard-ctl sees the daemon's writes" web@example.com -- failures=3
ag_expect_eq "the state is sound" ok "$(ag_sql_integrity)"
ag_done
