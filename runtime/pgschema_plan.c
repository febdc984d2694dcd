/*
 * pgschema_plan.c -- the diff of tables, columns and constraints.
 *
 * Steps go into phases (pgschema_internal.h) so that the whole plan runs
 * in an order PostgreSQL accepts: foreign keys go before the keys they
 * point at, new tables get their columns first and all constraints after
 * every table exists, drops come last. A table or column is matched by
 * name, or by its "@renamed from=" annotation; constraints are matched by
 * definition (a different name is a RENAME CONSTRAINT); serial and
 * identity sequences follow their table's and column's names.
 *
 * Destructive (held until --allow-destructive): dropping a table or a
 * column, a type change that is not a widening, a generated column's new
 * expression (dropped and added again), NOT NULL without a default added
 * to a table that has rows, dropping an index.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgschema_internal.h"

void
pgschema_plan_step(struct pgs_plan *p, enum pgs_phase ph, int destructive, const char *summary,
                   const char *fmt, ...)
{
	char *sql;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (destructive && !p->allow) {
		p->held++;
		migrate_buf_printf(&p->held_summary, "%s%s", p->held_summary.n ? "; " : "",
		                   summary);
	} else {
		p->todo++;
		migrate_buf_printf(&p->sql[ph], "%s;\n", sql);
		migrate_buf_printf(&p->summary, "%s%s", p->summary.n ? "; " : "", summary);
	}
	free(sql);
}

/* ---- columns ---------------------------------------------------------- */

/* "serial" for an integer column whose default draws from its own
 * sequence, so a new column or table gets that sequence too; else NULL. */
static const char *
pgschema_serial(const struct pgs_col *c)
{
	if (c->identity || c->seq == NULL || c->dflt == NULL)
		return NULL;
	char *want = migrate_printf("nextval('%s'::regclass)", c->seq);
	int is = strcmp(want, c->dflt) == 0;
	free(want);
	if (!is)
		return NULL;
	if (strcmp(c->type, "integer") == 0)
		return "serial";
	if (strcmp(c->type, "bigint") == 0)
		return "bigserial";
	if (strcmp(c->type, "smallint") == 0)
		return "smallserial";
	return NULL;
}

/* The column as CREATE TABLE and ADD COLUMN write it (malloc'd). */
static char *
pgschema_col_def(const struct pgs_col *c)
{
	const char *serial = pgschema_serial(c);
	char *q = migrate_quote(c->name);
	struct migrate_buf b = {0};
	migrate_buf_printf(&b, "%s %s", q, serial ? serial : c->type);
	if (c->collation)
		migrate_buf_printf(&b, " COLLATE %s", c->collation);
	if (c->gen)
		migrate_buf_printf(&b, " GENERATED ALWAYS AS (%s) STORED", c->gen);
	else if (c->identity)
		migrate_buf_printf(&b, " GENERATED %s AS IDENTITY (%s)",
		                   c->identity == 'a' ? "ALWAYS" : "BY DEFAULT",
		                   c->seq_opts ? c->seq_opts : "");
	else if (c->dflt && !serial)
		migrate_buf_printf(&b, " DEFAULT %s", c->dflt);
	if (c->notnull && !c->identity)
		migrate_buf_add(&b, " NOT NULL", 9);
	free(q);
	migrate_buf_str(&b);
	return b.s;
}

/* A type change that keeps every value: varchar wider or to text,
 * integers wider. */
static int
pgschema_widening(const char *from, const char *to)
{
	int n = 0, m = 0;
	if (strcmp(to, "text") == 0 && strncmp(from, "character varying", 17) == 0)
		return 1;
	if (sscanf(from, "character varying(%d)", &n) == 1 &&
	    (strcmp(to, "character varying") == 0 ||
	     (sscanf(to, "character varying(%d)", &m) == 1 && m >= n)))
		return 1;
	if (strcmp(from, "smallint") == 0)
		return strcmp(to, "integer") == 0 || strcmp(to, "bigint") == 0;
	return strcmp(from, "integer") == 0 && strcmp(to, "bigint") == 0;
}

/* pgs_col's seq_opts ("START WITH 1 INCREMENT BY 1 ...") as SET clauses. */
static char *
pgschema_identity_set(const char *opts)
{
	long long st, inc, min, max, cache;
	if (opts == NULL || sscanf(opts,
	                           "START WITH %lld INCREMENT BY %lld MINVALUE %lld "
	                           "MAXVALUE %lld CACHE %lld",
	                           &st, &inc, &min, &max, &cache) != 5)
		return migrate_strdup("");
	return migrate_printf(" SET START WITH %lld SET INCREMENT BY %lld SET MINVALUE %lld "
	                      "SET MAXVALUE %lld SET CACHE %lld SET %sCYCLE",
	                      st, inc, min, max, cache, strstr(opts, " CYCLE") ? "" : "NO ");
}

