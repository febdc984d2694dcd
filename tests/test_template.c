/*
 * test_template.c -- runtime/template.c beyond the mustache spec.
 *
 * What cot promises on top of the spec: user input never becomes markup,
 * template errors name NAME:LINE, an unknown partial is an error in strict
 * mode, the cache reparses a file only when it changed (and never misses a
 * fast same-size rewrite), layout.html wraps pages, embedded templates work
 * without a file system, and renders from many threads while the file
 * changes stay consistent. The spec itself runs in test_template_spec.c.
 */
#include "t.h"

#include "../runtime/template.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/cot-template-XXXXXX";

/* Render src with data (a JSON text) in strict mode; returns a static copy of
 * the output, or of "ERROR: message". */
static const char *
render(const char *src, const char *json)
{
	static char result[4096];
	char err[512];
	template_env env = {.flags = TEMPLATE_STRICT};
	template_buf out = {0};
	json_t *data = json ? json_loads(json, 0, NULL) : NULL;
	template *t = template_parse("t.html", src, strlen(src), err, sizeof err);
	if (t == NULL || template_render(t, data, &env, &out, err, sizeof err) < 0)
		snprintf(result, sizeof result, "ERROR: %s", err);
	else
		snprintf(result, sizeof result, "%s", out.data);
	template_release(t);
	template_buf_free(&out);
	json_decref(data);
	return result;
}

