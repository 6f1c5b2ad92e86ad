#!/bin/sh
# The QR codes scan: key URIs rendered by lib/qr as PNG, as SVG (rasterised
# by rsvg-convert) and as terminal text (all four modes, turned into an
# image as a terminal would show them) are decoded by zbarimg, a decoder
# nobody here wrote, to exactly the URI.  Skips (77) without zbarimg.
set -eu
: "${top_builddir:=.}" "${top_srcdir:=.}"
tool=$top_builddir/tests/interop/qr_tool
text2png=$top_srcdir/tests/interop/text2png.py

if ! command -v zbarimg >/dev/null 2>&1; then
	echo "SKIP: zbarimg not installed (apt-get install zbar-tools)"
	exit 77
fi
have_rsvg=yes
command -v rsvg-convert >/dev/null 2>&1 || have_rsvg=no
python=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1; then python=$p; break; fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qr_zbarimg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0 fail=0

check() { # NAME IMAGE URI
	n=$((n + 1))
	got=$(zbarimg --raw -q --nodbus "$2" 2>/dev/null) || got="(no code found)"
	if [ "$got" = "$3" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		echo "#   expected: $3"
		echo "#        got: $got"
		fail=$((fail + 1))
	fi
}

# Negative control: the polarity matters, so the documented default is
# what makes the code scan.  The default rendering shown on a light
# terminal (glyphs dark) is an inverted code, which zbarimg does not read.
if [ -n "$python" ]; then
	uri=$("$tool" uri Example alice JBSWY3DPEHPK3PXP)
	"$tool" text "$uri" >"$tmp/wrong.txt"
	"$python" "$text2png" utf8 dark "$tmp/wrong.txt" "$tmp/wrong.png"
	n=$((n + 1))
	if zbarimg --raw -q --nodbus "$tmp/wrong.png" >/dev/null 2>&1; then
		echo "not ok $n - default rendering on a light terminal should not scan (polarity unchecked)"
		fail=$((fail + 1))
	else
		echo "ok $n - default rendering shown on a light terminal does not scan (polarity checked)"
	fi
fi

i=0
for case in \
	'Example Co|alice@example.com|JBSWY3DPEHPK3PXP' \
	'a:b|a:b|GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' \
	'Zoë|zoë@example.org|MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U' \
	'authguard on host-01.example.net|a-very-long-account.name+tag@sub.example.com|ORSXG5DJNZTSA5DINFZSAYLOMQQGS5DTEBWG63THMVZA'
do
	i=$((i + 1))
	issuer=${case%%|*}; rest=${case#*|}
	account=${rest%%|*}; secret=${rest#*|}
	uri=$("$tool" uri "$issuer" "$account" "$secret")

	"$tool" png "$uri" "$tmp/$i.png"
	check "PNG, case $i" "$tmp/$i.png" "$uri"
	"$tool" png "$uri" "$tmp/$i-s3.png" 3
	check "PNG at 3 px per module, case $i" "$tmp/$i-s3.png" "$uri"

	if [ $have_rsvg = yes ]; then
		"$tool" svg "$uri" >"$tmp/$i.svg"
		rsvg-convert -b white -w 400 -o "$tmp/$i-svg.png" "$tmp/$i.svg"
		check "SVG via rsvg-convert, case $i" "$tmp/$i-svg.png" "$uri"
	else
		n=$((n + 1)); echo "ok $n # skip rsvg-convert not installed"
	fi

	if [ -n "$python" ]; then
		"$tool" text "$uri" >"$tmp/$i-utf8.txt"
		"$python" "$text2png" utf8 light "$tmp/$i-utf8.txt" "$tmp/$i-utf8.png"
		check "UTF-8 text (default) on a dark terminal, case $i" "$tmp/$i-utf8.png" "$uri"
		"$tool" text "$uri" invert >"$tmp/$i-utf8i.txt"
		"$python" "$text2png" utf8 dark "$tmp/$i-utf8i.txt" "$tmp/$i-utf8i.png"
		check "UTF-8 text (invert) on a light terminal, case $i" "$tmp/$i-utf8i.png" "$uri"
		"$tool" text "$uri" ascii >"$tmp/$i-ascii.txt"
		"$python" "$text2png" ascii light "$tmp/$i-ascii.txt" "$tmp/$i-ascii.png"
		check "ASCII text (default) on a dark terminal, case $i" "$tmp/$i-ascii.png" "$uri"
		"$tool" text "$uri" ascii invert >"$tmp/$i-asciii.txt"
		"$python" "$text2png" ascii dark "$tmp/$i-asciii.txt" "$tmp/$i-asciii.png"
		check "ASCII text (invert) on a light terminal, case $i" "$tmp/$i-asciii.png" "$uri"
	else
		n=$((n + 1)); echo "ok $n # skip python3 not installed"
	fi
done

echo "1..$n"
[ $fail -eq 0 ]
