/*
 * notes.c -- a small notes API and pages over SQLite: the table is declared
 * in schema.sql, the SQL below is checked against it on every save.
 *
 *   GET    /notes       JSON array (Accept: application/json) or an HTML list
 *   POST   /notes       JSON body -> 201 + the note; form -> 303 to the note
 *   GET    /notes/:id   one note, JSON or HTML
 *   PUT    /notes/:id   replace the title (and the body, when given)
 *   DELETE /notes/:id   204
 *
 * Invalid input answers 422 with the fields that are wrong.
 */
#include <cot.h>
#include <jansson.h> /* after cot.h: cot.h makes it work under tcc */
#include <string.h>

#define TITLE_MAX 200

typedef struct note_input {
	const char *title;
	const char *body; /* NULL: not given */
	const char *bad_body;
} note_input;

static int
wants_json(cot_ctx *c)
{
	const char *accept = cot_header(c, "Accept");
	return accept != NULL && strstr(accept, "application/json") != NULL;
}

static int
sends_json(cot_ctx *c)
{
	const char *type = cot_header(c, "Content-Type");
	return type != NULL && strstr(type, "json") != NULL;
}

/* HTML-escapes s into request memory. */
static const char *
esc(cot_ctx *c, const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == '<' || *p == '>' ? 4 : *p == '&' ? 5 : *p == '"' ? 6 : 1;
	char *out = cot_alloc(c, n + 1), *o = out;
	for (const char *p = s; *p; p++) {
		const char *r = *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;"
		              : *p == '"' ? "&quot;" : NULL;
		if (r == NULL) {
			*o++ = *p;
		} else {
			memcpy(o, r, strlen(r));
			o += strlen(r);
		}
	}
	*o = '\0';
	return out;
}

/* Reads title and body from a JSON or form body. Returns -1 when the body
 * is not usable (the request already answers 400). */
static int
read_input(cot_ctx *c, note_input *in)
{
	memset(in, 0, sizeof(*in));
	if (!sends_json(c)) {
		in->title = cot_form(c, "title");
		in->body = cot_form(c, "body");
		return 0;
	}
	json_t *j = cot_body_json(c);
	if (j == NULL || !json_is_object(j))
		return -1;
	json_t *title = json_object_get(j, "title"), *body = json_object_get(j, "body");
	in->title = json_is_string(title) ? json_string_value(title) : NULL;
	if (body != NULL && !json_is_string(body))
		in->bad_body = "must be a string";
	in->body = json_is_string(body) ? json_string_value(body) : NULL;
	return 0;
}

/* 422 naming the wrong fields, or a zero status when the input is good. */
static cot_result
validate(cot_ctx *c, const note_input *in)
{
	const char *title = NULL;
	if (in->title == NULL || in->title[strspn(in->title, " \t\r\n")] == '\0')
		title = "is required";
	else if (strlen(in->title) > TITLE_MAX)
		title = "is longer than 200 characters";
	if (title != NULL && in->bad_body != NULL)
		return cot_fail_fields(c, "title", title, "body", in->bad_body, NULL);
	if (title != NULL)
		return cot_fail_fields(c, "title", title, NULL);
	if (in->bad_body != NULL)
		return cot_fail_fields(c, "body", in->bad_body, NULL);
	return (cot_result){ 0 };
}

/* ==== pages ============================================================ */

static const char page_head[] =
	"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<title>%s</title>\n<style>body{font:16px/1.6 system-ui,sans-serif;max-width:40rem;"
	"margin:3rem auto;padding:0 1rem}input,textarea{display:block;width:100%%;"
	"margin:.3rem 0 1rem}</style>\n</head><body>\n";