static int
pgschema_streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The column's own @renamed from=, read from its table's statement. */
static char *
pgschema_col_renamed(const struct pgs_stmt *st, const char *col)
{
	struct migrate_table_text tt;
	char *from = NULL;
	if (st == NULL || migrate_table_text(st->sql, &tt) != 0)
		return NULL;
	for (size_t i = 0; i < tt.n_items; i++) {
		char *name = tt.items[i].column;
		if (name && tt.items[i].renamed_from &&
		    (strcmp(name, col) == 0 || strcasecmp(name, col) == 0))
			from = migrate_strdup(tt.items[i].renamed_from);
	}
	migrate_table_text_free(&tt);
	return from;
}

/* Changes of one column that exists on both sides (o: the live one). */
static void
pgschema_plan_column(struct pgs_plan *p, const char *qt, const char *tname, const struct pgs_col *c,
                     const struct pgs_col *o, int rows)
{
	char *qc = migrate_quote(c->name), *sum;
	if (c->seq && o->seq && strcmp(c->seq, o->seq) != 0) {
		sum = migrate_printf("~ sequence %s renamed from %s", c->seq, o->seq);
		pgschema_plan_step(p, PGS_PH_RENAME, 0, sum, "ALTER SEQUENCE %s RENAME TO %s",
		                   o->seq, c->seq);
		free(sum);
	}
	if (strcmp(c->type, o->type) != 0 || !pgschema_streq(c->collation, o->collation)) {
		sum = migrate_printf("~ column %s.%s type %s -> %s%s", tname, c->name, o->type,
		                     c->type,
		                     pgschema_widening(o->type, c->type) ? "" : " (destructive)");
		pgschema_plan_step(p, PGS_PH_COLUMNS, !pgschema_widening(o->type, c->type), sum,
		                   "ALTER TABLE %s ALTER COLUMN %s TYPE %s%s%s USING %s::%s", qt,
		                   qc, c->type, c->collation ? " COLLATE " : "",
		                   c->collation ? c->collation : "", qc, c->type);
		free(sum);
		if (pgschema_serial(c) && pgschema_serial(o)) {
			/* serial <-> bigserial: the sequence's type follows */
			sum = migrate_printf("~ sequence %s as %s", c->seq, c->type);
			pgschema_plan_step(p, PGS_PH_COLUMNS, 0, sum, "ALTER SEQUENCE %s AS %s",
			                   c->seq, c->type);
			free(sum);
		}
	}
	if (c->notnull != o->notnull && !(c->identity && o->identity)) {
		sum = migrate_printf("~ column %s.%s %s", tname, c->name,
		                     c->notnull ? "NOT NULL" : "nullable");
		pgschema_plan_step(p, PGS_PH_COLUMNS, 0, sum,
		                   "ALTER TABLE %s ALTER COLUMN %s %s NOT NULL", qt, qc,
		                   c->notnull ? "SET" : "DROP");
		free(sum);
	}
	/* a default drawing from a renamed sequence is the same default */
	int same_dflt = pgschema_streq(c->dflt, o->dflt) ||
	                (c->seq && o->seq && pgschema_serial(c) && pgschema_serial(o));
	if (!same_dflt && !c->identity) {
		sum = migrate_printf("~ column %s.%s default", tname, c->name);
		if (c->dflt)
			pgschema_plan_step(p, PGS_PH_COLUMNS, 0, sum,
			                   "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", qt, qc,
			                   c->dflt);
		else
			pgschema_plan_step(p, PGS_PH_COLUMNS, 0, sum,
			                   "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", qt, qc);
		free(sum);
	}
	if (c->identity != o->identity || !pgschema_streq(c->seq_opts, o->seq_opts)) {
		sum = migrate_printf("~ column %s.%s identity", tname, c->name);
		char *set = pgschema_identity_set(c->seq_opts);
		if (c->identity && !o->identity && o->dflt)
			pgschema_plan_step(p, PGS_PH_COLUMNS, 0, sum,
			                   "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", qt, qc);
		if (c->identity && !o->identity)
			pgschema_plan_step(p, PGS_PH_COLUMNS, 0, sum,
			                   "ALTER TABLE %s ALTER COLUMN %s "
			                   "ADD GENERATED %s AS IDENTITY (%s)",
			                   qt, qc, c->identity == 'a' ? "ALWAYS" : "BY DEFAULT",
			                   c->seq_opts ? c->seq_opts : "");
		else if (!c->identity)
			pgschema_plan_step(p, PGS_PH_COLUMNS, 0, sum,
			                   "ALTER TABLE %s ALTER COLUMN %s DROP IDENTITY", qt, qc);
		else
			pgschema_plan_step(
			        p, PGS_PH_COLUMNS, 0, sum,
			        "ALTER TABLE %s ALTER COLUMN %s SET GENERATED %s%s%s", qt, qc,
			        c->identity == 'a' ? "ALWAYS" : "BY DEFAULT", set,
			        /* an empty table's sequence starts over inside the
			         * new bounds; a used one keeps its place */
			        rows || pgschema_streq(c->seq_opts, o->seq_opts) ? "" : " RESTART");
		free(set);
		free(sum);
	}
	free(qc);
}

