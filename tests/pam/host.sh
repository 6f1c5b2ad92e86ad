#!/bin/bash
# Per-host lockout: failures spread over many accounts from one remote host
# lock that host (host_deny) for every account, while other hosts and the
# accounts themselves are unaffected.  IPv4-mapped IPv6 counts as the IPv4
# host, IPv6 hosts are grouped by their /64, and host_allow exempts hosts.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

ag_setup host "deny = 10" "host_deny = 20" "delay_base = 0"

# fail_from HOST FIRST LAST PREFIX: one wrong password each for the accounts
# PREFIX<FIRST>..PREFIX<LAST> from HOST; sets checked to how many reached
# the password check.
fail_from() {
	local i before mark
	AG_RHOST=$1
	before=$(ag_count)
	mark=$(ag_log_lines)
	for i in $(seq -w "$2" "$3"); do
		ag_pam "$4$i" "$AG_WRONG"
		[ "$AG_RC" = 1 ] || ag_fail "wrong password for $4$i from $1 exits 1" "got $AG_RC: $AG_OUT"
	done
	checked=$(($(ag_count) - before))
	AG_LOG_MARK=$mark # ag_expect_log and ag_expect_no_log look at all of them
}

ag_say "IPv4: 20 accounts, one failure each, from 198.51.100.7"
fail_from 198.51.100.7 1 19 u
ag_expect_eq "19 failures from 198.51.100.7 all reached the password check" 19 "$checked"
ag_expect_no_log "no host lock after 19" 'event=lock'
ag_expect_status "status --ip after 19: not locked" --ip 198.51.100.7 -- \
	kind=host subject=198.51.100.7 failures=19 locked=false
fail_from 198.51.100.7 20 20 u
ag_expect_log "the 20th failure locks the host" \
	"event=lock scope=host user=u20 rhost=198\.51\.100\.7 .*failures=20 until=$((AG_NOW + 3600))( |$)"
ag_expect_no_log "no account is locked" 'event=lock scope=account'
ag_expect_status "status --ip: host locked for 1 hour, 20 failures" --ip 198.51.100.7 -- \
	kind=host subject=198.51.100.7 failures=20 pending=0 locked=true \
	locked_until=$((AG_NOW + 3600)) retry_after=3600 last_source=u20
ag_expect_status "each account has 1 failure and is not locked" u05 -- \
	kind=account failures=1 locked=false last_source=198.51.100.7

ag_say "another account from the locked host, and from elsewhere"
AG_RHOST=198.51.100.7
ag_attempt "newbie, right password, from the locked host: refused, not checked" newbie "$AG_RIGHT" 1 0
ag_expect_log "logged as auth_refused reason=locked scope=host" \
	"event=auth_refused user=newbie rhost=198\.51\.100\.7 .*reason=locked scope=host failures=20 retry_after=3600"
ag_expect_out "the user is told about the address" \
	'Too many failed logins from your address; try again in 60 minutes'
ag_expect_status "the refused attempt left nothing on newbie's account" newbie -- failures=0 locked=false
AG_RHOST=::ffff:198.51.100.7
ag_attempt "from ::ffff:198.51.100.7 (IPv4-mapped): refused as the same host" newbie "$AG_RIGHT" 1 0
ag_expect_log "logged with host=198.51.100.7 scope=host" \
	"event=auth_refused user=newbie rhost=::ffff:198\.51\.100\.7 host=198\.51\.100\.7 .*reason=locked scope=host"
ag_expect_status "status --ip ::ffff:198.51.100.7 shows the IPv4 host" --ip ::ffff:198.51.100.7 -- \
	subject=198.51.100.7 locked=true
AG_RHOST=198.51.100.8
ag_attempt "newbie, right password, from 198.51.100.8: accepted" newbie "$AG_RIGHT" 0 1 \
	authenticate acct_mgmt
AG_RHOST=
ag_attempt "newbie, right password, locally (no PAM_RHOST): accepted" newbie "$AG_RIGHT" 0 1
AG_RHOST=198.51.100.7
# A host lock stops password guessing, not logins authenticated otherwise
# (lib/guard.h): the account phase only looks at the account.
ag_attempt "account phase for newbie from the locked host: allowed" newbie - 0 0 acct_mgmt

ag_say "the host lock runs out after host_lock_time"
AG_NOW=$((AG_T0 + 3599))
ag_attempt "1 s before the end: still refused" newbie "$AG_RIGHT" 1 0
AG_NOW=$((AG_T0 + 3600))
ag_attempt "at host_lock_time: accepted from 198.51.100.7" newbie "$AG_RIGHT" 0 1
ag_expect_status "status --ip: host no longer locked, failures cleared" --ip 198.51.100.7 -- \
	failures=0 locked=false

