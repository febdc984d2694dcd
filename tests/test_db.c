/*
 * test_db.c -- runtime/db.c and db_conn.c without a server: typed
 * parameters, rows, NULLs, JSON, the statement cache, a connection per
 * thread, transactions, and failures that fail the request with the right
 * status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctx.h"
#include "db.h"
#include "db_cases.h"
#include "t.h"

static char dbfile[] = "/tmp/test_db_XXXXXX";

static void
test_params(void)
{
	cot_ctx *c = db_cases_req("params");
	cot_db_exec(c, "CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n)");
	int i = 7;
	long long big = 9007199254740993LL;
	unsigned u = 3;
	const char *none = NULL;
	T_CHECK("insert with typed params",
	        cot_db_exec(c, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", i, 2.5, "text",
	                    cot_blob("a\0b", 3), cot_null()) == 1);
	cot_db_exec(c, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", big, 1.5f, none, cot_blob("", 0), u);
	cot_row *r = cot_db_one(c, "SELECT i, d, s, b, n, typeof(s) AS ts FROM t WHERE i = ?", 7);
	T_CHECK("int back", cot_row_int(r, "i") == 7);
	T_CHECK("double back", cot_row_double(r, "d") == 2.5);
	T_STREQ("text back", cot_row_text(r, "s"), "text");
	size_t len = 0;
	const char *b = cot_row_blob(r, "b", &len);
	T_CHECK("blob back", len == 3 && memcmp(b, "a\0b", 3) == 0);
	T_CHECK("cot_null is NULL", cot_row_is_null(r, "n"));
	r = cot_db_one(c, "SELECT i, s, typeof(s) AS ts, n FROM t WHERE i = ?", big);
	T_CHECK("64-bit int round trip", cot_row_int(r, "i") == big);
	T_STREQ("NULL char * binds NULL", cot_row_text(r, "ts"), "null");
	T_STREQ("NULL reads as empty text", cot_row_text(r, "s"), "");
	T_CHECK("NULL reads as 0", cot_row_int(r, "s") == 0);
	T_CHECK("unsigned binds as int", cot_row_int(r, "n") == 3);
	T_STREQ("int as text", cot_row_text(r, "i"), "9007199254740993");
	T_CHECK("no failure so far", !cot_db_failed(c) && c->reject_status == 0);
	T_CHECK("no row: NULL", cot_db_one(c, "SELECT * FROM t WHERE i = ?", -1) == NULL);
	r = cot_db_one(c, "SELECT ?1 + ?1 AS twice, ?2 AS s, ?1 AS once", 21, "x");
	T_CHECK("?1-numbered parameters: one value used twice",
	        cot_row_int(r, "twice") == 42 && cot_row_int(r, "once") == 21 &&
	                strcmp(cot_row_text(r, "s"), "x") == 0);
	T_CHECK("... the call passes as many values as the highest number",
	        !cot_db_failed(c) && c->reject_status == 0);
	r = cot_db_one(c, "SELECT NULL AS n, '' AS e");
	T_CHECK("cot_row_is_null tells NULL from empty text",
	        cot_row_is_null(r, "n") && !cot_row_is_null(r, "e") &&
	                strcmp(cot_row_text(r, "n"), "") == 0);
	T_CHECK("no row is not a failure", !cot_db_failed(c));
	db_cases_done(c);
}

static void
test_bad_values(void)
{
	cot_ctx *c = db_cases_req("bad1");
	unsigned long long huge = 18446744073709551615ULL;
	T_CHECK("too-large unsigned fails", cot_db_exec(c, "SELECT ?", huge) == -1);
	T_CHECK("... with 500", c->reject_status == 500 && c->status == 500);
	T_CHECK("... saying why", strstr(c->reject_detail, "does not fit") != NULL);
	T_CHECK("later calls do nothing", cot_db_one(c, "SELECT 1") == NULL);
	db_cases_done(c);
	c = db_cases_req("bad2");
	T_CHECK("parameter count checked", cot_db_exec(c, "SELECT ?, ?", 1) == -1);
	T_STREQ("... named", c->reject_detail, "the SQL has 2 parameters, the call passes 1");
	db_cases_done(c);
	c = db_cases_req("bad3");
	cot_db_exec(c, "SELECT nope FROM t");
	T_STREQ("SQL error message", c->reject_detail, "no such column: nope");
	T_CHECK("trace names file:line", c->db_trace && strstr(c->db_trace, "test_db.c:"));
	db_cases_done(c);
	c = db_cases_req("bad4");
	cot_row *r = cot_db_one(c, "SELECT 1 AS one");
	T_CHECK("unknown column reads 0", cot_row_int(r, "two") == 0);
	T_CHECK("unknown column fails the request",
	        c->reject_status == 500 && strstr(c->reject_detail, "no column \"two\"") &&
	                strstr(c->reject_detail, "one"));
	db_cases_done(c);
	c = db_cases_req("bad5");
	r = cot_db_one(c, "SELECT 'abc' AS s, '42' AS n");
	T_CHECK("numeric text reads as a number", cot_row_int(r, "n") == 42);
	cot_row_int(r, "s");
	T_CHECK("non-numeric text as int fails", c->reject_status == 500);
	db_cases_done(c);
	T_CHECK("wrong C type does not compile (gcc)",
	        system("printf '#include <cot.h>\\nvoid f(cot_ctx *c){int *p=0; cot_db_exec(c, "
	               "\"SELECT ?\", p);}\\n'"
	               " | gcc -std=c11 -fsyntax-only -Iinclude -x c - 2>/dev/null") != 0);
	/* tcc unlinks its output before writing it, so as root `-o /dev/null` would
	 * replace the device with a regular file: every output goes to a temp dir. */
	char dir[] = "/tmp/test_db_tcc.XXXXXX", cmd[1024];
	T_CHECK("temp dir for tcc", mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof cmd,
	         "printf '#include <cot.h>\\nvoid f(cot_ctx *c){int *p=0; cot_db_exec(c, \"SELECT "
	         "?\", p);}\\n'"
	         " > %s/bad.c && tcc -Iinclude -c %s/bad.c -o %s/bad.o 2>%s/bad.err",
	         dir, dir, dir, dir);
	T_CHECK("wrong C type does not compile (tcc)", system(cmd) != 0);
	snprintf(cmd, sizeof cmd,
	         "printf '#include <cot.h>\\nvoid f(cot_ctx *c){const char *s=0; cot_db_exec(c, "
	         "\"SELECT ?,?,?,?\", 1, 2.0, s, \"x\");}\\n'"
	         " > %s/ok.c && tcc -Iinclude -c %s/ok.c -o %s/ok.o",
	         dir, dir, dir);
	T_CHECK("right C types compile (tcc)", system(cmd) == 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	T_CHECK("temp dir removed", system(cmd) == 0);
}

