/*
 * guard.c -- every open connection, so slow and stuck ones can be cut.
 *
 * libmicrohttpd 0.9.75 has an idle timeout (reset by every byte) but no
 * deadline for a whole request head: a client sending one header line
 * every 10 s was never dropped, and 1,030 of them locked every client out.
 * MHD tells us when a connection opens and closes (NOTIFY_CONNECTION), and
 * server_access.c tells us when a request head has arrived (the access handler's
 * first call) and when a request is complete. A connection that has been
 * waiting for a request head longer than --head-timeout -- since it opened,
 * or since the request line of a later request (below) -- is shut down by
 * the guard thread.
 * shutdown(2) leaves the descriptor to MHD: its worker sees end-of-file and
 * closes the connection as if the client had left.
 *
 * A keep-alive connection waiting for its next request is another matter:
 * a proxy keeps idle upstream connections open for a minute (nginx's
 * keepalive_timeout is 60 s) and reuses them; closing them at
 * --head-timeout made the proxy's next request race our close (a reset, a
 * 502). MHD shows no byte of a head before the whole head, but it does say
 * when the request line has arrived (the URI log callback, guard_line). So
 * after an answer the connection may stay idle for --keepalive-timeout, and
 * the head clock starts again at its next request line. A head dribbled
 * after the request line is still cut at --head-timeout; one dribbled
 * inside the request line is bounded by --keepalive-timeout. MHD's own idle
 * timeout (--idle-timeout, reset by every byte) would end an idle
 * keep-alive connection first when it is shorter, so it is lifted to the
 * keep-alive limit while the connection waits and put back at the request
 * line, where it guards a body that stops arriving.
 *
 * The same list serves the stuck-handler policy (crash.c, server_stuck.c):
 * when a worker thread is abandoned, its other connections are shut down, so
 * their clients reconnect to a live worker instead of waiting on a dead one.
 *
 * Safety of shutdown on a descriptor MHD owns: MHD calls the CLOSED
 * notification, which takes the guard's lock (G.lock), before it closes the
 * socket, and the guard holds that lock while it calls shutdown -- so the
 * descriptor shut down is always still this connection's, never a reused
 * number.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "monotonic.h"

#define GUARD_TICK_MS 100

typedef struct guard_conn {
	LIST_ENTRY(guard_conn) link;
	int fd;
	pid_t tid;               /* the MHD worker that owns the connection */
	_Atomic double ready_ms; /* when it began waiting for a request head */
	atomic_bool in_request;  /* a head arrived; the request is not complete */
	atomic_bool kept;        /* answered before, waiting for a request line */
	bool cut;                /* already shut down by us */
} guard_conn;

static struct {
	pthread_mutex_t lock;
	LIST_HEAD(, guard_conn) conns;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	double head_ms;
	double keepalive_ms;
	unsigned idle_s; /* MHD's idle timeout, restored at a request line */
	unsigned keepalive_s;
} G = {.lock = PTHREAD_MUTEX_INITIALIZER, .conns = LIST_HEAD_INITIALIZER(G.conns)};

/* The calling worker's kernel thread id (gettid() is a system call). */
static pid_t
guard_tid(void)
{
	static _Thread_local pid_t tid;
	if (tid == 0)
		tid = gettid();
	return tid;
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection opens or closes. */
void
guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
             enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		guard_conn *g = calloc(1, sizeof(*g));
		if (g == NULL)
			return; /* unguarded, not refused */
		const union MHD_ConnectionInfo *ci =
		        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		g->fd = ci != NULL ? ci->connect_fd : -1;
		g->tid = guard_tid();
		atomic_init(&g->ready_ms, monotonic_ms());
		atomic_init(&g->in_request, false);
		atomic_init(&g->kept, false);
		pthread_mutex_lock(&G.lock);
		LIST_INSERT_HEAD(&G.conns, g, link);
		pthread_mutex_unlock(&G.lock);
		*socket_context = g;
		return;
	}
	guard_conn *g = *socket_context;
	if (g == NULL)
		return;
	pthread_mutex_lock(&G.lock);
	LIST_REMOVE(g, link);
	pthread_mutex_unlock(&G.lock);
	free(g);
	*socket_context = NULL;
}

