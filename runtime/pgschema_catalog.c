/*
 * pgschema_catalog.c -- one schema read back from pg_catalog.
 *
 * Both sides of the diff are read the same way: the live schema (public)
 * and the scratch schema schema.sql was loaded into (cot_plan). Every
 * definition is printed by PostgreSQL itself (format_type, pg_get_expr,
 * pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef,
 * pg_get_functiondef, pg_get_triggerdef) with the schema's qualification
 * removed, so the two compare as text. Objects cot does not plan
 * (domains, policies, row security, privileges, extensions, sequences of
 * their own, other types) are read as one line each into `unmanaged`: the
 * plan refuses when the two sides differ there.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgschema_internal.h"

static const char pgs_sql_tables[] =
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname NOT LIKE '\\_cot%' "
        "ORDER BY c.oid";

static const char pgs_sql_cols[] =
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, "
        "CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END, "
        "a.attidentity, pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname), "
        "(SELECT format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s', "
        "  s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, "
        "  CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END) FROM pg_sequence s "
        "  WHERE a.attidentity <> '' AND s.seqrelid = pg_get_serial_sequence("
        "  format('%I.%I', n.nspname, c.relname), a.attname)::regclass), "
        "CASE WHEN a.attcollation <> t.typcollation THEN (SELECT format('%I', collname) "
        "  FROM pg_collation WHERE oid = a.attcollation) END "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY c.relname, a.attnum";

static const char pgs_sql_cons[] =
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.contype FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND k.contype IN ('p','u','c','f','x') ORDER BY 1, 3";

/* kind, name, key, create, drop, table -- in the order they are made:
 * enum types, domains and functions in the order schema.sql made them
 * (one may use another), then indexes, views, triggers, comments,
 * privileges, row security and policies. */
