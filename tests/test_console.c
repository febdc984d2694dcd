/*
 * test_console.c -- the dev console at /_cot/ over real HTTP against
 * `cotdev run`: the routes list (broken files marked), nearest matches on
 * the dev 404 in HTML, problem+json and text, the request inspector (SQL
 * with parameters, rows and time; bodies bounded and binary-safe; the
 * trace of a crash; the ring bounded), replay-on-save (a diff after an
 * edit, writes rolled back: app.db the same before and after, side
 * effects refused), the database API (read-only, the apply button's POST
 * applying exactly the held plan) and who may see it (Host check, the
 * token of a non-loopback bind, --no-inspector).
 * Against the export (`export:build/cotdev`): none of /_cot/ answers.
 *
 * usage: test_console COTDEV | test_console export:COTDEV
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "t.h"

static h_server srv;
static h_target target;
static char app[4096];
static h_client *cl;

static const char *const accept_json[] = {"Accept: application/json", NULL};
static const char *const accept_html[] = {"Accept: text/html,application/xhtml+xml", NULL};
static const char *const json_body[] = {"Content-Type: application/json",
                                        "Accept: application/json", NULL};

static long
req(const char *method, const char *path, const char *const *hdrs, const char *body, h_resp *r)
{
	return h_request(cl, &srv, method, path, hdrs, body, r);
}

/* GET path as JSON (NULL if not 200 JSON). */
static json_t *
get_json(const char *path)
{
	h_resp r;
	json_t *j = NULL;
	if (req("GET", path, NULL, NULL, &r) == 200)
		j = json_loads(r.body, 0, NULL);
	h_resp_free(&r);
	return j;
}

