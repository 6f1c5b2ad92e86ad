#!/bin/bash
# Cost of one `authguard-token guard failure` call as a web backend pays
# it when it starts one process per login attempt, over a long series of
# calls on one state: does it stay flat, and does the WAL stay short?
#
# A fresh state (deny, host_deny and delay_base set so that nothing ever
# locks or waits: every call records a failure), then BENCH_N one-shot
# calls in sequence, a spray of 1,000 e-mails from 250 addresses.  The
# calls are grouped in windows of BENCH_WINDOW; for each window: the CPU
# time per call (user + system of the helper processes, from
# getrusage(RUSAGE_CHILDREN), so the driver's own work is not counted),
# the wall time per call, and the WAL's size at the end of the window.
# The verdict compares the first and the last window: "flat" when the
# last one's CPU per call is within 25 % of the first one's.
#
# Nothing but one SQLite state in a temporary directory is used.  The
# helpers of a test build (--enable-test-clock) and of a release build
# both work; the calls use the real clock.
#
# Environment:
#   BENCH_N          calls (default 5000)
#   BENCH_WINDOW     calls per window (default 500)
#   AUTHGUARD_TOKEN, AUTHGUARD_CTL   the helpers (default: this build), e.g.
#                    those of an older build to compare
#
# Exit status: 0 done (whatever the verdict), 1 a call failed, 2 missing
# tools or bad settings.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_N:-5000}
W=${BENCH_WINDOW:-500}
AUTHGUARD_TOKEN=${AUTHGUARD_TOKEN:-$here/../helpers/authguard-token}
AUTHGUARD_CTL=${AUTHGUARD_CTL:-$here/../helpers/authguard-ctl}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

die() { echo "wal-oneshot: $2" >&2; exit "$1"; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_N must be a positive integer"
[[ $W =~ ^[1-9][0-9]*$ ]] && ((W <= N)) || die 2 "BENCH_WINDOW must be a positive integer <= BENCH_N"
[[ -x $AUTHGUARD_TOKEN ]] || die 2 "authguard-token not found: $AUTHGUARD_TOKEN (build it first)"
[[ -x $AUTHGUARD_CTL ]] || die 2 "authguard-ctl not found: $AUTHGUARD_CTL (build it first)"
command -v "$PY" >/dev/null || die 2 "python3 not found"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -m 700 "$TMP/state"
cat >"$TMP/authguard.conf" <<EOF
state_file = $TMP/state/state.db
secrets_key = $TMP/keys/secrets.key
deny = 100000
host_deny = 10000000
delay_base = 0
fail_window = 1d
EOF
"$AUTHGUARD_CTL" --conf "$TMP/authguard.conf" init >/dev/null ||
	die 1 "'$AUTHGUARD_CTL --conf $TMP/authguard.conf init' failed"

echo "authguard-token: $AUTHGUARD_TOKEN"
echo "$N one-shot 'guard failure' calls, windows of $W"
"$PY" - "$AUTHGUARD_TOKEN" "$TMP/authguard.conf" "$TMP/state/state.db-wal" "$N" "$W" <<'EOF'
import os, resource, subprocess, sys, time

token, conf, wal, n, w = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def wal_size():
    try:
        return os.stat(wal).st_size
    except FileNotFoundError:
        return 0

rows = []
print("%13s %14s %15s %12s %12s" % ("calls", "cpu ms/call", "wall ms/call", "WAL bytes", "largest WAL"))
largest = 0
for start in range(0, n, w):
    end = min(n, start + w)
    c0, t0 = cpu(), time.monotonic()
    for i in range(start, end):
        args = [token, "--conf", conf, "guard", "failure",
                "--subject", "spray%d@example.com" % (i % 1000),
                "--ip", "198.51.100.%d" % (i % 250 + 1)]
        p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            sys.stderr.write("call %d failed (exit %d): %s\n" % (i + 1, p.returncode,
                             p.stderr.decode(errors="replace").strip()))
            sys.exit(1)
        largest = max(largest, wal_size())
    c1, t1 = cpu(), time.monotonic()
    k = end - start
    rows.append(((c1 - c0) * 1000 / k, (t1 - t0) * 1000 / k))
    print("%6d-%-6d %14.2f %15.2f %12d %12d" % (start + 1, end, rows[-1][0], rows[-1][1],
                                               wal_size(), largest))
first, last = rows[0][0], rows[-1][0]
ratio = last / first if first > 0 else float("inf")
print("first window %.2f ms CPU/call, last %.2f: x%.2f -> %s" %
      (first, last, ratio, "flat" if ratio <= 1.25 else "GROWING"))
EOF
