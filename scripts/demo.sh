#!/bin/bash
# A tour of pam_authguard on this machine, without touching /etc/pam.d:
# builds the module and helpers, then drives a real PAM stack (the built
# module by absolute path, through cwrap's pam_wrapper and pamtester) and
# the web guard, against a state file in a temporary directory.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
"$src/scripts/install-deps.sh"

build=$src/build/demo
# A release build loads its state service (authsvc-direct.so) only from
# LIBDIR/pam_authguard: that directory is inside the build directory here, and
# only those modules are installed (nothing outside it is touched).
if [ ! -f "$build/installed/pam_authguard/authsvc-direct.so" ]; then
	echo "--- building (release configuration) in build/demo"
	[ -f Makefile ] && make distclean >/dev/null 2>&1 || true
	autoreconf -fi >/dev/null
	mkdir -p "$build"
	(cd "$build" && "$src/configure" -q --sysconfdir=/etc --localstatedir=/var \
		--libdir="$build/installed" && make -s -j"$(nproc)" &&
		make -s install-pkglibLTLIBRARIES) >/dev/null
fi

W=/usr/lib/x86_64-linux-gnu/libpam_wrapper.so
MOD=$build/pam_authguard/.libs/pam_authguard.so
CTL=$build/helpers/authguard-ctl
TOK=$build/helpers/authguard-token
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
mkdir "$T/svc"

# Short numbers so the tour takes seconds; the defaults are in
# conf/authguard.conf (10 failures in 15 minutes lock for 1 hour; delays
# 1, 2, 4, 8, 16 s).
cat >"$T/authguard.conf" <<CONF
state_file = $T/state/state.db
secrets_key = $T/keys/secrets.key
token_keys_dir = $T/keys/tokens
token_issuer = https://auth.example.com
token_audience = api
deny = 5
lock_time = 10m
delay_base = 1
delay_max = 2
host_deny = 8
CONF
chmod 600 "$T/authguard.conf"

# The password check stands in for pam_unix: the password is "opensesame".
cat >"$T/check-password" <<'SH'
#!/bin/sh
read -r pw
[ "$pw" = "opensesame" ]
SH
chmod 755 "$T/check-password"

printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$T/svc/other"
cat >"$T/svc/demo-sshd" <<STACK
auth     requisite               $MOD preauth conf=$T/authguard.conf nodelay
auth     [success=1 default=bad] pam_exec.so expose_authtok quiet $T/check-password
auth     [default=die]           $MOD authfail conf=$T/authguard.conf nodelay
auth     sufficient              $MOD authsucc conf=$T/authguard.conf nodelay
auth     requisite               pam_deny.so
account  required                $MOD conf=$T/authguard.conf
STACK

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
login() { # USER PASSWORD RHOST
	local out rc=0
	# What the user would see: the module's messages (pamtester's own
	# summary line and the password prompt are left out).
	out=$(echo "$2" | LD_PRELOAD=$W PAM_WRAPPER=1 PAM_WRAPPER_USE_SYSLOG=1 \
		PAM_WRAPPER_SERVICE_DIR=$T/svc \
		timeout 20 pamtester -I rhost="$3" demo-sshd "$1" authenticate 2>&1) || rc=$?
	out=$(printf '%s\n' "${out//Password: /}" | grep -v '^pamtester:' | tr '\n' ' ' || true)
	printf '  login %-6s from %-13s password=%-11s -> %s\n' "$1" "$3" "$2" \
		"$([ $rc = 0 ] && echo ACCEPTED || echo "refused  ${out:-(password check failed)}")"
}

say "authguard-ctl init: state directory and file with safe modes"
"$CTL" --conf "$T/authguard.conf" init
ls -ld "$T/state" "$T/state/state.db" | sed 's/^/  /'

say "The service file pam_wrapper reads instead of /etc/pam.d"
sed "s|$src|<src>|g; s|$T|<tmp>|g" "$T/svc/demo-sshd" | sed 's/^/  /'

say "A correct login"
login alice opensesame 203.0.113.9

say "Password guessing: the progressive delay is enforced in the state"
login alice guess1 203.0.113.9
login alice guess2 203.0.113.9   # too early: refused before the password is checked
sleep 1
login alice guess2 203.0.113.9
sleep 2
"$CTL" --conf "$T/authguard.conf" status alice | sed 's/^/  /'

say "Five failures lock the account; even the right password is refused"
for g in guess3 guess4 guess5; do sleep 2; login alice "$g" 203.0.113.9; done
sleep 2
login alice opensesame 203.0.113.9
"$CTL" --conf "$T/authguard.conf" status alice | sed 's/^/  /'

say "The web backend sees the same lock (authguard-token guard, JSON out)"
"$TOK" --conf "$T/authguard.conf" guard check --subject alice --ip 198.51.100.20 || echo "  (exit $?: refused)"

say "The administrator unlocks; the right password works again"
"$CTL" --conf "$T/authguard.conf" unlock alice | sed 's/^/  /'
login alice opensesame 203.0.113.9

say "Password spraying from one host across many accounts locks the host"
for u in bob carol dave erin frank gina hal ivan; do login "$u" spring2026 192.0.2.66; sleep 2; done
"$CTL" --conf "$T/authguard.conf" status --ip 192.0.2.66 | sed 's/^/  /'
login grace opensesame 192.0.2.66
login grace opensesame 203.0.113.9

