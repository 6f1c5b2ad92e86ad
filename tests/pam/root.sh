#!/bin/bash
# root (uid 0, under any name) is counted but never locked or delayed by
# default, as with pam_faillock; even_deny_root = yes locks it like any
# other account.  Whether a login name other than "root" has uid 0 is
# looked up in NSS only when an attempt would be refused or lock, and
# never while the state's write lock is held (tests/lib/nss_probe.so
# records the lock at every lookup; with PostgreSQL, whether a transaction
# of the programs' connection is open in the server): a slow directory
# must not hold up everyone else's logins.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

ag_say "defaults: root, 11 wrong passwords at the same instant, locally"
ag_setup root # defaults (deny 10, delays on)
AG_RHOST=
for i in $(seq 1 11); do
	ag_attempt "root: wrong password $i reaches the password check" root "$AG_WRONG" 1 1
done
ag_expect_log "failures are counted for root, marked exempt, with no delay" \
	'event=auth_fail user=root service=root failures=11 delay=0 exempt=root'
ag_expect_eq "no event=lock for root" 0 "$(grep -c 'event=lock' "$AG_LOG")"
ag_expect_status "status: root has 11 failures but is not locked" root -- \
	failures=11 locked=false locked_until=null
ag_attempt "root: account phase allowed" root - 0 0 acct_mgmt
ag_attempt "root: right password after 11 failures: accepted" root "$AG_RIGHT" 0 1 \
	authenticate acct_mgmt
ag_expect_log "the success resets root's count" 'event=success_reset user=root .*failures=11'

ag_say "defaults: root from a remote host (delay_base 0 so the host's delay stays out)"
ag_setup rootremote "delay_base = 0"
AG_RHOST=192.0.2.60
ag_reset_count
for i in $(seq 1 11); do
	ag_pam root "$AG_WRONG"
done
ag_expect_eq "11 wrong passwords from 192.0.2.60 all reached the check" 11 "$(ag_count)"
ag_expect_status "the host still counts root's failures" --ip 192.0.2.60 -- failures=11
ag_attempt "root: right password from 192.0.2.60 after 11 failures: accepted" root "$AG_RIGHT" 0 1

ag_say "even_deny_root = yes"
ag_setup rootdeny "even_deny_root = yes" "delay_base = 0"
AG_RHOST=192.0.2.61
ag_reset_count
for i in $(seq 1 10); do
	ag_pam root "$AG_WRONG"
done
ag_expect_eq "10 wrong passwords reached the check" 10 "$(ag_count)"
ag_expect_log "root is locked at the 10th failure" \
	"event=lock scope=account user=root rhost=192\.0\.2\.61 .*failures=10 until=$((AG_NOW + 3600))"
ag_attempt "root: right password refused, not checked" root "$AG_RIGHT" 1 0
ag_expect_log "refusal logged with reason=locked" 'event=auth_refused user=root .*reason=locked scope=account'
ag_attempt "root: account phase refused" root - 1 0 acct_mgmt
ag_expect_status "status: root locked" root -- failures=10 locked=true
AG_NOW=$((AG_T0 + 3600))
ag_attempt "root: right password accepted once the lock has run out" root "$AG_RIGHT" 0 1

