/*
 * test_notes.c -- the notes app over real HTTP against `cotdev run`: CRUD in
 * JSON and forms, 422 for bad input, schema.sql edits applied while running
 * with the data kept, destructive edits held, and SQL checked at reload.
 *
 * usage: test_notes COTDEV
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "t.h"

static h_server srv;
static char app[4096];
static const char *const json_hdrs[] = {"Content-Type: application/json",
                                        "Accept: application/json", NULL};
static const char *const accept_json[] = {"Accept: application/json", NULL};

static long
req(const char *method, const char *path, const char *const *hdrs, const char *body, h_resp *r)
{
	static h_client *cl;
	if (cl == NULL)
		cl = h_client_new();
	return h_request(cl, &srv, method, path, hdrs, body, r);
}

static void
test_crud(void)
{
	h_resp r;
	T_CHECK("POST json -> 201", req("POST", "/notes", json_hdrs,
	                                "{\"title\":\"first\",\"body\":\"hello\"}", &r) == 201);
	T_CHECK("... the note with its id", r.body && strstr(r.body, "\"id\":1") &&
	                                            strstr(r.body, "\"title\":\"first\"") &&
	                                            strstr(r.body, "created_at"));
	h_resp_free(&r);
	static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	T_CHECK("POST form -> 303",
	        req("POST", "/notes", form, "title=second&body=b+c", &r) == 303);
	char *loc = h_resp_header(&r, "Location");
	T_STREQ("... to the note", loc, "/notes/2");
	free(loc);
	h_resp_free(&r);
	T_CHECK("GET /notes json", req("GET", "/notes", accept_json, NULL, &r) == 200 &&
	                                   r.body[0] == '[' &&
	                                   strstr(r.body, "\"title\":\"second\",\"body\":\"b c\""));
	h_resp_free(&r);
	T_CHECK("GET /notes html", h_get(&srv, "/notes", &r) == 200 && strstr(r.body, "<li>") &&
	                                   strstr(r.body, ">second</a>"));
	h_resp_free(&r);
	T_CHECK("GET /notes/1", req("GET", "/notes/1", accept_json, NULL, &r) == 200 &&
	                                strstr(r.body, "\"body\":\"hello\""));
	h_resp_free(&r);
	T_CHECK("PUT /notes/1",
	        req("PUT", "/notes/1", json_hdrs, "{\"title\":\"renamed\"}", &r) == 200 &&
	                strstr(r.body, "\"title\":\"renamed\"") &&
	                strstr(r.body, "\"body\":\"hello\""));
	h_resp_free(&r);
	T_CHECK("DELETE /notes/2", req("DELETE", "/notes/2", NULL, NULL, &r) == 204);
	h_resp_free(&r);
	T_CHECK("deleted: 404", req("GET", "/notes/2", accept_json, NULL, &r) == 404);
	h_resp_free(&r);
	T_CHECK("PUT missing: 404",
	        req("PUT", "/notes/99", json_hdrs, "{\"title\":\"x\"}", &r) == 404);
	h_resp_free(&r);
}

static void
test_invalid(void)
{
	h_resp r;
	T_CHECK("missing title -> 422",
	        req("POST", "/notes", json_hdrs, "{\"body\":5}", &r) == 422);
	T_CHECK("... problem+json listing the fields",
	        r.body && strstr(r.body, "\"errors\"") &&
	                strstr(r.body, "\"title\": [\n      \"is required\"") &&
	                strstr(r.body, "\"body\": [\n      \"must be a string\""));
	h_resp_free(&r);
	T_CHECK("malformed JSON -> 400", req("POST", "/notes", json_hdrs, "{nope", &r) == 400);
	h_resp_free(&r);
}

/* Saves schema.sql with the notes table plus `extra` columns. */
static void
save_schema(const char *extra)
{
	char path[4200], text[1024];
	snprintf(text, sizeof(text),
	         "CREATE TABLE notes (\n  id INTEGER PRIMARY KEY,\n"
	         "  title TEXT NOT NULL,\n  body TEXT NOT NULL DEFAULT '',\n"
	         "  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP%s\n);\n",
	         extra);
	h_save_inplace(h_path(path, sizeof(path), "%s/schema.sql", app), text);
}

static void
test_schema_edits(void)
{
	size_t mark = h_server_mark(&srv);
	save_schema(",\n  tags TEXT NOT NULL DEFAULT ''");
	T_CHECK("added column applied while running",
	        h_server_wait_output(&srv, mark, "applied + column notes.tags", 10000));
	h_resp r;
	T_CHECK("data survives", req("GET", "/notes/1", accept_json, NULL, &r) == 200 &&
	                                 strstr(r.body, "\"title\":\"renamed\""));
	h_resp_free(&r);
	mark = h_server_mark(&srv);
	save_schema("");
	T_CHECK("dropping a column is held",
	        h_server_wait_output(&srv, mark, "cotdev migrate --apply --allow-destructive",
	                             10000));
	mark = h_server_mark(&srv);
	char path[4200];
	h_save_inplace(h_path(path, sizeof(path), "%s/schema.sql", app), "CREATE TABL x (a);\n");
	/* SQLite: schema.sql:1: near "TABL": syntax error; PostgreSQL (pg_run):
	 * schema.sql:1: syntax error at or near "TABL" */
	bool named = h_server_wait_output(&srv, mark, "near \"TABL\"", 10000);
	char *out = h_server_output(&srv, NULL);
	T_CHECK("schema.sql error names its line",
	        named && out && strstr(out + mark, "schema.sql:1: "));
	free(out);
	T_CHECK("data still there", req("GET", "/notes/1", accept_json, NULL, &r) == 200);
	h_resp_free(&r);
}

static void
test_sql_checked(void)
{
	char path[4200];
	size_t mark = h_server_mark(&srv);
	h_save_inplace(h_path(path, sizeof(path), "%s/handlers/typo.c", app),
	               "#include <cot.h>\n\nstatic cot_result\ntypo(cot_ctx *c)\n{\n"
	               "\treturn cot_db_json_rows(c, 200, cot_db_all(c, \"SELECT titel FROM "
	               "notes\"));\n}\n\n"
	               "COT_ROUTES(COT_GET(\"/typo\", typo),)\n");
	/* SQLite's words, or PostgreSQL's under pg_run */
	const char *words = getenv("DATABASE_URL")
	                            ? "handlers/typo.c:6: column \"titel\" does not exist"
	                            : "handlers/typo.c:6: no such column: titel";
	bool reported = h_server_wait_output(&srv, mark, words, 10000);
	/* needs sqlcheck_app() called from reloader_compile (core owner's file) */
	T_CHECK("misspelled column is a reload error at its line", reported);
	h_resp r;
	req("GET", "/typo", accept_json, NULL, &r);
	T_CHECK("the route answers with the error",
	        r.status == 500 && r.body &&
	                (strstr(r.body, "no such column: titel") ||
	                 (strstr(r.body, "titel") && strstr(r.body, "does not exist"))));
	h_resp_free(&r);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_notes COTDEV\n");
		return 2;
	}
	h_target t = h_target_dev(argv[1]);
	char err[512];
	T_CHECK("scaffold", h_scaffold(&t, app, sizeof(app)) == 0);
	if (h_server_start(&t, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok server starts: %s\n", err);
		return 1;
	}
	test_crud();
	test_invalid();
	if (t.reloads) { /* what only the dev server does: edits while running */
		test_schema_edits();
		test_sql_checked();
	}
	h_thread_done();
	T_CHECK("server exits cleanly", h_server_stop(&srv) == 0);
	h_rmtree(app);
	return T_DONE();
}
