#!/bin/bash
# Fault injection into the real PAM module (pamtester + pam_wrapper): every
# library call the module and its state service make -- allocations, file
# and directory calls, SQLite (or libpq, with AG_STORE=postgresql),
# libsodium, getpwnam_r -- is failed in turn
# (tests/fault/lib.sh), and no fault may turn a refusal into a login,
# crash, or damage the state:
#
#   deny:  a wrong password; the right password on a locked account, and
#          its account phase (all a key-based ssh login meets); the right
#          password during a progressive delay; the right password with a
#          wrong verification code, and with a replayed one;
#   allow: the right password on a fresh account; the right password and
#          code -- a fault may refuse these, but with one event=error line.
#
# State rules: the failure counters of the account and of the host are
# unchanged or one higher (an attempt is counted atomically or not at all),
# a lock is kept, the last accepted TOTP step is never lost.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
. "$top_srcdir/tests/fault/lib.sh"
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool not installed (apt-get install oathtool)"
ag_init
fi_init

AG_RHOST=192.0.2.80
USER_=alice
# The calls of the module and of the state service it loads (the guard,
# the code check and the store run there) are the ones failed in turn.
OBJ=$AG_MODULE:$AG_SERVICE_MODULE

# probe USER [MORE]: account failures | host failures | account lock [| MORE]
probe() {
	printf "SELECT (SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id
		WHERE s.kind = 1 AND s.name = '%s'),
	(SELECT count(*) FROM failure f JOIN subject s ON s.id = f.subject_id
		WHERE s.kind = 2 AND s.name = '%s'),
	(SELECT coalesce(max(locked_until), 0) FROM subject WHERE kind = 1 AND name = '%s')%s;" \
		"$1" "$AG_RHOST" "$1" "${2:+, $2}"
}
# the last accepted TOTP step of alice
STEP="(SELECT coalesce(max(last_step), -1) FROM mfa WHERE account = 'alice')"

pw() { ag_pam "$USER_" "$PW"; }
mfa() { ag_pam_mfa "$USER_" "$PW" "$CODE"; }

ag_say "password stack: preauth / password / authfail / authsucc"
ag_setup pw "delay_base = 0"
for _ in 1 2 3; do ag_pam alice "$AG_WRONG"; done
fi_snapshot
PW=$AG_WRONG
fi_sweep "wrong password (3 failures before)" deny pam "$OBJ" pw \
	"$(probe alice)" "inc01 inc01 same"
USER_=bob PW=$AG_RIGHT
fi_sweep "right password, fresh account" allow pam "$OBJ" pw \
	"$(probe bob)" "inc01 inc01 same"
USER_=alice

ag_setup locked "delay_base = 0" "host_deny = 0"
for _ in $(seq 10); do ag_pam alice "$AG_WRONG"; done
ag_attempt "locked: the 11th attempt, right password, is refused" alice "$AG_RIGHT" 1 0
fi_snapshot
PW=$AG_RIGHT
fi_sweep "right password on a locked account" deny pam "$OBJ" pw \
	"$(probe alice)" "inc01 inc01 same"
# The only check of a key-based ssh login.
account() { ag_pam alice - acct_mgmt; }
fi_sweep "account phase of a locked account" deny pam "$OBJ" account \
	"$(probe alice)" "same same same"

ag_setup delay "delay_base = 8s" "delay_max = 16s" "host_deny = 0"
ag_pam alice "$AG_WRONG"
ag_pam alice "$AG_WRONG"
ag_attempt "delay: the right password right after two failures is refused" alice "$AG_RIGHT" 1 0
fi_snapshot
fi_sweep "right password within a progressive delay" deny pam "$OBJ" pw \
	"$(probe alice)" "inc01 inc01 same"

ag_say "verification-code stack: preauth / password / pwok / totp / authsucc"
ag_mfa_setup totp "delay_base = 0" "host_deny = 0"
ag_enroll alice || ag_bail "enrollment failed"
AG_NOW=$((AG_NOW + 30))
fi_snapshot
CODE=$(ag_wrong_code "$AG_SECRET") || ag_bail "no wrong code found"
fi_sweep "right password, wrong code" deny pam "$OBJ" mfa \
	"$(probe alice "$STEP")" "inc01 inc01 same same"
CODE=$(ag_totp "$AG_SECRET")
fi_sweep "right password, right code" allow pam "$OBJ" mfa \
	"$(probe alice "$STEP")" "inc01 inc01 same ge"
ag_mfa_attempt "the code is accepted once" alice "$AG_RIGHT" "$CODE" 0 1
fi_snapshot
fi_sweep "right password, replayed code" deny pam "$OBJ" mfa \
	"$(probe alice "$STEP")" "inc01 inc01 same same"

fi_summary malloc calloc open read fstat lstat sqlite3_open_v2 sqlite3_prepare_v2 \
	sqlite3_prepare_v3 sqlite3_step sqlite3_exec sodium_init \
	PQconnectStartParams PQconnectPoll PQsetnonblocking PQsendQuery PQsendPrepare \
	PQsendQueryPrepared PQflush PQconsumeInput PQgetResult poll
ag_done
