/* The PostgreSQL back end (db.h), built as a loadable module so that only
 * programs configured with store = postgresql load libpq.
 *
 * Every round trip is asynchronous with a deadline: a login never waits
 * longer than pg_connect_timeout to connect or pg_statement_timeout (plus
 * a second for the server's own cancellation to arrive) for a statement,
 * whatever the network does.  A connection that missed a deadline or
 * broke is dropped and opened again at the next transaction.
 *
 * Names are stored as text, but PAM user names and hosts may be any bytes
 * while PostgreSQL text must be valid UTF-8: text parameters that are not
 * valid UTF-8, or that contain a backslash, are stored in an escaped form
 * (pg_text.c) that is decoded on the way out, so both back ends store
 * exactly the same names. */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "error.h"
#include "pg_int.h"
#include "store/db.h"
#include "util.h"

#define MAX_PARAMS 16
#define MAX_COLS 16
#define BLOB_MAX 512          /* largest bytea column the store reads */
#define RESULT_GRACE_MS 1000  /* beyond statement_timeout: the server's cancel */

struct ag_db_stmt {
	struct ag_db *db;
	unsigned slot;
	int prepared;        /* known to the server on this connection */
	int nparams;
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS];
	int formats[MAX_PARAMS];
	char num[MAX_PARAMS][24];   /* int64 parameters as text */
	char *owned[MAX_PARAMS];    /* escaped text parameters */
	PGresult *res;
	int row;             /* current row; -1 before the first step */
	uint8_t blob[MAX_COLS][BLOB_MAX];
	char *text[MAX_COLS];       /* decoded text columns */
	char sql[];          /* the statement with $n parameters */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Replaces every occurrence of the connection's password in db->errmsg:
 * libpq never quotes it, but a message must not depend on that. */
static void
scrub_password(struct ag_db *db)
{
	char out[AG_ERRBUF];
	size_t plen = strlen(db->password), o = 0;
	const char *p = db->errmsg, *hit;

	if (plen == 0 || strstr(db->errmsg, db->password) == NULL)
		return;
	while ((hit = strstr(p, db->password)) != NULL) {
		size_t k = (size_t)(hit - p);

		if (o + k + 4 >= sizeof(out))
			break;
		memcpy(out + o, p, k);
		memcpy(out + o + k, "***", 3);
		o += k + 3;
		p = hit + plen;
	}
	snprintf(out + o, sizeof(out) - o, "%s", strstr(p, db->password) == NULL ? p : "");
	memcpy(db->errmsg, out, sizeof(db->errmsg));
	explicit_bzero(out, sizeof(out));
}

static int
fail(struct ag_db *db, int code, const char *what, const char *msg)
{
	size_t n;

	if (msg == NULL || msg[0] == '\0')
		msg = ag_strerror(code);
	if (what != NULL)
		snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", what, msg);
	else
		snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg);
	/* libpq's messages end in a newline and may span lines: keep the
	 * first line only, so a log line stays one line. */
	db->errmsg[strcspn(db->errmsg, "\r\n")] = '\0';
	n = strlen(db->errmsg);
	while (n > 0 && db->errmsg[n - 1] == ' ')
		db->errmsg[--n] = '\0';
	scrub_password(db);
	return code;
}

/* Drops a connection that can no longer be trusted to be in step (a
 * missed deadline, a broken socket): the next begin() reconnects. */
static void
drop_connection(struct ag_db *db)
{
	unsigned i;

	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->in_txn = 0;
	for (i = 0; i < AG_DB_SLOTS; i++)
		if (db->stmt[i] != NULL)
			db->stmt[i]->prepared = 0;
}

/* Waits until the socket is ready or the deadline passes: 0, or AG_ERR_*. */
static int
wait_socket(struct ag_db *db, int events, int64_t deadline, const char *what)
{
	struct pollfd pfd = { .fd = PQsocket(db->conn), .events = (short)events };
	int64_t left;
	int n;

	if (pfd.fd < 0)
		return fail(db, AG_ERR_UNAVAILABLE, what, "connection lost");
	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return fail(db, AG_ERR_UNAVAILABLE, what, "no answer from the server in time");
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail(db, AG_ERR_UNAVAILABLE, what, strerror(errno));
	}
}

