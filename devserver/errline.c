/*
 * errline.c -- where a tcc error really is.
 *
 * tcc reports a missing token where it noticed it: `int x = 1` without its
 * `;` is "LINE+1: ';' expected (got "cot_db_begin")", on the line of the
 * next token. gcc and clang point where the token is missing, right after
 * the previous token, which is where the developer has to type. So for
 * "X expected (got "TOK")" messages we find TOK on the reported line, walk
 * back over blanks and comments to the end of the token before it, and
 * report that line and the column just past it.
 *
 * An error past the last line (an unclosed `{` runs into the end of the
 * file) moves to the last token of the file, as gcc's "at end of input".
 *
 * Everything here works on the source text the compiler read; columns are
 * 1-based byte columns, like compiler.c's.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errline.h"

/* Start of line `n` (1-based) of src, or NULL past the end. */
static const char *
errline_line_start(const char *src, int n)
{
	const char *p = src;
	for (int i = 1; i < n; i++) {
		p = strchr(p, '\n');
		if (p == NULL)
			return NULL;
		p++;
	}
	return p;
}

/* 1-based line and column of the byte at p. */
static void
errline_position(const char *src, const char *p, int *line, int *col)
{
	int l = 1;
	const char *bol = src;
	for (const char *q = src; q < p; q++)
		if (*q == '\n') {
			l++;
			bol = q + 1;
		}
	*line = l;
	*col = (int)(p - bol) + 1;
}

/*
 * Where the line at bol ends as code: before a // comment that is not in a
 * string or character literal.
 */
static const char *
errline_code_end(const char *bol)
{
	char quote = 0;
	const char *p = bol;
	for (; *p && *p != '\n'; p++) {
		if (quote) {
			if (*p == '\\' && p[1] && p[1] != '\n')
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (p[0] == '/' && p[1] == '/') {
			return p;
		}
	}
	return p;
}

/*
 * The byte just past the last token before `p`: blanks, line comments and
 * block comments in between are skipped. NULL if there is none.
 */
static const char *
errline_prev_token_end(const char *src, const char *p)
{
	while (p > src) {
		const char *bol = p;
		while (bol > src && bol[-1] != '\n')
			bol--;
		const char *end = errline_code_end(bol);
		if (p > end)
			p = end; /* inside a // comment: from its start */
		while (p > bol && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r'))
			p--;
		if (p - bol >= 2 && p[-1] == '/' && p[-2] == '*') { /* a block comment */
			const char *open = NULL;
			for (const char *q = p - 2; q > src; q--)
				if (q[-1] == '/' && q[0] == '*') {
					open = q - 1;
					break;
				}
			if (open == NULL)
				return NULL;
			p = open;
			continue;
		}
		if (p > bol)
			return p;
		if (bol == src)
			return NULL;
		p = bol - 1; /* the newline before this line */
	}
	return NULL;
}

/* The TOK of "... expected (got "TOK")", copied into tok; false if none. */
static bool
errline_got_token(const char *msg, char *tok, size_t len)
{
	if (strstr(msg, "expected") == NULL)
		return false;
	const char *got = strstr(msg, "(got \"");
	if (got == NULL)
		return false;
	got += 6;
	const char *end = strrchr(got, '"');
	if (end == NULL || end == got || (size_t)(end - got) >= len)
		return false;
	memcpy(tok, got, (size_t)(end - got));
	tok[end - got] = '\0';
	return true;
}

/* The first occurrence of tok on line `line`, as a token; NULL if none. */
static const char *
errline_find_on_line(const char *src, int line, const char *tok)
{
	const char *bol = errline_line_start(src, line);
	if (bol == NULL)
		return NULL;
	const char *eol = strchr(bol, '\n');
	size_t n = strlen(tok);
	for (const char *p = bol; p + n <= (eol ? eol : bol + strlen(bol)); p++)
		if (strncmp(p, tok, n) == 0)
			return p;
	/* not found (a macro's expansion): the line's first character */
	while (*bol == ' ' || *bol == '\t')
		bol++;
	return bol;
}

int
errline_fix(const char *src, const char *msg, int *line, int *col)
{
	if (src == NULL || *line <= 0)
		return 0;
	int nlines = 1;
	for (const char *p = src; *p; p++)
		nlines += *p == '\n' && p[1] != '\0';
	const char *at = NULL;
	char tok[128];
	if (*line > nlines) {
		/* past the end: where the input ran out */
		at = errline_prev_token_end(src, src + strlen(src));
	} else if (errline_got_token(msg, tok, sizeof(tok))) {
		const char *next = errline_find_on_line(src, *line, tok);
		at = next ? errline_prev_token_end(src, next) : NULL;
	}
	if (at == NULL)
		return 0;
	bool eof = *line > nlines;
	errline_position(src, at, line, col);
	return eof ? 2 : 1;
}
