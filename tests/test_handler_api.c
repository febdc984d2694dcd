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
	"COT_ROUTES(\n"
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
	T_CHECK("cot_query_int: a number in range", get("/page?page=7&offset=-10", &r) == 200 &&
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
	T_CHECK("cot_query_int: under min -> 400", get("/page?offset=-11", &r) == 400 &&
	        strstr(r.body, "offset"));
	h_resp_free(&r);
	T_CHECK("cot_query_int: overflow -> 400", get("/page?page=99999999999999999999", &r) == 400);
	h_resp_free(&r);
	T_CHECK("cot_query_int: '+' or spaces are not numbers",
	        get("/page?page=%207", &r) == 400);
	h_resp_free(&r);
}

static void
test_small(void)
{
	h_resp r;
	h_client *cl = h_client_new();
	T_CHECK("cot_no_content: 204", h_request(cl, &srv, "DELETE", "/nothing", NULL, NULL,
	        &r) == 204 && r.body_len == 0);
	T_CHECK("... without a Content-Type", header_count(&r, "Content-Type") == 0);
	h_resp_free(&r);
	h_client_free(cl);
	T_CHECK("cot_vfail from an app helper: status and formatted message",
	        get("/denied/files", &r) == 403 && strstr(r.body, "no access to files (level 7)"));
	h_resp_free(&r);
	T_CHECK("cot_vsprintf from an app helper", get("/label/ab", &r) == 200 &&
	        strcmp(r.body, "ab-42\n") == 0);
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
	const char *flags[] = { "--port", "0", "--quiet", "--db", "data/my.db", NULL };
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
	static const char *const hdrs[] = { "Content-Type: application/json",
	                                    "Accept: application/json", NULL };
	T_CHECK("a write lands in the --db database",
	        h_request(cl, &s2, "POST", "/notes", hdrs, "{\"title\":\"elsewhere\"}", &r) == 201);
	h_resp_free(&r);
	T_CHECK("... created at the path given", exists(h_path(path, sizeof(path),
	        "%s/data/my.db", dir)));
	T_CHECK("... its -wal beside it", exists(h_path(path, sizeof(path), "%s/data/my.db-wal",
	        dir)));
	T_CHECK("... and no app.db in the app folder", !exists(h_path(path, sizeof(path),
	        "%s/app.db", app)) && !exists(h_path(path, sizeof(path), "%s/app.db-wal", app)));
	T_CHECK("... the schema was migrated there", h_request(cl, &s2, "GET", "/notes", hdrs,
	        NULL, &r) == 200 && strstr(r.body, "\"title\":\"elsewhere\""));
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
	const char *init[] = { git, "-C", app, "init", "-q", NULL };
	h_cmd_result r;
	h_run_cmd(init, H_DEADLINE_MS, &r);
	bool ok = r.exit_code == 0;
	h_cmd_result_free(&r);
	const char *ignored[] = { git, "-C", app, "check-ignore", "app.db", "app.db-wal",
	                          "app.db-shm", ".env", "secrets/key.txt", "build/app",
	                          ".cot-export-bin", NULL };
	h_run_cmd(ignored, H_DEADLINE_MS, &r);
	ok = ok && r.exit_code == 0 && strstr(r.out, "app.db-wal") && strstr(r.out, ".env") &&
	     strstr(r.out, "secrets/key.txt") && strstr(r.out, "build/app") &&
	     strstr(r.out, ".cot-export-bin");
	T_CHECK("git ignores the database, its -wal/-shm, secrets and build output", ok);
	if (!ok)
		printf("# git check-ignore (%d): %s%s\n", r.exit_code, r.out, r.err);
	h_cmd_result_free(&r);
	const char *kept[] = { git, "-C", app, "check-ignore", "handlers/notes.c",
	                       "schema.sql", "templates/layout.html", NULL };
	h_run_cmd(kept, H_DEADLINE_MS, &r);
	T_CHECK("... but not the app's code, schema or templates", r.exit_code == 1);
	h_cmd_result_free(&r);
}

static void
test_check(void)
{
	if (!dev_only("cotdev check output"))
		return;
	const char *check[] = { target.cotdev, "check", app, NULL };
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
	T_CHECK("write the app", h_write_app_file(app, "handlers/api.c", api_src) == 0 &&
	        h_write_app_file(app, "handlers/zz_mw.c", mw_src) == 0);
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start %s: %s\n", argv[1], err);
		h_rmtree(app);
		return 1;
	}
	test_query_int();
	test_small();
	h_thread_done();
	T_CHECK("server exits 0 at SIGTERM", h_server_stop(&srv) == 0);
	test_check();
	h_rmtree(app);
	return T_DONE();
}