static void
ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* never to stderr: a helper's stderr is for people */
}

/* Why a connection failed, saying what to fix.  libpq's message was made
 * with PQERRORS_VERBOSE, so that a refusal by the server carries its
 * SQLSTATE ("... failed: FATAL:  28P01: password authentication failed
 * ..."), which is taken out of the text and decides the class:
 * authentication (28xxx) and a missing database (3D000) are the
 * configuration's to fix; anything the client could not get through
 * (no SQLSTATE: no server on the socket, refused, TLS) or the server
 * could not do now is the server being unavailable. */
static int
connect_error(struct ag_db *db)
{
	const char *m = PQerrorMessage(db->conn), *p;
	char msg[AG_ERRBUF], state[6] = "", line[AG_ERRBUF + 64];
	size_t i, o = 0;

	if (m == NULL)
		m = "";
	for (p = m; *p != '\0' && *p != '\n' && o + 1 < sizeof(msg); p++) {
		/* ":  XXXXX: " -> ":  " */
		if (state[0] == '\0' && p[0] == ':' && p[1] == ' ' && p[2] == ' ') {
			const char *c = p + 3;

			for (i = 0; i < 5; i++)
				if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'A' && c[i] <= 'Z')))
					break;
			if (i == 5 && c[5] == ':' && c[6] == ' ') {
				memcpy(state, c, 5);
				state[5] = '\0';
				if (o + 3 < sizeof(msg)) {
					memcpy(msg + o, ":  ", 3);
					o += 3;
				}
				p = c + 6;
				continue;
			}
		}
		msg[o++] = *p;
	}
	msg[o] = '\0';
	if (PQconnectionNeedsPassword(db->conn))
		return fail(db, AG_ERR_CONFIG, "connect",
		            "authentication failed: the server asks for a password and none was "
		            "given (see passfile in authguard.conf(5))");
	if (strncmp(state, "28", 2) == 0) {
		snprintf(line, sizeof(line), "authentication failed: %s", msg);
		return fail(db, AG_ERR_CONFIG, "connect", line);
	}
	if (strcmp(state, "3D000") == 0)
		return fail(db, AG_ERR_CONFIG, "connect", msg);
	if (state[0] != '\0')
		return fail(db, AG_ERR_UNAVAILABLE, "connect", msg);
	snprintf(line, sizeof(line), "cannot reach the server: %s", msg);
	return fail(db, AG_ERR_UNAVAILABLE, "connect", line);
}

