/*
 * test_pipeline.c -- every failure travels one road: each error status the
 * server can answer, asked for over HTTP, must carry what a success carries
 * (X-Request-Id, the security headers, the app's after-middleware header, an
 * access-log line) and be rendered by what the client accepts.
 *
 * usage: test_pipeline COTDEV          (cotdev run)
 *        test_pipeline export:COTDEV   (the binary `cotdev export` builds)
 *
 * Both targets share the runtime, so both must pass the same checks. Two
 * differences are by design: only the dev server compiles a saved handler
 * (on the export that check prints a "# skipped on the export" line saying
 * why, never an "ok"), and only the dev server puts a crash's trace in the
 * answer (the export's client must get none; both print it on stdout).
 *
 * The servers run from the app directory, as `cotdev run` always does, so a
 * relative cot_file path means the same file on both targets.
 *
 * The app has two middleware files, handlers/00_a.c and handlers/10_b.c.
 * Every hook stamps a header with CLOCK_MONOTONIC nanoseconds, so the order
 * the hooks ran in is read from the answer without relying on the order
 * headers are sent in.
 *
 * The main server runs without --quiet, so every answer's log line can be
 * found on its stdout by request id; a second, --quiet server shows none
 * (started the same way: on the export, a second export of the same app).
 * Requests a libcurl URL buffer cannot hold (414) and HEAD (to see the bytes
 * after the headers) go over a raw socket.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "raw.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];

/*
 * True on the dev server. On the export, prints why `what` is skipped and
 * returns false: a skipped check must show in the output, not pass.
 */
static bool
dev_only(const char *what, const char *why)
{
	if (target.reloads)
		return true;
	printf("# skipped on the export: %s: %s\n", what, why);
	fflush(stdout);
	return false;
}

/* ==== the app ========================================================== */

#define STAMP_FN                                                                                   \
	"static void\n"                                                                            \
	"stamp(cot_ctx *c, const char *name)\n"                                                    \
	"{\n"                                                                                      \
	"\tstruct timespec t;\n"                                                                   \
	"\tclock_gettime(CLOCK_MONOTONIC, &t);\n"                                                  \
	"\tcot_set_header(c, name, cot_sprintf(c, \"%lld\",\n"                                     \
	"\t               (long long)t.tv_sec * 1000000000LL + t.tv_nsec));\n"                     \
	"}\n\n"

static const char mw_a_src[] =
        "#include <cot.h>\n#include <string.h>\n#include <time.h>\n\n" STAMP_FN
        "static cot_result\n"
        "before_a(cot_ctx *c)\n"
        "{\n"
        "\tstamp(c, \"X-A-Before\");\n"
        "\tif (strcmp(cot_path(c), \"/blocked\") == 0)\n"
        "\t\treturn cot_text(c, 403, \"blocked by a\\n\");\n"
        "\treturn cot_next(c);\n"
        "}\n\n"
        "static cot_result\n"
        "after_a(cot_ctx *c)\n"
        "{\n"
        "\tstamp(c, \"X-A-After\");\n"
        "\treturn cot_next(c);\n"
        "}\n\n"
        "COT_MIDDLEWARE(before_a, after_a)\n";

static const char mw_b_src[] =
        "#include <cot.h>\n#include <time.h>\n\n" STAMP_FN "static cot_result\n"
        "before_b(cot_ctx *c)\n"
        "{\n"
        "\tstamp(c, \"X-B-Before\");\n"
        "\treturn cot_next(c);\n"
        "}\n\n"
        "static cot_result\n"
        "after_b(cot_ctx *c)\n"
        "{\n"
        "\tstamp(c, \"X-B-After\");\n"
        "\treturn cot_next(c);\n"
        "}\n\n"
        "COT_MIDDLEWARE(before_b, after_b)\n";

