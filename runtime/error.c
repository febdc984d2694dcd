/*
 * error.c -- the one error pipeline.
 *
 * Whatever fails -- cot_fail, a compile error, a missing route, a bad request
 * -- ends up in error_respond, which records the error on the context as an
 * ordinary response. server_response.c then sends it through the same
 * after-steps as a success (request id, log line). The body is chosen by what
 * the client accepts:
 *   - application/problem+json (RFC 9457) for JSON clients,
 *   - an HTML page for browsers,
 *   - text/plain otherwise (curl's default Accept is * / *).
 * In development the trace goes to the client; in production only the status
 * and request id do, and the trace goes to the log.
 *
 * Each error is also recorded as a cot_error (status, code, message, field
 * errors, request id) that after hooks read with cot_response_error: the
 * app's COT_ERRORS hook can replace the body with its own shape.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctx.h"
#include "error.h"
#include "html.h"

/* Development: error responses carry details and traces. server.c sets it
 * from its config before serving; it lives here, where it is read, so that
 * the error pipeline needs nothing of the server. */
bool error_dev_mode;

enum error_format { FORMAT_TEXT, FORMAT_HTML, FORMAT_JSON };

const char *
error_title(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 421:
		return "Misdirected Request";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status >= 500 ? "Server Error" : "Client Error";
	}
}

/* q-value of one media range parameter list ("q=0.5;level=1"), 1 if none. */
static double
error_qvalue(const char *params, size_t len)
{
	const char *p = params, *end = params + len;
	while (p < end) {
		while (p < end && (*p == ';' || *p == ' '))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
			return strtod(p + 2, NULL);
		while (p < end && *p != ';')
			p++;
	}
	return 1.0;
}

/* How well `range` ("text/html", "text/ *", "* / *") matches `type`. */
static int
error_range_matches(const char *range, size_t rlen, const char *type)
{
	if (rlen == 3 && memcmp(range, "*/*", 3) == 0)
		return 1;
	const char *slash = strchr(type, '/');
	size_t major = (size_t)(slash - type);
	if (rlen == major + 2 && strncasecmp(range, type, major) == 0 &&
	    memcmp(range + major, "/*", 2) == 0)
		return 2;
	if (rlen == strlen(type) && strncasecmp(range, type, rlen) == 0)
		return 3;
	return 0;
}

/*
 * The q-value the Accept header gives `type`: the most specific matching
 * range decides (RFC 9110 12.5.1).
 */
static double
error_accept_q(const char *accept, const char *type)
{
	double q = 0;
	int best = 0;
	const char *p = accept;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		const char *item = p;
		while (*p != '\0' && *p != ',')
			p++;
		size_t ilen = (size_t)(p - item);
		const char *semi = memchr(item, ';', ilen);
		size_t rlen = semi ? (size_t)(semi - item) : ilen;
		while (rlen > 0 && item[rlen - 1] == ' ')
			rlen--;
		int spec = error_range_matches(item, rlen, type);
		if (spec > best) {
			best = spec;
			q = semi ? error_qvalue(semi, ilen - (size_t)(semi - item)) : 1.0;
		}
	}
	return q;
}

/* Picks the error body format from the Accept header. */
static enum error_format
error_negotiate(const char *accept)
{
	if (accept == NULL || *accept == '\0')
		return FORMAT_TEXT;
	double json = error_accept_q(accept, "application/problem+json");
	double json2 = error_accept_q(accept, "application/json");
	double html = error_accept_q(accept, "text/html");
	double text = error_accept_q(accept, "text/plain");
	if (json2 > json)
		json = json2;
	/* A bare * / * (curl) gets text: it is what a terminal reads best. */
	if (text >= json && text >= html && text > 0)
		return FORMAT_TEXT;
	if (html > json)
		return FORMAT_HTML;
	if (json > 0)
		return FORMAT_JSON;
	return FORMAT_TEXT;
}

const char *
error_code_for(int status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 408:
		return "timeout";
	case 409:
		return "conflict";
	case 413:
		return "too_large";
	case 414:
		return "uri_too_long";
	case 415:
		return "unsupported_media_type";
	case 422:
		return "invalid";
	case 429:
		return "too_many_requests";
	case 431:
		return "headers_too_large";
	case 500:
		return "internal";
	case 503:
		return "unavailable";
	default:
		return "error";
	}
}

/* "errors": {"field": ["message", ...], ...} in the order fields came. */
static json_t *
error_fields_json(const cot_error *e)
{
	json_t *errors = json_object();
	for (int i = 0; errors != NULL && i < e->nfields; i++) {
		json_t *list = json_object_get(errors, e->fields[i].field);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(errors, e->fields[i].field, list);
		}
		json_array_append_new(list, json_string(e->fields[i].message));
	}
	return errors;
}

