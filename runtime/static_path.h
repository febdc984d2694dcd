/*
 * static_path.h -- what static.c uses of static_path.c: decoding and
 * judging a request path, opening it beneath static/, and saying why not.
 */
#ifndef COT_STATIC_PATH_H
#define COT_STATIC_PATH_H

#include <stddef.h>

/*
 * Decodes the raw (percent-encoded) request path into out (cap bytes) as
 * plain segments joined by '/'. Returns NULL on success, else a reason with
 * *status set to 400 or 404.
 */
const char *static_path_decode(const char *raw, char *out, size_t cap, int *status);

/* Opens rel for reading, never resolving outside root. -1 with errno set. */
int static_path_open_beneath(int root, const char *rel);

/* A reason for a failed static_path_open_beneath, by errno. */
const char *static_path_reason(int err);

#endif
