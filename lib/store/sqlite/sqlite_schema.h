/* Internal to the store: schema versions and forward migrations. */
#ifndef AG_SCHEMA_H
#define AG_SCHEMA_H

#include <sqlite3.h>

/* "AGRD": marks a file as an authguard store (PRAGMA application_id). */
#define AG_APPLICATION_ID 0x41475244

/* Number of the newest schema this build knows. */
int ag_schema_latest(void);

/* NULL-terminated names of the tables the latest schema has: a file that
 * lacks one was damaged and must not be used. */
extern const char *const ag_schema_tables[];

/* Migrates db from version `from` to the latest, inside the caller's
 * transaction.  Returns a SQLite result code; *errp receives SQLite's
 * message (free with sqlite3_free) on failure. */
int ag_schema_migrate(sqlite3 *db, int from, char **errp);

#endif
