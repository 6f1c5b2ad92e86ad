#!/bin/bash
# A fleet of five hosts on one PostgreSQL state, through the real module
# (pam_wrapper + pamtester) and the real helpers.
#
# A "host" is what one machine of a fleet has of its own: its
# configuration file (hN.conf), its local directory (hN-state/, the
# SQLite file store_fallback = local counts in), its copy of the secrets
# key and of the token signing keys (distributed, as an administrator
# would, from the first host), its PAM service (hN) and its password
# check (counted per host in hN.count and together in the shared
# counter).  All five name one database and one schema.  The machine id
# (/etc/machine-id) is only read for PAM session rows, which this script
# does not open, so the hosts need no id of their own (and there is no
# test override for it).
#
#  a) 50 wrong passwords for one account released at the same moment,
#     spread over the five hosts (delay_base 0): at most 10 reach a
#     password check in total, and the account ends locked everywhere;
#  b) a lock made on host 1 refuses on host 4 at once: the right password
#     is refused there unchecked, and the account phase refuses too; an
#     unlock on host 3 lets host 4 in again;
#  c) one refresh token redeemed at the same moment on the five hosts
#     (authguard-token refresh, five processes): exactly one winner; the
#     others see it reused (or the family already revoked), and the
#     winner's new refresh token is refused as revoked on another host
#     (refresh_grace 0, the default: authguard-token(1), "Of any number
#     of concurrent refresh calls");
#  d) a logout on host 2 ends, on host 5, the access token (verify), the
#     web session (session check) and the refresh token (refresh);
#  e) the server stopped with pg_ctl stop -m immediate in the middle of a
#     stream of attempts from the five hosts (a wrong password for one
#     account, the right one for another, in turn): every attempt made
#     while it is down is denied before any password check, the right
#     password included, with a one-line reason in syslog; every failure
#     acknowledged (logged as auth_fail) before the stop is still counted
#     after the restart, and every one acknowledged overall is counted at
#     the end; after the restart every host logs in and counts again.
#     Beside it, one authguard-token batch process on host 3 (a web
#     backend's, which keeps its connection) records web failures: it
#     answers every request of the outage with an error, in bounded time,
#     serves again after the restart on the same process (it reconnects),
#     and the shared state holds exactly the failures it acknowledged;
#  f) with store_fallback = local, a second outage: on each host ten wrong
#     passwords lock the account on that host (its local state), the
#     right one is then refused unchecked; each host logs the switch at
#     LOG_CRIT once, and the return at LOG_CRIT after the restart, when
#     the shared state (which never saw those failures) is used again.
#
# The cluster: the one AG_PGC_CONNINFO names (tests/pg-pass.sh), else one
# started for this script (tests/pam/lib.sh's PostgreSQL mode); both are
# left as found.  The outages (e, f) stop a server, which is never done to
# a cluster other scripts may be using: with a cluster given, they run in
# a private one started here.  Skipped (77) only without the PostgreSQL
# server (or a build without the back end).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
AG_STORE=postgresql
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/lib/pgcluster.sh"
[ -n "${AG_PGC_CONNINFO:-}" ] || ag_pgc_available ||
	ag_skip "PostgreSQL server not installed (apt-get install postgresql)"
[ -f "${AUTHGUARD_TEST_MODULE_DIR:-}/store-postgresql.so" ] ||
	ag_skip "built without the PostgreSQL back end"
command -v flock >/dev/null 2>&1 || ag_bail "flock (util-linux) not found"
ag_init

NHOSTS=5
ISS=https://auth.example.test
AUD=api.example.test
UA='Mozilla/5.0 (X11; Linux x86_64) fleet-test'
ag_timeout=120 # one pamtester run on a loaded machine

# The private cluster of the outages, when the main one is not ours.
fl_own_outage=0
fl_saved=()
fl_at_exit() {
	local rc=$?
	if [ "$fl_own_outage" = 1 ]; then
		ag_pgc_stop immediate
		AG_PGC_DIR=${fl_saved[0]} AG_PGC_PORT=${fl_saved[1]} AG_PGC_CONNINFO=${fl_saved[2]}
		ag_pgdb=${fl_saved[3]}
	fi
	(exit "$rc")
	ag_cleanup
}
trap fl_at_exit EXIT

