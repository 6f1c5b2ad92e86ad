#!/bin/bash
# authguardd's systemd units (conf/authguardd.{service,socket}.in):
#   - the sandbox the documentation promises is there, directive by
#     directive, and the only active address family is AF_UNIX (the
#     internet ones only in a comment, for PostgreSQL over TCP);
#   - the socket is the built-in daemon_socket, the writable path the
#     directory of the built-in state_file (lib/config.c);
#   - the units make generated have every @...@ filled in;
#   - systemd-analyze verify accepts both (with ExecStart pointing at this
#     build's daemon) and systemd-analyze security rates the service's
#     exposure at most 2.0 -- when systemd-analyze is installed; without
#     it those two checks are skipped, saying so.
set -euo pipefail
src=$top_srcdir/conf
fail=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*"; fail=1; }

daemon=$top_builddir/daemon/authguardd
[ -x "$daemon" ] || { echo "not built: $daemon"; exit 1; }
for u in service socket; do
	[ -f "$src/authguardd.$u.in" ] || { echo "missing: $src/authguardd.$u.in"; exit 1; }
	sed -e "s|@sbindir@|$top_builddir/daemon|g" -e 's|@localstatedir@|/var|g' \
		"$src/authguardd.$u.in" >"$T/authguardd.$u"
done
svc=$T/authguardd.service
sock=$T/authguardd.socket
active() { grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$'; }

for d in 'Type=notify' 'User=authguard' 'Group=authguard' \
	'ExecReload=/bin/kill -HUP $MAINPID' 'RuntimeDirectory=authguard' \
	'RuntimeDirectoryPreserve=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
	'PrivateDevices=yes' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=' \
	'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
	'ProtectControlGroups=yes' 'LockPersonality=yes' 'MemoryDenyWriteExecute=yes' \
	'RestrictSUIDSGID=yes' 'RestrictNamespaces=yes' 'SystemCallFilter=@system-service' \
	'SystemCallArchitectures=native'; do
	if active "$svc" | grep -qxF -- "$d"; then ok "service: $d"; else bad "service lacks $d"; fi
done
if [ "$(active "$svc" | grep '^RestrictAddressFamilies=')" = "RestrictAddressFamilies=AF_UNIX" ]; then
	ok "service: RestrictAddressFamilies=AF_UNIX only"
else
	bad "service: RestrictAddressFamilies is not AF_UNIX alone: $(active "$svc" | grep '^RestrictAddress' || true)"
fi
grep -q '^#.*RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' "$svc" &&
	ok "service: the internet families only in a comment (PostgreSQL over TCP)" ||
	bad "service: no commented RestrictAddressFamilies line for PostgreSQL over TCP"
if active "$svc" | grep -q '^ExecStart=.*authguardd.*--\|^User=root'; then
	bad "service: ExecStart has arguments or User=root"
else
	ok "service: ExecStart without arguments, not root"
fi

for d in 'SocketMode=0666' 'SocketUser=root' 'Accept=no'; do
	if active "$sock" | grep -qxF -- "$d"; then ok "socket: $d"; else bad "socket lacks $d"; fi
done

# The paths the units name are the program's defaults.
def_socket=$(sed -n 's/.*cfg->daemon_socket, "\([^"]*\)".*/\1/p' "$top_srcdir/lib/config.c")
def_state=$(sed -n 's|.*AG_LOCALSTATEDIR "\(/lib/authguard\)/state.db".*|\1|p' "$top_srcdir/lib/config.c")
[ -n "$def_socket" ] && [ -n "$def_state" ] || bad "cannot read the defaults from lib/config.c"
[ "$(active "$sock" | sed -n 's/^ListenStream=//p')" = "$def_socket" ] &&
	ok "socket: ListenStream= is daemon_socket's default ($def_socket)" ||
	bad "socket: ListenStream= is not $def_socket"
[ "$(active "$svc" | sed -n 's/^ReadWritePaths=-\{0,1\}//p')" = "/var$def_state" ] &&
	ok "service: ReadWritePaths= is the state directory (/var$def_state)" ||
	bad "service: ReadWritePaths= is not /var$def_state"

# What make generated for installation.
for u in service socket; do
	f=$top_builddir/conf/authguardd.$u
	if [ ! -f "$f" ]; then
		bad "not generated: $f (make)"
	elif grep -n '@[a-z]*@' "$f"; then
		bad "$f: not substituted"
	else
		ok "$f: every path filled in"
	fi
done

if command -v systemd-analyze >/dev/null 2>&1; then
	if out=$(systemd-analyze verify --man=no "$sock" "$svc" 2>&1) &&
		! grep -i 'authguardd' <<<"$out"; then
		ok "systemd-analyze verify: both units"
	else
		bad "systemd-analyze verify:" "$out"
	fi
	# The exposure scale is 0 to 10; --threshold takes tenths (systemd 250
	# and later).
	v=$(systemd-analyze --version | awk 'NR == 1 { print $2 + 0 }')
	if [ "${v:-0}" -lt 250 ]; then
		echo "# SKIP: systemd $v: systemd-analyze security --offline needs 250 or later"
	elif out=$(systemd-analyze security --offline=yes --threshold=20 "$svc" 2>&1); then
		ok "systemd-analyze security: $(grep -o 'Overall exposure level.*' <<<"$out" | head -1)"
	else
		bad "systemd-analyze security: exposure above 2.0:" \
			"$(grep -o 'Overall exposure level.*' <<<"$out" | head -1)"
	fi
else
	echo "# SKIP: systemd-analyze is not installed: the units were not verified by systemd" \
		"(apt-get install systemd)"
fi
exit $fail
