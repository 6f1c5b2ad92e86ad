#!/bin/bash
# Cost of verifying a JWT access token, authguard-token against Node jose
# and PyJWT.
#
# Part 1, one-shot: the wall-clock time of one whole process that verifies
# one token, as a backend pays it when it spawns a verifier per request:
#
#   floor        a C program linked against the same libraries as
#                authguard-token (pkg-config: sqlite3 libsodium libcrypto
#                jansson, and liboath, which libauthguard links too) that
#                does nothing: process start-up and dynamic linking alone
#   ours-eddsa   authguard-token verify < token   (EdDSA key)
#   ours-hs256   authguard-token verify < token   (HS256 key)
#   node-eddsa   node verify.mjs: import jose, createLocalJWKSet over the
#                JWKS file authguard-token jwks printed, jwtVerify
#   node-hs256   the same with the secret from the key file
#   py-eddsa     /usr/bin/python3 verify.py: import jwt (PyJWT), PyJWK from
#                the JWKS, jwt.decode
#   py-hs256     the same with the secret from the key file
#
# Every verifier gets the same token and makes the same checks where it has
# them: signature with the algorithm pinned, exp/nbf/iat with 30 s leeway,
# iss, aud, typ at+jwt, sub/jti/iat/nbf/exp required.  Ours also looks the
# jti up in the revocation list (the others have none).  The configurations
# run in interleaved rounds; medians of the per-process times (bash's
# EPOCHREALTIME around each run) are compared.
#
# Part 2, warm: verifications per second of one long-lived verifier:
#
#   batch-empty  authguard-token batch, {"op":"verify","token":...} lines,
#                an empty revocation list
#   batch-1m     the same with 1,000,000 revoked jtis in the state (filled
#                with sqlite3 directly; they expire far in the future)
#   jose-warm    jwtVerify in a loop in one Node process, after a warm-up
#
# for EdDSA and for HS256.  The requests cycle through 1000 distinct tokens
# (so the revocation lookups touch different pages of the list).  Batch
# throughput is N requests over the wall time of the whole process, reading
# requests and writing answers included; jose's is N over the loop.
#
# Environment:
#   BENCH_N          one-shot runs per configuration (default 200)
#   BENCH_ROUND      one-shot runs per configuration per round (default 20)
#   BENCH_BATCH_N    requests per batch run (default 40000)
#   BENCH_JOSE_N     verifications per warm jose run (default 20000)
#   BENCH_ROUNDS     rounds of part 2 (default 3)
#   BENCH_PARTS      "1 2" (default), "1" or "2"
#   AUTHGUARD_TOKEN, AUTHGUARD_CTL   the helpers (default: this build)
#
# Node jose is installed with npm into the temporary directory.  Nothing
# outside the temporary directory is touched.
#
# Exit status: 0 done, 1 a verifier did not behave as expected, 2 missing
# input.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_N:-200}
ROUND=${BENCH_ROUND:-20}
BATCH_N=${BENCH_BATCH_N:-40000}
JOSE_N=${BENCH_JOSE_N:-20000}
ROUNDS=${BENCH_ROUNDS:-3}
PARTS=${BENCH_PARTS:-1 2}
TOKEN_BIN=${AUTHGUARD_TOKEN:-$here/../helpers/authguard-token}
CTL_BIN=${AUTHGUARD_CTL:-$here/../helpers/authguard-ctl}
PY=/usr/bin/python3
ISS=https://auth.example.test
AUD=api.example.test

die() { echo "token-verify: $2" >&2; exit "$1"; }
for v in N ROUND BATCH_N JOSE_N ROUNDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die 2 "BENCH_$v must be a positive integer"
done
[[ -n ${EPOCHREALTIME:-} ]] || die 2 "bash 5 or later is needed (EPOCHREALTIME)"
[ -x "$TOKEN_BIN" ] || die 2 "$TOKEN_BIN not built (run make)"
[ -x "$CTL_BIN" ] || die 2 "$CTL_BIN not built (run make)"
for t in node npm sqlite3 cc pkg-config; do
	command -v $t >/dev/null 2>&1 || die 2 "$t not found"
done
"$PY" -c 'import jwt, cryptography' 2>/dev/null || die 2 "$PY cannot import jwt (python3-jwt)"

