/*
 * strvec.c -- a growable, NULL-terminated vector of owned strings: argv
 * lists for the programs `cotdev export` runs, and lists of app files.
 * Out of memory ends the process: the export has nothing to fall back on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strvec.h"

void
strvec_push(strvec *s, const char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, (size_t)s->cap * sizeof(char *));
		if (s->v == NULL) {
			perror("cotdev export");
			exit(1);
		}
	}
	s->v[s->n++] = strdup(str);
	s->v[s->n] = NULL;
}

void
strvec_pushf(strvec *s, const char *fmt, ...)
{
	char buf[PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strvec_push(s, buf);
}

void
strvec_push_words(strvec *s, const char *words)
{
	char *copy = strdup(words), *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		strvec_push(s, w);
	free(copy);
}

void
strvec_free(strvec *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (strvec){0};
}

static int
strvec_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
strvec_sort(strvec *s)
{
	if (s->n > 1)
		qsort(s->v, (size_t)s->n, sizeof(char *), strvec_compare);
}