/* The inspector's newest entry for METHOD PATH that is not a replay, in full. */
static json_t *
entry_for(const char *method, const char *path)
{
	json_t *list = get_json("/_cot/api/requests"), *e, *best = NULL;
	size_t i;
	json_array_foreach(
	        json_object_get(list, "entries"), i,
	        e) if (strcmp(json_string_value(json_object_get(e, "method")), method) == 0 &&
	               strcmp(json_string_value(json_object_get(e, "path")), path) == 0 &&
	               !json_is_true(json_object_get(e, "replay"))) best = e;
	char url[256];
	if (best != NULL)
		snprintf(url, sizeof(url), "/_cot/api/requests/%lld",
		         (long long)json_integer_value(json_object_get(best, "seq")));
	json_t *full = best ? get_json(url) : NULL;
	json_decref(list);
	return full;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* ==== routes and the 404 =============================================== */

static const char broken_src[] =
        "#include <cot.h>\n"
        "static cot_result b(cot_ctx *c) { return cot_text(c, 200, \"b\") }\n"
        "COT_ROUTES(COT_GET(\"/broken/thing\", b),)\n";

static bool
routes_has_broken(void *arg)
{
	(void)arg;
	json_t *routes = get_json("/_cot/api/routes"), *r;
	size_t i;
	bool yes = false;
	json_array_foreach(routes, i, r) yes |= strcmp(jstr(r, "pattern"), "/broken/thing") == 0 &&
	                                        json_object_get(r, "error") != NULL;
	json_decref(routes);
	return yes;
}

static void
test_routes(void)
{
	h_resp r;
	json_t *routes = get_json("/_cot/api/routes"), *x;
	size_t i;
	bool show = false;
	json_array_foreach(routes, i, x) show |=
	        strcmp(jstr(x, "pattern"), "/notes/:id") == 0 &&
	        strcmp(jstr(x, "method"), "GET") == 0 &&
	        strcmp(jstr(x, "function"), "show_note") == 0 &&
	        strcmp(jstr(x, "file"), "handlers/notes.c") == 0 &&
	        json_integer_value(json_object_get(x, "line")) > 0 &&
	        strncmp(jstr(x, "href"), "vscode://file/", 14) == 0;
	T_CHECK("routes: GET /notes/:id -> show_note at handlers/notes.c:LINE, editor link", show);
	json_decref(routes);
	T_CHECK("routes: a browser gets the routes page",
	        req("GET", "/_cot/routes", accept_html, NULL, &r) == 200 &&
	                strstr(r.body, "data-page=\"routes\"") != NULL);
	h_resp_free(&r);
	T_CHECK("routes: curl gets the text list",
	        req("GET", "/_cot/routes", NULL, NULL, &r) == 200 && strstr(r.body, "/notes/:id") &&
	                strstr(r.body, "handlers/notes.c:"));
	h_resp_free(&r);
	h_write_app_file(app, "handlers/broken.c", broken_src);
	T_CHECK("routes: a file that does not compile is listed, marked with its error",
	        h_wait_for(routes_has_broken, NULL, H_DEADLINE_MS));
	char path[4200];
	h_delete(h_path(path, sizeof(path), "%s/handlers/broken.c", app));
}

static void
test_not_found(void)
{
	h_resp r;
	T_CHECK("404 html: did you mean /notes/:id, and every route",
	        req("GET", "/note/7", accept_html, NULL, &r) == 404 &&
	                strstr(r.body, "Did you mean") &&
	                strstr(r.body, "<code>GET /notes/:id</code>") &&
	                strstr(r.body, "/hello/:name"));
	h_resp_free(&r);
	json_t *j = NULL;
	if (req("GET", "/note/7", accept_json, NULL, &r) == 404)
		j = json_loads(r.body, 0, NULL);
	json_t *first = json_array_get(json_object_get(j, "suggestions"), 0);
	T_CHECK("404 problem+json: suggestions, nearest (and same method) first",
	        first != NULL && strcmp(jstr(first, "pattern"), "/notes/:id") == 0 &&
	                strcmp(jstr(first, "method"), "GET") == 0 &&
	                strcmp(jstr(j, "title"), "Not Found") == 0);
	json_decref(j);
	h_resp_free(&r);
	T_CHECK("404 text: did you mean: GET /hello/:name",
	        req("GET", "/hello", NULL, NULL, &r) == 404 &&
	                strstr(r.body, "did you mean: GET /hello/:name"));
	h_resp_free(&r);
	T_CHECK("404 html: a hostile path is escaped",
	        req("GET", "/notes/%3Cscript%3Ex/y", accept_html, NULL, &r) == 404 &&
	                strstr(r.body, "<script>x") == NULL);
	h_resp_free(&r);
}

/* ==== the inspector ==================================================== */

static const char crash_src[] = "#include <cot.h>\n"
                                "static cot_result boom(cot_ctx *c)\n"
                                "{\n"
                                "\tvolatile int *p = 0;\n"
                                "\t*p = 1; /* line 5 */\n"
                                "\treturn cot_text(c, 200, \"unreachable\");\n"
                                "}\n"
                                "COT_ROUTES(COT_GET(\"/boom\", boom),)\n";

static bool
boom_served(void *arg)
{
	(void)arg;
	h_resp r;
	long s = req("GET", "/boom", accept_json, NULL, &r);
	h_resp_free(&r);
	return s == 500;
}

static void
test_inspector(void)
{
	h_resp r;
	static const char xss[] = "{\"title\":\"<img src=x onerror=alert(1)>\",\"body\":\"hi\"}";
	T_CHECK("inspector: POST /notes", req("POST", "/notes", json_body, xss, &r) == 201);
	char *id = h_resp_header(&r, "X-Request-Id");
	h_resp_free(&r);
	json_t *e = entry_for("POST", "/notes");
	json_t *q = json_array_get(json_object_get(e, "sql"), 0);
	T_CHECK("inspector: the POST's entry: status, id, duration",
	        e && json_integer_value(json_object_get(e, "status")) == 201 && id &&
	                strcmp(jstr(e, "id"), id) == 0 &&
	                json_real_value(json_object_get(e, "ms")) > 0);
	T_CHECK("inspector: its INSERT with parameters, rows and time",
	        q && strncmp(jstr(q, "sql"), "INSERT INTO notes", 17) == 0 &&
	                strstr(jstr(q, "params"), "'<img src=x onerror=alert(1)>'") &&
	                json_integer_value(json_object_get(q, "rows")) == 1 &&
	                json_real_value(json_object_get(q, "ms")) > 0);
	T_CHECK("inspector: request headers and body, response headers and body (JSON API)",
	        strstr(jstr(e, "request_headers"), "Content-Type: application/json") &&
	                strcmp(jstr(json_object_get(e, "request_body"), "text"), xss) == 0 &&
	                strstr(jstr(e, "response_headers"), "Location: /notes/") &&
	                strstr(jstr(json_object_get(e, "response_body"), "text"), "\"id\":"));
	json_decref(e);
	free(id);

	/* binary and big bodies: previews, bounded */
	static const char *const bin_hdrs[] = {"Content-Type: application/octet-stream", NULL};
	char big[10001];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	req("POST", "/notes", bin_hdrs, big, &r);
	h_resp_free(&r);
	e = entry_for("POST", "/notes");
	json_t *b = json_object_get(e, "request_body");
	T_CHECK("inspector: a 10000-byte body is kept as a 4096-byte preview",
	        json_integer_value(json_object_get(b, "size")) == 10000 &&
	                json_integer_value(json_object_get(b, "shown")) == 4096 &&
	                strlen(jstr(b, "text")) == 4096);
	json_decref(e);
	req("POST", "/notes", bin_hdrs,
	    "\xff\xfe\x01"
	    "binary",
	    &r);
	h_resp_free(&r);
	e = entry_for("POST", "/notes");
	b = json_object_get(e, "request_body");
	T_CHECK("inspector: a body that is not UTF-8 shows as hex",
	        strcmp(jstr(b, "hex"), "ff fe 01 62 69 6e 61 72 79") == 0 &&
	                json_object_get(b, "text") == NULL);
	json_decref(e);

	/* a crash: the entry carries the trace */
	h_write_app_file(app, "handlers/boom.c", crash_src);
	T_CHECK("inspector: /boom crashes", h_wait_for(boom_served, NULL, H_DEADLINE_MS));
	e = entry_for("GET", "/boom");
	T_CHECK("inspector: a crash's entry shows its trace at handlers/boom.c:5",
	        e && json_integer_value(json_object_get(e, "status")) == 500 &&
	                strstr(jstr(e, "trace"), "handlers/boom.c:5") &&
	                json_array_size(json_object_get(e, "trace_links")) > 0);
	json_decref(e);
	h_resp page;
	T_CHECK("error page: the trace's file:line opens the editor (vscode:// by default)",
	        req("GET", "/boom", accept_html, NULL, &page) == 500 &&
	                strstr(page.body, "<a class=\"cot-editor\" href=\"vscode://file/") &&
	                strstr(page.body, "/handlers/boom.c:5\">handlers/boom.c:5</a>"));
	h_resp_free(&page);
	char path[4200];
	h_delete(h_path(path, sizeof(path), "%s/handlers/boom.c", app));

	/* the ring keeps the last 200 */
	for (int i = 0; i < 210; i++) {
		req("GET", "/hello/ring", NULL, NULL, &r);
		h_resp_free(&r);
	}
	json_t *list = get_json("/_cot/api/requests");
	json_t *entries = json_object_get(list, "entries");
	long long last = json_integer_value(json_object_get(list, "last"));
	T_CHECK("inspector: the ring holds the last 200 requests, no more",
	        json_array_size(entries) == 200 &&
	                json_integer_value(json_object_get(json_array_get(entries, 0), "seq")) ==
	                        last - 199);
	json_decref(list);
	T_CHECK("inspector: read-only", req("DELETE", "/_cot/api/requests", NULL, NULL, &r) == 405);
	h_resp_free(&r);
	T_CHECK("inspector: its own requests are not recorded",
	        (list = get_json("/_cot/api/requests")) &&
	                json_integer_value(json_object_get(list, "last")) == last);
	json_decref(list);
	h_resp r2;
	T_CHECK("error page: the request id links to its inspector entry",
	        req("GET", "/nowhere", accept_html, NULL, &r2) == 404 &&
	                strstr(r2.body, "href=\"/_cot/requests#"));
	h_resp_free(&r2);
}

/* ==== replay =========================================================== */

/* A GET that writes: replaying it must not leave a row behind. */
static const char visit_src[] =
        "#include <cot.h>\n"
        "static cot_result visit(cot_ctx *c)\n"
        "{\n"
        "\tcot_db_begin(c);\n"
        "\tcot_db_exec(c, \"INSERT INTO notes (title) VALUES (?)\", \"visit\");\n"
        "\tcot_db_commit(c);\n"
        "\tcot_row *n = cot_db_one(c, \"SELECT count(*) AS n FROM notes\");\n"
        "\treturn cot_text(c, 200, \"%s %s\\n\", \"VERSION\", cot_row_text(n, \"n\"));\n"
        "}\n"
        "COT_ROUTES(COT_GET(\"/visit\", visit),)\n";

static char *
visit_version(const char *v)
{
	static char src[1024];
	const char *at = strstr(visit_src, "\"VERSION\"");
	snprintf(src, sizeof(src), "%.*s\"%s\"%s", (int)(at - visit_src), visit_src, v,
	         at + strlen("\"VERSION\""));
	return src;
}

/* The notes table of app.db as text, read with SQLite itself. */
static char *
notes_dump(void)
{
	char path[4200], *out = NULL;
	size_t len = 0;
	sqlite3 *db;
	if (sqlite3_open_v2(h_path(path, sizeof(path), "%s/app.db", app), &db, SQLITE_OPEN_READONLY,
	                    NULL) != SQLITE_OK)
		return NULL;
	FILE *f = open_memstream(&out, &len);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT id, title, body FROM notes ORDER BY id", -1, &st,
	                       NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			fprintf(f, "%lld|%s|%s\n", (long long)sqlite3_column_int64(st, 0),
			        sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
		sqlite3_finalize(st);
	}
	fclose(f);
	sqlite3_close(db);
	return out;
}

typedef struct want_replay {
	const char *method, *path;
	json_t *found;
} want_replay;

static bool
replayed(void *arg)
{
	want_replay *w = arg;
	json_t *e = entry_for(w->method, w->path);
	json_t *rp = json_object_get(e, "replayed");
	if (json_is_object(rp)) {
		w->found = json_incref(rp);
		json_decref(e);
		return true;
	}
	json_decref(e);
	return false;
}

static bool
visit_answers(void *arg)
{
	h_resp r;
	bool ok = req("GET", "/visit", NULL, NULL, &r) == 200 &&
	          strncmp(r.body, (char *)arg, strlen(arg)) == 0;
	h_resp_free(&r);
	return ok;
}

static bool
fx_answers(void *arg)
{
	(void)arg;
	h_resp r;
	long s = req("GET", "/fx", NULL, NULL, &r);
	h_resp_free(&r);
	return s == 200;
}

static void
test_replay(void)
{
	h_write_app_file(app, "handlers/visit.c", visit_version("one"));
	T_CHECK("replay: GET /visit answers (and writes a row)",
	        h_wait_for(visit_answers, "one ", H_DEADLINE_MS));
	char *before = notes_dump();
	h_write_app_file(app, "handlers/visit.c", visit_version("two"));
	want_replay w = {"GET", "/visit", NULL};
	T_CHECK("replay: saving the handler replays the last GET /visit",
	        h_wait_for(replayed, &w, H_DEADLINE_MS));
	json_t *diff = json_object_get(w.found, "body_diff");
	T_CHECK("replay: the inspector shows the answer's diff (one -> two)",
	        json_is_true(json_object_get(w.found, "changed")) &&
	                json_integer_value(json_object_get(w.found, "status_after")) == 200 &&
	                json_array_size(diff) == 2 &&
	                strncmp(jstr(json_array_get(diff, 0), "text"), "one ", 4) == 0 &&
	                strncmp(jstr(json_array_get(diff, 1), "text"), "two ", 4) == 0);
	char url[256];
	snprintf(url, sizeof(url), "/_cot/api/requests/%s", jstr(w.found, "replay_id"));
	json_t *re = get_json(url);
	T_CHECK("replay: the replay ran the handler's INSERT (inside its transaction)",
	        re && json_is_true(json_object_get(re, "replay")) &&
	                strncmp(jstr(json_array_get(json_object_get(re, "sql"), 0), "sql"),
	                        "INSERT INTO notes", 17) == 0);
	json_decref(re);
	char *after = notes_dump();
	T_CHECK("replay: app.db is unchanged (row count and content)",
	        before && after && strcmp(before, after) == 0 && strstr(before, "|visit|"));
	free(before);
	free(after);
	json_decref(w.found);

	/* a POST is not replayed by default */
	h_resp r;
	req("POST", "/notes", json_body, "{\"title\":\"posted\"}", &r);
	h_resp_free(&r);
	char *notes = NULL;
	char p[4200];
	notes = (char *)h_path(p, sizeof(p), "%s/handlers/notes.c", app);
	FILE *f = fopen(notes, "a");
	if (f) {
		fputs("/* touched */\n", f);
		fclose(f);
	}
	w = (want_replay){"POST", "/notes", NULL};
	T_CHECK("replay: a POST is not replayed by default, and the entry says why",
	        h_wait_for(replayed, &w, H_DEADLINE_MS) &&
	                strstr(jstr(w.found, "skipped"), "only GET and HEAD"));
	json_decref(w.found);

	/* a handler that writes a file is never replayed */
	static const char fx_src[] = "#include <cot.h>\n#include <stdio.h>\n"
	                             "static cot_result fx(cot_ctx *c)\n{\n"
	                             "\tFILE *f = fopen(\"side-effect.txt\", \"a\");\n"
	                             "\tif (f) { fputs(\"x\\n\", f); fclose(f); }\n"
	                             "\treturn cot_text(c, 200, \"VERSION\\n\");\n}\n"
	                             "COT_ROUTES(COT_GET(\"/fx\", fx),)\n";
	h_write_app_file(app, "handlers/fx.c", fx_src);
	T_CHECK("replay: GET /fx answers", h_wait_for(fx_answers, NULL, H_DEADLINE_MS));
	char fx2[sizeof(fx_src) + 8];
	snprintf(fx2, sizeof(fx2), "%s", fx_src);
	memcpy(strstr(fx2, "VERSION"), "VERSIOM", 7);
	h_write_app_file(app, "handlers/fx.c", fx2);
	w = (want_replay){"GET", "/fx", NULL};
	T_CHECK("replay: a handler that calls fopen() is not replayed, and the entry says why",
	        h_wait_for(replayed, &w, H_DEADLINE_MS) &&
	                strstr(jstr(w.found, "skipped"), "fopen()"));
	json_decref(w.found);
}

/* ==== the database ===================================================== */

static json_t *
find_table(json_t *db, const char *name)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(db, "tables"), i,
	                   t) if (strcmp(jstr(t, "name"), name) == 0) return t;
	return NULL;
}