static const char pgs_sql_objs[] =
        "WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1), "
        "ext AS (SELECT objid FROM pg_depend WHERE deptype = 'e') "
        "SELECT 'type', t.typname, NULL, format('CREATE TYPE %I AS ENUM (%s)', t.typname, "
        "  (SELECT string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder) "
        "  FROM pg_enum WHERE enumtypid = t.oid)), format('DROP TYPE %I', t.typname), NULL, "
        "  1, t.oid::int8 FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM ns) "
        "  AND t.typtype = 'e' AND t.oid NOT IN (SELECT objid FROM ext) "
        "UNION ALL SELECT 'domain', t.typname, NULL, format('CREATE DOMAIN %I AS %s%s%s%s', "
        "  t.typname, format_type(t.typbasetype, t.typtypmod), ' DEFAULT ' || t.typdefault, "
        "  CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END, (SELECT string_agg(format("
        "  ' CONSTRAINT %I %s', k.conname, pg_get_constraintdef(k.oid)), '' ORDER BY k.conname) "
        "  FROM pg_constraint k WHERE k.contypid = t.oid)), format('DROP DOMAIN %I', t.typname), "
        "  NULL, 1, t.oid::int8 FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM ns) "
        "  AND t.typtype = 'd' AND t.oid NOT IN (SELECT objid FROM ext) "
        "UNION ALL SELECT 'function', format('%I(%s)', p.proname, "
        "  pg_get_function_identity_arguments(p.oid)), NULL, pg_get_functiondef(p.oid), "
        "  format('DROP FUNCTION %I(%s)', p.proname, pg_get_function_identity_arguments(p.oid)), "
        "  NULL, 1, p.oid::int8 FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns) "
        "  AND p.prokind IN ('f','p') AND p.oid NOT IN (SELECT objid FROM ext) "
        "UNION ALL SELECT 'index', c.relname, NULL, pg_get_indexdef(i.indexrelid), "
        "  format('DROP INDEX %I', c.relname), t.relname, CASE t.relkind WHEN 'm' THEN 5 "
        "  ELSE 3 END, c.oid::int8 FROM pg_index i "
        "  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "  WHERE t.relnamespace = (SELECT oid FROM ns) AND t.relname NOT LIKE '\\_cot%' "
        "  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
        "  AND k.contype IN ('p','u','x')) AND t.relkind IN ('r','m') "
        "UNION ALL SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'matview' END, c.relname, "
        "  NULL, format('CREATE %sVIEW %I AS %s', CASE c.relkind WHEN 'm' THEN 'MATERIALIZED ' "
        "  ELSE '' END, c.relname, rtrim(pg_get_viewdef(c.oid), ';')), format('DROP %sVIEW %I', "
        "  CASE c.relkind WHEN 'm' THEN 'MATERIALIZED ' ELSE '' END, c.relname), NULL, 4, "
        "  c.oid::int8 FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns) "
        "  AND c.relkind IN ('v','m') "
        "UNION ALL SELECT 'trigger', format('%I ON %I', g.tgname, c.relname), NULL, "
        "  pg_get_triggerdef(g.oid), format('DROP TRIGGER %I ON %I', g.tgname, c.relname), "
        "  c.relname, 5, g.oid::int8 FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "  WHERE c.relnamespace = (SELECT oid FROM ns) AND NOT g.tgisinternal "
        "UNION ALL SELECT 'comment', CASE WHEN d.objsubid = 0 THEN c.relname ELSE "
        "  c.relname || '.' || a.attname END, NULL, CASE WHEN d.objsubid = 0 THEN "
        "  format('COMMENT ON %s %I IS %L', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN "
        "  'MATERIALIZED VIEW' ELSE 'TABLE' END, c.relname, d.description) ELSE "
        "  format('COMMENT ON COLUMN %I.%I IS %L', c.relname, a.attname, d.description) END, "
        "  CASE WHEN d.objsubid = 0 THEN format('COMMENT ON %s %I IS NULL', CASE c.relkind "
        "  WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, c.relname) "
        "  ELSE format('COMMENT ON COLUMN %I.%I IS NULL', c.relname, a.attname) END, "
        "  c.relname, 6, c.oid::int8 * 10000 + d.objsubid FROM pg_description d "
        "  JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass "
        "  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid "
        "  WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind IN ('r','v','m') "
        "  AND c.relname NOT LIKE '\\_cot%' "
        "UNION ALL SELECT 'grant', format('%s on %I to %s', a.privilege_type, c.relname, g.who), "
        "  NULL, format('GRANT %s ON %I TO %s%s', a.privilege_type, c.relname, g.who, "
        "  CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), format('REVOKE %s ON "
        "  %I FROM %s', a.privilege_type, c.relname, g.who), c.relname, 7, c.oid::int8 "
        "  FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a CROSS JOIN LATERAL (SELECT "
        "  CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END "
        "  AS who) g WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind IN ('r','v','m') "
        "  AND c.relname NOT LIKE '\\_cot%' AND a.grantee <> c.relowner "
        "UNION ALL SELECT 'rls', c.relname, NULL, format('ALTER TABLE %I ENABLE ROW LEVEL "
        "  SECURITY', c.relname), format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', c.relname), "
        "  c.relname, 7, c.oid::int8 FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns) "
        "  AND c.relrowsecurity "
        "UNION ALL SELECT 'forcerls', c.relname, NULL, format('ALTER TABLE %I FORCE ROW LEVEL "
        "  SECURITY', c.relname), format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', c.relname), "
        "  c.relname, 7, c.oid::int8 FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns) "
        "  AND c.relforcerowsecurity "
        "UNION ALL SELECT 'policy', format('%I ON %I', p.polname, c.relname), NULL, "
        "  format('CREATE POLICY %I ON %I AS %s FOR %s TO %s%s%s', p.polname, c.relname, "
        "  CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, CASE p.polcmd "
        "  WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN "
        "  'DELETE' ELSE 'ALL' END, (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE "
        "  quote_ident(pg_get_userbyid(r)) END, ', ' ORDER BY r) FROM unnest(p.polroles) r), "
        "  ' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', ' WITH CHECK (' || "
        "  pg_get_expr(p.polwithcheck, p.polrelid) || ')'), format('DROP POLICY %I ON %I', "
        "  p.polname, c.relname), c.relname, 7, p.oid::int8 FROM pg_policy p JOIN pg_class c "
        "  ON c.oid = p.polrelid WHERE c.relnamespace = (SELECT oid FROM ns) "
        "ORDER BY 7, 8";

