/*
 * sqlcheck_pg.h -- the SQL check (sqlcheck.c) against PostgreSQL: handler
 * SQL prepared on the engine the app runs on, not on SQLite.
 */
#ifndef COT_SQLCHECK_PG_H
#define COT_SQLCHECK_PG_H

/*
 * Connects to the PostgreSQL database `url` and routes the SQL check there
 * (sqlcheck_prepare_hook, sqlcheck_version_hook): sqlcheck_file with a
 * NULL db and sqlcheck_app then PREPARE each SQL string, rewritten as
 * db_pg_sql.c rewrites it, and DEALLOCATE it.
 *
 * schema_sql NULL: the live schema (`cotdev run`, which has applied
 * schema.sql to the database). Otherwise the planned one (`cotdev check`,
 * `cotdev export`): one transaction holds schema_sql loaded into the
 * session's temporary schema, alone on the search_path, and is rolled back
 * by sqlcheck_pg_stop -- the database is never changed.
 *
 * 0, or -1 with *err (malloc'd: "cannot connect to PostgreSQL: ..." or
 * "schema.sql:LINE: ..."), the check left as it was.
 */
int sqlcheck_pg_start(const char *url, const char *schema_sql, char **err);

/* Rolls back the scratch schema, closes the connection, unhooks. */
void sqlcheck_pg_stop(void);

/* The database a command checks against, as `cotdev run` and the export
 * choose theirs: `--db` when given (db_flag), else $DATABASE_URL when set,
 * else NULL (the app's app.db). A postgres:// URL or a SQLite path. */
const char *sqlcheck_pg_choose(const char *db_flag);

#endif
