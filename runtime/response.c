/*
 * response.c -- the functions a handler returns with.
 *
 * A response is only recorded on the context here (status, type, body,
 * headers); server_response.c turns it into a libmicrohttpd response after the
 * handler returns, and error.c renders failures into the same fields. Keeping
 * the response as plain data is what lets every path -- success, cot_fail,
 * crash, compile error -- pass the same after-steps in one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "error.h"
#include "response.h"
#include "static.h"
#include "static_path.h"
#include "trace.h"

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
	return (cot_result){status};
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

/* ==== headers ========================================================== */

/* Field-name bytes (RFC 9110 5.1: a token). */
static bool
response_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* C-escaped copy of s for a message: "/x\r\nSet-Cookie" stays one line. */
static char *
response_escape(cot_ctx *c, const char *s)
{
	size_t n = strlen(s) > 200 ? 200 : strlen(s);
	char *out = arena_alloc(&c->mem, n * 4 + 4), *o = out;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\r' || ch == '\n' || ch == '\t' || ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = ch == '\r' ? 'r' : ch == '\n' ? 'n' : ch == '\t' ? 't' : (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += sprintf(o, "\\x%02x", ch);
		} else {
			*o++ = (char)ch;
		}
	}
	strcpy(o, n < strlen(s) ? "..." : "");
	return out;
}

/*
 * Why `name: value` cannot be a response header, or NULL when it can. A CR
 * or LF in a value would end the header early and let the rest of the value
 * become headers (or a body) of its own: response splitting. MHD 0.9.75
 * refuses such a header without a word, so the bug would go unseen.
 */
static const char *
response_header_problem(cot_ctx *c, const char *name, const char *value)
{
	if (name == NULL || *name == '\0')
		return "the header name is empty";
	for (const char *p = name; *p; p++)
		if (!response_tchar((unsigned char)*p))
			return arena_printf(&c->mem,
			                    "header name \"%s\" has byte 0x%02x at %ld; "
			                    "names are RFC 9110 tokens",
			                    response_escape(c, name), (unsigned char)*p,
			                    (long)(p - name));
	if (value == NULL)
		return arena_printf(&c->mem, "the value of header %s is NULL", name);
	for (const char *p = value; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return arena_printf(
			        &c->mem,
			        "the value of header %s has %s at byte %ld; "
			        "header values cannot hold CR, LF or other control bytes "
			        "(they would split the response)",
			        name,
			        ch == '\r'   ? "a CR (0x0d)"
			        : ch == '\n' ? "an LF (0x0a)"
			                     : arena_printf(&c->mem, "byte 0x%02x", ch),
			        (long)(p - value));
	}
	return NULL;
}

/*
 * Adds a header, or -- when it could not be sent as given -- fails the
 * request with a 500 whose trace names `call` and the line that made it.
 * Returns 0 or -1.
 */
static int
response_header(cot_ctx *c, const char *file, int line, const char *call, const char *name,
                const char *value)
{
	const char *why = response_header_problem(c, name, value);
	if (why == NULL && strcasecmp(name, "Content-Type") == 0) {
		/* not a list header: it replaces the type the response function
		 * chose (and stays for the response made later), so a handler or an
		 * after hook never sends two; an error rendered afterwards picks its
		 * own */
		c->content_type = arena_strdup(&c->mem, value);
		c->content_type_fixed = true;
		return 0;
	}
	if (why == NULL) {
		header_kv *h = arena_alloc(&c->mem, sizeof(*h));
		h->name = arena_strdup(&c->mem, name);
		h->value = arena_strdup(&c->mem, value);
		h->next = c->resp_headers;
		c->resp_headers = h;
		return 0;
	}
	if (c->reject_status == 0) {
		c->reject_status = 500;
		c->reject_detail = arena_printf(&c->mem, "%s: %s", call, why);
		c->reject_trace =
		        trace_call_at(c, file, line,
		                      arena_printf(&c->mem, "%s(c, \"%s\", \"%s\")", call,
		                                   name ? response_escape(c, name) : "(null)",
		                                   value ? response_escape(c, value) : "(null)"));
	}
	return -1;
}

void
cot_set_header_at(cot_ctx *c, const char *file, int line, const char *name, const char *value)
{
	response_header(c, file, line, "cot_set_header", name, value);
}

/* The parentheses keep cot.h's macro of the same name out of the
 * definition; clang-format would glue them to the return type. */
/* clang-format off */
void
(cot_set_header)(cot_ctx *c, const char *name, const char *value)
{
	response_header(c, NULL, 0, "cot_set_header", name, value);
}
/* clang-format on */

cot_result
cot_no_content(cot_ctx *c)
{
	return response_set(c, 204, NULL, "", 0);
}

cot_result
cot_redirect_at(cot_ctx *c, const char *file, int line, int status, const char *location)
{
	if (status < 300 || status > 399)
		status = 303;
	if (response_header(c, file, line, "cot_redirect", "Location", location) != 0)
		return (cot_result){500};
	return response_set(c, status, "text/plain; charset=utf-8", "", 0);
}

/* clang-format off */
cot_result
(cot_redirect)(cot_ctx *c, int status, const char *location)
{
	return cot_redirect_at(c, NULL, 0, status, location);
}
/* clang-format on */

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
	int root = response_static_dir == NULL
	                   ? -1
	                   : open(response_static_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		*why = "the app has no static files";
		return -1;
	}
	int fd = static_path_open(root, path + 7, why);
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
	return response_set(c, status,
	                    content_type != NULL ? arena_strdup(&c->mem, content_type)
	                                         : static_mime(path),
	                    NULL, (size_t)st.st_size);
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
cot_vfail_at(cot_ctx *c, const char *file, int line, int status, const char *fmt, va_list ap)
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
	return (cot_result){status};
}

/* Whether the response has a header `name` (any case) so far. */
bool
response_has_header(const cot_ctx *c, const char *name)
{
	for (const header_kv *h = c->resp_headers; h != NULL; h = h->next)
		if (strcasecmp(h->name, name) == 0)
			return true;
	return false;
}
