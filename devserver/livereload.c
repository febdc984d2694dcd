/*
 * livereload.c -- SSE events, injected script, browser error overlay.
 *
 * Every open page of the app holds one EventSource on /_cot/events. MHD runs
 * a thread pool and a callback that blocks would stall every connection of
 * its worker, so a stream never waits inside MHD: its response is a content
 * reader (MHD_create_response_from_callback). When the reader has nothing to
 * send it suspends the connection (MHD_suspend_connection) and returns 0;
 * MHD then leaves the socket alone. An event appends its text to every
 * client's queue and resumes the suspended ones, and MHD calls the reader
 * again on the connection's own worker thread.
 *
 * Lock discipline: `LR.lock` guards the client list, each client's queue
 * and `suspended` flag. The reader suspends with the lock held, so a
 * broadcast that sees `suspended` knows the suspension has happened; the
 * broadcast clears the flag under the lock and calls MHD_resume_connection
 * after unlocking, so we never hold our lock while MHD takes its own on a
 * path that calls back into us. A suspended connection cannot be closed by
 * MHD, and only the thread that cleared `suspended` resumes it, so the
 * pointer stays valid until that call.
 *
 * A suspended connection does not notice a vanished client, so a heartbeat
 * thread writes an SSE comment every LR_HEARTBEAT_S seconds; the write to a
 * dead socket fails, MHD closes the connection and frees the response, and
 * the free callback unlinks the client. livereload_shutdown resumes all
 * streams and makes the reader end them: MHD_stop_daemon must not find
 * suspended connections.
 *
 * Events: `reload`, `css`, `compile-error` and `fail` (see overlay.js), and
 * the dev console's `request` and `replay` (console_requests.c), sent
 * through livereload_send on the same stream. The compile error event is
 * not called "error": EventSource fires its own connection-error handler
 * for a server event of that name.
 *
 * Every open page gets every event; the page decides whether one concerns
 * it. The handshake is the injected script tag: it names the handler file
 * that served the page and each template the response read (c->rendered,
 * noted by render.c), and the method and status of the request. A `reload`
 * for one of those files makes the page refetch itself (header X-Cot-Live:
 * 1, which keeps the refetch out of the access log and out of `fail` events)
 * and morph its DOM in place; other pages do nothing. A file that declares
 * middleware concerns every page ("all": true). Header files need nothing
 * here: the reloader recompiles the handlers that include one and sends a
 * `reload` for each of them.
 *
 * The current compile errors are kept per file, so a page that connects
 * while a handler is broken (the 500 page of that route, or any other page)
 * gets them at once and shows the overlay. The script itself is
 * devserver/overlay.js with devserver/morph.js, embedded at build time as
 * build/livereload_js.h.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include "../runtime/ctx.h"
#include "../runtime/html.h"
#include "../runtime/middleware.h"
#include "livereload.h"
#include "reloader.h"

#include "../build/livereload_js.h" /* static const char livereload_js[] */

#define LR_HEARTBEAT_S   15
#define LR_QUEUE_MAX     (1u << 20) /* a client this far behind loses events */
#define LR_MAX_ERRORS    256
#define LR_EXCERPT_LINES 3 /* source lines shown on each side */

typedef struct lr_client {
	TAILQ_ENTRY(lr_client) link;
	struct MHD_Connection *conn;
	char *buf; /* queued bytes [off, len) */
	size_t off, len, cap;
	bool suspended; /* we suspended it and nobody resumed it yet */
} lr_client;

typedef struct lr_error {
	char *file; /* handler file that failed to compile */
	char *json; /* the `compile-error` event's data */
} lr_error;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* heartbeat sleeps on it; shutdown signals */
	TAILQ_HEAD(, lr_client) clients;
	lr_error errors[LR_MAX_ERRORS];
	int nerrors;
	bool closing;
	bool heart_started;
	pthread_t heart;
} LR = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
        .clients = TAILQ_HEAD_INITIALIZER(LR.clients),
};

/* ==== client queues ==================================================== */

