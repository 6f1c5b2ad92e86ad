#!/bin/sh
# Interoperability with PyJWT (Debian python3-jwt, run by /usr/bin/python3):
#  - tokens signed by lib/jwt verify with jwt.decode (EdDSA and ES256 with
#    the key from our JWKS, HS256 with the shared secret), issuer, audience
#    and every issued claim required;
#  - PyJWT refuses them for another audience and when tampered with;
#  - tokens signed by PyJWT with the private key from our key file verify
#    with ag_jwt_verify.
# Skips (exit 77) only when /usr/bin/python3 cannot import jwt (install
# python3-jwt: scripts/install-deps.sh).
set -u
: "${top_builddir:=.}" "${top_srcdir:=.}"

PY=/usr/bin/python3
if ! "$PY" -c 'import jwt, cryptography' >/dev/null 2>&1; then
	echo "SKIP: $PY cannot import jwt (python3-jwt), PyJWT interoperability NOT tested"
	exit 77
fi
echo "# PyJWT $("$PY" -c 'import jwt; print(jwt.__version__)')"
tool=$top_builddir/tests/interop/jwt_tool
pyjwt=$top_srcdir/tests/interop/jwt_pyjwt.py
T=$(mktemp -d /tmp/jwt_pyjwt.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
chmod 700 "$T"

n=0 fail=0
check() {
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
refuses() {
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
py() { # py MODE ALG ISS AUD FILE EXTRA [TOKEN]
	if [ $# -eq 7 ]; then
		printf '%s\n' "$7" | "$PY" "$pyjwt" "$1" "$2" "$3" "$4" "$5" "$6"
	else
		"$PY" "$pyjwt" "$@"
	fi
}
ours() {
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

	check "$alg: our token verifies with PyJWT" \
		py verify "$alg" "$ISS" "$AUD" "$T/$alg.jwks" "$key" "$tok"
	refuses "$alg: PyJWT refuses our token for another audience" \
		py verify "$alg" "$ISS" other "$T/$alg.jwks" "$key" "$tok"
	refuses "$alg: PyJWT refuses our token tampered with" \
		py verify "$alg" "$ISS" "$AUD" "$T/$alg.jwks" "$key" "$(tamper "$tok")"

	pt=$(py sign "$alg" "$ISS" "$AUD" "$key" bob)
	check "$alg: PyJWT signed a token with our key file" test -n "$pt"
	check "$alg: PyJWT's token verifies with ag_jwt_verify" ours "$d" "$ISS" "$AUD" "$pt"
	refuses "$alg: ag_jwt_verify refuses PyJWT's token for another issuer" \
		ours "$d" "$ISS/x" "$AUD" "$pt"
done

echo "1..$n"
exit $fail
