/*
 * server.c -- libmicrohttpd glue: request in, response out.
 *
 * The access handler runs in MHD's thread pool; handlers that block run on
 * the handler pool instead (see "the handler pool" below). Its first call
 * for a request only allocates the context; the response is queued on a later call,
 * because MHD 0.9.75 answers "Connection: close" to a response queued on the
 * first call (measured: keep-alive is 3-5x faster). Bodies arrive in the
 * calls between.
 *
 * Dispatch is the same for every request: take pending reloads (dev), split
 * and decode the path, find the slot, call the handler with a reference on
 * its code, then turn whatever the context holds -- success or error -- into
 * one MHD response with the same after-steps (request id, log line).
 *
 * We create the listening socket ourselves so a port in use is a clear
 * message instead of MHD's NULL, and so exports can set SO_REUSEPORT.
 * MHD's URL unescaping is switched off: splitting a path must happen before
 * decoding, or "%2F" inside a parameter would become a path separator.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "auth.h"
#include "compress.h"
#include "db.h"
#include "fields.h"
#include "health.h"
#include "hostallow.h"
#include "internal.h"
#include "limit.h"
#include "pool.h"
#include "static.h"
#include "strict.h"

#define SERVER_DEFAULT_MAX_BODY (10u * 1024 * 1024)
/*
 * Our limits stay under libmicrohttpd's per-connection pool (32 KB by
 * default) so the answers pass through our pipeline. A bigger pool is not
 * free: MHD clears it for every request (measured: a 128 KB pool cost 5 µs
 * a request, a third of the server's CPU).
 */
#define SERVER_MAX_URL                8192  /* longer: 414 */
#define SERVER_MAX_HEADERS            16384 /* all header bytes; more: 431 */
#define SERVER_DEFAULT_HEAD_TIMEOUT_S 10
#define SERVER_DEFAULT_KEEPALIVE_S    75 /* above nginx's 60 s for upstream connections */
#define SERVER_DEFAULT_IDLE_S         30
/* The first daemon and the one-thread daemons that replace abandoned
 * workers (see server_abandon); past this many, the process is beyond
 * repair and says so. */
#define SERVER_MAX_DAEMONS  33
#define SERVER_POOL_THREADS 8   /* --pool-threads */
#define SERVER_POOL_QUEUE   256 /* --pool-queue */

struct server {
	server_config cfg;
	struct MHD_Daemon *mhd[SERVER_MAX_DAEMONS];
	atomic_int ndaemons;
	pthread_mutex_t replace_lock; /* ndaemons grows under it; draining set under it */
	bool draining;
	int connection_limit;
	int fd;
	int port;
	int static_fd;           /* static/ opened O_PATH, or -1 */
	atomic_long in_flight;   /* requests between first call and completion */
	atomic_int pool_orphans; /* abandoned pooled calls not back: no connection */
	atomic_bool closing;     /* SIGTERM: answer with Connection: close */
};

static server *server_current; /* for the watchdog's abandon hook */

/* ==== request ids ====================================================== */

static _Thread_local uint64_t server_rng_state;

static uint64_t
server_rand64(void)
{
	if (server_rng_state == 0) {
		if (getrandom(&server_rng_state, sizeof(server_rng_state), 0) !=
		    (ssize_t)sizeof(server_rng_state))
			server_rng_state =
			        (uint64_t)(uintptr_t)&server_rng_state ^ 0x9e3779b97f4a7c15u;
		server_rng_state |= 1;
	}
	/* xorshift64*: ids need to be unique-ish, not secret. */
	server_rng_state ^= server_rng_state >> 12;
	server_rng_state ^= server_rng_state << 25;
	server_rng_state ^= server_rng_state >> 27;
	return server_rng_state * 0x2545F4914F6CDD1Du;
}

/* Accepts an incoming X-Request-Id made of safe characters, else makes one. */
static void
server_request_id(cot_ctx *c)
{
	const char *in = cot_header(c, "X-Request-Id");
	if (in != NULL) {
		size_t n = strlen(in);
		bool ok = n > 0 && n < sizeof(c->request_id);
		for (size_t i = 0; ok && i < n; i++)
			ok = (in[i] >= '0' && in[i] <= '9') || (in[i] >= 'a' && in[i] <= 'z') ||
			     (in[i] >= 'A' && in[i] <= 'Z') || in[i] == '-' || in[i] == '_' ||
			     in[i] == '.';
		if (ok) {
			memcpy(c->request_id, in, n + 1);
			return;
		}
	}
	static const char hex[] = "0123456789abcdef";
	uint64_t r = server_rand64(); /* no snprintf: this runs for every request */
	for (int i = 15; i >= 0; i--, r >>= 4)
		c->request_id[i] = hex[r & 15];
	c->request_id[16] = '\0';
}

