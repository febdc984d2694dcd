/*
 * html.h -- HTML escaping (html.c): the one table of the five characters
 * that must not reach a page raw, for text and double- or single-quoted
 * attributes alike. Error pages, templates, the dev console and the live
 * reload script tag all escape through it.
 */
#ifndef COT_HTML_H
#define COT_HTML_H

#include "arena.h"

/* The entity that stands for `ch` (&amp; &lt; &gt; &quot; &#39;), or NULL
 * when `ch` is written as it is. */
const char *html_entity(char ch);
/* `s` escaped, in the arena; `s` itself when nothing needs escaping, ""
 * for NULL. */
const char *html_escape(arena *a, const char *s);

#endif /* COT_HTML_H */