static cot_result
list_page(cot_ctx *c, cot_rows *notes)
{
	char *items = cot_sprintf(c, "%s", "");
	for (int i = 0; i < cot_rows_count(notes); i++) {
		cot_row *n = cot_rows_get(notes, i);
		items = cot_sprintf(c, "%s<li><a href=\"/notes/%lld\">%s</a> <small>%s</small></li>\n",
		                    items, cot_row_int(n, "id"), esc(c, cot_row_text(n, "title")),
		                    esc(c, cot_row_text(n, "created_at")));
	}
	return cot_html(c, 200, "%s<h1>Notes</h1>\n<ul>\n%s</ul>\n%s"
		"<form method=\"post\" action=\"/notes\"><label>Title<input name=\"title\" "
		"required></label><label>Body<textarea name=\"body\"></textarea></label>"
		"<button>Add note</button></form>\n<p><a href=\"/\">home</a></p>\n</body></html>\n",
		cot_sprintf(c, page_head, "Notes"), items,
		cot_rows_count(notes) == 0 ? "<p>No notes yet.</p>\n" : "");
}

static cot_result
note_page(cot_ctx *c, cot_row *n)
{
	const char *title = esc(c, cot_row_text(n, "title"));
	return cot_html(c, 200, "%s<h1>%s</h1>\n<p><small>%s</small></p>\n<pre>%s</pre>\n"
		"<p><a href=\"/notes\">all notes</a></p>\n</body></html>\n",
		cot_sprintf(c, page_head, title), title, esc(c, cot_row_text(n, "created_at")),
		esc(c, cot_row_text(n, "body")));
}

/* ==== handlers ========================================================= */

static cot_result
list_notes(cot_ctx *c)
{
	cot_rows *notes = cot_db_all(c, "SELECT id, title, body, created_at FROM notes ORDER BY id");
	if (wants_json(c))
		return cot_db_json_rows(c, 200, notes);
	return list_page(c, notes);
}

static cot_result
create_note(cot_ctx *c)
{
	note_input in;
	if (read_input(c, &in) != 0)
		return cot_fail(c, 400, "the body must be a JSON object");
	cot_result bad = validate(c, &in);
	if (bad.status != 0)
		return bad;
	cot_row *n = cot_db_one(c, "INSERT INTO notes (title, body) VALUES (?, ?) "
	                        "RETURNING id, title, body, created_at", in.title, in.body ? in.body : "");
	if (n == NULL)
		return cot_fail(c, 500, "the note was not stored");
	const char *where = cot_sprintf(c, "/notes/%lld", cot_row_int(n, "id"));
	if (!sends_json(c))
		return cot_redirect(c, 303, where);
	cot_set_header(c, "Location", where);
	return cot_db_json_row(c, 201, n);
}

static cot_result
show_note(cot_ctx *c)
{
	cot_row *n = cot_db_one(c, "SELECT id, title, body, created_at FROM notes WHERE id = ?",
	                        cot_param_int(c, "id"));
	if (n == NULL)
		return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
	return wants_json(c) ? cot_db_json_row(c, 200, n) : note_page(c, n);
}

static cot_result
update_note(cot_ctx *c)
{
	note_input in;
	if (read_input(c, &in) != 0)
		return cot_fail(c, 400, "the body must be a JSON object");
	cot_result bad = validate(c, &in);
	if (bad.status != 0)
		return bad;
	/* a NULL body binds SQL NULL: COALESCE keeps the stored one */
	cot_row *n = cot_db_one(c, "UPDATE notes SET title = ?, body = COALESCE(?, body) "
	                        "WHERE id = ? RETURNING id, title, body, created_at",
	                        in.title, in.body, cot_param_int(c, "id"));
	if (n == NULL)
		return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
	return cot_db_json_row(c, 200, n);
}

static cot_result
delete_note(cot_ctx *c)
{
	long long gone = cot_db_exec(c, "DELETE FROM notes WHERE id = ?", cot_param_int(c, "id"));
	if (gone == 0)
		return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
	return cot_send(c, 204, "text/plain", "", 0);
}

COT_ROUTES(
	COT_GET("/notes", list_notes),
	COT_POST("/notes", create_note),
	COT_GET("/notes/:id", show_note),
	COT_PUT("/notes/:id", update_note),
	COT_DELETE("/notes/:id", delete_note),
)
