/*
 * jw.c -- the JSON writer: nested JSON written straight into the request's
 * arena, no intermediate tree.
 *
 * A writer is a growing text buffer and a stack of open containers. Each
 * call appends one token (with the comma it needs), so building a response
 * costs what printing it costs: no per-value allocation, no hash tables, no
 * reference counts -- which is why cot_jw_send of rows is faster than
 * cot_db_json_rows, which builds jansson values first (tests/bench/
 * bench_json.c measures both in one run).
 *
 * Values arrive as cot_jv, made by cot.h's _Generic wrapper, so a C type the
 * writer cannot write is a compile error. Strings are escaped and checked to
 * be UTF-8; rows keep their SQL types (NULL -> null, INTEGER, REAL, TEXT,
 * BLOB as base64), columns marked with cot_jw_bools become true/false and
 * columns marked with cot_jw_raws (JSON text from SQLite's json_object /
 * json_group_array) are embedded as they are, after jansson checked them.
 *
 * Misuse -- a value without a key inside an object, an end with nothing
 * open, text that is not UTF-8, a NaN -- is remembered with the path where
 * it happened ("$.notes[3].title"); the writer then ignores further calls
 * and cot_jw_send answers 500 naming it.
 */
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "db_internal.h"
#include "error.h"

#define JW_MAX_DEPTH  64
#define JW_MAX_MARKED 32

typedef struct jw_level {
	char kind;       /* '{' or '[' */
	int count;       /* members or elements written */
	const char *key; /* the member being written (objects) */
} jw_level;

struct cot_jw {
	cot_ctx *c;
	char *buf;
	size_t len, cap;
	int depth;         /* open containers */
	bool done;         /* the top-level value is complete */
	bool has_key;      /* cot_jw_key was called: a value must follow */
	const char *error; /* first misuse, with its path */
	jw_level stack[JW_MAX_DEPTH];
	const char *bools[JW_MAX_MARKED];
	const char *raws[JW_MAX_MARKED];
	int nbools, nraws;
};

/* ==== buffer =========================================================== */

static void
jw_reserve(cot_jw *j, size_t n)
{
	if (j->len + n + 1 <= j->cap)
		return;
	size_t cap = j->cap * 2;
	while (cap < j->len + n + 1)
		cap *= 2;
	char *nb = arena_alloc(&j->c->mem, cap); /* the old buffer dies with the request */
	memcpy(nb, j->buf, j->len);
	j->buf = nb;
	j->cap = cap;
}

