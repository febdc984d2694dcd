/*
 * libs.h -- COT_LIBS("libsodium", "-lz") declarations: which C libraries a
 * file may call, with their flags (pkg-config) and, in the dev server, the
 * loaded libraries themselves.
 */
#ifndef COT_LIBS_H
#define COT_LIBS_H

#include <stdbool.h>

#include "deps.h"

/* One declared library, resolved once per process and never unloaded. */
typedef struct libs_pkg {
	char *name;     /* as declared: "libsodium" or "-lz" */
	char *cflags;   /* pkg-config --cflags ("" when none) */
	char *ldflags;  /* pkg-config --libs, or the -lNAME itself */
	void **handles; /* dlopen'ed (RTLD_LOCAL) shared objects of its -l's */
	void **maps;    /* their struct link_map *, to tell their own symbols */
	char **sonames; /* "libsodium.so.23", for messages */
	int nhandles;
} libs_pkg;

/* What one file declares: its own COT_LIBS and those of its quoted includes. */
typedef struct libs_set {
	const libs_pkg **pkgs;
	int n;
	char *cflags;  /* all cflags, space-separated, malloc'd ("" if none) */
	char *ldflags; /* all libs, the same way */
} libs_set;

/*
 * Reads the declarations of `path` (its content `src` when the caller has
 * read it, else NULL) and of the files in `deps` (its quoted includes) and resolves and dlopens
 * each (cached per process). On a problem returns -1 and a raw "FILE:LINE: error: ..." message in
 * *error (malloc'd): an unknown package (naming the likely Debian -dev package), a bad name, a
 * library that does not load (and why). Not thread-safe: called under the reloader lock or from the
 * export's one thread.
 */
int libs_declared(const char *path, const char *src, const deps_list *deps, libs_set *out,
                  char **error);
void libs_set_free(libs_set *s);

/* The likely Debian package that ships pkg-config name `name`'s .pc file. */
void libs_debian_dev(const char *name, char *out, size_t len);

/* The pkg-config name (or "-lNAME") to declare for the shared object at
 * `path` ("/lib/x86_64-linux-gnu/libnettle.so.8" -> "nettle"). */
void libs_suggest(const char *path, char *out, size_t len);

/* Address of `name` in p's own shared objects (not their dependencies). */
void *libs_own_symbol(const libs_pkg *p, const char *name);

/* Any library loaded so far, for any file, that defines `name`; or NULL. */
const libs_pkg *libs_any_provider(const char *name);

#endif
