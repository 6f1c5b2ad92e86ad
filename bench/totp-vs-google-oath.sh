#!/bin/bash
# Time one SUCCESSFUL login with a password and a TOTP code, as a whole
# pamtester process under pam_wrapper + nss_wrapper, for four PAM stacks
# that share one password check (a pam_exec script):
#
#   baseline   pam_exec password check only (no second factor)
#   guardonly  pam_authguard preauth / pam_exec / authfail / authsucc / pam_deny:
#              brute-force protection, no second factor (what the totp step
#              adds is authguard - guardonly)
#   authguard  pam_authguard preauth / pam_exec / pwok / totp / authsucc / pam_deny
#   daemon     (when asked for) the authguard stack with daemon = yes: the
#              module asks authguardd, started here on a state of its own
#   google     pam_exec / pam_google_authenticator (secret=FILE user=root)
#   oath       pam_exec / pam_oath (usersfile=FILE window=1)
#
# The three TOTP modules get the same secret and are all set to accept one
# 30 s step either side of now and to refuse a code used before, so each
# login writes its module's replay record:
#
#   authguard  the test clock (AUTHGUARD_TEST_TIME, a build configured with
#              --enable-test-clock) moves 30 s per attempt and each attempt
#              sends the code of its own step: a fresh code, as in real use;
#              the state keeps growing its history as in real use.
#   daemon     the daemon's clock cannot move under it (its test clock is
#              its own environment): it runs at T0 + 30 s, and every login
#              is another account, enrolled beforehand at T0 with a secret
#              of its own, sending its code for T0 + 30 s: a fresh code,
#              the same work (unseal the secret, check, record the step).
#   google     the real clock; its secret file (WINDOW_SIZE 3, DISALLOW_REUSE,
#              TOTP_AUTH, no RATE_LIMIT) is restored before each attempt, so
#              the current code is new to it again, and the module rewrites
#              the file with the step it accepted.  With BENCH_GA_REUSE=1 the
#              file has no DISALLOW_REUSE instead (the module then writes
#              nothing).
#   oath       the real clock; its usersfile (one HOTP/T30 line) is restored
#              before each attempt, and the module rewrites it with the code
#              it accepted (liboath's replay record).
#
# Restoring a file and computing the code (oathtool) happen between timed
# sections: only the pamtester process is timed (bash's EPOCHREALTIME
# around it).  The configurations run in interleaved rounds so that load
# changes on a shared machine hit all of them alike, and the medians of the
# per-login times are compared (the means are printed too).  Nothing under
# /etc/pam.d is used or changed.
#
# Environment:
#   BENCH_N           successful logins per configuration (default 200)
#   BENCH_ROUND       logins per configuration per round (default 10)
#   BENCH_CONFIGS     configurations (default "baseline guardonly authguard google oath";
#                     add "daemon")
#   BENCH_TOOL        "bash" (default: wall time, interleaved) or "callgrind"
#                     (instructions executed, counted by valgrind's callgrind:
#                     BENCH_CG_N logins per configuration, the pamtester
#                     process, and for "daemon" the daemon's per login)
#   BENCH_CG_N        logins per configuration for callgrind (default 20)
#   BENCH_GA_REUSE    1: pam_google_authenticator without DISALLOW_REUSE
#   BENCH_INSTALL     0: do not apt-get install the two Debian modules when
#                     missing (default 1 when running as root)
#   AUTHGUARD_MODULE  default $(dirname $0)/../pam_authguard/.libs/pam_authguard.so
#   AUTHGUARD_TEST_SERVICE_DIR  where a test build (--enable-test-clock) of
#                     the module loads its state service authsvc-direct.so
#                     from; default: the build tree's lib/.libs beside
#                     AUTHGUARD_MODULE.  A release build loads the installed
#                     one ($libdir/pam_authguard) and ignores this
#   AUTHGUARD_CTL     default $(dirname $0)/../helpers/authguard-ctl
#   AUTHGUARD_ENROLL  default $(dirname $0)/../helpers/authguard-enroll
#   AUTHGUARDD        default $(dirname $0)/../daemon/authguardd
#   PAM_WRAPPER_LIB, NSS_WRAPPER_LIB, PAM_SECURITY_DIR   library locations
#
# Exit status: 0 done, 1 a stack did not behave as expected, 2 missing input.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_N:-200}
ROUND=${BENCH_ROUND:-10}
read -r -a CONFIGS <<<"${BENCH_CONFIGS:-baseline guardonly authguard google oath}"
GA_REUSE=${BENCH_GA_REUSE:-0}
TOOL=${BENCH_TOOL:-bash}
CG_N=${BENCH_CG_N:-20}
AUTHGUARD_MODULE=${AUTHGUARD_MODULE:-$here/../pam_authguard/.libs/pam_authguard.so}
AUTHGUARD_CTL=${AUTHGUARD_CTL:-$here/../helpers/authguard-ctl}
AUTHGUARD_ENROLL=${AUTHGUARD_ENROLL:-$here/../helpers/authguard-enroll}
AUTHGUARDD=${AUTHGUARDD:-$here/../daemon/authguardd}
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libpam_wrapper.so}
NSS_WRAPPER_LIB=${NSS_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libnss_wrapper.so}
PAM_SECURITY_DIR=${PAM_SECURITY_DIR:-/usr/lib/x86_64-linux-gnu/security}
USER_NAME=agbench
T0=1700000000 # the test clock's start for pam_authguard

