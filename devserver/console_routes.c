/*
 * console_routes.c -- the app's routes for the dev console, and "did you
 * mean" on the dev server's 404.
 *
 * The list is read under the reloader lock (reloader_each_route): a route's
 * handler function is named from its module's line table, which a reload
 * may free once the lock is let go. A file that does not compile keeps its
 * routes, marked with the first line of its error.
 *
 * Nearest matches. A 404 means no pattern matched the path, so each route
 * is scored by how far the path is from the route instantiated with the
 * path's own segments: the pattern's ":id" takes the path's segment at that
 * place (an empty one if the path is shorter), then the Levenshtein
 * distance of the two strings. "/note/5" is 1 away from "/notes/:id"
 * ("/notes/5"), "/hello" 1 from "/hello/:name" ("/hello/"). Routes within
 * a third of the path's length (at least 2) are suggested, nearest first,
 * at most CONSOLE_SUGGEST; the HTML page lists every route below them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../runtime/ctx.h"
#include "../runtime/html.h"
#include "../runtime/router.h"
#include "console_internal.h"
#include "reloader.h"
#include "tcclines.h"

#define CONSOLE_SUGGEST  3
#define CONSOLE_MAX_PATH 512 /* longer paths are not scored */

/* ==== the list ========================================================= */

static void
console_routes_add(void *arg, const char *method, const char *pattern, const binding *b)
{
	json_t *list = arg;
	const char *file = NULL, *func = NULL;
	int line = 0;
	if (b->fn != NULL && b->debug != NULL)
		tcclines_lookup(b->debug, (uintptr_t)b->fn, &file, &line, &func);
	json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s?}", "method", method, "pattern", pattern,
	                      "file", b->file ? b->file : "", "line", b->line, "function", func);
	if (o == NULL)
		return;
	if (b->error != NULL)
		json_object_set_new(o, "error", json_stringn(b->error, strcspn(b->error, "\n")));
	char *href = b->file ? console_editor_href(b->file, b->line > 0 ? b->line : 1) : NULL;
	if (href != NULL)
		json_object_set_new(o, "href", json_string(href));
	free(href);
	json_array_append_new(list, o);
}

json_t *
console_routes_json(void)
{
	json_t *list = json_array();
	reloader_each_route(console_routes_add, list);
	return list;
}

char *
console_routes_text(size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	if (f == NULL)
		return NULL;
	reloader_routes(f);
	fclose(f);
	return text;
}

/* ==== nearest matches ================================================== */

/* Levenshtein distance of a and b (both at most CONSOLE_MAX_PATH long). */
static size_t
console_distance(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	size_t row[CONSOLE_MAX_PATH + 1];
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[nb];
}

/* The pattern with each ":param" replaced by the path's segment there. */
static void
console_instantiate(const char *pattern, const char *path, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = pattern, *q = path;
	while (*p && o + 1 < outlen) {
		if (*p == '/') {
			out[o++] = '/';
			p++;
			q += *q == '/';
			continue;
		}
		size_t plen = strcspn(p, "/"), qlen = strcspn(q, "/");
		const char *src = *p == ':' ? q : p;
		size_t n = *p == ':' ? qlen : plen;
		if (n > outlen - o - 1)
			n = outlen - o - 1;
		memcpy(out + o, src, n);
		o += n;
		p += plen;
		q += qlen;
	}
	out[o] = '\0';
}

/* The routes nearest to the path, nearest first, the request's own method
 * first among equals (new reference). */
static json_t *
console_suggest(const char *method, const char *path, json_t *routes)
{
	json_t *out = json_array();
	if (strlen(path) > CONSOLE_MAX_PATH / 2)
		return out;
	size_t limit = strlen(path) / 3 > 2 ? strlen(path) / 3 : 2;
	size_t best[CONSOLE_SUGGEST];
	json_t *pick[CONSOLE_SUGGEST];
	int n = 0;
	size_t i;
	json_t *r;
	json_array_foreach(routes, i, r)
	{
		char inst[CONSOLE_MAX_PATH];
		console_instantiate(json_string_value(json_object_get(r, "pattern")), path, inst,
		                    sizeof(inst));
		size_t d = console_distance(inst, path);
		if (d > limit)
			continue;
		d = 2 * d + (strcmp(json_string_value(json_object_get(r, "method")), method) != 0);
		int at = n < CONSOLE_SUGGEST ? n++ : CONSOLE_SUGGEST;
		if (at == CONSOLE_SUGGEST) {
			if (d >= best[CONSOLE_SUGGEST - 1])
				continue;
			at = CONSOLE_SUGGEST - 1;
		}
		while (at > 0 && best[at - 1] > d) { /* keep them sorted */
			best[at] = best[at - 1];
			pick[at] = pick[at - 1];
			at--;
		}
		best[at] = d;
		pick[at] = r;
	}
	for (int k = 0; k < n; k++)
		json_array_append_new(out, json_pack("{s:O,s:O}", "method",
		                                     json_object_get(pick[k], "method"), "pattern",
		                                     json_object_get(pick[k], "pattern")));
	return out;
}

