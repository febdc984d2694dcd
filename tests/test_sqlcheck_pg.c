/*
 * test_sqlcheck_pg.c -- the SQL check on PostgreSQL (devserver/sqlcheck_pg.c)
 * against a private cluster (tests/pg.c).
 *
 *  - planned: schema.sql loaded into the session's temporary schema (by a
 *    role that may create nothing in the database, too); errors in
 *    PostgreSQL's words at the line of the literal holding the bad token,
 *    with the position walked back through the "?" -> "$n" rewrite ("??",
 *    "?NNN") and counted in characters, not bytes; a wrong number of values;
 *    SQL only SQLite takes; and afterwards nothing of it is left in the
 *    database.
 *  - a schema.sql PostgreSQL refuses: "schema.sql:LINE: message".
 *  - live: the database itself, a schema version that changes when
 *    another connection alters a table, not while the server is down, and
 *    once after it is back if a check was refused meanwhile; a reconnect.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../devserver/sqlcheck.h"
#include "../devserver/sqlcheck_pg.h"
#include "pg.h"
#include "t.h"

static pg_cluster cluster;

static const char schema[] = "CREATE TABLE notes (\n"
                             "  id INTEGER PRIMARY KEY,\n"
                             "  title TEXT NOT NULL,\n"
                             "  body BLOB\n"
                             ");\n"
                             "CREATE TABLE docs (id INTEGER PRIMARY KEY, d TEXT);\n";

/* Checks src (no database handle: through the hook); "" when clean. */
static const char *
check(const char *src)
{
	static char buf[4096];
	char *err = NULL;
	int rc = sqlcheck_source("handlers/x.c", src, NULL, &err);
	snprintf(buf, sizeof(buf), "%s", rc == 0 ? "" : err ? err : "(null error)");
	free(err);
	return buf;
}

/* The first line of a check's error (PostgreSQL adds hints after " -- "). */
static const char *
first(const char *src)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s", check(src));
	char *hint = strstr(buf, " -- ");
	if (hint != NULL)
		*hint = '\0';
	return buf;
}