die() { echo "totp-vs-google-oath: $2" >&2; exit "$1"; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_N must be a positive integer"
[[ $ROUND =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_ROUND must be a positive integer"
for c in "${CONFIGS[@]}"; do
	case $c in baseline|guardonly|authguard|daemon|google|oath) ;;
	*) die 2 "unknown configuration '$c' in BENCH_CONFIGS" ;;
	esac
done
((${#CONFIGS[@]} > 0)) || die 2 "BENCH_CONFIGS is empty"
has() { [[ " ${CONFIGS[*]} " == *" $1 "* ]]; }
[[ -n ${EPOCHREALTIME:-} ]] || die 2 "bash 5 or later is needed (EPOCHREALTIME)"
[[ $CG_N =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_CG_N must be a positive integer"
case $TOOL in
bash) ;;
callgrind)
	command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
		die 2 "BENCH_TOOL=callgrind but valgrind is not installed"
	;;
*) die 2 "BENCH_TOOL must be 'bash' or 'callgrind'" ;;
esac

# --- the two modules from Debian
missing=()
if has google && [[ ! -f $PAM_SECURITY_DIR/pam_google_authenticator.so ]]; then
	missing+=(libpam-google-authenticator)
fi
if has oath && [[ ! -f $PAM_SECURITY_DIR/pam_oath.so ]]; then
	missing+=(libpam-oath)
fi
if ((${#missing[@]} > 0)); then
	if [[ ${BENCH_INSTALL:-1} == 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		echo "totp-vs-google-oath: installing ${missing[*]}" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
			die 2 "apt-get install ${missing[*]} failed"
	else
		die 2 "missing ${missing[*]} (apt-get install ${missing[*]})"
	fi
fi

command -v pamtester >/dev/null || die 2 "pamtester not found"
command -v oathtool >/dev/null || die 2 "oathtool not found (apt-get install oathtool)"
[[ -f $PAM_WRAPPER_LIB ]] || die 2 "pam_wrapper not found: $PAM_WRAPPER_LIB"
[[ -f $NSS_WRAPPER_LIB ]] || die 2 "nss_wrapper not found: $NSS_WRAPPER_LIB"
if has authguard || has guardonly || has daemon; then
	for f in "$AUTHGUARD_MODULE" "$AUTHGUARD_CTL" "$AUTHGUARD_ENROLL"; do
		[[ -e $f ]] || die 2 "not found: $f (build first, or set AUTHGUARD_MODULE/_CTL/_ENROLL)"
	done
	AUTHGUARD_MODULE=$(cd "$(dirname "$AUTHGUARD_MODULE")" && pwd)/$(basename "$AUTHGUARD_MODULE")
	: "${AUTHGUARD_TEST_SERVICE_DIR:=$(cd "$(dirname "$AUTHGUARD_MODULE")/../../lib/.libs" 2>/dev/null && pwd)}"
	export AUTHGUARD_TEST_SERVICE_DIR
fi

if has daemon; then
	[[ -x $AUTHGUARDD ]] || die 2 "not found: $AUTHGUARDD (build first, or set AUTHGUARDD)"
fi

TMP=$(mktemp -d)
DPID=
cleanup() {
	[[ -z $DPID ]] || { kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null || true; }
	rm -rf "$TMP"
}
trap cleanup EXIT
[[ $TMP != *[[:space:]]* ]] || die 2 "temporary directory path contains whitespace: $TMP"
chmod 755 "$TMP"

# --- users, visible only through nss_wrapper: the test user (not uid 0),
# and root, which pam_google_authenticator's user=root looks up.
# (and the daemon's accounts, agd0, agd1, ...: one per login)
DN=0
if has daemon; then
	DN=$((CG_N > N ? CG_N : N))
	DN=$((DN + 10))
fi
{
	printf 'root:x:0:0:root:/root:/bin/sh\n%s:x:61234:61234:bench user:/nonexistent:/bin/false\n' \
		"$USER_NAME"
	for ((k = 0; k < DN; k++)); do
		printf 'agd%d:x:61234:61234:bench user:/nonexistent:/bin/false\n' "$k"
	done
} >"$TMP/passwd"
printf 'root:x:0:\n%s:x:61234:\n' "$USER_NAME" >"$TMP/group"

# --- the password check of every stack (pam_exec hands the token over
# NUL-terminated)
cat >"$TMP/check-password.sh" <<'EOF'
#!/bin/bash
IFS= read -r -d '' pw || true
[[ $pw == right ]]
EOF
chmod 755 "$TMP/check-password.sh"
exec_line="pam_exec.so expose_authtok quiet $TMP/check-password.sh"

mkdir -m 700 "$TMP/svc" "$TMP/state"
cat >"$TMP/svc/other" <<'EOF'
auth     required pam_deny.so
account  required pam_deny.so
password required pam_deny.so
session  required pam_deny.so
EOF
cat >"$TMP/svc/baseline" <<EOF
auth required $exec_line
EOF

# --- pam_authguard: enrolled at T0 through authguard-enroll; its secret
# is the one every module gets.
if has authguard || has guardonly; then
	cat >"$TMP/authguard.conf" <<EOF
state_file = $TMP/state/state.db
secrets_key = $TMP/keys/secrets.key
EOF
	"$AUTHGUARD_CTL" --conf "$TMP/authguard.conf" init >/dev/null ||
		die 1 "'$AUTHGUARD_CTL --conf $TMP/authguard.conf init' failed"
	out=$(AUTHGUARD_TEST_TIME=$T0 "$AUTHGUARD_ENROLL" --conf "$TMP/authguard.conf" \
		--user "$USER_NAME" --json </dev/null) || die 1 "authguard-enroll failed"
	SECRET=$(printf '%s' "$out" | sed -n 's/.*"secret": *"\([A-Z2-7]*\)".*/\1/p')
	[[ $SECRET =~ ^[A-Z2-7]{32}$ ]] || die 1 "no secret in authguard-enroll's output"
	oathtool --totp -b -N "@$T0" "$SECRET" |
		AUTHGUARD_TEST_TIME=$T0 "$AUTHGUARD_ENROLL" --conf "$TMP/authguard.conf" \
			--user "$USER_NAME" --confirm --json >/dev/null ||
		die 1 "authguard-enroll --confirm failed (is the build configured with --enable-test-clock?)"
	ag="$AUTHGUARD_MODULE conf=$TMP/authguard.conf nodelay"
	cat >"$TMP/svc/authguard" <<EOF
auth requisite                $ag preauth
auth [success=ok default=1]   $exec_line
auth [success=ok default=die] $ag pwok
auth [success=ok default=die] $ag totp
auth sufficient               $ag authsucc
auth requisite                pam_deny.so
EOF
	cat >"$TMP/svc/guardonly" <<EOF
auth requisite                $ag preauth
auth [success=1 default=bad]  $exec_line
auth [default=die]            $ag authfail
auth sufficient               $ag authsucc
auth requisite                pam_deny.so
EOF
else
	SECRET=$(head -c 20 /dev/urandom | base32)
fi
HEX=$(printf '%s' "$SECRET" | base32 -d | od -An -tx1 | tr -d ' \n')

# --- the daemon: its own state and accounts, enrolled at T0; it runs at
# T0 + 30 (one step later, so that every account's next code is fresh).
DSECRETS=()
if has daemon; then
	mkdir -m 700 "$TMP/state-d"
	cat >"$TMP/daemon.conf" <<EOF
state_file = $TMP/state-d/state.db
secrets_key = $TMP/keys/secrets.key
daemon = yes
daemon_socket = $TMP/d.sock
$([[ $(id -u) == 0 ]] && echo "daemon_user = root")
EOF
	"$AUTHGUARD_CTL" --conf "$TMP/daemon.conf" init >/dev/null ||
		die 1 "'$AUTHGUARD_CTL --conf $TMP/daemon.conf init' failed"
	echo "totp-vs-google-oath: enrolling $DN accounts for the daemon" >&2
	for ((k = 0; k < DN; k++)); do
		out=$(AUTHGUARD_TEST_TIME=$T0 "$AUTHGUARD_ENROLL" --conf "$TMP/daemon.conf" \
			--user "agd$k" --json </dev/null) || die 1 "authguard-enroll agd$k failed"
		sec=$(printf '%s' "$out" | sed -n 's/.*"secret": *"\([A-Z2-7]*\)".*/\1/p')
		oathtool --totp -b -N "@$T0" "$sec" |
			AUTHGUARD_TEST_TIME=$T0 "$AUTHGUARD_ENROLL" --conf "$TMP/daemon.conf" \
				--user "agd$k" --confirm --json >/dev/null || die 1 "authguard-enroll --confirm agd$k failed"
		DSECRETS+=("$sec")
	done
	ag="$AUTHGUARD_MODULE conf=$TMP/daemon.conf nodelay"
	cat >"$TMP/svc/daemon" <<EOF
auth requisite                $ag preauth
auth [success=ok default=1]   $exec_line
auth [success=ok default=die] $ag pwok
auth [success=ok default=die] $ag totp
auth sufficient               $ag authsucc
auth requisite                pam_deny.so
EOF
	if [[ $TOOL == callgrind ]]; then
		AUTHGUARD_TEST_TIME=$((T0 + 30)) valgrind --tool=callgrind \
			--callgrind-out-file="$TMP/cgd.out" "$AUTHGUARDD" --conf "$TMP/daemon.conf" \
			2>"$TMP/daemon.err" &
	else
		AUTHGUARD_TEST_TIME=$((T0 + 30)) "$AUTHGUARDD" --conf "$TMP/daemon.conf" 2>"$TMP/daemon.err" &
	fi
	DPID=$!
	for _ in $(seq 300); do [[ -S $TMP/d.sock ]] && break; sleep 0.1; done
	[[ -S $TMP/d.sock ]] || die 1 "authguardd did not start: $(cat "$TMP/daemon.err")"
fi

# --- pam_google_authenticator: a secret file in its own format
{
	printf '%s\n" WINDOW_SIZE 3\n' "$SECRET"
	[[ $GA_REUSE == 1 ]] || printf '" DISALLOW_REUSE\n'
	printf '" TOTP_AUTH\n'
} >"$TMP/ga.pristine"
chmod 600 "$TMP/ga.pristine"
cat >"$TMP/svc/google" <<EOF
auth required $exec_line
auth required pam_google_authenticator.so secret=$TMP/ga user=root
EOF

# --- pam_oath: a usersfile with one TOTP (HOTP/T30) line
printf 'HOTP/T30 %s - %s\n' "$USER_NAME" "$HEX" >"$TMP/oath.pristine"
chmod 600 "$TMP/oath.pristine"
cat >"$TMP/svc/oath" <<EOF
auth required $exec_line
auth required pam_oath.so usersfile=$TMP/oath.users window=1 digits=6
EOF

# Per configuration: what to do before an attempt (restore state, compute
# the code; untimed), and the attempt itself (timed).
ag_step=0
d_next=0
AUSER=$USER_NAME
prepare() { # config -> sets CODE, ENVV, AUSER
	AUSER=$USER_NAME
	case $1 in
	daemon)
		AUSER=agd$d_next
		ENVV=()
		CODE=$(oathtool --totp -b -N "@$((T0 + 30))" "${DSECRETS[d_next]}")
		d_next=$((d_next + 1))
		;;
	authguard)
		ag_step=$((ag_step + 1))
		ENVV=(AUTHGUARD_TEST_TIME=$((T0 + 30 * ag_step)))
		CODE=$(oathtool --totp -b -N "@$((T0 + 30 * ag_step))" "$SECRET")
		;;
	google)
		cp -f "$TMP/ga.pristine" "$TMP/ga"
		chmod 600 "$TMP/ga"
		ENVV=()
		CODE=$(oathtool --totp -b "$SECRET")
		;;
	oath)
		cp -f "$TMP/oath.pristine" "$TMP/oath.users"
		ENVV=()
		CODE=$(oathtool --totp -b "$SECRET")
		;;
	baseline | guardonly)
		ENVV=()
		CODE=000000
		;;
	esac
	printf 'right\n%s\n' "$CODE" >"$TMP/answers"
}

attempt() { # config [command prefix...]; answers in $TMP/answers
	local c=$1
	shift
	timeout 120 env \
		LD_PRELOAD="$NSS_WRAPPER_LIB:$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$TMP/svc" \
		NSS_WRAPPER_PASSWD="$TMP/passwd" NSS_WRAPPER_GROUP="$TMP/group" \
		${ENVV[@]+"${ENVV[@]}"} \
		"$@" pamtester "$c" "$AUSER" authenticate <"$TMP/answers" >"$TMP/out" 2>&1
}

expect() { # config expected-rc description
	local rc=0
	attempt "$1" || rc=$?
	[[ $rc == "$2" ]] ||
		die 1 "$1: $3: exit $rc, expected $2 ($(tr '\n' ' ' <"$TMP/out" | cut -c1-200))"
}

# --- sanity: every stack accepts the right password with a fresh code, and
# refuses a replayed code, a wrong code and a wrong password; the TOTP
# modules really asked for a code.
for c in "${CONFIGS[@]}"; do
	prepare "$c"
	expect "$c" 0 "right password and code"
	[[ $c == baseline || $c == guardonly ]] && continue
	grep -q -e 'Verification code' -e 'One-time password' "$TMP/out" ||
		die 1 "$c: no code was asked for"
	case $c in
	google)
		[[ $GA_REUSE == 1 ]] || grep -q '^" DISALLOW_REUSE [0-9]' "$TMP/ga" ||
			die 1 "google: the secret file does not record the used step"
		;;
	oath)
		grep -q "^HOTP/T30[[:space:]]*$USER_NAME[[:space:]].*[[:space:]][0-9]\{6\}[[:space:]]" \
			"$TMP/oath.users" || die 1 "oath: the usersfile does not record the used code"
		;;
	esac
	if [[ $c != google || $GA_REUSE != 1 ]]; then
		expect "$c" 1 "the same code again (replay)"
	fi
	[[ $c != daemon ]] || d_next=$((d_next + 1)) # (that account's code is spent)
	prepare "$c"
	printf 'right\n%06d\n' $(((10#$CODE + 1) % 1000000)) >"$TMP/answers"
	expect "$c" 1 "a wrong code"
	prepare "$c"
	printf 'wrong\n%s\n' "$CODE" >"$TMP/answers"
	expect "$c" 1 "a wrong password"
done

# --- callgrind: instructions of the pamtester process per login (median
# of BENCH_CG_N), and for "daemon" the daemon's over those logins, per
# login (its counters zeroed before, dumped after).
if [[ $TOOL == callgrind ]]; then
	ndumps() { local f n=0; for f in "$TMP"/cgd.out.*; do [[ -e $f ]] && n=$((n + 1)); done; echo "$n"; }
	declare -A ir=() dir=()
	echo "totp-vs-google-oath: $CG_N logins per configuration under callgrind," \
		"configurations: ${CONFIGS[*]}" >&2
	for c in "${CONFIGS[@]}"; do
		: >"$TMP/ir.$c"
		[[ $c != daemon ]] || callgrind_control -z "$DPID" >/dev/null 2>&1 || true
		for ((i = 0; i < CG_N; i++)); do
			prepare "$c"
			rc=0
			attempt "$c" valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" || rc=$?
			[[ $rc == 0 ]] || die 1 "$c: a login under callgrind failed (exit $rc): $(tr '\n' ' ' <"$TMP/out" | cut -c1-200)"
			sed -n 's/^summary: *//p' "$TMP/cg.out" >>"$TMP/ir.$c"
			rm -f "$TMP/cg.out"
		done
		ir[$c]=$(sort -n "$TMP/ir.$c" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
		dir[$c]=0
		if [[ $c == daemon ]]; then
			d0=$(ndumps)
			callgrind_control -d "$DPID" >/dev/null 2>&1 || true
			for _ in $(seq 100); do (($(ndumps) > d0)) && break; sleep 0.1; done
			dir[$c]=$(awk -v n="$CG_N" '/^summary:/ { printf "%.0f", $2 / n }' "$TMP/cgd.out.$(ndumps)")
		fi
	done
	printf '%-10s %14s %14s %14s\n' configuration "Ir/login" "(pamtester" "+ daemon)"
	for c in "${CONFIGS[@]}"; do
		printf '%-10s %14s %14s %14s\n' "$c" "$((ir[$c] + dir[$c]))" "${ir[$c]}" "${dir[$c]}"
	done
	tot() { echo $((ir[$1] + dir[$1])); }
	r() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
	for a in authguard daemon; do
		for other in google oath; do
			has "$a" && has "$other" || continue
			printf '%-44s %s\n' "Ir: $a / $other:" "$(r "$(tot "$a")" "$(tot "$other")")"
		done
	done
	exit 0
fi

# --- timing: interleaved rounds, rotating who goes first; every login's
# time is kept, and the medians are compared (a burst of load from other
# processes on a shared machine moves the mean, hardly the median).
us() { # EPOCHREALTIME as integer microseconds
	local t=${1/./}
	t=${t/,/}
	printf '%s' "$((10#$t))"
}
done_n=0
order=("${CONFIGS[@]}")
for c in "${CONFIGS[@]}"; do : >"$TMP/samples.$c"; done
echo "totp-vs-google-oath: $N successful logins per configuration," \
	"configurations: ${CONFIGS[*]}$([[ $GA_REUSE != 1 ]] || echo ' (google: reuse allowed)')" >&2
while ((done_n < N)); do
	k=$((N - done_n < ROUND ? N - done_n : ROUND))
	for c in "${order[@]}"; do
		for ((i = 0; i < k; i++)); do
			prepare "$c"
			t0=$EPOCHREALTIME
			rc=0
			attempt "$c" || rc=$?
			t1=$EPOCHREALTIME
			[[ $rc == 0 ]] || die 1 "$c: a timed login failed (exit $rc): $(tr '\n' ' ' <"$TMP/out" | cut -c1-200)"
			echo $(($(us "$t1") - $(us "$t0"))) >>"$TMP/samples.$c"
		done
	done
	order=("${order[@]:1}" "${order[0]}")
	done_n=$((done_n + k))
done

declare -A med=() mean=()
for c in "${CONFIGS[@]}"; do
	med[$c]=$(sort -n "$TMP/samples.$c" | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	mean[$c]=$(awk '{ s += $1 } END { print s / NR }' "$TMP/samples.$c")
done
ms() { awk -v t="$1" 'BEGIN { printf "%.3f", t / 1e3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (a - b) / 1e3 }'; }

printf '%-10s %14s %12s\n' configuration "median ms" "mean ms"
for c in "${CONFIGS[@]}"; do
	printf '%-10s %14s %12s\n' "$c" "$(ms "${med[$c]}")" "$(ms "${mean[$c]}")"
done
echo "(ratios and differences of the medians)"
for a in authguard daemon; do
	for other in google oath; do
		if has "$a" && has "$other"; then
			printf '%-44s %s\n' "$a / $other:" "$(ratio "${med[$a]}" "${med[$other]}")"
			if has baseline; then
				printf '%-44s %s\n' "($a - baseline) / ($other - baseline):" \
					"$(ratio "$(awk -v a="${med[$a]}" -v b="${med[baseline]}" 'BEGIN { print a - b }')" \
						"$(awk -v a="${med[$other]}" -v b="${med[baseline]}" 'BEGIN { print a - b }')")"
			fi
		fi
	done
done
if has daemon && has authguard; then
	printf '%-44s %s\n' "daemon / authguard:" "$(ratio "${med[daemon]}" "${med[authguard]}")"
fi
if has authguard && has guardonly; then
	printf '%-44s %s ms/login\n' "authguard - guardonly (the totp step):" \
		"$(diff_ms "${med[authguard]}" "${med[guardonly]}")"
fi
if has baseline; then
	for c in guardonly authguard daemon google oath; do
		has "$c" || continue
		printf '%-44s %s ms/login\n' "$c - baseline:" "$(diff_ms "${med[$c]}" "${med[baseline]}")"
	done
fi
