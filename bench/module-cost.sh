#!/bin/bash
# The module's own cost, without pamtester, pam_exec's fork or the shell:
#
#   attempt  one failed attempt in a fresh process -- pam_start,
#            pam_authenticate through "preauth" then "authfail" (so the
#            module is loaded, the state opened, the attempt reserved and
#            settled as a failure), pam_end -- timed inside the process:
#            wall time and the process's CPU time.  The stack "none"
#            (pam_deny alone) is libpam's share.
#   dlopen   loading the module alone (RTLD_NOW | RTLD_LOCAL, as libpam
#            does) and, when the build has one, its state service after it.
#
# For the current build and, with AUTHGUARD_REF_MODULE/_CTL set, a
# reference build (e.g. the one before a change), interleaved, so a busy
# shared machine slows all alike; medians and means in microseconds.
# Nothing under /etc/pam.d is used (pam_wrapper).
#
# Environment:
#   BENCH_N           processes per configuration and measure (default 500)
#   AUTHGUARD_MODULE  default $(dirname $0)/../pam_authguard/.libs/pam_authguard.so
#   AUTHGUARD_CTL     default $(dirname $0)/../helpers/authguard-ctl
#   AUTHGUARD_TEST_SERVICE_DIR  the build tree's lib/.libs beside the module
#                     (test builds load authsvc-direct.so from there)
#   AUTHGUARD_REF_MODULE, AUTHGUARD_REF_CTL, AUTHGUARD_REF_SERVICE_DIR
#                     the same for the reference build (optional)
#   CC                compiler for the two small drivers (default cc)
#   PAM_WRAPPER_LIB   library location
#
# Exit status: 0 done, 1 a stack did not behave as expected, 2 missing input.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_N:-500}
AUTHGUARD_MODULE=${AUTHGUARD_MODULE:-$here/../pam_authguard/.libs/pam_authguard.so}
AUTHGUARD_CTL=${AUTHGUARD_CTL:-$here/../helpers/authguard-ctl}
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libpam_wrapper.so}
CC=${CC:-cc}

die() { echo "module-cost: $2" >&2; exit "$1"; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_N must be a positive integer"
[[ -f $PAM_WRAPPER_LIB ]] || die 2 "pam_wrapper not found: $PAM_WRAPPER_LIB"
command -v python3 >/dev/null || die 2 "python3 not found"
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
svcdir() { (cd "$(dirname "$1")/../../lib/.libs" 2>/dev/null && pwd) || true; }

configs=(current)
[[ -f $AUTHGUARD_MODULE && -x $AUTHGUARD_CTL ]] ||
	die 2 "module or authguard-ctl not found: $AUTHGUARD_MODULE, $AUTHGUARD_CTL (build first)"
declare -A mod=([current]=$(abs "$AUTHGUARD_MODULE")) ctl=([current]=$AUTHGUARD_CTL) svc=()
svc[current]=${AUTHGUARD_TEST_SERVICE_DIR:-$(svcdir "$AUTHGUARD_MODULE")}
if [[ -n ${AUTHGUARD_REF_MODULE:-} ]]; then
	[[ -f $AUTHGUARD_REF_MODULE && -x ${AUTHGUARD_REF_CTL:-} ]] ||
		die 2 "AUTHGUARD_REF_MODULE needs AUTHGUARD_REF_CTL"
	configs+=(reference)
	mod[reference]=$(abs "$AUTHGUARD_REF_MODULE")
	ctl[reference]=$AUTHGUARD_REF_CTL
	svc[reference]=${AUTHGUARD_REF_SERVICE_DIR:-$(svcdir "$AUTHGUARD_REF_MODULE")}
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"

cat >"$TMP/attempt.c" <<'EOF'
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp != NULL ? PAM_SUCCESS : PAM_BUF_ERR;
}