static void
jw_append(cot_jw *j, const char *s, size_t n)
{
	jw_reserve(j, n);
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static void
jw_char(cot_jw *j, char ch)
{
	jw_reserve(j, 1);
	j->buf[j->len++] = ch;
}

/* ==== errors =========================================================== */

/* "$.notes[3].title": where the writer is now. */
static const char *
jw_path(cot_jw *j)
{
	arena *a = &j->c->mem;
	char *p = arena_strdup(a, "$");
	for (int i = 0; i < j->depth; i++) {
		const jw_level *l = &j->stack[i];
		if (l->kind == '{' && l->key != NULL)
			p = arena_printf(a, "%s.%s", p, l->key);
		else if (l->kind == '[')
			p = arena_printf(a, "%s[%d]", p, l->count);
	}
	return p;
}

static void jw_fail(cot_jw *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
jw_fail(cot_jw *j, const char *fmt, ...)
{
	if (j->error != NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *why = arena_vprintf(&j->c->mem, fmt, ap);
	va_end(ap);
	j->error = arena_printf(&j->c->mem, "at %s: %s", jw_path(j), why);
}

/* ==== structure ======================================================== */

cot_jw *
cot_jw_new(cot_ctx *c)
{
	cot_jw *j = arena_alloc(&c->mem, sizeof(*j));
	j->c = c;
	j->cap = 1024;
	j->buf = arena_alloc(&c->mem, j->cap);
	return j;
}

/*
 * Where a value may go now: top level (once), an array, or an object
 * member whose key was given. Writes the separating comma; 0 if not.
 */
static int
jw_before_value(cot_jw *j)
{
	if (j->error != NULL)
		return -1;
	if (j->depth == 0) {
		if (j->done) {
			jw_fail(j, "a second top-level value (the first is complete)");
			return -1;
		}
		return 0;
	}
	jw_level *l = &j->stack[j->depth - 1];
	if (l->kind == '{') {
		if (!j->has_key) {
			jw_fail(j,
			        "a value inside an object needs a key (cot_jw_put or cot_jw_key)");
			return -1;
		}
		j->has_key = false;
		return 0; /* the key wrote the comma */
	}
	if (l->count > 0)
		jw_char(j, ',');
	return 0;
}

/* After a complete value: count it, or finish the document. */
static void
jw_after_value(cot_jw *j)
{
	if (j->depth == 0)
		j->done = true;
	else
		j->stack[j->depth - 1].count++;
}

static void
jw_open(cot_jw *j, char kind)
{
	if (jw_before_value(j) != 0)
		return;
	if (j->depth == JW_MAX_DEPTH) {
		jw_fail(j, "nesting deeper than %d", JW_MAX_DEPTH);
		return;
	}
	jw_char(j, kind);
	j->stack[j->depth++] = (jw_level){kind, 0, NULL};
}

void
cot_jw_obj(cot_jw *j)
{
	jw_open(j, '{');
}

void
cot_jw_arr(cot_jw *j)
{
	jw_open(j, '[');
}

void
cot_jw_end(cot_jw *j)
{
	if (j->error != NULL)
		return;
	if (j->depth == 0) {
		jw_fail(j, "cot_jw_end with nothing open");
		return;
	}
	if (j->has_key) {
		jw_fail(j, "key \"%s\" has no value", j->stack[j->depth - 1].key);
		return;
	}
	jw_char(j, j->stack[--j->depth].kind == '{' ? '}' : ']');
	jw_after_value(j);
}

static void jw_string(cot_jw *j, const char *s, size_t n);

void
cot_jw_key(cot_jw *j, const char *key)
{
	if (j->error != NULL)
		return;
	if (j->depth == 0 || j->stack[j->depth - 1].kind != '{') {
		jw_fail(j, "key \"%s\" outside an object", key ? key : "(null)");
		return;
	}
	if (j->has_key) {
		jw_fail(j, "key \"%s\" has no value", j->stack[j->depth - 1].key);
		return;
	}
	if (key == NULL) {
		jw_fail(j, "a NULL key");
		return;
	}
	jw_level *l = &j->stack[j->depth - 1];
	if (l->count > 0)
		jw_char(j, ',');
	l->key = key;
	jw_string(j, key, strlen(key));
	if (j->error == NULL)
		jw_char(j, ':');
	j->has_key = true;
}

void
cot_jw_put_obj(cot_jw *j, const char *key)
{
	cot_jw_key(j, key);
	cot_jw_obj(j);
}

void
cot_jw_put_arr(cot_jw *j, const char *key)
{
	cot_jw_key(j, key);
	cot_jw_arr(j);
}

/* ==== scalars ========================================================== */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t
jw_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char b = p[0];
	size_t len;
	unsigned cp, min;
	if (b < 0xC2)
		return 0; /* ASCII is handled by the caller; 0x80-0xC1 never start */
	if (b < 0xE0) {
		len = 2;
		cp = b & 0x1F;
		min = 0x80;
	} else if (b < 0xF0) {
		len = 3;
		cp = b & 0x0F;
		min = 0x800;
	} else if (b < 0xF5) {
		len = 4;
		cp = b & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* A JSON string: escaped, UTF-8 checked (invalid text fails the writer). */
static void
jw_string(cot_jw *j, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	jw_reserve(j, n + 2);
	j->buf[j->len++] = '"';
	size_t i = 0;
	while (i < n) {
		size_t start = i;
		while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
			i++;
		jw_append(j, s + start, i - start); /* the plain run at once */
		if (i == n)
			break;
		unsigned char ch = p[i];
		if (ch >= 0x80) {
			size_t len = jw_utf8_len(p + i, n - i);
			if (len == 0) {
				jw_fail(j, "text is not valid UTF-8 (byte %zu: 0x%02x)", i, ch);
				return;
			}
			jw_append(j, s + i, len);
			i += len;
			continue;
		}
		char esc[7] = {'\\', 0};
		size_t elen = 2;
		switch (ch) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			elen = 6;
		}
		jw_append(j, esc, elen);
		i++;
	}
	jw_char(j, '"');
}

static void
jw_int(cot_jw *j, long long v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	jw_append(j, p, (size_t)(e - p));
}

/* The shortest text that reads back as the same double; a whole number
 * keeps ".0" so it still reads as a real (jansson does the same). */
static void
jw_double(cot_jw *j, double d)
{
	if (!isfinite(d)) {
		jw_fail(j, "%s is not a JSON number", isnan(d) ? "NaN" : "infinity");
		return;
	}
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.15g", d);
	if (strtod(tmp, NULL) != d)
		n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	if (strpbrk(tmp, ".eEn") == NULL) {
		memcpy(tmp + n, ".0", 3);
		n += 2;
	}
	jw_append(j, tmp, (size_t)n);
}

/* Embeds JSON text after jansson checked that it is one value. */
static void
jw_raw(cot_jw *j, const char *s, size_t n)
{
	json_error_t err;
	json_t *v = s ? json_loadb(s, n, JSON_DECODE_ANY, &err) : NULL;
	if (v == NULL) {
		jw_fail(j, "raw text is not JSON: %s", s ? err.text : "NULL");
		return;
	}
	json_decref(v);
	jw_append(j, s, n);
}

static void jw_row(cot_jw *j, const cot_row *r);
static void jw_rows(cot_jw *j, const cot_rows *rs);

void
cot_jw_value(cot_jw *j, cot_jv v)
{
	if (jw_before_value(j) != 0)
		return;
	switch (v.type) {
	case COT_JV_NULL:
		break;
	case COT_JV_INT:
		jw_int(j, v.u.i);
		break;
	case COT_JV_UINT: {
		char tmp[24];
		int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v.u.i);
		jw_append(j, tmp, (size_t)n);
		break;
	}
	case COT_JV_DOUBLE:
		jw_double(j, v.u.d);
		break;
	case COT_JV_BOOL:
		jw_append(j, v.u.i ? "true" : "false", v.u.i ? 4 : 5);
		break;
	case COT_JV_STR:
		jw_string(j, v.u.s, strlen(v.u.s));
		break;
	case COT_JV_RAW:
		jw_raw(j, v.u.s, v.u.s ? strlen(v.u.s) : 0);
		break;
	case COT_JV_ROW:
		if (v.u.row == NULL)
			break; /* no row: null */
		jw_row(j, v.u.row);
		return; /* jw_row counted itself */
	case COT_JV_ROWS:
		jw_rows(j, v.u.rows);
		return;
	default:
		jw_fail(j, "a value of unknown type %d", v.type);
		return;
	}
	if (v.type == COT_JV_NULL || (v.type == COT_JV_ROW && v.u.row == NULL))
		jw_append(j, "null", 4);
	jw_after_value(j);
}

void
cot_jw_put_value(cot_jw *j, const char *key, cot_jv v)
{
	cot_jw_key(j, key);
	cot_jw_value(j, v);
}

/* ==== rows ============================================================= */

static void
jw_mark(cot_jw *j, const char **list, int *n, const char *col, va_list ap)
{
	for (; col != NULL; col = va_arg(ap, const char *)) {
		if (*n == JW_MAX_MARKED) {
			jw_fail(j, "more than %d marked columns", JW_MAX_MARKED);
			return;
		}
		list[(*n)++] = col;
	}
}

void
cot_jw_bools(cot_jw *j, const char *col, ...)
{
	va_list ap;
	va_start(ap, col);
	jw_mark(j, j->bools, &j->nbools, col, ap);
	va_end(ap);
}

void
cot_jw_raws(cot_jw *j, const char *col, ...)
{
	va_list ap;
	va_start(ap, col);
	jw_mark(j, j->raws, &j->nraws, col, ap);
	va_end(ap);
}

static bool
jw_marked(const char *const *list, int n, const char *col)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], col) == 0)
			return true;
	return false;
}

