/*
 * server_dispatch.c -- from a request's path to its handler's answer: the
 * size limits, /static/, routing (404, 405, OPTIONS), then the call.
 *
 * Dispatch is the same for every request: take pending reloads (dev), split
 * and decode the path, find the slot, call the handler with a reference on
 * its code, then turn whatever the context holds -- success or error -- into
 * one MHD response with the same after-steps (request id, log line;
 * server_response.c). A route marked for the handler pool is only found
 * here; server_pool.c runs it.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crash.h"
#include "csrf.h"
#include "ctx.h"
#include "error.h"
#include "fields.h"
#include "middleware.h"
#include "server_internal.h"
#include "static.h"
#include "trace.h"

/*
 * Our limits stay under libmicrohttpd's per-connection pool (32 KB by
 * default) so the answers pass through our pipeline. A bigger pool is not
 * free: MHD clears it for every request (measured: a 128 KB pool cost 5 µs
 * a request, a third of the server's CPU).
 */
#define SERVER_MAX_URL     8192  /* longer: 414 */
#define SERVER_MAX_HEADERS 16384 /* all header bytes; more: 431 */

/*
 * Whether the handler took a db constraint failure (409, 422) over by
 * answering with an error of its own after it: then its answer stands.
 * Other db failures (500, 503) are always answered, so a `return
 * cot_fail(c, 404, ...)` after a NULL row cannot hide a broken query.
 */
static bool
server_db_failure_handled(const cot_ctx *c)
{
	return c->reject_db && (c->reject_status == 409 || c->reject_status == 422) &&
	       c->resp_seq > c->db_fail_seq && c->status >= 400;
}

/*
 * Answers what the API recorded in reject_status, with the trace that says
 * where (a SQL error: the call's file:line and its SQL). A server error is a
 * bug in the app: it is logged with its trace, as a crash is.
 */
static void
server_reject(cot_ctx *c)
{
	if (c->reject_status >= 500) {
		printf("error in %s %s: %s\n%s\n", c->method, c->path, c->reject_detail,
		       c->reject_trace ? c->reject_trace : "");
		fflush(stdout);
	}
	error_respond_as(c, c->reject_status, c->reject_code, c->reject_detail, c->reject_trace);
}

/* Calls the handler; the binding's code is pinned by the lookup's reference. */
static void
server_call(cot_ctx *c, binding *b)
{
	if (b->error != NULL) {
		const char *nl = strchr(b->error, '\n');
		char *first = arena_strndup(&c->mem, b->error,
		                            nl ? (size_t)(nl - b->error) : strlen(b->error));
		error_respond_as(c, 500, "compile_error", first, b->error);
		return;
	}
	crash_report rep;
	if (crash_call(c, b, &rep) != 0) {
		trace_respond(c, b, &rep);
		return;
	}
	if (c->reject_status != 0 && !server_db_failure_handled(c)) {
		/* a bad body, API misuse or a db failure seen by the API */
		server_reject(c);
		return;
	}
	if (c->param_invalid) {
		error_respond_as(c, 404, "bad_parameter",
		                 arena_printf(&c->mem,
		                              "%s names no "
		                              "resource: a path parameter is not a number",
		                              c->path),
		                 NULL);
		return;
	}
	fields_reject(c);
	if (!c->responded)
		error_respond_as(c, 500, "no_response",
		                 arena_printf(&c->mem,
		                              "the handler for "
		                              "%s %s returned without a response (%s:%d)",
		                              c->method, c->path, b->file, b->line),
		                 NULL);
}

/* Adds up the bytes of the request headers. */
static enum MHD_Result
server_count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	*(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/*
 * Bytes of request headers as server_count_header counts them, or 0 when
 * the request head is clearly under the limit: MHD knows the head's size,
 * and counting walks every header. A header line is at least "k:\r\n",
 * 4 bytes that count as 5, so the count is at most 5/4 of the head.
 */
static void
server_header_bytes(cot_ctx *c, size_t *bytes)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (ci != NULL && ci->header_size > 0 &&
	    ci->header_size + ci->header_size / 4 <= SERVER_MAX_HEADERS)
		return;
	MHD_get_connection_values(c->conn, MHD_HEADER_KIND, server_count_header, bytes);
}

/* 414 and 431 through the pipeline; returns 1 when the request was refused. */
static int
server_check_limits(cot_ctx *c)
{
	size_t header_bytes = 0;
	if (strlen(c->raw_url) > SERVER_MAX_URL) {
		c->path = "(too long)";
		error_respond_as(
		        c, 414, "uri_too_long",
		        arena_printf(&c->mem, "the URL is longer than %d bytes", SERVER_MAX_URL),
		        NULL);
		return 1;
	}
	if (c->conn != NULL)
		server_header_bytes(c, &header_bytes);
	if (header_bytes > SERVER_MAX_HEADERS) {
		error_respond_as(c, 431, "headers_too_large",
		                 arena_printf(&c->mem,
		                              "request headers take %zu bytes; the "
		                              "limit is %d",
		                              header_bytes, SERVER_MAX_HEADERS),
		                 NULL);
		return 1;
	}
	return 0;
}

