#!/bin/bash
# Fault injection into authguard-token's JWT and refresh-token commands, the
# real helper run as a process (tests/fault/lib.sh): every library call it
# makes -- key files, SQLite (or libpq, with AG_STORE=postgresql), jansson,
# libsodium, allocations -- is failed in turn.
#
#   deny:  verify of a revoked, an expired and a badly signed token; refresh
#          with a refresh token that was already redeemed (reuse);
#   allow: verify of a good token; refresh with a fresh refresh token;
#          a batch process answering three verify requests (a single
#          fault spoils at most the request it strikes).
#
# A deny stays a deny (non-zero exit, no "valid":true); no crash; the state
# file stays intact: a reuse never mints a token, a redeemed token stays
# redeemed; a refresh redeems the old token exactly when it stores the new
# one, and a refresh that answers with a new token has stored it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/fault/lib.sh"
ag_init
fi_init

ag_conf tok "token_keys_dir = $AG_TMP/tkeys" "token_issuer = https://auth.example.test" \
	"token_audience = api.example.test"
out=$(ag_ctl keygen 2>&1) || ag_bail "authguard-ctl keygen failed: $out"

# issue ARGS...: TOK and RT (refresh token, if asked for) of a new token.
issue() {
	ag_run_token issue "$@" </dev/null
	[ "$AG_RC" = 0 ] || ag_bail "authguard-token issue $* failed: $AG_OUT"
	TOK=$(ag_jget "$AG_JSON" token)
	RT=$(ag_jget "$AG_JSON" refresh_token)
}

# revoked jti | refresh tokens | redeemed ones | revoked families
PROBE="SELECT (SELECT count(*) FROM revoked_jti), (SELECT count(*) FROM refresh_token),
	(SELECT count(*) FROM refresh_token WHERE used_at IS NOT NULL),
	(SELECT count(*) FROM refresh_family WHERE revoked != 0);"

verify() { ag_run_token verify <<<"$TOKEN"; }
refresh() { ag_run_token refresh <<<"$RT_IN"; }

issue --sub alice
GOOD=$TOK
issue --sub bob
REVOKED=$TOK
ag_run_token revoke <<<"$REVOKED"
[ "$AG_RC" = 0 ] || ag_bail "revoke failed: $AG_OUT"
sig=${GOOD##*.}
c=${sig:10:1}
[ "$c" = A ] && c=B || c=A
BADSIG=${GOOD%.*}.${sig:0:10}$c${sig:11}
issue --sub carol --refresh
RT1=$RT
ag_run_token refresh <<<"$RT1"
[ "$AG_RC" = 0 ] || ag_bail "refresh failed: $AG_OUT"
RT2=$(ag_jget "$AG_JSON" refresh_token)
fi_snapshot

TOKEN=$REVOKED
fi_sweep "verify: revoked token" deny helper "$AG_TOKEN_BIN" verify "$PROBE" "same same same same"
TOKEN=$BADSIG
fi_sweep "verify: bad signature" deny helper "$AG_TOKEN_BIN" verify "$PROBE" "same same same same"
# Exit 0 comes with the answer: an answer that could not be built is an
# internal error, never a success without its claims.
valid() { # BEFORE AFTER
	[ "$AG_RC" != 0 ] || [[ $AG_JSON =~ ^\{\"valid\":true,\"claims\":\{ ]] ||
		echo "exit 0 with ${AG_JSON:0:160}"
}
TOKEN=$GOOD FI_CHECK=valid
fi_sweep "verify: good token" allow helper "$AG_TOKEN_BIN" verify "$PROBE" "same same same same"

# Batch mode, one process for many requests: a fault spoils at most the
# request it strikes.  The requests after it are answered as without the
# fault -- a connection that broke is opened again, a statement whose
# preparation went wrong is prepared again -- or not at all, once the
# process has ended (it may end on an error).  The first request (a bad
# signature) does not reach the store, so the store is first used, its
# statement first prepared, by the second.  A fault before the first
# request (at start-up) may spoil all three.
printf '%s\n' "{\"op\":\"verify\",\"id\":1,\"token\":\"$BADSIG\"}" \
	"{\"op\":\"verify\",\"id\":2,\"token\":\"$REVOKED\"}" \
	"{\"op\":\"verify\",\"id\":3,\"token\":\"$REVOKED\"}" >"$AG_TMP/batch.in"
batch() { ag_run_token batch <"$AG_TMP/batch.in"; }
batch
mapfile -t BATCH_OK <<<"$AG_JSON"
[ "$AG_RC" = 0 ] && [ ${#BATCH_OK[@]} = 3 ] &&
	[[ ${BATCH_OK[2]} == *'"reason":"revoked"'* ]] || ag_bail "batch: $AG_RC $AG_JSON $AG_OUT"
spoiled_once() { # BEFORE AFTER
	local got=() i n=0
	[ -z "$AG_JSON" ] || mapfile -t got <<<"$AG_JSON"
	[[ $AG_JSON != *'"valid":true'* ]] || echo "a forged or revoked token was valid"
	[ "$FI_MODE" = once ] || return 0
	for i in 0 1 2; do
		[ -n "${got[i]:-}" ] || continue # not answered: the process ended
		[ "${got[i]}" = "${BATCH_OK[i]}" ] || n=$((n + 1))
	done
	[ "$n" -le 1 ] || [ "$n" = 3 ] ||
		echo "$n answers spoiled by one fault: $(printf '%s ' "${got[@]}" | cut -c1-300)"
}
FI_CHECK=spoiled_once
fi_sweep "batch: verify of a forged token, then twice of a revoked one" allow helper \
	"$AG_TOKEN_BIN" batch "$PROBE" "same same same same"
FI_CHECK=
AG_NOW=$((AG_NOW + 3600))
fi_sweep "verify: expired token" deny helper "$AG_TOKEN_BIN" verify "$PROBE" "same same same same"

# A reuse (after any grace period) revokes the family, and never mints.
AG_NOW=$((AG_NOW + 120))
RT_IN=$RT1
fi_sweep "refresh: reuse of a redeemed refresh token" deny helper "$AG_TOKEN_BIN" refresh \
	"$PROBE" "ge same same ge"

# The successor redeemed exactly when a new token is stored, and an answer
# with a token only when both happened.
atomic() { # BEFORE AFTER
	local b a
	IFS='|' read -r -a b <<<"${1#ok }"
	IFS='|' read -r -a a <<<"${2#ok }"
	[ $((a[1] - b[1])) = $((a[2] - b[2])) ] ||
		echo "not atomic: tokens ${b[1]} -> ${a[1]}, redeemed ${b[2]} -> ${a[2]}"
	[ "$AG_RC" != 0 ] || [ $((a[1] - b[1])) = 1 ] ||
		echo "exit 0 without a stored successor (tokens ${b[1]} -> ${a[1]})"
}
FI_CHECK=atomic
RT_IN=$RT2
fi_sweep "refresh: fresh refresh token" allow helper "$AG_TOKEN_BIN" refresh \
	"$PROBE" "same inc01 inc01 same"
FI_CHECK=

fi_summary malloc open openat read fstat readdir fdopendir json_loadb json_pack json_dumpf \
	sqlite3_open_v2 sqlite3_prepare_v3 sqlite3_step sodium_init \
	PQconnectStartParams PQconnectPoll PQsetnonblocking PQsendQuery PQsendPrepare \
	PQsendQueryPrepared PQflush PQconsumeInput PQgetResult poll
ag_done