/* ==== dispatch ========================================================= */

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
static void
server_route(cot_ctx *c)
{
	if (!csrf_check(c) && !middleware_before(c))
		server_call(c, c->match.b);
}

/* Whether c's route runs on the handler pool (--offload; see below). */
static bool
server_offloaded(const server *s, const binding *b)
{
	if (b->error != NULL || s->cfg.offload == SERVER_OFFLOAD_NONE)
		return false;
	return s->cfg.offload == SERVER_OFFLOAD_ALL || b->offload;
}

/* Routes c and answers it, or returns true when its handler is to run on
 * the handler pool (the route is found; nothing ran yet). */
static bool
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

/* ==== response ========================================================= */

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
static int
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
static void
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

static enum MHD_Result
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

/* ==== the handler pool ================================================= */

/*
 * Handlers that block run off the polling threads. An MHD worker polls
 * many connections and, by default, runs their handlers itself -- the
 * fastest way for a handler that takes microseconds, and the worst for one
 * that blocks: argon2id (50-100 ms), a remote call or a lock stalls every
 * other connection of that worker (bench_password: a plain GET's p50 went
 * 0.5 ms -> 225 ms while another client logged in). Handing only the slow
 * call to another thread would not help: the handler waits for it on the
 * worker all the same.
 *
 * So a route marked for the pool (binding.offload: its file calls
 * cot_password_hash/verify or says COT_OFFLOAD; or every route with
 * --offload all) is routed on the polling thread as usual, and once its
 * body is complete the access handler suspends the connection
 * (MHD_suspend_connection; the daemons run with MHD_ALLOW_SUSPEND_RESUME)
 * and queues the request on the pool (pool.c). A pool thread runs the
 * csrf check, middleware and handler under the same crash protection,
 * trace and watchdog as a worker (crash_run sets up its alternate signal
 * stack), then the after-steps (after-middleware, session cookie,
 * compression), rolls back a transaction the handler left open on its own
 * database connection, and resumes the connection. MHD then calls the
 * access handler again on the polling thread, which queues the response
 * and logs it -- the request's memory never changes hands mid-way.
 *
 * libmicrohttpd 0.9.75 (microhttpd.h, MHD_suspend_connection): a suspended
 * connection does not time out (a slow handler is not cut by
 * --idle-timeout; guard.c leaves it alone too: its head has arrived), it
 * still counts against the connection limits, and MHD_resume_connection
 * may be called from any thread (MHD_USE_ITC wakes the right worker of
 * the thread pool). MHD_stop_daemon must not run while a connection is
 * suspended: server_stop stops the pool first, which runs what is queued
 * and so resumes every connection; with a stuck pool thread it does not
 * stop MHD at all (as with a stuck worker: the process _exits).
 *
 * Full queue (--pool-queue): 503 with Retry-After through the error
 * pipeline, at once, on the polling thread.
 *
 * A pool thread stuck past --timeout is abandoned like a worker (see "stuck
 * handlers" below), but nothing else suffers: the pool starts a thread in
 * its place, and the watchdog resumes the connection, whose access handler
 * answers 503 through the error pipeline (problem+json or a page, request
 * id, after-middleware, the access log; the connection stays usable) with
 * a new context. The stuck call keeps the old one: when (if ever) it
 * returns, it may still read its request, so the old context must not
 * lead into the connection MHD frees once its 503 is out -- method and URL
 * are copied into its arena when it is offloaded, and its `conn` is
 * cleared before the resume (cot_header and cot_query then find nothing).
 * The old context is freed by whichever side lets go of it last
 * (pool_refs). A call stuck in a system call is not running: clearing the
 * pointer under it is safe; one running in a library past the grace time
 * reads it only after it comes back to cot's API.
 */

/* Lets go of an abandoned pooled context; the last one frees it. */
static void
server_pool_release(cot_ctx *c)
{
	if (atomic_fetch_sub(&c->pool_refs, 1) == 1) {
		ctx_free(c);
		free(c);
	}
}

/* Runs on a pool thread; returns 1 when the watchdog abandoned the call. */
static int
server_pool_run(void *arg)
{
	cot_ctx *c = arg;
	server *s = server_current;
	struct MHD_Connection *conn = c->conn;
	if (s->cfg.dev_begin != NULL)
		s->cfg.dev_begin(c); /* the dev console collects SQL per thread */
	server_route(c);
	db_request_end(c);  /* a transaction left open is on this thread's connection */
	if (c->abandoned) { /* answered by the watchdog's resume; c is ours to drop */
		atomic_fetch_sub(&s->pool_orphans, 1);
		server_pool_release(c);
		return 1;
	}
	server_after(s, c);
	c->after_done = true;
	db_request_end(c);           /* after-middleware may have opened one too */
	MHD_resume_connection(conn); /* c belongs to the polling thread again */
	return 0;
}