static int
connect_db(struct ag_db *db)
{
	const char *keys[12], *vals[12];
	char options[256], app[] = "authguard";
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	int64_t deadline = now_ms() + db->connect_timeout_ms;
	int k = 0, r;

	/* The administrator's connection string comes first (expanded as
	 * dbname); what follows overrides it: the schema and the timeouts
	 * are ours to set. */
	snprintf(options, sizeof(options),
	         "-c search_path=%s -c statement_timeout=%lld -c lock_timeout=%lld"
	         " -c idle_in_transaction_session_timeout=%lld",
	         db->schema, (long long)db->statement_timeout_ms,
	         (long long)db->statement_timeout_ms, (long long)db->statement_timeout_ms * 4);
	keys[k] = "dbname", vals[k++] = db->conninfo;
	keys[k] = "options", vals[k++] = options;
	keys[k] = "application_name", vals[k++] = app;
	keys[k] = "client_encoding", vals[k++] = "UTF8";
	keys[k] = "connect_timeout", vals[k++] = db->connect_timeout_s;
	keys[k] = "tcp_user_timeout", vals[k++] = db->tcp_user_timeout;
	keys[k] = "keepalives", vals[k++] = "1";
	keys[k] = NULL, vals[k] = NULL;

	if (db->conn != NULL)
		drop_connection(db);
	db->conn = PQconnectStartParams(keys, vals, 1);
	if (db->conn == NULL)
		return fail(db, AG_ERR_NOMEM, "connect", NULL);
	PQsetErrorVerbosity(db->conn, PQERRORS_VERBOSE);
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		r = connect_error(db);
		drop_connection(db);
		return r;
	}
	PQsetNoticeProcessor(db->conn, ignore_notice, NULL);
	while (ps != PGRES_POLLING_OK) {
		if (ps == PGRES_POLLING_FAILED) {
			r = connect_error(db);
			drop_connection(db);
			return r;
		}
		if ((r = wait_socket(db, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline,
		                     "connect")) != 0) {
			char why[128];

			if (now_ms() < deadline) {
				drop_connection(db);
				return r;
			}
			snprintf(why, sizeof(why), "cannot reach the server: no answer within "
			         "pg_connect_timeout (%lld ms)", (long long)db->connect_timeout_ms);
			r = fail(db, r, "connect", why);
			drop_connection(db);
			return r;
		}
		ps = PQconnectPoll(db->conn);
	}
	PQsetErrorVerbosity(db->conn, PQERRORS_DEFAULT);
	if (PQsetnonblocking(db->conn, 1) != 0) {
		r = fail(db, AG_ERR_UNAVAILABLE, "connect", PQerrorMessage(db->conn));
		drop_connection(db);
		return r;
	}
	return 0;
}

/* Maps a failed result to AG_ERR_*: what a retry can cure, what a missing
 * schema or right means, and the rest.  A result without an SQLSTATE is
 * libpq's own (the connection broke, or libpq ran out of memory while
 * reading the answer): what the server did is unknown -- it may have
 * prepared a statement that this side now believes missing -- so the
 * connection is dropped, and the next use opens a fresh one. */
static int
result_error(struct ag_db *db, const PGresult *res, const char *what)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int code = AG_ERR_STORE;

	ag_strlcpy(db->sqlstate, state != NULL ? state : "", sizeof(db->sqlstate));
	if (msg == NULL)
		msg = db->conn != NULL ? PQerrorMessage(db->conn) : NULL;
	if (state == NULL)
		code = AG_ERR_UNAVAILABLE;
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		code = AG_ERR_RETRY;     /* serialization failure, deadlock */
	else if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
		code = AG_ERR_BUSY;      /* statement or lock timeout */
	else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		code = AG_ERR_UNAVAILABLE; /* connection exception, server shutdown */
	else if (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0 ||
	         strcmp(state, "42703") == 0)
		code = AG_ERR_SCHEMA;    /* undefined table, schema or column */
	else if (strcmp(state, "53100") == 0 || strcmp(state, "53200") == 0)
		code = AG_ERR_IO;        /* disk full, out of memory */
	code = fail(db, code, what, msg);
	if (state == NULL)
		drop_connection(db);
	return code;
}

/* Sends what is queued and collects the results of one command, within
 * the statement deadline.  Returns the last result (caller clears). */
static int
await(struct ag_db *db, const char *what, PGresult **resp)
{
	int64_t deadline = now_ms() + db->statement_timeout_ms + RESULT_GRACE_MS;
	PGresult *res, *last = NULL;
	int f, r;

	*resp = NULL;
	while ((f = PQflush(db->conn)) != 0) {
		if (f < 0)
			goto broken;
		if ((r = wait_socket(db, POLLIN | POLLOUT, deadline, what)) != 0)
			goto lost;
		if (!PQconsumeInput(db->conn))
			goto broken;
	}
	for (;;) {
		while (PQisBusy(db->conn)) {
			if ((r = wait_socket(db, POLLIN, deadline, what)) != 0)
				goto lost;
			if (!PQconsumeInput(db->conn))
				goto broken;
		}
		if ((res = PQgetResult(db->conn)) == NULL)
			break;
		PQclear(last);
		last = res;
	}
	if (last == NULL)
		goto broken;
	*resp = last;
	return 0;
broken:
	r = fail(db, AG_ERR_UNAVAILABLE, what, PQerrorMessage(db->conn));
lost:
	PQclear(last);
	drop_connection(db);
	return r;
}

