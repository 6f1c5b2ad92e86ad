#!/bin/bash
# JWT access tokens and refresh tokens through the real binaries:
# authguard-ctl keygen/keys, authguard-token issue, verify, refresh, revoke,
# jwks and batch.
#
#  - keys: EdDSA (default), ES256 and HS256 key files (mode, RFC 7638 kid),
#    the listing, rotation (old tokens still verify, new ones carry the new
#    kid, the JWKS holds both), keys --prune;
#  - issue/verify: JSON fields and exit codes, extra claims from stdin
#    (reserved ones refused), the audience allow-list, ttl bounds;
#  - interoperability: tokens from `issue` verify with Node jose
#    (jwtVerify + createLocalJWKSet over `authguard-token jwks`, issuer and
#    audience checked) and with PyJWT; tokens jose and PyJWT sign with our
#    key file verify with `authguard-token verify` (EdDSA, ES256, HS256);
#  - a negative set at the command line, each with its reason code;
#  - revocation by token and by bare jti, of a refresh family, of a user;
#  - refresh rotation: a chain of 100, reuse kills the family, 20
#    concurrent redeems of one token (exactly one wins), the grace period;
#  - tokens tied to a web session (--sid): session_ended once it ends,
#    including when a refresh-token reuse ends it;
#  - batch mode on one process, no secret in argv, key-file and
#    configuration errors (exit 2 naming the file).
#
# Node jose is installed with npm into the temporary directory at test
# time.  Without node/npm every other check still runs and the test then
# exits 77 (SKIP) with a message saying what was not tested; a failing npm
# install is a failure.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
command -v mkfifo >/dev/null 2>&1 || ag_skip "mkfifo not found"
ag_init
/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null ||
	ag_bail "/usr/bin/python3 cannot import jwt and cryptography (apt-get install python3-jwt)"
PY=/usr/bin/python3

# Tokens checked by jose and PyJWT are issued on the real clock: those
# libraries verify exp/nbf against it.  Time-dependent checks move AG_NOW.
AG_NOW=$(date +%s)
T0=$AG_NOW
ISS=https://auth.example.test
AUD=api.example.test

# ------------------------------------------------------------- helpers

# tk_conf NAME [LINE...]: ag_conf NAME with a token key directory in
# $AG_TMP/NAME-tkeys, token_issuer ISS and token_audience AUD unless a LINE
# sets them; makes NAME current (see use).
tk_conf() {
	local name=$1 l have=" " lines=()
	shift
	for l in "$@"; do
		have="$have${l%%[ =]*} "
	done
	[[ $have == *" token_keys_dir "* ]] || lines+=("token_keys_dir = $AG_TMP/$name-tkeys")
	[[ $have == *" token_issuer "* ]] || lines+=("token_issuer = $ISS")
	[[ $have == *" token_audience "* ]] || lines+=("token_audience = $AUD")
	ag_conf "$name" ${lines[@]+"${lines[@]}"} "$@"
	use "$name"
}

# use NAME: makes configuration NAME current (AG_CONF, AG_DB, TK_KEYS).
use() {
	AG_CONF=$AG_TMP/$1.conf
	AG_DB=$(sed -n 's/^state_file = //p' "$AG_CONF" | tail -n 1)
	TK_KEYS=$(sed -n 's/^token_keys_dir = //p' "$AG_CONF" | tail -n 1)
}