/* CORS preflight answer for an OPTIONS request, when CORS is on. */
static void
server_preflight(server *s, cot_ctx *c, const char *allow)
{
	if (s->cfg.cors_origin == NULL)
		return;
	cot_set_header(c, "Access-Control-Allow-Methods", allow);
	const char *h = cot_header(c, "Access-Control-Request-Headers");
	if (h != NULL)
		cot_set_header(c, "Access-Control-Allow-Headers", h);
	cot_set_header(c, "Access-Control-Max-Age", "600");
}

/* GET/HEAD /static/...: static.c decides, we copy its answer. */
static void
server_static(server *s, cot_ctx *c)
{
	struct staticfile_request rq = {
	        .root_fd = s->static_fd,
	        .path = c->raw_url + 8,
	        .method = c->method,
	        .mode = s->cfg.dev ? STATICFILE_DEV : STATICFILE_PROD,
	        .if_none_match = cot_header(c, "If-None-Match"),
	        .if_modified_since = cot_header(c, "If-Modified-Since"),
	        .if_range = cot_header(c, "If-Range"),
	        .range = cot_header(c, "Range"),
	        .accept_encoding = cot_header(c, "Accept-Encoding"),
	};
	struct staticfile_result r;
	static_serve(&rq, &r);
	for (size_t i = 0; i < r.nheaders; i++) {
		/* the type goes where server_send looks for it: a static HTML
		 * page gets the document headers like a handler's page */
		if (strcasecmp(r.headers[i].name, "Content-Type") == 0)
			c->content_type = arena_strdup(&c->mem, r.headers[i].value);
		else
			cot_set_header(c, r.headers[i].name, r.headers[i].value);
	}
	if (r.status >= 400) {
		static_result_close(&r);
		error_respond(c, r.status, arena_printf(&c->mem, "%s: %s", c->path, r.reason),
		              NULL);
		return;
	}
	c->status = r.status;
	c->responded = true;
	c->resp_fd = r.fd;
	c->resp_fd_off = r.offset;
	c->resp_fd_len = r.length;
	c->resp_len = (size_t)r.length;
}

/* csrf, before-middleware, handler: the part of a request that runs app
 * code, on the polling thread or on a pool thread. */
void
server_route(cot_ctx *c)
{
	if (!csrf_check(c) && !middleware_before(c))
		server_call(c, c->match.b);
}

/* Whether c's route runs on the handler pool (--offload; server_pool.c). */
static bool
server_offloaded(const server *s, const binding *b)
{
	if (b->error != NULL || s->cfg.offload == SERVER_OFFLOAD_NONE)
		return false;
	return s->cfg.offload == SERVER_OFFLOAD_ALL || b->offload;
}

/* Routes c and answers it, or returns true when its handler is to run on
 * the handler pool (the route is found; nothing ran yet). */
bool
server_dispatch(server *s, cot_ctx *c)
{
	char *segs[ROUTER_MAX_SEGS];
	char *path = arena_strdup(&c->mem, c->raw_url);
	c->path = router_percent_decode(path, false) == (size_t)-1 ? c->raw_url : path;
	server_request_id(c);
	if (s->cfg.before_route != NULL)
		s->cfg.before_route();
	if (s->cfg.dev_begin != NULL)
		s->cfg.dev_begin(c);

	if (s->static_fd >= 0 && strncmp(c->raw_url, "/static/", 8) == 0) {
		server_static(s, c);
		return false;
	}
	if (server_check_limits(c))
		return false;
	int n = router_split_path(&c->mem, c->raw_url, segs, ROUTER_MAX_SEGS);
	if (n < 0) {
		c->path = c->raw_url;
		error_respond_as(c, 400, "malformed_path",
		                 "malformed path: bad percent-encoding "
		                 "or too many segments",
		                 NULL);
		return false;
	}
	switch (router_lookup(c->method, segs, n, &c->match)) {
	case ROUTER_NOT_FOUND:
		error_respond_as(c, 404, "no_route",
		                 arena_printf(&c->mem, "no route for %s %s", c->method, c->path),
		                 NULL);
		break;
	case ROUTER_BAD_METHOD:
		if (strcmp(c->method, "OPTIONS") == 0) { /* answered for every route */
			char *allow = arena_printf(&c->mem, "%s, OPTIONS", c->match.allow);
			cot_set_header(c, "Allow", allow);
			server_preflight(s, c, allow);
			c->status = 204;
			c->responded = true;
			break;
		}
		cot_set_header(c, "Allow", c->match.allow);
		error_respond(c, 405,
		              arena_printf(&c->mem, "%s does not allow %s (allowed: %s)", c->path,
		                           c->method, c->match.allow),
		              NULL);
		break;
	case ROUTER_FOUND:
		if (server_offloaded(s, c->match.b))
			return true;
		server_route(c);
		break;
	}
	return false;
}
