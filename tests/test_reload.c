/*
 * test_reload.c -- the reload loop end to end: the real `cotdev run` on a
 * free loopback port, files saved the way editors save them, answers read
 * over HTTP.
 *
 * usage: test_reload COTDEV
 *
 * Read-your-writes is a guarantee, so after a save the test asks once and
 * expects the new answer: no polling between a save and its check. To prove
 * that something did NOT happen (a no-op save compiled nothing, a swap file
 * was ignored), the test saves a "sentinel" handler afterwards and reads the
 * server's stdout up to the sentinel's reload line: stdout is ordered, so
 * anything the earlier save caused is printed before it.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];

/* ==== helpers ========================================================== */

/* Source of a handler file with one GET route answering `text`. */
static char *
handler_src(char *buf, size_t len, const char *route, const char *text)
{
	snprintf(buf, len,
	         "#include <cot.h>\n"
	         "\n"
	         "static cot_result\n"
	         "answer(cot_ctx *c)\n"
	         "{\n"
	         "\treturn cot_text(c, 200, \"%%s\", \"%s\");\n"
	         "}\n"
	         "\n"
	         "COT_ROUTES(\n"
	         "\tCOT_GET(\"%s\", answer),\n"
	         ")\n",
	         text, route);
	return buf;
}

static char *
app_path(char *buf, size_t len, const char *rel)
{
	return h_path(buf, len, "%s/%s", app, rel);
}

static int
save_handler(const char *rel, const char *route, const char *text, bool rename_over)
{
	char path[4200], src[2048];
	app_path(path, sizeof(path), rel);
	handler_src(src, sizeof(src), route, text);
	return rename_over ? h_save_rename(path, src) : h_save_inplace(path, src);
}

/* GET path; true if it answered `status` with exactly `body` (body NULL: any). */
static bool
get_is(const char *path, long status, const char *body)
{
	h_resp r;
	h_get(&srv, path, &r);
	bool ok = r.status == status && (body == NULL || strcmp(r.body, body) == 0);
	if (!ok)
		printf("# GET %s: %ld \"%.200s\" %s (want %ld \"%s\")\n", path, r.status,
		       r.body ? r.body : "", r.err, status, body ? body : "*");
	h_resp_free(&r);
	return ok;
}

static bool
get_contains(const char *path, const char *const *headers, long status, const char *needle,
             h_resp *keep)
{
	h_resp r;
	h_client *c = h_client_new();
	h_request(c, &srv, "GET", path, headers, NULL, &r);
	h_client_free(c);
	bool ok = r.status == status && strstr(r.body, needle) != NULL;
	if (!ok)
		printf("# GET %s: %ld \"%.400s\" %s (want %ld containing \"%s\")\n", path, r.status,
		       r.body ? r.body : "", r.err, status, needle);
	if (keep != NULL)
		*keep = r;
	else
		h_resp_free(&r);
	return ok;
}

/*
 * Saves the sentinel handler with a new text and waits for its reload line.
 * Returns the stdout length up to and including that line's start, so what
 * earlier saves printed lies before it.
 */
static size_t
sentinel(void)
{
	static int n;
	char text[64];
	snprintf(text, sizeof(text), "sentinel %d\\n", ++n);
	size_t mark = h_server_mark(&srv);
	save_handler("handlers/sentinel.c", "/sentinel", text, false);
	h_resp r;
	h_get(&srv, "/sentinel", &r);
	h_resp_free(&r);
	if (!h_server_wait_output(&srv, mark, "reloaded handlers/sentinel.c", H_DEADLINE_MS))
		printf("# sentinel reload line never appeared\n");
	return h_server_mark(&srv);
}

/* ==== the reload loop ================================================== */

static void
test_hello(void)
{
	T_CHECK("hello answers", get_is("/hello/world", 200, "Hello, world!\n"));
	T_CHECK("hello decodes its parameter", get_is("/hello/a%20b", 200, "Hello, a b!\n"));
	T_CHECK("unknown path is 404", get_is("/no/such/route", 404, NULL));
	h_resp r;
	h_client *c = h_client_new();
	h_request(c, &srv, "HEAD", "/hello/world", NULL, NULL, &r);
	T_CHECK("HEAD is served by the GET route", r.status == 200);
	h_resp_free(&r);
	h_request(c, &srv, "POST", "/hello/world", NULL, "x=1", &r);
	char *allow = h_resp_header(&r, "Allow");
	T_CHECK("POST to a GET route is 405", r.status == 405);
	T_STREQ("405 carries an Allow header", allow, "GET, HEAD");
	free(allow);
	h_resp_free(&r);
	h_client_free(c);
}

