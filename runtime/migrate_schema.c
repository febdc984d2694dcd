/*
 * migrate_schema.c -- schemas in and out of SQLite.
 *
 * schema.sql is run statement by statement in an empty in-memory
 * database, so SQLite itself is the parser and a mistake is reported at
 * its line (sqlite3_error_offset points into the statement). Both the
 * in-memory and the live database are then read back the same way, from
 * sqlite_schema, pragma table_list and pragma table_xinfo, into a struct
 * migrate_schema that migrate.c diffs. Reading both sides through SQLite
 * means both sides carry SQLite's own rewriting of the text (IF NOT
 * EXISTS dropped, names re-quoted by ALTER TABLE), so they compare fairly.
 *
 * Objects named _cot* (ours) and sqlite_* (SQLite's), and the shadow
 * tables of virtual tables, are invisible here and so never migrated.
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_internal.h"

#define USER_OBJECTS                                                                               \
	"SELECT type, name, tbl_name, sql FROM main.sqlite_schema"                                 \
	" WHERE sql IS NOT NULL"                                                                   \
	" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"                                              \
	" AND name NOT LIKE '\\_cot%' ESCAPE '\\'"                                                 \
	" AND tbl_name NOT LIKE '\\_cot%' ESCAPE '\\'"                                             \
	" AND name NOT IN (SELECT name FROM pragma_table_list"                                     \
	"   WHERE schema = 'main' AND type = 'shadow')"                                            \
	" ORDER BY rowid"

/* ---- loading schema.sql -------------------------------------------- */

static int
migrate_schema_line_at(const char *text, const char *at)
{
	int line = 1;
	for (const char *s = text; s < at && *s; s++)
		if (*s == '\n')
			line++;
	return line;
}

/* The first token of the statement at p that is not a comment. */
static void
migrate_schema_first_token(const char *p, struct migrate_token *t, const char **rest)
{
	int line = 1;
	do
		migrate_lex(&p, &line, t);
	while (t->kind == MIGRATE_TK_COMMENT);
	if (rest)
		*rest = p;
}

/* 0 when the statement at p is a CREATE of a permanent schema object. */
static int
migrate_schema_statement_allowed(const char *p)
{
	struct migrate_token t;
	migrate_schema_first_token(p, &t, &p);
	if (!migrate_is_kw(&t, "create"))
		return -1;
	migrate_schema_first_token(p, &t, &p);
	if (migrate_is_kw(&t, "unique") || migrate_is_kw(&t, "virtual"))
		migrate_schema_first_token(p, &t, &p);
	return migrate_is_kw(&t, "table") || migrate_is_kw(&t, "index") ||
	                       migrate_is_kw(&t, "view") || migrate_is_kw(&t, "trigger")
	               ? 0
	               : -1;
}

