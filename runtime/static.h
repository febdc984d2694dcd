/*
 * static.h -- decide a static file response, independent of the HTTP server.
 *
 * The server glue fills a staticfile_request from the incoming request,
 * calls staticfile_serve(), and copies the result into its own response
 * object: status, headers in order, and (fd, offset, length) as the body.
 * Nothing here knows about libmicrohttpd. See runtime/static.c for the
 * design (path checks, ETags, caching, ranges, precompressed variants).
 */
#ifndef COT_STATIC_H
#define COT_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Development revalidates every time; production caches for a year. */
enum staticfile_mode {
	STATICFILE_DEV,  /* Cache-Control: no-cache */
	STATICFILE_PROD, /* Cache-Control: public, max-age=31536000 */
};

/*
 * One request. Strings belong to the caller and need only live for the call;
 * a header the client did not send is NULL.
 */
struct staticfile_request {
	int root_fd;      /* static/, O_DIRECTORY (O_PATH is enough); caller's */
	const char *path; /* after "/static/", still percent-encoded, no query */
	const char *method; /* "GET", "HEAD", anything else gets 405 */
	enum staticfile_mode mode;
	const char *if_none_match;
	const char *if_modified_since;
	const char *if_range;
	const char *range;
	const char *accept_encoding;
};

#define STATICFILE_MAX_HEADERS 10
#define STATICFILE_HEADER_LEN 96

struct staticfile_header {
	const char *name; /* static string, e.g. "ETag" */
	char value[STATICFILE_HEADER_LEN];
};

/*
 * The decision. status is one of 200, 206, 304, 400, 404, 405, 416.
 * fd >= 0 only for 200 and 206: the body is length bytes from offset, and
 * the fd now belongs to the caller (hand it to the response object, which
 * closes it, or call staticfile_result_close). For HEAD, fd is still set so
 * the glue can build the same response; the server must not send the body
 * (libmicrohttpd omits it itself). reason is a short static string saying
 * why for every status >= 400, for the error pipeline; NULL otherwise.
 */
struct staticfile_result {
	int status;
	const char *reason;
	int fd;
	uint64_t offset;
	uint64_t length;
	bool head;
	size_t nheaders;
	struct staticfile_header headers[STATICFILE_MAX_HEADERS];
};

/* Decide the response to req. Fills *out completely; never fails. */
void staticfile_serve(const struct staticfile_request *req,
		      struct staticfile_result *out);

/* The value of header name (case-insensitive) in res, or NULL. */
const char *staticfile_header(const struct staticfile_result *res,
			      const char *name);

/* Close res->fd if it is still open and set it to -1. */
void staticfile_result_close(struct staticfile_result *res);

/* The Content-Type for a file name, by extension; a static string. */
const char *staticfile_mime(const char *name);

/*
 * The files under static/ that are the app's, by one rule for /static/,
 * cot_file("static/...") and what `cotdev export` embeds, so development
 * and an exported binary have the same ones.
 *
 * staticfile_open: opens `rel` (a plain relative path, not percent-encoded)
 * under root_fd as /static/ would serve it: no ".", "..", empty or ignored
 * segments, never resolving outside root (symlinks included), a regular
 * file. Returns the fd (read-only, blocking), or -1 with *why saying why
 * (a static string).
 */
int staticfile_open(int root_fd, const char *rel, const char **why);

/*
 * Whether to try openat2(RESOLVE_BENEATH) before the portable fallback
 * (default true). The fallback refuses every symlink. For tests; call before
 * any serving thread starts.
 */
void staticfile_use_openat2(bool on);

#endif
