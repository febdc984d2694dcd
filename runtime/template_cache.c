/*
 * template_cache.c -- templates by name: read from templates/ or embedded.
 *
 * A template_cache maps names ("note.html") to parsed templates. In
 * development the source is a file under a directory (templates/), stat()ed
 * on every lookup and reparsed only when it changed; an exported binary adds
 * embedded copies instead, which never look at the file system. Each name has
 * one entry holding its source, its current parse or the parse error, and
 * (file mode) the stat of the file it was read from.
 *
 * Threads. Lookups take the read lock; a changed file is reread and its new
 * parse swapped in under the write lock, dropping the cache's reference to
 * the old one -- renders still holding the old one finish with it. File
 * checks follow git's "racily clean" rule: a file whose stat matches is
 * trusted only when it was last read more than a second after its mtime,
 * otherwise its content is compared, so a fast rewrite with the same size is
 * never missed.
 *
 * The cache uses only the public API of template.c (template.h) plus
 * template_errorf (template_internal.h).
 */
#include "template.h"
#include "template_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct entry {
	char *name;
	template *tpl; /* the current parse, or NULL ... */
	char *error;   /* ... and then why it does not parse */
	char *src;     /* the source that tpl/error came from */
	size_t len;
	bool embedded;
	struct stat st; /* file mode: the stat of the source read */
	struct timespec read_at;
};

struct template_cache {
	pthread_rwlock_t lock;
	char *dir;
	char *label;
	struct entry **entries;
	size_t count, cap;
};

template_cache *
template_cache_new(const char *dir, const char *label)
{
	template_cache *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	if (label == NULL)
		label = dir ? dir : "templates";
	c->label = strdup(label);
	c->dir = dir ? strdup(dir) : NULL;
	if (c->label == NULL || (dir != NULL && c->dir == NULL) ||
	    pthread_rwlock_init(&c->lock, NULL) != 0) {
		free(c->label);
		free(c->dir);
		free(c);
		return NULL;
	}
	return c;
}

static void
template_cache_entry_free(struct entry *e)
{
	template_release(e->tpl);
	free(e->error);
	free(e->src);
	free(e->name);
	free(e);
}

void
template_cache_free(template_cache *cache)
{
	if (cache == NULL)
		return;
	for (size_t i = 0; i < cache->count; i++)
		template_cache_entry_free(cache->entries[i]);
	free(cache->entries);
	pthread_rwlock_destroy(&cache->lock);
	free(cache->dir);
	free(cache->label);
	free(cache);
}

/* Caller holds the lock (read or write). */
static struct entry *
template_cache_find(template_cache *cache, const char *name)
{
	for (size_t i = 0; i < cache->count; i++)
		if (strcmp(cache->entries[i]->name, name) == 0)
			return cache->entries[i];
	return NULL;
}

/* "templates/note.html": how errors name a cached template. */
static const char *
template_cache_label_path(const template_cache *cache, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", cache->label, name);
	return buf;
}

/* Find or create the entry for name. Caller holds the write lock. */
static struct entry *
template_cache_entry(template_cache *cache, const char *name)
{
	struct entry *e = template_cache_find(cache, name);
	if (e != NULL)
		return e;
	if (cache->count == cache->cap) {
		size_t cap = cache->cap ? cache->cap * 2 : 16;
		struct entry **entries = realloc(cache->entries, cap * sizeof *entries);
		if (entries == NULL)
			return NULL;
		cache->entries = entries;
		cache->cap = cap;
	}
	if ((e = calloc(1, sizeof *e)) == NULL || (e->name = strdup(name)) == NULL) {
		free(e);
		return NULL;
	}
	cache->entries[cache->count++] = e;
	return e;
}

/* Give e the source src (taking ownership): reparse only if it changed.
 * Caller holds the write lock. */
