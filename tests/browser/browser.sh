#!/bin/bash
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# Real-browser end-to-end tests of the reference application
# (examples/web) with the client package (clients/node): Debian's chromium,
# headless, driven by playwright-core (npm; never `playwright`, which
# downloads browsers of its own).  See e2e.test.mjs for what is shown.
#
# The sources are copied into a temporary directory (the source tree may be
# read-only, as under make distcheck), the application's dependencies
# installed there with `npm ci` (a link to the client package, no
# download), and playwright-core with `npm ci` from the committed
# package-lock.json (the npm registry, or npm's cache).  A missing chromium
# or node, or an npm that cannot install, FAILS this test: it is never
# skipped.  AG_BROWSER_KEEP=1 keeps the temporary directory.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

fail() { echo "FAIL: browser: $*"; exit 1; }

command -v node >/dev/null 2>&1 || fail "node is not installed"
command -v npm >/dev/null 2>&1 || fail "npm is not installed"
[ -x "$CHROMIUM" ] || fail "chromium is not installed at $CHROMIUM (apt-get install chromium, or scripts/install-deps.sh)"
for t in zbarimg oathtool; do
	command -v $t >/dev/null 2>&1 || fail "$t is not installed (scripts/install-deps.sh)"
done
for h in authguard-token authguard-ctl authguard-enroll authguard-webhook; do
	[ -x "$top_builddir/helpers/$h" ] || fail "not built: $top_builddir/helpers/$h"
done
grep -q '^#define AG_TEST_CLOCK 1' "$top_builddir/autoconf.h" 2>/dev/null ||
	fail "these tests move the helpers' clock: configure with --enable-test-clock"

# Every package in the lockfiles comes from the npm registry (or is a
# local link): no other download address.
if grep -hE '"resolved": *"[a-z]+:' "$top_srcdir/tests/browser/package-lock.json" \
	"$top_srcdir/examples/web/package-lock.json" | grep -vE '"resolved": *"https://registry\.npmjs\.org/'; then
	fail "a package-lock.json names a download address outside registry.npmjs.org"
fi

W=$(mktemp -d) || fail "mktemp -d"
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/clients" "$W/examples" "$W/tests"
(cd "$top_srcdir" && tar -cf - --exclude=node_modules clients/node examples/web tests/browser) |
	(cd "$W" && tar -xf -) || fail "cannot copy the sources"
chmod -R u+w "$W"

t0=$(date +%s)
npm_log=$W/npm.log
(cd "$W/examples/web" && npm ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1 ||
	{ cat "$npm_log"; fail "npm ci in examples/web failed"; }
(cd "$W/tests/browser" && npm ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1 ||
	{ cat "$npm_log"; fail "npm ci in tests/browser failed (is the npm registry reachable?)"; }
echo "# npm ci: $(($(date +%s) - t0)) s"

[ "${AG_BROWSER_KEEP:-0}" = 1 ] && trap - EXIT && echo "# keeping $W"
cd "$W/tests/browser" || fail "cd"
top_builddir=$(cd "$top_builddir" && pwd) AG_APP_DIR="$W/examples/web" CHROMIUM="$CHROMIUM" \
	timeout 600 node --test --test-reporter=tap e2e.test.mjs
