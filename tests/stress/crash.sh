#!/bin/bash
# Crash safety: the PAM module's host process (pamtester under pam_wrapper)
# and the helpers are SIGKILLed at random moments while they write the
# state, and the state must still be right afterwards.
#
# Two lanes run side by side on one state file:
#   P  pamtester with a wrong password for the accounts ca/cb;
#   W  authguard-token guard failure (alone, or after guard check), refresh
#      rotation along two chains (with an occasional replay of a rotated
#      token), authguard-enroll start/confirm, and web session
#      create/check/end.
# About half of the runs are killed after a random delay below the usual
# run time of that kind of operation, so kills land before, inside and
# after its transactions.  Each lane keeps its own log of what was
# ACKNOWLEDGED: the program exited normally and printed its result.
# Kills after every SQLite statement, without timing, are crash_points.sh.
#
# Afterwards:
#   - PRAGMA integrity_check and foreign_key_check pass; authguard-ctl
#     status works;
#   - for each account and address, acknowledged failures <= the failures
#     in the state <= attempts started (a PAM run counts as acknowledged
#     when it exited by itself and its password check ran); pending
#     (unsettled) failures only where a run was killed;
#   - a refresh token acknowledged as rotated, or found used in the state
#     after its refresh was killed, is refused, now and when replayed
#     during the run; no token has two successors;
#   - an acknowledged enrollment holds: exactly one of the secrets that may
#     have been confirmed last verifies, with all its backup codes;
#   - an acknowledged session is valid until an end of it starts, an
#     acknowledged end is final;
#   - no program that was not killed failed (exit 2 or 3, event=error),
#     crashed or reported a sanitizer error, and none hung;
#   - the state still serves a fresh PAM login, a web login and a token.
#
# Environment:
#   CRASH_ITERATIONS  operations over both lanes (default 1000; 300 when
#                     AG_PRELOAD_EXTRA says the programs run under ASan).
#                     A long run: make check TESTS=tests/stress/crash.sh \
#                       CRASH_ITERATIONS=20000
#   CRASH_SEED        seed of bash's RANDOM, printed by every run, to replay
#                     the same choices (the kill moments still vary)
#   CRASH_KILL_PCT    share of runs that get a SIGKILL (default 50)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/stress/common.sh"
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool not installed (apt-get install oathtool)"
command -v flock >/dev/null 2>&1 || ag_bail "flock (util-linux) not found"
ag_init
st_init
[ -x "$AG_ENROLL_BIN" ] || ag_bail "helper not built: $AG_ENROLL_BIN (run make)"

if st_sanitized; then ITER=${CRASH_ITERATIONS:-300}; else ITER=${CRASH_ITERATIONS:-1000}; fi
SEED=${CRASH_SEED:-$((($$ * 7919 + ${EPOCHSECONDS:-0}) % 32768))}
KILL_PCT=${CRASH_KILL_PCT:-50}
RANDOM=$SEED
ag_say "CRASH_ITERATIONS=$ITER CRASH_SEED=$SEED CRASH_KILL_PCT=$KILL_PCT"

POOL=(ca cb)          # accounts failing through PAM and the web
PAM_IP=198.51.100.7   # PAM_RHOST of lane P
WEB_IP=198.51.100.8   # --ip of lane W
NCHAINS=2             # refresh chains rt0, rt1
NENROLL=2             # accounts e0, e1 enrolling again and again
NSUSER=2              # session users s0, s1
UA='Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'

# No delay and no lock in the way: every attempt reaches the store.
ag_setup crash "delay_base = 0" "deny = 100000" "host_deny = 10000000" "fail_window = 1d" \
	"token_keys_dir = $AG_TMP/tkeys" "token_issuer = https://auth.crash.test" \
	"token_audience = api.crash.test" "session_max = 0" "session_touch = 0"
out=$(ag_ctl keygen 2>&1) || ag_bail "authguard-ctl keygen failed: $out"
# Each password check notes its account and run (AG_RUN, a PAM environment
# variable pamtester sets and pam_exec passes on), in one append.
cat >"$AG_TMP/hook" <<EOF
#!/bin/bash
echo "\$PAM_USER \${AG_RUN:-?}" >>'$AG_TMP/reached'
EOF
chmod 755 "$AG_TMP/hook"
: >"$AG_TMP/reached"