static void
test_constraints(void)
{
	cot_ctx *c = db_cases_req("cons1");
	cot_db_exec(c, "CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL)");
	cot_db_exec(c, "INSERT INTO u (email) VALUES (?)", "a@x");
	db_cases_done(c);
	c = db_cases_req("cons2");
	cot_db_exec(c, "INSERT INTO u (email) VALUES (?)", "a@x");
	T_CHECK("UNIQUE -> 409", c->reject_status == 409 && c->status == 409);
	T_CHECK("... with SQLite's message", strstr(c->reject_detail, "UNIQUE constraint failed"));
	db_cases_done(c);
	c = db_cases_req("cons3");
	cot_db_exec(c, "INSERT INTO u (email) VALUES (?)", cot_null());
	T_CHECK("NOT NULL -> 422", c->reject_status == 422);
	db_cases_done(c);
}

static void
test_rows_json(void)
{
	cot_ctx *c = db_cases_req("json");
	cot_db_exec(c, "CREATE TABLE j (id INTEGER PRIMARY KEY, name TEXT, score REAL, raw BLOB)");
	cot_db_exec(c, "INSERT INTO j (name, score, raw) VALUES (?, ?, ?)", "a\"b", 1.5,
	            cot_blob("hi", 2));
	cot_db_exec(c, "INSERT INTO j (name) VALUES (?)", "c");
	T_CHECK("last insert id", cot_db_last_id(c) == 2);
	cot_rows *rs = cot_db_all(c, "SELECT id, name, score, raw FROM j ORDER BY id");
	T_CHECK("two rows", cot_rows_count(rs) == 2);
	T_CHECK("row access", cot_row_int(cot_rows_get(rs, 1), "id") == 2);
	T_CHECK("out of range: NULL", cot_rows_get(rs, 2) == NULL && cot_rows_get(rs, -1) == NULL);
	T_STREQ("rows as JSON", cot_rows_json(rs),
	        "[{\"id\":1,\"name\":\"a\\\"b\",\"score\":1.5,\"raw\":\"aGk=\"},"
	        "{\"id\":2,\"name\":\"c\",\"score\":null,\"raw\":null}]");
	T_STREQ("row as JSON", cot_row_json(cot_rows_get(rs, 1)),
	        "{\"id\":2,\"name\":\"c\",\"score\":null,\"raw\":null}");
	T_STREQ("no rows: []", cot_rows_json(cot_db_all(c, "SELECT * FROM j WHERE 0")), "[]");
	cot_db_json_rows(c, 200, rs);
	T_CHECK("json response",
	        c->status == 200 && strcmp(c->content_type, "application/json") == 0);
	cot_db_json_row(c, 200, NULL);
	T_CHECK("NULL row response: 404", c->status == 404);
	T_CHECK("changes", cot_db_exec(c, "UPDATE j SET score = 0") == 2 && cot_db_changes(c) == 2);
	db_cases_done(c);
}

