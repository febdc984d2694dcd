/*
 * pool.h -- the handler pool: fixed threads and a bounded queue that run
 * requests off libmicrohttpd's polling threads (see pool.c, server_pool.c).
 */
#ifndef COT_POOL_H
#define COT_POOL_H

/* A job; returns non-zero when its thread was abandoned by the watchdog
 * (pool_replace ran for it): the thread then ends. */
typedef int (*pool_fn)(void *arg);

/* Starts `threads` threads and a queue of `queue` jobs; 0 or -1. */
int pool_start(int threads, int queue);
/* Reserves room for one job: 0, or -1 when the queue is full or stopping. */
int pool_reserve(void);
/* Queues a job in the room pool_reserve gave; never fails. */
void pool_push(pool_fn fn, void *arg);
/* Watchdog: a pool thread is stuck in a job; start one in its place. */
void pool_replace(void);
/* Jobs waiting for a thread. */
int pool_queued(void);
/* Runs what is queued, then ends the threads; waits at most timeout_ms.
 * 0 when every thread but stuck ones ended; -1 otherwise. */
int pool_stop(int timeout_ms);

#endif /* COT_POOL_H */