static void
template_cache_entry_set_source(template_cache *cache, struct entry *e, char *src, size_t len)
{
	if (e->src != NULL && e->len == len && memcmp(e->src, src, len) == 0) {
		free(src);
		return;
	}
	char label[4096], err[512];
	template_cache_label_path(cache, e->name, label, sizeof label);
	template *t = template_parse(label, src, len, err, sizeof err);
	template_release(e->tpl);
	free(e->error);
	free(e->src);
	e->tpl = t;
	e->error = t ? NULL : strdup(err);
	e->src = src;
	e->len = len;
}

/* Hand out e's template (a new reference) or its error. Caller holds a lock. */
static int
template_cache_entry_result(const struct entry *e, template **out, char *err, size_t errsize)
{
	if (e->tpl != NULL) {
		*out = template_retain(e->tpl);
		return TEMPLATE_OK;
	}
	snprintf(err, errsize, "%s", e->error ? e->error : "out of memory");
	return TEMPLATE_ERROR;
}

int
template_cache_add_embedded(template_cache *cache, const char *name, const char *src, char *err,
                            size_t errsize)
{
	size_t len = strlen(src);
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return template_errorf(err, errsize, name, 0, "out of memory");
	memcpy(copy, src, len + 1);
	pthread_rwlock_wrlock(&cache->lock);
	struct entry *e = template_cache_entry(cache, name);
	int rc = -1;
	if (e == NULL) {
		free(copy);
		template_errorf(err, errsize, name, 0, "out of memory");
	} else {
		e->embedded = true;
		template_cache_entry_set_source(cache, e, copy, len);
		if (e->tpl != NULL)
			rc = 0;
		else
			snprintf(err, errsize, "%s", e->error ? e->error : "out of memory");
	}
	pthread_rwlock_unlock(&cache->lock);
	return rc;
}

