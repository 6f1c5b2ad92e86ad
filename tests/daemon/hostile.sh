#!/bin/bash
# authguardd under load and hostility (authguardd(8) LIMITS AND TIMEOUTS):
#
#   - 1,000 clients at once, each connecting, sending one request and
#     closing after its answer, against daemon_max_clients = 200: the
#     excess waits in the listen backlog (none is accepted only to be
#     dropped) and every one is served (writes, then reads), twice;
#   - slow-loris clients dripping a request a byte every 0.5 s and idle
#     clients sending nothing, 20 each, while 300 more clients come and
#     go: the request timeout (2 s) and the idle timeout (3 s) close them,
#     the others are served meanwhile;
#   - an over-long line (1 MiB) then a good request on the same
#     connection: "request line too long", then the good one answered; an
#     endless line (16 MiB without a newline): dropped as it comes, never
#     held (memory does not grow), answered or cut off;
#   - malformed lines (not JSON, not an object, duplicate members, bad
#     ids, NUL bytes, invalid UTF-8, deep nesting, PAM members out of
#     range), each followed by a good request on the same connection:
#     each gets an error answer without the good one's id, the good one is
#     answered, the connection keeps serving; empty lines get no answer
#     and do not hold up the request behind them;
#   - clients that leave in the middle (half a line; a request without
#     reading its answer; 100 pipelined requests then gone): the next
#     client is served;
#   - memory: the daemon's VmRSS before, between and after (printed),
#     within a generous bound of its start, and no growth from one round
#     of 1,000 clients to the next.
#
# AG_VALGRIND=1: the daemon runs under valgrind's memcheck through a short
# subset (100 clients, 5 slow, the long and malformed lines, the
# departures); any error or definite leak fails.  HOSTILE_CLIENTS=N
# changes the 1,000 (longer runs: HOSTILE_CLIENTS=10000).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init
. "$top_srcdir/tests/daemon/lib.sh"

N=${HOSTILE_CLIENTS:-1000}
SLOW=20
extra=()
[ "$(id -u)" = 0 ] && extra+=("daemon_user = root")
if [ "${AG_VALGRIND:-0}" = 1 ]; then
	AGD_VALGRIND=1
	N=100
	SLOW=5
fi
ag_conf hostile "delay_base = 0" "daemon_max_clients = 200" "daemon_request_timeout = 2" \
	"daemon_idle_timeout = 3" "token_keys_dir = $AG_TMP/tkeys" "${extra[@]}"
ag_run_ctl keygen
[ "$AG_RC" = 0 ] || ag_bail "authguard-ctl keygen: $AG_OUT"
agd_start hostile

load() { AGD_SOCK=$AGD_SOCK ag_python "$top_srcdir/tests/daemon/load.py" "$@"; }
j() { ag_jget "$1" "$2"; }

# One warm-up request of each kind: the workers' connections and keys.
load many 8 >/dev/null
load many 8 jwks >/dev/null
rss0=$(agd_rss)
ag_say "VmRSS after start: $rss0 KiB"

ag_say "$N clients at once (max_clients 200): writes, then reads"
out=$(load many "$N")
ag_say "$out"
ag_expect_eq "every one of $N writing clients served" "$N $N 0 0" \
	"$(j "$out" answered) $(j "$out" ok) $(j "$out" broken) $(j "$out" unfinished)"
out=$(load many "$N" jwks)
ag_say "$out"
ag_expect_eq "every one of $N reading clients served" "$N $N 0 0" \
	"$(j "$out" answered) $(j "$out" ok) $(j "$out" broken) $(j "$out" unfinished)"
st=$(agd_client -- lines <<<'{"op":"daemon_status"}')
ag_say "status: $st"
if [ "$N" -gt 200 ]; then
	ag_expect_true "the connection limit was reached and the rest waited (waited_for_slot > 0)" \
		test "$(j "$st" waited_for_slot)" -gt 0
fi
rss1=$(agd_rss)
ag_say "VmRSS after 2 x $N clients: $rss1 KiB"