T=$(mktemp -d /tmp/token-verify.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
chmod 755 "$T"

# ------------------------------------------------------------- set-up

echo "# setting up in $T"
# Copies: a rebuild of the tree during the run does not disturb it.
cp "$TOKEN_BIN" "$T/authguard-token"
cp "$CTL_BIN" "$T/authguard-ctl"
TOKEN_BIN=$T/authguard-token CTL_BIN=$T/authguard-ctl
libs="sqlite3 libsodium libcrypto jansson"
pkg-config --exists liboath 2>/dev/null && libs="$libs liboath"
printf 'int main(void) { return 0; }\n' >"$T/floor.c"
# --no-as-needed: the libraries are loaded although nothing is called.
# shellcheck disable=SC2046
cc -O2 -o "$T/floor" "$T/floor.c" -Wl,--no-as-needed $(pkg-config --libs $libs) ||
	die 2 "cannot build the floor program"

(cd "$T" && npm init -y >/dev/null 2>&1 &&
	npm install --no-audit --no-fund --loglevel=error jose >npm.log 2>&1) ||
	die 2 "npm install jose failed: $(cat "$T/npm.log")"

# conf NAME ALG STATE: a configuration with its own keys of ALG, state STATE.
conf() {
	cat >"$T/$1.conf" <<-EOF
	state_file = $3
	secrets_key = $T/keys/secrets.key
	token_keys_dir = $T/$2-keys
	token_issuer = $ISS
	token_audience = $AUD
	access_ttl = 1d
	EOF
	chmod 644 "$T/$1.conf"
}
for alg in EdDSA HS256; do
	conf "$alg" "$alg" "$T/empty/state.db"
	conf "$alg-1m" "$alg" "$T/full/state.db"
	"$CTL_BIN" --conf "$T/$alg.conf" init >/dev/null
	"$CTL_BIN" --conf "$T/$alg-1m.conf" init >/dev/null
	"$CTL_BIN" --conf "$T/$alg.conf" keygen --alg "$alg" >/dev/null
	"$TOKEN_BIN" --conf "$T/$alg.conf" jwks >"$T/$alg.jwks"
	cp "$T/$alg-keys"/*.key "$T/$alg.key"
	"$TOKEN_BIN" --conf "$T/$alg.conf" issue --sub alice --ttl 1d </dev/null |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])' >"$T/$alg.token"
done

cat >"$T/verify.mjs" <<'EOF'
// One-shot: node verify.mjs ALG ISS AUD JWKS|KEYFILE < token; exit 0 valid.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';
const [alg, iss, aud, file] = process.argv.slice(2);
const token = readFileSync(0, 'utf8').trim();
const doc = JSON.parse(readFileSync(file, 'utf8'));
const key = alg === 'HS256' ? Buffer.from(doc.k, 'base64url') : createLocalJWKSet(doc);
try {
  await jwtVerify(token, key, { issuer: iss, audience: aud, algorithms: [alg], typ: 'at+jwt',
    clockTolerance: 30, requiredClaims: ['sub', 'jti', 'iat', 'nbf', 'exp'] });
} catch (e) {
  process.exit(1);
}
EOF
cat >"$T/warm.mjs" <<'EOF'
// Warm: node warm.mjs ALG ISS AUD JWKS|KEYFILE TOKENS N; prints verifies/s.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';
const [alg, iss, aud, file, tokfile, n] = process.argv.slice(2);
const tokens = readFileSync(tokfile, 'utf8').trim().split('\n');
const doc = JSON.parse(readFileSync(file, 'utf8'));
const key = alg === 'HS256' ? Buffer.from(doc.k, 'base64url') : createLocalJWKSet(doc);
const opts = { issuer: iss, audience: aud, algorithms: [alg], typ: 'at+jwt',
  clockTolerance: 30, requiredClaims: ['sub', 'jti', 'iat', 'nbf', 'exp'] };
for (let i = 0; i < 5000; i++) await jwtVerify(tokens[i % tokens.length], key, opts);
const t0 = process.hrtime.bigint();
for (let i = 0; i < Number(n); i++) await jwtVerify(tokens[i % tokens.length], key, opts);
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log((Number(n) / s).toFixed(0));
EOF
cat >"$T/verify.py" <<'EOF'
# One-shot: verify.py ALG ISS AUD JWKS|KEYFILE < token; exit 0 valid.
import json, sys
import jwt
alg, iss, aud, path = sys.argv[1:5]
token = sys.stdin.readline().strip()
with open(path) as f:
    doc = json.load(f)
header = jwt.get_unverified_header(token)
if alg == "HS256":
    key = jwt.PyJWK({"kty": "oct", "k": doc["k"], "alg": "HS256"}).key
else:
    key = jwt.PyJWK([k for k in doc["keys"] if k["kid"] == header.get("kid")][0]).key
try:
    jwt.decode(token, key, algorithms=[alg], audience=aud, issuer=iss, leeway=30,
               options={"require": ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"]})
except jwt.PyJWTError:
    sys.exit(1)
sys.exit(0 if header.get("typ") == "at+jwt" else 1)
EOF

# cmd CONFIG: sets CMD (an array) and IN (the stdin file) for a configuration.
cmd() {
	local alg=${1#*-}
	case $alg in eddsa) alg=EdDSA ;; hs256) alg=HS256 ;; esac
	IN=$T/$alg.token
	local key=$T/$alg.jwks
	[ "$alg" = HS256 ] && key=$T/$alg.key
	case $1 in
	floor) CMD=("$T/floor"); IN=$T/EdDSA.token ;;
	ours-*) CMD=("$TOKEN_BIN" --conf "$T/$alg.conf" verify) ;;
	node-*) CMD=(node "$T/verify.mjs" "$alg" "$ISS" "$AUD" "$key") ;;
	py-*) CMD=("$PY" "$T/verify.py" "$alg" "$ISS" "$AUD" "$key") ;;
	esac
}

# tamper FILE: the token in FILE with one signature character changed.
tamper() {
	awk -F. '{ c = substr($3, 10, 1); r = (c == "A") ? "B" : "A";
		printf "%s.%s.%s%s%s\n", $1, $2, substr($3, 1, 9), r, substr($3, 11) }' "$1"
}

# median FILE: the median of the numbers in FILE, one per line.
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mean() { awk '{ s += $1 } END { printf "%.3f", s / NR }' "$1"; }

# ------------------------------------------------------------- part 1

if [[ " $PARTS " == *" 1 "* ]]; then
	CONFIGS=(floor ours-eddsa ours-hs256 node-eddsa node-hs256 py-eddsa py-hs256)
	echo "# part 1: checking every verifier accepts the token and refuses it tampered with"
	for c in "${CONFIGS[@]}"; do
		[ "$c" = floor ] && continue
		cmd "$c"
		"${CMD[@]}" <"$IN" >/dev/null 2>&1 || die 1 "$c refuses the valid token"
		if "${CMD[@]}" < <(tamper "$IN") >/dev/null 2>&1; then
			die 1 "$c accepts a tampered token"
		fi
	done
	for c in "${CONFIGS[@]}"; do : >"$T/t.$c"; done
	echo "# part 1: $N runs per configuration, rounds of $ROUND"
	done_n=0
	while ((done_n < N)); do
		k=$((N - done_n < ROUND ? N - done_n : ROUND))
		for c in "${CONFIGS[@]}"; do
			cmd "$c"
			for ((i = 0; i < k; i++)); do
				t0=$EPOCHREALTIME
				"${CMD[@]}" <"$IN" >/dev/null 2>&1 || [ "$c" = floor ] || die 1 "$c failed while timed"
				t1=$EPOCHREALTIME
				echo "$t0 $t1" | awk '{ printf "%.4f\n", ($2 - $1) * 1000 }' >>"$T/t.$c"
			done
		done
		done_n=$((done_n + k))
	done
	floor=$(median "$T/t.floor")
	printf '\n%-12s %10s %10s %10s\n' configuration "median ms" "mean ms" "/ floor"
	for c in "${CONFIGS[@]}"; do
		m=$(median "$T/t.$c")
		printf '%-12s %10.3f %10s %10.2f\n' "$c" "$m" "$(mean "$T/t.$c")" \
			"$(awk -v a="$m" -v b="$floor" 'BEGIN { print a / b }')"
	done
	for a in eddsa hs256; do
		o=$(median "$T/t.ours-$a")
		printf 'node-%s / ours-%s = %.1f   py-%s / ours-%s = %.1f\n' "$a" "$a" \
			"$(awk -v a="$(median "$T/t.node-$a")" -v b="$o" 'BEGIN { print a / b }')" "$a" "$a" \
			"$(awk -v a="$(median "$T/t.py-$a")" -v b="$o" 'BEGIN { print a / b }')"
	done
fi

# ------------------------------------------------------------- part 2

if [[ " $PARTS " == *" 2 "* ]]; then
	echo
	echo "# part 2: 1000 tokens per algorithm, $BATCH_N batch requests, $JOSE_N jose verifies, $ROUNDS rounds"
	for alg in EdDSA HS256; do
		for i in $(seq 1 1000); do
			printf '{"op":"issue","sub":"user%d","ttl":86400}\n' "$i"
		done | "$TOKEN_BIN" --conf "$T/$alg.conf" batch |
			"$PY" -c '
import json, sys
for line in sys.stdin:
    print(json.loads(line)["token"])' >"$T/$alg.tokens"
		[ "$(wc -l <"$T/$alg.tokens")" = 1000 ] || die 1 "could not issue 1000 $alg tokens"
		"$PY" -c '
import json, sys
toks = open(sys.argv[1]).read().split()
n = int(sys.argv[2])
with open(sys.argv[3], "w") as f:
    for i in range(n):
        f.write(json.dumps({"op": "verify", "token": toks[i % len(toks)]}, separators=(",", ":")) + "\n")
' "$T/$alg.tokens" "$BATCH_N" "$T/$alg.requests"
	done
	echo "# filling the state with 1,000,000 revoked jtis (sqlite3)"
	t0=$EPOCHREALTIME
	sqlite3 "$T/full/state.db" >/dev/null <<-'EOF'
	PRAGMA busy_timeout = 10000;
	BEGIN;
	WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000000)
	INSERT INTO revoked_jti (jti, expires)
	SELECT substr(lower(hex(randomblob(16))), 1, 22), 4102444800 FROM c;
	COMMIT;
	PRAGMA wal_checkpoint(TRUNCATE);
	EOF
	rows=$(sqlite3 "$T/full/state.db" 'SELECT count(*) FROM revoked_jti')
	echo "# $rows rows in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s, state $(du -h "$T/full/state.db" | cut -f1)"
	((rows >= 999000)) || die 1 "the revocation list has only $rows rows"

	# A revoked token must be refused with the big list too (and not with
	# the empty one): the lookup is real.
	for alg in EdDSA HS256; do
		tok=$(head -n 1 "$T/$alg.tokens")
		jti=$(printf '%s' "$tok" | cut -d. -f2 | "$PY" -c '
import base64, json, sys
s = sys.stdin.read().strip()
print(json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["jti"])')
		sqlite3 "$T/full/state.db" "PRAGMA busy_timeout = 10000; INSERT INTO revoked_jti VALUES ('$jti', 4102444800)" >/dev/null
		out=$(printf '{"op":"verify","token":"%s"}\n' "$tok" | "$TOKEN_BIN" --conf "$T/$alg-1m.conf" batch)
		[[ $out == *'"reason":"revoked"'* ]] || die 1 "a revoked $alg token was not refused: $out"
		out=$(printf '{"op":"verify","token":"%s"}\n' "$tok" | "$TOKEN_BIN" --conf "$T/$alg.conf" batch)
		[[ $out == *'"status":0'* ]] || die 1 "a valid $alg token was refused: $out"
		# Keep it out of the timed runs (a refusal is not the same work).
		sed -i 1d "$T/$alg.tokens"
		"$PY" -c '
import json, sys
toks = open(sys.argv[1]).read().split()
n = int(sys.argv[2])
with open(sys.argv[3], "w") as f:
    for i in range(n):
        f.write(json.dumps({"op": "verify", "token": toks[i % len(toks)]}, separators=(",", ":")) + "\n")
' "$T/$alg.tokens" "$BATCH_N" "$T/$alg.requests"
	done

	# batch CONF REQUESTS: prints verifies per second; every answer status 0.
	batch() {
		local t0 t1 ok
		t0=$EPOCHREALTIME
		"$TOKEN_BIN" --conf "$1" batch <"$2" >"$T/answers"
		t1=$EPOCHREALTIME
		ok=$(grep -c '"status":0' "$T/answers" || true)
		[ "$ok" = "$BATCH_N" ] || die 1 "batch on $1: $ok of $BATCH_N answers with status 0"
		awk -v n="$BATCH_N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", n / (b - a) }'
	}
	for alg in EdDSA HS256; do
		for c in batch-empty batch-1m jose-warm; do : >"$T/r.$alg.$c"; done
	done
	for r in $(seq 1 "$ROUNDS"); do
		for alg in EdDSA HS256; do
			key=$T/$alg.jwks
			[ "$alg" = HS256 ] && key=$T/$alg.key
			batch "$T/$alg.conf" "$T/$alg.requests" >>"$T/r.$alg.batch-empty"
			batch "$T/$alg-1m.conf" "$T/$alg.requests" >>"$T/r.$alg.batch-1m"
			node "$T/warm.mjs" "$alg" "$ISS" "$AUD" "$key" "$T/$alg.tokens" "$JOSE_N" \
				>>"$T/r.$alg.jose-warm"
		done
		echo "# round $r done"
	done
	printf '\n%-6s %-12s %s\n' alg verifier "verifies/s per round (median)"
	for alg in EdDSA HS256; do
		for c in batch-empty batch-1m jose-warm; do
			printf '%-6s %-12s %s (%s)\n' "$alg" "$c" "$(tr '\n' ' ' <"$T/r.$alg.$c")" \
				"$(median "$T/r.$alg.$c")"
		done
		e=$(median "$T/r.$alg.batch-empty")
		f=$(median "$T/r.$alg.batch-1m")
		j=$(median "$T/r.$alg.jose-warm")
		printf '%-6s 1m / empty = %.3f   batch-1m / jose-warm = %.2f\n' "$alg" \
			"$(awk -v a="$f" -v b="$e" 'BEGIN { print a / b }')" \
			"$(awk -v a="$f" -v b="$j" 'BEGIN { print a / b }')"
	done
fi
