# Shared code of the fault-injection tests (tests/fault/*.sh).  Sourced
# after tests/pam/lib.sh and ag_init; fi_init first.
#
# A scenario is one operation -- a pamtester run of the real module, one
# run of a real helper -- started from a saved copy of the state file, whose
# fault-free answer is known: deny or allow.  fi_sweep runs it again and
# again with tests/lib/fault_inject.so preloaded, the Nth library call our
# code makes failing (malloc, open, read, sqlite3_step, json_pack, ...),
# N = 1, 2, ... until the fault no longer fires: first with that one call
# failing, then with every call from the Nth on failing (a disk or a lock
# that stays bad; SQLite then answers SQLITE_BUSY).  After every run:
#
#   - no crash: no signal, no timeout, no sanitizer report;
#   - a deny stays a deny (exit status non-zero, and no "valid":true or
#     "allowed":true in a helper's output);
#   - an allow may turn into a deny, but only with a reason: exactly one
#     event=error line from the module; a helper exits 2 or 3 (never 1,
#     "rejected", which would blame the client) with a message on stderr;
#   - the state file passes PRAGMA integrity_check, and the numbers the
#     scenario probes obey its rules against the saved state.
#
# With PostgreSQL (AG_STORE=postgresql) the saved state is a copy of the
# schema's tables (fi_snapshot), put back before every run; the calls
# counted are those of the program and of the back end it loads
# (store-postgresql.so): libpq's calls that talk to the server fail as a
# broken connection would (tests/lib/fault_inject.c), and malloc, poll and
# the rest as they do with SQLite.  The server keeps its own storage
# consistent whatever a client does, so the check of the state is the
# scenario's rules (and the foreign keys, which the server enforces).
#
# Under AddressSanitizer (AG_PRELOAD_EXTRA set) the malloc family is not
# interposed (ASan owns the allocator); every other function still is.

FI_SHIM=$top_builddir/tests/lib/.libs/fault_inject.so
FI_MAX=${FI_MAX:-400} # fault points per sweep before it counts as endless
# The sweeps each scenario runs: "once" (only the Nth call fails) and
# "from" (the Nth and every later call fail).  FI_MODES=once halves the
# time of a pass that must be short; the single faults still reach every
# call.
FI_MODES=${FI_MODES:-once from}
FI_CALLS=
FI_POINTS=0           # fault points swept in this test
FI_ONCE=0             # ... of them with a single failing call
FI_SCENARIOS=0
FI_FIRED=" "          # every function a fault was injected into
FI_CHECK=             # see fi_sweep
FI_STATE= FI_VERDICT= FI_PROBLEM= FI_FN= FI_NCALLS= FI_MODE=
FI_T0=$SECONDS

fi_init() {
	[ "${AG_VALGRIND:-0}" != 1 ] ||
		ag_skip "thousands of runs under valgrind would take hours: run without AG_VALGRIND"
	[ -f "$FI_SHIM" ] || ag_bail "fault shim not built: $FI_SHIM (make check builds it)"
	local m
	[ -n "${FI_MODES// /}" ] || ag_bail "FI_MODES is empty"
	for m in $FI_MODES; do
		case $m in
		once | from) ;;
		*) ag_bail "FI_MODES must name once, from or both, not '$FI_MODES'" ;;
		esac
	done
	[ "$FI_MODES" = "once from" ] || ag_say "FI_MODES=$FI_MODES: only these sweeps run"
	[ "$AG_STORE" != sqlite ] || command -v sqlite3 >/dev/null 2>&1 ||
		ag_bail "sqlite3 (the command-line shell) is required (apt-get install sqlite3)"
	FI_CALLS="open,openat,read,write,fstat,fstatat,lstat,stat,fsync,fchmod,fchown,flock"
	FI_CALLS="$FI_CALLS,link,linkat,unlink,unlinkat,rename,renameat,mkdir,fdopendir,readdir"
	FI_CALLS="$FI_CALLS,getrandom,getpwnam_r,__getdelim,sodium_init,sodium_malloc"
	FI_CALLS="$FI_CALLS,sodium_allocarray,sqlite3_open_v2,sqlite3_prepare_v2"
	FI_CALLS="$FI_CALLS,sqlite3_prepare_v3,sqlite3_step,sqlite3_exec,json_loadb,json_loadf"
	FI_CALLS="$FI_CALLS,json_dumps,json_dumpf,json_pack,json_object,json_array,json_string"
	if [ "$AG_STORE" = postgresql ]; then
		FI_CALLS="$FI_CALLS,PQconnectStartParams,PQconnectPoll,PQsetnonblocking,PQsendQuery"
		FI_CALLS="$FI_CALLS,PQsendPrepare,PQsendQueryPrepared,PQflush,PQconsumeInput"
		FI_CALLS="$FI_CALLS,PQgetResult,poll"
	fi
	if [ -n "$AG_PRELOAD_EXTRA" ]; then
		ag_say "sanitizer runtime preloaded: malloc and calloc are NOT failed (ASan owns" \
			"the allocator); every other function is"
	else
		FI_CALLS="malloc,calloc,$FI_CALLS"
	fi
}

