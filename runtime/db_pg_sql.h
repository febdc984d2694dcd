/*
 * db_pg_sql.h -- db_pg_sql.c: the SQL text sent to PostgreSQL. db_pg.h
 * includes it: the dev server's SQL check rewrites placeholders the same
 * way (dbpg_placeholders).
 */
#ifndef COT_DB_PG_SQL_H
#define COT_DB_PG_SQL_H

#include <libpq-fe.h>
#include <stdbool.h>

/* sql with "?" placeholders rewritten to "$n" (malloc'd); *count is the
 * number of parameters it names. Strings, quoted identifiers, comments
 * and the jsonb operators ?| and ?& are left alone; "??" stands for a
 * literal "?" (jsonb's key-exists operator); "?NNN" becomes "$NNN". */
char *dbpg_placeholders(const char *sql, int *count);

/* text (sql as dbpg_placeholders rewrote it, malloc'd; taken over) with
 * "\nRETURNING col" appended when sql is an INSERT without a RETURNING of
 * its own into a table whose primary key is one integer column (asked of
 * pg); *returns_id says whether it was. Returns the text to use. */
char *dbpg_with_returning(PGconn *pg, const char *sql, char *text, bool *returns_id);

#endif
