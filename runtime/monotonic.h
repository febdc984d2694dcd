/*
 * monotonic.h -- the one clock for durations: request times, deadlines,
 * reload and export timings, rate-limit windows.
 *
 * CLOCK_MONOTONIC never jumps when the wall clock is set, so a duration is
 * never negative. Wall-clock times (log lines, Date headers) use
 * CLOCK_REALTIME where they are written. Header-only: the dev server, the
 * runtime and tests that compile one file alone all share it.
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

#endif
