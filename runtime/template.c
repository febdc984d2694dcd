/*
 * template.c -- mustache: parse once, render many times.
 *
 * Compiled form. A template is a flat array of nodes: text, escaped or raw
 * variable, section, inverted section, partial. A section node records the
 * index one past its last child (`end`), so rendering a section is a loop
 * over a slice of the same array and skipping one is a jump -- no tree, no
 * per-node allocations beyond names. Text nodes point into the template's
 * own copy of the source. Comments and set-delimiter tags leave no node: the
 * parser applies them and moves on.
 *
 * Standalone lines. The spec removes a line that holds only whitespace and one
 * section, inverted, close, comment, partial or delimiter tag. The parser
 * decides this while scanning (it knows where the current line began and
 * whether another tag is on it), trims the leading whitespace from the text
 * node before the tag and skips the newline after it. For a standalone
 * partial that whitespace becomes the partial's indent.
 *
 * Partial indentation is applied at render time, not by re-parsing: the
 * renderer keeps the current indent and an "at line start" flag; static text
 * after a newline, or a value at line start, is prefixed with the indent.
 * This indents the partial's template lines but not newlines inside
 * interpolated data, exactly as the spec's "Standalone Indentation" demands.
 *
 * Immutability and threads. A parsed template never changes; its reference
 * count is atomic, so any thread may render a template it holds a reference
 * to. The cache of templates by name (templates/ on disk, or embedded copies)
 * lives in template_cache.c and uses only the API in template.h plus
 * template_errorf (template_internal.h).
 */
#include "template.h"
#include "html.h"
#include "template_internal.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DELIM         16
#define MAX_PARTIAL_DEPTH 64

enum node_type { NODE_TEXT, NODE_ESCAPED, NODE_RAW, NODE_SECTION, NODE_INVERTED, NODE_PARTIAL };

struct node {
	enum node_type type;
	int line;         /* line of the tag, for errors */
	size_t end;       /* sections: index of the first node after the section */
	const char *text; /* text nodes: a slice of template.src */
	size_t len;
	char *name;   /* tags: the (trimmed) name, owned */
	char *indent; /* standalone partials: the line's leading whitespace */
};

struct template
{
	atomic_int refs;
	char *name;
	char *src;
	struct node *nodes;
	size_t count, cap;
};

/* ---------------------------------------------------------------- buffers */

