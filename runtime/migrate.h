/*
 * migrate.h -- the declarative migration planner: schema.sql is the only
 * place the schema is written, and this turns it into a plan for the live
 * database.
 *
 * migrate_plan() loads schema.sql into an in-memory SQLite (SQLite is the
 * parser), reads both databases back (sqlite_schema, table_xinfo,
 * table_list) and diffs them. Tables, indexes, views and triggers whose
 * names start with "_cot" or "sqlite_" are never touched. A plan is a list
 * of steps; each step is one or more SQL statements, a one-line summary and
 * a destructive flag.
 *
 * Destructive steps: DROP TABLE, a dropped column, a type change that can
 * lose data (TEXT/BLOB affinity to a numeric one: '007' would become 7), a
 * NOT NULL column without default on a table that has rows (or that has
 * NULLs in that column), and dropping an index, view or trigger (no data
 * lost, but behaviour removed; held like sqldef's enable_drop=false).
 *
 * migrate_apply() runs the chosen steps in ONE transaction (BEGIN
 * IMMEDIATE ... COMMIT) with foreign_keys off, checks foreign keys before
 * COMMIT when they were on, records the applied steps in _cot_migrations
 * (id, applied_at, summary, sql), and rolls back everything on any error.
 * A crash or kill -9 at any point leaves the old or the new schema.
 *
 * Renames are declared in schema.sql, never guessed:
 *     CREATE TABLE users ( -- @renamed from=accounts
 *       user_name text,    -- @renamed from=username
 * (a comment on the line of a table's header or of a column; block
 * comments work too). Changes ALTER TABLE cannot express use SQLite's
 * documented 12-step rebuild.
 *
 * Memory: everything returned belongs to the plan unless said otherwise.
 * Threads: a plan may be used from any one thread at a time; the live
 * connection must not be used by another thread during plan or apply.
 */
#ifndef COT_MIGRATE_H
#define COT_MIGRATE_H

#include <sqlite3.h>
#include <stddef.h>

struct migrate_plan; /* opaque; "struct" because migrate_plan() is the function */

/* Diff schema_sql (the text of schema.sql) against live and store a new
 * plan in *out. Returns 0, or -1 with *err set (free() it): schema.sql
 * errors name the line, "schema.sql:12: near "TABL": syntax error". Only
 * CREATE TABLE/INDEX/VIEW/TRIGGER (and CREATE VIRTUAL TABLE) are allowed. */
int migrate_plan(sqlite3 *live, const char *schema_sql, struct migrate_plan **out, char **err);

/* Apply p to live in one transaction. With allow_destructive=0 only the
 * non-destructive steps run (the "safe subset": each step is one object,
 * so the subset is coherent; if it is not, SQLite's error rolls it all
 * back). Returns the number of destructive steps held back (0: the whole
 * plan was applied), or -1 with *err set (free() it) after rolling back.
 * Fails when live is inside a transaction or its schema changed since
 * the plan was made. An empty applied set writes nothing. */
int migrate_apply(sqlite3 *live, const struct migrate_plan *p, int allow_destructive, char **err);

/* Plan schema_sql against live and apply the plan, both under one write
 * lock (BEGIN IMMEDIATE is taken before planning), so N processes started
 * together apply each change exactly once and none fails. Flags:
 * MIGRATE_DESTRUCTIVE also runs destructive steps; MIGRATE_ALL_OR_NOTHING
 * applies nothing when a destructive step would be held. Returns the
 * number of destructive steps held (0: the database now matches), with
 * *out the plan made under the lock (free it; the applied part is every
 * step when 0 is returned and the flags allowed it), or -1 with *err set
 * (free() it) after rolling back; *out is then NULL. */
#define MIGRATE_DESTRUCTIVE    1
#define MIGRATE_ALL_OR_NOTHING 2
int migrate_sync(sqlite3 *live, const char *schema_sql, int flags, struct migrate_plan **out,
                 char **err);

/* One line: "+ table notes; + column notes.created_at; ~ rebuild notes
 * (type change); - table old (destructive)", or "no changes". */
const char *migrate_summary(const struct migrate_plan *p);

int migrate_plan_is_empty(const struct migrate_plan *p);
int migrate_plan_has_destructive(const struct migrate_plan *p);

/* Step access, 0 <= i < migrate_plan_count(p). */
size_t migrate_plan_count(const struct migrate_plan *p);
const char *migrate_step_sql(const struct migrate_plan *p, size_t i);
const char *migrate_step_summary(const struct migrate_plan *p, size_t i);
int migrate_step_is_destructive(const struct migrate_plan *p, size_t i);

void migrate_plan_free(struct migrate_plan *p);

/* A canonical text of db's user schema (objects sorted by type and name,
 * SQL normalised: comments, case, quotes and spacing removed; plus every
 * table's table_xinfo). Two databases with equal dumps have the same
 * schema. Returns a malloc'd string (free() it), or NULL with *err set. */
char *migrate_schema_dump(sqlite3 *db, char **err);

#endif
