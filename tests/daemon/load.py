"""Hostile and heavy clients of authguardd (tests/daemon/hostile.sh).

    load.py many N [OP]      N clients at once, each: connect, one request,
                             its answer, close (OP: guard_check, the
                             default, a write; or jwks, a read)
    load.py slow M SECONDS   M slow-loris clients: a request line dripped
                             a byte every 0.5 s, for up to SECONDS
    load.py idle M SECONDS   M clients that connect and send nothing
    load.py oversize         an over-long line then a good one on one
                             connection; then an endless line
    load.py malformed        bad lines, each followed by a good one, on
                             one connection
    load.py disconnect       clients that leave in the middle: half a line,
                             a request without reading its answer, many
                             pipelined requests then gone
    load.py stream KIND NAME...  one writer per NAME, each on its own
                             connection, writing until the connection
                             breaks (tests/daemon/kill9.sh): KIND web
                             records guard failures of subject NAME, KIND
                             pam a failed PAM attempt of user NAME
                             (pam_begin, pam_fail); prints per NAME the
                             writes acknowledged and how the in-flight
                             one ended

Each prints one JSON object with what it saw.  The socket is $AGD_SOCK."""
import errno
import json
import os
import resource
import selectors
import socket
import sys
import time

SOCK = os.environ["AGD_SOCK"]


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def connect(timeout=30.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK)
    return s


def answers(s, n):
    """n answer lines from s (fewer when it closes)."""
    buf, out = b"", []
    while len(out) < n:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf and len(out) < n:
            line, buf = buf.split(b"\n", 1)
            out.append(json.loads(line))
    return out


def request(op, i):
    if op == "jwks":
        return {"op": "jwks", "id": i}
    return {"op": "guard_check", "subject": "load%d@example.com" % i, "id": i}


def many(n, op="guard_check"):
    raise_nofile(n + 64)
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    pending = list(range(n))          # not yet connected (backlog full)
    state = {}
    result = {"clients": n, "answered": 0, "ok": 0, "wrong": 0, "broken": 0,
              "connect_retries": 0}
    deadline = t0 + float(os.environ.get("LOAD_DEADLINE", "120"))

    def start(i):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(SOCK)
        except BlockingIOError:
            # the listen backlog is full: try again in a moment
            s.close()
            return False
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ECONNREFUSED):
                s.close()
                return False
            raise
        data = (json.dumps(request(op, i)) + "\n").encode()
        state[s] = [i, data, b""]
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)
        return True

    while (pending or state) and time.monotonic() < deadline:
        still = []
        for i in pending:
            if not start(i):
                still.append(i)
        if still and len(still) == len(pending):
            result["connect_retries"] += 1
        pending = still
        for key, ev in sel.select(timeout=0.05 if pending else 1.0):
            s = key.fileobj
            st = state[s]
            try:
                if ev & selectors.EVENT_WRITE and st[1]:
                    st[1] = st[1][s.send(st[1]):]
                    if not st[1]:
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise ConnectionResetError("closed")
                    st[2] += chunk
                    if b"\n" in st[2]:
                        a = json.loads(st[2].split(b"\n", 1)[0])
                        result["answered"] += 1
                        if a.get("status") == 0 and a.get("id") == st[0]:
                            result["ok"] += 1
                        else:
                            result["wrong"] += 1
                        sel.unregister(s)
                        s.close()
                        del state[s]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                result["broken"] += 1
                sel.unregister(s)
                s.close()
                del state[s]
    result["unfinished"] = len(pending) + len(state)
    result["seconds"] = round(time.monotonic() - t0, 2)
    return result


def slow(m, seconds, drip=True):
    raise_nofile(m + 64)
    line = json.dumps({"op": "guard_check", "subject": "slow@example.com"}).encode() + b"\n"
    conns = []
    for _ in range(m):
        s = connect()
        s.setblocking(False)
        conns.append([s, 0, None])
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and any(c[2] is None for c in conns):
        for c in conns:
            if c[2] is not None:
                continue
            s = c[0]
            try:
                if s.recv(4096) == b"":
                    c[2] = time.monotonic() - t0
                    continue
            except BlockingIOError:
                pass
            except OSError:
                c[2] = time.monotonic() - t0
                continue
            if drip and c[1] < len(line) - 1:     # never the final newline
                try:
                    s.send(line[c[1]:c[1] + 1])
                    c[1] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    c[2] = time.monotonic() - t0
        time.sleep(0.5)
    closed = [c[2] for c in conns if c[2] is not None]
    for c in conns:
        c[0].close()
    return {"clients": m, "closed_by_daemon": len(closed),
            "max_seconds": round(max(closed), 2) if closed else None,
            "bytes_sent_max": max(c[1] for c in conns)}


GOOD = {"op": "jwks"}   # a request that always succeeds (a read)


def oversize():
    res = {}
    s = connect()
    big = b'{"op":"guard_check","subject":"' + b"a" * (1024 * 1024) + b'"}\n'
    s.sendall(big + (json.dumps(dict(GOOD, id=2)) + "\n").encode())
    got = answers(s, 2)
    res["long_then_good"] = [a.get("message", a.get("status")) for a in got]
    res["good_after_long_id"] = got[1].get("id") if len(got) > 1 else None
    s.close()
    # An endless line: 16 MiB without a newline, as fast as it goes.
    s = connect()
    s.settimeout(30)
    sent, t0 = 0, time.monotonic()
    chunk = b"b" * 65536
    try:
        while sent < 16 * 1024 * 1024:
            s.sendall(chunk)
            sent += len(chunk)
        s.sendall(b"\n" + (json.dumps(dict(GOOD, id=3)) + "\n").encode())
        got = answers(s, 2)
        res["endless"] = [a.get("message", a.get("status")) for a in got]
    except OSError as e:
        res["endless"] = "closed after %d bytes (%s)" % (sent, e.__class__.__name__)
    res["endless_seconds"] = round(time.monotonic() - t0, 2)
    s.close()
    return res


