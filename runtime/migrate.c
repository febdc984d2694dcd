/*
 * migrate.c -- the diff: the schema schema.sql describes against the
 * live one, as a list of steps.
 *
 * Tables are matched by name (case-insensitively, as SQLite does) or by
 * a "@renamed from=" annotation. For a matched pair the cheap path is
 * tried first on a scratch in-memory database: the live CREATE TABLE, the
 * declared renames, then ADD COLUMN for each new column. If SQLite's
 * resulting text normalises to the desired text, those ALTERs are the
 * plan; otherwise the table gets SQLite's 12-step rebuild. Using SQLite
 * as the oracle means we never have to know ADD COLUMN's many rules
 * (no PRIMARY KEY, no STORED, constant default, before table
 * constraints...).
 *
 * Step order, chosen so each step is valid whether or not the
 * destructive ones before it were held back:
 *   1-3  drop changed or removed views, triggers, indexes
 *   4-5  rename tables, rename columns (ALTER TABLE RENAME)
 *   6-7  add columns; rebuild tables (with their indexes and triggers)
 *   8-9  create new tables; drop removed tables
 *   10-12 create new or changed indexes, views, triggers
 * Views and triggers that did not change are left alone: the rebuild
 * renames with legacy_alter_table on, so they are neither checked nor
 * rewritten while the table is briefly missing.
 */
#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_internal.h"

enum table_action { T_SAME, T_ALTER, T_REBUILD, T_REPLACE };

/* What happens to one desired table. */
struct table_plan {
	struct migrate_object *want, *have; /* have NULL: a new table */
	enum table_action action;
	int renamed;
};

struct planner {
	sqlite3 *live;
	struct migrate_schema want, have;
	struct table_plan *tables; /* one per desired table */
	size_t n_tables;
	struct migrate_plan *plan;
};

/* ---- steps --------------------------------------------------------- */

static void
migrate_add_step(struct planner *pl, int destructive, char *sql, char *summary)
{
	struct migrate_plan *p = pl->plan;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->steps = migrate_xrealloc(p->steps, p->cap * sizeof *p->steps);
	}
	p->steps[p->n].sql = sql;
	p->steps[p->n].summary = summary;
	p->steps[p->n].destructive = destructive;
	p->n++;
}

static char *
migrate_drop_sql(const char *type, const char *name)
{
	char *q = migrate_quote(name), *s;
	char kw[16];
	size_t i;
	for (i = 0; type[i] && i < sizeof kw - 1; i++)
		kw[i] = (char)toupper((unsigned char)type[i]);
	kw[i] = '\0';
	s = migrate_printf("DROP %s %s;", kw, q);
	free(q);
	return s;
}

/* ---- matching tables ---------------------------------------------- */

static struct table_plan *
migrate_plan_for_have(struct planner *pl, const char *have_name)
{
	for (size_t i = 0; i < pl->n_tables; i++)
		if (pl->tables[i].have && sqlite3_stricmp(pl->tables[i].have->name, have_name) == 0)
			return &pl->tables[i];
	return NULL;
}

static struct table_plan *
migrate_plan_for_want(struct planner *pl, const char *want_name)
{
	for (size_t i = 0; i < pl->n_tables; i++)
		if (sqlite3_stricmp(pl->tables[i].want->name, want_name) == 0)
			return &pl->tables[i];
	return NULL;
}

/* Pair every desired table with its live table, by name or @renamed. */
static void
migrate_match_tables(struct planner *pl)
{
	for (size_t i = 0; i < pl->want.n; i++) {
		struct migrate_object *w = &pl->want.objs[i];
		struct table_plan *tp;
		if (strcmp(w->type, "table") != 0)
			continue;
		pl->tables = migrate_xrealloc(pl->tables, (pl->n_tables + 1) * sizeof *pl->tables);
		tp = &pl->tables[pl->n_tables++];
		memset(tp, 0, sizeof *tp);
		tp->want = w;
		tp->have = migrate_schema_find(&pl->have, "table", w->name);
	}
	for (size_t i = 0; i < pl->n_tables; i++) {
		struct table_plan *tp = &pl->tables[i];
		const char *from = tp->want->text.renamed_from;
		struct migrate_object *h;
		if (tp->have || from == NULL)
			continue;
		h = migrate_schema_find(&pl->have, "table", from);
		if (h && !migrate_schema_find(&pl->want, "table", h->name) &&
		    !migrate_plan_for_have(pl, h->name)) {
			tp->have = h;
			tp->renamed = 1;
		}
	}
}

