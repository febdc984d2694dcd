/*
 * server_stuck.c -- a handler stuck past its time budget: the watchdog's
 * hook answers 503 and replaces the worker (or the pool thread).
 *
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
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crash.h"
#include "ctx.h"
#include "error.h"
#include "guard.h"
#include "pool.h"
#include "server_internal.h"

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
void
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
	if (c->pooled) { /* a pool thread: answered through MHD, see server_pool.c */
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
