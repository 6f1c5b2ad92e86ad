#!/bin/bash
# Cost of the web-session commands of authguard-token as a backend pays it
# today: one whole process per call (there is no session operation in
# `authguard-token batch` yet, so no warm figure exists), against states
# holding 100, 10,000 and 100,000 live sessions.
#
# Per state size S, the state gets S live sessions of other users (4 per
# user, each with a refresh family), written with sqlite3 directly through a
# recursive CTE (random 32-byte id hashes and fingerprints, expiring in a
# day), plus the sessions the benchmark itself creates.  Then, in
# interleaved rounds (S = 100, 10k, 100k, 100, ...), the wall-clock time of
# each whole process (bash's EPOCHREALTIME around it) of:
#
#   floor    authguard-token session check with a malformed id: process
#            start-up, configuration, fingerprint, stdin -- everything but
#            the state (it is never opened)
#   check    authguard-token session check --user-agent UA < id, the same
#            live session every time (a user with 1 session); within
#            session_touch, so the common read-only path (one write per
#            minute at most)
#   logout   authguard-token logout < id, access token, refresh token: a
#            fresh session each time (its own user), with an access token
#            (--sid) and a refresh token issued for it during set-up
#   create   authguard-token session create, a new user each time
#
# The medians are compared across sizes: "flat" means the 100,000-session
# median is within 20 % of the 100-session one.  Then checks per second:
# BENCH_RATE_N checks back to back in one shell loop (sequential), and the
# same number split over 2 concurrent loops (the machine has 2 cores).
#
# Environment:
#   BENCH_N          timed processes per operation and size (default 300)
#   BENCH_ROUND      processes per operation and size per round (default 30)
#   BENCH_SIZES      state sizes (default "100 10000 100000")
#   BENCH_RATE_N     checks for the per-second figure (default 2000)
#   AUTHGUARD_TOKEN, AUTHGUARD_CTL   the helpers (default: this build;
#                    copied into the temporary directory first)
#
# Nothing outside a temporary directory is touched.  Exit status: 0 done,
# 1 a command did not answer as expected, 2 missing tools or bad settings.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_N:-300}
ROUND=${BENCH_ROUND:-30}
SIZES=${BENCH_SIZES:-100 10000 100000}
RATE_N=${BENCH_RATE_N:-2000}
TOKEN_BIN=${AUTHGUARD_TOKEN:-$here/../helpers/authguard-token}
CTL_BIN=${AUTHGUARD_CTL:-$here/../helpers/authguard-ctl}
UA='Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'

die() { echo "sessions: $2" >&2; exit "$1"; }
for v in N ROUND RATE_N; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_$v must be a positive integer"
done
[ $((N % ROUND)) = 0 ] || die 2 "BENCH_N must be a multiple of BENCH_ROUND"
for s in $SIZES; do
	[[ $s =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_SIZES: $s is not a positive integer"
done
[[ -n ${EPOCHREALTIME:-} ]] || die 2 "bash 5 or later is needed (EPOCHREALTIME)"
[ -x "$TOKEN_BIN" ] || die 2 "$TOKEN_BIN not built (run make)"
[ -x "$CTL_BIN" ] || die 2 "$CTL_BIN not built (run make)"
for t in sqlite3 awk; do
	command -v $t >/dev/null 2>&1 || die 2 "$t not found"
done
# A test-clock build would honour this; the benchmark runs on the real clock.
unset AUTHGUARD_TEST_TIME

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
# Copies of the helpers, so that a rebuild of the tree during a run does
# not disturb it.
mkdir "$TMP/bin"
cp "$TOKEN_BIN" "$CTL_BIN" "$TMP/bin/"
TOKEN_BIN=$TMP/bin/$(basename "$TOKEN_BIN")
CTL_BIN=$TMP/bin/$(basename "$CTL_BIN")
TKEYS=$TMP/tkeys
NOW=$(date +%s)

tk() { "$TOKEN_BIN" --conf "$TMP/s$1.conf" "${@:2}"; }
# field NAME < JSON: a string member of a one-line JSON object (the members
# read here are base64url or JWT text: no escapes).
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

# ------------------------------------------------------------- set-up
for S in $SIZES; do
	mkdir -m 700 "$TMP/s$S"
	cat >"$TMP/s$S.conf" <<-EOF
	state_file = $TMP/s$S/state.db
	secrets_key = $TMP/keys/secrets.key
	token_keys_dir = $TKEYS
	token_issuer = https://auth.example.test
	token_audience = api.example.test
	EOF
	"$CTL_BIN" --conf "$TMP/s$S.conf" init >/dev/null
	[ -d "$TKEYS" ] || "$CTL_BIN" --conf "$TMP/s$S.conf" keygen >/dev/null
	sqlite3 -batch "$TMP/s$S/state.db" <<-EOF
	.timeout 5000
	BEGIN;
	WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < $S)
	INSERT INTO web_session (id_hash, user, user_key, fingerprint, clerk_sid, created,
	                         last_seen, idle_expires, abs_expires, used_seq)
	SELECT randomblob(32), 'user' || (x / 4), 'user' || (x / 4), randomblob(32), NULL,
	       $NOW - x % 3600, $NOW - x % 600, $NOW + 86400, $NOW + 2 * 86400, x FROM n;
	WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < $S)
	INSERT INTO refresh_family (subject, subject_key, sid, created, expires, revoked, current)
	SELECT 'user' || (x / 4), 'user' || (x / 4), hex(randomblob(32)), $NOW,
	       $NOW + 30 * 86400, 0, randomblob(32) FROM n;
	COMMIT;
	EOF
	live=$(sqlite3 -batch "$TMP/s$S/state.db" 'SELECT count(*) FROM web_session')
	[ "$live" = "$S" ] || die 1 "filling s$S: $live rows"
	# The user whose session is checked: 1 session.
	tk "$S" session create --user bench --user-agent "$UA" </dev/null | field session \
		>"$TMP/s$S.id" || die 1 "session create failed for size $S"
	# One session + access token + refresh token per timed logout.
	: >"$TMP/s$S.logout"
	for i in $(seq 1 "$N"); do
		out=$(tk "$S" session create --user "lo$i" --user-agent "$UA" </dev/null)
		id=$(field session <<<"$out")
		sid=$(field sid <<<"$out")
		out=$(tk "$S" issue --sub "lo$i" --sid "$sid" --refresh </dev/null)
		printf '%s %s %s\n' "$id" "$(field token <<<"$out")" "$(field refresh_token <<<"$out")" \
			>>"$TMP/s$S.logout"
	done
	echo "size $S: $(sqlite3 -batch "$TMP/s$S/state.db" 'SELECT count(*) FROM web_session') live sessions, $(du -k "$TMP/s$S/state.db" | cut -f1) KiB" >&2
