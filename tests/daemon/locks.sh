#!/bin/bash
# authguardd keeps several SQLite connections to the state in one process
# (each worker one for the web operations and one for the PAM
# operations).  POSIX record locks belong to the process and the file:
# closing any descriptor of the state file drops every lock the process
# holds on it, those of the other connections too.  Opening a connection
# must therefore never open() and close() the state file itself (its
# location check looks at it through an O_PATH descriptor, which holds
# and drops no lock).
#
# With the locks gone, another program -- the sqlite3 shell an
# administrator looks at the state with, a backup -- believed it was the
# last connection when it closed: it checkpointed and deleted the WAL
# and the -shm index under the running daemon, whose next reads failed
# ("disk I/O error") and whose next writes went to a deleted file.
#
# Checks: after the daemon served web and PAM operations on every worker
# (so every worker opened its second connection), it still holds its
# shared lock on the state file (/proc/locks); a sqlite3 shell that opens
# and closes the state then finds it is not alone (the WAL stays); the
# daemon serves reads and writes afterwards, and a write it acknowledged
# is in the file.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init
. "$top_srcdir/tests/daemon/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 (the command) is not installed"
ag_sqlite_only_script "SQLite's own file locks"

extra=()
[ "$(id -u)" = 0 ] && extra+=("daemon_user = root")
ag_conf locks "delay_base = 0" "daemon_workers = 2" "${extra[@]}"
agd_start locks

# Requests on several connections at once, so both workers take some.
burst() {
	local i pids=()
	for i in 1 2 3 4 5 6; do
		agd_client -- lines >>"$AG_TMP/burst.out" <<-EOF2 &
		{"op":"guard_check","subject":"locks$i@example.com"}
		{"op":"pam_begin","user":"$(id -un)","service":"locks"}
		{"op":"guard_failure","subject":"locks$i@example.com"}
		EOF2
		pids+=($!)
	done
	wait "${pids[@]}"
}
burst
ag_expect_eq "every request answered" 18 "$(grep -c '"status":0' "$AG_TMP/burst.out")"

ino=$(stat -c %i "$AG_DB")
# (the 6th field of /proc/locks is MAJ:MIN:INODE)
held=$(awk -v p="$AGD_PID" -v i="$ino" '{ n = split($6, a, ":"); if ($5 == p && a[n] == i) c++ } END { print c + 0 }' /proc/locks)
ag_expect_eq "the daemon still holds its lock on the state file" yes \
	"$([ "$held" -gt 0 ] && echo yes || echo "no (locks on the file: $held)")"

sqlite3 "$AG_DB" 'SELECT count(*) FROM subject;' >/dev/null 2>&1
ag_expect_true "the WAL is still there after a sqlite3 shell came and went" test -e "$AG_DB-wal"
ag_expect_true "so is the -shm index" test -e "$AG_DB-shm"

: >"$AG_TMP/after.out"
agd_client -- lines >"$AG_TMP/after.out" <<EOF2
{"op":"guard_check","subject":"after@example.com"}
{"op":"guard_failure","subject":"after@example.com"}
{"op":"pam_begin","user":"$(id -un)","service":"locks"}
{"op":"session_list","user":"nobody"}
EOF2
burst
ag_expect_eq "the daemon serves reads and writes afterwards (no I/O error)" "" \
	"$(grep -v '"status":0' "$AG_TMP/after.out" "$AG_TMP/burst.out")"
agd_stop
ag_expect_eq "the daemon stops cleanly" 0 "$AGD_RC"
# guard_check counts an attempt too: the new daemon's check sees one more
# than the last acknowledged answer.
acked=$(ag_jget "$(sed -n 2p "$AG_TMP/after.out")" failures)
agd_start locks2
ag_expect_eq "the failure it acknowledged is in the file (seen by a new daemon)" $((acked + 1)) \
	"$(ag_jget "$(agd_client -- lines <<<'{"op":"guard_check","subject":"after@example.com"}')" failures)"
agd_stop
ag_done