static const char app_src[] =
        "#include <cot.h>\n#include <time.h>\n\n" STAMP_FN "static volatile unsigned long spin;\n\n"
        "static cot_result\n"
        "hello(cot_ctx *c)\n"
        "{\n"
        "\tstamp(c, \"X-Handler\");\n"
        "\treturn cot_text(c, 200, \"Hello, %s!\\n\", cot_param(c, \"name\"));\n"
        "}\n\n"
        "static cot_result\n"
        "echo(cot_ctx *c)\n"
        "{\n"
        "\tsize_t n;\n"
        "\tcot_body(c, &n);\n"
        "\treturn cot_text(c, 200, \"%zu bytes\\n\", n);\n"
        "}\n\n"
        "static cot_result\n"
        "fail(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_fail(c, 500, \"the widget store is down\");\n"
        "}\n\n"
        "static cot_result\n"
        "crash(cot_ctx *c)\n"
        "{\n"
        "\tvolatile int *p = (volatile int *)0;\n"
        "\t*p = 1;\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n\n"
        "static cot_result\n"
        "stuck(cot_ctx *c)\n"
        "{\n"
        "\tfor (;;) spin++;\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n\n"
        "static cot_result\n"
        "file(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_file(c, 200, cot_param(c, \"name\"), NULL);\n"
        "}\n\n"
        "static cot_result\n"
        "page(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_html(c, 200, \"<p>a page</p>\\n\");\n"
        "}\n\n"
        "static cot_result\n"
        "app_css(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_file(c, 200, \"static/app.css\", NULL);\n"
        "}\n\n"
        "static cot_result\n"
        "blocked(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"the handler ran\\n\");\n"
        "}\n\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/greet/:name\", hello),\n"
        "\tCOT_POST(\"/echo\", echo),\n"
        "\tCOT_GET(\"/fail\", fail),\n"
        "\tCOT_GET(\"/crash\", crash),\n"
        "\tCOT_GET(\"/stuck\", stuck),\n"
        "\tCOT_GET(\"/blocked\", blocked),\n"
        "\tCOT_GET(\"/file/:name\", file),\n"
        "\tCOT_GET(\"/app-css\", app_css),\n"
        "\tCOT_GET(\"/page\", page),\n"
        ")\n";

static const char edit_good[] = "#include <cot.h>\n\n"
                                "static cot_result\n"
                                "edit(cot_ctx *c)\n"
                                "{\n"
                                "\treturn cot_text(c, 200, \"edit ok\\n\");\n"
                                "}\n\n"
                                "COT_ROUTES(\n"
                                "\tCOT_GET(\"/edit\", edit),\n"
                                ")\n";

/* Line 6 lacks its semicolon: tcc notices it at line 7, cot reports line 6
 * (where gcc puts it: devserver/errline.c). */
static const char edit_broken[] = "#include <cot.h>\n\n"
                                  "static cot_result\n"
                                  "edit(cot_ctx *c)\n"
                                  "{\n"
                                  "\tint x = 1\n"
                                  "\treturn cot_text(c, 200, \"edit %d\\n\", x);\n"
                                  "}\n\n"
                                  "COT_ROUTES(\n"
                                  "\tCOT_GET(\"/edit\", edit),\n"
                                  ")\n";

static const char page_404[] =
        "<!doctype html>\n<html><body><h1>Lost? (app 404 page)</h1></body></html>\n";

static const char *const BROWSER = "Accept: text/html,application/xhtml+xml,"
                                   "application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

/* ==== raw HTTP ========================================================= */

/*
 * Sends `req` (a whole request, Connection: close) and reads the answer to
 * EOF into an h_resp: status, header block and the bytes after it.
 */
static long
raw_request(const char *req, h_resp *r)
{
	memset(r, 0, sizeof(*r));
	int fd = raw_connect(srv.port, NULL);
	if (fd < 0) {
		snprintf(r->err, sizeof(r->err), "connect: %s", strerror(errno));
		return 0;
	}
	/* the server may answer and close early (431): read what came */
	raw_send(fd, req, strlen(req));
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	long got = raw_read_all(fd, buf, cap, H_DEADLINE_MS);
	size_t len = got > 0 ? (size_t)got : 0;
	close(fd);
	buf[len] = '\0';
	char *end = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || end == NULL) {
		snprintf(r->err, sizeof(r->err), "no HTTP answer (%zu bytes)", len);
		free(buf);
		return 0;
	}
	r->status = strtol(buf + 9, NULL, 10);
	r->headers = strndup(buf, (size_t)(end - buf) + 2);
	r->body_len = len - (size_t)(end + 4 - buf);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
	return r->status;
}

/* ==== what every answer carries ======================================== */

static long long
stamp_of(const h_resp *r, const char *name)
{
	char *v = h_resp_header(r, name);
	long long t = v ? atoll(v) : -1;
	free(v);
	return t;
}

