/*
 * test_sqldef.c -- sqldef's SQLite cases as convergence tests for the
 * planner (runtime/migrate*.c).
 *
 * Usage: test_sqldef DIR, where DIR is ../shared/spec/sqldef: the YAML
 * files are read from there at run time (libyaml), never copied. For each
 * case: build `current` in an empty database, insert one row per table,
 * plan and apply `desired`; the live schema must then equal a fresh
 * database built from `desired` (migrate_schema_dump: normalised
 * sqlite_schema plus table_xinfo), a second plan must be empty, and the
 * rows of surviving tables and columns must still be there.
 * `enable_drop: false` cases apply without allow_destructive and expect
 * the drops held (a second plan has only destructive steps); they then
 * apply with it and must converge too. sqldef's `up`/`down` DDL is its
 * own choice and is not compared.
 *
 * Output: one "ok NAME" / "not ok NAME: why" line per case, then
 * "sqldef: N/65 converged".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "migrate.h"
#include "spec_yaml.h"
#include "t.h"

struct fields {
	const char *current, *desired, *enable_drop;
};

struct snapshot { /* one row of one table, taken before migrating */
	char *table;
	long long count;
	char **cols;
	sqlite3_value **vals;
	int n;
};

static int converged, total;

/* ---- rows ---------------------------------------------------------- */

static const char *
sample_value(const char *type)
{
	char up[64] = {0};
	for (size_t i = 0; type[i] && i < sizeof up - 1; i++)
		up[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ? type[i] - 32 : type[i]);
	if (strstr(up, "INT"))
		return "1";
	if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
		return "'x'";
	if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
		return "1.5";
	return "1";
}

/* Insert one row into every table, where the constraints allow it. */
static void
insert_rows(sqlite3 *db)
{
	sqlite3_stmt *tabs, *cols;
	sqlite3_prepare_v2(db,
	                   "SELECT name FROM pragma_table_list WHERE schema='main'"
	                   " AND type='table' AND name NOT LIKE 'sqlite%'",
	                   -1, &tabs, NULL);
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tabs, 0);
		char names[2048] = "", vals[2048] = "", *sql;
		sqlite3_prepare_v2(db,
		                   "SELECT name, type FROM pragma_table_xinfo(?1)"
		                   " WHERE hidden = 0",
		                   -1, &cols, NULL);
		sqlite3_bind_text(cols, 1, t, -1, SQLITE_STATIC);
		while (sqlite3_step(cols) == SQLITE_ROW) {
			size_t n = strlen(names), v = strlen(vals);
			snprintf(names + n, sizeof names - n, "%s\"%s\"", n ? ", " : "",
			         sqlite3_column_text(cols, 0));
			snprintf(vals + v, sizeof vals - v, "%s%s", v ? ", " : "",
			         sample_value((const char *)sqlite3_column_text(cols, 1)));
		}
		sqlite3_finalize(cols);
		sql = sqlite3_mprintf("INSERT INTO \"%w\" (%s) VALUES (%s)", t, names, vals);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_free(sql);
			sql = sqlite3_mprintf("INSERT INTO \"%w\" DEFAULT VALUES", t);
			sqlite3_exec(db, sql, NULL, NULL, NULL);
		}
		sqlite3_free(sql);
	}
	sqlite3_finalize(tabs);
}

static int
take_snapshot(sqlite3 *db, struct snapshot **out)
{
	sqlite3_stmt *tabs, *row;
	int n = 0;
	*out = NULL;
	sqlite3_prepare_v2(db,
	                   "SELECT name FROM pragma_table_list WHERE schema='main'"
	                   " AND type='table' AND name NOT LIKE 'sqlite%'",
	                   -1, &tabs, NULL);
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tabs, 0);
		char *sql = sqlite3_mprintf("SELECT (SELECT count(*) FROM \"%w\"),"
		                            " * FROM \"%w\" LIMIT 1",
		                            t, t);
		struct snapshot *s;
		*out = realloc(*out, (size_t)(n + 1) * sizeof **out);
		s = &(*out)[n++];
		memset(s, 0, sizeof *s);
		s->table = strdup(t);
		sqlite3_prepare_v2(db, sql, -1, &row, NULL);
		sqlite3_free(sql);
		if (sqlite3_step(row) == SQLITE_ROW) {
			s->count = sqlite3_column_int64(row, 0);
			s->n = sqlite3_column_count(row) - 1;
			s->cols = calloc((size_t)s->n, sizeof *s->cols);
			s->vals = calloc((size_t)s->n, sizeof *s->vals);
			for (int i = 0; i < s->n; i++) {
				s->cols[i] = strdup(sqlite3_column_name(row, i + 1));
				s->vals[i] = sqlite3_value_dup(sqlite3_column_value(row, i + 1));
			}
		}
		sqlite3_finalize(row);
	}
	sqlite3_finalize(tabs);
	return n;
}