/* Column changes of a table on both sides. */
static void
pgschema_plan_columns(struct pgs_plan *p, const struct pgs_table *w, struct pgs_table *h,
                      const struct pgs_stmt *st)
{
	char *qt = migrate_quote(w->name);
	int kept[128] = {0};
	for (int i = 0; i < w->ncols; i++) {
		const struct pgs_col *c = &w->cols[i], *o = pgschema_catalog_col(h, c->name);
		char *qc = migrate_quote(c->name), *sum;
		if (o == NULL) {
			char *from = pgschema_col_renamed(st, c->name);
			if (from && pgschema_catalog_col(w, from) != NULL && p->refusal == NULL)
				p->refusal = migrate_printf(
				        "schema.sql:%d: cannot rename column %s.%s to "
				        "%s: column %s is still there",
				        st->line, w->name, from, c->name, from);
			else if ((o = pgschema_catalog_col(h, from)) != NULL) {
				char *qo = migrate_quote(o->name);
				sum = migrate_printf("~ column %s.%s renamed from %s", w->name,
				                     c->name, o->name);
				pgschema_plan_step(p, PGS_PH_RENAME, 0, sum,
				                   "ALTER TABLE %s RENAME COLUMN %s TO %s", qt, qo,
				                   qc);
				free(sum);
				free(qo);
			}
			free(from);
		}
		if (o != NULL && !pgschema_streq(c->gen, o->gen)) {
			/* PostgreSQL 15 cannot change a generated column: drop, add */
			sum = migrate_printf("~ column %s.%s generated anew (destructive)", w->name,
			                     c->name);
			char *def = pgschema_col_def(c);
			pgschema_plan_step(p, PGS_PH_COLUMNS, 1, sum,
			                   "ALTER TABLE %s DROP COLUMN %s, ADD COLUMN %s", qt, qc,
			                   def);
			free(def);
			free(sum);
		} else if (o != NULL) {
			pgschema_plan_column(p, qt, w->name, c, o, h->rows);
		} else {
			char *def = pgschema_col_def(c);
			int unfillable = c->notnull && !c->dflt && !c->identity && !c->gen &&
			                 !pgschema_serial(c) && h->rows;
			sum = migrate_printf("+ column %s.%s%s", w->name, c->name,
			                     unfillable ? " (destructive)" : "");
			if (unfillable && p->allow && p->refusal == NULL)
				p->refusal =
				        migrate_printf("cannot add column %s.%s NOT NULL without a "
				                       "DEFAULT: the table has rows; give it a "
				                       "DEFAULT, or add it nullable and fill it "
				                       "first; nothing was changed",
				                       w->name, c->name);
			pgschema_plan_step(p, PGS_PH_COLUMNS, unfillable, sum,
			                   "ALTER TABLE %s ADD COLUMN %s", qt, def);
			free(def);
			free(sum);
		}
		if (o != NULL)
			kept[o - h->cols] = 1;
		free(qc);
	}
	for (int i = 0; i < h->ncols; i++) {
		if (kept[i])
			continue;
		char *qc = migrate_quote(h->cols[i].name);
		char *sum =
		        migrate_printf("- column %s.%s (destructive)", w->name, h->cols[i].name);
		pgschema_plan_step(p, PGS_PH_DROP_COLUMNS, 1, sum, "ALTER TABLE %s DROP COLUMN %s",
		                   qt, qc);
		free(sum);
		free(qc);
	}
	free(qt);
}

/* ---- constraints ------------------------------------------------------ */