static bool
plan_holds_drop(void *arg)
{
	json_t **out = arg;
	json_t *db = get_json("/_cot/api/db"), *s;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(db, "plan"), "steps"), i,
	                   s) if (json_is_true(json_object_get(s, "destructive")) &&
	                          strstr(jstr(s, "loses"), "of column notes.body"))
	{
		*out = db;
		return true;
	}
	json_decref(db);
	return false;
}

static void
test_db(void)
{
	json_t *db = get_json("/_cot/api/db");
	json_t *notes = find_table(db, "notes");
	long long rows = json_integer_value(json_object_get(notes, "rows"));
	T_CHECK("db: tables with columns and row counts",
	        notes && rows > 0 && json_array_size(json_object_get(notes, "columns")) == 4 &&
	                strstr(jstr(db, "schema_live"), "CREATE TABLE notes"));
	json_decref(db);
	json_t *page = get_json("/_cot/api/db/notes?offset=0&limit=2");
	T_CHECK("db: rows paged (limit 2, total counted)",
	        page && json_array_size(json_object_get(page, "rows")) == 2 &&
	                json_integer_value(json_object_get(page, "total")) == rows);
	json_decref(page);
	h_resp r;
	T_CHECK("db: a write is refused (405)",
	        req("POST", "/_cot/api/db/notes", json_body, "{}", &r) == 405);
	h_resp_free(&r);
	T_CHECK("db: a table that does not exist is 404, not SQL",
	        req("GET", "/_cot/api/db/notes%22%3B%20DROP%20TABLE%20notes", NULL, NULL, &r) ==
	                404);
	h_resp_free(&r);
	db = get_json("/_cot/api/db");
	T_CHECK("db: nothing changed",
	        db && json_integer_value(json_object_get(find_table(db, "notes"), "rows")) == rows);
	json_decref(db);

	/* a held drop, applied from the console */
	char path[4200];
	h_write_app_file(app, "schema.sql",
	                 "CREATE TABLE notes (\n  id INTEGER PRIMARY KEY,\n  title TEXT NOT NULL,\n"
	                 "  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n");
	(void)path;
	db = NULL;
	T_CHECK("db: the dropped column is held, naming the values it loses",
	        h_wait_for(plan_holds_drop, &db, H_DEADLINE_MS));
	const char *plan = jstr(json_object_get(db, "plan"), "id");
	char url[256];
	snprintf(url, sizeof(url), "/_cot/api/db/apply?plan=%s", plan);
	T_CHECK("db: apply without the console's header is refused",
	        req("POST", url, NULL, "", &r) == 403);
	h_resp_free(&r);
	static const char *const console_hdr[] = {"X-Cot-Console: 1", NULL};
	T_CHECK("db: apply of another plan is refused (409)",
	        req("POST", "/_cot/api/db/apply?plan=0123456789abcdef", console_hdr, "", &r) ==
	                409);
	h_resp_free(&r);
	T_CHECK("db: apply runs cotdev migrate --apply --allow-destructive",
	        req("POST", url, console_hdr, "", &r) == 200 && strstr(r.body, "applied 1 step"));
	h_resp_free(&r);
	json_decref(db);
	db = get_json("/_cot/api/db");
	notes = find_table(db, "notes");
	T_CHECK("db: the column is gone, the rows stay",
	        json_array_size(json_object_get(notes, "columns")) == 3 &&
	                json_integer_value(json_object_get(notes, "rows")) == rows &&
	                strcmp(jstr(json_object_get(db, "plan"), "summary"), "no changes") == 0);
	json_decref(db);
}

