/*
 * pgschema_objects.c -- the diff of what hangs off the tables: indexes,
 * views and materialized views, functions, triggers, enum types, domains,
 * comments, privileges on tables, row level security and its policies.
 *
 * Each is one struct pgs_obj per side (pgschema_catalog.c): a name, the
 * definition PostgreSQL prints (compared as text), the SQL that makes it and
 * the SQL that removes it. An index matches by definition (another name is
 * ALTER INDEX ... RENAME); the rest by name, and a different definition is a
 * replacement: CREATE OR REPLACE for a function, drop and create for the
 * others. Views are also rebuilt whenever a table changes (a column a view
 * reads cannot change type under it); an enum type may gain values at its end
 * (ALTER TYPE ... ADD VALUE), any other change of one, or of a domain, is
 * refused. A privilege is one object per grantee and privilege (REVOKE removes
 * it). Removing an object schema.sql no longer has is destructive; a
 * replacement is not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgschema_internal.h"

static int
pgschema_obj_is(const struct pgs_obj *o, const char *kind)
{
	return strcmp(o->kind, kind) == 0;
}

static struct pgs_obj *
pgschema_obj_named(struct pgs_schema *s, const char *kind, const char *name)
{
	for (int i = 0; i < s->no; i++)
		if (pgschema_obj_is(&s->o[i], kind) && strcmp(s->o[i].name, name) == 0)
			return &s->o[i];
	return NULL;
}

static int
pgschema_is_view(const struct pgs_obj *o)
{
	return pgschema_obj_is(o, "view") || pgschema_obj_is(o, "matview");
}

/* An index of have with w's definition, not yet matched. */
static struct pgs_obj *
pgschema_index_match(struct pgs_schema *have, const struct pgs_obj *w)
{
	for (int i = 0; i < have->no; i++) {
		struct pgs_obj *h = &have->o[i];
		if (pgschema_obj_is(h, "index") && !h->matched && strcmp(h->key, w->key) == 0)
			return h;
	}
	return NULL;
}

/* Enum w's new values when it only appends to h; -1 for another change. */
static int
pgschema_enum_append(struct pgs_plan *p, const struct pgs_obj *w, const struct pgs_obj *h)
{
	size_t n = strlen(h->create) - 1; /* without ")" */
	if (strncmp(w->create, h->create, n) != 0 || strncmp(w->create + n, ", '", 3) != 0)
		return -1;
	char *q = migrate_quote(w->name);
	for (const char *v = w->create + n + 2; *v == '\'';) {
		const char *e = v + 1;
		while (*e && !(e[0] == '\'' && e[1] != '\''))
			e += e[0] == '\'' ? 2 : 1;
		char *sum = migrate_printf("~ type %s value %.*s", w->name, (int)(e + 1 - v), v);
		pgschema_plan_step(p, PGS_PH_TYPES, 0, sum, "ALTER TYPE %s ADD VALUE %.*s", q,
		                   (int)(e + 1 - v), v);
		free(sum);
		v = e + 1 + strspn(e + 1, ", ");
	}
	free(q);
	return 0;
}

/* The phase an object is made in. */
static enum pgs_phase
pgschema_create_phase(const struct pgs_obj *o)
{
	if (pgschema_obj_is(o, "type") || pgschema_obj_is(o, "domain") ||
	    pgschema_obj_is(o, "function"))
		return PGS_PH_TYPES;
	return pgschema_obj_is(o, "index") && !o->late ? PGS_PH_INDEXES : PGS_PH_DEPENDENT;
}

/* The phase an object is removed in (replaced: it is made again later). */
static enum pgs_phase
pgschema_drop_phase(const struct pgs_obj *o)
{
	if (pgschema_obj_is(o, "type") || pgschema_obj_is(o, "domain") ||
	    pgschema_obj_is(o, "function"))
		return PGS_PH_DROP_TYPES;
	return pgschema_obj_is(o, "index") ? PGS_PH_DROP_CONS : PGS_PH_DROP_DEPENDENT;
}

static void
pgschema_make(struct pgs_plan *p, const struct pgs_obj *w, const char *how)
{
	char *sum = migrate_printf("%s %s %s", how, w->kind, w->name);
	pgschema_plan_step(p, pgschema_create_phase(w), 0, sum, "%s", w->create);
	free(sum);
}