ag_say "IPv6: 10 failures each from 2001:db8:1:2::a and 2001:db8:1:2::b (one /64)"
AG_NOW=$((AG_T0 + 10000))
fail_from 2001:db8:1:2::a 1 10 v
fail_from 2001:db8:1:2::b 11 19 v
ag_expect_no_log "no lock after 19" 'event=lock'
ag_expect_status "status --ip 2001:db8:1:2::1234: the /64 has 19 failures" --ip 2001:db8:1:2::1234 -- \
	kind=host subject=2001:db8:1:2::/64 failures=19 locked=false
fail_from 2001:db8:1:2::b 20 20 v
ag_expect_log "the 20th failure in the /64 locks it" \
	"event=lock scope=host user=v20 rhost=2001:db8:1:2::b host=2001:db8:1:2::/64 .*failures=20"
AG_RHOST=2001:db8:1:2:ffff:ffff:ffff:ffff
ag_attempt "newbie from another address in that /64: refused" newbie "$AG_RIGHT" 1 0
ag_expect_log "logged with host=2001:db8:1:2::/64 scope=host" \
	"event=auth_refused user=newbie .*host=2001:db8:1:2::/64 .*reason=locked scope=host"
AG_RHOST='[2001:db8:1:2::c]'
ag_attempt "newbie from [2001:db8:1:2::c] (bracketed): refused" newbie "$AG_RIGHT" 1 0
AG_RHOST=2001:db8:1:3::a
ag_attempt "newbie from the next /64 (2001:db8:1:3::a): accepted" newbie "$AG_RIGHT" 0 1

ag_say "authguard-ctl unlock --ip lifts a host lock (IPv6: the whole /64)"
ag_run_ctl unlock --ip 2001:db8:1:2::77
ag_expect_eq "unlock --ip exits 0" 0 "$AG_RC"
ag_expect_eq "unlock --ip reports the normalised host" "host 2001:db8:1:2::/64: unlocked, failures cleared" "$AG_JSON"
ag_expect_log "event=admin_unlock scope=host host=2001:db8:1:2::/64" \
	'event=admin_unlock scope=host host=2001:db8:1:2::/64 uid=[0-9]+ had_state=1'
AG_RHOST=2001:db8:1:2::a
ag_attempt "newbie from 2001:db8:1:2::a after the unlock: accepted" newbie "$AG_RIGHT" 0 1
ag_run_ctl unlock --ip not-an-address
ag_expect_eq "unlock --ip with a non-address: usage error (2)" 2 "$AG_RC"

ag_say "host_allow exempts a network from host counting"
ag_setup allow "deny = 10" "host_deny = 20" "delay_base = 0" \
	"host_allow = 203.0.113.0/24, 2001:db8:ffff::/48"
AG_NOW=$((AG_T0 + 20000))
fail_from 203.0.113.5 1 25 w
ag_expect_eq "25 failures from the allow-listed 203.0.113.5 all reached the check" 25 "$checked"
ag_expect_no_log "no host lock for an allow-listed host" 'event=lock scope=host'
ag_expect_no_log "no host_failures field for an allow-listed host" 'host_failures='
ag_expect_status "status --ip 203.0.113.5: nothing recorded" --ip 203.0.113.5 -- failures=0 locked=false
AG_RHOST=203.0.113.5
ag_attempt "newbie, right password, from 203.0.113.5: accepted" newbie "$AG_RIGHT" 0 1
AG_RHOST=::ffff:203.0.113.5
ag_attempt "newbie from ::ffff:203.0.113.5 (mapped form): accepted" newbie "$AG_RIGHT" 0 1
fail_from 2001:db8:ffff:1::9 1 25 x
ag_expect_no_log "no lock for 25 failures from the allow-listed IPv6 network" 'event=lock scope=host'
ag_expect_status "status --ip 2001:db8:ffff:1::9: nothing recorded" --ip 2001:db8:ffff:1::9 -- failures=0
fail_from 203.0.114.5 1 1 y
ag_expect_status "203.0.114.5, outside the list, is counted" --ip 203.0.114.5 -- failures=1

ag_say "accounts still lock from an allow-listed host"
AG_RHOST=203.0.113.5
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam zoe "$AG_WRONG"
done
ag_expect_log "zoe locked after 10 failures from 203.0.113.5" 'event=lock scope=account user=zoe '
ag_attempt "zoe's right password refused" zoe "$AG_RIGHT" 1 0

ag_done
