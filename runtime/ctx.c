/*
 * ctx.c -- the request context: its life (init, cleanup at the end) and the
 * request accessors.
 *
 * Its memory is an arena (arena.c) that dies with the request.
 *
 * The context sits low in the runtime: it calls only the arena and the
 * router (decoding, releasing the route's code). The files that hang
 * state on a request -- the body (body.c), a transaction (db.c), a parsed
 * body (json.c), tasks (task.c), a session or JWT claims (session.c,
 * jwt.c) -- register their
 * own cleanup with ctx_on_free when they attach it, so the context never
 * names them and none of them is needed to build or test it;
 * tools/cycles.py keeps it so.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "monotonic.h"
#include "router.h"

/* ==== context ========================================================== */

void
ctx_init(cot_ctx *c)
{
	/* The arena's inline buffer needs no zeroing: arena_alloc zeroes. */
	memset(&c->conn, 0, sizeof(*c) - offsetof(cot_ctx, conn));
	arena_init(&c->mem);
	c->start_ms = monotonic_ms();
}

void
ctx_on_free(cot_ctx *c, void (*fn)(cot_ctx *c))
{
	for (ctx_cleanup *k = c->cleanups; k != NULL; k = k->next)
		if (k->fn == fn)
			return;
	ctx_cleanup *k = arena_alloc(&c->mem, sizeof(*k));
	k->fn = fn;
	k->next = c->cleanups;
	c->cleanups = k;
}

void
ctx_free(cot_ctx *c)
{
	/* First, while all of the request is still there. The cleanups are
	 * independent of each other (each frees what its own file attached) and
	 * must not register more. */
	for (ctx_cleanup *k = c->cleanups; k != NULL; k = k->next)
		k->fn(c);
	c->cleanups = NULL;
	if (c->match.b != NULL) {
		router_release(c->match.b);
		c->match.b = NULL;
	}
	if (c->resp_fd > 0) /* a file response that was never handed to MHD */
		close(c->resp_fd);
	c->resp_fd = 0;
	arena_free(&c->mem);
}

void
ctx_reject(cot_ctx *c, int status, const char *detail)
{
	if (c->reject_status != 0)
		return;
	c->reject_status = status;
	c->reject_detail = detail;
	c->reject_code = status == 400 ? "malformed_body" : "api_misuse";
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
 * answer 400 naming the parameter (ctx_reject) and gives `def` too.
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
		why = arena_printf(&c->mem, "query parameter %s=\"%.40s\" is not an integer", name,
		                   v);
	else if (n < min || n > max)
		why = arena_printf(&c->mem,
		                   "query parameter %s=%lld is out of range (%lld to "
		                   "%lld)",
		                   name, n, min, max);
	if (why == NULL)
		return n;
	ctx_reject(c, 400, why);
	if (c->reject_detail == why) /* the first reject wins */
		c->reject_code = "bad_query";
	return def;
}

/* The connection's header; without a connection (unit tests, a task's
 * context) the ones c->req_headers holds, matched case-insensitively. */
const char *
cot_header(cot_ctx *c, const char *name)
{
	if (c->conn != NULL)
		return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
	for (header_kv *h = c->req_headers; h != NULL; h = h->next)
		if (strcasecmp(h->name, name) == 0)
			return h->value;
	return NULL;
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