/* Appends `n` bytes to a client's queue. LR.lock held. */
static void
livereload_append(lr_client *cl, const char *s, size_t n)
{
	if (cl->off == cl->len)
		cl->off = cl->len = 0;
	if (cl->len - cl->off + n > LR_QUEUE_MAX)
		return;
	if (cl->len + n > cl->cap) {
		size_t cap = cl->cap ? cl->cap : 1024;
		while (cap < cl->len + n)
			cap *= 2;
		char *nb = realloc(cl->buf, cap);
		if (nb == NULL)
			return;
		cl->buf = nb;
		cl->cap = cap;
	}
	memcpy(cl->buf + cl->len, s, n);
	cl->len += n;
}

/* Appends one SSE event (`event` NULL: `text` is sent as it is). Lock held. */
static void
livereload_append_event(lr_client *cl, const char *event, const char *text)
{
	if (event == NULL) {
		livereload_append(cl, text, strlen(text));
		return;
	}
	livereload_append(cl, "event: ", 7);
	livereload_append(cl, event, strlen(event));
	livereload_append(cl, "\ndata: ", 7);
	livereload_append(cl, text, strlen(text)); /* compact JSON: one line */
	livereload_append(cl, "\n\n", 2);
}

/* Queues an event for every client and wakes the suspended ones. */
static void
livereload_broadcast(const char *event, const char *text)
{
	size_t n = 0, k = 0;
	pthread_mutex_lock(&LR.lock);
	lr_client *cl;
	TAILQ_FOREACH(cl, &LR.clients, link)
	n++;
	struct MHD_Connection **wake = n ? calloc(n, sizeof(*wake)) : NULL;
	TAILQ_FOREACH(cl, &LR.clients, link)
	{
		livereload_append_event(cl, event, text);
		if (cl->suspended && wake != NULL) {
			cl->suspended = false;
			wake[k++] = cl->conn;
		}
	}
	pthread_mutex_unlock(&LR.lock);
	for (size_t i = 0; i < k; i++)
		MHD_resume_connection(wake[i]);
	free(wake);
}

/* Sends an event to every open page (the dev console's `request`, `replay`). */
void
livereload_send(const char *event, const char *json)
{
	livereload_broadcast(event, json);
}

/* ==== the event stream (MHD callbacks) ================================= */

/* MHD's content reader: hands out queued bytes, or suspends until there are. */
static ssize_t
livereload_read(void *cls, uint64_t pos, char *out, size_t max)
{
	lr_client *cl = cls;
	ssize_t n;
	(void)pos;
	pthread_mutex_lock(&LR.lock);
	if (cl->len > cl->off) {
		size_t k = cl->len - cl->off < max ? cl->len - cl->off : max;
		memcpy(out, cl->buf + cl->off, k);
		cl->off += k;
		n = (ssize_t)k;
	} else if (LR.closing) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		cl->suspended = true;
		MHD_suspend_connection(cl->conn);
		n = 0;
	}
	pthread_mutex_unlock(&LR.lock);
	return n;
}

/* MHD frees the response: the connection is gone. */
static void
livereload_free(void *cls)
{
	lr_client *cl = cls;
	pthread_mutex_lock(&LR.lock);
	TAILQ_REMOVE(&LR.clients, cl, link);
	pthread_mutex_unlock(&LR.lock);
	free(cl->buf);
	free(cl);
}

/* Writes an SSE comment to every stream so dead peers get noticed. */
static void *
livereload_heartbeat(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&LR.lock);
	while (!LR.closing) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += LR_HEARTBEAT_S;
		if (pthread_cond_timedwait(&LR.wake, &LR.lock, &t) == 0 || LR.closing)
			continue;
		pthread_mutex_unlock(&LR.lock);
		livereload_broadcast(NULL, ": ping\n\n");
		pthread_mutex_lock(&LR.lock);
	}
	pthread_mutex_unlock(&LR.lock);
	return NULL;
}

