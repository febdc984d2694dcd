/*
 * monotonic.h -- the one clock for durations: request times, deadlines,
 * reload and export timings, rate-limit windows.
 *
 * CLOCK_MONOTONIC never jumps when the wall clock is set, so a duration is
 * never negative. Wall-clock times (log lines, Date headers) use
 * CLOCK_REALTIME where they are written, and so do the absolute deadlines
 * pthread_cond_timedwait takes (monotonic_cond_deadline). Header-only: the dev
 * server, the runtime and tests that compile one file alone all share it.
 */
#ifndef COT_MONOTONIC_H
#define COT_MONOTONIC_H

#include <time.h>

/* Milliseconds since an arbitrary fixed point; only differences mean anything. */
static inline double
monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The absolute time ms milliseconds from now, on the clock a default
 * pthread_cond_timedwait reads (CLOCK_REALTIME). */
static inline struct timespec
monotonic_cond_deadline(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

#endif