static long
ns(struct timespec a, struct timespec b)
{
	return (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
}

int
main(int argc, char **argv)
{
	struct pam_conv c = { conv, NULL };
	struct timespec w0, w1, c0, c1;
	pam_handle_t *h = NULL;
	int r;

	if (argc != 2)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &w0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	if (pam_start(argv[1], "agbench", &c, &h) != PAM_SUCCESS)
		return 3;
	pam_set_item(h, PAM_RHOST, "192.0.2.1");
	r = pam_authenticate(h, 0);
	pam_end(h, r);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	printf("%d %ld %ld\n", r, ns(w0, w1), ns(c0, c1));
	return 0;
}
EOF
cat >"$TMP/load.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

int
main(int argc, char **argv)
{
	struct timespec a, b;
	long total = 0;
	int i;

	for (i = 1; i < argc; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (dlopen(argv[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) == NULL) {
			fprintf(stderr, "%s\n", dlerror());
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		total += (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
	}
	printf("%ld\n", total);
	return 0;
}
EOF
# Both link libpam, so that its loading is not part of any figure.
"$CC" -O2 -o "$TMP/attempt" "$TMP/attempt.c" -lpam || die 2 "cannot build the driver (libpam0g-dev?)"
"$CC" -O2 -o "$TMP/load" "$TMP/load.c" -lpam -ldl || die 2 "cannot build the driver"

mkdir -m 755 "$TMP/svc"
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$TMP/svc/other"
printf 'auth required pam_deny.so\n' >"$TMP/svc/none"
for c in "${configs[@]}"; do
	mkdir -m 700 "$TMP/state-$c"
	cat >"$TMP/$c.conf" <<EOF
state_file = $TMP/state-$c/state.db
secrets_key = $TMP/keys/secrets.key
deny = 100000
host_deny = 1000000
delay_base = 0
EOF
	"${ctl[$c]}" --conf "$TMP/$c.conf" init >/dev/null || die 1 "$c: authguard-ctl init failed"
	m="${mod[$c]} conf=$TMP/$c.conf nodelay"
	printf 'auth requisite %s preauth\nauth [default=die] %s authfail\nauth required pam_deny.so\n' \
		"$m" "$m" >"$TMP/svc/$c"
done

attempt() { # stack
	AUTHGUARD_TEST_SERVICE_DIR=${svc[$1]:-} LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$TMP/svc" "$TMP/attempt" "$1" || true
}
load() { # configuration
	if [[ -f ${svc[$1]:-}/authsvc-direct.so ]] && ! readelf -d "${mod[$1]}" | grep -q libsqlite3; then
		"$TMP/load" "${mod[$1]}" "${svc[$1]}/authsvc-direct.so"
	else
		"$TMP/load" "${mod[$1]}"
	fi
}

# Sanity: every stack fails the attempt (PAM_AUTH_ERR, 7) and the module
# counted it.
for c in none "${configs[@]}"; do
	set -- $(attempt "$c")
	[[ ${1:-} == 7 ]] || die 1 "$c: pam_authenticate gave '${1:-nothing}', expected 7 (PAM_AUTH_ERR)"
done
for c in "${configs[@]}"; do
	load "$c" >/dev/null || die 1 "$c: the module does not load"
done

echo "module-cost: $N processes per configuration and measure: none ${configs[*]}" >&2
: >"$TMP/out"
for ((i = 0; i < N; i++)); do
	for c in none "${configs[@]}"; do
		echo "attempt $c $(attempt "$c")" >>"$TMP/out"
	done
	for c in "${configs[@]}"; do
		echo "load $c $(load "$c")" >>"$TMP/out"
	done
done

python3 - "$TMP/out" "${configs[@]}" <<'EOF'
import statistics as st
import sys

att, load, bad = {}, {}, 0
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "attempt" and len(f) == 5 and f[2] == "7":
        w, c = att.setdefault(f[1], ([], []))
        w.append(int(f[3]) / 1e3)
        c.append(int(f[4]) / 1e3)
    elif f[0] == "load" and len(f) == 3:
        load.setdefault(f[1], []).append(int(f[2]) / 1e3)
    else:
        bad += 1
configs = sys.argv[2:]
print("%-22s %9s %9s %9s %9s   (microseconds)" % ("one failed attempt", "wall med", "wall mean", "cpu med", "cpu mean"))
for c in ["none"] + configs:
    w, cpu = att[c]
    print("%-22s %9.0f %9.0f %9.0f %9.0f" % (c, st.median(w), st.mean(w), st.median(cpu), st.mean(cpu)))
base = st.median(att["none"][1])
for c in configs:
    print("%-22s %9.0f cpu (median minus none)" % (c + ": module", st.median(att[c][1]) - base))
print("%-22s %9s %9s" % ("dlopen", "median", "mean"))
for c in configs:
    print("%-22s %9.0f %9.0f" % (c, st.median(load[c]), st.mean(load[c])))
if "reference" in configs:
    r = (st.median(att["current"][1]) - base) / (st.median(att["reference"][1]) - base)
    print("current / reference, module cpu: %.2f; dlopen median: %+.0f us" %
          (r, st.median(load["current"]) - st.median(load["reference"])))
if bad:
    print("runs that gave no figure (pam_wrapper's /tmp race, ...): %d" % bad)
EOF