# fi_snapshot: the current state becomes the one every run starts from.
# PostgreSQL: every table of the state's schema is copied into a schema
# of its own, and the statement that puts them back (with the identity
# sequences where they were) is written to fi-restore.sql.
fi_snapshot() {
	if [ "$AG_STORE" = postgresql ]; then
		fi_pg_snapshot
		return
	fi
	sqlite3 -batch "$AG_DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null ||
		ag_bail "cannot checkpoint $AG_DB"
	cp -p "$AG_DB" "$AG_TMP/fi-snapshot.db" || ag_bail "cannot copy $AG_DB"
}

fi_pg_snapshot() {
	local schema snap tables t copy= put= seqs out
	schema=$(ag_pg_schema "$AG_DB")
	snap=${schema}_fi
	tables=$(ag_sql "SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1") ||
		ag_bail "cannot list the tables of $schema"
	for t in $tables; do
		copy="$copy CREATE TABLE $snap.$t AS SELECT * FROM $schema.$t;"
		put="$put INSERT INTO $schema.$t SELECT * FROM $snap.$t;"
	done
	seqs=$(ag_sql "SELECT format('PERFORM setval(%L, %s, %s);', schemaname || '.' || sequencename,
		coalesce(last_value, 1), (last_value IS NOT NULL)::text) FROM pg_sequences
		WHERE schemaname = current_schema()") || ag_bail "cannot read the sequences of $schema"
	out=$(ag_sql "DROP SCHEMA IF EXISTS $snap CASCADE; CREATE SCHEMA $snap; $copy" 2>&1) ||
		ag_bail "cannot copy the state: $out"
	# (foreign keys: the tables come back in any order; DELETE, not
	# TRUNCATE, which makes new files for every table: 5 times slower
	# for these few rows)
	printf '%s\n' "SET session_replication_role = replica; BEGIN;" \
		"$(printf 'DELETE FROM %s;\n' $(printf '%s\n' $tables | sed "s/^/$schema./"))" \
		"$put" "DO \$\$ BEGIN $seqs END \$\$;" "COMMIT;" >"$AG_TMP/fi-restore.sql"
	FI_RESTORED=0
}

# Emptying the WAL (not deleting it: that takes a process) is enough: the
# next connection, the only one, rebuilds the -shm index.
# PostgreSQL: fi_probe puts the saved state back right after its query,
# in the same psql (one process less per run); then there is nothing
# left to do here.
FI_RESTORED=0
fi_restore() {
	local out
	if [ "$AG_STORE" = postgresql ]; then
		if [ "$FI_RESTORED" = 1 ]; then
			FI_RESTORED=0
			return
		fi
		out=$(ag_pg_psql "$ag_pgdb" "" -c "$FI_PG_SETTLE" -f "$AG_TMP/fi-restore.sql" \
			2>&1 >/dev/null) ||
			ag_bail "cannot restore the state: $out"
		return
	fi
	: >"$AG_DB-wal"
	: >"$AG_DB-shm"
	cp -p "$AG_TMP/fi-snapshot.db" "$AG_DB"
}

