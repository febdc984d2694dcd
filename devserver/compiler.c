/*
 * compiler.c -- libtcc: one handler file in, one relocated module out.
 *
 * Each handler file gets its own TCCState, so a module can be freed on its own
 * when its last request leaves. Handler code reaches the runtime only through
 * the symbols we hand to tcc_add_symbol (compiler_api.c lists them), which is
 * also why handlers cannot call into dev-server internals by accident.
 *
 * libtcc 0.9.27 keeps global state: the callers (reloader_*.c) hold
 * the reloader's lock around every call into this file.
 *
 * tcc reports "PATH:LINE: error: MSG" with no column. We turn each message
 * into gcc's "PATH:LINE:COL: error: MSG" followed by the source line and a
 * caret, so terminals and editors can jump to it. A missing token moves to
 * where gcc reports it, just past the token before (errline.c). Otherwise
 * the column is a best effort: the first quoted name of the message found on
 * that line, else the line's first non-blank character.
 */
#include <ctype.h>
#include <libtcc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/crash_exit.h"
#include "../runtime/ctx.h"
#include "compiler.h"
#include "errline.h"
#include "file.h"
#include "hcache.h"
#include "linkcheck.h"
#include "tcclines.h"

#define COMPILER_MSG_MAX (64 * 1024)

/* COT_HEADER_CACHE=0 turns the header cache off (to measure it, or if a
 * header ever misbehaves with it). */
bool compiler_header_cache = true;

typedef struct compiler_log {
	char *buf;
	size_t len;
} compiler_log;

/* ==== messages ========================================================= */

static void
compiler_on_error(void *opaque, const char *msg)
{
	compiler_log *log = opaque;
	size_t n = strlen(msg);
	if (log->len + n + 2 > COMPILER_MSG_MAX)
		return;
	char *nb = realloc(log->buf, log->len + n + 2);
	if (nb == NULL)
		return;
	log->buf = nb;
	memcpy(log->buf + log->len, msg, n);
	log->len += n;
	log->buf[log->len++] = '\n';
	log->buf[log->len] = '\0';
}