/* Runs a command without parameters (BEGIN, COMMIT, ...). */
static int
simple(struct ag_db *db, const char *sql, const char *what)
{
	PGresult *res;
	int r;

	if (db->conn == NULL)
		return fail(db, AG_ERR_UNAVAILABLE, what, "not connected");
	if (!PQsendQuery(db->conn, sql)) {
		r = fail(db, AG_ERR_UNAVAILABLE, what, PQerrorMessage(db->conn));
		drop_connection(db);
		return r;
	}
	if ((r = await(db, what, &res)) != 0)
		return r;
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		r = result_error(db, res, what);
	PQclear(res);
	return r;
}

/* A usable connection: reconnects after a restart of the server. */
static int
ensure_connected(struct ag_db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	return connect_db(db);
}

/* ------------------------------------------------------------- the engine */

/* Every write transaction is SERIALIZABLE, so the store's operations,
 * written once for both engines, behave as they do on SQLite where
 * writers take turns: PostgreSQL aborts whichever of two conflicting
 * transactions would break that (a serialization failure), and the store
 * runs it again (op_txn.c).  Reads that need several statements to agree
 * take one snapshot. */
static int
pg_begin(struct ag_db *db, int write, int64_t wait_ms)
{
	int r;

	(void)wait_ms; /* statement_timeout bounds every wait here */
	db->errmsg[0] = '\0';
	if ((r = ensure_connected(db)) != 0)
		return r;
	if ((r = simple(db, write ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
	                          : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	                NULL)) != 0)
		return r;
	db->in_txn = 1;
	return 0;
}

static int
pg_commit(struct ag_db *db)
{
	int r;

	db->in_txn = 0;
	r = simple(db, "COMMIT", "commit");
	if (r == AG_ERR_UNAVAILABLE)
		/* The outcome of a commit whose answer was lost is unknown:
		 * never retried, reported as an error (the caller denies). */
		return fail(db, AG_ERR_UNAVAILABLE, "commit", "connection lost; outcome unknown");
	return r;
}

static void
pg_rollback(struct ag_db *db)
{
	if (!db->in_txn || db->conn == NULL)
		return;
	db->in_txn = 0;
	if (simple(db, "ROLLBACK", "rollback") != 0)
		drop_connection(db); /* the server ends the transaction with it */
}

/* ?N -> $N outside quotes; the texts are ours, so this needs no more. */
static int
rewrite_params(const char *in, char *out, size_t outsize, int *nparams)
{
	size_t o = 0;
	int quote = 0, max = 0;

	for (; *in != '\0'; in++) {
		if (o + 2 >= outsize)
			return AG_ERR_TOOLONG;
		if (*in == '\'')
			quote = !quote;
		if (*in == '?' && !quote) {
			int n = 0;

			out[o++] = '$';
			while (in[1] >= '0' && in[1] <= '9') {
				n = n * 10 + (in[1] - '0');
				if (o + 2 >= outsize)
					return AG_ERR_TOOLONG;
				out[o++] = *++in;
			}
			if (n < 1 || n > MAX_PARAMS)
				return AG_ERR_INVAL;
			if (n > max)
				max = n;
			continue;
		}
		out[o++] = *in;
	}
	out[o] = '\0';
	*nparams = max;
	return 0;
}

static void
clear_params(struct ag_db_stmt *s)
{
	int i;

	for (i = 0; i < MAX_PARAMS; i++) {
		free(s->owned[i]);
		s->owned[i] = NULL;
		s->values[i] = NULL;
		s->lengths[i] = 0;
		s->formats[i] = 0;
	}
}

static void
clear_result(struct ag_db_stmt *s)
{
	int i;

	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
	for (i = 0; i < MAX_COLS; i++) {
		free(s->text[i]);
		s->text[i] = NULL;
	}
}