static void
test_edit_read_your_writes(void)
{
	char route[] = "/ryw", text[64];
	save_handler("handlers/ryw.c", route, "ryw start\\n", false);
	T_CHECK("a new handler answers at once", get_is(route, 200, "ryw start\n"));
	int bad = 0;
	for (int i = 0; i < 40; i++) {
		bool rename_over = i % 2 == 1;
		snprintf(text, sizeof(text), "ryw %d\\n", i);
		save_handler("handlers/ryw.c", route, text, rename_over);
		snprintf(text, sizeof(text), "ryw %d\n", i);
		if (!get_is(route, 200, text))
			bad++;
	}
	char name[128];
	snprintf(name, sizeof(name),
	         "40 saves in a row (in place and rename-over): the very "
	         "next request sees each (%d stale)",
	         bad);
	T_CHECK(name, bad == 0);

	save_handler("handlers/hello.c", "/hello/:name", "edited in place\\n", false);
	T_CHECK("in-place edit of hello.c is served by the next request",
	        get_is("/hello/world", 200, "edited in place\n"));
	save_handler("handlers/hello.c", "/hello/:name", "edited by rename\\n", true);
	T_CHECK("rename-over save of hello.c is served by the next request",
	        get_is("/hello/world", 200, "edited by rename\n"));
}

/*
 * vim's default save: rename the old file away (hello.c -> hello.c~), then
 * create and write a new one. While the new file is half written the save
 * has not completed, so the old code must keep answering -- never a 404 or
 * a compile error of half a file -- and once it is closed, the new code.
 */