/* The access line among out: the last line that ends with id (malloc'd). */
static char *
log_line_in(const char *out, const char *id)
{
	char *line = NULL;
	for (const char *p = out; p != NULL && (p = strstr(p, id)) != NULL; p += strlen(id)) {
		if (p[strlen(id)] != '\n' && p[strlen(id)] != '\0')
			continue;
		const char *start = p;
		while (start > out && start[-1] != '\n')
			start--;
		free(line);
		line = strndup(start, (size_t)(p - start) + strlen(id));
	}
	return line;
}

typedef struct {
	h_server *s;
	const char *id;
} log_wait;

static bool
log_has_line(void *arg)
{
	log_wait *w = arg;
	char *out = h_server_output(w->s, NULL);
	char *line = log_line_in(out, w->id);
	free(out);
	free(line);
	return line != NULL;
}

/* The server's access line for `id` (malloc'd), waiting for it; or NULL.
 * Lines are written in batches (runtime/accesslog.c): a crash's trace,
 * which names the id too, may come out before the request's access line. */
static char *
log_line(h_server *s, const char *id)
{
	log_wait w = {s, id};
	if (id == NULL || !h_wait_for(log_has_line, &w, H_DEADLINE_MS))
		return NULL;
	char *out = h_server_output(s, NULL);
	char *line = log_line_in(out, id);
	free(out);
	return line;
}

/*
 * Checks what a success carries on an answer with `status`: request id,
 * X-Content-Type-Options, both after hooks' headers, and an access-log line
 * "METHOD PATH STATUS ..." ending with the request id.
 */
static void
check_carries(const char *name, const h_resp *r, const char *method, long status)
{
	char n[200];
	snprintf(n, sizeof(n), "%s: status %ld", name, status);
	T_CHECK(n, r->status == status);
	if (r->status != status)
		printf("# %s: got %ld %.300s %s\n", name, r->status, r->body ? r->body : "",
		       r->err);
	char *id = h_resp_header(r, "X-Request-Id");
	char *nosniff = h_resp_header(r, "X-Content-Type-Options");
	snprintf(n, sizeof(n), "%s: has X-Request-Id", name);
	T_CHECK(n, id != NULL && *id != '\0');
	snprintf(n, sizeof(n), "%s: has X-Content-Type-Options: nosniff", name);
	T_CHECK(n, nosniff != NULL && strcmp(nosniff, "nosniff") == 0);
	snprintf(n, sizeof(n), "%s: passed both after hooks (X-A-After, X-B-After)", name);
	T_CHECK(n, stamp_of(r, "X-A-After") > 0 && stamp_of(r, "X-B-After") > 0);
	char *line = log_line(&srv, id);
	char want[64];
	snprintf(want, sizeof(want), " %ld ", status);
	snprintf(n, sizeof(n), "%s: one access-log line with method, status and id", name);
	T_CHECK(n, line != NULL && strncmp(line, method, strlen(method)) == 0 &&
	                   line[strlen(method)] == ' ' && strstr(line, want) != NULL);
	if (line == NULL || strstr(line, want) == NULL)
		printf("# log line for %s: %s\n", id ? id : "(no id)", line ? line : "(none)");
	free(line);
	free(id);
	free(nosniff);
}

static long
request(const char *method, const char *path, const char *const *headers, const char *body,
        h_resp *r)
{
	h_client *k = h_client_new();
	long st = h_request(k, &srv, method, path, headers, body, r);
	h_client_free(k);
	return st;
}

/* ==== every status ===================================================== */

