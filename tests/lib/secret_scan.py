#!/usr/bin/env python3
"""Proves that no secret a test handled reached a log or an error stream.

    secret_scan.py TMPDIR LOGFILE [EXTRA_SECRET...]

Harvests every secret the test saw from the files in TMPDIR (helper stdout
collected by tests/pam/lib.sh in stdout.all, stdin files, key files, state
exports) and from secrets.lst (values the harness noted, such as the
verification codes it typed), then searches the captured syslog (LOGFILE),
the collected helper stderr (stderr.all) and every *.err file for:

  - each harvested value: passwords, TOTP secrets and codes, backup codes,
    session ids, refresh tokens, access tokens, signing-key and secrets-key
    material, webhook secrets;
  - anything shaped like a bearer secret, harvested or not: ags_/agr_ ids,
    three-part JWTs, whsec_ secrets, otpauth URIs.

Prints one line per finding ("LEAK: what in file:line") and exits 1 when
there is any, 0 otherwise.  State files and binary files are not scanned
(the state holds only hashes and sealed secrets by design and is checked
by the store tests)."""

import json
import os
import re
import stat
import sys

MAX_FILE = 4 << 20

SHAPES = {
    "session id": re.compile(r"ags_[A-Za-z0-9_-]{43}"),
    "refresh token": re.compile(r"agr_[A-Za-z0-9_-]{43}"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),
    "webhook secret": re.compile(r"whsec_[A-Za-z0-9+/=]{16,}"),
    "key URI": re.compile(r"otpauth://"),
}
BASE32_SECRET = re.compile(r"secret=([A-Z2-7]{16,})")
HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


def read_text(path):
    try:
        st = os.lstat(path)
        # regular files only: a fifo would block, a symlink may point anywhere
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
            return None
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"\0" in data[:4096]:
        return None  # binary: state files, QR PNGs
    return data.decode("utf-8", "replace")


def walk_json(value, out):
    """Secret members of helper output and of key files."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and k in ("secret", "d", "k", "token", "access_token",
                                            "refresh_token", "session_id", "id", "code"):
                if k != "id" or v.startswith(("ags_", "agr_")):
                    out.add(v)
            elif k in ("backup_codes", "codes") and isinstance(v, list):
                out.update(c for c in v if isinstance(c, str))
            else:
                walk_json(v, out)
    elif isinstance(value, list):
        for v in value:
            walk_json(v, out)


def harvest(text, out):
    for kind, rx in SHAPES.items():
        if kind != "key URI":  # a scheme, not a value
            out.update(rx.findall(text))
    out.update(BASE32_SECRET.findall(text))
    for line in text.splitlines():
        line = line.strip()
        if HEX_KEY.match(line):
            out.add(line)
        if line.startswith(("{", "[")):
            try:
                walk_json(json.loads(line), out)
            except ValueError:
                pass
    if text.lstrip().startswith(("{", "[")):
        try:
            walk_json(json.loads(text), out)
        except ValueError:
            pass


def main():
    tmp, logfile = sys.argv[1], sys.argv[2]
    secrets = set(a for a in sys.argv[3:] if a)
    scanned = [logfile]
    for root, _dirs, files in os.walk(tmp):
        for name in files:
            path = os.path.join(root, name)
            if path == logfile or name.endswith(".err") or name == "stderr.all":
                scanned.append(path)
                continue
            if name == "secrets.lst":
                text = read_text(path) or ""
                secrets.update(l for l in text.splitlines() if l)
                continue
            if ".db" in name or name.endswith((".png", ".svg")):
                continue
            text = read_text(path)
            if text is not None:
                harvest(text, secrets)
    # Short values match too much by accident: codes (6..8 digits) match as
    # whole words only, anything else from 8 characters on.
    words, plain = [], []
    for s in secrets:
        s = s.strip()
        if re.fullmatch(r"[0-9]{6,8}", s):
            words.append(s)
        elif len(s) >= 8:
            plain.append(s)
    # (process and user ids are numbers of the same length: not codes)
    word_rx = re.compile(r"(?<![0-9A-Za-z])(?<!pid=)(?<!uid=)(?<!gid=)("
                         + "|".join(map(re.escape, words)) + r")(?![0-9A-Za-z])") if words else None
    leaks = 0
    for path in scanned:
        text = read_text(path)
        if not text:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            found = [kind for kind, rx in SHAPES.items() if rx.search(line)]
            found += ["a secret the test handled (%d chars)" % len(s) for s in plain if s in line]
            if word_rx is not None and word_rx.search(line):
                found.append("a verification code the test handled")
            for what in found:
                leaks += 1
                if leaks <= 20:
                    print("LEAK: %s in %s:%d: %s" % (what, os.path.relpath(path, tmp), n,
                                                      line[:160]))
    print("scanned %d files for %d secrets: %d leaks" % (len(scanned), len(words) + len(plain), leaks))
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