static guard_conn *
guard_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* A request head has arrived on conn (the access handler's first call). */
void
guard_head(struct MHD_Connection *conn)
{
	guard_conn *g = guard_of(conn);
	if (g != NULL)
		atomic_store_explicit(&g->in_request, true, memory_order_relaxed);
}

/* conn's request line has arrived (MHD_OPTION_URI_LOG_CALLBACK). */
void
guard_line(struct MHD_Connection *conn)
{
	guard_conn *g = guard_of(conn);
	if (g == NULL || !atomic_load_explicit(&g->kept, memory_order_relaxed))
		return; /* a new connection: its head clock runs from the open */
	atomic_store_explicit(&g->ready_ms, monotonic_ms(), memory_order_relaxed);
	atomic_store_explicit(&g->kept, false, memory_order_release);
	if (G.keepalive_s > G.idle_s)
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, G.idle_s);
}

/* conn's request is complete: it may wait --keepalive-timeout for the next. */
void
guard_done(struct MHD_Connection *conn)
{
	guard_conn *g = guard_of(conn);
	if (g == NULL)
		return;
	atomic_store_explicit(&g->ready_ms, monotonic_ms(), memory_order_relaxed);
	atomic_store_explicit(&g->kept, true, memory_order_relaxed);
	atomic_store_explicit(&g->in_request, false, memory_order_release);
	if (G.keepalive_s > G.idle_s) /* + 1: the guard, not MHD, ends the wait */
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, G.keepalive_s + 1);
}

/* The socket of conn, or -1. */
int
guard_fd(struct MHD_Connection *conn)
{
	guard_conn *g = guard_of(conn);
	return g != NULL ? g->fd : -1;
}

/*
 * Shuts down every connection of worker thread tid but except_fd: the
 * thread is abandoned (stuck in a handler) and will not serve them.
 * Returns how many.
 */
int
guard_cut_thread(pid_t tid, int except_fd)
{
	int n = 0;
	pthread_mutex_lock(&G.lock);
	guard_conn *g;
	LIST_FOREACH(g, &G.conns, link)
	if (g->tid == tid && g->fd >= 0 && g->fd != except_fd && !g->cut) {
		shutdown(g->fd, SHUT_RDWR);
		g->cut = true;
		n++;
	}
	pthread_mutex_unlock(&G.lock);
	return n;
}

static void *
guard_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&G.stop)) {
		struct timespec tick = {0, GUARD_TICK_MS * 1000 * 1000};
		nanosleep(&tick, NULL);
		double now = monotonic_ms();
		pthread_mutex_lock(&G.lock);
		guard_conn *g;
		LIST_FOREACH(g, &G.conns, link)
		{
			if (g->cut || g->fd < 0 ||
			    atomic_load_explicit(&g->in_request, memory_order_acquire))
				continue;
			double limit = atomic_load_explicit(&g->kept, memory_order_acquire)
			                       ? G.keepalive_ms
			                       : G.head_ms;
			if (now - atomic_load_explicit(&g->ready_ms, memory_order_relaxed) < limit)
				continue;
			shutdown(g->fd, SHUT_RDWR); /* MHD sees EOF and closes it */
			g->cut = true;
		}
		pthread_mutex_unlock(&G.lock);
	}
	return NULL;
}

/*
 * Starts the guard thread: heads must arrive within head_timeout_s, the next
 * request line on a kept-alive connection within keepalive_s; idle_s is
 * the MHD idle timeout the daemons were started with.
 */
int
guard_start(int head_timeout_s, int keepalive_s, int idle_s)
{
	if (G.started)
		return 0;
	G.head_ms = head_timeout_s * 1000.0;
	G.keepalive_ms = keepalive_s * 1000.0;
	G.keepalive_s = (unsigned)keepalive_s;
	G.idle_s = (unsigned)idle_s;
	atomic_store(&G.stop, false);
	if (pthread_create(&G.thread, NULL, guard_main, NULL) != 0)
		return -1;
	G.started = true;
	return 0;
}

void
guard_stop(void)
{
	if (!G.started)
		return;
	atomic_store(&G.stop, true);
	pthread_join(G.thread, NULL);
	G.started = false;
}
