/*
 * test_migrate.c -- the planner's promises, one check each: what it
 * plans, that data survives, that destructive steps wait, that a failed
 * plan leaves nothing behind, and that kill -9 in the middle of an apply
 * leaves the old schema or the new one, never a mix.
 *
 * Most checks use an in-memory database. The kill -9 check uses a WAL
 * database file in a temporary directory: a child process applies a big
 * rebuild and reports progress through a pipe (a SQLite progress
 * handler), the parent reads a random number of ticks and SIGKILLs it,
 * then reopens the file and compares dumps. No sleeps: the pipe is the
 * clock.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migrate.h"
#include "t.h"

/* ---- helpers ------------------------------------------------------- */

static sqlite3 *
mem_db(const char *sql)
{
	sqlite3 *db;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "setup failed: %s\n", sqlite3_errmsg(db));
		exit(2);
	}
	return db;
}

static long long
q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A static copy of the first column of the first row, or "(none)". */
static const char *
q_text(sqlite3 *db, const char *sql)
{
	static char buf[4096];
	sqlite3_stmt *st;
	snprintf(buf, sizeof buf, "(none)");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return "(error)";
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, sizeof buf, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static char summary[4096];

/* Plan schema against db and apply it. Returns what migrate_apply
 * returns (held steps, or -1); the plan's summary lands in `summary`. */
static int
plan_apply(sqlite3 *db, const char *schema, int allow)
{
	struct migrate_plan *p;
	char *err = NULL;
	int rc;
	if (migrate_plan(db, schema, &p, &err) != 0) {
		snprintf(summary, sizeof summary, "plan error: %s", err);
		free(err);
		return -1;
	}
	snprintf(summary, sizeof summary, "%s", migrate_summary(p));
	rc = migrate_apply(db, p, allow, &err);
	if (rc < 0)
		snprintf(summary, sizeof summary, "apply error: %s", err);
	free(err);
	migrate_plan_free(p);
	return rc;
}

static int
plan_is_empty(sqlite3 *db, const char *schema)
{
	struct migrate_plan *p;
	char *err = NULL;
	int empty;
	if (migrate_plan(db, schema, &p, &err) != 0) {
		free(err);
		return 0;
	}
	empty = migrate_plan_is_empty(p);
	migrate_plan_free(p);
	return empty;
}

static char *
dump(sqlite3 *db)
{
	char *err = NULL, *d = migrate_schema_dump(db, &err);
	free(err);
	return d;
}

static int
same_schema_as(sqlite3 *db, const char *schema)
{
	sqlite3 *fresh = mem_db(schema);
	char *a = dump(db), *b = dump(fresh);
	int same = a && b && strcmp(a, b) == 0;
	free(a);
	free(b);
	sqlite3_close(fresh);
	return same;
}

static int
contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

/* ---- planning and applying ----------------------------------------- */

static void
test_add_table_and_column(void)
{
	sqlite3 *db = mem_db("");
	const char *v1 = "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL);";
	const char *v2 = "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL,\n"
	                 "  created_at TEXT DEFAULT '2024');";
	const char *v3 = "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL,\n"
	                 "  created_at TEXT DEFAULT '2024',\n"
	                 "  updated_at TEXT DEFAULT CURRENT_TIMESTAMP);";
	T_CHECK("add table applies", plan_apply(db, v1, 0) == 0);
	T_STREQ("add table summary", summary, "+ table notes");
	T_CHECK("add table converges", same_schema_as(db, v1));
	sqlite3_exec(db, "INSERT INTO notes (title) VALUES ('hello')", 0, 0, 0);
	T_CHECK("add column applies", plan_apply(db, v2, 0) == 0);
	T_STREQ("add column summary", summary, "+ column notes.created_at");
	T_CHECK("add column converges", same_schema_as(db, v2));
	T_STREQ("add column keeps rows", q_text(db, "SELECT title FROM notes"), "hello");
	T_CHECK("add column fills default",
	        q_int(db, "SELECT count(*) FROM notes WHERE created_at IS NOT NULL") == 1);
	T_CHECK("second plan is empty", plan_is_empty(db, v2));
	T_CHECK("history has two rows", q_int(db, "SELECT count(*) FROM _cot_migrations") == 2);
	T_STREQ("history records the summary",
	        q_text(db, "SELECT summary FROM _cot_migrations ORDER BY id DESC"),
	        "+ column notes.created_at");
	T_CHECK("history records the SQL",
	        contains(q_text(db, "SELECT sql FROM _cot_migrations ORDER BY id DESC"),
	                 "ADD COLUMN"));
	T_CHECK("empty plan writes no history",
	        plan_apply(db, v2, 0) == 0 &&
	                q_int(db, "SELECT count(*) FROM _cot_migrations") == 2);
	T_CHECK("non-constant default on rows applies", plan_apply(db, v3, 0) == 0);
	T_STREQ("non-constant default needs a rebuild", summary,
	        "~ rebuild notes (new column updated_at)");
	T_CHECK("rebuild fills the non-constant default",
	        q_int(db, "SELECT count(*) FROM notes WHERE updated_at > '2000'") == 1);
	T_CHECK("non-constant default converges", same_schema_as(db, v3));
	sqlite3_close(db);
}

static void
test_renames(void)
{
	sqlite3 *db = mem_db("CREATE TABLE accounts (id INTEGER PRIMARY KEY, username TEXT);"
	                     "INSERT INTO accounts VALUES (7, 'ann');");
	const char *v2 = "CREATE TABLE users ( -- @renamed from=accounts\n"
	                 "  id INTEGER PRIMARY KEY,\n"
	                 "  user_name TEXT -- @renamed from=username\n"
	                 ");";
	T_CHECK("rename applies", plan_apply(db, v2, 0) == 0);
	T_STREQ("rename summary", summary,
	        "~ rename table accounts -> users; "
	        "~ rename column users.username -> user_name");
	T_STREQ("rename keeps data", q_text(db, "SELECT user_name FROM users WHERE id = 7"), "ann");
	T_CHECK("rename converges", same_schema_as(db, v2));
	T_CHECK("rename: second plan empty", plan_is_empty(db, v2));
	sqlite3_close(db);
}

static void
test_rebuild_keeps_data(void)
{
	sqlite3 *db = mem_db(
	        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT);"
	        "CREATE INDEX t_s ON t (s);"
	        "CREATE VIEW v AS SELECT id, s FROM t;"
	        "CREATE TABLE log (msg TEXT);"
	        "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('x'); END;"
	        "INSERT INTO t VALUES (1, 42, 'a'), (2, 7, 'b');");
	const char *v2 =
	        "CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT, s TEXT NOT NULL DEFAULT '',\n"
	        "  CHECK (id > 0));\n"
	        "CREATE INDEX t_s ON t (s);\n"
	        "CREATE VIEW v AS SELECT id, s FROM t;\n"
	        "CREATE TABLE log (msg TEXT);\n"
	        "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('x'); END;\n";
	T_CHECK("type change rebuild applies", plan_apply(db, v2, 0) == 0);
	T_CHECK("type change is a rebuild", contains(summary, "~ rebuild t (type change"));
	T_STREQ("rebuild keeps values", q_text(db, "SELECT group_concat(n || s) FROM t"), "42a,7b");
	T_STREQ("rebuild converts type", q_text(db, "SELECT typeof(n) FROM t"), "text");
	T_CHECK("rebuild converges", same_schema_as(db, v2));
	T_CHECK("rebuild keeps index", q_int(db, "SELECT count(*) FROM sqlite_schema "
	                                         "WHERE name = 't_s'") == 1);
	T_CHECK("rebuild keeps trigger working",
	        sqlite3_exec(db, "INSERT INTO t (n, s) VALUES ('3', 'c')", 0, 0, 0) == SQLITE_OK &&
	                q_int(db, "SELECT count(*) FROM log") == 3);
	T_CHECK("view works after rebuild", q_int(db, "SELECT count(*) FROM v") == 3);
	T_CHECK("no temporary table left",
	        q_int(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '\\_cot\\_new%' "
	                  "ESCAPE '\\'") == 0);
	T_CHECK("rebuild: second plan empty", plan_is_empty(db, v2));
	sqlite3_close(db);
}

