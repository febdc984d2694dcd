/*
 * server_response.c -- the one way every answer leaves: the after-steps
 * (after-middleware, session cookie, CORS, dev script, compression), the
 * security headers, then one MHD response, queued, and the access-log line.
 *
 * Success, errors, static files and the handler pool's answers all come
 * through server_send, so they get the same headers and the same log line.
 */
#include <microhttpd.h>
#include <string.h>

#include "accesslog.h"
#include "body.h"
#include "compress.h"
#include "ctx.h"
#include "middleware.h"
#include "monotonic.h"
#include "response.h"
#include "server_internal.h"
#include "session.h"
#include "task.h"

static void
server_log(const cot_ctx *c)
{
	accesslog_request_info r = {
	        .method = c->method,
	        .path = c->path ? c->path : c->raw_url,
	        .request_id = c->request_id,
	        .status = c->status,
	        .bytes = c->resp_len,
	        .ms = monotonic_ms() - c->start_ms,
	        .conn = c->conn,
	};
	accesslog_request(&r);
}

/* Answers /_cot/... in development; returns MHD_NO if not such a path. */
int
server_special(server *s, cot_ctx *c, enum MHD_Result *ret)
{
	if (s->cfg.dev_special == NULL || strncmp(c->raw_url, "/_cot/", 6) != 0)
		return 0;
	server_request_id(c);
	c->path = c->raw_url;
	struct MHD_Response *r = s->cfg.dev_special(c);
	if (r == NULL)
		return 0;
	*ret = MHD_queue_response(c->conn, c->status > 0 ? (unsigned)c->status : MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return 1;
}

/*
 * Security headers on every response; the others only matter for
 * documents (framing, the referrer of what a page loads, what a page may
 * load and run), so they go with HTML only -- each header costs
 * libmicrohttpd three allocations. A handler's own header of the same name
 * wins.
 *
 * The Content-Security-Policy allows scripts only from the app's own origin
 * and no inline script: an injected <script> or onclick= does not run. The
 * template's pages and the dev server's live-reload script (/_cot/live.js,
 * whose overlay adds a <style>) satisfy it; inline styles stay allowed,
 * since error pages and the overlay use them and they cannot run code.
 */
#define SERVER_CSP                                                                                 \
	"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                \
	"img-src 'self' data:; object-src 'none'; base-uri 'self'; "                               \
	"form-action 'self'; frame-ancestors 'self'"

static const char *const server_secure_headers[][2] = {
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "SAMEORIGIN"},
        {"Referrer-Policy", "strict-origin-when-cross-origin"},
        {"Content-Security-Policy", SERVER_CSP},
};

/* Built-in after-steps every response passes, errors included. The security
 * headers are added in server_send, straight from constants. */
void
server_after(server *s, cot_ctx *c)
{
	middleware_after(c);
	session_finish(c); /* Set-Cookie when the session changed */
	if (s->cfg.cors_origin != NULL && !response_has_header(c, "Access-Control-Allow-Origin")) {
		cot_set_header(c, "Access-Control-Allow-Origin", s->cfg.cors_origin);
		cot_set_header(c, "Vary", "Origin");
	}
	/* gzip is decided on the app's own body, before the dev server adds
	 * its script: dev and the export then answer with the same headers */
	size_t app_len = c->resp_len;
	if (s->cfg.dev_finish != NULL)
		s->cfg.dev_finish(c);
	compress_response(c, app_len);
}

enum MHD_Result
server_send(server *s, cot_ctx *c)
{
	if (c->abandoned)
		return MHD_NO; /* answered 503 by the watchdog: MHD closes the connection */
	if (!c->after_done)    /* a pooled request had them on its pool thread */
		server_after(s, c);
	struct MHD_Response *r;
	if (c->resp_fd > 0) { /* MHD closes the fd when done */
		r = MHD_create_response_from_fd_at_offset64(c->resp_fd_len, c->resp_fd,
		                                            c->resp_fd_off);
		c->resp_fd = 0;
	} else {
		r = MHD_create_response_from_buffer(c->resp_len,
		                                    (void *)(c->resp_body ? c->resp_body : ""),
		                                    MHD_RESPMEM_PERSISTENT);
	}
	if (r == NULL)
		return MHD_NO;
	for (header_kv *h = c->resp_headers; h != NULL; h = h->next)
		MHD_add_response_header(r, h->name, h->value);
	bool html = c->content_type != NULL && strncmp(c->content_type, "text/html", 9) == 0;
	size_t nsecure =
	        html ? sizeof(server_secure_headers) / sizeof(server_secure_headers[0]) : 1;
	for (size_t i = 0; i < nsecure; i++)
		if (!response_has_header(c, server_secure_headers[i][0]))
			MHD_add_response_header(r, server_secure_headers[i][0],
			                        server_secure_headers[i][1]);
	if (c->content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, c->content_type);
	MHD_add_response_header(r, "X-Request-Id", c->request_id);
	/* draining: MHD closes the connection after this response, so a proxy
	 * learns to open its next one elsewhere instead of finding it reset */
	if (atomic_load_explicit(&s->closing, memory_order_relaxed))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(c->conn, (unsigned)c->status, r);
	MHD_destroy_response(r);
	task_submit(c);
	/* The body is read by the handler and the after-steps only (answers are
	 * copies): give back its memory or mapping now, not when the answer has
	 * been written -- MHD may finish many bodies before it writes. */
	body_free(c);
	if (!s->cfg.quiet && !c->live_fetch) /* a live-reload refetch is no user request */
		server_log(c);
	return ret;
}
