#!/bin/sh
# Interoperability with Node jose (npm, fetched at test time):
#  - tokens signed by lib/jwt verify with jose's jwtVerify, against our JWKS
#    through createLocalJWKSet (EdDSA, ES256) or with the shared secret
#    (HS256), with issuer, audience and typ checked;
#  - jose refuses them for another audience and when tampered with;
#  - tokens signed by jose, with the private key taken from our key file
#    (a private JWK), verify with ag_jwt_verify.
# Skips (exit 77) only when node or npm is absent; a failing npm install
# fails the test.
set -u
: "${top_builddir:=.}" "${top_srcdir:=.}"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "SKIP: node or npm not found, jose interoperability NOT tested"
	exit 77
fi
tool=$top_builddir/tests/interop/jwt_tool
T=$(mktemp -d /tmp/jwt_jose.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
chmod 700 "$T"
cp "$top_srcdir/tests/interop/jwt_jose.mjs" "$T/" || exit 1
if ! (cd "$T" && npm init -y >/dev/null 2>&1 &&
	npm install --no-audit --no-fund --loglevel=error jose >"$T/npm.log" 2>&1); then
	echo "FAIL: npm install jose failed:"
	cat "$T/npm.log"
	exit 1
fi
echo "# node $(node --version), jose $(node -p "require('$T/node_modules/jose/package.json').version")"

n=0 fail=0
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
	desc=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		echo "$out" | sed 's/^/#   /'
		fail=1
	fi
}
refuses() { # refuses DESCRIPTION COMMAND...: passes when the command fails
	desc=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "not ok $n - $desc (accepted)"
		echo "$out" | sed 's/^/#   /'
		fail=1
	else
		echo "ok $n - $desc"
		echo "$out" | head -n 1 | cut -c 1-160 | sed 's/^/#   /'
	fi
}
jose() { # jose MODE ALG ISS AUD FILE EXTRA [TOKEN]
	if [ $# -eq 7 ]; then
		printf '%s\n' "$7" | node "$T/jwt_jose.mjs" "$1" "$2" "$3" "$4" "$5" "$6"
	else
		node "$T/jwt_jose.mjs" "$@"
	fi
}
ours() { # ours DIR ISS AUD TOKEN
	printf '%s\n' "$4" | "$tool" verify "$1" "$2" "$3"
}
tamper() { # changes one character in the middle of the signature
	printf '%s' "$1" | awk -F. '{
		c = substr($3, 10, 1); r = (c == "A") ? "B" : "A";
		printf "%s.%s.%s%s%s", $1, $2, substr($3, 1, 9), r, substr($3, 11) }'
}

ISS=https://issuer.test
AUD=api
for alg in EdDSA ES256 HS256; do
	d=$T/keys-$alg
	mkdir -m 700 "$d"
	kid=$("$tool" keygen "$d" "$alg") || { echo "not ok - keygen $alg"; exit 1; }
	key=$d/$kid.key
	"$tool" jwks "$d" >"$T/$alg.jwks" || exit 1
	tok=$("$tool" sign "$d" "$ISS" "$AUD" alice 600) || exit 1

	check "$alg: our token verifies with jose" \
		jose verify "$alg" "$ISS" "$AUD" "$T/$alg.jwks" "$key" "$tok"
	refuses "$alg: jose refuses our token for another audience" \
		jose verify "$alg" "$ISS" other "$T/$alg.jwks" "$key" "$tok"
	refuses "$alg: jose refuses our token for another issuer" \
		jose verify "$alg" "$ISS/x" "$AUD" "$T/$alg.jwks" "$key" "$tok"
	refuses "$alg: jose refuses our token tampered with" \
		jose verify "$alg" "$ISS" "$AUD" "$T/$alg.jwks" "$key" "$(tamper "$tok")"

	jt=$(jose sign "$alg" "$ISS" "$AUD" "$key" bob)
	check "$alg: jose signed a token with our key file" test -n "$jt"
	check "$alg: jose's token verifies with ag_jwt_verify" ours "$d" "$ISS" "$AUD" "$jt"
	check "$alg: ... and jose verifies it too" \
		jose verify "$alg" "$ISS" "$AUD" "$T/$alg.jwks" "$key" "$jt"
	refuses "$alg: ag_jwt_verify refuses jose's token for another audience" \
		ours "$d" "$ISS" other "$jt"
	refuses "$alg: ag_jwt_verify refuses jose's token tampered with" \
		ours "$d" "$ISS" "$AUD" "$(tamper "$jt")"
done

# one JWKS with both public keys after a rotation: jose picks by kid
d=$T/keys-rot
mkdir -m 700 "$d"
"$tool" keygen "$d" ES256 >/dev/null || exit 1
old=$("$tool" sign "$d" "$ISS" "$AUD" carol 600) || exit 1
"$tool" keygen "$d" EdDSA >/dev/null || exit 1
new=$("$tool" sign "$d" "$ISS" "$AUD" carol 600) || exit 1
"$tool" jwks "$d" >"$T/rot.jwks" || exit 1
check "rotation: token of the old ES256 key verifies with jose" \
	jose verify ES256 "$ISS" "$AUD" "$T/rot.jwks" none "$old"
check "rotation: token of the new EdDSA key verifies with jose" \
	jose verify EdDSA "$ISS" "$AUD" "$T/rot.jwks" none "$new"
check "rotation: both still verify here" sh -c \
	"printf '%s\n' '$old' | '$tool' verify '$d' '$ISS' '$AUD' && printf '%s\n' '$new' | '$tool' verify '$d' '$ISS' '$AUD'"

echo "1..$n"
exit $fail
