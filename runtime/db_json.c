/*
 * db_json.c -- rows as JSON (through jansson: templates take these values).
 *
 * The rows db.c copied into the request's arena become jansson values here:
 * a row is an object keyed by column name, rows are an array of them.
 * INTEGER and FLOAT map to JSON numbers, TEXT to strings, NULL to null, and
 * BLOB to a base64 string, since JSON has no bytes. TEXT that is not valid
 * UTF-8 cannot be a JSON string and becomes null rather than an error.
 * render.c takes the values (db_row_value, db_rows_value) as template data;
 * cot_row_json and friends dump them into request-owned strings.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ctx.h"
#include "db.h"
#include "db_internal.h"
#include "error.h"

/* ==== JSON ============================================================= */

static json_t *
db_base64(const db_cell *cell)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)cell->s;
	size_t n = cell->n, o = 0;
	char *out = malloc((n + 2) / 3 * 4 + 1);
	if (out == NULL)
		return json_null();
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	json_t *j = json_stringn(out, o);
	free(out);
	return j;
}

/* A row as a JSON object (new reference); render.c uses it too. */
json_t *
db_row_value(const cot_row *r)
{
	json_t *obj = json_object();
	for (int i = 0; obj != NULL && i < r->cols->n; i++) {
		const db_cell *cell = &r->cells[i];
		json_t *v;
		switch (cell->type) {
		case SQLITE_INTEGER:
			v = json_integer(cell->i);
			break;
		case SQLITE_FLOAT:
			v = json_real(cell->d);
			break;
		case SQLITE_TEXT:
			v = json_stringn(cell->s, cell->n);
			break;
		case SQLITE_BLOB:
			v = db_base64(cell);
			break;
		default:
			v = json_null();
			break;
		}
		/* invalid UTF-8 text cannot be a JSON string: null, not a crash */
		json_object_set_new(obj, r->cols->names[i], v ? v : json_null());
	}
	return obj;
}

/* Dumps and releases `j` into a request-owned string ("null" if NULL). */
static const char *
db_dump(cot_ctx *c, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	const char *out = arena_strdup(&c->mem, s ? s : "null");
	free(s);
	return out;
}

/* Rows as a JSON array (new reference). */
json_t *
db_rows_value(const cot_rows *rs)
{
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < rs->n; i++)
		json_array_append_new(arr, db_row_value(rs->rows[i]));
	return arr;
}

const char *
cot_row_json(cot_row *r)
{
	return r != NULL ? db_dump(r->c, db_row_value(r)) : "null";
}

const char *
cot_rows_json(cot_rows *rs)
{
	return rs != NULL ? db_dump(rs->c, db_rows_value(rs)) : "[]";
}

/* After a db failure the response already is the error: keep it. */
static cot_result
db_keep_failure(cot_ctx *c)
{
	return (cot_result){c->status};
}

cot_result
cot_db_json_row(cot_ctx *c, int status, cot_row *r)
{
	if (c->db_failed)
		return db_keep_failure(c);
	if (r == NULL) {
		error_respond(c, 404, arena_printf(&c->mem, "%s names no resource", c->path), NULL);
		return (cot_result){404};
	}
	const char *s = db_dump(c, db_row_value(r));
	return cot_send(c, status, "application/json", s, strlen(s));
}

cot_result
cot_db_json_rows(cot_ctx *c, int status, cot_rows *rs)
{
	if (c->db_failed)
		return db_keep_failure(c);
	const char *s = rs ? db_dump(c, db_rows_value(rs)) : "[]";
	return cot_send(c, status, "application/json", s, strlen(s));
}
