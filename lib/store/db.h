/* The engine interface under the store: what a SQL back end provides so
 * that the store's operations (lib/store/op_*.c), written once, run on it.
 *
 * A back end stores, loads and locks; it decides nothing.  Two exist:
 * SQLite (lib/store/sqlite/, built in, the default) and PostgreSQL
 * (lib/store/pg/, a loadable module, so that a program using SQLite never
 * loads libpq and the libraries behind it).
 *
 * Statements are written once, in SQL both engines accept: parameters
 * ?1..?N (the PostgreSQL back end rewrites them to $1..$N), the column
 * "user" quoted, RETURNING instead of last-insert ids, and no LIMIT -1.
 * Where the engines differ, a statement carries a PostgreSQL text of its
 * own (struct ag_sql.pg).
 *
 * Transactions: begin() opens a write transaction that is serialisable
 * with every other writer (SQLite: BEGIN IMMEDIATE, one writer at a time;
 * PostgreSQL: ISOLATION LEVEL SERIALIZABLE).  Any call inside it may fail
 * with AG_ERR_RETRY (SQLite: the write lock stayed busy; PostgreSQL: a
 * serialization failure or deadlock); the store then rolls back and runs
 * the whole transaction again, within a bounded time (op_txn.c).  Reads
 * outside begin() see a consistent snapshot per statement.
 *
 * Every function returns 0 or a negative AG_ERR_*; after an error,
 * detail() holds a one-line reason that never contains a secret (no
 * connection string, no password). */
#ifndef AG_STORE_DB_H
#define AG_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Bumped whenever struct ag_db_engine changes: a loadable back end built
 * for another layout is refused. */
#define AG_DB_ABI 2

/* Statement slots: each store operation module owns a range. */
#define AG_DB_SLOTS 192

struct ag_db;      /* one connection (engine-specific) */
struct ag_db_stmt; /* a prepared statement of that connection */

/* One SQL statement, in the dialect both engines accept, or with a text
 * of PostgreSQL's own. */
struct ag_sql {
	const char *text;
	const char *pg; /* NULL: text serves PostgreSQL too */
};

/* Open flags. */
enum ag_db_open_flags {
	AG_DB_CREATE = 1,  /* create / migrate the schema (authguard-ctl init) */
	AG_DB_NOMIGRATE = 2 /* refuse an older schema instead of migrating it */
};

/* What a connection string says, as the engine's client library reads it
 * (no connection is made): for check-config's advice. */
struct ag_db_conn_facts {
	int has_password;       /* a password in it (password=..., user:pw@ in a URI) */
	int remote;             /* a host that is not a Unix-socket directory or loopback */
	char remote_host[256];  /* the first such host, for the message */
	char sslmode[24];       /* as given; "" when not set */
	char passfile[1024];    /* passfile= as given; "" when not set */
};

struct ag_db_engine {
	int abi;          /* AG_DB_ABI */
	const char *name; /* "sqlite", "postgresql" */

	/* Connects (and with AG_DB_CREATE creates or migrates the schema).
	 * On failure *dbp is NULL and err holds the reason. */
	int (*open)(const struct ag_config *cfg, int flags, struct ag_db **dbp,
	            char err[AG_ERRBUF]);
	void (*close)(struct ag_db *db); /* accepts NULL */

	/* Opens a transaction: a write transaction (write = 1), waiting at
	 * most wait_ms for the right to write where the engine queues
	 * writers (SQLite), or a read-only one with a consistent snapshot. */
	int (*begin)(struct ag_db *db, int write, int64_t wait_ms);
	int (*commit)(struct ag_db *db);  /* on failure the transaction is gone */
	void (*rollback)(struct ag_db *db); /* harmless when none is open */

	/* The statement in slot, prepared from sql on first use, else reset
	 * with its parameters unbound (NULL).  NULL when it cannot be
	 * prepared (errmsg says why; the error code is in *errp). */
	struct ag_db_stmt *(*stmt)(struct ag_db *db, unsigned slot, const struct ag_sql *sql,
	                           int *errp);

	/* Parameters are numbered from 1.  Text and blobs are not copied:
	 * they must stay valid until the statement is next reset. */
	void (*bind_int64)(struct ag_db_stmt *s, int i, int64_t v);
	void (*bind_text)(struct ag_db_stmt *s, int i, const char *v); /* NULL binds NULL */
	void (*bind_blob)(struct ag_db_stmt *s, int i, const void *p, size_t n);

	/* Runs the statement (first call) or moves to its next row: 1 when a
	 * row is available, 0 when done, or AG_ERR_*. */
	int (*step)(struct ag_db_stmt *s);

	/* Ends the use of a statement before it has returned every row (a
	 * statement left half-read would hold SQLite's read snapshot open). */
	void (*reset)(struct ag_db_stmt *s);

	/* Columns of the current row, numbered from 0.  Pointers stay valid
	 * until the next step or reset of the statement. */
	int (*col_is_null)(struct ag_db_stmt *s, int i);
	int64_t (*col_int64)(struct ag_db_stmt *s, int i);
	const char *(*col_text)(struct ag_db_stmt *s, int i); /* NULL for NULL */
	const uint8_t *(*col_blob)(struct ag_db_stmt *s, int i, size_t *n); /* NULL for NULL */

	/* Rows changed by the statement that was last run to completion. */
	int64_t (*changes)(struct ag_db *db);

	/* The last failure: where (the state file's path, "postgresql") and
	 * what the engine said about it, for "WHERE: operation: DETAIL". */
	const char *(*where)(const struct ag_db *db);
	const char *(*detail)(const struct ag_db *db);

	/* A consistency check of the whole store (SQLite: quick_check;
	 * PostgreSQL: schema version and the role's rights).  0 or AG_ERR_*. */
	int (*check)(struct ag_db *db);

	/* Schema version found in the store, and the newest this engine
	 * knows. */
	int (*schema_version)(struct ag_db *db);
	int (*schema_latest)(void);

	/* Grants role (ag_sql_role_check) exactly the rights the programs
	 * need on the store, in one transaction.  NULL: the engine has no
	 * roles (SQLite). */
	int (*grant)(struct ag_db *db, const char *role);

	/* Reads cfg's connection settings into f without connecting.
	 * Returns 0, or AG_ERR_CONFIG when they do not parse (err says so,
	 * never quoting them).  NULL: nothing to read (SQLite). */
	int (*conn_facts)(const struct ag_config *cfg, struct ag_db_conn_facts *f,
	                  char err[AG_ERRBUF]);
};

/* The SQLite back end, always built in. */
extern const struct ag_db_engine ag_db_sqlite;

/* The engine a configuration selects: SQLite, or the PostgreSQL module
 * loaded on first use.  Returns 0 or AG_ERR_* with a reason in err. */
int ag_db_engine_for(const struct ag_config *cfg, const struct ag_db_engine **enginep,
                     char err[AG_ERRBUF]);

#endif
