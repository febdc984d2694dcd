/*
 * db_pg.c -- PostgreSQL behind the same cot_db calls (libpq).
 *
 * db.c routes every cot_db_* call here when db_init was given a
 * postgres:// or postgresql:// URL; handlers do not change. The shape
 * follows the SQLite side on purpose:
 *
 *  - one connection per worker thread, opened lazily on the thread's first
 *    call and closed when the thread exits. A connection found broken (the
 *    server restarted, a failover, a network cut) is reset before use, and
 *    a statement that failed because the connection dropped is run once
 *    more on the new connection -- unless a transaction was open, whose
 *    work is lost with the connection: that request gets 503.
 *  - prepared statements cached per connection, keyed by SQL text (never
 *    by pointer: a reloaded module may put other SQL at an old address).
 *  - "?" placeholders become "$1, $2, ..." through the planner's SQL lexer
 *    (migrate_lex), so a "?" inside a string, a quoted identifier or a
 *    comment stays; so do the jsonb operators "?|" and "?&"; "??" is how a
 *    handler writes jsonb's "?" operator; "?NNN" (SQLite's numbered form)
 *    becomes "$NNN". Dollar-quoted bodies ($$...$$) are not parsed. The
 *    rewriting is db_pg_sql.c's.
 *  - results are read in text format and typed by column type: integers
 *    (int2/4/8, oid) and booleans as integers, float4/8 and numeric as
 *    doubles, bytea as bytes, everything else as text; NULL stays NULL.
 *    Parameters go as text for the server to type from their context,
 *    blobs in binary as bytea (dbpg_prepare).
 *  - errors go through the one failure path (db_result.c), the status chosen by
 *    SQLSTATE: unique violation 409; not-null, foreign key, check and bad
 *    values (class 22) 422; serialization failure, deadlock, lock and
 *    statement timeouts and a lost connection 503 with Retry-After: 1;
 *    anything else 500.
 *
 * cot_db_last_id is what SQLite's last_insert_rowid is: the id of the row
 * the connection's last INSERT through cot_db_exec made. lastval() alone
 * is not that -- after `INSERT ... (id, ...) VALUES (100, ...)` it still
 * answers what an earlier INSERT drew from the sequence, another row's id.
 * So an INSERT run by cot_db_exec into a table whose primary key is one
 * integer column, without a RETURNING of its own, is prepared with
 * `RETURNING <that column>` appended (db_pg_sql.c, once per statement),
 * and the last row it returns is the id. For other INSERTs lastval() is
 * asked; where no sequence was used it fails the request and says to use
 * RETURNING, which is what portable code does anyway.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h> /* the cell types of db_internal.h: SQLITE_INTEGER, ... */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "arena.h"
#include "ctx.h"
#include "db_internal.h"
#include "db_pg.h"

#define PG_BUCKETS   64
#define PG_MAX_STMTS 256

/* PostgreSQL type oids (pg_type.dat) the reader gives a C type. */
enum {
	PG_BOOL = 16,
	PG_BYTEA = 17,
	PG_INT8 = 20,
	PG_INT2 = 21,
	PG_INT4 = 23,
	PG_OID = 26,
	PG_FLOAT4 = 700,
	PG_FLOAT8 = 701,
	PG_NUMERIC = 1700,
};

typedef struct pg_stmt {
	char *sql;
	unsigned long long blobs; /* the parameters prepared as bytea (bit i: $i+1) */
	char name[24];
	int nparams;
	bool for_exec;   /* prepared for cot_db_exec: part of the key */
	bool returns_id; /* RETURNING <primary key> appended (db_pg_sql.c) */
	struct pg_stmt *next;
} pg_stmt;

typedef struct pg_conn {
	PGconn *pg;
	pg_stmt *buckets[PG_BUCKETS];
	int nstmts;
	unsigned serial;   /* names prepared statements cot_1, cot_2, ... */
	long long changes; /* rows the last statement changed */
	long long last_id; /* the id the last INSERT returned, when last_id_set */
	bool last_id_set;
	const cot_ctx *tx_ctx; /* the request that opened the transaction */
	char tx_request[33];
	bool replay_tx; /* replay: the handler's own transaction is open */
	LIST_ENTRY(pg_conn) link;
} pg_conn;

static pthread_mutex_t pg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t pg_key;
static pthread_once_t pg_key_once = PTHREAD_ONCE_INIT;
static char *pg_url;
static LIST_HEAD(, pg_conn) pg_conns = LIST_HEAD_INITIALIZER(pg_conns);

