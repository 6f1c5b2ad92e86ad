#!/bin/bash
# authguardd under the restrictions of its systemd unit
# (conf/authguardd.service.in), without systemd:
#
#   MemoryDenyWriteExecute=yes  the daemon runs with the kernel's
#       PR_SET_MDWE (Linux 6.3 and later: no mapping that is writable and
#       executable, ever), set by a small wrapper before it is executed,
#       and every kind of request it serves succeeds -- the web operations
#       with an Ed25519 and then an ES256 signing key (libsodium, OpenSSL),
#       a TOTP code (liboath), a webhook, sessions, and the PAM operations
#       (SQLite), the status, a reload; and, when a PostgreSQL server is
#       installed, the same on store = postgresql (libpq);
#   SystemCallFilter=@system-service  the same run under strace: every
#       system call the daemon made is in systemd's @system-service set
#       (expanded by systemd-analyze syscall-filter);
#   RestrictAddressFamilies=AF_UNIX  ... and every socket it opened was
#       AF_UNIX (on an SQLite host; PostgreSQL over TCP needs the drop-in).
#
# Without strace or systemd-analyze the second and third checks are
# skipped, saying so; on a kernel without PR_SET_MDWE the first runs
# without it, saying so.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

DAEMON=$top_builddir/daemon/authguardd
WEBHOOK_BIN=$top_builddir/helpers/authguard-webhook
ENROLL_BIN=$top_builddir/helpers/authguard-enroll
for b in "$DAEMON" "$WEBHOOK_BIN" "$ENROLL_BIN"; do
	[ -x "$b" ] || ag_bail "not built: $b (run make)"
done
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool is not installed"
# Root's requests: the PAM operations for other accounts, the status.
[ "$(id -u)" = 0 ] || ag_skip "needs root (it asks for what only root's PAM stacks may)"
T0=$AG_NOW

extra=()
[ "$(id -u)" = 0 ] && extra+=("daemon_user = root")

# mdwe_exec PROGRAM ARGS...: runs the program with PR_SET_MDWE
# (PR_MDWE_REFUSE_EXEC_GAIN), which execve keeps.
MDWE=1
ag_python -c 'import ctypes,sys; sys.exit(0 if ctypes.CDLL(None).prctl(66,0,0,0,0) >= 0 else 1)' ||
	MDWE=0
