#!/bin/bash
# The PostgreSQL back end against SQLite, in one run:
#
# Part 1, one failed PAM attempt as a whole pamtester process:
#   bench/faillock-vs-authguard.sh with BENCH_CONFIGS="baseline faillock
#   authguard postgresql" (interleaved rounds; store = postgresql over the
#   Unix socket of a throwaway cluster, one connection per attempt).
#
# Part 2, batch mode (one long-lived authguard-token batch process, which
# keeps its connection): verifications per second of EdDSA access tokens
# whose jti is looked up in a denylist of 1,000,000 revoked jtis, and web
# session checks per second with 100,000 live sessions in the state, on
# SQLite and on PostgreSQL.  The tables are filled in bulk in the engines'
# own SQL (sqlite3 with a recursive CTE; psql with generate_series, then
# VACUUM ANALYZE) in the stores' formats (lib/store/revocations.c,
# lib/store/web_sessions.c).  The requests cycle through 1000 distinct
# tokens and 1000 sessions created through the helper (session_touch =
# 1h: every check only reads, as almost all checks do).  Rounds
# interleave the engines; medians are compared.
#
# Part 3, the fleet's throughput: BENCH_HOSTS hosts (configurations with
# their own local directories, one shared database), one loop of failed
# pamtester attempts per host, all at once, a spray over 1000 accounts
# (nothing locks): failed attempts per second across the hosts; then the
# same number of loops on one host's SQLite state, for comparison.
#
# Environment:
#   BENCH_SCALE      size of part 2's tables, 1 = 1,000,000 jtis and
#                    100,000 sessions (default); 0.1 for a quick run
#   BENCH_PARTS      "1 2 3" (default), or a subset
#   BENCH_N, BENCH_ROUND  part 1 (faillock-vs-authguard.sh; default 200, 20)
#   BENCH_BATCH_N    requests per batch run (default 20000)
#   BENCH_ROUNDS     rounds of part 2 and part 3 (default 3 and 2)
#   BENCH_HOSTS      hosts of part 3 (default 5)
#   BENCH_FLEET_N    attempts per host per run of part 3 (default 100)
#   AUTHGUARD_BUILDDIR  the build tree (default: the source tree); the
#                    module, helpers and loadable modules are taken from it
#   PAM_WRAPPER_LIB  pam_wrapper's location
#
# Needs the PostgreSQL server (a throwaway cluster is started by
# tests/lib/pgcluster.sh in a temporary directory and stopped at exit),
# sqlite3, pamtester and pam_wrapper.  Exit status: 0 done, 1 a command
# did not answer as expected, 2 missing tools or bad settings.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
B=${AUTHGUARD_BUILDDIR:-$here/..}
B=$(cd "$B" && pwd)
SCALE=${BENCH_SCALE:-1}
PARTS=${BENCH_PARTS:-1 2 3}
BATCH_N=${BENCH_BATCH_N:-20000}
ROUNDS=${BENCH_ROUNDS:-3}
HOSTS=${BENCH_HOSTS:-5}
FLEET_N=${BENCH_FLEET_N:-100}
FLEET_ROUNDS=${BENCH_ROUNDS:-2}
TOKEN_BIN=$B/helpers/authguard-token
CTL_BIN=$B/helpers/authguard-ctl
MODULE=$B/pam_authguard/.libs/pam_authguard.so
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libpam_wrapper.so}
UA='Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'
# Test builds load the loadable modules from the build tree; a release
# build loads the installed ones and ignores these.
export AUTHGUARD_TEST_MODULE_DIR=${AUTHGUARD_TEST_MODULE_DIR:-$B/lib/store/pg/.libs}
export AUTHGUARD_TEST_SERVICE_DIR=${AUTHGUARD_TEST_SERVICE_DIR:-$B/lib/.libs}
unset AUTHGUARD_TEST_TIME

