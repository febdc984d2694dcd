/*
 * sqlcheck_pg.c -- handler SQL prepared on PostgreSQL, for the SQL check.
 *
 * sqlcheck.c finds each literal SQL string of a handler; on an app whose
 * database is PostgreSQL it hands the string here. The string is rewritten
 * exactly as db_pg_sql.c rewrites it at run time (dbpg_placeholders: "?" to
 * "$n"), PREPAREd under a name of its own (never run), described for its
 * parameter count and DEALLOCATEd. PostgreSQL's message comes back with the
 * byte of the handler's SQL it points at (the error position, counted in
 * characters of the rewritten text, walked back through the rewrite), so
 * the report names the line of the literal that holds the bad token, as
 * the SQLite check does with sqlite3_error_offset.
 *
 * Two schemas to check against:
 *  - live (`cotdev run --db postgres://...`): the database itself, which
 *    the dev server migrates on every save of schema.sql. A fingerprint of
 *    the tables and columns on the search_path stands for SQLite's PRAGMA
 *    schema_version, so the reloader checks every handler again when the
 *    schema changes, whoever changed it.
 *  - planned (`cotdev check`, `cotdev export`): one transaction whose
 *    search_path is the session's temporary schema alone (pg_temp: no
 *    other session sees it, and any role may use it -- TEMP is granted to
 *    PUBLIC -- where creating a schema needs CREATE on the database),
 *    schema.sql loaded there through pgschema_load (the planner's own
 *    translation of SQLite forms), each PREPARE inside a savepoint (a
 *    failed one would abort the transaction). The transaction is rolled
 *    back at the end: the checked database is not changed, and may be
 *    empty or another app's. Its own tables are not on the search_path,
 *    so the SQL is checked against schema.sql alone.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/db_pg.h"
#include "../runtime/pgschema.h"
#include "sqlcheck.h"
#include "sqlcheck_pg.h"

#define SQLCHECK_PG_STMT "cot_sqlcheck"

static PGconn *sqlcheck_pg_conn;
static int sqlcheck_pg_scratch; /* the planned schema: a transaction is open */
static long long sqlcheck_pg_last_version = -1;
static long long sqlcheck_pg_refused; /* checks refused for want of a connection */

/* The tables and columns visible on the search_path, as one number that
 * changes when any of them does (name, type, order); -1 when unreachable. */
static const char sqlcheck_pg_fingerprint[] =
        "SELECT coalesce(('x' || substr(md5(string_agg(c.relname || '.' || a.attname || ':' "
        "|| a.atttypid || ':' || a.atttypmod || ':' || a.attnotnull, ',' "
        "ORDER BY c.relname, a.attnum)), 1, 15))::bit(60)::bigint, 0) "
        "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace IN (SELECT oid FROM pg_namespace "
        "WHERE nspname = ANY (current_schemas(false))) AND a.attnum > 0 AND NOT a.attisdropped";

/* Runs a command on the check's connection; 0 when it succeeded. */
static int
sqlcheck_pg_exec(const char *sql)
{
	PGresult *r = PQexec(sqlcheck_pg_conn, sql);
	int ok = r != NULL &&
	         (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
	PQclear(r);
	return ok ? 0 : -1;
}

/* The live connection, reset when the server went away since last time.
 * The scratch schema dies with its connection: no reset there. */
static PGconn *
sqlcheck_pg_live(void)
{
	if (sqlcheck_pg_conn != NULL && !sqlcheck_pg_scratch &&
	    PQstatus(sqlcheck_pg_conn) != CONNECTION_OK)
		PQreset(sqlcheck_pg_conn);
	return sqlcheck_pg_conn != NULL && PQstatus(sqlcheck_pg_conn) == CONNECTION_OK
	               ? sqlcheck_pg_conn
	               : NULL;
}

/*
 * The byte of `sql` that the server's error position `pos` (1-based, in
 * characters of `text`, sql as dbpg_placeholders rewrote it) points at.
 * The two texts are equal but where a placeholder was rewritten: "?" or
 * "?NNN" against "$N", "??" against "?".
 */
static int
sqlcheck_pg_offset(const char *sql, const char *text, int pos)
{
	size_t tb = 0;
	for (int chars = 1; text[tb] != '\0' && chars < pos; chars++)
		for (tb++; ((unsigned char)text[tb] & 0xC0) == 0x80; tb++)
			; /* a UTF-8 continuation byte: the same character */
	size_t i = 0, j = 0;
	while (j < tb && sql[i] != '\0' && text[j] != '\0') {
		if (sql[i] == text[j]) {
			i++;
			j++;
			continue;
		}
		if (sql[i] != '?')
			break; /* not a rewrite: the texts no longer line up */
		for (i++; isdigit((unsigned char)sql[i]); i++)
			;
		if (text[j] == '$')
			for (j++; isdigit((unsigned char)text[j]); j++)
				;
	}
	return (int)i;
}

/* PostgreSQL's words for a failed result: the message, then its hint. */
static char *
sqlcheck_pg_message(const PGresult *r)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *h = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_HINT) : NULL;
	char *out = NULL;
	if (m == NULL)
		m = PQerrorMessage(sqlcheck_pg_conn);
	if (asprintf(&out, "%s%s%s", m, h ? " -- " : "", h ? h : "") < 0)
		return NULL;
	for (size_t n = strlen(out); n > 0 && out[n - 1] == '\n'; n--)
		out[n - 1] = '\0';
	return out;
}

