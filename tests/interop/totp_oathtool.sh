#!/bin/sh
# TOTP agrees with oathtool (OATH Toolkit), an implementation nobody here
# wrote: random secrets of 16-64 bytes, random times up to the year 2514,
# 6 and 8 digits.  oathtool's codes are also accepted by ag_totp_verify
# (current, one step old), refused two steps later and refused as a replay.
# Skips (77) without oathtool.
set -eu
: "${top_builddir:=.}"
tool=$top_builddir/tests/interop/totp_tool

if ! command -v oathtool >/dev/null 2>&1; then
	echo "SKIP: oathtool not installed (apt-get install oathtool)"
	exit 77
fi

n=0 fail=0
report() { # OK? NAME DETAIL
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		echo "#   $3"
		fail=$((fail + 1))
	fi
}

# random non-negative integer below 2^34
rand_time() {
	set -- $(od -An -N5 -tu1 /dev/urandom)
	echo $(( (($1 & 3) << 32) + ($2 << 24) + ($3 << 16) + ($4 << 8) + $5 ))
}

# fixed points first: the RFC 6238 key
rfc=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
for t in 59 1111111109 1111111111 1234567890 2000000000 20000000000; do
	want=$(oathtool --totp -b -d 8 -N "@$t" "$rfc")
	got=$("$tool" code "$rfc" "$t" 8)
	[ "$got" = "$want" ] && ok=1 || ok=0
	report $ok "RFC 6238 key at T=$t: $got" "oathtool $want, ours $got"
done

mismatch=0 refused=0 old_refused=0 stale_ok=0 replay_ok=0 rounds=200
i=0
while [ $i -lt $rounds ]; do
	i=$((i + 1))
	bytes=$(( 16 + $(od -An -N1 -tu1 /dev/urandom) % 49 ))
	secret=$("$tool" secret "$bytes")
	t=$(rand_time)
	digits=6
	[ $((i % 2)) -eq 0 ] && digits=8
	want=$(oathtool --totp -b -d "$digits" -N "@$t" "$secret")
	got=$("$tool" code "$secret" "$t" "$digits")
	if [ "$got" != "$want" ]; then
		mismatch=$((mismatch + 1))
		echo "# mismatch: secret=$secret t=$t digits=$digits oathtool=$want ours=$got"
	fi
	step=$((t / 30))
	"$tool" verify "$secret" "$t" "$digits" "$want" >/dev/null || refused=$((refused + 1))
	# one step later the code is still inside the +-1 window
	"$tool" verify "$secret" $((t + 30)) "$digits" "$want" >/dev/null ||
		old_refused=$((old_refused + 1))
	# two steps later it is not
	if "$tool" verify "$secret" $((t + 60)) "$digits" "$want" >/dev/null; then
		stale_ok=$((stale_ok + 1))
	fi
	# once used, it is refused
	if "$tool" verify "$secret" "$t" "$digits" "$want" "$step" >/dev/null; then
		replay_ok=$((replay_ok + 1))
	fi
done
report $((mismatch == 0)) "$rounds random secrets and times: same codes as oathtool" \
	"$mismatch mismatches"
report $((refused == 0)) "oathtool's codes are accepted" "$refused refused"
report $((old_refused == 0)) "a code one step old is accepted (window 1)" \
	"$old_refused refused"
report $((stale_ok == 0)) "a code two steps old is refused" "$stale_ok accepted"
report $((replay_ok == 0)) "a used code is refused (replay)" "$replay_ok accepted"

# a typed code with a space in the middle
t=1700000000
want=$(oathtool --totp -b -N "@$t" "$rfc")
spaced="$(echo "$want" | cut -c1-3) $(echo "$want" | cut -c4-6)"
"$tool" verify "$rfc" "$t" 6 "$spaced" >/dev/null && ok=1 || ok=0
report $ok "oathtool's code typed as \"$spaced\" is accepted" "refused"

echo "1..$n"
[ $fail -eq 0 ]
