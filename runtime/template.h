/*
 * template.h -- mustache templates over jansson values.
 *
 * A template is parsed once (template_parse) into an immutable, reference-
 * counted compiled form and rendered many times (template_render) against a
 * json_t. Output is HTML-escaped by default: {{name}} escapes & < > " ' ;
 * {{{name}}} and {{& name}} are raw. Sections, inverted sections, comments,
 * set-delimiter, partials (with the spec's standalone indentation), dotted
 * names, {{.}} and context-stack lookup follow the mustache spec (v1.x, no
 * lambdas). Falsey section values: missing, null, false, [] and "".
 *
 * Errors are one line, "NAME:LINE: message", e.g.
 *   templates/note.html:12: unclosed section "notes"
 *
 * A template_cache maps names ("note.html") to templates read from a
 * directory ("templates/") or embedded strings (production export).
 *
 * Layout convention: template_cache_render with TEMPLATE_LAYOUT renders the
 * page, then, if the cache has "layout.html", renders it with the page's HTML
 * in {{{content}}} and the page's data underneath (the layout sees every key
 * of the data, plus "content", which shadows a data key of the same name).
 * Without a layout.html, the page is the whole response.
 *
 * Thread-safety rule: a template is immutable after template_parse and its
 * reference count is atomic, so any thread may render any template it holds a
 * reference to. Every template_cache_* function except new/free may be called
 * from any thread at any time; the cache takes an internal rwlock, and a
 * reference returned by template_cache_get stays valid (and unchanged) after
 * the file is reparsed -- the old parse is freed when its last user releases
 * it. template_cache_free only when no other thread uses the cache.
 *
 * Memory: rendered output goes into a caller-owned template_buf; the caller
 * frees buf.data with free() (or copies it into its request arena first).
 */
#ifndef COT_TEMPLATE_H
#define COT_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

typedef struct template template;
typedef struct template_cache template_cache;

/* Growable output buffer. Start with {0}; data is NUL-terminated after every
 * successful render and belongs to the caller (free(buf.data)). Renders
 * append, so one buffer can collect several renders. */
typedef struct template_buf {
	char *data;
	size_t len;
	size_t cap;
} template_buf;

/* Return codes of resolvers and template_cache_get. */
enum {
	TEMPLATE_OK = 0,
	TEMPLATE_NOT_FOUND = 1,
	TEMPLATE_ERROR = -1,
};

/* Render flags. */
enum {
	TEMPLATE_STRICT = 1 << 0, /* an unknown partial is an error (spec: "") */
	TEMPLATE_LAYOUT = 1 << 1, /* template_cache_render: wrap in layout.html */
};

/* Find a partial by name. Returns TEMPLATE_OK with a new reference in *out
 * (the renderer releases it), TEMPLATE_NOT_FOUND, or TEMPLATE_ERROR with a
 * message in err (e.g. the partial's own parse error). Called during render,
 * on the rendering thread. */
typedef int (*template_resolve_fn)(void *ud, const char *name, template **out, char *err,
                                   size_t errsize);

/* How to render: where partials come from, and TEMPLATE_* flags. */
typedef struct template_env {
	template_resolve_fn resolve; /* NULL: no partials exist */
	void *ud;
	unsigned flags;
} template_env;

/* Parse src[0..len) into a template with one reference. name is used in error
 * messages ("templates/note.html"); both are copied. NULL on error, with
 * "NAME:LINE: message" in err. */
template *template_parse(const char *name, const char *src, size_t len, char *err, size_t errsize);

/* Take another reference; returns t. */
template *template_retain(template *t);

/* Drop a reference; the last one frees the template. NULL is ignored. */
void template_release(template *t);

/* Render t with data (any json_t, NULL = empty) as the root context, appending
 * to out. env may be NULL (no partials, not strict). Returns 0, or -1 with
 * "NAME:LINE: message" in err (out then holds a partial render; still free
 * it). data is only read. */
int template_render(const template *t, json_t *data, const template_env *env, template_buf *out,
                    char *err, size_t errsize);

/* The layout convention in one call: render page with data, then layout with
 * the page's HTML as "content" on top of data (use {{{content}}}). layout
 * NULL: the page alone. Returns like template_render. */
int template_render_with_layout(const template *page, const template *layout, json_t *data,
                                const template_env *env, template_buf *out, char *err,
                                size_t errsize);

/* Free buf->data and reset it to {0}. */
void template_buf_free(template_buf *buf);

/* A cache reading dir/NAME files (dir may be NULL: embedded templates only).
 * label prefixes names in error messages ("templates" gives
 * "templates/note.html:3: ..."); NULL means use dir. NULL on out of memory. */
template_cache *template_cache_new(const char *dir, const char *label);

/* Free the cache and drop its references. No other thread may use it. */
void template_cache_free(template_cache *cache);

/* Add (or replace) template name from an embedded string, as exported
 * binaries do. An embedded name never looks at the file system. Returns 0, or
 * -1 with the parse error in err. */
int template_cache_add_embedded(template_cache *cache, const char *name, const char *src, char *err,
                                size_t errsize);

/* Look up name: embedded first, then dir/name. In file mode the file is
 * stat()ed on every call and reparsed only when its mtime, size or content
 * changed. Returns TEMPLATE_OK with a new reference in *out (release it),
 * TEMPLATE_NOT_FOUND or TEMPLATE_ERROR, with a message in err for both.
 * Names must be relative and must not contain ".." components. */
int template_cache_get(template_cache *cache, const char *name, template **out, char *err,
                       size_t errsize);

/* Render cache's template name with data into out, resolving partials from
 * the same cache. flags: TEMPLATE_STRICT, TEMPLATE_LAYOUT (see the layout
 * convention above). Returns TEMPLATE_OK; TEMPLATE_NOT_FOUND when there is
 * no template `name`; or TEMPLATE_ERROR with "NAME:LINE: message" in err. */
int template_cache_render(template_cache *cache, const char *name, json_t *data, unsigned flags,
                          template_buf *out, char *err, size_t errsize);

/* template_cache_render that also calls used(used_ud, NAME) for each template
 * it read -- the page, the layout, every partial (a name may come more than
 * once) -- so the dev server can tell which saved files concern a page. */
int template_cache_render_used(template_cache *cache, const char *name, json_t *data,
                               unsigned flags, template_buf *out, char *err, size_t errsize,
                               void (*used)(void *ud, const char *name), void *used_ud);

#endif