/* Opens a stream: "retry" first, then the compile errors that stand now. */
static struct MHD_Response *
livereload_events(cot_ctx *c)
{
	lr_client *cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return NULL;
	cl->conn = c->conn;
	struct MHD_Response *r = MHD_create_response_from_callback(
	        MHD_SIZE_UNKNOWN, 4096, livereload_read, cl, livereload_free);
	if (r == NULL) {
		free(cl);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	pthread_mutex_lock(&LR.lock);
	if (!LR.heart_started && !LR.closing &&
	    pthread_create(&LR.heart, NULL, livereload_heartbeat, NULL) == 0)
		LR.heart_started = true;
	livereload_append_event(cl, NULL, "retry: 1000\n\n");
	for (int i = 0; i < LR.nerrors; i++)
		livereload_append_event(cl, "compile-error", LR.errors[i].json);
	TAILQ_INSERT_TAIL(&LR.clients, cl, link);
	pthread_mutex_unlock(&LR.lock);
	return r;
}

void
livereload_shutdown(void)
{
	pthread_mutex_lock(&LR.lock);
	LR.closing = true;
	pthread_cond_broadcast(&LR.wake);
	bool joined = LR.heart_started;
	LR.heart_started = false;
	pthread_mutex_unlock(&LR.lock);
	if (joined)
		pthread_join(LR.heart, NULL);
	livereload_broadcast(NULL, ""); /* resumes all; the reader ends them */
	pthread_mutex_lock(&LR.lock);
	for (int i = 0; i < LR.nerrors; i++) {
		free(LR.errors[i].file);
		free(LR.errors[i].json);
	}
	LR.nerrors = 0;
	pthread_mutex_unlock(&LR.lock);
}

/* ==== compile errors =================================================== */

/*
 * Finds the first "path:LINE[:COL]: message" line of a compiler message.
 * Returns 0 and fills the out-parameters, or -1 (a link error has no line).
 */
static int
livereload_locate(const char *text, char *path, size_t pathlen, int *line, int *col,
                  const char **msg, size_t *msglen)
{
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		const char *colon = strchr(p, ':'), *nl = strchr(p, '\n');
		if (colon == NULL || (nl != NULL && colon > nl) || colon == p)
			continue;
		char *end;
		long ln = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end != ':' || ln <= 0)
			continue;
		long cn = 0;
		if (end[1] >= '0' && end[1] <= '9')
			cn = strtol(end + 1, &end, 10);
		snprintf(path, pathlen, "%.*s", (int)(colon - p), p);
		*line = (int)ln;
		*col = (int)cn;
		*msg = end + 1 + (end[1] == ' ');
		*msglen = nl ? (size_t)(nl - *msg) : strlen(*msg);
		return 0;
	}
	return -1;
}

/* The lines around `line` of `path` as [{"n":N,"text":"..."}], or []. */
static json_t *
livereload_excerpt(const char *path, int line)
{
	json_t *arr = json_array();
	FILE *f = strstr(path, "..") == NULL ? fopen(path, "r") : NULL;
	if (f == NULL)
		return arr;
	char buf[512];
	int n = 0;
	bool fresh = true; /* buf starts a line (not the tail of a long one) */
	while (fgets(buf, sizeof(buf), f) != NULL) {
		bool starts = fresh;
		fresh = strchr(buf, '\n') != NULL;
		if (!starts)
			continue;
		if (++n > line + LR_EXCERPT_LINES)
			break;
		if (n < line - LR_EXCERPT_LINES)
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		json_array_append_new(arr, json_pack("{s:i,s:s}", "n", n, "text", buf));
	}
	fclose(f);
	return arr;
}