say "A web login flow: check before the password, then failure or success"
"$TOK" --conf "$T/authguard.conf" guard check --subject henry@example.com --ip 2001:db8:7:1::5
"$TOK" --conf "$T/authguard.conf" guard failure --subject henry@example.com --ip 2001:db8:7:1::5
"$TOK" --conf "$T/authguard.conf" guard check --subject henry@example.com --ip 2001:db8:7:1::99 || echo "  (exit $?: same /64, delay owed)"

say "MFA: enroll alice for TOTP codes (authguard-enroll: secret, key URI, QR code)"
ENR=$build/helpers/authguard-enroll
# An older build/demo may predate authguard-enroll.
[ -x "$ENR" ] || (cd "$build" && make -s -j"$(nproc)") >/dev/null
"$ENR" --conf "$T/authguard.conf" --user alice --issuer "authguard demo" \
	--png "$T/alice-qr.png" </dev/null | tee "$T/enroll.txt" | sed 's/^/  /'
secret=$(sed -n 's/^Secret key: *//p' "$T/enroll.txt" | tr -d ' ')
echo "  zbarimg reads $T/alice-qr.png as:"
echo "  $(zbarimg --raw -q --nodbus "$T/alice-qr.png")"

say "The app's current code (here from oathtool) confirms; backup codes are shown once"
oathtool --totp -b "$secret" |
	"$ENR" --conf "$T/authguard.conf" --user alice --confirm | tee "$T/confirm.txt" |
	sed 's/^/  /'
"$ENR" --conf "$T/authguard.conf" --user alice --status | sed 's/^/  /'
backup=$(sed -n 's/^ *1\. //p' "$T/confirm.txt")

say "The state file holds the secret sealed and the backup codes hashed"
echo "  lines of 'sqlite3 state.db .dump' that contain the secret or a backup code:" \
	"$(sqlite3 "$T/state/state.db" .dump | grep -c -e "$secret" -e "$backup" || true)"

say "A web login checks the same codes (authguard-token mfa verify, code on stdin)"
echo "$backup" | "$TOK" --conf "$T/authguard.conf" mfa verify --user alice
echo "$backup" | "$TOK" --conf "$T/authguard.conf" mfa verify --user alice ||
	echo "  (exit $?: a backup code works once)"
"$ENR" --conf "$T/authguard.conf" --user alice --status | sed 's/^/  /'

say "Web sessions and tokens: a login creates a session and a token pair"
"$CTL" --conf "$T/authguard.conf" keygen | sed 's/^/  /'
json() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
UA="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
S=$("$TOK" --conf "$T/authguard.conf" session create --user alice --user-agent "$UA")
SID=$(echo "$S" | json sid) SESSION=$(echo "$S" | json session)
echo "  $(echo "$S" | json set_cookie | sed 's/=ags_[A-Za-z0-9_-]*/=ags_.../')"
P=$("$TOK" --conf "$T/authguard.conf" issue --sub alice --sid "$SID" --refresh)
AT=$(echo "$P" | json token) RT=$(echo "$P" | json refresh_token)
echo "$AT" | "$TOK" --conf "$T/authguard.conf" verify | sed 's/^/  /'

say "The cookie replayed from another browser is refused (and the session ended)"
echo "$SESSION" | "$TOK" --conf "$T/authguard.conf" session check --user-agent "curl/8.0" ||
	echo "  (exit $?)"
echo "$AT" | "$TOK" --conf "$T/authguard.conf" verify || echo "  (exit $?: its tokens die with it)"

say "Refresh-token rotation: a stolen, already used token revokes the whole family"
S=$("$TOK" --conf "$T/authguard.conf" session create --user alice --user-agent "$UA")
SID=$(echo "$S" | json sid) SESSION=$(echo "$S" | json session)
RT=$("$TOK" --conf "$T/authguard.conf" issue --sub alice --sid "$SID" --refresh | json refresh_token)
RT2=$(echo "$RT" | "$TOK" --conf "$T/authguard.conf" refresh | json refresh_token)
echo "  refreshed once; now the old token is presented again:"
echo "$RT" | "$TOK" --conf "$T/authguard.conf" refresh || echo "  (exit $?)"
echo "$RT2" | "$TOK" --conf "$T/authguard.conf" refresh || echo "  (exit $?: the newest token died too)"

say "Logout in one call: session, refresh family and access token"
S=$("$TOK" --conf "$T/authguard.conf" session create --user alice --user-agent "$UA")
SID=$(echo "$S" | json sid) SESSION=$(echo "$S" | json session)
P=$("$TOK" --conf "$T/authguard.conf" issue --sub alice --sid "$SID" --refresh)
AT=$(echo "$P" | json token) RT=$(echo "$P" | json refresh_token)
printf '%s\n%s\n%s\n' "$SESSION" "$AT" "$RT" | "$TOK" --conf "$T/authguard.conf" logout | sed 's/^/  /'
echo "$AT" | "$TOK" --conf "$T/authguard.conf" verify || echo "  (exit $?)"

say "Everything the state holds"
"$CTL" --conf "$T/authguard.conf" status | sed 's/^/  /'
echo
echo "demo complete"
