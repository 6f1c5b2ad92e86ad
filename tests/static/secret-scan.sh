#!/bin/bash
# The secret scan every integration test ends with (tests/lib/secret_scan.py)
# must find what it claims to find: each kind of secret planted in a log or
# an error stream is reported, and a clean directory passes.
set -uo pipefail
scan=${top_srcdir:-$(dirname "$0")/../..}/tests/lib/secret_scan.py
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
check() { # DESC WANT-RC
	local out rc
	out=$(python3 "$scan" "$tmp" "$tmp/syslog.log" right-pw 2>&1)
	rc=$?
	n=$((n + 1))
	if [ "$rc" = "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1 (exit $rc, want $2)"
		printf '#   %s\n' "$out"
		failed=$((failed + 1))
	fi
}
reset() {
	rm -rf "${tmp:?}"/*
	echo '<86> pam_authguard(sshd:auth): event=success user=alice rhost=192.0.2.1 pid=123456' >"$tmp/syslog.log"
	mkfifo "$tmp/fifo" # must not block the scan
}

id=ags_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
rt=agr_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
jwt=eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJlc2ln
key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

reset
check "a clean log passes (a pid of six digits is no code)" 0
reset
echo "{\"session_id\":\"$id\"}" >"$tmp/stdout.all"
check "a session id in stdout only passes" 0
reset
echo "authguard-token: bad id $id" >"$tmp/stderr.all"
check "a session id in helper stderr is found" 1
reset
echo "<85> authguard-token: event=refresh token=$rt" >>"$tmp/syslog.log"
check "a refresh token in syslog is found" 1
reset
echo "error: $jwt" >"$tmp/x.err"
check "an access token in an .err file is found" 1
reset
echo "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" >"$tmp/stderr.all"
check "a webhook secret is found" 1
reset
echo "event=x uri=otpauth://totp/a:b?secret=JBSWY3DP" >>"$tmp/syslog.log"
check "a key URI in syslog is found" 1
reset
echo '{"secret":"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP","backup_codes":["K7QD-2M9X"]}' >"$tmp/stdout.all"
echo "debug: JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" >"$tmp/stderr.all"
check "a TOTP secret from enrollment output, in stderr, is found" 1
reset
echo '{"secret":"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP","backup_codes":["K7QD-2M9X"]}' >"$tmp/stdout.all"
echo "<85> authguard-token: code K7QD-2M9X refused" >>"$tmp/syslog.log"
check "a backup code from enrollment output, in syslog, is found" 1
reset
echo 482913 >"$tmp/secrets.lst"
echo "<85> pam_authguard(sshd:auth): event=mfa_fail user=a code=482913" >>"$tmp/syslog.log"
check "a typed verification code in syslog is found" 1
reset
echo 482913 >"$tmp/secrets.lst"
echo "<85> pam_authguard(sshd:auth): event=x until=1700482913 pid=482913" >>"$tmp/syslog.log"
check "... but not inside a longer number or as a pid" 0
reset
mkdir "$tmp/keys" && echo "$key" >"$tmp/keys/secrets.key"
echo "loaded key $key" >"$tmp/stderr.all"
check "secrets-key material in stderr is found" 1
reset
echo '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}' >"$tmp/key.jwk"
echo "key nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A" >>"$tmp/syslog.log"
check "a private JWK member in syslog is found" 1
reset
echo "pam: password right-pw" >"$tmp/stderr.all"
check "a password given on the command line of the scan is found" 1

echo "1..$n"
[ "$failed" = 0 ]
