/*
 * notes.c -- notes over SQLite, as pages for a browser and as a JSON API,
 * each note visible to its own user only (cotdev new --auth). The table is
 * declared in schema.sql; the SQL below is checked against it on every save.
 * Who is asking comes from handlers/00_user.c (current_user, user.h): a
 * visitor who is not logged in is sent to /login (pages) or gets 401 (JSON).
 * Another user's note is a 404, exactly like a note that does not exist.
 *
 *   GET    /notes              the list (templates/notes.html); JSON array
 *                              with Accept: application/json
 *   GET    /notes/new          the form for a new note (templates/new.html)
 *   POST   /notes              form -> 303 to the note; JSON -> 201 + the note
 *   GET    /notes/:id          one note (templates/note.html), or JSON
 *   PUT    /notes/:id          JSON: replace the title (and the body, if given)
 *   POST   /notes/:id          the edit form of the note page -> 303 back
 *   DELETE /notes/:id          204
 *   POST   /notes/:id/delete   the delete button of the note page -> 303 /notes
 *
 * Invalid input answers 422 naming the wrong fields: a problem+json body for
 * JSON clients, the form again (values kept, each error by its field) for
 * browsers. Every value reaches the page through {{name}}, which escapes it.
 */
#include <cot.h>
#include <jansson.h> /* after cot.h: cot.h makes it work under tcc */
#include <string.h>

#include "user.h"

#define TITLE_MAX 200

typedef struct note_input {
	const char *title;
	const char *body; /* NULL: not given */
	const char *bad_body;
} note_input;

/* What is wrong with an input: NULL where a field is fine. */
typedef struct note_errors {
	const char *title;
	const char *body;
} note_errors;

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