[ "$MDWE" = 1 ] || ag_say "SKIP part: this kernel has no PR_SET_MDWE (Linux 6.3+): the daemon runs without it"
mdwe_exec() {
	local py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	# exec: run in the background, the job is then the daemon itself (its
	# pid gets the signals), not a shell around it that a signal would
	# end, leaving the daemon running.
	exec "$py" - "$@" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if os.environ.get("AG_MDWE") == "1":
    if libc.prctl(65, 1, 0, 0, 0) != 0:          # PR_SET_MDWE, REFUSE_EXEC_GAIN
        sys.exit("PR_SET_MDWE: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
EOF
}

# start_daemon NAME [strace]: the daemon of $AG_CONF on $SOCK; DPID.
start_daemon() {
	local log=$AG_TMP/$1.err
	rm -f "$SOCK"
	if [ "${2:-}" = strace ]; then
		strace -f -qq -e trace=all -o "$AG_TMP/$1.strace" \
			env AUTHGUARD_TEST_TIME="$T0" "$DAEMON" --conf "$AG_CONF" 2>"$log" &
	else
		AG_MDWE=$MDWE AUTHGUARD_TEST_TIME=$T0 mdwe_exec "$DAEMON" --conf "$AG_CONF" 2>"$log" &
	fi
	DPID=$!
	for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.05; done
	[ -S "$SOCK" ] || ag_bail "authguardd did not start: $(cat "$log")"
	# The daemon itself (under strace: strace's child) gets the signals.
	TPID=$DPID
	[ "${2:-}" != strace ] || TPID=$(pgrep -P "$DPID" | head -1)
}
stop_daemon() {
	kill -TERM "$TPID"
	wait "$DPID"
	DRC=$?
}

tok() { # tok ARGS... (stdin passed on): authguard-token through the daemon
	AUTHGUARD_TEST_TIME=$T0 "$AG_TOKEN_BIN" --conf "$AG_CONF" --daemon "$@"
}
field() { ag_jget "$1" "$2"; }

# exercise NAME: every kind of request; prints one "name status" line each.
exercise() {
	local o t rt s sid code secret body ts sig
	o=$(tok jwks </dev/null); echo "jwks $?"
	o=$(tok issue --sub alice@example.com --refresh </dev/null); echo "issue $?"
	t=$(field "$o" token) rt=$(field "$o" refresh_token)
	ag_secret "$t" "$rt"
	printf '%s\n' "$t" | tok verify >/dev/null; echo "verify $?"
	o=$(printf '%s\n' "$rt" | tok refresh); echo "refresh $?"
	ag_secret "$(field "$o" token)" "$(field "$o" refresh_token)"
	printf '%s\n' "$t" | tok revoke >/dev/null; echo "revoke $?"
	o=$(tok session create --user alice@example.com --user-agent UA </dev/null); echo "session_create $?"
	s=$(field "$o" session) sid=$(field "$o" sid)
	ag_secret "$s"
	printf '%s\n' "$s" | tok session check --user-agent UA >/dev/null; echo "session_check $?"
	o=$(printf '%s\n' "$s" | tok session rotate); echo "session_rotate $?"
	s=$(field "$o" session)
	ag_secret "$s"
	tok session list --user alice@example.com </dev/null >/dev/null; echo "session_list $?"
	printf '%s\n' "$s" | tok logout >/dev/null; echo "logout $?"
	tok session end --sid "$sid" </dev/null >/dev/null; echo "session_end $?"
	o=$(tok guard check --subject bob@example.com --ip 192.0.2.1 </dev/null); echo "guard_check $?"
	tok guard failure --subject bob@example.com --ip 192.0.2.1 --attempt "$(field "$o" attempt)" \
		</dev/null >/dev/null; echo "guard_failure $?"
	# a TOTP code (liboath through libsodium-sealed secrets)
	o=$(AUTHGUARD_TEST_TIME=$T0 "$ENROLL_BIN" --conf "$AG_CONF" --user carol --json </dev/null)
	secret=$(field "$o" secret)
	ag_secret "$secret"
	oathtool --totp -b -N "@$T0" "$secret" | AUTHGUARD_TEST_TIME=$T0 "$ENROLL_BIN" \
		--conf "$AG_CONF" --user carol --confirm --json >/dev/null
	# (the daemon's clock is T0, whose step the confirmation used: the
	# next step's code is within totp_window and new)
	code=$(oathtool --totp -b -N "@$((T0 + 30))" "$secret")
	ag_secret "$code"
	printf '%s\n' "$code" | tok mfa verify --user carol >/dev/null; echo "mfa_verify $?"
	printf '%s\n' "$code" | tok mfa verify --user carol >/dev/null; echo "mfa_verify_replayed $?"
	# a webhook (HMAC over the body)
	body='{"type":"session.ended","object":"event","data":{"id":"sess_x"}}'
	ts=$T0
	sig=$(printf '%s' "msg_$1.$ts.$body" | openssl dgst -sha256 -mac HMAC \
		-macopt "hexkey:$(sed 's/^whsec_//' "$AG_TMP/keys/webhook.secret" | base64 -d | od -An -tx1 |
			tr -d ' \n')" -binary | base64)
	printf '%s' "$body" | AUTHGUARD_TEST_TIME=$T0 "$WEBHOOK_BIN" --conf "$AG_CONF" --daemon receive \
		--header "svix-id: msg_$1" --header "svix-timestamp: $ts" --header "svix-signature: v1,$sig" \
		>/dev/null; echo "webhook_receive $?"
	# the PAM operations, as root's PAM stack sends them
	AG_SOCK=$SOCK ag_python - <<'EOF'
import json, os, socket
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["AG_SOCK"])
f = s.makefile("rb")
def ask(name, req):
    s.sendall(json.dumps(req).encode() + b"\n")
    a = json.loads(f.readline())
    print(name, a.get("status"))
    return a
ask("pam_check_user", {"op": "pam_check_user", "user": "dave"})
a = ask("pam_begin", {"op": "pam_begin", "user": "dave", "rhost": "192.0.2.9", "service": "sshd"})
ask("pam_fail", {"op": "pam_fail", "user": "dave", "rhost": "192.0.2.9", "attempt": a.get("attempt", 0)})
a = ask("pam_begin2", {"op": "pam_begin", "user": "dave"})
ask("pam_succeed", {"op": "pam_succeed", "user": "dave", "attempt": a.get("attempt", 0)})
ask("pam_account", {"op": "pam_account", "user": "dave"})
ask("pam_mfa_status", {"op": "pam_mfa_status", "user": "carol"})
a = ask("pam_session_open", {"op": "pam_session_open", "user": "dave", "pid": os.getpid(),
        "boot_id": "0" * 36, "host": "h", "started": 1})
ask("pam_session_close", {"op": "pam_session_close", "user": "dave", "id": a.get("id", 1)})
ask("daemon_status", {"op": "daemon_status"})
EOF
	kill -HUP "$TPID"
	sleep 0.3
	tok jwks </dev/null >/dev/null; echo "after_reload $?"
	# ES256: OpenSSL signs and verifies
	ag_run_ctl keygen --alg ES256 --rotate
	o=$(tok issue --sub es@example.com </dev/null); echo "issue_es256 $?"
	t=$(field "$o" token)
	ag_secret "$t"
	printf '%s\n' "$t" | tok verify >/dev/null; echo "verify_es256 $?"
	ag_run_ctl keygen --alg EdDSA --rotate
}

