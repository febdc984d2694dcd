/*
 * compress.c -- gzip (zlib) for text responses a handler built in memory.
 *
 * Pages and JSON compress 4-10x, which matters more than the CPU on any
 * link slower than loopback. Only bodies in memory are compressed here;
 * static files are compressed once, not per request: static.c serves a
 * name.gz (or .br) sibling that is at least as new as the file, and the
 * exported binary writes those siblings for its embedded text files when
 * it starts (app_main.c).
 *
 * gzip only. Measured on the template's CSS and pages together (14.6 KB,
 * Debian 12's zlib and libbrotli, one run): gzip level 5 gives 4563 bytes
 * in about 106 us; brotli quality 5 gives 4291 bytes (6% smaller) in
 * 180-360 us, quality 11 3847 bytes (16% smaller) in 23 ms. For responses
 * made per request that is not worth a second library; for static files an
 * app can ship .br siblings, which static.c serves.
 *
 * Each thread keeps its deflate state and resets it per response: zlib's
 * state is about 256 KB, and allocating it per call made glibc grow and
 * trim the heap every time (4 brk calls and fresh page faults: 1.7 ms a
 * call instead of 106 us, measured).
 *
 * "Vary: Accept-Encoding" goes on every response that could have been
 * compressed, also when this client did not ask, so a shared cache never
 * hands gzip to a client that cannot read it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "accept.h"
#include "arena.h"
#include "compress.h"
#include "ctx.h"
#include "response.h"

/* Level 5: on the same 14.6 KB zlib gave 4565 bytes at level 5, 4557 at 6
 * and 4559 at 9, in 84, 95 and 105 us (one run, through Python): the size
 * stops shrinking past 5, the time does not stop growing. */
#define COMPRESS_LEVEL 5

bool
compress_type(const char *ct)
{
	if (ct == NULL)
		return false;
	if (strncasecmp(ct, "text/", 5) == 0)
		return true;
	static const char *const types[] = {
	        "application/json",          "application/problem+json",
	        "application/javascript",    "application/xml",
	        "application/xhtml+xml",     "application/ld+json",
	        "application/manifest+json", "image/svg+xml",
	};
	size_t n = strcspn(ct, "; ");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (n == strlen(types[i]) && strncasecmp(ct, types[i], n) == 0)
			return true;
	/* structured syntax suffixes: application/vnd.x+json */
	return (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0) ||
	       (n > 4 && strncasecmp(ct + n - 4, "+xml", 4) == 0);
}

static pthread_key_t compress_key;
static pthread_once_t compress_once = PTHREAD_ONCE_INIT;

static void
compress_stream_free(void *arg)
{
	deflateEnd(arg);
	free(arg);
}

static void
compress_key_init(void)
{
	pthread_key_create(&compress_key, compress_stream_free);
}

/* The calling thread's deflate state, reset for a new gzip stream. */
static z_stream *
compress_stream(void)
{
	pthread_once(&compress_once, compress_key_init);
	z_stream *z = pthread_getspecific(compress_key);
	if (z != NULL)
		return deflateReset(z) == Z_OK ? z : NULL;
	z = calloc(1, sizeof(*z));
	/* 15 + 16: a gzip wrapper, not zlib's */
	if (z == NULL ||
	    deflateInit2(z, COMPRESS_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return NULL;
	}
	pthread_setspecific(compress_key, z);
	return z;
}

/* Deflates in[0..len) as gzip into out[0..cap); the size, or 0 if it did
 * not fit or did not shrink. */
static size_t
compress_into(const void *in, size_t len, unsigned char *out, size_t cap)
{
	z_stream *z = compress_stream();
	if (z == NULL)
		return 0;
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	int rc = deflate(z, Z_FINISH);
	size_t n = z->total_out;
	return rc == Z_STREAM_END && n < len ? n : 0;
}

/* The most gzip can take for len bytes (zlib's deflateBound plus the gzip
 * header and trailer it does not count for a raw stream). */
static size_t
compress_bound(size_t len)
{
	return compressBound((uLong)len) + 18;
}

unsigned char *
compress_gzip(const void *in, size_t len, size_t *outlen)
{
	size_t cap = compress_bound(len);
	unsigned char *out = malloc(cap);
	if (out != NULL && (*outlen = compress_into(in, len, out, cap)) == 0) {
		free(out);
		out = NULL;
	}
	return out;
}

void
compress_response(cot_ctx *c, size_t app_len)
{
	if (c->resp_fd > 0 || app_len < COMPRESS_MIN_BYTES || c->resp_body == NULL ||
	    c->status < 200 || c->status == 204 || c->status == 206 || c->status == 304 ||
	    c->resp_len > (size_t)UINT32_MAX || !compress_type(c->content_type) ||
	    response_has_header(c, "Content-Encoding"))
		return;
	cot_set_header(c, "Vary", "Accept-Encoding");
	if (accept_q(cot_header(c, "Accept-Encoding"), "gzip", "x-gzip") <= 0)
		return;
	size_t cap = compress_bound(c->resp_len);
	unsigned char *out = arena_alloc(&c->mem, cap);
	size_t n = out ? compress_into(c->resp_body, c->resp_len, out, cap) : 0;
	if (n == 0)
		return; /* did not shrink: the identity body is the better answer */
	c->resp_body = (const char *)out;
	c->resp_len = n;
	cot_set_header(c, "Content-Encoding", "gzip");
}
