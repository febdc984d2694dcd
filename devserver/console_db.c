/*
 * console_db.c -- the database page: tables with their columns, indexes and
 * row counts, rows paged read-only, the live schema beside schema.sql, the
 * plan cot would apply and the destructive steps it holds, with an apply
 * button.
 *
 * Reading uses a connection of its own opened SQLITE_OPEN_READONLY with
 * PRAGMA query_only: the page cannot write even if a bug let SQL through;
 * table names come from sqlite_schema and are quoted, never pasted from the
 * URL. Every console path under /api/db but apply refuses other methods
 * than GET.
 *
 * Apply runs migrate_cmd_run(app.db, apply, destructive) -- the very
 * function `cotdev migrate --apply --allow-destructive` runs -- and only
 * for the plan the page showed: the POST names the plan's fingerprint
 * (migrate_cmd_plan_id), and a plan that changed meanwhile is refused. The
 * page asks for confirmation first, naming the rows each held step loses
 * (counted here: the rows of a dropped table, the non-NULL values of a
 * dropped column).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/arena.h"
#include "../runtime/ctx.h"
#include "../runtime/migrate.h"
#include "../runtime/router.h"
#include "console_internal.h"
#include "file.h"
#include "migrate_cmd.h"

#define DB_PAGE_MAX 200
#define DB_CELL_MAX 500

static const char *cdb_path = "app.db"; /* or --db; set before serving */

void
console_db_init(const char *path)
{
	cdb_path = path;
}

static sqlite3 *
console_db_open(char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(cdb_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", cdb_path,
		         db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/* "name" with inner quotes doubled, for an identifier in SQL. */
static char *
console_db_quote(const char *name)
{
	return sqlite3_mprintf("\"%w\"", name);
}

/* The first column of the first row of sql (with one text parameter). */
static long long
console_db_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A cell as JSON: numbers as numbers, text cut to DB_CELL_MAX, blobs as a size. */
static json_t *
console_db_cell(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, i));
	case SQLITE_NULL:
		return json_null();
	case SQLITE_BLOB: {
		char s[64];
		snprintf(s, sizeof(s), "(BLOB, %d bytes)", sqlite3_column_bytes(st, i));
		return json_string(s);
	}
	default: {
		const char *t = (const char *)sqlite3_column_text(st, i);
		int n = sqlite3_column_bytes(st, i);
		json_t *j = json_stringn(t ? t : "", (size_t)(n < DB_CELL_MAX ? n : DB_CELL_MAX));
		return j ? j : json_string("(not UTF-8)");
	}
	}
}

/* Rows of a query as arrays (new reference). */
static json_t *
console_db_rows(sqlite3_stmt *st)
{
	json_t *rows = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *row = json_array();
		for (int i = 0; i < sqlite3_column_count(st); i++)
			json_array_append_new(row, console_db_cell(st, i));
		json_array_append_new(rows, row);
	}
	return rows;
}

/* PRAGMA-style query of one table, rows as objects by column name. */
static json_t *
console_db_pragma(sqlite3 *db, const char *pragma, const char *table)
{
	char *q = console_db_quote(table);
	char *sql = sqlite3_mprintf("PRAGMA %s(%s)", pragma, q);
	sqlite3_free(q);
	sqlite3_stmt *st;
	json_t *out = json_array();
	if (sql != NULL && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_t *o = json_object();
			for (int i = 0; i < sqlite3_column_count(st); i++)
				json_object_set_new(o, sqlite3_column_name(st, i),
				                    console_db_cell(st, i));
			json_array_append_new(out, o);
		}
		sqlite3_finalize(st);
	}
	sqlite3_free(sql);
	return out;
}

/* One table: columns, indexes (with their columns), row count. */
static json_t *
console_db_table(sqlite3 *db, const char *name)
{
	json_t *indexes = console_db_pragma(db, "index_list", name);
	size_t i;
	json_t *ix;
	json_array_foreach(indexes, i, ix)
	{
		json_t *cols = console_db_pragma(db, "index_info",
		                                 json_string_value(json_object_get(ix, "name")));
		json_object_set_new(ix, "columns", cols);
	}
	char *q = console_db_quote(name);
	char *sql = sqlite3_mprintf("SELECT count(*) FROM %s", q);
	long long rows = sql ? console_db_count(db, sql) : -1;
	sqlite3_free(sql);
	sqlite3_free(q);
	return json_pack("{s:s,s:o,s:o,s:I}", "name", name, "columns",
	                 console_db_pragma(db, "table_xinfo", name), "indexes", indexes, "rows",
	                 (json_int_t)rows);
}

