#!/bin/bash
# Mixed load: many processes on one state file for a bounded time -- PAM
# logins (pamtester, wrong and right passwords), the web guard
# (check/failure/success), refresh rotation with several processes racing
# to redeem the same token, and web sessions under a per-user limit.
# Workers, all at once:
#   lockout   rounds of 2 web attackers + 1 PAM attacker on a fresh account
#             (the shipped deny and lock_time of conf/authguard.conf): the
#             password check is reached exactly deny times, the account is
#             locked for lock_time, and attempt deny+1 is refused with the
#             right password, through PAM and the web;
#   counter   2 web + 1 PAM worker failing on one account with busy_timeout
#             0, so that "database is locked" does happen: the failures in
#             the state are exactly the acknowledged ones plus the attempts
#             left pending by a failed settle (no lost update), for the
#             account and for the address;
#   tight     the right password and guard check for a locked account with
#             busy_timeout 0: never allowed, never a password check;
#   race      rounds of 4 processes redeeming one refresh token: exactly one
#             wins, no token gets two successors, the winner's new token
#             dies with the family;
#   chain     a client rotating its own refresh token: never refused, and
#             every rotated token is refused at the end;
#   sessions  2 workers on session_on_limit = refuse with 4 of 5 slots
#             held: never two of them in the last slot (a marker file
#             created with O_EXCL), a held session always checks valid;
#             2 workers on evict: created = evicted + ended + left;
#             a sampler of the state: never more than 5 live sessions;
#   good      right passwords through PAM and guard check/success on
#             accounts that never fail: allowed, but for a store error the
#             module logs, and nothing left in the state.
# Workers on the default busy_timeout retry a helper that fails with a
# store error (exit 3), as a web backend would; every such error is
# counted and reported, and none may ever have allowed anything.
# pamtester runs hold the /tmp lock of tests/pam/lib.sh (pam_wrapper
# start-up races): PAM runs of this test are serialised with each other
# and with other tests, while the helpers run in parallel to them
# (parallel PAM runs are tests/pam/concurrency.sh's subject).
#
# How much gets done depends on the machine; what is checked does not.
# Every worker does at least SOAK_MIN_ROUNDS rounds, however slow.
#
# Environment:
#   SOAK_SECONDS      how long the workers keep going (default 25).  A long
#                     run: make check TESTS=tests/stress/soak.sh SOAK_SECONDS=600
#   SOAK_MIN_ROUNDS   rounds every worker does at least (default 3)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/stress/common.sh"
command -v flock >/dev/null 2>&1 || ag_bail "flock (util-linux) not found"
ag_init
st_init

SECS=${SOAK_SECONDS:-25}
MIN=${SOAK_MIN_ROUNDS:-3}
UA='Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'

# The lockout the shipped configuration promises.
conf_default() { sed -n "s/^#$1 = //p" "$top_srcdir/conf/authguard.conf" | head -n 1; }
seconds() { # DURATION: 90, 15m, 1h, 1d -> seconds
	case $1 in
	*d) echo $((${1%d} * 86400)) ;; *h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;;
	esac
}
DENY=$(conf_default deny)
LOCK=$(seconds "$(conf_default lock_time)")
[[ $DENY =~ ^[0-9]+$ ]] && [[ $LOCK =~ ^[0-9]+$ ]] ||
	ag_bail "cannot read deny/lock_time from conf/authguard.conf ($DENY, $LOCK)"
ag_say "SOAK_SECONDS=$SECS SOAK_MIN_ROUNDS=$MIN; shipped lockout: deny = $DENY, lock_time = $LOCK s"

# Four configurations, one state file.  delay_base 0: the clock stands
# still, so a delay would refuse every attempt after the first.
AG_STATE_DIR=$AG_TMP/state
TK=("token_keys_dir = $AG_TMP/tkeys" "token_issuer = https://auth.soak.test"
	"token_audience = api.soak.test")