/* sqlcheck_prepare_hook: PREPARE, describe, DEALLOCATE. */
static int
sqlcheck_pg_prepare(const char *sql, int *nparams, int *err_offset, char **err)
{
	*err_offset = -1;
	PGconn *pg = sqlcheck_pg_live();
	if (pg == NULL) {
		sqlcheck_pg_refused++;
		*err = strdup("the SQL check lost its connection to PostgreSQL");
		return -1;
	}
	int n;
	char *text = dbpg_placeholders(sql, &n);
	if (sqlcheck_pg_scratch)
		sqlcheck_pg_exec("SAVEPOINT cot_sqlcheck");
	PGresult *r = PQprepare(pg, SQLCHECK_PG_STMT, text, 0, NULL);
	int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (ok) {
		PQclear(r);
		r = PQdescribePrepared(pg, SQLCHECK_PG_STMT);
		ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
		if (ok)
			*nparams = PQnparams(r);
		sqlcheck_pg_exec("DEALLOCATE " SQLCHECK_PG_STMT);
	}
	if (!ok) {
		const char *pos = r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL;
		if (pos != NULL)
			*err_offset = sqlcheck_pg_offset(sql, text, atoi(pos));
		*err = sqlcheck_pg_message(r);
	}
	PQclear(r);
	free(text);
	if (sqlcheck_pg_scratch)
		sqlcheck_pg_exec(ok ? "RELEASE SAVEPOINT cot_sqlcheck"
		                    : "ROLLBACK TO SAVEPOINT cot_sqlcheck; "
		                      "RELEASE SAVEPOINT cot_sqlcheck");
	return ok ? 0 : -1;
}

/*
 * sqlcheck_version_hook: the fingerprint of the live schema, plus the
 * number of checks refused because the server was down -- so once it is
 * back the version moves and the reloader checks those handlers again.
 * While it cannot be reached, the last version read: a restart is no
 * schema change, and checking every handler against a server that is down
 * would only report each one as failing.
 */
static long long
sqlcheck_pg_version(void)
{
	PGconn *pg = sqlcheck_pg_live();
	PGresult *r = pg ? PQexec(pg, sqlcheck_pg_fingerprint) : NULL;
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		sqlcheck_pg_last_version = atoll(PQgetvalue(r, 0, 0)) + sqlcheck_pg_refused;
	PQclear(r);
	return sqlcheck_pg_last_version;
}

/* Opens the transaction with schema_sql loaded into pg_temp. */
static int
sqlcheck_pg_plan(const char *schema_sql, char **err)
{
	PGresult *r = PQexec(sqlcheck_pg_conn, "BEGIN; SET LOCAL client_min_messages = warning; "
	                                       "SET LOCAL search_path = pg_temp");
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		char *m = sqlcheck_pg_message(r);
		if (asprintf(err, "a scratch schema for the SQL check: %s", m ? m : "") < 0)
			*err = NULL;
		free(m);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	sqlcheck_pg_scratch = 1;
	return pgschema_load(sqlcheck_pg_conn, schema_sql, err);
}

int
sqlcheck_pg_start(const char *url, const char *schema_sql, char **err)
{
	*err = NULL;
	sqlcheck_pg_stop();
	if ((sqlcheck_pg_conn = dbpg_connect(url, err)) == NULL)
		return -1;
	if (schema_sql != NULL && sqlcheck_pg_plan(schema_sql, err) != 0) {
		sqlcheck_pg_stop();
		return -1;
	}
	sqlcheck_prepare_hook = sqlcheck_pg_prepare;
	sqlcheck_version_hook = schema_sql == NULL ? sqlcheck_pg_version : NULL;
	return 0;
}

void
sqlcheck_pg_stop(void)
{
	if (sqlcheck_pg_conn != NULL && sqlcheck_pg_scratch)
		sqlcheck_pg_exec("ROLLBACK");
	PQfinish(sqlcheck_pg_conn);
	sqlcheck_pg_conn = NULL;
	sqlcheck_pg_scratch = 0;
	sqlcheck_pg_last_version = -1;
	sqlcheck_pg_refused = 0;
	sqlcheck_prepare_hook = NULL;
	sqlcheck_version_hook = NULL;
}

const char *
sqlcheck_pg_choose(const char *db_flag)
{
	const char *env = getenv("DATABASE_URL");
	if (db_flag != NULL)
		return db_flag;
	return env != NULL && *env != '\0' ? env : NULL;
}
