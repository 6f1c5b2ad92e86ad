/* Internal to the PostgreSQL back end (lib/store/pg/). */
#ifndef AG_STORE_PG_INT_H
#define AG_STORE_PG_INT_H

#include <stdint.h>

#include <libpq-fe.h>

#include "config.h"
#include "store/db.h"

struct ag_db {
	PGconn *conn;           /* NULL between a lost connection and the next use */
	int in_txn;
	int version;            /* schema version found at open */
	int64_t changes;
	int64_t connect_timeout_ms, statement_timeout_ms;
	char connect_timeout_s[24], tcp_user_timeout[24];
	char conninfo[AG_PG_CONNINFO_MAX + 1]; /* may hold a password: wiped at close */
	char password[AG_PG_CONNINFO_MAX + 1]; /* the one in conninfo, to keep out of
	                                          messages; wiped at close */
	char schema[AG_PG_SCHEMA_MAX + 1];
	char sqlstate[6];       /* of the last failed statement; "" when none */
	char errmsg[AG_ERRBUF];
	struct ag_db_stmt *stmt[AG_DB_SLOTS];
};

/* Runs sql without parameters; *resp receives the (successful) result. */
int ag_pg_exec(struct ag_db *db, const char *sql, const char *what, PGresult **resp);

/* Records "postgresql: what: msg" as the error and returns code. */
int ag_pg_fail(struct ag_db *db, int code, const char *what, const char *msg);

/* Reads the schema version at open; with AG_DB_CREATE creates or
 * migrates the schema first (pg_schema.c). */
int ag_pg_schema_open(struct ag_db *db, int flags);

/* The newest schema version this build knows. */
int ag_pg_schema_latest(void);

/* The engine's check(): schema version and the role's rights. */
int ag_pg_schema_check(struct ag_db *db);

/* The engine's grant(): the rights the programs need, to role. */
int ag_pg_schema_grant(struct ag_db *db, const char *role);

/* Text that PostgreSQL cannot store as it is (not valid UTF-8) or that
 * could be mistaken for the escaped form (holds a backslash) travels
 * escaped: "\\" for a backslash, "\xHH" for a byte of invalid UTF-8.
 * The mapping is one to one, so equality and uniqueness are kept. */
int ag_pg_text_needs_escape(const char *s);
char *ag_pg_text_escape(const char *s);     /* malloc'd; NULL: out of memory */
char *ag_pg_text_unescape(const char *s);   /* malloc'd; NULL: out of memory */

#endif
