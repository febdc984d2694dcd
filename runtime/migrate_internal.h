/*
 * migrate_internal.h -- what the migrate_*.c files share; never included
 * by handler code or by anything outside runtime/migrate*.c and tests.
 *
 *   migrate_sql.c     lexer, SQL normaliser, identifier quoting, the
 *                     column items and @renamed annotations of a table
 *   migrate_schema.c  schema.sql -> in-memory db (errors name the line),
 *                     a database -> struct migrate_schema, the dump
 *   migrate.c         the diff: struct migrate_schema x2 -> plan steps
 *   migrate_apply.c   one transaction, history table, rollback; the
 *                     plan accessors
 *
 * Allocation failure aborts (migrate_xmalloc). The planner runs in the dev
 * tool (cotdev run, cotdev migrate), in `cotdev export` (which plans the
 * embedded schema to check it) and in an exported binary's start
 * (migrate_sync in app_main.c, before it serves): in each there is nothing
 * sensible to do without memory, and an abort while applying commits
 * nothing, since the steps run in one transaction.
 */
#ifndef COT_MIGRATE_INTERNAL_H
#define COT_MIGRATE_INTERNAL_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>

#include "migrate.h"

/* ---- growable string ---------------------------------------------- */

struct migrate_buf {
	char *s;
	size_t n, cap;
};

void *migrate_xmalloc(size_t n);
void *migrate_xrealloc(void *p, size_t n);
char *migrate_strdup(const char *s);
char *migrate_strndup(const char *s, size_t n);
char *migrate_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void migrate_buf_add(struct migrate_buf *b, const char *s, size_t n);
void migrate_buf_printf(struct migrate_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* The string so far (never NULL); the buffer keeps ownership. */
const char *migrate_buf_str(struct migrate_buf *b);

/* ---- lexer and normaliser (migrate_sql.c) -------------------------- */

enum migrate_tk {
	MIGRATE_TK_END,
	MIGRATE_TK_WORD,   /* keyword or bare identifier */
	MIGRATE_TK_IDENT,  /* "quoted", `quoted` or [quoted] identifier */
	MIGRATE_TK_STRING, /* 'literal' */
	MIGRATE_TK_NUMBER,
	MIGRATE_TK_PUNCT,   /* one character */
	MIGRATE_TK_COMMENT, /* -- or block comment */
};

struct migrate_token {
	enum migrate_tk kind;
	const char *s;
	size_t n;
	int line; /* 1-based line of the first character */
};

/* Read the token at *p, advance *p past it and *line over its newlines. */
void migrate_lex(const char **p, int *line, struct migrate_token *t);
/* A WORD or IDENT token's identifier text, unquoted (malloc'd). */
char *migrate_ident(const struct migrate_token *t);
/* Is t the keyword kw (case-insensitive)? */
int migrate_is_kw(const struct migrate_token *t, const char *kw);
/* Comments, spacing, identifier case and quotes removed (malloc'd). */
char *migrate_normalize(const char *sql);
/* "ident" with embedded quotes doubled (malloc'd). */
char *migrate_quote(const char *ident);

/* One comma-separated item of a CREATE TABLE body. */
struct migrate_item {
	char *column;       /* column name, NULL for a table constraint */
	char *def;          /* the item's text, as written */
	char *renamed_from; /* from a @renamed annotation, or NULL */
};

struct migrate_table_text {
	struct migrate_item *items;
	size_t n_items;
	char *renamed_from;        /* the table's own @renamed, or NULL */
	size_t name_off, name_len; /* the table name's span in the SQL */
};

/* The first "@renamed from=" annotation anywhere in sql, or NULL. */
char *migrate_renamed_from(const char *sql);
/* Split a stored CREATE TABLE statement; returns -1 if it has no body. */
int migrate_table_text(const char *sql, struct migrate_table_text *out);
void migrate_table_text_free(struct migrate_table_text *t);

/* ---- schema model (migrate_schema.c) ------------------------------ */

struct migrate_column {
	char *name, *type, *dflt; /* dflt NULL when there is none */
	int notnull, pk, hidden;  /* hidden: 2, 3 generated; 1 vtab */
	char *renamed_from;       /* desired side only */
};

struct migrate_object {
	char *type, *name, *tbl, *sql, *norm; /* norm: migrate_normalize */
	/* tables only: */
	struct migrate_column *cols;
	size_t n_cols;
	int strict, without_rowid, is_virtual;
	struct migrate_table_text text;
	int has_rows; /* live side only */
};

struct migrate_schema {
	struct migrate_object *objs; /* in sqlite_schema rowid order */
	size_t n;
};

/* Run schema_sql in the empty database mem; errors name the line. */
int migrate_schema_load(sqlite3 *mem, const char *schema_sql, char **err);
int migrate_schema_read(sqlite3 *db, int is_live, struct migrate_schema *s, char **err);
void migrate_schema_free(struct migrate_schema *s);
/* The object of this type and name (case-insensitive), or NULL. */
struct migrate_object *migrate_schema_find(const struct migrate_schema *s, const char *type,
                                           const char *name);
const struct migrate_column *migrate_column_find(const struct migrate_object *t, const char *name);

/* ---- plan internals (migrate.c, used by migrate_apply.c) ----------- */

struct migrate_step {
	char *sql, *summary;
	int destructive;
};

struct migrate_plan {
	struct migrate_step *steps;
	size_t n, cap;
	char *summary;
	char *live_dump; /* migrate_schema_dump(live) when planned */
};

#endif