static void
free_snapshot(struct snapshot *s, int n)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < s[i].n; j++) {
			free(s[i].cols[j]);
			sqlite3_value_free(s[i].vals[j]);
		}
		free(s[i].cols);
		free(s[i].vals);
		free(s[i].table);
	}
	free(s);
}

/* The new name that desired gives `old` with "@renamed from=old", found
 * the simple way: the first word of the annotated line (after "TABLE" on
 * a CREATE TABLE line). Returns old itself when there is none. */
static void
renamed_to(const char *desired, const char *old, int table, char *out, size_t size)
{
	const char *p = desired;
	snprintf(out, size, "%s", old);
	while ((p = strstr(p, "@renamed from=")) != NULL) {
		const char *v = p + 14, *ls = p, *w;
		size_t vn;
		char name[128];
		int is_table;
		if (*v == '"')
			v++;
		vn = strcspn(v, "\" \n*");
		while (ls > desired && ls[-1] != '\n')
			ls--;
		is_table = strncasecmp(ls, "CREATE TABLE", 12) == 0;
		p += 14;
		if (is_table != table || vn != strlen(old) || strncasecmp(v, old, vn) != 0)
			continue;
		w = is_table ? ls + 12 : ls;
		w += strspn(w, " \t\"");
		snprintf(name, sizeof name, "%.*s", (int)strcspn(w, " \t\"(,"), w);
		snprintf(out, size, "%s", name);
	}
}

static int
column_exists(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	int found = 0;
	sqlite3_prepare_v2(db,
	                   "SELECT 1 FROM pragma_table_xinfo(?1) WHERE "
	                   "name = ?2 COLLATE NOCASE",
	                   -1, &st, NULL);
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* "" when every surviving row and value is still there, else why. */
static void
check_rows(sqlite3 *db, const char *desired, struct snapshot *s, int n, char *why, size_t size)
{
	for (int i = 0; i < n && !why[0]; i++) {
		char t[128], c[128], *sql;
		sqlite3_stmt *st;
		renamed_to(desired, s[i].table, 1, t, sizeof t);
		sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", t);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW &&
			    sqlite3_column_int64(st, 0) != s[i].count)
				snprintf(why, size, "rows of %s lost", t);
			sqlite3_finalize(st);
		}
		sqlite3_free(sql);
		for (int j = 0; j < s[i].n && !why[0]; j++) {
			renamed_to(desired, s[i].cols[j], 0, c, sizeof c);
			if (!column_exists(db, t, c))
				continue; /* dropped on purpose */
			sql = sqlite3_mprintf(
			        "SELECT count(*) FROM \"%w\" WHERE \"%w\" IS ?1 OR "
			        "\"%w\" = ?1 OR CAST(\"%w\" AS TEXT) = CAST(?1 AS TEXT)",
			        t, c, c, c);
			if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
				sqlite3_bind_value(st, 1, s[i].vals[j]);
				if (sqlite3_step(st) == SQLITE_ROW &&
				    sqlite3_column_int64(st, 0) == 0)
					snprintf(why, size, "value of %s.%s lost", t, c);
				sqlite3_finalize(st);
			}
			sqlite3_free(sql);
		}
	}
}

/* ---- one case ------------------------------------------------------ */

static char *
dump_of(const char *sql, char *why, size_t size)
{
	sqlite3 *db;
	char *err = NULL, *dump = NULL;
	sqlite3_open(":memory:", &db);
	if (sqlite3_exec(db, sql ? sql : "", NULL, NULL, &err) != SQLITE_OK) {
		snprintf(why, size, "building desired: %s", err);
		sqlite3_free(err);
	} else if ((dump = migrate_schema_dump(db, &err)) == NULL) {
		snprintf(why, size, "%s", err);
		free(err);
	}
	sqlite3_close(db);
	return dump;
}