static void
test_rebuild_keeps_autoincrement(void)
{
	sqlite3 *db = mem_db("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER);"
	                     "INSERT INTO t (n) VALUES (1), (2), (3);"
	                     "DELETE FROM t WHERE id = 3;");
	const char *v2 = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n TEXT);";
	T_CHECK("autoincrement rebuild applies", plan_apply(db, v2, 0) == 0);
	sqlite3_exec(db, "INSERT INTO t (n) VALUES ('new')", 0, 0, 0);
	T_CHECK("rebuild keeps the autoincrement high-water mark",
	        q_int(db, "SELECT id FROM t WHERE n = 'new'") == 4);
	T_CHECK("one sequence row", q_int(db, "SELECT count(*) FROM sqlite_sequence") == 1);
	sqlite3_close(db);
}

static void
test_destructive_held(void)
{
	sqlite3 *db = mem_db("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
	                     "CREATE TABLE old (x);"
	                     "INSERT INTO t VALUES (1, 'keep', 'me');");
	const char *v2 = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\n"
	                 "CREATE TABLE fresh (y);";
	int held = plan_apply(db, v2, 0);
	T_CHECK("destructive steps are held", held == 2);
	T_CHECK("summary marks destructive", contains(summary, "- table old (destructive)"));
	T_CHECK("held drop column keeps column",
	        q_int(db, "SELECT count(*) FROM t WHERE b = 'me'") == 1);
	T_CHECK("held drop table keeps table",
	        q_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'old'") == 1);
	T_CHECK("safe subset applied",
	        q_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'fresh'") == 1);
	T_CHECK("allow_destructive applies the rest", plan_apply(db, v2, 1) == 0);
	T_CHECK("after allow: converged", same_schema_as(db, v2));
	T_STREQ("after allow: rows kept", q_text(db, "SELECT a FROM t"), "keep");
	sqlite3_close(db);
}

static int
is_destructive(sqlite3 *db, const char *schema)
{
	struct migrate_plan *p;
	char *err = NULL;
	int d;
	if (migrate_plan(db, schema, &p, &err) != 0) {
		free(err);
		return -1;
	}
	d = migrate_plan_has_destructive(p);
	migrate_plan_free(p);
	return d;
}

static void
test_destructive_rules(void)
{
	sqlite3 *db = mem_db("CREATE TABLE t (a TEXT, b INTEGER, c TEXT);"
	                     "CREATE TABLE e (a TEXT);"
	                     "INSERT INTO t VALUES ('007', 1, 'x');");
	T_CHECK("text to integer is destructive",
	        is_destructive(db, "CREATE TABLE t (a INTEGER, b INTEGER, c TEXT);"
	                           "CREATE TABLE e (a TEXT);") == 1);
	T_CHECK("integer to text is safe",
	        is_destructive(db, "CREATE TABLE t (a TEXT, b TEXT, c TEXT);"
	                           "CREATE TABLE e (a TEXT);") == 0);
	T_CHECK("varchar(10) to varchar(20) is safe",
	        is_destructive(db, "CREATE TABLE t (a VARCHAR(20), b INTEGER, c TEXT);"
	                           "CREATE TABLE e (a TEXT);") == 0);
	T_CHECK("NOT NULL column without default on rows is destructive",
	        is_destructive(db, "CREATE TABLE t (a TEXT, b INTEGER, c TEXT, d TEXT NOT NULL);"
	                           "CREATE TABLE e (a TEXT);") == 1);
	T_CHECK("NOT NULL column without default on empty table is safe",
	        is_destructive(db, "CREATE TABLE t (a TEXT, b INTEGER, c TEXT);"
	                           "CREATE TABLE e (a TEXT, d TEXT NOT NULL);") == 0);
	T_CHECK("NOT NULL added to a column without NULLs is safe",
	        is_destructive(db, "CREATE TABLE t (a TEXT, b INTEGER, c TEXT NOT NULL);"
	                           "CREATE TABLE e (a TEXT);") == 0);
	sqlite3_exec(db, "INSERT INTO t VALUES ('8', 2, NULL)", 0, 0, 0);
	T_CHECK("NOT NULL added over NULLs is destructive",
	        is_destructive(db, "CREATE TABLE t (a TEXT, b INTEGER, c TEXT NOT NULL);"
	                           "CREATE TABLE e (a TEXT);") == 1);
	sqlite3_close(db);
}

/* ---- failures ------------------------------------------------------ */

static void
test_rollback_on_failure(void)
{
	sqlite3 *db = mem_db("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);"
	                     "INSERT INTO t VALUES (1, 1), (2, 9);");
	const char *v2 = "CREATE TABLE a_new_table (x);\n"
	                 "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CHECK (n > 5));";
	char *before = dump(db), *after;
	T_CHECK("constraint violation fails the plan", plan_apply(db, v2, 1) == -1);
	T_CHECK("error names the step and the cause",
	        contains(summary, "rebuild t") && contains(summary, "CHECK constraint failed"));
	after = dump(db);
	T_CHECK("failed plan leaves the old schema", before && after && !strcmp(before, after));
	T_STREQ("failed plan leaves the rows", q_text(db, "SELECT group_concat(n) FROM t"), "1,9");
	T_CHECK("failed plan writes no history",
	        q_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = '_cot_migrations'") ==
	                0);
	T_CHECK("connection usable after failure",
	        sqlite3_get_autocommit(db) && q_int(db, "PRAGMA foreign_keys") == 0);
	free(before);
	free(after);
	sqlite3_close(db);
}

static void
test_foreign_keys(void)
{
	sqlite3 *db = mem_db("PRAGMA foreign_keys=ON;"
	                     "CREATE TABLE artist (id INTEGER PRIMARY KEY, name TEXT);"
	                     "CREATE TABLE track (id INTEGER PRIMARY KEY,"
	                     "  artist INTEGER REFERENCES artist(id));"
	                     "INSERT INTO artist VALUES (1, 'a');"
	                     "INSERT INTO track VALUES (10, 1);");
	const char *v2 =
	        "CREATE TABLE artist (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\n"
	        "CREATE TABLE track (id INTEGER PRIMARY KEY,"
	        "  artist INTEGER REFERENCES artist(id));";
	const char *v3 =
	        "CREATE TABLE artist (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\n"
	        "CREATE TABLE track (id INTEGER PRIMARY KEY,"
	        "  artist INTEGER REFERENCES artist(id), n INTEGER);";
	T_CHECK("rebuild of a referenced table with foreign_keys on", plan_apply(db, v2, 0) == 0);
	T_CHECK("referencing rows survive (no cascade)",
	        q_int(db, "SELECT count(*) FROM track") == 1);
	T_CHECK("foreign_keys restored", q_int(db, "PRAGMA foreign_keys") == 1);
	sqlite3_exec(db,
	             "PRAGMA foreign_keys=OFF; INSERT INTO track VALUES (11, 99);"
	             "PRAGMA foreign_keys=ON;",
	             0, 0, 0);
	T_CHECK("foreign key violation rolls back",
	        plan_apply(db, v3, 0) == -1 && contains(summary, "foreign key violation"));
	T_CHECK("violation left the old table",
	        q_int(db, "SELECT count(*) FROM pragma_table_info('track')") == 2);
	sqlite3_close(db);
}

static void
test_schema_errors(void)
{
	sqlite3 *db = mem_db("");
	struct migrate_plan *p = NULL;
	char *err = NULL;
	T_CHECK("syntax error fails", migrate_plan(db,
	                                           "CREATE TABLE a (x);\n\n"
	                                           "CREATE TABL b (y);\n",
	                                           &p, &err) == -1);
	T_STREQ("syntax error names the line", err, "schema.sql:3: near \"TABL\": syntax error");
	free(err);
	err = NULL;
	migrate_plan(db, "-- notes\nCREATE TABLE a (x);\nCREATE TABLE a (y);", &p, &err);
	T_STREQ("semantic error names the line", err, "schema.sql:3: table a already exists");
	free(err);
	err = NULL;
	migrate_plan(db, "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);", &p, &err);
	T_CHECK("non-CREATE statement rejected",
	        err && !strncmp(err, "schema.sql:2: only CREATE", 25));
	free(err);
	err = NULL;
	migrate_plan(db, "CREATE TABLE _cot_mine (x);", &p, &err);
	T_CHECK("_cot names are reserved", err && contains(err, "reserved"));
	free(err);
	sqlite3_close(db);
}

static void
test_ignores_own_tables(void)
{
	sqlite3 *db = mem_db("CREATE TABLE _cot_migrations (id INTEGER PRIMARY KEY);"
	                     "CREATE TABLE _cot_sessions (id);"
	                     "CREATE TABLE t (a);");
	T_CHECK("_cot tables are not diffed", plan_is_empty(db, "CREATE TABLE t (a);"));
	sqlite3_close(db);
}

static void
test_schema_changed_since_plan(void)
{
	sqlite3 *db = mem_db("CREATE TABLE t (a);");
	struct migrate_plan *p;
	char *err = NULL;
	migrate_plan(db, "CREATE TABLE t (a); CREATE TABLE u (b);", &p, &err);
	sqlite3_exec(db, "CREATE TABLE sneaky (z)", 0, 0, 0);
	T_CHECK("stale plan refused", migrate_apply(db, p, 1, &err) == -1 && err &&
	                                      contains(err, "changed since the plan"));
	free(err);
	err = NULL;
	sqlite3_exec(db, "BEGIN", 0, 0, 0);
	T_CHECK("apply inside a transaction refused", migrate_apply(db, p, 1, &err) == -1);
	sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
	free(err);
	migrate_plan_free(p);
	sqlite3_close(db);
}

/* ---- kill -9 during an apply ---------------------------------------- */

#define KILL_ROWS 20000

static const char kill_old[] = "CREATE TABLE big (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);\n"
                               "CREATE INDEX big_a ON big (a);\n"
                               "CREATE VIEW big_v AS SELECT id, a FROM big;\n"
                               "CREATE TABLE other (x);\n";
static const char kill_new[] =
        "CREATE TABLE big (id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT '',\n"
        "  b TEXT, c INTEGER DEFAULT 3);\n"
        "CREATE INDEX big_a ON big (a);\n"
        "CREATE INDEX big_b ON big (b);\n"
        "CREATE VIEW big_v AS SELECT id, a FROM big;\n"
        "CREATE TABLE other (x, y DEFAULT 1);\n"
        "CREATE TABLE extra (z);\n";

static void
kill_setup(const char *path)
{
	char p[4200];
	sqlite3 *db;
	char *sql;
	for (int i = 0; i < 3; i++) { /* start from nothing */
		snprintf(p, sizeof p, "%s%s", path, (const char *[]){"", "-wal", "-shm"}[i]);
		unlink(p);
	}
	sql = sqlite3_mprintf("PRAGMA journal_mode=WAL; %s"
	                      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
	                      " FROM c WHERE i < %d) INSERT INTO big SELECT i, 'row' || i,"
	                      " i FROM c;",
	                      kill_old, KILL_ROWS);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "kill setup: %s\n", sqlite3_errmsg(db));
		exit(2);
	}
	sqlite3_free(sql);
	sqlite3_close(db);
}

