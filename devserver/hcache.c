/*
 * hcache.c -- a handler's system headers, preprocessed once per process.
 *
 * Measured (docs/libraries.md): a handler that includes <sodium.h> or
 * <curl/curl.h> compiled 25-60x slower than one that includes only
 * <cot.h>. Parsing the declarations is not the cost: the same declarations
 * in one flattened file compile in ~0.8 ms. The cost is tcc walking ~200
 * header files: ~860 open() calls (650 of them failing along the include
 * path), reads, and lexing every comment of every file, on every reload.
 *
 * So the leading block of `#include <...>` lines of a file (its "prefix";
 * it ends at the first line that is anything else, so a #define before
 * them keeps the file off this path) is preprocessed once by the tcc
 * program of the same Debian package, with -E -dD (declarations with the
 * #define/#undef/#pragma lines kept in order), into one flat header in a
 * private temp dir, and the file is compiled with `-include` of it. Its
 * own prefix #include lines then find empty stand-ins first on the include
 * path: the flat header already holds them, and re-reading the real ones
 * just to skip them by their guards still cost most of the time under load
 * (curl.h is 100 KB of comments and code to skip).
 *
 * The flat header is used only after it proves itself: the prefix compiled
 * with it must give no message at all (a header without include guards,
 * re-read after its flat copy, would warn or fail); else that prefix is
 * compiled the ordinary way. Entries are keyed by cot's include dir, the
 * file's declared cflags and the prefix text, and live as long as the
 * process: system headers do not change while cotdev runs (restart it
 * after upgrading a -dev package). Called with the reloader lock held.
 */
#include <ctype.h>
#include <dirent.h>
#include <libtcc.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file.h"
#include "hcache.h"

extern char **environ;

typedef struct hcache_entry {
	char *key;
	char *header; /* the flat header's path, or NULL: compile the usual way */
	char *stubs;  /* directory of empty stand-ins for the prefix's headers */
} hcache_entry;

static struct {
	hcache_entry *v;
	int n;
	char dir[256]; /* "" until the temp dir exists */
} H;

/* ==== the prefix ======================================================= */

/* The leading `#include <...>` lines of src, one per line; "" if none. */
static char *
hcache_prefix(const char *src)
{
	size_t cap = 256, len = 0;
	char *out = malloc(cap);
	const char *p = src;
	while (out != NULL && *p) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (p[0] == '/' && p[1] == '/') {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			if (end == NULL)
				break;
			p = end + 2;
		} else if (strncmp(p, "#include", 8) == 0) {
			const char *q = p + 8;
			while (*q == ' ' || *q == '\t')
				q++;
			size_t n = strcspn(q, "\n");
			if (*q != '<' || memchr(q, '>', n) == NULL)
				break;
			n = (size_t)((const char *)memchr(q, '>', n) - q) + 1;
			if (len + n + 12 > cap) {
				char *no = realloc(out, cap = (len + n + 12) * 2);
				if (no == NULL)
					break;
				out = no;
			}
			len += (size_t)sprintf(out + len, "#include %.*s\n", (int)n, q);
			p = q + strcspn(q, "\n");
		} else {
			break;
		}
	}
	if (out != NULL)
		out[len] = '\0';
	return out;
}

/* ==== making a flat header ============================================= */

/* Runs tcc -E -dD on dir/N.c into dir/N.full; 0 on success. */
static int
hcache_preprocess(const char *c_path, const char *full, const char *include_dir, const char *cflags)
{
	char inc[4200], *copy = strdup(cflags), *save = NULL;
	const char *argv[64];
	int n = 0;
	snprintf(inc, sizeof(inc), "-I%s", include_dir);
	argv[n++] = "tcc";
	argv[n++] = "-E";
	argv[n++] = "-dD";
	argv[n++] = inc;
	for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; w && n < 56;
	     w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	argv[n++] = c_path;
	argv[n++] = "-o";
	argv[n++] = full;
	argv[n] = NULL;
	pid_t pid;
	int st = -1;
	if (posix_spawnp(&pid, "tcc", NULL, NULL, (char *const *)argv, environ) == 0)
		waitpid(pid, &st, 0);
	free(copy);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * -dD prints a macro body's internal tokens as "<xx>"; the only one seen
 * in glibc, cot.h, sodium, zlib and curl is <a6>, the ## operator. Puts
 * "##" back in place (the line only shrinks); false if another remains.
 */
static bool
hcache_fix_paste(char *line)
{
	char *p;
	while ((p = strstr(line, "<a6>")) != NULL) {
		memcpy(p, "##", 2);
		memmove(p + 2, p + 4, strlen(p + 4) + 1);
	}
	for (p = line; (p = strchr(p, '<')) != NULL; p++)
		if (isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]) && p[3] == '>')
			return false;
	return true;
}

