/*
 * sqlcheck.c -- every literal SQL string of a handler, prepared against the
 * live schema at reload.
 *
 * The scan is textual, not a C parser: it finds an identifier that starts
 * with "cot_db_", a "(", skips the first argument (the context) up to its
 * top-level comma, and takes what follows if it is a string literal --
 * adjacent literals concatenated, as the compiler does. SQL built at run
 * time (a variable, a macro) is not checked; that is the price of not
 * running the preprocessor. Comments, strings and character constants
 * elsewhere are skipped, so a "cot_db_one(" inside them is not a call.
 *
 * sqlite3_prepare_v2 compiles the statement against the current schema
 * without running it; sqlite3_error_offset points the error at the literal
 * (and so the line) that holds the offending token.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "sqlcheck.h"

#define SQLCHECK_MAX_PARTS 64

/* One SQL string as found: text, and where each literal of it starts. */
typedef struct sqlcheck_sql {
	char *text;
	size_t len, cap;
	int nparts;
	size_t part_off[SQLCHECK_MAX_PARTS];
	int part_line[SQLCHECK_MAX_PARTS];
	int nargs; /* values passed after the SQL; -1: unknown */
} sqlcheck_sql;

typedef struct sqlcheck_scan {
	const char *p;
	int line;
} sqlcheck_scan;

/* ==== lexing =========================================================== */

static void
sqlcheck_advance(sqlcheck_scan *s)
{
	if (*s->p == '\n')
		s->line++;
	s->p++;
}

/* Skips a comment at s->p, if any; returns 1 when it did. */
static int
sqlcheck_skip_comment(sqlcheck_scan *s)
{
	if (s->p[0] == '/' && s->p[1] == '/') {
		while (*s->p && *s->p != '\n')
			s->p++;
		return 1;
	}
	if (s->p[0] == '/' && s->p[1] == '*') {
		s->p += 2;
		while (*s->p && !(s->p[0] == '*' && s->p[1] == '/'))
			sqlcheck_advance(s);
		if (*s->p)
			s->p += 2;
		return 1;
	}
	return 0;
}

static void
sqlcheck_skip_space(sqlcheck_scan *s)
{
	for (;;) {
		while (isspace((unsigned char)*s->p))
			sqlcheck_advance(s);
		if (!sqlcheck_skip_comment(s))
			return;
	}
}

/* Skips a quoted literal (string or char) starting at s->p. */
static void
sqlcheck_skip_quoted(sqlcheck_scan *s)
{
	char q = *s->p;
	s->p++;
	while (*s->p && *s->p != q && *s->p != '\n') {
		if (*s->p == '\\' && s->p[1])
			sqlcheck_advance(s);
		sqlcheck_advance(s);
	}
	if (*s->p == q)
		s->p++;
}

static void
sqlcheck_put(sqlcheck_sql *q, char ch)
{
	if (q->len + 2 > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		char *nt = realloc(q->text, cap);
		if (nt == NULL)
			return;
		q->text = nt;
		q->cap = cap;
	}
	q->text[q->len++] = ch;
	q->text[q->len] = '\0';
}

/* Appends the decoded body of the string literal at s->p to q. */
static void
sqlcheck_read_literal(sqlcheck_scan *s, sqlcheck_sql *q)
{
	if (q->nparts < SQLCHECK_MAX_PARTS) {
		q->part_off[q->nparts] = q->len;
		q->part_line[q->nparts++] = s->line;
	}
	s->p++;
	while (*s->p && *s->p != '"' && *s->p != '\n') {
		char ch = *s->p++;
		if (ch == '\\' && *s->p) {
			char e = *s->p++;
			switch (e) {
			case 'n':
				ch = '\n';
				break;
			case 't':
				ch = '\t';
				break;
			case 'r':
				ch = '\r';
				break;
			case '0':
				ch = ' ';
				break; /* an embedded NUL would end the SQL */
			case '\n':
				s->line++;
				continue;
			default:
				ch = e;
				break;
			}
		}
		sqlcheck_put(q, ch);
	}
	if (*s->p == '"')
		s->p++;
}

/* ==== finding the calls ================================================ */

