# Shared code of the stress tests (tests/stress/crash.sh, crash_points.sh,
# soak.sh).  Sourced after tests/pam/lib.sh, never run.  crash.sh and
# soak.sh run with either back end (AG_STORE, tests/pam/lib.sh).  The programs run
# as background processes that a test can SIGKILL at a chosen moment, so
# they are started here directly (no timeout(1) or flock(1) in between
# whose pid would be killed instead); a poll stands in for timeout(1).

# Microseconds on the wall clock: only for choosing kill moments and for the
# watchdog, never for a pass/fail decision.
st_us() {
	local t=$EPOCHREALTIME
	printf '%s' "${t/./}"
}

# st_init: the nap descriptor and the watchdog limit.  A fifo opened
# read-write never delivers data nor end of file, so "read -t" on it is a
# sleep that costs no process.
st_init() {
	[ -n "${EPOCHREALTIME:-}" ] || ag_bail "bash 5 is required (EPOCHREALTIME)"
	[ "$AG_STORE" != sqlite ] || command -v sqlite3 >/dev/null 2>&1 ||
		ag_skip "sqlite3 (the command-line shell) not found (apt-get install sqlite3)"
	mkfifo "$AG_TMP/nap.fifo" || ag_bail "mkfifo failed"
	exec {ST_NAP_FD}<>"$AG_TMP/nap.fifo"
	rm -f "$AG_TMP/nap.fifo" # nothing that reads the directory may block on it
	ST_HANG_US=120000000 # a program that runs 2 minutes is hung
	ST_NHUNG=0
	ST_LOCK_FD=
}

# True when the programs run under AddressSanitizer (slower start-up).
st_sanitized() { [ -n "$AG_PRELOAD_EXTRA" ]; }

# st_nap US: sleeps US microseconds.
st_nap() {
	local us=$1
	[ "$us" -gt 0 ] || return 0
	read -r -t "$((us / 1000000)).$(printf '%06d' $((us % 1000000)))" -u "$ST_NAP_FD" || :
}

# st_rand N: a number in [0, N) (30 random bits, so N may be large).
st_rand() {
	ST_R=$((((RANDOM << 15) | RANDOM) % $1))
}

# st_spawn_helper IN OUT ERR BIN ARGS...: starts a helper on AG_CONF in the
# background with the test clock, the syslog capture and AG_ENV; ST_PID is
# the helper itself (env execs it).
st_spawn_helper() {
	local in=$1 out=$2 err=$3 bin=$4
	shift 4
	ag_preload
	env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
		${AG_ENV[@]+"${AG_ENV[@]}"} "$bin" --conf "$AG_CONF" "$@" <"$in" >"$out" 2>"$err" &
	ST_PID=$!
	ST_T0=$(st_us)
}

# st_spawn_pam USER PASSWORD RUN OUT: starts pamtester on AG_SVC in the
# background; RUN becomes the PAM environment variable AG_RUN, which
# pam_exec hands to the password check, so that a check can be tied to its
# run.  The caller holds the pam_wrapper lock (st_pam_lock).
st_spawn_pam() {
	local user=$1 pw=$2 run=$3 out=$4 item=()
	[ -n "$AG_RHOST" ] && item=(-I "rhost=$AG_RHOST")
	ag_preload pam
	env LD_PRELOAD="$ag_preload" PAM_WRAPPER=1 PAM_WRAPPER_USE_SYSLOG=1 \
		PAM_WRAPPER_SERVICE_DIR="$AG_TMP/svc" AG_SYSLOG_FILE="$AG_LOG" \
		AUTHGUARD_TEST_TIME="$AG_NOW" ${AG_ENV[@]+"${AG_ENV[@]}"} \
		pamtester "${item[@]}" -E "AG_RUN=$run" "$AG_SVC" "$user" authenticate \
		<<<"$pw" >"$out" 2>&1 &
	ST_PID=$!
	ST_T0=$(st_us)
}

# st_reap [KILL_AFTER_US]: waits for ST_PID, SIGKILLing it after
# KILL_AFTER_US when given.  Sets ST_RC (137 when the kill ended it),
# ST_KILLED (0/1) and ST_DUR (microseconds it ran, when not killed).
# Without a kill time it polls, so that a hung program is killed after
# ST_HANG_US and counted in ST_NHUNG instead of hanging the test.
st_reap() {
	if [ -n "${1:-}" ]; then
		st_nap "$1"
		kill -KILL "$ST_PID" 2>/dev/null
	else
		while kill -0 "$ST_PID" 2>/dev/null; do
			st_nap 400
			if [ $(($(st_us) - ST_T0)) -gt "$ST_HANG_US" ]; then
				kill -KILL "$ST_PID" 2>/dev/null
				ST_NHUNG=$((ST_NHUNG + 1))
			fi
		done
	fi
	wait "$ST_PID" 2>/dev/null # no "Killed" notice
	ST_RC=$?
	ST_DUR=$(($(st_us) - ST_T0))
	ST_KILLED=0
	[ "$ST_RC" = 137 ] && ST_KILLED=1
	return 0
}

