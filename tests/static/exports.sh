#!/bin/bash
# The module exports exactly its PAM entry points: nothing of lib/ (or of
# SQLite's symbols) can clash with another module loaded into the same
# process.  Also dlopen()s it the way libpam does, to prove it links.  The
# state service it loads (authsvc-direct.so) exports exactly its table.
set -euo pipefail
mod=$top_builddir/pam_authguard/.libs/pam_authguard.so
svc=$top_builddir/lib/.libs/authsvc-direct.so
[ -f "$mod" ] || { echo "module not built: $mod"; exit 1; }
[ -f "$svc" ] || { echo "state service not built: $svc"; exit 1; }

want=$'pam_sm_acct_mgmt\npam_sm_authenticate\npam_sm_close_session\npam_sm_open_session\npam_sm_setcred'
got=$(nm -D --defined-only "$mod" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
if [ "$got" != "$want" ]; then
	echo "FAIL: exported symbols differ"
	diff <(echo "$want") <(echo "$got") || true
	exit 1
fi
echo "ok - exports exactly: $(echo "$got" | tr '\n' ' ')"

# The module loads no library it has no use for inside sshd or sudo:
# JSON, OpenSSL (tokens, the web API), PostgreSQL (a loadable back end),
# QR codes.  Those stay in the helpers' libraries (Makefile.am).
needed=$(readelf -d "$mod" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if bad=$(grep -E '^lib(jansson|crypto|ssl|pq|qrencode|png)\.' <<<"$needed"); then
	echo "FAIL: the module needs $(echo "$bad" | tr '\n' ' ')"
	exit 1
fi
echo "ok - the module needs only: $(echo "$needed" | tr '\n' ' ')"

got=$(nm -D --defined-only "$svc" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
if [ "$got" != ag_authsvc_direct_ops ]; then
	echo "FAIL: authsvc-direct.so exports more or less than ag_authsvc_direct_ops"
	diff <(echo ag_authsvc_direct_ops) <(echo "$got") || true
	exit 1
fi
echo "ok - authsvc-direct.so exports exactly: $got"

# An ASan build needs its runtime loaded first (AG_PRELOAD_EXTRA); the
# interpreter's own allocations are not ours to leak-check.
LD_PRELOAD=${AG_PRELOAD_EXTRA:-} ASAN_OPTIONS=detect_leaks=0 python3 - "$mod" "$svc" <<'PY'
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_LOCAL)
for name in ("pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
             "pam_sm_open_session", "pam_sm_close_session"):
    getattr(lib, name)
print("ok - dlopen(RTLD_NOW) resolves every symbol")
svc = ctypes.CDLL(sys.argv[2], mode=os.RTLD_NOW | os.RTLD_LOCAL)
getattr(svc, "ag_authsvc_direct_ops")
print("ok - the state service loads (RTLD_NOW) on its own")
PY
