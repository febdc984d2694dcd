/*
 * server.c -- starting and stopping the libmicrohttpd server: the listening
 * socket, the daemons and their options, the defaults of server_config.
 *
 * The server is split by concern (server_internal.h lists the files): a
 * request's life is in server_access.c, routing in server_dispatch.c, the
 * response in server_response.c, the handler pool in server_pool.c, stuck
 * handlers in server_stuck.c, draining in server_drain.c.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accesslog.h"
#include "body.h"
#include "crash.h"
#include "error.h"
#include "guard.h"
#include "limit.h"
#include "monotonic.h"
#include "pool.h"
#include "response.h"
#include "server_internal.h"

#define SERVER_DEFAULT_MAX_BODY       (10u * 1024 * 1024)
#define SERVER_DEFAULT_HEAD_TIMEOUT_S 10
#define SERVER_DEFAULT_KEEPALIVE_S    75 /* above nginx's 60 s for upstream connections */
#define SERVER_DEFAULT_IDLE_S         30
#define SERVER_POOL_THREADS           8   /* --pool-threads */
#define SERVER_POOL_QUEUE             256 /* --pool-queue */

server *server_current; /* for the watchdog's abandon hook */

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
struct MHD_Daemon *
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