/* ==== connections ====================================================== */

PGconn *
dbpg_connect(const char *url, char **err)
{
	PGconn *pg = PQconnectdb(url);
	if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
		return pg;
	const char *why = pg ? PQerrorMessage(pg) : "out of memory";
	size_t n = strlen(why);
	while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
		n--;
	if (asprintf(err, "cannot connect to PostgreSQL: %.*s", (int)n, why) < 0)
		*err = NULL;
	PQfinish(pg);
	return NULL;
}

static void
dbpg_cache_flush(pg_conn *k)
{
	for (int b = 0; b < PG_BUCKETS; b++) {
		while (k->buckets[b] != NULL) {
			pg_stmt *s = k->buckets[b];
			k->buckets[b] = s->next;
			free(s->sql);
			free(s);
		}
	}
	k->nstmts = 0;
}

static void
dbpg_conn_close(pg_conn *k)
{
	dbpg_cache_flush(k);
	PQfinish(k->pg);
	free(k);
}

static void
dbpg_thread_exit(void *p)
{
	pg_conn *k = p;
	pthread_mutex_lock(&pg_lock);
	LIST_REMOVE(k, link);
	pthread_mutex_unlock(&pg_lock);
	dbpg_conn_close(k);
}

static void
dbpg_key_create(void)
{
	pthread_key_create(&pg_key, dbpg_thread_exit);
}

int
dbpg_init(const char *url, char *err, size_t errlen)
{
	pthread_once(&pg_key_once, dbpg_key_create);
	char *why = NULL;
	PGconn *pg = dbpg_connect(url, &why);
	if (pg == NULL) {
		snprintf(err, errlen, "%s", why ? why : "cannot connect to PostgreSQL");
		free(why);
		return -1;
	}
	PQfinish(pg);
	pthread_mutex_lock(&pg_lock);
	free(pg_url);
	pg_url = strdup(url);
	pthread_mutex_unlock(&pg_lock);
	return pg_url != NULL ? 0 : -1;
}

void
dbpg_shutdown(void)
{
	pthread_mutex_lock(&pg_lock);
	pg_conn *k;
	while ((k = LIST_FIRST(&pg_conns)) != NULL) {
		LIST_REMOVE(k, link);
		dbpg_conn_close(k);
	}
	free(pg_url);
	pg_url = NULL;
	pthread_mutex_unlock(&pg_lock);
	pthread_once(&pg_key_once, dbpg_key_create);
	pthread_setspecific(pg_key, NULL);
}

/* Whether the connection is usable; a broken one is reset (its prepared
 * statements and any transaction are gone with it). */
static int
dbpg_conn_alive(pg_conn *k)
{
	if (PQstatus(k->pg) == CONNECTION_OK)
		return 1;
	dbpg_cache_flush(k);
	k->tx_ctx = NULL;
	PQreset(k->pg);
	return PQstatus(k->pg) == CONNECTION_OK;
}

/* The calling thread's connection, opened on first use; NULL + *err. */
static pg_conn *
dbpg_conn_get(char **err)
{
	pthread_once(&pg_key_once, dbpg_key_create);
	pg_conn *k = pthread_getspecific(pg_key);
	if (k != NULL) {
		if (dbpg_conn_alive(k))
			return k;
		*err = strdup("the connection to PostgreSQL was lost and cannot be reopened");
		return NULL;
	}
	pthread_mutex_lock(&pg_lock);
	char *url = pg_url ? strdup(pg_url) : NULL;
	pthread_mutex_unlock(&pg_lock);
	if (url == NULL) {
		*err = strdup("no database configured (db_init was not called)");
		return NULL;
	}
	PGconn *pg = dbpg_connect(url, err);
	free(url);
	if (pg == NULL)
		return NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		PQfinish(pg);
		*err = strdup("out of memory");
		return NULL;
	}
	k->pg = pg;
	pthread_mutex_lock(&pg_lock);
	LIST_INSERT_HEAD(&pg_conns, k, link);
	pthread_mutex_unlock(&pg_lock);
	pthread_setspecific(pg_key, k);
	return k;
}

static int
dbpg_in_tx(const pg_conn *k)
{
	return PQtransactionStatus(k->pg) != PQTRANS_IDLE;
}

/* ==== failures ========================================================= */

