/*
 * home.c -- the front page: what this app is and where to go next.
 */
#include <cot.h>

static cot_result
home(cot_ctx *c)
{
	return cot_html(c, 200,
		"<!doctype html>\n"
		"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>cot app</title>\n"
		"<style>body{font:16px/1.6 system-ui,sans-serif;max-width:40rem;margin:3rem auto;"
		"padding:0 1rem;color:#1d1d1f}code{background:#f2f2f5;padding:.1rem .3rem;"
		"border-radius:4px}a{color:#0a58ca}</style>\n"
		"</head><body>\n"
		"<h1>Your cot app is running</h1>\n"
		"<p>This page is <code>handlers/home.c</code>. Edit it, save, and refresh: "
		"the new code answers at once, without a restart.</p>\n"
		"<ul>\n"
		"<li><a href=\"/hello/world\">/hello/world</a> &mdash; "
		"<code>handlers/hello.c</code>, a route with a parameter</li>\n"
		"<li><a href=\"/notes\">/notes</a> &mdash; <code>handlers/notes.c</code>, notes in SQLite (<code>schema.sql</code>)</li>\n"
		"</ul>\n"
		"</body></html>\n");
}

COT_ROUTES(
	COT_GET("/", home),
)