static int
tick(void *arg)
{
	char c = '.';
	if (write(*(int *)arg, &c, 1) < 0)
		return 0;
	return 0;
}

/* Fork a child that applies kill_new to path, one pipe byte per 1000
 * VM steps; the read end of the pipe is returned in *rfd. */
static pid_t
kill_child(const char *path, int *rfd)
{
	int fds[2];
	pid_t pid;
	if (pipe(fds) != 0)
		exit(2);
	pid = fork();
	if (pid == 0) {
		sqlite3 *db;
		struct migrate_plan *p;
		char *err = NULL;
		int rc;
		close(fds[0]);
		if (sqlite3_open(path, &db) != SQLITE_OK ||
		    migrate_plan(db, kill_new, &p, &err) != 0)
			_exit(3);
		sqlite3_progress_handler(db, 1000, tick, &fds[1]);
		rc = migrate_apply(db, p, 1, &err);
		_exit(rc == 0 ? 0 : 4);
	}
	close(fds[1]);
	*rfd = fds[0];
	return pid;
}

/* Read up to limit bytes (limit < 0: until EOF); returns how many. */
static long
read_ticks(int fd, long limit)
{
	char buf[256];
	long got = 0;
	while (limit < 0 || got < limit) {
		size_t want = limit < 0 || limit - got > (long)sizeof buf ? sizeof buf
		                                                          : (size_t)(limit - got);
		ssize_t n = read(fd, buf, want);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* 1: old schema, 2: new schema, 0: anything else (with why printed). */
static int
kill_state(const char *path, const char *old_dump, const char *new_dump)
{
	sqlite3 *db;
	char *d;
	int state = 0;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 0;
	d = dump(db);
	if (strcmp(q_text(db, "PRAGMA integrity_check"), "ok") != 0)
		printf("# integrity_check: %s\n", q_text(db, "PRAGMA integrity_check"));
	else if (q_int(db, "SELECT count(*) FROM big") != KILL_ROWS)
		printf("# rows: %lld\n", q_int(db, "SELECT count(*) FROM big"));
	else if (d && strcmp(d, old_dump) == 0)
		state = 1;
	else if (d && strcmp(d, new_dump) == 0)
		state = 2;
	else
		printf("# mixed schema:\n%s", d ? d : "(no dump)\n");
	free(d);
	sqlite3_close(db);
	return state;
}

static void
test_kill9(void)
{
	char dir[] = "/tmp/cot_migrate_XXXXXX", path[4096], name[64];
	char *old_dump, *new_dump;
	sqlite3 *fresh = mem_db(kill_new), *db;
	long total;
	int rfd, status, seen[3] = {0};
	pid_t pid;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	if (mkdtemp(dir) == NULL)
		exit(2);
	snprintf(path, sizeof path, "%s/app.db", dir);
	new_dump = dump(fresh);
	sqlite3_close(fresh);
	kill_setup(path);
	sqlite3_open(path, &db);
	old_dump = dump(db);
	sqlite3_close(db);
	/* calibrate: how many ticks does a whole apply take? */
	pid = kill_child(path, &rfd);
	total = read_ticks(rfd, -1);
	close(rfd);
	waitpid(pid, &status, 0);
	T_CHECK("kill9: uninterrupted apply succeeds",
	        WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	                kill_state(path, old_dump, new_dump) == 2);
	printf("# kill9: %ld ticks per apply, seed %u\n", total, seed);
	srand(seed);
	for (int i = 0; i < 12; i++) {
		long at = total > 0 ? rand() % (total + total / 8 + 1) : 0;
		int state;
		kill_setup(path);
		pid = kill_child(path, &rfd);
		read_ticks(rfd, at);
		kill(pid, SIGKILL);
		close(rfd);
		waitpid(pid, &status, 0);
		state = kill_state(path, old_dump, new_dump);
		seen[state]++;
		snprintf(name, sizeof name, "kill9 at tick %ld: %s", at,
		         state == 1   ? "old schema"
		         : state == 2 ? "new schema"
		                      : "MIXED");
		T_CHECK(name, state != 0);
	}
	T_CHECK("kill9: some kills landed mid-apply", seen[1] > 0);
	kill_setup(path); /* removes the -wal and -shm files */
	unlink(path);
	rmdir(dir);
	free(old_dump);
	free(new_dump);
}

int
main(void)
{
	test_add_table_and_column();
	test_renames();
	test_rebuild_keeps_data();
	test_rebuild_keeps_autoincrement();
	test_destructive_held();
	test_destructive_rules();
	test_rollback_on_failure();
	test_foreign_keys();
	test_schema_errors();
	test_ignores_own_tables();
	test_schema_changed_since_plan();
	test_kill9();
	return T_DONE();
}