/* The live column a desired column comes from, or NULL (a new one). */
static const struct migrate_column *
migrate_source_column(const struct table_plan *tp, const struct migrate_column *c, int *renamed)
{
	const struct migrate_column *s = migrate_column_find(tp->have, c->name);
	*renamed = 0;
	if (s == NULL && c->renamed_from) {
		s = migrate_column_find(tp->have, c->renamed_from);
		if (s && migrate_column_find(tp->want, s->name))
			s = NULL;
		*renamed = s != NULL;
	}
	return s;
}

static const struct migrate_column *
migrate_target_column(const struct table_plan *tp, const struct migrate_column *h)
{
	for (size_t i = 0; i < tp->want->n_cols; i++) {
		int renamed;
		if (migrate_source_column(tp, &tp->want->cols[i], &renamed) == h)
			return &tp->want->cols[i];
	}
	return NULL;
}

static const char *
migrate_column_def(const struct migrate_object *t, const char *name)
{
	for (size_t i = 0; i < t->text.n_items; i++)
		if (t->text.items[i].column && sqlite3_stricmp(t->text.items[i].column, name) == 0)
			return t->text.items[i].def;
	return NULL;
}

/* ---- the cheap path, tried on a scratch database ------------------- */

/* ADD COLUMN refuses a non-constant default only when the table has
 * rows, which the empty scratch table does not; SQLite's rule is wider
 * than this test, which only errs towards a rebuild. */
static int
migrate_constant_default(const char *dflt)
{
	return dflt == NULL || (dflt[0] != '(' && sqlite3_strnicmp(dflt, "current_", 8) != 0);
}

/* The ALTER statements that turn tp->have into tp->want without a
 * rebuild (renames excluded: they are their own steps), or -1. */
static int
migrate_try_alter(const struct table_plan *tp, struct migrate_buf *adds)
{
	sqlite3 *scratch;
	struct migrate_buf b = {0};
	char *qname = migrate_quote(tp->want->name);
	int ok = -1;
	if (sqlite3_open(":memory:", &scratch) != SQLITE_OK)
		goto out;
	migrate_buf_printf(&b, "%s;", tp->have->sql);
	if (tp->renamed) {
		char *old = migrate_quote(tp->have->name);
		migrate_buf_printf(&b, "ALTER TABLE %s RENAME TO %s;", old, qname);
		free(old);
	}
	for (size_t i = 0; i < tp->have->n_cols; i++)
		if (!migrate_target_column(tp, &tp->have->cols[i]))
			goto out; /* a dropped column: rebuild */
	for (size_t i = 0; i < tp->want->n_cols; i++) {
		const struct migrate_column *c = &tp->want->cols[i], *s;
		int renamed;
		s = migrate_source_column(tp, c, &renamed);
		if (s && renamed) {
			char *from = migrate_quote(s->name), *to = migrate_quote(c->name);
			migrate_buf_printf(&b, "ALTER TABLE %s RENAME COLUMN %s TO %s;", qname,
			                   from, to);
			free(from);
			free(to);
		} else if (s == NULL) {
			const char *def = migrate_column_def(tp->want, c->name);
			if (def == NULL ||
			    (tp->have->has_rows && !migrate_constant_default(c->dflt)))
				goto out;
			migrate_buf_printf(adds, "ALTER TABLE %s ADD COLUMN %s;\n", qname, def);
		}
	}
	migrate_buf_str(adds);
	migrate_buf_printf(&b, "%s", adds->s);
	if (sqlite3_exec(scratch, b.s, NULL, NULL, NULL) == SQLITE_OK) {
		struct migrate_schema s;
		char *err = NULL;
		if (migrate_schema_read(scratch, 0, &s, &err) == 0) {
			struct migrate_object *o = migrate_schema_find(&s, "table", tp->want->name);
			ok = o && strcmp(o->norm, tp->want->norm) == 0 ? 0 : -1;
			migrate_schema_free(&s);
		}
		free(err);
	}
out:
	sqlite3_close(scratch);
	free(b.s);
	free(qname);
	return ok;
}

