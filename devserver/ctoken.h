/*
 * ctoken.h -- a small C scanner (no preprocessing) for reading source text.
 */
#ifndef COT_CTOKEN_H
#define COT_CTOKEN_H

#include <stdbool.h>
#include <stddef.h>

enum { CTOKEN_IDENT, CTOKEN_NUMBER, CTOKEN_STRING, CTOKEN_PUNCT };

typedef struct ctoken {
	int kind;
	const char *p; /* into the text; a string's contents without quotes */
	size_t len;
	int line;  /* 1-based */
	int depth; /* braces open around the token */
} ctoken;

typedef struct ctoken_scanner {
	const char *p;
	int line, depth;
} ctoken_scanner;

void ctoken_init(ctoken_scanner *sc, const char *text);
bool ctoken_next(ctoken_scanner *sc, ctoken *t);
bool ctoken_is(const ctoken *t, const char *word);

#endif
