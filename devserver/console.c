/*
 * console.c -- the dev console at /_cot/: which path answers what, who may
 * see it, and the replies the console's files share.
 *
 * Pages (/_cot/, /_cot/routes, /_cot/requests, /_cot/db) are one small HTML
 * shell each; devserver/console.js (embedded as build/console_js.h) draws
 * them from JSON under /_cot/api/. Everything a page shows -- paths, headers,
 * request bodies, rows -- is set with textContent, never as HTML, so a
 * hostile request body is shown as text. The shells themselves carry no
 * data but the page name.
 *
 * Who may see it. The console shows request bodies (passwords, tokens) and
 * can apply migrations, so:
 *   - it exists in `cotdev run` only: the export has no dev_special;
 *   - bound to 127.0.0.1 (the default), a request must name a loopback Host
 *     (127.x.x.x or localhost): a web page that rebinds its own DNS name to
 *     127.0.0.1 cannot read it;
 *   - bound to anything else (--host 0.0.0.0, even 127.0.0.2), every
 *     console path wants the
 *     token cotdev printed at start, once as ?token=..., after that from a
 *     cookie (HttpOnly, SameSite=Strict) -- or it is refused with 403;
 *   - requests that change something (apply a migration, open an editor)
 *     must carry the header X-Cot-Console, which a cross-site form or link
 *     cannot send.
 * /_cot/live.js and /_cot/events stay open to every page of the app: the
 * live reload of a phone on the LAN needs them, and they carry only reload
 * events and what the error pages show anyway.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "../runtime/accesslog.h"
#include "../runtime/ctx.h"
#include "../runtime/db.h"
#include "../runtime/html.h"
#include "console.h"
#include "console_internal.h"
#include "livereload.h"

#include "../build/console_js.h" /* static const char console_js[] */

static struct {
	bool loopback;  /* bound to 127.x: no token, Host checked */
	char token[33]; /* non-loopback: the console's password */
	bool log_links; /* the access log is text on a terminal */
} CON;

/* ==== replies ========================================================== */

struct MHD_Response *
console_reply(cot_ctx *c, int status, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return NULL;
	}
	c->status = status;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'self'; style-src 'self' 'unsafe-inline'; "
	                        "img-src 'self' data:; frame-ancestors 'none'");
	return r;
}

struct MHD_Response *
console_json(cot_ctx *c, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s == NULL)
		return NULL;
	return console_reply(c, status, "application/json", s, strlen(s));
}

struct MHD_Response *
console_fail(cot_ctx *c, int status, const char *msg)
{
	return console_json(c, status, json_pack("{s:s,s:i}", "error", msg, "status", status));
}

const char *
console_arg(cot_ctx *c, const char *name)
{
	return c->conn ? MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

void
console_insert_html(cot_ctx *c, const char *add)
{
	const char *body = c->resp_body ? c->resp_body : "";
	size_t at = c->resp_len, n = strlen(add);
	for (size_t i = c->resp_len; i >= 7; i--)
		if (strncasecmp(body + i - 7, "</body>", 7) == 0) {
			at = i - 7;
			break;
		}
	char *out = arena_alloc(&c->mem, c->resp_len + n + 1);
	memcpy(out, body, at);
	memcpy(out + at, add, n);
	memcpy(out + at + n, body + at, c->resp_len - at);
	out[c->resp_len + n] = '\0';
	c->resp_body = out;
	c->resp_len += n;
}

bool
console_from_page(cot_ctx *c)
{
	const char *h = cot_header(c, "X-Cot-Console");
	return h != NULL && strcmp(h, "1") == 0;
}

/* ==== who may see it =================================================== */

void
console_init(const console_options *o)
{
	/* any other address, 127.0.0.2 too, may be reached by more than this
	 * machine's own browser (a forwarded port, a container's bridge) */
	CON.loopback = strcmp(o->host, "127.0.0.1") == 0 || strcmp(o->host, "localhost") == 0;
	CON.log_links = o->log_to_terminal;
	if (!CON.loopback) {
		unsigned char raw[16];
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
			CON.token[0] = '\0'; /* no token: the console refuses everyone */
		} else {
			for (size_t i = 0; i < sizeof(raw); i++)
				snprintf(CON.token + 2 * i, 3, "%02x", raw[i]);
		}
	}
	console_db_init(o->db_path ? o->db_path : "app.db");
	console_requests_init(o->inspector);
	console_replay_init(o->inspector ? o->replay : CONSOLE_REPLAY_OFF);
}

void
console_started(const char *host, int port)
{
	console_replay_start(port);
	if (CON.loopback && CON.log_links && console_requests_recording()) {
		static char link[96]; /* read by the log writer until exit */
		snprintf(link, sizeof(link), "http://%s:%d/_cot/requests#", host, port);
		accesslog_id_link = link;
	}
	if (CON.loopback)
		printf("dev console: http://%s:%d/_cot/ (a log line's request id: "
		       "/_cot/requests#ID)\n",
		       host, port);
	else
		printf("dev console (bound to %s: it wants this token): "
		       "http://HOST:%d/_cot/?token=%s\n",
		       host, port, CON.token);
}

