/*
 * ctoken.c -- just enough of a C scanner to read declarations out of source
 * text: identifiers, string literals and punctuation, with comments and
 * character constants skipped, each token with its line and brace depth.
 *
 * libs.c reads COT_LIBS("...") lines with it (a commented-out declaration
 * is not one), and linkcheck.c finds the first use of an undefined symbol.
 * It does not expand macros or follow #include; callers walk the files.
 */
#include <ctype.h>
#include <string.h>

#include "ctoken.h"

void
ctoken_init(ctoken_scanner *sc, const char *text)
{
	sc->p = text;
	sc->line = 1;
	sc->depth = 0;
}

/* Skips whitespace and comments; counts lines. */
static void
ctoken_skip(ctoken_scanner *sc)
{
	for (;;) {
		const char *p = sc->p;
		if (*p == '\n') {
			sc->line++;
			sc->p++;
		} else if (isspace((unsigned char)*p) || (*p == '\\' && p[1] == '\n')) {
			sc->p++; /* a line continuation's newline is counted next */
		} else if (p[0] == '/' && p[1] == '/') {
			while (*sc->p && *sc->p != '\n')
				sc->p++;
		} else if (p[0] == '/' && p[1] == '*') {
			sc->p += 2;
			while (*sc->p && !(sc->p[0] == '*' && sc->p[1] == '/'))
				sc->line += *sc->p++ == '\n';
			if (*sc->p)
				sc->p += 2;
		} else {
			return;
		}
	}
}

/* Moves past a quoted literal starting at sc->p (quote char q). */
static void
ctoken_skip_quoted(ctoken_scanner *sc, char q)
{
	sc->p++;
	while (*sc->p && *sc->p != q && *sc->p != '\n') {
		if (*sc->p == '\\' && sc->p[1])
			sc->p++;
		sc->p++;
	}
	if (*sc->p == q)
		sc->p++;
}

/* The next token; false at the end of the text. */
bool
ctoken_next(ctoken_scanner *sc, ctoken *t)
{
	ctoken_skip(sc);
	const char *p = sc->p;
	if (*p == '\0')
		return false;
	t->p = p;
	t->line = sc->line;
	t->depth = sc->depth;
	if (isalpha((unsigned char)*p) || *p == '_') {
		while (isalnum((unsigned char)*sc->p) || *sc->p == '_')
			sc->p++;
		t->kind = CTOKEN_IDENT;
	} else if (isdigit((unsigned char)*p)) {
		while (isalnum((unsigned char)*sc->p) || *sc->p == '_' || *sc->p == '.')
			sc->p++;
		t->kind = CTOKEN_NUMBER;
	} else if (*p == '"' || *p == '\'') {
		ctoken_skip_quoted(sc, *p);
		t->kind = *p == '"' ? CTOKEN_STRING : CTOKEN_NUMBER;
		if (t->kind == CTOKEN_STRING) { /* the contents, without quotes */
			t->p = p + 1;
			t->len = (size_t)(sc->p - p) - (sc->p[-1] == '"' && sc->p - p > 1 ? 2 : 1);
			return true;
		}
	} else {
		sc->depth += *p == '{';
		sc->depth -= *p == '}' && sc->depth > 0;
		t->depth = sc->depth;
		sc->p++;
		t->kind = CTOKEN_PUNCT;
	}
	t->len = (size_t)(sc->p - t->p);
	return true;
}

bool
ctoken_is(const ctoken *t, const char *word)
{
	size_t n = strlen(word);
	return t->len == n && memcmp(t->p, word, n) == 0;
}