static int
migrate_schema_reserved_name(sqlite3 *mem, char **name)
{
	sqlite3_stmt *st;
	int found = 0;
	if (sqlite3_prepare_v2(mem,
	                       "SELECT name FROM sqlite_schema WHERE name LIKE "
	                       "'\\_cot%' ESCAPE '\\'",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*name = migrate_strdup((const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* Prepare and run one statement of schema.sql; *p moves past it. */
static int
migrate_schema_load_one(sqlite3 *mem, const char *text, const char **p, char **err)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL, *start = *p, *first;
	struct migrate_token t;
	char *name = NULL;
	int rc = sqlite3_prepare_v2(mem, start, -1, &st, &tail);
	migrate_schema_first_token(start, &t, NULL);
	first = t.s;
	if (rc != SQLITE_OK) {
		int off = sqlite3_error_offset(mem);
		*err = migrate_printf("schema.sql:%d: %s",
		                      migrate_schema_line_at(text, off >= 0 ? start + off : first),
		                      sqlite3_errmsg(mem));
		return -1;
	}
	*p = tail;
	if (st == NULL)
		return 0;
	if (migrate_schema_statement_allowed(start) != 0) {
		sqlite3_finalize(st);
		*err = migrate_printf("schema.sql:%d: only CREATE TABLE, INDEX, "
		                      "VIEW and TRIGGER belong in schema.sql",
		                      migrate_schema_line_at(text, first));
		return -1;
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		*err = migrate_printf("schema.sql:%d: %s", migrate_schema_line_at(text, first),
		                      sqlite3_errmsg(mem));
		return -1;
	}
	if (migrate_schema_reserved_name(mem, &name)) {
		*err = migrate_printf("schema.sql:%d: the name %s is reserved "
		                      "(names starting with _cot belong to cot)",
		                      migrate_schema_line_at(text, first), name);
		free(name);
		return -1;
	}
	return 0;
}

/* Run schema_sql in mem (empty); on error *err names schema.sql's line. */
int
migrate_schema_load(sqlite3 *mem, const char *schema_sql, char **err)
{
	const char *p = schema_sql;
	while (*p)
		if (migrate_schema_load_one(mem, schema_sql, &p, err))
			return -1;
	return 0;
}

/* ---- reading a database ------------------------------------------- */

static char *
migrate_schema_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? migrate_strdup((const char *)s) : NULL;
}

static int
migrate_schema_read_columns(sqlite3 *db, struct migrate_object *o)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "SELECT name, type, \"notnull\", dflt_value, pk, "
	                       "hidden FROM pragma_table_xinfo(?1, 'main')",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct migrate_column *c;
		o->cols = migrate_xrealloc(o->cols, (o->n_cols + 1) * sizeof *o->cols);
		c = &o->cols[o->n_cols++];
		memset(c, 0, sizeof *c);
		c->name = migrate_schema_col_text(st, 0);
		c->type = migrate_schema_col_text(st, 1);
		c->notnull = sqlite3_column_int(st, 2);
		c->dflt = migrate_schema_col_text(st, 3);
		c->pk = sqlite3_column_int(st, 4);
		c->hidden = sqlite3_column_int(st, 5);
	}
	return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

static int
migrate_schema_read_table_kind(sqlite3 *db, struct migrate_object *o)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "SELECT type, strict, wr FROM pragma_table_list"
	                       " WHERE schema = 'main' AND name = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		o->is_virtual = strcmp((const char *)sqlite3_column_text(st, 0), "virtual") == 0;
		o->strict = sqlite3_column_int(st, 1);
		o->without_rowid = sqlite3_column_int(st, 2);
	}
	return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

static int
migrate_schema_read_has_rows(sqlite3 *db, struct migrate_object *o)
{
	sqlite3_stmt *st;
	char *q = migrate_quote(o->name);
	char *sql = migrate_printf("SELECT 1 FROM main.%s LIMIT 1", q);
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	free(q);
	free(sql);
	if (rc != SQLITE_OK)
		return -1;
	o->has_rows = sqlite3_step(st) == SQLITE_ROW;
	return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

/* Fill a table's columns, kind, text items and (live) row presence. */
static int
migrate_schema_read_table(sqlite3 *db, int is_live, struct migrate_object *o)
{
	if (migrate_schema_read_table_kind(db, o))
		return -1;
	if (o->is_virtual)
		return 0;
	if (migrate_schema_read_columns(db, o) || (is_live && migrate_schema_read_has_rows(db, o)))
		return -1;
	if (migrate_table_text(o->sql, &o->text) != 0)
		return 0;
	for (size_t i = 0; i < o->text.n_items; i++) {
		struct migrate_item *it = &o->text.items[i];
		struct migrate_column *c =
		        it->column ? (struct migrate_column *)migrate_column_find(o, it->column)
		                   : NULL;
		if (c && it->renamed_from)
			c->renamed_from = migrate_strdup(it->renamed_from);
	}
	return 0;
}

/* Read db's user schema into s. is_live: also note which tables have
 * rows. On error *err is set and s is left empty. */
int
migrate_schema_read(sqlite3 *db, int is_live, struct migrate_schema *s, char **err)
{
	sqlite3_stmt *st;
	memset(s, 0, sizeof *s);
	if (sqlite3_prepare_v2(db, USER_OBJECTS, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct migrate_object *o;
		s->objs = migrate_xrealloc(s->objs, (s->n + 1) * sizeof *s->objs);
		o = &s->objs[s->n++];
		memset(o, 0, sizeof *o);
		o->type = migrate_schema_col_text(st, 0);
		o->name = migrate_schema_col_text(st, 1);
		o->tbl = migrate_schema_col_text(st, 2);
		o->sql = migrate_schema_col_text(st, 3);
		o->norm = migrate_normalize(o->sql);
	}
	if (sqlite3_finalize(st) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->objs[i].type, "table") == 0 &&
		    migrate_schema_read_table(db, is_live, &s->objs[i]))
			goto fail;
	return 0;
fail:
	*err = migrate_printf("reading the schema: %s", sqlite3_errmsg(db));
	migrate_schema_free(s);
	return -1;
}

void
migrate_schema_free(struct migrate_schema *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct migrate_object *o = &s->objs[i];
		for (size_t j = 0; j < o->n_cols; j++) {
			free(o->cols[j].name);
			free(o->cols[j].type);
			free(o->cols[j].dflt);
			free(o->cols[j].renamed_from);
		}
		free(o->cols);
		migrate_table_text_free(&o->text);
		free(o->type);
		free(o->name);
		free(o->tbl);
		free(o->sql);
		free(o->norm);
	}
	free(s->objs);
	memset(s, 0, sizeof *s);
}

struct migrate_object *
migrate_schema_find(const struct migrate_schema *s, const char *type, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->objs[i].type, type) == 0 &&
		    sqlite3_stricmp(s->objs[i].name, name) == 0)
			return &s->objs[i];
	return NULL;
}