/* The HTTP status for a SQLSTATE; *retry when trying again may work. */
static int
dbpg_status_for(const char *state, int *retry)
{
	*retry = 0;
	if (state == NULL)
		return (*retry = 1), 503; /* no answer: the connection went */
	if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0)
		return 409;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return 422;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 ||
	    strcmp(state, "53300") == 0)
		return (*retry = 1), 503;
	return 500;
}

/* Fails the request, rolling back its transaction on this connection. */
static void
dbpg_fail(cot_ctx *c, pg_conn *k, const char *where, const char *sql, int status, const char *msg)
{
	if (c->db_failed)
		return;
	if (k != NULL && PQstatus(k->pg) == CONNECTION_OK && dbpg_in_tx(k))
		PQclear(PQexec(k->pg, "ROLLBACK"));
	if (k != NULL) {
		k->tx_ctx = NULL;
		k->replay_tx = false;
	}
	db_fail_request(c, where, sql, status, msg);
}

/* Fails the request with r's error (r may be NULL: the connection went). */
static void
dbpg_fail_result(cot_ctx *c, pg_conn *k, const char *where, const char *sql, const PGresult *r)
{
	int retry;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL)
		msg = PQerrorMessage(k->pg);
	int status = dbpg_status_for(state, &retry);
	char *text = arena_strdup(&c->mem, msg && *msg ? msg : "the database did not answer");
	for (size_t n = strlen(text); n > 0 && text[n - 1] == '\n'; n--)
		text[n - 1] = '\0';
	if (retry && !c->db_failed)
		cot_set_header(c, "Retry-After", "1");
	dbpg_fail(c, k, where, sql, status, text);
}

/* A transaction another request left open on this thread's connection. */
static void
dbpg_drop_stale_tx(cot_ctx *c, pg_conn *k)
{
	if (!dbpg_in_tx(k))
		return;
	if (k->tx_ctx == c && strcmp(k->tx_request, c->request_id) == 0)
		return;
	fprintf(stderr, "cot: rolled back a transaction left open by request %s\n", k->tx_request);
	PQclear(PQexec(k->pg, "ROLLBACK"));
	k->tx_ctx = NULL;
}

static pg_conn *
dbpg_for_request(cot_ctx *c, const char *where)
{
	if (c->db_failed)
		return NULL;
	char *err = NULL;
	pg_conn *k = dbpg_conn_get(&err);
	if (k == NULL) {
		cot_set_header(c, "Retry-After", "1");
		db_fail_request(c, where, NULL, 503,
		                err ? arena_strdup(&c->mem, err) : "cannot reach the database");
		free(err);
		return NULL;
	}
	dbpg_drop_stale_tx(c, k);
	if (c->db_replay && k->tx_ctx != c) {
		/* dev replay: the whole request in one transaction that
		 * dbpg_request_end rolls back (as db.c does for SQLite) */
		PGresult *r = PQexec(k->pg, "BEGIN");
		if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK) {
			k->tx_ctx = c;
			k->replay_tx = false;
			snprintf(k->tx_request, sizeof(k->tx_request), "%s", c->request_id);
		}
		PQclear(r);
	}
	return k;
}

/* ==== statements ======================================================= */

static unsigned
dbpg_hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % PG_BUCKETS;
}

/* Which of the first 64 parameters are blobs. */
static unsigned long long
dbpg_blob_mask(int n, const cot_value *params)
{
	unsigned long long m = 0;
	for (int i = 0; i < n && i < 64; i++)
		if (params[i].type == COT_VALUE_BLOB)
			m |= 1ull << i;
	return m;
}

/*
 * The cached statement for sql, prepared on first use; NULL + *res (the
 * failed result, or NULL when the connection went). Parameters are left
 * for the server to type from their context ("id = $1": bigint), as text,
 * but for blobs: their bytes go in binary, which only bytea reads as bytes
 * ("SELECT $1" would take them for text, and a 0 byte is not text). So
 * `blobs` says which parameters are prepared as bytea, and is part of the
 * statement's key with the SQL text.
 */

