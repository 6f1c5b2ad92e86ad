#!/bin/bash
# Time one failed authentication, as a whole pamtester process under
# pam_wrapper + nss_wrapper, for these PAM stacks:
#
#   baseline   pam_exec password check only
#   faillock   Linux-PAM pam_faillock preauth / pam_exec / authfail / authsucc
#   authguard  pam_authguard preauth / pam_exec / authfail / authsucc
#   daemon     (when asked for) the authguard stack with daemon = yes: the
#              module asks authguardd, which this script starts on a state
#              of its own (a socket in the temporary directory) and stops
#   postgresql (when asked for) the authguard stack with store = postgresql:
#              a throwaway PostgreSQL cluster that this script starts
#              (tests/lib/pgcluster.sh: Unix socket in a temporary
#              directory, fsync off) and stops; one connection per
#              attempt, as sshd's one process per login makes it
#   reference  (when asked for) the authguard stack with the module of a
#              reference build, e.g. the one before a change, on a state of
#              its own
#
# The configurations are run in interleaved rounds so that load changes on a
# shared machine hit all of them alike.  Nothing under /etc/pam.d is used.
#
# Environment:
#   BENCH_N           failed attempts per configuration (default 200)
#   BENCH_ROUND       attempts per configuration per round (default 20)
#   BENCH_CONFIGS     configurations to run (default "baseline faillock authguard";
#                     add "daemon" for the daemon, "postgresql" for the
#                     PostgreSQL back end, "reference" for a reference build)
#   BENCH_TOOL        "bash" (default: interleaved date +%s%N loop, and the
#                     CPU time of the processes), "hyperfine" (hyperfine
#                     --runs BENCH_N, not interleaved) or "callgrind"
#                     (instructions executed, counted by valgrind's
#                     callgrind: BENCH_CG_N attempts per configuration,
#                     the pamtester process, and for "daemon" the daemon,
#                     run under callgrind too, per attempt)
#   BENCH_CG_N        attempts per configuration for callgrind (default 20)
#   BENCH_USERS       accounts the attempts go round (default 1: every
#                     failure for one account, whose list of failures in
#                     the window grows with BENCH_N; 1000: each account
#                     fails a few times, as in a spray)
#   AUTHGUARD_MODULE  default $(dirname $0)/../pam_authguard/.libs/pam_authguard.so
#   AUTHGUARD_TEST_SERVICE_DIR  where a test build (--enable-test-clock) of
#                     the module loads its state service authsvc-direct.so
#                     from; default: the build tree's lib/.libs beside
#                     AUTHGUARD_MODULE.  A release build loads the installed
#                     one ($libdir/pam_authguard) and ignores this
#   AUTHGUARD_CTL     default $(dirname $0)/../helpers/authguard-ctl
#   AUTHGUARD_TEST_MODULE_DIR  where a test build loads the PostgreSQL back
#                     end (store-postgresql.so) from; default: the build
#                     tree's lib/store/pg/.libs beside AUTHGUARD_MODULE
#                     (a release build loads the installed one)
#   AUTHGUARDD        default $(dirname $0)/../daemon/authguardd (for "daemon")
#   AUTHGUARD_REF_MODULE, AUTHGUARD_REF_CTL  the module and authguard-ctl of
#                     the reference build (required for "reference"); its
#                     AUTHGUARD_REF_SERVICE_DIR defaults like the one above
#   PAM_WRAPPER_LIB, NSS_WRAPPER_LIB, PAM_SECURITY_DIR   library locations
#
# Exit status: 0 done, 1 a stack did not behave as expected, 2 missing input.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_N:-200}
ROUND=${BENCH_ROUND:-20}
read -r -a CONFIGS <<<"${BENCH_CONFIGS:-baseline faillock authguard}"
TOOL=${BENCH_TOOL:-bash}
CG_N=${BENCH_CG_N:-20}
NUSERS=${BENCH_USERS:-1}
AUTHGUARD_MODULE=${AUTHGUARD_MODULE:-$here/../pam_authguard/.libs/pam_authguard.so}
AUTHGUARD_CTL=${AUTHGUARD_CTL:-$here/../helpers/authguard-ctl}
AUTHGUARDD=${AUTHGUARDD:-$here/../daemon/authguardd}
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libpam_wrapper.so}
NSS_WRAPPER_LIB=${NSS_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libnss_wrapper.so}
PAM_SECURITY_DIR=${PAM_SECURITY_DIR:-/usr/lib/x86_64-linux-gnu/security}
USER_NAME=agbench

