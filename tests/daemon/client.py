"""A client of authguardd for the daemon tests (tests/daemon/lib.sh).

    client.py ping                 connects, sends nothing, exits 0
    client.py lines                one connection: every stdin line is a
                                   request, sent after the previous answer;
                                   each answer printed on its own line.
                                   "@NAME@" in a request (with its quotes,
                                   "\"@NAME@\"") becomes the value of member
                                   NAME of an earlier answer (the last one
                                   that had it, or of $AGD_SEEN, a JSON
                                   object; 1 when none had it): attempt,
                                   id, session ...

The socket is $AGD_SOCK.  Exit 0 when every request got an answer, 3 when
the connection broke first (the rest are not sent)."""
import json
import os
import re
import socket
import sys


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(float(os.environ.get("AGD_TIMEOUT", "30")))
    s.connect(os.environ["AGD_SOCK"])
    return s


def main():
    mode = sys.argv[1]
    s = connect()
    if mode == "ping":
        return 0
    seen = json.loads(os.environ.get("AGD_SEEN") or "{}")
    buf = b""
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        line = re.sub(r'"@([a-z_]+)@"',
                      lambda m: json.dumps(seen.get(m.group(1), 1)), line)
        try:
            s.sendall(line.encode() + b"\n")
            while b"\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    print(json.dumps({"client": "closed"}))
                    return 3
                buf += chunk
        except OSError as e:
            print(json.dumps({"client": "error", "message": str(e)}))
            return 3
        answer, buf = buf.split(b"\n", 1)
        print(answer.decode())
        sys.stdout.flush()
        try:
            for k, v in json.loads(answer).items():
                if isinstance(v, (int, str)) and k not in ("status", "error", "message"):
                    seen[k] = v
        except ValueError:
            pass
    if os.environ.get("AGD_SEEN_OUT"):
        with open(os.environ["AGD_SEEN_OUT"], "w") as f:
            json.dump(seen, f)
    return 0


sys.exit(main())
