/*
 * test_sqlfresh.c -- the SQL check at reload stays true to the live schema.
 *
 * Against `cotdev run` (the export checks once, at build: see the end):
 *   - a rename in schema.sql (`-- @renamed from=`) applied by a save makes
 *     a handler that still says the old name answer with a reload error
 *     naming its file:line -- not a 500 at request time -- and the fix of the
 *     handler brings it back;
 *   - `cotdev migrate --apply --allow-destructive` run from another process
 *     (a dropped column) does the same for a handler using the column, and
 *     putting the column back in schema.sql heals it without touching it;
 *   - SQL in a header a handler includes is checked, errors named at the
 *     header's own line, at start and at the header's save;
 *   - a wrong number of values for the SQL's `?` is a reload error;
 *   - `cotdev export` refuses SQL in an included header that does not
 *     prepare against schema.sql (on PostgreSQL, SQL only SQLite takes too);
 *   - an error inside SQL split over several literals is named at the
 *     line of the literal holding the bad token;
 *   - `cotdev check` exits 1 naming file:line and the engine's message,
 *     and 0 once the SQL is fixed.
 *
 * The same suite runs against PostgreSQL under build/pg_run (which sets
 * DATABASE_URL, read by `cotdev run`, `cotdev check` and `cotdev export`):
 * the SQL is then prepared there (devserver/sqlcheck_pg.c), the messages
 * are PostgreSQL's ('column "x" does not exist' for SQLite's 'no such
 * column: x'), and SQL only SQLite accepts (INSERT OR REPLACE) must be a
 * reload error and a `cotdev check` failure at its line, while on SQLite
 * it loads.
 *
 * usage: test_sqlfresh COTDEV
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];
static bool on_pg; /* DATABASE_URL names PostgreSQL (build/pg_run) */

/* "FILE:LINE: " and the engine's words for an unknown column. */
static const char *
no_column(const char *where, const char *col)
{
	static char bufs[4][256];
	static int next;
	char *b = bufs[next++ % 4];
	if (on_pg)
		snprintf(b, sizeof(bufs[0]), "%s: column \"%s\" does not exist", where, col);
	else
		snprintf(b, sizeof(bufs[0]), "%s: no such column: %s", where, col);
	return b;
}

static const char schema_v1[] = "CREATE TABLE notes (\n"
                                "  id INTEGER PRIMARY KEY,\n"
                                "  title TEXT NOT NULL,\n"
                                "  body TEXT NOT NULL DEFAULT '',\n"
                                "  mood TEXT NOT NULL DEFAULT 'calm'\n"
                                ");\n";

/* title renamed to heading */
static const char schema_v2[] = "CREATE TABLE notes (\n"
                                "  id INTEGER PRIMARY KEY,\n"
                                "  heading TEXT NOT NULL, -- @renamed from=title\n"
                                "  body TEXT NOT NULL DEFAULT '',\n"
                                "  mood TEXT NOT NULL DEFAULT 'calm'\n"
                                ");\n";

/* and mood dropped (destructive: held until `cotdev migrate --apply ...`) */
static const char schema_v3[] = "CREATE TABLE notes (\n"
                                "  id INTEGER PRIMARY KEY,\n"
                                "  heading TEXT NOT NULL,\n"
                                "  body TEXT NOT NULL DEFAULT ''\n"
                                ");\n";

/* mood back (additive: applied at the save) */
static const char schema_v4[] = "CREATE TABLE notes (\n"
                                "  id INTEGER PRIMARY KEY,\n"
                                "  heading TEXT NOT NULL,\n"
                                "  body TEXT NOT NULL DEFAULT '',\n"
                                "  mood TEXT NOT NULL DEFAULT 'calm'\n"
                                ");\n";

static const char titles_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "count(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT count(title) AS n FROM notes\");\n"
        "\treturn cot_text(c, 200, \"titles %lld\\n\", r ? cot_row_int(r, \"n\") : -1);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/titles\", count),\n"
        ")\n";

static const char headings_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "count(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT count(heading) AS n FROM notes\");\n"
        "\treturn cot_text(c, 200, \"headings %lld\\n\", r ? cot_row_int(r, \"n\") : -1);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/titles\", count),\n"
        ")\n";

static const char mood_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "mood(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT count(*) AS n FROM notes WHERE mood = 'calm'\");\n"
        "\treturn cot_text(c, 200, \"calm %lld\\n\", r ? cot_row_int(r, \"n\") : -1);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/mood\", mood),\n"
        ")\n";

/* A header with SQL, included by handlers/uses_q.c. */
static const char q_good[] =
        "static inline cot_row *\n"
        "first_note(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_db_one(c, \"SELECT id, body FROM notes ORDER BY id LIMIT 1\");\n"
        "}\n";