/* What cot does not plan, one line each: compared, never changed. */
static const char pgs_sql_unmanaged[] =
        "WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1), "
        "ext AS (SELECT objid FROM pg_depend WHERE deptype = 'e') "
        "SELECT format('a type %s', typname) FROM pg_type WHERE typnamespace = "
        "  (SELECT oid FROM ns) AND typtype IN ('r','m','b') AND typcategory <> 'A' AND oid NOT IN "
        "(SELECT objid FROM ext) "
        "UNION ALL SELECT format('a composite type %s', t.typname) FROM pg_type t JOIN pg_class c "
        "  ON c.oid = t.typrelid WHERE t.typnamespace = (SELECT oid FROM ns) AND c.relkind = 'c' "
        "UNION ALL SELECT format('column privileges on %s.%s: %s', c.relname, a.attname, a.attacl) "
        "  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE a.attacl IS NOT NULL "
        "  AND c.relnamespace = (SELECT oid FROM ns) "
        "UNION ALL SELECT format('a sequence %s', c.relname) FROM pg_class c WHERE c.relkind = 'S' "
        "  AND c.relnamespace = (SELECT oid FROM ns) AND c.relname NOT LIKE '\\_cot%' "
        "  AND NOT EXISTS (SELECT 1 FROM pg_depend WHERE objid = c.oid AND deptype IN ('a','i')) "
        "UNION ALL SELECT format('a %s table %s', CASE relkind WHEN 'p' THEN 'partitioned' "
        "  WHEN 'f' THEN 'foreign' ELSE 'partition or inheriting' END, relname) FROM pg_class "
        "  WHERE relnamespace = (SELECT oid FROM ns) AND (relkind IN ('p','f') OR relispartition "
        "  OR EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = oid)) "
        "ORDER BY 1";

/* Rows of a catalog query with one text parameter ($1, the schema). */
static PGresult *
pgschema_query(PGconn *pg, const char *sql, const char *schema, char **err)
{
	const char *params[1] = {schema};
	PGresult *r = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = migrate_printf("reading the catalog: %s", PQerrorMessage(pg));
		PQclear(r);
		return NULL;
	}
	return r;
}