EXPECT="jwks 0
issue 0
verify 0
refresh 0
revoke 0
session_create 0
session_check 0
session_rotate 0
session_list 0
logout 0
session_end 0
guard_check 0
guard_failure 0
mfa_verify 0
mfa_verify_replayed 1
webhook_receive 0
pam_check_user 0
pam_begin 0
pam_fail 0
pam_begin2 0
pam_succeed 0
pam_account 0
pam_mfa_status 0
pam_session_open 0
pam_session_close 0
daemon_status 0
after_reload 0
issue_es256 0
verify_es256 0"

setup_conf() { # NAME [LINES...]
	local name=$1
	shift
	SOCK=$AG_TMP/$name.sock
	ag_conf "$name" "daemon_socket = $SOCK" "token_keys_dir = $AG_TMP/$name-tkeys" \
		"token_issuer = https://iss.example" "token_audience = aud.example" \
		"webhook_secret_file = $AG_TMP/keys/webhook.secret" "delay_base = 0" "${extra[@]}" "$@"
	ag_run_ctl keygen
	[ "$AG_RC" = 0 ] || ag_bail "authguard-ctl keygen: $AG_OUT"
}
(umask 077 && mkdir -p "$AG_TMP/keys" &&
	printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64 -w0)" >"$AG_TMP/keys/webhook.secret") ||
	ag_bail "cannot write the webhook secret"

label="PR_SET_MDWE"
[ "$MDWE" = 1 ] || label="no PR_SET_MDWE on this kernel"

ag_say "SQLite, every kind of request ($label)"
setup_conf lite
start_daemon lite
got=$(exercise lite 2>"$AG_TMP/lite.exercise.err")
stop_daemon
ag_expect_eq "every request answered as without restrictions ($label)" "$EXPECT" "$got"
ag_expect_eq "the daemon stops cleanly" 0 "$DRC"

if . "$top_srcdir/tests/lib/pgcluster.sh" && ag_pgc_available; then
	ag_say "PostgreSQL, every kind of request ($label)"
	# (the script's exit status survives the stop: ag_cleanup exits with $?)
	trap 'agd_rc=$?; ag_pgc_stop immediate >/dev/null 2>&1; (exit $agd_rc); ag_cleanup' EXIT
	ag_pgc_start "$AG_TMP/pg" || ag_bail "cannot start PostgreSQL"
	ag_pgc_createdb agd
	setup_conf pg "store = postgresql" "pg_conninfo = $AG_PGC_CONNINFO dbname=agd"
	start_daemon pg
	got=$(exercise pg 2>"$AG_TMP/pg.exercise.err")
	stop_daemon
	ag_expect_eq "every request answered on PostgreSQL ($label)" "$EXPECT" "$got"
	ag_expect_eq "the daemon stops cleanly" 0 "$DRC"
	ag_pgc_stop
else
	ag_say "SKIP part: no PostgreSQL server installed: libpq not exercised"
fi

if command -v strace >/dev/null 2>&1 && command -v systemd-analyze >/dev/null 2>&1; then
	ag_say "the system calls and socket families it uses (strace, SQLite)"
	setup_conf traced
	start_daemon traced strace
	got=$(exercise traced 2>"$AG_TMP/traced.exercise.err")
	stop_daemon
	ag_expect_eq "every request answered under strace" "$EXPECT" "$got"
	# @system-service, its groups expanded.
	expand() {
		# (group names have hyphens: @basic-io, @file-system ...; the
		# inner systemd-analyze must not read the loop's input)
		systemd-analyze syscall-filter "$1" | sed -n 's/^    \([-@a-z0-9_]*\)$/\1/p' |
			while read -r x; do
				case $x in @*) expand "$x" </dev/null ;; *) echo "$x" ;; esac
			done
	}
	expand @system-service | sort -u >"$AG_TMP/allowed"
	# The daemon's calls: after its own execve (strace also sees env's).
	used=$(awk '/execve\(".*authguardd"/ { on = 1 } on' "$AG_TMP/traced.strace" |
		sed -n 's/^[0-9]* \{1,\}\([a-z0-9_]*\)(.*/\1/p' | sort -u)
	missing=$(comm -23 <(printf '%s\n' "$used") "$AG_TMP/allowed" | tr '\n' ' ')
	ag_say "system calls used: $(printf '%s\n' "$used" | wc -l)"
	ag_expect_eq "every system call is in @system-service" "" "$missing"
	families=$(awk '/execve\(".*authguardd"/ { on = 1 } on' "$AG_TMP/traced.strace" |
		sed -n 's/.* socket(\(AF_[A-Z0-9]*\),.*/\1/p' | sort -u | tr '\n' ' ')
	ag_expect_eq "every socket it opens is AF_UNIX" "AF_UNIX " "$families"
else
	ag_say "SKIP part: strace or systemd-analyze is not installed: the system calls were not checked"
fi
ag_done