done

# Sanity: every operation answers as expected before anything is timed.
for S in $SIZES; do
	id=$(cat "$TMP/s$S.id")
	tk "$S" session check --user-agent "$UA" <<<"$id" >/dev/null || die 1 "check of a live session failed (size $S)"
	if tk "$S" session check --user-agent "$UA" <<<"ags_malformed" >/dev/null 2>&1; then
		die 1 "a malformed id was accepted"
	fi
done

# ------------------------------------------------------------- timing
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A T  # T[op,S] = space-separated microseconds
us() { local t=${1/./}; echo $((10#$t)); }

time_one() { # op S [i]: one process, appends its time to T[op,S]
	local op=$1 S=$2 i=${3:-0} t0 t1 line
	case $op in
	floor)
		t0=$EPOCHREALTIME
		tk "$S" session check --user-agent "$UA" <<<"ags_malformed" >/dev/null 2>&1 || true
		t1=$EPOCHREALTIME ;;
	check)
		t0=$EPOCHREALTIME
		tk "$S" session check --user-agent "$UA" <"$TMP/s$S.id" >/dev/null
		t1=$EPOCHREALTIME ;;
	logout)
		line=$(sed -n "${i}p" "$TMP/s$S.logout" | tr ' ' '\n')
		printf '%s\n' "$line" >"$TMP/in"
		t0=$EPOCHREALTIME
		tk "$S" logout <"$TMP/in" >/dev/null
		t1=$EPOCHREALTIME ;;
	create)
		t0=$EPOCHREALTIME
		tk "$S" session create --user "cr$i" --user-agent "$UA" </dev/null >/dev/null
		t1=$EPOCHREALTIME ;;
	esac
	T[$op,$S]+="$(($(us "$t1") - $(us "$t0"))) "
}

OPS="floor check logout create"
rounds=$((N / ROUND))
for r in $(seq 0 $((rounds - 1))); do
	for S in $SIZES; do
		for op in $OPS; do
			for k in $(seq 1 "$ROUND"); do
				time_one "$op" "$S" $((r * ROUND + k))
			done
		done
	done
done

# Logged out for real?  (The last session of each size is gone.)
for S in $SIZES; do
	id=$(tail -n 1 "$TMP/s$S.logout" | cut -d' ' -f1)
	if tk "$S" session check --user-agent "$UA" <<<"$id" >/dev/null 2>&1; then
		die 1 "a logged-out session still checks valid (size $S)"
	fi
done

median_ms() {
	tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END {
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.2f", m / 1000 }'
}
p90_ms() {
	tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END {
		printf "%.2f", a[int(NR * 0.9 + 0.5)] / 1000 }'
}

# checks per second: RATE_N back to back, then split over 2 loops.
rate() { # S workers
	local S=$1 w=$2 per t0 t1 j
	per=$((RATE_N / w))
	t0=$EPOCHREALTIME
	for j in $(seq 1 "$w"); do
		(for _ in $(seq 1 "$per"); do
			tk "$S" session check --user-agent "$UA" <"$TMP/s$S.id" >/dev/null
		done) &
	done
	wait
	t1=$EPOCHREALTIME
	awk -v n=$((per * w)) -v us=$(($(us "$t1") - $(us "$t0"))) 'BEGIN { printf "%.0f", n / (us / 1e6) }'
}
declare -A R1 R2
for S in $SIZES; do R1[$S]=$(rate "$S" 1); R2[$S]=$(rate "$S" 2); done

# ------------------------------------------------------------- report
echo
echo "load average before: $LOAD0; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "whole-process times, median (p90) in ms, $N processes per cell, interleaved rounds of $ROUND"
printf '%-9s' "sessions"
for op in $OPS; do printf ' %-15s' "$op"; done
printf ' %-12s %-12s\n' "check/s seq" "check/s 2x"
for S in $SIZES; do
	printf '%-9s' "$S"
	for op in $OPS; do
		printf ' %-15s' "$(median_ms "${T[$op,$S]}") ($(p90_ms "${T[$op,$S]}"))"
	done
	printf ' %-12s %-12s\n' "${R1[$S]}" "${R2[$S]}"
done
echo
first=${SIZES%% *}
last=${SIZES##* }
for op in $OPS; do
	a=$(median_ms "${T[$op,$first]}")
	b=$(median_ms "${T[$op,$last]}")
	awk -v op="$op" -v a="$a" -v b="$b" -v f="$first" -v l="$last" 'BEGIN {
		r = b / a
		printf "%-7s %s -> %s sessions: %.2f -> %.2f ms (x%.2f): %s\n", op, f, l, a, b, r,
		       (r <= 1.2 && r >= 0.8) ? "flat within 20 %" : "NOT flat within 20 %" }'
done
