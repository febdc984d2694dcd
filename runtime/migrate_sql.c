/*
 * migrate_sql.c -- the little SQL text the planner needs beyond SQLite.
 *
 * SQLite parses schema.sql; this file only lexes text SQLite has already
 * accepted, for three jobs:
 *   - normalising stored CREATE statements so that two schemas compare
 *     equal when SQLite would build the same thing (comments, spacing,
 *     identifier case and identifier quotes do not matter; ALTER TABLE
 *     RENAME writes names back quoted, so this matters);
 *   - splitting a CREATE TABLE body into its column items, whose text an
 *     ADD COLUMN needs and which pragma table_xinfo does not give;
 *   - reading "@renamed from=old" annotations, which SQLite keeps inside
 *     the stored CREATE TABLE text as comments.
 * The lexer follows SQLite's tokenizer closely enough for these jobs; it
 * never has to reject anything.
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_internal.h"

/* ---- memory and strings ------------------------------------------- */

/* malloc that aborts on failure: see migrate_internal.h. */
void *
migrate_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

void *
migrate_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

char *
migrate_strndup(const char *s, size_t n)
{
	char *d = migrate_xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
migrate_strdup(const char *s)
{
	return s ? migrate_strndup(s, strlen(s)) : NULL;
}

char *
migrate_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

void
migrate_buf_add(struct migrate_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = migrate_xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

void
migrate_buf_printf(struct migrate_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	migrate_buf_add(b, s, (size_t)n);
	free(s);
}

const char *
migrate_buf_str(struct migrate_buf *b)
{
	if (b->s == NULL)
		migrate_buf_add(b, "", 0);
	return b->s;
}

/* ---- lexer --------------------------------------------------------- */

static int
migrate_sql_is_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Skip to the closing quote q of a quoted token; doubled q is literal. */
static const char *
migrate_sql_skip_quoted(const char *s, char q)
{
	for (s++; *s; s++) {
		if (*s == q) {
			if (s[1] == q && q != ']') {
				s++;
				continue;
			}
			return s + 1;
		}
	}
	return s;
}

static const char *
migrate_sql_skip_comment(const char *s)
{
	if (s[0] == '-') {
		while (*s && *s != '\n')
			s++;
		return s;
	}
	s += 2;
	while (*s && !(s[0] == '*' && s[1] == '/'))
		s++;
	return *s ? s + 2 : s;
}

/* Classify the token starting at s and return its end. */
static const char *
migrate_sql_lex_one(const char *s, enum migrate_tk *kind)
{
	unsigned char c = (unsigned char)*s;
	if ((c == '-' && s[1] == '-') || (c == '/' && s[1] == '*')) {
		*kind = MIGRATE_TK_COMMENT;
		return migrate_sql_skip_comment(s);
	}
	if (c == '\'') {
		*kind = MIGRATE_TK_STRING;
		return migrate_sql_skip_quoted(s, '\'');
	}
	if (c == '"' || c == '`' || c == '[') {
		*kind = MIGRATE_TK_IDENT;
		return migrate_sql_skip_quoted(s, c == '[' ? ']' : (char)c);
	}
	if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[1]))) {
		*kind = MIGRATE_TK_NUMBER;
		for (s++; migrate_sql_is_ident_char((unsigned char)*s) || *s == '.'; s++)
			if ((*s == 'e' || *s == 'E') && (s[1] == '+' || s[1] == '-'))
				s++;
		return s;
	}
	if (migrate_sql_is_ident_char(c)) {
		*kind = MIGRATE_TK_WORD;
		while (migrate_sql_is_ident_char((unsigned char)*s))
			s++;
		return s;
	}
	*kind = MIGRATE_TK_PUNCT;
	return s + 1;
}

/* Read the token at *p; whitespace before it is skipped. */
void
migrate_lex(const char **p, int *line, struct migrate_token *t)
{
	const char *s = *p, *e;
	while (*s && isspace((unsigned char)*s)) {
		if (*s == '\n')
			(*line)++;
		s++;
	}
	t->s = s;
	t->line = *line;
	if (*s == '\0') {
		t->kind = MIGRATE_TK_END;
		t->n = 0;
		*p = s;
		return;
	}
	e = migrate_sql_lex_one(s, &t->kind);
	for (const char *q = s; q < e; q++)
		if (*q == '\n')
			(*line)++;
	t->n = (size_t)(e - s);
	*p = e;
}

int
migrate_is_kw(const struct migrate_token *t, const char *kw)
{
	return t->kind == MIGRATE_TK_WORD && strlen(kw) == t->n && strncasecmp(t->s, kw, t->n) == 0;
}

