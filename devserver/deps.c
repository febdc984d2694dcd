/*
 * deps.c -- the quoted #include graph of a handler file.
 *
 * tcc 0.9.27 records dependencies only in internal state, so we read them
 * from the source: every `#include "x"` line, resolved against the including
 * file's directory like the preprocessor does (then the app's lib/, which
 * the compilers get as -Ilib), then followed recursively.
 * Conditional includes are followed too (a change to them recompiles one
 * file too many, never one too few). System includes (<...>) are not
 * watched. Cycles stop at the visited check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deps.h"
#include "file.h"

#define DEPS_MAX_DEPTH 32

bool
deps_contains(const deps_list *d, const char *path)
{
	for (int i = 0; i < d->n; i++)
		if (strcmp(d->paths[i], path) == 0)
			return true;
	return false;
}

void
deps_add(deps_list *d, const char *path)
{
	if (deps_contains(d, path))
		return;
	if (d->n == d->cap) {
		int cap = d->cap ? d->cap * 2 : 8;
		char **np = realloc(d->paths, (size_t)cap * sizeof(char *));
		if (np == NULL)
			return;
		d->paths = np;
		d->cap = cap;
	}
	d->paths[d->n++] = strdup(path);
}

void
deps_free(deps_list *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->paths[i]);
	free(d->paths);
	d->paths = NULL;
	d->n = d->cap = 0;
}

/*
 * Joins dir and name and removes "." and ".." segments, so the result
 * compares equal to the watcher's spelling of the same file ("handlers/x.h").
 * Returns -1 if the result would leave the app directory.
 */
int
deps_normalize(const char *dir, const char *name, char *out, size_t outlen)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s%s%s", name[0] == '/' ? "" : dir,
	         name[0] == '/' || dir[0] == '\0' ? "" : "/", name);
	char *segs[256];
	int n = 0;
	for (char *tok = strtok(buf, "/"); tok != NULL; tok = strtok(NULL, "/")) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			if (n == 0)
				return -1;
			n--;
			continue;
		}
		if (n < 256)
			segs[n++] = tok;
	}
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + len, outlen - len, "%s%s", i ? "/" : "", segs[i]);
		if (w < 0 || (size_t)w >= outlen - len)
			return -1;
		len += (size_t)w;
	}
	return 0;
}

static void deps_walk(const char *path, const char *text, deps_list *out, int depth);

/* Follows one line of source if it is an `#include "name"`. */
static void
deps_line(const char *dir, const char *line, deps_list *out, int depth)
{
	char name[1024], full[4096];
	const char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '#')
		return;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (sscanf(p, "include \"%1023[^\"]\"", name) != 1)
		return;
	struct stat st;
	/* as the compilers search: the including file's directory, then lib/ */
	if ((deps_normalize(dir, name, full, sizeof(full)) != 0 || stat(full, &st) != 0) &&
	    (deps_normalize("lib", name, full, sizeof(full)) != 0 || stat(full, &st) != 0))
		return;
	if (deps_contains(out, full))
		return;
	deps_add(out, full);
	deps_walk(full, NULL, out, depth + 1);
}

/* Walks the includes of `path`, whose text is `text` (NULL: read it). */
static void
deps_walk(const char *path, const char *text, deps_list *out, int depth)
{
	if (depth > DEPS_MAX_DEPTH)
		return;
	char *own = text == NULL ? file_read(path, NULL) : NULL;
	if (text == NULL && (text = own) == NULL)
		return;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		dir[0] = '\0';
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char line[4096];
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
		         p);
		deps_line(dir, line, out, depth);
		p += n + (nl != NULL);
	}
	free(own);
}

/*
 * Replaces *out with the transitive quoted includes of `path`. `text` is
 * the file's content when the caller has read it already (the reloader
 * reads a saved file once), else NULL.
 */
void
deps_scan(const char *path, const char *text, deps_list *out)
{
	deps_free(out);
	deps_walk(path, text, out, 0);
}
