#!/usr/bin/python3
"""PyJWT side of tests/interop/jwt_pyjwt.sh.

  jwt_pyjwt.py verify ALG ISS AUD JWKS_FILE KEY_FILE   token on stdin
  jwt_pyjwt.py sign   ALG ISS AUD KEY_FILE SUB         prints a token

verify: jwt.decode with the public key from our JWKS (EdDSA, ES256) or the
secret from the key file (HS256), issuer and audience checked and every
claim we issue required; PyJWT does not check typ, so it is compared here.
sign: the private key comes from our key file (a private JWK plus "status"
and "created", dropped here) through jwt.PyJWK.
"""
import json
import sys
import time
import uuid

import jwt


def key_file_jwk(path):
    with open(path, encoding="ascii") as f:
        k = json.load(f)
    k.pop("status")
    k.pop("created")
    return k


def verify(alg, iss, aud, jwks_file, key_file):
    token = sys.stdin.read().strip()
    header = jwt.get_unverified_header(token)
    if alg == "HS256":
        key = jwt.PyJWK(key_file_jwk(key_file)).key
    else:
        with open(jwks_file, encoding="ascii") as f:
            jwks = json.load(f)
        matches = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
        if len(matches) != 1:
            print(json.dumps({"ok": False, "error": "kid not in the JWKS"}))
            return 1
        key = jwt.PyJWK(matches[0]).key
    try:
        claims = jwt.decode(token, key, algorithms=[alg], audience=aud, issuer=iss,
                            options={"require": ["iss", "aud", "sub", "iat", "nbf",
                                                 "exp", "jti"]})
    except jwt.PyJWTError as e:
        print(json.dumps({"ok": False, "error": repr(e)}))
        return 1
    if header.get("typ") != "at+jwt":
        print(json.dumps({"ok": False, "error": "typ is not at+jwt"}))
        return 1
    print(json.dumps({"ok": True, "header": header, "claims": claims}))
    return 0


def sign(alg, iss, aud, key_file, sub):
    jwk = key_file_jwk(key_file)
    key = jwt.PyJWK(jwk).key
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "sub": sub, "iat": now, "nbf": now,
              "exp": now + 600, "jti": uuid.uuid4().hex}
    print(jwt.encode(claims, key, algorithm=alg,
                     headers={"kid": jwk["kid"], "typ": "at+jwt"}))
    return 0


def main():
    if len(sys.argv) != 7 or sys.argv[1] not in ("verify", "sign"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, rest = sys.argv[1], sys.argv[2:]
    return verify(*rest) if mode == "verify" else sign(*rest)


if __name__ == "__main__":
    sys.exit(main())
