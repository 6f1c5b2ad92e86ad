# Shared code of the PAM integration tests (tests/pam/*.sh).  Sourced, never
# run.  Each test script starts with
#
#     #!/bin/bash
#     [ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
#     . "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
#     ag_init
#
# and then drives the real module through pam_wrapper + pamtester, the real
# helpers as processes, and the LD_PRELOAD syslog capture.  Nothing outside
# the temporary directory is touched (no /etc/pam.d, no system state).
#
# Exit status (automake's harness): 0 pass, 77 skip, 1 fail.
#
# Environment:
#   top_srcdir, top_builddir  set by tests/Makefile.inc (AM_TESTS_ENVIRONMENT);
#                             default: two levels above the script
#   AG_PRELOAD_EXTRA          a library to preload first (a sanitizer runtime
#                             when the build uses ASan); optional
#   AG_KEEP=1                 keep the temporary directory
#   AG_VALGRIND=1             run pamtester (so the module) and the helpers
#                             under valgrind's memcheck: any error or definite
#                             leak is a failed check showing the report
#                             (see ag_vg_check); AG_VALGRIND_OPTS adds options
#   PAM_WRAPPER_LIB, NSS_WRAPPER_LIB  library locations
#   AG_STORE                  sqlite (default) or postgresql: the back end of
#                             every configuration ag_conf writes (see
#                             "PostgreSQL mode" below)
#   AG_PGC_CONNINFO, AG_PGC_DIR, AG_PGC_PORT  with AG_STORE=postgresql: the
#                             cluster the caller started (tests/pg-pass.sh,
#                             tests/lib/pgcluster.sh); when unset, the script
#                             starts a private one for itself
#   AG_DAEMON                 0 (default) or 1: the module and the helpers
#                             go through authguardd (see "Daemon mode"
#                             below); combines with AG_STORE
#   AG_DAEMON_CPU_LOG         daemon mode: a file to which each daemon's
#                             CPU seconds are appended when it is stopped
#
# Conventions for the tests:
#   AG_NOW    "now" for the module and helpers (AUTHGUARD_TEST_TIME); every
#             delay and lock is driven by moving it, never by sleeping
#   AG_SVC    the PAM service pamtester uses
#   AG_RHOST  the PAM_RHOST item ("" for none)
#   AG_CONF   the configuration file the helpers use
#   AG_DB     the state file of AG_CONF
#   AG_KEY    the secrets key of AG_CONF (TOTP secrets, backup codes); in the
#             temporary directory, created by authguard-ctl init
#
# PostgreSQL mode (AG_STORE=postgresql): the same scripts and expectations
# against the PostgreSQL back end.  ag_init creates a fresh database for
# the script (unique per script and process, so scripts run side by side
# under make -j) and ag_cleanup drops it on every exit path.  Every
# configuration ag_conf writes gets "store = postgresql", the cluster's
# connection string with that database, and a schema of its own per state
# file (pg_schema, derived from AG_DB): two configurations share a state
# exactly when they would share a state file with SQLite.  state_file and
# secrets_key are written as before (the secrets and token keys are files
# either way).  Tests read and change the state only through ag_sql,
# ag_sql_dump and ag_sql_blob, which work on both back ends; a check that
# is about SQLite itself (its files, WAL, PRAGMAs) runs only where
# ag_sqlite_only says so, which prints why it is skipped.
#
# Daemon mode (AG_DAEMON=1): the same scripts and expectations with the
# module and the helpers as clients of authguardd (tests/daemon-pass.sh,
# make check-daemon).  Every configuration ag_conf writes gets
# "daemon = yes", a daemon_socket in AG_TMP/d/ of its own and, as root,
# "daemon_user = root"; ag_conf then starts that configuration's daemon
# (ag_daemon_start): in the background, detached from the script's shell
# (a bare "wait" in a script must not wait for it), through the syslog
# capture into AG_LOG like every other process of the test, with
# AUTHGUARD_TEST_PEER_CLOCK=1 (a test build then runs each request at the
# AUTHGUARD_TEST_TIME of the process that sent it, so AG_NOW moves the
# daemon's clock as it moves the module's).  One daemon per configuration
# file, not one per script: a daemon applies its own configuration, never
# its caller's, and scripts keep several configurations (several states)
# alive at once.  The daemon gets the test's preloads and AG_ENV
# (nss_wrapper: the same users as its clients) as they are when it
# starts.  ag_conf is the one place the suites write a configuration:
# writing one again restarts its daemon (stop, wait, start:
# the next request sees the new file, which a SIGHUP, answered
# asynchronously, would not guarantee); a script that edits a
# configuration by hand afterwards calls ag_daemon_restart.  A
# configuration a script copies from another keeps the other's
# daemon_socket: its requests are served with the other's configuration,
# exactly as a deployed client's would.  ag_cleanup stops every daemon
# (SIGTERM, then SIGKILL after 10 s) on every exit path.  The checks that
# are by nature different through the daemon (what the caller's own
# configuration or file rights decide without it) run only where
# ag_direct_only says so, which prints why they are skipped.

set -u
set -o pipefail

ag_test=$(basename "$0" .sh)
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir

AG_MODULE=$top_builddir/pam_authguard/.libs/pam_authguard.so
# The module's state service (authsvc-direct.so): a test build loads it
# from this directory instead of the installed one (make check sets it).
: "${AUTHGUARD_TEST_SERVICE_DIR:=$top_builddir/lib/.libs}"
export AUTHGUARD_TEST_SERVICE_DIR
AG_SERVICE_MODULE=$AUTHGUARD_TEST_SERVICE_DIR/authsvc-direct.so
AG_CTL_BIN=$top_builddir/helpers/authguard-ctl
AG_TOKEN_BIN=$top_builddir/helpers/authguard-token
AG_ENROLL_BIN=$top_builddir/helpers/authguard-enroll
AG_CAPTURE=$top_builddir/tests/lib/.libs/syslog_capture.so
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libpam_wrapper.so}
NSS_WRAPPER_LIB=${NSS_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libnss_wrapper.so}
AG_PRELOAD_EXTRA=${AG_PRELOAD_EXTRA:-}

# AG_VALGRIND=1: ag_pamtester_run and ag_helper put ag_vg before the
# program.  Every process appends its report, if any, to ag_vg_log through
# descriptor 19, opened by this shell (a process run as another user needs
# no access to the file); valgrind writes through a private duplicate the
# program cannot close (the program sees descriptor 19 too).  ag_vg_log is
# in the build tree, next to the test's log, and outlives the temporary
# directory.  A helper a test starts by itself (to watch its /proc/PID, or
# as a coprocess) runs without valgrind.
ag_vg=()
ag_vg_log=
ag_vg_nreports=0
ag_timeout=20 # seconds one pamtester run may take
if [ "${AG_VALGRIND:-0}" = 1 ]; then
	# (ag_bail is not defined yet)
	command -v valgrind >/dev/null 2>&1 ||
		{ echo "Bail out! $ag_test: AG_VALGRIND=1 but valgrind is not installed"; exit 1; }
	[ -z "$AG_PRELOAD_EXTRA" ] ||
		{ echo "Bail out! $ag_test: AG_VALGRIND=1 with a sanitizer runtime preloaded"; exit 1; }
	mkdir -p "$top_builddir/tests/pam" || exit 1
	ag_vg_log=$top_builddir/tests/pam/$ag_test.vg.log
	rm -f "$ag_vg_log" "$ag_vg_log".*
	# 97: no program of the project exits with it, so a check of the
	# exit status fails too, at the very process.
	ag_vg=(valgrind -q --error-exitcode=97 --leak-check=full
		--errors-for-leak-kinds=definite --show-leak-kinds=definite
		--num-callers=30 --log-fd=19 --vgdb=no
		"--suppressions=$top_srcdir/tests/valgrind.supp" ${AG_VALGRIND_OPTS:-})
	ag_timeout=300
