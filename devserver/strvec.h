/*
 * strvec.h -- strvec.c: a growable, NULL-terminated vector of owned strings.
 */
#ifndef COT_STRVEC_H
#define COT_STRVEC_H

#include <limits.h>

/* v[n] is NULL once anything was pushed, so v can be an argv. Zero it to start. */
typedef struct strvec {
	char **v;
	int n, cap;
} strvec;

/* Appends a copy of str. */
void strvec_push(strvec *s, const char *str);
/* Appends a formatted string (up to PATH_MAX + 255 bytes). */
void strvec_pushf(strvec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends each space- or tab-separated word of `words`. */
void strvec_push_words(strvec *s, const char *words);
/* Frees the strings and the vector; *s is empty again. */
void strvec_free(strvec *s);
/* Sorts the strings by strcmp. */
void strvec_sort(strvec *s);

#endif