/* Unquote s[0..n) that starts with a quote character. */
static char *
migrate_sql_unquote(const char *s, size_t n)
{
	char q = s[0] == '[' ? ']' : s[0];
	char *d = migrate_xmalloc(n + 1), *o = d;
	size_t i = 1;
	while (i < n && !(s[i] == q && (i + 1 >= n || s[i + 1] != q || q == ']'))) {
		*o++ = s[i];
		i += (s[i] == q) ? 2 : 1;
	}
	*o = '\0';
	return d;
}

char *
migrate_ident(const struct migrate_token *t)
{
	if (t->kind == MIGRATE_TK_IDENT || t->kind == MIGRATE_TK_STRING)
		return migrate_sql_unquote(t->s, t->n);
	return migrate_strndup(t->s, t->n);
}

char *
migrate_quote(const char *ident)
{
	struct migrate_buf b = {0};
	migrate_buf_add(&b, "\"", 1);
	for (const char *s = ident; *s; s++) {
		if (*s == '"')
			migrate_buf_add(&b, "\"\"", 2);
		else
			migrate_buf_add(&b, s, 1);
	}
	migrate_buf_add(&b, "\"", 1);
	return b.s;
}

static int
migrate_sql_is_plain_ident(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* Append the normalised form of one non-comment token. */
static void
migrate_sql_normalize_token(struct migrate_buf *b, const struct migrate_token *t)
{
	char *id;
	if (t->kind != MIGRATE_TK_WORD && t->kind != MIGRATE_TK_IDENT) {
		migrate_buf_add(b, t->s, t->n);
		return;
	}
	id = migrate_ident(t);
	for (char *c = id; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (t->kind == MIGRATE_TK_WORD || migrate_sql_is_plain_ident(id)) {
		migrate_buf_add(b, id, strlen(id));
	} else {
		char *q = migrate_quote(id);
		migrate_buf_add(b, q, strlen(q));
		free(q);
	}
	free(id);
}

/* Replace each whole-token occurrence of from by the shorter to, in
 * place: spellings SQLite treats as the same column definition. */
static void
migrate_sql_drop_words(char *s, const char *from, const char *to)
{
	size_t fn = strlen(from), tn = strlen(to);
	char *p = s;
	assert(tn <= fn);
	while ((p = strstr(p, from)) != NULL) {
		if (p[fn] != '\0' && p[fn] != ' ') {
			p++;
			continue;
		}
		memcpy(p, to, tn);
		memmove(p + tn, p + fn, strlen(p + fn) + 1);
		p += tn;
	}
}

char *
migrate_normalize(const char *sql)
{
	struct migrate_buf b = {0};
	struct migrate_token t;
	int line = 1;
	const char *p = sql ? sql : "";
	for (migrate_lex(&p, &line, &t); t.kind != MIGRATE_TK_END; migrate_lex(&p, &line, &t)) {
		if (t.kind == MIGRATE_TK_COMMENT)
			continue;
		if (b.n)
			migrate_buf_add(&b, " ", 1);
		migrate_sql_normalize_token(&b, &t);
	}
	migrate_buf_str(&b);
	migrate_sql_drop_words(b.s, " generated always as (", " as (");
	migrate_sql_drop_words(b.s, " ) virtual", " )");
	return b.s;
}

/* ---- CREATE TABLE items and @renamed annotations -------------------- */

/* The "from=" value of a comment holding "@renamed", or NULL. */
static char *
migrate_sql_renamed_from(const struct migrate_token *t)
{
	char *text = migrate_strndup(t->s, t->n), *v = NULL;
	char *at = strstr(text, "@renamed"), *f, *e;
	if (at && (f = strstr(at, "from=")) != NULL) {
		f += 5;
		if (*f == '"' || *f == '\'' || *f == '`' || *f == '[') {
			e = (char *)migrate_sql_skip_quoted(f, *f == '[' ? ']' : *f);
			v = migrate_sql_unquote(f, (size_t)(e - f));
		} else {
			for (e = f;
			     *e && !isspace((unsigned char)*e) && !(e[0] == '*' && e[1] == '/');
			     e++)
				;
			v = e > f ? migrate_strndup(f, (size_t)(e - f)) : NULL;
		}
	}
	free(text);
	return v;
}

/* The first "@renamed from=" in any comment of sql (malloc'd), or NULL;
 * for indexes, views and triggers, which have no columns. */
char *
migrate_renamed_from(const char *sql)
{
	struct migrate_token t;
	int line = 1;
	char *v = NULL;
	for (migrate_lex(&sql, &line, &t); t.kind != MIGRATE_TK_END && !v;
	     migrate_lex(&sql, &line, &t))
		if (t.kind == MIGRATE_TK_COMMENT)
			v = migrate_sql_renamed_from(&t);
	return v;
}

/* Skip "CREATE [TEMP] TABLE [IF NOT EXISTS]", record the name, and stop
 * after the "(" that opens the body. Returns -1 when there is none. */
static int
migrate_sql_parse_header(const char **p, int *line, struct migrate_table_text *out, const char *sql,
                         int *paren_line, char **table_note)
{
	struct migrate_token t;
	const char *name_start = NULL, *name_end = NULL;
	for (;;) {
		migrate_lex(p, line, &t);
		if (t.kind == MIGRATE_TK_END)
			return -1;
		if (t.kind == MIGRATE_TK_COMMENT) {
			char *v = migrate_sql_renamed_from(&t);
			if (v) {
				free(*table_note);
				*table_note = v;
			}
			continue;
		}
		if (t.kind == MIGRATE_TK_PUNCT && t.s[0] == '(')
			break;
		if (migrate_is_kw(&t, "create") || migrate_is_kw(&t, "temp") ||
		    migrate_is_kw(&t, "temporary") || migrate_is_kw(&t, "table") ||
		    migrate_is_kw(&t, "if") || migrate_is_kw(&t, "not") ||
		    migrate_is_kw(&t, "exists"))
			if (name_start == NULL)
				continue;
		if (migrate_is_kw(&t, "as") && name_start)
			return -1;
		if (name_start == NULL)
			name_start = t.s;
		name_end = t.s + t.n;
	}
	if (name_start == NULL)
		return -1;
	out->name_off = (size_t)(name_start - sql);
	out->name_len = (size_t)(name_end - name_start);
	*paren_line = t.line;
	return 0;
}

static struct migrate_item *
migrate_sql_add_item(struct migrate_table_text *out, const struct migrate_token *first)
{
	static const char *constraint_kw[] = {"constraint", "primary", "unique", "check",
	                                      "foreign"};
	struct migrate_item *it;
	out->items = migrate_xrealloc(out->items, (out->n_items + 1) * sizeof *out->items);
	it = &out->items[out->n_items++];
	memset(it, 0, sizeof *it);
	it->column = migrate_ident(first);
	for (size_t i = 0; i < sizeof constraint_kw / sizeof *constraint_kw; i++)
		if (migrate_is_kw(first, constraint_kw[i])) {
			free(it->column);
			it->column = NULL;
		}
	return it;
}

/* Split the body of a stored CREATE TABLE into items. An annotation
 * comment belongs to the item that starts on its line before it (the
 * table header counts as an item), else to the next item. */
int
migrate_table_text(const char *sql, struct migrate_table_text *out)
{
	const char *p = sql, *start = NULL, *end = NULL;
	int line = 1, paren_line, depth = 1, item_line = 0;
	char *pending = NULL;
	struct migrate_token t;

	memset(out, 0, sizeof *out);
	if (migrate_sql_parse_header(&p, &line, out, sql, &paren_line, &out->renamed_from))
		return migrate_table_text_free(out), -1;
	for (migrate_lex(&p, &line, &t); t.kind != MIGRATE_TK_END && depth > 0;
	     migrate_lex(&p, &line, &t)) {
		if (t.kind == MIGRATE_TK_COMMENT) {
			char *v = migrate_sql_renamed_from(&t);
			struct migrate_item *last =
			        out->n_items ? &out->items[out->n_items - 1] : NULL;
			if (v == NULL)
				continue;
			if (last && item_line == t.line && !last->renamed_from) {
				last->renamed_from = v;
			} else if (!last && t.line == paren_line) {
				free(out->renamed_from);
				out->renamed_from = v;
			} else {
				free(pending);
				pending = v;
			}
			continue;
		}
		if (t.kind == MIGRATE_TK_PUNCT && t.s[0] == '(')
			depth++;
		if (t.kind == MIGRATE_TK_PUNCT && t.s[0] == ')')
			depth--;
		if (depth == 0 || (depth == 1 && t.kind == MIGRATE_TK_PUNCT && t.s[0] == ',')) {
			if (start)
				out->items[out->n_items - 1].def =
				        migrate_strndup(start, (size_t)(end - start));
			start = NULL;
			continue;
		}
		if (start == NULL) {
			struct migrate_item *it = migrate_sql_add_item(out, &t);
			it->renamed_from = pending;
			pending = NULL;
			start = t.s;
			item_line = t.line;
		}
		end = t.s + t.n;
	}
	free(pending);
	if (start) /* unterminated body: SQLite would not have stored it */
		out->items[out->n_items - 1].def = migrate_strndup(start, (size_t)(end - start));
	return 0;
}

void
migrate_table_text_free(struct migrate_table_text *t)
{
	for (size_t i = 0; i < t->n_items; i++) {
		free(t->items[i].column);
		free(t->items[i].def);
		free(t->items[i].renamed_from);
	}
	free(t->items);
	free(t->renamed_from);
	memset(t, 0, sizeof *t);
}