const struct migrate_column *
migrate_column_find(const struct migrate_object *t, const char *name)
{
	for (size_t i = 0; i < t->n_cols; i++)
		if (sqlite3_stricmp(t->cols[i].name, name) == 0)
			return &t->cols[i];
	return NULL;
}

/* ---- the dump ------------------------------------------------------ */

/* s lowercased (malloc'd); identifiers are case-insensitive. */
static char *
migrate_schema_lowdup(const char *s)
{
	char *d = migrate_strdup(s ? s : "");
	for (char *c = d; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return d;
}

static int
migrate_schema_cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per object (and per column), sorted, so that the text does
 * not depend on creation order. */
char *
migrate_schema_dump(sqlite3 *db, char **err)
{
	struct migrate_schema s;
	struct migrate_buf b = {0};
	char **lines = NULL;
	size_t n = 0;
	if (migrate_schema_read(db, 0, &s, err))
		return NULL;
	for (size_t i = 0; i < s.n; i++) {
		struct migrate_object *o = &s.objs[i];
		lines = migrate_xrealloc(lines, (n + 1 + o->n_cols) * sizeof *lines);
		char *name = migrate_schema_lowdup(o->name), *tbl = migrate_schema_lowdup(o->tbl);
		lines[n] = migrate_printf("%s %s %s: %s", o->type, name, tbl, o->norm);
		for (size_t j = 0; j < o->n_cols; j++) {
			struct migrate_column *c = &o->cols[j];
			char *cn = migrate_schema_lowdup(c->name),
			     *ct = migrate_schema_lowdup(c->type);
			lines[n + 1 + j] = migrate_printf(
			        "%s %s column %03zu: %s|%s|%d|%s|%d|%d", o->type, name, j, cn, ct,
			        c->notnull, c->dflt ? c->dflt : "NULL", c->pk, c->hidden);
			free(cn);
			free(ct);
		}
		free(name);
		free(tbl);
		n += 1 + o->n_cols;
	}
	if (n > 0)
		qsort(lines, n, sizeof *lines, migrate_schema_cmp_line);
	for (size_t i = 0; i < n; i++) {
		migrate_buf_printf(&b, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	migrate_schema_free(&s);
	migrate_buf_str(&b);
	return b.s;
}