/* Suspends c's connection and queues c on the pool; -1 when it is full. */
static int
server_offload(cot_ctx *c)
{
	if (pool_reserve() != 0)
		return -1;
	/* MHD's copies live as long as the connection; a call abandoned by the
	 * watchdog may outlive it */
	c->method = arena_strdup(&c->mem, c->method);
	c->raw_url = arena_strdup(&c->mem, c->raw_url);
	c->pooled = true;
	MHD_suspend_connection(c->conn); /* before the push: a pool thread may resume at once */
	pool_push(server_pool_run, c);
	return 0;
}

/* 503 for a request the full pool cannot take. */
static void
server_pool_full(server *s, cot_ctx *c)
{
	cot_set_header(c, "Retry-After", "1");
	error_respond_as(
	        c, 503, "unavailable",
	        arena_printf(&c->mem,
	                     "the server is busy: "
	                     "%d requests wait for the handler pool already (--pool-queue %d); "
	                     "try again in a moment",
	                     pool_queued(), s->cfg.pool_queue),
	        NULL);
}

/* ==== MHD callbacks ==================================================== */

/*
 * One spare context per worker thread. A context is a few KB: too big for
 * malloc's thread cache, and measured with callgrind, allocating one per
 * request made glibc consolidate its fast bins every time. MHD completes a
 * request on the thread that served it, so the spare never crosses threads.
 */
static pthread_key_t server_spare_key; /* freed with its thread */
static pthread_once_t server_spare_once = PTHREAD_ONCE_INIT;

static void
server_spare_key_create(void)
{
	pthread_key_create(&server_spare_key, free);
}

static cot_ctx *
server_ctx_new(void)
{
	pthread_once(&server_spare_once, server_spare_key_create);
	cot_ctx *c = pthread_getspecific(server_spare_key);
	if (c != NULL)
		pthread_setspecific(server_spare_key, NULL);
	else if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	ctx_init(c);
	return c;
}

static void
server_ctx_done(cot_ctx *c)
{
	ctx_free(c);
	if (pthread_getspecific(server_spare_key) == NULL)
		pthread_setspecific(server_spare_key, c);
	else
		free(c);
}

/* 413: `declared` is the Content-Length, or ~0 for a body that ran over
 * while it arrived (c->body_len then counts what came). */
static void
server_refuse_large(server *s, cot_ctx *c, unsigned long long declared)
{
	server_request_id(c);
	c->path = c->raw_url;
	const char *what =
	        declared != ~0ULL
	                ? arena_printf(&c->mem,
	                               "the request body of %llu bytes (Content-Length) is larger "
	                               "than the limit of %zu bytes (--max-body)",
	                               declared, s->cfg.max_body)
	                : arena_printf(&c->mem,
	                               "the request body is larger than the limit of %zu bytes "
	                               "(--max-body): %zu bytes arrived without a Content-Length",
	                               s->cfg.max_body, c->body_len);
	body_free(c);
	error_respond_as(c, 413, "too_large", what, NULL);
}

/*
 * A request head MHD accepted but cot refuses (strict.c): answered at once,
 * before the body is read, and the connection closed after the answer.
 */
static bool
server_refuse_head(server *s, cot_ctx *c, const char *version, bool nul_in_target)
{
	strict_verdict v;
	const char *host = cot_header(c, "Host");
	if (strict_check(c, version, nul_in_target, &v) != 0) {
		server_request_id(c);
		c->path = c->raw_url;
		error_respond(c, v.status, v.detail, NULL);
		cot_set_header(c, "Connection", "close");
		return true;
	}
	if (!hostallow_check(s->cfg.allowed_hosts, s->cfg.allow_any_ip, host)) {
		server_request_id(c);
		c->path = c->raw_url;
		error_respond(
		        c, 421,
		        arena_printf(
		                &c->mem,
		                "this server does not answer to Host "
		                "\"%s\" (it answers to %s%s). A page that reaches it under another "
		                "name may be a DNS-rebinding attack; to allow the name, add it "
		                "with "
		                "--allowed-hosts",
		                host, s->cfg.allowed_hosts,
		                s->cfg.allow_any_ip ? " and IP addresses" : ""),
		        NULL);
		return true;
	}
	return false;
}

/*
 * The access handler of a connection the watchdog resumed: its pooled call
 * is stuck. Answers 503 with a new context n, which the connection keeps;
 * the old one, o, is left to the stuck call.
 */