# ------------------------------------------------------------- the hosts

# host_conf NAME I [LINE...]: configuration NAME for host I (ag_conf: init
# runs with it): the host's own state directory and key copies, the shared
# database and schema.  The first configuration made creates the keys;
# the others get copies.
host_conf() {
	local name=$1 i=$2 out
	shift 2
	if [ "$i" != 1 ] && [ ! -d "$AG_TMP/h$i-keys" ]; then
		cp -a "$AG_TMP/h1-keys" "$AG_TMP/h$i-keys" || ag_bail "copying the secrets key failed"
		cp -a "$AG_TMP/h1-tkeys" "$AG_TMP/h$i-tkeys" || ag_bail "copying the token keys failed"
	fi
	ag_conf "$name" \
		"state_file = $AG_TMP/h$i-state/state.db" \
		"secrets_key = $AG_TMP/h$i-keys/secrets.key" \
		"token_keys_dir = $AG_TMP/h$i-tkeys" \
		"token_issuer = $ISS" "token_audience = $AUD" \
		"store = postgresql" \
		"pg_conninfo = $AG_PGC_CONNINFO dbname=$ag_pgdb" \
		"pg_schema = fleet" \
		"pg_connect_timeout = 2s" "pg_statement_timeout = 2s" \
		"busy_timeout = 60s" "delay_base = 0" "host_deny = 0" "$@"
	if [ "$i" = 1 ] && [ ! -d "$AG_TMP/h1-tkeys" ]; then
		out=$(ag_ctl keygen 2>&1) || ag_bail "authguard-ctl keygen failed: $out"
	fi
	# the service of the same name, with the host's own password check
	ag_service "$name" "$AG_CONF"
	sed -i "s|$AG_TMP/check-password.sh|$AG_TMP/h$i-check.sh|" "$AG_TMP/svc/$name"
}

# use NAME: the configuration and service NAME become current.
use() {
	AG_CONF=$AG_TMP/$1.conf
	AG_SVC=$1
}

for i in $(seq 1 $NHOSTS); do
	mkdir -m 755 "$AG_TMP/h$i-state"
	: >"$AG_TMP/h$i.count"
	chmod 666 "$AG_TMP/h$i.count"
	sed "s|^echo check >>'$AG_COUNTER'\$|echo check >>'$AG_COUNTER'; echo check >>'$AG_TMP/h$i.count'|" \
		"$AG_TMP/check-password.sh" >"$AG_TMP/h$i-check.sh"
	chmod 755 "$AG_TMP/h$i-check.sh"
	grep -q "h$i.count" "$AG_TMP/h$i-check.sh" || ag_bail "could not make host $i's password check"
done
setup_hosts() {
	local i
	for i in $(seq 1 $NHOSTS); do
		host_conf "h$i" "$i"
	done
}
setup_hosts
ag_expect_eq "one schema, initialised by the first host, checked by the others" \
	"$(ag_pg_psql "$ag_pgdb" "SELECT count(*) FROM pg_namespace WHERE nspname = 'fleet'")" 1

# count FILE: lines in FILE (0 when missing)
count() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

# n_log ERE: lines logged since AG_LOG_MARK that match ERE.
n_log() { ag_log_last | grep -Ec -- "$1" || true; }

# ============================================================= a
ag_say "a) 50 simultaneous wrong passwords for one account, spread over $NHOSTS hosts"

# burst N USER PASSWORD: N pamtester processes, run i on host (i-1)%5+1 from
# its own address 10.77.<i/250>.<i%250+1>, all released at once.  Leaves
# each exit status in $AG_TMP/burst/rc.<i>.
burst() {
	local n=$1 user=$2 pw=$3 i
	rm -rf "$AG_TMP/burst"
	mkdir "$AG_TMP/burst"
	: >"$AG_TMP/barrier"
	exec 9>"$AG_TMP/barrier"
	flock -x 9
	for i in $(seq 1 "$n"); do
		(
			exec 9>&-
			flock -s "$AG_TMP/barrier" true
			AG_SVC=h$(((i - 1) % NHOSTS + 1))
			AG_RHOST=10.77.$((i / 250)).$((i % 250 + 1))
			ag_pamtester "$user" "$pw" >"$AG_TMP/burst/out.$i" 2>&1
			echo $? >"$AG_TMP/burst/rc.$i"
		) &
	done
	flock -u 9
	exec 9>&-
	wait
}