# expect_json DESC FIELD=VALUE...: fields of the last helper's JSON output
# ("<missing>" for an absent key).
expect_json() {
	local desc=$1 f k v got bad=()
	shift
	for f in "$@"; do
		k=${f%%=*}
		v=${f#*=}
		got=$(ag_jget "$AG_JSON" "$k")
		[ "$got" = "$v" ] || bad+=("$k: expected $v, got $got")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "${bad[@]}" "exit: $AG_RC" "json: $(printf '%s' "$AG_JSON" | cut -c1-400)" \
			"stderr: $AG_OUT"
	fi
}

# expect_result DESC RC [REASON]: exit status of the last helper and, when
# given, its "reason" (for exit 2, REASON is matched against stderr).
expect_result() {
	local desc=$1 rc=$2 reason=${3:-} got=
	if [ -n "$reason" ] && [ "$rc" != 2 ]; then
		got=$(ag_jget "$AG_JSON" reason)
	fi
	if [ "$AG_RC" = "$rc" ] && { [ -z "$reason" ] || [ "$rc" = 2 ] || [ "$got" = "$reason" ]; } &&
		{ [ "$rc" != 2 ] || [ -z "$reason" ] || grep -qF -- "$reason" <<<"$AG_OUT"; }; then
		ag_pass "$desc"
	else
		ag_fail "$desc" "expected exit $rc${reason:+, reason $reason}" \
			"got exit $AG_RC${got:+, reason $got}" \
			"json: $(printf '%s' "$AG_JSON" | cut -c1-300)" "stderr: $(printf '%s' "$AG_OUT" | cut -c1-300)"
	fi
}

# tk ARGS... <<<INPUT: authguard-token on AG_CONF (ag_run_token).
tk() { ag_run_token "$@"; }

# issue ARGS...: authguard-token issue ARGS; sets TOK, JTI, RT (refresh
# token or empty) from its output.
TOK='' JTI='' RT=''
issue() {
	tk issue "$@" </dev/null
	TOK='' JTI='' RT=''
	[ "$AG_RC" = 0 ] || return 1
	read -r TOK JTI RT < <(jf "$AG_JSON" token jti refresh_token)
	[ "$RT" = "<missing>" ] && RT=
	return 0
}

# jf JSON KEY...: several fields of a JSON document on one line,
# space-separated ("<missing>" for absent ones); one python start.
jf() {
	"$PY" -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    d = {}
out = []
for k in sys.argv[2:]:
    v = d
    for p in k.split("."):
        if isinstance(v, dict):
            v = v.get(p, "<missing>")
        elif isinstance(v, list) and p.isdigit() and int(p) < len(v):
            v = v[int(p)]
        else:
            v = "<missing>"
    out.append(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
print(" ".join(out))' "$@"
}

# verify_as DESC RC REASON TOKEN: authguard-token verify of TOKEN.
verify_as() {
	tk verify <<<"$4"
	expect_result "$1" "$2" "$3"
}

# refresh_tok TOKEN: authguard-token refresh; sets TOK, JTI, RT on success.
refresh_tok() {
	tk refresh <<<"$1"
	TOK='' JTI='' RT=''
	[ "$AG_RC" = 0 ] || return 1
	read -r TOK JTI RT < <(jf "$AG_JSON" token jti refresh_token)
}

# The Python side: decoding token parts, forging tokens (raw header and
# claims text, signed with a key file, an HMAC secret or not at all), RFC
# 7638 thumbprints, hostile input.  Independent of our code: cryptography
# and hashlib only.
cat >"$AG_TMP/tt.py" <<'EOF'
import base64, hashlib, hmac, json, sys

def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def sign(k, msg):
    if k["alg"] == "EdDSA":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        return Ed25519PrivateKey.from_private_bytes(b64d(k["d"])).sign(msg)
    if k["alg"] == "ES256":
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        priv = ec.derive_private_key(int.from_bytes(b64d(k["d"]), "big"), ec.SECP256R1())
        r, s = decode_dss_signature(priv.sign(msg, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return hmac.new(b64d(k["k"]), msg, hashlib.sha256).digest()

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "part":            # part TOKEN N: segment N decoded
    print(b64d(args[0].split(".")[int(args[1])]).decode())
elif cmd == "forge":         # forge KEYFILE HEADER CLAIMS
    k = json.load(open(args[0]))
    si = b64e(args[1].encode()) + "." + b64e(args[2].encode())
    print(si + "." + b64e(sign(k, si.encode())))
elif cmd == "forge-hmac":    # forge-hmac SECRET_B64URL|text:SECRET HEADER CLAIMS
    secret = args[0][5:].encode() if args[0].startswith("text:") else b64d(args[0])
    si = b64e(args[1].encode()) + "." + b64e(args[2].encode())
    print(si + "." + b64e(hmac.new(secret, si.encode(), hashlib.sha256).digest()))
elif cmd == "forge-raw":     # forge-raw HEADER CLAIMS SIG_B64URL
    print(b64e(args[0].encode()) + "." + b64e(args[1].encode()) + "." + args[2])
elif cmd == "thumb":         # thumb JWK_JSON: RFC 7638 thumbprint
    k = json.loads(args[0])
    req = {"OKP": ["crv", "kty", "x"], "EC": ["crv", "kty", "x", "y"]}[k["kty"]]
    canon = json.dumps({m: k[m] for m in req}, separators=(",", ":"), sort_keys=True)
    print(b64e(hashlib.sha256(canon.encode()).digest()))
elif cmd == "b64len":        # b64len STRING: bytes the base64url string decodes to
    print(len(b64d(args[0])))
elif cmd == "rand":          # rand N: N random bytes, base64url
    import os
    print(b64e(os.urandom(int(args[0]))))
EOF
tt() { "$PY" "$AG_TMP/tt.py" "$@"; }

# claims SUB [IAT [EXP [EXTRA]]]: a claims set that would be valid here
# (compact JSON text), EXTRA a fragment of further members.
claims() {
	local iat=${2:-$AG_NOW}
	printf '{"iss":"%s","sub":"%s","aud":"%s","iat":%d,"nbf":%d,"exp":%d,"jti":"%s"%s}' \
		"$ISS" "$1" "$AUD" "$iat" "$iat" "${3:-$((iat + 600))}" "j$RANDOM$RANDOM" "${4:+,$4}"
}

# Node jose, installed now into $AG_TMP/node (tests/interop/jwt_jose.mjs is
# the script: verify ALG ISS AUD JWKS KEYFILE < token; sign ALG ISS AUD
# KEYFILE SUB).
HAVE_NODE=0
NODE_MISSING=
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	mkdir "$AG_TMP/node"
	cp "$top_srcdir/tests/interop/jwt_jose.mjs" "$AG_TMP/node/" || ag_bail "cannot copy jwt_jose.mjs"
	if (cd "$AG_TMP/node" && npm init -y >/dev/null 2>&1 &&
		timeout 300 npm install --no-audit --no-fund --loglevel=error jose >npm.log 2>&1); then
		HAVE_NODE=1
		ag_say "node $(node --version), jose $(node -p "require('$AG_TMP/node/node_modules/jose/package.json').version")"
	else
		ag_fail "npm install jose" "$(tail -n 20 "$AG_TMP/node/npm.log")"
	fi
else
	NODE_MISSING="node or npm not found: Node jose interoperability NOT tested"
	ag_say "SKIPPING the jose checks: $NODE_MISSING"
fi
jose() { node "$AG_TMP/node/jwt_jose.mjs" "$@"; }
# jose_verify ALG JWKS KEYFILE TOKEN [AUD [ISS]]: jose jwtVerify (exit 0 valid).
jose_verify() {
	printf '%s\n' "$4" | jose verify "$1" "${6:-$ISS}" "${5:-$AUD}" "$2" "$3" >"$AG_TMP/jose.out" 2>&1
}
# pyjwt_verify ALG JWKS KEYFILE TOKEN [AUD]: PyJWT jwt.decode (exit 0 valid).
pyjwt_verify() {
	printf '%s\n' "$4" | "$PY" "$top_srcdir/tests/interop/jwt_pyjwt.py" verify "$1" "$ISS" \
		"${5:-$AUD}" "$2" "$3" >"$AG_TMP/pyjwt.out" 2>&1
}

# ============================================================= keys

ag_say "keygen: EdDSA by default, ES256, HS256; files, kid, listing"
for alg in EdDSA ES256 HS256; do
	tk_conf "k$alg" "token_audiences = api2.example.test, api3.example.test"
	if [ $alg = EdDSA ]; then
		ag_run_ctl keygen
	else
		ag_run_ctl keygen --alg $alg
	fi
	ag_expect_eq "$alg: authguard-ctl keygen${alg/EdDSA/ (no --alg)} exits 0" 0 "$AG_RC"
	keyfile=$(ls "$TK_KEYS"/*.key 2>/dev/null)
	kid=$(basename "$keyfile" .key)
	ag_expect_true "$alg: one key file, KID.key, and keygen says \"created $alg key KID\"" \
		eval '[ "$(ls "$TK_KEYS" | wc -l)" = 1 ] && grep -qF -- "created $alg key $kid in $TK_KEYS" <<<"$AG_JSON"'
	ag_expect_eq "$alg: key file mode 0600 (no group authguard here), directory 0700" \
		"600 700" "$(stat -c %a "$keyfile") $(stat -c %a "$TK_KEYS")"
	ag_run_ctl keys --json
	ag_expect_eq "$alg: authguard-ctl keys --json exits 0" 0 "$AG_RC"
	expect_json "$alg: keys --json lists the one key, signing" \
		0.kid="$kid" 0.alg=$alg 0.status=signing 0.file="$kid.key" 1='<missing>'
	ag_run_ctl keys
	ag_expect_true "$alg: authguard-ctl keys (for people) names it as the signing key" \
		grep -Eq "^signing +$alg +$kid " <<<"$AG_JSON"
	eval "KEY_$alg=\$keyfile KID_$alg=\$kid"
	tk jwks </dev/null
	ag_expect_eq "$alg: authguard-token jwks exits 0" 0 "$AG_RC"
	printf '%s\n' "$AG_JSON" >"$AG_TMP/$alg.jwks"
	ag_expect_true "$alg: the JWKS carries no private or secret member (d, k)" \
		eval '! grep -Eq "\"(d|k)\":" "$AG_TMP/$alg.jwks"'
done
jwk=$(jf "$(cat "$AG_TMP/EdDSA.jwks")" keys)
ag_expect_eq "EdDSA: the JWKS has one key with exactly kty crv x kid alg use" \
	"alg crv kid kty use x / OKP Ed25519 $KID_EdDSA EdDSA sig" \
	"$("$PY" -c 'import json,sys; k=json.loads(sys.argv[1]); print(*sorted(k[0]), "/", *[k[0][m] for m in ("kty","crv","kid","alg","use")]) if len(k)==1 else print(k)' "$jwk")"
ag_expect_eq "EdDSA: kid = RFC 7638 thumbprint of the public key (computed by Python)" \
	"$KID_EdDSA" "$(tt thumb "$("$PY" -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])[0]))' "$jwk")")"
jwk=$(jf "$(cat "$AG_TMP/ES256.jwks")" keys)
ag_expect_eq "ES256: kid = RFC 7638 thumbprint of the P-256 public key" \
	"$KID_ES256" "$(tt thumb "$("$PY" -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])[0]))' "$jwk")")"
ag_expect_true "ES256: the JWKS key has kty EC, crv P-256, x and y of 32 bytes" \
	eval '"$PY" -c "import json,sys,base64; k=json.load(open(sys.argv[1]))[\"keys\"][0]; d=lambda s: base64.urlsafe_b64decode(s+\"=\"*(-len(s)%4)); sys.exit(not (k[\"kty\"]==\"EC\" and k[\"crv\"]==\"P-256\" and len(d(k[\"x\"]))==32 and len(d(k[\"y\"]))==32 and k[\"alg\"]==\"ES256\"))" "$AG_TMP/ES256.jwks"'
ag_expect_eq "HS256: the JWKS of an HS256-only keyring is empty (a secret is never published)" \
	'{"keys":[]}' "$(cat "$AG_TMP/HS256.jwks")"
ag_expect_true "HS256: the secret is at least 32 random bytes" \
	eval '[ "$(tt b64len "$(jf "$(cat "$KEY_HS256")" k)")" -ge 32 ]'

use kEdDSA
ag_run_ctl keygen
ag_expect_eq "keygen again without --rotate: exit 2 (there is a signing key)" 2 "$AG_RC"
ag_expect_out "... saying to use --rotate" "rotate"
ag_run_ctl keygen --alg RS256
ag_expect_eq "keygen --alg RS256: exit 2" 2 "$AG_RC"
ag_run_ctl keygen --alg none
ag_expect_eq "keygen --alg none: exit 2" 2 "$AG_RC"
ag_expect_eq "the refused keygens left the one key alone" 1 "$(ls "$TK_KEYS" | wc -l)"

# ============================================================= issue / verify

ag_say "issue and verify: JSON, exit codes"
use kEdDSA
issue --sub alice
ag_expect_eq "issue --sub alice exits 0" 0 "$AG_RC"
ag_expect_eq "... prints nothing on stderr" "" "$AG_OUT"
expect_json "... token, jti, exp = now + access_ttl (900 s), no refresh token" \
	exp=$((AG_NOW + 900)) refresh_token='<missing>' refresh_expires='<missing>'
ag_expect_true "... a compact JWS: three base64url segments" \
	eval '[[ $TOK =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]'
ag_expect_true "... jti: 128 random bits, base64url (22 characters)" \
	eval '[[ $JTI =~ ^[A-Za-z0-9_-]{22}$ ]]'
ag_expect_eq "header: alg EdDSA, kid of the signing key, typ at+jwt (and nothing else)" \
	"{\"alg\":\"EdDSA\",\"kid\":\"$KID_EdDSA\",\"typ\":\"at+jwt\"}" "$(tt part "$TOK" 0)"
ag_expect_eq "claims: iss sub aud iat nbf exp jti" \
	"{\"iss\":\"$ISS\",\"sub\":\"alice\",\"aud\":\"$AUD\",\"iat\":$AG_NOW,\"nbf\":$AG_NOW,\"exp\":$((AG_NOW + 900)),\"jti\":\"$JTI\"}" \
	"$(tt part "$TOK" 1)"
ED_TOK=$TOK
verify_as "verify of that token: exit 0" 0 "" "$TOK"
expect_json "... valid true, the claims" valid=true claims.sub=alice claims.iss="$ISS" \
	claims.aud="$AUD" claims.jti="$JTI" claims.exp=$((AG_NOW + 900)) reason='<missing>'
ag_expect_eq "... nothing on stderr" "" "$AG_OUT"
verify_as "verify of a token with a trailing CR LF (as a Windows client writes it): valid" 0 "" \
	"$TOK"$'\r'
tk issue </dev/null
ag_expect_eq "issue without --sub: exit 2" 2 "$AG_RC"
tk issue --sub "" </dev/null
ag_expect_eq "issue --sub '': exit 2" 2 "$AG_RC"
tk issue --sub alice extra-arg </dev/null
ag_expect_eq "issue with a stray argument: exit 2" 2 "$AG_RC"
tk frobnicate </dev/null
ag_expect_eq "an unknown command: exit 2" 2 "$AG_RC"

ag_say "extra claims on stdin"
tk issue --sub alice --claims-stdin <<<'{"role":"admin","tenant":7,"scope":["read","write"],"org":{"id":"o1"}}'
ag_expect_eq "issue --claims-stdin with an object: exit 0" 0 "$AG_RC"
read -r TOK < <(jf "$AG_JSON" token)
verify_as "... the token verifies" 0 "" "$TOK"
expect_json "... with the extra claims as given, next to ours" claims.role=admin claims.tenant=7 \
	claims.scope='["read", "write"]' claims.org.id=o1 claims.sub=alice claims.iss="$ISS"
for c in iss sub aud iat nbf exp jti sid; do
	tk issue --sub alice --claims-stdin <<<"{\"role\":\"x\",\"$c\":\"evil\"}"
	expect_result "extra claim \"$c\" (reserved) refused: exit 2" 2 "\"$c\""
done
tk issue --sub alice --claims-stdin <<<'{"exp":9999999999}'
expect_result "extra claim exp as a number: exit 2 too" 2 '"exp"'
tk issue --sub alice --claims-stdin <<<'["role"]'
expect_result "--claims-stdin with an array: exit 2" 2
tk issue --sub alice --claims-stdin <<<'{"a":1,"a":2}'
expect_result "--claims-stdin with a duplicate member: exit 2" 2
tk issue --sub alice --claims-stdin <<<'{"a":1'
expect_result "--claims-stdin with broken JSON: exit 2" 2
tk issue --sub alice --claims-stdin </dev/null
expect_result "--claims-stdin with nothing on stdin: exit 2" 2
"$PY" -c 'print("{\"blob\":\"" + "x" * 10000 + "\"}")' >"$AG_TMP/big.json"
tk issue --sub alice --claims-stdin <"$AG_TMP/big.json"
expect_result "claims too big for a token (10 kB): exit 2, too_large" 2 too_large
"$PY" -c 'print("{\"deep\":" + "[" * 40 + "]" * 40 + "}")' >"$AG_TMP/deep.json"
tk issue --sub alice --claims-stdin <"$AG_TMP/deep.json"
expect_result "claims nested 41 deep (verify would refuse the token): exit 2, invalid_claim" 2 \
	invalid_claim
ag_expect_eq "... and no token printed" "<missing>" "$(jf "$AG_JSON" token)"

ag_say "audience allow-list"
issue --sub alice --aud api2.example.test
ag_expect_eq "issue --aud of token_audiences: exit 0" 0 "$AG_RC"
ag_expect_eq "... aud is the one asked for" "api2.example.test" "$(jf "$(tt part "$TOK" 1)" aud)"
AUD2_TOK=$TOK AUD2_JTI=$JTI
verify_as "... our verify (token_audience $AUD) refuses it: bad_audience" 1 bad_audience "$TOK"
tk_conf kEdDSA-api2 "token_keys_dir = $AG_TMP/kEdDSA-tkeys" "token_audience = api2.example.test" \
	"state_file = $AG_TMP/kEdDSA-state/state.db"
verify_as "... a verifier whose token_audience is api2.example.test accepts it" 0 "" "$TOK"
use kEdDSA
issue --sub alice --aud "$AUD"
ag_expect_eq "issue --aud of token_audience itself: exit 0" 0 "$AG_RC"
tk issue --sub alice --aud evil.example.test </dev/null
expect_result "issue --aud not in the allow-list: exit 2" 2 "audience"
tk issue --sub alice --aud api2.example </dev/null
expect_result "issue --aud of a prefix of an allowed one: exit 2" 2 "audience"
tk issue --sub alice --aud "api2.example.test,api3.example.test" </dev/null
expect_result "issue --aud of two allowed names joined by a comma: exit 2" 2 "audience"

ag_say "ttl bounds (60 s .. access_ttl)"
for t in 60:60 5m:300 900:900 15m:900; do
	issue --sub alice --ttl "${t%%:*}"
	ag_expect_eq "issue --ttl ${t%%:*}: exit 0, exp = now + ${t#*:}" "0 $((AG_NOW + ${t#*:}))" \
		"$AG_RC $(jf "$AG_JSON" exp)"
done
for t in 59 0 901 16m 1d 2d -5 10x ""; do
	tk issue --sub alice --ttl "$t" </dev/null
	ag_expect_eq "issue --ttl '$t': exit 2" 2 "$AG_RC"
done

# ============================================================= rotation

ag_say "key rotation"
tk_conf rot
ag_run_ctl keygen
kid1=$(ls "$TK_KEYS" | sed 's/\.key$//')
issue --sub carol
tok1=$TOK
ag_run_ctl keygen --rotate
ag_expect_eq "keygen --rotate exits 0" 0 "$AG_RC"
ag_run_ctl keys --json
read -r kid2 st0 kid1b st1 none < <(jf "$AG_JSON" 0.kid 0.status 1.kid 1.status 2.kid)
ag_expect_eq "keys: the new key signs, the old one verifies" \
	"signing $kid1 verify <missing>" "$st0 $kid1b $st1 $none"
ag_expect_true "... the new kid differs from the old one" test "$kid2" != "$kid1"
verify_as "a token signed before the rotation still verifies" 0 "" "$tok1"
issue --sub carol
tok2=$TOK
ag_expect_eq "a token issued after the rotation carries the new kid" "$kid2" \
	"$(jf "$(tt part "$tok2" 0)" kid)"
verify_as "... and verifies" 0 "" "$tok2"
ag_run_ctl keygen --rotate --alg ES256
ag_expect_eq "keygen --rotate --alg ES256 exits 0" 0 "$AG_RC"
issue --sub carol
tok3=$TOK
ag_expect_eq "... new tokens are ES256" "ES256" "$(jf "$(tt part "$tok3" 0)" alg)"
ag_run_ctl keys --json
expect_json "keys: three, the new ES256 key signing first, then two verification keys" \
	0.alg=ES256 0.status=signing 1.status=verify 2.status=verify 3='<missing>'
ag_expect_eq "... the verification keys are the two earlier ones" \
	"$(printf '%s\n' "$kid1" "$kid2" | sort | tr '\n' ' ')" \
	"$(jf "$AG_JSON" 1.kid 2.kid | tr ' ' '\n' | sort | tr '\n' ' ')"
for t in tok1 tok2 tok3; do
	verify_as "after two rotations, $t still verifies" 0 "" "${!t}"
done
tk jwks </dev/null
printf '%s\n' "$AG_JSON" >"$AG_TMP/rot.jwks"
ag_expect_eq "the JWKS lists all three public keys" 3 \
	"$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["keys"]))' "$AG_TMP/rot.jwks")"
if [ $HAVE_NODE = 1 ]; then
	ag_expect_true "jose verifies the pre-rotation EdDSA token against the rotated JWKS" \
		jose_verify EdDSA "$AG_TMP/rot.jwks" none "$tok1"
	ag_expect_true "jose verifies the post-rotation ES256 token against the same JWKS" \
		jose_verify ES256 "$AG_TMP/rot.jwks" none "$tok3"
fi

ag_say "keys --prune: old verification keys go once their tokens have expired"
tk_conf prune
AG_NOW=$T0 ag_run_ctl keygen
old=$(ls "$TK_KEYS")
AG_NOW=$((T0 + 99)) issue --sub pat
ptok=$TOK
AG_NOW=$((T0 + 100)) ag_run_ctl keygen --rotate
AG_NOW=$((T0 + 1028)) ag_run_ctl keys --prune
ag_expect_eq "keys --prune while a token of the old key may still be valid: exit 0, nothing removed" \
	"0 2" "$AG_RC $(ls "$TK_KEYS" | wc -l)"
AG_NOW=$((T0 + 1028)) verify_as "... the last token of the old key (exp + leeway not reached) verifies" \
	0 "" "$ptok"
AG_NOW=$((T0 + 100 + 900 + 31)) ag_run_ctl keys --prune
ag_expect_eq "after rotation + access_ttl + leeway: exit 0, the old key removed, the signing key kept" \
	"0 1 absent" "$AG_RC $(ls "$TK_KEYS" | wc -l) $([ -e "$TK_KEYS/$old" ] && echo present || echo absent)"
ag_run_ctl keys --json
expect_json "... keys lists the signing key alone" 0.status=signing 1='<missing>'

# ============================================================= interop

ag_say "interoperability: jose and PyJWT"
for alg in EdDSA ES256 HS256; do
	use "k$alg"
	keyfile=$(eval echo "\$KEY_$alg")
	# the sub claim keeps the spelling issue was given (its family is keyed by the fold)
	tk issue --sub "alice-$alg" --claims-stdin <<<'{"role":"admin"}'
	read -r TOK < <(jf "$AG_JSON" token)
	ag_expect_eq "$alg: issue exits 0, header alg $alg" "0 $alg" "$AG_RC $(jf "$(tt part "$TOK" 0)" alg)"
	if [ $HAVE_NODE = 1 ]; then
		if jose_verify $alg "$AG_TMP/$alg.jwks" "$keyfile" "$TOK"; then
			ag_expect_eq "$alg: jose jwtVerify accepts our token (issuer, audience, typ checked)" \
				"alice-$alg admin" "$(jf "$(cat "$AG_TMP/jose.out")" payload.sub payload.role)"
		else
			ag_fail "$alg: jose jwtVerify accepts our token" "$(cat "$AG_TMP/jose.out")"
		fi
		ag_expect_true "$alg: jose refuses it for another audience" \
			eval '! jose_verify $alg "$AG_TMP/$alg.jwks" "$keyfile" "$TOK" other.example.test'
		ag_expect_true "$alg: jose refuses it for another issuer" \
			eval '! jose_verify $alg "$AG_TMP/$alg.jwks" "$keyfile" "$TOK" "$AUD" https://evil.test'
		jt=$(jose sign $alg "$ISS" "$AUD" "$keyfile" "bob-$alg" 2>"$AG_TMP/jose.err")
		ag_expect_true "$alg: jose signs a token with our key file" \
			eval '[[ $jt == *.*.* ]] || { cat "$AG_TMP/jose.err"; false; }'
		# jose and PyJWT sign on the real clock, which has moved on since T0.
		AG_NOW=$(date +%s) verify_as "$alg: authguard-token verify accepts the jose-signed token" \
			0 "" "$jt"
		expect_json "$alg: ... with its claims" claims.sub="bob-$alg"
	fi
	if pyjwt_verify $alg "$AG_TMP/$alg.jwks" "$keyfile" "$TOK"; then
		ag_expect_eq "$alg: PyJWT jwt.decode accepts our token (issuer, audience required)" \
			"alice-$alg admin" "$(jf "$(cat "$AG_TMP/pyjwt.out")" claims.sub claims.role)"
	else
		ag_fail "$alg: PyJWT jwt.decode accepts our token" "$(cat "$AG_TMP/pyjwt.out")"
	fi
	ag_expect_true "$alg: PyJWT refuses it for another audience" \
		eval '! pyjwt_verify $alg "$AG_TMP/$alg.jwks" "$keyfile" "$TOK" other.example.test'
	pt=$("$PY" "$top_srcdir/tests/interop/jwt_pyjwt.py" sign $alg "$ISS" "$AUD" "$keyfile" "py-$alg")
	AG_NOW=$(date +%s) verify_as "$alg: authguard-token verify accepts a PyJWT-signed token" 0 "" "$pt"
done
[ $HAVE_NODE = 1 ] || ag_say "SKIPPED: jose checks ($NODE_MISSING)"

# ============================================================= negative set

ag_say "hostile tokens at the command line, each with its reason"
use kEdDSA
K=$KEY_EdDSA
KID=$KID_EdDSA
HDR="{\"alg\":\"EdDSA\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}"
C=$(claims mallory)
verify_as "control: a token forged here with our own key verifies (the forger is right)" 0 "" \
	"$(tt forge "$K" "$HDR" "$C")"
for a in none None NONE nOnE " none"; do
	verify_as "alg \"$a\" with a signature: alg_none" 1 alg_none \
		"$(tt forge-raw "{\"alg\":\"$a\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}" "$C" AAAA)"
done
verify_as "alg none with an empty signature (the classic form): malformed" 1 malformed \
	"$(tt forge-raw "{\"alg\":\"none\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}" "$C" "")"
verify_as "alg none without kid: alg_none" 1 alg_none "$(tt forge-raw '{"alg":"none"}' "$C" AAAA)"
x=$(jf "$(cat "$K")" x)
HS_HDR="{\"alg\":\"HS256\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}"
verify_as "HS256 signed with the EdDSA public key (raw 32 bytes) as HMAC secret: alg_mismatch" \
	1 alg_mismatch "$(tt forge-hmac "$x" "$HS_HDR" "$C")"
verify_as "HS256 signed with the public key's base64url text as secret: alg_mismatch" \
	1 alg_mismatch "$(tt forge-hmac "text:$x" "$HS_HDR" "$C")"
verify_as "HS256 signed with the JWKS document as secret: alg_mismatch" \
	1 alg_mismatch "$(tt forge-hmac "text:$(cat "$AG_TMP/EdDSA.jwks")" "$HS_HDR" "$C")"
verify_as "ES256 claimed for our EdDSA key: alg_mismatch" 1 alg_mismatch \
	"$(tt forge "$K" "{\"alg\":\"ES256\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}" "$C")"
verify_as "RS256: alg_mismatch" 1 alg_mismatch \
	"$(tt forge "$K" "{\"alg\":\"RS256\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}" "$C")"
verify_as "alg \"eddsa\" (wrong case): alg_mismatch" 1 alg_mismatch \
	"$(tt forge "$K" "{\"alg\":\"eddsa\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}" "$C")"
verify_as "unknown kid: unknown_kid" 1 unknown_kid \
	"$(tt forge "$K" '{"alg":"EdDSA","kid":"not-a-key","typ":"at+jwt"}' "$C")"
verify_as "no kid: unknown_kid" 1 unknown_kid "$(tt forge "$K" '{"alg":"EdDSA","typ":"at+jwt"}' "$C")"
verify_as "kid ../../../etc/passwd: unknown_kid" 1 unknown_kid \
	"$(tt forge "$K" '{"alg":"EdDSA","kid":"../../../etc/passwd","typ":"at+jwt"}' "$C")"
verify_as "kid of our key with a trailing NUL (\\u0000): bad_header (jansson refuses NUL)" 1 bad_header \
	"$(tt forge "$K" "{\"alg\":\"EdDSA\",\"kid\":\"$KID\\u0000\",\"typ\":\"at+jwt\"}" "$C")"
use kES256
issue --sub mallory
use kEdDSA
verify_as "a genuine token from another keyring (same iss/aud): unknown_kid" 1 unknown_kid "$TOK"
verify_as "crit header: crit" 1 crit \
	"$(tt forge "$K" "{\"alg\":\"EdDSA\",\"kid\":\"$KID\",\"typ\":\"at+jwt\",\"crit\":[\"exp\"]}" "$C")"
# A header member we do not understand is refused, not ignored: "b64":
# false without crit (RFC 7797) makes a verifier that honours it read the
# same token differently.  Each algorithm, with the key it is bound to.
for alg in EdDSA ES256 HS256; do
	use "k$alg"
	kf=$(eval echo "\$KEY_$alg")
	kd=$(eval echo "\$KID_$alg")
	verify_as "$alg: control, a token forged with our key and exactly alg, kid, typ: valid" 0 "" \
		"$(tt forge "$kf" "{\"alg\":\"$alg\",\"kid\":\"$kd\",\"typ\":\"at+jwt\"}" "$C")"
	verify_as "$alg: header \"b64\":false without crit: unknown_header" 1 unknown_header \
		"$(tt forge "$kf" "{\"alg\":\"$alg\",\"kid\":\"$kd\",\"typ\":\"at+jwt\",\"b64\":false}" "$C")"
	verify_as "$alg: header with an extra cty member: unknown_header" 1 unknown_header \
		"$(tt forge "$kf" "{\"alg\":\"$alg\",\"kid\":\"$kd\",\"typ\":\"at+jwt\",\"cty\":\"JWT\"}" "$C")"
done
use kEdDSA
verify_as "embedded jwk (our own public key): embedded_key" 1 embedded_key \
	"$(tt forge "$K" "{\"alg\":\"EdDSA\",\"kid\":\"$KID\",\"typ\":\"at+jwt\",\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"$x\"}}" "$C")"
verify_as "jku header: embedded_key" 1 embedded_key \
	"$(tt forge "$K" "{\"alg\":\"EdDSA\",\"kid\":\"$KID\",\"typ\":\"at+jwt\",\"jku\":\"https://evil.test/jwks\"}" "$C")"
sig=${ED_TOK##*.}
c=${sig:20:1}
[ "$c" = A ] && r=B || r=A
verify_as "one character of the signature changed: bad_signature" 1 bad_signature \
	"${ED_TOK%.*}.${sig:0:20}$r${sig:21}"
body=${ED_TOK#*.}
body=${body%%.*}
verify_as "claims of another token under this signature (sub swapped): bad_signature" 1 \
	bad_signature "${ED_TOK%%.*}.$("$PY" -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).rstrip(b"=").decode())' "$(tt part "$ED_TOK" 1 | sed 's/"alice"/"admin"/')").$sig"
verify_as "two segments: malformed" 1 malformed "${ED_TOK%.*}"
verify_as "four segments: malformed" 1 malformed "$ED_TOK.$sig"
verify_as "padding '=' on a segment: malformed" 1 malformed "${ED_TOK}=="
verify_as "a space inside: malformed" 1 malformed "${ED_TOK:0:10} ${ED_TOK:10}"
verify_as "typ JWT: bad_type" 1 bad_type \
	"$(tt forge "$K" "{\"alg\":\"EdDSA\",\"kid\":\"$KID\",\"typ\":\"JWT\"}" "$C")"
verify_as "no typ: bad_type" 1 bad_type "$(tt forge "$K" "{\"alg\":\"EdDSA\",\"kid\":\"$KID\"}" "$C")"
verify_as "duplicate alg in the header: bad_header" 1 bad_header \
	"$(tt forge "$K" "{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}" "$C")"
verify_as "duplicate sub in the claims: bad_claims" 1 bad_claims \
	"$(tt forge "$K" "$HDR" "${C%\}},\"sub\":\"root\"}")"
verify_as "claims not an object: bad_claims" 1 bad_claims "$(tt forge "$K" "$HDR" '["x"]')"
verify_as "no jti: missing_claim" 1 missing_claim \
	"$(tt forge "$K" "$HDR" "{\"iss\":\"$ISS\",\"sub\":\"m\",\"aud\":\"$AUD\",\"iat\":$AG_NOW,\"nbf\":$AG_NOW,\"exp\":$((AG_NOW + 60))}")"
verify_as "exp as a string: bad_claim_type" 1 bad_claim_type \
	"$(tt forge "$K" "$HDR" "{\"iss\":\"$ISS\",\"sub\":\"m\",\"aud\":\"$AUD\",\"iat\":$AG_NOW,\"nbf\":$AG_NOW,\"exp\":\"$((AG_NOW + 60))\",\"jti\":\"j1\"}")"
verify_as "iat 100 s in the future (nbf now): issued_in_future" 1 issued_in_future \
	"$(tt forge "$K" "$HDR" "{\"iss\":\"$ISS\",\"sub\":\"m\",\"aud\":\"$AUD\",\"iat\":$((AG_NOW + 100)),\"nbf\":$AG_NOW,\"exp\":$((AG_NOW + 600)),\"jti\":\"j2\"}")"
verify_as "aud as an array containing ours: valid" 0 "" \
	"$(tt forge "$K" "$HDR" "{\"iss\":\"$ISS\",\"sub\":\"m\",\"aud\":[\"x\",\"$AUD\"],\"iat\":$AG_NOW,\"nbf\":$AG_NOW,\"exp\":$((AG_NOW + 600)),\"jti\":\"j3\"}")"
verify_as "aud as an array without ours: bad_audience" 1 bad_audience \
	"$(tt forge "$K" "$HDR" "{\"iss\":\"$ISS\",\"sub\":\"m\",\"aud\":[\"x\"],\"iat\":$AG_NOW,\"nbf\":$AG_NOW,\"exp\":$((AG_NOW + 600)),\"jti\":\"j4\"}")"
verify_as "wrong aud (a token issued for an allow-listed other audience): bad_audience" 1 \
	bad_audience "$AUD2_TOK"
tk_conf kEdDSA-iss2 "token_keys_dir = $AG_TMP/kEdDSA-tkeys" "token_issuer = https://other.example.test"
issue --sub mallory
use kEdDSA
verify_as "wrong iss (same key, other issuer): bad_issuer" 1 bad_issuer "$TOK"
verify_as "iss differing only by a trailing slash: bad_issuer" 1 bad_issuer \
	"$(tt forge "$K" "$HDR" "$(claims m "$AG_NOW" "" | sed "s|\"$ISS\"|\"$ISS/\"|")")"

ag_say "time (AUTHGUARD_TEST_TIME), leeway 30 s"
issue --sub alice
tok=$TOK
exp=$((AG_NOW + 900))
AG_NOW=$((exp + 29)) verify_as "at exp + 29 s: still valid (leeway)" 0 "" "$tok"
AG_NOW=$((exp + 30)) verify_as "at exp + 30 s: expired" 1 expired "$tok"
AG_NOW=$((exp + 86400)) verify_as "a day later: expired" 1 expired "$tok"
AG_NOW=$((T0 - 30)) verify_as "30 s before nbf: valid (leeway)" 0 "" "$tok"
AG_NOW=$((T0 - 31)) verify_as "31 s before nbf: not_yet_valid" 1 not_yet_valid "$tok"
tk_conf lee0 "token_keys_dir = $AG_TMP/kEdDSA-tkeys" "token_leeway = 0"
AG_NOW=$((exp - 1)) verify_as "token_leeway = 0: valid 1 s before exp" 0 "" "$tok"
AG_NOW=$exp verify_as "token_leeway = 0: expired at exp" 1 expired "$tok"
use kEdDSA

ag_say "size cap and oversized input"
tk_conf small "token_keys_dir = $AG_TMP/kEdDSA-tkeys" "token_max_len = 512"
use kEdDSA
tk issue --sub alice --claims-stdin <<<"{\"pad\":\"$(printf 'p%.0s' $(seq 1 300))\"}"
read -r big < <(jf "$AG_JSON" token)
ag_expect_true "a genuine token of ${#big} bytes (> 512)" test "${#big}" -gt 512
verify_as "... verifies with the default cap (8192)" 0 "" "$big"
use small
verify_as "... is too_large where token_max_len = 512" 1 too_large "$big"
verify_as "513 bytes where token_max_len = 512: too_large (checked first)" 1 too_large \
	"$(printf 'A%.0s' $(seq 1 513))"
tk batch <<<"{\"id\":1,\"op\":\"verify\",\"token\":\"$big\"}"
expect_json "... batch mode agrees: the ${#big}-byte token is status 1, too_large" status=1 \
	reason=too_large
use kEdDSA
verify_as "8193 bytes (default cap + 1): too_large" 1 too_large "$("$PY" -c 'print("A" * 8193)')"
"$PY" -c 'print("A" * 102400)' >"$AG_TMP/100k"
tk verify <"$AG_TMP/100k"
expect_result "a 100 KiB line on stdin: exit 2" 2 "too long"
ag_expect_eq "... with nothing on stdout" "" "$AG_JSON"
tk verify </dev/null
expect_result "nothing on stdin: exit 2" 2 "expected"
printf 'abc\0def\n' >"$AG_TMP/nul"
tk verify <"$AG_TMP/nul"
expect_result "a NUL byte on stdin: exit 2" 2
tk verify <<<""
expect_result "an empty line: exit 2" 2
verify_as "garbage: malformed" 1 malformed "hello"

# ============================================================= revoke

ag_say "revoke by token and by bare jti"
issue --sub alice
tok=$TOK jti=$JTI exp=$((AG_NOW + 900))
verify_as "before revoke: valid" 0 "" "$tok"
tk revoke <<<"$tok"
ag_expect_eq "revoke (token on stdin): exit 0" 0 "$AG_RC"
expect_json "... revoked true, the jti, until = exp + leeway" revoked=true jti="$jti" until=$((exp + 30))
ag_expect_log "... logged event=token_revoked jti=..." "event=token_revoked.* jti=$jti"
verify_as "after revoke: revoked" 1 revoked "$tok"
tk revoke <<<"$tok"
ag_expect_eq "revoking it again: exit 0 (idempotent)" 0 "$AG_RC"
ag_expect_eq "the denylist row in the state" "$jti|$((exp + 30))" \
	"$(ag_sql "SELECT jti, expires FROM revoked_jti WHERE jti = '$jti'")"
issue --sub alice
tok=$TOK jti=$JTI
tk revoke <<<"$jti"
ag_expect_eq "revoke of a bare jti: exit 0" 0 "$AG_RC"
expect_json "... kept as long as any token can live (now + access_ttl + leeway)" revoked=true \
	jti="$jti" until=$((AG_NOW + 900 + 30))
verify_as "the token with that jti: revoked" 1 revoked "$tok"
issue --sub alice
tok=$TOK
verify_as "revocation is per jti: another token of the same user still valid" 0 "" "$tok"
tk revoke <<<"not a jti!"
expect_result "revoke of garbage: exit 1, malformed" 1 malformed
ftok=$(tt forge "$K" "$HDR" "$(claims mallory)")
fsig=${ftok##*.}
[ "${fsig:5:1}" = A ] && r=B || r=A
tk revoke <<<"${ftok%.*}.${fsig:0:5}$r${fsig:6}"
expect_result "revoke of a token with a bad signature: exit 1, bad_signature (not denylisted)" 1 \
	bad_signature
tk revoke <<<"$(tt forge-raw "{\"alg\":\"none\",\"kid\":\"$KID\",\"typ\":\"at+jwt\"}" "$C" AAAA)"
expect_result "revoke of an alg-none token: exit 1, alg_none" 1 alg_none
AG_NOW=$((AG_NOW + 10000)) tk revoke <<<"$tok"
ag_expect_eq "revoke of an expired token: exit 0, nothing to do" "0 false expired" \
	"$AG_RC $(jf "$AG_JSON" revoked reason)"
# A token this helper issued for an allow-listed audience is genuine: it
# can be revoked by token, not only by jti.  The verifier of that audience
# (same keys, same state) then refuses it.
tk revoke <<<"$AUD2_TOK"
expect_result "revoke of our own token issued for an allow-listed audience (api2): exit 0" 0
use kEdDSA-api2
verify_as "... the verifier of that audience (same state) refuses it: revoked" 1 revoked "$AUD2_TOK"
use kEdDSA

# ============================================================= refresh

ag_say "refresh: format, rotation chain of 100, reuse"
use kEdDSA
issue --sub rita --refresh
ag_expect_eq "issue --refresh: exit 0" 0 "$AG_RC"
expect_json "... refresh_expires = now + refresh_ttl (30 d)" refresh_expires=$((AG_NOW + 30 * 86400))
ag_expect_true "... refresh token agr_ + 43 base64url characters (256 bits)" \
	eval '[[ $RT =~ ^agr_[A-Za-z0-9_-]{43}$ ]] && [ "$(tt b64len "${RT#agr_}")" = 32 ]'
ag_expect_eq "... stored only as its SHA-256" "1 0" \
	"$(ag_sql "SELECT count(*) FROM refresh_token WHERE hash = $(ag_sql_blob "$(printf '%s' "$RT" | sha256sum | cut -c1-64)")") $(ag_sql_dump | grep -cF -e "${RT#agr_}")"
fam_exp=$((AG_NOW + 30 * 86400))
rts=("$RT")
bad=()
seen=" $RT "
for i in $(seq 1 100); do
	AG_NOW=$((T0 + i)) refresh_tok "${rts[$((i - 1))]}"
	if [ "$AG_RC" != 0 ]; then
		bad+=("step $i: exit $AG_RC $AG_JSON $AG_OUT")
		break
	fi
	[[ $RT =~ ^agr_[A-Za-z0-9_-]{43}$ ]] || bad+=("step $i: refresh token $RT")
	[[ $seen == *" $RT "* ]] && bad+=("step $i: refresh token repeated")
	seen="$seen$RT "
	rts+=("$RT")
	read -r rexp sub < <(jf "$AG_JSON" refresh_expires sub)
	[ "$rexp $sub" = "$fam_exp rita" ] || bad+=("step $i: refresh_expires/sub $rexp $sub")
	AG_NOW=$((T0 + i)) tk verify <<<"$TOK"
	[ "$AG_RC" = 0 ] || bad+=("step $i: new access token: exit $AG_RC $AG_JSON")
done
ag_expect_eq "chain of 100 refreshes: each exit 0, new distinct token, same family lifetime, working access token" \
	"" "${bad[*]:-}"
AG_NOW=$((T0 + 101)) tk refresh <<<"${rts[50]}"
expect_result "an old refresh token (#50) presented again: exit 1, reused" 1 reused
ag_expect_log "... logged as event=refresh_reuse with the subject and family" \
	"event=refresh_reuse sub=rita .*family=[0-9]+"
AG_NOW=$((T0 + 102)) tk refresh <<<"${rts[100]}"
expect_result "after the reuse, the newest refresh token is refused: revoked" 1 revoked
bad=()
for i in $(seq 0 99); do
	AG_NOW=$((T0 + 103)) tk refresh <<<"${rts[$i]}"
	[[ $AG_RC == 1 && $AG_JSON == *'"reason":"revoked"'* ]] || bad+=("#$i: exit $AG_RC $AG_JSON")
done
ag_expect_eq "every older token of the chain is refused too (revoked)" "" "${bad[*]:-}"

issue --sub rita --refresh
rt=$RT
refresh_tok "$rt"
tk refresh <<<"$rt"
expect_result "grace 0 (default): the previous token retried at once is reuse" 1 reused
tk refresh <<<"agr_$(tt rand 32)"
expect_result "a well-formed refresh token never issued: unknown" 1 unknown
tk refresh <<<"agr_short"
expect_result "agr_short: malformed" 1 malformed
tk refresh <<<"$ED_TOK"
expect_result "an access token offered as refresh token: malformed" 1 malformed
tk refresh <<<"agr_$(tt rand 32)="
expect_result "agr_ + padding: malformed" 1 malformed
tk refresh <<<"AGR_${RT#agr_}"
expect_result "the right bytes under an upper-case prefix: malformed" 1 malformed
issue --sub rita --refresh
AG_NOW=$((T0 + 30 * 86400 - 1)) refresh_tok "$RT"
ag_expect_eq "refresh 1 s before the family's end: exit 0" 0 "$AG_RC"
expect_json "... refresh_expires unchanged (rotation does not extend a login)" \
	refresh_expires=$((T0 + 30 * 86400))
AG_NOW=$((T0 + 30 * 86400)) tk refresh <<<"$RT"
expect_result "refresh at the family's end: expired" 1 expired

ag_say "concurrent redeem: 20 processes, one refresh token"
issue --sub conny --refresh
rt=$RT
rm -rf "$AG_TMP/par"
mkdir "$AG_TMP/par"
ag_preload
pids=()
for i in $(seq 1 20); do
	mkfifo "$AG_TMP/par/in.$i"
	# 0<> opens the fifo without blocking: the helper starts and waits in
	# read(2) for the token.
	env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
		"$AG_TOKEN_BIN" --conf "$AG_CONF" refresh 0<>"$AG_TMP/par/in.$i" \
		>"$AG_TMP/par/out.$i" 2>"$AG_TMP/par/err.$i" &
	pids+=($!)
done
waiting=0
for _ in $(seq 1 400); do
	waiting=0
	for p in "${pids[@]}"; do
		case $(cat "/proc/$p/syscall" 2>/dev/null) in
		"0 0x0 "*) waiting=$((waiting + 1)) ;;
		*) grep -q pipe_read "/proc/$p/wchan" 2>/dev/null && waiting=$((waiting + 1)) ;;
		esac
	done
	[ "$waiting" = 20 ] && break
	sleep 0.05
done
ag_expect_eq "all 20 helpers started and wait for the token on stdin" 20 "$waiting"
for i in $(seq 1 20); do
	printf '%s\n' "$rt" >"$AG_TMP/par/in.$i"
done
rcs=()
for p in "${pids[@]}"; do
	wait "$p"
	rcs+=($?)
done
n0=0 n1=0 other=() reasons=() winner=
for i in $(seq 1 20); do
	case ${rcs[$((i - 1))]} in
	0) n0=$((n0 + 1)); winner=$(cat "$AG_TMP/par/out.$i") ;;
	1) n1=$((n1 + 1)); reasons+=("$(jf "$(cat "$AG_TMP/par/out.$i")" reason)") ;;
	*) other+=("#$i exit ${rcs[$((i - 1))]}: $(cat "$AG_TMP/par/out.$i" "$AG_TMP/par/err.$i")") ;;
	esac
done
ag_expect_eq "exactly one exit 0, nineteen exit 1, nothing else" "1 19" "$n0 $n1${other[*]:+ ${other[*]}}"
nreused=$(printf '%s\n' "${reasons[@]}" | grep -cx reused)
nrevoked=$(printf '%s\n' "${reasons[@]}" | grep -cx revoked)
ag_expect_true "the losers were refused as reused ($nreused) or, once the family was gone, revoked ($nrevoked)" \
	eval '[[ " ${reasons[*]} " == *" reused "* ]] && ! grep -vqxE "reused|revoked" < <(printf "%s\n" "${reasons[@]}")'
read -r wtok wrt < <(jf "$winner" token refresh_token)
ag_expect_true "the winner got a new refresh token" eval '[[ $wrt =~ ^agr_ ]] && [ "$wrt" != "$rt" ]'
tk refresh <<<"$wrt"
expect_result "the winner's new refresh token is refused: revoked (the reuse ended the family)" 1 revoked

ag_say "grace period (refresh_grace = 10)"
tk_conf grace "token_keys_dir = $AG_TMP/kEdDSA-tkeys" "refresh_grace = 10"
G=$T0
AG_NOW=$G issue --sub gina --refresh
A=$RT
AG_NOW=$G refresh_tok "$A"
B=$RT
AG_NOW=$((G + 5)) refresh_tok "$A"
ag_expect_eq "the previous token retried after 5 s (its response was lost): exit 0" 0 "$AG_RC"
C=$RT
ag_expect_true "... with a new refresh token, neither the old nor the lost one" \
	eval '[[ $C =~ ^agr_ ]] && [ "$C" != "$B" ] && [ "$C" != "$A" ]'
ag_expect_log "... logged as event=refresh_retried" "event=refresh_retried sub=gina"
AG_NOW=$((G + 5)) verify_as "... and a working access token" 0 "" "$TOK"
AG_NOW=$((G + 6)) tk refresh <<<"$B"
expect_result "the lost successor no longer works" 1
AG_NOW=$((G + 7)) refresh_tok "$C"
ag_expect_eq "the retried successor works (exit 0)" 0 "$AG_RC"
D=$RT
AG_NOW=$((G + 8)) tk refresh <<<"$A"
expect_result "the previous token once more, after its retried successor was used: reused" 1 reused
AG_NOW=$((G + 8)) tk refresh <<<"$D"
expect_result "... which ended the family: the newest token is revoked" 1 revoked

AG_NOW=$G issue --sub gina --refresh
A=$RT
AG_NOW=$G refresh_tok "$A"
B=$RT
AG_NOW=$((G + 10)) refresh_tok "$A"
ag_expect_eq "retried exactly 10 s after its use: exit 0 (within the grace)" 0 "$AG_RC"

AG_NOW=$G issue --sub gina --refresh
A=$RT
AG_NOW=$G refresh_tok "$A"
B=$RT
AG_NOW=$((G + 11)) tk refresh <<<"$A"
expect_result "retried 11 s after its use: reused" 1 reused
AG_NOW=$((G + 11)) tk refresh <<<"$B"
expect_result "... the family is revoked" 1 revoked

AG_NOW=$G issue --sub gina --refresh
A=$RT
AG_NOW=$G refresh_tok "$A"
B=$RT
AG_NOW=$((G + 1)) refresh_tok "$B"
Cg=$RT
AG_NOW=$((G + 2)) tk refresh <<<"$A"
expect_result "a grandparent token within the grace period: reused" 1 reused
AG_NOW=$((G + 2)) tk refresh <<<"$Cg"
expect_result "... the family is revoked" 1 revoked

ag_say "revoke --family, revoke --user (log out everywhere)"
use kEdDSA
issue --sub fred --refresh
f1=$RT
refresh_tok "$f1"
f2=$RT
issue --sub fred --refresh
g1=$RT
issue --sub gus --refresh
h1=$RT
tk revoke --family <<<"$f1"
ag_expect_eq "revoke --family with an older token of the family: exit 0" 0 "$AG_RC"
expect_json "... revoked true, one family" revoked=true families=1
tk refresh <<<"$f2"
expect_result "... the family's newest token is revoked" 1 revoked
refresh_tok "$g1"
ag_expect_eq "fred's other login (another family) still refreshes" 0 "$AG_RC"
g2=$RT
issue --sub fred --refresh
g3=$RT
tk revoke --user fred </dev/null
ag_expect_eq "revoke --user fred: exit 0" 0 "$AG_RC"
expect_json "... two live families ended" revoked=true families=2
ag_expect_log "... logged event=refresh_revoked sub=fred" "event=refresh_revoked sub=fred"
tk refresh <<<"$g2"
expect_result "fred's refresh tokens are revoked (1)" 1 revoked
tk refresh <<<"$g3"
expect_result "fred's refresh tokens are revoked (2)" 1 revoked
refresh_tok "$h1"
ag_expect_eq "gus is not affected" 0 "$AG_RC"
tk revoke --user nobody-here </dev/null
expect_json "revoke --user with no families: exit 0, families 0" revoked=true families=0
tk revoke --family <<<"garbage"
expect_result "revoke --family of garbage: malformed" 1 malformed
tk revoke --family --user fred </dev/null
expect_result "revoke --family --user together: exit 2" 2

ag_say "access and refresh tokens tied to a web session (--sid)"
use kEdDSA
tk session create --user sam --user-agent "Mozilla/5.0 test" </dev/null
read -r S1 < <(jf "$AG_JSON" sid)
ag_expect_eq "(session create for sam: exit 0)" 0 "$AG_RC"
issue --sub sam --sid "$S1" --refresh
ag_expect_eq "issue --sid with a live session: exit 0" 0 "$AG_RC"
tokA=$TOK rt1=$RT
verify_as "... the token verifies" 0 "" "$tokA"
expect_json "... with claims.sid = the session handle" claims.sid="$S1" claims.sub=sam
refresh_tok "$rt1"
tokB=$TOK
verify_as "the access token of a refresh keeps the login's sid" 0 "" "$tokB"
expect_json "... (claims.sid)" claims.sid="$S1"
tk refresh <<<"$rt1"
expect_result "reuse of the first refresh token: reused" 1 reused
# The reuse revokes the family "and its session" (issue 4): every access
# token tied to that session stops working with it.
verify_as "after the reuse, an access token tied to the family's session: session_ended" 1 \
	session_ended "$tokB"
tk issue --sub sam --sid "not-a-handle" </dev/null
expect_result "issue --sid with something that is not a session handle: exit 2" 2
# (the first character changed: the last one carries padding bits that must
# stay zero, so changing it would make the handle malformed, not unknown)
tk issue --sub sam --sid "$([ "${S1:0:1}" = A ] && echo B || echo A)${S1:1}" </dev/null
expect_result "issue --sid with a well-formed handle of no session: exit 1, session_ended" 1 \
	session_ended
tk session create --user sam --user-agent "Mozilla/5.0 test" </dev/null
read -r S2 < <(jf "$AG_JSON" sid)
issue --sub sam --sid "$S2"
tokC=$TOK
verify_as "a token of a second session verifies" 0 "" "$tokC"
tk session end --sid "$S2" </dev/null
verify_as "... and once that session is ended: session_ended" 1 session_ended "$tokC"

# ============================================================= batch

ag_say "batch mode: one process, many requests"
use kEdDSA
ag_preload
coproc BATCH { env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
	"$AG_TOKEN_BIN" --conf "$AG_CONF" batch 2>"$AG_TMP/batch.err"; }
bpid=$BATCH_PID
# breq LINE: sends one request line, reads one answer into AG_JSON.
breq() {
	AG_JSON=
	printf '%s\n' "$1" >&"${BATCH[1]}"
	IFS= read -r -t 20 -u "${BATCH[0]}" AG_JSON || AG_JSON="<no answer>"
}
breq '{"id":"i1","op":"issue","sub":"betty","refresh":true,"claims":{"role":"ops"}}'
expect_json "issue: status 0, id echoed" status=0 id=i1
read -r btok bjti brt < <(jf "$AG_JSON" token jti refresh_token)
ag_expect_true "... token and refresh token" eval '[[ $btok == *.*.* && $brt =~ ^agr_ ]]'
breq "{\"id\":2,\"op\":\"verify\",\"token\":\"$btok\"}"
expect_json "verify: status 0, valid, numeric id echoed" status=0 id=2 valid=true \
	claims.sub=betty claims.role=ops
breq 'this is not json'
expect_json "a malformed line: status 2, usage error" status=2 error=usage
breq '[1,2,3]'
expect_json "a JSON array: status 2" status=2 error=usage
breq '{"id":"dup","op":"verify","op":"jwks"}'
expect_json "duplicate members: status 2" status=2
breq '{"id":"x","op":"frobnicate"}'
expect_json "an unknown op: status 2, id echoed" status=2 id=x
breq '{"id":"noop"}'
expect_json "no op: status 2" status=2 id=noop
breq "{\"id\":\"after\",\"op\":\"verify\",\"token\":\"$btok\"}"
expect_json "... the process carries on after bad lines" status=0 id=after valid=true
breq '{"id":"g","op":"verify","token":"abc"}'
expect_json "verify of garbage: status 1, malformed" status=1 id=g valid=false reason=malformed
breq '{"id":"nt","op":"verify"}'
expect_json "verify without token: status 2" status=2 id=nt
breq '{"id":"rc","op":"issue","sub":"betty","claims":{"sub":"root"}}'
expect_json "issue with a reserved claim: status 2" status=2 id=rc error=usage
breq '{"id":"au","op":"issue","sub":"betty","aud":"evil.example.test"}'
expect_json "issue with an audience not allowed: status 2" status=2 id=au
breq '{"id":"a2","op":"issue","sub":"betty","aud":"api2.example.test","ttl":120}'
expect_json "issue with an allowed aud and a ttl: status 0, exp = now + 120" status=0 id=a2 \
	exp=$((AG_NOW + 120))
ag_expect_eq "... the token carries that aud" "api2.example.test" \
	"$(jf "$(tt part "$(jf "$AG_JSON" token)" 1)" aud)"
breq '{"id":"t1","op":"issue","sub":"betty","ttl":30}'
expect_json "issue with ttl 30: status 2" status=2 id=t1
breq '{"id":"t2","op":"issue","sub":"betty","ttl":"60"}'
expect_json "issue with ttl as a string: status 2" status=2 id=t2
breq '{"id":"ns","op":"issue"}'
expect_json "issue without sub: status 2" status=2 id=ns
breq "{\"id\":\"r1\",\"op\":\"refresh\",\"refresh_token\":\"$brt\"}"
expect_json "refresh: status 0" status=0 id=r1 sub=betty
read -r brt2 < <(jf "$AG_JSON" refresh_token)
breq "{\"id\":\"r2\",\"op\":\"refresh\",\"refresh_token\":\"$brt\"}"
expect_json "refresh of the used token: status 1, reused" status=1 id=r2 reason=reused
breq "{\"id\":\"r3\",\"op\":\"refresh\",\"refresh_token\":\"$brt2\"}"
expect_json "... its successor: status 1, revoked" status=1 id=r3 reason=revoked
breq "{\"id\":\"v1\",\"op\":\"revoke\",\"token\":\"$btok\"}"
expect_json "revoke by token: status 0" status=0 id=v1 revoked=true jti="$bjti"
breq "{\"id\":\"v2\",\"op\":\"verify\",\"token\":\"$btok\"}"
expect_json "... verify: status 1, revoked" status=1 id=v2 reason=revoked
issue --sub betty
ctok=$TOK
breq "{\"id\":\"v3\",\"op\":\"revoke\",\"jti\":\"$JTI\"}"
expect_json "revoke by jti: status 0" status=0 id=v3 revoked=true jti="$JTI"
breq "{\"id\":\"v4\",\"op\":\"verify\",\"token\":\"$ctok\"}"
expect_json "... verify of that token (issued by another process): status 1, revoked" status=1 \
	id=v4 reason=revoked
issue --sub bella
tk revoke <<<"$TOK"
breq "{\"id\":\"x1\",\"op\":\"verify\",\"token\":\"$TOK\"}"
expect_json "a token revoked by another process meanwhile: status 1, revoked" status=1 id=x1 \
	reason=revoked
issue --sub bella --refresh
breq "{\"id\":\"f1\",\"op\":\"revoke\",\"refresh_token\":\"$RT\",\"family\":true}"
expect_json "revoke family: status 0" status=0 id=f1 families=1
breq "{\"id\":\"f2\",\"op\":\"refresh\",\"refresh_token\":\"$RT\"}"
expect_json "... refresh: status 1, revoked" status=1 id=f2 reason=revoked
issue --sub bella --refresh
breq '{"id":"u1","op":"revoke","user":"bella"}'
expect_json "revoke user: status 0" status=0 id=u1 families=1
breq '{"id":"u2","op":"revoke"}'
expect_json "revoke with nothing to revoke: status 2" status=2 id=u2
breq '{"id":"j","op":"jwks"}'
expect_json "jwks: status 0, the key" status=0 id=j keys.0.kid="$KID_EdDSA"
printf '\n\n' >&"${BATCH[1]}"
breq '{"id":"after-empty","op":"jwks"}'
expect_json "empty lines get no answer (the next answer is the next request's)" id=after-empty status=0
"$PY" -c 'print("{\"id\":\"big\",\"op\":\"verify\",\"token\":\"" + "A" * 70000 + "\"}")' >"$AG_TMP/bigline"
cat "$AG_TMP/bigline" >&"${BATCH[1]}"
IFS= read -r -t 20 -u "${BATCH[0]}" AG_JSON || AG_JSON="<no answer>"
expect_json "a 70 kB line: status 2, too long" status=2 error=usage
breq "{\"id\":\"last\",\"op\":\"verify\",\"token\":\"$ED_TOK\"}"
expect_json "... and the process still answers" id=last status=0
ag_expect_true "all of it answered by one process (pid $bpid still running)" kill -0 "$bpid"
eval "exec ${BATCH[1]}>&-"
wait "$bpid"
ag_expect_eq "end of input: batch exits 0" 0 "$?"
ag_expect_eq "batch wrote nothing on stderr" "" "$(cat "$AG_TMP/batch.err")"

ag_say "batch mode: a key rotation while the batch process runs"
tk_conf brot
ag_run_ctl keygen
issue --sub rosa
tok_old=$TOK
ag_preload
coproc BATCH { env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
	"$AG_TOKEN_BIN" --conf "$AG_CONF" batch 2>"$AG_TMP/batch.err"; }
bpid=$BATCH_PID
breq "{\"id\":1,\"op\":\"verify\",\"token\":\"$tok_old\"}"
expect_json "batch verifies a token of the first key" status=0 valid=true
ag_run_ctl keygen --rotate
issue --sub rosa
tok_new=$TOK
breq "{\"id\":2,\"op\":\"verify\",\"token\":\"$tok_new\"}"
expect_json "after keygen --rotate, the running batch process verifies a token of the new key" \
	status=0 valid=true
breq "{\"id\":3,\"op\":\"verify\",\"token\":\"$tok_old\"}"
expect_json "... and still the old key's token" status=0 valid=true
eval "exec ${BATCH[1]}>&-"
wait "$bpid"

ag_say "batch mode: requests piped in at once"
issue --sub pia
{
	printf '%s\n' "{\"id\":1,\"op\":\"verify\",\"token\":\"$TOK\"}"
	printf '%s\n' '{"id":2,"op":"verify","token":"x.y.z"}'
	printf '%s\n' 'garbage'
	printf '%s\n' '{"id":3,"op":"issue","sub":"pia"}'
	printf '%s\n' "{\"id\":4,\"op\":\"revoke\",\"token\":\"$TOK\"}"
	printf '%s\n' "{\"id\":5,\"op\":\"verify\",\"token\":\"$TOK\"}"
} >"$AG_TMP/batch.in"
tk batch <"$AG_TMP/batch.in"
ag_expect_eq "batch exits 0 at end of input" 0 "$AG_RC"
ag_expect_eq "one answer per request, in order, statuses 0 1 2 0 0 1" \
	"1:0 2:1 <missing>:2 3:0 4:0 5:1" \
	"$(while IFS= read -r l; do jf "$l" id status | tr ' ' ':'; done <<<"$AG_JSON" | tr '\n' ' ' | sed 's/ $//')"
tk batch extra </dev/null
ag_expect_eq "batch with an argument: exit 2" 2 "$AG_RC"

# ============================================================= argv

ag_say "no secret in argv: /proc/PID/cmdline of helpers waiting for their input"
use kEdDSA
issue --sub alice --refresh
for cmd in verify refresh; do
	[ $cmd = verify ] && secret=$TOK || secret=$RT
	rm -f "$AG_TMP/fifo"
	mkfifo "$AG_TMP/fifo"
	ag_preload
	env LD_PRELOAD="$ag_preload" AG_SYSLOG_FILE="$AG_LOG" AUTHGUARD_TEST_TIME="$AG_NOW" \
		"$AG_TOKEN_BIN" --conf "$AG_CONF" $cmd 0<>"$AG_TMP/fifo" >"$AG_TMP/fifo.out" 2>&1 &
	pid=$!
	waiting='' cmdline=''
	for _ in $(seq 1 400); do
		if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$AG_TOKEN_BIN")" ]; then
			case $(cat "/proc/$pid/syscall" 2>/dev/null) in
			"0 0x0 "*) waiting="read(0, ...)" ;;
			*) grep -q pipe_read "/proc/$pid/wchan" 2>/dev/null && waiting=pipe_read ;;
			esac
			if [ -n "$waiting" ]; then
				cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
				break
			fi
		fi
		sleep 0.05
	done
	ag_expect_true "$cmd: the helper waits for its input on stdin (${waiting:-not seen})" test -n "$waiting"
	ag_expect_eq "$cmd: /proc/PID/cmdline shows only the command" \
		"$AG_TOKEN_BIN --conf $AG_CONF $cmd " "$cmdline"
	ag_expect_true "$cmd: the secret is in neither cmdline nor environ" \
		eval '! grep -qF -- "$secret" < <(tr "\0" "\n" </proc/$pid/cmdline) && ! grep -qF -- "$secret" < <(tr "\0" "\n" </proc/$pid/environ)'
	printf '%s\n' "$secret" >"$AG_TMP/fifo"
	wait "$pid"
	ag_expect_eq "$cmd: fed through stdin afterwards, it succeeds" 0 "$?"
done

ag_say "secrets never reach the log"
ag_expect_true "no access or refresh token issued in this test appears in the captured syslog" \
	eval '! grep -qF -e "$ED_TOK" -e "$brt" -e "$wrt" -e "${rts[0]}" -e "${rts[100]}" -e "$RT" -e "$TOK" "$AG_LOG"'

# ============================================================= key files

ag_say "key directory and key file problems: exit 2 naming the file"
# keyerr DESC DIR WHAT: issue, verify and jwks on a configuration whose
# token_keys_dir is DIR each exit 2 and name WHAT on stderr.
keyerr() {
	local desc=$1 dir=$2 what=$3 bad=() c
	tk_conf keyerr "token_keys_dir = $dir"
	for c in issue verify jwks; do
		case $c in
		issue) tk issue --sub alice </dev/null ;;
		verify) tk verify <<<"$ED_TOK" ;;
		jwks) tk jwks </dev/null ;;
		esac
		[ "$AG_RC" = 2 ] || bad+=("$c: exit $AG_RC")
		grep -qF -- "$what" <<<"$AG_OUT" || bad+=("$c: stderr does not name $what: $AG_OUT")
	done
	ag_run_ctl keys
	[ "$AG_RC" = 2 ] || bad+=("authguard-ctl keys: exit $AG_RC")
	grep -qF -- "$what" <<<"$AG_OUT" || bad+=("authguard-ctl keys: stderr does not name $what: $AG_OUT")
	if [ ${#bad[@]} -eq 0 ]; then
		ag_pass "$desc: issue, verify, jwks, keys exit 2 naming $(basename "$what")"
	else
		ag_fail "$desc" "${bad[@]}"
	fi
}
keyerr "missing key directory" "$AG_TMP/no-such-dir" "$AG_TMP/no-such-dir"
mkdir -m 700 "$AG_TMP/empty-keys"
keyerr "empty key directory" "$AG_TMP/empty-keys" "$AG_TMP/empty-keys"
cp -a "$AG_TMP/kEdDSA-tkeys" "$AG_TMP/wr-keys"
chmod 644 "$AG_TMP/wr-keys/$KID_EdDSA.key"
keyerr "world-readable key" "$AG_TMP/wr-keys" "$AG_TMP/wr-keys/$KID_EdDSA.key"
ag_expect_out "... saying it is readable by others" "readable"
cp -a "$AG_TMP/kEdDSA-tkeys" "$AG_TMP/gw-keys"
chmod 660 "$AG_TMP/gw-keys/$KID_EdDSA.key"
keyerr "group-writable key" "$AG_TMP/gw-keys" "$AG_TMP/gw-keys/$KID_EdDSA.key"
cp -a "$AG_TMP/kEdDSA-tkeys" "$AG_TMP/dw-keys"
chmod 777 "$AG_TMP/dw-keys"
keyerr "world-writable key directory" "$AG_TMP/dw-keys" "$AG_TMP/dw-keys"
mkdir -m 700 "$AG_TMP/ln-keys"
ln -s "$KEY_EdDSA" "$AG_TMP/ln-keys/$KID_EdDSA.key"
keyerr "key file that is a symlink" "$AG_TMP/ln-keys" "$AG_TMP/ln-keys/$KID_EdDSA.key"
cp -a "$AG_TMP/rot-tkeys" "$AG_TMP/two-keys"
use rot
ag_run_ctl keys --json
second=$(jf "$AG_JSON" 1.file)
sed -i 's/"status": *"verify"/"status":"active"/' "$AG_TMP/two-keys/$second"
keyerr "two active keys" "$AG_TMP/two-keys" "$second"
mkdir -m 700 "$AG_TMP/hs20" "$AG_TMP/hs32"
printf '{"kid":"short20","kty":"oct","alg":"HS256","use":"sig","status":"active","created":1700000000,"k":"%s"}\n' \
	"$(tt rand 20)" >"$AG_TMP/hs20/short20.key"
printf '{"kid":"long32","kty":"oct","alg":"HS256","use":"sig","status":"active","created":1700000000,"k":"%s"}\n' \
	"$(tt rand 32)" >"$AG_TMP/hs32/long32.key"
chmod 600 "$AG_TMP/hs20/short20.key" "$AG_TMP/hs32/long32.key"
keyerr "hand-written HS256 key of 20 bytes" "$AG_TMP/hs20" "$AG_TMP/hs20/short20.key"
tk_conf hs32 "token_keys_dir = $AG_TMP/hs32"
issue --sub alice
ag_expect_eq "control: the same file with 32 bytes is accepted (issue exit 0, kid long32)" \
	"0 long32 HS256" "$AG_RC $(jf "$(tt part "$TOK" 0)" kid alg)"
verify_as "... and its token verifies" 0 "" "$TOK"
mkdir -m 700 "$AG_TMP/wrongalg"
"$PY" -c 'import json,sys; k=json.load(open(sys.argv[1])); k["alg"]="ES256"; print(json.dumps(k))' \
	"$KEY_EdDSA" >"$AG_TMP/wrongalg/$KID_EdDSA.key"
chmod 600 "$AG_TMP/wrongalg/$KID_EdDSA.key"
keyerr "an Ed25519 key labelled ES256" "$AG_TMP/wrongalg" "$AG_TMP/wrongalg/$KID_EdDSA.key"

ag_say "configuration: no issuer, no audience"
ag_conf noiss "token_keys_dir = $AG_TMP/kEdDSA-tkeys" "token_audience = $AUD"
tk issue --sub alice </dev/null
expect_result "no token_issuer: issue exits 2 naming the option" 2 token_issuer
tk verify <<<"$ED_TOK"
expect_result "no token_issuer: verify exits 2" 2 token_issuer
tk refresh <<<"agr_$(tt rand 32)"
expect_result "no token_issuer: refresh exits 2" 2 token_issuer
ag_conf noaud "token_keys_dir = $AG_TMP/kEdDSA-tkeys" "token_issuer = $ISS"
tk issue --sub alice </dev/null
expect_result "no token_audience: issue exits 2 naming the option" 2 token_audience
for bad in "refresh_grace = 61" "token_leeway = 301" "access_ttl = 59" "token_max_len = 511" \
	"refresh_ttl = 299" "token_issuer = has space" "token_audience = a,b"; do
	{ cat "$AG_TMP/kEdDSA.conf"; printf '%s\n' "$bad"; } >"$AG_TMP/badopt.conf"
	AG_CONF=$AG_TMP/badopt.conf
	tk jwks </dev/null
	expect_result "$bad: configuration refused, exit 2 naming the option" 2 "${bad%% *}"
done

if [ -n "$NODE_MISSING" ] && [ "$ag_nfailed" -eq 0 ]; then
	printf '%s: all %d checks passed, but SKIP: %s\n' "$ag_test" "$ag_nchecks" "$NODE_MISSING"
	exit 77
fi
ag_done