static void
test_escaping(void)
{
	const char *evil = "{\"x\": \"<script>alert('1')</script> & \\\"q\\\"\"}";
	T_STREQ("escape: tags, quotes, ampersand", render("{{x}}", evil),
	        "&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
	T_STREQ("escape: inside an attribute", render("<a title=\"{{x}}\">", evil),
	        "<a title=\"&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt; &amp; "
	        "&quot;q&quot;\">");
	T_STREQ("escape: list items",
	        render("{{#l}}<li>{{.}}</li>{{/l}}", "{\"l\": [\"<b>\", \"a&b\"]}"),
	        "<li>&lt;b&gt;</li><li>a&amp;b</li>");
	T_STREQ("escape: dotted names", render("{{u.name}}", "{\"u\": {\"name\": \"<i>\"}}"),
	        "&lt;i&gt;");
	T_STREQ("escape: data is never parsed as a template",
	        render("{{x}}", "{\"x\": \"{{y}}\", \"y\": \"<b>\"}"), "{{y}}");
	T_STREQ("raw: triple mustache", render("{{{x}}}", "{\"x\": \"<b>\"}"), "<b>");
	T_STREQ("raw: ampersand", render("{{& x}}", "{\"x\": \"<b>\"}"), "<b>");
	T_STREQ("values: numbers and booleans",
	        render("{{i}} {{r}} {{t}} {{f}} {{n}}",
	               "{\"i\": -42, \"r\": 0.1, \"t\": true, \"f\": false, \"n\": null}"),
	        "-42 0.1 true false ");
	T_STREQ("sections: empty string is falsey",
	        render("{{#e}}<span>{{e}}</span>{{/e}}{{^e}}none{{/e}}", "{\"e\": \"\"}"), "none");
	T_STREQ("sections: rows as a list of objects",
	        render("{{#rows}}{{id}}:{{title}};{{/rows}}",
	               "{\"rows\": [{\"id\": 1, \"title\": \"a\"}, {\"id\": 2, \"title\": "
	               "\"b\"}]}"),
	        "1:a;2:b;");
}

static void
test_errors(void)
{
	T_STREQ("error: unclosed section names its opening line",
	        render("<ul>\n<li>x</li>\n{{#notes}}\n<li>{{title}}</li>\n</ul>\n", "{}"),
	        "ERROR: t.html:3: unclosed section \"notes\"");
	T_STREQ("error: mismatched close tag", render("{{#a}}\n{{#b}}\n{{/a}}\n", "{}"),
	        "ERROR: t.html:3: closing tag \"a\" does not match section \"b\" opened on line 2");
	T_STREQ("error: close without open", render("x\n\n{{/a}}", "{}"),
	        "ERROR: t.html:3: closing tag \"a\" has no open section");
	T_STREQ("error: unclosed tag", render("one\ntwo {{name\n", "{}"),
	        "ERROR: t.html:2: unclosed tag \"{{\"");
	T_STREQ("error: bad delimiter tag", render("\n\n{{=<%=}}", "{}"),
	        "ERROR: t.html:3: bad set-delimiter tag");
	T_STREQ("error: delimiter tag with three parts", render("{{=a b c=}}", "{}"),
	        "ERROR: t.html:1: bad set-delimiter tag");
	T_STREQ("error: empty tag", render("a\n{{ }}", "{}"), "ERROR: t.html:2: empty tag name");
	T_STREQ("error: lines counted through multi-line comments and standalone tags",
	        render("{{!\n\n}}\n{{#a}}\n{{/a}}\n{{/b}}\n", "{}"),
	        "ERROR: t.html:6: closing tag \"b\" has no open section");
	T_STREQ("error: lines counted with custom delimiters",
	        render("{{=<% %>=}}\n<%#a%>\n\n", "{}"), "ERROR: t.html:2: unclosed section \"a\"");
	T_STREQ("error: strict mode, unknown partial", render("<p>\n{{> sidebar.html}}\n", "{}"),
	        "ERROR: t.html:2: unknown partial \"sidebar.html\"");

	char err[256];
	template_buf out = {0};
	template *t = template_parse("t.html", "a{{>nope}}b", 11, err, sizeof err);
	T_CHECK("spec mode: unknown partial renders empty",
	        t && template_render(t, NULL, NULL, &out, err, sizeof err) == 0 &&
	                strcmp(out.data, "ab") == 0);
	template_release(t);
	template_buf_free(&out);
}

static void
write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void
remove_file(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	unlink(path);
}

/* Render name from cache with {"x": "<x>"}; "ERROR: ..." on failure. */
static const char *
cache_render(template_cache *cache, const char *name, unsigned flags)
{
	static char result[4096];
	char err[512];
	template_buf out = {0};
	json_t *data = json_pack("{s:s, s:s}", "x", "<x>", "title", "T&C");
	if (template_cache_render(cache, name, data, flags, &out, err, sizeof err) != TEMPLATE_OK)
		snprintf(result, sizeof result, "ERROR: %s", err);
	else
		snprintf(result, sizeof result, "%s", out.data);
	template_buf_free(&out);
	json_decref(data);
	return result;
}

static void
test_cache_files(void)
{
	template_cache *cache = template_cache_new(tmpdir, "templates");
	template *a = NULL, *b = NULL;
	char err[256];

	write_file("page.html", "v1 {{x}}");
	T_STREQ("cache: first render", cache_render(cache, "page.html", 0), "v1 &lt;x&gt;");
	template_cache_get(cache, "page.html", &a, err, sizeof err);
	template_cache_get(cache, "page.html", &b, err, sizeof err);
	T_CHECK("cache: unchanged file is not reparsed", a != NULL && a == b);
	template_release(b);

	write_file("page.html", "v2 {{x}}"); /* same size, same second */
	T_STREQ("cache: same-size rewrite is seen", cache_render(cache, "page.html", 0),
	        "v2 &lt;x&gt;");
	template_buf out = {0};
	T_CHECK("cache: an old reference stays usable after a reparse",
	        template_render(a, NULL, NULL, &out, err, sizeof err) == 0 &&
	                strcmp(out.data, "v1 ") == 0);
	template_buf_free(&out);
	template_release(a);

	write_file("page.html", "v3\n{{> part.html}}\n");
	write_file("part.html", "[{{x}}]");
	T_STREQ("cache: partials come from files", cache_render(cache, "page.html", 0),
	        "v3\n[&lt;x&gt;]");
	remove_file("part.html");
	T_STREQ("cache: a deleted partial is unknown in strict mode",
	        cache_render(cache, "page.html", TEMPLATE_STRICT),
	        "ERROR: templates/page.html:2: unknown partial \"part.html\"");

	write_file("bad.html", "ok\n{{#x}}\n");
	T_STREQ("cache: parse errors name templates/NAME:LINE", cache_render(cache, "bad.html", 0),
	        "ERROR: templates/bad.html:2: unclosed section \"x\"");
	write_file("page.html", "{{>bad.html}}");
	T_STREQ("cache: a partial's parse error is reported as its own",
	        cache_render(cache, "page.html", 0),
	        "ERROR: templates/bad.html:2: unclosed section \"x\"");
	write_file("bad.html", "fixed\n");
	T_STREQ("cache: fixing the file clears the error", cache_render(cache, "bad.html", 0),
	        "fixed\n");
	T_STREQ("cache: missing template", cache_render(cache, "none.html", 0),
	        "ERROR: templates/none.html: no such template");
	T_STREQ("cache: path traversal is refused", cache_render(cache, "../etc/passwd", 0),
	        "ERROR: templates/../etc/passwd: bad template name");
	T_CHECK("cache: NOT_FOUND for a missing file",
	        template_cache_get(cache, "none.html", &a, err, sizeof err) == TEMPLATE_NOT_FOUND);
	template_buf none = {0};
	T_CHECK("cache: rendering a missing template says NOT_FOUND, not ERROR",
	        template_cache_render(cache, "none.html", NULL, 0, &none, err, sizeof err) ==
	                TEMPLATE_NOT_FOUND);
	template_buf_free(&none);
	T_CHECK("cache: rendering a broken template says ERROR",
	        template_cache_render(cache, "../x", NULL, 0, &none, err, sizeof err) ==
	                TEMPLATE_ERROR);
	template_buf_free(&none);
	template_cache_free(cache);
	remove_file("page.html");
	remove_file("bad.html");
}

static void
test_layout(void)
{
	template_cache *cache = template_cache_new(tmpdir, "templates");
	write_file("page.html", "<h1>{{title}}</h1>");
	T_STREQ("layout: none present, page alone",
	        cache_render(cache, "page.html", TEMPLATE_LAYOUT), "<h1>T&amp;C</h1>");
	write_file("layout.html", "<title>{{title}}</title><main>{{{content}}}</main>");
	T_STREQ("layout: wraps the page, sees the data",
	        cache_render(cache, "page.html", TEMPLATE_LAYOUT),
	        "<title>T&amp;C</title><main><h1>T&amp;C</h1></main>");
	T_STREQ("layout: not without the flag", cache_render(cache, "page.html", 0),
	        "<h1>T&amp;C</h1>");
	char err[256];
	template_buf out = {0};
	template *page = template_parse("p", "<b>{{x}}</b>", 12, err, sizeof err);
	template *layout = template_parse("l", "{{x}}|{{{content}}}", 19, err, sizeof err);
	json_t *data = json_pack("{s:s, s:s}", "x", "&", "content", "<evil>");
	T_CHECK("layout: template_render_with_layout, content shadows data",
	        page && layout &&
	                template_render_with_layout(page, layout, data, NULL, &out, err,
	                                            sizeof err) == 0 &&
	                strcmp(out.data, "&amp;|<b>&amp;</b>") == 0);
	template_buf_free(&out);
	template_release(page);
	template_release(layout);
	json_decref(data);
	write_file("layout.html", "{{#broken}}");
	T_STREQ("layout: its errors are reported",
	        cache_render(cache, "page.html", TEMPLATE_LAYOUT),
	        "ERROR: templates/layout.html:1: unclosed section \"broken\"");
	template_cache_free(cache);
	remove_file("page.html");
	remove_file("layout.html");
}

/* template_cache_render_used's callback: appends " NAME" to the buffer. */
static void
note_used(void *ud, const char *name)
{
	char *buf = ud;
	size_t n = strlen(buf);
	snprintf(buf + n, 256 - n, " %s", name);
}

static void
test_embedded(void)
{
	char err[256];
	template_cache *cache = template_cache_new(NULL, "templates");
	T_CHECK("embedded: add page",
	        template_cache_add_embedded(cache, "page.html", "<p>{{x}}</p>{{>foot.html}}", err,
	                                    sizeof err) == 0);
	template_cache_add_embedded(cache, "foot.html", "<footer>{{title}}</footer>", err,
	                            sizeof err);
	template_cache_add_embedded(cache, "layout.html", "<body>{{{content}}}</body>", err,
	                            sizeof err);
	T_STREQ("embedded: render with partial and layout",
	        cache_render(cache, "page.html", TEMPLATE_LAYOUT | TEMPLATE_STRICT),
	        "<body><p>&lt;x&gt;</p><footer>T&amp;C</footer></body>");
	char used[256] = "";
	template_buf out = {0};
	json_t *rows = json_pack("{s:[i,i,i]}", "r", 1, 2, 3);
	template_cache_add_embedded(cache, "list.html", "{{#r}}{{>foot.html}}{{/r}}", err,
	                            sizeof err);
	T_CHECK("embedded: render_used renders",
	        template_cache_render_used(cache, "list.html", rows, TEMPLATE_LAYOUT, &out, err,
	                                   sizeof err, note_used, used) == TEMPLATE_OK);
	T_STREQ("embedded: render_used names page, layout and each partial use", used,
	        " list.html layout.html foot.html foot.html foot.html");
	template_buf_free(&out);
	json_decref(rows);
	T_CHECK("embedded: parse error at add time",
	        template_cache_add_embedded(cache, "bad.html", "\n{{/x}}", err, sizeof err) < 0);
	T_STREQ("embedded: error names templates/NAME:LINE", err,
	        "templates/bad.html:2: closing tag \"x\" has no open section");
	T_STREQ("embedded: missing", cache_render(cache, "nope.html", 0),
	        "ERROR: templates/nope.html: no such template");
	template_cache_free(cache);
}

struct worker {
	template_cache *cache;
	int bad;
};

static void *
render_loop(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 2000; i++) {
		char err[256];
		template_buf out = {0};
		json_t *data = json_pack("{s:s}", "x", "y");
		if (template_cache_render(w->cache, "race.html", data, 0, &out, err, sizeof err) !=
		            TEMPLATE_OK ||
		    (strcmp(out.data, "A y A") != 0 && strcmp(out.data, "B y B") != 0))
			w->bad++;
		template_buf_free(&out);
		json_decref(data);
	}
	return NULL;
}

static void
test_threads(void)
{
	template_cache *cache = template_cache_new(tmpdir, "templates");
	struct worker w[4];
	pthread_t tid[4];
	write_file("race.html", "A {{x}} A");
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.cache = cache};
		pthread_create(&tid[i], NULL, render_loop, &w[i]);
	}
	char tmp[600], path[512];
	snprintf(path, sizeof path, "%s/race.html", tmpdir);
	snprintf(tmp, sizeof tmp, "%s/race.tmp", tmpdir);
	for (int i = 0; i < 200; i++) { /* rename-over saves: never half-written */
		FILE *f = fopen(tmp, "w");
		if (f != NULL) {
			fputs(i % 2 ? "A {{x}} A" : "B {{x}} B", f);
			fclose(f);
			rename(tmp, path);
		}
	}
	int bad = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		bad += w[i].bad;
	}
	T_CHECK("threads: renders stay consistent while the file changes", bad == 0);
	template_cache_free(cache);
	remove_file("race.html");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_escaping();
	test_errors();
	test_cache_files();
	test_layout();
	test_embedded();
	test_threads();
	rmdir(tmpdir);
	return T_DONE();
}
