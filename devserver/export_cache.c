/*
 * export_cache.c -- the runtime's objects compiled once: every export
 * compiles the same ~70 runtime files with the same flags, which is most
 * of its time; a cache directory keeps each object and reuses it while
 * nothing it was made from changed (the idea of ccache's direct mode).
 *
 * An object is found in two steps, so that the files it was made from need
 * not be known before it is compiled:
 *   - the manifest, named by a hash of the compile (the compiler, the
 *     environment variables gcc reads, the names of the headers in the
 *     include dirs, every flag and the source's path), lists every file the
 *     compile read: the source and each header, system headers too, as gcc
 *     -MD wrote them;
 *   - the object is named by a hash of the manifest's name and each listed
 *     file's path and contents (BLAKE2b, libsodium).
 * So a changed source, header, flag or compiler, or a header added that
 * could shadow another, names another object, which is compiled. A file
 * modified during the compile (mtime after the export started, less 2 s
 * of timestamp granularity) keeps that object out of the cache.
 *
 * Several exports may share the cache at once: each entry is written to a
 * temp file in the cache dir and renamed into place, so a reader sees a
 * whole file or none, and two writers of one entry write the same bytes.
 * An object is copied out to the export's own dir (hard link when it can),
 * so pruning never pulls it from under a link; a hit touches it, and once
 * the dir holds more than EXPORT_CACHE_MAX files the least recently used
 * half goes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export_cache.h"
#include "export_jobs.h"
#include "file.h"

#define EXPORT_CACHE_MAX 1200 /* files: ~8 runtime versions (68 objects + manifests each) */

struct export_cache_file {
	char *path;
	unsigned char hash[32];
	int ok; /* 0: unreadable */
};

struct export_cache_miss {
	char manifest[PATH_MAX]; /* the cache's manifest path for this compile */
	char obj[PATH_MAX];      /* the compiled object, in the export's dir */
};

/* Environment variables that change what gcc compiles. */
static const char *const export_cache_env[] = {
        "CPATH",
        "C_INCLUDE_PATH",
        "GCC_EXEC_PREFIX",
        "COMPILER_PATH",
        "GCC_COMPARE_DEBUG",
        "SOURCE_DATE_EPOCH",
        NULL,
};

static void
export_cache_hex(const unsigned char *h, char out[65])
{
	sodium_bin2hex(out, 65, h, 32);
}

/* Adds a string and its terminating NUL, so "ab","c" and "a","bc" differ. */
static void
export_cache_add(crypto_generichash_state *st, const char *s)
{
	crypto_generichash_update(st, (const unsigned char *)s, strlen(s) + 1);
}