static const char q_bad[] =
        "static inline cot_row *\n"
        "first_note(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_db_one(c, \"SELECT id, bodyy FROM notes ORDER BY id LIMIT 1\");\n"
        "}\n";

static const char uses_q_src[] =
        "#include <cot.h>\n"
        "#include \"q.h\"\n"
        "\n"
        "static cot_result\n"
        "first(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"first %p\\n\", (void *)first_note(c));\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/first\", first),\n"
        ")\n";

static const char args_bad_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "one(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT id FROM notes WHERE id = ? AND body = ?\",\n"
        "\t                        cot_param_int(c, \"id\"));\n"
        "\treturn cot_text(c, 200, \"%p\\n\", (void *)r);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/one/:id\", one),\n"
        ")\n";

/* SQL split over two literals, the bad column in the second (line 7). */
static const char split_bad_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "split(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT id FROM notes WHERE id = ? \"\n"
        "\t                           \"AND titel = ?\", cot_param_int(c, \"id\"), \"x\");\n"
        "\treturn cot_text(c, 200, \"split %p\\n\", (void *)r);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/split/:id\", split),\n"
        ")\n";

static const char split_good_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "split(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, \"SELECT id FROM notes WHERE id = ? \"\n"
        "\t                           \"AND body = ?\", cot_param_int(c, \"id\"), \"x\");\n"
        "\treturn cot_text(c, 200, \"split %p\\n\", (void *)r);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/split/:id\", split),\n"
        ")\n";

/* SQLite's INSERT OR IGNORE: PostgreSQL has no such form. */
static const char upsert_sqlite_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "upsert(cot_ctx *c)\n"
        "{\n"
        "\tconst char *sql = 0; if (cot_query(c, \"write\")) cot_db_exec(c, \"INSERT OR IGNORE "
        "INTO notes (id, body) VALUES (?, ?)\", 1, \"b\");\n"
        "\treturn cot_text(c, 200, \"upsert %p\\n\", (const void *)sql);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/upsert\", upsert),\n"
        ")\n";

/* The portable form: ON CONFLICT, which both engines take. */
static const char upsert_portable_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "upsert(cot_ctx *c)\n"
        "{\n"
        "\tconst char *sql = 0; if (cot_query(c, \"write\")) cot_db_exec(c, \"INSERT INTO notes "
        "(id, body) VALUES (?, ?) ON CONFLICT (id) DO NOTHING\", 1, \"b\");\n"
        "\treturn cot_text(c, 200, \"upsert %p\\n\", (const void *)sql);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/upsert\", upsert),\n"
        ")\n";

/* ==== polling ========================================================== */

typedef struct want {
	const char *path;
	long status;
	const char *needle; /* in the body */
	h_resp last;
} want;

static bool
answers(void *arg)
{
	want *w = arg;
	h_resp_free(&w->last);
	h_get(&srv, w->path, &w->last);
	return w->last.status == w->status && w->last.body != NULL &&
	       strstr(w->last.body, w->needle) != NULL;
}

/* Polls GET path until it answers status with needle in the body. */
static bool
eventually(const char *name, const char *path, long status, const char *needle)
{
	want w = {path, status, needle, {0}};
	bool ok = h_wait_for(answers, &w, H_DEADLINE_MS);
	T_CHECK(name, ok);
	if (!ok)
		printf("# GET %s: %ld %s\n", path, w.last.status, w.last.body ? w.last.body : "");
	h_resp_free(&w.last);
	return ok;
}

/* The answer right now (no polling): read-your-writes after a save. */
static void
now(const char *name, const char *path, long status, const char *needle)
{
	h_resp r;
	h_get(&srv, path, &r);
	bool ok = r.status == status && r.body && strstr(r.body, needle);
	T_CHECK(name, ok);
	if (!ok)
		printf("# GET %s: %ld %s\n", path, r.status, r.body ? r.body : "");
	h_resp_free(&r);
}

/* ==== the cases ======================================================== */

static void
test_rename(void)
{
	now("before the rename: 200", "/titles", 200, "titles ");
	size_t mark = h_server_mark(&srv);
	h_write_app_file(app, "schema.sql", schema_v2);
	/* the first request after the save sees the new schema's verdict */
	now("after the rename: the old column name is a reload error at its line", "/titles", 500,
	    "handlers/titles.c:6");
	now("after the rename: the error says why", "/titles", 500,
	    no_column("handlers/titles.c:6", "title"));
	T_CHECK("after the rename: the terminal names the file",
	        h_server_wait_output(&srv, mark, no_column("handlers/titles.c:6", "title"),
	                             H_DEADLINE_MS));
	h_write_app_file(app, "handlers/titles.c", headings_src);
	now("the handler fixed: 200 again", "/titles", 200, "headings ");
}

