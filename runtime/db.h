/*
 * db.h -- what the dev server and the exported binary need from db.c beyond
 * the handler API in cot.h: the end of a request, the statement hook, the
 * health ping; what render.c needs from db_json.c: rows as jansson values;
 * and, through db_conn.h, where the database is and opening connections the
 * same way the runtime does.
 */
#ifndef COT_DB_H
#define COT_DB_H

#include <sqlite3.h>
#include <stdbool.h>

#include "../include/cot.h"
#include "db_conn.h" /* db_init, db_open, db_shutdown: the connections */

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

#endif