/* Adds a program's resolved path, size and mtime: an upgrade changes them. */
static void
export_cache_add_prog(crypto_generichash_state *st, const char *path)
{
	char real[PATH_MAX], buf[PATH_MAX + 96];
	struct stat sb;
	if (realpath(path, real) == NULL || stat(real, &sb) != 0) {
		export_cache_add(st, path);
		return;
	}
	snprintf(buf, sizeof(buf), "%s %lld %lld.%09ld", real, (long long)sb.st_size,
	         (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	export_cache_add(st, buf);
}

/* `name` found as execvp finds it: PATH's first executable, into out. */
static int
export_cache_which(const char *name, char *out, size_t len)
{
	if (strchr(name, '/') != NULL) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	const char *path = getenv("PATH");
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(out, len, "%.*s/%s", (int)n, n ? p : ".", name);
		if (access(out, X_OK) == 0)
			return 0;
		p += n + (p[n] == ':');
	}
	return -1;
}

/* Where gcc finds `prog` (cc1, as): gcc -print-prog-name, then PATH. */
static void
export_cache_add_gcc_prog(crypto_generichash_state *st, const char *tmp, const char *prog)
{
	export_job j = {.status = -1};
	strvec_push(&j.argv, "gcc");
	strvec_pushf(&j.argv, "-print-prog-name=%s", prog);
	snprintf(j.log, sizeof(j.log), "%s/prog_%s.txt", tmp, prog);
	if (export_jobs_spawn(&j, tmp) == 0)
		waitpid(j.pid, &j.status, 0);
	strvec_free(&j.argv);
	char *out = file_read(j.log, NULL), path[PATH_MAX];
	if (out != NULL)
		out[strcspn(out, "\n")] = '\0';
	if (out != NULL && export_cache_which(out, path, sizeof(path)) == 0)
		export_cache_add_prog(st, path);
	else
		export_cache_add(st, prog);
	free(out);
}

/* Adds the header names of one include dir, sorted: a new one may shadow. */
static void
export_cache_add_dir(crypto_generichash_state *st, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	export_cache_add(st, dir);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (len > 2 && strcmp(names[i]->d_name + len - 2, ".h") == 0)
			export_cache_add(st, names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* The hash of everything around the compile but its own flags. */
static void
export_cache_ident(export_cache *c, const char *home, const char *tmp, const strvec *cflags)
{
	crypto_generichash_state st;
	char gcc[PATH_MAX], dir[PATH_MAX + 16];
	crypto_generichash_init(&st, NULL, 0, sizeof(c->ident));
	export_cache_add(&st, "cot export cache 1");
	if (export_cache_which("gcc", gcc, sizeof(gcc)) == 0)
		export_cache_add_prog(&st, gcc);
	export_cache_add_gcc_prog(&st, tmp, "cc1");
	export_cache_add_gcc_prog(&st, tmp, "as");
	for (int i = 0; export_cache_env[i] != NULL; i++) {
		const char *v = getenv(export_cache_env[i]);
		export_cache_add(&st, export_cache_env[i]);
		export_cache_add(&st, v != NULL ? v : "(unset)");
	}
	snprintf(dir, sizeof(dir), "%s/runtime", home); /* where "x.h" is looked up first */
	export_cache_add_dir(&st, dir);
	for (int i = 0; i < cflags->n; i++)
		if (strncmp(cflags->v[i], "-I", 2) == 0 && cflags->v[i][2] != '\0')
			export_cache_add_dir(&st, cflags->v[i] + 2);
	crypto_generichash_final(&st, c->ident, sizeof(c->ident));
}

/* mkdir -p */
static int
export_cache_mkdirs(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) != 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

void
export_cache_open(export_cache *c, const char *home, const char *tmp, const strvec *cflags)
{
	memset(c, 0, sizeof(*c));
	const char *env = getenv("COT_EXPORT_CACHE");
	if (env != NULL && strcmp(env, "off") == 0)
		return;
	int len = env != NULL && *env
	                  ? snprintf(c->dir, sizeof(c->dir), "%s", env)
	                  : snprintf(c->dir, sizeof(c->dir), "%s/build/export-cache", home);
	if (len < 0 || (size_t)len >= sizeof(c->dir) || sodium_init() < 0 ||
	    export_cache_mkdirs(c->dir) != 0 || access(c->dir, W_OK) != 0) {
		c->dir[0] = '\0'; /* compile everything, as without a cache */
		return;
	}
	export_cache_ident(c, home, tmp, cflags);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->start = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A file's contents hash, each file read once per export; NULL if unreadable. */
static const unsigned char *
export_cache_file_hash(export_cache *c, const char *path)
{
	for (int i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i].path, path) == 0)
			return c->files[i].ok ? c->files[i].hash : NULL;
	if (c->nfiles == c->capfiles) {
		int cap = c->capfiles ? 2 * c->capfiles : 256;
		export_cache_file *f = realloc(c->files, (size_t)cap * sizeof(*f));
		if (f == NULL)
			return NULL;
		c->files = f;
		c->capfiles = cap;
	}
	export_cache_file *f = &c->files[c->nfiles++];
	f->path = strdup(path);
	f->ok = 0;
	size_t len;
	char *data = f->path != NULL ? file_read(path, &len) : NULL;
	if (data != NULL) {
		crypto_generichash(f->hash, sizeof(f->hash), (unsigned char *)data, len, NULL, 0);
		f->ok = 1;
	}
	free(data);
	return f->ok ? f->hash : NULL;
}

/* The manifest's path for a compile: ident + flags (color aside) + source. */
static void
export_cache_manifest(const export_cache *c, const strvec *argv, char *out, size_t len)
{
	crypto_generichash_state st;
	unsigned char h[32];
	char hex[65];
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, c->ident, sizeof(c->ident));
	for (int i = 0; i < argv->n; i++)
		if (strncmp(argv->v[i], "-fdiagnostics-color", 19) != 0)
			export_cache_add(&st, argv->v[i]);
	crypto_generichash_final(&st, h, sizeof(h));
	export_cache_hex(h, hex);
	snprintf(out, len, "%s/%s.deps", c->dir, hex);
}

/* The object's path: the manifest's name and each listed file's path and
 * contents; -1 when a listed file cannot be read. */
static int
export_cache_object(export_cache *c, const char *manifest, const strvec *deps, char *out,
                    size_t len)
{
	crypto_generichash_state st;
	unsigned char h[32];
	char hex[65];
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	export_cache_add(&st, strrchr(manifest, '/') + 1);
	for (int i = 0; i < deps->n; i++) {
		const unsigned char *fh = export_cache_file_hash(c, deps->v[i]);
		if (fh == NULL)
			return -1;
		export_cache_add(&st, deps->v[i]);
		crypto_generichash_update(&st, fh, 32);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	export_cache_hex(h, hex);
	snprintf(out, len, "%s/%s.o", c->dir, hex);
	return 0;
}

/* Copies src to dst (a new file); 0 or -1. */
static int
export_cache_copy(const char *src, const char *dst)
{
	size_t len;
	char *data = file_read(src, &len);
	if (data == NULL)
		return -1;
	FILE *f = fopen(dst, "wb");
	int ok = f != NULL && fwrite(data, 1, len, f) == len;
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	free(data);
	return ok ? 0 : -1;
}

/* Reads a manifest's lines into deps; -1 when there is none. */
static int
export_cache_read_manifest(const char *path, strvec *deps)
{
	char *text = file_read(path, NULL);
	if (text == NULL)
		return -1;
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break; /* a manifest always ends in a newline */
		*nl = '\0';
		strvec_push(deps, line);
	}
	free(text);
	return deps->n > 0 ? 0 : -1;
}

int
export_cache_fetch(export_cache *c, const strvec *argv, const char *obj)
{
	if (c->dir[0] == '\0')
		return 0;
	char manifest[PATH_MAX], cached[PATH_MAX];
	strvec deps = {0};
	export_cache_manifest(c, argv, manifest, sizeof(manifest));
	int hit = export_cache_read_manifest(manifest, &deps) == 0 &&
	          export_cache_object(c, manifest, &deps, cached, sizeof(cached)) == 0 &&
	          (link(cached, obj) == 0 ||
	           (errno != ENOENT && export_cache_copy(cached, obj) == 0));
	strvec_free(&deps);
	if (hit) {
		utimensat(AT_FDCWD, cached, NULL, 0); /* recently used: pruned last */
		utimensat(AT_FDCWD, manifest, NULL, 0);
		c->hits++;
		return 1;
	}
	if (c->nmiss == c->capmiss) {
		int cap = c->capmiss ? 2 * c->capmiss : 64;
		export_cache_miss *m = realloc(c->miss, (size_t)cap * sizeof(*m));
		if (m == NULL)
			return 0;
		c->miss = m;
		c->capmiss = cap;
	}
	export_cache_miss *m = &c->miss[c->nmiss++];
	snprintf(m->manifest, sizeof(m->manifest), "%s", manifest);
	snprintf(m->obj, sizeof(m->obj), "%s", obj);
	return 0;
}

void
export_cache_dep_flags(strvec *argv, const char *obj)
{
	strvec_push(argv, "-MD");
	strvec_push(argv, "-MT");
	strvec_push(argv, "obj"); /* a fixed target: the file starts "obj:" */
	strvec_push(argv, "-MF");
	strvec_pushf(argv, "%s.d", obj);
}

/* The files a gcc -MD file lists after "obj:", unescaped (\ , \#, $$). */
static int
export_cache_read_deps(const char *path, strvec *deps)
{
	char *text = file_read(path, NULL);
	if (text == NULL || strncmp(text, "obj:", 4) != 0) {
		free(text);
		return -1;
	}
	char word[PATH_MAX];
	size_t n = 0;
	for (const char *p = text + 4;; p++) {
		if (*p == '\\' && p[1] == '\n') {
			p++;
			continue;
		}
		if (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\n') {
			if (n > 0) {
				word[n] = '\0';
				strvec_push(deps, word);
			}
			n = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if ((*p == '\\' && (p[1] == ' ' || p[1] == '#')) || (*p == '$' && p[1] == '$'))
			p++;
		if (n + 1 < sizeof(word))
			word[n++] = *p;
	}
	free(text);
	return deps->n > 0 ? 0 : -1;
}

/* Writes `text` to `path` through a temp file in the cache and a rename. */
static int
export_cache_put(const export_cache *c, const char *path, const char *from, const char *text)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/.new-XXXXXX", c->dir);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	close(fd);
	int rc = -1;
	if (from != NULL) {
		rc = export_cache_copy(from, tmp);
	} else {
		FILE *f = fopen(tmp, "w");
		rc = f != NULL && fputs(text, f) >= 0 ? 0 : -1;
		if (f != NULL && fclose(f) != 0)
			rc = -1;
	}
	if (rc == 0 && chmod(tmp, 0644) == 0 && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

/* Whether each file can be listed in a manifest and is older than the
 * export: one written since may not be what gcc read. */
static int
export_cache_settled(const export_cache *c, const strvec *deps)
{
	for (int i = 0; i < deps->n; i++) {
		struct stat sb;
		if (deps->v[i][0] != '/' || strchr(deps->v[i], '\n') != NULL ||
		    stat(deps->v[i], &sb) != 0 ||
		    (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9 >= c->start - 2.0)
			return 0;
	}
	return 1;
}

/* Stores one compiled object and its manifest (the object first: a manifest
 * never names an object that is not there yet). */
static void
export_cache_store_one(export_cache *c, const export_cache_miss *m)
{
	char dfile[PATH_MAX + 4], cached[PATH_MAX];
	strvec deps = {0};
	snprintf(dfile, sizeof(dfile), "%s.d", m->obj);
	if (export_cache_read_deps(dfile, &deps) == 0 && export_cache_settled(c, &deps) &&
	    export_cache_object(c, m->manifest, &deps, cached, sizeof(cached)) == 0 &&
	    export_cache_put(c, cached, m->obj, NULL) == 0) {
		size_t len = 1;
		for (int i = 0; i < deps.n; i++)
			len += strlen(deps.v[i]) + 1;
		char *text = malloc(len), *p = text;
		for (int i = 0; text != NULL && i < deps.n; i++)
			p += sprintf(p, "%s\n", deps.v[i]);
		if (text != NULL)
			export_cache_put(c, m->manifest, NULL, text);
		free(text);
	}
	strvec_free(&deps);
}

typedef struct export_cache_entry {
	char name[80];
	double mtime;
} export_cache_entry;

static int
export_cache_older(const void *a, const void *b)
{
	double d = ((const export_cache_entry *)a)->mtime - ((const export_cache_entry *)b)->mtime;
	return d < 0 ? -1 : d > 0;
}

/* Past EXPORT_CACHE_MAX files, removes the least recently used half. */
static void
export_cache_prune(const export_cache *c)
{
	DIR *d = opendir(c->dir);
	if (d == NULL)
		return;
	export_cache_entry *e = NULL;
	int n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len >= sizeof(e->name) ||
		    fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			export_cache_entry *ne = realloc(e, (size_t)cap * sizeof(*e));
			if (ne == NULL)
				break;
			e = ne;
		}
		memcpy(e[n].name, de->d_name, len + 1);
		e[n++].mtime = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9;
	}
	if (n > EXPORT_CACHE_MAX) {
		qsort(e, (size_t)n, sizeof(*e), export_cache_older);
		for (int i = 0; i < n - EXPORT_CACHE_MAX / 2; i++)
			unlinkat(dirfd(d), e[i].name, 0);
	}
	closedir(d);
	free(e);
}

/* Whether the job that writes `obj` ran and exited 0. */
static int
export_cache_compiled(const export_job *jobs, int n, const char *obj)
{
	for (int i = 0; i < n; i++)
		if (jobs[i].argv.n > 0 && strcmp(jobs[i].argv.v[jobs[i].argv.n - 1], obj) == 0)
			return WIFEXITED(jobs[i].status) && WEXITSTATUS(jobs[i].status) == 0;
	return 0;
}

void
export_cache_store(export_cache *c, const export_job *jobs, int n)
{
	if (c->dir[0] == '\0' || c->nmiss == 0)
		return;
	for (int i = 0; i < c->nmiss; i++)
		if (export_cache_compiled(jobs, n, c->miss[i].obj))
			export_cache_store_one(c, &c->miss[i]);
	export_cache_prune(c);
}

void
export_cache_close(export_cache *c)
{
	for (int i = 0; i < c->nfiles; i++)
		free(c->files[i].path);
	free(c->files);
	free(c->miss);
	memset(c, 0, sizeof(*c));
}
