/*
 * db.h -- what the dev server and the exported binary need from db.c beyond
 * the handler API in cot.h: where the database is, opening connections the
 * same way the runtime does, and the end of a request; and what render.c
 * needs from db_json.c: rows as jansson values.
 */
#ifndef COT_DB_H
#define COT_DB_H

#include <sqlite3.h>

#include "internal.h"

/* Sets the database every worker connection opens: a SQLite file
 * ("app.db" in the app directory in dev, --db PATH in export) or a
 * postgres:// URL (db_pg.c). Call once, before serving; checks that it
 * opens. Returns 0, or -1 with err filled. */
int db_init(const char *path, char *err, size_t errlen);

/* Whether db_init was given a PostgreSQL URL (postgres://...). */
bool db_engine_is_pg(void);

/* Closes every worker connection; call after the server has stopped. */
void db_shutdown(void);

/* Opens `path` the way worker connections are opened (WAL, busy timeout,
 * foreign keys on). Returns NULL with *err set (free() it). Close with
 * sqlite3_close. */
sqlite3 *db_open(const char *path, char **err);

/* Rolls back a transaction the request left open. Safe to call on any
 * request; the runtime also does it lazily on the thread's next request. */
void db_request_end(cot_ctx *c);

/* A row as a JSON object, rows as a JSON array (new references; db_json.c).
 * render.c passes them to templates. */
json_t *db_row_value(const cot_row *r);
json_t *db_rows_value(const cot_rows *rs);

/*
 * Development only (NULL in the export): called on the request's thread
 * after every cot_db_one/all/exec with the SQL, its parameters, the rows
 * it returned or changed (-1: it failed) and the milliseconds it took.
 * The arguments are valid only during the call.
 */
extern void (*db_statement_hook)(cot_ctx *c, const char *sql, int n, const cot_value *params,
                                 long long rows, double ms);

/* Whether the calling thread's connection answers a query (opened if
 * needed): 0, or -1 with err filled. For the health endpoint. */
int db_ping(char *err, size_t errlen);

/* Statements cached on the calling thread's connection (for tests). */
int db_cached_statements(void);

#endif