static void
jw_base64(cot_jw *j, const unsigned char *p, size_t n)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	jw_reserve(j, (n + 2) / 3 * 4 + 2);
	char *o = j->buf + j->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o++ = '"';
	j->len = (size_t)(o - j->buf);
}

/* One column's value, by its SQL type and the writer's marks. */
static void
jw_cell(cot_jw *j, const char *col, const db_cell *cell)
{
	if (cell->type == SQLITE_NULL) {
		jw_append(j, "null", 4);
		return;
	}
	if (j->nbools > 0 && jw_marked(j->bools, j->nbools, col)) {
		if (cell->type == SQLITE_INTEGER || cell->type == SQLITE_FLOAT) {
			bool t = cell->type == SQLITE_INTEGER ? cell->i != 0 : cell->d != 0;
			jw_append(j, t ? "true" : "false", t ? 4 : 5);
		} else {
			jw_fail(j, "column \"%s\" is marked boolean but holds %s", col,
			        cell->type == SQLITE_TEXT ? "text" : "a BLOB");
		}
		return;
	}
	switch (cell->type) {
	case SQLITE_INTEGER:
		jw_int(j, cell->i);
		break;
	case SQLITE_FLOAT:
		jw_double(j, cell->d);
		break;
	case SQLITE_TEXT:
		if (j->nraws > 0 && jw_marked(j->raws, j->nraws, col))
			jw_raw(j, cell->s, cell->n);
		else
			jw_string(j, cell->s, cell->n);
		break;
	default:
		jw_base64(j, (const unsigned char *)cell->s, cell->n);
		break;
	}
}

