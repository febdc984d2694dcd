/*
 * static.h -- decide a static file response, independent of the HTTP server.
 *
 * The server glue fills a staticfile_request from the incoming request,
 * calls static_serve(), and copies the result into its own response
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
	int root_fd;        /* static/, O_DIRECTORY (O_PATH is enough); caller's */
	const char *path;   /* after "/static/", still percent-encoded, no query */
	const char *method; /* "GET", "HEAD", anything else gets 405 */
	enum staticfile_mode mode;
	const char *if_none_match;
	const char *if_modified_since;
	const char *if_range;
	const char *range;
	const char *accept_encoding;
};

#define STATICFILE_MAX_HEADERS 10
#define STATICFILE_HEADER_LEN  96

struct static_header {
	const char *name; /* static string, e.g. "ETag" */
	char value[STATICFILE_HEADER_LEN];
};

/*
 * The decision. status is one of 200, 206, 304, 400, 404, 405, 416.
 * fd >= 0 only for 200 and 206: the body is length bytes from offset, and
 * the fd now belongs to the caller (hand it to the response object, which
 * closes it, or call static_result_close). For HEAD, fd is still set so
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
	struct static_header headers[STATICFILE_MAX_HEADERS];
};

/* Decide the response to req. Fills *out completely; never fails. */
void static_serve(const struct staticfile_request *req, struct staticfile_result *out);

/* The value of header name (case-insensitive) in res, or NULL. */
const char *static_header(const struct staticfile_result *res, const char *name);

/* Close res->fd if it is still open and set it to -1. */
void static_result_close(struct staticfile_result *res);

/* The Content-Type for a file name, by extension; a static string. */
const char *static_mime(const char *name);

#endif