/*
 * Whether another connection can take the write lock at once: false while
 * some connection still holds a transaction that wrote. Tells a rollback at
 * the end of a request from the lazy one the next request would do.
 */
static bool
write_lock_free(void)
{
	char *err = NULL;
	sqlite3 *h = db_open(dbfile, &err);
	if (h == NULL) {
		printf("# %s\n", err);
		free(err);
		return false;
	}
	sqlite3_busy_timeout(h, 0);
	bool free_now = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
	if (free_now)
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	return free_now;
}

static void
test_fail_fields(void)
{
	cot_ctx *c = db_cases_req("fields");
	cot_fail_fields(c, "title", "is required", "body", "must be text", NULL);
	T_CHECK("422", c->status == 422);
	T_CHECK("names every field", strstr(c->resp_body, "title is required") &&
	                                     strstr(c->resp_body, "body must be text"));
	db_cases_done(c);
	c = db_cases_req("fields-json");
	header_kv h = {"Accept", "application/json", NULL};
	c->req_headers = &h;
	cot_fail_fields(c, "title", "is required", NULL);
	T_CHECK("problem+json",
	        c->status == 422 && strcmp(c->content_type, "application/problem+json") == 0);
	T_CHECK("errors object, a list per field",
	        strstr(c->resp_body,
	               "\"errors\": {\n    \"title\": [\n      \"is required\"\n    ]"));
	if (!strstr(c->resp_body, "\"title\": ["))
		printf("# %s\n", c->resp_body);
	db_cases_done(c);
}

/*
 * N processes opening one new database at the same instant (nodes started
 * together): journal_mode=WAL could fail with "database is locked" for the
 * loser of the race to create the WAL files, busy timeout or not (5 in 300
 * trials of 3 processes). db_open retries it; every open must succeed.
 */
static void
test_open_race(void)
{
	enum { TRIALS = 100, PROCS = 3 };
	int failed = 0;
	for (int t = 0; t < TRIALS && failed == 0; t++) {
		char path[64];
		snprintf(path, sizeof(path), "%s-race%d", dbfile, t);
		int gate[2];
		if (pipe(gate) != 0)
			break;
		for (int i = 0; i < PROCS; i++) {
			if (fork() == 0) {
				char ch;
				close(gate[1]);
				if (read(gate[0], &ch, 1) < 0)
					_exit(2);
				char *err = NULL;
				sqlite3 *db = db_open(path, &err);
				if (db == NULL)
					fprintf(stderr, "# open race, trial %d: %s\n", t, err);
				_exit(db != NULL ? 0 : 1);
			}
		}
		close(gate[0]);
		close(gate[1]); /* all start now */
		for (int i = 0; i < PROCS; i++) {
			int st = 0;
			wait(&st);
			failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		}
		const char *sfx[] = {"", "-wal", "-shm"};
		for (int i = 0; i < 3; i++) {
			char f[80];
			snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
			unlink(f);
		}
	}
	T_CHECK("3 processes opening one new database at once all succeed (100 trials)",
	        failed == 0);
}

int
main(void)
{
	int fd = mkstemp(dbfile);
	close(fd);
	char err[256];
	T_CHECK("db_init", db_init(dbfile, err, sizeof(err)) == 0);
	test_params();
	test_bad_values();
	test_constraints();
	test_rows_json();
	db_cases_cache("SELECT ? + 1 AS n", "one statement for one SQL text");
	db_cases_threads("CREATE TEMP TABLE temp_of_main (x)");
	db_cases_transactions(write_lock_free, "an open transaction holds the write lock");
	test_fail_fields();
	test_open_race();
	db_shutdown();
	char path[64];
	unlink(dbfile);
	snprintf(path, sizeof(path), "%s-wal", dbfile);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", dbfile);
	unlink(path);
	return T_DONE();
}