/* The `compile-error` event's data for a failed compile of `file`. */
static char *
livereload_error_json(const char *file, const char *text)
{
	char at[512];
	int line = 0, col = 0;
	const char *msg = text;
	size_t msglen = strcspn(text, "\n");
	if (livereload_locate(text, at, sizeof(at), &line, &col, &msg, &msglen) != 0)
		snprintf(at, sizeof(at), "%s", file);
	json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:s%,s:s,s:o}", "file", file, "at", at, "line",
	                      line, "col", col, "message", msg, msglen, "text", text, "excerpt",
	                      line > 0 ? livereload_excerpt(at, line) : json_array());
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* Sets (json != NULL) or clears the standing error of `file`. Lock held. */
static void
livereload_set_error(const char *file, char *json)
{
	int i = 0;
	while (i < LR.nerrors && strcmp(LR.errors[i].file, file) != 0)
		i++;
	if (i < LR.nerrors) {
		free(LR.errors[i].json);
		if (json == NULL) {
			free(LR.errors[i].file);
			LR.errors[i] = LR.errors[--LR.nerrors];
			return;
		}
		LR.errors[i].json = json;
	} else if (json != NULL && LR.nerrors < LR_MAX_ERRORS) {
		LR.errors[LR.nerrors].file = strdup(file);
		LR.errors[LR.nerrors++].json = json;
	} else {
		free(json);
	}
}

/* ==== reloader events ================================================== */

static bool
livereload_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

void
livereload_on_event(const char *event, const char *file, const char *error)
{
	if (strcmp(event, "error") == 0) {
		char *json = livereload_error_json(file, error ? error : "compile error");
		if (json == NULL)
			return;
		livereload_broadcast("compile-error", json);
		pthread_mutex_lock(&LR.lock);
		livereload_set_error(file, json); /* takes json */
		pthread_mutex_unlock(&LR.lock);
		return;
	}
	pthread_mutex_lock(&LR.lock);
	livereload_set_error(file, NULL);
	pthread_mutex_unlock(&LR.lock);
	bool css = strcmp(event, "change") == 0 && strncmp(file, "static/", 7) == 0 &&
	           livereload_ends_with(file, ".css");
	/* "all": the file's middleware runs for every page, each may differ */
	json_t *o = json_pack("{s:s,s:s,s:b}", "file", file, "kind", event, "all",
	                      middleware_declared(file));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s != NULL)
		livereload_broadcast(css ? "css" : "reload", s);
	free(s);
}

/* ==== failed requests ================================================== */

/* Copies the HTML-escaped text between `open` and `close` in `html`, unescaped. */
static char *
livereload_between(const char *html, size_t len, const char *open, const char *close)
{
	const char *a = memmem(html, len, open, strlen(open));
	if (a == NULL)
		return NULL;
	a += strlen(open);
	const char *b = memmem(a, len - (size_t)(a - html), close, strlen(close));
	if (b == NULL)
		return NULL;
	static const char *const ent[][2] = {
	        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
	char *out = malloc((size_t)(b - a) + 1), *o = out;
	if (out == NULL)
		return NULL;
	while (a < b) {
		size_t e = 0;
		while (e < 5 && strncmp(a, ent[e][0], strlen(ent[e][0])) != 0)
			e++;
		if (e < 5) {
			*o++ = ent[e][1][0];
			a += strlen(ent[e][0]);
		} else {
			*o++ = *a++;
		}
	}
	*o = '\0';
	return out;
}

/* Broadcasts a `fail` event for a 5xx response, so every open page shows it. */
static void
livereload_report_failure(cot_ctx *c)
{
	if (c->match.b != NULL && c->match.b->error != NULL)
		return; /* a compile error: its `compile-error` event is already out */
	const char *body = c->resp_body ? c->resp_body : "";
	char *detail = NULL, *trace = NULL;
	if (c->content_type != NULL && strncasecmp(c->content_type, "text/html", 9) == 0) {
		detail = livereload_between(body, c->resp_len, "</h1>\n<p>", "</p>");
		trace = livereload_between(body, c->resp_len, "<pre class=\"cot-trace\">",
		                           "</pre>");
	}
	json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:s?,s:s?,s:i,s:s?}", "status", c->status, "method",
	                      c->method ? c->method : "", "path", c->path ? c->path : c->raw_url,
	                      "request_id", c->request_id, "detail",
	                      c->fail_detail ? c->fail_detail : detail, "file", c->fail_file,
	                      "line", c->fail_line, "trace", trace);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s != NULL)
		livereload_broadcast("fail", s);
	json_decref(o);
	free(s);
	free(detail);
	free(trace);
}

