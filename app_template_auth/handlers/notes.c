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
 *
 * JSON goes out through cot's JSON writer (cot_jw_*: typed by the compiler,
 * written into the request's memory, nothing to free) and comes in through
 * cot_body_str_or, which names a wrong field ("body": "must be a string")
 * by itself.
 */
#include <cot.h>
#include <string.h>

#include "user.h"

#define TITLE_MAX 200

typedef struct note_input {
	const char *title;
	const char *body; /* NULL: not given */
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

/* Reads title and body from a JSON or form body. A body that is not JSON
 * answers 400 by itself; a "body" that is not a string is a field error. */
static void
read_input(cot_ctx *c, note_input *in)
{
	if (sends_json(c)) {
		in->title = cot_body_str_or(c, "title", NULL);
		in->body = cot_body_str_or(c, "body", NULL);
	} else {
		in->title = cot_form(c, "title");
		in->body = cot_form(c, "body");
	}
}

/* Fills *err; returns 1 when the input is good. */
static int
check_input(cot_ctx *c, const note_input *in, note_errors *err)
{
	err->title = NULL;
	err->body = cot_field_errors(c) > 0 ? "must be a string" : NULL;
	if (in->title == NULL || in->title[strspn(in->title, " \t\r\n")] == '\0')
		err->title = "is required";
	else if (strlen(in->title) > TITLE_MAX)
		err->title = "is longer than 200 characters";
	return err->title == NULL && err->body == NULL;
}

/* 422 problem+json naming the wrong fields (for API clients); the body
 * reader recorded a wrong "body" already. */
static cot_result
fail_fields(cot_ctx *c, const note_errors *err)
{
	if (err->title != NULL)
		return cot_fail_fields(c, "title", err->title, NULL);
	return cot_fail_fields(c, NULL);
}

/* A note as the JSON API shows it. */
static cot_result
note_json(cot_ctx *c, int status, cot_row *n)
{
	cot_jw *j = cot_jw_new(c);
	cot_jw_val(j, n); /* {"id": 1, "title": "...", "body": "...", "created_at": "..."} */
	return cot_jw_send(c, status, j);
}

/* ==== pages ============================================================ */

/* "form": {title, body} and "errors": {...}: what note_form.html shows. A
 * field without an error is left out, so {{#errors.title}} is false. */
static void
form_data(cot_jw *j, const char *title, const char *body, const note_errors *err)
{
	cot_jw_put_obj(j, "form");
	cot_jw_put(j, "title", title ? title : "");
	cot_jw_put(j, "body", body ? body : "");
	cot_jw_end(j);
	if (err == NULL)
		return;
	cot_jw_put_obj(j, "errors");
	if (err->title != NULL)
		cot_jw_put(j, "title", err->title);
	if (err->body != NULL)
		cot_jw_put(j, "body", err->body);
	cot_jw_end(j);
}

/* templates/new.html: empty, or the rejected input with its errors (422). */
static cot_result
new_page(cot_ctx *c, int status, const note_input *in, const note_errors *err)
{
	cot_jw *j = cot_jw_new(c);
	cot_jw_obj(j);
	cot_jw_put(j, "title", "New note");
	put_me(c, j);
	form_data(j, in ? in->title : "", in ? in->body : "", err);
	cot_jw_end(j);
	return cot_render(c, status, "new.html", j);
}

/* templates/note.html: the note, and its edit form (with the rejected input
 * and its errors when `in` is given). */
static cot_result
note_page(cot_ctx *c, int status, cot_row *n, const note_input *in, const note_errors *err)
{
	cot_jw *j = cot_jw_new(c);
	cot_jw_obj(j);
	cot_jw_fields(j, n); /* id, title, body, created_at */
	put_me(c, j);
	if (in != NULL)
		form_data(j, in->title, in->body, err);
	else
		form_data(j, cot_row_text(n, "title"), cot_row_text(n, "body"), NULL);
	cot_jw_end(j);
	return cot_render(c, status, "note.html", j);
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
	                  : cot_fail(c, 401,
	                             "log in first (POST /api/token gives API clients "
	                             "a bearer token)");
	return 0;
}

#define NEED_USER(uid)                                                                             \
	cot_result denied_;                                                                        \
	long long uid = need_user(c, &denied_);                                                    \
	if (uid == 0)                                                                              \
	return denied_

static cot_result
list_notes(cot_ctx *c)
{
	NEED_USER(uid);
	cot_jw *j = cot_jw_new(c);
	if (wants_json(c)) {
		cot_jw_val(j, cot_db_all(c,
		                         "SELECT id, title, body, created_at FROM notes "
		                         "WHERE user_id = ? ORDER BY id",
		                         uid));
		return cot_jw_send(c, 200, j);
	}
	/* newest first; minutes are enough on a page */
	cot_rows *notes = cot_db_all(c,
	                             "SELECT id, title, substr(body, 1, 280) AS body, "
	                             "substr(created_at, 1, 16) AS created_at FROM notes "
	                             "WHERE user_id = ? ORDER BY id DESC",
	                             uid);
	cot_jw_obj(j);
	cot_jw_put(j, "title", "Notes");
	put_me(c, j);
	cot_jw_put(j, "rows", notes); /* [] is false: {{^rows}} shows the empty state */
	cot_jw_end(j);
	return cot_render(c, 200, "notes.html", j);
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
	read_input(c, &in);
	if (!check_input(c, &in, &err))
		return from_form(c) ? new_page(c, 422, &in, &err) : fail_fields(c, &err);
	cot_row *n = cot_db_one(c,
	                        "INSERT INTO notes (user_id, title, body) VALUES (?, ?, ?) "
	                        "RETURNING id, title, body, created_at",
	                        uid, in.title, in.body ? in.body : "");
	if (n == NULL) /* a failed INSERT answers for itself; this is only a safeguard */
		return cot_fail(c, 500, "the note was not stored");
	const char *where = cot_sprintf(c, "/notes/%lld", cot_row_int(n, "id"));
	if (!sends_json(c))
		return cot_redirect(c, 303, where);
	cot_set_header(c, "Location", where);
	return note_json(c, 201, n);
}

/* The user's note of the :id parameter; NULL when there is none. */
static cot_row *
find_note(cot_ctx *c, long long uid)
{
	return cot_db_one(c,
	                  "SELECT id, title, body, substr(created_at, 1, 16) AS created_at "
	                  "FROM notes WHERE id = ? AND user_id = ?",
	                  cot_param_int(c, "id"), uid);
}

static cot_result
show_note(cot_ctx *c)
{
	NEED_USER(uid);
	if (wants_json(c)) {
		cot_row *n = cot_db_one(c,
		                        "SELECT id, title, body, created_at FROM notes "
		                        "WHERE id = ? AND user_id = ?",
		                        cot_param_int(c, "id"), uid);
		if (n == NULL)
			return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
		return note_json(c, 200, n);
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
	read_input(c, &in);
	if (!check_input(c, &in, &err)) {
		if (!page)
			return fail_fields(c, &err);
		cot_row *old = find_note(c, uid);
		if (old == NULL)
			return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
		return note_page(c, 422, old, &in, &err);
	}
	/* a NULL body binds SQL NULL: COALESCE keeps the stored one */
	cot_row *n = cot_db_one(c,
	                        "UPDATE notes SET title = ?, body = COALESCE(?, body) "
	                        "WHERE id = ? AND user_id = ? RETURNING id, title, body, "
	                        "created_at",
	                        in.title, in.body, cot_param_int(c, "id"), uid);
	if (n == NULL)
		return cot_fail(c, 404, "no note with id %s", cot_param(c, "id"));
	if (page)
		return cot_redirect(c, 303, cot_sprintf(c, "/notes/%lld", cot_row_int(n, "id")));
	return note_json(c, 200, n);
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
	return cot_no_content(c);
}

/* /notes/new comes before /notes/:id: the first pattern that matches wins. */
COT_ROUTES(COT_GET("/notes", list_notes), COT_GET("/notes/new", new_note),
           COT_POST("/notes", create_note), COT_GET("/notes/:id", show_note),
           COT_PUT("/notes/:id", update_note), COT_POST("/notes/:id", update_note),
           COT_DELETE("/notes/:id", delete_note), COT_POST("/notes/:id/delete", delete_note), )
