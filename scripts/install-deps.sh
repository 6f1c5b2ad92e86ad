#!/bin/sh
# Installs the build and test dependencies on Debian 12 (run as root).
# Skips apt when everything is already present, so repeated runs are quick.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config libpam0g-dev \
libsqlite3-dev libsodium-dev libssl-dev libjansson-dev liboath-dev libqrencode-dev libpng-dev \
libunistring-dev \
libpam-wrapper libpamtest0-dev pamtester libnss-wrapper sqlite3 python3 \
oathtool zbar-tools librsvg2-bin valgrind clang python3-jwt python3-cryptography \
chromium postgresql libpq-dev strace systemd"
# postgresql, libpq-dev: the PostgreSQL back end and its tests (each test
# starts a throwaway cluster of its own; no system-wide server is used).
# strace, systemd (systemd-analyze): the daemon's sandbox test.
# chromium: the browser tests (tests/browser), driven by playwright-core,
# which they install with npm ci (never a browser download of its own).
# Node and npm (jose interop tests, the client package, the browser
# tests): often installed from elsewhere (e.g. NodeSource, which bundles
# npm); only ask apt for them when node is absent.
if ! command -v node >/dev/null 2>&1; then
	PKGS="$PKGS nodejs npm"
fi

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "dependencies: all present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