die() { echo "pg-vs-sqlite: $2" >&2; exit "$1"; }
for v in BATCH_N ROUNDS HOSTS FLEET_N; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_$v must be a positive integer"
done
[[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || die 2 "BENCH_SCALE must be a positive number"
NJTI=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
NSESS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 100000 * s }')
((NJTI >= 1000 && NSESS >= 1000)) || die 2 "BENCH_SCALE too small"
[[ -n ${EPOCHREALTIME:-} ]] || die 2 "bash 5 or later is needed (EPOCHREALTIME)"
[ -x "$TOKEN_BIN" ] && [ -x "$CTL_BIN" ] && [ -f "$MODULE" ] ||
	die 2 "not built in $B (run make, or set AUTHGUARD_BUILDDIR)"
[ -f "$AUTHGUARD_TEST_MODULE_DIR/store-postgresql.so" ] ||
	[ ! -d "$B/lib/store/pg" ] || die 2 "the PostgreSQL back end is not built"
for t in sqlite3 pamtester python3 awk; do
	command -v $t >/dev/null 2>&1 || die 2 "$t not found"
done
[ -f "$PAM_WRAPPER_LIB" ] || die 2 "pam_wrapper not found: $PAM_WRAPPER_LIB"
# shellcheck source=../tests/lib/pgcluster.sh
. "$here/../tests/lib/pgcluster.sh"
ag_pgc_available || die 2 "the PostgreSQL server is not installed (apt-get install postgresql)"
PSQL=psql
[ ! -x "$AG_PGC_BIN/psql" ] || PSQL=$AG_PGC_BIN/psql

if [[ " $PARTS " == *" 1 "* ]]; then
	echo "# part 1: one failed PAM attempt (faillock-vs-authguard.sh)"
	BENCH_CONFIGS="baseline faillock authguard postgresql" AUTHGUARD_MODULE=$MODULE \
		AUTHGUARD_CTL=$CTL_BIN "$here/faillock-vs-authguard.sh"
	echo
fi
[[ " $PARTS " == *" 2 "* || " $PARTS " == *" 3 "* ]] || exit 0

T=$(mktemp -d /tmp/pg-vs-sqlite.XXXXXX)
chmod 755 "$T"
cleanup() {
	ag_pgc_stop immediate
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ag_pgc_start "$T/pg" || die 1 "cannot start a PostgreSQL cluster"
ag_pgc_createdb bench || die 1 "cannot create a database"
pg() { # SQL: as the superuser, in schema authguard
	PGOPTIONS="-c search_path=authguard -c client_min_messages=warning" \
		"$PSQL" -X -q -At -v ON_ERROR_STOP=1 -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" -U postgres \
		-d bench -c "$1"
}
sq() { sqlite3 -batch -cmd '.timeout 10000' "$T/sq/state.db" "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# conf NAME STORE-LINES...: a configuration sharing the token keys.
conf() {
	local name=$1
	shift
	mkdir -p -m 700 "$T/$name"
	{
		printf 'state_file = %s\n' "$T/$name/state.db"
		printf 'secrets_key = %s\n' "$T/keys/secrets.key"
		printf 'token_keys_dir = %s\n' "$T/tkeys"
		printf 'token_issuer = https://auth.example.test\ntoken_audience = api.example.test\n'
		printf 'access_ttl = 1d\nsession_touch = 1h\nsession_max = 0\n'
		printf 'deny = 100000\nhost_deny = 10000000\ndelay_base = 0\n'
		printf '%s\n' "$@"
	} >"$T/$name.conf"
	chmod 600 "$T/$name.conf"
	"$CTL_BIN" --conf "$T/$name.conf" init >/dev/null || die 1 "init of $name failed"
}
conf sq
conf pg "store = postgresql" "pg_conninfo = $AG_PGC_CONNINFO dbname=bench"
"$CTL_BIN" --conf "$T/sq.conf" keygen >/dev/null || die 1 "keygen failed"

# ============================================================= part 2
if [[ " $PARTS " == *" 2 "* ]]; then
	NOW=$(date +%s)
	echo "# part 2: filling both states with $NJTI revoked jtis and $NSESS live sessions"
	t0=$EPOCHREALTIME
	sq "BEGIN;
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $NJTI)
		INSERT INTO revoked_jti (jti, expires)
		SELECT substr(lower(hex(randomblob(16))), 1, 22), 4102444800 FROM c;
		WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < $NSESS)
		INSERT INTO web_session (id_hash, user, user_key, fingerprint, clerk_sid, created,
			last_seen, idle_expires, abs_expires, used_seq)
		SELECT randomblob(32), 'user' || (x / 4), 'user' || (x / 4), randomblob(32), NULL,
			$NOW - x % 3600, $NOW - x % 600, $NOW + 86400, $NOW + 2 * 86400, x % 4 + 1 FROM n;
		COMMIT;
		PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
	t1=$EPOCHREALTIME
	pg "INSERT INTO revoked_jti (jti, expires)
		SELECT substr(md5(random()::text || i), 1, 22), 4102444800
		FROM generate_series(1, $NJTI) i ON CONFLICT DO NOTHING;
		INSERT INTO web_session (id_hash, \"user\", user_key, fingerprint, clerk_sid, created,
			last_seen, idle_expires, abs_expires, used_seq)
		SELECT decode(md5(random()::text || x) || md5(random()::text || -x), 'hex'),
			'user' || (x / 4), 'user' || (x / 4),
			decode(md5(random()::text) || md5(random()::text), 'hex'), NULL,
			$NOW - x % 3600, $NOW - x % 600, $NOW + 86400, $NOW + 2 * 86400, x % 4 + 1
		FROM generate_series(0, $NSESS - 1) x;"
	pg "VACUUM ANALYZE"
	t2=$EPOCHREALTIME
	echo "# sqlite: $(sq 'SELECT count(*) FROM revoked_jti') jtis, $(sq 'SELECT count(*) FROM web_session') sessions," \
		"$(du -h "$T/sq/state.db" | cut -f1), $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
	echo "# postgresql: $(pg 'SELECT count(*) FROM revoked_jti') jtis, $(pg 'SELECT count(*) FROM web_session') sessions," \
		"$(pg "SELECT pg_size_pretty(pg_database_size('bench'))"), $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s"

	# 1000 tokens (the same for both: issuing touches no state), 1000
	# sessions per engine created through the helper.
	for i in $(seq 1 1000); do
		printf '{"op":"issue","sub":"user%d","ttl":86400}\n' "$i"
	done | "$TOKEN_BIN" --conf "$T/sq.conf" batch |
		python3 -c 'import json, sys
for l in sys.stdin: print(json.loads(l)["token"])' >"$T/tokens"
	[ "$(wc -l <"$T/tokens")" = 1000 ] || die 1 "could not issue 1000 tokens"
	# a revoked token is refused on each engine (the lookup is real), then
	# left out of the timed requests
	tok=$(head -n 1 "$T/tokens")
	sed -i 1d "$T/tokens"
	for e in sq pg; do
		"$TOKEN_BIN" --conf "$T/$e.conf" revoke <<<"$tok" >/dev/null || die 1 "$e: revoke failed"
		out=$(printf '{"op":"verify","token":"%s"}\n' "$tok" | "$TOKEN_BIN" --conf "$T/$e.conf" batch)
		[[ $out == *'"reason":"revoked"'* ]] || die 1 "$e: a revoked token was not refused: $out"
		for i in $(seq 1 1000); do
			printf '{"op":"session_create","user":"bench%d","user_agent":"%s"}\n' "$i" "$UA"
		done | "$TOKEN_BIN" --conf "$T/$e.conf" batch |
			python3 -c 'import json, sys
for l in sys.stdin: print(json.loads(l)["session"])' >"$T/sessions.$e"
		[ "$(wc -l <"$T/sessions.$e")" = 1000 ] || die 1 "$e: could not create 1000 sessions"
		python3 -c '
import json, sys
n = int(sys.argv[1])
toks = open(sys.argv[2]).read().split()
ses = open(sys.argv[3]).read().split()
with open(sys.argv[4], "w") as f:
    for i in range(n):
        f.write(json.dumps({"op": "verify", "token": toks[i % len(toks)]}, separators=(",", ":")) + "\n")
with open(sys.argv[5], "w") as f:
    for i in range(n):
        f.write(json.dumps({"op": "session_check", "session": ses[i % len(ses)],
                            "user_agent": sys.argv[6]}, separators=(",", ":")) + "\n")
' "$BATCH_N" "$T/tokens" "$T/sessions.$e" "$T/verify.$e" "$T/check.$e" "$UA"
	done
	echo "# sqlite: $(sq 'SELECT count(*) FROM revoked_jti') jtis, $(sq 'SELECT count(*) FROM web_session') sessions;" \
		"postgresql: $(pg 'SELECT count(*) FROM revoked_jti') jtis, $(pg 'SELECT count(*) FROM web_session') sessions"

	# batch ENGINE OP: requests per second; every answer status 0.
	batch() {
		local t0 t1 ok
		t0=$EPOCHREALTIME
		"$TOKEN_BIN" --conf "$T/$1.conf" batch <"$T/$2.$1" >"$T/answers"
		t1=$EPOCHREALTIME
		ok=$(grep -c '"status":0' "$T/answers" || true)
		[ "$ok" = "$BATCH_N" ] || die 1 "$2 on $1: $ok of $BATCH_N answers with status 0: $(grep -v '"status":0' "$T/answers" | head -n 1)"
		awk -v n="$BATCH_N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", n / (b - a) }'
	}
	for r in $(seq 1 "$ROUNDS"); do
		for op in verify check; do
			if ((r % 2)); then order="sq pg"; else order="pg sq"; fi
			for e in $order; do
				batch "$e" "$op" >>"$T/r.$op.$e"
			done
		done
		echo "# round $r done"
	done
	printf '\n%-8s %-11s %s\n' op engine "requests/s per round (median)"
	for op in verify check; do
		for e in sq pg; do
			printf '%-8s %-11s %s (%s)\n' "$op" "$([ $e = sq ] && echo sqlite || echo postgresql)" \
				"$(tr '\n' ' ' <"$T/r.$op.$e")" "$(median <"$T/r.$op.$e")"
		done
		printf '%-8s postgresql / sqlite = %s\n' "$op" \
			"$(ratio "$(median <"$T/r.$op.pg")" "$(median <"$T/r.$op.sq")")"
	done
	echo
