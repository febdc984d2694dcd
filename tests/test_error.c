/*
 * test_error.c -- runtime/error.c: content negotiation and the three bodies
 * (problem+json per RFC 9457, HTML, text).
 *
 * Linked with the runtime like the other unit tests, and driven through
 * error_respond only: a context without a connection takes its request
 * headers from c->req_headers (cot_header), so each case sets the Accept
 * header it negotiates with and reads the body error_respond chose.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "error.h"
#include "t.h"

enum error_format { FORMAT_TEXT, FORMAT_HTML, FORMAT_JSON };

static void
ctx_setup(cot_ctx *c, const char *path)
{
	ctx_init(c);
	c->method = "GET";
	c->path = path;
	c->raw_url = path;
	snprintf(c->request_id, sizeof(c->request_id), "%s", "req-1234");
}

/* error_respond on c with `accept` as the request's Accept (NULL: none). */
static void
respond(cot_ctx *c, const char *accept, int status, const char *detail, const char *trace)
{
	static header_kv h;
	h = (header_kv){"Accept", accept, NULL};
	c->req_headers = accept != NULL ? &h : NULL;
	error_respond(c, status, detail, trace);
	c->req_headers = NULL;
}

/* The format error_respond picked for `accept`, read from its content type. */
static enum error_format
negotiate(const char *accept)
{
	cot_ctx c;
	ctx_setup(&c, "/n");
	respond(&c, accept, 404, "d", NULL);
	enum error_format f =
	        strcmp(c.content_type, "application/problem+json") == 0 ? FORMAT_JSON
	        : strncmp(c.content_type, "text/html", 9) == 0          ? FORMAT_HTML
	        : strncmp(c.content_type, "text/plain", 10) == 0
	                ? FORMAT_TEXT
	                : (enum error_format) - 1; /* no format of ours: fails the case */
	ctx_free(&c);
	return f;
}

