/*
 * libs.c -- COT_LIBS declarations: read them, ask pkg-config, load them.
 *
 * A file says which C libraries it calls with COT_LIBS("libsodium", "-lz").
 * The macro compiles to nothing; this file reads it from the source text
 * (the file and its quoted includes, as the preprocessor would see it; a
 * commented-out line is not a declaration), so `cotdev run`, `check` and
 * `export` all read the same declarations the same way.
 *
 * A pkg-config name gives cflags and libs (two pkg-config runs, ~5 ms, once
 * per process: successes are cached, failures are not, so installing the
 * missing -dev package and saving again works without a restart). "-lNAME"
 * is a library without a .pc file.
 *
 * Each -lNAME is dlopen'ed with RTLD_LOCAL and kept for the life of the
 * process: RTLD_LOCAL so that loading it for one file does not make it
 * visible to the others (linkcheck.c resolves a file's symbols against its
 * own declared handles), and never closed because code compiled against
 * it may run until the last request leaves, and libraries like libcurl do
 * not survive being unloaded. Why not tcc_add_library: in memory mode it
 * dlopens with RTLD_GLOBAL, which makes the library visible to every file
 * compiled afterwards (measured in docs/libraries.md).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ctoken.h"
#include "file.h"
#include "libs.h"

#define LIBS_MAX_DECLS 64

static struct {
	libs_pkg **v;
	int n;
} libs_cache;

/* Libraries that are part of the C library itself: never loaded or checked. */
static const char *const libs_libc_parts[] = {"c", "m", "pthread", "dl", "rt", "util", NULL};

/* Directories searched for libNAME.so after the package's own -L ones. */
static const char *const libs_dirs[] = {
        "/usr/local/lib/x86_64-linux-gnu",
        "/usr/local/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/lib/x86_64-linux-gnu",
        "/usr/lib",
        "/lib",
        NULL,
};

/* pkg-config name -> the Debian package with its .pc file, where the
 * package name is not simply lib<name>-dev. */
static const char *const libs_debian[][2] = {
        {"zlib", "zlib1g-dev"},
        {"libcurl", "libcurl4-openssl-dev"},
        {"openssl", "libssl-dev"},
        {"libssl", "libssl-dev"},
        {"libcrypto", "libssl-dev"},
        {"libxml-2.0", "libxml2-dev"},
        {"libjpeg", "libjpeg-dev"},
        {"gnutls", "libgnutls28-dev"},
        {"nettle", "nettle-dev"},
        {"hogweed", "nettle-dev"},
        {"uuid", "uuid-dev"},
        {"libuv", "libuv1-dev"},
        {"yaml-0.1", "libyaml-dev"},
        {"libpcre2-8", "libpcre2-dev"},
        {"glib-2.0", "libglib2.0-dev"},
        {"cairo", "libcairo2-dev"},
        {"expat", "libexpat1-dev"},
        {"libgcrypt", "libgcrypt20-dev"},
        {"MagickWand", "libmagickwand-dev"},
        {"libsodium", "libsodium-dev"},
        {"sqlite3", "libsqlite3-dev"},
        {"libpq", "libpq-dev"},
        {NULL, NULL},
};

/* ==== small helpers ==================================================== */

/* A name we pass to pkg-config through the shell: no quoting needed. */
static bool
libs_valid_name(const char *s)
{
	if (*s == '\0' || *s == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
			return false;
	return true;
}

/* Runs `cmd` with the shell; its stdout (and stderr) into *out, trimmed. */
static int
libs_run(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	*out = NULL;
	if (p == NULL)
		return -1;
	size_t len = 0, cap = 256;
	char *buf = malloc(cap);
	size_t n;
	while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 64) {
			char *nb = realloc(buf, cap *= 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	int st = pclose(p);
	if (buf == NULL)
		return -1;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *
libs_join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 2);
	if (s == NULL)
		return NULL;
	memcpy(s, a, na);
	s[na] = na && nb ? ' ' : '\0';
	memcpy(s + na + (na && nb), b, nb + 1);
	return s;
}

void
libs_debian_dev(const char *name, char *out, size_t len)
{
	for (int i = 0; libs_debian[i][0] != NULL; i++)
		if (strcmp(libs_debian[i][0], name) == 0) {
			snprintf(out, len, "%s", libs_debian[i][1]);
			return;
		}
	const char *stem = strncmp(name, "-l", 2) == 0 ? name + 2 : name;
	if (strncmp(stem, "lib", 3) == 0)
		stem += 3;
	size_t n = strcspn(stem, "-"); /* "foo-1.0" -> "foo" */
	snprintf(out, len, "lib%.*s-dev", (int)n, stem);
}

void
libs_suggest(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char stem[128];
	snprintf(stem, sizeof(stem), "%s", strncmp(base, "lib", 3) == 0 ? base + 3 : base);
	stem[strcspn(stem, ".")] = '\0';
	for (int i = 0; libs_debian[i][0] != NULL; i++) /* libz -> zlib */
		if (strcmp(stem, "z") == 0 && strcmp(libs_debian[i][0], "zlib") == 0) {
			snprintf(out, len, "zlib");
			return;
		}
	const char *tries[2][2] = {{"", stem}, {"lib", stem}};
	for (int i = 0; i < 2; i++) {
		char name[160], cmd[256], *o = NULL;
		snprintf(name, sizeof(name), "%s%s", tries[i][0], tries[i][1]);
		snprintf(cmd, sizeof(cmd), "pkg-config --exists %s 2>&1", name);
		int rc = libs_valid_name(name) ? libs_run(cmd, &o) : -1;
		free(o);
		if (rc == 0) {
			snprintf(out, len, "%s", name);
			return;
		}
	}
	snprintf(out, len, "-l%s", stem);
}

/* ==== loading one library ============================================== */

static bool
libs_is_libc_part(const char *stem)
{
	for (int i = 0; libs_libc_parts[i] != NULL; i++)
		if (strcmp(libs_libc_parts[i], stem) == 0)
			return true;
	return false;
}

/* Finds libSTEM.so in the -L dirs of ldflags, then the system's. */
static bool
libs_find(const char *stem, const char *ldflags, char *path, size_t len)
{
	struct stat st;
	char *copy = strdup(ldflags), *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		snprintf(path, len, "%s/lib%s.so", w + 2, stem);
		if (strncmp(w, "-L", 2) == 0 && stat(path, &st) == 0) {
			free(copy);
			return true;
		}
	}
	free(copy);
	for (int i = 0; libs_dirs[i] != NULL; i++) {
		snprintf(path, len, "%s/lib%s.so", libs_dirs[i], stem);
		if (stat(path, &st) == 0)
			return true;
	}
	return false;
}