if [ -f "$NSS_WRAPPER_LIB" ]; then
	ag_say "uid 0 under another name (toor, through nss_wrapper)"
	printf 'root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0:root alias:/root:/bin/bash\nplain:x:61235:61235::/nonexistent:/bin/false\n' >"$AG_TMP/passwd"
	printf 'root:x:0:\nplain:x:61235:\n' >"$AG_TMP/group"
	chmod 644 "$AG_TMP/passwd" "$AG_TMP/group"
	AG_PRELOAD_TEST=$NSS_WRAPPER_LIB
	AG_ENV=(NSS_WRAPPER_PASSWD="$AG_TMP/passwd" NSS_WRAPPER_GROUP="$AG_TMP/group")
	ag_setup toor "delay_base = 0"
	PROBE=$top_builddir/tests/lib/.libs/nss_probe.so
	[ -f "$PROBE" ] || ag_bail "NSS probe not built: $PROBE (make check builds it)"
	AG_PRELOAD_TEST=$PROBE:$NSS_WRAPPER_LIB
	AG_ENV+=(AG_NSS_PROBE_LOG="$AG_TMP/lookups" AG_NSS_PROBE_DB="$AG_DB")
	if [ "$AG_STORE" = postgresql ]; then
		# the server's view: a transaction of the programs' connection
		# (application_name authguard) is open on this script's database
		# (the pass runs other scripts at the same time, each on its own)
		cat >"$AG_TMP/txn-open.sh" <<-EOF
		#!/bin/sh
		unset LD_PRELOAD
		exec '$AG_PSQL' -X -q -At -h '$AG_PGC_DIR' -p '$AG_PGC_PORT' -U postgres -d '$ag_pgdb' -c \
		  "SELECT (count(*) > 0)::int FROM pg_stat_activity
		   WHERE application_name = 'authguard' AND xact_start IS NOT NULL
		     AND datname = current_database()"
		EOF
		chmod 755 "$AG_TMP/txn-open.sh"
		AG_ENV+=(AG_NSS_PROBE_CMD="$AG_TMP/txn-open.sh")
		# the probe's query sees such a transaction, and only then
		{ printf 'BEGIN; SELECT 1;\n'; sleep 2; printf 'COMMIT;\n'; } |
			PGAPPNAME=authguard "$AG_PSQL" -X -q -At -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" -U postgres \
			-d "$ag_pgdb" >/dev/null 2>&1 &
		sleep 1
		ag_expect_eq "the probe's query sees an open transaction of application authguard" 1 \
			"$("$AG_TMP/txn-open.sh" 2>&1)"
		wait
		ag_expect_eq "... and none once it ended" 0 "$("$AG_TMP/txn-open.sh" 2>&1)"
	fi
	: >"$AG_TMP/lookups"
	chmod 666 "$AG_TMP/lookups"
	# Daemon mode: the lookups and the transactions are the daemon's; it
	# runs with the probe too.
	ag_daemon_restart
	AG_NOW=$((AG_T0 + 10000))
	AG_RHOST=192.0.2.62
	for i in $(seq 1 11); do
		ag_pam toor "$AG_WRONG"
	done
	ag_expect_log "toor's failures are marked exempt=root" 'event=auth_fail user=toor .*failures=11 .*exempt=root'
	ag_attempt "toor (uid 0): right password after 11 failures: accepted" toor "$AG_RIGHT" 0 1
	for i in $(seq 1 10); do
		ag_pam plain "$AG_WRONG"
	done
	ag_attempt "plain (uid 61235): locked after 10 failures" plain "$AG_RIGHT" 1 0
	ag_pam plain - acct_mgmt
	ag_expect_eq "plain: account phase refused" 1 "$AG_RC"
	# the lookups: toor at its 10th failure (the lock it would take), at
	# its 11th attempt (a full window refuses) and at the right password;
	# plain at its 10th failure, at the right password and in the
	# account phase
	ag_expect_true "user lookups were made and recorded (toor)" \
		[ "$(grep -c ' toor$' "$AG_TMP/lookups")" -ge 1 ]
	ag_expect_true "user lookups were made and recorded (plain)" \
		[ "$(grep -c ' plain$' "$AG_TMP/lookups")" -ge 1 ]
	ag_expect_eq "no user lookup ran while the state's write lock (PostgreSQL: a transaction) was held" "" \
		"$(grep '^locked ' "$AG_TMP/lookups" | sort | uniq -c | tr '\n' ';')"
	AG_PRELOAD_TEST=
	AG_ENV=()
else
	ag_say "nss_wrapper not found: the uid-0-alias check is not run"
fi

ag_done
