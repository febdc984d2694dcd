/*
 * migrate_apply.c -- running a plan: all of it or none of it.
 *
 * Every chosen step runs inside one BEGIN IMMEDIATE transaction, so
 * SQLite's atomic commit is what guarantees that an error, a crash or a
 * kill -9 leaves either the old schema and rows or the new ones (the
 * rollback journal or WAL does the recovery on the next open). The
 * transaction first checks that the live schema is still the one the
 * plan was made from: a plan is a diff, and a diff against a schema that
 * has since moved would be wrong.
 *
 * PRAGMA foreign_keys cannot change inside a transaction, so it is
 * switched off before BEGIN (as the 12-step rebuild requires) and put
 * back afterwards; when it was on, PRAGMA foreign_key_check runs before
 * COMMIT and any violation rolls the plan back. The applied steps are
 * recorded in _cot_migrations in the same transaction.
 *
 * migrate_sync takes the write lock BEFORE planning: several processes
 * started together against one database (app@1 app@2 app@3) queue on the
 * lock, the first applies the plan, the others then plan against the
 * migrated schema and find nothing to do. Planning outside the lock made
 * all but the first fail with "the schema changed since the plan was made".
 *
 * The plan's read-only accessors live here too, at the end: this file is
 * what callers do with a plan once migrate.c has made it.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_internal.h"

#define HISTORY_TABLE                                                                              \
	"CREATE TABLE IF NOT EXISTS _cot_migrations (\n"                                           \
	"  id INTEGER PRIMARY KEY,\n"                                                              \
	"  applied_at TEXT NOT NULL"                                                               \
	" DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"                                      \
	"  summary TEXT NOT NULL,\n"                                                               \
	"  sql TEXT NOT NULL\n"                                                                    \
	")"

static int
migrate_apply_exec(sqlite3 *db, const char *sql, const char *what, char **err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	*err = migrate_printf("%s: %s", what, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

static int
migrate_apply_pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Any row from foreign_key_check fails the plan, naming the first. */
static int
migrate_apply_check_foreign_keys(sqlite3 *db, char **err)
{
	sqlite3_stmt *st;
	int rc = 0;
	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK) {
		*err = migrate_printf("foreign_key_check: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*err = migrate_printf("foreign key violation after migrating: %s row %lld "
		                      "references a missing row of %s",
		                      (const char *)sqlite3_column_text(st, 0),
		                      sqlite3_column_int64(st, 1),
		                      (const char *)sqlite3_column_text(st, 2));
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
migrate_apply_record_history(sqlite3 *db, const char *summary, const char *sql, char **err)
{
	sqlite3_stmt *st;
	int rc;
	if (migrate_apply_exec(db, HISTORY_TABLE, "creating _cot_migrations", err))
		return -1;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO _cot_migrations (summary, sql) "
	                       "VALUES (?1, ?2)",
	                       -1, &st, NULL) != SQLITE_OK) {
		*err = migrate_printf("recording history: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_text(st, 1, summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sql, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		*err = migrate_printf("recording history: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* The schema is still what p was planned against (inside the txn). */
static int
migrate_apply_check_unchanged(sqlite3 *db, const struct migrate_plan *p, char **err)
{
	char *now = migrate_schema_dump(db, err);
	int same;
	if (now == NULL)
		return -1;
	same = strcmp(now, p->live_dump) == 0;
	free(now);
	if (!same)
		*err = migrate_strdup("the schema changed since the plan was "
		                      "made; plan again");
	return same ? 0 : -1;
}

/* Run the chosen steps and record them; the caller owns the txn. */
static int
migrate_apply_run_steps(sqlite3 *db, const struct migrate_plan *p, int allow_destructive,
                        char **err)
{
	struct migrate_buf summary = {0}, sql = {0};
	int rc = -1;
	for (size_t i = 0; i < p->n; i++) {
		const struct migrate_step *s = &p->steps[i];
		char *what;
		if (s->destructive && !allow_destructive)
			continue;
		what = migrate_printf("applying \"%s\"", s->summary[0] ? s->summary : s->sql);
		if (migrate_apply_exec(db, s->sql, what, err)) {
			free(what);
			goto out;
		}
		free(what);
		if (s->summary[0])
			migrate_buf_printf(&summary, "%s%s", summary.n ? "; " : "", s->summary);
		migrate_buf_printf(&sql, "%s\n", s->sql);
	}
	rc = migrate_apply_record_history(db, migrate_buf_str(&summary), migrate_buf_str(&sql),
	                                  err);
out:
	free(summary.s);
	free(sql.s);
	return rc;
}

/* Counts the steps that run and the ones held back. */
static void
migrate_apply_count_steps(const struct migrate_plan *p, int allow_destructive, int *todo, int *held)
{
	*todo = *held = 0;
	for (size_t i = 0; i < p->n; i++) {
		*held += p->steps[i].destructive && !allow_destructive;
		*todo += !(p->steps[i].destructive && !allow_destructive);
	}
}

/* The write lock a migration runs under: foreign keys off (they cannot
 * change inside a transaction), then BEGIN IMMEDIATE. */
struct migrate_lock {
	int fk, legacy;
};

static int migrate_apply_lock_release(sqlite3 *live, const struct migrate_lock *l, int commit,
                                      char **err);

/* Returns 0 with the lock held, or -1 with *err set and nothing held. */
static int
migrate_apply_lock_take(sqlite3 *live, struct migrate_lock *l, char **err)
{
	if (!sqlite3_get_autocommit(live)) {
		*err = migrate_strdup("a migration cannot run inside a transaction");
		return -1;
	}
	l->fk = migrate_apply_pragma_int(live, "PRAGMA foreign_keys");
	l->legacy = migrate_apply_pragma_int(live, "PRAGMA legacy_alter_table");
	if (migrate_apply_exec(live, "PRAGMA foreign_keys=OFF", "foreign_keys", err) == 0 &&
	    migrate_apply_exec(live, "BEGIN IMMEDIATE", "taking the database's write lock", err) ==
	            0)
		return 0;
	migrate_apply_lock_release(live, l, 0, err);
	return -1;
}

/* Commits when commit is set and everything before succeeded, else rolls
 * back; puts the pragmas back. Returns 0 when committed. */
static int
migrate_apply_lock_release(sqlite3 *live, const struct migrate_lock *l, int commit, char **err)
{
	char restore[96];
	int rc = -1;
	if (commit && migrate_apply_exec(live, "COMMIT", "committing the migration", err) == 0)
		rc = 0;
	if (!sqlite3_get_autocommit(live))
		sqlite3_exec(live, "ROLLBACK", NULL, NULL, NULL);
	snprintf(restore, sizeof restore, "PRAGMA legacy_alter_table=%d; PRAGMA foreign_keys=%d;",
	         l->legacy, l->fk);
	sqlite3_exec(live, restore, NULL, NULL, NULL);
	return rc;
}

int
migrate_apply(sqlite3 *live, const struct migrate_plan *p, int allow_destructive, char **err)
{
	struct migrate_lock l;
	int held, todo, ok;
	*err = NULL;
	migrate_apply_count_steps(p, allow_destructive, &todo, &held);
	if (todo == 0)
		return held;
	if (migrate_apply_lock_take(live, &l, err) != 0)
		return -1;
	ok = migrate_apply_check_unchanged(live, p, err) == 0 &&
	     migrate_apply_run_steps(live, p, allow_destructive, err) == 0 &&
	     (!l.fk || migrate_apply_check_foreign_keys(live, err) == 0);
	return migrate_apply_lock_release(live, &l, ok, err) == 0 ? held : -1;
}

int
migrate_sync(sqlite3 *live, const char *schema_sql, int flags, struct migrate_plan **out,
             char **err)
{
	struct migrate_lock l;
	struct migrate_plan *p = NULL;
	int allow = (flags & MIGRATE_DESTRUCTIVE) != 0, held, todo, ok;
	*out = NULL;
	*err = NULL;
	if (migrate_apply_lock_take(live, &l, err) != 0)
		return -1;
	if (migrate_plan(live, schema_sql, &p, err) != 0) {
		migrate_apply_lock_release(live, &l, 0, err);
		return -1;
	}
	migrate_apply_count_steps(p, allow, &todo, &held);
	if (todo == 0 || (held > 0 && (flags & MIGRATE_ALL_OR_NOTHING))) {
		migrate_apply_lock_release(live, &l, 0, err); /* nothing written: roll back */
		*out = p;
		return held;
	}
	ok = migrate_apply_run_steps(live, p, allow, err) == 0 &&
	     (!l.fk || migrate_apply_check_foreign_keys(live, err) == 0);
	if (migrate_apply_lock_release(live, &l, ok, err) != 0) {
		migrate_plan_free(p);
		return -1;
	}
	*out = p;
	return held;
}

/* ---- reading a plan ------------------------------------------------ */

const char *
migrate_summary(const struct migrate_plan *p)
{
	return p->summary;
}

int
migrate_plan_is_empty(const struct migrate_plan *p)
{
	return p->n == 0;
}

int
migrate_plan_has_destructive(const struct migrate_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].destructive)
			return 1;
	return 0;
}

size_t
migrate_plan_count(const struct migrate_plan *p)
{
	return p->n;
}

const char *
migrate_step_sql(const struct migrate_plan *p, size_t i)
{
	assert(i < p->n);
	return p->steps[i].sql;
}

const char *
migrate_step_summary(const struct migrate_plan *p, size_t i)
{
	assert(i < p->n);
	return p->steps[i].summary;
}

int
migrate_step_is_destructive(const struct migrate_plan *p, size_t i)
{
	assert(i < p->n);
	return p->steps[i].destructive;
}

void
migrate_plan_free(struct migrate_plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->steps[i].sql);
		free(p->steps[i].summary);
	}
	free(p->steps);
	free(p->summary);
	free(p->live_dump);
	free(p);
}
