#!/bin/sh
# The store's unit tests (tests/unit/test_store) once more, against
# PostgreSQL: a throwaway cluster (tests/lib/pgcluster.sh: initdb into a
# temporary directory, a Unix socket there, no TCP), stopped and removed
# on every exit path, a fresh database, and AG_TEST_PG_CONNINFO pointing
# test_store at it (each of its tests then works in a schema of its own).
# Skips (exit 77) only when the PostgreSQL server binaries are absent;
# the back end itself is built whenever libpq is (tests/Makefile.inc).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/pgcluster.sh"

if ! ag_pgc_available; then
	echo "SKIP: PostgreSQL server binaries not found (initdb, pg_ctl and psql;" \
		"as root also the postgres user): the store's tests were NOT run against PostgreSQL"
	exit 77
fi

dir=$(mktemp -d /tmp/authguard-pgunit.XXXXXX) || exit 99
cleanup() {
	ag_pgc_stop immediate
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

ag_pgc_start "$dir" || { echo "cannot start a PostgreSQL cluster in $dir"; exit 99; }
ag_pgc_createdb authguard_unit || { echo "cannot create the test database"; exit 99; }
echo "# PostgreSQL $("$AG_PGC_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) //') in $dir"
AG_TEST_PG_CONNINFO="$AG_PGC_CONNINFO dbname=authguard_unit"
export AG_TEST_PG_CONNINFO
"$top_builddir/tests/unit/test_store"
