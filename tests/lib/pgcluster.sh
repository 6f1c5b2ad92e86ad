# A throwaway PostgreSQL cluster for the tests: initdb into a temporary
# directory, a Unix socket in that directory, no TCP, no system-wide
# server.  Sourced, never run.
#
#   ag_pgc_start DIR [PORT]   start a cluster in DIR (created, must be empty);
#                             sets AG_PGC_DIR, AG_PGC_PORT, AG_PGC_CONNINFO
#   ag_pgc_stop [immediate]   stop it (immediate: as a crash would)
#   ag_pgc_restart            start it again after a stop
#   ag_pgc_psql DB SQL        run SQL as the superuser (psql -X -q -At)
#   ag_pgc_createdb NAME      a fresh database
#   ag_pgc_scram ROLE PASSWORD  a login role that must give its password
#                             (scram-sha-256; everyone else stays trusted)
#
# initdb refuses to run as root: as root the server runs as the postgres
# user that Debian's package creates.  Callers trap ag_pgc_stop so that a
# failing test leaves nothing running.

AG_PGC_BIN=${AG_PGC_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

ag_pgc_as() { # run a command as the cluster's owner
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

ag_pgc_available() {
	[ -n "$AG_PGC_BIN" ] && [ -x "$AG_PGC_BIN/initdb" ] && [ -x "$AG_PGC_BIN/pg_ctl" ] &&
		command -v psql >/dev/null 2>&1 &&
		{ [ "$(id -u)" != 0 ] || id postgres >/dev/null 2>&1; }
}

ag_pgc_start() { # DIR [PORT]
	AG_PGC_DIR=$1
	AG_PGC_PORT=${2:-$((20000 + RANDOM % 20000))}
	mkdir -p "$AG_PGC_DIR"
	[ "$(id -u)" != 0 ] || chown postgres "$AG_PGC_DIR"
	ag_pgc_as "$AG_PGC_BIN/initdb" -D "$AG_PGC_DIR/data" -A trust -U postgres \
		-E UTF8 --locale=C.UTF-8 >"$AG_PGC_DIR/initdb.log" 2>&1 || {
		cat "$AG_PGC_DIR/initdb.log" >&2
		return 1
	}
	ag_pgc_restart
}

ag_pgc_restart() {
	# fsync off: a test cluster need not survive a power cut, and the
	# crash tests kill the server, not the machine.
	ag_pgc_as "$AG_PGC_BIN/pg_ctl" -D "$AG_PGC_DIR/data" -l "$AG_PGC_DIR/server.log" -w -t 60 \
		-o "-k $AG_PGC_DIR -c listen_addresses='' -p $AG_PGC_PORT -c fsync=off \
		-c max_connections=300 -c max_pred_locks_per_transaction=256" \
		start >/dev/null || {
		tail -20 "$AG_PGC_DIR/server.log" >&2
		return 1
	}
	AG_PGC_CONNINFO="host=$AG_PGC_DIR port=$AG_PGC_PORT user=postgres"
	export AG_PGC_DIR AG_PGC_PORT AG_PGC_CONNINFO
}

ag_pgc_stop() { # [immediate]
	[ -n "${AG_PGC_DIR:-}" ] && [ -d "$AG_PGC_DIR/data" ] || return 0
	ag_pgc_as "$AG_PGC_BIN/pg_ctl" -D "$AG_PGC_DIR/data" -m "${1:-fast}" -w stop \
		>/dev/null 2>&1 || true
}

ag_pgc_psql() { # DB SQL
	psql -X -q -At -v ON_ERROR_STOP=1 -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" -U postgres -d "$1" \
		-c "$2"
}

ag_pgc_createdb() { # NAME
	ag_pgc_psql postgres "CREATE DATABASE \"$1\""
}

ag_pgc_scram() { # ROLE PASSWORD
	local hba=$AG_PGC_DIR/data/pg_hba.conf i
	# The password travels in SQL on stdin (never in argv), as a
	# literal: the tests choose it, with no quote in it.
	case $2 in *"'"*) echo "ag_pgc_scram: no quote in a test password" >&2; return 1 ;; esac
	printf "SET password_encryption = 'scram-sha-256'; CREATE ROLE \"%s\" LOGIN PASSWORD '%s';\n" \
		"$1" "$2" | psql -X -q -At -v ON_ERROR_STOP=1 -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" \
		-U postgres -d postgres >/dev/null || return 1
	# pg_hba.conf is read top down: this role's line before initdb's
	# "trust" ones.  Rewritten as the cluster's owner, who must read it.
	ag_pgc_as sh -c '{ printf "local all %s scram-sha-256\n" "$1"; cat "$2"; } >"$2.new" &&
		mv "$2.new" "$2"' sh "$1" "$hba" || return 1
	ag_pgc_as "$AG_PGC_BIN/pg_ctl" -D "$AG_PGC_DIR/data" reload >/dev/null || return 1
	# A reload is asynchronous: wait until the role is asked for a password.
	for i in $(seq 1 100); do
		env -u PGPASSWORD psql -X -q -At -w -h "$AG_PGC_DIR" -p "$AG_PGC_PORT" -U "$1" \
			-d postgres -c 'SELECT 1' >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	echo "ag_pgc_scram: pg_hba.conf reload did not take effect" >&2
	return 1
}
