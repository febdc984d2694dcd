/*
 * static_path.h -- static_path.c: decoding and judging a request path,
 * opening it beneath static/, and saying why not. static.c serves with it;
 * cot_file (response.c) and `cotdev export` open static files with
 * static_path_open.
 */
#ifndef COT_STATIC_PATH_H
#define COT_STATIC_PATH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The files under static/ that are the app's, by one rule for /static/,
 * cot_file("static/...") and what `cotdev export` embeds, so development
 * and an exported binary have the same ones.
 *
 * static_path_open: opens `rel` (a plain relative path, not percent-encoded)
 * under root_fd as /static/ would serve it: no ".", "..", empty or ignored
 * segments, never resolving outside root (symlinks included), a regular
 * file. Returns the fd (read-only, blocking), or -1 with *why saying why
 * (a static string).
 */
int static_path_open(int root_fd, const char *rel, const char **why);

/*
 * Whether to try openat2(RESOLVE_BENEATH) before the portable fallback
 * (default true). The fallback refuses every symlink. For tests; call before
 * any serving thread starts.
 */
void static_path_use_openat2(bool on);

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