/* ==== who may see it =================================================== */

static void
test_security(void)
{
	h_resp r;
	static const char *const evil[] = {"Host: evil.example:80", NULL};
	/* the dev server's Host allow-list (runtime/hostallow.c) refuses a
	 * foreign name before anything under /_cot/ sees it */
	T_CHECK("security: a non-loopback Host is refused (DNS rebinding)",
	        req("GET", "/_cot/api/requests", evil, NULL, &r) == 421);
	h_resp_free(&r);
	T_CHECK("security: ... and so is every other path under that name",
	        req("GET", "/_cot/live.js", evil, NULL, &r) == 421);
	h_resp_free(&r);
}

/* `cotdev run --host H` for any H but 127.0.0.1 (0.0.0.0 in real use;
 * tests bind loopback only): the console wants the printed token. */
static void
test_token(void)
{
	h_target t = target;
	static const char *const flags[] = {"--port",         "0", "--quiet", "--host", "127.0.0.2",
	                                    "--no-inspector", NULL};
	h_target_flags(&t, flags);
	h_server s2;
	char err[512];
	setenv("COT_EDITOR", "idea", 1); /* this server's links: idea:// */
	if (h_server_start(&t, app, &s2, err, sizeof(err)) != 0) {
		printf("not ok token: server starts: %s\n", err);
		return;
	}
	snprintf(s2.base, sizeof(s2.base), "http://127.0.0.2:%d", s2.port);
	h_server_wait_output(&s2, 0, "token=", H_DEADLINE_MS);
	size_t len;
	char *out = h_server_output(&s2, &len), token[64] = "";
	const char *at = out ? strstr(out, "token=") : NULL;
	if (at != NULL)
		sscanf(at + 6, "%63[0-9a-f]", token);
	h_client *c2 = h_client_new();
	h_resp r;
	T_CHECK("token: printed at start", strlen(token) == 32);
	T_CHECK("token: without it the console is refused",
	        h_request(c2, &s2, "GET", "/_cot/api/routes", NULL, NULL, &r) == 403);
	h_resp_free(&r);
	T_CHECK("token: a wrong one is refused",
	        h_request(c2, &s2, "GET", "/_cot/api/routes?token=00000000000000000000000000000000",
	                  NULL, NULL, &r) == 403);
	h_resp_free(&r);
	char url[128];
	snprintf(url, sizeof(url), "/_cot/routes?token=%s", token);
	char *cookie = NULL;
	T_CHECK("token: with it the page answers and sets an HttpOnly cookie",
	        h_request(c2, &s2, "GET", url, accept_html, NULL, &r) == 200 &&
	                (cookie = h_resp_header(&r, "Set-Cookie")) && strstr(cookie, "HttpOnly"));
	h_resp_free(&r);
	char hdr[160];
	snprintf(hdr, sizeof(hdr), "Cookie: cot_console=%s", token);
	const char *const with_cookie[] = {hdr, NULL};
	T_CHECK("token: ... and the cookie opens the API",
	        h_request(c2, &s2, "GET", "/_cot/api/routes", with_cookie, NULL, &r) == 200);
	h_resp_free(&r);
	json_t *ed = NULL;
	if (h_request(c2, &s2, "GET", "/_cot/api/editor?file=handlers/hello.c&line=3", with_cookie,
	              NULL, &r) == 200)
		ed = json_loads(r.body, 0, NULL);
	const char *href = json_string_value(json_object_get(ed, "href"));
	T_CHECK("editor: COT_EDITOR=idea links idea://open?file=ABS&line=N",
	        href && strncmp(href, "idea://open?file=/", 18) == 0 &&
	                strstr(href, "/handlers/hello.c&line=3"));
	json_decref(ed);
	h_resp_free(&r);
	static const char *const with_both[] = {"X-Cot-Console: 1", NULL, NULL};
	T_CHECK("editor: /_cot/api/open runs nothing without the console's header",
	        h_request(c2, &s2, "POST", "/_cot/api/open?file=handlers/hello.c&line=1",
	                  with_cookie, "", &r) == 405);
	h_resp_free(&r);
	const char *both[] = {with_both[0], hdr, NULL};
	T_CHECK("editor: ... nor for an editor that opens from its own link (409)",
	        h_request(c2, &s2, "POST", "/_cot/api/open?file=handlers/hello.c&line=1", both, "",
	                  &r) == 409);
	h_resp_free(&r);
	T_CHECK("token: --no-inspector records nothing",
	        h_request(c2, &s2, "GET", "/hello/x", NULL, NULL, &r) == 200);
	h_resp_free(&r);
	json_t *j = NULL;
	if (h_request(c2, &s2, "GET", "/_cot/api/requests", with_cookie, NULL, &r) == 200)
		j = json_loads(r.body, 0, NULL);
	T_CHECK("token: ... (recording false, no entries)",
	        j && json_is_false(json_object_get(j, "recording")) &&
	                json_array_size(json_object_get(j, "entries")) == 0);
	json_decref(j);
	h_resp_free(&r);
	free(cookie);
	free(out);
	h_client_free(c2);
	T_CHECK("token: server exits cleanly", h_server_stop(&s2) == 0);
}

