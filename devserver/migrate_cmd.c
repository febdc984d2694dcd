/*
 * migrate_cmd.c -- schema.sql meets the live database.
 *
 * The planner (runtime/migrate*.c) decides what to do; this file decides
 * when, and how the developer hears about it. In `cotdev run` a save of
 * schema.sql applies the safe steps at once and holds the destructive ones,
 * naming the exact command that applies them -- data is never dropped by a
 * save. `cotdev migrate` shows the same plan and applies it on request.
 *
 * Each run opens its own connection: a migration is rare, and a connection
 * of our own cannot be in the middle of a worker's statement. Workers'
 * cached statements re-prepare themselves after the schema changed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/db.h"
#include "../runtime/db_pg.h"
#include "../runtime/migrate.h"
#include "../runtime/pgschema.h"
#include "file.h"
#include "migrate_cmd.h"

#define MIGRATE_HOLD_HINT "cotdev migrate --apply --allow-destructive"

static const char usage_migrate[] =
        "usage: cotdev migrate [--apply [--allow-destructive]] [--db PATH] [DIR]\n"
        "\n"
        "Compares DIR/schema.sql (DIR defaults to .) with the database and prints\n"
        "the plan. schema.sql is the only place the schema is written: no migration\n"
        "files. Renames are declared in it with `-- @renamed from=OLD`.\n"
        "  --apply               apply the safe (additive) steps in one transaction\n"
        "  --allow-destructive   with --apply: also drop tables/columns, lossy type\n"
        "                        changes, dropped indexes, views and triggers\n"
        "  --db PATH             the database (default: app.db in DIR)\n"
        "\n"
        "Exit status:\n"
        "  0  nothing to do, or everything planned was applied\n"
        "  1  error: schema.sql does not parse, the database cannot be opened, or\n"
        "     applying failed (rolled back: the database keeps its old schema)\n"
        "  2  usage error\n"
        "  3  changes remain: destructive steps held (--apply without\n"
        "     --allow-destructive), or without --apply, the plan is not empty\n";

/* ==== shared steps ===================================================== */

/* The summaries of the plan's steps that are (or are not) destructive. */
static char *
migrate_cmd_steps(const struct migrate_plan *p, int destructive)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return NULL;
	int n = 0;
	for (size_t i = 0; i < migrate_plan_count(p); i++)
		if (!migrate_step_is_destructive(p, i) == !destructive)
			fprintf(f, "%s%s", n++ ? "; " : "", migrate_step_summary(p, i));
	fclose(f);
	return out;
}

static size_t
migrate_cmd_count(const struct migrate_plan *p, int destructive)
{
	size_t n = 0;
	for (size_t i = 0; i < migrate_plan_count(p); i++)
		n += !migrate_step_is_destructive(p, i) == !destructive;
	return n;
}

/* Opens the database and plans schema.sql against it. Returns 0, 1 when
 * there is no schema.sql, -1 after printing an error to `out`. */
static int
migrate_cmd_plan(const char *db_path, const char *who, FILE *out, sqlite3 **db,
                 struct migrate_plan **plan)
{
	char *err = NULL, *text = file_read("schema.sql", NULL);
	*db = NULL;
	*plan = NULL;
	if (text == NULL) {
		if (errno == ENOENT)
			return 1;
		fprintf(out, "%s: cannot read schema.sql: %s\n", who, strerror(errno));
		return -1;
	}
	*db = db_open(db_path, &err);
	if (*db != NULL && migrate_plan(*db, text, plan, &err) == 0) {
		free(text);
		return 0;
	}
	if (err != NULL && strncmp(err, "schema.sql:", 11) == 0)
		fprintf(out, "%s\n", err); /* it names the file and line already */
	else
		fprintf(out, "%s: %s\n", who, err ? err : "cannot plan the migration");
	if (*db != NULL)
		fprintf(out, "%s: the database keeps its current schema\n", who);
	free(err);
	free(text);
	sqlite3_close(*db);
	*db = NULL;
	return -1;
}

/* ==== cotdev run ======================================================= */

/* Prints what was applied and what is held, in at most two lines. */
static void
migrate_cmd_report(const struct migrate_plan *p, int held)
{
	char *safe = migrate_cmd_steps(p, 0);
	char *risky = migrate_cmd_steps(p, 1);
	if (migrate_cmd_count(p, 0) > 0)
		printf("schema.sql: applied %s\n", safe ? safe : "");
	if (held > 0)
		printf("schema.sql: held %d destructive change%s (%s); apply with: %s\n", held,
		       held == 1 ? "" : "s", risky ? risky : "", MIGRATE_HOLD_HINT);
	free(safe);
	free(risky);
}