static pg_stmt *
dbpg_prepare(pg_conn *k, const char *sql, unsigned long long blobs, bool for_exec, PGresult **res)
{
	unsigned b = dbpg_hash(sql);
	*res = NULL;
	for (pg_stmt *s = k->buckets[b]; s != NULL; s = s->next)
		if (s->blobs == blobs && s->for_exec == for_exec && strcmp(s->sql, sql) == 0)
			return s;
	if (k->nstmts >= PG_MAX_STMTS) {
		dbpg_cache_flush(k);
		PQclear(PQexec(k->pg, "DEALLOCATE ALL"));
	}
	pg_stmt *s = calloc(1, sizeof(*s));
	int n;
	char *text = dbpg_placeholders(sql, &n);
	if (for_exec)
		text = dbpg_with_returning(k->pg, sql, text, &s->returns_id);
	s->for_exec = for_exec;
	snprintf(s->name, sizeof(s->name), "cot_%u", ++k->serial);
	Oid types[64] = {0};
	int ntypes = 0;
	for (int i = 0; i < 64 && i < n; i++) /* n: more would add parameters */
		if (blobs & (1ull << i)) {
			types[i] = PG_BYTEA;
			ntypes = i + 1;
		}
	PGresult *r = PQprepare(k->pg, s->name, text, ntypes, ntypes ? types : NULL);
	free(text);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		*res = r;
		free(s);
		return NULL;
	}
	PQclear(r);
	r = PQdescribePrepared(k->pg, s->name);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		*res = r;
		free(s);
		return NULL;
	}
	s->nparams = PQnparams(r);
	PQclear(r);
	s->sql = strdup(sql);
	s->blobs = blobs;
	s->next = k->buckets[b];
	k->buckets[b] = s;
	k->nstmts++;
	return s;
}

/* Parameter texts for PQexecPrepared; -1 after failing the request. */
static int
dbpg_params(cot_ctx *c, pg_conn *k, const char *where, const char *sql, int n,
            const cot_value *params, const char **vals, int *lens, int *fmts)
{
	for (int i = 0; i < n; i++) {
		const cot_value *v = &params[i];
		lens[i] = 0;
		fmts[i] = 0;
		switch (v->type) {
		case COT_VALUE_NULL:
			vals[i] = NULL;
			break;
		case COT_VALUE_INT:
			vals[i] = arena_printf(&c->mem, "%lld", (long long)v->u.i);
			break;
		case COT_VALUE_DOUBLE:
			vals[i] = arena_printf(&c->mem, "%.17g", v->u.d);
			break;
		case COT_VALUE_TEXT:
			vals[i] = v->u.s;
			break;
		case COT_VALUE_BLOB:
			vals[i] = v->u.b.p ? (const char *)v->u.b.p : "";
			lens[i] = (int)v->u.b.n;
			fmts[i] = 1; /* binary: bytea as is */
			break;
		default:
			dbpg_fail(c, k, where, sql, 500,
			          arena_printf(&c->mem,
			                       "parameter %d: "
			                       "unsigned value %llu does not fit a 64-bit integer",
			                       i + 1, (unsigned long long)v->u.i));
			return -1;
		}
	}
	return 0;
}

/* Whether a failure is worth one more try on a fresh connection or plan:
 * the connection dropped, or the server forgot or invalidated our
 * prepared statement (a schema change: "cached plan must not change
 * result type"). Never inside a transaction, whose work would be lost. */
static int
dbpg_retryable(pg_conn *k, const PGresult *r, int in_tx)
{
	if (in_tx)
		return 0;
	if (PQstatus(k->pg) != CONNECTION_OK)
		return 1;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return state != NULL && (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0);
}

/* Runs sql with params; the result (PQclear it), or NULL after failing
 * the request. */
static PGresult *
dbpg_run(cot_ctx *c, pg_conn **kp, const char *where, const char *sql, int n,
         const cot_value *params, bool for_exec)
{
	pg_conn *k = *kp = dbpg_for_request(c, where);
	if (k == NULL)
		return NULL;
	if (sql == NULL) {
		dbpg_fail(c, k, where, NULL, 500, "the SQL is NULL");
		return NULL;
	}
	const char **vals = arena_alloc(&c->mem, sizeof(char *) * (size_t)(n + 1));
	int *lens = arena_alloc(&c->mem, sizeof(int) * (size_t)(n + 1));
	int *fmts = arena_alloc(&c->mem, sizeof(int) * (size_t)(n + 1));
	if (dbpg_params(c, k, where, sql, n, params, vals, lens, fmts) != 0)
		return NULL;
	for (int attempt = 0;; attempt++) {
		int in_tx = dbpg_in_tx(k);
		PGresult *r = NULL;
		pg_stmt *s = dbpg_prepare(k, sql, dbpg_blob_mask(n, params), for_exec, &r);
		if (s != NULL && s->nparams != n) {
			dbpg_fail(c, k, where, sql, 500,
			          arena_printf(&c->mem,
			                       "the SQL has %d "
			                       "parameter%s, the call passes %d",
			                       s->nparams, s->nparams == 1 ? "" : "s", n));
			return NULL;
		}
		if (s != NULL)
			r = PQexecPrepared(k->pg, s->name, n, vals, lens, fmts, 0);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			const char *t = PQcmdTuples(r);
			k->changes = t && *t ? atoll(t) : 0;
			if (s->returns_id && PQntuples(r) > 0) { /* 0: ON CONFLICT DO NOTHING */
				k->last_id = atoll(PQgetvalue(r, PQntuples(r) - 1, 0));
				k->last_id_set = true;
			} else if (!s->returns_id && strncmp(PQcmdStatus(r), "INSERT", 6) == 0) {
				k->last_id_set = false; /* an id from lastval(), if any */
			}
			return r;
		}
		if (attempt == 0 && dbpg_retryable(k, r, in_tx)) {
			PQclear(r);
			dbpg_cache_flush(k); /* stale or lost statements */
			if (!dbpg_conn_alive(k))
				break;
			continue;
		}
		dbpg_fail_result(c, k, where, sql, r);
		PQclear(r);
		return NULL;
	}
	dbpg_fail_result(c, k, where, sql, NULL);
	return NULL;
}

