#!/bin/bash
# The tests of the Node client package (clients/node/test/*.test.js, Node's
# own test runner) against the helpers and the daemon of this build:
# supervision with a fake helper, every op over the three transports
# against the real authguard-token, authguard-webhook and authguardd (which
# the tests start on throwaway states, sockets in temporary directories),
# the socket transport's connection handling against that daemon, the
# middleware over node:http.
# Ops that authguard-token batch does not answer yet are skipped on the
# batch transport with a message.  Needs node (18.3 or later), nothing
# from npm.  Without node the test is skipped with a message (exit 77).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
command -v node >/dev/null 2>&1 || { echo "SKIP: client: node is not installed"; exit 77; }
command -v oathtool >/dev/null 2>&1 || echo "# oathtool not installed: the mfa_verify tests are skipped"
command -v sqlite3 >/dev/null 2>&1 ||
	echo "# sqlite3 (the command) not installed: the socket tests that hold the state's lock are skipped"
[ -x "$top_builddir/daemon/authguardd" ] || { echo "daemon not built: $top_builddir/daemon/authguardd"; exit 1; }
top_builddir=$(cd "$top_builddir" && pwd)
export top_builddir
cd "$top_srcdir/clients/node" || exit 1
exec timeout 300 node --test --test-reporter=tap test/*.test.js