# fi_probe SQL: FI_STATE = "ok" from PRAGMA integrity_check, then SQL's row.
# PostgreSQL: first it waits until the server has ended the run's session
# (a program that exits right after queueing a COMMIT -- its flush faulted
# -- is committed a moment later, and that commit must land before the
# probe, not after the state is put back); then "ok" when no row breaks a
# foreign key (the server keeps its storage consistent), SQL's row, and
# the saved state is put back (see fi_restore).
FI_PG_SETTLE="DO \$\$ BEGIN FOR i IN 1 .. 3000 LOOP
	PERFORM pg_stat_clear_snapshot();
	EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'authguard');
	PERFORM pg_sleep(0.01); END LOOP; END \$\$;"
fi_probe() {
	if [ "$AG_STORE" = postgresql ]; then
		FI_STATE=$(PGOPTIONS="-c search_path=$(ag_pg_schema "$AG_DB"),public" \
			ag_pg_psql "$ag_pgdb" "" -c "$FI_PG_SETTLE" \
			-c "SELECT CASE WHEN EXISTS (SELECT 1 FROM failure f
				WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = f.subject_id))
			OR EXISTS (SELECT 1 FROM backup_code b
				WHERE NOT EXISTS (SELECT 1 FROM mfa m WHERE m.account = b.account))
			OR EXISTS (SELECT 1 FROM refresh_token t
				WHERE NOT EXISTS (SELECT 1 FROM refresh_family r WHERE r.id = t.family_id))
			THEN 'foreign key broken' ELSE 'ok' END; $1" -f "$AG_TMP/fi-restore.sql" 2>&1) ||
			ag_bail "cannot probe and restore the state: $FI_STATE"
		FI_RESTORED=1
	else
		FI_STATE=$(sqlite3 -batch "$AG_DB" "PRAGMA integrity_check; $1" 2>&1)
	fi
	FI_STATE=${FI_STATE//$'\n'/ }
}

# fi_run OBJECT RUN AT MODE: RUN (a function starting one process through
# tests/pam/lib.sh) with the shim first in LD_PRELOAD, counting the calls
# OBJECT (the module's or a helper's path) makes; the AT-th fails (0: none).
# Sets FI_FN (the function the fault hit, "" when it did not fire) and
# FI_NCALLS (the calls counted) from the shim's report.
fi_run() {
	local object=$1 run=$2 at=$3 mode=$4 extra=$AG_PRELOAD_EXTRA line
	local env=(${AG_ENV[@]+"${AG_ENV[@]}"}) runas=(${AG_RUNAS[@]+"${AG_RUNAS[@]}"}) sql=
	[ "$mode" = from ] && sql=busy
	FI_RESTORED=0 # the run changes the state
	FI_MODE=$mode # for an FI_CHECK function
	: >"$AG_TMP/fi.report"
	AG_JSON= AG_OUT=
	AG_PRELOAD_EXTRA=$FI_SHIM${extra:+:$extra}
	# (with PostgreSQL, the back end the program loads counts too)
	[ "$AG_STORE" = sqlite ] || object="$object,store-postgresql"
	AG_ENV+=(AG_FAULT_REPORT="$AG_TMP/fi.report" AG_FAULT_OBJECT="$object"
		AG_FAULT_CALLS="$FI_CALLS" AG_FAULT_AT="$at" AG_FAULT_MODE="$mode"
		AG_FAULT_SQLITE="$sql")
	# The shim must come before the sanitizer runtime (see fault_inject.c).
	[ -n "$extra" ] && AG_ENV+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	# A helper that hangs is a failure too (pamtester has its own timeout).
	AG_RUNAS=(timeout 60 ${runas[@]+"${runas[@]}"})
	"$run"
	AG_PRELOAD_EXTRA=$extra
	AG_ENV=(${env[@]+"${env[@]}"})
	AG_RUNAS=(${runas[@]+"${runas[@]}"})
	FI_FN= FI_NCALLS=
	while read -r line; do
		case $line in
		"fired "*) FI_FN=${line##* } ;;
		"calls "*) FI_NCALLS=${line#calls } ;;
		esac
	done <"$AG_TMP/fi.report"
}