/* ==== rows ============================================================= */

static const db_cols *
dbpg_columns(cot_ctx *c, const PGresult *r)
{
	db_cols *cols = arena_alloc(&c->mem, sizeof(*cols));
	cols->n = PQnfields(r);
	cols->names = arena_alloc(&c->mem, sizeof(char *) * (size_t)(cols->n + 1));
	for (int i = 0; i < cols->n; i++)
		cols->names[i] = arena_strdup(&c->mem, PQfname(r, i));
	return cols;
}

/* One cell, typed by its column's type. */
static void
dbpg_cell(cot_ctx *c, const PGresult *r, int row, int col, db_cell *cell)
{
	const char *v = PQgetvalue(r, row, col);
	char *end;
	if (PQgetisnull(r, row, col)) {
		cell->type = SQLITE_NULL;
		return;
	}
	switch (PQftype(r, col)) {
	case PG_BOOL:
		cell->type = SQLITE_INTEGER;
		cell->i = v[0] == 't';
		return;
	case PG_INT2:
	case PG_INT4:
	case PG_INT8:
	case PG_OID:
		cell->type = SQLITE_INTEGER;
		cell->i = strtoll(v, NULL, 10);
		return;
	case PG_FLOAT4:
	case PG_FLOAT8:
	case PG_NUMERIC:
		cell->d = strtod(v, &end);
		if (*end == '\0') {
			cell->type = SQLITE_FLOAT;
			return;
		}
		break; /* NaN spelled otherwise, or too long: keep the text */
	case PG_BYTEA: {
		size_t n = 0;
		unsigned char *b = PQunescapeBytea((const unsigned char *)v, &n);
		cell->type = SQLITE_BLOB;
		cell->n = b ? n : 0;
		cell->s = arena_strndup(&c->mem, b ? (const char *)b : "", cell->n);
		PQfreemem(b);
		return;
	}
	}
	cell->type = SQLITE_TEXT;
	cell->n = (size_t)PQgetlength(r, row, col);
	cell->s = arena_strndup(&c->mem, v, cell->n);
}

static cot_row *
dbpg_row(cot_ctx *c, const PGresult *r, int row, const db_cols *cols)
{
	cot_row *out = arena_alloc(&c->mem, sizeof(*out));
	out->c = c;
	out->cols = cols;
	out->cells = arena_alloc(&c->mem, sizeof(db_cell) * (size_t)(cols->n + 1));
	memset(out->cells, 0, sizeof(db_cell) * (size_t)(cols->n + 1));
	for (int i = 0; i < cols->n; i++)
		dbpg_cell(c, r, row, i, &out->cells[i]);
	return out;
}

/* ==== the cot_db calls ================================================= */

cot_row *
dbpg_one(cot_ctx *c, const char *where, const char *sql, int n, const cot_value *params)
{
	pg_conn *k;
	PGresult *r = dbpg_run(c, &k, where, sql, n, params, false);
	if (r == NULL)
		return NULL;
	cot_row *row = PQntuples(r) > 0 ? dbpg_row(c, r, 0, dbpg_columns(c, r)) : NULL;
	PQclear(r);
	return row;
}