static void
test_negotiate(void)
{
	static const struct {
		const char *accept;
		enum error_format want;
		const char *name;
	} cases[] = {
	        {NULL, FORMAT_TEXT, "no Accept -> text"},
	        {"", FORMAT_TEXT, "empty Accept -> text"},
	        {"*/*", FORMAT_TEXT, "*/* (curl) -> text"},
	        {"application/json", FORMAT_JSON, "application/json -> problem+json"},
	        {"application/problem+json", FORMAT_JSON,
	         "application/problem+json -> problem+json"},
	        {"application/*", FORMAT_JSON, "application/* -> problem+json"},
	        {"text/html", FORMAT_HTML, "text/html -> HTML"},
	        {"TEXT/HTML", FORMAT_HTML, "media types are case-insensitive"},
	        {"text/plain", FORMAT_TEXT, "text/plain -> text"},
	        {"text/*", FORMAT_TEXT, "text/* -> text"},
	        {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
	         "*/*;q=0.8",
	         FORMAT_HTML, "Chrome's Accept -> HTML"},
	        {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", FORMAT_HTML,
	         "Firefox's Accept -> HTML"},
	        {"application/json, text/plain, */*", FORMAT_TEXT,
	         "axios default (json and text equal) -> text"},
	        {"application/json, text/plain;q=0.5", FORMAT_JSON,
	         "json over lower-q text -> json"},
	        {"text/plain;q=0.1, application/json;q=0.9", FORMAT_JSON,
	         "q-values decide, not order"},
	        {"application/json;q=0.5, text/html;q=0.8", FORMAT_HTML, "higher-q HTML wins"},
	        {"application/json;q=0, */*", FORMAT_TEXT, "q=0 refuses json"},
	        {"application/json ; q=0.9", FORMAT_JSON, "spaces around parameters"},
	        {"application/json;Q=0.7, text/html;q=0.6", FORMAT_JSON, "Q= is a q-value too"},
	        {"image/png", FORMAT_TEXT, "nothing acceptable -> text"},
	        {"text/html;level=1;q=0.2, application/json", FORMAT_JSON,
	         "q after another parameter"},
	        {"*/*;q=0.1, application/problem+json", FORMAT_JSON, "wildcard low, problem+json"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum error_format got = negotiate(cases[i].accept);
		if (got != cases[i].want)
			printf("# Accept \"%s\": got %d want %d\n",
			       cases[i].accept ? cases[i].accept : "(null)", got, cases[i].want);
		T_CHECK(cases[i].name, got == cases[i].want);
	}
	T_CHECK("q-value of a range with q=0.3",
	        negotiate("text/html;q=0.3, application/json;q=0.4") == FORMAT_JSON &&
	                negotiate("text/html;q=0.3, application/json;q=0.2") == FORMAT_HTML);
	T_CHECK("the most specific range decides",
	        negotiate("text/*;q=0.2, text/html;q=0.9, application/json;q=0.5") == FORMAT_HTML &&
	                negotiate("text/*;q=0.9, text/plain;q=0.1, text/html;q=0.1, "
	                          "application/json;q=0.5") == FORMAT_JSON);
	T_CHECK("an unmatched type has q 0", negotiate("text/html") == FORMAT_HTML &&
	                                             negotiate("application/json") == FORMAT_JSON);
}

static void
test_json(void)
{
	cot_ctx c;
	ctx_setup(&c, "/notes/7");
	error_dev_mode = true;
	respond(&c, "application/json", 404, "no note with id 7", "line one\nline two");
	T_STREQ("problem+json content type", c.content_type, "application/problem+json");
	json_error_t jerr;
	json_t *j = json_loadb(c.resp_body, c.resp_len, 0, &jerr);
	T_CHECK("the body is a JSON object", json_is_object(j));
	T_STREQ("type", json_string_value(json_object_get(j, "type")), "about:blank");
	T_STREQ("title", json_string_value(json_object_get(j, "title")), "Not Found");
	T_CHECK("status", json_integer_value(json_object_get(j, "status")) == 404);
	T_STREQ("detail", json_string_value(json_object_get(j, "detail")), "no note with id 7");
	T_STREQ("instance is the path", json_string_value(json_object_get(j, "instance")),
	        "/notes/7");
	T_STREQ("request_id", json_string_value(json_object_get(j, "request_id")), "req-1234");
	json_t *trace = json_object_get(j, "trace");
	T_CHECK("development: the trace is an array of lines",
	        json_array_size(trace) == 2 &&
	                strcmp(json_string_value(json_array_get(trace, 1)), "line two") == 0);
	json_decref(j);
	ctx_free(&c);

	ctx_setup(&c, "/x");
	error_dev_mode = false;
	respond(&c, "application/json", 500, NULL, "secret trace");
	j = json_loadb(c.resp_body, c.resp_len, 0, &jerr);
	T_CHECK("production: no trace in problem+json", json_object_get(j, "trace") == NULL);
	T_CHECK("no detail given: no detail member", json_object_get(j, "detail") == NULL);
	T_CHECK("production body still has status and request_id",
	        json_integer_value(json_object_get(j, "status")) == 500 &&
	                json_object_get(j, "request_id") != NULL);
	json_decref(j);
	ctx_free(&c);

	ctx_setup(&c, "/q\"uote");
	respond(&c, "application/json", 400, "bad \"input\"\n<tag>", NULL);
	j = json_loadb(c.resp_body, c.resp_len, 0, &jerr);
	T_STREQ("quotes and newlines survive JSON encoding",
	        json_string_value(json_object_get(j, "detail")), "bad \"input\"\n<tag>");
	json_decref(j);
	ctx_free(&c);
}

static void
test_html_and_text(void)
{
	cot_ctx c;
	ctx_setup(&c, "/p");
	error_dev_mode = true;
	respond(&c, "text/html", 500, "<script>alert(1)</script> & \"q\"", "at <frame>");
	T_CHECK("HTML content type", strncmp(c.content_type, "text/html", 9) == 0);
	T_CHECK("HTML escapes the detail",
	        strstr(c.resp_body, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;") !=
	                        NULL &&
	                strstr(c.resp_body, "<script>") == NULL);
	T_CHECK("HTML shows the escaped trace in development",
	        strstr(c.resp_body, "at &lt;frame&gt;") != NULL);
	T_CHECK("HTML names status, title and request id",
	        strstr(c.resp_body, "500 Internal Server Error") != NULL &&
	                strstr(c.resp_body, "req-1234") != NULL);
	ctx_free(&c);

	ctx_setup(&c, "/p");
	error_dev_mode = false;
	respond(&c, "text/html", 500, "d", "hidden trace");
	T_CHECK("production HTML hides the trace", strstr(c.resp_body, "hidden trace") == NULL);
	ctx_free(&c);

	ctx_setup(&c, "/p");
	error_dev_mode = true;
	respond(&c, "text/plain", 500, "handlers/x.c:6:9: error: oops",
	        "handlers/x.c:6:9: error: oops\n    6 | int x = 1 2;\n      |         ^");
	T_CHECK("text content type", strncmp(c.content_type, "text/plain", 10) == 0);
	T_CHECK("text starts with status, title and detail",
	        strncmp(c.resp_body, "500 Internal Server Error: handlers/x.c:6:9: error: oops\n",
	                57) == 0);
	T_CHECK("text does not repeat the detail line of the trace",
	        strstr(strstr(c.resp_body, "\n") + 1, "error: oops") == NULL);
	T_CHECK("text shows the source line and caret",
	        strstr(c.resp_body, "    6 | int x = 1 2;\n      |         ^\n") != NULL);
	T_CHECK("text ends with the request id", strstr(c.resp_body, "request req-1234\n") != NULL);
	ctx_free(&c);

	/* error_respond with no Accept at all: text, status recorded. */
	ctx_setup(&c, "/none");
	error_respond(&c, 404, "no route for GET /none", NULL);
	T_CHECK("error_respond records the status", c.status == 404 && c.responded);
	T_STREQ("error_respond without Accept renders text", c.resp_body,
	        "404 Not Found: no route for GET /none\nrequest req-1234\n");
	ctx_free(&c);
}

static void
test_titles(void)
{
	T_STREQ("404 title", error_title(404), "Not Found");
	T_STREQ("405 title", error_title(405), "Method Not Allowed");
	T_STREQ("413 title", error_title(413), "Content Too Large");
	T_STREQ("unknown 5xx", error_title(599), "Server Error");
	T_STREQ("unknown 4xx", error_title(499), "Client Error");
}

int
main(void)
{
	test_negotiate();
	test_json();
	test_html_and_text();
	test_titles();
	return T_DONE();
}
