/*
 * db.c -- SQLite for handlers: a request's statements -- typed
 * parameters, rows that belong to the request, failures, transactions.
 *
 * The thread's connection and its cache of prepared statements are
 * db_conn.c's.
 *
 * Parameters arrive as cot_value arrays that cot.h's _Generic macros build,
 * so a wrong C type is a compile error and an unsigned value too large for
 * SQLite's integer is a clear run-time error. Results are copied into the
 * request's arena at once, the statement is reset before the call returns:
 * nothing a handler holds points into SQLite.
 *
 * A failing statement fails the request through db_result.c (the error
 * pipeline) and records reject_status, which the server re-applies after
 * the handler returned, so a `return cot_fail(c, 404, ...)` after a NULL
 * row cannot hide a SQL error. Two ways out, both the handler's explicit
 * choice: after a constraint failure (409/422) an error response of its
 * own stands (server_dispatch.c), and cot_db_catch takes any failure over.
 *
 * PostgreSQL: db_init with a postgres:// URL sends every call below to
 * db_pg.c, which fills the same rows; the column getters and the request's
 * failure (db_result.c) serve both.
 *
 * Rows as JSON (cot_row_json, cot_db_json_*) live in db_json.c; the row
 * layout both files read is in db_internal.h.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ctx.h"
#include "db.h"
#include "db_conn.h"
#include "db_internal.h"
#include "db_pg.h"
#include "monotonic.h"

void (*db_statement_hook)(cot_ctx *c, const char *sql, int n, const cot_value *params,
                          long long rows, double ms);

/* ==== failures ========================================================= */

/* The HTTP status a SQLite result code stands for. */
static int
db_status_for(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_ROWID:
		return 409;
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_FOREIGNKEY:
	case SQLITE_CONSTRAINT_DATATYPE:
		return 422;
	}
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return 422;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return 503;
	default:
		return 500;
	}
}

/*
 * Fails the request with `msg` (copied): the response is the error now, and
 * reject_status makes the server answer it even if the handler goes on to
 * return something else. An open transaction of the request is rolled back.
 */
static void
db_fail(cot_ctx *c, db_conn *k, const char *where, const char *sql, int status, const char *msg)
{
	if (c->db_failed)
		return;
	if (k != NULL && !sqlite3_get_autocommit(k->db))
		sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
	if (k != NULL) {
		k->tx_ctx = NULL;
		k->replay_tx = false;
	}
	db_fail_request(c, where, sql, status, msg);
}

/*
 * Every handler call on the database starts here: a call may leave a
 * transaction of c's open on this thread's connection (cot_db_begin, or a
 * dev replay's first statement), so c's end must run db_request_end --
 * registered with the request, since ctx.c does not know the database.
 * Returns whether the engine is PostgreSQL (db_pg.c).
 */
static bool
db_attach(cot_ctx *c)
{
	ctx_on_free(c, db_request_end);
	return db_engine_is_pg();
}

/* A transaction another request left open on this thread's connection. */
static void
db_drop_stale_tx(cot_ctx *c, db_conn *k)
{
	if (sqlite3_get_autocommit(k->db))
		return;
	if (k->tx_ctx == c && strcmp(k->tx_request, c->request_id) == 0)
		return;
	fprintf(stderr, "cot: rolled back a transaction left open by request %s\n", k->tx_request);
	sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
	k->tx_ctx = NULL;
}

/*
 * Dev replay (devserver/console_replay.c): the request runs inside one
 * transaction that db_request_end rolls back, so nothing it writes sticks;
 * the handler's own begin/commit/rollback become a savepoint inside it.
 */