fi

AG_STORE=${AG_STORE:-sqlite}
case $AG_STORE in
sqlite | postgresql) ;;
*) echo "Bail out! $ag_test: AG_STORE must be sqlite or postgresql, not '$AG_STORE'"; exit 1 ;;
esac
# How a refusal because the state stayed busy reads, in either engine's
# words: SQLite's write lock, PostgreSQL's serialization conflicts retried
# until the wait was over, or its lock or statement timeout.
AG_BUSY_RE='database is locked|concurrent transactions kept conflicting|due to (lock|statement) timeout'
AG_DAEMON=${AG_DAEMON:-0}
case $AG_DAEMON in
0 | 1) ;;
*) echo "Bail out! $ag_test: AG_DAEMON must be 0 or 1, not '$AG_DAEMON'"; exit 1 ;;
esac
AG_DAEMON_BIN=$top_builddir/daemon/authguardd
declare -A ag_dsock=() ag_dpid=() # daemon mode: socket and pid per configuration
ag_pgdb=          # PostgreSQL mode: this script's database
ag_pgc_own=0      # ... in a cluster of its own (no AG_PGC_CONNINFO given)
AG_PSQL=psql      # ... the psql program (ag_pg_init)

AG_RIGHT=right-pw   # the password check-password.sh accepts, for any user
AG_WRONG=wrong-pw
AG_T0=1700000000    # the test clock's starting point (2023-11-14)

AG_NOW=$AG_T0
AG_SVC=ag
AG_RHOST=192.0.2.10
AG_CONF=
AG_DB=
AG_KEY=
AG_TMP=
AG_LOG=
AG_COUNTER=
AG_RC=0
AG_OUT=
AG_JSON=
AG_LOG_MARK=0
AG_RUNAS=()       # e.g. (runuser -u nobody --): run pamtester/helpers as that
AG_PRELOAD_TEST=  # test-specific libraries to preload (nss_wrapper)
AG_ENV=()         # extra VAR=value for pamtester and helpers

ag_nchecks=0
ag_nfailed=0

# ------------------------------------------------------------- reporting

ag_say() { printf '# %s\n' "$*"; }

ag_pass() {
	[ -z "$ag_vg_log" ] || ag_vg_check
	ag_nchecks=$((ag_nchecks + 1))
	printf 'ok %d - %s\n' "$ag_nchecks" "$1"
}

# ag_fail DESC [DETAIL...]
ag_fail() {
	local d
	ag_nchecks=$((ag_nchecks + 1))
	ag_nfailed=$((ag_nfailed + 1))
	printf 'not ok %d - %s\n' "$ag_nchecks" "$1"
	shift
	for d in "$@"; do
		printf '#   %s\n' "$d"
	done
}

ag_skip() {
	printf 'SKIP: %s: %s\n' "$ag_test" "$*"
	exit 77
}

# A broken harness (not a product failure): stop now.
ag_bail() {
	printf 'Bail out! %s: %s\n' "$ag_test" "$*"
	exit 1
}

ag_done() {
	ag_daemon_done
	ag_secret_scan
	if [ "$ag_nfailed" -ne 0 ]; then
		if [ -n "$AG_LOG" ] && [ -s "$AG_LOG" ]; then
			ag_say "last lines of the captured syslog ($AG_LOG):"
			tail -n 30 "$AG_LOG" | cut -c1-400 | sed 's/^/#   /'
		fi
		printf '%s: %d of %d checks FAILED\n' "$ag_test" "$ag_nfailed" "$ag_nchecks"
		exit 1
	fi
	if [ "$ag_nchecks" -eq 0 ]; then
		printf '%s: no checks ran\n' "$ag_test"
		exit 1
	fi
	printf '%s: all %d checks passed\n' "$ag_test" "$ag_nchecks"
	exit 0
}

# ------------------------------------------------------------- secrets
# Every test ends by proving that no secret it handled -- passwords,
# verification and backup codes, TOTP secrets, session ids, refresh and
# access tokens, key material -- reached the captured syslog or any
# helper's stderr, and that nothing there is even shaped like a bearer
# secret (tests/lib/secret_scan.py).  Secrets the files in AG_TMP do not
# show (codes typed at a prompt) are noted with ag_secret.

ag_secret() {
	[ -n "$AG_TMP" ] && printf '%s\n' "$@" >>"$AG_TMP/secrets.lst"
	return 0
}

ag_secret_scan() {
	local out
	[ -n "$AG_TMP" ] && [ -d "$AG_TMP" ] && [ -n "$AG_LOG" ] || return 0
	if out=$(ag_python "$top_srcdir/tests/lib/secret_scan.py" "$AG_TMP" "$AG_LOG" \
		"$AG_RIGHT" "$AG_WRONG" 2>&1); then
		ag_pass "no secret in the captured syslog or helper stderr (${out##*$'\n'})"
	else
		ag_fail "no secret in the captured syslog or helper stderr" "$out"
	fi
}

# ag_expect_eq DESC EXPECTED ACTUAL
ag_expect_eq() {
	if [ "$2" = "$3" ]; then
		ag_pass "$1"
	else
		ag_fail "$1" "expected: $(ag_show "$2")" "got:      $(ag_show "$3")"
	fi
}

# ag_expect_le DESC MAX ACTUAL
ag_expect_le() {
	if [ "$3" -le "$2" ] 2>/dev/null; then
		ag_pass "$1"
	else
		ag_fail "$1" "expected at most $2, got $(ag_show "$3")"
	fi
}

# ag_expect_true DESC COMMAND...: passes when the command succeeds
ag_expect_true() {
	local desc=$1
	shift
	if "$@"; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "command failed: $*"
	fi
}

# Printable, bounded rendering of a value for failure messages.
ag_show() {
	printf '%s' "$1" | head -c 300 | od -An -c | tr -s ' \n' ' ' | head -c 600
	[ "${#1}" -le 300 ] || printf ' ...(%d bytes)' "${#1}"
}

# ------------------------------------------------------------- set-up

ag_python() {
	if [ -x /usr/bin/python3 ]; then
		/usr/bin/python3 "$@"
	else
		python3 "$@"
	fi
}

