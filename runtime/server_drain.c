/*
 * server_drain.c -- the way out of a running server: wait for the stop
 * signal, stop accepting, answer what is in flight, then server_stop.
 *
 * The mains call server_wait_stop, server_drain_delay (a proxy still
 * sending on an open connection gets its answer, "Connection: close"),
 * server_drain (the requests in flight complete) and server_stop.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "accesslog.h"
#include "crash.h"
#include "monotonic.h"
#include "server_internal.h"

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

/*
 * Stops accepting connections and waits up to timeout_ms for the requests
 * in flight to complete (their responses fully sent). A signal in
 * `interrupt` (a second SIGTERM or Ctrl-C; NULL: none) ends the wait at
 * once. Returns how many were still running. Call server_stop afterwards.
 */
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