/* Whether `name` is a table of the database (so it may be quoted into SQL). */
static bool
console_db_is_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	bool yes = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?", -1,
	                       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		yes = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return yes;
}

/* ==== the plan ========================================================= */

/* What a held step loses, in words ("12 rows of table old"). */
static char *
console_db_loses(sqlite3 *db, const char *summary)
{
	char name[256], col[256];
	if (sscanf(summary, "- table %255s", name) == 1 && console_db_is_table(db, name)) {
		char *q = console_db_quote(name),
		     *sql = sqlite3_mprintf("SELECT count(*) FROM %s", q);
		long long n = console_db_count(db, sql);
		sqlite3_free(sql);
		sqlite3_free(q);
		char *out = sqlite3_mprintf("%lld row%s of table %s", n, n == 1 ? "" : "s", name);
		char *copy = strdup(out ? out : "");
		sqlite3_free(out);
		return copy;
	}
	if (sscanf(summary, "~ rebuild %255s", name) == 1 && console_db_is_table(db, name)) {
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		const char *p = summary;
		int k = 0;
		while ((p = strstr(p, "drop column ")) != NULL) {
			p += 12;
			if (sscanf(p, "%255[^,) ]", col) != 1)
				continue;
			char *qt = console_db_quote(name), *qc = console_db_quote(col);
			char *sql = sqlite3_mprintf("SELECT count(*) FROM %s WHERE %s IS NOT NULL",
			                            qt, qc);
			long long n = console_db_count(db, sql);
			fprintf(f, "%s%lld value%s of column %s.%s", k++ ? ", " : "", n,
			        n == 1 ? "" : "s", name, col);
			sqlite3_free(sql);
			sqlite3_free(qt);
			sqlite3_free(qc);
		}
		if (k == 0) {
			char *q = console_db_quote(name),
			     *sql = sqlite3_mprintf("SELECT count(*) FROM %s", q);
			long long n = console_db_count(db, sql);
			fprintf(f,
			        "the %lld row%s of %s are copied; values that do not fit the new "
			        "type change",
			        n, n == 1 ? "" : "s", name);
			sqlite3_free(sql);
			sqlite3_free(q);
		}
		fclose(f);
		return out;
	}
	return strdup("no rows (an index, view or trigger goes)");
}

/* {summary, id, steps: [{summary, sql, destructive, loses}]} or {error}. */
static json_t *
console_db_plan(sqlite3 *db)
{
	char *text = file_read("schema.sql", NULL), *err = NULL;
	if (text == NULL)
		return json_pack("{s:s}", "error", "the app has no schema.sql");
	struct migrate_plan *p = NULL;
	json_t *o;
	if (migrate_plan(db, text, &p, &err) != 0) {
		o = json_pack("{s:s}", "error", err ? err : "cannot plan");
	} else {
		json_t *steps = json_array();
		for (size_t i = 0; i < migrate_plan_count(p); i++) {
			bool d = migrate_step_is_destructive(p, i);
			char *loses = d ? console_db_loses(db, migrate_step_summary(p, i)) : NULL;
			json_array_append_new(steps, json_pack("{s:s,s:s,s:b,s:s?}", "summary",
			                                       migrate_step_summary(p, i), "sql",
			                                       migrate_step_sql(p, i),
			                                       "destructive", d, "loses", loses));
			free(loses);
		}
		char id[32];
		snprintf(id, sizeof(id), "%016llx", migrate_cmd_plan_id(p));
		o = json_pack("{s:s,s:s,s:o,s:s}", "summary", migrate_summary(p), "id", id, "steps",
		              steps, "command", "cotdev migrate --apply --allow-destructive");
	}
	migrate_plan_free(p);
	free(err);
	json_object_set_new(o, "schema_sql", json_string(text));
	free(text);
	return o;
}

/* ==== the API ========================================================== */

/* GET /_cot/api/db: every table, the live schema, the plan. */
static json_t *
console_db_overview(sqlite3 *db)
{
	json_t *tables = json_array();
	sqlite3_stmt *st;
	char *live = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&live, &len);
	if (sqlite3_prepare_v2(db,
	                       "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT "
	                       "NULL ORDER BY type='table' DESC, name",
	                       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *type = (const char *)sqlite3_column_text(st, 0);
			const char *name = (const char *)sqlite3_column_text(st, 1);
			fprintf(f, "%s;\n", (const char *)sqlite3_column_text(st, 2));
			if (strcmp(type, "table") == 0)
				json_array_append_new(tables, console_db_table(db, name));
		}
		sqlite3_finalize(st);
	}
	fclose(f);
	json_t *o = json_pack("{s:s,s:o,s:s?,s:o}", "database", cdb_path, "tables", tables,
	                      "schema_live", live, "plan", console_db_plan(db));
	free(live);
	return o;
}

