/*
 * test_refuse.c -- what the server refuses to let an app or a client get
 * wrong quietly, over HTTP against `cotdev run` and the exported binary:
 *
 *   - a response header with CR/LF (cot_redirect, cot_set_header) is a loud
 *     500 whose trace names the call and the app's line, and is logged;
 *   - a SQL error at request time keeps its location: the answer (dev) and
 *     the log (both) name handlers/x.c:LINE, the call and the SQL;
 *   - the Host allow-list: the dev server answers only local names (DNS
 *     rebinding), the export only --allowed-hosts when given;
 *   - HTML pages carry a Content-Security-Policy the template satisfies.
 *
 * usage: test_refuse COTDEV | export:COTDEV
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];

/* The app's handler; each "//@NAME" comment marks a line the tests look for. */
static const char refuse_src[] =
        "#include <cot.h>\n"
        "\n"
        "static const char *const dynamic_sql = \"SELECT imag FROM notes\";\n"
        "\n"
        "static cot_result\n"
        "redir_ok(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_redirect(c, 302, \"/x?a=1\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "redir_bad(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_redirect(c, 302, \"/x\\r\\nSet-Cookie: a=1\"); //@redir\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "header_bad(cot_ctx *c)\n"
        "{\n"
        "\tcot_set_header(c, \"X-Note\", \"one\\ntwo\"); //@header\n"
        "\treturn cot_text(c, 200, \"sent\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "sql_bad(cot_ctx *c)\n"
        "{\n"
        "\tcot_row *r = cot_db_one(c, dynamic_sql); //@sql\n"
        "\treturn cot_text(c, 200, \"%p\\n\", (void *)r);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/redir-ok\", redir_ok),\n"
        "\tCOT_GET(\"/redir-bad\", redir_bad),\n"
        "\tCOT_GET(\"/header-bad\", header_bad),\n"
        "\tCOT_GET(\"/sql-bad\", sql_bad),\n"
        ")\n";

/* Line of the marker in refuse_src. */
static int
line_of(const char *marker)
{
	const char *p = strstr(refuse_src, marker);
	int line = 1;
	for (const char *q = refuse_src; p != NULL && q < p; q++)
		line += *q == '\n';
	return p ? line : -1;
}

static long
get(const char *path, const char *const *headers, h_resp *r)
{
	h_client *k = h_client_new();
	long st = h_request(k, &srv, "GET", path, headers, NULL, r);
	h_client_free(k);
	return st;
}

/* ==== header values ==================================================== */

static void
check_loud(const char *name, const char *path, const char *call, const char *marker)
{
	char n[256], site[128];
	h_resp r;
	size_t mark = h_server_mark(&srv);
	get(path, NULL, &r);
	snprintf(site, sizeof(site), "handlers/refuse.c:%d", line_of(marker));
	snprintf(n, sizeof(n), "%s: 500", name);
	T_CHECK(n, r.status == 500);
	char *loc = h_resp_header(&r, "Location"), *cookie = h_resp_header(&r, "Set-Cookie");
	snprintf(n, sizeof(n), "%s: nothing of the value became a header", name);
	T_CHECK(n, loc == NULL && cookie == NULL);
	snprintf(n, sizeof(n), "%s: the answer names %s and the bad byte", name, call);
	T_CHECK(n,
	        r.body && strstr(r.body, call) && (strstr(r.body, "CR") || strstr(r.body, "LF")));
	if (target.reloads) {
		snprintf(n, sizeof(n), "%s: dev trace names %s", name, site);
		T_CHECK(n, r.body && strstr(r.body, site));
		if (r.body && !strstr(r.body, site))
			printf("# body: %s\n", r.body);
	}
	snprintf(n, sizeof(n), "%s: logged with %s", name, site);
	T_CHECK(n, h_server_wait_output(&srv, mark, site, H_DEADLINE_MS));
	free(loc);
	free(cookie);
	h_resp_free(&r);
}

static void
test_header_values(void)
{
	h_resp r;
	get("/redir-ok", NULL, &r);
	char *loc = h_resp_header(&r, "Location");
	T_CHECK("a good redirect: 302 with its Location",
	        r.status == 302 && loc && strcmp(loc, "/x?a=1") == 0);
	free(loc);
	h_resp_free(&r);
	check_loud("cot_redirect with CR LF", "/redir-bad", "cot_redirect", "//@redir");
	check_loud("cot_set_header with LF", "/header-bad", "cot_set_header", "//@header");
}

/* ==== SQL errors at request time ======================================= */

static void
test_sql_location(void)
{
	h_resp r;
	char site[128];
	snprintf(site, sizeof(site), "handlers/refuse.c:%d cot_db_one", line_of("//@sql"));
	size_t mark = h_server_mark(&srv);
	get("/sql-bad", NULL, &r);
	T_CHECK("SQL error at run time: 500", r.status == 500);
	T_CHECK("SQL error: the answer says what",
	        r.body && strstr(r.body, "no such column: imag"));
	if (target.reloads) {
		T_CHECK("SQL error: dev answer names file:line and the call",
		        r.body && strstr(r.body, site));
		T_CHECK("SQL error: dev answer shows the SQL",
		        r.body && strstr(r.body, "SELECT imag FROM notes"));
		if (r.body && !strstr(r.body, site))
			printf("# body: %s\n", r.body);
	} else {
		T_CHECK("SQL error: the export's client gets no SQL",
		        r.body && !strstr(r.body, "SELECT imag"));
	}
	h_resp_free(&r);
	const char *json[] = {"Accept: application/json", NULL};
	get("/sql-bad", json, &r);
	if (target.reloads)
		T_CHECK("SQL error: problem+json trace names file:line",
		        r.body && strstr(r.body, site));
	h_resp_free(&r);
	T_CHECK("SQL error: the log names file:line and the SQL",
	        h_server_wait_output(&srv, mark, site, H_DEADLINE_MS) &&
	                h_server_wait_output(&srv, mark, "SELECT imag FROM notes", H_DEADLINE_MS));
}

/* ==== Host allow-list and Content-Security-Policy ====================== */

static long
get_host(const char *path, const char *host, h_resp *r)
{
	char h[256];
	snprintf(h, sizeof(h), "Host: %s", host);
	const char *headers[] = {h, NULL};
	return get(path, headers, r);
}

/*
 * Both servers run with --allowed-hosts localhost,127.0.0.1,.example.org:
 * the dev server adds it to its local names, the export checks only it.
 */
static void
test_hosts(void)
{
	h_resp r;
	get_host("/", "attacker.example", &r);
	T_CHECK("Host attacker.example: 421", r.status == 421);
	T_CHECK("421 says why and what to do",
	        r.body && strstr(r.body, "attacker.example") && strstr(r.body, "--allowed-hosts"));
	h_resp_free(&r);
	get_host("/", "attacker.example:80", &r);
	T_CHECK("Host attacker.example:80: 421", r.status == 421);
	h_resp_free(&r);
	get_host("/", "localhost.attacker.example", &r);
	T_CHECK("a name that only starts like localhost: 421", r.status == 421);
	h_resp_free(&r);
	get_host("/", "localhost:1234", &r);
	T_CHECK("Host localhost, any port: 200", r.status == 200);
	h_resp_free(&r);
	get_host("/", "LOCALHOST", &r);
	T_CHECK("Host names compare without case: 200", r.status == 200);
	h_resp_free(&r);
	get_host("/", "app.example.org:8080", &r);
	T_CHECK("a name under an allowed .example.org: 200", r.status == 200);
	h_resp_free(&r);
	get_host("/", "example.org", &r);
	T_CHECK(".example.org allows example.org itself: 200", r.status == 200);
	h_resp_free(&r);
	get_host("/", "badexample.org", &r);
	T_CHECK(".example.org does not allow badexample.org: 421", r.status == 421);
	h_resp_free(&r);
	if (target.reloads) {
		get_host("/", "[::1]:8080", &r);
		T_CHECK("dev: Host [::1]: 200", r.status == 200);
		h_resp_free(&r);
		get_host("/_cot/routes", "attacker.example", &r);
		T_CHECK("dev: /_cot/ refuses a foreign Host too (DNS rebinding)", r.status == 421);
		h_resp_free(&r);
		get_host("/_cot/routes", "127.0.0.1:9", &r);
		T_CHECK("dev: /_cot/ answers 127.0.0.1", r.status == 200);
		h_resp_free(&r);
	}
}

static void
test_csp(void)
{
	h_resp r;
	get("/", NULL, &r);
	char *csp = h_resp_header(&r, "Content-Security-Policy");
	T_CHECK("an HTML page carries a Content-Security-Policy without inline scripts",
	        r.status == 200 && csp && strstr(csp, "script-src 'self';") &&
	                !strstr(csp, "script-src 'self' 'unsafe-inline'"));
	free(csp);
	h_resp_free(&r);
	const char *html[] = {"Accept: text/html", NULL};
	get("/sql-bad", html, &r);
	csp = h_resp_header(&r, "Content-Security-Policy");
	T_CHECK("an HTML error page carries it too", r.status == 500 && csp != NULL);
	free(csp);
	h_resp_free(&r);
	get("/redir-ok", NULL, &r);
	csp = h_resp_header(&r, "Content-Security-Policy");
	T_CHECK("a non-HTML answer does not", r.status == 302 && csp == NULL);
	free(csp);
	h_resp_free(&r);
}

/* ==== main ============================================================= */

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	static const char *const flags[] = {"--port", "0", "--allowed-hosts",
	                                    "localhost,127.0.0.1,.example.org", NULL};
	static char cotdev[4096];
	target = h_target_dev(argv[1]);
	if (realpath(target.cotdev, cotdev) == NULL) {
		printf("not ok %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	target.cotdev = cotdev;
	h_target_flags(&target, flags);
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("scaffold an app", false);
		return T_DONE();
	}
	T_CHECK("write the app", h_write_app_file(app, "handlers/refuse.c", refuse_src) == 0);
	T_CHECK("enter the app directory", chdir(app) == 0);
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start %s: %s\n", argv[1], err);
		h_rmtree(app);
		return 1;
	}
	test_header_values();
	test_sql_location();
	test_hosts();
	test_csp();
	h_thread_done();
	T_CHECK("server exits 0 at SIGTERM", h_server_stop(&srv) == 0);
	h_rmtree(app);
	return T_DONE();
}
