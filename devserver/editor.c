/*
 * editor.c -- compile_commands.json and .clangd for the app, so clangd (and
 * every editor that uses it) finds <cot.h>, the headers of the libraries a
 * file declares with COT_LIBS, and lib/'s headers, with no setup.
 *
 * `cotdev new` writes them; `cotdev run` writes them again at start and
 * whenever a handler or lib/ file appears, goes away or changes what it
 * declares, so they follow the app. Paths of the app's files are relative
 * ("directory": ".", which clangd resolves against the file's own
 * directory): the app can move or be cloned elsewhere. Only cot's own
 * include directory is absolute, because it is where this machine has cot.
 * The files are rewritten only when their text changes.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deps.h"
#include "editor.h"
#include "file.h"
#include "libs.h"

/* Files the last refresh saw, with their cflags, to refresh only on change. */
static struct {
	char **files, **cflags;
	int n;
} editor_seen;

typedef struct editor_text {
	char *s;
	size_t len, cap;
} editor_text;

static void
editor_put(editor_text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *ns = realloc(t->s, cap);
		if (ns == NULL)
			return;
		t->s = ns;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

/* Appends s as a JSON string. */
static void
editor_put_json(editor_text *t, const char *s)
{
	char c[8];
	editor_put(t, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			snprintf(c, sizeof(c), "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			snprintf(c, sizeof(c), "\\u%04x", *s);
		else
			snprintf(c, sizeof(c), "%c", *s);
		editor_put(t, c);
	}
	editor_put(t, "\"");
}

/* The .c files under dir (relative), sorted. */
static void
editor_scan(const char *dir, char ***files, int *n)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		size_t len = strlen(path);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			editor_scan(path, files, n);
		} else if (len > 2 && strcmp(path + len - 2, ".c") == 0) {
			char **nf = realloc(*files, (size_t)(*n + 1) * sizeof(char *));
			if (nf == NULL)
				continue;
			*files = nf;
			(*files)[(*n)++] = strdup(path);
		}
	}
	closedir(d);
}

static int
editor_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One compile command: cc, warnings, cot.h, lib/, the file's cflags. */
static void
editor_command(editor_text *t, const char *include_dir, const char *file, const char *cflags)
{
	editor_put(t, "  {\n    \"directory\": \".\",\n    \"file\": ");
	editor_put_json(t, file);
	editor_put(t, ",\n    \"arguments\": [\"cc\", \"-std=c11\", \"-Wall\", \"-Wextra\", ");
	char inc[PATH_MAX + 4];
	snprintf(inc, sizeof(inc), "-I%s", include_dir);
	editor_put_json(t, inc);
	editor_put(t, ", \"-Ilib\"");
	char *copy = strdup(cflags), *save = NULL;
	for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; w;
	     w = strtok_r(NULL, " \t", &save)) {
		editor_put(t, ", ");
		editor_put_json(t, w);
	}
	free(copy);
	editor_put(t, ", \"-c\", ");
	editor_put_json(t, file);
	editor_put(t, "]\n  }");
}