/* GET /_cot/api/db/TABLE?offset=N&limit=M: rows, read-only. */
static struct MHD_Response *
console_db_rows_page(cot_ctx *c, sqlite3 *db, const char *table)
{
	if (!console_db_is_table(db, table))
		return console_fail(c, 404, "no such table");
	const char *so = console_arg(c, "offset"), *sl = console_arg(c, "limit");
	long long offset = so ? atoll(so) : 0, limit = sl ? atoll(sl) : 50;
	if (offset < 0)
		offset = 0;
	if (limit < 1 || limit > DB_PAGE_MAX)
		limit = 50;
	char *q = console_db_quote(table);
	char *sql = sqlite3_mprintf("SELECT * FROM %s LIMIT %lld OFFSET %lld", q, limit, offset);
	char *csql = sqlite3_mprintf("SELECT count(*) FROM %s", q);
	sqlite3_free(q);
	sqlite3_stmt *st = NULL;
	if (sql == NULL || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		sqlite3_free(csql);
		return console_fail(c, 500, sqlite3_errmsg(db));
	}
	json_t *cols = json_array();
	for (int i = 0; i < sqlite3_column_count(st); i++)
		json_array_append_new(cols, json_string(sqlite3_column_name(st, i)));
	json_t *rows = console_db_rows(st);
	sqlite3_finalize(st);
	long long total = console_db_count(db, csql);
	sqlite3_free(sql);
	sqlite3_free(csql);
	return console_json(c, 200,
	                    json_pack("{s:s,s:o,s:o,s:I,s:I,s:I}", "table", table, "columns", cols,
	                              "rows", rows, "offset", (json_int_t)offset, "limit",
	                              (json_int_t)limit, "total", (json_int_t)total));
}

/* POST /_cot/api/db/apply?plan=ID: what `cotdev migrate --apply
 * --allow-destructive` does, for exactly the plan the page showed. */
static struct MHD_Response *
console_db_apply(cot_ctx *c)
{
	if (!console_from_page(c))
		return console_fail(c, 403, "apply from the console page (X-Cot-Console: 1)");
	const char *plan = console_arg(c, "plan");
	unsigned long long id = plan ? strtoull(plan, NULL, 16) : 0;
	if (id == 0)
		return console_fail(c, 400, "name the plan to apply: ?plan=ID from /_cot/api/db");
	char *out = NULL, *err = NULL;
	size_t olen = 0, elen = 0;
	FILE *fo = open_memstream(&out, &olen), *fe = open_memstream(&err, &elen);
	if (fo == NULL || fe == NULL) {
		if (fo)
			fclose(fo);
		if (fe)
			fclose(fe);
		free(out);
		free(err);
		return console_fail(c, 500, "out of memory");
	}
	int status = migrate_cmd_run(cdb_path, 1, 1, id, fo, fe);
	fclose(fo);
	fclose(fe);
	printf("dev console: applied schema.sql with --allow-destructive (exit %d)\n%s%s", status,
	       out, err);
	fflush(stdout);
	int http = status == 0 ? 200 : status == 4 ? 409 : 500;
	json_t *o = json_pack("{s:i,s:s,s:s}", "exit", status, "output", out, "errors", err);
	free(out);
	free(err);
	return console_json(c, http, o);
}

struct MHD_Response *
console_db_api(cot_ctx *c, const char *rest)
{
	if (strcmp(rest, "apply") == 0) {
		if (strcmp(c->method, "POST") != 0)
			return console_fail(c, 405, "apply is a POST");
		return console_db_apply(c);
	}
	if (strcmp(c->method, "GET") != 0)
		return console_fail(c, 405,
		                    "the database page is read-only; schema changes go "
		                    "through schema.sql");
	char err[512];
	sqlite3 *db = console_db_open(err, sizeof(err));
	if (db == NULL)
		return console_fail(c, 500, err);
	char *table = arena_strdup(&c->mem, rest); /* the URL's table name, decoded */
	if (router_percent_decode(table, false) == (size_t)-1)
		table = "";
	struct MHD_Response *r = *rest == '\0' ? console_json(c, 200, console_db_overview(db))
	                                       : console_db_rows_page(c, db, table);
	sqlite3_close(db);
	return r;
}
