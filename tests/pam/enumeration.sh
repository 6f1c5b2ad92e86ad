#!/bin/bash
# No user enumeration: an account that does not exist goes through exactly
# the same sequence of outcomes as one that does -- same pamtester output,
# same exit codes, same password checks, same log events and fields, same
# status -- across wrong attempts, too-early attempts, the lock, the refused
# right password, the account phase and the end of the lock.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

ghost=agghost
if [ -f "$NSS_WRAPPER_LIB" ]; then
	known=agknown
	printf '%s:x:61234:61234:known test user:/nonexistent:/bin/false\n' "$known" >"$AG_TMP/passwd"
	printf '%s:x:61234:\n' "$known" >"$AG_TMP/group"
	chmod 644 "$AG_TMP/passwd" "$AG_TMP/group"
	AG_PRELOAD_TEST=$NSS_WRAPPER_LIB
	AG_ENV=(NSS_WRAPPER_PASSWD="$AG_TMP/passwd" NSS_WRAPPER_GROUP="$AG_TMP/group")
	lookup() { env LD_PRELOAD="$NSS_WRAPPER_LIB" "${AG_ENV[@]}" getent passwd "$1"; }
	ag_say "known account: $known (through nss_wrapper); unknown: $ghost"
else
	known=daemon
	lookup() { getent passwd "$1"; }
	ag_say "nss_wrapper not found: known account is the system's $known; unknown: $ghost"
fi
ag_expect_true "$known resolves through NSS" eval 'lookup $known >/dev/null'
ag_expect_true "$ghost does not resolve" eval '! lookup $ghost >/dev/null'

ag_setup enum # defaults: delays and lockout as shipped

# Normalised record of one attempt: exit code, password checks, output and
# the log lines with the account name and the host replaced.
record() { # USER RHOST BEFORE
	printf 'rc=%s checks=%s\n' "$AG_RC" "$(($(ag_count) - $3))"
	# pam_wrapper's own complaints about its /tmp/pam.X directory come
	# from the test harness, not from the module: not part of the record.
	printf 'out=%s\n' "$(printf '%s\n' "$AG_OUT" | grep -v '^PWRAP_ERROR' || true)"
	ag_log_last | sed -e "s/user=$1\\b/user=USER/g" -e "s/rhost=$2\\b/rhost=RHOST/g" \
		-e "s/last_source=$1\\b/last_source=USER/g"
}

status_record() { # USER RHOST
	ag_status "$1"
	ag_python -c '
import json, sys
d = json.loads(sys.argv[1])
d.pop("subject")
if d.get("last_source") == sys.argv[2]:
    d["last_source"] = "RHOST"
print(json.dumps(d, sort_keys=True))' "$AG_JSON" "$2"
}

# step OFFSET PASSWORD OPERATION...: the same attempt at t0+OFFSET for the
# known account from 192.0.2.41 and the unknown one from 192.0.2.42.
nstep=0
step() {
	local off=$1 pw=$2 before a b sa sb
	shift 2
	nstep=$((nstep + 1))
	AG_NOW=$((AG_T0 + off))

	AG_RHOST=192.0.2.41
	before=$(ag_count)
	ag_pam $known "$pw" "$@"
	a=$(record $known 192\\.0\\.2\\.41 "$before")
	AG_RHOST=192.0.2.42
	before=$(ag_count)
	ag_pam $ghost "$pw" "$@"
	b=$(record $ghost 192\\.0\\.2\\.42 "$before")
	sa=$(status_record $known 192.0.2.41)
	sb=$(status_record $ghost 192.0.2.42)

	local what="step $nstep at t0+$off:"
	case $pw in
	"$AG_RIGHT") what="$what right password," ;;
	"$AG_WRONG") what="$what wrong password," ;;
	esac
	what="$what ${*:-authenticate}"
	if [ "$a" = "$b" ]; then
		ag_pass "$what: same outcome ($(printf '%s' "$a" | head -n 1))"
	else
		ag_fail "$what: same outcome for $known and $ghost" \
			"$known: $(printf '%s' "$a" | tr '\n' '|')" "$ghost: $(printf '%s' "$b" | tr '\n' '|')"
	fi
	ag_expect_eq "$what: same status" "$sa" "$sb"
	last=$a
}

ag_say "wrong passwords, each after its delay, with too-early attempts between"
step 0 "$AG_WRONG"
step 0 "$AG_RIGHT"      # too early
step 1 "$AG_WRONG"
step 2 "$AG_WRONG"      # too early (delay 2)
step 3 "$AG_WRONG"
step 7 "$AG_WRONG"
step 10 "$AG_RIGHT"     # too early (delay 8)
step 15 "$AG_WRONG"
step 31 "$AG_WRONG"
step 47 "$AG_WRONG"
step 63 "$AG_WRONG"
step 79 "$AG_WRONG"
step 95 "$AG_WRONG"
ag_expect_true "the 10th failure locked both (event=lock in the record)" \
	eval 'grep -q "event=lock scope=account user=USER" <<<"$last"'
ag_say "locked"
step 111 "$AG_RIGHT"
ag_expect_true "the right password was refused as locked" \
	eval 'grep -q "rc=1 checks=0" <<<"$last"'
step 112 - acct_mgmt
step 200 "$AG_WRONG"
ag_say "after the lock"
step 3695 "$AG_RIGHT" authenticate acct_mgmt
ag_expect_true "the right password works again for both" \
	eval 'grep -q "rc=0 checks=1" <<<"$last"'

ag_done
