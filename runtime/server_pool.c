/*
 * server_pool.c -- routes that block run on the handler pool (pool.c), off
 * libmicrohttpd's polling threads: suspend, run, resume.
 *
 * Why: an MHD worker polls many connections and, by default, runs their
 * handlers itself -- the fastest way for a handler that takes
 * microseconds, and the worst for one that blocks: argon2id (50-100 ms), a
 * remote call or a lock stalls every other connection of that worker
 * (bench_password: a plain GET's p50 went 0.5 ms -> 225 ms while another
 * client logged in). Handing only the slow
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
 * A pool thread stuck past --timeout is abandoned like a worker (see
 * server_stuck.c), but nothing else suffers: the pool starts a thread in
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
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "db.h"
#include "error.h"
#include "pool.h"
#include "server_internal.h"

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
int
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
void
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

/*
 * The access handler of a connection the watchdog resumed: its pooled call
 * is stuck. Answers 503 with a new context n, which the connection keeps;
 * the old one, o, is left to the stuck call.
 */
enum MHD_Result
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