/* Skips the first argument of a call; returns 1 at the comma after it. */
static int
sqlcheck_skip_arg(sqlcheck_scan *s)
{
	int depth = 0;
	while (*s->p) {
		if (sqlcheck_skip_comment(s))
			continue;
		char ch = *s->p;
		if (ch == '"' || ch == '\'') {
			sqlcheck_skip_quoted(s);
			continue;
		}
		if (ch == '(' || ch == '[' || ch == '{')
			depth++;
		else if (ch == ')' || ch == ']' || ch == '}') {
			if (depth-- == 0)
				return 0;
		} else if (ch == ',' && depth == 0) {
			s->p++;
			return 1;
		}
		sqlcheck_advance(s);
	}
	return 0;
}

/* At an identifier: if it is a cot_db_* call with a literal SQL argument,
 * reads that SQL into q and returns 1. Leaves s past the identifier. */
static int
sqlcheck_call(sqlcheck_scan *s, sqlcheck_sql *q)
{
	const char *id = s->p;
	while (isalnum((unsigned char)*s->p) || *s->p == '_')
		s->p++;
	if ((size_t)(s->p - id) <= 7 || strncmp(id, "cot_db_", 7) != 0)
		return 0;
	sqlcheck_scan t = *s;
	sqlcheck_skip_space(&t);
	if (*t.p != '(')
		return 0;
	t.p++;
	if (!sqlcheck_skip_arg(&t))
		return 0;
	sqlcheck_skip_space(&t);
	if (*t.p != '"')
		return 0;
	q->len = 0;
	q->nparts = 0;
	while (*t.p == '"') {
		sqlcheck_read_literal(&t, q);
		sqlcheck_skip_space(&t);
	}
	/* "SELECT " COLUMNS " FROM x": not all literal, so not checkable */
	if (q->text == NULL || (*t.p != ',' && *t.p != ')'))
		return 0;
	/* the values bound to the SQL's parameters: one per top-level comma */
	q->nargs = 0;
	if (*t.p == ',') {
		t.p++;
		do
			q->nargs++;
		while (sqlcheck_skip_arg(&t));
		if (*t.p != ')')
			q->nargs = -1; /* ran off the end: not a call we understand */
	}
	return 1;
}

/* ==== checking ========================================================= */

/* The source line of byte `off` of the SQL. */
static int
sqlcheck_line_of(const sqlcheck_sql *q, int off)
{
	int line = q->part_line[0];
	for (int i = 0; i < q->nparts; i++)
		if (off >= 0 && (size_t)off >= q->part_off[i])
			line = q->part_line[i];
	return line;
}

static void
sqlcheck_report(char **out, size_t *len, const char *path, int line, const char *msg)
{
	int n = snprintf(NULL, 0, "%s:%d: %s\n", path, line, msg);
	char *nb = realloc(*out, *len + (size_t)n + 1);
	if (nb == NULL)
		return;
	*out = nb;
	snprintf(*out + *len, (size_t)n + 1, "%s:%d: %s\n", path, line, msg);
	*len += (size_t)n;
}

int (*sqlcheck_prepare_hook)(const char *sql, int *nparams, int *err_offset, char **err);
long long (*sqlcheck_version_hook)(void);

/* sqlcheck_one through sqlcheck_prepare_hook (the app's other engine):
 * the server's words, at the line of the byte it points at. */
static void
sqlcheck_one_hook(const char *path, const sqlcheck_sql *q, char **out, size_t *len)
{
	char *err = NULL;
	int want = 0, off = -1;
	if (sqlcheck_prepare_hook(q->text, &want, &off, &err) != 0) {
		sqlcheck_report(out, len, path, sqlcheck_line_of(q, off),
		                err ? err : "does not prepare");
		free(err);
		return;
	}
	if (q->nargs >= 0 && want != q->nargs) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the SQL has %d parameter%s, the call passes %d", want,
		         want == 1 ? "" : "s", q->nargs);
		sqlcheck_report(out, len, path, q->part_line[0], msg);
	}
}