static enum MHD_Result
server_pool_abandoned(server *s, struct MHD_Connection *conn, const char *method, const char *url,
                      void **con_cls)
{
	cot_ctx *o = *con_cls, *n = server_ctx_new();
	if (n == NULL) {
		*con_cls = NULL;
		atomic_fetch_sub(&s->in_flight, 1);
		server_pool_release(o);
		return MHD_NO;
	}
	n->conn = conn;
	n->method = method;
	n->raw_url = url;
	n->start_ms = o->start_ms;
	memcpy(n->request_id, o->request_id, sizeof(n->request_id));
	n->path = arena_strdup(&n->mem, o->path ? o->path : url);
	const binding *b = o->match.b;
	char *detail = arena_printf(&n->mem,
	                            "the handler ran past its time budget of %d ms, "
	                            "blocked outside its own code (a system call or a library, "
	                            "where stopping it could leave a lock held); its pool thread "
	                            "was abandoned and replaced (route at %s:%d)",
	                            o->pool_budget_ms, b && b->file ? b->file : "(unknown)",
	                            b ? b->line : 0);
	*con_cls = n;
	server_pool_release(o);
	cot_set_header(n, "Retry-After", "1");
	error_respond_as(n, 503, "timeout", detail, NULL);
	return server_send(s, n);
}

static enum MHD_Result
server_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
              const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	server *s = cls;
	cot_ctx *c = *con_cls;
	if (c != NULL && !strict_is_nul_marker(c) && c->pooled) /* resumed */
		return atomic_load(&c->pool_abandoned)
		               ? server_pool_abandoned(s, conn, method, url, con_cls)
		               : server_send(s, c);
	if (c == NULL || strict_is_nul_marker(c)) {
		bool nul_in_target = c != NULL;
		if ((c = server_ctx_new()) == NULL)
			return MHD_NO;
		c->conn = conn;
		c->method = method;
		c->raw_url = url;
		*con_cls = c;
		atomic_fetch_add(&s->in_flight, 1);
		guard_head(conn); /* the head is in: no head deadline until it completes */
		if (server_refuse_head(s, c, version, nul_in_target))
			return server_send(s, c);
		/* A declared body over the limit is refused before it is read
		 * (MHD then closes the connection instead of reading it). */
		const char *cl = cot_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
		unsigned long long declared = cl != NULL ? strtoull(cl, NULL, 10) : ~0ULL;
		if (cl != NULL && declared > s->cfg.max_body) {
			server_refuse_large(s, c, declared);
			return server_send(s, c);
		}
		body_begin(c, (size_t)declared); /* memory or a spool file: body.c */
		return MHD_YES;
	}
	if (*upload_size != 0) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (c->too_large || c->body_len + n > s->cfg.max_body) {
			c->too_large = true; /* keep reading, answer once the body is over */
			c->body_len += n;    /* counted, not kept: the 413 says how much came */
			return MHD_YES;
		}
		body_append(c, upload_data, n); /* a failure is answered at the end */
		return MHD_YES;
	}
	enum MHD_Result special;
	if (health_is_path(c->method, c->raw_url)) {
		server_request_id(c);
		health_respond(c, atomic_load(&s->closing));
		return server_send(s, c);
	}
	if (server_special(s, c, &special))
		return special;
	if (c->too_large) {
		server_refuse_large(s, c, ~0ULL);
	} else if (body_finish(c) != 0) {
		server_request_id(c);
		c->path = c->raw_url;
		error_respond(c, 503,
		              arena_printf(&c->mem,
		                           "the request body (%zu bytes) could "
		                           "not be stored: %s",
		                           c->body_len, c->body_error),
		              NULL);
	} else if (server_dispatch(s, c)) {
		if (server_offload(c) == 0)
			return MHD_YES; /* suspended: a pool thread runs it and resumes it */
		server_pool_full(s, c);
	}
	return server_send(s, c);
}

/* A request line has arrived: strict.c looks at it, guard.c restarts its
 * head clock on a kept-alive connection. */
static void *
server_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	guard_line(conn);
	return strict_uri_log(cls, uri, conn);
}

static void
server_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
	server *s = cls;
	(void)toe;
	guard_done(conn);
	cot_ctx *c = *con_cls;
	if (c == NULL || strict_is_nul_marker(c)) /* ended before the handler's first call */
		return;
	server_ctx_done(c);
	*con_cls = NULL;
	atomic_fetch_sub(&s->in_flight, 1);
	/* --exit-on-crash: the crash's answer is out; let main drain and exit
	 * (once: main reads crash_exit_requested for the exit status) */
	static atomic_bool exit_sent;
	if (crash_exit_on_crash && atomic_load(&crash_exit_requested) &&
	    !atomic_exchange(&exit_sent, true))
		kill(getpid(), SIGTERM);
}

