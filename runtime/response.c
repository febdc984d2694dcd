/*
 * response.c -- the functions a handler returns with.
 *
 * A response is only recorded on the context here (status, type, body,
 * headers); server.c turns it into a libmicrohttpd response after the handler
 * returns, and error.c renders failures into the same fields. Keeping the
 * response as plain data is what lets every path -- success, cot_fail, crash,
 * compile error -- pass the same after-steps in one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "static.h"

static cot_result
response_set(cot_ctx *c, int status, const char *type, const char *body, size_t len)
{
	c->status = status;
	if (!c->content_type_fixed) /* cot_set_header's Content-Type wins */
		c->content_type = type;
	c->resp_body = body;
	c->resp_len = len;
	c->responded = true;
	c->resp_seq++;
	return (cot_result){ status };
}

static cot_result
response_vformat(cot_ctx *c, int status, const char *type, const char *fmt, va_list ap)
{
	char *body = arena_vprintf(&c->mem, fmt, ap);
	return response_set(c, status, type, body, strlen(body));
}

cot_result
cot_text(cot_ctx *c, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cot_result r = response_vformat(c, status, "text/plain; charset=utf-8", fmt, ap);
	va_end(ap);
	return r;
}

cot_result
cot_html(cot_ctx *c, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cot_result r = response_vformat(c, status, "text/html; charset=utf-8", fmt, ap);
	va_end(ap);
	return r;
}

cot_result
cot_send(cot_ctx *c, int status, const char *content_type, const void *body, size_t len)
{
	char *copy = arena_strndup(&c->mem, body != NULL ? body : "", body != NULL ? len : 0);
	return response_set(c, status, arena_strdup(&c->mem, content_type), copy, len);
}

cot_result
cot_no_content(cot_ctx *c)
{
	return response_set(c, 204, NULL, "", 0);
}

cot_result
cot_redirect(cot_ctx *c, int status, const char *location)
{
	if (status < 300 || status > 399)
		status = 303;
	cot_set_header(c, "Location", location);
	return response_set(c, status, "text/plain; charset=utf-8", "", 0);
}

/* Where static/ is served from (server_start sets it): the app's static/
 * in development, the extracted copy of the embedded one in an export. */
const char *response_static_dir;

/*
 * Opens the file cot_file sends. "static/..." is the static file /static/
 * serves (static.c decides, under the served directory: the app's static/
 * in development, the extracted copy of the embedded one in an export, which
 * has no app directory), so a handler gets the same files in both; anything
 * else is relative to the working directory. -1 with *why on failure.
 */
static int
response_open(const char *path, const char **why)
{
	if (strncmp(path, "static/", 7) != 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		*why = fd < 0 ? strerror(errno) : NULL;
		return fd;
	}
	int root = response_static_dir == NULL ? -1
	           : open(response_static_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		*why = "the app has no static files";
		return -1;
	}
	int fd = staticfile_open(root, path + 7, why);
	close(root);
	return fd;
}

/*
 * Sends the file at `path` (see cot.h) as the body, streamed from the file
 * by libmicrohttpd: a large file never sits in memory. A missing or
 * unreadable file answers 404 through the pipeline.
 */
cot_result
cot_file(cot_ctx *c, int status, const char *path, const char *content_type)
{
	const char *why = NULL;
	int fd = response_open(path, &why);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0) {
			why = strerror(EISDIR);
			close(fd);
		}
		return cot_fail(c, 404, "cannot send %s: %s", path, why);
	}
	if (c->resp_fd > 0) /* a second cot_file replaces the first */
		close(c->resp_fd);
	c->resp_fd = fd;
	c->resp_fd_off = 0;
	c->resp_fd_len = (uint64_t)st.st_size;
	return response_set(c, status, content_type != NULL ? arena_strdup(&c->mem, content_type)
	                                                    : staticfile_mime(path),
	                    NULL, (size_t)st.st_size);
}

/*
 * Content-Type is not a list header: it replaces the type the response
 * function chose (and stays for the response made later), so a handler or
 * an after hook never sends two. An error rendered afterwards picks its own.
 */
void
cot_set_header(cot_ctx *c, const char *name, const char *value)
{
	if (strcasecmp(name, "Content-Type") == 0) {
		c->content_type = arena_strdup(&c->mem, value);
		c->content_type_fixed = true;
		return;
	}
	header_kv *h = arena_alloc(&c->mem, sizeof(*h));
	h->name = arena_strdup(&c->mem, name);
	h->value = arena_strdup(&c->mem, value);
	h->next = c->resp_headers;
	c->resp_headers = h;
}

/*
 * Records the failure and renders it through the error pipeline. `file` and
 * `line` come from the cot_fail macro at the call site.
 */
cot_result
cot_fail_at(cot_ctx *c, const char *file, int line, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cot_result r = cot_vfail_at(c, file, line, status, fmt, ap);
	va_end(ap);
	return r;
}

cot_result
cot_vfail_at(cot_ctx *c, const char *file, int line, int status, const char *fmt,
             va_list ap)
{
	char *detail = arena_vprintf(&c->mem, fmt, ap);
	if (status < 400 || status > 599)
		status = 500;
	c->fail_file = arena_strdup(&c->mem, file);
	c->fail_line = line;
	c->fail_detail = detail;
	char *trace = arena_alloc(&c->mem, strlen(file) + 64);
	sprintf(trace, "%s:%d cot_fail(%d)", file, line, status);
	error_respond(c, status, detail, trace);
	return (cot_result){ status };
}
