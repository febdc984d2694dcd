/*
 * pgschema_internal.h -- what the pgschema*.c files share; nothing outside
 * them (and their tests) includes it.
 *
 *   pgschema.c          the whole run: lock, scratch schema, apply, history
 *   pgschema_read.c     schema.sql -> statements (split, translated, judged)
 *   pgschema_catalog.c  pg_catalog -> struct pgs_schema, for one schema
 *   pgschema_plan.c     tables, columns, constraints: the diff -> steps
 *   pgschema_objects.c  indexes, views, functions, triggers, enum types,
 *                       comments: the diff -> steps
 */
#ifndef COT_PGSCHEMA_INTERNAL_H
#define COT_PGSCHEMA_INTERNAL_H

#include <libpq-fe.h>

#include "migrate_internal.h"

#define PGS_MAX 512

/* ---- schema.sql (pgschema_read.c) ---------------------------------- */

enum pgschema_kind {
	PGS_OTHER,     /* refused before anything runs */
	PGS_TABLE,     /* CREATE TABLE */
	PGS_INDEX,     /* CREATE [UNIQUE] INDEX */
	PGS_ALTER,     /* ALTER TABLE: shapes a table of schema.sql */
	PGS_VIEW,      /* CREATE [OR REPLACE] [MATERIALIZED] VIEW */
	PGS_TYPE,      /* CREATE TYPE ... AS ENUM */
	PGS_FUNC,      /* CREATE [OR REPLACE] FUNCTION */
	PGS_TRIGGER,   /* CREATE TRIGGER */
	PGS_COMMENT,   /* COMMENT ON TABLE | COLUMN */
	PGS_GRANT,     /* GRANT ... ON [TABLE] */
	PGS_POLICY,    /* CREATE POLICY */
	PGS_DOMAIN,    /* CREATE DOMAIN */
	PGS_EXTENSION, /* CREATE EXTENSION: made in public before the scratch load */
};

/* One statement of schema.sql: its translated text and first line. */
struct pgs_stmt {
	char *sql;
	int line;
	enum pgschema_kind kind;
	char *name;         /* table or index name (folded like PostgreSQL) */
	char *renamed_from; /* table: its own @renamed from= */
	char *why;          /* PGS_OTHER: what it is, for the refusal */
};

struct pgs_file {
	struct pgs_stmt st[PGS_MAX];
	int n;
};

/* Splits and translates schema.sql; -1 with *err naming the line. */
int pgschema_read_file(const char *schema_sql, struct pgs_file *f, char **err);
/* NULL, or the refusal of the first statement cot does not plan. */
char *pgschema_read_refusal(const struct pgs_file *f);
/* The refusal of one PGS_OTHER statement (malloc'd). */
char *pgschema_read_refusal_of(const struct pgs_stmt *s);
const struct pgs_stmt *pgschema_read_table(const struct pgs_file *f, const char *name);
void pgschema_read_free(struct pgs_file *f);

/* ---- the catalog (pgschema_catalog.c) ------------------------------ */

struct pgs_col {
	char *name, *type, *dflt, *gen; /* gen: a stored generated column's expression */
	char identity;                  /* 'a' always, 'd' by default, 0 none */
	char *seq;                      /* serial or identity sequence, unqualified */
	char *seq_opts;                 /* identity: its sequence options, as SQL */
	char *collation;                /* when not the type's default */
	int notnull;
};

struct pgs_con {
	char *name, *def;
	char type; /* p u c f x */
};

struct pgs_table {
	char *name;
	struct pgs_col cols[128];
	int ncols;
	struct pgs_con cons[64];
	int ncons;
	int rows; /* live side: has at least one row */
	int matched;
};

/* Indexes, views, functions, triggers, enum types, comments. */
struct pgs_obj {
	char kind[12]; /* "index", "view", "matview", "function", "trigger", "type", "comment" */
	char *name;    /* within its kind (a trigger: "name ON table") */
	char *key;     /* compared: the definition, without the name for indexes */
	char *create;  /* the SQL that makes it */
	char *drop;    /* the SQL that removes it */
	char *table;   /* index, trigger, comment: its table */
	int late;      /* an index on a materialized view: made after the views */
	int matched;   /* 1 same, 2 replaced, 3 made again (its view was) */
};

struct pgs_schema {
	struct pgs_table t[256];
	int n;
	struct pgs_obj o[1024];
	int no;
	char *unmanaged; /* what cot does not plan, one "; "-separated line */
};

int pgschema_catalog_read(PGconn *pg, const char *schema, struct pgs_schema *s, char **err);
struct pgs_table *pgschema_catalog_table(struct pgs_schema *s, const char *name);
const struct pgs_col *pgschema_catalog_col(const struct pgs_table *t, const char *name);
void pgschema_catalog_free(struct pgs_schema *s);
/* Every "schema." qualification removed from def (malloc'd). */
char *pgschema_catalog_unqualify(const char *def, const char *schema);

/* ---- the plan (pgschema_plan.c, pgschema_objects.c) ---------------- */

/* Steps go into phases, run in phase order: what must be gone before a
 * table changes first, what needs the new tables last. */
enum pgs_phase {
	PGS_PH_DROP_DEPENDENT, /* views, triggers that change or go */
	PGS_PH_TYPES,          /* new enum types, functions */
	PGS_PH_RENAME,         /* tables, then columns */
	PGS_PH_DROP_CONS,      /* foreign keys, then the rest; indexes */
	PGS_PH_TABLES,         /* new tables (columns only) */
	PGS_PH_COLUMNS,        /* new and changed columns */
	PGS_PH_ADD_CONS,       /* constraints, foreign keys last */
	PGS_PH_ADD_FK,
	PGS_PH_NAMES, /* constraints, indexes, sequences renamed */
	PGS_PH_INDEXES,
	PGS_PH_DEPENDENT, /* views, triggers, comments */
	PGS_PH_DROP_COLUMNS,
	PGS_PH_DROP_TABLES,
	PGS_PH_DROP_TYPES,
	PGS_NPHASES
};

struct pgs_plan {
	struct migrate_buf sql[PGS_NPHASES];
	struct migrate_buf summary, held_summary;
	int held; /* destructive steps not run */
	int todo;
	int allow;
	int tables_changed; /* a table's columns change: views over it are rebuilt */
	char *refusal;      /* set: the plan is refused, nothing runs */
};

void pgschema_plan_step(struct pgs_plan *p, enum pgs_phase ph, int destructive, const char *summary,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Only the renames of tables and columns (@renamed), into PGS_PH_RENAME:
 * run first, so the rest is planned against the renamed schema. */
void pgschema_plan_renames(struct pgs_plan *p, const struct pgs_file *f, struct pgs_schema *want,
                           struct pgs_schema *have);
void pgschema_plan_tables(PGconn *pg, struct pgs_plan *p, const struct pgs_file *f,
                          struct pgs_schema *want, struct pgs_schema *have);
void pgschema_objects_plan(struct pgs_plan *p, struct pgs_schema *want, struct pgs_schema *have);

#endif
