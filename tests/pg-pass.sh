#!/bin/bash
# The PostgreSQL pass: the integration scripts that touch the store, run
# once more with every configuration on the PostgreSQL back end
# (AG_STORE=postgresql, tests/pam/lib.sh), same scripts, same expectations.
#
# Run in a configured build directory (make check-postgresql does):
#
#     tests/pg-pass.sh [MAKE-ARGS...]
#
# It starts one throwaway cluster (tests/lib/pgcluster.sh: initdb into a
# temporary directory, Unix socket there, no TCP), exports its connection
# string, runs
#
#     make check AG_STORE=postgresql TESTS="$PG_PASS_TESTS" \
#          TEST_SUITE_LOG=test-suite-postgresql.log MAKE-ARGS...
#
# (each script creates a database of its own in that cluster and drops it
# at exit, so make -j runs them side by side), stops the cluster and
# removes its directory on every exit path, and prints automake's summary
# and the time taken.  MAKE-ARGS come last, so TESTS=... runs a subset.
#
# It ends with the time taken and the CPU seconds of the tests and of the
# server, for the CI budget (their sum over the cores is the least the
# pass takes on an idle machine; tests/Makefile.inc has the figures and
# the knobs that shorten it, e.g. make check-postgresql FI_MODES=once).
#
# Environment:
#   PG_PASS_TESTS  the scripts (default: the list PG_PASS_TESTS of
#                  tests/Makefile.inc, as make check-postgresql passes it)
#   MAKE           the make to run (default make)
#   AG_PGC_KEEP=1  leave the cluster's directory (server log) behind
#
# Exit status: make's (0 when every script passed or skipped); 77 when no
# cluster can be started here (PostgreSQL server not installed).
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/tests/lib/pgcluster.sh"
make=${MAKE:-make}

[ -f Makefile ] && grep -q '^check-postgresql:' Makefile ||
	{ echo "pg-pass.sh: run it in a configured build directory" >&2; exit 2; }
if ! ag_pgc_available; then
	echo "SKIP: PostgreSQL pass: no server binaries (apt-get install postgresql)"
	exit 77
fi
tests=${PG_PASS_TESTS:-$($make -s print-pg-pass-tests 2>/dev/null)}
[ -n "$tests" ] || { echo "pg-pass.sh: no test list (PG_PASS_TESTS)" >&2; exit 2; }

# The cluster's directory must be reachable by the server's user (postgres
# when running as root) and by the tests that run programs as nobody.
dir=$(mktemp -d /tmp/ag-pgpass.XXXXXX) || exit 2
chmod 755 "$dir"
cleanup() {
	local rc=$?
	ag_pgc_stop
	if [ "${AG_PGC_KEEP:-0}" = 1 ]; then
		echo "pg-pass.sh: kept $dir"
	else
		rm -rf "$dir"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# CPU seconds of a process and of the children it reaped (utime, stime,
# cutime, cstime of /proc/PID/stat): the server's are those of the
# postmaster, whose children are the sessions.
cpu_of() { # PID
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13 + $14 + $15) / hz) }' \
		"/proc/$1/stat" 2>/dev/null || echo "?"
}

t0=$(date +%s)
ag_pgc_start "$dir/pgc" || { echo "pg-pass.sh: the cluster did not start" >&2; exit 2; }
server_pid=$(head -n 1 "$dir/pgc/data/postmaster.pid" 2>/dev/null)
echo "=== PostgreSQL pass: $(echo $tests | wc -w) scripts, cluster $AG_PGC_CONNINFO"
export AG_STORE=postgresql
rc=0
$make check AG_STORE=postgresql TESTS="$tests" TEST_SUITE_LOG=test-suite-postgresql.log "$@" ||
	rc=$?
# make check prints the summary; repeat its counts in one line for a
# transcript that shows several passes.
if [ -f test-suite-postgresql.log ]; then
	awk '/^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):/{printf "%s %s  ", $2, $3} END{print ""}' \
		test-suite-postgresql.log
fi
# The tests' CPU time (this shell's children: make and everything under
# it) and the server's, for the CI budget: their sum over the cores is the
# least the pass can take on an idle machine.
times >"$dir/times" # (not in a pipe: a subshell's children are not ours)
cpu=$(tr 'ms' '  ' <"$dir/times" | awk 'NR == 2 { print int($1 * 60 + $2 + $3 * 60 + $4) }')
echo "=== PostgreSQL pass: $(($(date +%s) - t0)) s, exit $rc; CPU: tests $cpu s," \
	"server $(cpu_of "${server_pid:-0}") s"
exit $rc
