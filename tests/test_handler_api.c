/*
 * test_handler_api.c -- the small parts of the handler API over real HTTP:
 * cot_query_int (400 on a malformed or out-of-range value), cot_no_content,
 * cot_vfail / cot_vsprintf from an app helper, one Content-Type when a
 * handler or an after hook sets it; and the command line around them:
 * `cotdev run --db PATH`, the .gitignore of `cotdev new`, `cotdev check`
 * printing only problems and a summary.
 *
 * usage: test_handler_api COTDEV | export:COTDEV
 * The command-line checks run only against the dev server (the export has
 * no `new`/`check`, and its --db is tested by the harness itself); they
 * print a "# skipped" line on the export.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];

static const char api_src[] =
        "#include <cot.h>\n"
        "#include <stdarg.h>\n"
        "\n"
        "/* an app helper that takes a format, as apps write them */\n"
        "static cot_result\n"
        "deny(cot_ctx *c, const char *fmt, ...)\n"
        "{\n"
        "\tva_list ap;\n"
        "\tva_start(ap, fmt);\n"
        "\tcot_result r = cot_vfail(c, 403, fmt, ap);\n"
        "\tva_end(ap);\n"
        "\treturn r;\n"
        "}\n"
        "\n"
        "static const char *\n"
        "label(cot_ctx *c, const char *fmt, ...)\n"
        "{\n"
        "\tva_list ap;\n"
        "\tva_start(ap, fmt);\n"
        "\tchar *s = cot_vsprintf(c, fmt, ap);\n"
        "\tva_end(ap);\n"
        "\treturn s;\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "page(cot_ctx *c)\n"
        "{\n"
        "\tlong long p = cot_query_int(c, \"page\", 1, 1, 100);\n"
        "\tlong long off = cot_query_int(c, \"offset\", -5, -10, 10);\n"
        "\treturn cot_text(c, 200, \"page %lld offset %lld\\n\", p, off);\n"
        "}\n"
        "\n"
        "static cot_result nothing(cot_ctx *c) { return cot_no_content(c); }\n"
        "\n"
        "static cot_result\n"
        "denied(cot_ctx *c)\n"
        "{\n"
        "\treturn deny(c, \"no access to %s (level %d)\", cot_param(c, \"what\"), 7);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "labelled(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"%s\\n\", label(c, \"%s-%d\", cot_param(c, \"x\"), 42));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "typed(cot_ctx *c)\n"
        "{\n"
        "\tcot_set_header(c, \"Content-Type\", \"application/vnd.test+json\");\n"
        "\treturn cot_json(c, 200, \"{s:i}\", \"a\", 1);\n"
        "}\n"
        "\n"
        "static cot_result retyped(cot_ctx *c) { return cot_text(c, 200, \"a,b\\n\"); }\n"
        "\n"
        "static cot_result\n"
        "item(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"item %lld\\n\", cot_param_int(c, \"id\"));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "echo(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"%d\\n\", cot_body_json(c) != NULL);\n"
        "}\n"
        "\n"
        "/* a UNIQUE violation nobody handles: 409 */\n"
        "static cot_result\n"
        "user_plain(cot_ctx *c)\n"
        "{\n"
        "\tcot_db_exec(c, \"INSERT INTO users (email) VALUES (?)\", cot_query(c, \"email\"));\n"
        "\treturn cot_text(c, 201, \"stored\\n\");\n"
        "}\n"
        "\n"
        "/* the handler checks the result and answers its own 422 */\n"
        "static cot_result\n"
        "user_checked(cot_ctx *c)\n"
        "{\n"
        "\tif (cot_db_exec(c, \"INSERT INTO users (email) VALUES (?)\", cot_query(c, \"email\")) < "
        "0)\n"
        "\t\treturn cot_fail_fields(c, \"email\", \"is taken\", \"email\", \"try another\", "
        "NULL);\n"
        "\treturn cot_text(c, 201, \"stored\\n\");\n"
        "}\n"
        "\n"
        "/* the handler takes the failure over and answers 200 */\n"
        "static cot_result\n"
        "user_caught(cot_ctx *c)\n"
        "{\n"
        "\tif (cot_db_exec(c, \"INSERT INTO users (email) VALUES (?)\", cot_query(c, \"email\")) < "
        "0) {\n"
        "\t\tconst cot_error *e = cot_db_catch(c);\n"
        "\t\tcot_row *u = cot_db_one(c, \"SELECT id FROM users WHERE email = ?\", cot_query(c, "
        "\"email\"));\n"
        "\t\treturn cot_text(c, 200, \"exists %lld (%d %s)\\n\", cot_row_int(u, \"id\"), "
        "e->status, e->code);\n"
        "\t}\n"
        "\treturn cot_text(c, 201, \"stored\\n\");\n"
        "}\n"
        "\n"
        "/* a success after an unhandled query error still answers the error */\n"
        "static cot_result\n"
        "bad_sql(cot_ctx *c)\n"
        "{\n"
        /* the cast keeps the reload's SQL check (which refuses a wrong count
         * of values) from seeing the literal: this is about run time */
        "\tcot_row *r = cot_db_one(c, (const char *)\"SELECT id FROM users WHERE id = ?\", \"x\", "
        "2);\n"
        "\tif (r == NULL)\n"
        "\t\treturn cot_fail(c, 404, \"no such user\");\n"
        "\treturn cot_text(c, 200, \"found\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "fields(cot_ctx *c)\n"
        "{\n"
        "\tcot_field_error(c, \"title\", \"is required\");\n"
        "\tcot_field_error(c, \"title\", \"must be under %d characters\", 200);\n"
        "\tif (cot_query(c, \"forget\") != NULL)\n"
        "\t\treturn cot_text(c, 200, \"forgot to check %d\\n\", cot_field_errors(c));\n"
        "\treturn cot_fail_fields(c, \"body\", \"must be text\", NULL);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "crash(cot_ctx *c)\n"
        "{\n"
        "\tvolatile int *p = 0;\n"
        "\treturn cot_text(c, 200, \"%d\\n\", *p);\n"
        "}\n"
        "\n"
        "static cot_result teapot(cot_ctx *c) { return cot_fail(c, 418, \"short and stout\"); }\n"
        "\n"
        "/* the JSON writer and body readers as compiled by tcc (dev) and gcc (export) */\n"
        "static cot_result\n"
        "order(cot_ctx *c)\n"
        "{\n"
        "\tconst char *who = cot_body_str(c, \"customer.name\");\n"
        "\tint n = cot_body_count(c, \"items\");\n"
        "\tlong long total = 0;\n"
        "\tfor (int i = 0; i < n; i++)\n"
        "\t\ttotal += cot_body_int(c, cot_sprintf(c, \"items[%d].qty\", i));\n"
        "\t_Bool rush = cot_body_bool_or(c, \"rush\", 0);\n"
        "\tif (cot_field_errors(c) > 0)\n"
        "\t\treturn cot_fail_fields(c, NULL);\n"
        "\tcot_jw *j = cot_jw_new(c);\n"
        "\tcot_jw_obj(j);\n"
        "\tcot_jw_put(j, \"customer\", who);\n"
        "\tcot_jw_put(j, \"total\", total);\n"
        "\tcot_jw_put(j, \"rush\", rush);\n"
        "\tcot_jw_put(j, \"big\", cot_jbool(total > 10));\n"
        "\tcot_jw_put(j, \"half\", total / 2.0);\n"
        "\tcot_jw_put(j, \"unsigned\", (unsigned)n);\n"
        "\tcot_jw_put(j, \"none\", cot_jnull());\n"
        "\tcot_jw_bools(j, \"flag\", NULL);\n"
        "\tcot_jw_raws(j, \"tags\", NULL);\n"
        "\tcot_jw_put(j, \"row\", cot_db_one(c, \"SELECT 1 AS flag, NULL AS gone, \"\n"
        "\t           \"json_array('a', 'b') AS tags\"));\n"
        "\tcot_jw_end(j);\n"
        "\treturn cot_jw_send(c, 201, j);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/item/:id\", item),\n"
        "\tCOT_POST(\"/echo\", echo),\n"
        "\tCOT_POST(\"/user/plain\", user_plain),\n"
        "\tCOT_POST(\"/user/checked\", user_checked),\n"
        "\tCOT_POST(\"/user/caught\", user_caught),\n"
        "\tCOT_GET(\"/badsql\", bad_sql),\n"
        "\tCOT_GET(\"/fields\", fields),\n"
        "\tCOT_GET(\"/crash\", crash),\n"
        "\tCOT_GET(\"/teapot\", teapot),\n"
        "\tCOT_POST(\"/order\", order),\n"
        "\tCOT_GET(\"/page\", page),\n"
        "\tCOT_DELETE(\"/nothing\", nothing),\n"
        "\tCOT_GET(\"/denied/:what\", denied),\n"
        "\tCOT_GET(\"/label/:x\", labelled),\n"
        "\tCOT_GET(\"/typed\", typed),\n"
        "\tCOT_GET(\"/retyped\", retyped),\n"
        ")\n";

/* An after hook that sets the type of one path's answer. */
static const char mw_src[] =
        "#include <cot.h>\n"
        "#include <string.h>\n"
        "\n"
        "static cot_result\n"
        "csv(cot_ctx *c)\n"
        "{\n"
        "\tif (strcmp(cot_path(c), \"/retyped\") == 0)\n"
        "\t\tcot_set_header(c, \"Content-Type\", \"text/csv; charset=utf-8\");\n"
        "\treturn cot_next(c);\n"
        "}\n"
        "\n"
        "COT_MIDDLEWARE(NULL, csv)\n";

/*
 * The app's error hook: requests with X-Shape get every error as one text
 * line the checks read: "shaped STATUS CODE [MESSAGE] {FIELDS} id=ID".
 */
static const char errors_src[] =
        "#include <cot.h>\n"
        "\n"
        "static cot_result\n"
        "shape(cot_ctx *c, const cot_error *e)\n"
        "{\n"
        "\tif (cot_header(c, \"X-Shape\") == NULL)\n"
        "\t\treturn cot_next(c);\n"
        "\tchar *f = cot_sprintf(c, \"%s\", \"\");\n"
        "\tfor (int i = 0; i < e->nfields; i++)\n"
        "\t\tf = cot_sprintf(c, \"%s%s=%s;\", f, e->fields[i].field, e->fields[i].message);\n"
        "\tcot_set_header(c, \"X-Shaped\", \"yes\");\n"
        "\treturn cot_text(c, e->status, \"shaped %d %s [%s] {%s} id=%s\\n\", e->status, e->code,\n"
        "\t                e->message ? e->message : \"(none)\", f, e->request_id);\n"
        "}\n"
        "\n"
        "COT_ERRORS(shape)\n";

static const char schema_sql[] = "CREATE TABLE notes (\n"
                                 "  id INTEGER PRIMARY KEY,\n"
                                 "  title TEXT NOT NULL,\n"
                                 "  body TEXT NOT NULL DEFAULT '',\n"
                                 "  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
                                 ");\n"
                                 "CREATE TABLE users (\n"
                                 "  id INTEGER PRIMARY KEY,\n"
                                 "  email TEXT NOT NULL UNIQUE\n"
                                 ");\n";

static bool
dev_only(const char *what)
{
	if (target.reloads)
		return true;
	printf("# skipped on the export: %s (a cotdev command)\n", what);
	return false;
}

static long
get(const char *path, h_resp *r)
{
	return h_get(&srv, path, r);
}

/* How many header lines `name:` the answer has. */
static int
header_count(const h_resp *r, const char *name)
{
	int n = 0;
	size_t len = strlen(name);
	for (const char *p = r->headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		if (strncasecmp(p, name, len) == 0 && p[len] == ':')
			n++;
	return n;
}

static void
test_query_int(void)
{
	h_resp r;
	T_CHECK("cot_query_int: absent gives the default",
	        get("/page", &r) == 200 && strcmp(r.body, "page 1 offset -5\n") == 0);
	h_resp_free(&r);
	T_CHECK("cot_query_int: a number in range",
	        get("/page?page=7&offset=-10", &r) == 200 &&
	                strcmp(r.body, "page 7 offset -10\n") == 0);
	h_resp_free(&r);
	T_CHECK("cot_query_int: empty gives the default",
	        get("/page?page=", &r) == 200 && strcmp(r.body, "page 1 offset -5\n") == 0);
	h_resp_free(&r);
	T_CHECK("cot_query_int: not a number -> 400 naming it",
	        get("/page?page=7x", &r) == 400 && strstr(r.body, "page=\"7x\" is not an integer"));
	h_resp_free(&r);
	T_CHECK("cot_query_int: over max -> 400 naming the range",
	        get("/page?page=101", &r) == 400 && strstr(r.body, "page=101 is out of range "
	                                                           "(1 to 100)"));
	h_resp_free(&r);
	T_CHECK("cot_query_int: under min -> 400",
	        get("/page?offset=-11", &r) == 400 && strstr(r.body, "offset"));
	h_resp_free(&r);
	T_CHECK("cot_query_int: overflow -> 400",
	        get("/page?page=99999999999999999999", &r) == 400);
	h_resp_free(&r);
	T_CHECK("cot_query_int: '+' or spaces are not numbers", get("/page?page=%207", &r) == 400);
	h_resp_free(&r);
}

static void
test_small(void)
{
	h_resp r;
	h_client *cl = h_client_new();
	T_CHECK("cot_no_content: 204",
	        h_request(cl, &srv, "DELETE", "/nothing", NULL, NULL, &r) == 204 &&
	                r.body_len == 0);
	T_CHECK("... without a Content-Type", header_count(&r, "Content-Type") == 0);
	h_resp_free(&r);
	h_client_free(cl);
	T_CHECK("cot_vfail from an app helper: status and formatted message",
	        get("/denied/files", &r) == 403 && strstr(r.body, "no access to files (level 7)"));
	h_resp_free(&r);
	T_CHECK("cot_vsprintf from an app helper",
	        get("/label/ab", &r) == 200 && strcmp(r.body, "ab-42\n") == 0);
	h_resp_free(&r);
	T_CHECK("Content-Type set by the handler replaces the default",
	        get("/typed", &r) == 200 && header_count(&r, "Content-Type") == 1);
	char *ct = h_resp_header(&r, "Content-Type");
	T_STREQ("... with the handler's type", ct, "application/vnd.test+json");
	free(ct);
	h_resp_free(&r);
	T_CHECK("Content-Type set by an after hook: one header",
	        get("/retyped", &r) == 200 && header_count(&r, "Content-Type") == 1);
	ct = h_resp_header(&r, "Content-Type");
	T_STREQ("... the hook's type", ct, "text/csv; charset=utf-8");
	free(ct);
	h_resp_free(&r);
}

/* ==== the error hook =================================================== */

static const char *const shape_hdr[] = {"X-Shape: 1", "X-Request-Id: req-42", NULL};

/* One request with X-Shape; true when the hook rendered `status` and the
 * line starts with "shaped STATUS CODE [" and holds `needle`. */
static bool shaped_quiet; /* polling: say nothing about a miss */

static bool
shaped(const char *method, const char *path, const char *body, long status, const char *code,
       const char *needle)
{
	static h_client *cl;
	if (cl == NULL)
		cl = h_client_new();
	const char *hdrs[5] = {shape_hdr[0], shape_hdr[1], NULL, NULL, NULL};
	if (body != NULL)
		hdrs[2] = "Content-Type: application/json";
	h_resp r;
	long got = h_request(cl, &srv, method, path, hdrs, body, &r);
	char want[128];
	snprintf(want, sizeof(want), "shaped %ld %s [", status, code);
	bool ok = got == status && r.body && strncmp(r.body, want, strlen(want)) == 0 &&
	          (needle == NULL || strstr(r.body, needle)) && strstr(r.body, "id=req-42\n");
	char *x = h_resp_header(&r, "X-Shaped"), *rid = h_resp_header(&r, "X-Request-Id");
	ok = ok && x != NULL && rid != NULL && strcmp(rid, "req-42") == 0;
	if (!ok && !shaped_quiet)
		printf("# %s %s -> %ld: %s", method, path, got, r.body ? r.body : r.err);
	free(x);
	free(rid);
	h_resp_free(&r);
	return ok;
}

static void
test_error_hook(void)
{
	T_CHECK("hook: malformed JSON body -> 400 malformed_body",
	        shaped("POST", "/echo", "{\"a\":", 400, "malformed_body", "malformed JSON"));
	T_CHECK("hook: no route -> 404 no_route",
	        shaped("GET", "/nope", NULL, 404, "no_route", "no route for GET /nope"));
	T_CHECK("hook: non-numeric :id -> 404 bad_parameter",
	        shaped("GET", "/item/abc", NULL, 404, "bad_parameter", "not a number"));
	T_CHECK("hook: wrong method -> 405 method_not_allowed",
	        shaped("DELETE", "/item/1", NULL, 405, "method_not_allowed", "allowed: GET"));
	T_CHECK("hook: malformed path -> 400 malformed_path",
	        shaped("GET", "/item/%zz", NULL, 400, "malformed_path", NULL));
	T_CHECK("hook: bad query number -> 400 bad_query",
	        shaped("GET", "/page?page=x", NULL, 400, "bad_query", "page=\"x\""));
	T_CHECK("hook: static file missing -> 404 not_found",
	        shaped("GET", "/static/none.css", NULL, 404, "not_found", NULL));
	T_CHECK("hook: cot_fail -> its status, code by status",
	        shaped("GET", "/teapot", NULL, 418, "error", "short and stout"));
	T_CHECK("hook: a crash -> 500 crash",
	        shaped("GET", "/crash", NULL, 500, "crash",
	               target.reloads ? "segmentation fault" : "[(none)]"));
	T_CHECK("hook: a body over --max-body -> 413 too_large",
	        shaped("POST", "/echo",
	               "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	               "\"]",
	               413, "too_large", "larger than the limit"));
	/* the database */
	h_resp r;
	static const char *const plain[] = {"X-Shape: 1", NULL};
	h_client *cl = h_client_new();
	T_CHECK("db: a success is not shaped",
	        h_request(cl, &srv, "POST", "/user/plain?email=b@x", plain, NULL, &r) == 201 &&
	                strcmp(r.body, "stored\n") == 0);
	h_resp_free(&r);
	T_CHECK("db: UNIQUE the handler ignores -> 409 unique_violation",
	        shaped("POST", "/user/plain?email=b@x", NULL, 409, "unique_violation", "UNIQUE"));
	T_CHECK("db: NOT NULL -> 422 constraint_violation",
	        shaped("POST", "/user/plain", NULL, 422, "constraint_violation", "NOT NULL"));
	T_CHECK("db: the handler that checks decides: its 422 with two messages for one field",
	        shaped("POST", "/user/checked?email=b@x", NULL, 422, "invalid",
	               "{email=is taken;email=try another;}"));
	T_CHECK("db: cot_db_catch: the handler's 200, and later queries run",
	        h_request(cl, &srv, "POST", "/user/caught?email=b@x", plain, NULL, &r) == 200 &&
	                strcmp(r.body, "exists 1 (409 unique_violation)\n") == 0);
	if (r.status != 200)
		printf("# %s", r.body);
	h_resp_free(&r);
	T_CHECK("db: a query error is not hidden by the handler's 404",
	        shaped("GET", "/badsql", NULL, 500, "database_error", "parameter"));
	/* field errors */
	T_CHECK("fields: several messages per field reach the hook",
	        shaped("GET", "/fields", NULL, 422, "invalid",
	               "{title=is required;title=must be under 200 characters;body=must be "
	               "text;}"));
	T_CHECK("fields: a handler that forgets to check still answers 422",
	        shaped("GET", "/fields?forget=1", NULL, 422, "invalid",
	               "{title=is required;title=must be under 200 characters;}"));
	static const char *const json[] = {"Accept: application/json", NULL};
	T_CHECK("fields: problem+json lists every message per field (no hook)",
	        h_request(cl, &srv, "GET", "/fields", json, NULL, &r) == 422 &&
	                strstr(r.body, "\"errors\": {") && strstr(r.body, "\"title\": [") &&
	                strstr(r.body, "\"is required\",") &&
	                strstr(r.body, "\"must be under 200 characters\"") &&
	                strstr(r.body, "\"code\": \"invalid\""));
	if (r.status != 422 || !strstr(r.body, "\"title\": ["))
		printf("# %s", r.body);
	h_resp_free(&r);
	T_CHECK("no hook: cot's own text error",
	        h_request(cl, &srv, "GET", "/nope", NULL, NULL, &r) == 404 &&
	                strstr(r.body, "404 Not Found: no route") == r.body);
	h_resp_free(&r);
	h_client_free(cl);
	if (target.reloads) {
		h_write_app_file(app, "handlers/zz_broken.c",
		                 "#include <cot.h>\n"
		                 "static cot_result f(cot_ctx *c) { return nope(c); }\n"
		                 "COT_ROUTES(COT_GET(\"/broken\", f),)\n");
		bool ok = false;
		shaped_quiet = true;
		for (double t0 = h_now_ms(); !ok && h_now_ms() - t0 < H_DEADLINE_MS;)
			ok = shaped("GET", "/broken", NULL, 500, "compile_error", "zz_broken.c:2");
		shaped_quiet = false;
		if (!ok)
			shaped("GET", "/broken", NULL, 500, "compile_error", "zz_broken.c:2");
		T_CHECK("hook: a compile error -> 500 compile_error", ok);
		char path[4300];
		unlink(h_path(path, sizeof(path), "%s/handlers/zz_broken.c", app));
	}
}

static void
test_writer(void)
{
	h_resp r;
	h_client *cl = h_client_new();
	static const char *const hdrs[] = {"Content-Type: application/json", NULL};
	T_CHECK("JSON writer in a handler: typed values, a row with bool/raw/NULL columns",
	        h_request(cl, &srv, "POST", "/order", hdrs,
	                  "{\"customer\":{\"name\":\"ann\"},"
	                  "\"items\":[{\"qty\":3},{\"qty\":9}],\"rush\":true}",
	                  &r) == 201 &&
	                strcmp(r.body,
	                       "{\"customer\":\"ann\",\"total\":12,\"rush\":true,\"big\":true,"
	                       "\"half\":6.0,\"unsigned\":2,\"none\":null,\"row\":{\"flag\":true,"
	                       "\"gone\":null,\"tags\":[\"a\",\"b\"]}}") == 0);
	if (r.status != 201 || strstr(r.body, "\"row\":{\"flag\":true") == NULL)
		printf("# %ld %s\n", r.status, r.body);
	char *ct = h_resp_header(&r, "Content-Type");
	T_STREQ("... as application/json", ct, "application/json");
	free(ct);
	h_resp_free(&r);
	static const char *const json[] = {"Content-Type: application/json",
	                                   "Accept: application/json", NULL};
	T_CHECK("body readers: 422 naming every bad path",
	        h_request(cl, &srv, "POST", "/order", json,
	                  "{\"customer\":{},"
	                  "\"items\":[{\"qty\":\"3\"},{}],\"rush\":1}",
	                  &r) == 422 &&
	                strstr(r.body, "\"customer.name\": [") &&
	                strstr(r.body, "\"items[0].qty\": [\n"
	                               "      \"must be an integer\"") &&
	                strstr(r.body, "\"items[1].qty\": [\n"
	                               "      \"is required\"") &&
	                strstr(r.body, "\"rush\": [\n      \"must be true or false\""));
	if (r.status != 422)
		printf("# %ld %s\n", r.status, r.body);
	h_resp_free(&r);
	T_CHECK("body readers: a body that is not JSON -> 400",
	        h_request(cl, &srv, "POST", "/order", json, "{\"customer\"", &r) == 400);
	h_resp_free(&r);
	h_client_free(cl);
}

/* A missing ';' is reported on its own line (not the next one), in the
 * answer as in the terminal. */
static void
test_error_line(void)
{
	if (!dev_only("compile error lines"))
		return;
	static const char semi[] = "#include <cot.h>\n"
	                           "\n"
	                           "static cot_result\n"
	                           "f(cot_ctx *c)\n"
	                           "{\n"
	                           "\tcot_db_begin(c)\n"
	                           "\treturn cot_text(c, 200, \"hi\\n\");\n"
	                           "}\n"
	                           "COT_ROUTES(COT_GET(\"/semi\", f),)\n";
	size_t mark = h_server_mark(&srv);
	h_write_app_file(app, "handlers/zz_semi.c", semi);
	h_resp r = {0};
	bool ok = false;
	for (double t0 = h_now_ms(); !ok && h_now_ms() - t0 < H_DEADLINE_MS;) {
		h_resp_free(&r);
		ok = get("/semi", &r) == 500 && strstr(r.body, "handlers/zz_semi.c:6:17: error: "
		                                               "';' expected") != NULL;
	}
	T_CHECK("missing ';' at the end of line 6: the answer says 6:17", ok);
	T_CHECK("... with line 6 under it",
	        r.body && strstr(r.body, "    6 | \tcot_db_begin(c)\n"));
	if (!ok)
		printf("# %s\n", r.body ? r.body : r.err);
	h_resp_free(&r);
	T_CHECK("... and so does the terminal",
	        h_server_wait_output(&srv, mark, "handlers/zz_semi.c:6:17: error:", H_DEADLINE_MS));
	char path[4300];
	unlink(h_path(path, sizeof(path), "%s/handlers/zz_semi.c", app));
}

/* ==== the command line ================================================= */

static bool
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void
test_db_flag(void)
{
	if (!dev_only("cotdev run --db"))
		return;
	char dir[] = "/tmp/cot-dbflag-XXXXXX", cwd[4096], path[4300];
	if (mkdtemp(dir) == NULL || getcwd(cwd, sizeof(cwd)) == NULL) {
		T_CHECK("temp dir for --db", false);
		return;
	}
	mkdir(h_path(path, sizeof(path), "%s/data", dir), 0755);
	/* a relative --db is relative to where cotdev starts, not to the app */
	h_target t = target;
	const char *flags[] = {"--port", "0", "--quiet", "--db", "data/my.db", NULL};
	h_target_flags(&t, flags);
	h_server s2;
	char err[512];
	bool started = chdir(dir) == 0 && h_server_start(&t, app, &s2, err, sizeof(err)) == 0;
	if (chdir(cwd) != 0)
		started = false;
	T_CHECK("cotdev run --db data/my.db starts", started);
	if (!started) {
		printf("# %s\n", err);
		return;
	}
	h_resp r;
	h_client *cl = h_client_new();
	static const char *const hdrs[] = {"Content-Type: application/json",
	                                   "Accept: application/json", NULL};
	T_CHECK("a write lands in the --db database",
	        h_request(cl, &s2, "POST", "/notes", hdrs, "{\"title\":\"elsewhere\"}", &r) == 201);
	h_resp_free(&r);
	T_CHECK("... created at the path given",
	        exists(h_path(path, sizeof(path), "%s/data/my.db", dir)));
	T_CHECK("... its -wal beside it",
	        exists(h_path(path, sizeof(path), "%s/data/my.db-wal", dir)));
	T_CHECK("... and no app.db in the app folder",
	        !exists(h_path(path, sizeof(path), "%s/app.db", app)) &&
	                !exists(h_path(path, sizeof(path), "%s/app.db-wal", app)));
	T_CHECK("... the schema was migrated there",
	        h_request(cl, &s2, "GET", "/notes", hdrs, NULL, &r) == 200 &&
	                strstr(r.body, "\"title\":\"elsewhere\""));
	h_resp_free(&r);
	h_client_free(cl);
	T_CHECK("... and the server stops cleanly", h_server_stop(&s2) == 0);
	h_rmtree(dir);
}

static void
test_gitignore(void)
{
	if (!dev_only("cotdev new .gitignore"))
		return;
	char path[4300];
	h_path(path, sizeof(path), "%s/.gitignore", app);
	T_CHECK("cotdev new writes a .gitignore", exists(path));
	/* ask git itself what the file ignores (h_run_cmd does not search PATH) */
	const char *git = access("/usr/bin/git", X_OK) == 0 ? "/usr/bin/git" : "/bin/git";
	const char *init[] = {git, "-C", app, "init", "-q", NULL};
	h_cmd_result r;
	h_run_cmd(init, H_DEADLINE_MS, &r);
	bool ok = r.exit_code == 0;
	h_cmd_result_free(&r);
	const char *ignored[] = {git,
	                         "-C",
	                         app,
	                         "check-ignore",
	                         "app.db",
	                         "app.db-wal",
	                         "app.db-shm",
	                         ".env",
	                         "secrets/key.txt",
	                         "build/app",
	                         ".cot-export-bin",
	                         NULL};
	h_run_cmd(ignored, H_DEADLINE_MS, &r);
	ok = ok && r.exit_code == 0 && strstr(r.out, "app.db-wal") && strstr(r.out, ".env") &&
	     strstr(r.out, "secrets/key.txt") && strstr(r.out, "build/app") &&
	     strstr(r.out, ".cot-export-bin");
	T_CHECK("git ignores the database, its -wal/-shm, secrets and build output", ok);
	if (!ok)
		printf("# git check-ignore (%d): %s%s\n", r.exit_code, r.out, r.err);
	h_cmd_result_free(&r);
	const char *kept[] = {git,
	                      "-C",
	                      app,
	                      "check-ignore",
	                      "handlers/notes.c",
	                      "schema.sql",
	                      "templates/layout.html",
	                      NULL};
	h_run_cmd(kept, H_DEADLINE_MS, &r);
	T_CHECK("... but not the app's code, schema or templates", r.exit_code == 1);
	h_cmd_result_free(&r);
}

static void
test_check(void)
{
	if (!dev_only("cotdev check output"))
		return;
	const char *check[] = {target.cotdev, "check", app, NULL};
	h_cmd_result r;
	h_run_cmd(check, H_DEADLINE_MS, &r);
	T_CHECK("cotdev check: exit 0 when all compile", r.exit_code == 0);
	T_CHECK("... no line per compiled file", strstr(r.out, "reloaded") == NULL);
	T_CHECK("... one summary line", strstr(r.out, "all compiled\n") != NULL &&
	                                        strchr(r.out, '\n') == strrchr(r.out, '\n'));
	if (r.exit_code != 0 || strstr(r.out, "reloaded"))
		printf("# %s%s", r.out, r.err);
	h_cmd_result_free(&r);
	h_write_app_file(app, "handlers/zz_broken.c",
	                 "#include <cot.h>\nstatic cot_result f(cot_ctx *c) { return nope(c); }\n"
	                 "COT_ROUTES(COT_GET(\"/broken\", f),)\n");
	h_run_cmd(check, H_DEADLINE_MS, &r);
	T_CHECK("cotdev check: exit 1 when one fails", r.exit_code == 1);
	T_CHECK("... prints the error", strstr(r.out, "handlers/zz_broken.c:2:") != NULL);
	T_CHECK("... and a summary naming the count", strstr(r.out, ": 1 failed\n") != NULL);
	T_CHECK("... and nothing about the files that compiled",
	        strstr(r.out, "reloaded") == NULL && strstr(r.out, "notes.c") == NULL);
	if (r.exit_code != 1)
		printf("# %s%s", r.out, r.err);
	h_cmd_result_free(&r);
	char path[4300];
	unlink(h_path(path, sizeof(path), "%s/handlers/zz_broken.c", app));
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	static char cotdev[4096];
	target = h_target_dev(argv[1]);
	if (realpath(target.cotdev, cotdev) == NULL) {
		printf("not ok %s: %s\n", target.cotdev, strerror(errno));
		return 1;
	}
	target.cotdev = cotdev;
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("scaffold an app", false);
		return T_DONE();
	}
	test_gitignore();
	test_db_flag(); /* before the main server: app.db must not exist yet */
	T_CHECK("write the app",
	        h_write_app_file(app, "handlers/api.c", api_src) == 0 &&
	                h_write_app_file(app, "handlers/zz_mw.c", mw_src) == 0 &&
	                h_write_app_file(app, "handlers/errors.c", errors_src) == 0 &&
	                h_write_app_file(app, "schema.sql", schema_sql) == 0);
	static const char *const flags[] = {"--port", "0", "--quiet", "--max-body", "512", NULL};
	h_target_flags(&target, flags);
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start %s: %s\n", argv[1], err);
		h_rmtree(app);
		return 1;
	}
	test_query_int();
	test_small();
	test_error_hook();
	test_writer();
	test_error_line();
	h_thread_done();
	T_CHECK("server exits 0 at SIGTERM", h_server_stop(&srv) == 0);
	test_check();
	h_rmtree(app);
	return T_DONE();
}
