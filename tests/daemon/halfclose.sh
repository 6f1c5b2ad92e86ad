#!/bin/bash
# authguardd and a client that ends its side of the connection:
#
#   - requests written one after the other and then a shutdown of the
#     writing side (what `printf ... | socat - UNIX:...` does) are all
#     answered, in order, and then the daemon closes;
#   - the same while the first request waits in a worker (the state's
#     write lock held by another process): nothing is read or carried out
#     out of turn, and the daemon's I/O thread sleeps meanwhile instead of
#     waking for the client's end of stream again and again;
#   - a client that goes away entirely while its request is in a worker:
#     the request still finishes (its failure is counted), the daemon
#     serves the next client.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

DAEMON=$top_builddir/daemon/authguardd
[ -x "$DAEMON" ] || ag_bail "daemon not built: $DAEMON (run make)"
command -v sqlite3 >/dev/null 2>&1 || ag_skip "sqlite3 (the command) is not installed"

SOCK=$AG_TMP/d.sock
extra=()
[ "$(id -u)" = 0 ] && extra+=("daemon_user = root")
ag_conf halfclose "daemon_socket = $SOCK" "delay_base = 0" "busy_timeout = 20s" \
	"token_keys_dir = $AG_TMP/tkeys" "${extra[@]}"
ag_run_ctl keygen
[ "$AG_RC" = 0 ] || ag_bail "authguard-ctl keygen: $AG_OUT"

# (its log lines go to the captured syslog, shown when a check fails)
ag_preload
LD_PRELOAD=$ag_preload AG_SYSLOG_FILE=$AG_LOG "$DAEMON" --conf "$AG_CONF" 2>"$AG_TMP/daemon.err" &
DPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || ag_bail "authguardd did not start: $(cat "$AG_TMP/daemon.err")"

# The client: python3 over the socket; prints what the checks need.
client() { AG_SOCK=$SOCK AG_DB=$AG_DB AG_PID=$DPID ag_python - "$@" <<'EOF'
import json, os, socket, subprocess, sys, time
sock, db, pid = os.environ["AG_SOCK"], os.environ["AG_DB"], os.environ["AG_PID"]
mode = sys.argv[1]

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock)
    return s

def read_all(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk

def ids(data):
    return ",".join(str(json.loads(l).get("id")) for l in data.decode().splitlines() if l)

def io_ticks():
    # user + system time of the I/O thread (the main thread) in clock ticks
    with open(f"/proc/{pid}/task/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])

def lock():
    p = subprocess.Popen(["sqlite3", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    # (waits for the lock: a writer or a checkpoint may still hold it)
    p.stdin.write(".timeout 10000\nBEGIN IMMEDIATE;\nSELECT 'locked';\n")
    p.stdin.flush()
    p.stdout.readline()
    return p

def working():
    # requests in a worker (the status request itself is one)
    s = connect()
    s.sendall(b'{"op":"daemon_status"}\n')
    s.shutdown(socket.SHUT_WR)
    global last_status
    last_status = json.loads(read_all(s))
    return last_status["working"] - 1

def wait_in_worker():
    # the request has reached a worker (it waits there for the lock);
    # a fixed sleep is not enough on a loaded machine
    for _ in range(300):
        n = working()
        if n >= 1:
            return
        time.sleep(0.1)
    sys.exit(f"the request never reached a worker: {last_status}")

def unlock(p):
    p.stdin.write("COMMIT;\n")
    p.stdin.close()
    p.wait()

reqs = [{"op": "guard_check", "subject": "hc@example.com", "ip": "192.0.2.1", "id": 1},
        {"op": "jwks", "id": 2},
        {"op": "guard_check", "subject": "hc2@example.com", "id": 3}]
lines = "".join(json.dumps(r) + "\n" for r in reqs).encode()

if mode == "pipeline":
    s = connect()
    s.sendall(lines)
    s.shutdown(socket.SHUT_WR)
    print(ids(read_all(s)))
elif mode == "waiting":
    p = lock()
    s = connect()
    s.sendall(lines)
    wait_in_worker()          # the first request is in a worker, waiting
    s.shutdown(socket.SHUT_WR)
    t0 = io_ticks()
    time.sleep(3)
    t1 = io_ticks()
    unlock(p)
    print(ids(read_all(s)), t1 - t0)
elif mode == "gone":
    p = lock()
    s = connect()
    s.sendall(json.dumps({"op": "guard_check", "subject": "gone@example.com", "id": 9}).encode() + b"\n")
    wait_in_worker()
    s.close()                 # gone while its request waits
    t0 = io_ticks()
    time.sleep(2)
    t1 = io_ticks()
    unlock(p)
    for _ in range(300):      # the departed request finishes first
        if working() < 1:
            break
        time.sleep(0.1)
    s = connect()
    s.sendall(json.dumps({"op": "guard_check", "subject": "gone@example.com", "id": 10}).encode() + b"\n")
    s.shutdown(socket.SHUT_WR)
    a = read_all(s)
    print(ids(a) or "none", json.loads(a or b"{}").get("failures"), t1 - t0)
EOF
}

ag_say "three requests, then the end of the client's side"
ag_expect_eq "every request answered, in order, then closed" "1,2,3" "$(client pipeline)"

ag_say "the same while the first waits for the state's write lock"
read -r got ticks < <(client waiting)
ag_expect_eq "every request answered, in order, none out of turn" "1,2,3" "$got"
# A thread woken again and again by the end of stream burns a core for
# the 3 s; one that sleeps until the answer uses none (the loop's own
# sweep wakes it once a second).
ag_expect_le "the I/O thread sleeps while the request waits (CPU ticks in 3 s)" 10 "$ticks"

ag_say "a client gone while its request waits in a worker"
read -r got failures ticks < <(client gone)
ag_expect_eq "the next client is served" "10" "$got"
ag_expect_eq "the departed client's request was carried out (its attempt counts)" 2 "$failures"
ag_expect_le "the I/O thread sleeps meanwhile (CPU ticks in 2 s)" 10 "$ticks"

kill -TERM "$DPID"
wait "$DPID"
ag_expect_eq "the daemon stops cleanly on SIGTERM" 0 "$?"
ag_done
