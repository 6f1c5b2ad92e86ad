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
#      account and host counts are exactly the acknowledged failures plus
#      the counted checks (3200 on a machine that is not overloaded).
# The checks hold whatever the machine's load: what may vary is only how
# many calls a busy state refuses (a check after busy_timeout, a failure
# after 15 s), and a refused call writes nothing.  The bursts of 1 and 2
# run with busy_timeout = 60s (their point is the count, not the wait).
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
ag_timeout=120 # a pamtester run on a loaded machine; the waits are bounded below
ag_setup burst0 "delay_base = 0" "busy_timeout = 60s"
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
ag_setup burstdelay "busy_timeout = 60s" # otherwise the defaults
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
		# fo: "failure" alone (tried, acknowledged); ck: checks that
		# counted an attempt; st: their "failure --attempt" acknowledged;
		# busy: calls refused as busy (AG_BUSY_RE); other: any other
		# error.  A refused call writes nothing (its transaction never
		# began), so the state must hold exactly what was acknowledged.
		fo_try=0 fo_ack=0 ck=0 st=0 busy=0 other=0
		last=$AG_TMP/web/last.$w
		failed() {
			if grep -Eq "$AG_BUSY_RE" "$last"; then
				busy=$((busy + 1))
			else
				other=$((other + 1))
			fi
			cat "$last" >>"$AG_TMP/web/err.$w"
		}
		for i in $(seq 1 100); do
			if [ $((w % 2)) = 0 ]; then
				fo_try=$((fo_try + 1))
				if ag_token guard failure --subject carol --ip 203.0.113.77 >/dev/null 2>"$last"; then
					fo_ack=$((fo_ack + 1))
				else
					failed
				fi
			else
				if ! out=$(ag_token guard check --subject carol --ip 203.0.113.77 2>"$last"); then
					failed
					continue
				fi
				if [[ $out =~ \"attempt\":([0-9]+) ]]; then
					ck=$((ck + 1))
				else
					other=$((other + 1))
					continue
				fi
				if ag_token guard failure --subject carol --ip 203.0.113.77 \
					--attempt "${BASH_REMATCH[1]}" >/dev/null 2>"$last"; then
					st=$((st + 1))
				else
					failed
				fi
			fi
		done
		echo "$fo_try $fo_ack $ck $st $busy $other" >"$AG_TMP/web/counts.$w"
	) &
done
flock -u 9
exec 9>&-
wait
read -r fo_try fo_ack ck st busy other < <(cat "$AG_TMP"/web/counts.* |
	awk '{ for (i = 1; i <= 6; i++) s[i] += $i } END { print s[1]+0, s[2]+0, s[3]+0, s[4]+0, s[5]+0, s[6]+0 }')
ag_say "failure alone: $fo_try tried, $fo_ack acknowledged; check: $ck counted, $st settled;" \
	"$busy call(s) refused as busy"
ag_expect_eq "all 32 workers finished" 32 "$(ls "$AG_TMP"/web/counts.* | wc -l | tr -d ' ')"
ag_expect_eq "no call failed but for a busy state (database is locked, or conflicting)" 0 "$other"
if [ "$other" != 0 ] || [ "$busy" != 0 ]; then
	ag_say "helper errors: $(cat "$AG_TMP"/web/err.* | sort | uniq -c | head -n 5)"
fi
ag_expect_eq "1600 calls of guard failure alone were made" 1600 "$fo_try"
# Whatever the load: every acknowledged failure and every counted check is
# in the state, and nothing else; an attempt whose settlement was refused
# stays counted as in flight.  Without load: 3200 failures, none pending.
ag_expect_status "status --json: the account holds every acknowledged failure ($((fo_ack + ck)), $((ck - st)) pending)" \
	carol -- failures=$((fo_ack + ck)) pending=$((ck - st)) locked=false
ag_expect_status "status --json --ip: so does the host" --ip 203.0.113.77 -- \
	failures=$((fo_ack + ck)) pending=$((ck - st)) locked=false
ag_expect_eq "the state agrees: $((fo_ack + ck)) failure rows for the account" $((fo_ack + ck)) \
	"$(ag_sql "SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id WHERE s.kind = 1 AND s.name = 'carol';")"
if [ "$fo_ack $st" != "$fo_try $ck" ]; then
	ag_say "$((fo_try - fo_ack + ck - st)) failure(s) waited more than 15 s for the state and" \
		"were refused (exit 3, nothing recorded): the machine is overloaded"
fi

ag_done
