#!/bin/bash
# pam_authguard.so holds no state: it links none of the libraries of the
# store, the code check or the tokens (SQLite, libsodium, liboath,
# libunistring, libcrypto, ...), neither directly (NEEDED) nor through a
# library it needs (ldd), and uses none of their functions; those live in
# the state service module it loads (authsvc-direct.so), whose only export
# is its operations table.  A daemon client can then replace the service
# without the module ever loading the state.
set -euo pipefail
mod=$top_builddir/pam_authguard/.libs/pam_authguard.so
svc=$top_builddir/lib/.libs/authsvc-direct.so
for f in "$mod" "$svc"; do
	[ -f "$f" ] || { echo "not built: $f"; exit 1; }
done
command -v readelf >/dev/null || { echo "readelf (binutils) not found"; exit 1; }
fail=0

# Sonames of the state's libraries, and of the others the helpers use.
banned='^lib(sqlite3|sodium|oath|unistring|crypto|ssl|jansson|qrencode|png[0-9]*|pq)\.so'

needed=$(readelf -d "$mod" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
if hits=$(grep -E "$banned" <<<"$needed"); then
	echo "FAIL: pam_authguard.so needs: $(echo $hits)"
	fail=1
else
	echo "ok - pam_authguard.so NEEDED: $(echo $needed)"
fi

# ldd runs the dynamic loader over the whole dependency tree.
all=$(ldd "$mod" | awk '{print $1}')
if hits=$(grep -E "$banned" <<<"$all"); then
	echo "FAIL: pam_authguard.so loads, through its dependencies: $(echo $hits)"
	fail=1
else
	echo "ok - nothing of the state in pam_authguard.so's dependency tree ($(wc -l <<<"$all") objects)"
fi

# Nor an undefined reference to one of their functions (which lazy
# binding would otherwise only find at the first call).
undef=$(nm -D --undefined-only "$mod" | awk '{print $2}')
if hits=$(grep -E '^(sqlite3_|sodium_|crypto_|randombytes_|oath_|u8_|uc_|EVP_|OPENSSL_|json_)' <<<"$undef"); then
	echo "FAIL: pam_authguard.so refers to: $(echo $hits)"
	fail=1
else
	echo "ok - pam_authguard.so refers to no function of those libraries"
fi

# The state is where it belongs: the service needs SQLite and libsodium
# (a build that linked them elsewhere would make the checks above moot).
needed=$(readelf -d "$svc" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
for lib in libsqlite3 libsodium; do
	if grep -q "^$lib\.so" <<<"$needed"; then
		echo "ok - authsvc-direct.so needs $lib"
	else
		echo "FAIL: authsvc-direct.so does not need $lib: $(echo $needed)"
		fail=1
	fi
done
exit $fail
