/*
 * db_result.c -- what both engines (db.c for SQLite, db_pg.c for
 * PostgreSQL) hand back to a request: rows in its arena, read with the
 * column getters, and a failed statement failing the request through the one
 * error pipeline.
 *
 * It sits below both engines, so db.c may dispatch to db_pg.c without the
 * two calling each other (tools/cycles.py). The row layout is in
 * db_internal.h.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ctx.h"
#include "db_internal.h"
#include "error.h"

/* ==== failures ========================================================= */

void
db_fail_request(cot_ctx *c, const char *where, const char *sql, int status, const char *msg)
{
	if (c->db_failed)
		return;
	char *detail = arena_strdup(&c->mem, msg);
	c->db_failed = true;
	c->db_trace =
	        sql ? arena_printf(&c->mem, "%s\n  %s", where, sql) : arena_strdup(&c->mem, where);
	const char *code = status == 409   ? "unique_violation"
	                   : status == 422 ? "constraint_violation"
	                   : status == 503 ? "database_busy"
	                                   : "database_error";
	if (c->reject_status == 0) {
		c->reject_status = status;
		c->reject_detail = detail;
		c->reject_code = code;
		c->reject_db = true;
		c->reject_trace = c->db_trace;
	}
	error_respond_as(c, status, code, detail, c->db_trace);
	c->db_fail_seq = c->resp_seq;
	c->db_err = c->err;
}

/* ==== rows ============================================================ */

void
db_rows_push(cot_rows *rs, cot_row *r)
{
	if (rs->n == rs->cap) {
		int cap = rs->cap ? rs->cap * 2 : 16;
		cot_row **nr = arena_alloc(&rs->c->mem, sizeof(*nr) * (size_t)cap);
		if (rs->n > 0)
			memcpy(nr, rs->rows, sizeof(*nr) * (size_t)rs->n);
		rs->rows = nr;
		rs->cap = cap;
	}
	rs->rows[rs->n++] = r;
}

/* ==== column getters =================================================== */

/* The cell of column `col`, or NULL after failing the request. */
static const db_cell *
db_cell_of(cot_row *r, const char *col, const char *fn)
{
	if (r == NULL || col == NULL)
		return NULL;
	for (int i = 0; i < r->cols->n; i++)
		if (strcmp(r->cols->names[i], col) == 0)
			return &r->cells[i];
	cot_ctx *c = r->c;
	char *names = arena_strdup(&c->mem, "");
	for (int i = 0; i < r->cols->n; i++)
		names = arena_printf(&c->mem, "%s%s%s", names, i ? ", " : "", r->cols->names[i]);
	db_fail_request(c, fn, NULL, 500,
	                arena_printf(&c->mem,
	                             "no column \"%s\" in the row "
	                             "(columns: %s)",
	                             col, names));
	return NULL;
}

/* Parses text as a whole number; fails the request when it is not one. */
static int
db_text_number(cot_row *r, const char *col, const db_cell *cell, const char *fn, bool integer,
               long long *i, double *d)
{
	char *end = NULL;
	if (cell->type == SQLITE_TEXT && cell->n > 0) {
		if (integer)
			*i = strtoll(cell->s, &end, 10);
		else
			*d = strtod(cell->s, &end);
		if (end != NULL && *end == '\0')
			return 0;
	}
	db_fail_request(r->c, fn, NULL, 500,
	                arena_printf(&r->c->mem,
	                             "column \"%s\" holds "
	                             "%s \"%.40s\", not a number",
	                             col, cell->type == SQLITE_BLOB ? "a BLOB" : "text", cell->s));
	return -1;
}

const char *
cot_row_text(cot_row *r, const char *col)
{
	const db_cell *cell = db_cell_of(r, col, "cot_row_text");
	if (cell == NULL)
		return "";
	switch (cell->type) {
	case SQLITE_INTEGER:
		return arena_printf(&r->c->mem, "%lld", cell->i);
	case SQLITE_FLOAT:
		return arena_printf(&r->c->mem, "%.15g", cell->d);
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		return cell->s;
	default:
		return "";
	}
}

long long
cot_row_int(cot_row *r, const char *col)
{
	const db_cell *cell = db_cell_of(r, col, "cot_row_int");
	long long i = 0;
	double d;
	if (cell == NULL || cell->type == SQLITE_NULL)
		return 0;
	if (cell->type == SQLITE_INTEGER)
		return cell->i;
	if (cell->type == SQLITE_FLOAT)
		return (long long)cell->d;
	return db_text_number(r, col, cell, "cot_row_int", true, &i, &d) == 0 ? i : 0;
}

double
cot_row_double(cot_row *r, const char *col)
{
	const db_cell *cell = db_cell_of(r, col, "cot_row_double");
	long long i;
	double d = 0;
	if (cell == NULL || cell->type == SQLITE_NULL)
		return 0;
	if (cell->type == SQLITE_INTEGER)
		return (double)cell->i;
	if (cell->type == SQLITE_FLOAT)
		return cell->d;
	return db_text_number(r, col, cell, "cot_row_double", false, &i, &d) == 0 ? d : 0;
}

int
cot_row_is_null(cot_row *r, const char *col)
{
	const db_cell *cell = db_cell_of(r, col, "cot_row_is_null");
	return cell == NULL || cell->type == SQLITE_NULL;
}

const void *
cot_row_blob(cot_row *r, const char *col, size_t *len)
{
	const db_cell *cell = db_cell_of(r, col, "cot_row_blob");
	bool bytes = cell != NULL && (cell->type == SQLITE_BLOB || cell->type == SQLITE_TEXT);
	if (len != NULL)
		*len = bytes ? cell->n : 0;
	return bytes ? cell->s : NULL;
}

int
cot_rows_count(cot_rows *rs)
{
	return rs != NULL ? rs->n : 0;
}

cot_row *
cot_rows_get(cot_rows *rs, int i)
{
	return rs != NULL && i >= 0 && i < rs->n ? rs->rows[i] : NULL;
}