# Checks prerequisites, creates the temporary directory, the password
# check script, the service directory and the log.  Skips (77) only when
# pamtester or pam_wrapper is missing.
ag_init() {
	command -v pamtester >/dev/null 2>&1 ||
		ag_skip "pamtester not installed (apt-get install pamtester)"
	[ -f "$PAM_WRAPPER_LIB" ] ||
		ag_skip "pam_wrapper not found at $PAM_WRAPPER_LIB (apt-get install libpam-wrapper)"
	[ -f "$AG_MODULE" ] || ag_bail "module not built: $AG_MODULE (run make)"
	[ -f "$AG_SERVICE_MODULE" ] || ag_bail "state service not built: $AG_SERVICE_MODULE (run make)"
	[ -x "$AG_CTL_BIN" ] || ag_bail "helper not built: $AG_CTL_BIN (run make)"
	[ -x "$AG_TOKEN_BIN" ] || ag_bail "helper not built: $AG_TOKEN_BIN (run make)"
	[ "$AG_DAEMON" = 0 ] || [ -x "$AG_DAEMON_BIN" ] ||
		ag_bail "AG_DAEMON=1: daemon not built: $AG_DAEMON_BIN (run make)"
	[ "$AG_DAEMON" = 0 ] || [ -f "$AUTHGUARD_TEST_SERVICE_DIR/authsvc-daemon.so" ] ||
		ag_bail "AG_DAEMON=1: the module's daemon client is not built (run make)"
	[ -f "$AG_CAPTURE" ] ||
		ag_bail "syslog capture not built: $AG_CAPTURE (make check builds it)"
	if [ -f "$top_builddir/autoconf.h" ] &&
		! grep -q '^#define AG_TEST_CLOCK 1' "$top_builddir/autoconf.h"; then
		ag_bail "these tests move the clock: configure with --enable-test-clock"
	fi
	command -v timeout >/dev/null 2>&1 || ag_bail "timeout (coreutils) not found"
	ag_python -c 'import json' 2>/dev/null || ag_bail "python3 with json is required"

	AG_TMP=$(mktemp -d) || ag_bail "mktemp -d failed"
	chmod 755 "$AG_TMP" || ag_bail "chmod $AG_TMP failed"
	trap ag_cleanup EXIT
	trap 'exit 1' HUP INT TERM
	case $AG_TMP in
	*[[:space:]]*) ag_bail "temporary directory path contains whitespace: $AG_TMP" ;;
	esac
	ag_say "$ag_test: working in $AG_TMP"

	AG_LOG=$AG_TMP/syslog.log
	: >"$AG_LOG"
	chmod 666 "$AG_LOG" # an unprivileged pamtester appends too
	AG_COUNTER=$AG_TMP/counter
	: >"$AG_COUNTER"
	chmod 666 "$AG_COUNTER"
	mkdir -m 755 "$AG_TMP/svc"
	cat >"$AG_TMP/svc/other" <<-'EOF'
	auth     required pam_deny.so
	account  required pam_deny.so
	password required pam_deny.so
	session  required pam_deny.so
	EOF
	# The password check of every stack.  pam_exec hands the token over
	# NUL-terminated.  Each run appends one short line with one O_APPEND
	# write (atomic), so the counter's line count is the number of
	# attempts that reached the password check.  An executable
	# $AG_TMP/hook, when a test writes one, runs first: it stands for
	# whatever else happens while a password is being checked.  pam_exec
	# clears the environment: the helpers a hook runs find the store's
	# loadable back end through the variable set here.
	cat >"$AG_TMP/check-password.sh" <<-EOF
	#!/bin/bash
	IFS= read -r -d '' pw || true
	export AUTHGUARD_TEST_MODULE_DIR='${AUTHGUARD_TEST_MODULE_DIR:-}'
	echo check >>'$AG_COUNTER'
	if [ -x '$AG_TMP/hook' ]; then '$AG_TMP/hook' || exit 1; fi
	[ "\$pw" = '$AG_RIGHT' ]
	EOF
	chmod 755 "$AG_TMP/check-password.sh"
	chmod 644 "$AG_TMP/svc/other"
	[ "$AG_STORE" != postgresql ] || ag_pg_init
	if [ "$AG_DAEMON" = 1 ]; then
		mkdir -m 755 "$AG_TMP/d" || ag_bail "mkdir $AG_TMP/d failed"
		ag_say "AG_DAEMON=1: the module and the helpers go through authguardd"
	fi
}

# ------------------------------------------------------------- daemon mode

