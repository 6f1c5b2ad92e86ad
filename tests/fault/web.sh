#!/bin/bash
# Fault injection into the web side, the real helpers run as processes
# (tests/fault/lib.sh): authguard-token guard / session / mfa and
# authguard-webhook, every library call they make failed in turn.
#
#   deny:  guard check of a locked subject; session check from another
#          browser (fingerprint mismatch); mfa verify with a wrong code; a
#          webhook with a bad signature;
#   allow: guard check of a fresh subject; session check from the right
#          browser; mfa verify with the right code; a well-signed webhook.
#
# A deny stays a deny (non-zero exit, no "valid"/"allowed": true), nothing
# crashes, the state file stays intact: failure counters move by at most
# one, a lock is kept, the last accepted TOTP step is never lost, a bad
# webhook changes nothing.  An allowed check has counted its attempt; an
# accepted webhook has recorded its id and ended the session.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/fault/lib.sh"
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool not installed (apt-get install oathtool)"
command -v openssl >/dev/null 2>&1 || ag_skip "openssl (the command) not installed"
ag_init
fi_init
WH_BIN=$top_builddir/helpers/authguard-webhook
[ -x "$WH_BIN" ] || ag_bail "helper not built: $WH_BIN (run make)"

IP=198.51.100.7
UA_A='Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'
UA_B='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36'
SECRET=whsec_$(head -c 24 /dev/urandom | base64 -w0)
ag_conf web "delay_base = 0" "webhook_secret_file = $AG_TMP/keys/webhook.secret"
(umask 077 && printf '%s\n' "$SECRET" >"$AG_TMP/keys/webhook.secret")

# probe SUBJECT [MORE]: failures of SUBJECT | of IP | SUBJECT's lock [| MORE]
probe() {
	printf "SELECT (SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id
		WHERE s.kind = 1 AND s.name = '%s'),
	(SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id
		WHERE s.kind = 2 AND s.name = '%s'),
	(SELECT coalesce(max(locked_until), 0) FROM subject WHERE kind = 1 AND name = '%s')%s;" \
		"$1" "$IP" "$1" "${2:+, $2}"
}

# An allowed check has reserved its attempt (the account counter +1).
counted() { # BEFORE AFTER
	local b a
	IFS='|' read -r -a b <<<"${1#ok }"
	IFS='|' read -r -a a <<<"${2#ok }"
	[ "$AG_RC" != 0 ] || [ "${a[0]}" = $((b[0] + 1)) ] ||
		echo "allowed without counting the attempt (${b[0]} -> ${a[0]})"
}

ag_say "guard check"
for _ in $(seq 10); do
	ag_run_token guard check --subject carol@example.com --ip $IP
	ag_run_token guard failure --subject carol@example.com --ip $IP
done
ag_run_token guard check --subject carol@example.com --ip $IP
ag_expect_eq "carol@example.com is locked after 10 failures (guard check exits 1)" 1 "$AG_RC"
fi_snapshot
guard() { ag_run_token guard check --subject "$SUBJ" --ip $IP; }
SUBJ=carol@example.com
fi_sweep "guard check of a locked subject" deny helper "$AG_TOKEN_BIN" guard \
	"$(probe $SUBJ)" "inc01 inc01 same"
SUBJ=dan@example.com FI_CHECK=counted
fi_sweep "guard check of a fresh subject" allow helper "$AG_TOKEN_BIN" guard \
	"$(probe $SUBJ)" "inc01 inc01 same"
FI_CHECK=

ag_say "session check"
ag_run_token session create --user erin --user-agent "$UA_A" --clerk-session sess_A </dev/null
[ "$AG_RC" = 0 ] || ag_bail "session create failed: $AG_OUT"
SESSION=$(ag_jget "$AG_JSON" session)
fi_snapshot
check() { ag_run_token session check --user-agent "$UA" <<<"$SESSION"; }
SPROBE="SELECT count(*), coalesce(max(last_seen), 0),
	coalesce(max(hex(fingerprint)), '') FROM web_session;"
UA=$UA_B
fi_sweep "session check from another browser" deny helper "$AG_TOKEN_BIN" check \
	"$SPROBE" "le any any"
UA=$UA_A
fi_sweep "session check from the right browser" allow helper "$AG_TOKEN_BIN" check \
	"$SPROBE" "same ge same"

ag_say "mfa verify"
ag_enroll frank || ag_bail "enrollment failed"
AG_NOW=$((AG_NOW + 30))
fi_snapshot
verify() { ag_run_token mfa verify --user frank --ip $IP <<<"$CODE"; }
STEP="(SELECT coalesce(max(last_step), -1) FROM mfa WHERE account = 'frank')"
CODE=$(ag_wrong_code "$AG_SECRET") || ag_bail "no wrong code found"
fi_sweep "mfa verify with a wrong code" deny helper "$AG_TOKEN_BIN" verify \
	"$(probe frank "$STEP")" "inc01 inc01 same same"
CODE=$(ag_totp "$AG_SECRET")
fi_sweep "mfa verify with the right code" allow helper "$AG_TOKEN_BIN" verify \
	"$(probe frank "$STEP")" "inc01 inc01 same ge"

ag_say "webhook receive"
printf '%s' '{"data":{"id":"sess_A","object":"session","status":"revoked","user_id":"user_erin"},"object":"event","type":"session.revoked"}' \
	>"$AG_TMP/body.json"
# v1 signature of ID.TS.BODY, computed by openssl (not by our code)
hex=$(printf '%s' "${SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
GOOD_SIG=v1,$({ printf 'msg_1.%s.' "$AG_NOW"; cat "$AG_TMP/body.json"; } |
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary | base64 -w0)
BAD_SIG=v1,$(head -c 32 /dev/urandom | base64 -w0)
hook() {
	AG_LOG_MARK=$(ag_log_lines)
	AG_JSON=$(ag_helper "$WH_BIN" receive --header "svix-id: msg_1" \
		--header "svix-timestamp: $AG_NOW" --header "svix-signature: $SIG" \
		<"$AG_TMP/body.json" 2>"$AG_TMP/wh.err")
	AG_RC=$?
	AG_OUT=$(cat "$AG_TMP/wh.err")
}
WPROBE="SELECT (SELECT count(*) FROM webhook_msg), (SELECT count(*) FROM web_session);"
# Accepted means recorded and applied (a store error after the id was
# recorded is exit 3, telling the operator).
applied() { # BEFORE AFTER
	local b a
	IFS='|' read -r -a b <<<"${1#ok }"
	IFS='|' read -r -a a <<<"${2#ok }"
	[ "$AG_RC" != 0 ] || { [ "${a[0]}" = $((b[0] + 1)) ] && [ "${a[1]}" = $((b[1] - 1)) ]; } ||
		echo "accepted, but messages ${b[0]} -> ${a[0]}, sessions ${b[1]} -> ${a[1]}"
}
SIG=$BAD_SIG
fi_sweep "webhook with a bad signature" deny helper "$WH_BIN" hook "$WPROBE" "same same"
SIG=$GOOD_SIG FI_CHECK=applied
fi_sweep "webhook with a good signature" allow helper "$WH_BIN" hook "$WPROBE" "inc01 le"
FI_CHECK=

fi_summary malloc open read fstat json_loadb json_pack json_dumpf sqlite3_open_v2 \
	sqlite3_prepare_v3 sqlite3_step sqlite3_exec sodium_init \
	PQconnectStartParams PQconnectPoll PQsetnonblocking PQsendQuery PQsendPrepare \
	PQsendQueryPrepared PQflush PQconsumeInput PQgetResult poll
ag_done