# ------------------------------------------------------------- running

# kill_time KIND: sets KILL_AT to a random delay below the usual
# run time of KIND (measured as the test goes), or to "" (no kill).
declare -A AVG
AVG0=10000 # microseconds, a first guess
st_sanitized && AVG0=60000
AVG[P]=$((AVG0 * 3))
kill_time() {
	KILL_AT=
	: "${AVG[$1]:=$AVG0}"
	if [ $((RANDOM % 100)) -lt "$KILL_PCT" ]; then
		st_rand $((AVG[$1] + 1))
		KILL_AT=$ST_R
	fi
}

# learn KIND OUTFILE...: after a run, the usual run time and the checks
# every unkilled run must pass (no sanitizer report, no hang).
learn() {
	local kind=$1 f
	shift
	[ "$ST_KILLED" = 1 ] && return 0
	AVG[$kind]=$(((AVG[$kind] * 7 + ST_DUR) / 8))
	for f in "$@"; do
		case $(<"$f") in
		*Sanitizer* | *"runtime error:"*)
			{ echo "--- $kind"; cat "$f"; } >>"$LANE_DIR/sanitizer" ;;
		esac
	done
}

bad() { echo "BAD $*" >>"$LANE_DIR/rec"; }
rec() { echo "$*" >>"$LANE_DIR/rec"; }