static void
test_applied_drop(void)
{
	now("before the drop: 200", "/mood", 200, "calm ");
	h_write_app_file(app, "schema.sql", schema_v3);
	now("a held drop changes nothing yet", "/mood", 200, "calm ");
	const char *argv[] = {target.cotdev,         "migrate", "--apply",
	                      "--allow-destructive", app,       NULL};
	h_cmd_result r;
	h_run_cmd(argv, H_DEADLINE_MS, &r);
	T_CHECK("cotdev migrate --apply --allow-destructive from another process",
	        r.exit_code == 0);
	if (r.exit_code != 0)
		printf("# %s%s\n", r.out ? r.out : "", r.err ? r.err : "");
	h_cmd_result_free(&r);
	eventually("after the applied drop: the handler using it answers its reload error", "/mood",
	           500, no_column("handlers/mood.c:6", "mood"));
	h_write_app_file(app, "schema.sql", schema_v4);
	now("the column back: the same handler answers again, unchanged", "/mood", 200, "calm ");
}

static void
test_header_sql(void)
{
	now("SQL in an included header is checked at start", "/first", 500,
	    no_column("handlers/q.h:4", "bodyy"));
	h_write_app_file(app, "handlers/q.h", q_good);
	now("the header fixed: its handler answers", "/first", 200, "first ");
	h_write_app_file(app, "handlers/q.h", q_bad);
	now("the header broken by a save: a reload error at the header's line", "/first", 500,
	    no_column("handlers/q.h:4", "bodyy"));
}

static void
test_argument_count(void)
{
	now("a missing value for a ? is a reload error", "/one/1", 500,
	    "handlers/args.c:6: the SQL has 2 parameters, the call passes 1");
}

static void
test_split_literals(void)
{
	h_write_app_file(app, "handlers/split.c", split_bad_src);
	now("SQL over two literals: the error at the line of the bad token", "/split/1", 500,
	    no_column("handlers/split.c:7", "titel"));
	h_write_app_file(app, "handlers/split.c", split_good_src);
	now("SQL over two literals fixed: 200", "/split/1", 200, "split ");
}

/* SQL only SQLite takes: a reload error on PostgreSQL, at its line. */
static void
test_engine_only(void)
{
	h_write_app_file(app, "handlers/upsert.c", upsert_sqlite_src);
	if (on_pg)
		now("PostgreSQL: INSERT OR IGNORE is a reload error at its line", "/upsert", 500,
		    "handlers/upsert.c:6: syntax error at or near \"OR\"");
	else
		now("SQLite: INSERT OR IGNORE loads", "/upsert", 200, "upsert ");
	h_write_app_file(app, "handlers/upsert.c", upsert_portable_src);
	now("ON CONFLICT, the portable form, loads on either engine", "/upsert", 200, "upsert ");
}

/* `cotdev check`: exit status and message, on the app's engine. */
static bool
check_says(const char *name, int code, const char *needle)
{
	const char *argv[] = {target.cotdev, "check", app, NULL};
	h_cmd_result r;
	h_run_cmd(argv, H_DEADLINE_MS, &r);
	bool ok = r.exit_code == code && r.out != NULL && strstr(r.out, needle) != NULL;
	T_CHECK(name, ok);
	if (!ok)
		printf("# cotdev check (%d): %s%s\n", r.exit_code, r.out ? r.out : "",
		       r.err ? r.err : "");
	h_cmd_result_free(&r);
	return ok;
}

