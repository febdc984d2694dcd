/*
 * render.c -- cot_render: mustache templates from templates/, into the
 * request's response.
 *
 * One template cache per process (template_cache.c): in development it reads
 * templates/ and reparses a file only when it changed, so a saved template
 * shows on the next request; exported binaries fill it from embedded copies.
 * Pages are wrapped in templates/layout.html when it exists (the page's HTML
 * goes into {{{content}}}). Errors -- a missing template, an unclosed
 * section, an unknown partial -- become a 500 through the error pipeline
 * naming templates/x.html:LINE, like a compile error.
 *
 * In development every template a response read (page, layout, partials)
 * is noted in c->rendered; the live-reload script gets the list with the
 * page and refreshes the page only when one of them is saved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csrf.h"
#include "ctx.h"
#include "db.h"
#include "error.h"
#include "render.h"
#include "template.h"

static template_cache *render_cache;

/* Adds "templates/NAME" to c->rendered once (render thread; arena memory). */
static void
render_note_used(void *ud, const char *name)
{
	cot_ctx *c = ud;
	const char *had = c->rendered ? c->rendered : "";
	size_t n = strlen(name);
	for (const char *p = strstr(had, name); p != NULL; p = strstr(p + 1, name))
		if (p - had >= 10 && strncmp(p - 10, "templates/", 10) == 0 &&
		    (p[n] == ' ' || p[n] == '\0'))
			return;
	c->rendered = arena_printf(&c->mem, "%s%stemplates/%s", had, *had ? " " : "", name);
}

/* template_cache_render, noting what it read when live reload wants it. */
static int
render_template(cot_ctx *c, const char *name, json_t *data, template_buf *buf, char *err,
                size_t errlen)
{
	return template_cache_render_used(render_cache, name, data,
	                                  TEMPLATE_STRICT | TEMPLATE_LAYOUT, buf, err, errlen,
	                                  error_dev_mode ? render_note_used : NULL, c);
}

/*
 * templates/errors/STATUS.html, when the app has one, rendered with
 * status, title, detail and request_id; NULL otherwise.
 */
static char *
render_error_page(cot_ctx *c, int status, const char *detail)
{
	char name[64], err[256];
	snprintf(name, sizeof(name), "errors/%d.html", status);
	json_t *data =
	        json_pack("{s:i, s:s, s:s, s:s}", "status", status, "title", error_title(status),
	                  "detail", detail ? detail : "", "request_id", c->request_id);
	template_buf buf = {0};
	int rc = render_template(c, name, data, &buf, err, sizeof(err));
	json_decref(data);
	char *page = rc == TEMPLATE_OK ? arena_strndup(&c->mem, buf.data, buf.len) : NULL;
	if (rc == TEMPLATE_ERROR) /* no page for the status is the usual case, not logged */
		printf("error page %s: %s\n", name, err);
	template_buf_free(&buf);
	return page;
}

/* Reads templates from dir (NULL: embedded only). Call once at start. */
int
render_init(const char *dir)
{
	render_cache = template_cache_new(dir, "templates");
	if (render_cache != NULL)
		error_page_hook = render_error_page;
	return render_cache != NULL ? 0 : -1;
}

/* Adds an embedded template (exports). */
int
render_add_embedded(const char *name, const char *src, char *err, size_t errlen)
{
	if (render_cache == NULL && render_init(NULL) != 0)
		return -1;
	return template_cache_add_embedded(render_cache, name, src, err, errlen);
}

void
render_shutdown(void)
{
	error_page_hook = NULL;
	template_cache_free(render_cache);
	render_cache = NULL;
}

/*
 * Renders `name` with `data` (borrowed) as the response. The HTML is copied
 * into the request's arena.
 */
cot_result
cot_render_json(cot_ctx *c, int status, const char *name, struct json_t *data)
{
	char err[512];
	template_buf buf = {0};
	/* {{{csrf_field}}} and {{csrf_token}}: placeholders, filled below */
	json_t *page = csrf_template_data(data);
	int rc = render_cache == NULL ? TEMPLATE_ERROR
	                              : render_template(c, name, page, &buf, err, sizeof(err));
	json_decref(page);
	if (rc != TEMPLATE_OK) {
		template_buf_free(&buf);
		if (render_cache == NULL)
			snprintf(err, sizeof(err), "templates are not set up in this process");
		const char *detail = arena_printf(&c->mem, "template error: %s", err);
		printf("%s %s: %s\n", c->method, c->path, detail);
		error_respond(c, 500, detail, err);
		return (cot_result){500};
	}
	char *body = arena_strndup(&c->mem, buf.data ? buf.data : "", buf.len);
	size_t len = buf.len;
	template_buf_free(&buf);
	csrf_fill(c, body, len); /* only a page that shows a token makes a session */
	c->status = status;
	c->content_type = "text/html; charset=utf-8";
	c->resp_body = body;
	c->resp_len = len;
	c->responded = true;
	return (cot_result){status};
}

/* A row: its columns are the template's names ({{title}}). NULL: 404. */
cot_result
cot_render_row(cot_ctx *c, int status, const char *name, cot_row *row)
{
	if (row == NULL)
		return cot_fail(c, 404, "nothing to render for %s", c->path);
	json_t *data = db_row_value(row);
	cot_result r = cot_render_json(c, status, name, data);
	json_decref(data);
	return r;
}

/* Rows: the template sees {{#rows}}...{{/rows}} and {{count}}. */
cot_result
cot_render_rows(cot_ctx *c, int status, const char *name, cot_rows *rows)
{
	json_t *data = json_pack("{s:o, s:i}", "rows", rows ? db_rows_value(rows) : json_array(),
	                         "count", rows ? cot_rows_count(rows) : 0);
	cot_result r = cot_render_json(c, status, name, data);
	json_decref(data);
	return r;
}

/*
 * Parses templates/NAME now (the dev server calls this when the file is
 * saved), so a template error shows up at once, like a compile error, not
 * at the next request. Returns 0 when it parses or is gone, -1 with the
 * message ("templates/x.html:LINE: ...") in err.
 */
int
render_check(const char *name, char *err, size_t errlen)
{
	template *t = NULL;
	if (render_cache == NULL)
		return 0;
	int rc = template_cache_get(render_cache, name, &t, err, errlen);
	if (rc == TEMPLATE_OK)
		template_release(t);
	return rc == TEMPLATE_ERROR ? -1 : 0;
}