# Lane P: N pamtester runs with a wrong password.
lane_pam() {
	local n=$1 i user out=$LANE_DIR/out
	AG_RHOST=$PAM_IP
	for ((i = 1; i <= n; i++)); do
		user=${POOL[RANDOM % ${#POOL[@]}]}
		kill_time P
		st_pam_lock
		st_pam_snapshot
		st_spawn_pam "$user" "$AG_WRONG" "p$i" "$out"
		st_reap "$KILL_AT"
		[ "$ST_KILLED" = 1 ] && st_pam_clean "$ST_PID"
		st_pam_unlock
		learn P "$out"
		rec "P $user p$i $ST_RC"
		case $ST_RC in
		1 | 137) ;;
		*) bad "pamtester with a wrong password exited $ST_RC: $(tr '\n' ' ' <"$out" | cut -c1-200)" ;;
		esac
	done
	echo "$ST_NHUNG" >"$LANE_DIR/hung"
}

# helper KIND IN BIN ARGS...: one helper run of lane W, maybe killed; its
# stdout in W_OUT.  A run that was not killed must not fail (exit 2 or 3).
helper() {
	local kind=$1 in=$2
	shift 2
	kill_time "$kind"
	st_spawn_helper "$in" "$W_OUT" "$W_ERR" "$@"
	st_reap "$KILL_AT"
	learn "$kind" "$W_ERR"
	if [ "$ST_RC" = 2 ] || [ "$ST_RC" = 3 ] || { [ "$ST_RC" -gt 3 ] && [ "$ST_RC" != 137 ]; }; then
		bad "${*##*/} exited $ST_RC: $(tr '\n' ' ' <"$W_ERR" | cut -c1-200)"
	fi
}

json_field() { # NAME REGEX: sets JF from W_OUT, "" when absent
	JF=
	[[ $(<"$W_OUT") =~ \"$1\":$2 ]] && JF=${BASH_REMATCH[1]}
	return 0
}

op_guard() {
	local user=${POOL[RANDOM % ${#POOL[@]}]} rc1
	if ((RANDOM % 2)); then
		helper GF /dev/null "$AG_TOKEN_BIN" guard failure --subject "$user" --ip "$WEB_IP"
		rec "GF $user $ST_RC"
		return
	fi
	helper GC /dev/null "$AG_TOKEN_BIN" guard check --subject "$user" --ip "$WEB_IP"
	rc1=$ST_RC
	json_field attempt '([0-9]+)'
	if [ "$rc1" != 0 ] || [ -z "$JF" ]; then
		[ "$rc1" = 137 ] || bad "guard check exited $rc1 without an attempt"
		rec "GP $user $rc1 -"
		return
	fi
	helper GA /dev/null "$AG_TOKEN_BIN" guard failure --subject "$user" --ip "$WEB_IP" --attempt "$JF"
	rec "GP $user 0 $ST_RC"
}

declare -A CUR # chain -> its current refresh token
op_refresh() {
	local c=$((RANDOM % NCHAINS)) used old
	local sub=rt$c
	if [ -z "${CUR[$c]:-}" ]; then
		helper RI /dev/null "$AG_TOKEN_BIN" issue --sub "$sub" --refresh
		json_field refresh_token '"(agr_[A-Za-z0-9_-]{43})"'
		[ "$ST_RC" = 0 ] && CUR[$c]=$JF
		rec "RI $sub $ST_RC"
		return
	fi
	if ((RANDOM % 8 == 0)) && [ -s "$LANE_DIR/rotated.$c" ]; then
		# A copy of a token the client already rotated is replayed.
		old=$(tail -n 1 "$LANE_DIR/rotated.$c")
		printf '%s\n' "$old" >"$W_IN"
		helper RX "$W_IN" "$AG_TOKEN_BIN" refresh
		[ "$ST_RC" = 0 ] && bad "a rotated refresh token was accepted again (chain $c)"
		rec "RX $sub $ST_RC"
		CUR[$c]= # the replay ends the family: the client logs in again
		return
	fi
	printf '%s\n' "${CUR[$c]}" >"$W_IN"
	helper RR "$W_IN" "$AG_TOKEN_BIN" refresh
	if [ "$ST_KILLED" = 1 ]; then
		# What the state says decides whether the token is spent.
		used=$(st_sql "SELECT CASE WHEN used_at IS NOT NULL THEN 1 ELSE 0 END FROM refresh_token
			WHERE hash = $(ag_sql_blob "$(st_sha256 "${CUR[$c]}")")$(st_locked_row);")
		case $used in
		1) echo "${CUR[$c]}" >>"$LANE_DIR/spent.$c"; CUR[$c]=; rec "RR $sub 137 committed" ;;
		0) rec "RR $sub 137 rolled-back" ;;
		*) bad "an acknowledged refresh token is missing from the state: $used"; CUR[$c]= ;;
		esac
		return
	fi
	json_field refresh_token '"(agr_[A-Za-z0-9_-]{43})"'
	if [ "$ST_RC" = 0 ] && [ -n "$JF" ]; then
		echo "${CUR[$c]}" >>"$LANE_DIR/rotated.$c"
		CUR[$c]=$JF
	else
		bad "an unused refresh token was refused (exit $ST_RC): $(<"$W_OUT")"
		CUR[$c]=
	fi
	rec "RR $sub $ST_RC"
}

declare -A PEND ACT MAYBE # account -> pending secret, acknowledged one, maybe-confirmed ones
op_enroll() {
	local u=e$((RANDOM % NENROLL)) code
	if [ -z "${PEND[$u]:-}" ]; then
		helper ES /dev/null "$AG_ENROLL_BIN" --user "$u" --json
		json_field secret '"([A-Z2-7]{32})"'
		[ "$ST_RC" = 0 ] && PEND[$u]=$JF
		rec "ES $u $ST_RC"
		return
	fi
	code=$(oathtool --totp -b -N "@$AG_NOW" "${PEND[$u]}")
	printf '%s\n' "$code" >"$W_IN"
	helper EC "$W_IN" "$AG_ENROLL_BIN" --user "$u" --confirm --json
	if [ "$ST_KILLED" = 1 ]; then
		MAYBE[$u]="${MAYBE[$u]:-} ${PEND[$u]}"
	elif [ "$ST_RC" = 0 ] && [[ $(<"$W_OUT") =~ \"enrolled\":true ]] &&
		[[ $(<"$W_OUT") =~ \"backup_codes\":\[(\"[A-Z0-9-]+\",){9}\"[A-Z0-9-]+\"\] ]]; then
		ACT[$u]=${PEND[$u]}
		MAYBE[$u]=
	else
		bad "confirming a pending enrollment failed (exit $ST_RC): $(<"$W_OUT")"
	fi
	rec "EC $u $ST_RC"
	PEND[$u]=
}

LIVE=() # "user id" of sessions created and acknowledged, no end started
op_session() {
	local u=s$((RANDOM % NSUSER)) i e id
	if [ ${#LIVE[@]} -lt 2 ] || { [ $((RANDOM % 3)) = 0 ] && [ ${#LIVE[@]} -lt 12 ]; }; then
		helper SC /dev/null "$AG_TOKEN_BIN" session create --user "$u" --user-agent "$UA"
		json_field session '"(ags_[A-Za-z0-9_-]{43})"'
		[ "$ST_RC" = 0 ] && LIVE+=("$u $JF")
		rec "SC $u $ST_RC"
		return
	fi
	i=$((RANDOM % ${#LIVE[@]}))
	e=${LIVE[$i]}
	id=${e#* }
	printf '%s\n' "$id" >"$W_IN"
	if ((RANDOM % 2)); then
		helper SK "$W_IN" "$AG_TOKEN_BIN" session check --user-agent "$UA"
		case $ST_RC in
		0 | 137) ;;
		*) bad "a live session was refused (exit $ST_RC): $(<"$W_OUT")" ;;
		esac
		rec "SK ${e% *} $ST_RC"
		return
	fi
	LIVE=("${LIVE[@]:0:i}" "${LIVE[@]:i+1}")
	helper SE "$W_IN" "$AG_TOKEN_BIN" session end
	[ "$ST_RC" = 0 ] && echo "$id" >>"$LANE_DIR/ended"
	[ "$ST_KILLED" = 1 ] && echo "$id" >>"$LANE_DIR/ending"
	rec "SE ${e% *} $ST_RC"
}

# Lane W: N helper operations; a quick_check every 100.
lane_web() {
	local n=$1 i r
	W_IN=$LANE_DIR/in W_OUT=$LANE_DIR/out W_ERR=$LANE_DIR/op.err
	for ((i = 1; i <= n; i++)); do
		r=$((RANDOM % 10))
		if [ $r -lt 3 ]; then op_guard
		elif [ $r -lt 5 ]; then op_refresh
		elif [ $r -lt 7 ]; then op_enroll
		else op_session
		fi
		if [ $((i % 100)) = 0 ]; then
			if [ "$AG_STORE" = sqlite ]; then
				r=$(st_sql 'PRAGMA quick_check;')
			else
				r=$(ag_sql_integrity -n)
			fi
			[ "$r" = ok ] || bad "quick_check after $i operations: $r"
		fi
	done
	for i in "${!CUR[@]}"; do
		[ -n "${CUR[$i]}" ] && echo "$i ${CUR[$i]}" >>"$LANE_DIR/current"
	done
	for i in "${!ACT[@]}" "${!MAYBE[@]}"; do
		echo "$i ${ACT[$i]:--}${MAYBE[$i]:-}"
	done | sort -u >"$LANE_DIR/enrolled"
	printf '%s\n' "${LIVE[@]}" >"$LANE_DIR/live"
	echo "$ST_NHUNG" >"$LANE_DIR/hung"
}

T_START=$(st_us)
mkdir "$AG_TMP/P" "$AG_TMP/W"
: >"$AG_TMP/P/rec"
: >"$AG_TMP/W/rec"
(LANE_DIR=$AG_TMP/P; RANDOM=$((SEED + 1)); lane_pam $((ITER * 3 / 10))) &
lane_p=$!
(LANE_DIR=$AG_TMP/W; RANDOM=$((SEED + 2)); lane_web $((ITER - ITER * 3 / 10))) &
lane_w=$!
wait $lane_p
wait $lane_w
ag_say "both lanes done in $((($(st_us) - T_START) / 1000000)) s"
P=$AG_TMP/P W=$AG_TMP/W
cat "$P"/rec "$W"/rec >"$AG_TMP/all.rec"

# ------------------------------------------------------------- numbers

ops=$(grep -vc '^BAD' "$AG_TMP/all.rec")
kills=$(awk '!/^BAD/ { for (i = 3; i <= NF; i++) if ($i == 137) { n++; break } } END { print n + 0 }' \
	"$AG_TMP/all.rec")
ag_say "$ops operations, $kills ended by SIGKILL; per kind (runs, killed):"
awk '!/^BAD/ { n[$1]++; for (i = 3; i <= NF; i++) if ($i == 137) { k[$1]++; break } }
	END { for (t in n) printf "#   %-3s %5d %5d\n", t, n[t], k[t] }' "$AG_TMP/all.rec" | sort
ag_expect_eq "every lane ran all its operations" "$ITER" "$ops"
ag_expect_eq "no run hung" "0 0" "$(cat "$P"/hung) $(cat "$W"/hung)"
bads=$(grep '^BAD' "$AG_TMP/all.rec" | head -n 10)
if [ -z "$bads" ]; then
	ag_pass "every run that was not killed gave the answer the log of acknowledged operations expects"
else
	ag_fail "every run that was not killed gave the answer the log of acknowledged operations expects" \
		"$(grep -c '^BAD' "$AG_TMP/all.rec") violation(s), first ones:" "$bads"
fi
st_expect_no_sanitizer "no sanitizer report from any run that was not killed" "$P"/sanitizer "$W"/sanitizer
ag_expect_eq "no event=error in the captured syslog (a killed process never makes another fail)" "" \
	"$(grep 'event=error' "$AG_LOG" | head -n 3)"

# ------------------------------------------------------------- the state

st_expect_db_sane "after the crashes"
ag_run_ctl status
ag_expect_eq "authguard-ctl status works (exit 0)" 0 "$AG_RC"

# Bounds per account: awk over both lanes' logs and the password checks.
# lo = acknowledged failures, hi = attempts started, k = killed runs that
# may leave an attempt pending.
bounds() { # ACCOUNT
	awk -v u="$1" '
	FILENAME ~ /reached$/ { if ($1 == u) reached[$2] = 1; next }
	$2 != u { next }
	$1 == "P"  { hi++; if ($4 == 137) k++; else if ($4 == 1 && ($3 in reached)) lo++ }
	$1 == "GF" { hi++; if ($3 == 0) lo++ }
	$1 == "GP" { hi++; if ($3 == 137 || $4 == 137) k++; if ($4 == 0) lo++ }
	END { print lo + 0, hi + 0, k + 0 }' "$AG_TMP/reached" "$AG_TMP/all.rec"
}
for u in "${POOL[@]}"; do
	read -r lo hi k < <(bounds "$u")
	read -r n pend < <(st_failures "$u")
	ag_say "$u: $lo acknowledged failures, $hi attempts started, $k killed mid-attempt; state: $n failures, $pend pending"
	if [ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ] && [ "$lo" -gt 0 ]; then
		ag_pass "$u: acknowledged ($lo) <= failures in the state ($n) <= started ($hi)"
	else
		ag_fail "$u: acknowledged ($lo) <= failures in the state ($n) <= started ($hi)"
	fi
	ag_expect_le "$u: pending failures ($pend) only from killed attempts ($k)" "$k" "$pend"
	ag_expect_status "$u: authguard-ctl status --json agrees with the state" "$u" -- \
		failures="$n" pending="$pend"
done
for ipk in "$PAM_IP P" "$WEB_IP G"; do
	read -r ip kind <<<"$ipk"
	read -r lo hi < <(awk -v kind="$kind" '
		FILENAME ~ /reached$/ { reached[$2] = 1; next }
		kind == "P" && $1 == "P" { hi++; if ($4 == 1 && ($3 in reached)) lo++ }
		kind == "G" && $1 == "GF" { hi++; if ($3 == 0) lo++ }
		kind == "G" && $1 == "GP" { hi++; if ($4 == 0) lo++ }
		END { print lo + 0, hi + 0 }' "$AG_TMP/reached" "$AG_TMP/all.rec")
	n=$(st_sql "SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id
		WHERE s.kind = 2 AND s.name = '$ip';")
	if [ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ]; then
		ag_pass "address $ip: acknowledged ($lo) <= failures in the state ($n) <= started ($hi)"
	else
		ag_fail "address $ip: acknowledged ($lo) <= failures in the state ($n) <= started ($hi)"
	fi
done

# Refresh tokens: the newest of a chain still works; each rotated or spent
# one is refused (which also ends its family); no token ever got two
# successors.
if [ -s "$W"/current ]; then
	read -r c t <"$W"/current
	ag_run_token refresh <<<"$t"
	ag_expect_eq "the newest token of chain $c (never presented) still refreshes" 0 "$AG_RC"
fi
nrot=0 nrefused=0 unused=()
for f in "$W"/rotated.* "$W"/spent.*; do
	[ -f "$f" ] || continue
	while read -r t; do
		nrot=$((nrot + 1))
		h=$(st_sha256 "$t")
		[ "$(st_sql "SELECT CASE WHEN used_at IS NOT NULL THEN 1 ELSE 0 END FROM refresh_token
			WHERE hash = $(ag_sql_blob "$h");")" = 1 ] ||
			unused+=("${f##*/}: token $nrot not marked used")
		ag_run_token refresh <<<"$t"
		[ "$AG_RC" = 1 ] && [[ $AG_JSON =~ \"reason\":\"(reused|revoked)\" ]] && nrefused=$((nrefused + 1))
	done <"$f"
done
ag_say "$nrot refresh tokens rotated (acknowledged, or committed before the kill)"
ag_expect_eq "every one is marked used in the state" "" "${unused[*]}"
ag_expect_eq "every one is refused when presented again (reused or revoked)" "$nrot" "$nrefused"
ag_expect_eq "no refresh token has two successors" "" \
	"$(st_sql 'SELECT hex(parent), count(*) FROM refresh_token WHERE parent IS NOT NULL
		GROUP BY parent HAVING count(*) > 1 LIMIT 3;')"

# Enrollments: move to a later time step, then exactly one candidate -- the
# acknowledged secret or one confirmed by a killed run after it -- verifies.
AG_NOW=$((AG_T0 + 300))
while read -r u act maybe; do
	nvalid=0
	for s in $act $maybe; do
		[ "$s" = - ] && continue
		ag_run_token mfa verify --user "$u" <<<"$(oathtool --totp -b -N "@$AG_NOW" "$s")"
		[ "$AG_RC" = 0 ] && nvalid=$((nvalid + 1))
	done
	if [ "$act" = - ]; then # never acknowledged: enrolled or not
		ag_expect_le "$u: at most one of the secrets confirmed by killed runs verifies" 1 "$nvalid"
	else
		ag_expect_eq "$u: exactly one of the secrets that may be active verifies" 1 "$nvalid"
	fi
	[ "$nvalid" = 1 ] || continue
	ag_run_enroll --user "$u" --status --json </dev/null
	ag_expect_true "$u: enrolled, with all 10 backup codes (confirm is one transaction)" \
		eval '[[ $AG_JSON =~ \"enrolled\":true ]] && [[ $AG_JSON =~ \"backup_codes_left\":10 ]]'
done <"$W"/enrolled

# Sessions: acknowledged and never ended ones are valid, ended ones unknown.
nlive=0 nok=0
while read -r u id; do
	[ -n "$id" ] || continue
	nlive=$((nlive + 1))
	ag_run_token session check --user-agent "$UA" <<<"$id"
	[ "$AG_RC" = 0 ] && nok=$((nok + 1))
done <"$W"/live
ag_expect_eq "all $nlive live acknowledged sessions are valid" "$nlive" "$nok"
nend=0 ngone=0
if [ -f "$W"/ended ]; then
	while read -r id; do
		nend=$((nend + 1))
		ag_run_token session check --user-agent "$UA" <<<"$id"
		[ "$AG_RC" = 1 ] && [[ $AG_JSON =~ \"reason\":\"unknown\" ]] && ngone=$((ngone + 1))
	done <"$W"/ended
fi
ag_expect_eq "all $nend acknowledged ends are final (unknown)" "$nend" "$ngone"

# ------------------------------------------------------------- still usable

AG_RHOST=$PAM_IP
ag_attempt "a fresh account logs in through PAM" fresh "$AG_RIGHT" 0 1
ag_attempt "ca logs in with the right password" ca "$AG_RIGHT" 0 1
ag_expect_status "... which clears its failures" ca -- failures=0 pending=0
ag_run_token guard check --subject web-fresh --ip "$WEB_IP"
att=$(ag_jget "$AG_JSON" attempt)
ag_run_token guard success --subject web-fresh --ip "$WEB_IP" --attempt "$att"
ag_expect_eq "a web login (check, success) works" 0 "$AG_RC"
ag_run_token issue --sub fresh --refresh </dev/null
ag_expect_eq "a token is issued" 0 "$AG_RC"
ag_run_ctl purge
ag_expect_eq "authguard-ctl purge works" 0 "$AG_RC"
st_expect_db_sane "at the end"
ag_done
