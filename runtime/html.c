/*
 * html.c -- HTML escaping: one table, used by every page the runtime and the
 * dev tool write (error pages, templates, console, live reload).
 */
#include "html.h"

#include <string.h>

const char *
html_entity(char ch)
{
	switch (ch) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;"; /* &apos; is not HTML 4 */
	default:
		return NULL;
	}
}

const char *
html_escape(arena *a, const char *s)
{
	if (s == NULL)
		return "";
	size_t n = 0;
	for (const char *p = s; *p; p++) {
		const char *e = html_entity(*p);
		n += e ? strlen(e) : 1;
	}
	if (n == strlen(s))
		return s;
	char *out = arena_alloc(a, n + 1), *o = out;
	for (const char *p = s; *p; p++) {
		const char *e = html_entity(*p);
		if (e != NULL)
			o = stpcpy(o, e);
		else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}