/* dlopens one -lSTEM into pkg; on failure a message in err. */
static int
libs_load_one(libs_pkg *pkg, const char *stem, char *err, size_t errlen)
{
	char path[1024];
	if (!libs_find(stem, pkg->ldflags, path, sizeof(path))) {
		snprintf(err, errlen,
		         "COT_LIBS(\"%s\"): no shared library lib%s.so found (is "
		         "its -dev package installed?)",
		         pkg->name, stem);
		return -1;
	}
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	struct link_map *map = NULL;
	if (h == NULL || dlinfo(h, RTLD_DI_LINKMAP, &map) != 0) {
		snprintf(err, errlen, "COT_LIBS(\"%s\"): cannot load %.300s: %.300s", pkg->name,
		         path, dlerror());
		return -1;
	}
	int n = pkg->nhandles + 1;
	void **hs = realloc(pkg->handles, (size_t)n * sizeof(void *));
	if (hs != NULL)
		pkg->handles = hs;
	void **ms = realloc(pkg->maps, (size_t)n * sizeof(void *));
	if (ms != NULL)
		pkg->maps = ms;
	char **ns = realloc(pkg->sonames, (size_t)n * sizeof(char *));
	if (ns != NULL)
		pkg->sonames = ns;
	if (hs == NULL || ms == NULL || ns == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *slash = strrchr(map->l_name, '/');
	pkg->handles[pkg->nhandles] = h;
	pkg->maps[pkg->nhandles] = map;
	pkg->sonames[pkg->nhandles++] = strdup(slash ? slash + 1 : map->l_name);
	return 0;
}

static void
libs_pkg_free(libs_pkg *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->nhandles; i++)
		free(p->sonames[i]); /* the handles stay open: see the top */
	free(p->sonames);
	free(p->handles);
	free(p->maps);
	free(p->name);
	free(p->cflags);
	free(p->ldflags);
	free(p);
}

/* Asks pkg-config for name's flags; err says why not. */
static int
libs_pkg_config(libs_pkg *p, char *err, size_t errlen)
{
	char cmd[300], dev[128];
	snprintf(cmd, sizeof(cmd), "pkg-config --cflags %s 2>&1", p->name);
	if (libs_run(cmd, &p->cflags) != 0) {
		libs_debian_dev(p->name, dev, sizeof(dev));
		snprintf(err, errlen,
		         "COT_LIBS(\"%s\"): pkg-config does not know \"%s\"; its "
		         ".pc file is in a -dev package, likely: apt-get install %s (a library "
		         "without a .pc file is declared as \"-lNAME\")",
		         p->name, p->name, dev);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "pkg-config --libs %s 2>&1", p->name);
	if (libs_run(cmd, &p->ldflags) != 0) {
		snprintf(err, errlen, "COT_LIBS(\"%s\"): pkg-config --libs failed: %s", p->name,
		         p->ldflags ? p->ldflags : "");
		return -1;
	}
	return 0;
}

