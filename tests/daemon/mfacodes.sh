#!/bin/bash
# Verification codes that cannot be codes, through authguardd: the module
# sends what the user typed to the daemon (pam_mfa_verify), and whatever
# it is -- empty, longer than the protocol's 255 bytes, not UTF-8, cut in
# the middle of a character -- the daemon refuses it as malformed and
# counts it as a failed login, exactly as the module does without the
# daemon; nothing is left pending and no error is logged instead.  (They
# used to be refused by the protocol itself: the module then denied with
# an error, counted no failure and left the attempt in flight.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
AG_DAEMON=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/pam/lib.sh"

[ "$(id -u)" = 0 ] || ag_skip "needs root (the PAM operations for another account)"
command -v oathtool >/dev/null 2>&1 || ag_skip "oathtool is not installed"
ag_init
ag_mfa_setup mfacodes "delay_base = 0"
ag_enroll xena || ag_bail "enrollment failed"
AG_NOW=$((AG_NOW + 30))

n=0
hostile() { # DESC CODE
	n=$((n + 1))
	ag_mfa_attempt "$1: refused" xena "$AG_RIGHT" "$2" 1 1
	ag_expect_log "$1: counted as failure $n" "event=auth_fail user=xena .*failures=$n( |$)"
	ag_expect_log "$1: logged as reason=malformed" "event=mfa_fail user=xena reason=malformed"
	ag_expect_no_log "$1: no error instead" "event=error"
}
hostile "an empty line" ""
hostile "256 digits (over the protocol's 255 bytes)" "$(head -c 256 /dev/zero | tr '\0' 7)"
hostile "a 100 KiB line of digits" "$(head -c 102400 /dev/zero | tr '\0' 7)"
hostile "bytes that are not UTF-8" $'12\xff\xfe56'
hostile "254 letters and a 2-byte character cut by the 255-byte bound" \
	"$(head -c 254 /dev/zero | tr '\0' a)"$'\xc3\xa9'
ag_expect_status "status: $n failures, nothing pending" xena -- failures=$n pending=0 locked=false
ag_mfa_attempt "the right code is still accepted" xena "$AG_RIGHT" "$(ag_totp "$AG_SECRET")" 0 1
ag_done