/* ==== HTML injection and /_cot/ paths ================================== */

/* Position of the last "</body" in the body (case-insensitive), or len. */
static size_t
livereload_body_end(const char *s, size_t len)
{
	for (size_t i = len; i >= 6; i--)
		if (strncasecmp(s + i - 6, "</body", 6) == 0)
			return i - 6;
	return len;
}

/*
 * The script tag, carrying what the page needs to know about itself: the
 * method and status of the request that made it (a POST result is not
 * refetched; an error status changing class is not morphed) and the files
 * that made it -- the handler file of its route and every template it read
 * -- so a save refreshes only the pages it concerns.
 */
static const char *
livereload_tag(cot_ctx *c)
{
	const char *handler = c->match.b != NULL && c->match.b->file ? c->match.b->file : "";
	const char *files =
	        arena_printf(&c->mem, "%s%s%s", handler, *handler && c->rendered ? " " : "",
	                     c->rendered ? c->rendered : "");
	/* HEAD answers what GET would, Content-Length included */
	const char *method = c->method == NULL                ? ""
	                     : strcmp(c->method, "HEAD") == 0 ? "GET"
	                                                      : c->method;
	return arena_printf(&c->mem,
	                    "<script src=\"/_cot/live.js\" data-request-id=\"%s\" "
	                    "data-method=\"%s\" data-status=\"%d\" data-files=\"%s\"></script>",
	                    c->request_id, html_escape(&c->mem, method), c->status,
	                    html_escape(&c->mem, files));
}

/* Whether `c` is a page's own refetch (overlay.js sends X-Cot-Live: 1). */
static bool
livereload_is_refetch(cot_ctx *c)
{
	const char *live = c->conn != NULL ? cot_header(c, "X-Cot-Live") : NULL;
	return live != NULL && strcmp(live, "1") == 0;
}

void
livereload_begin(cot_ctx *c)
{
	c->live_fetch = livereload_is_refetch(c);
}

void
livereload_finish(cot_ctx *c)
{
	/* the page's own refetch (overlay.js) is no user request: no log line,
	 * no `fail` event on every page -- the page that asked shows it */
	c->live_fetch = c->live_fetch || livereload_is_refetch(c);
	if (c->status >= 500 && !c->live_fetch)
		livereload_report_failure(c);
	/* A body streamed from a file (cot_file) is sent as it is, like a
	 * /static/ page: its bytes are not in memory, resp_len is the file's */
	if (c->content_type == NULL || strncasecmp(c->content_type, "text/html", 9) != 0 ||
	    c->status == 204 || c->status == 304 || c->resp_fd > 0)
		return;
	const char *body = c->resp_body ? c->resp_body : "";
	const char *tag = livereload_tag(c);
	size_t taglen = tag ? strlen(tag) : 0;
	size_t at = livereload_body_end(body, c->resp_len), n = c->resp_len + taglen;
	char *out = arena_alloc(&c->mem, n + 1);
	if (out == NULL || tag == NULL)
		return;
	memcpy(out, body, at);
	memcpy(out + at, tag, taglen);
	memcpy(out + at + taglen, body + at, c->resp_len - at);
	out[n] = '\0';
	c->resp_body = out;
	c->resp_len = n;
}

static struct MHD_Response *
livereload_text(const char *type, char *text, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, mode);
	if (r != NULL) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	}
	return r;
}

struct MHD_Response *
livereload_special(cot_ctx *c)
{
	const char *p = c->raw_url;
	if (strcmp(p, "/_cot/events") == 0)
		return livereload_events(c);
	if (strcmp(p, "/_cot/live.js") == 0)
		return livereload_text("text/javascript; charset=utf-8", (char *)livereload_js,
		                       sizeof(livereload_js) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(p, "/_cot/routes") == 0) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		if (f == NULL)
			return NULL;
		reloader_routes(f);
		fclose(f);
		return livereload_text("text/plain; charset=utf-8", text, len,
		                       MHD_RESPMEM_MUST_FREE);
	}
	return NULL;
}