static struct ag_db_stmt *
pg_stmt(struct ag_db *db, unsigned slot, const struct ag_sql *sql, int *errp)
{
	struct ag_db_stmt *s;
	const char *text;
	char buf[4096];
	int n, r;

	*errp = 0;
	if (slot >= AG_DB_SLOTS) {
		*errp = fail(db, AG_ERR_INVAL, "prepare", "statement slot out of range");
		return NULL;
	}
	if ((s = db->stmt[slot]) != NULL) {
		clear_result(s);
		clear_params(s);
		return s;
	}
	text = sql->pg != NULL ? sql->pg : sql->text;
	if ((r = rewrite_params(text, buf, sizeof(buf), &n)) != 0) {
		*errp = fail(db, r, "prepare", "malformed statement");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s) + strlen(buf) + 1)) == NULL) {
		*errp = fail(db, AG_ERR_NOMEM, "prepare", NULL);
		return NULL;
	}
	s->db = db;
	s->slot = slot;
	s->nparams = n;
	s->row = -1;
	memcpy(s->sql, buf, strlen(buf) + 1);
	db->stmt[slot] = s;
	return s;
}

static void
pg_bind_int64(struct ag_db_stmt *s, int i, int64_t v)
{
	if (i < 1 || i > MAX_PARAMS)
		return;
	free(s->owned[i - 1]);
	s->owned[i - 1] = NULL;
	snprintf(s->num[i - 1], sizeof(s->num[i - 1]), "%lld", (long long)v);
	s->values[i - 1] = s->num[i - 1];
	s->formats[i - 1] = 0;
}

static void
pg_bind_text(struct ag_db_stmt *s, int i, const char *v)
{
	if (i < 1 || i > MAX_PARAMS)
		return;
	free(s->owned[i - 1]);
	s->owned[i - 1] = NULL;
	s->formats[i - 1] = 0;
	s->values[i - 1] = v;
	if (v != NULL && ag_pg_text_needs_escape(v)) {
		/* Out of memory leaves the parameter NULL: the statement
		 * then fails on a NOT NULL column or matches nothing. */
		s->owned[i - 1] = ag_pg_text_escape(v);
		s->values[i - 1] = s->owned[i - 1];
	}
}

static void
pg_bind_blob(struct ag_db_stmt *s, int i, const void *p, size_t n)
{
	if (i < 1 || i > MAX_PARAMS || n > BLOB_MAX)
		return;
	free(s->owned[i - 1]);
	s->owned[i - 1] = NULL;
	s->values[i - 1] = p;
	s->lengths[i - 1] = (int)n;
	s->formats[i - 1] = 1; /* binary: the bytes as they are */
}

static int
prepare_on_server(struct ag_db_stmt *s)
{
	struct ag_db *db = s->db;
	PGresult *res;
	char name[16];
	int r;

	snprintf(name, sizeof(name), "ag%u", s->slot);
	if (!PQsendPrepare(db->conn, name, s->sql, s->nparams, NULL)) {
		r = fail(db, AG_ERR_UNAVAILABLE, "prepare", PQerrorMessage(db->conn));
		drop_connection(db);
		return r;
	}
	if ((r = await(db, "prepare", &res)) != 0)
		return r;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = result_error(db, res, "prepare");
	else
		s->prepared = 1;
	PQclear(res);
	return r;
}

