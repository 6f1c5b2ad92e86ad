#!/bin/bash
# The whole test suite, as CI runs it: installs dependencies, then two
# builds, each running what it is best at (2 cores, 45 minutes):
#
#   build/asan     AddressSanitizer + UBSan: `make check`, every test
#                  (unit, PAM stacks, helpers, fault injection, stress,
#                  PostgreSQL administration, fleet, daemon, Node client,
#                  browser) on the default SQLite store;
#   build/release  -O2, warnings as errors: the PostgreSQL pass (the
#                  integration scripts again on store = postgresql, one
#                  throwaway cluster), the daemon pass (the same scripts
#                  again through authguardd), `make distcheck` (tarball,
#                  install, unit and static tests in the unpacked tree),
#                  and valgrind's memcheck over the unit tests and a
#                  subset of integration scripts;
#
# then a short run of every libFuzzer target, and one summary line.
# Each phase prints the seconds it took.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
"$src/scripts/install-deps.sh"

jobs=$(nproc 2>/dev/null || echo 2)
# An in-tree configuration would break the out-of-tree builds below.
if [ -f Makefile ]; then make distclean >/dev/null 2>&1 || true; fi
autoreconf -fi >/dev/null

run_build() { # NAME CFLAGS EXTRA-ENV...
	local name=$1 cflags=$2
	shift 2
	rm -rf "build/$name"
	mkdir -p "build/$name"
	(cd "build/$name" &&
		"$src/configure" -q --enable-test-clock --enable-werror \
			--sysconfdir=/etc --localstatedir=/var CFLAGS="$cflags" &&
		make -s -j"$jobs" &&
		env "$@" make -j"$jobs" check) || { show_failures "build/$name"; return 1; }
}

# The log of every failed test, so a CI transcript alone explains a failure.
show_failures() { # BUILDDIR
	local log
	for log in $(grep -lE '^:test-result: (FAIL|XPASS|ERROR)' $(find "$1" -name '*.trs') 2>/dev/null); do
		echo "--- ${log%.trs}.log (last 60 lines)"
		tail -60 "${log%.trs}.log"
	done
}

# phase_end NAME: how long the phase since phase_t0 took, for the budget.
phase_end() {
	echo "=== $1: $(($(date +%s) - phase_t0)) s"
	phase_t0=$(date +%s)
}

status=0
suite_t0=$(date +%s)
phase_t0=$suite_t0
echo "=== build/asan: AddressSanitizer + UndefinedBehaviorSanitizer"
asan_rt="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
run_build asan "-g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	AG_PRELOAD_EXTRA="$asan_rt" \
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 || status=1
phase_end "build/asan"

echo "=== build/release: -O2 with warnings as errors"
phase_t0=$(date +%s)
rel_ok=1
rm -rf build/release
mkdir -p build/release
(cd build/release &&
	"$src/configure" -q --enable-test-clock --enable-werror \
		--sysconfdir=/etc --localstatedir=/var CFLAGS="-g -O2" &&
	make -s -j"$jobs") || { status=1; rel_ok=0; }

# The PostgreSQL pass: the scripts that touch the store, on PostgreSQL
# (tests/pg-pass.sh starts and removes its cluster).  Single faults only
# in the fault sweeps here (FI_MODES=once): the persistent-fault half ran
# on SQLite under ASan and exercises the same code above the engine.
pg_ran=0
if [ $rel_ok = 1 ]; then
	echo "=== build/release: PostgreSQL pass"
	pg_ran=1
	(cd build/release && make -j"$jobs" check-postgresql FI_MODES=once) ||
		{ show_failures build/release; status=1; }
	phase_end "PostgreSQL pass"
fi

# The daemon pass: the same scripts through authguardd (tests/daemon-pass.sh).
dm_ran=0
if [ $rel_ok = 1 ] && grep -q '^check-daemon:' build/release/Makefile; then
	echo "=== build/release: daemon pass"
	dm_ran=1
	(cd build/release && make -j"$jobs" check-daemon FI_MODES=once) ||
		{ show_failures build/release; status=1; }
	phase_end "daemon pass"
fi

if [ $rel_ok = 1 ]; then
	echo "=== build/release: distcheck (unit and static tests in the unpacked tarball)"
	quick=$(cd build/release && make -s print-quick-tests)
	(cd build/release && make -s distcheck TESTS="$quick" \
		DISTCHECK_CONFIGURE_FLAGS="--enable-test-clock --enable-werror --with-securedir=\$\${prefix}/lib/security" \
		>distcheck.out 2>&1) || { tail -40 build/release/distcheck.out; status=1; }
	grep -E '^(=+|.*archives ready for distribution)' build/release/distcheck.out | tail -3 || true
	phase_end "distcheck"
fi