void
cot_jw_fields(cot_jw *j, cot_row *r)
{
	if (j->error != NULL || r == NULL)
		return;
	if (j->depth == 0 || j->stack[j->depth - 1].kind != '{' || j->has_key) {
		jw_fail(j, "cot_jw_fields needs an open object (and no pending key)");
		return;
	}
	for (int i = 0; i < r->cols->n && j->error == NULL; i++) {
		cot_jw_key(j, r->cols->names[i]);
		j->has_key = false;
		jw_cell(j, r->cols->names[i], &r->cells[i]);
		j->stack[j->depth - 1].count++;
	}
	if (j->depth > 0)
		j->stack[j->depth - 1].key = NULL;
}

/* A row as an object; the value slot was checked by the caller. */
static void
jw_row(cot_jw *j, const cot_row *r)
{
	if (j->depth == JW_MAX_DEPTH) {
		jw_fail(j, "nesting deeper than %d", JW_MAX_DEPTH);
		return;
	}
	jw_char(j, '{');
	j->stack[j->depth++] = (jw_level){'{', 0, NULL};
	cot_jw_fields(j, (cot_row *)r);
	if (j->error == NULL) {
		jw_char(j, '}');
		j->depth--;
		jw_after_value(j);
	}
}

static void
jw_rows(cot_jw *j, const cot_rows *rs)
{
	if (j->depth == JW_MAX_DEPTH) {
		jw_fail(j, "nesting deeper than %d", JW_MAX_DEPTH);
		return;
	}
	jw_char(j, '[');
	j->stack[j->depth++] = (jw_level){'[', 0, NULL};
	for (int i = 0; rs != NULL && i < rs->n && j->error == NULL; i++) {
		if (i > 0)
			jw_char(j, ',');
		jw_row(j, rs->rows[i]);
	}
	if (j->error == NULL) {
		jw_char(j, ']');
		j->depth--;
		jw_after_value(j);
	}
}

/* ==== results ========================================================== */

const char *
cot_jw_error(cot_jw *j)
{
	if (j->error == NULL && (j->depth > 0 || !j->done))
		return j->depth > 0 ? arena_printf(&j->c->mem,
		                                   "%d container%s still open "
		                                   "(a cot_jw_end is missing)",
		                                   j->depth, j->depth == 1 ? "" : "s")
		                    : "nothing was written";
	return j->error;
}

const char *
cot_jw_text(cot_jw *j)
{
	if (cot_jw_error(j) != NULL)
		return NULL;
	j->buf[j->len] = '\0';
	return j->buf;
}

cot_result
cot_jw_send(cot_ctx *c, int status, cot_jw *j)
{
	if (c->db_failed && c->reject_db) /* the response already is the failure */
		return (cot_result){c->status};
	const char *why = j != NULL ? cot_jw_error(j) : "the writer is NULL";
	if (why != NULL) {
		error_respond_as(c, 500, "api_misuse",
		                 arena_printf(&c->mem, "cot_jw_send: %s", why), NULL);
		return (cot_result){500};
	}
	/* the text is already in the request's arena: no copy */
	c->status = status;
	if (!c->content_type_fixed)
		c->content_type = "application/json";
	c->resp_body = j->buf;
	c->resp_len = j->len;
	c->responded = true;
	c->resp_seq++;
	return (cot_result){status};
}

/* Template data from a writer: jansson reads the text back once. */
cot_result
cot_render_jw(cot_ctx *c, int status, const char *name, cot_jw *j)
{
	const char *text = j != NULL ? cot_jw_text(j) : NULL;
	if (text == NULL) {
		error_respond_as(c, 500, "api_misuse",
		                 arena_printf(&c->mem, "cot_render of %s: %s", name,
		                              j ? cot_jw_error(j) : "the writer is NULL"),
		                 NULL);
		return (cot_result){500};
	}
	json_t *data = json_loads(text, JSON_DECODE_ANY, NULL);
	cot_result r = cot_render_json(c, status, name, data);
	json_decref(data);
	return r;
}
