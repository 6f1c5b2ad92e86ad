/* Schema of the SQLite state file (the PostgreSQL back end keeps the same
 * tables and columns: lib/store/pg/pg_schema.c).  Each entry of migrations[] moves the file from
 * version i to i + 1; a released entry is never edited, only appended to.
 *
 * Tables (version 1):
 *   subject  - one row per tracked account or host: its lock and when the
 *              row may be forgotten (expires).
 *   failure  - one row per counted attempt of a subject; pending = 1 while
 *              the attempt is in flight, 0 once settled as a failure.
 *              source records where it came from (rhost or service) for
 *              authguard-ctl status.
 *
 * Tables (version 2):
 *   mfa          - per account: the active TOTP secret (sealed with the
 *                  secrets key, the account name as associated data), the
 *                  last time step accepted (no code is accepted twice), and
 *                  an unconfirmed enrollment with its expiry.
 *   backup_code  - keyed hashes of an account's unused backup codes.
 *
 * Tables (version 3):
 *   revoked_jti     - access tokens denied before their expiry, kept until
 *                     then (the token would be refused anyway afterwards).
 *   refresh_family  - one per login: subject, session, absolute expiry, the
 *                     newest token, and whether the family was revoked.
 *   refresh_token   - SHA-256 of every token of a family, its parent, and
 *                     when it was redeemed (used tokens are kept to detect
 *                     reuse, until the family expires).
 *
 * Tables (version 4):
 *   web_session  - SHA-256 of each session id (the id itself is never
 *                  stored), its user, fingerprint hash, Clerk session, and
 *                  idle and absolute expiries.
 *   pam_session  - open PAM sessions: user, service, tty, rhost, the pid of
 *                  the process that opened it and the boot it belongs to
 *                  (rows of dead processes or earlier boots do not count).
 *   webhook_msg  - ids of processed webhook messages, kept for the
 *                  timestamp tolerance window so a replay is refused.
 *
 * Version 5:
 *   web_session.used_seq - per user, a number that grows with every use
 *                  recorded (create, touch, rotate): the order of last use
 *                  among sessions whose last_seen is the same second, so
 *                  the session evicted at the limit is exactly the least
 *                  recently used.  Rows from before version 5 have 0.
 *
 * Version 6:
 *   web_session.user_key, refresh_family.subject_key - the folded form of
 *                  the user (authguard.conf(5), web_subject_fold) that the
 *                  session limit, lists and revocation by user compare;
 *                  user and subject keep the spelling the backend gave,
 *                  which is what it reads back.  Rows from before version
 *                  6 get their name as it was stored.
 *   pam_session.host - the machine a PAM session belongs to (its
 *                  machine id): only that machine can tell whether the
 *                  session's process still runs, so the limit counts and
 *                  cleans the rows of one machine (a shared PostgreSQL
 *                  store holds the rows of many).
 *   subject_locked - the locked subjects, which a listing shows first.
 */
#include "autoconf.h"

#include <stdio.h>

#include "sqlite_schema.h"
#include "util.h"