/* PostgreSQL (DATABASE_URL): the same, through pgschema.c. */
static int
migrate_cmd_dev_pg(const char *url, const char *text, int startup)
{
	char *err = NULL, *summary = NULL, *held_list = NULL;
	PGconn *pg = dbpg_connect(url, &err);
	int held = pg ? pgschema_sync(pg, text, 0, 10000, &summary, &held_list, &err) : -1;
	if (held < 0 && err != NULL && strncmp(err, "schema.sql:", 11) == 0)
		printf("%s\n", err);
	else if (held < 0)
		printf("schema.sql: migration failed, nothing applied: %s\n", err ? err : "?");
	else if (strcmp(summary, "no changes") != 0)
		printf("schema.sql: applied %s\n", summary);
	else if (!startup && held == 0)
		printf("schema.sql: no changes\n");
	if (held > 0)
		printf("schema.sql: held %d destructive change%s (%s); apply with: %s\n", held,
		       held == 1 ? "" : "s", held_list, MIGRATE_HOLD_HINT);
	fflush(stdout);
	free(err);
	free(summary);
	free(held_list);
	PQfinish(pg);
	return held < 0 ? -1 : 0;
}

/* Plans and applies under one write lock (migrate_sync), so a second
 * process on the same app.db cannot make the plan stale in between. */
int
migrate_cmd_dev(const char *db_path, int startup)
{
	char *err = NULL, *text = file_read("schema.sql", NULL);
	if (text == NULL) {
		if (errno != ENOENT)
			printf("schema.sql: cannot read schema.sql: %s\n", strerror(errno));
		else if (!startup)
			printf("schema.sql: removed; the database keeps its schema\n");
		fflush(stdout);
		return errno == ENOENT ? 0 : -1;
	}
	if (DBPG_IS_URL(db_path)) {
		int rc = migrate_cmd_dev_pg(db_path, text, startup);
		free(text);
		return rc;
	}
	struct migrate_plan *p = NULL;
	sqlite3 *db = db_open(db_path, &err);
	int held = db != NULL ? migrate_sync(db, text, 0, &p, &err) : -1;
	if (held < 0) {
		if (err != NULL && strncmp(err, "schema.sql:", 11) == 0)
			printf("%s\n", err); /* it names the file and line already */
		else
			printf("schema.sql: migration failed, nothing applied: %s\n",
			       err ? err : "cannot open the database");
		if (db != NULL)
			printf("schema.sql: the database keeps its current schema\n");
	} else if (migrate_plan_is_empty(p)) {
		if (!startup)
			printf("schema.sql: no changes\n");
	} else {
		migrate_cmd_report(p, held);
	}
	fflush(stdout);
	free(err);
	free(text);
	migrate_plan_free(p);
	sqlite3_close(db);
	return held < 0 ? -1 : 0;
}

/* ==== cotdev migrate =================================================== */

/* Prints the plan, one step a line, destructive steps marked. */
static void
migrate_cmd_print(const struct migrate_plan *p, FILE *out)
{
	if (migrate_plan_is_empty(p)) {
		fprintf(out, "no changes: the database matches schema.sql\n");
		return;
	}
	fprintf(out, "plan: %s\n", migrate_summary(p));
	for (size_t i = 0; i < migrate_plan_count(p); i++)
		fprintf(out, "  %s%s\n    %s\n", migrate_step_summary(p, i),
		        migrate_step_is_destructive(p, i) ? "  [destructive]" : "",
		        migrate_step_sql(p, i));
}

/* Applies p as asked; returns the exit status. */
static int
migrate_cmd_apply(sqlite3 *db, const struct migrate_plan *p, int destructive, FILE *out,
                  FILE *errout)
{
	if (migrate_plan_is_empty(p))
		return 0;
	char *err = NULL;
	int held = migrate_apply(db, p, destructive, &err);
	if (held < 0) {
		fprintf(errout, "cotdev migrate: failed, rolled back: %s\n", err ? err : "?");
		free(err);
		return 1;
	}
	size_t done = migrate_plan_count(p) - (size_t)held;
	fprintf(out, "applied %zu step%s\n", done, done == 1 ? "" : "s");
	if (held > 0)
		fprintf(out, "held %d destructive step%s; apply with: %s\n", held,
		        held == 1 ? "" : "s", MIGRATE_HOLD_HINT);
	return held > 0 ? 3 : 0;
}