/* The resolved library `name`, from the cache or made now; NULL + err. */
static const libs_pkg *
libs_pkg_get(const char *name, char *err, size_t errlen)
{
	for (int i = 0; i < libs_cache.n; i++)
		if (strcmp(libs_cache.v[i]->name, name) == 0)
			return libs_cache.v[i];
	bool raw = strncmp(name, "-l", 2) == 0;
	if (!libs_valid_name(raw ? name + 2 : name)) {
		snprintf(err, errlen, "COT_LIBS(\"%s\"): not a pkg-config name or -lNAME", name);
		return NULL;
	}
	libs_pkg *p = calloc(1, sizeof(*p));
	p->name = strdup(name);
	int rc = 0;
	if (raw) {
		p->cflags = strdup("");
		p->ldflags = strdup(name);
	} else {
		rc = libs_pkg_config(p, err, errlen);
	}
	char *copy = rc == 0 ? strdup(p->ldflags) : NULL, *save = NULL;
	for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; w && rc == 0;
	     w = strtok_r(NULL, " \t", &save))
		if (strncmp(w, "-l", 2) == 0 && !libs_is_libc_part(w + 2))
			rc = libs_load_one(p, w + 2, err, errlen);
	free(copy);
	libs_pkg **nv =
	        rc == 0 ? realloc(libs_cache.v, (size_t)(libs_cache.n + 1) * sizeof(*nv)) : NULL;
	if (nv == NULL) {
		libs_pkg_free(p);
		return NULL;
	}
	libs_cache.v = nv;
	libs_cache.v[libs_cache.n++] = p;
	return p;
}

/* ==== reading declarations ============================================= */

typedef struct libs_decl {
	const char *file;
	int line;
	char name[128];
} libs_decl;

/* Appends the COT_LIBS("...") names of `path` (its content `src`, or
 * NULL: read it) to d (deduplicated). */
static void
libs_scan_file(const char *path, const char *src, libs_decl *d, int *n)
{
	char *text = src == NULL ? file_read(path, NULL) : NULL;
	if (src == NULL && (src = text) == NULL)
		return;
	ctoken_scanner sc;
	ctoken t, prev = {0};
	ctoken_init(&sc, src);
	while (ctoken_next(&sc, &t)) {
		bool decl = t.kind == CTOKEN_IDENT && ctoken_is(&t, "COT_LIBS") &&
		            !(prev.kind == CTOKEN_IDENT && ctoken_is(&prev, "define"));
		prev = t;
		if (!decl || !ctoken_next(&sc, &t) || !ctoken_is(&t, "("))
			continue;
		while (ctoken_next(&sc, &t) && !ctoken_is(&t, ")")) {
			if (t.kind != CTOKEN_STRING || *n >= LIBS_MAX_DECLS)
				continue;
			libs_decl x = {.file = path, .line = t.line};
			snprintf(x.name, sizeof(x.name), "%.*s", (int)t.len, t.p);
			bool dup = false;
			for (int i = 0; i < *n; i++)
				dup |= strcmp(d[i].name, x.name) == 0;
			if (!dup)
				d[(*n)++] = x;
		}
	}
	free(text);
}

int
libs_declared(const char *path, const char *src, const deps_list *deps, libs_set *out, char **error)
{
	libs_decl d[LIBS_MAX_DECLS];
	int n = 0;
	memset(out, 0, sizeof(*out));
	*error = NULL;
	libs_scan_file(path, src, d, &n);
	for (int i = 0; deps != NULL && i < deps->n; i++)
		libs_scan_file(deps->paths[i], NULL, d, &n);
	out->pkgs = calloc((size_t)(n ? n : 1), sizeof(*out->pkgs));
	out->cflags = strdup("");
	out->ldflags = strdup("");
	for (int i = 0; i < n; i++) {
		char err[768], msg[1024];
		const libs_pkg *p = libs_pkg_get(d[i].name, err, sizeof(err));
		if (p == NULL) {
			snprintf(msg, sizeof(msg), "%s:%d: error: %s", d[i].file, d[i].line, err);
			*error = strdup(msg);
			libs_set_free(out);
			return -1;
		}
		out->pkgs[out->n++] = p;
		char *c = libs_join(out->cflags, p->cflags),
		     *l = libs_join(out->ldflags, p->ldflags);
		free(out->cflags);
		free(out->ldflags);
		out->cflags = c;
		out->ldflags = l;
	}
	return 0;
}

void
libs_set_free(libs_set *s)
{
	free(s->pkgs);
	free(s->cflags);
	free(s->ldflags);
	memset(s, 0, sizeof(*s));
}

/* ==== symbols ========================================================== */

/* Address of `name` when one of p's own shared objects defines it (not a
 * library it depends on: the linker would not take it from there either). */
void *
libs_own_symbol(const libs_pkg *p, const char *name)
{
	for (int i = 0; i < p->nhandles; i++) {
		void *a = dlsym(p->handles[i], name);
		Dl_info info;
		struct link_map *map = NULL;
		if (a != NULL && dladdr1(a, &info, (void **)&map, RTLD_DL_LINKMAP) != 0 &&
		    map == p->maps[i])
			return a;
	}
	return NULL;
}

/* A library loaded for any file that defines `name`, for a hint; or NULL. */
const libs_pkg *
libs_any_provider(const char *name)
{
	for (int i = 0; i < libs_cache.n; i++)
		if (libs_own_symbol(libs_cache.v[i], name) != NULL)
			return libs_cache.v[i];
	return NULL;
}
