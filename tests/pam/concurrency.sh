#!/bin/bash
# Concurrency: parallel attempts cannot get more password checks than the
# policy allows, and no count is ever lost.
#   1. 50 pamtester processes for one account released at the same moment
#      (wrong password), delay_base 0: at most 10 reach the password check,
#      and the account ends up locked with exactly those failures.
#   2. The same with the default delays: the first attempt's pending delay
#      holds the others back, so exactly one is checked.
#   3. 32 processes x 100 failures each through authguard-token guard
#      (half "failure" alone, half "check" + "failure --attempt"): the
#      account and host counts are exactly 3200.
# pam_wrapper allows ~62 wrapped processes at once; 50 stays below that.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init
command -v flock >/dev/null 2>&1 || ag_bail "flock (util-linux) not found"

# burst N USER PASSWORD: N pamtester processes, each from its own address
# 10.77.<i/250>.<i%250+1>, all waiting on one lock and released together.
# Leaves each exit status in $AG_TMP/burst/rc.<i>.
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
			AG_RHOST=10.77.$((i / 250)).$((i % 250 + 1))
			ag_pamtester "$user" "$pw" >"$AG_TMP/burst/out.$i" 2>&1
			echo $? >"$AG_TMP/burst/rc.$i"
		) &
	done
	flock -u 9
	exec 9>&-
	wait
}

burst_rcs() { # distinct exit codes with their counts, e.g. "50x1"
	cat "$AG_TMP"/burst/rc.* | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = " " }'
}