# ag_daemon_lines CONF [NO_USER]: the lines that make CONF's clients use
# its daemon (nothing without AG_DAEMON=1), for a test that writes a
# configuration itself; NO_USER=1: without daemon_user (the test sets
# it).  The socket stays the same when CONF is written again.
ag_daemon_lines() {
	[ "$AG_DAEMON" = 1 ] || return 0
	[ -n "${ag_dsock[$1]:-}" ] || ag_dsock[$1]=$AG_TMP/d/${#ag_dsock[@]}.sock
	printf 'daemon = yes\ndaemon_socket = %s\n' "${ag_dsock[$1]}"
	[ "$(id -u)" != 0 ] || [ "${2:-0}" = 1 ] || printf 'daemon_user = root\n'
}

# ag_daemon_start CONF: (re)starts CONF's daemon and waits until it
# listens.  No-op without AG_DAEMON=1.
ag_daemon_start() {
	local conf=$1 sock pid
	[ "$AG_DAEMON" = 1 ] || return 0
	sock=${ag_dsock[$conf]:-}
	[ -n "$sock" ] || ag_bail "ag_daemon_start: $conf has no daemon_socket of the test"
	ag_daemon_stop "$conf"
	rm -f "$sock"
	ag_preload
	# A subshell that exits at once: the daemon is no child of the script.
	pid=$(env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_PEER_CLOCK=1 \
		${AG_ENV[@]+"${AG_ENV[@]}"} "$AG_DAEMON_BIN" --conf "$conf" \
		</dev/null >/dev/null 2>>"$AG_TMP/d/authguardd.err" 8>&- 19>&- & echo $!)
	ag_dpid[$conf]=$pid
	for _ in $(seq 200); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	ag_bail "authguardd for $conf did not start: $(tail -n 5 "$AG_TMP/d/authguardd.err")"
}

# ag_daemon_restart [CONF]: after a script changed CONF (default AG_CONF)
# by hand, its daemon reads it again.
ag_daemon_restart() {
	[ "$AG_DAEMON" = 1 ] || return 0
	ag_daemon_start "${1:-$AG_CONF}"
}

# ag_daemon_stop CONF: SIGTERM (it finishes what is in flight), then
# SIGKILL after 10 s.
ag_daemon_stop() {
	local pid=${ag_dpid[$1]:-}
	[ -n "$pid" ] || return 0
	unset "ag_dpid[$1]"
	# Its CPU seconds (utime + stime), for the cost of the daemon pass
	# (tests/daemon-pass.sh): detached, it is nobody's child to count.
	[ -z "${AG_DAEMON_CPU_LOG:-}" ] ||
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
			"/proc/$pid/stat" >>"$AG_DAEMON_CPU_LOG" 2>/dev/null
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	printf '# authguardd %s did not stop on SIGTERM: killed\n' "$pid"
	kill -KILL "$pid" 2>/dev/null
}

ag_daemon_stop_all() {
	local conf
	for conf in "${!ag_dpid[@]}"; do
		ag_daemon_stop "$conf"
	done
}

# ag_daemon_done: at the end of a script, the daemons are stopped and what
# they wrote on stderr is judged as a helper's is (a sanitizer report is a
# failed check; it is scanned for secrets).
ag_daemon_done() {
	[ "$AG_DAEMON" = 1 ] && [ -n "$AG_TMP" ] || return 0
	ag_daemon_stop_all
	[ ! -s "$AG_TMP/d/authguardd.err" ] ||
		ag_check_sanitizer "$(cat "$AG_TMP/d/authguardd.err")" "authguardd"
}

# ag_direct_only WHAT WHY: true without the daemon; in daemon mode prints
# a visible skip line and is false.  For the checks of what the caller's
# own configuration, files or rights decide when it opens the state
# itself: ag_direct_only "an unreadable state is refused" "the daemon opens it" && ...
ag_direct_only() {
	[ "$AG_DAEMON" = 1 ] || return 0
	printf '# skip (without the daemon only): %s: %s\n' "$1" "$2"
	return 1
}

# ag_direct_only_script WHY: a whole script about the direct path skips
# (77) in daemon mode.
ag_direct_only_script() {
	[ "$AG_DAEMON" = 1 ] || return 0
	ag_skip "skip (without the daemon only): $*"
}

# ------------------------------------------------------------- PostgreSQL mode

# ag_pg_init: the script's database, in the caller's cluster or, when none
# was given, in one started for this script alone (in AG_TMP).
ag_pg_init() {
	local out
	. "$top_srcdir/tests/lib/pgcluster.sh"
	# The server's own psql: Debian's /usr/bin/psql is a Perl wrapper that
	# costs 70 ms a call, and ag_sql runs thousands of times.
	AG_PSQL=psql
	[ ! -x "${AG_PGC_BIN:-}/psql" ] || AG_PSQL=$AG_PGC_BIN/psql
	command -v "$AG_PSQL" >/dev/null 2>&1 ||
		ag_bail "AG_STORE=postgresql: psql not found (apt-get install postgresql)"
	[ -f "$top_builddir/lib/store/pg/.libs/store-postgresql.so" ] ||
		ag_bail "AG_STORE=postgresql: the back end is not built (configure found no libpq?)"
	if [ -z "${AG_PGC_CONNINFO:-}" ]; then
		ag_pgc_available || ag_bail "AG_STORE=postgresql: no cluster given and none can be started" \
			"(apt-get install postgresql)"
		ag_say "AG_STORE=postgresql: no cluster given (AG_PGC_CONNINFO): starting one for this script"
		ag_pgc_own=1
		ag_pgc_start "$AG_TMP/pgc" || ag_bail "could not start a PostgreSQL cluster in $AG_TMP/pgc"
	fi
	# 63 bytes at most; the pid makes it unique among scripts running now
	ag_pgdb=ag_$(printf '%s' "$ag_test" | tr -c 'a-z0-9_' '_' | cut -c1-40)_$$
	out=$(ag_pg_psql postgres "CREATE DATABASE $ag_pgdb" 2>&1) ||
		{ ag_pgdb=; ag_bail "CREATE DATABASE failed: $out"; }
	# Test-side shims, in the schema public of this database only (the
	# programs' search_path is their own schema): SQLite's hex() and
	# randomblob(), so that the tests' SQL is one text for both.
	out=$(ag_pg_psql "$ag_pgdb" "
		CREATE FUNCTION public.hex(bytea) RETURNS text IMMUTABLE LANGUAGE sql
			AS 'SELECT upper(encode(\$1, ''hex''))';
		CREATE FUNCTION public.hex(text) RETURNS text IMMUTABLE LANGUAGE sql
			AS 'SELECT upper(encode(convert_to(\$1, ''UTF8''), ''hex''))';
		CREATE FUNCTION public.randomblob(integer) RETURNS bytea VOLATILE LANGUAGE sql
			AS 'SELECT decode(string_agg(lpad(to_hex((random() * 255)::int), 2, ''0''), ''''),
				''hex'') FROM generate_series(1, \$1)';
		CREATE EXTENSION amcheck;" 2>&1) ||
		ag_bail "creating the test functions failed: $out"
	ag_say "AG_STORE=postgresql: database $ag_pgdb ($AG_PGC_CONNINFO)"
}

# ag_pg_psql DB SQL [PSQL-ARGS...]: SQL as the cluster's superuser (SQL ""
# for none: PSQL-ARGS say what to run).
ag_pg_psql() {
	local db=$1 sql=$2
	shift 2
	[ -z "$sql" ] || set -- "$@" -c "$sql"
	PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
		"$AG_PSQL" -X -q -At -v ON_ERROR_STOP=1 -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" -U postgres \
		-d "$db" "$@"
}

# ag_pg_cleanup: drops the script's database (a program still connected,
# a helper a failed check left behind, is disconnected) and stops a
# cluster of the script's own.
ag_pg_cleanup() {
	if [ -n "$ag_pgdb" ] && [ "${AG_KEEP:-0}" != 1 ]; then
		ag_pg_psql postgres "DROP DATABASE IF EXISTS $ag_pgdb WITH (FORCE)" >/dev/null 2>&1 ||
			printf '# could not drop database %s\n' "$ag_pgdb"
	elif [ -n "$ag_pgdb" ]; then
		ag_say "kept database $ag_pgdb"
	fi
	ag_pgdb=
	if [ "$ag_pgc_own" = 1 ]; then
		ag_pgc_stop
		ag_pgc_own=0
	fi
}

# ag_pg_schema STATE_FILE: the schema that stands for STATE_FILE.
ag_pg_schema() {
	printf 'ag_%s\n' "$(printf '%s' "$1" | md5sum | cut -c1-12)"
}

# ag_store_lines STATE_FILE: the configuration lines that select the back
# end of this run for the state STATE_FILE names (nothing with SQLite),
# for a test that writes a configuration itself.
ag_store_lines() {
	[ "$AG_STORE" = postgresql ] || return 0
	printf 'store = postgresql\npg_conninfo = %s dbname=%s\npg_schema = %s\n' \
		"$AG_PGC_CONNINFO" "$ag_pgdb" "$(ag_pg_schema "$1")"
}

# ag_sqlite_only WHAT WHY: true with SQLite; in PostgreSQL mode prints a
# visible skip line and is false.  For the few checks that are about
# SQLite itself:  ag_sqlite_only "the WAL stays small" "no WAL file" && ...
ag_sqlite_only() {
	[ "$AG_STORE" = postgresql ] || return 0
	printf '# skip (SQLite only): %s: %s\n' "$1" "$2"
	return 1
}

# ag_sqlite_only_script WHY: a whole script about SQLite skips (77) in
# PostgreSQL mode.
ag_sqlite_only_script() {
	[ "$AG_STORE" = postgresql ] || return 0
	ag_skip "skip (SQLite only): $*"
}

# ag_sql SQL [STATE_FILE]: runs SQL on the state (default AG_DB) and prints
# its rows, columns separated by "|", NULL as empty: sqlite3 -batch, or
# psql -At in the state's schema.  The SQL must be valid on both engines:
# hex() and randomblob() exist on both (see ag_pg_init), a blob literal
# comes from ag_sql_blob.  Waits for a writer as the programs do.  Foreign
# keys are not enforced on either engine (the sqlite3 shell's default;
# PostgreSQL: session_replication_role = replica), so that a test can
# tamper with a row exactly as it would with the shell.
ag_sql() {
	local db=${2:-$AG_DB}
	if [ "$AG_STORE" = postgresql ]; then
		PGOPTIONS="-c search_path=$(ag_pg_schema "$db"),public -c session_replication_role=replica" \
			ag_pg_psql "$ag_pgdb" "$1"
	else
		sqlite3 -batch -cmd '.timeout 10000' "$db" "$1"
	fi
}

# ag_sql_blob HEX: a blob literal of the engine (X'..' or '\x..'::bytea).
ag_sql_blob() {
	if [ "$AG_STORE" = postgresql ]; then
		printf "'%sx%s'::bytea\n" '\' "$1"
	else
		printf "X'%s'\n" "$1"
	fi
}

# ag_sql_tables [STATE_FILE]: the names of the store's tables, sorted, one
# line each (not the engine's own: sqlite_*, authguard_meta).
ag_sql_tables() {
	if [ "$AG_STORE" = postgresql ]; then
		ag_sql "SELECT table_name FROM information_schema.tables WHERE table_schema =
			current_schema() AND table_name != 'authguard_meta' ORDER BY 1" "${1:-$AG_DB}"
	else
		ag_sql "SELECT name FROM sqlite_master WHERE type = 'table'
			AND name NOT LIKE 'sqlite_%' ORDER BY 1" "${1:-$AG_DB}"
	fi
}

# ag_sql_integrity [-n] [STATE_FILE]: prints "ok" when the state is
# consistent, else what is wrong.  SQLite: PRAGMA integrity_check and
# foreign_key_check; PostgreSQL: amcheck's verification of every table and
# B-tree index of the schema, and the same foreign keys looked up (they
# are not enforced for ag_sql's writes).  -n: without the foreign keys.
ag_sql_integrity() {
	local fk=1 db out
	[ "${1:-}" != -n ] || { fk=0; shift; }
	db=${1:-$AG_DB}
	if [ "$AG_STORE" = postgresql ]; then
		out=$(ag_sql "SELECT count(*) FROM (
			SELECT bt_index_check(c.oid, true) FROM pg_index i
				JOIN pg_class c ON c.oid = i.indexrelid
				JOIN pg_am a ON a.oid = c.relam AND a.amname = 'btree'
				WHERE c.relnamespace = current_schema()::regnamespace) b;
			SELECT format('%s: %s', c.relname, v.msg) FROM pg_class c,
				LATERAL verify_heapam(c.oid) v
				WHERE c.relnamespace = current_schema()::regnamespace
				AND c.relkind = 'r'" "$db" 2>&1) || { printf '%s\n' "$out"; return 0; }
		[ $fk = 0 ] || out=$out$(ag_sql "
			SELECT 'failure|' || f.id FROM failure f
				WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = f.subject_id);
			SELECT 'backup_code|' || b.account FROM backup_code b
				WHERE NOT EXISTS (SELECT 1 FROM mfa m WHERE m.account = b.account);
			SELECT 'refresh_token|' || t.family_id FROM refresh_token t
				WHERE NOT EXISTS (SELECT 1 FROM refresh_family r WHERE r.id = t.family_id)" \
			"$db" 2>&1)
		# the count of indexes checked, then nothing
		case $out in *[!0-9]*) printf '%s\n' "$out" ;; *) echo ok ;; esac
	else
		out=$(ag_sql 'PRAGMA integrity_check;' "$db" 2>&1)
		[ $fk = 0 ] || out=$out$(ag_sql 'PRAGMA foreign_key_check;' "$db" 2>&1)
		printf '%s\n' "$out"
	fi
}

# ag_sql_stamp [STATE_FILE]: a stamp of the state that changes with every
# committed write and with nothing else.  SQLite: modification time and
# size of the database and its WAL (a write transaction appends to the
# WAL; a read changes neither -- only the -shm index, not looked at); no
# ag_sql may run between two stamps (closing the last connection
# checkpoints).  PostgreSQL: the row version (xmin, ctid) of every row of
# every table, which any INSERT, UPDATE or DELETE changes.
ag_sql_stamp() {
	local db=${1:-$AG_DB} tables t sql=
	if [ "$AG_STORE" = postgresql ]; then
		tables=$(ag_sql "SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() ORDER BY 1" "$db") || return 1
		for t in $tables; do
			sql="$sql${sql:+ UNION ALL }SELECT '$t ' || xmin || ' ' || ctid FROM $t"
		done
		ag_sql "$sql" "$db" | LC_ALL=C sort | sha256sum | cut -c1-64
	else
		stat -c '%n %y %s' "$db" "$db-wal" 2>&1 | sed "s|$AG_TMP/||"
	fi
}

# ag_sql_dump [STATE_FILE]: every row of every table of the state, one line
# each, "TABLE|values", sorted: equal before and after exactly when the
# state is the same (a state comparison for both engines, like sqlite3
# .dump; values are rendered as each engine quotes them, blobs in hex).
ag_sql_dump() {
	local db=${1:-$AG_DB} tables t sql=
	if [ "$AG_STORE" = postgresql ]; then
		tables=$(ag_sql "SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() ORDER BY 1" "$db") || return 1
		[ -n "$tables" ] || { echo "no tables in $(ag_pg_schema "$db")" >&2; return 1; }
		for t in $tables; do
			sql="$sql${sql:+ UNION ALL }SELECT '$t|' || r::text FROM $t r"
		done
		[ -z "$sql" ] || ag_sql "$sql" "$db" | LC_ALL=C sort
	else
		# SELECT 'TABLE|' || quote(c1) || ',' || quote(c2) ... FROM TABLE;
		sql=$(ag_sql "SELECT 'SELECT ''' || m.name || '|'' || ' ||
			group_concat('quote(\"' || c.name || '\")', ' || '','' || ') ||
			' FROM \"' || m.name || '\";' FROM sqlite_master m, pragma_table_info(m.name) c
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' GROUP BY m.name" "$db") ||
			return 1
		[ -n "$sql" ] || { echo "no tables in $db" >&2; return 1; }
		ag_sql "$sql" "$db" | LC_ALL=C sort
	fi
}

ag_cleanup() {
	local rc=$?
	# Background jobs a failed check may have left behind.
	jobs -p | while read -r pid; do kill "$pid" 2>/dev/null; done
	ag_daemon_stop_all
	[ -z "$ag_pgdb" ] && [ "$ag_pgc_own" = 0 ] || ag_pg_cleanup
	if [ -n "$AG_TMP" ] && [ -d "$AG_TMP" ]; then
		if [ "${AG_KEEP:-0}" = 1 ]; then
			ag_say "kept $AG_TMP"
		else
			rm -rf "$AG_TMP"
		fi
	fi
	exit "$rc"
}

# ag_conf NAME [LINE...]: writes $AG_TMP/NAME.conf ("key = value" LINEs after
# a state_file in $AG_TMP/NAME-state/ and a secrets_key in $AG_TMP/keys/, or
# in $AG_STATE_DIR/keys/ when that is set) and runs authguard-ctl init for
# it, which creates the state and, when missing, the key.  In PostgreSQL
# mode the lines of ag_store_lines follow, unless LINEs set the store
# themselves (store, pg_conninfo or pg_schema); in daemon mode those of
# ag_daemon_lines (unless LINEs set daemon or daemon_socket: the test
# then runs its own daemon), and the configuration's daemon is (re)started
# after init.  Sets AG_CONF,
# AG_DB and AG_KEY (a "state_file = PATH" or "secrets_key = PATH" LINE
# replaces the default line: a key set twice is warned about).  With
# AG_RUNAS set, init runs as that user (the state directory must then exist
# and belong to it).  The key is always named: the built-in path is under
# /etc, which init would otherwise create.
ag_conf() {
	local name=$1 line out own_db=0 own_key=0 own_store=0 own_daemon=0 own_duser=0
	shift
	AG_CONF=$AG_TMP/$name.conf
	AG_DB=${AG_STATE_DIR:-$AG_TMP/$name-state}/state.db
	AG_KEY=${AG_STATE_DIR:-$AG_TMP}/keys/secrets.key
	for line in "$@"; do
		case $line in
		secrets_key*=*)
			AG_KEY=$(printf '%s' "${line#*=}" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
			own_key=1
			;;
		state_file*=*)
			AG_DB=$(printf '%s' "${line#*=}" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
			own_db=1
			;;
		store*=* | pg_conninfo*=* | pg_schema*=*)
			own_store=1
			;;
		daemon[[:space:]=]* | daemon_socket*=*)
			own_daemon=1
			;;
		daemon_user*=*)
			own_duser=1
			;;
		esac
	done
	{
		printf '# %s: test configuration\n' "$name"
		[ "$own_db" = 1 ] || printf 'state_file = %s\n' "$AG_DB"
		[ "$own_key" = 1 ] || printf 'secrets_key = %s\n' "$AG_KEY"
		[ "$own_store" = 1 ] || ag_store_lines "$AG_DB"
		[ "$own_daemon" = 1 ] || ag_daemon_lines "$AG_CONF" "$own_duser"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$AG_CONF"
	chmod 644 "$AG_CONF"
	if ! out=$(ag_ctl init 2>&1); then
		ag_bail "authguard-ctl --conf $AG_CONF init failed: $out"
	fi
	[ "$own_daemon" = 1 ] || ag_daemon_start "$AG_CONF"
}