/* A relative path without "." or ".." components or empty components. */
static bool
template_cache_valid_name(const char *name)
{
	if (name[0] == '\0' || name[0] == '/')
		return false;
	for (const char *s = name; *s;) {
		size_t len = strcspn(s, "/");
		if (len == 0 || (len == 1 && s[0] == '.') ||
		    (len == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += len;
		if (*s == '/')
			s++;
	}
	return true;
}

/* Does the file still match what e was read from? A stat match is trusted
 * only if the read happened more than a second after the file's mtime. */
static bool
template_cache_entry_fresh(const struct entry *e, const struct stat *st)
{
	if (e->src == NULL || e->st.st_dev != st->st_dev || e->st.st_ino != st->st_ino ||
	    e->st.st_size != st->st_size || e->st.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    e->st.st_mtim.tv_nsec != st->st_mtim.tv_nsec)
		return false;
	return e->read_at.tv_sec > st->st_mtim.tv_sec + 1;
}

/* Read a whole file. Returns 0, or an errno value. */
static int
template_cache_read_file(const char *path, char **src, size_t *len, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int rc = 0;
	char *data = NULL;
	if (fstat(fd, st) < 0)
		rc = errno;
	else if (!S_ISREG(st->st_mode))
		rc = EISDIR;
	else if ((data = malloc(st->st_size + 1)) == NULL)
		rc = ENOMEM;
	size_t got = 0;
	while (rc == 0 && got < (size_t)st->st_size) {
		ssize_t n = read(fd, data + got, st->st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* shrank while reading: take what is there */
		got += n;
	}
	close(fd);
	if (rc != 0) {
		free(data);
		return rc;
	}
	data[got] = '\0';
	*src = data;
	*len = got;
	return 0;
}

/* File mode: load dir/name, reusing the cached parse when nothing changed. */
static int
template_cache_get_file(template_cache *cache, const char *name, template **out, char *err,
                        size_t errsize)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", cache->dir, name);
	if (stat(path, &st) == 0) {
		pthread_rwlock_rdlock(&cache->lock);
		struct entry *e = template_cache_find(cache, name);
		int rc = e && template_cache_entry_fresh(e, &st)
		                 ? template_cache_entry_result(e, out, err, errsize)
		                 : 1;
		pthread_rwlock_unlock(&cache->lock);
		if (rc != 1)
			return rc;
	}
	char *src = NULL;
	size_t len = 0;
	int errnum = template_cache_read_file(path, &src, &len, &st);
	if (errnum != 0) {
		template_errorf(err, errsize,
		                template_cache_label_path(cache, name, path, sizeof path), 0, "%s",
		                errnum == ENOENT ? "no such template" : strerror(errnum));
		return errnum == ENOENT ? TEMPLATE_NOT_FOUND : TEMPLATE_ERROR;
	}
	pthread_rwlock_wrlock(&cache->lock);
	struct entry *e = template_cache_entry(cache, name);
	int rc;
	if (e == NULL) {
		free(src);
		rc = template_errorf(err, errsize, name, 0, "out of memory");
	} else {
		template_cache_entry_set_source(cache, e, src, len);
		e->st = st;
		clock_gettime(CLOCK_REALTIME, &e->read_at);
		rc = template_cache_entry_result(e, out, err, errsize);
	}
	pthread_rwlock_unlock(&cache->lock);
	return rc;
}

int
template_cache_get(template_cache *cache, const char *name, template **out, char *err,
                   size_t errsize)
{
	*out = NULL;
	char label[4096];
	template_cache_label_path(cache, name, label, sizeof label);
	if (!template_cache_valid_name(name))
		return template_errorf(err, errsize, label, 0, "bad template name");
	pthread_rwlock_rdlock(&cache->lock);
	struct entry *e = template_cache_find(cache, name);
	int rc = e && e->embedded ? template_cache_entry_result(e, out, err, errsize) : 1;
	pthread_rwlock_unlock(&cache->lock);
	if (rc != 1)
		return rc;
	if (cache->dir == NULL) {
		template_errorf(err, errsize, label, 0, "no such template");
		return TEMPLATE_NOT_FOUND;
	}
	return template_cache_get_file(cache, name, out, err, errsize);
}

/* What a render resolves partials with: the cache, and who wants to know
 * which templates the render read (NULL: nobody). */
struct render_env {
	template_cache *cache;
	void (*used)(void *ud, const char *name);
	void *used_ud;
};

static int
template_cache_resolve(void *ud, const char *name, template **out, char *err, size_t errsize)
{
	struct render_env *re = ud;
	int rc = template_cache_get(re->cache, name, out, err, errsize);
	if (rc == TEMPLATE_OK && re->used != NULL)
		re->used(re->used_ud, name);
	return rc;
}

int
template_cache_render(template_cache *cache, const char *name, json_t *data, unsigned flags,
                      template_buf *out, char *err, size_t errsize)
{
	return template_cache_render_used(cache, name, data, flags, out, err, errsize, NULL, NULL);
}

int
template_cache_render_used(template_cache *cache, const char *name, json_t *data, unsigned flags,
                           template_buf *out, char *err, size_t errsize,
                           void (*used)(void *ud, const char *name), void *used_ud)
{
	template *page, *layout = NULL;
	struct render_env re = {cache, used, used_ud};
	template_env env = {.resolve = template_cache_resolve, .ud = &re, .flags = flags};
	int found = template_cache_get(cache, name, &page, err, errsize);
	if (found != TEMPLATE_OK)
		return found; /* NOT_FOUND or ERROR, with its message */
	if (used != NULL)
		used(used_ud, name);
	if ((flags & TEMPLATE_LAYOUT) && strcmp(name, "layout.html") != 0 &&
	    template_cache_get(cache, "layout.html", &layout, err, errsize) == TEMPLATE_ERROR) {
		template_release(page);
		return TEMPLATE_ERROR;
	}
	if (layout != NULL && used != NULL)
		used(used_ud, "layout.html");
	int rc = template_render_with_layout(page, layout, data, &env, out, err, errsize);
	template_release(layout);
	template_release(page);
	return rc;
}