/*
 * tcc -E -dD output -> a header to -include: no linemarkers or blank lines,
 * none of the predefined macros (they come before the first header),
 * variadic parameter lists back as "..." (-dD prints them as __VA_ARGS__)
 * and ## back as ##.
 */
static int
hcache_flatten(const char *full, const char *c_path, const char *out_path)
{
	char *text = file_read(full, NULL);
	FILE *out = text ? fopen(out_path, "w") : NULL;
	if (out == NULL) {
		free(text);
		return -1;
	}
	bool started = false;
	for (char *line = text, *next; line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		char file[4200];
		if (line[0] == '#' && sscanf(line, "# %*d \"%4199[^\"]\"", file) == 1) {
			started |= strcmp(file, "<command line>") != 0 && strcmp(file, c_path) != 0;
			continue;
		}
		if (!started || line[strspn(line, " \t")] == '\0')
			continue;
		if (strncmp(line, "#define ", 8) == 0 && !hcache_fix_paste(line)) {
			fclose(out);
			free(text);
			return -1; /* an internal token we do not know how to print */
		}
		char *params = strncmp(line, "#define ", 8) == 0 ? line + 8 : NULL;
		params = params ? params + strspn(params, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
		                                          "KLMNOPQRSTUVWXYZ0123456789_")
		                : NULL;
		char *close = params && *params == '(' ? strchr(params, ')') : NULL;
		char *va = close ? strstr(params, "__VA_ARGS__") : NULL;
		if (va != NULL && va < close) {
			fprintf(out, "%.*s...%s\n", (int)(va - line), line, va + 11);
			continue;
		}
		fprintf(out, "%s\n", line);
	}
	free(text);
	return fclose(out);
}

static void
hcache_on_message(void *opaque, const char *msg)
{
	(void)msg;
	(*(int *)opaque)++;
}

/*
 * Makes dir/NAME an empty file for each `#include <NAME>` of the prefix:
 * searched first, it stands in for the header the flat one already holds,
 * so the file's own #include lines open nothing else. Not for <assert.h>,
 * which is made to be included again (with NDEBUG changed).
 */
static int
hcache_make_stubs(const char *dir, const char *prefix)
{
	if (mkdir(dir, 0700) != 0)
		return -1;
	for (const char *p = prefix; (p = strchr(p, '<')) != NULL; p++) {
		size_t n = strcspn(p + 1, ">");
		char path[600];
		if (n == 0 || n > 200 || strstr(p, "..") == p + 1)
			return -1;
		snprintf(path, sizeof(path), "%s/%.*s", dir, (int)n, p + 1);
		if (strcmp(path + strlen(dir) + 1, "assert.h") == 0)
			continue;
		for (char *slash = strchr(path + strlen(dir) + 1, '/'); slash != NULL;
		     slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			mkdir(path, 0700); /* may exist: the open below says if it failed */
			*slash = '/';
		}
		FILE *f = fopen(path, "w");
		if (f == NULL || fclose(f) != 0)
			return -1;
	}
	return 0;
}