/* Leaves escapes alone: router.c decodes after splitting. */
static size_t
server_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
	(void)cls;
	(void)conn;
	return strlen(uri);
}

/* ==== stuck handlers =================================================== */

/*
 * Why abandon and replace, not exit: a worker stuck in a handler (a
 * deadlock, a read that never returns) cannot be stopped safely -- its
 * thread may hold locks, and pthread_cancel or a jump out of libc would
 * leave them held. Exiting would drop every other request in flight and
 * make one bad route take the whole service down until a supervisor
 * restarts it (in development, there is none). So the watchdog gives up on
 * the call: the client gets its 503 now, the thread's other connections
 * are shut down (their clients reconnect to a live worker) and a fresh
 * daemon with one worker takes its place on the same listening socket.
 * The stuck thread keeps its memory and its connection until the call
 * returns -- then its answer is dropped and it serves again -- or until
 * the process exits (server_stop does not wait for it). Past
 * SERVER_MAX_DAEMONS - 1 replacements the process is leaking a thread per
 * bad request: the export then exits for its supervisor (status 70, as
 * --exit-on-crash), the dev server says so and keeps what it has.
 */

static struct MHD_Daemon *server_daemon(server *s, int threads);

/* The 503 written on the socket of an abandoned request. */
static void
server_abandon_answer(int fd, const cot_ctx *c, const char *detail)
{
	char body[1024], head[512];
	int blen = error_dev_mode
	                   ? snprintf(body, sizeof(body),
	                              "503 Service Unavailable: %s\n%s %s (request %s)\n", detail,
	                              c->method, c->path ? c->path : c->raw_url, c->request_id)
	                   : snprintf(body, sizeof(body), "503 Service Unavailable\nrequest %s\n",
	                              c->request_id);
	if (blen < 0 || (size_t)blen >= sizeof(body))
		blen = (int)strlen(body);
	int hlen = snprintf(head, sizeof(head),
	                    "HTTP/1.1 503 Service Unavailable\r\n"
	                    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
	                    "Connection: close\r\nX-Request-Id: %s\r\n"
	                    "X-Content-Type-Options: nosniff\r\n\r\n",
	                    blen, c->request_id);
	bool head_only = strcmp(c->method, "HEAD") == 0;
	/* the socket is non-blocking and empty (MHD writes nothing while the
	 * handler runs): a few hundred bytes fit in its buffer */
	bool sent = send(fd, head, (size_t)hlen, MSG_NOSIGNAL | MSG_DONTWAIT) == hlen;
	if (sent && !head_only)
		sent = send(fd, body, (size_t)blen, MSG_NOSIGNAL | MSG_DONTWAIT) == blen;
	if (!sent)
		printf("cot: the 503 for request %s could not be written\n", c->request_id);
	shutdown(fd, SHUT_WR); /* the client sees the end of the answer */
}

/* Starts a one-worker daemon in place of an abandoned worker. */
static void
server_replace(server *s)
{
	pthread_mutex_lock(&s->replace_lock);
	int n = atomic_load(&s->ndaemons);
	if (s->draining) {
		/* stopping anyway */
	} else if (n >= SERVER_MAX_DAEMONS) {
		printf("cot: %d worker threads are stuck in handlers; no more are replaced%s\n",
		       crash_abandoned(),
		       s->cfg.dev ? ""
		                  : ". Exiting (status 70) for the supervisor to restart "
		                    "a clean process");
		if (!s->cfg.dev && !atomic_exchange(&crash_exit_requested, true))
			kill(getpid(), SIGTERM);
	} else if ((s->mhd[n] = server_daemon(s, 1)) != NULL) {
		atomic_store(&s->ndaemons, n + 1);
	} else {
		printf("cot: cannot start a worker in place of a stuck one\n");
	}
	pthread_mutex_unlock(&s->replace_lock);
	fflush(stdout);
}

