#!/bin/bash
# The web side of the brute-force guard: authguard-token guard
# check|failure|success -- its JSON and exit codes (0 allowed/recorded,
# 1 refused, 2 usage) -- and that PAM and the web share one policy and one
# state: an account or host locked through one is locked for the other.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

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
		ag_fail "$desc" "${bad[@]}" "json: $AG_JSON" "stderr: $AG_OUT"
	fi
}

ag_setup web "deny = 10" "host_deny = 20" "delay_base = 0"
s=alice@example.com
ip=198.51.100.20

ag_say "check, failure, success"
ag_run_token guard check --subject $s --ip $ip
ag_expect_eq "check on a fresh subject exits 0" 0 "$AG_RC"
expect_json "check: allowed, no reason, the attempt in flight counted" \
	allowed=true reason=null retry_after=0 locked_until=null failures=1 host_failures=1
attempt=$(ag_jget "$AG_JSON" attempt)
ag_expect_true "check returns a positive attempt id ($attempt)" \
	eval '[[ $attempt =~ ^[1-9][0-9]*$ ]]'
ag_expect_eq "check prints nothing on stderr" "" "$AG_OUT"
ag_expect_status "status: 1 failure pending" $s -- failures=1 pending=1 locked=false
ag_run_token guard failure --subject $s --ip $ip --attempt "$attempt"
ag_expect_eq "failure exits 0 (recorded)" 0 "$AG_RC"
expect_json "failure: no 'allowed', failures=1, no delay, no lock" \
	allowed='<missing>' reason=null retry_after=0 locked_until=null failures=1 host_failures=1
ag_expect_log "failure logged as event=auth_fail service=web" \
	"authguard-token.*event=auth_fail user=$s rhost=$ip service=web failures=1 host_failures=1 delay=0"
ag_expect_status "status: the attempt settled, still 1 failure" $s -- failures=1 pending=0

ag_run_token guard check --subject $s --ip $ip
attempt=$(ag_jget "$AG_JSON" attempt)
ag_run_token guard success --subject $s --ip $ip --attempt "$attempt"
ag_expect_eq "success exits 0" 0 "$AG_RC"
expect_json "success: allowed, no reason" allowed=true reason=null locked_until=null
ag_expect_log "success logged as event=success_reset failures=1" \
	"event=success_reset user=$s rhost=$ip service=web failures=1"
ag_expect_status "status after success: account count reset" $s -- failures=0 pending=0

ag_say "check then failure without --attempt counts once"
ag_run_token guard check --subject once@example.com --ip $ip
ag_run_token guard failure --subject once@example.com --ip $ip
ag_expect_eq "failure without --attempt exits 0" 0 "$AG_RC"
ag_expect_status "1 failure, none pending" once@example.com -- failures=1 pending=0
ag_run_token guard failure --subject once@example.com --ip $ip --attempt 123456789
ag_expect_status "a failure with an unknown attempt id is still counted" once@example.com -- \
	failures=2 pending=0

ag_say "locking an account through the web"
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_run_token guard check --subject $s --ip $ip
	attempt=$(ag_jget "$AG_JSON" attempt)
	ag_run_token guard failure --subject $s --ip $ip --attempt "$attempt"
done
ag_expect_eq "10th failure exits 0 (recorded)" 0 "$AG_RC"
expect_json "10th failure: locked for an hour" \
	failures=10 locked_until=$((AG_NOW + 3600)) retry_after=3600
ag_expect_log "event=lock scope=account service=web" \
	"event=lock scope=account user=$s rhost=$ip service=web failures=10 until=$((AG_NOW + 3600))"
ag_run_token guard check --subject $s --ip $ip
ag_expect_eq "check on the locked account exits 1" 1 "$AG_RC"
expect_json "check: refused, reason locked, retry in 3600 s, no attempt" \
	allowed=false reason=locked retry_after=3600 locked_until=$((AG_NOW + 3600)) \
	failures=10 attempt='<missing>'
ag_expect_eq "check explains the refusal on stderr, one line" \
	"authguard-token: refused: locked, retry in 60 minutes" "$AG_OUT"
ag_expect_log "the refusal is logged as event=auth_refused" \
	"event=auth_refused user=$s rhost=$ip service=web reason=locked scope=account"
ag_run_token guard success --subject $s --ip $ip
ag_expect_eq "success on the locked account exits 1" 1 "$AG_RC"
expect_json "success: refused, reason locked" allowed=false reason=locked
ag_expect_status "the refused success reset nothing" $s -- failures=10 locked=true

ag_say "... is locked for PAM too"
AG_RHOST=192.0.2.100
ag_attempt "PAM: right password for $s refused, not checked" $s "$AG_RIGHT" 1 0
ag_expect_log "PAM logs reason=locked scope=account" \
	"pam_authguard\\(web:auth\\): event=auth_refused user=$s .*reason=locked scope=account failures=10"
ag_attempt "PAM: account phase refused" $s - 1 0 acct_mgmt