/* Returns line `lineno` (1-based) of file `path` in a malloc'd string, or NULL. */
static char *
compiler_source_line(const char *path, int lineno)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = 0;
	for (int i = 0; i < lineno && (n = getline(&line, &cap, f)) >= 0; i++)
		;
	fclose(f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

/* Best-effort 1-based column of the problem `msg` describes on `src`. */
int
compiler_guess_column(const char *src, const char *msg)
{
	const char *q = strpbrk(msg, "'\""); /* tcc quotes names with ', templates with " */
	if (q != NULL) {
		const char *end = strchr(q + 1, *q);
		if (end != NULL && end > q + 1) {
			char name[128];
			size_t n = (size_t)(end - q - 1);
			if (n < sizeof(name)) {
				memcpy(name, q + 1, n);
				name[n] = '\0';
				const char *hit = strstr(src, name);
				if (hit != NULL)
					return (int)(hit - src) + 1;
			}
		}
	}
	int col = 1;
	while (src[col - 1] == ' ' || src[col - 1] == '\t')
		col++;
	return src[col - 1] ? col : 1;
}

/* Appends printf output to a malloc'd growing string. */
static void
compiler_append(char **out, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	char *nb = realloc(*out, *len + (size_t)n + 1);
	if (nb == NULL)
		return;
	*out = nb;
	va_start(ap, fmt);
	vsnprintf(*out + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*len += (size_t)n;
}

/*
 * Rewrites one tcc message ("PATH:LINE: error: MSG") in gcc style with the
 * source line and a caret. Lines it does not recognise are kept verbatim.
 */
static void
compiler_format_line(char **out, size_t *len, const char *line)
{
	char path[512];
	int lineno = 0, consumed = 0;
	if (sscanf(line, "%511[^:]:%d: %n", path, &lineno, &consumed) != 2 || consumed == 0 ||
	    lineno <= 0) {
		compiler_append(out, len, "%s\n", line);
		return;
	}
	const char *rest = line + consumed;
	int col = 0;
	char *whole = file_read(path, NULL);
	int moved = errline_fix(whole, rest, &lineno, &col); /* where gcc would say */
	free(whole);
	char *src = compiler_source_line(path, lineno);
	if (col == 0)
		col = src ? compiler_guess_column(src, rest) : 1;
	compiler_append(out, len, "%s:%d:%d: %s%s\n", path, lineno, col, rest,
	                moved == 2 ? " (at the end of the file: is a '}' missing?)" : "");
	if (src != NULL) {
		compiler_append(out, len, "%5d | %s\n      | ", lineno, src);
		for (int i = 1; i < col; i++)
			compiler_append(out, len, "%c", src[i - 1] == '\t' ? '\t' : ' ');
		compiler_append(out, len, "^\n");
		free(src);
	}
}

/* Formats everything tcc said; returns a malloc'd string. */
char *
compiler_format(const char *raw)
{
	char *out = NULL;
	size_t len = 0;
	compiler_append(&out, &len, "%s", "");
	const char *p = raw;
	while (p != NULL && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, n);
		if (line != NULL && *line)
			compiler_format_line(&out, &len, line);
		free(line);
		p += n + (nl ? 1 : 0);
	}
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	return out;
}

/* ==== compiling ======================================================== */

/* Steps back from p over blanks (and newlines); returns the new position. */
static const char *
compiler_back_blanks(const char *src, const char *p)
{
	while (p > src && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n' || p[-1] == '\r'))
		p--;
	return p;
}

/* Whether the identifier ending at p (exclusive) is `name`. */
static bool
compiler_ident_before(const char *src, const char *p, const char *name)
{
	size_t n = strlen(name);
	return (size_t)(p - src) >= n && strncmp(p - n, name, n) == 0 &&
	       (p - (ptrdiff_t)n == src ||
	        !(isalnum((unsigned char)p[-(ptrdiff_t)n - 1]) || p[-(ptrdiff_t)n - 1] == '_'));
}

/*
 * Whether the pattern literal at p is the one of route r: written as
 * COT_<METHOD>("pattern", ...) or COT_ROUTE("METHOD", "pattern", ...), so
 * that GET /notes and POST /notes each get their own line.
 */
static bool
compiler_route_at(const char *src, const char *p, const cot_route *r)
{
	const char *q = compiler_back_blanks(src, p);
	char macro[64];
	if (q > src && q[-1] == '(') {
		snprintf(macro, sizeof(macro), "COT_%s", r->method);
		return compiler_ident_before(src, compiler_back_blanks(src, q - 1), macro);
	}
	if (q <= src || q[-1] != ',')
		return false;
	char lit[64];
	int n = snprintf(lit, sizeof(lit), "\"%s\"", r->method);
	q = compiler_back_blanks(src, q - 1);
	if (q - src < n || strncmp(q - n, lit, (size_t)n) != 0)
		return false;
	q = compiler_back_blanks(src, q - n);
	return q > src && q[-1] == '(' &&
	       compiler_ident_before(src, compiler_back_blanks(src, q - 1), "COT_ROUTE");
}

/*
 * Line of the route macro that declares r, searched in the source after
 * COT_ROUTES; 0 if not found (a route built by another macro).
 */
static int
compiler_route_line(const char *src, const cot_route *r)
{
	const char *start = strstr(src, "COT_ROUTES");
	char needle[512];
	snprintf(needle, sizeof(needle), "\"%s\"", r->pattern);
	for (const char *p = start ? start : src; (p = strstr(p, needle)) != NULL; p++) {
		if (!compiler_route_at(src, p, r))
			continue;
		int line = 1;
		for (const char *c = src; c < p; c++)
			line += *c == '\n';
		return line;
	}
	return 0;
}

/*
 * tcc expands __LINE__ inside the arguments of COT_ROUTES(...) to the line
 * of its closing parenthesis (gcc: each route's own line). Put the right
 * lines into the module's table -- it lives in memory we own -- so traces,
 * errors and `cotdev routes` name the route's own line.
 */
static void
compiler_fix_route_lines(const char *path, const char *src, const cot_module *t)
{
	char *own = t != NULL && src == NULL ? file_read(path, NULL) : NULL;
	if (src == NULL)
		src = own;
	for (int i = 0; src != NULL && t != NULL && i < t->nroutes; i++) {
		int line = compiler_route_line(src, &t->routes[i]);
		if (line > 0)
			((cot_route *)&t->routes[i])->line = line;
	}
	free(own);
}

static void
compiler_add_api(TCCState *s)
{
	/* the offload symbols are left to dlsym, where linkcheck.c sees the
	 * file use them */
	for (const compiler_symbol *sym = compiler_api; sym->name != NULL; sym++)
		if (linkcheck_offload_symbol(sym->name) == NULL)
			tcc_add_symbol(s, sym->name, sym->addr);
	/* exit() and its kin in handler code answer 500 instead (crash_exit.c) */
	for (const crash_exit_symbol *e = crash_exit_symbols; e->name != NULL; e++)
		tcc_add_symbol(s, e->name, e->addr);
}

/* Checks the module table tcc produced; writes a message into log on error. */
static int
compiler_check_table(const char *path, const cot_module *t, const cot_middleware *mw, bool shared,
                     compiler_log *log)
{
	char msg[512];
	if (t == NULL && mw == NULL && shared)
		return 0;
	if (t == NULL && mw == NULL) {
		snprintf(msg, sizeof(msg), "%s:1: error: no COT_ROUTES or COT_MIDDLEWARE found",
		         path);
	} else if (mw != NULL && mw->abi != COT_ABI) {
		snprintf(msg, sizeof(msg),
		         "%s:1: error: built against cot.h ABI %d, server "
		         "speaks %d",
		         path, mw->abi, COT_ABI);
	} else if (t == NULL) {
		return 0;
	} else if (t->abi != COT_ABI) {
		snprintf(msg, sizeof(msg),
		         "%s:1: error: built against cot.h ABI %d, server "
		         "speaks %d",
		         path, t->abi, COT_ABI);
	} else {
		for (int i = 0; i < t->nroutes; i++) {
			if (t->routes[i].handler == NULL || t->routes[i].method == NULL) {
				snprintf(msg, sizeof(msg), "%s:%d: error: route %d has no handler",
				         path, t->routes[i].line, i + 1);
				compiler_on_error(log, msg);
				return -1;
			}
		}
		return 0;
	}
	compiler_on_error(log, msg);
	return -1;
}

/*
 * The link check's errors replace tcc's "undefined symbol" lines, which
 * name neither the file nor the line.
 */
static void
compiler_use_link_errors(compiler_log *log, const linkcheck_scope *scope)
{
	compiler_log kept = {NULL, 0};
	const char *p = log->buf;
	while (p != NULL && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, n);
		if (line != NULL && strstr(line, "undefined symbol '") == NULL)
			compiler_on_error(&kept, line);
		free(line);
		p += n + (nl ? 1 : 0);
	}
	free(log->buf);
	*log = kept;
	compiler_on_error(log, scope->errors);
}

typedef struct compiler_exports_ctx {
	compiler_module *m;
	int cap;
	bool failed;
} compiler_exports_ctx;

static void
compiler_on_symbol(void *opaque, const char *name, const void *val)
{
	compiler_exports_ctx *x = opaque;
	compiler_module *m = x->m;
	const char *a = val, *code = m->code;
	/* its own code and data only: not libraries, API, or linker symbols */
	if (a < code || a >= code + m->size || strncmp(name, "__", 2) == 0 ||
	    strchr(name, '@') != NULL || !strcmp(name, "_etext") || !strcmp(name, "_edata") ||
	    !strcmp(name, "_end"))
		return;
	if (m->nexports == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		compiler_export *ne = realloc(m->exports, (size_t)x->cap * sizeof(*ne));
		if (ne == NULL) {
			x->failed = true;
			return;
		}
		m->exports = ne;
	}
	m->exports[m->nexports++] = (compiler_export){strdup(name), (void *)val};
}

static int
compiler_export_cmp(const void *a, const void *b)
{
	return strcmp(((const compiler_export *)a)->name, ((const compiler_export *)b)->name);
}

/* Lists the non-static symbols a shared module defines, sorted by name. */
static int
compiler_list_exports(TCCState *s, compiler_module *m, compiler_log *log)
{
	compiler_exports_ctx x = {m, 0, false};
	tcc_list_symbols(s, &x, compiler_on_symbol);
	if (x.failed) {
		compiler_on_error(log, "tcc: error: out of memory listing symbols");
		return -1;
	}
	if (m->nexports > 0)
		qsort(m->exports, (size_t)m->nexports, sizeof(*m->exports), compiler_export_cmp);
	return 0;
}

/* The address of `name` in shared module m, or NULL. */
void *
compiler_find_export(const compiler_module *m, const char *name)
{
	compiler_export key = {(char *)name, NULL};
	const compiler_export *e = m->nexports == 0 ? NULL
	                                            : bsearch(&key, m->exports, (size_t)m->nexports,
	                                                      sizeof(key), compiler_export_cmp);
	return e != NULL ? e->addr : NULL;
}

/*
 * Compiles `path` (relative to the app directory, the current directory)
 * into memory we own, with a line table for traces (-g costs nothing
 * measurable here: docs/tcc-debug.md). On success returns 0 and fills *out;
 * the TCCState is already gone. On failure returns -1 and a malloc'd
 * gcc-style message in *error. Caller holds the reloader lock.
 */
int
compiler_compile(const char *path, const compiler_options *opt, compiler_module *out, char **error)
{
	compiler_log log = {NULL, 0};
	TCCState *s = tcc_new();
	memset(out, 0, sizeof(*out));
	*error = NULL;
	if (s == NULL) {
		*error = strdup("tcc_new failed: out of memory");
		return -1;
	}
	tcc_set_error_func(s, &log, compiler_on_error);
	tcc_set_options(s, "-g");
	if (opt->options != NULL)
		tcc_set_options(s, opt->options);
	const char *stubs = NULL, *flat = compiler_header_cache
	                                          ? hcache_header(path, opt->src, opt->include_dir,
	                                                          opt->cflags, &stubs)
	                                          : NULL;
	if (flat != NULL) { /* its system headers, preprocessed once (hcache.c) */
		char inc[400];
		snprintf(inc, sizeof(inc), "-include %s", flat);
		tcc_set_options(s, inc);
		tcc_add_include_path(s, stubs); /* first: before any other -I */
	}
	if (opt->cflags != NULL && *opt->cflags)
		tcc_set_options(s, opt->cflags);
	tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
	tcc_add_include_path(s, opt->include_dir);
	tcc_add_include_path(s, "lib"); /* #include "util.h" finds lib/util.h */
	compiler_add_api(s);
	int ok = tcc_add_file(s, path) == 0;
	if (ok) {
		if (opt->scope != NULL)
			linkcheck_enter(opt->scope);
		linkcheck_offload_reset();
		out->code = tcclines_relocate(s, &out->size);
		out->offload = linkcheck_offload_seen();
		linkcheck_leave();
		ok = out->code != NULL && (opt->scope == NULL || opt->scope->nerrors == 0);
		if (opt->scope != NULL && opt->scope->nerrors > 0)
			compiler_use_link_errors(&log, opt->scope);
	}
	if (ok && opt->shared)
		ok = compiler_list_exports(s, out, &log) == 0;
	if (ok) {
		out->table = tcc_get_symbol(s, COMPILER_TABLE_SYMBOL);
		out->middleware = tcc_get_symbol(s, COMPILER_MIDDLEWARE_SYMBOL);
		ok = compiler_check_table(path, out->table, out->middleware, opt->shared, &log) ==
		     0;
	}
	if (ok) {
		out->lines = tcclines_build(s, out->code, out->size);
		compiler_fix_route_lines(path, opt->src, out->table);
	}
	tcc_delete(s);
	if (!ok) {
		*error = compiler_format(log.buf ? log.buf : "tcc: error: compile failed");
		free(log.buf);
		compiler_module_free(out);
		return -1;
	}
	free(log.buf); /* warnings of a good compile are not shown */
	return 0;
}

/* Frees what compiler_compile made; only when no request runs the code. */
void
compiler_module_free(compiler_module *m)
{
	tcclines_free(m->lines);
	for (int i = 0; i < m->nexports; i++)
		free(m->exports[i].name);
	free(m->exports);
	if (m->code != NULL)
		tcclines_unmap(m->code, m->size);
	memset(m, 0, sizeof(*m));
}