unsigned long long
migrate_cmd_plan_id(const struct migrate_plan *p)
{
	unsigned long long h = 1469598103934665603ull; /* FNV-1a of the steps' SQL */
	for (size_t i = 0; i < migrate_plan_count(p); i++)
		for (const char *s = migrate_step_sql(p, i); *s; s++)
			h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/*
 * The work of `cotdev migrate [--apply [--allow-destructive]]` in the app
 * directory (the cwd): plan, print, apply as asked. The dev console's apply
 * button runs this too; with expect_id != 0 it refuses (status 4) a plan
 * other than the one the developer confirmed.
 */
int
migrate_cmd_run(const char *db_path, int apply, int destructive, unsigned long long expect_id,
                FILE *out, FILE *errout)
{
	sqlite3 *db;
	struct migrate_plan *p;
	int rc = migrate_cmd_plan(db_path, "cotdev migrate", errout, &db, &p);
	if (rc != 0) {
		if (rc == 1)
			fprintf(errout, "cotdev migrate: there is no schema.sql\n");
		return 1;
	}
	int status;
	if (expect_id != 0 && migrate_cmd_plan_id(p) != expect_id) {
		fprintf(errout, "the plan changed since it was shown; nothing applied\n");
		status = 4;
	} else {
		migrate_cmd_print(p, out);
		status = apply ? migrate_cmd_apply(db, p, destructive, out, errout)
		         : migrate_plan_is_empty(p) ? 0
		                                    : 3;
	}
	migrate_plan_free(p);
	sqlite3_close(db);
	return status;
}

/* cotdev migrate on PostgreSQL: the plan made and, without --apply, rolled
 * back (PGSCHEMA_DRY_RUN); the same exit statuses. */
static int
migrate_cmd_run_pg(const char *url, int apply, int destructive)
{
	char *err = NULL, *summary = NULL, *held_list = NULL, *text = file_read("schema.sql", NULL);
	if (text == NULL) {
		fprintf(stderr, "cotdev migrate: no schema.sql\n");
		return 1;
	}
	PGconn *pg = dbpg_connect(url, &err);
	int flags = (apply ? 0 : PGSCHEMA_DRY_RUN) | (destructive ? PGSCHEMA_DESTRUCTIVE : 0);
	int held = pg ? pgschema_sync(pg, text, flags, 10000, &summary, &held_list, &err) : -1;
	int status = 1;
	if (held < 0) {
		fprintf(stderr, "cotdev migrate: %s\n", err ? err : "failed");
	} else {
		int changes = strcmp(summary, "no changes") != 0;
		printf("%s: %s\n", apply ? "applied" : "plan", summary);
		if (held > 0)
			printf("held %d destructive step%s: %s; apply with: %s\n", held,
			       held == 1 ? "" : "s", held_list, MIGRATE_HOLD_HINT);
		status = held > 0 || (!apply && changes) ? 3 : 0;
	}
	free(err);
	free(summary);
	free(held_list);
	free(text);
	PQfinish(pg);
	return status;
}

int
migrate_cmd_main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"apply", no_argument, NULL, 'a'},
	        {"allow-destructive", no_argument, NULL, 'D'},
	        {"db", required_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int apply = 0, destructive = 0, ch;
	const char *db_path = "app.db", *env = getenv("DATABASE_URL");
	if (env != NULL && *env != '\0')
		db_path = env;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			apply = 1;
			break;
		case 'D':
			destructive = 1;
			break;
		case 'd':
			db_path = optarg;
			break;
		case 'h':
			fputs(usage_migrate, stdout);
			return 0;
		default:
			fputs(usage_migrate, stderr);
			return 2;
		}
	}
	if (argc - optind > 1 || (destructive && !apply)) {
		fputs(usage_migrate, stderr);
		return 2;
	}
	const char *dir = optind < argc ? argv[optind] : ".";
	char abs[4096];
	if (db_path[0] != '/' && strcmp(db_path, "app.db") != 0 && !DBPG_IS_URL(db_path) &&
	    getcwd(abs, 2048) != NULL) {
		snprintf(abs + strlen(abs), sizeof(abs) - strlen(abs), "/%s", db_path);
		db_path = abs; /* --db is relative to where cotdev was started */
	}
	if (chdir(dir) != 0) {
		fprintf(stderr, "cotdev migrate: cannot enter %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (DBPG_IS_URL(db_path))
		return migrate_cmd_run_pg(db_path, apply, destructive);
	return migrate_cmd_run(db_path, apply, destructive, 0, stdout, stderr);
}