/* Prepares one SQL string; reports a problem into out. */
static void
sqlcheck_one(const char *path, const sqlcheck_sql *q, sqlite3 *db, char **out, size_t *len)
{
	if (db == NULL) {
		sqlcheck_one_hook(path, q, out, len);
		return;
	}
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	if (sqlite3_prepare_v2(db, q->text, -1, &st, &tail) != SQLITE_OK) {
		int line = sqlcheck_line_of(q, sqlite3_error_offset(db));
		sqlcheck_report(out, len, path, line, sqlite3_errmsg(db));
		return;
	}
	while (tail != NULL && (isspace((unsigned char)*tail) || *tail == ';'))
		tail++;
	int want = st != NULL ? sqlite3_bind_parameter_count(st) : 0;
	if (st == NULL) {
		sqlcheck_report(out, len, path, q->part_line[0], "the SQL holds no statement");
	} else if (q->nargs >= 0 && want != q->nargs) {
		/* the same words as db.c's run-time check */
		char msg[128];
		snprintf(msg, sizeof(msg), "the SQL has %d parameter%s, the call passes %d", want,
		         want == 1 ? "" : "s", q->nargs);
		sqlcheck_report(out, len, path, q->part_line[0], msg);
	}
	if (st != NULL && tail != NULL && *tail != '\0')
		sqlcheck_report(out, len, path, sqlcheck_line_of(q, (int)(tail - q->text)),
		                "one statement per call: the SQL holds more");
	sqlite3_finalize(st);
}

int
sqlcheck_source(const char *path, const char *src, sqlite3 *db, char **error)
{
	sqlcheck_scan s = {src, 1};
	sqlcheck_sql q = {0};
	char *out = NULL;
	size_t len = 0;
	*error = NULL;
	while (*s.p) {
		if (sqlcheck_skip_comment(&s))
			continue;
		char ch = *s.p;
		if (ch == '"' || ch == '\'') {
			sqlcheck_skip_quoted(&s);
		} else if (isalpha((unsigned char)ch) || ch == '_') {
			if (sqlcheck_call(&s, &q))
				sqlcheck_one(path, &q, db, &out, &len);
		} else if (isdigit((unsigned char)ch)) {
			while (isalnum((unsigned char)*s.p) || *s.p == '_' || *s.p == '.')
				s.p++;
		} else {
			sqlcheck_advance(&s);
		}
	}
	free(q.text);
	if (out == NULL)
		return 0;
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	*error = out;
	return -1;
}

int
sqlcheck_file(const char *path, sqlite3 *db, char **error)
{
	*error = NULL;
	char *src = file_read(path, NULL);
	int rc = src != NULL ? sqlcheck_source(path, src, db, error) : 0;
	free(src);
	return rc;
}

/* ==== the dev server's app.db ========================================== */

static sqlite3 *sqlcheck_db;
const char *sqlcheck_db_path = "app.db";

/* The read-only connection to app.db, opened on first use; NULL: no app.db. */
static sqlite3 *
sqlcheck_app_db(void)
{
	if (sqlcheck_db == NULL && sqlite3_open_v2(sqlcheck_db_path, &sqlcheck_db,
	                                           SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(sqlcheck_db);
		sqlcheck_db = NULL;
	}
	return sqlcheck_db;
}

/* Appends the malloc'd error `more` to *error (a newline between). */
static void
sqlcheck_join(char **error, char *more)
{
	if (*error == NULL) {
		*error = more;
		return;
	}
	size_t a = strlen(*error), b = strlen(more);
	char *nb = realloc(*error, a + b + 2);
	if (nb != NULL) {
		nb[a] = '\n';
		memcpy(nb + a + 1, more, b + 1);
		*error = nb;
	}
	free(more);
}

int
sqlcheck_app(const char *path, const char *src, const char *const *includes, int nincludes,
             char **error)
{
	*error = NULL;
	sqlite3 *db = sqlcheck_prepare_hook != NULL ? NULL : sqlcheck_app_db();
	if (db == NULL && sqlcheck_prepare_hook == NULL)
		return 0; /* no database yet: nothing to check against */
	for (int i = -1; i < nincludes; i++) {
		char *e = NULL;
		int bad = i < 0 && src != NULL ? sqlcheck_source(path, src, db, &e)
		                               : sqlcheck_file(i < 0 ? path : includes[i], db, &e);
		if (bad != 0 && e != NULL)
			sqlcheck_join(error, e);
	}
	return *error != NULL ? -1 : 0;
}

long long
sqlcheck_app_schema_version(void)
{
	if (sqlcheck_version_hook != NULL)
		return sqlcheck_version_hook();
	sqlite3 *db = sqlcheck_app_db();
	sqlite3_stmt *st = NULL;
	long long v = -1;
	/* running a statement (not only preparing one) is what makes SQLite
	 * notice another connection's schema change and reload its own copy */
	if (db != NULL &&
	    sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

void
sqlcheck_shutdown(void)
{
	sqlite3_close(sqlcheck_db);
	sqlcheck_db = NULL;
}