ag_say "an account locked through PAM is locked for the web"
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_pam bob "$AG_WRONG"
done
ag_expect_log "PAM locked bob" 'event=lock scope=account user=bob '
ag_run_token guard check --subject bob --ip 203.0.113.200
ag_expect_eq "web check for bob exits 1" 1 "$AG_RC"
expect_json "web check for bob: reason locked" allowed=false reason=locked retry_after=3600 failures=10

ag_say "unlock lifts it for both"
ag_ctl unlock bob >/dev/null 2>&1
ag_run_token guard check --subject bob --ip 203.0.113.200
ag_expect_eq "web check for bob after unlock exits 0" 0 "$AG_RC"
ag_run_token guard success --subject bob --ip 203.0.113.200 --attempt "$(ag_jget "$AG_JSON" attempt)"
ag_attempt "PAM: bob's right password accepted after unlock" bob "$AG_RIGHT" 0 1

ag_say "host lock through the web, seen by PAM"
hip=198.51.100.30
for i in $(seq -w 1 20); do
	ag_run_token guard failure --subject "spray$i@example.com" --ip $hip
done
expect_json "20th failure from $hip: host locked" host_failures=20 failures=1 \
	locked_until=$((AG_NOW + 3600))
ag_expect_log "event=lock scope=host" "event=lock scope=host user=spray20@example.com rhost=$hip "
ag_run_token guard check --subject fresh@example.com --ip $hip
ag_expect_eq "web check from the locked host exits 1" 1 "$AG_RC"
expect_json "reason host_locked" allowed=false reason=host_locked retry_after=3600 host_failures=20
ag_run_token guard check --subject fresh@example.com --ip ::ffff:$hip
expect_json "the same from ::ffff:$hip" allowed=false reason=host_locked
ag_run_token guard check --subject fresh@example.com --ip 198.51.100.31
ag_expect_eq "web check from another address exits 0" 0 "$AG_RC"
AG_RHOST=$hip
ag_attempt "PAM from the locked host: refused, not checked" carol "$AG_RIGHT" 1 0
ag_expect_log "PAM logs reason=locked scope=host" 'event=auth_refused user=carol .*reason=locked scope=host'

ag_say "web 'root' is an ordinary subject (the root exemption is for PAM logins)"
for i in 1 2 3 4 5 6 7 8 9 10; do
	ag_run_token guard failure --subject root --ip 203.0.113.201
done
ag_run_token guard check --subject root --ip 203.0.113.202
ag_expect_eq "web check for root after 10 failures exits 1" 1 "$AG_RC"
expect_json "reason locked" reason=locked

ag_say "delays on the web (defaults)"
ag_setup webdelay # defaults
AG_NOW=$((AG_T0 + 100000))
ag_run_token guard failure --subject dan@example.com --ip 198.51.100.40
expect_json "first failure: retry_after 1" failures=1 retry_after=1 locked_until=null
ag_run_token guard check --subject dan@example.com --ip 198.51.100.41
ag_expect_eq "check at once exits 1" 1 "$AG_RC"
expect_json "reason too_early, retry_after 1" allowed=false reason=too_early retry_after=1
ag_expect_eq "stderr says so" "authguard-token: refused: too_early, retry in 1 second" "$AG_OUT"
ag_run_token guard check --subject erin@example.com --ip 198.51.100.40
ag_expect_eq "another subject from the same address at once exits 1" 1 "$AG_RC"
expect_json "reason host_too_early" allowed=false reason=host_too_early retry_after=1
AG_NOW=$((AG_T0 + 100001))
ag_run_token guard check --subject dan@example.com --ip 198.51.100.40
ag_expect_eq "check after 1 s exits 0" 0 "$AG_RC"
attempt=$(ag_jget "$AG_JSON" attempt)
ag_run_token guard failure --subject dan@example.com --ip 198.51.100.40 --attempt "$attempt"
expect_json "second failure: retry_after 2" failures=2 retry_after=2
AG_NOW=$((AG_T0 + 100002))
ag_run_token guard check --subject dan@example.com --ip 198.51.100.40
expect_json "1 s later: still too early, retry_after 1" allowed=false reason=too_early retry_after=1

ag_say "usage errors exit 2"
usage() { # DESC ARGS...
	local d=$1
	shift
	ag_run_token "$@"
	ag_expect_eq "$d: exit 2" 2 "$AG_RC"
	ag_expect_eq "$d: nothing on stdout" "" "$AG_JSON"
}
usage "no --subject" guard check --ip 198.51.100.50
usage "empty --subject" guard check --subject ''
usage "unknown operation" guard frobnicate --subject x
usage "--ip not an address" guard check --subject x --ip not-an-address
usage "--attempt 0" guard failure --subject x --attempt 0
usage "--attempt not a number" guard failure --subject x --attempt 12abc
usage "extra argument" guard check --subject x extra
usage "unknown command" frobnicate

ag_expect_log_clean

ag_done