/* h's constraint with k's definition: under k's name first (two CHECKs
 * alike differ only by name), else any. */
static struct pgs_con *
pgschema_con_match(struct pgs_table *t, const struct pgs_con *k, int *used)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; t && i < t->ncons; i++)
			if (!used[i] && t->cons[i].type == k->type &&
			    strcmp(t->cons[i].def, k->def) == 0 &&
			    (pass == 1 || strcmp(t->cons[i].name, k->name) == 0))
				return &t->cons[i];
	return NULL;
}

/* Constraints of w (and h, its live table, or NULL for a new table):
 * drops of pass 0 (foreign keys) and 1 (the rest), adds, renames. */
static void
pgschema_plan_constraints(struct pgs_plan *p, struct pgs_table *w, struct pgs_table *h, int pass)
{
	int hused[64] = {0}, wused[64] = {0};
	char *qt = migrate_quote(w->name), *sum;
	for (int i = 0; i < w->ncons; i++) {
		struct pgs_con *k = &w->cons[i], *o = pgschema_con_match(h, k, hused);
		if (o == NULL)
			continue;
		hused[o - h->cons] = wused[i] = 1;
		if (pass == 1 && strcmp(o->name, k->name) != 0) {
			char *qo = migrate_quote(o->name), *qn = migrate_quote(k->name);
			sum = migrate_printf("~ constraint %s on %s renamed from %s", k->name,
			                     w->name, o->name);
			pgschema_plan_step(p, PGS_PH_NAMES, 0, sum,
			                   "ALTER TABLE %s RENAME CONSTRAINT %s TO %s", qt, qo, qn);
			free(sum);
			free(qo);
			free(qn);
		}
	}
	for (int i = 0; h && i < h->ncons; i++) {
		if (hused[i] || (h->cons[i].type == 'f') != (pass == 0))
			continue;
		char *qn = migrate_quote(h->cons[i].name);
		sum = migrate_printf("- constraint %s on %s", h->cons[i].name, w->name);
		pgschema_plan_step(p, PGS_PH_DROP_CONS, 0, sum, "ALTER TABLE %s DROP CONSTRAINT %s",
		                   qt, qn);
		free(sum);
		free(qn);
	}
	for (int i = 0; pass == 1 && i < w->ncons; i++) {
		if (wused[i])
			continue;
		char *qn = migrate_quote(w->cons[i].name);
		sum = migrate_printf("+ constraint %s on %s", w->cons[i].name, w->name);
		pgschema_plan_step(p, w->cons[i].type == 'f' ? PGS_PH_ADD_FK : PGS_PH_ADD_CONS, 0,
		                   sum, "ALTER TABLE %s ADD CONSTRAINT %s %s", qt, qn,
		                   w->cons[i].def);
		free(sum);
		free(qn);
	}
	free(qt);
}

/* ---- tables ----------------------------------------------------------- */

static void
pgschema_create_table(struct pgs_plan *p, const struct pgs_table *w)
{
	struct migrate_buf b = {0};
	char *qt = migrate_quote(w->name);
	for (int i = 0; i < w->ncols; i++) {
		char *def = pgschema_col_def(&w->cols[i]);
		migrate_buf_printf(&b, "%s\n  %s", i ? "," : "", def);
		free(def);
	}
	char *sum = migrate_printf("+ table %s", w->name);
	pgschema_plan_step(p, PGS_PH_TABLES, 0, sum, "CREATE TABLE %s (%s\n)", qt,
	                   migrate_buf_str(&b));
	free(sum);
	free(qt);
	free(b.s);
}

static int
pgschema_has_rows(PGconn *pg, const char *table)
{
	char *q = migrate_quote(table);
	char *sql = migrate_printf("SELECT EXISTS (SELECT 1 FROM %s)", q);
	PGresult *r = PQexec(pg, sql);
	int rows = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	free(sql);
	free(q);
	return rows;
}

/* The live table want's table w stands for: same name, or @renamed. */
static struct pgs_table *
pgschema_match_table(struct pgs_plan *p, const struct pgs_stmt *st, struct pgs_table *w,
                     struct pgs_schema *want, struct pgs_schema *have)
{
	struct pgs_table *h = pgschema_catalog_table(have, w->name);
	if (h != NULL || st == NULL || st->renamed_from == NULL)
		return h;
	if (pgschema_catalog_table(want, st->renamed_from) != NULL) {
		if (p->refusal == NULL)
			p->refusal = migrate_printf("schema.sql:%d: cannot rename table %s to %s: "
			                            "table %s is still there",
			                            st->line, st->renamed_from, w->name,
			                            st->renamed_from);
		return NULL;
	}
	h = pgschema_catalog_table(have, st->renamed_from);
	if (h != NULL && !h->matched) {
		char *qo = migrate_quote(h->name), *qn = migrate_quote(w->name);
		char *sum = migrate_printf("~ table %s renamed from %s", w->name, h->name);
		pgschema_plan_step(p, PGS_PH_RENAME, 0, sum, "ALTER TABLE %s RENAME TO %s", qo, qn);
		free(sum);
		free(qo);
		free(qn);
		return h;
	}
	return NULL;
}