ag_reset_count
mark=$(ag_log_lines)
ag_pwrap_exclusive burst 50 alice "$AG_WRONG"
AG_LOG_MARK=$mark
checked=$(ag_count)
per_host=
for i in $(seq 1 $NHOSTS); do
	per_host="$per_host h$i:$(count "$AG_TMP/h$i.count")"
done
ag_say "password checks run: $checked ($per_host )"
ag_expect_eq "all 50 pamtester runs exit 1" "50x1" \
	"$(cat "$AG_TMP"/burst/rc.* | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = " " }')"
ag_expect_le "at most 10 attempts reached a password check, on all hosts together" 10 "$checked"
ag_expect_eq "one auth_fail line per password check" "$checked" \
	"$(n_log 'event=auth_fail user=alice ')"
decided=$(n_log 'pam_authguard\(h[1-5]:auth\): event=auth_(fail|refused) user=alice ')
ag_say "runs that reached the module: $decided of 50 ($((50 - decided)) lost a pam_wrapper start-up race)"
ag_expect_true "at least half of the runs reached the module ($decided)" test "$decided" -ge 25
ag_expect_true "every host took part in the decisions" test "$(ag_log_last |
	grep -Eo 'pam_authguard\(h[1-5]:auth\): event=auth_(fail|refused) user=alice ' |
	cut -d'(' -f2 | cut -d: -f1 | sort -u | wc -l)" -eq $NHOSTS
ag_expect_no_log "no store error under contention" 'event=error'
ag_expect_eq "exactly one event=lock, on whichever host settled the 10th failure" 1 \
	"$(n_log 'event=lock scope=account user=alice ')"
use h3
ag_expect_status "status on host 3: locked, with as many failures as password checks" alice -- \
	failures="$checked" pending=0 locked=true
for i in $(seq 1 $NHOSTS); do
	use "h$i"
	AG_RHOST=10.77.9.9
	ag_attempt "host $i: the right password is refused afterwards, unchecked" alice "$AG_RIGHT" 1 0
done

# ============================================================= b
ag_say "b) a lock made on host 1 refuses on host 4 at once"
AG_RHOST=192.0.2.41
use h1
for k in $(seq 1 10); do
	ag_pam bob "$AG_WRONG"
done
ag_expect_log "host 1: the 10th wrong password locks bob" 'pam_authguard\(h1:auth\): event=lock scope=account user=bob '
use h4
AG_RHOST=192.0.2.44
ag_attempt "host 4: bob's right password is refused at once, unchecked" bob "$AG_RIGHT" 1 0
ag_expect_log "host 4 logs the refusal as locked" \
	'pam_authguard\(h4:auth\): event=auth_refused user=bob .*reason=locked scope=account failures=10'
ag_attempt "host 4: the account phase refuses bob too" bob - 1 0 acct_mgmt
use h3
ag_run_ctl unlock bob
ag_expect_eq "host 3: authguard-ctl unlock bob" 0 "$AG_RC"
use h4
ag_attempt "host 4: bob's right password accepted after the unlock on host 3" bob "$AG_RIGHT" 0 1

# ============================================================= c
ag_say "c) one refresh token redeemed at the same moment on $NHOSTS hosts"
use h1
ag_run_token issue --sub carol --refresh </dev/null
ag_expect_eq "host 1: issue --refresh" 0 "$AG_RC"
RT=$(ag_jget "$AG_JSON" refresh_token)
rm -rf "$AG_TMP/refresh"
mkdir "$AG_TMP/refresh"
: >"$AG_TMP/barrier"
exec 9>"$AG_TMP/barrier"
flock -x 9
for i in $(seq 1 $NHOSTS); do
	(
		exec 9>&-
		flock -s "$AG_TMP/barrier" true
		AG_CONF=$AG_TMP/h$i.conf
		ag_token refresh <<<"$RT" >"$AG_TMP/refresh/out.$i" 2>"$AG_TMP/refresh/err.$i"
		echo $? >"$AG_TMP/refresh/rc.$i"
	) &