static void
error_render_json(cot_ctx *c, int status, const char *detail, const char *trace)
{
	json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "about:blank", "title",
	                      error_title(status), "status", status, "code",
	                      c->err.code ? c->err.code : error_code_for(status), "instance",
	                      c->path ? c->path : "", "request_id", c->request_id);
	if (j == NULL)
		return;
	if (detail != NULL)
		json_object_set_new(j, "detail", json_string(detail));
	if (c->err.nfields > 0)
		json_object_set_new(j, "errors", error_fields_json(&c->err));
	if (trace != NULL && error_dev_mode) {
		json_t *lines = json_array();
		const char *p = trace;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			json_array_append_new(lines, json_stringn(p, len));
			p += len + (nl ? 1 : 0);
		}
		json_object_set_new(j, "trace", lines);
	}
	char *s = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (s == NULL)
		return;
	c->resp_body = arena_strdup(&c->mem, s);
	c->resp_len = strlen(s);
	free(s);
	c->content_type = "application/problem+json";
}

char *(*error_page_hook)(cot_ctx *c, int status, const char *detail);

static void
error_render_html(cot_ctx *c, int status, const char *detail, const char *trace)
{
	arena *a = &c->mem;
	/* The app's page, unless development has a trace to show. */
	char *page = error_page_hook != NULL && !(trace && error_dev_mode)
	                     ? error_page_hook(c, status, detail)
	                     : NULL;
	if (page != NULL) {
		c->resp_body = page;
		c->resp_len = strlen(page);
		c->content_type = "text/html; charset=utf-8";
		return;
	}
	const char *d = detail ? html_escape(a, detail) : "";
	const char *t = (trace && error_dev_mode) ? html_escape(a, trace) : NULL;
	char *body = arena_printf(
	        a,
	        "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
	        "<title>%d %s</title><style>"
	        "body{font:15px/1.5 system-ui,sans-serif;margin:2rem "
	        "auto;max-width:60rem;padding:0 1rem;color:#222}"
	        "h1{color:#b00020}pre{background:#fff4f4;border-left:4px solid "
	        "#b00020;padding:1rem;overflow:auto}"
	        "small{color:#666}</style></head>\n<body><h1>%d %s</h1>\n<p>%s</p>\n%s%s%s"
	        "<p><small>request %s</small></p>\n</body></html>\n",
	        status, error_title(status), status, error_title(status), d,
	        t ? "<pre class=\"cot-trace\">" : "", t ? t : "", t ? "</pre>\n" : "",
	        c->request_id);
	c->resp_body = body;
	c->resp_len = strlen(body);
	c->content_type = "text/html; charset=utf-8";
}

static void
error_render_text(cot_ctx *c, int status, const char *detail, const char *trace)
{
	bool show = trace != NULL && error_dev_mode;
	/* a trace that opens with the detail line need not repeat it */
	size_t dlen = detail ? strlen(detail) : 0;
	if (show && dlen > 0 && strncmp(trace, detail, dlen) == 0 && trace[dlen] == '\n')
		trace += dlen + 1;
	char *body =
	        arena_printf(&c->mem, "%d %s%s%s\n%s%srequest %s\n", status, error_title(status),
	                     detail ? ": " : "", detail ? detail : "", show ? trace : "",
	                     show && trace[strlen(trace) - 1] != '\n' ? "\n" : "", c->request_id);
	c->resp_body = body;
	c->resp_len = strlen(body);
	c->content_type = "text/plain; charset=utf-8";
}

/* Records the error after hooks see (cot_response_error). */
static void
error_record(cot_ctx *c, int status, const char *code, const char *detail, const char *trace)
{
	bool fields = (status == 400 || status == 422) && c->nfields > 0;
	c->err = (cot_error){
	        .status = status,
	        .code = code ? code : error_code_for(status),
	        .message = detail,
	        .fields = fields ? c->fields : NULL,
	        .nfields = fields ? c->nfields : 0,
	        .request_id = c->request_id,
	        .trace = error_dev_mode ? trace : NULL,
	};
	c->err_seq = ++c->resp_seq;
}

const cot_error *
cot_response_error(cot_ctx *c)
{
	if (c->err.status == 0 || (c->err_seq != c->resp_seq && c->status < 400))
		return NULL;
	return &c->err;
}

void
error_respond(cot_ctx *c, int status, const char *detail, const char *trace)
{
	error_respond_as(c, status, NULL, detail, trace);
}

void
error_respond_as(cot_ctx *c, int status, const char *code, const char *detail, const char *trace)
{
	error_record(c, status, code, detail, trace);
	if (c->resp_fd > 0) { /* a file the handler chose before failing */
		close(c->resp_fd);
		c->resp_fd = 0;
	}
	c->status = status;
	c->responded = true;
	c->resp_body = NULL;
	/* kept past this call (the dev console reads it when the request ends):
	 * a copy, since callers may pass a buffer of their own stack */
	c->error_trace = trace != NULL ? arena_strdup(&c->mem, trace) : NULL;
	c->content_type_fixed = false;                /* the error body has its own type */
	const char *accept = cot_header(c, "Accept"); /* unit tests: c->req_headers */
	switch (error_negotiate(accept)) {
	case FORMAT_JSON:
		error_render_json(c, status, detail, trace);
		break;
	case FORMAT_HTML:
		error_render_html(c, status, detail, trace);
		break;
	default:
		error_render_text(c, status, detail, trace);
		break;
	}
	if (c->resp_body == NULL)
		error_render_text(c, status, detail, trace);
}