BAD_LINES = [
    b"not json",
    b"{",
    b"[]",
    b"42",
    b'"a string"',
    b"null",
    b'{"op":1}',
    b'{"no_op":true}',
    b'{"op":"no_such_op"}',
    b'{"op":"guard_check"}',
    b'{"op":"guard_check","subject":"x@example.com","subject":"y@example.com"}',
    b'{"op":"guard_check","subject":"x@example.com","id":[1]}',
    b'{"op":"guard_check","subject":"x@example.com","id":"' + b"i" * 300 + b'"}',
    b'{"op":"guard_check","subject":"\xff\xfe"}',
    b'{"op":"guard_check","subject":"a\\u0000b"}',
    b'{"op":"guard_check","subject":"x@example.com"} trailing',
    b'{"op":"pam_begin","user":"root","attempt":"x"}',
    b'{"op":"pam_begin","user":""}',
    b'{"op":"pam_session_close","user":"root","id":-1}',
    b'{"op":"pam_session_close","user":"root","id":0}',
    b'{"op":"pam_session_close","user":"root","id":"7"}',
    b'{"op":"pam_session_close","user":"root"}',
    b"\x00\x01\x02",
    b"{" * 5000 + b"}" * 5000,
    b'{"op":"guard_check","subject":"' + b"z" * 60000 + b'"}',
    b"\r",       # empty lines: no answer, the request behind them served
    b"",
    b"\n\r\n\n",
]


def malformed():
    s = connect()
    res = {"bad": len(BAD_LINES), "error_answers": 0, "good_answers": 0, "odd": []}
    for i, bad in enumerate(BAD_LINES):
        s.sendall(bad + b"\n" + (json.dumps(dict(GOOD, id=100 + i)) + "\n").encode())
        expect = 1 if bad.strip(b"\r\n") == b"" else 2   # empty lines get no answer
        got = answers(s, expect)
        if len(got) < expect:
            res["odd"].append("%d: connection closed" % i)
            s.close()
            s = connect()
            continue
        if expect == 2:
            a = got[0]
            if a.get("status") in (2, 3) and "error" in a and a.get("id") != 100 + i:
                res["error_answers"] += 1
            else:
                res["odd"].append("%d: %s" % (i, json.dumps(a)[:120]))
        if got[-1].get("id") == 100 + i and got[-1].get("status") == 0:
            res["good_answers"] += 1
        else:
            res["odd"].append("%d good: %s" % (i, json.dumps(got[-1])[:120]))
    s.close()
    return res


def disconnect():
    n = 0
    for i in range(50):
        s = connect()
        s.sendall(b'{"op":"guard_check","subj')         # half a line, gone
        s.close()
        s = connect()
        s.sendall((json.dumps(dict(GOOD, id=i)) + "\n").encode())  # gone before the answer
        s.close()
        s = connect()
        s.sendall(b"".join((json.dumps({"op": "jwks", "id": k}) + "\n").encode()
                           for k in range(100)))           # a pipeline, then gone
        s.shutdown(socket.SHUT_RDWR)
        s.close()
        n += 3
    s = connect()
    s.sendall((json.dumps(dict(GOOD, id=7)) + "\n").encode())
    got = answers(s, 1)
    s.close()
    return {"departed": n, "next_served": bool(got) and got[0].get("id") == 7
            and got[0].get("status") == 0}


def stream(kind, names):
    import threading
    out = {}

    def writer(name):
        r = {"acked": 0, "ended": None, "partial": False}
        out[name] = r
        try:
            s = connect(timeout=60)
        except OSError as e:
            r["ended"] = "connect: " + e.__class__.__name__
            return
        buf = b""

        def ask(req):
            nonlocal buf
            s.sendall((json.dumps(req) + "\n").encode())
            while b"\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    if buf:
                        r["partial"] = True
                    raise ConnectionResetError("end of stream")
                buf += chunk
            line, buf = buf.split(b"\n", 1)
            return json.loads(line)

        try:
            while True:
                if kind == "web":
                    a = ask({"op": "guard_failure", "subject": name})
                else:
                    b = ask({"op": "pam_begin", "user": name, "service": "kill9"})
                    if b.get("status") != 0 or not b.get("allowed"):
                        r["ended"] = "begin refused: " + json.dumps(b)[:100]
                        return
                    a = ask({"op": "pam_fail", "user": name, "service": "kill9",
                             "attempt": b["attempt"]})
                if a.get("status") != 0:
                    r["ended"] = "refused: " + json.dumps(a)[:100]
                    return
                r["acked"] += 1
        except (OSError, ValueError) as e:
            r["ended"] = e.__class__.__name__
        finally:
            s.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main():
    mode = sys.argv[1]
    if mode == "many":
        r = many(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "guard_check")
    elif mode == "slow":
        r = slow(int(sys.argv[2]), float(sys.argv[3]))
    elif mode == "idle":
        r = slow(int(sys.argv[2]), float(sys.argv[3]), drip=False)
    elif mode == "oversize":
        r = oversize()
    elif mode == "malformed":
        r = malformed()
    elif mode == "disconnect":
        r = disconnect()
    elif mode == "stream":
        r = stream(sys.argv[2], sys.argv[3:])
    else:
        sys.exit("unknown mode")
    print(json.dumps(r))


main()