static int
execute(struct ag_db_stmt *s)
{
	struct ag_db *db = s->db;
	PGresult *res;
	char name[16];
	int r;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		/* Outside a transaction a plain read may reconnect; inside
		 * one the transaction is gone and must be run again. */
		if (db->in_txn) {
			db->in_txn = 0;
			return fail(db, AG_ERR_RETRY, "statement", "connection lost");
		}
		if ((r = connect_db(db)) != 0)
			return r;
	}
	if (!s->prepared && (r = prepare_on_server(s)) != 0)
		return r == AG_ERR_UNAVAILABLE && db->in_txn ? AG_ERR_RETRY : r;
	snprintf(name, sizeof(name), "ag%u", s->slot);
	if (!PQsendQueryPrepared(db->conn, name, s->nparams, s->values, s->lengths, s->formats,
	                         0)) {
		r = fail(db, AG_ERR_UNAVAILABLE, "statement", PQerrorMessage(db->conn));
		drop_connection(db);
		return r;
	}
	if ((r = await(db, "statement", &res)) != 0) {
		/* Lost before COMMIT: nothing of this transaction was
		 * committed, so running it again is safe. */
		if (r == AG_ERR_UNAVAILABLE && db->in_txn) {
			db->in_txn = 0;
			return AG_ERR_RETRY;
		}
		return r;
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = result_error(db, res, NULL);
		PQclear(res);
		return r;
	}
	s->res = res;
	s->row = -1;
	{
		const char *n = PQcmdTuples(res);
		int64_t v = 0;

		db->changes = n != NULL && n[0] != '\0' && ag_parse_int64(n, 0, INT64_MAX, &v) == 0
		                  ? v : 0;
	}
	return 0;
}

static int
pg_step(struct ag_db_stmt *s)
{
	int r, i;

	if (s->res == NULL) {
		if ((r = execute(s)) != 0)
			return r;
	}
	for (i = 0; i < MAX_COLS; i++) {
		free(s->text[i]);
		s->text[i] = NULL;
	}
	s->row++;
	return s->row < PQntuples(s->res) ? 1 : 0;
}

static int
valid_cell(const struct ag_db_stmt *s, int i)
{
	return s->res != NULL && s->row >= 0 && s->row < PQntuples(s->res) && i >= 0 &&
	       i < PQnfields(s->res) && i < MAX_COLS;
}

static int
pg_col_is_null(struct ag_db_stmt *s, int i)
{
	return !valid_cell(s, i) || PQgetisnull(s->res, s->row, i);
}

static int64_t
pg_col_int64(struct ag_db_stmt *s, int i)
{
	int64_t v = 0;

	if (pg_col_is_null(s, i))
		return 0;
	if (ag_parse_int64(PQgetvalue(s->res, s->row, i), INT64_MIN, INT64_MAX, &v) != 0)
		return 0;
	return v;
}

