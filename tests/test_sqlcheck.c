/*
 * test_sqlcheck.c -- literal SQL of cot_db_* calls found in handler text and
 * prepared against a schema: errors name the file and the line.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../devserver/sqlcheck.h"
#include "t.h"

static sqlite3 *db;

/* Checks src; returns the error text (static copy) or "" when clean. */
static const char *
check(const char *src)
{
	static char buf[4096];
	char *err = NULL;
	int rc = sqlcheck_source("handlers/x.c", src, db, &err);
	snprintf(buf, sizeof(buf), "%s", rc == 0 ? "" : err ? err : "(null error)");
	if ((rc == 0) != (err == NULL))
		snprintf(buf, sizeof(buf), "rc %d but error %p", rc, (void *)err);
	free(err);
	return buf;
}

static void
test_finds_errors(void)
{
	T_STREQ("good SQL passes",
	        check("static cot_result f(cot_ctx *c) {\n"
	              "  cot_row *r = cot_db_one(c, \"SELECT id, title FROM notes WHERE id = ?\", "
	              "1);\n"
	              "}\n"),
	        "");
	T_STREQ("misspelled column names its line",
	        check("#include <cot.h>\n\n"
	              "  cot_rows *r = cot_db_all(c, \"SELECT titel FROM notes\");\n"),
	        "handlers/x.c:3: no such column: titel");
	T_STREQ("missing table", check("cot_db_exec(c, \"DELETE FROM nope\");"),
	        "handlers/x.c:1: no such table: nope");
	T_STREQ("syntax error", check("cot_db_exec(c, \"SELEC 1\");"),
	        "handlers/x.c:1: near \"SELEC\": syntax error");
	T_STREQ("two problems, two lines",
	        check("cot_db_exec(c, \"SELECT a FROM notes\");\n"
	              "cot_db_exec(c, \"SELECT b FROM notes\");\n"),
	        "handlers/x.c:1: no such column: a\nhandlers/x.c:2: no such column: b");
}

static void
test_literals(void)
{
	T_STREQ("adjacent literals: the error is on the line of its token",
	        check("cot_db_one(c, \"SELECT id \"\n"
	              "              \"FROM notes \"\n"
	              "              \"WHERE titel = ?\", t);\n"),
	        "handlers/x.c:3: no such column: titel");
	T_STREQ("context argument with calls and commas skipped",
	        check("cot_db_one(pick(a, (b, c)), \"SELECT nope FROM notes\");"),
	        "handlers/x.c:1: no such column: nope");
	T_STREQ("escapes decoded",
	        check("cot_db_one(c, \"SELECT \\\"title\\\"\\nFROM notes WHERE body = "
	              "'x\\\\y'\");"),
	        "");
	T_STREQ("macro pieces are not checked",
	        check("cot_db_one(c, \"SELECT \" COLS \" FROM notes\");"), "");
	T_STREQ("non-literal SQL is not checked", check("cot_db_exec(c, sql, 1);"), "");
	T_STREQ("calls in comments and strings are ignored",
	        check("// cot_db_exec(c, \"SELECT nope\");\n"
	              "/* cot_db_exec(c, \"SELECT nope\"); */\n"
	              "const char *s = \"cot_db_exec(c, \\\"SELECT nope\\\")\";\n"),
	        "");
	T_STREQ("other identifiers are ignored",
	        check("my_cot_db_exec(c, \"SELECT nope\"); cot_db_begin(c);"), "");
	T_STREQ("two statements in one call",
	        check("cot_db_exec(c, \"DELETE FROM notes; DELETE FROM notes\");"),
	        "handlers/x.c:1: one statement per call: the SQL holds more");
	T_STREQ("a trailing semicolon is fine", check("cot_db_exec(c, \"DELETE FROM notes;\");"),
	        "");
}

/* The number of values passed must match the SQL's parameters, as db.c
 * checks at run time: a missing value is a reload error, not a 500. */
static void
test_argument_count(void)
{
	T_STREQ("one ? and one value",
	        check("cot_db_one(c, \"SELECT id FROM notes WHERE id = ?\", id);"), "");
	T_STREQ("a value missing",
	        check("\n  cot_db_one(c, \"SELECT id FROM notes WHERE id = ? AND title = ?\", "
	              "id);"),
	        "handlers/x.c:2: the SQL has 2 parameters, the call passes 1");
	T_STREQ("a value too many", check("cot_db_exec(c, \"DELETE FROM notes\", 7);"),
	        "handlers/x.c:1: the SQL has 0 parameters, the call passes 1");
	T_STREQ("none of two", check("cot_db_all(c, \"SELECT ?1, ?2\");"),
	        "handlers/x.c:1: the SQL has 2 parameters, the call passes 0");
	T_STREQ("values with calls, commas and strings inside count once each",
	        check("cot_db_exec(c, \"UPDATE notes SET title = ?, body = ? WHERE id = ?\",\n"
	              "            f(a, b), cot_blob(p, n), \"x, y\");"),
	        "");
	T_STREQ("numbered parameters count by the highest",
	        check("cot_db_one(c, \"SELECT id FROM notes WHERE id = ?1 OR id = ?1\", 3);"), "");
	T_STREQ("an unfinished call is not judged",
	        check("cot_db_one(c, \"SELECT id FROM notes WHERE id = ?\", a, b"), "");
}

static void
test_never_runs(void)
{
	check("cot_db_exec(c, \"INSERT INTO notes (title) VALUES ('x')\");");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT count(*) FROM notes", -1, &st, NULL);
	sqlite3_step(st);
	T_CHECK("prepared, never executed", sqlite3_column_int(st, 0) == 0);
	sqlite3_finalize(st);
}

static void
test_file(void)
{
	char path[] = "/tmp/sqlcheck_XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs("x\ny\ncot_db_one(c, \"SELECT zz FROM notes\");\n", f);
	fclose(f);
	char *err = NULL;
	int rc = sqlcheck_file(path, db, &err);
	T_CHECK("file: fails", rc == -1 && err != NULL);
	T_CHECK("file: names path and line", err && strstr(err, ":3: no such column: zz"));
	free(err);
	unlink(path);
	T_CHECK("missing file is not an error", sqlcheck_file("/nonexistent.c", db, &err) == 0);
}

int
main(void)
{
	sqlite3_open(":memory:", &db);
	sqlite3_exec(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT)", NULL,
	             NULL, NULL);
	test_finds_errors();
	test_literals();
	test_argument_count();
	test_never_runs();
	test_file();
	sqlite3_close(db);
	return T_DONE();
}