ag_conf count "delay_base = 0" "deny = 100000" "host_deny = 10000000" "busy_timeout = 0" "${TK[@]}"
ag_service count
ag_conf tight "delay_base = 0" "busy_timeout = 0" "host_allow = 10.0.0.0/8" "${TK[@]}"
ag_service tight
ag_conf refuse "session_on_limit = refuse" "session_touch = 0" "${TK[@]}"
ag_conf soak "delay_base = 0" "host_allow = 10.0.0.0/8" "session_touch = 0" "${TK[@]}"
ag_service soak
AG_SVC=soak
out=$(ag_ctl keygen 2>&1) || ag_bail "authguard-ctl keygen failed: $out"
# Every password check notes its account, in one append.
cat >"$AG_TMP/hook" <<EOF
#!/bin/bash
echo "\$PAM_USER" >>'$AG_TMP/reached'
EOF
chmod 755 "$AG_TMP/hook"
: >"$AG_TMP/reached"
WD=$AG_TMP/w
mkdir "$WD"

# ------------------------------------------------------------- plumbing

# tk CONF INPUT ARGS...: authguard-token on $AG_TMP/CONF.conf with INPUT
# on stdin ("" for none); TK_RC, TK_OUT (stdout).  stderr goes to the
# worker's ERR file.
tk() {
	local conf=$1 in=$2
	shift 2
	ag_preload
	if [ -n "$in" ]; then
		TK_OUT=$(env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
			timeout 60 "$AG_TOKEN_BIN" --conf "$AG_TMP/$conf.conf" "$@" <<<"$in" 2>>"$ERR")
	else
		TK_OUT=$(env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
			timeout 60 "$AG_TOKEN_BIN" --conf "$AG_TMP/$conf.conf" "$@" </dev/null 2>>"$ERR")
	fi
	TK_RC=$?
}

# tkr: tk, repeated while it fails with a store error (exit 3, such as
# "database is locked": nothing was done), as a web backend would retry.
# Each such error is recorded; five in a row are a wrong answer.
tkr() {
	local i
	for i in 1 2 3 4 5; do
		tk "$@"
		[ "$TK_RC" = 3 ] || return 0
		rec "ERR exit 3: $1 $3 $4"
	done
	bad "five store errors in a row: $1 $3 $4"
}

# pam SVC USER PASSWORD RHOST: one pamtester run (lib.sh: under the /tmp
# lock, with a timeout); PAM_RC, PAM_OUT.
pam() {
	PAM_OUT=$(AG_SVC=$1 AG_RHOST=$4 ag_pamtester "$2" "$3")
	PAM_RC=$?
	echo "$1" >>"$WD/pam.runs"
	case $PAM_OUT in
	*Sanitizer* | *"runtime error:"*) printf '%s\n' "$PAM_OUT" >>"$ERR" ;;
	esac
}