static void
test_vim_save(void)
{
	char path[4200], backup[4300], src[2048];
	save_handler("handlers/vim.c", "/vim", "vim old\\n", false);
	T_CHECK("vim: the handler answers", get_is("/vim", 200, "vim old\n"));
	app_path(path, sizeof(path), "handlers/vim.c");
	snprintf(backup, sizeof(backup), "%s~", path);
	handler_src(src, sizeof(src), "/vim", "vim new\\n");
	T_CHECK("vim: rename the old file away", rename(path, backup) == 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t half = strlen(src) / 2;
	T_CHECK("vim: half of the new file written",
	        fd >= 0 && write(fd, src, half) == (ssize_t)half);
	T_CHECK("vim: mid-save, the old code still answers", get_is("/vim", 200, "vim old\n"));
	T_CHECK("vim: rest written and closed",
	        write(fd, src + half, strlen(src) - half) == (ssize_t)(strlen(src) - half) &&
	                close(fd) == 0);
	T_CHECK("vim: the next request gets the new code", get_is("/vim", 200, "vim new\n"));
	unlink(backup);
}

/* A saved template is parsed at once and a mistake reported like a compile error. */
static void
test_template_error(void)
{
	char path[4200];
	app_path(path, sizeof(path), "templates/check.html");
	size_t mark = h_server_mark(&srv);
	h_save_inplace(path, "<p>\n{{#items}}\n</p>\n");
	T_CHECK("template: a broken save is reported at once, gcc style, at its line",
	        h_server_wait_output(&srv, mark, "templates/check.html:2:", H_DEADLINE_MS));
	char *out = h_server_output(&srv, NULL);
	T_CHECK("template: the report says what is wrong",
	        out && strstr(out + mark, "error: unclosed section \"items\"") != NULL);
	free(out);
	mark = h_server_mark(&srv);
	h_save_inplace(path, "<p>{{#items}}{{.}}{{/items}}</p>\n");
	sentinel();
	out = h_server_output(&srv, NULL);
	T_CHECK("template: the fixed save reports nothing",
	        out && strstr(out + mark, "templates/check.html:") == NULL);
	free(out);
	unlink(path);
}

static void
test_add_files(void)
{
	save_handler("handlers/added.c", "/added", "added\\n", false);
	T_CHECK("a new handler file's route answers", get_is("/added", 200, "added\n"));

	char dir[4200], path[4300], src[1024];
	app_path(dir, sizeof(dir), "handlers/sub1");
	mkdir(dir, 0755);
	h_save_new(h_path(path, sizeof(path), "%s/deep.c", dir),
	           handler_src(src, sizeof(src), "/deep", "deep\\n"));
	T_CHECK("a file in a subdirectory created after start answers",
	        get_is("/deep", 200, "deep\n"));
	save_handler("handlers/sub1/deep.c", "/deep", "deep v2\\n", false);
	T_CHECK("a file in the new subdirectory reloads", get_is("/deep", 200, "deep v2\n"));

	app_path(dir, sizeof(dir), "handlers/sub2");
	mkdir(dir, 0755);
	app_path(dir, sizeof(dir), "handlers/sub2/inner");
	mkdir(dir, 0755);
	h_save_new(h_path(path, sizeof(path), "%s/deeper.c", dir),
	           handler_src(src, sizeof(src), "/deeper", "deeper\\n"));
	T_CHECK("a file two new directories down answers", get_is("/deeper", 200, "deeper\n"));
}

static const char broken_src[] = "#include <cot.h>\n"   /* 1 */
                                 "\n"                   /* 2 */
                                 "static cot_result\n"  /* 3 */
                                 "answer(cot_ctx *c)\n" /* 4 */
                                 "{\n"                  /* 5 */
                                 "\tint x = 1 2;\n"     /* 6: syntax error */
                                 "\treturn cot_text(c, 200, \"broken %d\\n\", x);\n" /* 7 */
                                 "}\n"                                               /* 8 */
                                 "\n"                                                /* 9 */
                                 "COT_ROUTES(\n"                                     /* 10 */
                                 "\tCOT_GET(\"/breakme\", answer),\n"                /* 11 */
                                 ")\n";

static void
test_break_and_fix(void)
{
	char path[4200];
	app_path(path, sizeof(path), "handlers/breakme.c");
	save_handler("handlers/breakme.c", "/breakme", "whole\\n", false);
	T_CHECK("breakme answers before the break", get_is("/breakme", 200, "whole\n"));

	size_t mark = h_server_mark(&srv);
	h_save_inplace(path, broken_src);
	T_CHECK("a broken file's route answers 500 naming handlers/breakme.c:6",
	        get_contains("/breakme", NULL, 500, "handlers/breakme.c:6", NULL));
	T_CHECK("the terminal shows the compile error",
	        h_server_wait_output(&srv, mark, "handlers/breakme.c:6", H_DEADLINE_MS));
	T_CHECK("other files keep serving while one is broken", get_is("/added", 200, "added\n"));

	static const char *const json_accept[] = {"Accept: application/json", NULL};
	h_resp r;
	bool got = get_contains("/breakme", json_accept, 500, "handlers/breakme.c:6", &r);
	T_CHECK("Accept: application/json gets the compile error too", got);
	char *ctype = h_resp_header(&r, "Content-Type");
	char *rid = h_resp_header(&r, "X-Request-Id");
	T_CHECK("... as application/problem+json",
	        ctype != NULL && strncmp(ctype, "application/problem+json", 24) == 0);
	json_error_t jerr;
	json_t *j = json_loads(r.body ? r.body : "", 0, &jerr);
	T_CHECK("... which parses as a JSON object", json_is_object(j));
	const char *title = json_string_value(json_object_get(j, "title"));
	const char *detail = json_string_value(json_object_get(j, "detail"));
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *instance = json_string_value(json_object_get(j, "instance"));
	const char *jrid = json_string_value(json_object_get(j, "request_id"));
	T_CHECK("problem+json status is 500",
	        json_integer_value(json_object_get(j, "status")) == 500);
	T_STREQ("problem+json title", title, "Internal Server Error");
	T_CHECK("problem+json type is a string", type != NULL);
	T_STREQ("problem+json instance is the path", instance, "/breakme");
	T_CHECK("problem+json detail names handlers/breakme.c:6",
	        detail != NULL && strstr(detail, "handlers/breakme.c:6") != NULL);
	T_CHECK("problem+json request_id matches X-Request-Id",
	        jrid != NULL && rid != NULL && strcmp(jrid, rid) == 0);
	json_decref(j);
	free(ctype);
	free(rid);
	h_resp_free(&r);

	static const char *const html_accept[] = {
	        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", NULL};
	got = get_contains("/breakme", html_accept, 500, "handlers/breakme.c:6", &r);
	T_CHECK("a browser gets an HTML page naming the error",
	        got && strstr(r.body, "<html") != NULL);
	h_resp_free(&r);

	save_handler("handlers/breakme.c", "/breakme", "fixed\\n", false);
	T_CHECK("fixing the file serves the new code at once", get_is("/breakme", 200, "fixed\n"));

	/* Broken again, then fixed by a rename-over save. */
	h_save_inplace(path, broken_src);
	T_CHECK("broken again: 500", get_is("/breakme", 500, NULL));
	save_handler("handlers/breakme.c", "/breakme", "fixed twice\\n", true);
	T_CHECK("fixed by rename-over: served", get_is("/breakme", 200, "fixed twice\n"));
}

static void
test_delete_and_remove_routes(void)
{
	char path[4200], src[2048];
	save_handler("handlers/gone.c", "/gone", "here\\n", false);
	T_CHECK("a file to delete answers", get_is("/gone", 200, "here\n"));
	h_delete(app_path(path, sizeof(path), "handlers/gone.c"));
	T_CHECK("deleting the file makes its route 404 at once", get_is("/gone", 404, NULL));
	save_handler("handlers/gone.c", "/gone", "back\\n", false);
	T_CHECK("re-creating it serves again", get_is("/gone", 200, "back\n"));

	snprintf(src, sizeof(src),
	         "#include <cot.h>\n"
	         "static cot_result a(cot_ctx *c) { return cot_text(c, 200, \"two a\\n\"); }\n"
	         "static cot_result b(cot_ctx *c) { return cot_text(c, 200, \"two b\\n\"); }\n"
	         "static cot_result p(cot_ctx *c) { return cot_text(c, 201, \"two post\\n\"); }\n"
	         "COT_ROUTES(\n"
	         "\tCOT_GET(\"/two/a\", a),\n"
	         "\tCOT_GET(\"/two/b\", b),\n"
	         "\tCOT_POST(\"/two/b\", p),\n"
	         ")\n");
	app_path(path, sizeof(path), "handlers/two.c");
	h_save_inplace(path, src);
	T_CHECK("file with three routes: /two/a", get_is("/two/a", 200, "two a\n"));
	T_CHECK("file with three routes: /two/b", get_is("/two/b", 200, "two b\n"));
	snprintf(src, sizeof(src),
	         "#include <cot.h>\n"
	         "static cot_result a(cot_ctx *c) { return cot_text(c, 200, \"two a v2\\n\"); }\n"
	         "static cot_result p(cot_ctx *c) { return cot_text(c, 201, \"two post\\n\"); }\n"
	         "COT_ROUTES(\n"
	         "\tCOT_GET(\"/two/a\", a),\n"
	         "\tCOT_POST(\"/two/b\", p),\n"
	         ")\n");
	h_save_inplace(path, src);
	T_CHECK("a route kept in the file serves its new code",
	        get_is("/two/a", 200, "two a v2\n"));
	h_resp r;
	h_get(&srv, "/two/b", &r);
	char *allow = h_resp_header(&r, "Allow");
	T_CHECK("GET removed from the file, POST kept: 405", r.status == 405);
	T_STREQ("... with Allow: POST", allow, "POST");
	free(allow);
	h_resp_free(&r);
	snprintf(src, sizeof(src),
	         "#include <cot.h>\n"
	         "static cot_result a(cot_ctx *c) { return cot_text(c, 200, \"two a v3\\n\"); }\n"
	         "COT_ROUTES(\n"
	         "\tCOT_GET(\"/two/a\", a),\n"
	         ")\n");
	h_save_inplace(path, src);
	T_CHECK("every method of a path removed: 404", get_is("/two/b", 404, NULL));
	T_CHECK("the other route of the file stays", get_is("/two/a", 200, "two a v3\n"));
}

static void
test_noop_save(void)
{
	char path[4200], src[2048];
	save_handler("handlers/same.c", "/same", "same\\n", false);
	T_CHECK("same.c answers", get_is("/same", 200, "same\n"));
	sentinel();
	size_t mark = h_server_mark(&srv);
	app_path(path, sizeof(path), "handlers/same.c");
	handler_src(src, sizeof(src), "/same", "same\\n");
	h_save_inplace(path, src);
	T_CHECK("same.c still answers after a no-op save", get_is("/same", 200, "same\n"));
	h_save_rename(path, src);
	T_CHECK("same.c still answers after a no-op rename-over save",
	        get_is("/same", 200, "same\n"));
	size_t end = sentinel();
	T_CHECK("a save that changes nothing compiles nothing",
	        h_server_count_output(&srv, mark, end, "handlers/same.c") == 0);
}

static void
test_header_dependency(void)
{
	char path[4200];
	h_save_inplace(app_path(path, sizeof(path), "handlers/common.h"),
	               "#define GREETING \"greeting v1\\n\"\n");
	h_save_inplace(
	        app_path(path, sizeof(path), "handlers/greet.c"),
	        "#include <cot.h>\n"
	        "#include \"common.h\"\n"
	        "static cot_result g(cot_ctx *c) { return cot_text(c, 200, \"%s\", GREETING); }\n"
	        "COT_ROUTES(COT_GET(\"/greet\", g),)\n");
	T_CHECK("a handler using common.h answers", get_is("/greet", 200, "greeting v1\n"));
	h_save_inplace(app_path(path, sizeof(path), "handlers/common.h"),
	               "#define GREETING \"greeting v2\\n\"\n");
	T_CHECK("editing handlers/common.h changes the handler's next answer",
	        get_is("/greet", 200, "greeting v2\n"));
	h_save_rename(app_path(path, sizeof(path), "handlers/common.h"),
	              "#define GREETING \"greeting v3\\n\"\n");
	T_CHECK("a rename-over save of the header too", get_is("/greet", 200, "greeting v3\n"));
	h_save_inplace(app_path(path, sizeof(path), "handlers/common.h"),
	               "#define GREETING oops(\n");
	T_CHECK("breaking the header breaks the handler (500)", get_is("/greet", 500, NULL));
	h_save_inplace(app_path(path, sizeof(path), "handlers/common.h"),
	               "#define GREETING \"greeting v4\\n\"\n");
	T_CHECK("fixing the header restores the handler", get_is("/greet", 200, "greeting v4\n"));
}

static void
test_editor_temp_files(void)
{
	static const char *const names[] = {
	        "handlers/.swapped.c.swp",
	        "handlers/swapped.c~",
	        "handlers/4913",
	        "handlers/.#swapped.c",
	        "handlers/swapped.c___jb_tmp___",
	        "handlers/#swapped.c#",
	};
	int n = (int)(sizeof(names) / sizeof(names[0]));
	sentinel();
	size_t mark = h_server_mark(&srv);
	for (int i = 0; i < n; i++) {
		char route[32], path[4200], src[2048];
		snprintf(route, sizeof(route), "/swap%d", i);
		handler_src(src, sizeof(src), route, "should not be served\\n");
		h_save_inplace(app_path(path, sizeof(path), names[i]), src);
	}
	size_t end = sentinel();
	bool quiet = true, off = true;
	for (int i = 0; i < n; i++) {
		const char *base = strrchr(names[i], '/') + 1;
		char route[32];
		snprintf(route, sizeof(route), "/swap%d", i);
		if (h_server_count_output(&srv, mark, end, base) != 0) {
			printf("# the server mentioned %s\n", names[i]);
			quiet = false;
		}
		if (!get_is(route, 404, NULL))
			off = false;
	}
	T_CHECK("editor swap/backup/temp files cause no compile", quiet);
	T_CHECK("routes in editor temp files are not served", off);
	for (int i = 0; i < n; i++) {
		char path[4200];
		h_delete(app_path(path, sizeof(path), names[i]));
	}
}

static void
test_duplicate_route(void)
{
	save_handler("handlers/dup_a.c", "/dup", "dup a\\n", false);
	T_CHECK("first declaration of /dup answers", get_is("/dup", 200, "dup a\n"));
	size_t mark = h_server_mark(&srv);
	save_handler("handlers/dup_b.c", "/dup", "dup b\\n", false);
	T_CHECK("the first file keeps /dup", get_is("/dup", 200, "dup a\n"));
	T_CHECK("the second file gets a compile error naming the first",
	        h_server_wait_output(&srv, mark, "already declared in handlers/dup_a.c",
	                             H_DEADLINE_MS));
	T_CHECK("... reported for handlers/dup_b.c",
	        h_server_wait_output(&srv, mark, "handlers/dup_b.c:", H_DEADLINE_MS));
}

/* ==== the command line ================================================= */

/* COT_HOME as a relative path (cotdev enters the app's directory before it
 * compiles) still finds the headers; a COT_HOME without them is refused at
 * start with a message, not with a 500 from every route. `empty` is an
 * empty temp dir. */
static void
test_cli_home(const char *empty)
{
	char home[PATH_MAX], bin[PATH_MAX], cmd[3 * PATH_MAX + 200];
	const char *env = getenv("COT_HOME");
	h_cmd_result r;
	if (realpath(env != NULL ? env : ".", home) == NULL ||
	    realpath(target.cotdev, bin) == NULL) {
		T_CHECK("COT_HOME and cotdev resolve", false);
		return;
	}
	char *base = strrchr(home, '/');
	*base++ = '\0';
	snprintf(cmd, sizeof(cmd),
	         "cd '%s/' && COT_HOME='./%s' '%s' new '%s/app' && COT_HOME='./%s' '%s' check "
	         "'%s/app'",
	         home, base, bin, empty, base, bin, empty);
	const char *rel_argv[] = {"/bin/sh", "-c", cmd, NULL};
	h_run_cmd(rel_argv, H_DEADLINE_MS * 4, &r);
	T_CHECK("a relative COT_HOME: cotdev new and check succeed", r.exit_code == 0);
	if (r.exit_code != 0)
		printf("# exit %d: %.500s\n", r.exit_code, r.err);
	h_cmd_result_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/app'", empty);
	const char *rm_argv[] = {"/bin/sh", "-c", cmd, NULL};
	h_run_cmd(rm_argv, H_DEADLINE_MS, &r);
	h_cmd_result_free(&r);

	snprintf(cmd, sizeof(cmd), "COT_HOME='%s' '%s' check '%s'", empty, bin, app);
	const char *bad_argv[] = {"/bin/sh", "-c", cmd, NULL};
	h_run_cmd(bad_argv, H_DEADLINE_MS, &r);
	T_CHECK("a COT_HOME without include/cot.h exits 1", r.exit_code == 1);
	T_CHECK("... naming the missing header", strstr(r.err, "/include/cot.h not found") != NULL);
	h_cmd_result_free(&r);
}

static void
test_cli(void)
{
	h_cmd_result r;
	const char *new_argv[] = {target.cotdev, "new", app, NULL};
	h_run_cmd(new_argv, H_DEADLINE_MS, &r);
	T_CHECK("cotdev new refuses a non-empty directory", r.exit_code == 1);
	T_CHECK("... saying it is not empty", strstr(r.err, "not empty") != NULL);
	h_cmd_result_free(&r);

	const char *bogus_argv[] = {target.cotdev, "run", "--bogus", NULL};
	h_run_cmd(bogus_argv, H_DEADLINE_MS, &r);
	T_CHECK("cotdev run --bogus exits 2", r.exit_code == 2);
	T_CHECK("... with usage on stderr", strstr(r.err, "usage: cotdev run") != NULL);
	h_cmd_result_free(&r);

	/* A port someone else listens on. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	listen(fd, 1);
	getsockname(fd, (struct sockaddr *)&a, &alen);
	char port[16];
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	const char *busy_argv[] = {target.cotdev, "run", "--port", port, app, NULL};
	h_run_cmd(busy_argv, H_DEADLINE_MS, &r);
	T_CHECK("a port in use exits 1", r.exit_code == 1);
	T_CHECK("... with a clear message", strstr(r.err, "already in use") != NULL);
	if (r.exit_code != 1)
		printf("# exit %d, stderr: %.300s\n", r.exit_code, r.err);
	h_cmd_result_free(&r);
	close(fd);

	char empty[] = "/tmp/cot-test-XXXXXX";
	if (mkdtemp(empty) != NULL) {
		const char *nohandlers_argv[] = {target.cotdev, "run", "--port", "0", empty, NULL};
		h_run_cmd(nohandlers_argv, H_DEADLINE_MS, &r);
		T_CHECK("cotdev run on a dir without handlers/ exits 1", r.exit_code == 1);
		T_CHECK("... and says handlers/ is missing", strstr(r.err, "handlers/") != NULL);
		h_cmd_result_free(&r);
		test_cli_home(empty);
		rmdir(empty);
	}
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_reload COTDEV\n");
		return 2;
	}
	target = h_target_dev(argv[1]);
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("cotdev new scaffolds an app", false);
		return T_DONE();
	}
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		T_CHECK("cotdev run starts", false);
		h_rmtree(app);
		return T_DONE();
	}
	T_CHECK("cotdev run starts and prints its URL", true);

	test_hello();
	test_edit_read_your_writes();
	test_vim_save();
	test_template_error();
	test_add_files();
	test_break_and_fix();
	test_delete_and_remove_routes();
	test_noop_save();
	test_header_dependency();
	test_editor_temp_files();
	test_duplicate_route();
	T_CHECK("hello still answers at the end", get_is("/hello/x", 200, "edited by rename\n"));

	int code = h_server_stop(&srv);
	char name[128];
	snprintf(name, sizeof(name),
	         "the server exits cleanly on SIGTERM (status %d; "
	         "non-zero means a sanitizer report or leak)",
	         code);
	T_CHECK(name, code == 0);

	test_cli();
	h_thread_done();
	h_rmtree(app);
	return T_DONE();
}