/* ==== the export ======================================================= */

static void
test_export(void)
{
	static const char *const paths[] = {"/_cot/",
	                                    "/_cot/routes",
	                                    "/_cot/requests",
	                                    "/_cot/db",
	                                    "/_cot/api/routes",
	                                    "/_cot/api/requests",
	                                    "/_cot/api/db",
	                                    "/_cot/console.js",
	                                    "/_cot/live.js",
	                                    "/_cot/events",
	                                    NULL};
	bool none = true;
	for (int i = 0; paths[i]; i++) {
		h_resp r;
		long s = req("GET", paths[i], accept_html, NULL, &r);
		if (s != 404) {
			printf("# export answers %s with %ld\n", paths[i], s);
			none = false;
		}
		h_resp_free(&r);
	}
	T_CHECK("export: none of /_cot/ answers (all 404)", none);
	h_resp r;
	T_CHECK("export: its 404 suggests nothing",
	        req("GET", "/hello", accept_json, NULL, &r) == 404 &&
	                strstr(r.body, "suggestions") == NULL);
	h_resp_free(&r);
	T_CHECK("export: the API POST on /_cot/ is 404 too",
	        req("POST", "/_cot/api/db/apply", NULL, "", &r) == 404);
	h_resp_free(&r);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_console COTDEV | export:COTDEV\n");
		return 2;
	}
	target = h_target_dev(argv[1]);
	char err[512];
	T_CHECK("scaffold", h_scaffold(&target, app, sizeof(app)) == 0);
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok server starts: %s\n", err);
		return 1;
	}
	cl = h_client_new();
	if (!target.reloads) {
		test_export();
	} else {
		test_routes();
		test_not_found();
		test_inspector();
		test_replay();
		test_db();
		test_security();
	}
	h_client_free(cl);
	h_thread_done();
	T_CHECK("server exits cleanly", h_server_stop(&srv) == 0);
	if (target.reloads)
		test_token();
	h_rmtree(app);
	return T_DONE();
}
