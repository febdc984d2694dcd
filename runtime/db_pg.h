/*
 * db_pg.h -- the PostgreSQL side of the cot_db calls (db_pg.c), which
 * db.c calls when the database is a postgres:// URL, and what the schema
 * code shares with it.
 */
#ifndef COT_DB_PG_H
#define COT_DB_PG_H

#include <libpq-fe.h>

#include "../include/cot.h"
#include "db_pg_sql.h" /* dbpg_placeholders: the SQL text sent */

/* Whether s names a PostgreSQL database (postgres:// or postgresql://). */
#define DBPG_IS_URL(s)                                                                             \
	((s) != NULL &&                                                                            \
	 (strncmp((s), "postgres://", 11) == 0 || strncmp((s), "postgresql://", 13) == 0))

int dbpg_init(const char *url, char *err, size_t errlen);
void dbpg_shutdown(void);

/* A new connection to url; NULL with *err set (free() it). PQfinish it. */
PGconn *dbpg_connect(const char *url, char **err);

cot_row *dbpg_one(cot_ctx *c, const char *where, const char *sql, int n, const cot_value *params);
void dbpg_all(cot_ctx *c, const char *where, const char *sql, int n, const cot_value *params,
              cot_rows *rs);
long long dbpg_exec(cot_ctx *c, const char *where, const char *sql, int n, const cot_value *params);
long long dbpg_last_id(cot_ctx *c);
long long dbpg_changes(cot_ctx *c);
/* sql is "BEGIN", "COMMIT" or "ROLLBACK". */
int dbpg_tx(cot_ctx *c, const char *fn, const char *sql);
void dbpg_request_end(cot_ctx *c);
int dbpg_ping(char *err, size_t errlen);
int dbpg_cached_statements(void);

#endif