static void
db_replay_begin(cot_ctx *c, db_conn *k)
{
	if (sqlite3_exec(k->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return; /* db_tx and the statements fail on their own */
	k->tx_ctx = c;
	k->replay_tx = false;
	snprintf(k->tx_request, sizeof(k->tx_request), "%s", c->request_id);
}

/* The request's connection, or NULL after failing the request. */
static db_conn *
db_for_request(cot_ctx *c, const char *where)
{
	if (c->db_failed)
		return NULL;
	char *err = NULL;
	db_conn *k = db_conn_get(&err);
	if (k == NULL) {
		db_fail(c, NULL, where, NULL, 500, err ? err : "cannot open the database");
		free(err);
		return NULL;
	}
	db_drop_stale_tx(c, k);
	if (c->db_replay && k->tx_ctx != c)
		db_replay_begin(c, k);
	return k;
}

/* ==== running statements =============================================== */

/* Binds params to st; fails the request on a count or value problem. */
static int
db_bind(cot_ctx *c, db_conn *k, sqlite3_stmt *st, const char *where, const char *sql, int n,
        const cot_value *params)
{
	int want = sqlite3_bind_parameter_count(st);
	if (want != n) {
		db_fail(c, k, where, sql, 500,
		        arena_printf(&c->mem,
		                     "the SQL has %d "
		                     "parameter%s, the call passes %d",
		                     want, want == 1 ? "" : "s", n));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const cot_value *v = &params[i];
		int rc;
		switch (v->type) {
		case COT_VALUE_NULL:
			rc = sqlite3_bind_null(st, i + 1);
			break;
		case COT_VALUE_INT:
			rc = sqlite3_bind_int64(st, i + 1, v->u.i);
			break;
		case COT_VALUE_DOUBLE:
			rc = sqlite3_bind_double(st, i + 1, v->u.d);
			break;
		case COT_VALUE_TEXT:
			rc = sqlite3_bind_text(st, i + 1, v->u.s, -1, SQLITE_TRANSIENT);
			break;
		case COT_VALUE_BLOB:
			rc = sqlite3_bind_blob64(st, i + 1, v->u.b.p, v->u.b.n, SQLITE_TRANSIENT);
			break;
		default:
			db_fail(c, k, where, sql, 500,
			        arena_printf(
			                &c->mem,
			                "parameter %d: "
			                "unsigned value %llu does not fit SQLite's 64-bit integer",
			                i + 1, (unsigned long long)v->u.i));
			return -1;
		}
		if (rc != SQLITE_OK) {
			db_fail(c, k, where, sql, 500, sqlite3_errmsg(k->db));
			return -1;
		}
	}
	return 0;
}

/* Prepares and binds; NULL after failing the request. */
static sqlite3_stmt *
db_start(cot_ctx *c, db_conn **kp, const char *where, const char *sql, int n,
         const cot_value *params)
{
	db_conn *k = db_for_request(c, where);
	*kp = k;
	if (k == NULL)
		return NULL;
	if (sql == NULL) {
		db_fail(c, k, where, NULL, 500, "the SQL is NULL");
		return NULL;
	}
	char *err = NULL;
	sqlite3_stmt *st = db_prepare(k, sql, &err);
	if (st == NULL) {
		db_fail(c, k, where, sql, 500, err ? err : "cannot prepare");
		free(err);
		return NULL;
	}
	if (db_bind(c, k, st, where, sql, n, params) != 0) {
		sqlite3_clear_bindings(st);
		return NULL;
	}
	return st;
}

/* Ends a statement's use: reset, unbind, fail the request if rc says so. */
static int
db_finish(cot_ctx *c, db_conn *k, sqlite3_stmt *st, const char *where, const char *sql, int rc)
{
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		int ext = sqlite3_extended_errcode(k->db);
		char *msg = arena_strdup(&c->mem, sqlite3_errmsg(k->db));
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		db_fail(c, k, where, sql, db_status_for(ext), msg);
		return -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

/* Dev console: tells db_statement_hook (NULL in the export) what ran. */
static void
db_report(cot_ctx *c, const char *sql, int n, const cot_value *params, double t0, long long rows)
{
	if (db_statement_hook != NULL && sql != NULL)
		db_statement_hook(c, sql, n, params, rows, monotonic_ms() - t0);
}

static const char *
db_where(cot_ctx *c, const char *file, int line, const char *fn)
{
	return arena_printf(&c->mem, "%s:%d %s", file ? file : "?", line, fn);
}

/* ==== rows ============================================================= */

static const db_cols *
db_columns(cot_ctx *c, sqlite3_stmt *st)
{
	db_cols *cols = arena_alloc(&c->mem, sizeof(*cols));
	cols->n = sqlite3_column_count(st);
	cols->names = arena_alloc(&c->mem, sizeof(char *) * (size_t)(cols->n + 1));
	for (int i = 0; i < cols->n; i++) {
		const char *name = sqlite3_column_name(st, i);
		cols->names[i] = arena_strdup(&c->mem, name ? name : "");
	}
	return cols;
}

/* Copies the statement's current row into the request's arena. */
static cot_row *
db_read_row(cot_ctx *c, sqlite3_stmt *st, const db_cols *cols)
{
	cot_row *r = arena_alloc(&c->mem, sizeof(*r));
	r->c = c;
	r->cols = cols;
	r->cells = arena_alloc(&c->mem, sizeof(db_cell) * (size_t)(cols->n + 1));
	for (int i = 0; i < cols->n; i++) {
		db_cell *cell = &r->cells[i];
		cell->type = sqlite3_column_type(st, i);
		switch (cell->type) {
		case SQLITE_INTEGER:
			cell->i = sqlite3_column_int64(st, i);
			break;
		case SQLITE_FLOAT:
			cell->d = sqlite3_column_double(st, i);
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB: {
			const void *p = cell->type == SQLITE_TEXT
			                        ? (const void *)sqlite3_column_text(st, i)
			                        : sqlite3_column_blob(st, i);
			cell->n = (size_t)sqlite3_column_bytes(st, i);
			cell->s = arena_strndup(&c->mem, p ? p : "", p ? cell->n : 0);
			break;
		}
		default:
			break;
		}
	}
	return r;
}

cot_row *
cot_db_one_at(cot_ctx *c, const char *file, int line, const char *sql, int n,
              const cot_value *params)
{
	db_conn *k;
	double t0 = db_statement_hook != NULL ? monotonic_ms() : 0;
	const char *where = db_where(c, file, line, "cot_db_one");
	if (db_attach(c)) {
		bool failed = c->db_failed;
		cot_row *r = dbpg_one(c, where, sql, n, params);
		db_report(c, sql, n, params, t0, !failed && c->db_failed ? -1 : r != NULL);
		return r;
	}
	sqlite3_stmt *st = db_start(c, &k, where, sql, n, params);
	if (st == NULL) {
		db_report(c, sql, n, params, t0, -1);
		return NULL;
	}
	int rc = sqlite3_step(st);
	cot_row *r = rc == SQLITE_ROW ? db_read_row(c, st, db_columns(c, st)) : NULL;
	/* run an INSERT ... RETURNING to completion, as cot_db_exec would */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	int done = db_finish(c, k, st, where, sql, rc);
	db_report(c, sql, n, params, t0, done == 0 ? r != NULL : -1);
	return done == 0 ? r : NULL;
}

cot_rows *
cot_db_all_at(cot_ctx *c, const char *file, int line, const char *sql, int n,
              const cot_value *params)
{
	cot_rows *rs = arena_alloc(&c->mem, sizeof(*rs));
	rs->c = c;
	db_conn *k;
	double t0 = db_statement_hook != NULL ? monotonic_ms() : 0;
	const char *where = db_where(c, file, line, "cot_db_all");
	if (db_attach(c)) {
		bool failed = c->db_failed;
		dbpg_all(c, where, sql, n, params, rs);
		db_report(c, sql, n, params, t0, !failed && c->db_failed ? -1 : rs->n);
		return rs;
	}
	sqlite3_stmt *st = db_start(c, &k, where, sql, n, params);
	if (st == NULL) {
		db_report(c, sql, n, params, t0, -1);
		return rs;
	}
	rs->cols = db_columns(c, st);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		db_rows_push(rs, db_read_row(c, st, rs->cols));
	if (db_finish(c, k, st, where, sql, rc) != 0)
		rs->n = -1;
	db_report(c, sql, n, params, t0, rs->n);
	if (rs->n < 0)
		rs->n = 0;
	return rs;
}

long long
cot_db_exec_at(cot_ctx *c, const char *file, int line, const char *sql, int n,
               const cot_value *params)
{
	db_conn *k;
	double t0 = db_statement_hook != NULL ? monotonic_ms() : 0;
	const char *where = db_where(c, file, line, "cot_db_exec");
	if (db_attach(c)) {
		long long changes = dbpg_exec(c, where, sql, n, params);
		db_report(c, sql, n, params, t0, changes);
		return changes;
	}
	sqlite3_stmt *st = db_start(c, &k, where, sql, n, params);
	long long changes = -1;
	if (st != NULL) {
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (db_finish(c, k, st, where, sql, rc) == 0)
			changes = sqlite3_changes64(k->db);
	}
	db_report(c, sql, n, params, t0, changes);
	return changes;
}

long long
cot_db_last_id(cot_ctx *c)
{
	if (db_attach(c))
		return dbpg_last_id(c);
	db_conn *k = db_for_request(c, "cot_db_last_id");
	return k ? sqlite3_last_insert_rowid(k->db) : 0;
}

long long
cot_db_changes(cot_ctx *c)
{
	if (db_attach(c))
		return dbpg_changes(c);
	db_conn *k = db_for_request(c, "cot_db_changes");
	return k ? sqlite3_changes64(k->db) : 0;
}

int
cot_db_failed(cot_ctx *c)
{
	return c->db_failed;
}

const cot_error *
cot_db_catch(cot_ctx *c)
{
	if (!c->db_failed)
		return NULL;
	cot_error *e = arena_alloc(&c->mem, sizeof(*e));
	*e = c->db_err;
	c->db_failed = false;
	if (c->reject_db) { /* the handler answers now */
		c->reject_status = 0;
		c->reject_detail = NULL;
		c->reject_code = NULL;
		c->reject_db = false;
	}
	return e;
}

/* ==== transactions ===================================================== */

/* db_tx inside a replay: the same answers, on a savepoint. */
static int
db_tx_replay(cot_ctx *c, db_conn *k, const char *fn, bool begin, const char *sql)
{
	if (begin == k->replay_tx) {
		db_fail(c, k, fn, NULL, 500,
		        begin ? "a transaction is already open" : "no transaction is open");
		return -1;
	}
	const char *sp = begin                            ? "SAVEPOINT cot_tx"
	                 : strncmp(sql, "COMMIT", 6) == 0 ? "RELEASE cot_tx"
	                                                  : "ROLLBACK TO cot_tx; RELEASE cot_tx";
	if (sqlite3_exec(k->db, sp, NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(c, k, fn, sql, db_status_for(sqlite3_extended_errcode(k->db)),
		        arena_strdup(&c->mem, sqlite3_errmsg(k->db)));
		return -1;
	}
	k->replay_tx = begin;
	return 0;
}

static int
db_tx(cot_ctx *c, const char *fn, const char *sql)
{
	db_conn *k = db_for_request(c, fn);
	if (k == NULL)
		return -1;
	bool begin = strncmp(sql, "BEGIN", 5) == 0;
	if (c->db_replay)
		return db_tx_replay(c, k, fn, begin, sql);
	if (begin == !sqlite3_get_autocommit(k->db)) {
		db_fail(c, k, fn, NULL, 500,
		        begin ? "a transaction is already open" : "no transaction is open");
		return -1;
	}
	if (sqlite3_exec(k->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		int ext = sqlite3_extended_errcode(k->db);
		db_fail(c, k, fn, sql, db_status_for(ext),
		        arena_strdup(&c->mem, sqlite3_errmsg(k->db)));
		return -1;
	}
	k->tx_ctx = begin ? c : NULL;
	if (begin)
		snprintf(k->tx_request, sizeof(k->tx_request), "%s", c->request_id);
	return 0;
}

int
cot_db_begin(cot_ctx *c)
{
	if (db_attach(c))
		return dbpg_tx(c, "cot_db_begin", "BEGIN");
	return db_tx(c, "cot_db_begin", "BEGIN IMMEDIATE");
}

int
cot_db_commit(cot_ctx *c)
{
	if (db_attach(c))
		return dbpg_tx(c, "cot_db_commit", "COMMIT");
	return db_tx(c, "cot_db_commit", "COMMIT");
}

int
cot_db_rollback(cot_ctx *c)
{
	if (db_attach(c))
		return dbpg_tx(c, "cot_db_rollback", "ROLLBACK");
	return db_tx(c, "cot_db_rollback", "ROLLBACK");
}

int
db_ping(char *err, size_t errlen)
{
	if (db_engine_is_pg())
		return dbpg_ping(err, errlen);
	char *why = NULL;
	db_conn *k = db_conn_get(&why);
	if (k == NULL) {
		snprintf(err, errlen, "%s", why ? why : "cannot open the database");
		free(why);
		return -1;
	}
	sqlite3_stmt *st = db_prepare(k, "SELECT count(*) FROM sqlite_schema", &why);
	int rc = st != NULL ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "%s", why ? why : sqlite3_errmsg(k->db));
		free(why);
	}
	if (st != NULL)
		sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

void
db_request_end(cot_ctx *c)
{
	if (db_engine_is_pg()) {
		dbpg_request_end(c);
		return;
	}
	db_conn *k = db_conn_current();
	if (k == NULL || sqlite3_get_autocommit(k->db) || k->tx_ctx != c)
		return;
	sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
	k->tx_ctx = NULL;
	k->replay_tx = false;
}