done
flock -u 9
exec 9>&-
wait
cat "$AG_TMP"/refresh/err.* >>"$AG_TMP/stderr.all"
winners=()
others=()
for i in $(seq 1 $NHOSTS); do
	rc=$(cat "$AG_TMP/refresh/rc.$i")
	if [ "$rc" = 0 ]; then
		winners+=("$i")
	else
		others+=("h$i:$rc:$(ag_jget "$(cat "$AG_TMP/refresh/out.$i")" reason)")
	fi
done
ag_say "winner: host ${winners[*]:-none}; the others: ${others[*]:-none}"
ag_expect_eq "exactly one of the $NHOSTS redemptions succeeded" 1 "${#winners[@]}"
bad=$(printf '%s\n' ${others[@]+"${others[@]}"} | grep -Ev '^h[1-5]:1:(reused|revoked)$' || true)
ag_expect_eq "every other one was refused (exit 1) as reused or revoked" "" "$bad"
ag_expect_true "at least one saw the token reused" \
	grep -q ':1:reused' <<<"$(printf '%s\n' ${others[@]+"${others[@]}"})"
ag_expect_eq "one refresh_reuse logged, on a losing host" 1 "$(grep -c 'event=refresh_reuse ' "$AG_LOG")"
if [ "${#winners[@]}" = 1 ]; then
	w=${winners[0]}
	NEW_RT=$(ag_jget "$(cat "$AG_TMP/refresh/out.$w")" refresh_token)
	ag_expect_true "the winner got a new refresh token" test "$NEW_RT" != "<missing>" -a "$NEW_RT" != "$RT"
	use "h$((w % NHOSTS + 1))"
	ag_run_token refresh <<<"$NEW_RT"
	ag_expect_eq "host $((w % NHOSTS + 1)): the winner's new refresh token is refused: revoked" \
		"1 revoked" "$AG_RC $(ag_jget "$AG_JSON" reason)"
fi

# ============================================================= d
ag_say "d) a logout on host 2 ends the access token, the session and the refresh token on host 5"
use h1
ag_run_token session create --user dave --user-agent "$UA" </dev/null
ag_expect_eq "host 1: session create" 0 "$AG_RC"
SESSION=$(ag_jget "$AG_JSON" session)
SID=$(ag_jget "$AG_JSON" sid)
ag_run_token issue --sub dave --sid "$SID" --refresh </dev/null
ag_expect_eq "host 1: issue --sid --refresh" 0 "$AG_RC"
AT=$(ag_jget "$AG_JSON" token)
RT=$(ag_jget "$AG_JSON" refresh_token)
use h5
ag_run_token verify <<<"$AT"
ag_expect_eq "host 5, before: the access token verifies" 0 "$AG_RC"
ag_run_token session check --user-agent "$UA" <<<"$SESSION"
ag_expect_eq "host 5, before: the session is valid" 0 "$AG_RC"
use h2
printf '%s\n%s\n%s\n' "$SESSION" "$AT" "$RT" >"$AG_TMP/logout.in"
ag_run_token logout <"$AG_TMP/logout.in"
ag_expect_eq "host 2: logout ends one session, revokes the family, denylists the token" \
	"0 1 true" "$AG_RC $(ag_jget "$AG_JSON" sessions_ended) $(ag_jget "$AG_JSON" access_token_revoked)"
use h5
ag_run_token verify <<<"$AT"
ag_expect_true "host 5, after: the access token is refused ($AG_RC $(ag_jget "$AG_JSON" reason))" \
	test "$AG_RC" = 1 -a "$(ag_jget "$AG_JSON" reason)" = revoked -o \
	"$AG_RC" = 1 -a "$(ag_jget "$AG_JSON" reason)" = session_ended
ag_run_token session check --user-agent "$UA" <<<"$SESSION"
ag_expect_eq "host 5, after: the session is refused (unknown)" "1 unknown" \
	"$AG_RC $(ag_jget "$AG_JSON" reason)"
