/*
 * ratelimit.c -- token buckets per client IP or per key: cot_rate_limit.
 *
 *     // in a before hook (middleware) or a handler
 *     int wait = cot_rate_limit(c, "login", NULL, 10, 60); // 10 a minute per IP
 *     if (wait > 0)
 *             return cot_fail(c, 429, "too many log-in attempts: try again in %d s", wait);
 *
 * Each (scope, key, limit, period) has a bucket of `limit` tokens that
 * refills at limit/period tokens a second; a request takes one. When none is
 * left the call sets Retry-After and returns the seconds until one is back;
 * the 429 then goes through the error pipeline like any failure.
 *
 * The buckets live in the runtime, so they survive reloads, in a fixed
 * table: 4-way sets indexed by SipHash (libsodium's crypto_shorthash, with
 * a random key, so clients cannot aim at one set), under striped locks. When
 * a set is full the bucket touched longest ago is dropped, which can only
 * forgive a client, never block an innocent one. Limits are per process:
 * N exported processes allow N times the rate (README: Accounts).
 *
 * The client IP is the peer address of the connection; behind a proxy that
 * is the proxy, so key by a value the app trusts instead (e.g. the
 * proxy's X-Forwarded-For, set by your own proxy only).
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../include/cot.h"
#include "arena.h"
#include "ctx.h"
#include "monotonic.h"
#include "ratelimit.h"
#include "secret.h"

#define RATELIMIT_SETS  4096
#define RATELIMIT_WAYS  4
#define RATELIMIT_LOCKS 64

typedef struct bucket {
	uint64_t h; /* 0: empty */
	double tokens;
	double stamp; /* ratelimit_clock() of the last refill */
} bucket;

static bucket ratelimit_table[RATELIMIT_SETS][RATELIMIT_WAYS];
static pthread_mutex_t ratelimit_locks[RATELIMIT_LOCKS];
static unsigned char ratelimit_key[crypto_shorthash_KEYBYTES];
static pthread_once_t ratelimit_once = PTHREAD_ONCE_INIT;

static double
ratelimit_monotonic(void)
{
	return monotonic_ms() / 1e3;
}

double (*ratelimit_clock)(void) = ratelimit_monotonic;

static void
ratelimit_start(void)
{
	secret_sodium();
	randombytes_buf(ratelimit_key, sizeof(ratelimit_key));
	for (int i = 0; i < RATELIMIT_LOCKS; i++)
		pthread_mutex_init(&ratelimit_locks[i], NULL);
}

void
ratelimit_reset(void)
{
	pthread_once(&ratelimit_once, ratelimit_start);
	for (int i = 0; i < RATELIMIT_LOCKS; i++)
		pthread_mutex_lock(&ratelimit_locks[i]);
	memset(ratelimit_table, 0, sizeof(ratelimit_table));
	for (int i = RATELIMIT_LOCKS - 1; i >= 0; i--)
		pthread_mutex_unlock(&ratelimit_locks[i]);
}

const char *
cot_client_ip(cot_ctx *c)
{
	const union MHD_ConnectionInfo *info =
	        c->conn == NULL
	                ? NULL
	                : MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info == NULL || info->client_addr == NULL)
		return "unknown";
	char buf[INET6_ADDRSTRLEN] = "unknown";
	const struct sockaddr *sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
		          sizeof(buf));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          buf, sizeof(buf));
	return arena_strdup(&c->mem, buf);
}

/* Takes a token from the bucket h; 0, or the seconds until one is back. */
static int
ratelimit_take(uint64_t h, int limit, int per_seconds)
{
	size_t set = (size_t)(h % RATELIMIT_SETS);
	pthread_mutex_t *lock = &ratelimit_locks[set % RATELIMIT_LOCKS];
	double now = ratelimit_clock(), rate = (double)limit / per_seconds;
	pthread_mutex_lock(lock);
	bucket *b = NULL, *oldest = &ratelimit_table[set][0];
	for (int i = 0; i < RATELIMIT_WAYS && b == NULL; i++) {
		bucket *w = &ratelimit_table[set][i];
		if (w->h == h)
			b = w;
		else if (w->h == 0 || (oldest->h != 0 && w->stamp < oldest->stamp))
			oldest = w;
	}
	if (b == NULL) { /* new (or forgotten): a full bucket */
		b = oldest;
		*b = (bucket){.h = h, .tokens = limit, .stamp = now};
	}
	b->tokens += (now - b->stamp) * rate;
	if (b->tokens > limit)
		b->tokens = limit;
	b->stamp = now;
	int wait = 0;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else {
		double w = (1.0 - b->tokens) / rate; /* ceil without libm */
		wait = (int)w + ((double)(int)w < w);
	}
	pthread_mutex_unlock(lock);
	return wait > 0 ? wait : 0;
}

int
cot_rate_limit(cot_ctx *c, const char *scope, const char *key, int limit, int per_seconds)
{
	if (limit <= 0 || per_seconds <= 0)
		return 0;
	pthread_once(&ratelimit_once, ratelimit_start);
	const char *k =
	        arena_printf(&c->mem, "%s\n%s\n%s\n%d/%d", scope ? scope : "", key ? "key" : "ip",
	                     key ? key : cot_client_ip(c), limit, per_seconds);
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)k, strlen(k), ratelimit_key);
	h |= 1; /* never 0, the empty mark */
	int wait = ratelimit_take(h, limit, per_seconds);
	if (wait > 0)
		cot_set_header(c, "Retry-After", arena_printf(&c->mem, "%d", wait));
	return wait;
}