fi

# ============================================================= part 3
if [[ " $PARTS " == *" 3 "* ]]; then
	echo "# part 3: $HOSTS hosts x $FLEET_N failed attempts at once, one database;" \
		"then $HOSTS loops on one SQLite state"
	mkdir -m 755 "$T/svc"
	: >"$T/count"
	chmod 666 "$T/count"
	cat >"$T/check-password.sh" <<-EOF
	#!/bin/bash
	IFS= read -r -d '' pw || true
	echo c >>'$T/count'
	[ "\$pw" = right ]
	EOF
	chmod 755 "$T/check-password.sh"
	printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$T/svc/other"
	service() { # NAME CONF
		cat >"$T/svc/$1" <<-EOF
		auth required                $MODULE conf=$2 nodelay preauth
		auth [success=1 default=bad] pam_exec.so expose_authtok quiet $T/check-password.sh
		auth [default=die]           $MODULE conf=$2 nodelay authfail
		auth sufficient              $MODULE conf=$2 nodelay authsucc
		auth requisite               pam_deny.so
		EOF
	}
	ag_pgc_createdb fleet || die 1 "cannot create a database"
	for h in $(seq 1 "$HOSTS"); do
		conf "h$h" "store = postgresql" "pg_conninfo = $AG_PGC_CONNINFO dbname=fleet" \
			"pg_schema = fleet"
		service "h$h" "$T/h$h.conf"
	done
	conf one
	service one "$T/one.conf"
	# loop SERVICE H: FLEET_N failed attempts of host H, accounts in turn
	loop() {
		local k
		for ((k = 0; k < FLEET_N; k++)); do
			printf 'wrong\n' | env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
				PAM_WRAPPER_SERVICE_DIR="$T/svc" timeout 60 \
				pamtester -I "rhost=10.9.$2.$((k % 250 + 1))" "$1" "u$(((k * HOSTS + $2) % 1000))" \
				authenticate >/dev/null 2>&1 && return 1
		done
		return 0
	}
	# run fleet|one: attempts checked per second over the whole run
	run() {
		local t0 t1 c0 c1 h pids=()
		c0=$(wc -l <"$T/count")
		t0=$EPOCHREALTIME
		for h in $(seq 1 "$HOSTS"); do
			if [ "$1" = fleet ]; then loop "h$h" "$h" & else loop one "$h" & fi
			pids+=($!)
		done
		for h in "${pids[@]}"; do wait "$h" || die 1 "an attempt succeeded"; done
		t1=$EPOCHREALTIME
		c1=$(wc -l <"$T/count")
		echo "$((c1 - c0)) $(awk -v n="$((c1 - c0))" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')"
	}
	for r in $(seq 1 "$FLEET_ROUNDS"); do
		for m in fleet one; do
			read -r n rate < <(run "$m")
			echo "$rate" >>"$T/f.$m"
			echo "# round $r, $m: $n of $((HOSTS * FLEET_N)) attempts reached the password check, $rate/s"
		done
	done
	counted=$(PGOPTIONS="-c search_path=fleet" "$PSQL" -X -q -At -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" \
		-U postgres -d fleet -c "SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id
		WHERE s.kind = 1")
	echo "# failures of the accounts in the shared state: $counted"
	printf '\n%-40s %s\n' "fleet ($HOSTS hosts, postgresql):" "$(tr '\n' ' ' <"$T/f.fleet")(median $(median <"$T/f.fleet")) attempts/s"
	printf '%-40s %s\n' "one host ($HOSTS loops, sqlite):" "$(tr '\n' ' ' <"$T/f.one")(median $(median <"$T/f.one")) attempts/s"
	printf '%-40s %s\n' "fleet / one host:" "$(ratio "$(median <"$T/f.fleet")" "$(median <"$T/f.one")")"
fi
