/*
 * deps.h -- which files a handler #includes with quotes, transitively, so a
 * change to a header or helper recompiles the handlers that use it.
 */
#ifndef COT_DEPS_H
#define COT_DEPS_H

#include <stdbool.h>

typedef struct deps_list {
	char **paths; /* normalised, relative to the app directory */
	int n, cap;
} deps_list;

/* Replaces *out with the quoted includes of `path`, transitively; `text` is
 * its content if already read (NULL: deps reads it). */
void deps_scan(const char *path, const char *text, deps_list *out);
bool deps_contains(const deps_list *d, const char *path);
/* Adds a copy of path unless the list holds it already. */
void deps_add(deps_list *d, const char *path);
void deps_free(deps_list *d);
int deps_normalize(const char *dir, const char *name, char *out, size_t outlen);

#endif
