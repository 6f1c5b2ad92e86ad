#!/bin/bash
# The configuration file, as authguard-ctl check-config, the other helpers
# and the PAM module see it:
#
#  - a key set on many lines (3,000 deny lines): the last line applies, and
#    check-config warns (exit 0), naming the file, the lines and the key;
#    other authguard-ctl commands say it on stderr; the module logs
#    event=config_warning once per login and goes on;
#  - a configuration under a directory others may write (no sticky bit) is
#    refused like an unsafe state directory: check-config and every helper
#    exit 2 naming the directory, the module denies every login without
#    checking a password; under a sticky 1777 directory (as /tmp) it loads.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"
ag_init

ag_setup cc "delay_base = 0"
GOOD_CONF=$AG_CONF

ag_say "a key set on 3000 lines"
first=$(($(wc -l <"$AG_CONF") + 1))
for i in $(seq 1 2999); do printf 'deny = %d\n' "$((i + 100))"; done >>"$AG_CONF"
printf 'deny = 2\n' >>"$AG_CONF"
ag_daemon_restart # (daemon mode: its daemon reads the file again)
last=$(wc -l <"$AG_CONF")
WARN="$AG_CONF:$last: deny: set on 3000 lines (also lines $first, $((first + 1)), $((first + 2)), $((first + 3)), $((first + 4)), $((first + 5)), $((first + 6)), $((first + 7)) and 2991 more); the last one applies"

ag_run_ctl check-config
ag_expect_eq "check-config exits 0" 0 "$AG_RC"
ag_expect_out "...nothing on stderr" '^$'
ag_expect_eq "...says the file loaded with 1 warning" 1 \
	"$(grep -cxF "config $AG_CONF: ok, with 1 warning" <<<"$AG_JSON")"
ag_expect_eq "...and names the file, the lines and the key" 1 \
	"$(grep -cxF "config warning: $WARN" <<<"$AG_JSON")"
ag_expect_eq "...the policy in force is the last line's" 1 \
	"$(grep -c '^policy: deny=2 ' <<<"$AG_JSON")"

ag_run_ctl status
ag_expect_eq "status exits 0 and says it on stderr" "0 authguard-ctl: warning: $WARN" "$AG_RC $AG_OUT"

ag_attempt "a PAM attempt still runs (wrong password, checked)" alice "$AG_WRONG" 1 1
ag_expect_log "the module logs the warning" "event=config_warning: $(printf '%s' "$WARN" | sed 's/[][().*^$]/\\&/g')"
ag_expect_eq "...once for the whole login" 1 "$(ag_log_last | grep -c 'event=config_warning')"
ag_attempt "the last deny line applies: the 2nd failure locks" alice "$AG_WRONG" 1 1
ag_attempt "...so the right password is refused unchecked" alice "$AG_RIGHT" 1 0

ag_say "a configuration file under a directory others may write"
mkdir "$AG_TMP/ww"
cp "$GOOD_CONF" "$AG_TMP/ww/authguard.conf"
chmod 644 "$AG_TMP/ww/authguard.conf"
chmod 0777 "$AG_TMP/ww"
AG_CONF=$AG_TMP/ww/authguard.conf
ag_run_ctl check-config
ag_expect_eq "check-config refuses it: exit 2" 2 "$AG_RC"
ag_expect_out "...naming the file and the directory" \
	"^authguard-ctl: $AG_CONF: has a parent directory writable by group or others \\($AG_TMP/ww\\)\$"
ag_run_token guard check --subject bob --ip 192.0.2.20
ag_expect_eq "authguard-token refuses it too: exit 2" "2 " "$AG_RC $AG_JSON"

ag_service ww "$AG_CONF"
AG_SVC=ww
ag_attempt "the module denies the right password, unchecked" bob "$AG_RIGHT" 1 0
ag_expect_log "...and logs why" "event=error .*$AG_TMP/ww/authguard.conf: has a parent directory writable by group or others"

chmod 0775 "$AG_TMP/ww"
ag_run_ctl check-config
ag_expect_eq "group-writable directory: check-config exit 2" 2 "$AG_RC"

chmod 1777 "$AG_TMP/ww"
ag_run_ctl check-config
ag_expect_eq "sticky 1777 directory (as /tmp): check-config exit 0" 0 "$AG_RC"
ag_attempt "...and the module accepts the right password" bob "$AG_RIGHT" 0 1

chmod 0755 "$AG_TMP/ww"
ag_run_ctl check-config
ag_expect_eq "0755 directory: check-config exit 0" 0 "$AG_RC"

ag_done