# ag_service NAME [CONF [EXTRA_MODULE_ARGS...]]: writes the PAM service
# NAME: preauth / password check / authfail / authsucc / deny, and the
# account phase.  The module is named by absolute path; nodelay keeps
# libpam from sleeping (delays are checked through the test clock).
ag_service() {
	local name=$1 conf=${2:-$AG_CONF} args
	shift
	[ $# -gt 0 ] && shift
	args="conf=$conf nodelay${*:+ $*}"
	cat >"$AG_TMP/svc/$name" <<-EOF
	auth     requisite               $AG_MODULE preauth $args
	auth     [success=1 default=bad] pam_exec.so expose_authtok quiet $AG_TMP/check-password.sh
	auth     [default=die]           $AG_MODULE authfail $args
	auth     sufficient              $AG_MODULE authsucc $args
	auth     required                pam_deny.so
	account  required                $AG_MODULE $args
	EOF
	chmod 644 "$AG_TMP/svc/$name"
}

# ag_setup NAME [LINE...]: configuration + init + a service of the same
# name, made current (AG_SVC, AG_CONF, AG_DB).
ag_setup() {
	ag_conf "$@"
	ag_service "$1" "$AG_CONF"
	AG_SVC=$1
}

# ------------------------------------------------------------- running

# ag_preload [pam]: sets ag_preload to the LD_PRELOAD list (the sanitizer
# runtime first, pam_wrapper last).  No subshell: helpers run thousands of
# times in concurrency.sh.
ag_preload() {
	ag_preload=$AG_CAPTURE
	[ -n "$AG_PRELOAD_TEST" ] && ag_preload=$AG_PRELOAD_TEST:$ag_preload
	[ -n "$AG_PRELOAD_EXTRA" ] && ag_preload=$AG_PRELOAD_EXTRA:$ag_preload
	[ "${1:-}" = pam ] && ag_preload=$ag_preload:$PAM_WRAPPER_LIB
	return 0
}

ag_log_lines() {
	wc -l <"$AG_LOG" | tr -d ' '
}

# Lines the last command (ag_pam, ag_ctl, ag_token) logged.
ag_log_last() {
	tail -n +"$((AG_LOG_MARK + 1))" "$AG_LOG"
}

# Sanitizer reports are failures whatever the exit status says.
ag_check_sanitizer() {
	case $1 in
	*AddressSanitizer* | *LeakSanitizer* | *"runtime error:"* | *UndefinedBehaviorSanitizer*)
		ag_fail "no sanitizer report ($2)" "$(printf '%s' "$1" | head -n 20)"
		;;
	esac
	[ -z "$ag_vg_log" ] || ag_vg_check "$2"
	# every stderr the harness sees is scanned for secrets by ag_done, except
	# a terminal transcript (3rd argument "screen"), which shows its user
	# the key URI and backup codes on purpose
	[ "${3:-}" = screen ] || printf '%s\n' "$1" >>"$AG_TMP/stderr.all"
}

