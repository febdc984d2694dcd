/*
 * home.c -- the front page: what this app is and where to go next.
 *
 * Try the reload: change the heading below, save, and the page open in your
 * browser reloads itself with the new text. No restart, no refresh.
 */
#include <cot.h>
#include <jansson.h> /* after cot.h: cot.h makes it work under tcc */

/* Markup written here, by you: templates/home.html prints it as is ({{{heading}}}).
 * Anything a visitor sends goes through {{name}}, which escapes it. */
#define HEADING "<h1>Your cot app is running</h1>"

static cot_result
home(cot_ctx *c)
{
	json_t *page = json_pack("{s:s, s:s}", "title", "Home", "heading", HEADING);
	cot_result r = cot_render(c, 200, "home.html", page);
	json_decref(page);
	return r;
}

/* The same heading without a template or layout: cot_html sends its printf
 * format as it is, nothing escaped -- fine for text you wrote yourself. */
static cot_result
plain(cot_ctx *c)
{
	return cot_html(c, 200,
	                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                "<title>plain</title></head><body>\n" HEADING "\n"
	                "<p>Written with <code>cot_html</code>: no template, no layout. "
	                "<a href=\"/\">Back home</a></p>\n</body></html>\n");
}

COT_ROUTES(COT_GET("/", home), COT_GET("/plain", plain), )