/* ==== the 404 ========================================================== */

/* The HTML section a dev 404 page gets before </body>. */
static char *
console_not_found_html(arena *a, json_t *suggest, json_t *routes)
{
	char *html = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&html, &len);
	if (f == NULL)
		return NULL;
	fputs("<section id=\"cot-routes\" style=\"font:14px/1.5 system-ui,sans-serif;"
	      "max-width:60rem;margin:2rem auto;padding:1rem;border-top:1px solid #ddd\">\n",
	      f);
	size_t i;
	json_t *r;
	if (json_array_size(suggest) > 0) {
		fputs("<h2>Did you mean</h2>\n<ul class=\"cot-suggest\">\n", f);
		json_array_foreach(suggest, i, r)
		{
			const char *m =
			        html_escape(a, json_string_value(json_object_get(r, "method")));
			const char *p =
			        html_escape(a, json_string_value(json_object_get(r, "pattern")));
			if (strcmp(m, "GET") == 0 && strchr(p, ':') == NULL)
				fprintf(f, "<li><code>%s <a href=\"%s\">%s</a></code></li>\n", m, p,
				        p);
			else
				fprintf(f, "<li><code>%s %s</code></li>\n", m, p);
		}
		fputs("</ul>\n", f);
	}
	fprintf(f, "<h2>Routes of this app (%zu)</h2>\n<table class=\"cot-routes\">\n",
	        json_array_size(routes));
	json_array_foreach(routes, i, r)
	{
		const char *m = html_escape(a, json_string_value(json_object_get(r, "method")));
		const char *p = html_escape(a, json_string_value(json_object_get(r, "pattern")));
		const char *fl = html_escape(a, json_string_value(json_object_get(r, "file")));
		fprintf(f,
		        "<tr><td><code>%s</code></td><td><code>%s</code></td><td>%s:%lld%s</td>"
		        "</tr>\n",
		        m, p, fl, (long long)json_integer_value(json_object_get(r, "line")),
		        json_object_get(r, "error") ? " (compile error)" : "");
	}
	fputs("</table>\n<p><a href=\"/_cot/routes\">all routes</a> · "
	      "<a href=\"/_cot/requests\">requests</a> · <a href=\"/_cot/db\">database</a>"
	      "</p>\n</section>\n",
	      f);
	fclose(f);
	return html;
}

/* problem+json: the same object with "suggestions": [{method, pattern}]. */
static void
console_not_found_json(cot_ctx *c, json_t *suggest)
{
	json_t *j = json_loadb(c->resp_body ? c->resp_body : "", c->resp_len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return;
	}
	json_object_set(j, "suggestions", suggest);
	char *s = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (s == NULL)
		return;
	c->resp_body = arena_strdup(&c->mem, s);
	c->resp_len = strlen(s);
	free(s);
}

/* text/plain: one "did you mean: GET /notes/:id" line per suggestion. */
static void
console_not_found_text(cot_ctx *c, json_t *suggest)
{
	size_t i;
	json_t *r;
	char *body = arena_strndup(&c->mem, c->resp_body ? c->resp_body : "", c->resp_len);
	json_array_foreach(suggest, i, r) body =
	        arena_printf(&c->mem, "%sdid you mean: %s %s\n", body,
	                     json_string_value(json_object_get(r, "method")),
	                     json_string_value(json_object_get(r, "pattern")));
	c->resp_body = body;
	c->resp_len = strlen(body);
}

void
console_routes_not_found(cot_ctx *c)
{
	const char *path = c->path ? c->path : c->raw_url;
	if (path == NULL || strncmp(c->raw_url, "/static/", 8) == 0 || c->resp_fd > 0 ||
	    c->content_type == NULL)
		return;
	json_t *routes = console_routes_json();
	json_t *suggest = console_suggest(c->method ? c->method : "GET", path, routes);
	if (strncmp(c->content_type, "text/html", 9) == 0) {
		char *html = console_not_found_html(&c->mem, suggest, routes);
		if (html != NULL)
			console_insert_html(c, html);
		free(html);
	} else if (strncmp(c->content_type, "application/problem+json", 24) == 0) {
		console_not_found_json(c, suggest);
	} else if (strncmp(c->content_type, "text/plain", 10) == 0) {
		console_not_found_text(c, suggest);
	}
	json_decref(suggest);
	json_decref(routes);
}