/* ---- what a table change risks ------------------------------------- */

/* SQLite's column affinity rules (datatype3.html, 3.1). */
static char
migrate_affinity(const char *type)
{
	char up[128];
	size_t i;
	for (i = 0; type && type[i] && i < sizeof up - 1; i++)
		up[i] = (char)toupper((unsigned char)type[i]);
	up[i] = '\0';
	if (strstr(up, "INT"))
		return 'I';
	if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
		return 'T';
	if (strstr(up, "BLOB") || up[0] == '\0' || strcmp(up, "ANY") == 0)
		return 'B';
	if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
		return 'R';
	return 'N';
}

/* Text or untyped values moving into a numeric column can change:
 * '007' becomes 7. Every other change keeps the value. */
static int
migrate_lossy_type_change(const char *from, const char *to)
{
	char a = migrate_affinity(from), b = migrate_affinity(to);
	return a != b && (a == 'T' || a == 'B') && b != 'T' && b != 'B';
}

static int
migrate_column_has_nulls(sqlite3 *live, const char *table, const char *col)
{
	char *qt = migrate_quote(table), *qc = migrate_quote(col);
	char *sql = migrate_printf("SELECT 1 FROM main.%s WHERE %s IS NULL "
	                           "LIMIT 1",
	                           qt, qc);
	sqlite3_stmt *st;
	int found = 1; /* if we cannot tell, assume the worst */
	if (sqlite3_prepare_v2(live, sql, -1, &st, NULL) == SQLITE_OK) {
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	free(qt);
	free(qc);
	free(sql);
	return found;
}

static void
migrate_add_reason(struct migrate_buf *why, int *destructive, int d, const char *s)
{
	migrate_buf_printf(why, "%s%s", why->n ? ", " : "", s);
	*destructive |= d;
}

/* Fill why with the reasons for a table change; return whether any of
 * them can lose data (see migrate.h for the list). */
static int
migrate_table_risks(struct planner *pl, const struct table_plan *tp, struct migrate_buf *why)
{
	int d = 0;
	for (size_t i = 0; i < tp->have->n_cols; i++) {
		const struct migrate_column *h = &tp->have->cols[i];
		if (!migrate_target_column(tp, h)) {
			char *s = migrate_printf("drop column %s", h->name);
			migrate_add_reason(why, &d, h->hidden < 2, s);
			free(s);
		}
	}
	for (size_t i = 0; i < tp->want->n_cols; i++) {
		const struct migrate_column *c = &tp->want->cols[i], *s;
		int renamed;
		char *msg = NULL;
		s = migrate_source_column(tp, c, &renamed);
		if (s == NULL) {
			msg = migrate_printf("new column %s", c->name);
			migrate_add_reason(why, &d, 0, msg);
			free(msg);
			msg = NULL;
		}
		if (s && c->hidden < 2 && s->hidden < 2 && sqlite3_stricmp(s->type, c->type) != 0)
			migrate_add_reason(why, &d, migrate_lossy_type_change(s->type, c->type),
			                   "type change");
		if (c->notnull && c->dflt == NULL && c->hidden < 2 && !c->pk &&
		    tp->have->has_rows &&
		    (s == NULL ||
		     (!s->notnull && migrate_column_has_nulls(pl->live, tp->have->name, s->name))))
			msg = migrate_printf("%s NOT NULL without default on "
			                     "existing rows",
			                     c->name);
		if (msg)
			migrate_add_reason(why, &d, 1, msg);
		free(msg);
	}
	return d;
}

/* ---- emitting table steps ----------------------------------------- */

static void
migrate_emit_renames(struct planner *pl)
{
	for (size_t i = 0; i < pl->n_tables; i++) {
		struct table_plan *tp = &pl->tables[i];
		char *from, *to;
		if (!tp->renamed || tp->action == T_REPLACE)
			continue;
		from = migrate_quote(tp->have->name);
		to = migrate_quote(tp->want->name);
		migrate_add_step(
		        pl, 0, migrate_printf("ALTER TABLE %s RENAME TO %s;", from, to),
		        migrate_printf("~ rename table %s -> %s", tp->have->name, tp->want->name));
		free(from);
		free(to);
	}
	for (size_t i = 0; i < pl->n_tables; i++) {
		struct table_plan *tp = &pl->tables[i];
		if (tp->have == NULL || tp->action == T_REPLACE)
			continue;
		for (size_t j = 0; j < tp->want->n_cols; j++) {
			const struct migrate_column *c = &tp->want->cols[j], *s;
			int renamed;
			char *t, *from, *to;
			s = migrate_source_column(tp, c, &renamed);
			if (!s || !renamed)
				continue;
			t = migrate_quote(tp->want->name);
			from = migrate_quote(s->name);
			to = migrate_quote(c->name);
			migrate_add_step(pl, 0,
			                 migrate_printf("ALTER TABLE %s RENAME COLUMN %s "
			                                "TO %s;",
			                                t, from, to),
			                 migrate_printf("~ rename column %s.%s -> %s",
			                                tp->want->name, s->name, c->name));
			free(t);
			free(from);
			free(to);
		}
	}
}

static void
migrate_emit_adds(struct planner *pl, const struct table_plan *tp)
{
	struct migrate_buf adds = {0}, why = {0};
	int d = migrate_table_risks(pl, tp, &why);
	if (migrate_try_alter(tp, &adds) != 0)
		abort(); /* decided in migrate_decide_tables(): cannot fail now */
	for (size_t j = 0; j < tp->want->n_cols; j++) {
		const struct migrate_column *c = &tp->want->cols[j];
		int renamed;
		char *q;
		if (migrate_source_column(tp, c, &renamed))
			continue;
		q = migrate_quote(tp->want->name);
		migrate_add_step(pl, d,
		                 migrate_printf("ALTER TABLE %s ADD COLUMN %s;", q,
		                                migrate_column_def(tp->want, c->name)),
		                 migrate_printf("+ column %s.%s%s", tp->want->name, c->name,
		                                d ? " (destructive)" : ""));
		free(q);
	}
	free(adds.s);
	free(why.s);
}

static int
migrate_has_rowid_alias(const struct migrate_object *t)
{
	int pks = 0, alias = 0;
	for (size_t i = 0; i < t->n_cols; i++)
		if (t->cols[i].pk) {
			pks++;
			alias = sqlite3_stricmp(t->cols[i].type, "integer") == 0;
		}
	return !t->without_rowid && pks == 1 && alias;
}

/* Keep rowids when both tables have a hidden rowid (no alias column). */
static int
migrate_copy_rowid(const struct table_plan *tp)
{
	return !tp->have->without_rowid && !tp->want->without_rowid &&
	       !migrate_has_rowid_alias(tp->have) && !migrate_has_rowid_alias(tp->want) &&
	       !migrate_column_find(tp->want, "rowid") && !migrate_column_find(tp->have, "rowid");
}

/* "INSERT INTO new (cols) SELECT cols FROM old" for the kept columns;
 * the renames have already run, so kept columns share their names. */
static void
migrate_copy_sql(const struct table_plan *tp, const char *qnew, const char *qold,
                 struct migrate_buf *out)
{
	struct migrate_buf cols = {0};
	if (migrate_copy_rowid(tp))
		migrate_buf_printf(&cols, "rowid");
	for (size_t i = 0; i < tp->want->n_cols; i++) {
		const struct migrate_column *c = &tp->want->cols[i], *s;
		int renamed;
		char *q;
		s = migrate_source_column(tp, c, &renamed);
		if (!s || c->hidden || s->hidden)
			continue;
		q = migrate_quote(c->name);
		migrate_buf_printf(&cols, "%s%s", cols.n ? ", " : "", q);
		free(q);
	}
	if (cols.n)
		migrate_buf_printf(out, "INSERT INTO %s (%s) SELECT %s FROM %s;\n", qnew, cols.s,
		                   cols.s, qold);
	free(cols.s);
}

/* Re-create the desired indexes and triggers of a rebuilt table. */
static void
migrate_recreate_dependents(struct planner *pl, const struct table_plan *tp,
                            struct migrate_buf *sql, struct migrate_buf *why, int *d)
{
	for (size_t i = 0; i < pl->want.n; i++) {
		struct migrate_object *o = &pl->want.objs[i];
		if ((strcmp(o->type, "index") == 0 || strcmp(o->type, "trigger") == 0) &&
		    sqlite3_stricmp(o->tbl, tp->want->name) == 0)
			migrate_buf_printf(sql, "%s;\n", o->sql);
	}
	for (size_t i = 0; i < pl->have.n; i++) {
		struct migrate_object *o = &pl->have.objs[i];
		char *s;
		if ((strcmp(o->type, "index") != 0 && strcmp(o->type, "trigger") != 0) ||
		    sqlite3_stricmp(o->tbl, tp->have->name) != 0 ||
		    migrate_schema_find(&pl->want, o->type, o->name))
			continue;
		s = migrate_printf("drop %s %s", o->type, o->name);
		migrate_add_reason(why, d, 1, s);
		free(s);
	}
}

/* AUTOINCREMENT promises ids are never reused: carry the old high-water
 * mark over, or the copy would reset it to max(id). */
static void
migrate_keep_sequence(struct migrate_buf *sql, const char *tmp, const char *name)
{
	char *t = sqlite3_mprintf("%Q", tmp), *n = sqlite3_mprintf("%Q", name);
	migrate_buf_printf(sql,
	                   "DELETE FROM sqlite_sequence WHERE name = %s AND "
	                   "EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s);\n"
	                   "INSERT INTO sqlite_sequence (name, seq) SELECT %s, seq "
	                   "FROM sqlite_sequence WHERE name = %s;\n",
	                   t, n, t, n);
	sqlite3_free(t);
	sqlite3_free(n);
}

/* SQLite's 12-step rebuild (lang_altertable.html#otheralter), as one
 * step; migrate_apply() supplies foreign_keys=OFF, the transaction and
 * the foreign_key_check. */
static void
migrate_emit_rebuild(struct planner *pl, const struct table_plan *tp)
{
	struct migrate_buf sql = {0}, why = {0};
	const struct migrate_object *w = tp->want;
	char *tmp_name = migrate_printf("_cot_new_%s", w->name);
	char *qtmp = migrate_quote(tmp_name), *qname = migrate_quote(w->name);
	int d = migrate_table_risks(pl, tp, &why);
	assert(w->text.name_len > 0);
	migrate_buf_printf(&sql, "%.*s%s%s;\n", (int)w->text.name_off, w->sql, qtmp,
	                   w->sql + w->text.name_off + w->text.name_len);
	migrate_copy_sql(tp, qtmp, qname, &sql);
	if (strstr(w->norm, " autoincrement"))
		migrate_keep_sequence(&sql, tmp_name, w->name);
	migrate_buf_printf(&sql,
	                   "DROP TABLE %s;\nPRAGMA legacy_alter_table=ON;\n"
	                   "ALTER TABLE %s RENAME TO %s;\n"
	                   "PRAGMA legacy_alter_table=OFF;\n",
	                   qname, qtmp, qname);
	migrate_recreate_dependents(pl, tp, &sql, &why, &d);
	if (why.n == 0)
		migrate_buf_printf(&why, "definition changed");
	migrate_add_step(
	        pl, d, sql.s,
	        migrate_printf("~ rebuild %s (%s)%s", w->name, why.s, d ? " (destructive)" : ""));
	free(why.s);
	free(tmp_name);
	free(qtmp);
	free(qname);
}

/* Choose the action for every matched table. */
static void
migrate_decide_tables(struct planner *pl)
{
	for (size_t i = 0; i < pl->n_tables; i++) {
		struct table_plan *tp = &pl->tables[i];
		struct migrate_buf adds = {0};
		if (tp->have == NULL)
			continue;
		if (tp->have->is_virtual || tp->want->is_virtual || tp->want->text.name_len == 0)
			tp->action = (!tp->renamed && strcmp(tp->have->norm, tp->want->norm) == 0)
			                     ? T_SAME
			                     : T_REPLACE;
		else if (!tp->renamed && strcmp(tp->have->norm, tp->want->norm) == 0)
			tp->action = T_SAME;
		else if (migrate_try_alter(tp, &adds) == 0)
			tp->action = T_ALTER;
		else
			tp->action = T_REBUILD;
		free(adds.s);
	}
}

static void
migrate_emit_tables(struct planner *pl)
{
	migrate_emit_renames(pl);
	for (size_t i = 0; i < pl->n_tables; i++)
		if (pl->tables[i].action == T_ALTER)
			migrate_emit_adds(pl, &pl->tables[i]);
	for (size_t i = 0; i < pl->n_tables; i++)
		if (pl->tables[i].action == T_REBUILD)
			migrate_emit_rebuild(pl, &pl->tables[i]);
	for (size_t i = 0; i < pl->n_tables; i++) {
		struct table_plan *tp = &pl->tables[i];
		if (tp->action == T_REPLACE) {
			char *drop = migrate_drop_sql("table", tp->have->name);
			int d = tp->have->has_rows;
			migrate_add_step(pl, d, migrate_printf("%s\n%s;", drop, tp->want->sql),
			                 migrate_printf("~ replace %s%s", tp->want->name,
			                                d ? " (destructive)" : ""));
			free(drop);
		} else if (tp->have == NULL) {
			migrate_add_step(pl, 0, migrate_printf("%s;", tp->want->sql),
			                 migrate_printf("+ table %s", tp->want->name));
		}
	}
	for (size_t i = 0; i < pl->have.n; i++) {
		struct migrate_object *h = &pl->have.objs[i];
		if (strcmp(h->type, "table") == 0 && !migrate_plan_for_have(pl, h->name))
			migrate_add_step(pl, 1, migrate_drop_sql("table", h->name),
			                 migrate_printf("- table %s (destructive)", h->name));
	}
}

/* ---- indexes, views, triggers -------------------------------------- */

/* Does DROP TABLE take o (an index or trigger) with it in this plan? */
static int
migrate_on_rebuilt_table(struct planner *pl, const struct migrate_object *o, int live)
{
	struct table_plan *tp =
	        live ? migrate_plan_for_have(pl, o->tbl) : migrate_plan_for_want(pl, o->tbl);
	if (strcmp(o->type, "view") == 0 || tp == NULL)
		return 0;
	return tp->action == T_REBUILD || tp->action == T_REPLACE;
}

/* Is the live view `name` dropped by this plan (with its triggers)? */
static int
migrate_view_changes(struct planner *pl, const char *name)
{
	struct migrate_object *h = migrate_schema_find(&pl->have, "view", name);
	struct migrate_object *w = migrate_schema_find(&pl->want, "view", name);
	return h && (w == NULL || strcmp(h->norm, w->norm) != 0);
}

/* Live object h can stay as it is. */
static int
migrate_keeps(struct planner *pl, const struct migrate_object *h, const struct migrate_object *w)
{
	if (w == NULL || strcmp(h->norm, w->norm) != 0)
		return 0;
	return strcmp(h->type, "trigger") != 0 || !migrate_view_changes(pl, h->tbl);
}

/* The desired object declared "@renamed from=" live object h, if any
 * (SQLite cannot rename these: the step is a drop and a create, but it
 * removes nothing). */
static struct migrate_object *
migrate_renamed_to(struct planner *pl, const struct migrate_object *h)
{
	for (size_t i = 0; i < pl->want.n; i++) {
		struct migrate_object *w = &pl->want.objs[i];
		char *from;
		int match;
		if (strcmp(w->type, h->type) != 0 ||
		    migrate_schema_find(&pl->have, w->type, w->name))
			continue;
		from = migrate_renamed_from(w->sql);
		match = from && sqlite3_stricmp(from, h->name) == 0;
		free(from);
		if (match)
			return w;
	}
	return NULL;
}

static void
migrate_emit_drops(struct planner *pl, const char *type)
{
	for (size_t i = 0; i < pl->have.n; i++) {
		struct migrate_object *h = &pl->have.objs[i], *w, *r;
		if (strcmp(h->type, type) != 0 || migrate_on_rebuilt_table(pl, h, 1))
			continue;
		w = migrate_schema_find(&pl->want, type, h->name);
		if (migrate_keeps(pl, h, w))
			continue;
		if (w == NULL && (r = migrate_renamed_to(pl, h)) != NULL) {
			migrate_add_step(
			        pl, 0, migrate_drop_sql(type, h->name),
			        migrate_printf("~ rename %s %s -> %s", type, h->name, r->name));
			continue;
		}
		migrate_add_step(pl, w == NULL, migrate_drop_sql(type, h->name),
		                 migrate_printf("%s %s %s%s", w ? "~" : "-", type, h->name,
		                                w ? "" : " (destructive)"));
	}
}

static void
migrate_emit_creates(struct planner *pl, const char *type)
{
	for (size_t i = 0; i < pl->want.n; i++) {
		struct migrate_object *w = &pl->want.objs[i], *h;
		char *from;
		if (strcmp(w->type, type) != 0 || migrate_on_rebuilt_table(pl, w, 0))
			continue;
		h = migrate_schema_find(&pl->have, type, w->name);
		if (h && !migrate_on_rebuilt_table(pl, h, 1) && migrate_keeps(pl, h, w))
			continue;
		from = h ? NULL : migrate_renamed_from(w->sql);
		if (from && !migrate_schema_find(&pl->have, type, from)) {
			free(from);
			from = NULL;
		}
		migrate_add_step(pl, 0, migrate_printf("%s;", w->sql),
		                 h || from ? migrate_strdup("")
		                           : migrate_printf("+ %s %s", type, w->name));
		free(from);
	}
}

/* ---- the public API ------------------------------------------------ */

static void
migrate_build_summary(struct migrate_plan *p)
{
	struct migrate_buf b = {0};
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].summary[0])
			migrate_buf_printf(&b, "%s%s", b.n ? "; " : "", p->steps[i].summary);
	if (b.n == 0)
		migrate_buf_printf(&b, "no changes");
	p->summary = b.s;
}

