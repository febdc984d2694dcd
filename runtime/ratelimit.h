/*
 * ratelimit.h -- cot_rate_limit's table (ratelimit.c): its clock and
 * reset, for tests.
 */
#ifndef COT_RATELIMIT_H
#define COT_RATELIMIT_H

/* Seconds on a monotonic clock; tests replace it. */
extern double (*ratelimit_clock)(void);
void ratelimit_reset(void);

#endif /* COT_RATELIMIT_H */