jf() { # NAME REGEX: JF from TK_OUT ("" when absent)
	JF=
	[[ $TK_OUT =~ \"$1\":$2 ]] && JF=${BASH_REMATCH[1]}
	return 0
}

rec() { echo "$*" >>"$REC"; }
bad() { echo "BAD $*" >>"$REC"; }
DEADLINE=$(($(st_us) + SECS * 1000000))
# Whether a worker does round $1 + 1; a short nap first leaves some CPU to
# the tests that run in parallel (concurrency comes from the worker count).
more() {
	st_nap 3000
	[ "$1" -lt "$MIN" ] || [ "$(st_us)" -lt "$DEADLINE" ]
}

# worker NAME FUNCTION ARGS...: starts FUNCTION in the background with its
# own record file (REC) and stderr file (ERR).
PIDS=()
worker() {
	local name=$1
	shift
	(REC=$WD/$name.rec ERR=$WD/$name.err; : >"$REC"; : >"$ERR"; "$@") &
	PIDS+=($!)
}

# ------------------------------------------------------------- workers

# An attacker of a lockout round: until it is told the account is locked.
web_attacker() { # USER IP
	local i allowed=0
	for ((i = 0; i < 3 * DENY; i++)); do
		tk soak "" guard check --subject "$1" --ip "$2"
		jf attempt '([0-9]+)'
		if [ "$TK_RC" = 0 ] && [ -n "$JF" ]; then
			allowed=$((allowed + 1))
			tkr soak "" guard failure --subject "$1" --ip "$2" --attempt "$JF"
		elif [ "$TK_RC" = 1 ] && [[ $TK_OUT =~ \"reason\":\"locked\" ]]; then
			break
		elif [ "$TK_RC" = 1 ] && [[ $TK_OUT =~ \"reason\":\"busy\" ]]; then
			continue # deny attempts in flight, no lock yet: ask again
		elif [ "$TK_RC" = 3 ]; then
			rec "ERR exit 3: soak guard check"
		else
			bad "lockout: guard check exited $TK_RC: $TK_OUT"
		fi
	done
	echo "$allowed" >"$WD/allowed.$1.$2"
}

pam_attacker() { # USER RHOST
	local i
	for ((i = 0; i < 3 * DENY; i++)); do
		pam soak "$1" "$AG_WRONG" "$2"
		[ "$PAM_RC" = 1 ] || bad "lockout: a wrong password for $1 exited $PAM_RC"
		[[ $PAM_OUT == *locked* ]] && break
	done
}

w_lockout() {
	local r=0 u checks reached n pend until
	while more $r; do
		r=$((r + 1))
		u=lk$r
		web_attacker "$u" "10.1.$r.1" &
		web_attacker "$u" "10.1.$r.2" &
		pam_attacker "$u" "10.2.$r.1" &
		wait
		checks=$(grep -cx "$u" "$AG_TMP/reached")
		reached=$((checks + $(awk '{ s += $1 } END { print s + 0 }' "$WD"/allowed."$u".*)))
		read -r n pend < <(st_failures "$u")
		until=$(AG_CONF=$AG_TMP/soak.conf ag_ctl status --json "$u" 2>>"$ERR")
		[[ $until =~ \"locked\":true.*\"locked_until\":([0-9]+) ]] && until=${BASH_REMATCH[1]} || until=none
		rec "LK $u reached=$reached failures=$n pending=$pend locked_until=$until"
		[ "$reached" = "$DENY" ] || bad "$u: the password check was reached $reached times, not deny = $DENY"
		[ "$n" = "$DENY" ] || bad "$u: the state holds $n failures ($pend pending), not $DENY"
		[ "$until" = $((AG_NOW + LOCK)) ] || bad "$u: locked until $until, not now + lock_time"
		# Attempt deny+1, with the right password: refused, unchecked.
		pam soak "$u" "$AG_RIGHT" "10.2.$r.9"
		[ "$PAM_RC" = 1 ] || bad "$u: attempt $((DENY + 1)) with the right password exited $PAM_RC"
		[ "$(grep -cx "$u" "$AG_TMP/reached")" = "$checks" ] ||
			bad "$u: attempt $((DENY + 1)) reached the password check"
		tkr soak "" guard check --subject "$u" --ip 10.1.$r.9
		[ "$TK_RC" = 1 ] && [[ $TK_OUT =~ \"reason\":\"locked\" ]] ||
			bad "$u: web attempt $((DENY + 1)): exit $TK_RC $TK_OUT"
	done
}

# busy_timeout 0: no retries, every outcome is recorded as it came.
w_counter_web() { # K
	local i=0
	while more $i; do
		i=$((i + 1))
		if (((i + $1) % 2)); then
			tk count "" guard failure --subject counter --ip 203.0.113.50
			rec "F $TK_RC"
			continue
		fi
		tk count "" guard check --subject counter --ip 203.0.113.50
		jf attempt '([0-9]+)'
		if [ "$TK_RC" = 0 ] && [ -n "$JF" ]; then
			tk count "" guard failure --subject counter --ip 203.0.113.50 --attempt "$JF"
			rec "C 0 $TK_RC"
		else
			[ "$TK_RC" = 3 ] || bad "counter: guard check exited $TK_RC: $TK_OUT"
			rec "C $TK_RC -"
		fi
	done
}

w_counter_pam() {
	local i=0
	while more $i; do
		i=$((i + 1))
		pam count counter "$AG_WRONG" 203.0.113.50
		[ "$PAM_RC" = 1 ] || bad "counter: a wrong password exited $PAM_RC"
		rec "P $PAM_RC"
	done
}

w_tight() {
	local i=0
	while more $i; do
		i=$((i + 1))
		pam tight locked-tight "$AG_RIGHT" 10.4.0.1
		rec "TP $PAM_RC"
		[ "$PAM_RC" = 1 ] || bad "locked-tight: the right password through PAM exited $PAM_RC"
		tk tight "" guard check --subject locked-tight --ip 10.4.0.2
		jf reason '"([a-z_]+)"'
		rec "TW $TK_RC ${JF:--}"
		[ "$TK_RC" = 0 ] && bad "locked-tight: guard check allowed: $TK_OUT"
	done
}

w_race() {
	local r=0 t i w nerr wt reasons children
	while more $r; do
		r=$((r + 1))
		tkr soak "" issue --sub race$r --refresh
		jf refresh_token '"(agr_[A-Za-z0-9_-]{43})"'
		t=$JF
		[ -n "$t" ] || { bad "race: issue exited $TK_RC"; continue; }
		rm -f "$WD"/racer.*
		exec {bfd}>"$WD/barrier"
		flock -x "$bfd"
		for i in 1 2 3 4; do
			(
				exec {bfd}>&-
				flock -s "$WD/barrier" true
				tk soak "$t" refresh
				printf '%s %s\n' "$TK_RC" "$TK_OUT" >"$WD/racer.$i"
			) &
		done
		flock -u "$bfd"
		exec {bfd}>&-
		wait
		w=$(cat "$WD"/racer.* | grep -c '^0 ')
		nerr=$(cat "$WD"/racer.* | grep -c '^3 ')
		reasons=$(grep -ho '"reason":"[a-z_]*"' "$WD"/racer.* | sort | uniq -c | tr -s ' \n' ' ')
		children=$(st_sql "SELECT count(*) FROM refresh_token WHERE parent = $(ag_sql_blob "$(st_sha256 "$t")");")
		rec "RACE $r winners=$w errors=$nerr children=$children losers:$reasons"
		[ "$nerr" = 0 ] || rec "ERR race $r: $nerr redeemers failed with a store error"
		# One winner, unless every redeemer failed (then nothing changed).
		if [ "$w" = 0 ] && [ "$nerr" = 4 ] && [ "$children" = 0 ]; then
			continue
		fi
		if [ "$w" != 1 ] || [ "$children" != 1 ]; then
			bad "race $r: $w winners, $children successors ($reasons)"
			continue
		fi
		wt=$(sed -n 's/^0 .*"refresh_token":"\(agr_[A-Za-z0-9_-]\{43\}\)".*/\1/p' "$WD"/racer.*)
		if [[ $reasons == *reused* ]]; then
			tkr soak "$wt" refresh
			[ "$TK_RC" = 1 ] && [[ $TK_OUT =~ \"reason\":\"revoked\" ]] ||
				bad "race $r: the winner's new token survived the reuse: $TK_RC $TK_OUT"
		fi
	done
}

w_chain() {
	local i=0 t
	tkr soak "" issue --sub chain --refresh
	jf refresh_token '"(agr_[A-Za-z0-9_-]{43})"'
	t=$JF
	while more $i && [ -n "$t" ]; do
		i=$((i + 1))
		tkr soak "$t" refresh
		jf refresh_token '"(agr_[A-Za-z0-9_-]{43})"'
		if [ "$TK_RC" = 0 ] && [ -n "$JF" ]; then
			echo "$t" >>"$WD/chain.rotated"
			t=$JF
			rec "CH 0"
		else
			bad "chain: the client's unused refresh token was refused: $TK_RC $TK_OUT"
			t=
		fi
	done
}

# session_on_limit = refuse, 4 of 5 slots held: the workers compete for
# the last one.
w_refuse() {
	local i=0 id
	while more $i; do
		i=$((i + 1))
		tkr refuse "" session create --user sr --user-agent "$UA"
		jf session '"(ags_[A-Za-z0-9_-]{43})"'
		id=$JF
		if [ "$TK_RC" = 1 ] && [[ $TK_OUT =~ \"reason\":\"limit\" ]]; then
			rec "SR limit"
			continue
		fi
		[ "$TK_RC" = 0 ] && [ -n "$id" ] || { bad "sessions: create exited $TK_RC"; continue; }
		rec "SR created"
		(set -C; : >"$WD/last-slot") 2>/dev/null ||
			bad "sessions: a second session got the last slot while one held it"
		tkr refuse "$id" session check --user-agent "$UA"
		[ "$TK_RC" = 0 ] || bad "sessions: a held session was refused: $TK_RC $TK_OUT"
		rm -f "$WD/last-slot"
		tkr refuse "$id" session end
		[ "$TK_RC" = 0 ] && [[ $TK_OUT =~ \"sessions_ended\":1 ]] ||
			bad "sessions: ending a held session: $TK_RC $TK_OUT"
	done
}

# session_on_limit = evict: each worker keeps up to 4 sessions, so that
# the two of them go over the limit of 5 and evict each other's.
w_evict() {
	local i=0 k q=()
	while more $i; do
		i=$((i + 1))
		tkr soak "" session create --user se --user-agent "$UA"
		jf session '"(ags_[A-Za-z0-9_-]{43})"'
		[ "$TK_RC" = 0 ] && [ -n "$JF" ] || { bad "sessions: create exited $TK_RC"; continue; }
		q+=("$JF")
		jf evicted '([0-9]+)'
		rec "EC $JF"
		k=$((RANDOM % ${#q[@]}))
		tkr soak "${q[k]}" session check --user-agent "$UA"
		jf reason '"([a-z_]+)"'
		if [ "$TK_RC" = 1 ] && [ "$JF" = unknown ]; then
			q=("${q[@]:0:k}" "${q[@]:k+1}") # evicted: gone for good
		elif [ "$TK_RC" != 0 ]; then
			bad "sessions: check of an evictable session: $TK_RC $TK_OUT"
		fi
		[ ${#q[@]} -gt 4 ] || continue
		tkr soak "${q[0]}" session end
		q=("${q[@]:1}")
		jf sessions_ended '([0-9]+)'
		[ "$TK_RC" = 0 ] || bad "sessions: end exited $TK_RC"
		rec "EE ${JF:-0}"
	done
}

w_sampler() {
	local max_r=0 max_e=0 a b n=0
	while [ ! -e "$WD/stop" ]; do
		read -r a b < <(st_sql "SELECT (SELECT count(*) FROM web_session WHERE \"user\" = 'sr'),
			(SELECT count(*) FROM web_session WHERE \"user\" = 'se');" | tr '|' ' ')
		[[ $a =~ ^[0-9]+$ ]] && [[ $b =~ ^[0-9]+$ ]] || { rec "ERR sample: $a $b"; continue; }
		[ "$a" -gt "$max_r" ] && max_r=$a
		[ "$b" -gt "$max_e" ] && max_e=$b
		n=$((n + 1))
		st_nap 50000
	done
	rec "MAX $max_r $max_e $n"
}

# A PAM login that fails here can only be a store error, which the module
# logs (event=error); the verdicts count both.
w_good() {
	local i=0
	while more $i; do
		i=$((i + 1))
		pam soak good "$AG_RIGHT" 10.3.0.1
		rec "GP $PAM_RC"
		tkr soak "" guard check --subject good-web --ip 10.3.0.2
		jf attempt '([0-9]+)'
		if [ "$TK_RC" = 0 ] && [ -n "$JF" ]; then
			tkr soak "" guard success --subject good-web --ip 10.3.0.2 --attempt "$JF"
			rec "GW $TK_RC"
			[ "$TK_RC" = 0 ] || bad "good: guard success exited $TK_RC: $TK_OUT"
		else
			bad "good: guard check exited $TK_RC: $TK_OUT"
		fi
	done
}

# ------------------------------------------------------------- set-up

# locked-tight: locked through the web before the load starts.
REC=$AG_TMP/setup.rec ERR=$AG_TMP/setup.err
for i in $(seq 1 "$DENY"); do
	tk soak "" guard failure --subject locked-tight
done
ag_expect_status "set-up: locked-tight is locked by $DENY failures" locked-tight -- \
	failures="$DENY" locked=true
# 4 of the 5 session slots of sr held for the whole run.
for i in 1 2 3 4; do
	tk refuse "" session create --user sr --user-agent "$UA"
done
ag_expect_eq "set-up: 4 sessions of sr held" 4 "$(st_sql "SELECT count(*) FROM web_session WHERE \"user\" = 'sr';")"

# ------------------------------------------------------------- the run

T_START=$(st_us)
worker lockout w_lockout
worker counter-web1 w_counter_web 1
worker counter-web2 w_counter_web 2
worker counter-pam w_counter_pam
worker tight w_tight
worker race w_race
worker chain w_chain
for k in 1 2; do worker refuse$k w_refuse; done
for k in 1 2; do worker evict$k w_evict; done
worker good w_good
(REC=$WD/sampler.rec ERR=$WD/sampler.err; : >"$REC"; w_sampler) &
sampler=$!
wait "${PIDS[@]}"
: >"$WD/stop"
wait $sampler
ag_say "workers done in $((($(st_us) - T_START) / 1000000)) s; $(wc -l <"$WD/pam.runs") pamtester runs, $(grep -c '^<' "$AG_LOG") lines logged"
cat "$WD"/*.rec >"$AG_TMP/all.rec"
count() { grep -cE "$1" "$AG_TMP/all.rec"; }

# ------------------------------------------------------------- verdicts

bads=$(grep '^BAD' "$AG_TMP/all.rec" | sort | uniq -c | sort -rn | head -n 12)
if [ -z "$bads" ]; then
	ag_pass "no worker saw a wrong answer"
else
	ag_fail "no worker saw a wrong answer" "$(grep -c '^BAD' "$AG_TMP/all.rec") violation(s):" "$bads"
fi
st_expect_no_sanitizer "no sanitizer report" "$WD"/*.err
st_expect_db_sane "after the load"

# Lockout.
nlk=$(count '^LK ')
ag_say "lockout: $nlk rounds of 3 attackers, each locking at exactly $DENY"
ag_expect_true "lockout: at least $MIN rounds" test "$nlk" -ge "$MIN"

# Counter: no lost update, with busy errors on purpose.
read -r lo_f lo_c lo_a err_c err_f < <(awk '
	$1 == "F" { if ($2 == 0) f++; else ef++ }
	$1 == "C" { if ($2 == 0) { c++; if ($3 == 0) a++; else ef++ } else ec++ }
	END { print f + 0, c + 0, a + 0, ec + 0, ef + 0 }' "$WD"/counter-web*.rec)
pam_runs=$(grep -c '^P ' "$WD/counter-pam.rec")
pam_reached=$(grep -cx counter "$AG_TMP/reached")
pam_settle_err=$(grep -c 'event=error op=authfail user=counter:' "$AG_LOG")
pam_pre_err=$(grep -c 'event=error op=preauth user=counter:' "$AG_LOG")
acked=$((lo_f + lo_a + pam_reached - pam_settle_err))
read -r n pend < <(st_failures counter)
ag_say "counter: $lo_f failures alone + $lo_a check/failure pairs acknowledged through the web, $pam_reached of $pam_runs PAM runs checked the password"
ag_say "counter: busy_timeout 0 made $err_c checks, $err_f failures, $pam_pre_err PAM preauths and $pam_settle_err PAM authfails fail (all denied)"
ag_expect_eq "counter: failures in the state = acknowledged ($acked) + left pending ($pend)" \
	"$((acked + pend))" "$n"
ag_expect_le "counter: pending failures only from failed settles" "$((err_f + pam_settle_err))" "$pend"
hn=$(st_sql "SELECT count(*), coalesce(sum(f.pending), 0) FROM failure f JOIN subject s
	ON s.id = f.subject_id WHERE s.kind = 2 AND s.name = '203.0.113.50';" | tr '|' ' ')
read -r hn hpend <<<"$hn"
ag_expect_eq "counter: the address too: acknowledged + pending" "$((acked + hpend))" "$hn"
ag_expect_status "counter: authguard-ctl status agrees" counter -- failures="$n" pending="$pend"

# A locked account under busy errors.
ag_say "tight: $(count '^TP ') PAM and $(count '^TW ') web attempts on locked-tight: web $(count '^TW 1 locked') refused as locked, $(count '^TW 3 ') failed busy; $(grep -c 'event=error op=preauth user=locked-tight:' "$AG_LOG") PAM preauths failed busy"
ag_expect_eq "tight: the password check never ran for locked-tight" 0 "$(grep -cx locked-tight "$AG_TMP/reached")"
ag_expect_status "tight: locked-tight still locked with $DENY failures" locked-tight -- \
	failures="$DENY" locked=true

# Refresh tokens.
ag_say "race: $(count '^RACE ') rounds of 4 redeemers"
ag_expect_true "race: at least $MIN rounds" test "$(count '^RACE ')" -ge "$MIN"
nrot=0 nref=0
if [ -f "$WD/chain.rotated" ]; then
	ERR=$AG_TMP/final.err
	while read -r t; do
		nrot=$((nrot + 1))
		tk soak "$t" refresh
		[ "$TK_RC" = 1 ] && nref=$((nref + 1))
	done <"$WD/chain.rotated"
fi
ag_say "chain: $nrot rotations"
ag_expect_eq "chain: every rotated token is refused afterwards" "$nrot" "$nref"
ag_expect_eq "no refresh token has two successors" "" \
	"$(st_sql 'SELECT hex(parent) FROM refresh_token WHERE parent IS NOT NULL
		GROUP BY parent HAVING count(*) > 1 LIMIT 3;')"

# Sessions.
read -r max_r max_e nsamples < <(sed -n 's/^MAX //p' "$WD/sampler.rec")
ag_say "sessions: refuse: $(count '^SR created') created, $(count '^SR limit') refused; evict: $(count '^EC [0-9]') created; $nsamples samples, at most $max_r and $max_e live"
ag_expect_true "sessions: never more than 5 live per user ($max_r, $max_e)" \
	test "${max_r:-9}" -le 5 -a "${max_e:-9}" -le 5
ag_expect_true "sessions: the refuse workers got the last slot at least once" \
	test "$(count '^SR created')" -ge 1
ag_expect_eq "sessions: refuse: the 4 held ones are all that is left" 4 \
	"$(st_sql "SELECT count(*) FROM web_session WHERE \"user\" = 'sr';")"
read -r created evicted ended < <(awk '$1 == "EC" && $2 ~ /^[0-9]+$/ { c++; e += $2 }
	$1 == "EE" { d += $2 } END { print c + 0, e + 0, d + 0 }' "$WD"/evict*.rec)
left=$(st_sql "SELECT count(*) FROM web_session WHERE \"user\" = 'se';")
ag_expect_eq "sessions: evict: created ($created) = evicted ($evicted) + ended ($ended) + left ($left)" \
	"$created" "$((evicted + ended + left))"

# Good logins.
good_err=$(grep -c 'event=error .*user=good:' "$AG_LOG")
ag_expect_le "good: every PAM login with the right password succeeded, but for logged store errors" \
	"$good_err" "$(count '^GP [^0]')"
read -r n pend < <(st_failures good)
ag_expect_le "good: no failure left in the state but from a logged store error" "$good_err" "$n"
ag_expect_eq "good: every web login succeeded, nothing left in the state" "$(count '^GW ')|0 0" \
	"$(count '^GW 0$')|$(st_failures good-web)"

# "database is locked" (or, with PostgreSQL, conflicting transactions:
# AG_BUSY_RE): where it surfaced, and that it never allowed.
busy_tight=$(cat "$WD"/counter*.err "$WD"/tight.err | grep -Ec "$AG_BUSY_RE")
busy_soak=$(cat "$WD"/lockout.err "$WD"/race.err "$WD"/chain.err "$WD"/refuse*.err \
	"$WD"/evict*.err "$WD"/good.err | grep -Ec "$AG_BUSY_RE")
busy_log=$(grep -Ec "event=error .*($AG_BUSY_RE)" "$AG_LOG")
ag_say "busy: $busy_tight helper errors with busy_timeout 0, $busy_soak with the default 5 s; $busy_log PAM error lines (event=error ... access denied), by step:$(grep -o 'event=error op=[a-z]*' "$AG_LOG" | sort | uniq -c | tr -s ' \n' ' ')"
ag_expect_eq "every PAM store error is logged as a denial" "$busy_log" \
	"$(grep -Ec "event=error .*($AG_BUSY_RE).*; access denied" "$AG_LOG")"
errs=$(grep '^ERR' "$AG_TMP/all.rec" | head -n 5)
[ -z "$errs" ] || ag_say "errors seen by workers (denied, not wrong answers): $errs"
ag_done