ag_say "$SLOW slow-loris and $SLOW idle clients while 300 others come and go"
load slow "$SLOW" 10 >"$AG_TMP/slow.out" &
p1=$!
load idle "$SLOW" 10 >"$AG_TMP/idle.out" &
p2=$!
sleep 0.5
out=$(load many 300)
ag_expect_eq "the 300 others are served meanwhile" "300 300" "$(j "$out" answered) $(j "$out" ok)"
wait "$p1" "$p2"
slow=$(cat "$AG_TMP/slow.out")
idle=$(cat "$AG_TMP/idle.out")
ag_say "slow: $slow"
ag_say "idle: $idle"
ag_expect_eq "every slow-loris client was disconnected" "$SLOW" "$(j "$slow" closed_by_daemon)"
ag_expect_eq "every idle client was disconnected" "$SLOW" "$(j "$idle" closed_by_daemon)"
# within the timeout and the once-a-second sweep (valgrind: slower)
lim_slow=4 lim_idle=5
[ "$AGD_VALGRIND" = 0 ] || { lim_slow=8; lim_idle=9; }
within() { ag_python -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$@"; }
ag_expect_true "... the slow ones within the request timeout (2 s, plus the sweep)" \
	within "$(j "$slow" max_seconds)" "$lim_slow"
ag_expect_true "... the idle ones within the idle timeout (3 s, plus the sweep)" \
	within "$(j "$idle" max_seconds)" "$lim_idle"

ag_say "over-long lines"
rss_a=$(agd_rss)
out=$(load oversize)
rss_b=$(agd_rss)
ag_say "$out"
ag_expect_eq "a 1 MiB line is refused, the request behind it served" '["request line too long", 0]' \
	"$(j "$out" long_then_good)"
ag_expect_eq "... on the same connection" 2 "$(j "$out" good_after_long_id)"
case $(j "$out" endless) in
'["request line too long", 0]' | closed*) ag_pass "an endless line is dropped as it comes: $(j "$out" endless)" ;;
*) ag_fail "an endless line is dropped as it comes" "got: $(j "$out" endless)" ;;
esac
ag_say "VmRSS around the long lines: $rss_a -> $rss_b KiB"
ag_expect_le "a 16 MiB line is never held (VmRSS grew by at most 4 MiB)" 4096 $((rss_b - rss_a))

ag_say "malformed lines"
out=$(load malformed)
ag_say "$out"
bad=$(j "$out" bad)
nempty=3
ag_expect_eq "each malformed line gets an error answer" $((bad - nempty)) "$(j "$out" error_answers)"
ag_expect_eq "... and the good request behind each is answered on the same connection" "$bad" \
	"$(j "$out" good_answers)"
ag_expect_eq "nothing odd" "[]" "$(j "$out" odd)"

ag_say "clients that leave in the middle"
out=$(load disconnect)
ag_say "$out"
ag_expect_eq "the next client is served" true "$(j "$out" next_served)"

out=$(load many "$N")
ag_expect_eq "a third round of $N clients is served" "$N $N" "$(j "$out" answered) $(j "$out" ok)"
out=$(load many "$N" jwks)
rss2=$(agd_rss)
ag_say "VmRSS: start $rss0, after round 1 $rss1, at the end $rss2 KiB"
if [ -n "$AG_PRELOAD_EXTRA" ]; then
	# ASan keeps freed memory in its quarantine (256 MiB): no bound to see
	ag_say "skip the VmRSS bounds: a sanitizer runtime is preloaded (its quarantine holds freed memory)"
elif [ "$AGD_VALGRIND" = 0 ]; then
	# Bounded: 200 connections of at most 64 KiB + 8 KiB of line each is
	# 14 MiB; the rest is SQLite's page caches and the allocator's arenas.
	ag_expect_le "VmRSS stays within 64 MiB of its start" 65536 $((rss2 - rss0))
	ag_expect_le "no growth from round to round (at most 8 MiB)" 8192 $((rss2 - rss1))
fi

agd_stop
ag_expect_eq "the daemon stops cleanly" 0 "$AGD_RC"
if [ "$AGD_VALGRIND" = 1 ]; then
	if [ -s "$AGD_VG_LOG" ]; then
		ag_fail "valgrind: no error, no definite leak in the daemon" "$(head -n 60 "$AGD_VG_LOG")"
	else
		ag_pass "valgrind: no error, no definite leak in the daemon"
	fi
fi
ag_done
