/*
 * ctx.c -- the request context: its arena and the request accessors.
 *
 * Every byte a request needs (decoded path segments, parameters, formatted
 * bodies) comes from one arena that dies with the request, which is why the
 * handler API never asks anyone to free anything. The arena starts with a
 * buffer inside the context itself, so a small request does no malloc at all;
 * larger needs chain heap chunks.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "form.h"
#include "internal.h"

struct arena_chunk {
	arena_chunk *next;
	size_t used, cap;
	char data[];
};

#define ARENA_ALIGN 16
#define ARENA_CHUNK_MIN 8192

/* ==== arena ============================================================ */

void
arena_init(arena *a)
{
	a->head = NULL;
	a->inline_used = 0;
}

static size_t
arena_round(size_t n)
{
	return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

/* Returns zeroed memory owned by the arena; aborts only when malloc fails. */
void *
arena_alloc(arena *a, size_t size)
{
	size_t need = arena_round(size ? size : 1);
	if (a->head == NULL && a->inline_used + need <= sizeof(a->inline_buf)) {
		void *p = a->inline_buf + a->inline_used;
		a->inline_used += need;
		memset(p, 0, size);
		return p;
	}
	if (a->head == NULL || a->head->used + need > a->head->cap) {
		size_t cap = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
		arena_chunk *ch = malloc(sizeof(*ch) + cap);
		if (ch == NULL) {
			fprintf(stderr, "cot: out of memory (%zu bytes)\n", cap);
			abort();
		}
		ch->next = a->head;
		ch->used = 0;
		ch->cap = cap;
		a->head = ch;
	}
	void *p = a->head->data + a->head->used;
	a->head->used += need;
	memset(p, 0, size);
	return p;
}

char *
arena_strndup(arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
arena_strdup(arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

/*
 * printf into the arena. Formats straight into the arena's free space and
 * only formats a second time when that was too small: handlers call this
 * for every response, and one pass is half the cost of two. The common
 * formats (%s, %d, ...) take format_fast instead of vsnprintf.
 */
char *
arena_vprintf(arena *a, const char *fmt, va_list ap)
{
	char *room = NULL;
	size_t avail = 0;
	if (a->head == NULL && a->inline_used < sizeof(a->inline_buf)) {
		room = a->inline_buf + a->inline_used;
		avail = sizeof(a->inline_buf) - a->inline_used;
	} else if (a->head != NULL && a->head->used < a->head->cap) {
		room = a->head->data + a->head->used;
		avail = a->head->cap - a->head->used;
	}
	int n = room != NULL ? format_fast(room, avail, fmt, ap) : -1;
	if (n < 0) { /* a format it does not handle, or no room: printf proper */
		va_list ap2;
		va_copy(ap2, ap);
		n = vsnprintf(room, avail, fmt, ap2);
		va_end(ap2);
	}
	if (n < 0)
		return arena_strdup(a, "");
	if ((size_t)n < avail) {
		size_t need = arena_round((size_t)n + 1);
		if (need <= avail) { /* it fit: claim what was written, in place */
			if (a->head == NULL)
				a->inline_used += need;
			else
				a->head->used += need;
			return room;
		}
		char *buf = arena_alloc(a, (size_t)n + 1); /* elsewhere: room is intact */
		return memcpy(buf, room, (size_t)n + 1);
	}
	char *buf = arena_alloc(a, (size_t)n + 1);
	vsnprintf(buf, (size_t)n + 1, fmt, ap);
	return buf;
}

char *
arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s;
}

void
arena_free(arena *a)
{
	arena_chunk *ch = a->head;
	while (ch != NULL) {
		arena_chunk *next = ch->next;
		free(ch);
		ch = next;
	}
	a->head = NULL;
	a->inline_used = 0;
}

/* ==== context ========================================================== */

double
ctx_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void
ctx_init(cot_ctx *c)
{
	/* The arena's inline buffer needs no zeroing: arena_alloc zeroes. */
	memset(&c->conn, 0, sizeof(*c) - offsetof(cot_ctx, conn));
	arena_init(&c->mem);
	c->start_ms = ctx_now_ms();
}

void
ctx_free(cot_ctx *c)
{
	if (c->tasks != NULL) {
		if (c->spawn_trail != NULL)
			task_submit(c); /* a task that spawned: its children run now */
		else
			task_drop(c);
	}
	if (c->match.b != NULL) {
		router_release(c->match.b);
		c->match.b = NULL;
	}
	body_free(c);
	db_request_end(c); /* rolls back a transaction the handler left open */
	json_request_free(c);
	auth_request_free(c);
	if (c->resp_fd > 0) /* a file response that was never handed to MHD */
		close(c->resp_fd);
	c->resp_fd = 0;
	arena_free(&c->mem);
}

/* ==== public accessors ================================================= */

const char *
cot_param(cot_ctx *c, const char *name)
{
	for (int i = 0; i < c->match.nparams; i++)
		if (strcmp(c->match.names[i], name) == 0)
			return c->match.values[i];
	return "";
}

long long
cot_param_int(cot_ctx *c, const char *name)
{
	const char *v = cot_param(c, name);
	char *end;
	if (*v == '\0' || (*v != '-' && (*v < '0' || *v > '9'))) {
		c->param_invalid = true;
		return 0;
	}
	long long n = strtoll(v, &end, 10);
	if (*end != '\0')
		c->param_invalid = true;
	return *end == '\0' ? n : 0;
}

const char *
cot_query(cot_ctx *c, const char *name)
{
	if (c->conn == NULL)
		return NULL;
	/* MHD hands over raw values (server.c turns its unescaping off). */
	const char *raw = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
	if (raw == NULL)
		return NULL;
	char *v = arena_strdup(&c->mem, raw);
	if (router_percent_decode(v, true) == (size_t)-1)
		return arena_strdup(&c->mem, raw);
	return v;
}

/*
 * A query parameter as a number in [min, max]: absent or empty gives `def`;
 * anything else that is not a decimal integer in range makes the request
 * answer 400 naming the parameter (form_reject) and gives `def` too.
 */
long long
cot_query_int(cot_ctx *c, const char *name, long long def, long long min, long long max)
{
	const char *v = cot_query(c, name);
	if (v == NULL || *v == '\0')
		return def;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	bool digits = (*v >= '0' && *v <= '9') || (*v == '-' && v[1] >= '0' && v[1] <= '9');
	const char *why = NULL;
	if (!digits || *end != '\0' || errno == ERANGE)
		why = arena_printf(&c->mem, "query parameter %s=\"%.40s\" is not an integer",
		                   name, v);
	else if (n < min || n > max)
		why = arena_printf(&c->mem, "query parameter %s=%lld is out of range (%lld to "
		                   "%lld)", name, n, min, max);
	if (why == NULL)
		return n;
	form_reject(c, 400, why);
	if (c->reject_detail == why) /* the first reject wins */
		c->reject_code = "bad_query";
	return def;
}

const char *
cot_header(cot_ctx *c, const char *name)
{
	if (c->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

const char *
cot_method(cot_ctx *c)
{
	return c->method;
}

const char *
cot_path(cot_ctx *c)
{
	return c->path;
}

const char *
cot_body(cot_ctx *c, size_t *len)
{
	if (len != NULL)
		*len = c->body_len;
	return c->body != NULL ? c->body : "";
}

const char *
cot_request_id(cot_ctx *c)
{
	return c->request_id;
}

char *
cot_sprintf(cot_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = arena_vprintf(&c->mem, fmt, ap);
	va_end(ap);
	return s;
}

char *
cot_vsprintf(cot_ctx *c, const char *fmt, va_list ap)
{
	return arena_vprintf(&c->mem, fmt, ap);
}

void *
cot_alloc(cot_ctx *c, size_t size)
{
	return arena_alloc(&c->mem, size);
}