static void
test_check_cmd(void)
{
	check_says("cotdev check: exit 1, the header's SQL at its line", 1,
	           no_column("handlers/q.h:4", "bodyy"));
	h_write_app_file(app, "handlers/q.h", q_good);
	h_write_app_file(app, "handlers/upsert.c", upsert_sqlite_src);
	if (on_pg)
		check_says("cotdev check on PostgreSQL: INSERT OR IGNORE fails at its line", 1,
		           "handlers/upsert.c:6: syntax error at or near \"OR\"");
	else
		check_says("cotdev check on SQLite: INSERT OR IGNORE passes", 0, "all compiled");
	h_write_app_file(app, "handlers/upsert.c", upsert_portable_src);
	check_says("cotdev check: the SQL fixed, exit 0", 0, "all compiled");
	if (!on_pg)
		return;
	/* planned, not live: a table only schema.sql has yet (no server ran) */
	char path[4200];
	FILE *f = fopen(h_path(path, sizeof(path), "%s/schema.sql", app), "a");
	bool wrote = f != NULL && fputs("CREATE TABLE tags (id INTEGER PRIMARY KEY, "
	                                "name TEXT NOT NULL);\n",
	                                f) >= 0;
	if (f != NULL)
		wrote &= fclose(f) == 0;
	wrote &= h_write_app_file(app, "handlers/tags.c",
	                          "#include <cot.h>\n"
	                          "static cot_result\n"
	                          "tags(cot_ctx *c)\n"
	                          "{\n"
	                          "\treturn cot_db_json_rows(c, 200, cot_db_all(c, \"SELECT id, "
	                          "name FROM tags\"));\n"
	                          "}\n"
	                          "COT_ROUTES(COT_GET(\"/tags\", tags))\n") == 0;
	T_CHECK("add a table to schema.sql and a handler reading it", wrote);
	check_says("cotdev check on PostgreSQL prepares against schema.sql as planned", 0,
	           "all compiled");
	h_write_app_file(app, "handlers/tags.c",
	                 "#include <cot.h>\n"
	                 "static cot_result\n"
	                 "tags(cot_ctx *c)\n"
	                 "{\n"
	                 "\treturn cot_db_json_rows(c, 200, cot_db_all(c, \"SELECT id, "
	                 "label FROM tags\"));\n"
	                 "}\n"
	                 "COT_ROUTES(COT_GET(\"/tags\", tags))\n");
	check_says("... and refuses a column the planned table lacks", 1,
	           no_column("handlers/tags.c:5", "label"));
	h_delete(h_path(path, sizeof(path), "%s/handlers/tags.c", app));
}

/* The export prepares the SQL of included headers against schema.sql too. */
static void
test_export(void)
{
	char out[4200], args[4200];
	h_delete(h_path(args, sizeof(args), "%s/handlers/args.c", app)); /* q.h alone */
	h_path(out, sizeof(out), "%s/.fresh-bin", app);
	const char *argv[] = {target.cotdev, "export", app, "-o", out, NULL};
	h_cmd_result r;
	h_run_cmd(argv, 300000, &r);
	T_CHECK("export refuses SQL in an included header",
	        r.exit_code != 0 && r.err && strstr(r.err, no_column("handlers/q.h:4", "bodyy")));
	if (r.exit_code == 0 || !r.err || !strstr(r.err, "handlers/q.h:4"))
		printf("# export: %d %s\n", r.exit_code, r.err ? r.err : "");
	T_CHECK("export wrote no binary", access(out, F_OK) != 0);
	h_cmd_result_free(&r);
	if (!on_pg)
		return;
	/* told the engine (DATABASE_URL), the export refuses what only it refuses */
	h_write_app_file(app, "handlers/upsert.c", upsert_sqlite_src);
	h_run_cmd(argv, 300000, &r);
	T_CHECK("export on PostgreSQL refuses INSERT OR IGNORE at its line",
	        r.exit_code != 0 && r.err &&
	                strstr(r.err, "handlers/upsert.c:6: syntax error at or near \"OR\""));
	if (r.exit_code == 0 || !r.err || !strstr(r.err, "handlers/upsert.c:6"))
		printf("# export: %d %s\n", r.exit_code, r.err ? r.err : "");
	T_CHECK("... and writes no binary", access(out, F_OK) != 0);
	h_cmd_result_free(&r);
	h_write_app_file(app, "handlers/upsert.c", upsert_portable_src);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV\n", argv[0]);
		return 2;
	}
	static char cotdev[4096];
	if (realpath(argv[1], cotdev) == NULL) {
		printf("not ok %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	target = h_target_dev(cotdev);
	const char *url = getenv("DATABASE_URL");
	on_pg = url != NULL && strncmp(url, "postgres", 8) == 0;
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("scaffold an app", false);
		return T_DONE();
	}
	h_clear_handlers(app);
	bool wrote = h_write_app_file(app, "schema.sql", schema_v1) == 0 &&
	             h_write_app_file(app, "handlers/titles.c", titles_src) == 0 &&
	             h_write_app_file(app, "handlers/mood.c", mood_src) == 0 &&
	             h_write_app_file(app, "handlers/q.h", q_bad) == 0 &&
	             h_write_app_file(app, "handlers/uses_q.c", uses_q_src) == 0 &&
	             h_write_app_file(app, "handlers/args.c", args_bad_src) == 0;
	T_CHECK("write the app", wrote);
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start: %s\n", err);
		h_rmtree(app);
		return 1;
	}
	test_header_sql();
	test_argument_count();
	test_split_literals();
	test_engine_only();
	test_rename();
	test_applied_drop();
	h_thread_done();
	T_CHECK("server exits 0 at SIGTERM", h_server_stop(&srv) == 0);
	test_export();
	test_check_cmd();
	h_rmtree(app);
	return T_DONE();
}