# ag_vg_check [WHAT]: with AG_VALGRIND=1, a report that processes left in
# ag_vg_log since the last call is one failed check showing it (kept as
# ag_vg_log.N).  Runs after every process ag_pam/ag_run_* start and before
# every passed check, so a helper run any other way is caught at the next
# check.  Only in the test's own shell: a subshell's count would be lost.
ag_vg_check() {
	local report lines
	[ -s "$ag_vg_log" ] && [ "$BASHPID" = "$$" ] || return 0
	ag_vg_nreports=$((ag_vg_nreports + 1))
	report=$ag_vg_log.$ag_vg_nreports
	mv -f "$ag_vg_log" "$report" || return 0
	mapfile -t lines < <(head -n 150 "$report")
	ag_fail "valgrind found no error${1:+ (last process: $1)}" "report in $report:" \
		"${lines[@]}"
}

# ag_pamtester USER PASSWORD [OPERATION...]: one pamtester process; prints
# its output, returns its exit status.  Uses AG_SVC, AG_RHOST, AG_NOW.
# PASSWORD "-" gives no input (for acct_mgmt alone).
ag_pamtester() {
	local user=$1 pw=$2 item=()
	shift 2
	[ $# -gt 0 ] || set -- authenticate
	[ -n "$AG_RHOST" ] && item=(-I "rhost=$AG_RHOST")
	if [ "$pw" = - ]; then
		ag_pamtester_run "$user" "${item[@]}" -- "$@" </dev/null
	else
		printf '%s\n' "$pw" | ag_pamtester_run "$user" "${item[@]}" -- "$@"
	fi
}

ag_pamtester_run() {
	local user=$1 item=()
	shift
	while [ "$1" != -- ]; do
		item+=("$1")
		shift
	done
	shift
	ag_preload pam
	${ag_pwrap_shared[@]+"${ag_pwrap_shared[@]}"} \
		timeout "$ag_timeout" ${AG_RUNAS[@]+"${AG_RUNAS[@]}"} env \
		LD_PRELOAD="$ag_preload" PAM_WRAPPER=1 PAM_WRAPPER_USE_SYSLOG=1 \
		PAM_WRAPPER_SERVICE_DIR="$AG_TMP/svc" AG_SYSLOG_FILE="$AG_LOG" \
		AUTHGUARD_TEST_TIME="$AG_NOW" ${AG_ENV[@]+"${AG_ENV[@]}"} ${ag_vg[@]+"${ag_vg[@]}"} \
		pamtester ${item[@]+"${item[@]}"} "$AG_SVC" "$user" "$@" 2>&1 19>>"${ag_vg_log:-/dev/null}"
}

# pam_wrapper 1.1.4 picks its /tmp/pam.X directory with a check-then-mkdir:
# processes that start at the same instant can end up sharing one, and the
# first to exit removes it under the other.  Two test scripts running side
# by side (make -j) could hit that, so every pamtester run holds an
# exclusive flock on /tmp itself -- the directory whose pam.X names are
# contended, so no lock file is left behind -- and a burst (concurrency.sh)
# holds it while its processes run (ag_pwrap_exclusive); only the burst's
# own processes can then disturb each other, which it accounts for.
ag_pwrap_shared=()
if command -v flock >/dev/null 2>&1 && [ -d /tmp ] && [ -r /tmp ]; then
	ag_pwrap_shared=(flock -x /tmp)
fi

# ag_pwrap_exclusive CMD...: runs CMD (a function starting many pamtesters)
# with the /tmp lock held exclusively; the pamtesters it starts do not take
# it.
ag_pwrap_exclusive() {
	local saved=(${ag_pwrap_shared[@]+"${ag_pwrap_shared[@]}"}) rc
	if [ ${#saved[@]} -eq 0 ]; then
		"$@"
		return
	fi
	exec 8</tmp
	flock -x 8
	ag_pwrap_shared=()
	"$@"
	rc=$?
	ag_pwrap_shared=("${saved[@]}")
	flock -u 8
	exec 8<&-
	return $rc
}

# ag_pam USER PASSWORD [OPERATION...]: runs pamtester; sets AG_RC, AG_OUT and
# the log mark.
ag_pam() {
	AG_LOG_MARK=$(ag_log_lines)
	AG_OUT=$(ag_pamtester "$@")
	AG_RC=$?
	ag_check_sanitizer "$AG_OUT" "pamtester $AG_SVC"
	return 0
}

# ag_attempt DESC USER PASSWORD RC CHECKED [OPERATION...]: one pamtester run
# that must exit RC, and whose password check must (CHECKED=1) or must not
# (0) have run.
ag_attempt() {
	local desc=$1 user=$2 pw=$3 rc=$4 checked=$5 before after
	shift 5
	before=$(ag_count)
	ag_pam "$user" "$pw" "$@"
	after=$(ag_count)
	if [ "$AG_RC" = "$rc" ] && [ $((after - before)) = "$checked" ]; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "expected exit $rc, password check run $checked time(s)" \
			"got exit $AG_RC, password check run $((after - before)) time(s)" \
			"output: $(printf '%s' "$AG_OUT" | tr '\n' ' ' | cut -c1-300)"
	fi
}

# ag_helper BIN ARGS...: a helper with the test clock and the syslog capture.
ag_helper() {
	local bin=$1
	shift
	ag_preload
	${AG_RUNAS[@]+"${AG_RUNAS[@]}"} env LD_PRELOAD="$ag_preload" \
		AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
		${AG_ENV[@]+"${AG_ENV[@]}"} ${ag_vg[@]+"${ag_vg[@]}"} "$bin" --conf "$AG_CONF" "$@" \
		19>>"${ag_vg_log:-/dev/null}"
}

# authguard-ctl / authguard-token on AG_CONF.  Output as the programs give it.
ag_ctl() { ag_helper "$AG_CTL_BIN" "$@"; }
ag_token() { ag_helper "$AG_TOKEN_BIN" "$@"; }

# ag_run_token ARGS...: authguard-token; sets AG_RC, AG_JSON (stdout),
# AG_OUT (stderr) and the log mark.
ag_run_token() {
	local errf=$AG_TMP/token.err
	AG_LOG_MARK=$(ag_log_lines)
	AG_JSON=$(ag_token "$@" 2>"$errf")
	AG_RC=$?
	AG_OUT=$(cat "$errf")
	ag_check_sanitizer "$AG_OUT" "authguard-token $*"
	return 0
}

# ag_run_ctl ARGS...: authguard-ctl; sets AG_RC, AG_JSON (stdout), AG_OUT
# (stderr) and the log mark.
ag_run_ctl() {
	local errf=$AG_TMP/ctl.err
	AG_LOG_MARK=$(ag_log_lines)
	AG_JSON=$(ag_ctl "$@" 2>"$errf")
	AG_RC=$?
	AG_OUT=$(cat "$errf")
	ag_check_sanitizer "$AG_OUT" "authguard-ctl $*"
	return 0
}

# ------------------------------------------------------------- state

# Number of attempts that reached the password check so far.
ag_count() {
	wc -l <"$AG_COUNTER" | tr -d ' '
}

ag_reset_count() {
	: >"$AG_COUNTER"
}

# ag_jget JSON PATH: a field of a JSON document, PATH dot-separated (list
# indexes as numbers).  Strings print raw, everything else as JSON (true,
# null, 3).  Prints "<missing>" when absent, "<invalid json>" when the
# input does not parse.
ag_jget() {
	ag_python -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("<invalid json>"); sys.exit(0)
for k in sys.argv[2].split(".") if sys.argv[2] else []:
    try:
        d = d[int(k)] if isinstance(d, list) else d[k]
    except (KeyError, IndexError, ValueError, TypeError):
        print("<missing>"); sys.exit(0)
sys.stdout.write(d if isinstance(d, str) else json.dumps(d))
sys.stdout.write("\n")
' "$1" "$2"
}

# ag_status [USER | --ip ADDR]: authguard-ctl status --json into AG_JSON.
ag_status() {
	AG_JSON=$(ag_ctl status --json "$@" 2>"$AG_TMP/status.err")
	AG_RC=$?
	if [ "$AG_RC" -ne 0 ]; then
		ag_fail "authguard-ctl status --json $(ag_show "$*") works" \
			"exit $AG_RC: $(cat "$AG_TMP/status.err")"
	fi
}

# ag_expect_status DESC SUBJECT-ARGS... -- FIELD=VALUE...: checks fields of
# authguard-ctl status --json for one account (USER) or host (--ip ADDR).
ag_expect_status() {
	local desc=$1 args=() f k v got bad=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	ag_status "${args[@]}"
	for f in "$@"; do
		k=${f%%=*}
		v=${f#*=}
		got=$(ag_jget "$AG_JSON" "$k")
		[ "$got" = "$v" ] || bad+=("$k: expected $v, got $got")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "${bad[@]}" "status: $(printf '%s' "$AG_JSON" | cut -c1-400)"
	fi
}

# ------------------------------------------------------------- logs

# ag_log_re ERE: ERE as the log reads in this mode.  Through the daemon
# the events of the rules (event=auth_fail, lock, auth_refused, mfa_ok
# ...) are logged by authguardd, with the same text after its ident:
#   - "pam_authguard\(SERVICE:PHASE\): " also matches "authguardd: " (the
#     line still names the service, service=SERVICE);
#   - the ident authguard-token or authguard-webhook also matches
#     authguardd;
#   - the module's "event=error ... user=U: WHY" may read "user=U:
#     authguardd: WHY" (the daemon's reason, named as such).
# Both for ag_expect_log and ag_expect_no_log, so "no such line" covers
# the daemon's lines too.
ag_log_re() {
	if [ "$AG_DAEMON" = 1 ]; then
		printf '%s' "$1" | sed -E 's/pam_authguard\\\([^\\]*\\\): /(&|authguardd: )/g
			s/(^|[^=])authguard-(token|webhook)/\1(authguard-\2|authguardd)/g
			s/(event=error[^:]*: )/\1(authguardd: )?/'
	else
		printf '%s' "$1"
	fi
}

# ag_expect_log DESC ERE: a line the last command logged matches ERE.
ag_expect_log() {
	local re
	re=$(ag_log_re "$2")
	if grep -Eq -- "$re" <<<"$(ag_log_last)"; then
		ag_pass "$1"
	else
		ag_fail "$1" "no line logged by the last command matches: $re" \
			"it logged: $(ag_log_last | cut -c1-300 | tr '\n' '|')"
	fi
}

# ag_expect_no_log DESC ERE: no line the last command logged matches ERE.
ag_expect_no_log() {
	local re
	re=$(ag_log_re "$2")
	if grep -Eq -- "$re" <<<"$(ag_log_last)"; then
		ag_fail "$1" "unexpected log line: $(ag_log_last | grep -E -- "$re" | head -n 3 | cut -c1-300)"
	else
		ag_pass "$1"
	fi
}

# ag_expect_out DESC ERE: the last command's output matches ERE.
ag_expect_out() {
	if grep -Eq -- "$2" <<<"$AG_OUT"; then
		ag_pass "$1"
	else
		ag_fail "$1" "output does not match: $2" \
			"output: $(printf '%s' "$AG_OUT" | tr '\n' '|' | cut -c1-300)"
	fi
}

# The whole log: one line per message, each starting with "<PRI>", and no
# raw control character anywhere (escaping must have happened).
ag_expect_log_clean() {
	local bad
	bad=$(grep -c -v '^<[0-9]\{1,3\}> ' "$AG_LOG")
	if [ "$bad" != 0 ]; then
		ag_fail "every captured log line starts with <PRI>" \
			"$bad line(s) do not, e.g.: $(grep -v '^<[0-9]\{1,3\}> ' "$AG_LOG" | head -n 2 | cut -c1-200)"
	else
		ag_pass "every captured log line starts with <PRI>"
	fi
	if LC_ALL=C grep -q '[[:cntrl:]]' "$AG_LOG"; then
		ag_fail "no raw control characters in the captured log" \
			"$(LC_ALL=C grep -n '[[:cntrl:]]' "$AG_LOG" | head -n 2 | od -c | head -n 5)"
	else
		ag_pass "no raw control characters in the captured log"
	fi
}

# ------------------------------------------------------------- MFA

# ag_mfa_service NAME [CONF [EXTRA_MODULE_ARGS...]]: writes the PAM service
# NAME with the verification-code stack of conf/pam.d/sshd-mfa, the test
# password check standing in for pam_unix:
#
#   preauth / password [success=ok default=1] / pwok [success=ok default=die]
#   / totp [success=ok default=die] / authsucc sufficient / pam_deny
#
# A wrong password skips pwok and still reaches totp, which asks for the
# code and then refuses.  EXTRA_MODULE_ARGS go on every pam_authguard line.
ag_mfa_service() {
	local name=$1 conf=${2:-$AG_CONF} args
	shift
	[ $# -gt 0 ] && shift
	args="conf=$conf nodelay${*:+ $*}"
	cat >"$AG_TMP/svc/$name" <<-EOF
	auth     requisite                $AG_MODULE preauth $args
	auth     [success=ok default=1]   pam_exec.so expose_authtok quiet $AG_TMP/check-password.sh
	auth     [success=ok default=die] $AG_MODULE pwok $args
	auth     [success=ok default=die] $AG_MODULE totp $args
	auth     sufficient               $AG_MODULE authsucc $args
	auth     requisite                pam_deny.so
	account  required                 $AG_MODULE $args
	EOF
	chmod 644 "$AG_TMP/svc/$name"
}

# ag_mfa_setup NAME [LINE...]: configuration + init (which creates AG_KEY)
# + an MFA service of the same name, made current.
ag_mfa_setup() {
	ag_conf "$@"
	ag_mfa_service "$1" "$AG_CONF"
	AG_SVC=$1
}

# ag_totp SECRET [TIME]: the TOTP code of the Base32 SECRET at TIME (default
# AG_NOW), computed by oathtool (OATH Toolkit), not by our code.
ag_totp() {
	local code
	code=$(oathtool --totp -b -N "@${2:-$AG_NOW}" "$1") || return 1
	ag_secret "$code"
	printf '%s\n' "$code"
}

# ag_wrong_code SECRET [TIME]: a well-formed 6-digit code that is none of
# the codes of the steps around TIME (so it is wrong whatever the window).
ag_wrong_code() {
	local t=${2:-$AG_NOW} c near k
	near=" "
	for k in -3 -2 -1 0 1 2 3; do
		near="$near$(ag_totp "$1" $((t + 30 * k))) "
	done
	for c in 000000 111111 222222 333333 444444 555555; do
		case $near in *" $c "*) continue ;; esac
		printf '%s\n' "$c"
		return 0
	done
	return 1
}

# ag_pam_mfa USER PASSWORD CODE [OPERATION...]: like ag_pam, answering the
# password prompt with PASSWORD and the verification-code prompt with CODE
# (libpam_misc's conversation reads each answer as one line of stdin).
# CODE "-" gives no second line (the conversation then meets end of file).
# The answers are read from a file, so an answer pamtester leaves unread
# (a long line) cannot turn the exit status into SIGPIPE's.
ag_pam_mfa() {
	local user=$1 pw=$2 code=$3 item=()
	shift 3
	[ $# -gt 0 ] || set -- authenticate
	[ -n "$AG_RHOST" ] && item=(-I "rhost=$AG_RHOST")
	if [ "$code" = - ]; then
		printf '%s\n' "$pw" >"$AG_TMP/answers"
	else
		printf '%s\n%s\n' "$pw" "$code" >"$AG_TMP/answers"
	fi
	AG_LOG_MARK=$(ag_log_lines)
	AG_OUT=$(ag_pamtester_run "$user" ${item[@]+"${item[@]}"} -- "$@" <"$AG_TMP/answers")
	AG_RC=$?
	ag_check_sanitizer "$AG_OUT" "pamtester $AG_SVC"
	return 0
}

# ag_mfa_attempt DESC USER PASSWORD CODE RC CHECKED [OPERATION...]: one
# pamtester run answering two prompts, which must exit RC and whose password
# check must (CHECKED=1) or must not (0) have run.
ag_mfa_attempt() {
	local desc=$1 user=$2 pw=$3 code=$4 rc=$5 checked=$6 before after
	shift 6
	before=$(ag_count)
	ag_pam_mfa "$user" "$pw" "$code" "$@"
	after=$(ag_count)
	if [ "$AG_RC" = "$rc" ] && [ $((after - before)) = "$checked" ]; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "expected exit $rc, password check run $checked time(s)" \
			"got exit $AG_RC, password check run $((after - before)) time(s)" \
			"output: $(printf '%s' "$AG_OUT" | tr '\n' ' ' | cut -c1-300)"
	fi
}

# ag_run_enroll ARGS...: authguard-enroll on AG_CONF (stdin as given); sets
# AG_RC, AG_JSON (stdout), AG_OUT (stderr) and the log mark.
ag_run_enroll() {
	local errf=$AG_TMP/enroll.err
	AG_LOG_MARK=$(ag_log_lines)
	AG_JSON=$(ag_helper "$AG_ENROLL_BIN" "$@" 2>"$errf")
	AG_RC=$?
	AG_OUT=$(cat "$errf")
	printf '%s\n' "$AG_JSON" >>"$AG_TMP/stdout.all" # TOTP secrets, backup codes
	ag_check_sanitizer "$AG_OUT" "authguard-enroll $*"
	return 0
}

# ag_enroll USER: enrolls USER at AG_NOW through authguard-enroll (start,
# then confirm with oathtool's current code) and counts as one check.
# Sets AG_SECRET (Base32) and AG_BACKUP (array of the backup codes as
# shown).  The confirmation uses the time step of AG_NOW: move the clock
# on by 30 s before the first login, or its code is a replay.
AG_SECRET=
AG_BACKUP=()
ag_enroll() {
	local user=$1 code
	AG_SECRET=
	AG_BACKUP=()
	ag_run_enroll --user "$user" --json </dev/null
	if [ "$AG_RC" != 0 ]; then
		ag_fail "$user enrolled" "authguard-enroll --user ... --json exit $AG_RC" \
			"stdout: $AG_JSON" "stderr: $AG_OUT"
		return 1
	fi
	AG_SECRET=$(ag_jget "$AG_JSON" secret)
	if ! [[ $AG_SECRET =~ ^[A-Z2-7]{32}$ ]]; then
		ag_fail "$user enrolled" "no 32-character Base32 secret in: $AG_JSON"
		return 1
	fi
	code=$(ag_totp "$AG_SECRET")
	AG_JSON=$(printf '%s\n' "$code" |
		ag_helper "$AG_ENROLL_BIN" --user "$user" --confirm --json 2>"$AG_TMP/enroll.err")
	AG_RC=$?
	AG_OUT=$(cat "$AG_TMP/enroll.err")
	if [ "$AG_RC" != 0 ] || [ "$(ag_jget "$AG_JSON" enrolled)" != true ]; then
		ag_fail "$user enrolled" "authguard-enroll --confirm --json exit $AG_RC" \
			"stdout: $AG_JSON" "stderr: $AG_OUT"
		return 1
	fi
	mapfile -t AG_BACKUP < <(ag_python -c '
import json, sys
for c in json.loads(sys.argv[1])["backup_codes"]:
    print(c)' "$AG_JSON")
	ag_pass "$user enrolled (secret, ${#AG_BACKUP[@]} backup codes)"
}
