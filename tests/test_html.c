/*
 * test_html.c -- runtime/html.c, the one HTML escaper: every special
 * character in text and attributes becomes its entity, everything else
 * (UTF-8 included) passes through, and a string with nothing to escape is
 * handed back as it is.
 */
#include <stdlib.h>

#include "html.h"
#include "t.h"

int
main(void)
{
	arena a;
	arena_init(&a);
	T_STREQ("html five specials", html_escape(&a, "<a href=\"x\">Tom & Jerry's</a>"),
	        "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
	T_STREQ("html already escaped text is escaped again", html_escape(&a, "&amp;"),
	        "&amp;amp;");
	T_STREQ("html utf-8 passes through", html_escape(&a, "caf\xc3\xa9 <b>"),
	        "caf\xc3\xa9 &lt;b&gt;");
	const char *plain = "handlers/index.c templates/a.html";
	T_CHECK("html nothing to escape: same string", html_escape(&a, plain) == plain);
	T_STREQ("html NULL is empty", html_escape(&a, NULL), "");
	T_STREQ("html empty", html_escape(&a, ""), "");
	T_STREQ("html only specials", html_escape(&a, "<<>>"), "&lt;&lt;&gt;&gt;");
	int other = 0;
	for (int ch = 1; ch < 256; ch++)
		if (html_entity((char)ch) != NULL && strchr("&<>\"'", ch) == NULL)
			other++;
	T_CHECK("html only & < > \" ' have entities", other == 0);
	arena_free(&a);
	return T_DONE();
}