/* Removes a stub tree made by hcache_make_stubs (depth-first). */
static void
hcache_remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char path[700];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0)
			hcache_remove_tree(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

/* The prefix compiled with the flat header and the stand-ins gives no
 * message at all. */
static bool
hcache_proves(const char *c_path, const char *header, const char *stubs, const char *include_dir,
              const char *cflags)
{
	int messages = 0;
	char opt[4300];
	TCCState *s = tcc_new();
	if (s == NULL)
		return false;
	tcc_set_error_func(s, &messages, hcache_on_message);
	snprintf(opt, sizeof(opt), "-include %s", header);
	tcc_set_options(s, opt);
	tcc_add_include_path(s, stubs);
	if (*cflags)
		tcc_set_options(s, cflags);
	tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
	tcc_add_include_path(s, include_dir);
	int rc = tcc_add_file(s, c_path);
	tcc_delete(s);
	return rc == 0 && messages == 0;
}

/* Makes the flat header and stand-ins for one prefix into e; 0 or -1. */
static int
hcache_make(hcache_entry *e, const char *prefix, const char *include_dir, const char *cflags)
{
	if (H.dir[0] == '\0') {
		const char *t = getenv("TMPDIR");
		if (t == NULL || *t == '\0' || strlen(t) > 200 || strpbrk(t, " \t\"'\\"))
			t = "/tmp";
		snprintf(H.dir, sizeof(H.dir), "%s/cot-headers-XXXXXX", t);
		if (mkdtemp(H.dir) == NULL) {
			H.dir[0] = '\0';
			return -1;
		}
	}
	char c_path[320], full[320], header[320], stubs[320];
	snprintf(c_path, sizeof(c_path), "%s/%d.c", H.dir, H.n);
	snprintf(full, sizeof(full), "%s/%d.full", H.dir, H.n);
	snprintf(header, sizeof(header), "%s/%d.h", H.dir, H.n);
	snprintf(stubs, sizeof(stubs), "%s/%d.stubs", H.dir, H.n);
	FILE *f = fopen(c_path, "w");
	bool ok = f != NULL && fputs(prefix, f) >= 0;
	if (f != NULL)
		ok &= fclose(f) == 0;
	ok = ok && hcache_preprocess(c_path, full, include_dir, cflags) == 0 &&
	     hcache_flatten(full, c_path, header) == 0 && hcache_make_stubs(stubs, prefix) == 0 &&
	     hcache_proves(c_path, header, stubs, include_dir, cflags);
	unlink(full);
	if (!ok) {
		unlink(header);
		hcache_remove_tree(stubs);
		return -1;
	}
	e->header = strdup(header);
	e->stubs = strdup(stubs);
	return e->header != NULL && e->stubs != NULL ? 0 : -1;
}

/* ==== the cache ======================================================== */

const char *
hcache_header(const char *path, const char *src, const char *include_dir, const char *cflags,
              const char **stubs)
{
	*stubs = NULL;
	if (cflags == NULL)
		cflags = "";
	char *own = src == NULL ? file_read(path, NULL) : NULL;
	if (src == NULL)
		src = own;
	char *prefix = src ? hcache_prefix(src) : NULL;
	free(own);
	if (prefix == NULL || *prefix == '\0') {
		free(prefix);
		return NULL;
	}
	size_t klen = strlen(include_dir) + strlen(cflags) + strlen(prefix) + 3;
	char *key = malloc(klen);
	if (key == NULL) {
		free(prefix);
		return NULL;
	}
	snprintf(key, klen, "%s\n%s\n%s", include_dir, cflags, prefix);
	for (int i = 0; i < H.n; i++)
		if (strcmp(H.v[i].key, key) == 0) {
			free(key);
			free(prefix);
			*stubs = H.v[i].stubs;
			return H.v[i].header;
		}
	hcache_entry *nv = realloc(H.v, (size_t)(H.n + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(key);
		free(prefix);
		return NULL;
	}
	H.v = nv;
	hcache_entry *e = &H.v[H.n++];
	*e = (hcache_entry){key, NULL, NULL};
	if (hcache_make(e, prefix, include_dir, cflags) != 0) {
		free(e->header);
		free(e->stubs);
		e->header = e->stubs = NULL;
	}
	free(prefix);
	*stubs = e->stubs;
	return e->header;
}

void
hcache_shutdown(void)
{
	for (int i = 0; i < H.n; i++) {
		char c_path[320];
		snprintf(c_path, sizeof(c_path), "%s/%d.c", H.dir, i);
		unlink(c_path);
		if (H.v[i].header != NULL)
			unlink(H.v[i].header);
		if (H.v[i].stubs != NULL)
			hcache_remove_tree(H.v[i].stubs);
		free(H.v[i].header);
		free(H.v[i].stubs);
		free(H.v[i].key);
	}
	free(H.v);
	H.v = NULL;
	H.n = 0;
	if (H.dir[0] != '\0')
		rmdir(H.dir);
	H.dir[0] = '\0';
}