/* Plan desired against db and apply it; returns held, or -1 with why. */
static int
migrate_to(sqlite3 *db, const char *desired, int allow, char *why, size_t size,
           struct migrate_plan **again)
{
	struct migrate_plan *p;
	char *err = NULL;
	int held;
	if (migrate_plan(db, desired, &p, &err) != 0) {
		snprintf(why, size, "plan: %s", err);
		free(err);
		return -1;
	}
	if (getenv("SQLDEF_VERBOSE"))
		printf("# %s\n", migrate_summary(p));
	held = migrate_apply(db, p, allow, &err);
	if (held < 0)
		snprintf(why, size, "apply [%s]: %s", migrate_summary(p), err);
	free(err);
	migrate_plan_free(p);
	if (held >= 0 && migrate_plan(db, desired, again, &err) != 0) {
		snprintf(why, size, "second plan: %s", err);
		free(err);
		return -1;
	}
	return held;
}

/* enable_drop: false -- drops held, everything else applied. */
static void
check_held(sqlite3 *db, int held, struct migrate_plan *again, char *why, size_t size)
{
	if (held == 0)
		snprintf(why, size, "nothing was held back");
	for (size_t i = 0; i < migrate_plan_count(again) && !why[0]; i++)
		if (!migrate_step_is_destructive(again, i))
			snprintf(why, size, "safe step left over: %s",
			         migrate_step_summary(again, i));
	(void)db;
}

static void
run_case(const char *name, const struct fields *f)
{
	sqlite3 *db;
	struct snapshot *snap;
	struct migrate_plan *again = NULL;
	char why[1024] = "", *want = NULL, *have = NULL, *err = NULL;
	int n, allow = !(f->enable_drop && strcmp(f->enable_drop, "false") == 0);
	int held;
	total++;
	sqlite3_open(":memory:", &db);
	if (f->current && sqlite3_exec(db, f->current, NULL, NULL, &err) != SQLITE_OK) {
		snprintf(why, sizeof why, "building current: %s", err);
		sqlite3_free(err);
	}
	insert_rows(db);
	n = take_snapshot(db, &snap);
	held = why[0] ? -1 : migrate_to(db, f->desired, allow, why, sizeof why, &again);
	if (held >= 0 && !allow) {
		check_held(db, held, again, why, sizeof why);
		migrate_plan_free(again);
		again = NULL;
		if (!why[0])
			held = migrate_to(db, f->desired, 1, why, sizeof why, &again);
	}
	if (held >= 0 && !why[0]) {
		want = dump_of(f->desired, why, sizeof why);
		have = migrate_schema_dump(db, &err);
		if (want && have && strcmp(want, have) != 0)
			snprintf(why, sizeof why, "schemas differ:\n--- live\n%s--- desired\n%s",
			         have, want);
		else if (!migrate_plan_is_empty(again))
			snprintf(why, sizeof why, "second plan not empty: %s",
			         migrate_summary(again));
	}
	if (!why[0])
		check_rows(db, f->desired, snap, n, why, sizeof why);
	if (!why[0])
		converged++;
	why[0] ? printf("not ok %s: %s\n", name, why) : printf("ok %s\n", name);
	t_failed_count += why[0] != 0;
	t_passed_count += why[0] == 0;
	free(want);
	free(have);
	free(err);
	migrate_plan_free(again);
	free_snapshot(snap, n);
	sqlite3_close(db);
}

/* ---- YAML ---------------------------------------------------------- */

/* One case of a file: its fields, then run. */
static void
each_case(yaml_document_t *doc, const char *name, yaml_node_t *v, void *arg)
{
	(void)arg;
	struct fields f;
	f.current = spec_yaml_scalar(doc, v, "current");
	f.desired = spec_yaml_scalar(doc, v, "desired");
	f.enable_drop = spec_yaml_scalar(doc, v, "enable_drop");
	run_case(name, &f);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "../shared/spec/sqldef";
	char *files[64];
	size_t n = 0;
	if (spec_yaml_list(dir, "", files, &n, 64) != 0) {
		printf("not ok sqldef: cannot open %s\n", dir);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (spec_yaml_each(files[i], each_case, NULL) != 0) {
			printf("not ok %s: cannot read it\n", strrchr(files[i], '/') + 1);
			t_failed_count++;
		}
		free(files[i]);
	}
	printf("sqldef: %d/%d converged\n", converged, total);
	return T_DONE();
}