static void
test_statuses(void)
{
	h_resp r;
	request("GET", "/greet/world", NULL, NULL, &r);
	check_carries("200 (the baseline)", &r, "GET", 200);
	h_resp_free(&r);

	request("GET", "/nope", NULL, NULL, &r);
	check_carries("404", &r, "GET", 404);
	h_resp_free(&r);

	request("DELETE", "/greet/world", NULL, NULL, &r);
	check_carries("405", &r, "DELETE", 405);
	char *allow = h_resp_header(&r, "Allow");
	T_CHECK("405: Allow names GET", allow != NULL && strstr(allow, "GET") != NULL);
	free(allow);
	h_resp_free(&r);

	request("OPTIONS", "/greet/world", NULL, NULL, &r);
	check_carries("OPTIONS 204", &r, "OPTIONS", 204);
	allow = h_resp_header(&r, "Allow");
	T_CHECK("OPTIONS 204: Allow names GET and OPTIONS",
	        allow && strstr(allow, "GET") && strstr(allow, "OPTIONS"));
	T_CHECK("OPTIONS 204: no body", r.body_len == 0);
	free(allow);
	h_resp_free(&r);

	request("GET", "/greet/%zz", NULL, NULL, &r);
	check_carries("400 (bad percent-encoding)", &r, "GET", 400);
	h_resp_free(&r);

	size_t big = 10u * 1024 * 1024 + 1;
	char *body = malloc(big + 1);
	memset(body, 'x', big);
	body[big] = '\0';
	request("POST", "/echo", NULL, body, &r);
	check_carries("413 (body over 10 MB)", &r, "POST", 413);
	h_resp_free(&r);
	free(body);

	size_t ulen = 9000;
	char *req = malloc(ulen + 256);
	int k = snprintf(req, ulen + 256, "GET /greet/");
	memset(req + k, 'a', ulen);
	snprintf(req + k + ulen, 256, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
	raw_request(req, &r);
	check_carries("414 (URL over 8 KB)", &r, "GET", 414);
	h_resp_free(&r);
	free(req);

	/* 20 KB: over cot's 16 KB limit, under libmicrohttpd's own 32 KB pool
	 * (past that MHD answers by itself, outside the pipeline: README) */
	const char *headers[6];
	char *hv[5];
	for (int i = 0; i < 5; i++) {
		hv[i] = malloc(8000);
		int m = snprintf(hv[i], 8000, "X-Big-%d: ", i);
		memset(hv[i] + m, 'h', 4000);
		hv[i][m + 4000] = '\0';
		headers[i] = hv[i];
	}
	headers[5] = NULL;
	request("GET", "/greet/world", headers, NULL, &r);
	check_carries("431 (headers over 16 KB)", &r, "GET", 431);
	h_resp_free(&r);
	for (int i = 0; i < 5; i++)
		free(hv[i]);
}

/*
 * A crash answers 500 on both targets and its trace, naming the handler's
 * own line, goes to the server's output; only development shows it to the
 * client too (error.c: production clients get the status and request id).
 */
static void
test_crash(void)
{
	h_resp r;
	size_t mark = h_server_mark(&srv);
	request("GET", "/crash", NULL, NULL, &r);
	check_carries("500 (crash)", &r, "GET", 500);
	bool logged = h_server_wait_output(&srv, mark, "crash in GET /crash", H_DEADLINE_MS) &&
	              h_server_wait_output(&srv, mark, "handlers/app.c:", H_DEADLINE_MS);
	T_CHECK("500 (crash): the trace on the server's output names handlers/app.c", logged);
	if (target.reloads)
		T_CHECK("500 (crash): the dev client's trace names handlers/app.c",
		        r.body && strstr(r.body, "handlers/app.c:"));
	else
		T_CHECK("500 (crash): the export's client gets no trace",
		        r.body && strstr(r.body, "handlers/") == NULL);
	h_resp_free(&r);
}

/* A handler saved with a syntax error answers 500 naming the line. */
static void
test_compile_error(void)
{
	if (!dev_only("500 (compile error)",
	              "the export is compiled once by gcc before it "
	              "serves (a broken handler fails `cotdev export`); nothing is saved "
	              "and compiled while it runs"))
		return;
	h_resp r;
	size_t mark = h_server_mark(&srv);
	char path[4200];
	h_path(path, sizeof(path), "%s/handlers/edit.c", app);
	h_save_rename(path, edit_broken);
	bool reported = h_server_wait_output(&srv, mark, "error compiling", H_DEADLINE_MS);
	T_CHECK("compile error: reported on the terminal", reported);
	request("GET", "/edit", NULL, NULL, &r);
	check_carries("500 (compile error)", &r, "GET", 500);
	T_CHECK("500 (compile error): names handlers/edit.c:LINE",
	        r.body && strstr(r.body, "handlers/edit.c:6:"));
	if (r.body == NULL || strstr(r.body, "handlers/edit.c:6:") == NULL)
		printf("# %.500s\n", r.body ? r.body : "");
	h_resp_free(&r);
}

/* Every 5xx the server makes of a handler's failure. */
static void
test_server_errors(void)
{
	h_resp r;
	request("GET", "/fail", NULL, NULL, &r);
	check_carries("500 (cot_fail)", &r, "GET", 500);
	T_CHECK("500 (cot_fail): the message reaches the client",
	        r.body && strstr(r.body, "the widget store is down"));
	h_resp_free(&r);

	test_crash();

	request("GET", "/stuck", NULL, NULL, &r);
	check_carries("503 (stuck)", &r, "GET", 503);
	h_resp_free(&r);

	test_compile_error();
}

/* ==== content negotiation ============================================== */

static char *
content_type(const h_resp *r)
{
	return h_resp_header(r, "Content-Type");
}

static void
check_type(const char *name, const char *accept, const char *want_prefix)
{
	const char *headers[] = {accept, NULL};
	h_resp r;
	request("GET", "/nope", accept ? headers : NULL, NULL, &r);
	char *type = content_type(&r);
	T_CHECK(name, r.status == 404 && type != NULL &&
	                      strncmp(type, want_prefix, strlen(want_prefix)) == 0);
	if (type == NULL || strncmp(type, want_prefix, strlen(want_prefix)) != 0)
		printf("# %s: Content-Type %s, want %s\n", accept ? accept : "(no Accept)",
		       type ? type : "(none)", want_prefix);
	free(type);
	h_resp_free(&r);
}

static void
test_negotiation(void)
{
	check_type("Accept with q-values (text/html;q=0.5, application/json) -> problem+json",
	           "Accept: text/html;q=0.5, application/json", "application/problem+json");
	check_type("Accept: application/* -> problem+json", "Accept: application/*",
	           "application/problem+json");
	check_type("Accept: */* -> text/plain", "Accept: */*", "text/plain");
	check_type("no Accept -> text/plain", NULL, "text/plain");
	check_type("Accept: text/html;q=0.9, text/plain;q=0.1 -> HTML",
	           "Accept: text/html;q=0.9, text/plain;q=0.1", "text/html");
	check_type("a browser's Accept -> HTML", BROWSER, "text/html");

	/* RFC 9457 fields on a 404 and a cot_fail 500 */
	const char *json[] = {"Accept: application/json", NULL};
	static const struct {
		const char *path, *title;
		long status;
	} cases[] = {{"/nope", "Not Found", 404}, {"/fail", "Internal Server Error", 500}};
	for (int i = 0; i < 2; i++) {
		h_resp r;
		request("GET", cases[i].path, json, NULL, &r);
		char *id = h_resp_header(&r, "X-Request-Id");
		json_error_t e;
		json_t *j = r.body ? json_loads(r.body, 0, &e) : NULL;
		const char *type = json_string_value(json_object_get(j, "type"));
		const char *title = json_string_value(json_object_get(j, "title"));
		json_t *status = json_object_get(j, "status");
		const char *detail = json_string_value(json_object_get(j, "detail"));
		const char *instance = json_string_value(json_object_get(j, "instance"));
		const char *rid = json_string_value(json_object_get(j, "request_id"));
		char n[160];
		snprintf(n, sizeof(n),
		         "problem+json %ld: type, title, status, detail, instance, "
		         "request_id (= X-Request-Id)",
		         cases[i].status);
		bool ok = j != NULL && type != NULL && title &&
		          strcmp(title, cases[i].title) == 0 && json_is_integer(status) &&
		          json_integer_value(status) == cases[i].status && detail != NULL &&
		          *detail && instance && strcmp(instance, cases[i].path) == 0 && rid &&
		          id && strcmp(rid, id) == 0;
		T_CHECK(n, ok);
		if (!ok)
			printf("# %.600s\n", r.body ? r.body : "");
		json_decref(j);
		free(id);
		h_resp_free(&r);
	}

	/* the app's own 404 page for browsers; the built-in page for other statuses */
	const char *browser[] = {BROWSER, NULL};
	h_resp r;
	request("GET", "/nope", browser, NULL, &r);
	T_CHECK("templates/errors/404.html answers a browser's 404",
	        r.status == 404 && r.body && strstr(r.body, "Lost? (app 404 page)"));
	h_resp_free(&r);
	request("DELETE", "/greet/world", browser, NULL, &r);
	char *type = content_type(&r);
	T_CHECK("a browser's 405 gets the built-in HTML page",
	        r.status == 405 && type && strncmp(type, "text/html", 9) == 0 && r.body &&
	                strstr(r.body, "405") && strstr(r.body, "Lost?") == NULL);
	free(type);
	h_resp_free(&r);
}

/* ==== middleware ======================================================= */

static void
test_middleware(void)
{
	h_resp r;
	request("GET", "/greet/order", NULL, NULL, &r);
	long long ab = stamp_of(&r, "X-A-Before"), bb = stamp_of(&r, "X-B-Before"),
	          h = stamp_of(&r, "X-Handler"), ba = stamp_of(&r, "X-B-After"),
	          aa = stamp_of(&r, "X-A-After");
	T_CHECK("middleware order: before a, before b, handler, after b, after a",
	        ab > 0 && ab < bb && bb < h && h < ba && ba < aa);
	if (!(ab > 0 && ab < bb && bb < h && h < ba && ba < aa))
		printf("# a-before %lld b-before %lld handler %lld b-after %lld a-after %lld\n", ab,
		       bb, h, ba, aa);
	h_resp_free(&r);

	request("GET", "/blocked", NULL, NULL, &r);
	T_CHECK("a before hook that responds stops the request: its answer, no handler",
	        r.status == 403 && r.body && strcmp(r.body, "blocked by a\n") == 0);
	T_CHECK("a before hook that responds: later before hooks do not run",
	        stamp_of(&r, "X-B-Before") < 0);
	T_CHECK("a before hook that responds: after hooks still run",
	        stamp_of(&r, "X-A-After") > 0 && stamp_of(&r, "X-B-After") > 0);
	h_resp_free(&r);
}

/* ==== request ids and HEAD ============================================= */

static void
test_ids_and_head(void)
{
	const char *good[] = {"X-Request-Id: abc-123_XYZ.7", NULL};
	const char *paths[] = {"/greet/id", "/nope"};
	for (int i = 0; i < 2; i++) {
		h_resp r;
		request("GET", paths[i], good, NULL, &r);
		char *id = h_resp_header(&r, "X-Request-Id");
		char n[128];
		snprintf(n, sizeof(n), "a valid incoming X-Request-Id is kept (%s)", paths[i]);
		T_CHECK(n, id && strcmp(id, "abc-123_XYZ.7") == 0);
		free(id);
		h_resp_free(&r);
	}
	const char *bad[] = {"X-Request-Id: bad id\"<script>", NULL};
	h_resp r;
	request("GET", "/greet/id", bad, NULL, &r);
	char *id = h_resp_header(&r, "X-Request-Id");
	T_CHECK("a malformed incoming X-Request-Id is replaced by a fresh one",
	        id && strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16);
	free(id);
	h_resp_free(&r);

	h_resp get;
	request("GET", "/greet/head", NULL, NULL, &get);
	raw_request("HEAD /greet/head HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
	            &r);
	char *cl = h_resp_header(&r, "Content-Length");
	char *rid = h_resp_header(&r, "X-Request-Id");
	T_CHECK("HEAD: 200 with headers (X-Request-Id) and no body bytes",
	        r.status == 200 && rid != NULL && r.body_len == 0);
	T_CHECK("HEAD: Content-Length is the GET body's length",
	        cl != NULL && (size_t)atol(cl) == get.body_len);
	free(cl);
	free(rid);
	h_resp_free(&r);
	h_resp_free(&get);

	raw_request("HEAD /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", &r);
	T_CHECK("HEAD of a missing route: 404 with no body bytes",
	        r.status == 404 && r.body_len == 0);
	h_resp_free(&r);
}

/* A --quiet server prints no access-log line. */
/*
 * True when the server closes fd (EOF) within 10 s: ten times the 1 s
 * --idle-timeout of the server under test, a third of the default 30 s, so
 * a server that ignored the flag fails.
 */
static bool
closed_by_server(int fd)
{
	char buf[512];
	raw_read_all(fd, buf, sizeof(buf), 10000.0); /* to the close, or 10 s */
	return raw_closed(&fd);
}

/* Slow clients are cut off after --idle-timeout (1 s on this server). */
static void
test_slow_clients(h_server *q)
{
	static const char *const partial[] = {
	        "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n", /* headers never end */
	        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789",
	};
	static const char *const names[] = {
	        "a client that stops mid-headers is disconnected (--idle-timeout)",
	        "a client that stops mid-body is disconnected (--idle-timeout)",
	};
	for (int i = 0; i < 2; i++) {
		int fd = raw_connect(q->port, NULL);
		bool ok = fd >= 0 && raw_send(fd, partial[i], strlen(partial[i])) == 0 &&
		          closed_by_server(fd);
		T_CHECK(names[i], ok);
		if (fd >= 0)
			close(fd);
	}
	h_client *k = h_client_new();
	h_resp r;
	T_CHECK("after cutting off slow clients the server answers others",
	        h_request(k, q, "GET", "/greet/after", NULL, NULL, &r) == 200);
	h_resp_free(&r);
	h_client_free(k);
}

/* A server of the same kind as the main one, with --quiet --idle-timeout 1. */
static int
start_quiet(h_server *q)
{
	static const char *const flags[] = {"--port", "0", "--quiet", "--idle-timeout", "1", NULL};
	h_target quiet = target;
	char err[512];
	if (h_target_flags(&quiet, flags) != 0 ||
	    h_server_start(&quiet, app, q, err, sizeof(err)) != 0) {
		printf("not ok start a --quiet server: %s\n", err);
		t_failed_count++;
		return -1;
	}
	return 0;
}

static void
test_quiet(void)
{
	h_server q;
	if (start_quiet(&q) != 0)
		return;
	h_client *k = h_client_new();
	h_resp r, crash;
	h_request(k, &q, "GET", "/nope", NULL, NULL, &r);
	char *id = h_resp_header(&r, "X-Request-Id");
	/* stdout is ordered and a crash's trace is printed even with --quiet:
	 * once it is out, the earlier request's line would be out too */
	size_t mark = h_server_mark(&q);
	h_request(k, &q, "GET", "/crash", NULL, NULL, &crash);
	h_client_free(k);
	T_CHECK("--quiet: a crash's trace is still printed",
	        h_server_wait_output(&q, mark, "crash in GET /crash", H_DEADLINE_MS));
	T_CHECK("--quiet: no access-log line",
	        id && h_server_count_output(&q, 0, (size_t)-1, id) == 0);
	free(id);
	h_resp_free(&r);
	h_resp_free(&crash);
	test_slow_clients(&q);
	T_CHECK("--quiet server exits 0", h_server_stop(&q) == 0);
}

/* True if GET /app-css (cot_file "static/app.css") answers the bytes of
 * GET /static/app.css. */
static bool
app_css_matches(void)
{
	h_resp a = {0}, b = {0};
	bool same = request("GET", "/app-css", NULL, NULL, &a) == 200 &&
	            request("GET", "/static/app.css", NULL, NULL, &b) == 200 && a.body_len > 0 &&
	            a.body_len == b.body_len && memcmp(a.body, b.body, a.body_len) == 0;
	h_resp_free(&a);
	h_resp_free(&b);
	return same;
}

/* cot_file("static/...") is the app's static file on both targets: the
 * export has no app directory in production, so it must send its embedded
 * copy, not whatever the working directory holds. */
static void
test_file_static(void)
{
	T_CHECK("cot_file(static/app.css) is the served static file", app_css_matches());
	if (target.reloads)
		return; /* the dev server serves static/ from the app itself */
	char path[4200], moved[4300];
	h_path(path, sizeof(path), "%s/static/app.css", app);
	snprintf(moved, sizeof(moved), "%s.away", path);
	T_CHECK("move static/app.css out of the working directory", rename(path, moved) == 0);
	T_CHECK("export: cot_file(static/...) sends the embedded copy", app_css_matches());
	rename(moved, path);
}

/* cot_file streams a file of the app; a missing one is a 404 like any other. */
static void
test_file(void)
{
	size_t big = 3u * 1024 * 1024;
	char *data = malloc(big + 1);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	data[big] = '\0';
	h_write_app_file(app, "big.txt", data);
	h_write_app_file(app, "note.css", "body{color:#123}\n");
	h_resp r;
	T_CHECK("cot_file: 200", request("GET", "/file/note.css", NULL, NULL, &r) == 200);
	char *type = h_resp_header(&r, "Content-Type");
	T_CHECK("cot_file: type from the extension", type && strncmp(type, "text/css", 8) == 0);
	T_CHECK("cot_file: the bytes", r.body && strcmp(r.body, "body{color:#123}\n") == 0);
	free(type);
	h_resp_free(&r);
	T_CHECK("cot_file: a 3 MB file streams whole",
	        request("GET", "/file/big.txt", NULL, NULL, &r) == 200 && r.body_len == big &&
	                memcmp(r.body, data, big) == 0);
	h_resp_free(&r);
	T_CHECK("cot_file: a missing file is 404",
	        request("GET", "/file/none.txt", NULL, NULL, &r) == 404);
	check_carries("404 (cot_file)", &r, "GET", 404);
	h_resp_free(&r);
	free(data);
	test_file_static();
}

/* Writes the app's handlers and its 404 page into the scaffolded app. */
static bool
write_app(void)
{
	h_clear_handlers(app); /* this test is about its own handlers only */
	char dir[4200];
	mkdir(h_path(dir, sizeof(dir), "%s/templates", app), 0755);
	mkdir(h_path(dir, sizeof(dir), "%s/templates/errors", app), 0755);
	return h_write_app_file(app, "handlers/00_a.c", mw_a_src) == 0 &&
	       h_write_app_file(app, "handlers/10_b.c", mw_b_src) == 0 &&
	       h_write_app_file(app, "handlers/app.c", app_src) == 0 &&
	       h_write_app_file(app, "handlers/edit.c", edit_good) == 0 &&
	       h_write_app_file(app, "templates/errors/404.html", page_404) == 0 &&
	       h_write_app_file(app, "static/page.html", "<p>static page</p>\n") == 0;
}

/* Value of header `name` in GET `path` equals `want` (NULL: is absent). */
static bool
header_is(const char *path, const char *name, const char *want)
{
	h_resp r;
	request("GET", path, NULL, NULL, &r);
	char *v = h_resp_header(&r, name);
	bool ok = r.status == 200 && (want == NULL ? v == NULL : v != NULL && !strcmp(v, want));
	free(v);
	h_resp_free(&r);
	return ok;
}

/* Framing and referrer rules matter for documents: every HTML answer gets
 * them, a handler's page or a static one; other types do not. */
static void
test_document_headers(void)
{
	T_CHECK("a handler's HTML page has X-Frame-Options: SAMEORIGIN",
	        header_is("/page", "X-Frame-Options", "SAMEORIGIN"));
	T_CHECK("a static HTML page has X-Frame-Options: SAMEORIGIN",
	        header_is("/static/page.html", "X-Frame-Options", "SAMEORIGIN"));
	T_CHECK("a static HTML page has Referrer-Policy",
	        header_is("/static/page.html", "Referrer-Policy",
	                  "strict-origin-when-cross-origin"));
	T_CHECK("a static HTML page has one Content-Type, text/html",
	        header_is("/static/page.html", "Content-Type", "text/html; charset=utf-8"));
	T_CHECK("a stylesheet has no X-Frame-Options",
	        header_is("/static/app.css", "X-Frame-Options", NULL));
	T_CHECK("a stylesheet has X-Content-Type-Options: nosniff",
	        header_is("/static/app.css", "X-Content-Type-Options", "nosniff"));
}

/*
 * The target for `arg` with the flags of the main server, its cotdev path
 * made absolute: main moves into the app directory (see below) before the
 * servers start. Returns false if the path does not resolve.
 */
static bool
make_target(const char *arg)
{
	/* not --quiet: check_carries reads each answer's access-log line */
	static const char *const flags[] = {"--port", "0", "--timeout", "1500", NULL};
	static char cotdev[4096];
	target = h_target_dev(arg);
	if (realpath(target.cotdev, cotdev) == NULL)
		return false;
	target.cotdev = cotdev;
	return h_target_flags(&target, flags) == 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	if (!make_target(argv[1])) {
		printf("not ok %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("scaffold an app", false);
		return T_DONE();
	}
	T_CHECK("write the app", write_app());
	/* Every server starts in the app directory: `cotdev run` chdirs there
	 * anyway, and an exported binary resolves a relative cot_file path
	 * against the directory it runs in. */
	T_CHECK("enter the app directory", chdir(app) == 0);
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start %s: %s\n", argv[1], err);
		h_rmtree(app);
		return 1;
	}
	char *boot = h_server_output(&srv, NULL);
	T_CHECK("the app compiles without errors", boot && strstr(boot, "error") == NULL);
	if (boot && strstr(boot, "error") != NULL)
		printf("# %s\n", boot);
	free(boot);

	test_middleware();
	test_ids_and_head();
	test_negotiation();
	test_statuses();
	test_server_errors();
	test_file();
	test_document_headers();
	test_quiet();

	h_thread_done();
	int rc = h_server_stop(&srv);
	T_CHECK("server exits 0 at SIGTERM", rc == 0);
	h_rmtree(app);
	return T_DONE();
}