/* One value of a query on a connection of our own. */
static long long
count(const char *sql)
{
	PGconn *pg = PQconnectdb(cluster.url);
	PGresult *r = PQexec(pg, sql);
	long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoll(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	PQfinish(pg);
	return n;
}

static void
test_planned(void)
{
	char *err = NULL;
	int rc = sqlcheck_pg_start(cluster.url, schema, &err);
	T_CHECK("start against schema.sql", rc == 0);
	if (rc != 0) {
		printf("# %s\n", err ? err : "");
		free(err);
		return;
	}
	T_STREQ("good SQL passes",
	        check("cot_db_one(c, \"SELECT id, title FROM notes WHERE id = ? AND body = ?\", 1, "
	              "b);"),
	        "");
	T_STREQ("a bad column: PostgreSQL's words at its line",
	        first("#include <cot.h>\n\n"
	              "  cot_rows *r = cot_db_all(c, \"SELECT titel FROM notes\");\n"),
	        "handlers/x.c:3: column \"titel\" does not exist");
	T_CHECK("... with PostgreSQL's hint",
	        strstr(check("cot_db_all(c, \"SELECT titel FROM notes\");"), "notes.title") !=
	                NULL);
	T_STREQ("a missing table", first("cot_db_exec(c, \"DELETE FROM nope\");"),
	        "handlers/x.c:1: relation \"nope\" does not exist");
	/* each "?" became "$n", one byte or two longer: the server's position
	 * is past the token's own literal unless walked back */
	T_STREQ("adjacent literals: the line of the bad token, after ? rewritten",
	        first("cot_db_one(c, \"SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \"\n"
	              "              \"nope \"\n"
	              "              \"FROM notes\", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);\n"),
	        "handlers/x.c:2: column \"nope\" does not exist");
	T_STREQ("the position counts characters: multibyte text before the token",
	        first("cot_db_one(c, \"SELECT 'ééééééééééééééééééééé' AS e, \"\n"
	              "              \"nope FROM notes\");\n"),
	        "handlers/x.c:2: column \"nope\" does not exist");
	/* "??" became "?", a byte shorter: before the token's literal if not */
	T_STREQ("?? (jsonb's ?) and ?NNN walked back too",
	        first("cot_db_one(c, \"SELECT ?1, '{}'::jsonb ?? 'a', '{}'::jsonb ?? 'b', \"\n"
	              "              \"nope FROM notes\", 1);\n"),
	        "handlers/x.c:2: column \"nope\" does not exist");
	T_STREQ("an error in the first literal stays there",
	        first("cot_db_one(c, \"SELECT titel \"\n"
	              "              \"FROM notes\");\n"),
	        "handlers/x.c:1: column \"titel\" does not exist");
	T_STREQ("SQL only SQLite takes",
	        first("cot_db_exec(c, \"INSERT OR REPLACE INTO notes (id, title) VALUES (?, ?)\", "
	              "1, t);"),
	        "handlers/x.c:1: syntax error at or near \"OR\"");
	T_STREQ("SQLite's functions are not PostgreSQL's",
	        first("cot_db_one(c, \"SELECT total(id) AS t FROM notes\");"),
	        "handlers/x.c:1: function total(bigint) does not exist");
	T_STREQ("a wrong number of values",
	        check("cot_db_one(c, \"SELECT id FROM notes WHERE id = ? AND title = ?\", 1);"),
	        "handlers/x.c:1: the SQL has 2 parameters, the call passes 1");
	T_STREQ("one failure does not spoil the next check (savepoints)",
	        check("cot_db_exec(c, \"SELEC 1\");\n"
	              "cot_db_one(c, \"SELECT d FROM docs\");\n"),
	        "handlers/x.c:1: syntax error at or near \"SELEC\"");
	sqlcheck_pg_stop();
	T_CHECK("the database is unchanged: no notes table in it",
	        count("SELECT count(*) FROM pg_class WHERE relname = 'notes'") == 0);
	T_CHECK("... no prepared statement hook left", sqlcheck_prepare_hook == NULL);
}

/* A role that may not create anything in the database checks all the same
 * (the scratch is its temporary schema), against schema.sql alone. */
static void
test_unprivileged(void)
{
	PGconn *pg = PQconnectdb(cluster.url);
	PQclear(PQexec(pg, "CREATE ROLE checker LOGIN; CREATE TABLE only_live (x INT)"));
	PQfinish(pg);
	char url[700], *err = NULL;
	snprintf(url, sizeof(url), "postgresql:///postgres?host=%s&port=%d&user=checker",
	         cluster.dir, cluster.port);
	T_CHECK("check/start as a role without CREATE",
	        count("SELECT count(*) FROM pg_roles "
	              "WHERE rolname = 'checker' AND has_database_privilege('checker', 'postgres', "
	              "'CREATE')") == 0 &&
	                sqlcheck_pg_start(url, schema, &err) == 0);
	if (err != NULL)
		printf("# %s\n", err);
	free(err);
	T_STREQ("... checks against schema.sql",
	        check("cot_db_one(c, \"SELECT title FROM notes WHERE id = ?\", 1);"), "");
	T_STREQ("... and nothing else: the database's own tables are not seen",
	        first("cot_db_one(c, \"SELECT x FROM only_live\");"),
	        "handlers/x.c:1: relation \"only_live\" does not exist");
	sqlcheck_pg_stop();
}

static void
test_bad_schema(void)
{
	char *err = NULL;
	int rc = sqlcheck_pg_start(cluster.url,
	                           "CREATE TABLE a (id INTEGER PRIMARY KEY);\n\n"
	                           "CREATE TABLE b (id INTEGER REFERENCES nowhere (id));\n",
	                           &err);
	T_CHECK("a schema.sql PostgreSQL refuses: start fails", rc != 0);
	T_CHECK("... naming its line and the message",
	        err != NULL &&
	                strstr(err, "schema.sql:3: relation \"nowhere\" does not exist") != NULL);
	if (err == NULL || strstr(err, "schema.sql:3:") == NULL)
		printf("# %s\n", err ? err : "(no error)");
	free(err);
	T_CHECK("... and no hook is set", sqlcheck_prepare_hook == NULL);
}

static void
test_live(void)
{
	PGconn *pg = PQconnectdb(cluster.url);
	PQclear(PQexec(pg, "CREATE TABLE live (id BIGINT PRIMARY KEY, a TEXT)"));
	char *err = NULL;
	T_CHECK("start against the live database", sqlcheck_pg_start(cluster.url, NULL, &err) == 0);
	free(err);
	T_STREQ("live: a column of the database",
	        check("cot_db_one(c, \"SELECT a FROM live WHERE id = ?\", 1);"), "");
	long long v1 = sqlcheck_app_schema_version();
	T_CHECK("live: a schema version", v1 != -1);
	T_CHECK("... stable while nothing changes", sqlcheck_app_schema_version() == v1);
	PQclear(PQexec(pg, "ALTER TABLE live RENAME COLUMN a TO b"));
	T_CHECK("... changes when another connection renames a column",
	        sqlcheck_app_schema_version() != v1);
	T_STREQ("live: the renamed column is an error now",
	        first("cot_db_one(c, \"SELECT a FROM live\");"),
	        "handlers/x.c:1: column \"a\" does not exist");
	PQfinish(pg);
	/* a restart of the server is no schema change */
	long long v2 = sqlcheck_app_schema_version();
	T_CHECK("the server stops", pg_cluster_ctl(&cluster, "-m fast -w stop") == 0);
	T_CHECK("server down: the version stays the last one read",
	        sqlcheck_app_schema_version() == v2);
	T_CHECK("... twice", sqlcheck_app_schema_version() == v2);
	T_CHECK("server down: a check says the connection is lost",
	        strstr(check("cot_db_one(c, \"SELECT b FROM live\");"), "lost its connection") !=
	                NULL);
	char opts[512];
	snprintf(opts, sizeof(opts),
	         "-o \"-p %d -k %s -c listen_addresses= -c fsync=off\" -w "
	         "start",
	         cluster.port, cluster.dir);
	T_CHECK("the server starts again", pg_cluster_ctl(&cluster, opts) == 0);
	T_STREQ("server back: the check reconnects",
	        check("cot_db_one(c, \"SELECT b FROM live\");"), "");
	long long v3 = sqlcheck_app_schema_version();
	T_CHECK("... and the version moved once (a check was refused meanwhile: the "
	        "reloader checks again)",
	        v3 != v2 && sqlcheck_app_schema_version() == v3);
	sqlcheck_pg_stop();
	T_CHECK("stopped: no version hook", sqlcheck_version_hook == NULL);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char err[512];
	if (pg_cluster_start(&cluster, err, sizeof(err)) != 0) {
		T_CHECK("a private PostgreSQL cluster starts", 0);
		printf("# %s\n", err);
		pg_cluster_stop(&cluster);
		return T_DONE();
	}
	T_CHECK("a private PostgreSQL cluster starts", 1);
	test_planned();
	test_unprivileged();
	test_bad_schema();
	test_live();
	char *why = NULL;
	T_CHECK("an unreachable server: start fails with the reason",
	        sqlcheck_pg_start("postgresql:///x?host=/nonexistent&port=1", NULL, &why) != 0 &&
	                why != NULL && strstr(why, "cannot connect to PostgreSQL") != NULL);
	free(why);
	pg_cluster_stop(&cluster);
	return T_DONE();
}