# The unit tests once more under valgrind's memcheck (leaks included):
# catches what the sanitizers do not see in an optimised build.
vg_pass=0 vg_fail=0
if command -v valgrind >/dev/null 2>&1 && [ -d build/release/tests/unit ]; then
	echo "=== valgrind: unit tests of the release build"
	for t in build/release/tests/unit/test_*; do
		case $t in *.o|*.log|*.trs) continue ;; esac
		[ -x "$t" ] || continue
		if (cd build/release && ./libtool --mode=execute valgrind -q --error-exitcode=9 \
			--leak-check=full --errors-for-leak-kinds=definite \
			"tests/unit/${t##*/}" >"tests/unit/${t##*/}.valgrind.log" 2>&1); then
			echo "PASS: valgrind ${t##*/}"
			vg_pass=$((vg_pass + 1))
		else
			echo "FAIL: valgrind ${t##*/} (see $t.valgrind.log)"
			tail -20 "$t.valgrind.log"
			vg_fail=$((vg_fail + 1))
		fi
	done
fi

# The integration tests of the release build with pamtester (so libpam and
# the module) and every helper process under memcheck (AG_VALGRIND=1, see
# tests/pam/lib.sh): any error or definite leak fails the test, valgrind's
# report in its log.  All of tests/pam would take about 50 min of CPU this
# way (token.sh alone over 15), so a subset -- about 13 min of CPU, 7 to 9 min
# on 2 cores -- that still runs the module in every mode
# (preauth, authfail, authsucc, pwok, totp, account, open/close_session),
# every helper in every mode (authguard-ctl; authguard-token guard, mfa
# verify, issue, verify, refresh, revoke, jwks, batch, session, logout;
# authguard-enroll; authguard-webhook receive and verify) and the error
# paths of failclosed*.sh.  Not run under valgrind: concurrency.sh (bursts
# of 50 pamtesters), token.sh (over 10 min: key rotation, ES256 and HS256
# keys, interop), and the tests that repeat the paths above.
vgi_tests="tests/pam/sessions.sh tests/pam/failclosed_matrix.sh tests/pam/mfa.sh \
tests/pam/mfa_web.sh tests/pam/failclosed.sh tests/pam/enroll.sh tests/pam/webhook.sh"
vgi_ran=0 vgi_left=0
if command -v valgrind >/dev/null 2>&1 && [ -f build/release/Makefile ]; then
	echo "=== valgrind: integration tests of the release build ($(echo $vgi_tests | wc -w) scripts)"
	vgi_ran=1
	vgi_t0=$(date +%s)
	(cd build/release && make -j"$jobs" check AG_VALGRIND=1 TESTS="$vgi_tests" \
		TEST_SUITE_LOG=test-suite-valgrind.log >valgrind-integration.out 2>&1) ||
		{ show_failures build/release; status=1; }
	grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' build/release/valgrind-integration.out || true
	echo "valgrind integration tests: $(($(date +%s) - vgi_t0)) s"
	phase_end "valgrind"
	# a report that came after a test's last check is still in its file
	for f in $(find build/release/tests/pam -name '*.vg.log' -size +0 2>/dev/null); do
		echo "FAIL: valgrind report not seen by a check: $f"
		head -40 "$f"
		vgi_left=$((vgi_left + 1))
	done
fi

# A short run of every libFuzzer target (tests/fuzz; long campaigns are
# documented in its script): clang is installed by install-deps.sh.
fz_pass=0 fz_fail=0
echo "=== fuzzing: ${FUZZ_SECONDS:=10} s per target"
fz_rc=0
FUZZ_SECONDS=$FUZZ_SECONDS top_srcdir=$src \
	"$src/tests/fuzz/build-and-run.sh" || fz_rc=$?
case $fz_rc in
0) echo "PASS: fuzzing"; fz_pass=1 ;;
77) echo "SKIP: fuzzing (clang or libFuzzer missing)" ;;
*) echo "FAIL: fuzzing (exit $fz_rc)"; fz_fail=1 ;;
esac
phase_end "fuzzing"

# One line for all runs: "N passed, N failed".
pass=0 fail=0 skip=0
vgi_log=
[ $vgi_ran = 0 ] || vgi_log=build/release/test-suite-valgrind.log
pg_log= dm_log=
[ $pg_ran = 0 ] || pg_log=build/release/test-suite-postgresql.log
[ $dm_ran = 0 ] || dm_log=build/release/test-suite-daemon.log
for f in build/asan/test-suite.log $pg_log $dm_log $vgi_log; do
	[ -f "$f" ] || { fail=$((fail + 1)); continue; }
	read -r p x s < <(awk '/^# PASS:/{p=$3} /^# (FAIL|XPASS|ERROR):/{x+=$3} /^# SKIP:/{s=$3} END{print p+0, x+0, s+0}' "$f")
	pass=$((pass + p)) fail=$((fail + x)) skip=$((skip + s))
done
pass=$((pass + vg_pass + fz_pass)) fail=$((fail + vg_fail + fz_fail + vgi_left))
[ $vg_fail = 0 ] && [ $fz_fail = 0 ] && [ $vgi_left = 0 ] || status=1
[ $status = 0 ] || [ $fail -gt 0 ] || fail=1
echo "=== whole suite: $(($(date +%s) - suite_t0)) s"
echo "$pass passed, $fail failed, $skip skipped"
exit $status