char *
pgschema_catalog_unqualify(const char *def, const char *schema)
{
	struct migrate_buf b = {0};
	size_t n = strlen(schema);
	for (const char *p = def; *p;) {
		if (strncmp(p, schema, n) == 0 && p[n] == '.' &&
		    (p == def || !(isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
			p += n + 1;
			continue;
		}
		migrate_buf_add(&b, p, 1);
		p++;
	}
	migrate_buf_str(&b);
	return b.s;
}

struct pgs_table *
pgschema_catalog_table(struct pgs_schema *s, const char *name)
{
	for (int i = 0; name && i < s->n; i++)
		if (strcmp(s->t[i].name, name) == 0)
			return &s->t[i];
	return NULL;
}

const struct pgs_col *
pgschema_catalog_col(const struct pgs_table *t, const char *name)
{
	for (int i = 0; t && name && i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return &t->cols[i];
	return NULL;
}

/* Column i of r, unqualified, or NULL when SQL NULL. */
static char *
pgschema_val(PGresult *r, int i, int col, const char *schema)
{
	return PQgetisnull(r, i, col) ? NULL
	                              : pgschema_catalog_unqualify(PQgetvalue(r, i, col), schema);
}

static void
pgschema_read_cols(PGresult *r, struct pgs_schema *s, const char *schema)
{
	for (int i = 0; i < PQntuples(r); i++) {
		struct pgs_table *t = pgschema_catalog_table(s, PQgetvalue(r, i, 0));
		if (t == NULL || t->ncols >= 128)
			continue;
		struct pgs_col *c = &t->cols[t->ncols++];
		c->name = migrate_strdup(PQgetvalue(r, i, 1));
		c->type = pgschema_val(r, i, 2, schema);
		c->notnull = PQgetvalue(r, i, 3)[0] == 't';
		c->dflt = pgschema_val(r, i, 4, schema);
		c->gen = pgschema_val(r, i, 5, schema);
		c->identity = PQgetvalue(r, i, 6)[0];
		c->seq = pgschema_val(r, i, 7, schema);
		c->seq_opts = pgschema_val(r, i, 8, schema);
		c->collation = pgschema_val(r, i, 9, schema);
	}
}

/* An index's definition without its name: "CREATE INDEX ON t ...". */
static char *
pgschema_index_key(const char *def)
{
	const char *at = strstr(def, " ON "), *head = strstr(def, "INDEX ");
	if (at == NULL || head == NULL || head > at)
		return migrate_strdup(def);
	return migrate_printf("%.*s%s", (int)(head + 5 - def), def, at);
}

static void
pgschema_read_objs(PGresult *r, struct pgs_schema *s, const char *schema)
{
	for (int i = 0; i < PQntuples(r) && s->no < 1024; i++) {
		struct pgs_obj *o = &s->o[s->no++];
		snprintf(o->kind, sizeof(o->kind), "%s", PQgetvalue(r, i, 0));
		o->name = pgschema_val(r, i, 1, schema);
		o->create = pgschema_val(r, i, 3, schema);
		o->drop = pgschema_val(r, i, 4, schema);
		o->table = pgschema_val(r, i, 5, schema);
		o->late = atoi(PQgetvalue(r, i, 6)) == 5 && strcmp(o->kind, "index") == 0;
		o->key = strcmp(o->kind, "index") == 0 ? pgschema_index_key(o->create)
		                                       : migrate_strdup(o->create);
	}
}

int
pgschema_catalog_read(PGconn *pg, const char *schema, struct pgs_schema *s, char **err)
{
	PGresult *r = pgschema_query(pg, pgs_sql_tables, schema, err);
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r) && s->n < 256; i++)
		s->t[s->n++].name = migrate_strdup(PQgetvalue(r, i, 0));
	PQclear(r);
	if ((r = pgschema_query(pg, pgs_sql_cols, schema, err)) == NULL)
		return -1;
	pgschema_read_cols(r, s, schema);
	PQclear(r);
	if ((r = pgschema_query(pg, pgs_sql_cons, schema, err)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		struct pgs_table *t = pgschema_catalog_table(s, PQgetvalue(r, i, 0));
		if (t == NULL || t->ncons >= 64)
			continue;
		struct pgs_con *k = &t->cons[t->ncons++];
		k->name = migrate_strdup(PQgetvalue(r, i, 1));
		k->def = pgschema_val(r, i, 2, schema);
		k->type = PQgetvalue(r, i, 3)[0];
	}
	PQclear(r);
	if ((r = pgschema_query(pg, pgs_sql_objs, schema, err)) == NULL)
		return -1;
	pgschema_read_objs(r, s, schema);
	PQclear(r);
	if ((r = pgschema_query(pg, pgs_sql_unmanaged, schema, err)) == NULL)
		return -1;
	struct migrate_buf b = {0};
	for (int i = 0; i < PQntuples(r); i++)
		migrate_buf_printf(&b, "%s%s", i ? "; " : "", PQgetvalue(r, i, 0));
	s->unmanaged = migrate_strdup(migrate_buf_str(&b));
	free(b.s);
	PQclear(r);
	return 0;
}

void
pgschema_catalog_free(struct pgs_schema *s)
{
	for (int i = 0; i < s->n; i++) {
		struct pgs_table *t = &s->t[i];
		for (int j = 0; j < t->ncols; j++) {
			struct pgs_col *c = &t->cols[j];
			free(c->name);
			free(c->type);
			free(c->dflt);
			free(c->gen);
			free(c->seq);
			free(c->seq_opts);
			free(c->collation);
		}
		for (int j = 0; j < t->ncons; j++) {
			free(t->cons[j].name);
			free(t->cons[j].def);
		}
		free(t->name);
	}
	for (int i = 0; i < s->no; i++) {
		free(s->o[i].name);
		free(s->o[i].key);
		free(s->o[i].create);
		free(s->o[i].drop);
		free(s->o[i].table);
	}
	free(s->unmanaged);
	memset(s, 0, sizeof(*s)); /* ready to be read again */
}