void
console_shutdown(void)
{
	console_replay_shutdown();
	console_requests_shutdown();
}

/* Whether the Host header names this machine's loopback. */
static bool
console_host_ok(cot_ctx *c)
{
	const char *h = cot_header(c, "Host");
	if (h == NULL)
		return true; /* HTTP/1.0 without Host: not a browser */
	size_t n = strcspn(h, ":");
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	       (strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == n);
}

/* Constant-time compare of a presented token. */
static bool
console_token_is(const char *t)
{
	if (t == NULL || CON.token[0] == '\0' || strlen(t) != strlen(CON.token))
		return false;
	unsigned char d = 0;
	for (size_t i = 0; t[i]; i++)
		d |= (unsigned char)(t[i] ^ CON.token[i]);
	return d == 0;
}

/* 0: may see the console; else the status to refuse with. */
static int
console_allowed(cot_ctx *c)
{
	if (CON.loopback)
		return console_host_ok(c) ? 0 : 403;
	const char *cookie =
	        c->conn ? MHD_lookup_connection_value(c->conn, MHD_COOKIE_KIND, "cot_console")
	                : NULL;
	return console_token_is(cookie) || console_token_is(console_arg(c, "token")) ? 0 : 403;
}

/* ==== pages ============================================================ */

static const char *const console_pages[] = {"routes", "requests", "db", NULL};

/* The HTML shell of a page; console.js draws the rest. */
static struct MHD_Response *
console_page(cot_ctx *c, const char *name)
{
	char *html = NULL;
	if (asprintf(&html,
	             "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	             "<meta name=\"viewport\" content=\"width=device-width\">"
	             "<title>cot · %s</title></head>\n<body data-page=\"%s\">"
	             "<noscript>The dev console needs JavaScript; /_cot/api/%s has the data "
	             "as JSON.</noscript>\n<script src=\"/_cot/console.js\"></script>\n"
	             "</body></html>\n",
	             name, name, name) < 0)
		return NULL;
	struct MHD_Response *r =
	        console_reply(c, 200, "text/html; charset=utf-8", html, strlen(html));
	/* a valid ?token= becomes a cookie, so the page's own fetches carry it */
	if (r != NULL && !CON.loopback && console_token_is(console_arg(c, "token"))) {
		char cookie[128];
		snprintf(cookie, sizeof(cookie),
		         "cot_console=%s; Path=/_cot/; HttpOnly; "
		         "SameSite=Strict",
		         CON.token);
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	}
	return r;
}

/* Whether the client asked for HTML first (a browser's navigation). */
static bool
console_wants_html(cot_ctx *c)
{
	const char *a = cot_header(c, "Accept");
	return a != NULL && strncmp(a, "text/html", 9) == 0;
}

/* /_cot/routes: the page for browsers, the text list for everyone else. */
static struct MHD_Response *
console_routes(cot_ctx *c)
{
	if (console_wants_html(c))
		return console_page(c, "routes");
	size_t len;
	char *text = console_routes_text(&len);
	return text ? console_reply(c, 200, "text/plain; charset=utf-8", text, len) : NULL;
}

/* /_cot/api/...: the data behind the pages. */
static struct MHD_Response *
console_api(cot_ctx *c, const char *rest)
{
	if (strcmp(rest, "routes") == 0)
		return console_json(c, 200, console_routes_json());
	if (strcmp(rest, "editor") == 0) { /* ?file=F&line=N: that link; else the setting */
		const char *file = console_arg(c, "file"), *line = console_arg(c, "line");
		json_t *j = console_editor_json();
		char *href = file ? console_editor_href(file, line ? atoi(line) : 1) : NULL;
		if (href != NULL)
			json_object_set_new(j, "href", json_string(href));
		free(href);
		return console_json(c, 200, j);
	}
	if (strcmp(rest, "replays/latest") == 0)
		return console_json(c, 200, console_requests_last_replay());
	if (strcmp(rest, "open") == 0)
		return console_editor_open(c);
	if (strncmp(rest, "requests", 8) == 0 && (rest[8] == '\0' || rest[8] == '/'))
		return console_requests_api(c, rest + 8 + (rest[8] == '/'));
	if (strncmp(rest, "db", 2) == 0 && (rest[2] == '\0' || rest[2] == '/'))
		return console_db_api(c, rest + 2 + (rest[2] == '/'));
	return console_fail(c, 404, "no such console API");
}