void
dbpg_all(cot_ctx *c, const char *where, const char *sql, int n, const cot_value *params,
         cot_rows *rs)
{
	pg_conn *k;
	PGresult *r = dbpg_run(c, &k, where, sql, n, params, false);
	if (r == NULL)
		return;
	rs->cols = dbpg_columns(c, r);
	for (int i = 0; i < PQntuples(r); i++)
		db_rows_push(rs, dbpg_row(c, r, i, rs->cols));
	PQclear(r);
}

long long
dbpg_exec(cot_ctx *c, const char *where, const char *sql, int n, const cot_value *params)
{
	pg_conn *k;
	PGresult *r = dbpg_run(c, &k, where, sql, n, params, true);
	if (r == NULL)
		return -1;
	PQclear(r);
	return k->changes;
}

long long
dbpg_last_id(cot_ctx *c)
{
	pg_conn *k = dbpg_for_request(c, "cot_db_last_id");
	if (k == NULL)
		return 0;
	if (k->last_id_set)
		return k->last_id;
	PGresult *r = PQexec(k->pg, "SELECT lastval()");
	long long id = 0;
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		id = atoll(PQgetvalue(r, 0, 0));
	} else {
		dbpg_fail(
		        c, k, "cot_db_last_id", NULL, 500,
		        "cot_db_last_id: no INSERT on this "
		        "connection drew an id from a sequence (an identity or serial column); on "
		        "PostgreSQL write INSERT ... RETURNING id and read it with cot_db_one");
	}
	PQclear(r);
	return id;
}

long long
dbpg_changes(cot_ctx *c)
{
	pg_conn *k = dbpg_for_request(c, "cot_db_changes");
	return k ? k->changes : 0;
}

int
dbpg_tx(cot_ctx *c, const char *fn, const char *sql)
{
	pg_conn *k = dbpg_for_request(c, fn);
	if (k == NULL)
		return -1;
	bool begin = strcmp(sql, "BEGIN") == 0;
	if (c->db_replay) { /* a savepoint inside the replay's transaction */
		if (begin == k->replay_tx) {
			dbpg_fail(c, k, fn, NULL, 500,
			          begin ? "a transaction is already open"
			                : "no transaction is open");
			return -1;
		}
		sql = begin                        ? "SAVEPOINT cot_tx"
		      : strcmp(sql, "COMMIT") == 0 ? "RELEASE cot_tx"
		                                   : "ROLLBACK TO cot_tx; RELEASE cot_tx";
	} else if (begin == dbpg_in_tx(k)) {
		dbpg_fail(c, k, fn, NULL, 500,
		          begin ? "a transaction is already open" : "no transaction is open");
		return -1;
	}
	PGresult *r = PQexec(k->pg, sql);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		dbpg_fail_result(c, k, fn, sql, r);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (c->db_replay) {
		k->replay_tx = begin;
		return 0;
	}
	k->tx_ctx = begin ? c : NULL;
	if (begin)
		snprintf(k->tx_request, sizeof(k->tx_request), "%s", c->request_id);
	return 0;
}

void
dbpg_request_end(cot_ctx *c)
{
	pthread_once(&pg_key_once, dbpg_key_create);
	pg_conn *k = pthread_getspecific(pg_key);
	if (k == NULL || k->tx_ctx != c || PQstatus(k->pg) != CONNECTION_OK || !dbpg_in_tx(k))
		return;
	PQclear(PQexec(k->pg, "ROLLBACK"));
	k->tx_ctx = NULL;
	k->replay_tx = false;
}

int
dbpg_ping(char *err, size_t errlen)
{
	char *why = NULL;
	pg_conn *k = dbpg_conn_get(&why);
	if (k == NULL) {
		snprintf(err, errlen, "%s", why ? why : "cannot reach the database");
		free(why);
		return -1;
	}
	PGresult *r = PQexec(k->pg, "SELECT 1");
	if ((r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) && !dbpg_in_tx(k) &&
	    dbpg_conn_alive(k)) { /* the server restarted since the last call */
		PQclear(r);
		r = PQexec(k->pg, "SELECT 1");
	}
	int ok = r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(err, errlen, "%s", PQerrorMessage(k->pg));
	PQclear(r);
	for (size_t n = strlen(err); !ok && n > 0 && err[n - 1] == '\n'; n--)
		err[n - 1] = '\0';
	return ok ? 0 : -1;
}

int
dbpg_cached_statements(void)
{
	pthread_once(&pg_key_once, dbpg_key_create);
	pg_conn *k = pthread_getspecific(pg_key);
	return k != NULL ? k->nstmts : 0;
}