/* crash_abandon_hook: runs on the watchdog thread while c's thread is stuck. */
static void
server_abandon(cot_ctx *c, const binding *b, pid_t tid, int budget_ms)
{
	server *s = server_current;
	const char *file = b != NULL && b->file != NULL ? b->file : "(unknown)";
	int line = b != NULL ? b->line : 0;
	char detail[512];
	snprintf(detail, sizeof(detail),
	         "the handler ran past its time budget of %d ms, blocked "
	         "outside its own code (a system call or a library, where stopping it could "
	         "leave a lock held); its %s was abandoned and replaced (route at %s:%d)",
	         budget_ms, c->pooled ? "pool thread" : "worker", file, line);
	const char *path = c->path ? c->path : c->raw_url ? c->raw_url : "?";
	if (c->conn == NULL) { /* a background task: nobody to answer */
		printf("task stopped: %s\n%s\n", detail, c->spawn_trail ? c->spawn_trail : "");
		fflush(stdout);
		return;
	}
	printf("stopped %s %s: %s\n%s %s (request %s)\n", c->method, path, detail, c->method, path,
	       c->request_id);
	fflush(stdout);
	if (c->pooled) { /* a pool thread: answered through MHD, see "the handler pool" */
		struct MHD_Connection *conn = c->conn;
		c->pool_budget_ms = budget_ms;
		atomic_store(&c->pool_refs, 2); /* the connection's and the stuck call's */
		if (s != NULL)
			atomic_fetch_add(&s->pool_orphans, 1);
		c->conn = NULL;
		atomic_store(&c->pool_abandoned, true);
		MHD_resume_connection(conn);
		pool_replace();
		return;
	}
	int fd = guard_fd(c->conn);
	if (fd >= 0)
		server_abandon_answer(fd, c, detail);
	guard_cut_thread(tid, fd);
	if (s != NULL)
		server_replace(s);
}

/* ==== lifecycle ======================================================== */

/* A size for --max-body: bytes, or with K, M or G; 0 on success. */
int
server_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = *end == 'K' || *end == 'k'   ? 10
	            : *end == 'M' || *end == 'm' ? 20
	            : *end == 'G' || *end == 'g' ? 30
	                                         : 0;
	if (end == s || (shift && end[1] != '\0') || (!shift && *end != '\0') || v == 0 ||
	    v > (1ULL << 40) >> shift)
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

/*
 * Binds a socket to cfg's host and port (SO_REUSEPORT if asked), without
 * listening yet. Returns it, or -1 with a message that names the address
 * and what to do. Separate from server_start so a process can claim its
 * address before it changes anything (the export migrates the database in
 * between): a bound socket is not yet in the SO_REUSEPORT group, so the
 * kernel sends it no connections that a refusal would then drop.
 */
