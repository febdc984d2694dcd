/*
 * sqlcheck.h -- SQL in handler files checked against the live schema when
 * the file compiles, so a misspelled column is a reload error at its line.
 */
#ifndef COT_SQLCHECK_H
#define COT_SQLCHECK_H

#include <sqlite3.h>
#include <stdbool.h>

/*
 * Prepares (never runs) every literal SQL string passed to a cot_db_* call
 * in the file at `path` against `db`. Returns 0 when all prepare; else -1
 * and *error, one line per problem ("handlers/x.c:12: no such column:
 * titel"), malloc'd: free() it. An unreadable file is not an error here.
 */
int sqlcheck_file(const char *path, sqlite3 *db, char **error);

/* The same for source text already in memory; `path` names it in errors. */
int sqlcheck_source(const char *path, const char *src, sqlite3 *db, char **error);

/*
 * sqlcheck_file of `path` (or sqlcheck_source of `src`, its content as
 * the caller read it, when not NULL) and of the files it includes (`includes`, as
 * deps.c lists them: SQL in a header is checked too) against app.db in the
 * current directory (the dev server's app), through a read-only connection
 * kept between calls -- or through sqlcheck_prepare_hook when set (the
 * app's database is PostgreSQL). No app.db: 0. Called on the reloader's
 * thread only;
 * sqlcheck_shutdown closes the connection.
 */
int sqlcheck_app(const char *path, const char *src, const char *const *includes, int nincludes,
                 char **error);
/* The database sqlcheck_app prepares against: "app.db" unless `cotdev run
 * --db` or `cotdev check --db` names another. Set before the first check. */
extern const char *sqlcheck_db_path;

/* app.db's schema version (PRAGMA schema_version: it changes with every
 * change of the schema, by any process); -1 without app.db. What
 * sqlcheck_version_hook says when it is set. */
long long sqlcheck_app_schema_version(void);

/* When set, sqlcheck_app, and sqlcheck_file with a NULL db, prepare
 * through it instead of SQLite: the app's database is PostgreSQL
 * (sqlcheck_pg.c sets it). Returns 0 with *nparams, or -1 with *err
 * (malloc'd) and *err_offset, the byte of sql the error points at (-1:
 * none). */
extern int (*sqlcheck_prepare_hook)(const char *sql, int *nparams, int *err_offset, char **err);
/* When set, what sqlcheck_app_schema_version answers (sqlcheck_pg.c). */
extern long long (*sqlcheck_version_hook)(void);
void sqlcheck_shutdown(void);

#endif