/* Removes h; destructive unless want makes it again under its name. */
static void
pgschema_remove(struct pgs_plan *p, const struct pgs_obj *h, int replaced)
{
	if (replaced && (pgschema_obj_is(h, "comment") || pgschema_obj_is(h, "function")))
		return; /* a new comment replaces; CREATE OR REPLACE FUNCTION */
	int destructive = !replaced && !pgschema_obj_is(h, "comment");
	char *sum =
	        migrate_printf("- %s %s%s", h->kind, h->name, destructive ? " (destructive)" : "");
	if (pgschema_obj_is(h, "index"))
		pgschema_plan_step(p, PGS_PH_DROP_CONS, destructive, sum, "DROP INDEX IF EXISTS %s",
		                   h->drop + strlen("DROP INDEX "));
	else
		pgschema_plan_step(p, pgschema_drop_phase(h), destructive, sum, "%s", h->drop);
	free(sum);
}

/* Indexes: by definition; a match under another name is renamed. */
static void
pgschema_plan_indexes(struct pgs_plan *p, struct pgs_schema *want, struct pgs_schema *have)
{
	for (int i = 0; i < want->no; i++) {
		struct pgs_obj *w = &want->o[i], *h;
		if (!pgschema_obj_is(w, "index") || w->matched ||
		    (h = pgschema_index_match(have, w)) == NULL)
			continue;
		w->matched = h->matched = 1;
		if (strcmp(w->name, h->name) != 0) {
			char *qo = migrate_quote(h->name), *qn = migrate_quote(w->name);
			char *sum = migrate_printf("~ index %s renamed from %s", w->name, h->name);
			pgschema_plan_step(p, PGS_PH_NAMES, 0, sum, "ALTER INDEX %s RENAME TO %s",
			                   qo, qn);
			free(sum);
			free(qo);
			free(qn);
		}
	}
}

/* What hangs off a view that is made again goes and comes with it. */
static void
pgschema_plan_view_dependents(struct pgs_schema *want, struct pgs_schema *have)
{
	for (int i = 0; i < want->no; i++) {
		struct pgs_obj *v = &want->o[i];
		if (!pgschema_is_view(v) || v->matched != 2)
			continue;
		for (int j = 0; j < want->no; j++)
			if (want->o[j].table && strcmp(want->o[j].table, v->name) == 0)
				want->o[j].matched = 3;
		for (int j = 0; j < have->no; j++)
			if (have->o[j].table && strcmp(have->o[j].table, v->name) == 0)
				have->o[j].matched = 1; /* dropped with the view */
	}
}

void
pgschema_objects_plan(struct pgs_plan *p, struct pgs_schema *want, struct pgs_schema *have)
{
	for (int i = 0; i < want->no; i++) {
		struct pgs_obj *w = &want->o[i];
		if (pgschema_obj_is(w, "index"))
			continue;
		struct pgs_obj *h = pgschema_obj_named(have, w->kind, w->name);
		if (h == NULL)
			continue;
		int same =
		        strcmp(w->key, h->key) == 0 && !(pgschema_is_view(w) && p->tables_changed);
		w->matched = h->matched = same ? 1 : 2; /* 2: replaced */
		if (!same && (pgschema_obj_is(w, "type") || pgschema_obj_is(w, "domain"))) {
			w->matched = h->matched = 1;
			if ((pgschema_obj_is(w, "domain") || pgschema_enum_append(p, w, h) != 0) &&
			    p->refusal == NULL)
				p->refusal =
				        migrate_printf("cot cannot change %s %s on PostgreSQL "
				                       "(an enum type may only gain values at its "
				                       "end); nothing was changed",
				                       w->kind, w->name);
		}
	}
	pgschema_plan_view_dependents(want, have);
	pgschema_plan_indexes(p, want, have);
	/* removals, in reverse creation order: a view before the view it reads */
	for (int i = have->no - 1; i >= 0; i--) {
		struct pgs_obj *h = &have->o[i];
		if (h->matched != 1)
			pgschema_remove(p, h,
			                h->matched == 2 ||
			                        (!pgschema_obj_is(h, "index") &&
			                         pgschema_obj_named(want, h->kind, h->name)) ||
			                        (pgschema_obj_is(h, "index") &&
			                         pgschema_obj_named(want, "index", h->name)));
	}
	for (int i = 0; i < want->no; i++) {
		struct pgs_obj *w = &want->o[i];
		if (w->matched != 1)
			pgschema_make(p, w, w->matched >= 2 ? "~" : "+");
	}
}
