/*
 * server_request_id.c -- every request's id (X-Request-Id): the client's
 * when it is made of safe characters, else 16 random hex digits.
 *
 * The id goes into the response header, the access log and error pages, so
 * a user's report can be matched to the server's log line.
 */
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "ctx.h"
#include "server_internal.h"

static _Thread_local uint64_t server_rng_state;

static uint64_t
server_rand64(void)
{
	if (server_rng_state == 0) {
		if (getrandom(&server_rng_state, sizeof(server_rng_state), 0) !=
		    (ssize_t)sizeof(server_rng_state))
			server_rng_state =
			        (uint64_t)(uintptr_t)&server_rng_state ^ 0x9e3779b97f4a7c15u;
		server_rng_state |= 1;
	}
	/* xorshift64*: ids need to be unique-ish, not secret. */
	server_rng_state ^= server_rng_state >> 12;
	server_rng_state ^= server_rng_state << 25;
	server_rng_state ^= server_rng_state >> 27;
	return server_rng_state * 0x2545F4914F6CDD1Du;
}

/* Accepts an incoming X-Request-Id made of safe characters, else makes one. */
void
server_request_id(cot_ctx *c)
{
	const char *in = cot_header(c, "X-Request-Id");
	if (in != NULL) {
		size_t n = strlen(in);
		bool ok = n > 0 && n < sizeof(c->request_id);
		for (size_t i = 0; ok && i < n; i++)
			ok = (in[i] >= '0' && in[i] <= '9') || (in[i] >= 'a' && in[i] <= 'z') ||
			     (in[i] >= 'A' && in[i] <= 'Z') || in[i] == '-' || in[i] == '_' ||
			     in[i] == '.';
		if (ok) {
			memcpy(c->request_id, in, n + 1);
			return;
		}
	}
	static const char hex[] = "0123456789abcdef";
	uint64_t r = server_rand64(); /* no snprintf: this runs for every request */
	for (int i = 15; i >= 0; i--, r >>= 4)
		c->request_id[i] = hex[r & 15];
	c->request_id[16] = '\0';
}