# burst_verify N USER: each run has its own address, so its module decision
# can be found in the log: exactly one auth_fail or auth_refused line per
# run.  pam_wrapper 1.1.4 races when many processes start at once (two
# pick the same /tmp/pam.X, or one takes another's half-made directory for
# a stale one); such a run prints PWRAP_ERROR and may never reach the
# module.  Those runs are counted as disturbed and reported; any other run
# without exactly one decision is a failure.  Sets ran and disturbed.
burst_verify() {
	local n=$1 user=$2 i ip k problems=()
	ran=0
	disturbed=0
	ag_log_last | grep -E "event=auth_(fail|refused) user=$user " |
		grep -o 'rhost=[^ ]*' | sort | uniq -c >"$AG_TMP/burst/decisions"
	for i in $(seq 1 "$n"); do
		ip=10.77.$((i / 250)).$((i % 250 + 1))
		k=$(awk -v ip="rhost=$ip" '$2 == ip { print $1 }' "$AG_TMP/burst/decisions")
		if [ "${k:-0}" = 1 ]; then
			ran=$((ran + 1))
		elif [ "${k:-0}" = 0 ]; then
			# pam_wrapper 1.1.4 can hand two processes started in the same
			# instant one /tmp/pam.X directory; the loser then never loads
			# the module (with or without a PWRAP_ERROR line).  Such a run
			# is refused by libpam itself and never reaches the password
			# check, which the counter file above proves independently.
			disturbed=$((disturbed + 1))
		else
			problems+=("run $i ($ip): ${k:-0} decisions logged; output: $(tr '\n' ' ' <"$AG_TMP/burst/out.$i" | cut -c1-200)")
		fi
	done
	if [ ${#problems[@]} -eq 0 ]; then
		ag_pass "each of the $n runs logged exactly one decision ($disturbed disturbed by pam_wrapper start-up races)"
	else
		ag_fail "each of the $n runs logged exactly one decision" "${problems[@]}"
	fi
	[ "$disturbed" -eq 0 ] || ag_say "pam_wrapper start-up races kept $disturbed run(s) from the module"
	if [ "$ran" -lt $((n / 2)) ]; then
		ag_bail "only $ran of $n runs reached the module: pam_wrapper could not start them"
	fi
}

ag_say "1. 50 simultaneous wrong passwords, delay_base 0"
ag_setup burst0 "delay_base = 0"
mark=$(ag_log_lines)
ag_pwrap_exclusive burst 50 alice "$AG_WRONG"
AG_LOG_MARK=$mark
checked=$(ag_count)
ag_say "password checks run: $checked"
ag_expect_eq "all 50 pamtester runs exit 1" "50x1" "$(burst_rcs)"
ag_expect_le "at most 10 attempts reached the password check" 10 "$checked"
burst_verify 50 alice
ag_expect_eq "the log has one auth_fail line per password check" "$checked" \
	"$(ag_log_last | grep -c 'event=auth_fail user=alice ')"
# Refused while the ten were still in flight: busy (no lock yet); after
# the tenth failure was settled: locked.
ag_expect_eq "every other attempt that reached the module was refused as busy or locked" \
	"$((ran - checked))" \
	"$(ag_log_last | grep -Ec 'event=auth_refused user=alice .*reason=(busy|locked) scope=account')"
ag_expect_no_log "no store errors (busy, locked) under contention" 'event=error'
ag_expect_eq "exactly one event=lock" 1 "$(ag_log_last | grep -c 'event=lock scope=account user=alice ')"
ag_expect_status "status: locked, with as many failures as password checks" alice -- \
	failures="$checked" pending=0 locked=true
ag_expect_eq "and that is exactly deny (10)" 10 "$checked"
AG_RHOST=10.77.9.9
ag_attempt "the right password is refused afterwards" alice "$AG_RIGHT" 1 0

ag_say "2. 50 simultaneous wrong passwords, default delays"
ag_setup burstdelay # defaults
ag_reset_count
mark=$(ag_log_lines)
ag_pwrap_exclusive burst 50 bob "$AG_WRONG"
AG_LOG_MARK=$mark
checked=$(ag_count)
ag_say "password checks run: $checked"
ag_expect_eq "all 50 pamtester runs exit 1" "50x1" "$(burst_rcs)"
ag_expect_le "at most 10 attempts reached the password check" 10 "$checked"
ag_expect_eq "exactly 1 did: the first attempt's pending delay refuses the rest at that instant" 1 "$checked"
burst_verify 50 bob
ag_expect_eq "the others were refused as too early" "$((ran - checked))" \
	"$(ag_log_last | grep -c 'event=auth_refused user=bob .*reason=delay scope=account')"
ag_expect_no_log "no store errors under contention" 'event=error'
ag_expect_status "status: failures equal the password checks" bob -- failures="$checked" pending=0

ag_say "3. 32 processes x 100 failures through authguard-token guard"
ag_setup web "deny = 100000" "host_deny = 10000000" "delay_base = 0" "fail_window = 1d"
mkdir "$AG_TMP/web"
: >"$AG_TMP/barrier"
exec 9>"$AG_TMP/barrier"
flock -x 9
for w in $(seq 1 32); do
	(
		exec 9>&-
		flock -s "$AG_TMP/barrier" true
		nfailed=0
		for i in $(seq 1 100); do
			if [ $((w % 2)) = 0 ]; then
				ag_token guard failure --subject carol --ip 203.0.113.77 >/dev/null 2>>"$AG_TMP/web/err.$w" ||
					nfailed=$((nfailed + 1))
			else
				out=$(ag_token guard check --subject carol --ip 203.0.113.77 2>>"$AG_TMP/web/err.$w")
				if [[ $out =~ \"attempt\":([0-9]+) ]]; then
					attempt=${BASH_REMATCH[1]}
				else
					nfailed=$((nfailed + 1))
					continue
				fi
				ag_token guard failure --subject carol --ip 203.0.113.77 --attempt "$attempt" \
					>/dev/null 2>>"$AG_TMP/web/err.$w" || nfailed=$((nfailed + 1))
			fi
		done
		echo "$nfailed" >"$AG_TMP/web/failed.$w"
	) &
done
flock -u 9
exec 9>&-
wait
nfailed=$(cat "$AG_TMP"/web/failed.* | awk '{ s += $1 } END { print s + 0 }')
ag_expect_eq "all 32 workers finished" 32 "$(ls "$AG_TMP"/web/failed.* | wc -l | tr -d ' ')"
ag_expect_eq "no helper call failed" 0 "$nfailed"
if [ "$nfailed" != 0 ]; then
	ag_say "helper errors: $(cat "$AG_TMP"/web/err.* | sort | uniq -c | head -n 5)"
fi
ag_expect_status "status --json: exactly 3200 failures for the account, none pending" carol -- \
	failures=3200 pending=0 locked=false
ag_expect_status "status --json --ip: exactly 3200 failures for the host" --ip 203.0.113.77 -- \
	failures=3200 pending=0 locked=false
ag_expect_eq "sqlite agrees: 3200 failure rows for the account" 3200 \
	"$(sqlite3 "$AG_DB" "SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id WHERE s.kind = 1 AND s.name = 'carol';")"

ag_done
