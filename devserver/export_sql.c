/*
 * export_sql.c -- the export's SQL check: every literal SQL string of the
 * handlers (and the files they include) is prepared against schema.sql --
 * on SQLite in memory, or on PostgreSQL with --db -- so SQL that `cotdev
 * run` refuses at reload never ships.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/db_pg.h"
#include "../runtime/migrate.h"
#include "deps.h"
#include "export_internal.h"
#include "file.h"
#include "sqlcheck.h"
#include "sqlcheck_pg.h"

/* One file's SQL against db; 1 (after saying why) when it does not prepare. */
static int
export_sql_check_file(const char *path, sqlite3 *db)
{
	char *error = NULL;
	int bad = sqlcheck_file(path, db, &error) != 0;
	if (bad)
		fprintf(stderr, "%s\n", error ? error : path);
	free(error);
	return bad;
}

/*
 * Prepares the SQL of every handler and of the files handlers include
 * against schema.sql, as cotdev run does
 * at each reload (there against app.db, which follows schema.sql): a file
 * whose SQL does not prepare is a reload error in development, its routes
 * answering 500, so it must not build into a binary that serves them.
 * The schema is applied to an in-memory database the way the binary
 * applies it at start. Returns the number of files that failed.
 */
int
export_sql_check(const export_state *x)
{
	char *schema = file_read("schema.sql", NULL);
	if (schema == NULL)
		return 0; /* no schema: nothing to check against, as in development */
	sqlite3 *db = NULL;
	struct migrate_plan *p = NULL;
	char *why = NULL;
	int failed = 0;
	bool pg = DBPG_IS_URL(x->db);
	/* PostgreSQL: the SQL is prepared there (db NULL: sqlcheck_pg.c), and a
	 * schema.sql it refuses fails the export -- the binary could not start */
	if (pg && sqlcheck_pg_start(x->db, schema, &why) != 0) {
		fprintf(stderr, "cotdev export: the SQL check on PostgreSQL: %s; %s not written\n",
		        why ? why : "out of memory", x->out);
		free(why);
		free(schema);
		return 1;
	}
	/* A schema.sql that does not load is the binary's start-up error
	 * (app_main.c refuses to start and says why); nothing to check here. */
	if (pg || (sqlite3_open(":memory:", &db) == SQLITE_OK &&
	           migrate_plan(db, schema, &p, &why) == 0 &&
	           (migrate_plan_is_empty(p) || migrate_apply(db, p, 1, &why) >= 0))) {
		/* each handler, then each file a handler includes (once) */
		deps_list seen = {0};
		for (int i = 0; i < x->handlers.n; i++) {
			deps_list d = {0};
			deps_scan(x->handlers.v[i], NULL, &d);
			for (int j = -1; j < d.n; j++) {
				const char *f = j < 0 ? x->handlers.v[i] : d.paths[j];
				if (deps_contains(&seen, f))
					continue;
				deps_add(&seen, f);
				failed += export_sql_check_file(f, db);
			}
			deps_free(&d);
		}
		deps_free(&seen);
	}
	free(why);
	migrate_plan_free(p);
	sqlite3_close(db);
	sqlcheck_pg_stop();
	free(schema);
	if (failed)
		fprintf(stderr,
		        "cotdev export: %d file%s with SQL that does not prepare against "
		        "schema.sql%s (cotdev run refuses %s at reload too); %s not written\n",
		        failed, failed == 1 ? "" : "s", pg ? " on PostgreSQL" : "",
		        failed == 1 ? "it" : "them", x->out);
	return failed;
}