static void
migrate_planner_free(struct planner *pl)
{
	migrate_schema_free(&pl->want);
	migrate_schema_free(&pl->have);
	free(pl->tables);
}

int
migrate_plan(sqlite3 *live, const char *schema_sql, struct migrate_plan **out, char **err)
{
	struct planner pl = {0};
	sqlite3 *mem = NULL;
	int rc = -1;
	*out = NULL;
	*err = NULL;
	if (sqlite3_open(":memory:", &mem) != SQLITE_OK) {
		*err = migrate_strdup("cannot open an in-memory database");
		goto out;
	}
	if (migrate_schema_load(mem, schema_sql, err) ||
	    migrate_schema_read(mem, 0, &pl.want, err) ||
	    migrate_schema_read(live, 1, &pl.have, err))
		goto out;
	pl.live = live;
	pl.plan = calloc(1, sizeof *pl.plan);
	if (pl.plan == NULL)
		abort();
	if ((pl.plan->live_dump = migrate_schema_dump(live, err)) == NULL)
		goto out;
	migrate_match_tables(&pl);
	migrate_decide_tables(&pl);
	migrate_emit_drops(&pl, "trigger");
	migrate_emit_drops(&pl, "view");
	migrate_emit_drops(&pl, "index");
	migrate_emit_tables(&pl);
	migrate_emit_creates(&pl, "index");
	migrate_emit_creates(&pl, "view");
	migrate_emit_creates(&pl, "trigger");
	migrate_build_summary(pl.plan);
	*out = pl.plan;
	pl.plan = NULL;
	rc = 0;
out:
	migrate_plan_free(pl.plan);
	migrate_planner_free(&pl);
	sqlite3_close(mem);
	return rc;
}