# ------------------------------------------------------------ pam_wrapper

# The lock of lib.sh (an flock on /tmp): held around each pamtester run so
# that no other pam_wrapper process starts at the same instant.
st_pam_lock() {
	[ ${#ag_pwrap_shared[@]} -gt 0 ] || return 0
	exec {ST_LOCK_FD}</tmp
	flock -x "$ST_LOCK_FD"
}

st_pam_unlock() {
	[ -n "$ST_LOCK_FD" ] || return 0
	flock -u "$ST_LOCK_FD"
	exec {ST_LOCK_FD}<&-
	ST_LOCK_FD=
}

# A SIGKILLed pam_wrapper process leaves its /tmp/pam.X directory behind
# (and none at all is cleaned when it died before writing the pid file).
# With the lock held, a directory that appeared during the run is the
# killed process's own: st_pam_snapshot before the start, st_pam_clean
# after the kill.
st_pam_snapshot() {
	ST_PAM_DIRS=" "
	local d
	for d in /tmp/pam.?; do
		[ -d "$d" ] && ST_PAM_DIRS="$ST_PAM_DIRS$d "
	done
	return 0
}

st_pam_clean() { # PID
	local d pid
	for d in /tmp/pam.?; do
		[ -d "$d" ] || continue
		case $ST_PAM_DIRS in *" $d "*) continue ;; esac
		pid=
		[ -f "$d/pid" ] && pid=$(<"$d/pid")
		if [ -z "$pid" ] || [ "$pid" = "$1" ]; then
			rm -rf "$d"
		fi
	done
	return 0
}

# ------------------------------------------------------------ state checks

# st_sql SQL: one query on the state of AG_DB (ag_sql: waiting for a
# writer, as the programs do).
st_sql() {
	ag_sql "$1" 2>&1
}

# st_locked_row: what st_sql appends to a query of one row so that it
# waits for the transaction that is writing that row to end.  A program
# SIGKILLed just after it sent COMMIT to a PostgreSQL server is committed
# by the server a moment later (the server reads the COMMIT before it
# notices the closed socket): FOR SHARE waits for that.  SQLite's write
# lock is gone with the process.
st_locked_row() {
	[ "$AG_STORE" = sqlite ] || printf ' FOR SHARE'
}

# st_settle: waits (at most 30 s) until no program's connection to the
# PostgreSQL server is left (the server ends a killed program's session
# when it sees the socket closed), so that the state checked is final.
st_settle() {
	local i
	[ "$AG_STORE" = postgresql ] || return 0
	for i in $(seq 1 300); do
		[ "$(ag_sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = 'authguard'")" = 0 ] && return 0
		st_nap 100000
	done
	ag_say "connections of the programs still open after 30 s"
}

# st_expect_db_sane DESC: the state is consistent: integrity_check and
# foreign_key_check of AG_DB (PostgreSQL: ag_sql_integrity).
st_expect_db_sane() {
	local out
	st_settle
	out=$(ag_sql_integrity)
	if [ "$out" = ok ]; then
		ag_pass "$1: the state is consistent (integrity and foreign keys)"
	else
		ag_fail "$1: the state is consistent (integrity and foreign keys)" \
			"$(printf '%s' "$out" | head -n 5 | tr '\n' '|')"
	fi
}

# st_expect_no_sanitizer DESC FILE...: no sanitizer report in the outputs
# of the programs that were not killed.
st_expect_no_sanitizer() {
	local desc=$1 hits
	shift
	hits=$(grep -lE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
		"$@" 2>/dev/null | head -n 3)
	if [ -z "$hits" ]; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "$(grep -hE -A5 'AddressSanitizer|LeakSanitizer|runtime error:' $hits | head -n 20)"
	fi
}

# The failures of an account, as the state counts them: "total pending".
st_failures() { # ACCOUNT
	st_sql "SELECT count(*), coalesce(sum(f.pending), 0) FROM failure f JOIN subject s
		ON s.id = f.subject_id WHERE s.kind = 1 AND s.name = '$1';" | tr '|' ' '
}

# The SHA-256 of a token, as the state keeps it (hex).
st_sha256() {
	printf '%s' "$1" | sha256sum | cut -c1-64
}