static const char *
pg_col_text(struct ag_db_stmt *s, int i)
{
	const char *v;

	if (pg_col_is_null(s, i))
		return NULL;
	v = PQgetvalue(s->res, s->row, i);
	if (strchr(v, '\\') == NULL)
		return v;
	if (s->text[i] == NULL)
		s->text[i] = ag_pg_text_unescape(v);
	return s->text[i];
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* bytea in text format is "\x" and two hex digits per byte (the default
 * bytea_output since PostgreSQL 9.0). */
static const uint8_t *
pg_col_blob(struct ag_db_stmt *s, int i, size_t *n)
{
	const char *v;
	size_t len, k;

	*n = 0;
	if (pg_col_is_null(s, i))
		return NULL;
	v = PQgetvalue(s->res, s->row, i);
	len = strlen(v);
	if (len < 2 || v[0] != '\\' || v[1] != 'x' || (len - 2) % 2 != 0 ||
	    (len - 2) / 2 > BLOB_MAX)
		return NULL;
	for (k = 0; k < (len - 2) / 2; k++) {
		int hi = hexval(v[2 + 2 * k]), lo = hexval(v[3 + 2 * k]);

		if (hi < 0 || lo < 0)
			return NULL;
		s->blob[i][k] = (uint8_t)(hi << 4 | lo);
	}
	*n = k;
	return s->blob[i];
}

static int64_t
pg_changes(struct ag_db *db)
{
	return db->changes;
}

static const char *
pg_where(const struct ag_db *db)
{
	(void)db;
	return "postgresql";
}

static const char *
pg_detail(const struct ag_db *db)
{
	return db->errmsg;
}

static void
pg_reset(struct ag_db_stmt *s)
{
	clear_result(s);
}

static void
pg_close(struct ag_db *db)
{
	unsigned i;

	if (db == NULL)
		return;
	for (i = 0; i < AG_DB_SLOTS; i++) {
		if (db->stmt[i] == NULL)
			continue;
		clear_result(db->stmt[i]);
		clear_params(db->stmt[i]);
		free(db->stmt[i]);
	}
	if (db->conn != NULL)
		PQfinish(db->conn);
	explicit_bzero(db->conninfo, sizeof(db->conninfo));
	explicit_bzero(db->password, sizeof(db->password));
	free(db);
}

/* Wipes and frees what PQconninfoParse returned (it may hold a
 * password). */
static void
free_options(PQconninfoOption *opts)
{
	PQconninfoOption *o;

	if (opts == NULL)
		return;
	for (o = opts; o->keyword != NULL; o++)
		if (o->val != NULL)
			explicit_bzero(o->val, strlen(o->val));
	PQconninfoFree(opts);
}

/* Parses a connection string as libpq will (key=value pairs or a
 * postgresql:// URI).  libpq's reason for refusing one may quote any part
 * of it -- a URI in full, password included -- so it is never shown. */
static int
parse_conninfo(const char *conninfo, PQconninfoOption **optsp, char err[AG_ERRBUF])
{
	char *perr = NULL;

	*optsp = PQconninfoParse(conninfo, &perr);
	if (*optsp != NULL)
		return 0;
	if (perr == NULL) {
		snprintf(err, AG_ERRBUF, "postgresql: pg_conninfo: out of memory");
		return AG_ERR_NOMEM;
	}
	explicit_bzero(perr, strlen(perr));
	PQfreemem(perr);
	snprintf(err, AG_ERRBUF, "postgresql: pg_conninfo: not a valid libpq connection string "
	         "(key = value pairs, or a postgresql:// URI); libpq's reason is not shown, as it "
	         "may quote the password");
	return AG_ERR_CONFIG;
}

static const char *
option(const PQconninfoOption *opts, const char *keyword)
{
	for (; opts->keyword != NULL; opts++)
		if (strcmp(opts->keyword, keyword) == 0)
			return opts->val != NULL && opts->val[0] != '\0' ? opts->val : NULL;
	return NULL;
}

/* A host (or hostaddr) entry that leaves the machine: not empty (the
 * default socket), not a Unix-socket directory ("/..." or an abstract
 * "@..."), not the loopback. */
static int
remote_entry(const char *h, size_t n)
{
	static const char *const local[] = { "localhost", "127.0.0.1", "::1" };
	size_t i;

	if (n == 0 || h[0] == '/' || h[0] == '@')
		return 0;
	for (i = 0; i < AG_ARRAY_SIZE(local); i++)
		if (strlen(local[i]) == n && memcmp(h, local[i], n) == 0)
			return 0;
	return 1;
}

/* The first remote entry of a comma-separated host list into out. */
static int
remote_in(const char *list, char *out, size_t outsize)
{
	const char *p = list, *comma;
	size_t n;

	if (list == NULL)
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (remote_entry(p, n)) {
			snprintf(out, outsize, "%.*s", (int)(n < outsize ? n : outsize - 1), p);
			return 1;
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static int
pg_conn_facts(const struct ag_config *cfg, struct ag_db_conn_facts *f, char err[AG_ERRBUF])
{
	PQconninfoOption *opts = NULL;
	const char *v;
	int r;

	memset(f, 0, sizeof(*f));
	err[0] = '\0';
	if ((r = parse_conninfo(cfg->pg_conninfo, &opts, err)) != 0)
		return r;
	f->has_password = option(opts, "password") != NULL;
	f->remote = remote_in(option(opts, "hostaddr"), f->remote_host, sizeof(f->remote_host)) ||
	            remote_in(option(opts, "host"), f->remote_host, sizeof(f->remote_host));
	if ((v = option(opts, "sslmode")) != NULL)
		ag_strlcpy(f->sslmode, v, sizeof(f->sslmode));
	if ((v = option(opts, "passfile")) != NULL)
		ag_strlcpy(f->passfile, v, sizeof(f->passfile));
	free_options(opts);
	return 0;
}

static int
pg_open(const struct ag_config *cfg, int flags, struct ag_db **dbp, char err[AG_ERRBUF])
{
	struct ag_db *db;
	int r;

	*dbp = NULL;
	err[0] = '\0';
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, AG_ERRBUF, "postgresql: out of memory");
		return AG_ERR_NOMEM;
	}
	if (ag_strlcpy(db->conninfo, cfg->pg_conninfo, sizeof(db->conninfo)) != 0 ||
	    ag_strlcpy(db->schema, cfg->pg_schema, sizeof(db->schema)) != 0) {
		snprintf(err, AG_ERRBUF, "postgresql: connection settings too long");
		pg_close(db);
		return AG_ERR_CONFIG;
	}
	{
		PQconninfoOption *opts = NULL;
		const char *pw;

		if ((r = parse_conninfo(db->conninfo, &opts, err)) != 0) {
			pg_close(db);
			return r;
		}
		if ((pw = option(opts, "password")) != NULL)
			ag_strlcpy(db->password, pw, sizeof(db->password));
		free_options(opts);
	}
	db->connect_timeout_ms = cfg->pg_connect_timeout_ms;
	db->statement_timeout_ms = cfg->pg_statement_timeout_ms;
	/* libpq's own connect_timeout counts whole seconds per host, at
	 * least 2; ours (the poll deadline) is the one that holds. */
	snprintf(db->connect_timeout_s, sizeof(db->connect_timeout_s), "%lld",
	         (long long)(db->connect_timeout_ms + 999) / 1000 < 2
	             ? 2 : (long long)(db->connect_timeout_ms + 999) / 1000);
	snprintf(db->tcp_user_timeout, sizeof(db->tcp_user_timeout), "%lld",
	         (long long)(db->statement_timeout_ms + RESULT_GRACE_MS));
	if ((r = connect_db(db)) != 0 || (r = ag_pg_schema_open(db, flags)) != 0) {
		snprintf(err, AG_ERRBUF, "postgresql: %s",
		         db->errmsg[0] != '\0' ? db->errmsg : ag_strerror(r));
		pg_close(db);
		return r;
	}
	*dbp = db;
	return 0;
}

static int
pg_schema_version(struct ag_db *db)
{
	return db->version;
}

/* Exported under this one name (the module's only symbol). */
__attribute__((visibility("default"))) const struct ag_db_engine ag_db_postgresql = {
	.abi = AG_DB_ABI,
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.stmt = pg_stmt,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.reset = pg_reset,
	.col_is_null = pg_col_is_null,
	.col_int64 = pg_col_int64,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.changes = pg_changes,
	.where = pg_where,
	.detail = pg_detail,
	.check = ag_pg_schema_check,
	.schema_version = pg_schema_version,
	.schema_latest = ag_pg_schema_latest,
	.grant = ag_pg_schema_grant,
	.conn_facts = pg_conn_facts,
};

/* For pg_schema.c: runs sql (no parameters) and hands back the result. */
int
ag_pg_exec(struct ag_db *db, const char *sql, const char *what, PGresult **resp)
{
	PGresult *res;
	int r;

	*resp = NULL;
	db->sqlstate[0] = '\0';
	if ((r = ensure_connected(db)) != 0)
		return r;
	if (!PQsendQuery(db->conn, sql)) {
		r = fail(db, AG_ERR_UNAVAILABLE, what, PQerrorMessage(db->conn));
		drop_connection(db);
		return r;
	}
	if ((r = await(db, what, &res)) != 0)
		return r;
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = result_error(db, res, what);
		PQclear(res);
		return r;
	}
	*resp = res;
	return 0;
}

int
ag_pg_fail(struct ag_db *db, int code, const char *what, const char *msg)
{
	return fail(db, code, what, msg);
}