ag_run_token refresh <<<"$RT"
ag_expect_eq "host 5, after: the refresh token is refused (revoked)" "1 revoked" \
	"$AG_RC $(ag_jget "$AG_JSON" reason)"

# ============================================================= outages
# A server this script may stop: its own, or a private one.
if [ "$ag_pgc_own" != 1 ]; then
	ag_say "the given cluster is shared: the outages run in a private cluster"
	fl_saved=("$AG_PGC_DIR" "$AG_PGC_PORT" "$AG_PGC_CONNINFO" "$ag_pgdb")
	fl_own_outage=1
	ag_pgc_start "$AG_TMP/pgo" || ag_bail "cannot start a private PostgreSQL cluster"
	ag_pgc_createdb fleet || ag_bail "cannot create a database"
	ag_pgdb=fleet
fi
for i in $(seq 1 $NHOSTS); do
	# deny high: the stream's failures are counted, never turned into a lock
	host_conf "h$i-e" "$i" "deny = 100000"
	host_conf "h$i-fb" "$i" "store_fallback = local"
done

# ============================================================= e
ag_say "e) pg_ctl stop -m immediate in the middle of a stream of attempts"
# stream I: host I's attempts, one after the other until the phase is
# "end": erin with the wrong password, then frank with the right one, in
# turn, each from its own address.  One line per attempt in stream.I:
# "K PHASE-AT-START PHASE-AT-END USER EXIT CHECKS".  The main script writes
# the phase: "stopping" before the stop, "down" only after it returned,
# "restart" before the restart begins, "up2" after it returned.  An attempt
# reads it with the pam_wrapper lock on /tmp held (see ag_pwrap_shared in
# tests/pam/lib.sh: the hosts' attempts take turns), so right before it
# starts and right after it ends: one that starts and ends in "down" ran
# entirely while the server was down.
phase() { printf '%s\n' "$1" >"$AG_TMP/phase.new" && mv "$AG_TMP/phase.new" "$AG_TMP/phase"; }
stream() {
	local i=$1 k=0 p0 p1 user pw c0 c1 rc lock=()
	AG_SVC=h$i-e
	[ ${#ag_pwrap_shared[@]} -eq 0 ] || lock=(flock -x 8)
	ag_pwrap_shared=()
	exec 8</tmp
	while :; do
		k=$((k + 1))
		if [ $((k % 2)) = 1 ]; then user=erin pw=$AG_WRONG; else user=frank pw=$AG_RIGHT; fi
		AG_RHOST=10.55.$i.$((k % 250 + 1))
		${lock[@]+"${lock[@]}"}
		p0=$(cat "$AG_TMP/phase")
		[ "$p0" != end ] || break
		c0=$(count "$AG_TMP/h$i.count")
		ag_pamtester "$user" "$pw" >>"$AG_TMP/stream.$i.out" 2>&1
		rc=$?
		c1=$(count "$AG_TMP/h$i.count")
		p1=$(cat "$AG_TMP/phase")
		[ ${#lock[@]} -eq 0 ] || flock -u 8
		echo "$k $p0 $p1 $user $rc $((c1 - c0))" >>"$AG_TMP/stream.$i"
	done
	exec 8<&-
}
# wait_for DESC AWK-CONDITION: until every host's stream has lines that
# satisfy it (awk over the stream lines; $2 phase at start, ...); 90 s at
# most.
wait_for() {
	local t i ok
	for t in $(seq 1 900); do
		ok=1
		for i in $(seq 1 $NHOSTS); do
			[ "$(awk "$2 { n++ } END { print n + 0 }" "$AG_TMP/stream.$i" 2>/dev/null)" -ge 1 ] ||
				{ ok=0; break; }
		done
		[ $ok = 0 ] || return 0
		sleep 0.1
	done
	ag_fail "$1 (waited 90 s)"
	return 1
}
# the attempts of the stream: ALL-LINES-AWK-FILTER, output as the lines
lines() { cat "$AG_TMP"/stream.[1-5] | awk "$1"; }

# The web backend of host 3: one batch process for the whole outage.
# web_fail N: N guard_failure requests, one at a time; adds to web_ok the
# answers with status 0, to web_err the others, to web_lost the requests
# not answered within 30 s (none may be).
web_ok=0 web_err=0 web_lost=0 web_id=0
AG_CONF=$AG_TMP/h3-e.conf
coproc WEB { ag_token batch 2>>"$AG_TMP/web.err"; }
web_fail() {
	local k line
	for k in $(seq 1 "$1"); do
		web_id=$((web_id + 1))
		printf '{"id":%d,"op":"guard_failure","subject":"web-erin","ip":"203.0.113.33"}\n' \
			"$web_id" >&"${WEB[1]}"
		if ! IFS= read -r -t 30 line <&"${WEB[0]}"; then
			web_lost=$((web_lost + 1))
		elif [ "$(ag_jget "$line" id) $(ag_jget "$line" status)" = "$web_id 0" ]; then
			web_ok=$((web_ok + 1))
		else
			web_err=$((web_err + 1))
			printf '%s\n' "$line" >>"$AG_TMP/web.answers"
		fi
	done
}

for i in $(seq 1 $NHOSTS); do : >"$AG_TMP/stream.$i"; done
phase up
mark0=$(ag_log_lines)
pids=()
for i in $(seq 1 $NHOSTS); do
	stream "$i" &
	pids+=($!)
done
# a few attempts of each kind on every host first
wait_for "every host made attempts before the stop" '$2 == "up" && $3 == "up" && $1 >= 4'
web_fail 5
ag_expect_eq "web backend of host 3, before the stop: 5 failures acknowledged" "5 0 0" \
	"$web_ok $web_err $web_lost"
phase stopping
ag_pgc_stop immediate
phase down
mark_down=$(ag_log_lines)
ag_say "the server is down"
wait_for "every host made attempts during the outage" '$2 == "down" && $3 == "down" && $4 == "frank"'
web_fail 3
ag_expect_eq "web backend, during the outage: every request answered with an error" "5 3 0" \
	"$web_ok $web_err $web_lost"
phase restart
mark_restart=$(ag_log_lines)
# nothing can be acknowledged while the server is down: every failure
# logged so far was acknowledged before the stop
AG_LOG_MARK=$mark0
acked_before=$(n_log 'event=auth_fail user=erin ')
ag_pgc_restart || ag_bail "cannot restart the cluster"
phase up2
use h4-e
ag_status erin
failures_after=$(ag_jget "$AG_JSON" failures)
ag_say "the server is back: erin's failures in the shared state: $failures_after," \
	"acknowledged before the stop: $acked_before"
ag_expect_true "nothing acknowledged before the stop is lost: $failures_after >= $acked_before" \
	test "$failures_after" -ge "$acked_before"
web_fail 5
ag_expect_eq "web backend, after the restart: the same process serves again (reconnected)" "10 3 0" \
	"$web_ok $web_err $web_lost"
web_pid=$WEB_PID
eval "exec ${WEB[1]}>&-"
wait "$web_pid" 2>/dev/null
ag_status web-erin
ag_expect_eq "the shared state holds exactly the web failures acknowledged, none lost or repeated" \
	"$web_ok" "$(ag_jget "$AG_JSON" failures)"
cat "$AG_TMP/web.err" >>"$AG_TMP/stderr.all"
wait_for "every host logs in again after the restart" '$2 == "up2" && $4 == "frank" && $5 == 0'
wait_for "every host counts failures again after the restart" '$2 == "up2" && $4 == "erin" && $6 == 1'
phase end
wait "${pids[@]}"
cat "$AG_TMP"/stream.*.out >>"$AG_TMP/stderr.all"

n_up=$(lines '$2 == "up" && $3 == "up"' | wc -l)
n_down=$(lines '$2 == "down" && $3 == "down"' | wc -l)
n_down_right=$(lines '$2 == "down" && $3 == "down" && $4 == "frank"' | wc -l)
n_up2=$(lines '$2 == "up2"' | wc -l)
n_cut=$(lines '($2 == "up" || $2 == "stopping") && $3 != "up"' | wc -l)
ag_say "attempts: $n_up before the stop, $n_cut cut by it, $n_down during the outage" \
	"($n_down_right with the right password), $n_up2 after the restart"
ag_expect_eq "before the stop: every attempt as usual (frank in, erin checked and out)" "" \
	"$(lines '$2 == "up" && $3 == "up" && !(($4 == "frank" && $5 == 0 && $6 == 1) || ($4 == "erin" && $5 == 1 && $6 == 1))')"
ag_expect_eq "during the outage: every attempt denied, before any password check" "" \
	"$(lines '$2 == "down" && $3 == "down" && !($5 != 0 && $6 == 0)')"
ag_expect_true "... and there were right passwords among them ($n_down_right)" test "$n_down_right" -ge $NHOSTS
AG_LOG_MARK=$mark_down
down_log=$(head -n $((mark_restart - mark_down)) <<<"$(ag_log_last)")
ag_expect_true "the outage's refusals are logged, one line each, with the reason and 'access denied'" \
	test "$(grep -Ec 'pam_authguard\(h[1-5]-e:auth\): event=error op=auth user=(erin|frank): .+; access denied$' \
	<<<"$down_log")" -ge "$n_down"
ag_expect_eq "no success logged while the server was down" 0 \
	"$(grep -Ec 'event=(success|auth_ok|success_reset)' <<<"$down_log" || true)"
ag_expect_eq "after the restart: every attempt as usual" "" \
	"$(lines '$2 == "up2" && !(($4 == "frank" && $5 == 0 && $6 == 1) || ($4 == "erin" && $5 == 1 && $6 == 1))')"
AG_LOG_MARK=$mark0
acked_all=$(n_log 'event=auth_fail user=erin ')
erin_tries=$(lines '$4 == "erin"' | wc -l)
ag_status erin
failures_end=$(ag_jget "$AG_JSON" failures)
ag_say "erin: $erin_tries attempts, $acked_all failures acknowledged, $failures_end counted"
ag_expect_true "every acknowledged failure is counted at the end ($failures_end >= $acked_all)" \
	test "$failures_end" -ge "$acked_all"
ag_expect_true "and no more than the attempts made ($failures_end <= $erin_tries)" \
	test "$failures_end" -le "$erin_tries"

# ============================================================= f
ag_say "f) store_fallback = local: lockout keeps working on each host during an outage"
ag_pgc_stop immediate
AG_RHOST=192.0.2.60
mark=$(ag_log_lines)
for i in $(seq 1 $NHOSTS); do
	use "h$i-fb"
	ag_reset_count
	for k in $(seq 1 10); do
		ag_pam gina "$AG_WRONG"
	done
	ag_expect_eq "host $i: ten wrong passwords, each checked, during the outage" 10 "$(ag_count)"
	ag_attempt "host $i: then the right password is refused, unchecked (locked locally)" \
		gina "$AG_RIGHT" 1 0
done
AG_LOG_MARK=$mark
for i in $(seq 1 $NHOSTS); do
	ag_expect_eq "host $i: locked by its own ten failures" 1 \
		"$(n_log "pam_authguard\\(h$i-fb:auth\\): event=lock scope=account user=gina .*failures=10")"
	ag_expect_eq "host $i: the switch to the local state logged once at LOG_CRIT" 1 \
		"$(n_log "^<82> .*pam_authguard\\(h$i-fb:auth\\): event=store_fallback state=on store=postgresql reason=")"
done
ag_expect_no_log "no event=error: every attempt was counted locally" 'event=error'
ag_pgc_restart || ag_bail "cannot restart the cluster"
mark=$(ag_log_lines)
for i in $(seq 1 $NHOSTS); do
	use "h$i-fb"
	ag_attempt "host $i, server back: hank's right password accepted through the shared state" \
		hank "$AG_RIGHT" 0 1
done
AG_LOG_MARK=$mark
for i in $(seq 1 $NHOSTS); do
	ag_expect_eq "host $i: the return logged once at LOG_CRIT" 1 \
		"$(n_log "^<82> .*pam_authguard\\(h$i-fb:auth\\): event=store_fallback state=off store=postgresql")"
done
use h2-fb
ag_attempt "gina's right password: accepted (the shared state never saw the local locks)" \
	gina "$AG_RIGHT" 0 1

ag_done
