#!/bin/bash
# Time one failed authentication, as a whole pamtester process under
# pam_wrapper + nss_wrapper, for these PAM stacks:
#
#   baseline   pam_exec password check only
#   faillock   Linux-PAM pam_faillock preauth / pam_exec / authfail / authsucc
#   authguard  pam_authguard preauth / pam_exec / authfail / authsucc
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
#   BENCH_CONFIGS     configurations to run (default "baseline faillock authguard")
#   BENCH_TOOL        "bash" (default: interleaved date +%s%N loop) or
#                     "hyperfine" (hyperfine --runs BENCH_N, not interleaved)
#   AUTHGUARD_MODULE  default $(dirname $0)/../pam_authguard/.libs/pam_authguard.so
#   AUTHGUARD_TEST_SERVICE_DIR  where a test build (--enable-test-clock) of
#                     the module loads its state service authsvc-direct.so
#                     from; default: the build tree's lib/.libs beside
#                     AUTHGUARD_MODULE.  A release build loads the installed
#                     one ($libdir/pam_authguard) and ignores this
#   AUTHGUARD_CTL     default $(dirname $0)/../helpers/authguard-ctl
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
AUTHGUARD_MODULE=${AUTHGUARD_MODULE:-$here/../pam_authguard/.libs/pam_authguard.so}
AUTHGUARD_CTL=${AUTHGUARD_CTL:-$here/../helpers/authguard-ctl}
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libpam_wrapper.so}
NSS_WRAPPER_LIB=${NSS_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libnss_wrapper.so}
PAM_SECURITY_DIR=${PAM_SECURITY_DIR:-/usr/lib/x86_64-linux-gnu/security}
USER_NAME=agbench

die() { echo "faillock-vs-authguard: $2" >&2; exit "$1"; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_N must be a positive integer"
[[ $ROUND =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_ROUND must be a positive integer"
for c in "${CONFIGS[@]}"; do
	case $c in baseline|faillock|authguard|reference) ;;
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
if has authguard; then
	[[ -f $AUTHGUARD_MODULE ]] ||
		die 2 "pam_authguard module not found: $AUTHGUARD_MODULE (build it first or set AUTHGUARD_MODULE)"
	[[ -x $AUTHGUARD_CTL ]] ||
		die 2 "authguard-ctl not found: $AUTHGUARD_CTL (build it first or set AUTHGUARD_CTL)"
	AUTHGUARD_MODULE=$(cd "$(dirname "$AUTHGUARD_MODULE")" && pwd)/$(basename "$AUTHGUARD_MODULE")
	: "${AUTHGUARD_TEST_SERVICE_DIR:=$(cd "$(dirname "$AUTHGUARD_MODULE")/../../lib/.libs" 2>/dev/null && pwd)}"
fi
if has reference; then
	[[ -f ${AUTHGUARD_REF_MODULE:-} && -x ${AUTHGUARD_REF_CTL:-} ]] ||
		die 2 "configuration 'reference' needs AUTHGUARD_REF_MODULE and AUTHGUARD_REF_CTL"
	AUTHGUARD_REF_MODULE=$(cd "$(dirname "$AUTHGUARD_REF_MODULE")" && pwd)/$(basename "$AUTHGUARD_REF_MODULE")
	: "${AUTHGUARD_REF_SERVICE_DIR:=$(cd "$(dirname "$AUTHGUARD_REF_MODULE")/../../lib/.libs" 2>/dev/null && pwd)}"
fi
if [[ $TOOL == hyperfine ]]; then
	command -v hyperfine >/dev/null || die 2 "BENCH_TOOL=hyperfine but hyperfine is not installed"
elif [[ $TOOL != bash ]]; then
	die 2 "BENCH_TOOL must be 'bash' or 'hyperfine'"
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[[ $TMP != *[[:space:]]* ]] || die 2 "temporary directory path contains whitespace: $TMP"

# --- test user, visible only through nss_wrapper.  Not uid 0, which lockout
# modules may treat specially; an unprivileged caller keeps its own ids so
# that tally files can be given to the user.
bench_uid=$(id -u) bench_gid=$(id -g)
if ((bench_uid == 0)); then bench_uid=61234 bench_gid=61234; fi
printf '%s:x:%d:%d:bench user:/nonexistent:/bin/false\n' \
	"$USER_NAME" "$bench_uid" "$bench_gid" >"$TMP/passwd"
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
attempt() { # service password-file
	timeout 20 env AUTHGUARD_TEST_SERVICE_DIR="$(service_dir "$1")" \
		LD_PRELOAD="$NSS_WRAPPER_LIB:$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$TMP/svc" \
		NSS_WRAPPER_PASSWD="$TMP/passwd" NSS_WRAPPER_GROUP="$TMP/group" \
		pamtester "$1" "$USER_NAME" authenticate <"$2" >/dev/null 2>&1
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
	[[ -s $TMP/tally/$USER_NAME ]] || die 1 "faillock: no tally recorded for $USER_NAME"
fi

declare -A total_ns=()

run_bash() {
	local done_n=0 k c i t0 t1 rc order=("${CONFIGS[@]}")
	for c in "${CONFIGS[@]}"; do total_ns[$c]=0; done
	while ((done_n < N)); do
		k=$((N - done_n < ROUND ? N - done_n : ROUND))
		for c in "${order[@]}"; do
			t0=$(date +%s%N)
			for ((i = 0; i < k; i++)); do
				rc=0; attempt "$c" "$TMP/wrong" || rc=$?
				[[ $rc == 1 ]] || die 1 "$c: wrong password gave exit $rc, expected 1"
			done
			t1=$(date +%s%N)
			total_ns[$c]=$((total_ns[$c] + t1 - t0))
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

echo "faillock-vs-authguard: $N failed attempts per configuration ($TOOL)," \
	"configurations: ${CONFIGS[*]}" >&2
"run_$TOOL"

ms() { awk -v t="${total_ns[$1]}" -v n="$N" 'BEGIN { printf "%.3f", t / n / 1e6 }'; }
ratio() { # numerator denominator
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

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
if has authguard && has reference; then
	printf '%-47s %s\n' "authguard / reference:" \
		"$(ratio "${total_ns[authguard]}" "${total_ns[reference]}")"
fi
for c in faillock authguard reference; do
	if has "$c" && has baseline; then
		printf '%-47s %s ms/attempt\n' "$c - baseline:" \
			"$(awk -v a="${total_ns[$c]}" -v b="${total_ns[baseline]}" -v n="$N" \
				'BEGIN { printf "%.3f", (a - b) / n / 1e6 }')"
	fi
done
