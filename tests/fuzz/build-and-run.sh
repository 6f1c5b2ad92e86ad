#!/bin/sh
# Builds the libFuzzer targets in tests/fuzz and runs each one briefly.
#
#   tests/fuzz/build-and-run.sh                 # every target, 10 s each
#   FUZZ_SECONDS=60 tests/fuzz/build-and-run.sh
#   FUZZ_TARGETS="fuzz_jwt fuzz_config" tests/fuzz/build-and-run.sh
#
# or, in a tree configured with CC=clang --enable-fuzzing, "make fuzz"
# (same variables).  Without such a tree the script configures one of its
# own from top_srcdir in a temporary directory.
#
# Long campaigns: give each target an hour (or more) and keep what it
# learns, e.g.
#
#   FUZZ_SECONDS=3600 FUZZ_KEEP=1 FUZZ_JOBS=4 tests/fuzz/build-and-run.sh
#
# FUZZ_KEEP=1 keeps the build directory (printed at the end; its
# corpus/<target>/ holds the grown corpus, worth merging back into
# tests/fuzz/corpus/<target>/ with "./<target> -merge=1 NEW OLD").
# FUZZ_JOBS=N runs N libFuzzer workers per target (-fork=N).  A single
# target can also be run by hand from the build directory:
#
#   tests/fuzz/fuzz_jwt -max_total_time=3600 -rss_limit_mb=2048 corpus/fuzz_jwt
#
# and a reproducer replayed with "tests/fuzz/fuzz_jwt crash-<sha1>".  A
# crash, once fixed, becomes a regression test: add its input to
# tests/fuzz/corpus/<target>/ (every short run replays the whole corpus).
#
# Environment: CC (default clang), FUZZ_SECONDS (default 10), FUZZ_TARGETS,
# FUZZ_KEEP, FUZZ_JOBS, top_srcdir (default: the tree this script is in),
# FUZZ_BUILT=1 with top_builddir (set by "make fuzz": targets already built).
#
# Exit status: 0 when every target ran without a finding, 1 on a crash,
# leak, timeout or out-of-memory (the reproducer path is printed), 77 when
# clang or libFuzzer is not available, 99 on a build failure.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
CC=${CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
FUZZ_JOBS=${FUZZ_JOBS:-1}
TARGETS=${FUZZ_TARGETS:-"fuzz_config fuzz_jwt fuzz_keyfile fuzz_webhook fuzz_net fuzz_codes fuzz_tokens fuzz_otpauth fuzz_subject fuzz_proto fuzz_daemon"}

if [ "${FUZZ_BUILT:-0}" = 1 ]; then
	build=${top_builddir:?}
	own=0
else
	if ! command -v "$CC" >/dev/null 2>&1; then
		echo "SKIP: $CC not found; the fuzz targets need clang with libFuzzer" >&2
		exit 77
	fi
	if [ ! -x "$top_srcdir/configure" ]; then
		echo "ERROR: $top_srcdir/configure missing; run autoreconf -fi first" >&2
		exit 99
	fi
	build=$(mktemp -d "${TMPDIR:-/tmp}/authguard-fuzz.XXXXXX") || exit 99
	own=1
fi
cleanup() {
	[ "$own" = 1 ] || return 0
	if [ "${FUZZ_KEEP:-0}" = 1 ] || [ "${found:-0}" = 1 ]; then
		echo "build directory kept: $build"
	else
		rm -rf "$build"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$own" = 1 ]; then
	echo "building in $build"
	(cd "$build" && "$top_srcdir/configure" -q CC="$CC" --enable-fuzzing \
		>configure.out 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		if grep -q 'needs clang with libFuzzer' "$build/configure.out"; then
			echo "SKIP: $CC cannot build with -fsanitize=fuzzer (libFuzzer missing)" >&2
			exit 77
		fi
		tail -n 20 "$build/configure.out" >&2
		exit 99
	fi
	bins=
	for t in $TARGETS; do bins="$bins tests/fuzz/$t"; done
	# shellcheck disable=SC2086
	(cd "$build" && make -s -j"$(nproc 2>/dev/null || echo 2)" $bins >make.out 2>&1) ||
		{ tail -n 30 "$build/make.out" >&2; exit 99; }
fi

found=0
summary=
for t in $TARGETS; do
	mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
	if [ -d "$here/corpus/$t" ]; then
		cp "$here/corpus/$t"/* "$build/corpus/$t/" 2>/dev/null
	fi
	extra=
	if [ "$FUZZ_JOBS" -gt 1 ] 2>/dev/null; then
		extra="-fork=$FUZZ_JOBS"
	fi
	echo "=== $t: ${FUZZ_SECONDS}s"
	start=$(date +%s)
	# shellcheck disable=SC2086
	(cd "$build" && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
		"tests/fuzz/$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=30 \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" $extra \
		"corpus/$t") >"$build/$t.log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$build/$t.log" | tail -n 1)
	line="$t: $((end - start))s, ${execs:-?} runs, ${eps:-?} exec/s"
	if [ $rc -ne 0 ]; then
		found=1
		repro=$(ls "$build/artifacts/$t/" 2>/dev/null | head -n 1)
		line="$line, FAILED (exit $rc)"
		echo "FAIL: $t exited $rc; log $build/$t.log" >&2
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$build/$t.log" | head -n 5 >&2
		if [ -n "$repro" ]; then
			echo "reproducer: $build/artifacts/$t/$repro" >&2
			echo "replay:     $build/tests/fuzz/$t $build/artifacts/$t/$repro" >&2
		fi
	fi
	echo "$line"
	summary="$summary$line
"
done
echo "--- summary"
printf '%s' "$summary"
[ $found -eq 0 ] || exit 1
exit 0