/* A form post from a page (not an API call): errors go back as the form. */
static int
from_form(cot_ctx *c)
{
	return !sends_json(c) && !wants_json(c);
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

/* Fills *err; returns 1 when the input is good. */
static int
check_input(const note_input *in, note_errors *err)
{
	err->title = NULL;
	err->body = in->bad_body;
	if (in->title == NULL || in->title[strspn(in->title, " \t\r\n")] == '\0')
		err->title = "is required";
	else if (strlen(in->title) > TITLE_MAX)
		err->title = "is longer than 200 characters";
	return err->title == NULL && err->body == NULL;
}

/* 422 problem+json naming the wrong fields (for API clients). */
static cot_result
fail_fields(cot_ctx *c, const note_errors *err)
{
	if (err->title != NULL && err->body != NULL)
		return cot_fail_fields(c, "title", err->title, "body", err->body, NULL);
	if (err->title != NULL)
		return cot_fail_fields(c, "title", err->title, NULL);
	return cot_fail_fields(c, "body", err->body, NULL);
}

/* ==== pages ============================================================ */

/* {"form": {title, body}, "errors": {...}}: what note_form.html shows. A
 * field without an error is left out, so {{#errors.title}} is false. */
static json_t *
form_data(const char *title, const char *body, const note_errors *err)
{
	json_t *page = json_pack("{s:{s:s, s:s}}", "form", "title", title ? title : "",
	                         "body", body ? body : "");
	if (page != NULL && err != NULL) {
		json_t *errors = json_object();
		if (err->title != NULL)
			json_object_set_new(errors, "title", json_string(err->title));
		if (err->body != NULL)
			json_object_set_new(errors, "body", json_string(err->body));
		json_object_set_new(page, "errors", errors);
	}
	return page;
}

/* templates/new.html: empty, or the rejected input with its errors (422). */
static cot_result
new_page(cot_ctx *c, int status, const note_input *in, const note_errors *err)
{
	json_t *page = form_data(in ? in->title : "", in ? in->body : "", err);
	json_object_update_new(page, page_data(c, "New note"));
	cot_result r = cot_render(c, status, "new.html", page);
	json_decref(page);
	return r;
}

/* templates/note.html: the note, and its edit form (with the rejected input
 * and its errors when `in` is given). */
static cot_result
note_page(cot_ctx *c, int status, cot_row *n, const note_input *in, const note_errors *err)
{
	json_t *page = in ? form_data(in->title, in->body, err)
	                  : form_data(cot_row_text(n, "title"), cot_row_text(n, "body"), NULL);
	json_object_update_new(page, page_data(c, cot_row_text(n, "title")));
	json_object_set_new(page, "id", json_integer(cot_row_int(n, "id")));
	json_object_set_new(page, "body", json_string(cot_row_text(n, "body")));
	json_object_set_new(page, "created_at", json_string(cot_row_text(n, "created_at")));
	cot_result r = cot_render(c, status, "note.html", page);
	json_decref(page);
	return r;
}

/* ==== handlers ========================================================= */

/* The user's id, or 0 after answering: 303 to /login, or 401 for JSON. */
static long long
need_user(cot_ctx *c, cot_result *r)
{
	cot_row *u = current_user(c);
	if (u != NULL)
		return cot_row_int(u, "id");
	*r = from_form(c) ? cot_redirect(c, 303, "/login")
	                  : cot_fail(c, 401, "log in first (POST /api/token gives API clients "
	                             "a bearer token)");
	return 0;
}

#define NEED_USER(uid)                                                         \
	cot_result denied_;                                                    \
	long long uid = need_user(c, &denied_);                                \
	if (uid == 0)                                                          \
		return denied_

static cot_result
list_notes(cot_ctx *c)
{
	NEED_USER(uid);
	if (wants_json(c))
		return cot_db_json_rows(c, 200, cot_db_all(c,
			"SELECT id, title, body, created_at FROM notes WHERE user_id = ? ORDER BY id",
			uid));
	/* newest first; minutes are enough on a page */
	cot_rows *notes = cot_db_all(c, "SELECT id, title, substr(body, 1, 280) AS body, "
	                             "substr(created_at, 1, 16) AS created_at FROM notes "
	                             "WHERE user_id = ? ORDER BY id DESC", uid);
	json_t *page = page_data(c, "Notes");
	json_object_set_new(page, "rows", json_loads(cot_rows_json(notes), 0, NULL));
	cot_result r = cot_render(c, 200, "notes.html", page);
	json_decref(page);
	return r;
}

static cot_result
new_note(cot_ctx *c)
{
	NEED_USER(uid);
	(void)uid;
	return new_page(c, 200, NULL, NULL);
}

static cot_result
create_note(cot_ctx *c)
{
	NEED_USER(uid);
	note_input in;
	note_errors err;
	if (read_input(c, &in) != 0)
		return cot_fail(c, 400, "the body must be a JSON object");
	if (!check_input(&in, &err))
		return from_form(c) ? new_page(c, 422, &in, &err) : fail_fields(c, &err);
	cot_row *n = cot_db_one(c, "INSERT INTO notes (user_id, title, body) VALUES (?, ?, ?) "
	                        "RETURNING id, title, body, created_at", uid, in.title,
	                        in.body ? in.body : "");
	if (n == NULL)
		return cot_fail(c, 500, "the note was not stored");
	const char *where = cot_sprintf(c, "/notes/%lld", cot_row_int(n, "id"));
	if (!sends_json(c))
		return cot_redirect(c, 303, where);
	cot_set_header(c, "Location", where);
	return cot_db_json_row(c, 201, n);
}

/* The user's note of the :id parameter; NULL when there is none. */
static cot_row *
find_note(cot_ctx *c, long long uid)
{
	return cot_db_one(c, "SELECT id, title, body, substr(created_at, 1, 16) AS created_at "
	                  "FROM notes WHERE id = ? AND user_id = ?", cot_param_int(c, "id"), uid);
}

static cot_result
show_note(cot_ctx *c)
{
	NEED_USER(uid);
	if (wants_json(c)) {
		cot_row *n = cot_db_one(c, "SELECT id, title, body, created_at FROM notes "
		                        "WHERE id = ? AND user_id = ?", cot_param_int(c, "id"), uid);
		if (n == NULL)
			return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
		return cot_db_json_row(c, 200, n);
	}
	cot_row *n = find_note(c, uid);
	if (n == NULL)
		return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
	return note_page(c, 200, n, NULL, NULL);
}

static cot_result
update_note(cot_ctx *c)
{
	NEED_USER(uid);
	note_input in;
	note_errors err;
	int page = strcmp(cot_method(c), "POST") == 0 && from_form(c);
	if (read_input(c, &in) != 0)
		return cot_fail(c, 400, "the body must be a JSON object");
	if (!check_input(&in, &err)) {
		if (!page)
			return fail_fields(c, &err);
		cot_row *old = find_note(c, uid);
		if (old == NULL)
			return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
		return note_page(c, 422, old, &in, &err);
	}
	/* a NULL body binds SQL NULL: COALESCE keeps the stored one */
	cot_row *n = cot_db_one(c, "UPDATE notes SET title = ?, body = COALESCE(?, body) "
	                        "WHERE id = ? AND user_id = ? RETURNING id, title, body, "
	                        "created_at", in.title, in.body, cot_param_int(c, "id"), uid);
	if (n == NULL)
		return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
	if (page)
		return cot_redirect(c, 303, cot_sprintf(c, "/notes/%lld", cot_row_int(n, "id")));
	return cot_db_json_row(c, 200, n);
}

static cot_result
delete_note(cot_ctx *c)
{
	NEED_USER(uid);
	long long gone = cot_db_exec(c, "DELETE FROM notes WHERE id = ? AND user_id = ?",
	                             cot_param_int(c, "id"), uid);
	if (gone == 0)
		return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
	if (strcmp(cot_method(c), "POST") == 0)
		return cot_redirect(c, 303, "/notes");
	return cot_send(c, 204, "text/plain", "", 0);
}

/* /notes/new comes before /notes/:id: the first pattern that matches wins. */
COT_ROUTES(
	COT_GET("/notes", list_notes),
	COT_GET("/notes/new", new_note),
	COT_POST("/notes", create_note),
	COT_GET("/notes/:id", show_note),
	COT_PUT("/notes/:id", update_note),
	COT_POST("/notes/:id", update_note),
	COT_DELETE("/notes/:id", delete_note),
	COT_POST("/notes/:id/delete", delete_note),
)
