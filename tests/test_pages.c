/*
 * test_pages.c -- the template app's pages over real HTTP: every page is
 * HTML in the shared layout, the stylesheet is served, user input shows up
 * escaped and never as markup, the new-note form answers 422 with the
 * entered values and each error by its field, a good form post redirects to
 * the new note, edit and delete forms work, and a missing page is the app's
 * own 404.
 *
 * usage: test_pages COTDEV
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "t.h"

static h_server srv;
static char app[4096];
static h_client *cl;

static const char *const html_hdrs[] = {"Accept: text/html", NULL};
static const char *const form_hdrs[] = {"Accept: text/html,application/xhtml+xml",
                                        "Content-Type: application/x-www-form-urlencoded", NULL};

static long
req(const char *method, const char *path, const char *const *hdrs, const char *body, h_resp *r)
{
	return h_request(cl, &srv, method, path, hdrs, body, r);
}

/* True when the response's Content-Type starts with `type`. */
static bool
has_type(const h_resp *r, const char *type)
{
	char *ct = h_resp_header(r, "Content-Type");
	bool ok = ct != NULL && strncmp(ct, type, strlen(type)) == 0;
	free(ct);
	return ok;
}

/* The layout's frame: nav with the three links and the stylesheet. */
static bool
has_layout(const h_resp *r)
{
	const char *b = r->body;
	return b != NULL && strstr(b, "<nav") && strstr(b, "href=\"/notes\"") &&
	       strstr(b, "href=\"/notes/new\"") && strstr(b, ">Home</a>") &&
	       strstr(b, "<link rel=\"stylesheet\" href=\"/static/app.css\">") &&
	       strstr(b, "<footer");
}

/* GET path as a browser; checks 200, text/html and the layout. */
static void
check_page(const char *path, const char *needle)
{
	char name[256];
	h_resp r;
	req("GET", path, html_hdrs, NULL, &r);
	snprintf(name, sizeof(name), "GET %s: 200 text/html", path);
	T_CHECK(name, r.status == 200 && has_type(&r, "text/html"));
	snprintf(name, sizeof(name), "GET %s: in the layout", path);
	T_CHECK(name, has_layout(&r));
	snprintf(name, sizeof(name), "GET %s: shows \"%s\"", path, needle);
	T_CHECK(name, r.body && strstr(r.body, needle));
	h_resp_free(&r);
}

static void
test_pages(void)
{
	check_page("/", "<h1>Your cot app is running</h1>");
	check_page("/notes", "No notes yet");
	check_page("/notes/new", "<form");
	h_resp r;
	req("GET", "/static/app.css", NULL, NULL, &r);
	T_CHECK("GET /static/app.css: 200 text/css", r.status == 200 && has_type(&r, "text/css"));
	T_CHECK("... light and dark", r.body && strstr(r.body, "prefers-color-scheme: dark"));
	h_resp_free(&r);
	req("GET", "/hello/world", NULL, NULL, &r);
	T_STREQ("hello.c still says hello", r.body, "Hello, world!\n");
	h_resp_free(&r);
}

#define EVIL_TITLE "<script>alert(1)</script> & \"quotes\""
#define EVIL_FORM                                                                                  \
	"title=%3Cscript%3Ealert(1)%3C%2Fscript%3E+%26+%22quotes%22"                               \
	"&body=%3Cimg+src%3Dx+onerror%3Dalert(2)%3E"

