/*
 * pool.c -- a few threads that run handlers off libmicrohttpd's polling
 * threads.
 *
 * Each MHD worker thread polls many connections and, by default, runs their
 * handlers itself: a handler that blocks (argon2id for 50-100 ms, a remote
 * call, a lock) stalls every other connection of that worker (bench_password:
 * p50 of a plain GET 0.5 ms -> 225 ms while another client logged in).
 * server_pool.c suspends such a request's connection and hands the request
 * here; a pool thread runs it and resumes the connection.
 *
 * Fixed threads and a bounded queue, on purpose: a burst of slow requests
 * waits in the queue instead of starting a thread each (memory and cores
 * are what the pool protects), and past the queue's bound the server says
 * 503 with Retry-After at once -- a client told to come back is better off
 * than one whose request waits behind hundreds of others until it times out.
 *
 * Slots are reserved before a job is pushed (pool_reserve, then pool_push):
 * the caller must suspend the connection between the two, since a pool
 * thread may resume it the moment the job is queued, and it must know
 * before suspending whether there is room.
 *
 * A thread stuck in a handler is given up on by the watchdog (crash.c):
 * pool_replace starts another in its place, and the stuck thread ends when
 * (if ever) its job returns, so the pool keeps its size.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../include/cot.h"
#include "monotonic.h"
#include "pool.h"

typedef struct pool_job {
	pool_fn fn;
	void *arg;
} pool_job;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job was pushed, or stop */
	pthread_cond_t gone; /* a thread ended */
	pool_job *ring;
	int cap, head, count, reserved;
	int threads;         /* running, stuck ones included */
	int stuck;           /* of those: abandoned, not yet back */
	pthread_t *joinable; /* started and never abandoned: pool_stop joins */
	int njoinable;
	bool started, stopping;
} P = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .work = PTHREAD_COND_INITIALIZER,
       .gone = PTHREAD_COND_INITIALIZER};

const int cot_offload_marker = 1; /* see COT_OFFLOAD in cot.h */

/* Takes thread t off the list pool_stop joins. Called with P.lock held. */
static void
pool_forget(pthread_t t)
{
	for (int i = 0; i < P.njoinable; i++)
		if (pthread_equal(P.joinable[i], t)) {
			P.joinable[i] = P.joinable[--P.njoinable];
			return;
		}
}

static void *
pool_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&P.lock);
	for (;;) {
		while (P.count == 0 && !P.stopping)
			pthread_cond_wait(&P.work, &P.lock);
		if (P.count == 0) /* stopping, and nothing left to run */
			break;
		pool_job j = P.ring[P.head];
		P.head = (P.head + 1) % P.cap;
		P.count--;
		pthread_mutex_unlock(&P.lock);
		bool abandoned = j.fn(j.arg) != 0;
		pthread_mutex_lock(&P.lock);
		if (abandoned) { /* replaced meanwhile: this thread is one too many */
			P.stuck--;
			pool_forget(pthread_self());
			pthread_detach(pthread_self());
			break;
		}
	}
	P.threads--;
	pthread_cond_broadcast(&P.gone);
	pthread_mutex_unlock(&P.lock);
	return NULL;
}

/*
 * A pool thread with the signals main waits for blocked (it inherits the
 * mask of its creator, which may be the watchdog). Joinable: pool_stop
 * joins it, so its thread-local state (its database connection, its
 * alternate signal stack) is gone before the process tears down what it
 * used. Called with P.lock held.
 */
static int
pool_spawn(void)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pthread_t *nj = realloc(P.joinable, (size_t)(P.njoinable + 1) * sizeof(pthread_t));
	if (nj == NULL)
		return -1;
	P.joinable = nj;
	int rc = pthread_create(&P.joinable[P.njoinable], NULL, pool_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	P.njoinable++;
	P.threads++;
	return 0;
}

int
pool_start(int threads, int queue)
{
	pthread_mutex_lock(&P.lock);
	int rc = 0;
	if (!P.started) {
		P.cap = queue > 0 ? queue : 1;
		P.ring = calloc((size_t)P.cap, sizeof(pool_job));
		P.head = P.count = P.reserved = P.stuck = 0;
		P.stopping = false;
		for (int i = 0; P.ring != NULL && i < threads && rc == 0; i++)
			rc = pool_spawn();
		if (P.ring == NULL || P.threads == 0)
			rc = -1;
		P.started = rc == 0;
	}
	pthread_mutex_unlock(&P.lock);
	return rc;
}

int
pool_reserve(void)
{
	pthread_mutex_lock(&P.lock);
	bool room = P.started && !P.stopping && P.count + P.reserved < P.cap;
	if (room)
		P.reserved++;
	pthread_mutex_unlock(&P.lock);
	return room ? 0 : -1;
}

void
pool_push(pool_fn fn, void *arg)
{
	pthread_mutex_lock(&P.lock);
	P.reserved--;
	P.ring[(P.head + P.count) % P.cap] = (pool_job){fn, arg};
	P.count++;
	pthread_cond_signal(&P.work);
	pthread_mutex_unlock(&P.lock);
}

void
pool_replace(void)
{
	pthread_mutex_lock(&P.lock);
	P.stuck++;
	if (!P.stopping && pool_spawn() != 0)
		fprintf(stderr, "cot: cannot start a pool thread in place of a stuck one\n");
	pthread_mutex_unlock(&P.lock);
}

int
pool_queued(void)
{
	pthread_mutex_lock(&P.lock);
	int n = P.count;
	pthread_mutex_unlock(&P.lock);
	return n;
}

int
pool_stop(int timeout_ms)
{
	pthread_mutex_lock(&P.lock);
	if (!P.started) {
		pthread_mutex_unlock(&P.lock);
		return 0;
	}
	P.stopping = true;
	pthread_cond_broadcast(&P.work);
	struct timespec until = monotonic_cond_deadline(timeout_ms);
	/* the queue empties first: every queued job still runs and resumes
	 * its connection, which MHD_stop_daemon requires */
	while (P.threads > P.stuck && pthread_cond_timedwait(&P.gone, &P.lock, &until) == 0)
		;
	int rc = P.threads > P.stuck || P.count > 0 ? -1 : 0;
	if (rc != 0 || P.stuck > 0) {
		/* a stuck thread is still on the list (it leaves it when its call
		 * returns) and would never be joined; the process ends without it */
		pthread_mutex_unlock(&P.lock);
		return rc;
	}
	/* every thread has left its loop: join them */
	pthread_t *join = P.joinable;
	int njoin = P.njoinable;
	P.joinable = NULL;
	P.njoinable = 0;
	pthread_mutex_unlock(&P.lock);
	for (int i = 0; i < njoin; i++)
		pthread_join(join[i], NULL);
	free(join);
	pthread_mutex_lock(&P.lock);
	if (P.threads == 0) {
		free(P.ring);
		P.ring = NULL;
		P.started = false;
	}
	pthread_mutex_unlock(&P.lock);
	return 0;
}