/* Writes path when its content differs from text. */
static int
editor_write_if_changed(const char *path, const char *text)
{
	char *old = file_read(path, NULL);
	bool same = old != NULL && strcmp(old, text) == 0;
	free(old);
	if (same)
		return 0;
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

int
editor_refresh(const char *include_dir)
{
	char **files = NULL;
	int n = 0;
	editor_scan("handlers", &files, &n);
	editor_scan("lib", &files, &n);
	if (n > 1)
		qsort(files, (size_t)n, sizeof(char *), editor_cmp);
	editor_text cc = {0}, all = {0};
	editor_shutdown(); /* what this refresh sees replaces what the last one saw */
	editor_seen.files = calloc((size_t)n + 1, sizeof(char *));
	editor_seen.cflags = calloc((size_t)n + 1, sizeof(char *));
	editor_put(&cc, "[\n");
	editor_put(&all, "");
	for (int i = 0; i < n; i++) {
		deps_list deps = {0};
		libs_set libs = {0};
		char *error = NULL;
		deps_scan(files[i], NULL, &deps);
		bool ok = libs_declared(files[i], NULL, &deps, &libs, &error) == 0;
		editor_command(&cc, include_dir, files[i], ok ? libs.cflags : "");
		editor_put(&cc, i + 1 < n ? ",\n" : "\n");
		if (ok && *libs.cflags && (all.s == NULL || strstr(all.s, libs.cflags) == NULL)) {
			editor_put(&all, " ");
			editor_put(&all, libs.cflags);
		}
		if (editor_seen.files != NULL && editor_seen.cflags != NULL) {
			editor_seen.files[editor_seen.n] = files[i];
			editor_seen.cflags[editor_seen.n++] = strdup(ok ? libs.cflags : "?");
		} else {
			free(files[i]);
		}
		free(error);
		libs_set_free(&libs);
		deps_free(&deps);
	}
	free(files);
	editor_put(&cc, "]\n");
	editor_text cd = {0};
	char head[PATH_MAX + 256];
	snprintf(head, sizeof(head),
	         "# Written by cotdev (new, run): lets clangd find <cot.h>, "
	         "lib/ and the\n# libraries handlers declare with COT_LIBS.\nCompileFlags:\n"
	         "  Add: [-std=c11, -Wall, -Wextra, \"-I%s\", -Ilib",
	         include_dir);
	editor_put(&cd, head);
	char *copy = all.s ? strdup(all.s) : NULL, *save = NULL;
	for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; w;
	     w = strtok_r(NULL, " \t", &save)) {
		editor_put(&cd, ", \"");
		editor_put(&cd, w);
		editor_put(&cd, "\"");
	}
	free(copy);
	editor_put(&cd, "]\n");
	int rc = cc.s && cd.s ? 0 : -1;
	if (rc == 0)
		rc = editor_write_if_changed("compile_commands.json", cc.s) |
		     editor_write_if_changed(".clangd", cd.s);
	free(cc.s);
	free(cd.s);
	free(all.s);
	return rc;
}

static const char *
editor_cflags_of(const char *file, char *buf, size_t len)
{
	deps_list deps = {0};
	libs_set libs = {0};
	char *error = NULL;
	deps_scan(file, NULL, &deps);
	snprintf(buf, len, "%s",
	         libs_declared(file, NULL, &deps, &libs, &error) == 0 ? libs.cflags : "?");
	free(error);
	libs_set_free(&libs);
	deps_free(&deps);
	return buf;
}

int
editor_changed(const char *file, bool removed, const char *include_dir)
{
	char cflags[4096];
	editor_cflags_of(file, cflags, sizeof(cflags));
	for (int i = 0; i < editor_seen.n; i++) {
		if (strcmp(editor_seen.files[i], file) != 0)
			continue;
		if (!removed && strcmp(editor_seen.cflags[i], cflags) == 0)
			return 0;
		free(editor_seen.cflags[i]);
		editor_seen.cflags[i] = strdup(removed ? "-" : cflags);
		return editor_refresh(include_dir);
	}
	char **nf = realloc(editor_seen.files, (size_t)(editor_seen.n + 1) * sizeof(char *));
	if (nf != NULL)
		editor_seen.files = nf;
	char **nc = realloc(editor_seen.cflags, (size_t)(editor_seen.n + 1) * sizeof(char *));
	if (nc != NULL)
		editor_seen.cflags = nc;
	if (nf != NULL && nc != NULL) {
		editor_seen.files[editor_seen.n] = strdup(file);
		editor_seen.cflags[editor_seen.n++] = strdup(removed ? "-" : cflags);
	}
	return editor_refresh(include_dir);
}

void
editor_shutdown(void)
{
	for (int i = 0; i < editor_seen.n; i++) {
		free(editor_seen.files[i]);
		free(editor_seen.cflags[i]);
	}
	free(editor_seen.files);
	free(editor_seen.cflags);
	memset(&editor_seen, 0, sizeof(editor_seen));
}