static bool
shown_escaped(const char *body)
{
	return body != NULL && strstr(body, "<script>alert") == NULL &&
	       strstr(body, "<img src=x") == NULL &&
	       strstr(body, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;");
}

static void
test_escaping(void)
{
	h_resp r;
	req("POST", "/notes", form_hdrs, EVIL_FORM, &r);
	char *loc = h_resp_header(&r, "Location");
	T_CHECK("form POST -> 303", r.status == 303);
	T_STREQ("... to the new note", loc, "/notes/1");
	free(loc);
	h_resp_free(&r);
	req("GET", "/notes", html_hdrs, NULL, &r);
	T_CHECK("list shows the title escaped", r.status == 200 && shown_escaped(r.body));
	T_CHECK("... linked to the note",
	        r.body && strstr(r.body, "<a href=\"/notes/1\">&lt;script"));
	T_CHECK("... no empty state", r.body && !strstr(r.body, "No notes yet"));
	h_resp_free(&r);
	req("GET", "/notes/1", html_hdrs, NULL, &r);
	T_CHECK("note page: 200 in the layout", r.status == 200 && has_layout(&r));
	T_CHECK("note page shows title and body escaped",
	        shown_escaped(r.body) && strstr(r.body, "&lt;img src=x onerror=alert(2)&gt;"));
	T_CHECK("... edit and delete forms",
	        r.body && strstr(r.body, "method=\"post\" action=\"/notes/1\"") &&
	                strstr(r.body, "method=\"post\" action=\"/notes/1/delete\""));
	h_resp_free(&r);
	static const char *const json_hdrs[] = {"Accept: application/json", NULL};
	req("GET", "/notes/1", json_hdrs, NULL, &r);
	T_CHECK("JSON API keeps the raw title",
	        r.status == 200 && r.body &&
	                strstr(r.body, "\"title\":\"<script>alert(1)</script> & \\\"quotes\\\"\""));
	h_resp_free(&r);
}

static void
test_form_errors(void)
{
	h_resp r;
	req("POST", "/notes", form_hdrs, "title=++&body=kept+%3Cb%3Etext%3C%2Fb%3E", &r);
	T_CHECK("empty title: 422 HTML", r.status == 422 && has_type(&r, "text/html"));
	T_CHECK("... the form in the layout",
	        has_layout(&r) && strstr(r.body, "action=\"/notes\""));
	const char *title = r.body ? strstr(r.body, "name=\"title\"") : NULL;
	const char *msg = r.body ? strstr(r.body, "is required") : NULL;
	const char *body = r.body ? strstr(r.body, "name=\"body\"") : NULL;
	T_CHECK("... error next to the title field",
	        title && msg && body && title < msg && msg < body);
	T_CHECK("... the entered body kept (escaped)",
	        body && strstr(body, ">\nkept &lt;b&gt;text&lt;/b&gt;</textarea>"));
	h_resp_free(&r);
	static const char *const json_hdrs[] = {"Content-Type: application/json",
	                                        "Accept: application/json", NULL};
	req("POST", "/notes", json_hdrs, "{\"title\":\"\"}", &r);
	T_CHECK("JSON clients still get problem+json",
	        r.status == 422 && has_type(&r, "application/problem+json") && r.body &&
	                strstr(r.body, "\"title\": [\n      \"is required\""));
	h_resp_free(&r);
	req("POST", "/notes/1", form_hdrs, "title=&body=new+text", &r);
	T_CHECK("edit with empty title: 422 note page, error shown",
	        r.status == 422 && has_layout(&r) && strstr(r.body, "is required") &&
	                strstr(r.body, ">\nnew text</textarea>") &&
	                strstr(r.body, "<details class=\"edit\" open"));
	h_resp_free(&r);
}

static void
test_edit_delete(void)
{
	h_resp r;
	req("POST", "/notes", form_hdrs, "title=second&body=b", &r);
	char *loc = h_resp_header(&r, "Location");
	T_CHECK("valid form POST -> 303 to the new note",
	        r.status == 303 && loc && strcmp(loc, "/notes/2") == 0);
	free(loc);
	h_resp_free(&r);
	req("POST", "/notes/2", form_hdrs, "title=second+edited&body=c", &r);
	loc = h_resp_header(&r, "Location");
	T_CHECK("edit form -> 303 back to the note",
	        r.status == 303 && loc && strcmp(loc, "/notes/2") == 0);
	free(loc);
	h_resp_free(&r);
	req("GET", "/notes/2", html_hdrs, NULL, &r);
	T_CHECK("... the note changed", r.body && strstr(r.body, "<h1>second edited</h1>"));
	h_resp_free(&r);
	req("POST", "/notes/2/delete", form_hdrs, "", &r);
	loc = h_resp_header(&r, "Location");
	T_CHECK("delete form -> 303 to the list",
	        r.status == 303 && loc && strcmp(loc, "/notes") == 0);
	free(loc);
	h_resp_free(&r);
	req("GET", "/notes", html_hdrs, NULL, &r);
	T_CHECK("... gone from the list", r.body && !strstr(r.body, "second edited"));
	h_resp_free(&r);
}

static void
test_not_found(void)
{
	h_resp r;
	req("GET", "/no/such/page", html_hdrs, NULL, &r);
	T_CHECK("unknown page: 404 HTML", r.status == 404 && has_type(&r, "text/html"));
	T_CHECK("... the app's page in the layout",
	        has_layout(&r) && strstr(r.body, "Nothing here") && strstr(r.body, "href=\"/\""));
	h_resp_free(&r);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_pages COTDEV\n");
		return 2;
	}
	h_target t = h_target_dev(argv[1]);
	char err[512];
	T_CHECK("scaffold", h_scaffold(&t, app, sizeof(app)) == 0);
	if (h_server_start(&t, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok server starts: %s\n", err);
		return 1;
	}
	cl = h_client_new();
	test_pages();
	test_escaping();
	test_form_errors();
	test_edit_delete();
	test_not_found();
	h_client_free(cl);
	h_thread_done();
	T_CHECK("server exits cleanly", h_server_stop(&srv) == 0);
	h_rmtree(app);
	return T_DONE();
}
