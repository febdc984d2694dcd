/*
 * compress.h -- gzip for responses built in memory (compress.c).
 */
#ifndef COT_COMPRESS_H
#define COT_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "../include/cot.h"

/* Smallest body worth compressing: below it gzip's header and the CPU
 * cost more than the bytes saved (nginx's gzip_min_length is 20; 1 KB is
 * where savings start to pay for the work on loopback-fast links). */
#define COMPRESS_MIN_BYTES 1024

/* Whether a Content-Type names text worth compressing (not images, archives
 * or anything already compressed). */
bool compress_type(const char *content_type);

/*
 * Gzips c's in-memory body in place (in the request arena) when the client
 * accepts gzip, the type is text, the body is large enough and the handler
 * did not set a Content-Encoding itself; adds Content-Encoding and Vary.
 * A file response (cot_file) and 1xx/204/206/304 stay. app_len is the
 * body's length as the app made it: the size threshold applies to that, so
 * what the dev server adds to a page (its script) changes nothing.
 */
void compress_response(cot_ctx *c, size_t app_len);

/* gzip of in[0..len) into a malloc'd buffer; NULL if it does not shrink. */
unsigned char *compress_gzip(const void *in, size_t len, size_t *outlen);

#endif