/* The foreign keys of the tables that go, first: a kept table's key they
 * point at may be dropped too. */
static void
pgschema_drop_fks_of_dropped(struct pgs_plan *p, struct pgs_schema *have)
{
	for (int i = 0; i < have->n; i++) {
		struct pgs_table *t = &have->t[i];
		for (int j = 0; !t->matched && j < t->ncons; j++) {
			if (t->cons[j].type != 'f')
				continue;
			char *q = migrate_quote(t->name), *qn = migrate_quote(t->cons[j].name);
			char *sum = migrate_printf("- constraint %s on %s (destructive)",
			                           t->cons[j].name, t->name);
			pgschema_plan_step(p, PGS_PH_DROP_CONS, 1, sum,
			                   "ALTER TABLE %s DROP CONSTRAINT %s", q, qn);
			free(sum);
			free(qn);
			free(q);
		}
	}
}

void
pgschema_plan_renames(struct pgs_plan *p, const struct pgs_file *f, struct pgs_schema *want,
                      struct pgs_schema *have)
{
	for (int i = 0; i < want->n; i++) {
		struct pgs_table *w = &want->t[i];
		const struct pgs_stmt *st = pgschema_read_table(f, w->name);
		struct pgs_table *h = pgschema_match_table(p, st, w, want, have);
		if (h == NULL)
			continue;
		h->matched = 1;
		char *qt = migrate_quote(w->name);
		for (int j = 0; j < w->ncols; j++) {
			const struct pgs_col *c = &w->cols[j];
			char *from = pgschema_catalog_col(h, c->name)
			                     ? NULL
			                     : pgschema_col_renamed(st, c->name);
			if (from && pgschema_catalog_col(h, from) &&
			    !pgschema_catalog_col(w, from)) {
				char *qo = migrate_quote(from), *qc = migrate_quote(c->name);
				char *sum = migrate_printf("~ column %s.%s renamed from %s",
				                           w->name, c->name, from);
				pgschema_plan_step(p, PGS_PH_RENAME, 0, sum,
				                   "ALTER TABLE %s RENAME COLUMN %s TO %s", qt, qo,
				                   qc);
				free(sum);
				free(qo);
				free(qc);
			}
			free(from);
		}
		free(qt);
	}
	for (int i = 0; i < have->n; i++)
		have->t[i].matched = 0;
}

void
pgschema_plan_tables(PGconn *pg, struct pgs_plan *p, const struct pgs_file *f,
                     struct pgs_schema *want, struct pgs_schema *have)
{
	struct pgs_table *pair[256] = {0};
	for (int i = 0; i < want->n; i++) {
		struct pgs_table *w = &want->t[i];
		const struct pgs_stmt *st = pgschema_read_table(f, w->name);
		struct pgs_table *h = pgschema_match_table(p, st, w, want, have);
		pair[i] = h;
		if (h == NULL) {
			pgschema_create_table(p, w);
			continue;
		}
		h->matched = 1;
		h->rows = pgschema_has_rows(pg, h->name);
		pgschema_plan_columns(p, w, h, st);
	}
	pgschema_drop_fks_of_dropped(p, have);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < want->n; i++)
			pgschema_plan_constraints(p, &want->t[i], pair[i], pass);
	for (int i = 0; i < have->n; i++) {
		if (have->t[i].matched)
			continue;
		char *q = migrate_quote(have->t[i].name);
		char *sum = migrate_printf("- table %s (destructive)", have->t[i].name);
		pgschema_plan_step(p, PGS_PH_DROP_TABLES, 1, sum, "DROP TABLE %s CASCADE", q);
		free(sum);
		free(q);
	}
	for (int ph = PGS_PH_RENAME; ph <= PGS_PH_DROP_TABLES; ph++)
		p->tables_changed |=
		        p->sql[ph].n > 0 && ph != PGS_PH_INDEXES && ph != PGS_PH_DEPENDENT;
}
