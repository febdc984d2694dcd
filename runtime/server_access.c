/*
 * server_access.c -- a request's life in libmicrohttpd's callbacks: the
 * head (refused at once or accepted), the body, the answer, the completion.
 *
 * The access handler runs in MHD's thread pool; handlers that block run on
 * the handler pool instead (server_pool.c). Its first call for a request
 * only allocates the context; the response is queued on a later call,
 * because MHD 0.9.75 answers "Connection: close" to a response queued on the
 * first call (measured: keep-alive is 3-5x faster). Bodies arrive in the
 * calls between.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "body.h"
#include "crash.h"
#include "ctx.h"
#include "error.h"
#include "guard.h"
#include "health.h"
#include "hostallow.h"
#include "server_internal.h"
#include "strict.h"

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

cot_ctx *
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

enum MHD_Result
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
void *
server_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	guard_line(conn);
	return strict_uri_log(cls, uri, conn);
}

void
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
size_t
server_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
	(void)cls;
	(void)conn;
	return strlen(uri);
}