struct MHD_Response *
console_special(cot_ctx *c)
{
	const char *p = c->raw_url + 6; /* after "/_cot/" */
	if (strcmp(p, "events") == 0 || strcmp(p, "live.js") == 0)
		return livereload_special(c);
	int refuse = console_allowed(c);
	if (refuse != 0)
		return console_fail(c, refuse,
		                    CON.loopback
		                            ? "the dev console answers only to a loopback Host"
		                            : "the dev console wants the token cotdev run printed");
	if (strcmp(p, "console.js") == 0) {
		char *js = strdup(console_js);
		return js ? console_reply(c, 200, "text/javascript; charset=utf-8", js, strlen(js))
		          : NULL;
	}
	if (strncmp(p, "api/", 4) == 0)
		return console_api(c, p + 4);
	if (strcmp(p, "routes") == 0)
		return console_routes(c);
	if (*p == '\0')
		return console_page(c, "home");
	for (int i = 0; console_pages[i] != NULL; i++)
		if (strcmp(p, console_pages[i]) == 0)
			return console_page(c, p);
	return NULL; /* a 404 like any unknown path, with the routes suggested */
}

/* ==== every request ==================================================== */

void
console_on_event(const char *event, const char *file)
{
	if (strcmp(event, "reload") == 0)
		console_replay_on_reload(file);
}

void
console_begin(cot_ctx *c)
{
	livereload_begin(c); /* a page's own refetch is not a request to show */
	if (console_replay_is_replay(c))
		c->db_replay = true;
	console_requests_begin(c);
}

/*
 * An HTML error page in development names its request id; this makes it a
 * link to the request's inspector entry (the app's own 404.html included).
 */
static void
console_link_request(cot_ctx *c)
{
	if (c->status < 400 || !console_requests_recording() || c->content_type == NULL ||
	    c->resp_fd > 0 || strncmp(c->content_type, "text/html", 9) != 0)
		return;
	char link[256];
	snprintf(link, sizeof(link),
	         "<p class=\"cot-request\" style=\"font:12px system-ui,"
	         "sans-serif;text-align:center\"><a href=\"/_cot/requests#%s\">request %s in "
	         "the inspector</a></p>\n",
	         c->request_id, c->request_id);
	console_insert_html(c, link);
}

/*
 * The file:line places of a development trace block (<pre class="cot-trace">)
 * become links that open the editor (vscode://, idea://; a command editor
 * needs a POST, which a plain page cannot make: those stay text).
 */
static void
console_link_trace(cot_ctx *c)
{
	static const char open[] = "<pre class=\"cot-trace\">";
	const char *body = c->resp_body ? c->resp_body : "";
	const char *a = c->content_type && strncmp(c->content_type, "text/html", 9) == 0 &&
	                                c->status >= 400 && c->resp_fd <= 0
	                        ? strstr(body, open)
	                        : NULL;
	const char *b = a ? strstr(a, "</pre>") : NULL;
	json_t *mode = b ? console_editor_json() : NULL;
	bool ok = mode &&
	          strcmp(json_string_value(json_object_get(mode, "mode")), "command") != 0 &&
	          strcmp(json_string_value(json_object_get(mode, "mode")), "none") != 0;
	json_decref(mode);
	if (!ok)
		return;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return;
	fwrite(body, 1, (size_t)(a - body), f);
	for (const char *p = a; p < b;) {
		/* "handlers/x.c:12" or "lib/y.c:3" at a word start */
		bool start = (strncmp(p, "handlers/", 9) == 0 || strncmp(p, "lib/", 4) == 0) &&
		             (p == a || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '>');
		size_t n = start ? strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                             "0123456789_-./")
		                 : 0;
		int line = n > 0 && p[n] == ':' ? atoi(p + n + 1) : 0;
		if (line <= 0) {
			fputc(*p++, f);
			continue;
		}
		size_t d = strspn(p + n + 1, "0123456789");
		char file[512];
		snprintf(file, sizeof(file), "%.*s", (int)(n < 511 ? n : 511), p);
		char *href = console_editor_href(file, line);
		fprintf(f, "<a class=\"cot-editor\" href=\"%s\">%.*s</a>",
		        html_escape(&c->mem, href), (int)(n + 1 + d), p);
		free(href);
		p += n + 1 + d;
	}
	fputs(b, f);
	fclose(f);
	if (out != NULL) {
		c->resp_body = arena_strndup(&c->mem, out, len);
		c->resp_len = len;
	}
	free(out);
}

void
console_finish(cot_ctx *c)
{
	if (c->status == 404 && c->match.b == NULL)
		console_routes_not_found(c);
	console_requests_finish(c); /* before the live script goes in: what the handler sent */
	if (c->db_replay)
		db_request_end(c); /* the replay's writes go before its answer does */
	livereload_finish(c);      /* reads the trace for the overlay: before it gets links */
	console_link_request(c);
	console_link_trace(c);
}
