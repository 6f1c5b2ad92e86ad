#!/bin/bash
# The whole test suite, as CI runs it: installs dependencies, then builds and
# runs `make check` twice -- once under AddressSanitizer + UBSan, once as a
# plain -Werror build followed by `make distcheck` -- then the unit tests
# under valgrind, and prints a summary.
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

status=0
echo "=== build/asan: AddressSanitizer + UndefinedBehaviorSanitizer"
asan_rt="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
run_build asan "-g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	AG_PRELOAD_EXTRA="$asan_rt" \
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 || status=1

echo "=== build/release: -O2 with warnings as errors, then distcheck"
run_build release "-g -O2" || status=1
if [ $status = 0 ]; then
	(cd build/release && make -s distcheck \
		DISTCHECK_CONFIGURE_FLAGS="--enable-test-clock --enable-werror --with-securedir=\$\${prefix}/lib/security" \
		>distcheck.out 2>&1) || { tail -40 build/release/distcheck.out; status=1; }
	grep -E '^(=+|.*archives ready for distribution)' build/release/distcheck.out | tail -3 || true
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

# One line for all runs: "N passed, N failed".
pass=0 fail=0 skip=0
vgi_log=
[ $vgi_ran = 0 ] || vgi_log=build/release/test-suite-valgrind.log
for f in build/asan/test-suite.log build/release/test-suite.log $vgi_log; do
	[ -f "$f" ] || { fail=$((fail + 1)); continue; }
	read -r p x s < <(awk '/^# PASS:/{p=$3} /^# (FAIL|XPASS|ERROR):/{x+=$3} /^# SKIP:/{s=$3} END{print p+0, x+0, s+0}' "$f")
	pass=$((pass + p)) fail=$((fail + x)) skip=$((skip + s))
done
pass=$((pass + vg_pass + fz_pass)) fail=$((fail + vg_fail + fz_fail + vgi_left))
[ $vg_fail = 0 ] && [ $fz_fail = 0 ] && [ $vgi_left = 0 ] || status=1
[ $status = 0 ] || [ $fail -gt 0 ] || fail=1
echo "$pass passed, $fail failed, $skip skipped"
exit $status
