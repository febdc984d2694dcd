/*
 * pgschema.h -- schema.sql planned and applied against PostgreSQL
 * (pgschema.c): the PostgreSQL side of migrate.h.
 */
#ifndef COT_PGSCHEMA_H
#define COT_PGSCHEMA_H

#include <libpq-fe.h>

#define PGSCHEMA_DESTRUCTIVE    1 /* run destructive steps too */
#define PGSCHEMA_ALL_OR_NOTHING 2 /* apply nothing when one would be held */
#define PGSCHEMA_DRY_RUN        4 /* plan, then roll back: *summary says what would run */

/*
 * Under pg_advisory_xact_lock (waiting at most lock_timeout_ms), plans
 * schema_sql against pg's public schema and applies the plan, all in one
 * transaction. Returns the number of destructive steps held (0: pg now
 * matches), with *summary what was applied ("no changes", or "" when
 * ALL_OR_NOTHING held everything back) and *held_summary what was held;
 * or -1 with *err (schema.sql errors as "schema.sql:LINE: ...") and
 * nothing changed. The strings are malloc'd; free() them.
 */
int pgschema_sync(PGconn *pg, const char *schema_sql, int flags, int lock_timeout_ms,
                  char **summary, char **held_summary, char **err);

/*
 * Runs schema_sql, translated as pgschema_sync translates it, in the
 * caller's open transaction, creating its tables in the first schema of
 * search_path: no lock, no plan, no history. For the SQL check of
 * `cotdev check` and `cotdev export`, which load schema.sql into a scratch
 * schema and roll it back. 0, or -1 with *err ("schema.sql:LINE: ...",
 * malloc'd).
 */
int pgschema_load(PGconn *pg, const char *schema_sql, char **err);

#endif