static int
template_buf_append(template_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *data = realloc(b->data, cap);
		if (data == NULL)
			return -1;
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void
template_buf_free(template_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

/* Format "NAME:LINE: message" into err (no line when line is 0). Returns -1
 * for the caller to pass on. template_cache.c uses it too (template_internal.h). */
int
template_errorf(char *err, size_t errsize, const char *name, int line, const char *fmt, ...)
{
	if (err == NULL || errsize == 0)
		return -1;
	int n = line > 0 ? snprintf(err, errsize, "%s:%d: ", name, line)
	                 : snprintf(err, errsize, "%s: ", name);
	if (n >= 0 && (size_t)n < errsize) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, errsize - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ------------------------------------------------------------ templates */

template *
template_retain(template *t)
{
	atomic_fetch_add(&t->refs, 1);
	return t;
}

void
template_release(template *t)
{
	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (size_t i = 0; i < t->count; i++) {
		free(t->nodes[i].name);
		free(t->nodes[i].indent);
	}
	free(t->nodes);
	free(t->src);
	free(t->name);
	free(t);
}

/* --------------------------------------------------------------- parser */

struct tag {
	char kind;        /* '#' '^' '/' '!' '>' '=' '&' '{' or 'n' (name) */
	const char *name; /* trimmed content after the sigil */
	size_t name_len;
	const char *end;    /* one past the close delimiter */
	const char *indent; /* standalone: the line's leading whitespace */
	size_t indent_len;
	bool standalone;
};

struct parser {
	template *t;
	const char *p, *end;
	const char *line_start; /* where the current source line begins */
	bool line_has_tag;      /* a tag already sits on the current line */
	int line;
	char open[MAX_DELIM + 1], close[MAX_DELIM + 2];
	size_t open_len, close_len;
	size_t *stack; /* indexes of open section nodes */
	size_t depth, stack_cap;
	char *err;
	size_t errsize;
};

#define parse_error(ps, line, ...)                                                                 \
	template_errorf((ps)->err, (ps)->errsize, (ps)->t->name, (line), __VA_ARGS__)

static struct node *
template_add_node(struct parser *ps, enum node_type type, int line)
{
	template *t = ps->t;
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct node *nodes = realloc(t->nodes, cap * sizeof *nodes);
		if (nodes == NULL)
			return NULL;
		t->nodes = nodes;
		t->cap = cap;
	}
	struct node *n = &t->nodes[t->count++];
	memset(n, 0, sizeof *n);
	n->type = type;
	n->line = line;
	return n;
}

static int
template_add_text(struct parser *ps, const char *from, const char *to)
{
	if (to <= from)
		return 0;
	struct node *n = template_add_node(ps, NODE_TEXT, ps->line);
	if (n == NULL)
		return parse_error(ps, 0, "out of memory");
	n->text = from;
	n->len = to - from;
	return 0;
}

/* Account for the literal text [from, to): line numbers and line start. */
static void
template_track_lines(struct parser *ps, const char *from, const char *to)
{
	for (const char *s = from; s < to; s++) {
		if (*s == '\n') {
			ps->line++;
			ps->line_start = s + 1;
			ps->line_has_tag = false;
		}
	}
}

static bool
template_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
template_trim(const char **s, size_t *len)
{
	while (*len > 0 && (template_is_blank(**s) || **s == '\n' || **s == '\r'))
		(*s)++, (*len)--;
	while (*len > 0 && (template_is_blank((*s)[*len - 1]) || (*s)[*len - 1] == '\n' ||
	                    (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* Read the tag whose open delimiter starts at q: its kind, name and end. */
static int
template_scan_tag(struct parser *ps, const char *q, struct tag *tag)
{
	const char *s = q + ps->open_len;
	char close[MAX_DELIM + 2];
	size_t close_len = ps->close_len;

	memset(tag, 0, sizeof *tag);
	tag->kind = 'n';
	if (s < ps->end && *s != '\0' && strchr("#^/!>=&{", *s) != NULL)
		tag->kind = *s++;
	memcpy(close, ps->close, close_len + 1);
	if (tag->kind == '{') { /* {{{name}}}: the close is "}" + delimiter */
		close[0] = '}';
		memcpy(close + 1, ps->close, close_len + 1);
		close_len++;
	}
	const char *e = memmem(s, ps->end - s, close, close_len);
	if (e == NULL)
		return parse_error(ps, ps->line, "unclosed tag \"%s\"", ps->open);
	tag->end = e + close_len;
	if (tag->kind == '=') {
		if (e == s || e[-1] != '=')
			return parse_error(ps, ps->line, "bad set-delimiter tag");
		e--;
	}
	tag->name = s;
	tag->name_len = e - s;
	template_trim(&tag->name, &tag->name_len);
	return 0;
}

/* Is the tag at q alone on its line? If so, set *next past its newline. */
static bool
template_standalone(struct parser *ps, const char *q, const char *tag_end, const char **next)
{
	if (ps->line_has_tag)
		return false;
	for (const char *s = ps->line_start; s < q; s++)
		if (!template_is_blank(*s))
			return false;
	const char *s = tag_end;
	while (s < ps->end && template_is_blank(*s))
		s++;
	if (s == ps->end)
		*next = s;
	else if (*s == '\n')
		*next = s + 1;
	else if (*s == '\r' && s + 1 < ps->end && s[1] == '\n')
		*next = s + 2;
	else
		return false;
	return true;
}

/* Apply {{=<% %>=}}: the content is two delimiters separated by whitespace. */
static int
template_set_delimiters(struct parser *ps, const struct tag *tag, int line)
{
	const char *s = tag->name, *e = s + tag->name_len;
	const char *a = s;
	while (a < e && !template_is_blank(*a))
		a++;
	const char *b = a;
	while (b < e && template_is_blank(*b))
		b++;
	size_t open_len = a - s, close_len = e - b;
	if (open_len == 0 || close_len == 0 || open_len > MAX_DELIM || close_len > MAX_DELIM ||
	    memchr(s, '=', open_len) != NULL || memchr(b, '=', close_len) != NULL)
		return parse_error(ps, line, "bad set-delimiter tag");
	for (const char *c = b; c < e; c++)
		if (template_is_blank(*c))
			return parse_error(ps, line, "bad set-delimiter tag");
	memcpy(ps->open, s, open_len);
	ps->open[open_len] = '\0';
	ps->open_len = open_len;
	memcpy(ps->close, b, close_len);
	ps->close[close_len] = '\0';
	ps->close_len = close_len;
	return 0;
}

/* Open a section: a node plus an entry on the stack of open sections. */
static int
template_open_section(struct parser *ps, struct node *n)
{
	if (ps->depth == ps->stack_cap) {
		size_t cap = ps->stack_cap ? ps->stack_cap * 2 : 8;
		size_t *stack = realloc(ps->stack, cap * sizeof *stack);
		if (stack == NULL)
			return parse_error(ps, 0, "out of memory");
		ps->stack = stack;
		ps->stack_cap = cap;
	}
	ps->stack[ps->depth++] = n - ps->t->nodes;
	return 0;
}

static int
template_close_section(struct parser *ps, const char *name, int line)
{
	if (ps->depth == 0)
		return parse_error(ps, line, "closing tag \"%s\" has no open section", name);
	struct node *open = &ps->t->nodes[ps->stack[ps->depth - 1]];
	if (strcmp(open->name, name) != 0)
		return parse_error(ps, line,
		                   "closing tag \"%s\" does not match section "
		                   "\"%s\" opened on line %d",
		                   name, open->name, open->line);
	open->end = ps->t->count;
	ps->depth--;
	return 0;
}

/* Turn one scanned tag into nodes (or delimiter changes). */
static int
template_apply_tag(struct parser *ps, const struct tag *tag, int line)
{
	static const enum node_type types[] = {
	        ['n'] = NODE_ESCAPED, ['&'] = NODE_RAW,      ['{'] = NODE_RAW,
	        ['#'] = NODE_SECTION, ['^'] = NODE_INVERTED, ['>'] = NODE_PARTIAL,
	};
	if (tag->kind == '!')
		return 0;
	if (tag->kind == '=')
		return template_set_delimiters(ps, tag, line);
	if (tag->name_len == 0)
		return parse_error(ps, line, "empty tag name");
	char *name = strndup(tag->name, tag->name_len);
	if (name == NULL)
		return parse_error(ps, 0, "out of memory");
	if (tag->kind == '/') {
		int rc = template_close_section(ps, name, line);
		free(name);
		return rc;
	}
	struct node *n = template_add_node(ps, types[(unsigned char)tag->kind], line);
	if (n == NULL) {
		free(name);
		return parse_error(ps, 0, "out of memory");
	}
	n->name = name;
	if (tag->kind == '>' && tag->standalone && tag->indent_len > 0) {
		n->indent = strndup(tag->indent, tag->indent_len);
		if (n->indent == NULL)
			return parse_error(ps, 0, "out of memory");
	}
	if (tag->kind == '#' || tag->kind == '^')
		return template_open_section(ps, n);
	return 0;
}

/* Scan the whole source: literal text, then a tag, until the end. */
static int
template_parse_all(struct parser *ps)
{
	while (ps->p < ps->end) {
		const char *q = memmem(ps->p, ps->end - ps->p, ps->open, ps->open_len);
		if (q == NULL) {
			template_track_lines(ps, ps->p, ps->end);
			return template_add_text(ps, ps->p, ps->end);
		}
		template_track_lines(ps, ps->p, q);
		struct tag tag;
		int line = ps->line;
		if (template_scan_tag(ps, q, &tag) < 0)
			return -1;
		const char *text_end = q, *next = tag.end;
		if (strchr("#^/!>=", tag.kind) != NULL &&
		    template_standalone(ps, q, tag.end, &next)) {
			tag.standalone = true;
			tag.indent = ps->line_start;
			tag.indent_len = q - ps->line_start;
			text_end = ps->line_start;
		}
		if (template_add_text(ps, ps->p, text_end) < 0)
			return -1;
		template_track_lines(ps, q, next); /* newlines inside the tag and after it */
		ps->line_has_tag = !tag.standalone;
		ps->p = next;
		if (template_apply_tag(ps, &tag, line) < 0)
			return -1;
	}
	return 0;
}

template *
template_parse(const char *name, const char *src, size_t len, char *err, size_t errsize)
{
	template *t = calloc(1, sizeof *t);
	if (t == NULL || (t->name = strdup(name)) == NULL || (t->src = malloc(len + 1)) == NULL) {
		template_errorf(err, errsize, name, 0, "out of memory");
		template_release(t);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	memcpy(t->src, src, len);
	t->src[len] = '\0';

	struct parser ps = {
	        .t = t,
	        .p = t->src,
	        .end = t->src + len,
	        .line_start = t->src,
	        .line = 1,
	        .open = "{{",
	        .close = "}}",
	        .open_len = 2,
	        .close_len = 2,
	        .err = err,
	        .errsize = errsize,
	};
	int rc = template_parse_all(&ps);
	if (rc == 0 && ps.depth > 0) {
		struct node *open = &t->nodes[ps.stack[ps.depth - 1]];
		rc = parse_error(&ps, open->line, "unclosed section \"%s\"", open->name);
	}
	free(ps.stack);
	if (rc < 0) {
		template_release(t);
		return NULL;
	}
	return t;
}

/* ------------------------------------------------------------- renderer */

struct render {
	const template_env *env;
	template_buf *out;
	char *err;
	size_t errsize;
	json_t **stack; /* the context stack; the top is the innermost */
	size_t depth, cap;
	char *indent; /* prefix for each line of the current partial */
	size_t indent_len;
	bool at_line_start;
	int partial_depth;
};

static int template_render_nodes(struct render *r, const template *t, size_t from, size_t to);

static int
template_oom(struct render *r, const template *t)
{
	return template_errorf(r->err, r->errsize, t->name, 0, "out of memory");
}

static int
template_push(struct render *r, json_t *v)
{
	if (r->depth == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		json_t **stack = realloc(r->stack, cap * sizeof *stack);
		if (stack == NULL)
			return -1;
		r->stack = stack;
		r->cap = cap;
	}
	r->stack[r->depth++] = v;
	return 0;
}

/* Resolve a (dotted) name: the first part walks the context stack from the
 * top, the rest must follow from the value found there. NULL: a miss. */
static json_t *
template_lookup(const struct render *r, const char *name)
{
	if (strcmp(name, ".") == 0)
		return r->depth ? r->stack[r->depth - 1] : NULL;
	size_t len = strcspn(name, ".");
	json_t *v = NULL;
	for (size_t d = r->depth; d-- > 0 && v == NULL;)
		if (json_is_object(r->stack[d]))
			v = json_object_getn(r->stack[d], name, len);
	while (v != NULL && name[len] == '.') {
		name += len + 1;
		len = strcspn(name, ".");
		v = json_is_object(v) ? json_object_getn(v, name, len) : NULL;
	}
	return v;
}

static bool
template_falsey(const json_t *v)
{
	return v == NULL || json_is_null(v) || json_is_false(v) ||
	       (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_string(v) && json_string_length(v) == 0);
}

/* Write the indent if a new line of the current partial starts here. */
static int
template_emit_indent(struct render *r)
{
	bool at_start = r->at_line_start;
	r->at_line_start = false;
	if (at_start && r->indent_len > 0)
		return template_buf_append(r->out, r->indent, r->indent_len);
	return 0;
}

static int
template_emit_text(struct render *r, const char *s, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(s, '\n', len);
		size_t chunk = nl ? (size_t)(nl - s) + 1 : len;
		if (template_emit_indent(r) < 0 || template_buf_append(r->out, s, chunk) < 0)
			return -1;
		r->at_line_start = nl != NULL;
		s += chunk;
		len -= chunk;
	}
	return 0;
}

static int
template_emit_escaped(template_buf *out, const char *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		const char *rep = html_entity(s[i]);
		if (rep == NULL)
			continue;
		if (template_buf_append(out, s + start, i - start) < 0 ||
		    template_buf_append(out, rep, strlen(rep)) < 0)
			return -1;
		start = i + 1;
	}
	return template_buf_append(out, s + start, len - start);
}

/* The text of a scalar: strings as they are, numbers in their shortest
 * round-trip form, booleans as true/false; null, objects and arrays as "". */
static const char *
template_scalar_text(const json_t *v, char *tmp, size_t tmpsize, size_t *len)
{
	const char *s = tmp;
	tmp[0] = '\0';
	if (json_is_string(v)) {
		*len = json_string_length(v);
		return json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(tmp, tmpsize, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(tmp, tmpsize, "%.*g", prec, d);
			if (strtod(tmp, NULL) == d)
				break;
		}
	} else if (json_is_boolean(v)) {
		s = json_is_true(v) ? "true" : "false";
	}
	*len = strlen(s);
	return s;
}

static int
template_render_value(struct render *r, const template *t, const struct node *n)
{
	char tmp[64];
	size_t len;
	json_t *v = template_lookup(r, n->name);
	if (template_emit_indent(r) < 0)
		return template_oom(r, t);
	if (v == NULL)
		return 0;
	const char *s = template_scalar_text(v, tmp, sizeof tmp, &len);
	int rc = n->type == NODE_ESCAPED ? template_emit_escaped(r->out, s, len)
	                                 : template_buf_append(r->out, s, len);
	return rc < 0 ? template_oom(r, t) : 0;
}

/* Render the children of section node i once per list item, or once. */
static int
template_render_section(struct render *r, const template *t, size_t i)
{
	const struct node *n = &t->nodes[i];
	json_t *v = template_lookup(r, n->name);
	if (n->type == NODE_INVERTED)
		return template_falsey(v) ? template_render_nodes(r, t, i + 1, n->end) : 0;
	if (template_falsey(v))
		return 0;
	size_t count = json_is_array(v) ? json_array_size(v) : 1;
	for (size_t k = 0; k < count; k++) {
		if (template_push(r, json_is_array(v) ? json_array_get(v, k) : v) < 0)
			return template_oom(r, t);
		int rc = template_render_nodes(r, t, i + 1, n->end);
		r->depth--;
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Resolve and render a partial with the current context stack. */
static int
template_render_partial(struct render *r, const template *t, const struct node *n)
{
	template *p = NULL;
	const template_env *env = r->env;
	int rc = TEMPLATE_NOT_FOUND;
	if (env != NULL && env->resolve != NULL)
		rc = env->resolve(env->ud, n->name, &p, r->err, r->errsize);
	if (rc == TEMPLATE_ERROR)
		return -1;
	if (rc == TEMPLATE_NOT_FOUND) {
		if (env != NULL && (env->flags & TEMPLATE_STRICT))
			return template_errorf(r->err, r->errsize, t->name, n->line,
			                       "unknown partial \"%s\"", n->name);
		return 0;
	}
	if (r->partial_depth >= MAX_PARTIAL_DEPTH) {
		template_release(p);
		return template_errorf(r->err, r->errsize, t->name, n->line,
		                       "partials nested deeper than %d", MAX_PARTIAL_DEPTH);
	}
	char *saved = r->indent;
	size_t saved_len = r->indent_len;
	if (n->indent != NULL) {
		size_t len = strlen(n->indent);
		char *indent = malloc(saved_len + len + 1);
		if (indent == NULL) {
			template_release(p);
			return template_oom(r, t);
		}
		if (saved_len > 0)
			memcpy(indent, saved, saved_len);
		memcpy(indent + saved_len, n->indent, len + 1);
		r->indent = indent;
		r->indent_len = saved_len + len;
		r->at_line_start = true;
	}
	r->partial_depth++;
	rc = template_render_nodes(r, p, 0, p->count);
	r->partial_depth--;
	if (r->indent != saved)
		free(r->indent);
	r->indent = saved;
	r->indent_len = saved_len;
	template_release(p);
	return rc;
}

static int
template_render_nodes(struct render *r, const template *t, size_t from, size_t to)
{
	size_t i = from;
	while (i < to) {
		const struct node *n = &t->nodes[i];
		int rc = 0;
		switch (n->type) {
		case NODE_TEXT:
			rc = template_emit_text(r, n->text, n->len) < 0 ? template_oom(r, t) : 0;
			break;
		case NODE_ESCAPED:
		case NODE_RAW:
			rc = template_render_value(r, t, n);
			break;
		case NODE_SECTION:
		case NODE_INVERTED:
			rc = template_render_section(r, t, i);
			i = n->end - 1;
			break;
		case NODE_PARTIAL:
			rc = template_render_partial(r, t, n);
			break;
		}
		if (rc < 0)
			return -1;
		i++;
	}
	return 0;
}

/* Render with frames[0..nframes) as the bottom of the context stack. */
static int
template_render_frames(const template *t, json_t **frames, size_t nframes, const template_env *env,
                       template_buf *out, char *err, size_t errsize)
{
	struct render r = {.env = env, .out = out, .err = err, .errsize = errsize};
	int rc = 0;
	for (size_t i = 0; i < nframes && rc == 0; i++)
		if (frames[i] != NULL && template_push(&r, frames[i]) < 0)
			rc = template_oom(&r, t);
	if (rc == 0)
		rc = template_render_nodes(&r, t, 0, t->count);
	if (rc == 0 && template_buf_append(out, "", 0) < 0) /* always NUL-terminated */
		rc = template_oom(&r, t);
	free(r.stack);
	return rc;
}

int
template_render(const template *t, json_t *data, const template_env *env, template_buf *out,
                char *err, size_t errsize)
{
	return template_render_frames(t, &data, 1, env, out, err, errsize);
}

int
template_render_with_layout(const template *page, const template *layout, json_t *data,
                            const template_env *env, template_buf *out, char *err, size_t errsize)
{
	if (layout == NULL)
		return template_render(page, data, env, out, err, errsize);
	template_buf body = {0};
	int rc = template_render(page, data, env, &body, err, errsize);
	json_t *frame = rc == 0 ? json_object() : NULL;
	if (rc == 0 &&
	    (frame == NULL ||
	     json_object_set_new(frame, "content", json_stringn_nocheck(body.data, body.len)) < 0))
		rc = template_errorf(err, errsize, layout->name, 0, "out of memory");
	if (rc == 0)
		rc = template_render_frames(layout, (json_t *[]){data, frame}, 2, env, out, err,
		                            errsize);
	json_decref(frame);
	template_buf_free(&body);
	return rc;
}
