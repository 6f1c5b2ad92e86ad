#!/bin/bash
# Web operations per second from many concurrent clients: over authguardd's
# socket against authguard-token batch co-processes.
#
# bench/webload.c (compiled here with cc) keeps CLIENTS clients busy, each
# with exactly one request outstanding (a backend worker serving one HTTP
# request at a time), for BENCH_SECONDS after a warm-up, and prints the
# requests answered per second and the latency percentiles:
#
#   socket  CLIENTS connections to one authguardd (daemon_workers workers,
#           BENCH_WORKERS, default 4), which holds the state and the keys
#   batch   CLIENTS `authguard-token batch` processes, one per client, each
#           with its own state connection and keys: what a backend with one
#           co-process per worker runs today
#
# for three ops:
#
#   verify         one valid EdDSA access token (signature, claims, the
#                  revocation list): read only
#   session_check  one live session with its User-Agent, within
#                  session_touch: read only
#   guard_check    a new e-mail and address on every request: one write
#                  transaction each (the attempt in flight recorded);
#                  deny and host_deny set so that nothing locks
#
# Every answer must have status 0.  Both modes run on one state (the daemon
# and the batch processes share it, as they would on a host), with the
# default sync = normal.  Cells run in interleaved rounds (for each round:
# every op, every client count, socket then batch or batch then socket,
# alternately), so a busy shared machine slows both alike; the medians of
# the rounds are printed, and socket / batch of the medians.
#
# Besides requests per second, each cell's CPU time per request of the
# serving side (the daemon's, from /proc/PID/stat; the batch helpers',
# from getrusage of their parent) and of the clients (webload itself), over
# the whole run, warm-up included.  On a machine that other work keeps
# busy the requests per second also say how much CPU the scheduler gave
# each side -- sixty-four helper processes get more turns among other
# processes than one daemon's few threads -- while the CPU per request
# does not depend on that.
#
# Environment:
#   BENCH_CLIENTS   client counts (default "1 16 64")
#   BENCH_OPS       ops (default "verify session_check guard_check")
#   BENCH_SECONDS   counted seconds per cell (default 3)
#   BENCH_WARMUP    uncounted seconds before (default 1)
#   BENCH_ROUNDS    rounds (default 3)
#   BENCH_WORKERS   daemon_workers (default 4)
#   AUTHGUARD_TOKEN, AUTHGUARD_CTL, AUTHGUARDD   the build's binaries
#                   (default: beside this script, ../helpers, ../daemon)
#   CC              compiler for webload.c (default cc)
#
# Exit status: 0 done, 1 a run failed, 2 missing input.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
read -r -a CLIENTS <<<"${BENCH_CLIENTS:-1 16 64}"
read -r -a OPS <<<"${BENCH_OPS:-verify session_check guard_check}"
SECONDS_PER=${BENCH_SECONDS:-3}
WARMUP=${BENCH_WARMUP:-1}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS=${BENCH_WORKERS:-4}
AUTHGUARD_TOKEN=${AUTHGUARD_TOKEN:-$here/../helpers/authguard-token}
AUTHGUARD_CTL=${AUTHGUARD_CTL:-$here/../helpers/authguard-ctl}
AUTHGUARDD=${AUTHGUARDD:-$here/../daemon/authguardd}
CC=${CC:-cc}
UA='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'

die() { echo "web-socket-vs-batch: $2" >&2; exit "$1"; }
for v in "$SECONDS_PER" "$ROUNDS" "$WORKERS" "${CLIENTS[@]}"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die 2 "not a positive integer: $v"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die 2 "BENCH_WARMUP: not a number: $WARMUP"
for f in "$AUTHGUARD_TOKEN" "$AUTHGUARD_CTL" "$AUTHGUARDD"; do
	[[ -x $f ]] || die 2 "not built: $f (make, or set AUTHGUARD_TOKEN/_CTL/AUTHGUARDD)"
done
command -v "$CC" >/dev/null || die 2 "no C compiler ($CC)"

TMP=$(mktemp -d)
DPID=
cleanup() {
	[[ -z $DPID ]] || { kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null || true; }
	rm -rf "$TMP"
}
trap cleanup EXIT
chmod 755 "$TMP"
# The binaries are copied first: a rebuild of the tree during a run does
# not disturb it.
cp "$AUTHGUARD_TOKEN" "$TMP/authguard-token"
"$CC" -O2 -o "$TMP/webload" "$here/webload.c" || die 2 "cannot compile webload.c"

TICK=$(getconf CLK_TCK)
conf=$TMP/authguard.conf
cat >"$conf" <<EOF
state_file = $TMP/state/state.db
secrets_key = $TMP/keys/secrets.key
token_keys_dir = $TMP/tkeys
token_issuer = https://bench.example
token_audience = bench
deny = 100000
host_deny = 10000000
delay_base = 0
access_ttl = 86400
daemon_socket = $TMP/d.sock
daemon_workers = $WORKERS
daemon_max_clients = 4096
$([[ $(id -u) == 0 ]] && echo "daemon_user = root")
EOF
"$AUTHGUARD_CTL" --conf "$conf" init >/dev/null
"$AUTHGUARD_CTL" --conf "$conf" keygen >/dev/null
"$AUTHGUARDD" --conf "$conf" 2>"$TMP/daemon.err" &
DPID=$!
for _ in $(seq 100); do [[ -S $TMP/d.sock ]] && break; sleep 0.1; done
[[ -S $TMP/d.sock ]] || die 1 "authguardd did not start: $(cat "$TMP/daemon.err")"

json() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
TOKEN=$("$TMP/authguard-token" --conf "$conf" issue --sub bench@example.com --ttl 86400 </dev/null | json token)
SESSION=$("$TMP/authguard-token" --conf "$conf" session create --user bench@example.com \
	--user-agent "$UA" </dev/null | json session)
[[ -n $TOKEN && -n $SESSION ]] || die 1 "cannot make the token and session"

arg_of() {
	case $1 in
	verify) echo "$TOKEN" ;;
	session_check) echo "$SESSION" ;;
	guard_check) echo "r$2-" ;;
	esac
}

daemon_ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }

# run MODE OP CLIENTS ROUND: one cell; appends "ops_per_s p50 p99
# server_us_per_request client_us_per_request" to its file.
run() {
	local mode=$1 op=$2 n=$3 out a t0 t1 server_ms
	a=$(arg_of "$op" "$4$mode$n")
	if [[ $mode == socket ]]; then
		t0=$(daemon_ticks)
		out=$("$TMP/webload" socket "$TMP/d.sock" "$n" "$SECONDS_PER" "$WARMUP" "$op" "$a" "$UA") ||
			die 1 "socket $op x$n failed: $out"
		t1=$(daemon_ticks)
		server_ms=$(((t1 - t0) * 1000 / TICK))
	else
		out=$("$TMP/webload" batch "$TMP/authguard-token" "$conf" "$n" "$SECONDS_PER" "$WARMUP" \
			"$op" "$a" "$UA") || die 1 "batch $op x$n failed: $out"
		server_ms=$(sed -n 's/.*children_cpu_ms=\([0-9]*\).*/\1/p' <<<"$out")
	fi
	local r p50 p99 all self srv cli
	r=$(sed -n 's/.*ops_per_s=\([0-9]*\).*/\1/p' <<<"$out")
	p50=$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$out")
	p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$out")
	all=$(sed -n 's/.*all_ops=\([0-9]*\).*/\1/p' <<<"$out")
	self=$(sed -n 's/.*self_cpu_ms=\([0-9]*\).*/\1/p' <<<"$out")
	srv=$(awk -v c="$server_ms" -v n="$all" 'BEGIN { printf "%.1f", c * 1000 / n }')
	cli=$(awk -v c="$self" -v n="$all" 'BEGIN { printf "%.1f", c * 1000 / n }')
	echo "$r $p50 $p99 $srv $cli" >>"$TMP/cell.$mode.$op.$n"
	printf '  round %d %-6s %-13s x%-4d %8s/s  p50 %6s us  p99 %7s us  cpu/req server %6s us client %5s us\n' \
		"$4" "$mode" "$op" "$n" "$r" "$p50" "$p99" "$srv" "$cli" >&2
}

echo "web-socket-vs-batch: ${OPS[*]}; clients ${CLIENTS[*]}; ${SECONDS_PER}s (+${WARMUP}s warm-up)" \
	"per cell; $ROUNDS rounds; daemon_workers $WORKERS" >&2
for ((round = 1; round <= ROUNDS; round++)); do
	for op in "${OPS[@]}"; do
		for n in "${CLIENTS[@]}"; do
			if ((round % 2)); then
				run socket "$op" "$n" "$round"
				run batch "$op" "$n" "$round"
			else
				run batch "$op" "$n" "$round"
				run socket "$op" "$n" "$round"
			fi
		done
	done
done

median() { # column file
	awk -v c="$1" '{ print $c }' "$2" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "(medians of $ROUNDS rounds; s/b: socket / batch; cpu: microseconds of CPU per request)"
printf '%-13s %4s %9s %9s %5s %11s %13s %15s %5s %13s\n' op cli "socket/s" "batch/s" "s/b" \
	"p50 us s/b" "p99 us s/b" "cpu srv s/b" "s/b" "cpu cli s/b"
for op in "${OPS[@]}"; do
	for n in "${CLIENTS[@]}"; do
		f=$TMP/cell.socket.$op.$n g=$TMP/cell.batch.$op.$n
		s=$(median 1 "$f") b=$(median 1 "$g")
		cs=$(median 4 "$f") cb=$(median 4 "$g")
		printf '%-13s %4d %9.0f %9.0f %5s %11s %13s %15s %5s %13s\n' "$op" "$n" "$s" "$b" "$(ratio "$s" "$b")" \
			"$(median 2 "$f" | cut -d. -f1)/$(median 2 "$g" | cut -d. -f1)" \
			"$(median 3 "$f" | cut -d. -f1)/$(median 3 "$g" | cut -d. -f1)" \
			"$cs/$cb" "$(ratio "$cs" "$cb")" "$(median 5 "$f")/$(median 5 "$g")"
	done
done
