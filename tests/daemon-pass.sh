#!/bin/bash
# The daemon pass: the PAM and helper integration scripts run once more
# with the module and the helpers as clients of authguardd (AG_DAEMON=1,
# tests/pam/lib.sh), same scripts, same expectations.
#
# Run in a configured build directory (make check-daemon does):
#
#     tests/daemon-pass.sh [MAKE-ARGS...]
#
# It runs
#
#     make check AG_DAEMON=1 TESTS="$DAEMON_PASS_TESTS" \
#          TEST_SUITE_LOG=test-suite-daemon.log MAKE-ARGS...
#
# (each script starts a daemon per configuration it writes, on a socket in
# its own temporary directory, and stops them on every exit path, so make
# -j runs them side by side), and prints automake's summary and the time
# taken.  MAKE-ARGS come last, so TESTS=... runs a subset, and
# AG_STORE=postgresql (with a cluster, see tests/pg-pass.sh) runs the
# daemon pass on PostgreSQL.
#
# It ends with the time taken and the CPU seconds of the tests and of the
# daemons, for the CI budget (tests/Makefile.inc has the figures).
#
# Environment:
#   DAEMON_PASS_TESTS  the scripts (default: the list DAEMON_PASS_TESTS of
#                      tests/Makefile.inc, as make check-daemon passes it)
#   MAKE               the make to run (default make)
#
# Exit status: make's (0 when every script passed or skipped); 77 when the
# daemon is not built.
set -u

make=${MAKE:-make}

[ -f Makefile ] && grep -q '^check-daemon:' Makefile ||
	{ echo "daemon-pass.sh: run it in a configured build directory" >&2; exit 2; }
if [ ! -x daemon/authguardd ]; then
	echo "SKIP: daemon pass: daemon/authguardd is not built (run make)"
	exit 77
fi
tests=${DAEMON_PASS_TESTS:-$($make -s print-daemon-pass-tests 2>/dev/null)}
[ -n "$tests" ] || { echo "daemon-pass.sh: no test list (DAEMON_PASS_TESTS)" >&2; exit 2; }

dir=$(mktemp -d /tmp/ag-daemonpass.XXXXXX) || exit 2
cleanup() {
	local rc=$?
	rm -rf "$dir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

t0=$(date +%s)
echo "=== daemon pass: $(echo $tests | wc -w) scripts"
# The daemons are detached from the scripts (nobody's children here):
# lib.sh writes each one's CPU seconds to this file when it stops it.
export AG_DAEMON=1 AG_DAEMON_CPU_LOG=$dir/daemon-cpu
: >"$AG_DAEMON_CPU_LOG"
chmod 666 "$AG_DAEMON_CPU_LOG"
rc=0
$make check AG_DAEMON=1 TESTS="$tests" TEST_SUITE_LOG=test-suite-daemon.log "$@" || rc=$?
if [ -f test-suite-daemon.log ]; then
	awk '/^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):/{printf "%s %s  ", $2, $3} END{print ""}' \
		test-suite-daemon.log
fi
times >"$dir/times" # (not in a pipe: a subshell's children are not ours)
cpu=$(tr 'ms' '  ' <"$dir/times" | awk 'NR == 2 { print int($1 * 60 + $2 + $3 * 60 + $4) }')
dcpu=$(awk '{ s += $1 } END { printf "%d", s }' "$AG_DAEMON_CPU_LOG")
echo "=== daemon pass: $(($(date +%s) - t0)) s, exit $rc; CPU: tests $cpu s," \
	"daemons $dcpu s ($(wc -l <"$AG_DAEMON_CPU_LOG") daemons)"
exit $rc