static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE subject ("
	"  id INTEGER PRIMARY KEY,"
	"  kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	"  name TEXT NOT NULL,"
	"  locked_until INTEGER NOT NULL DEFAULT 0,"
	"  expires INTEGER NOT NULL,"
	"  UNIQUE (kind, name)"
	") STRICT;"
	"CREATE INDEX subject_expires ON subject (expires);"
	"CREATE TABLE failure ("
	"  id INTEGER PRIMARY KEY,"
	"  subject_id INTEGER NOT NULL REFERENCES subject (id) ON DELETE CASCADE,"
	"  attempt INTEGER NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  pending INTEGER NOT NULL CHECK (pending IN (0, 1)),"
	"  source TEXT"
	") STRICT;"
	"CREATE INDEX failure_subject ON failure (subject_id, at);",

	/* 1 -> 2: multi-factor authentication */
	"CREATE TABLE mfa ("
	"  account TEXT PRIMARY KEY,"
	"  secret BLOB,"
	"  last_step INTEGER NOT NULL DEFAULT -1,"
	"  enrolled_at INTEGER NOT NULL DEFAULT 0,"
	"  pending BLOB,"
	"  pending_expires INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX mfa_pending ON mfa (pending_expires) WHERE pending IS NOT NULL;"
	"CREATE TABLE backup_code ("
	"  account TEXT NOT NULL REFERENCES mfa (account) ON DELETE CASCADE,"
	"  hash BLOB NOT NULL,"
	"  PRIMARY KEY (account, hash)"
	") STRICT, WITHOUT ROWID;",

	/* 2 -> 3: access-token revocation and refresh-token families */
	"CREATE TABLE revoked_jti ("
	"  jti TEXT PRIMARY KEY,"
	"  expires INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX revoked_jti_expires ON revoked_jti (expires);"
	"CREATE TABLE refresh_family ("
	"  id INTEGER PRIMARY KEY,"
	"  subject TEXT NOT NULL,"
	"  sid TEXT,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  current BLOB"
	") STRICT;"
	"CREATE INDEX refresh_family_subject ON refresh_family (subject);"
	"CREATE INDEX refresh_family_sid ON refresh_family (sid) WHERE sid IS NOT NULL;"
	"CREATE INDEX refresh_family_expires ON refresh_family (expires);"
	"CREATE TABLE refresh_token ("
	"  hash BLOB PRIMARY KEY,"
	"  family_id INTEGER NOT NULL REFERENCES refresh_family (id) ON DELETE CASCADE,"
	"  parent BLOB,"
	"  issued INTEGER NOT NULL,"
	"  used_at INTEGER"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX refresh_token_family ON refresh_token (family_id);",

	/* 3 -> 4: web and PAM sessions, webhook message ids */
	"CREATE TABLE web_session ("
	"  id_hash BLOB PRIMARY KEY,"
	"  user TEXT NOT NULL,"
	"  fingerprint BLOB NOT NULL,"
	"  clerk_sid TEXT,"
	"  created INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  idle_expires INTEGER NOT NULL,"
	"  abs_expires INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX web_session_user ON web_session (user, last_seen);"
	"CREATE INDEX web_session_clerk ON web_session (clerk_sid) WHERE clerk_sid IS NOT NULL;"
	"CREATE INDEX web_session_idle ON web_session (idle_expires);"
	"CREATE TABLE pam_session ("
	"  id INTEGER PRIMARY KEY,"
	"  user TEXT NOT NULL,"
	"  service TEXT,"
	"  tty TEXT,"
	"  rhost TEXT,"
	"  pid INTEGER NOT NULL,"
	"  boot_id TEXT NOT NULL,"
	"  started INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX pam_session_user ON pam_session (user);"
	"CREATE TABLE webhook_msg ("
	"  id TEXT PRIMARY KEY,"
	"  expires INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX webhook_msg_expires ON webhook_msg (expires);",

	/* 4 -> 5: the order of last use within a second */
	"ALTER TABLE web_session ADD COLUMN used_seq INTEGER NOT NULL DEFAULT 0;",

	/* 5 -> 6: folded user keys; the machine of a PAM session */
	"ALTER TABLE web_session ADD COLUMN user_key TEXT NOT NULL DEFAULT '';"
	"UPDATE web_session SET user_key = user;"
	"DROP INDEX web_session_user;"
	"CREATE INDEX web_session_user_key ON web_session (user_key, last_seen);"
	"ALTER TABLE refresh_family ADD COLUMN subject_key TEXT NOT NULL DEFAULT '';"
	"UPDATE refresh_family SET subject_key = subject;"
	"DROP INDEX refresh_family_subject;"
	"CREATE INDEX refresh_family_subject_key ON refresh_family (subject_key);"
	"ALTER TABLE pam_session ADD COLUMN host TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX subject_locked ON subject (locked_until) WHERE locked_until > 0;",
};

const char *const ag_schema_tables[] = { "subject", "failure", "mfa", "backup_code", "revoked_jti",
	                                  "refresh_family", "refresh_token", "web_session",
	                                  "pam_session", "webhook_msg", NULL };

int
ag_schema_latest(void)
{
	return (int)AG_ARRAY_SIZE(migrations);
}

int
ag_schema_migrate(sqlite3 *db, int from, char **errp)
{
	char sql[64];
	int v, rc;

	*errp = NULL;
	for (v = from; v < ag_schema_latest(); v++) {
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, errp);
		if (rc != SQLITE_OK)
			return rc;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", ag_schema_latest());
	rc = sqlite3_exec(db, sql, NULL, NULL, errp);
	if (rc != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d;", AG_APPLICATION_ID);
	return sqlite3_exec(db, sql, NULL, NULL, errp);
}