die() { echo "faillock-vs-authguard: $2" >&2; exit "$1"; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_N must be a positive integer"
[[ $ROUND =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_ROUND must be a positive integer"
[[ $CG_N =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_CG_N must be a positive integer"
[[ $NUSERS =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_USERS must be a positive integer"
for c in "${CONFIGS[@]}"; do
	case $c in baseline|faillock|authguard|daemon|postgresql|reference) ;;
	*) die 2 "unknown configuration '$c' in BENCH_CONFIGS" ;;
	esac
done
((${#CONFIGS[@]} > 0)) || die 2 "BENCH_CONFIGS is empty"
has() { [[ " ${CONFIGS[*]} " == *" $1 "* ]]; }

command -v pamtester >/dev/null || die 2 "pamtester not found"
[[ -f $PAM_WRAPPER_LIB ]] || die 2 "pam_wrapper not found: $PAM_WRAPPER_LIB"
[[ -f $NSS_WRAPPER_LIB ]] || die 2 "nss_wrapper not found: $NSS_WRAPPER_LIB"
if has faillock; then
	[[ -f $PAM_SECURITY_DIR/pam_faillock.so ]] ||
		die 2 "pam_faillock.so not found in $PAM_SECURITY_DIR"
fi
if has authguard || has daemon || has postgresql; then
	[[ -f $AUTHGUARD_MODULE ]] ||
		die 2 "pam_authguard module not found: $AUTHGUARD_MODULE (build it first or set AUTHGUARD_MODULE)"
	[[ -x $AUTHGUARD_CTL ]] ||
		die 2 "authguard-ctl not found: $AUTHGUARD_CTL (build it first or set AUTHGUARD_CTL)"
	AUTHGUARD_MODULE=$(cd "$(dirname "$AUTHGUARD_MODULE")" && pwd)/$(basename "$AUTHGUARD_MODULE")
	: "${AUTHGUARD_TEST_SERVICE_DIR:=$(cd "$(dirname "$AUTHGUARD_MODULE")/../../lib/.libs" 2>/dev/null && pwd)}"
fi
if has postgresql; then
	# shellcheck source=../tests/lib/pgcluster.sh
	. "$here/../tests/lib/pgcluster.sh"
	ag_pgc_available || die 2 "configuration 'postgresql' needs the PostgreSQL server (apt-get install postgresql)"
	: "${AUTHGUARD_TEST_MODULE_DIR:=$(cd "$(dirname "$AUTHGUARD_MODULE")/../../lib/store/pg/.libs" 2>/dev/null && pwd)}"
	export AUTHGUARD_TEST_MODULE_DIR
fi
if has daemon; then
	[[ -x $AUTHGUARDD ]] || die 2 "authguardd not found: $AUTHGUARDD (build it first or set AUTHGUARDD)"
fi
if has reference; then
	[[ -f ${AUTHGUARD_REF_MODULE:-} && -x ${AUTHGUARD_REF_CTL:-} ]] ||
		die 2 "configuration 'reference' needs AUTHGUARD_REF_MODULE and AUTHGUARD_REF_CTL"
	AUTHGUARD_REF_MODULE=$(cd "$(dirname "$AUTHGUARD_REF_MODULE")" && pwd)/$(basename "$AUTHGUARD_REF_MODULE")
	: "${AUTHGUARD_REF_SERVICE_DIR:=$(cd "$(dirname "$AUTHGUARD_REF_MODULE")/../../lib/.libs" 2>/dev/null && pwd)}"
fi
if [[ $TOOL == hyperfine ]]; then
	command -v hyperfine >/dev/null || die 2 "BENCH_TOOL=hyperfine but hyperfine is not installed"
elif [[ $TOOL == callgrind ]]; then
	command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
		die 2 "BENCH_TOOL=callgrind but valgrind is not installed"
elif [[ $TOOL != bash ]]; then
	die 2 "BENCH_TOOL must be 'bash', 'hyperfine' or 'callgrind'"
fi

TMP=$(mktemp -d)
DPID=
PGPID= PGTMP=
cleanup() {
	[[ -z $DPID ]] || { kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null || true; }
	[[ -z $PGTMP ]] || { ag_pgc_stop immediate; rm -rf "$PGTMP"; }
	rm -rf "$TMP"
}
trap cleanup EXIT
[[ $TMP != *[[:space:]]* ]] || die 2 "temporary directory path contains whitespace: $TMP"

# --- test user, visible only through nss_wrapper.  Not uid 0, which lockout
# modules may treat specially; an unprivileged caller keeps its own ids so
# that tally files can be given to the user.
# BENCH_USERS > 1: agbench0, agbench1, ... with the same ids.
bench_uid=$(id -u) bench_gid=$(id -g)
if ((bench_uid == 0)); then bench_uid=61234 bench_gid=61234; fi
USERS=("$USER_NAME")
((NUSERS == 1)) || mapfile -t USERS < <(seq -f "$USER_NAME%.0f" 0 $((NUSERS - 1)))
for u in "${USERS[@]}"; do
	printf '%s:x:%d:%d:bench user:/nonexistent:/bin/false\n' "$u" "$bench_uid" "$bench_gid"
done >"$TMP/passwd"
printf '%s:x:%d:\n' "$USER_NAME" "$bench_gid" >"$TMP/group"

# --- password check used by every stack (pam_exec sends the token NUL-terminated)
cat >"$TMP/check-password.sh" <<'EOF'
#!/bin/bash
IFS= read -r -d '' pw || true
[[ $pw == right ]]
EOF
chmod 755 "$TMP/check-password.sh"
printf 'right\n' >"$TMP/right"
printf 'wrong\n' >"$TMP/wrong"

# --- service files
mkdir -m 700 "$TMP/svc" "$TMP/tally" "$TMP/state"
exec_line="pam_exec.so expose_authtok quiet $TMP/check-password.sh"
cat >"$TMP/svc/other" <<'EOF'
auth     required pam_deny.so
account  required pam_deny.so
password required pam_deny.so
session  required pam_deny.so
EOF
cat >"$TMP/svc/baseline" <<EOF
auth required $exec_line
EOF
fl="pam_faillock.so dir=$TMP/tally nodelay deny=1000000"
cat >"$TMP/svc/faillock" <<EOF
auth required                $fl preauth
auth [success=1 default=bad] $exec_line
auth [default=die]           $fl authfail
auth sufficient              $fl authsucc
EOF
if has authguard; then
	cat >"$TMP/authguard.conf" <<EOF
state_file = $TMP/state/state.db
secrets_key = $TMP/keys/secrets.key
deny = 100000
host_deny = 1000000
delay_base = 0
EOF
	ag="$AUTHGUARD_MODULE conf=$TMP/authguard.conf nodelay"
	cat >"$TMP/svc/authguard" <<EOF
auth required                $ag preauth
auth [success=1 default=bad] $exec_line
auth [default=die]           $ag authfail
auth sufficient              $ag authsucc
auth requisite               pam_deny.so
EOF
	"$AUTHGUARD_CTL" --conf "$TMP/authguard.conf" init >/dev/null ||
		die 1 "'$AUTHGUARD_CTL --conf $TMP/authguard.conf init' failed"
fi
if has daemon; then
	# One file for both, as on a host: the module reads daemon = yes and
	# the socket, the daemon everything else.  As root the daemon keeps
	# root (there is no authguard user here).
	mkdir -m 700 "$TMP/state-d"
	cat >"$TMP/daemon.conf" <<EOF
state_file = $TMP/state-d/state.db
secrets_key = $TMP/keys/secrets.key
deny = 100000
host_deny = 1000000
delay_base = 0
daemon = yes
daemon_socket = $TMP/d.sock
$([[ $(id -u) == 0 ]] && echo "daemon_user = root")
EOF
	ag="$AUTHGUARD_MODULE conf=$TMP/daemon.conf nodelay"
	cat >"$TMP/svc/daemon" <<EOF
auth required                $ag preauth
auth [success=1 default=bad] $exec_line
auth [default=die]           $ag authfail
auth sufficient              $ag authsucc
auth requisite               pam_deny.so
EOF
	"$AUTHGUARD_CTL" --conf "$TMP/daemon.conf" init >/dev/null ||
		die 1 "'$AUTHGUARD_CTL --conf $TMP/daemon.conf init' failed"
	if [[ $TOOL == callgrind ]]; then
		valgrind --tool=callgrind --callgrind-out-file="$TMP/cgd.out" \
			"$AUTHGUARDD" --conf "$TMP/daemon.conf" 2>"$TMP/daemon.err" &
	else
		"$AUTHGUARDD" --conf "$TMP/daemon.conf" 2>"$TMP/daemon.err" &
	fi
	DPID=$!
	for _ in $(seq 300); do [[ -S $TMP/d.sock ]] && break; sleep 0.1; done
	[[ -S $TMP/d.sock ]] || die 1 "authguardd did not start: $(cat "$TMP/daemon.err")"
fi
if has postgresql; then
	# The cluster's directory must be reachable by the postgres user.
	PGTMP=$(mktemp -d)
	chmod 755 "$PGTMP"
	ag_pgc_start "$PGTMP/c" || die 1 "cannot start a PostgreSQL cluster"
	ag_pgc_createdb bench || die 1 "cannot create a database"
	PGPID=$(head -n 1 "$AG_PGC_DIR/data/postmaster.pid")
	mkdir -m 700 "$TMP/state-pg"
	cat >"$TMP/pg.conf" <<EOF
state_file = $TMP/state-pg/state.db
secrets_key = $TMP/keys/secrets.key
store = postgresql
pg_conninfo = $AG_PGC_CONNINFO dbname=bench
deny = 100000
host_deny = 1000000
delay_base = 0
EOF
	chmod 600 "$TMP/pg.conf"
	ag="$AUTHGUARD_MODULE conf=$TMP/pg.conf nodelay"
	cat >"$TMP/svc/postgresql" <<EOF
auth required                $ag preauth
auth [success=1 default=bad] $exec_line
auth [default=die]           $ag authfail
auth sufficient              $ag authsucc
auth requisite               pam_deny.so
EOF
	"$AUTHGUARD_CTL" --conf "$TMP/pg.conf" init >/dev/null ||
		die 1 "'$AUTHGUARD_CTL --conf $TMP/pg.conf init' failed"
fi
if has reference; then
	mkdir -m 700 "$TMP/state-ref"
	cat >"$TMP/ref.conf" <<EOF
state_file = $TMP/state-ref/state.db
secrets_key = $TMP/keys/secrets.key
deny = 100000
host_deny = 1000000
delay_base = 0
EOF
	ag="$AUTHGUARD_REF_MODULE conf=$TMP/ref.conf nodelay"
	cat >"$TMP/svc/reference" <<EOF
auth required                $ag preauth
auth [success=1 default=bad] $exec_line
auth [default=die]           $ag authfail
auth sufficient              $ag authsucc
auth requisite               pam_deny.so
EOF
	"$AUTHGUARD_REF_CTL" --conf "$TMP/ref.conf" init >/dev/null ||
		die 1 "'$AUTHGUARD_REF_CTL --conf $TMP/ref.conf init' failed"
fi

# One authentication attempt as a whole process; prints nothing.
# pamtester exits 0 on success and 1 on any failure.
# Each build's module finds its own state service (test builds).
service_dir() { # configuration
	if [[ $1 == reference ]]; then echo "${AUTHGUARD_REF_SERVICE_DIR:-}"; else echo "${AUTHGUARD_TEST_SERVICE_DIR:-}"; fi
}
# The accounts go round per configuration, so that every configuration
# sees the same history.
declare -A turn=()
attempt() { # service password-file [command prefix...]
	local c=$1 pw=$2 u
	shift 2
	u=${USERS[$((${turn[$c]:-0} % NUSERS))]}
	turn[$c]=$((${turn[$c]:-0} + 1))
	timeout 120 env AUTHGUARD_TEST_SERVICE_DIR="$(service_dir "$c")" \
		LD_PRELOAD="$NSS_WRAPPER_LIB:$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$TMP/svc" \
		NSS_WRAPPER_PASSWD="$TMP/passwd" NSS_WRAPPER_GROUP="$TMP/group" \
		"$@" pamtester "$c" "$u" authenticate <"$pw" >/dev/null 2>&1
}

# --- sanity: the right password passes (so every module loaded), a wrong one fails
for c in "${CONFIGS[@]}"; do
	rc=0; attempt "$c" "$TMP/right" || rc=$?
	[[ $rc == 0 ]] || die 1 "$c: correct password was rejected (exit $rc)"
	for _ in 1 2 3; do
		rc=0; attempt "$c" "$TMP/wrong" || rc=$?
		[[ $rc == 1 ]] || die 1 "$c: wrong password gave exit $rc, expected 1"
	done
done
if has faillock; then
	[[ -n $(find "$TMP/tally" -type f -size +0) ]] || die 1 "faillock: no tally recorded"
fi

declare -A total_ns=() cpu_ticks=() daemon_ticks=()

# CPU time (clock ticks) of this shell's finished children: the attempts'
# processes (timeout, pamtester, the password script).
children_ticks() { awk '{ print $16 + $17 }' "/proc/$$/stat"; }
# ... and of the daemon, whose share of an attempt is in another process
# (for "daemon" only); for "postgresql", of the server: the postmaster
# and the backends it forked for the attempts' connections and reaped.
dticks() { # configuration
	if [[ $1 == daemon && -n $DPID ]]; then
		awk '{ print $14 + $15 }' "/proc/$DPID/stat"
	elif [[ $1 == postgresql && -n $PGPID ]]; then
		awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PGPID/stat"
	else
		echo 0
	fi
}

run_bash() {
	local done_n=0 k c i t0 t1 c0 c1 d0 d1 rc order=("${CONFIGS[@]}")
	for c in "${CONFIGS[@]}"; do total_ns[$c]=0 cpu_ticks[$c]=0 daemon_ticks[$c]=0; done
	while ((done_n < N)); do
		k=$((N - done_n < ROUND ? N - done_n : ROUND))
		for c in "${order[@]}"; do
			c0=$(children_ticks) d0=$(dticks "$c")
			t0=$(date +%s%N)
			for ((i = 0; i < k; i++)); do
				rc=0; attempt "$c" "$TMP/wrong" || rc=$?
				[[ $rc == 1 ]] || die 1 "$c: wrong password gave exit $rc, expected 1"
			done
			t1=$(date +%s%N)
			c1=$(children_ticks) d1=$(dticks "$c")
			total_ns[$c]=$((total_ns[$c] + t1 - t0))
			cpu_ticks[$c]=$((cpu_ticks[$c] + c1 - c0))
			daemon_ticks[$c]=$((daemon_ticks[$c] + d1 - d0))
		done
		order=("${order[@]:1}" "${order[0]}") # rotate who goes first
		done_n=$((done_n + k))
	done
}

run_hyperfine() {
	local c cmds=() mean
	for c in "${CONFIGS[@]}"; do
		cmds+=(--command-name "$c" "timeout 20 env AUTHGUARD_TEST_SERVICE_DIR=$(service_dir "$c") LD_PRELOAD=$NSS_WRAPPER_LIB:$PAM_WRAPPER_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$TMP/svc NSS_WRAPPER_PASSWD=$TMP/passwd NSS_WRAPPER_GROUP=$TMP/group pamtester $c $USER_NAME authenticate <$TMP/wrong >/dev/null 2>&1; test \$? = 1")
	done
	hyperfine --style basic --warmup 3 --runs "$N" \
		--export-csv "$TMP/hf.csv" "${cmds[@]}" >&2
	# CSV rows follow the command order; mean is in seconds
	local i=0
	while IFS=, read -r _ mean _; do
		total_ns[${CONFIGS[i]}]=$(awk -v m="$mean" -v n="$N" 'BEGIN { printf "%.0f", m * 1e9 * n }')
		i=$((i + 1))
	done < <(tail -n +2 "$TMP/hf.csv")
}

# Instructions executed (valgrind's callgrind): the pamtester process of
# each attempt (pam_exec's child, the same in every stack, is not traced),
# median of BENCH_CG_N; for "daemon", plus the daemon's instructions over
# those attempts (counters zeroed before, dumped after) per attempt.
declare -A ir=() dir=()
ndumps() { local f n=0; for f in "$TMP"/cgd.out.*; do [[ -e $f ]] && n=$((n + 1)); done; echo "$n"; }
run_callgrind() {
	local c i f d0 out
	for c in "${CONFIGS[@]}"; do
		: >"$TMP/ir.$c"
		[[ $c != daemon ]] || callgrind_control -z "$DPID" >/dev/null 2>&1 || true
		for ((i = 0; i < CG_N; i++)); do
			f=$TMP/cg.$c.$i
			rc=0; attempt "$c" "$TMP/wrong" valgrind --tool=callgrind --callgrind-out-file="$f" || rc=$?
			[[ $rc == 1 ]] || die 1 "$c: wrong password gave exit $rc under callgrind, expected 1"
			sed -n 's/^summary: *//p' "$f" >>"$TMP/ir.$c"
			rm -f "$f"
		done
		ir[$c]=$(sort -n "$TMP/ir.$c" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
		dir[$c]=0
		if [[ $c == daemon ]]; then
			d0=$(ndumps)
			callgrind_control -d "$DPID" >/dev/null 2>&1 || true
			for _ in $(seq 100); do
				(($(ndumps) > d0)) && break
				sleep 0.1
			done
			out=$TMP/cgd.out.$(ndumps)
			dir[$c]=$(awk -v n="$CG_N" '/^summary:/ { printf "%.0f", $2 / n }' "$out")
		fi
	done
	printf '%-10s %14s %14s %14s\n' configuration "Ir/attempt" "(pamtester" "+ daemon)"
	for c in "${CONFIGS[@]}"; do
		printf '%-10s %14s %14s %14s\n' "$c" "$((ir[$c] + dir[$c]))" "${ir[$c]}" "${dir[$c]}"
	done
	tot() { echo $((ir[$1] + dir[$1])); }
	for c in authguard daemon reference; do
		has "$c" && has faillock || continue
		printf '%-47s %s\n' "Ir: $c / faillock:" "$(ratio "$(tot "$c")" "$(tot faillock)")"
		if has baseline; then
			printf '%-47s %s\n' "Ir: ($c - baseline) / (faillock - baseline):" \
				"$(ratio $(($(tot "$c") - $(tot baseline))) $(($(tot faillock) - $(tot baseline))))"
		fi
	done
	if has daemon && has authguard; then
		printf '%-47s %s\n' "Ir: daemon / authguard:" "$(ratio "$(tot daemon)" "$(tot authguard)")"
	fi
}

ratio() { # numerator denominator
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

echo "faillock-vs-authguard: $N failed attempts per configuration ($TOOL)," \
	"configurations: ${CONFIGS[*]}; accounts: $NUSERS" >&2
"run_$TOOL"
[[ $TOOL != callgrind ]] || exit 0

ms() { awk -v t="${total_ns[$1]}" -v n="$N" 'BEGIN { printf "%.3f", t / n / 1e6 }'; }

printf '%-10s %12s\n' configuration "ms/attempt"
for c in "${CONFIGS[@]}"; do
	printf '%-10s %12s\n' "$c" "$(ms "$c")"
done
if has authguard && has faillock; then
	printf '%-47s %s\n' "authguard / faillock:" \
		"$(ratio "${total_ns[authguard]}" "${total_ns[faillock]}")"
	if has baseline; then
		printf '%-47s %s\n' "(authguard - baseline) / (faillock - baseline):" \
			"$(ratio "$((total_ns[authguard] - total_ns[baseline]))" \
				"$((total_ns[faillock] - total_ns[baseline]))")"
	fi
fi
if has daemon && has faillock; then
	printf '%-47s %s\n' "daemon / faillock:" \
		"$(ratio "${total_ns[daemon]}" "${total_ns[faillock]}")"
	if has baseline; then
		printf '%-47s %s\n' "(daemon - baseline) / (faillock - baseline):" \
			"$(ratio "$((total_ns[daemon] - total_ns[baseline]))" \
				"$((total_ns[faillock] - total_ns[baseline]))")"
	fi
fi
if has daemon && has authguard; then
	printf '%-47s %s\n' "daemon / authguard:" \
		"$(ratio "${total_ns[daemon]}" "${total_ns[authguard]}")"
fi
if has postgresql && has faillock; then
	printf '%-47s %s\n' "postgresql / faillock:" \
		"$(ratio "${total_ns[postgresql]}" "${total_ns[faillock]}")"
fi
if has postgresql && has authguard; then
	printf '%-47s %s\n' "postgresql / authguard (sqlite):" \
		"$(ratio "${total_ns[postgresql]}" "${total_ns[authguard]}")"
	if has baseline; then
		printf '%-47s %s\n' "(postgresql - baseline) / (authguard - baseline):" \
			"$(ratio "$((total_ns[postgresql] - total_ns[baseline]))" \
				"$((total_ns[authguard] - total_ns[baseline]))")"
	fi
fi
if has authguard && has reference; then
	printf '%-47s %s\n' "authguard / reference:" \
		"$(ratio "${total_ns[authguard]}" "${total_ns[reference]}")"
fi
for c in faillock authguard daemon postgresql reference; do
	if has "$c" && has baseline; then
		printf '%-47s %s ms/attempt\n' "$c - baseline:" \
			"$(awk -v a="${total_ns[$c]}" -v b="${total_ns[baseline]}" -v n="$N" \
				'BEGIN { printf "%.3f", (a - b) / n / 1e6 }')"
	fi
done
if [[ $TOOL == bash ]]; then
	# CPU time per attempt, which other processes on a shared machine
	# disturb far less than the wall time: the attempt's own processes,
	# plus for "daemon" the daemon's CPU over the same rounds (it serves
	# nobody else; its once-a-second sweep is included), for "postgresql"
	# the server's (the backend of each attempt's connection).
	tick=$(getconf CLK_TCK)
	cpu_ms() { awk -v t="$1" -v n="$N" -v h="$tick" 'BEGIN { printf "%.3f", t * 1000 / h / n }'; }
	printf '%-10s %14s %12s %10s\n' configuration "cpu ms/attempt" "(processes" "+ server)"
	for c in "${CONFIGS[@]}"; do
		printf '%-10s %14s %12s %10s\n' "$c" "$(cpu_ms $((cpu_ticks[$c] + daemon_ticks[$c])))" \
			"$(cpu_ms "${cpu_ticks[$c]}")" "$(cpu_ms "${daemon_ticks[$c]}")"
	done
	if has daemon && has faillock; then
		printf '%-47s %s\n' "cpu: daemon / faillock:" \
			"$(ratio "$((cpu_ticks[daemon] + daemon_ticks[daemon]))" "${cpu_ticks[faillock]}")"
	fi
	if has authguard && has faillock; then
		printf '%-47s %s\n' "cpu: authguard / faillock:" \
			"$(ratio "${cpu_ticks[authguard]}" "${cpu_ticks[faillock]}")"
	fi
	if has postgresql && has faillock; then
		printf '%-47s %s\n' "cpu: postgresql (+ server) / faillock:" \
			"$(ratio "$((cpu_ticks[postgresql] + daemon_ticks[postgresql]))" "${cpu_ticks[faillock]}")"
	fi
	if has postgresql && has authguard; then
		printf '%-47s %s\n' "cpu: postgresql (+ server) / authguard:" \
			"$(ratio "$((cpu_ticks[postgresql] + daemon_ticks[postgresql]))" "${cpu_ticks[authguard]}")"
	fi
fi
