#!/bin/sh
# Builds the libFuzzer targets in tests/fuzz and runs each one briefly.
#
#   tests/fuzz/build-and-run.sh                 # every target, 10 s each
#   FUZZ_SECONDS=60 tests/fuzz/build-and-run.sh
#   FUZZ_TARGETS="fuzz_jwt fuzz_config" tests/fuzz/build-and-run.sh
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
# target can also be run by hand from the kept build directory:
#
#   ./fuzz_jwt -max_total_time=3600 -rss_limit_mb=2048 corpus/fuzz_jwt
#
# and a reproducer replayed with "./fuzz_jwt crash-<sha1>".
#
# Environment: CC (default clang), FUZZ_SECONDS (default 10), FUZZ_TARGETS,
# FUZZ_KEEP, FUZZ_JOBS, top_srcdir / top_builddir (default: the tree this
# script is in; top_builddir must hold autoconf.h, i.e. be configured).
#
# Exit status: 0 when every target ran without a finding, 1 on a crash,
# leak, timeout or out-of-memory (the reproducer path is printed), 77 when
# clang or libFuzzer is not available, 99 on a build failure.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CC=${CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
FUZZ_JOBS=${FUZZ_JOBS:-1}
TARGETS=${FUZZ_TARGETS:-"fuzz_config fuzz_jwt fuzz_keyfile fuzz_webhook fuzz_net fuzz_codes"}
sysconfdir=${sysconfdir:-/etc}
localstatedir=${localstatedir:-/var}

SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
SAN_NOLINK="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "SKIP: $CC not found; the fuzz targets need clang with libFuzzer" >&2
	exit 77
fi
if [ ! -f "$top_builddir/autoconf.h" ]; then
	echo "ERROR: $top_builddir/autoconf.h missing; run configure first" >&2
	exit 99
fi
if ! pkg-config --exists sqlite3 libsodium libcrypto jansson liboath; then
	echo "SKIP: pkg-config cannot find sqlite3 libsodium libcrypto jansson liboath" >&2
	exit 77
fi

build=$(mktemp -d "${TMPDIR:-/tmp}/authguard-fuzz.XXXXXX") || exit 99
cleanup() {
	if [ "${FUZZ_KEEP:-0}" = 1 ] || [ "${found:-0}" = 1 ]; then
		echo "build directory kept: $build"
	else
		rm -rf "$build"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# libFuzzer present?
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
	>"$build/probe.c"
if ! "$CC" $SAN "$build/probe.c" -o "$build/probe" >/dev/null 2>&1; then
	echo "SKIP: $CC cannot build with -fsanitize=fuzzer (libFuzzer missing)" >&2
	exit 77
fi

PKG_CFLAGS=$(pkg-config --cflags sqlite3 libsodium libcrypto jansson liboath)
PKG_LIBS=$(pkg-config --libs sqlite3 libsodium libcrypto jansson liboath)
CFLAGS_ALL="-g -O1 -I$top_srcdir/lib -I$top_builddir \
	-DAG_SYSCONFDIR=\"$sysconfdir\" -DAG_LOCALSTATEDIR=\"$localstatedir\" $PKG_CFLAGS"

# lib/libauthguard.la and lib/libauthguard_token.la (see Makefile.am); the
# enrollment library (QR codes, key URIs) is not needed here.
LIB_SOURCES="error util clock log net safefile config policy schema store store_mfa
	store_token store_session guard base32 totp secretbox backup mfa
	session b64url jwt keyring webhook"

echo "building in $build"
mkdir -p "$build/obj"
objs=
for s in $LIB_SOURCES; do
	# shellcheck disable=SC2086
	"$CC" $CFLAGS_ALL $SAN_NOLINK -c "$top_srcdir/lib/$s.c" -o "$build/obj/$s.o" || exit 99
	objs="$objs $build/obj/$s.o"
done
for t in $TARGETS; do
	# shellcheck disable=SC2086
	"$CC" $CFLAGS_ALL $SAN "$here/$t.c" $objs $PKG_LIBS -o "$build/$t" || exit 99
done

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
		"./$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=30 \
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
			echo "replay:     $build/$t $build/artifacts/$t/$repro" >&2
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