# fi_verdict: FI_VERDICT = allow, deny, or "crash: WHY" for the last run.
fi_verdict() {
	case $AG_OUT in
	*AddressSanitizer* | *LeakSanitizer* | *"runtime error:"* | *UndefinedBehaviorSanitizer*)
		FI_VERDICT="crash: sanitizer report: $(printf '%s' "$AG_OUT" | grep -m1 -E 'Sanitizer|runtime error')"
		;;
	*)
		if [ "$AG_RC" -ge 124 ]; then
			FI_VERDICT="crash: exit status $AG_RC (signal or timeout)"
		elif [ "$AG_RC" = 0 ] || [[ $AG_JSON =~ \"(valid|allowed)\":\ ?true ]]; then
			FI_VERDICT=allow
		else
			FI_VERDICT=deny
		fi
		;;
	esac
}

# fi_rules RULES BEFORE AFTER: appends to FI_PROBLEM unless every
# |-separated field of AFTER obeys its rule against BEFORE.  Rules: same,
# inc01 (same or one more), ge, le, any.
fi_rules() {
	local rules=($1) b a i bad=
	case $3 in ok\ * | ok) ;; *) FI_PROBLEM="$FI_PROBLEM integrity_check: $3;"; return ;; esac
	IFS='|' read -r -a b <<<"${2#ok }"
	IFS='|' read -r -a a <<<"${3#ok }"
	for i in "${!rules[@]}"; do
		case ${rules[$i]} in
		same) [ "${a[$i]-}" = "${b[$i]-}" ] ;;
		inc01) [ "${a[$i]-}" = "${b[$i]-}" ] || [ "${a[$i]-x}" = "$((b[$i] + 1))" ] ;;
		ge) [ "${a[$i]-0}" -ge "${b[$i]-0}" ] 2>/dev/null ;;
		le) [ "${a[$i]-0}" -le "${b[$i]-0}" ] 2>/dev/null ;;
		*) true ;;
		esac || bad="$bad field $((i + 1)) ${rules[$i]}: ${b[$i]-?} -> ${a[$i]-?};"
	done
	[ -z "$bad" ] || FI_PROBLEM="$FI_PROBLEM state:$bad"
}

# fi_check EXPECT KIND BEFORE RULES PROBE: FI_PROBLEM = what is wrong with
# the last run ("" when nothing).  KIND pam or helper.
fi_check() {
	local expect=$1 kind=$2 before=$3 rules=$4 probe=$5 n
	FI_PROBLEM=
	fi_verdict
	case $FI_VERDICT in
	crash*) FI_PROBLEM=" $FI_VERDICT;" ;;
	allow) [ "$expect" = allow ] ||
		FI_PROBLEM=" a deny became an allow (exit $AG_RC, output ${AG_JSON:0:200});" ;;
	deny)
		if [ "$expect" = allow ] && [ "$kind" = pam ]; then
			n=$(ag_log_last | grep -c 'event=error .*; access denied$')
			[ "$n" = 1 ] || FI_PROBLEM=" denied with $n event=error lines: $(ag_log_last | tr '\n' '|' | cut -c1-300);"
		elif [ "$expect" = allow ]; then
			{ [ "$AG_RC" = 2 ] || [ "$AG_RC" = 3 ]; } && [ -n "$AG_OUT" ] ||
				FI_PROBLEM=" denied with exit $AG_RC and stderr '${AG_OUT:0:200}' (want 2 or 3 and a message);"
		fi
		;;
	esac
	fi_probe "$probe"
	fi_rules "$rules" "$before" "$FI_STATE"
	if [ -n "$FI_CHECK" ]; then
		n=$("$FI_CHECK" "$before" "$FI_STATE")
		[ -z "$n" ] || FI_PROBLEM="$FI_PROBLEM $n;"
	fi
}