int
server_bind(const server_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
	if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
		snprintf(err, errlen, "--host %s is not an IPv4 address (try 127.0.0.1 or 0.0.0.0)",
		         cfg->host);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (cfg->reuse_port)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int e = errno;
		if (e == EADDRINUSE)
			snprintf(err, errlen,
			         "port %d on %s is already in use; stop the other "
			         "server or pick another with --port",
			         cfg->port, cfg->host);
		else
			snprintf(err, errlen, "cannot listen on %s:%d: %s", cfg->host, cfg->port,
			         strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

/* The listening socket: cfg's bound one or a new one. */
static int
server_listen(const server_config *cfg, char *err, size_t errlen)
{
	int fd = cfg->has_bound_fd ? cfg->bound_fd : server_bind(cfg, err, errlen);
	if (fd >= 0 && listen(fd, 1024) != 0) {
		snprintf(err, errlen, "listen on %s:%d: %s", cfg->host, cfg->port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One MHD daemon on s's listening socket with `threads` workers and its
 * share of the connection limit. Several daemons may poll one listening
 * socket: whichever worker wakes first accepts (the socket is non-blocking).
 */
static struct MHD_Daemon *
server_daemon(server *s, int threads)
{
	const server_config *cfg = &s->cfg;
	unsigned limit = (unsigned)(s->connection_limit * threads / cfg->threads);
	/* one worker is MHD's internal thread without a pool (a pool of 1 or 0
	 * makes MHD warn) */
	struct MHD_OptionItem pool[] = {
	        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
	        {MHD_OPTION_END, 0, NULL},
	};
	return MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC |
	                MHD_ALLOW_SUSPEND_RESUME,
	        0, NULL, NULL, /* the handler pool */
	        server_access, s, MHD_OPTION_LISTEN_SOCKET, s->fd, MHD_OPTION_ARRAY, pool,
	        MHD_OPTION_NOTIFY_COMPLETED, server_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
	        guard_notify, s, MHD_OPTION_UNESCAPE_CALLBACK, server_unescape, s,
	        MHD_OPTION_URI_LOG_CALLBACK, server_uri_log, s,
	        /* MHD's default is FD_SETSIZE - 4 (1020) whatever the fd limit:
	         * limit.c derives ours from RLIMIT_NOFILE */
	        MHD_OPTION_CONNECTION_LIMIT, limit > 0 ? limit : 1u,
	        /* 0 means none to MHD as well */
	        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_per_ip,
	        /* Slow clients: a connection that sends nothing for this long is
	         * closed by MHD. MHD 0.9.75 cannot queue an answer while a request
	         * is still arriving (measured), so no 408 goes out: it just closes.
	         * A head that trickles in is cut by guard.c at --head-timeout. */
	        MHD_OPTION_CONNECTION_TIMEOUT,
	        (unsigned)(cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s : SERVER_DEFAULT_IDLE_S),
	        MHD_OPTION_END);
}

server *
server_start(const server_config *cfg, char *err, size_t errlen)
{
	server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cfg = *cfg;
	pthread_mutex_init(&s->replace_lock, NULL);
	if (s->cfg.max_body == 0)
		s->cfg.max_body = SERVER_DEFAULT_MAX_BODY;
	if (s->cfg.head_timeout_s <= 0)
		s->cfg.head_timeout_s = SERVER_DEFAULT_HEAD_TIMEOUT_S;
	if (s->cfg.keepalive_timeout_s <= 0)
		s->cfg.keepalive_timeout_s = SERVER_DEFAULT_KEEPALIVE_S;
	if (s->cfg.threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		s->cfg.threads = n > 0 ? (int)n : 2;
	}
	if (s->cfg.pool_threads <= 0)
		s->cfg.pool_threads = SERVER_POOL_THREADS;
	if (s->cfg.pool_queue <= 0)
		s->cfg.pool_queue = SERVER_POOL_QUEUE;
	char note[256];
	s->connection_limit = limit_connections(cfg->max_connections, note, sizeof(note));
	if (note[0] != '\0')
		fprintf(stderr, "cot: %s\n", note);
	error_dev_mode = cfg->dev;
	response_static_dir = cfg->static_dir;
	s->static_fd = cfg->static_dir != NULL
	                       ? open(cfg->static_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)
	                       : -1;
	s->fd = server_listen(&s->cfg, err, errlen);
	if (s->fd < 0) {
		if (s->static_fd >= 0)
			close(s->static_fd);
		free(s);
		return NULL;
	}
	if (accesslog_start(cfg->access_log, cfg->log_format, err, errlen) != 0) {
		close(s->fd);
		if (s->static_fd >= 0)
			close(s->static_fd);
		free(s);
		return NULL;
	}
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);
	getsockname(s->fd, (struct sockaddr *)&addr, &alen);
	s->port = ntohs(addr.sin_port);
	server_current = s; /* before the first request: pool threads read it */
	if (guard_start(s->cfg.head_timeout_s, s->cfg.keepalive_timeout_s,
	                s->cfg.idle_timeout_s > 0 ? s->cfg.idle_timeout_s
	                                          : SERVER_DEFAULT_IDLE_S) != 0 ||
	    pool_start(s->cfg.pool_threads, s->cfg.pool_queue) != 0 ||
	    (s->mhd[0] = server_daemon(s, s->cfg.threads)) == NULL) {
		snprintf(err, errlen, "libmicrohttpd failed to start on %s:%d", cfg->host, s->port);
		server_current = NULL;
		pool_stop(1000);
		guard_stop();
		close(s->fd);
		free(s);
		return NULL;
	}
	atomic_store(&s->ndaemons, 1);
	body_set_memory_limit(s->cfg.max_body_memory);
	server_current = s;
	crash_abandon_hook = server_abandon;
	return s;
}

int
server_port(const server *s)
{
	return s->port;
}

/* Drain's first step, the same for both calls: no new connection, and no
 * replacement daemon, from now on. Doing it twice does no harm. */
static void
server_stop_accepting(server *s)
{
	atomic_store(&s->closing, true);
	pthread_mutex_lock(&s->replace_lock); /* no replacement daemon from now on */
	s->draining = true;
	pthread_mutex_unlock(&s->replace_lock);
	for (int i = 0; i < atomic_load(&s->ndaemons); i++)
		MHD_quiesce_daemon(s->mhd[i]); /* MHD stops polling the listening socket */
	shutdown(s->fd, SHUT_RDWR);            /* and the kernel refuses new connections */
}

/*
 * Starts the drain: stops accepting connections; from now on every
 * response says "Connection: close" and the health endpoint answers 503.
 * Then waits up to delay_ms -- less when no connection is left open --
 * while requests that arrive on connections already open are still
 * answered: a proxy that picked an idle keep-alive connection just before
 * the drain gets its answer instead of a reset. Call server_drain next.
 */
void
server_drain_delay(server *s, int delay_ms)
{
	server_stop_accepting(s);
	struct timespec tick = {0, 5 * 1000 * 1000};
	for (int ms = 0; ms < delay_ms; ms += 5) {
		unsigned open = 0;
		for (int i = 0; i < atomic_load(&s->ndaemons); i++) {
			const union MHD_DaemonInfo *di =
			        MHD_get_daemon_info(s->mhd[i], MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
			open += di != NULL ? di->num_connections : 1;
		}
		if (open == 0)
			break;
		nanosleep(&tick, NULL);
	}
}

/*
 * Stops accepting connections and waits up to timeout_ms for the requests
 * in flight to complete (their responses fully sent). A signal in
 * `interrupt` (a second SIGTERM or Ctrl-C; NULL: none) ends the wait at
 * once. Returns how many were still running. Call server_stop afterwards.
 */
/*
 * Waits for a signal of `stop` (SIGINT, SIGTERM), which the caller blocked
 * in every thread together with SIGHUP; a SIGHUP meanwhile reopens the
 * access log (logrotate moved the file). Returns the stop signal.
 */
int
server_wait_stop(const sigset_t *stop)
{
	sigset_t set = *stop;
	sigaddset(&set, SIGHUP);
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			return sig;
		char err[512];
		if (accesslog_reopen(err, sizeof(err)) != 0) {
			fprintf(stderr, "SIGHUP: %s\n", err);
			fflush(stderr);
		}
	}
}

/* Requests in flight but those whose worker was abandoned (their 503 is
 * out); an abandoned pooled call is not in in_flight once its 503 is. */
static long
server_running(server *s)
{
	return atomic_load(&s->in_flight) - (crash_abandoned() - atomic_load(&s->pool_orphans));
}

long
server_drain(server *s, int timeout_ms, const sigset_t *interrupt)
{
	server_stop_accepting(s);
	double end = monotonic_ms() + timeout_ms;
	/* abandoned requests (answered 503 already) are not waited for; a pooled
	 * one's 503 is a request in flight until it is out */
	while (server_running(s) > 0 && monotonic_ms() < end) {
		struct timespec tick = {0, 5 * 1000 * 1000};
		if (interrupt == NULL) {
			nanosleep(&tick, NULL);
		} else if (sigtimedwait(interrupt, NULL, &tick) > 0) {
			printf("second signal: not waiting for the requests in flight\n");
			fflush(stdout);
			break;
		}
	}
	return server_running(s);
}

/* MHD_stop_daemon on a thread of its own, so server_stop can give up on it. */
typedef struct server_stopper {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool done;
	server *s;
} server_stopper;

static void *
server_stop_thread(void *arg)
{
	server_stopper *st = arg;
	/* the pool first: its last jobs resume their connections, and MHD must
	 * not stop with one suspended; a thread that does not end blocks here
	 * and server_stop gives up on us */
	while (pool_stop(1000) != 0)
		;
	for (int i = atomic_load(&st->s->ndaemons) - 1; i >= 0; i--)
		MHD_stop_daemon(st->s->mhd[i]);
	pthread_mutex_lock(&st->lock);
	st->done = true;
	pthread_cond_signal(&st->done_cond);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/*
 * Stops the server and frees it. MHD_stop_daemon joins every worker
 * thread, and a thread stuck in a handler (a deadlock, a blocking call
 * that never returns) never comes back: joining it hung the process until
 * kill -9. So the join runs on a helper thread and we wait at most
 * timeout_ms. Returns 0 when stopped; -1 when a worker did not return: the
 * server is left as it is (a stuck thread may still use it), and the caller
 * must end the process without freeing what handlers use (_exit after
 * flushing its output) -- the only way to stop a thread that will not stop.
 */
int
server_stop(server *s, int timeout_ms)
{
	if (s == NULL)
		return 0;
	if (crash_abandoned() > 0)
		return -1; /* their workers would never be joined */
	static server_stopper st = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                            .done_cond = PTHREAD_COND_INITIALIZER};
	st.s = s;
	st.done = false;
	pthread_t t;
	if (pthread_create(&t, NULL, server_stop_thread, &st) != 0) {
		server_stop_thread(&st);
	} else {
		pthread_detach(t);
		struct timespec until = monotonic_cond_deadline(timeout_ms);
		pthread_mutex_lock(&st.lock);
		while (!st.done && pthread_cond_timedwait(&st.done_cond, &st.lock, &until) == 0)
			;
		bool done = st.done;
		pthread_mutex_unlock(&st.lock);
		if (!done) {
			accesslog_flush(); /* the caller exits without the stuck threads */
			return -1;
		}
	}
	guard_stop();
	if (server_current == s)
		server_current = NULL;
	pthread_mutex_destroy(&s->replace_lock);
	accesslog_stop(); /* every line of every request answered is out */
	close(s->fd);
	if (s->static_fd >= 0)
		close(s->static_fd);
	free(s);
	return 0;
}