# fi_sweep NAME EXPECT KIND OBJECT RUN PROBE RULES: the fault-free run, then
# the two sweeps, one check each (failures list the first few N).  FI_CHECK,
# when set, names a function called with the probes before and after each
# run, printing what is wrong (rules across fields).  The state file is the
# saved one again afterwards.
fi_sweep() {
	local name=$1 expect=$2 kind=$3 object=$4 run=$5 probe=$6 rules=$7
	local before calls mode n funcs bad nbad f desc retry
	fi_restore
	fi_probe "$probe"
	before=$FI_STATE
	fi_run "$object" "$run" 0 once
	calls=${FI_NCALLS:-0}
	fi_check "$expect" "$kind" "$before" "$rules" "$probe"
	if [ "$FI_VERDICT" = "$expect" ] && [ -z "$FI_PROBLEM" ] && [ "$calls" -gt 0 ]; then
		ag_pass "$name: fault-free run: $expect, state rules hold ($calls calls counted)"
	else
		ag_fail "$name: fault-free run: $expect, state rules hold, calls counted" \
			"verdict $FI_VERDICT, $calls calls counted;$FI_PROBLEM" \
			"output: $(printf '%s %s' "$AG_JSON" "$AG_OUT" | tr '\n' ' ' | cut -c1-300)"
		return
	fi
	for mode in $FI_MODES; do
		n=0 nbad=0 bad=() funcs=" "
		while :; do
			n=$((n + 1))
			[ "$n" -le "$FI_MAX" ] || break
			fi_restore
			fi_run "$object" "$run" "$n" "$mode"
			# Short of the fault-free run's count, a run the fault did
			# not reach was cut short by something else (a machine so
			# loaded that a store timeout struck): run it again, twice
			# at most, before the sweep counts it as its end.
			for retry in 1 2; do
				[ -z "$FI_FN" ] && [ "$n" -le "$calls" ] || break
				ag_say "$name: N=$n: the fault did not fire after ${FI_NCALLS:-?} of $calls" \
					"calls (exit $AG_RC: $(printf '%s %s' "$AG_JSON" "$AG_OUT" |
						tr '\n' ' ' | cut -c1-160)); running it again"
				fi_restore
				fi_run "$object" "$run" "$n" "$mode"
			done
			[ -n "$FI_FN" ] || break
			[[ $funcs == *" $FI_FN "* ]] || funcs="$funcs$FI_FN "
			fi_check "$expect" "$kind" "$before" "$rules" "$probe"
			if [ -n "$FI_PROBLEM" ]; then
				nbad=$((nbad + 1))
				[ ${#bad[@]} -ge 5 ] || bad+=("N=$n ($FI_FN):$FI_PROBLEM")
			fi
		done
		n=$((n - 1))
		FI_POINTS=$((FI_POINTS + n))
		[ "$mode" = from ] || FI_ONCE=$((FI_ONCE + n))
		for f in $funcs; do
			[[ $FI_FIRED == *" $f "* ]] || FI_FIRED="$FI_FIRED$f "
		done
		set -- $funcs
		desc="$name: $n $([ $mode = once ] && echo "single faults" || echo "persistent faults (from the Nth call on)")"
		if [ "$n" -ge "$FI_MAX" ]; then
			ag_fail "$desc: the sweep ends" "the fault still fired at N=$FI_MAX (FI_MAX)"
		elif [ "$nbad" -eq 0 ] && [ "$n" = "$calls" ]; then
			ag_pass "$desc:$([ "$expect" = deny ] && echo " never allowed," || echo " denied only with a reason,") no crash, state intact (faults in $# functions)"
		else
			ag_fail "$desc: no allow, no crash, state intact, one point per counted call" \
				"$nbad bad run(s); $n fault points for $calls counted calls" ${bad[@]+"${bad[@]}"}
		fi
	done
	FI_SCENARIOS=$((FI_SCENARIOS + 1))
	fi_restore
}

# fi_summary FUNC...: the sweeps of this test did fail each FUNC (so the
# shim really reaches the code under test); then the totals.  The back end
# decides which of them are called: sqlite3_* with SQLite, PQ* and poll
# with PostgreSQL; the others' names are passed over.
fi_summary() {
	local f want=() missing=()
	for f in "$@"; do
		case $AG_STORE:$f in
		sqlite:PQ* | sqlite:poll | postgresql:sqlite3_*) continue ;;
		esac
		[[ ,$FI_CALLS, == *,$f,* ]] || continue # malloc under ASan
		want+=("$f")
		[[ $FI_FIRED == *" $f "* ]] || missing+=("$f")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ag_pass "faults were injected into ${want[*]}"
	else
		ag_fail "faults were injected into ${want[*]}" "never into: ${missing[*]}" \
			"fired: $FI_FIRED"
	fi
	ag_say "swept $FI_POINTS fault points ($FI_ONCE single, $((FI_POINTS - FI_ONCE)) persistent)" \
		"in $FI_SCENARIOS scenarios in $((SECONDS - FI_T0)) s"
}
