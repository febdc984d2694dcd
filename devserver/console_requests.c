/*
 * console_requests.c -- the request inspector: the last REQ_MAX requests,
 * with their headers, bounded body previews, every SQL statement they ran
 * and the trace when they failed.
 *
 * Bounded memory. A ring of REQ_MAX entries; each keeps at most
 * REQ_BODY_MAX bytes of each body, REQ_HEADERS_MAX of each header block,
 * REQ_SQL_MAX statements (REQ_SQL_TEXT_MAX bytes of SQL and
 * REQ_PARAMS_MAX of parameters each) and REQ_TRACE_MAX of trace: at most
 * about 75 KB an entry, 15 MB for the ring, and a few hundred bytes for
 * the usual request. What was cut is counted and shown as cut.
 *
 * The cost on the request path is what the benchmark holds us to (at most
 * a tenth of the dev server's throughput): an entry is filled with plain
 * copies when the response is ready (console_requests_finish, on the
 * request's thread); nothing is formatted until the inspector asks, and the
 * ring's lock is held only to swap a pointer. Statements reach us through
 * db_statement_hook on the request's thread and wait in a thread-local list
 * until the response.
 *
 * Each new entry is announced on the live-reload event stream as `request`
 * {"seq": N}; the inspector page then fetches what it needs. Requests to
 * /_cot/ itself are not recorded (server_access.c answers them before the
 * pipeline), so watching the inspector does not fill it; nor are the refetches
 * live reload makes after a save (c->live_fetch, X-Cot-Live).
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "../runtime/ctx.h"
#include "../runtime/db.h"
#include "../runtime/monotonic.h"
#include "console_internal.h"
#include "livereload.h"

#define REQ_MAX          200
#define REQ_BODY_MAX     4096
#define REQ_HEADERS_MAX  4096
#define REQ_SQL_MAX      50
#define REQ_SQL_TEXT_MAX 1000
#define REQ_PARAMS_MAX   400
#define REQ_TRACE_MAX    8192
#define REQ_PATH_MAX     2048

typedef struct req_sql {
	char *sql;      /* cut at REQ_SQL_TEXT_MAX */
	char *params;   /* "1, 'text', NULL", cut at REQ_PARAMS_MAX */
	long long rows; /* returned or changed; -1: failed */
	double ms;
} req_sql;

typedef struct req_entry {
	uint64_t seq;
	double at_ms; /* wall clock at the start */
	double ms;    /* until the response was ready */
	int status;
	char id[33];
	char method[16];
	/* the strings below live in the same allocation, behind the struct */
	char *path;
	char *route_file; /* handler file of the route, or NULL */
	int route_line;
	char *req_headers, *resp_headers; /* "Name: value\n" lines */
	char *req_body, *resp_body;
	size_t req_body_len, req_body_total, resp_body_len, resp_body_total;
	char *trace;
	bool spawned; /* the handler called cot_spawn */
	bool replay;  /* this request is a replay */
	req_sql *sql;
	int nsql, sql_dropped;
	json_t *replayed; /* the outcome of replaying it, or NULL */
} req_entry;

static struct {
	pthread_mutex_t lock;
	bool on;
	uint64_t next_seq;   /* seq of the next entry; entries start at 1 */
	json_t *last_replay; /* the latest replay outcome, or NULL */
	req_entry *ring[REQ_MAX];
} RQ = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_seq = 1};

/* The statements of the request this thread is serving. */
static _Thread_local struct {
	const cot_ctx *c;
	req_sql *sql;
	int n, dropped;
} req_tl;

/* ==== entries ========================================================== */

static void
console_req_entry_free(req_entry *e)
{
	if (e == NULL)
		return;
	for (int i = 0; i < e->nsql; i++) {
		free(e->sql[i].sql);
		free(e->sql[i].params);
	}
	free(e->sql);
	json_decref(e->replayed);
	free(e);
}

/* A malloc'd copy of at most max bytes of s (binary-safe, NUL-terminated). */
static char *
console_req_copy(const char *s, size_t n, size_t max, size_t *kept)
{
	size_t k = n < max ? n : max;
	char *out = malloc(k + 1);
	if (out != NULL) {
		if (k > 0)
			memcpy(out, s, k);
		out[k] = '\0';
	}
	if (kept != NULL)
		*kept = out ? k : 0;
	return out;
}

/* ==== capture (request threads) ======================================== */

static void
console_req_statement(cot_ctx *c, const char *sql, int n, const cot_value *params, long long rows,
                      double ms)
{
	if (req_tl.c != c)
		return; /* a spawned task's context: not this request's */
	if (req_tl.n >= REQ_SQL_MAX) {
		req_tl.dropped++;
		return;
	}
	if (req_tl.sql == NULL && (req_tl.sql = calloc(REQ_SQL_MAX, sizeof(req_sql))) == NULL)
		return;
	char pbuf[REQ_PARAMS_MAX + 64];
	size_t o = 0;
	pbuf[0] = '\0';
	for (int i = 0; i < n && o < REQ_PARAMS_MAX; i++) {
		const cot_value *v = &params[i];
		size_t room = sizeof(pbuf) - o;
		const char *sep = i ? ", " : "";
		int w;
		switch (v->type) {
		case COT_VALUE_NULL:
			w = snprintf(pbuf + o, room, "%sNULL", sep);
			break;
		case COT_VALUE_INT:
			w = snprintf(pbuf + o, room, "%s%lld", sep, v->u.i);
			break;
		case COT_VALUE_DOUBLE:
			w = snprintf(pbuf + o, room, "%s%g", sep, v->u.d);
			break;
		case COT_VALUE_TEXT:
			w = snprintf(pbuf + o, room, "%s'%.200s'", sep, v->u.s);
			break;
		case COT_VALUE_BLOB:
			w = snprintf(pbuf + o, room, "%sBLOB(%zu bytes)", sep, v->u.b.n);
			break;
		default:
			w = snprintf(pbuf + o, room, "%s(bad value)", sep);
		}
		o += w > 0 ? ((size_t)w < room ? (size_t)w : room - 1) : 0;
	}
	req_sql *s = &req_tl.sql[req_tl.n++];
	s->sql = console_req_copy(sql, strlen(sql), REQ_SQL_TEXT_MAX, NULL);
	s->params = strdup(pbuf);
	s->rows = rows;
	s->ms = ms;
}

void
console_requests_init(bool on)
{
	RQ.on = on;
	db_statement_hook = on ? console_req_statement : NULL;
}

bool
console_requests_recording(void)
{
	return RQ.on;
}

void
console_requests_shutdown(void)
{
	pthread_mutex_lock(&RQ.lock);
	for (int i = 0; i < REQ_MAX; i++) {
		console_req_entry_free(RQ.ring[i]);
		RQ.ring[i] = NULL;
	}
	json_decref(RQ.last_replay);
	RQ.last_replay = NULL;
	pthread_mutex_unlock(&RQ.lock);
	free(req_tl.sql);
	req_tl.sql = NULL;
}

/* Drops what an earlier request of this thread left (it ended without a
 * response through the pipeline) and starts collecting for c. */
void
console_requests_begin(cot_ctx *c)
{
	if (!RQ.on)
		return;
	for (int i = 0; i < req_tl.n; i++) {
		free(req_tl.sql[i].sql);
		free(req_tl.sql[i].params);
	}
	req_tl.n = req_tl.dropped = 0;
	req_tl.c = c;
}

/*
 * Header lines are gathered as (name, value) pairs first and copied once:
 * the entry is one allocation, with every string it keeps right behind the
 * struct (freed with it), so a request costs one malloc and one free here.
 */
#define REQ_PAIRS 64

typedef struct req_pairs {
	const char *k[REQ_PAIRS], *v[REQ_PAIRS];
	int n;
	size_t bytes; /* of "k: v\n" lines, at most REQ_HEADERS_MAX */
} req_pairs;

static void
console_req_pair(req_pairs *p, const char *k, const char *v)
{
	size_t n = strlen(k) + strlen(v ? v : "") + 3;
	if (p->n == REQ_PAIRS || p->bytes + n > REQ_HEADERS_MAX)
		return;
	p->k[p->n] = k;
	p->v[p->n++] = v ? v : "";
	p->bytes += n;
}

static enum MHD_Result
console_req_header_pair(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	console_req_pair(cls, key, value);
	return MHD_YES;
}

/* Appends n bytes of s at *at in the entry's block; returns where they went. */
static char *
console_req_put(char **at, const char *s, size_t n)
{
	char *out = *at;
	memcpy(out, s, n);
	out[n] = '\0';
	*at += n + 1;
	return out;
}

static char *
console_req_put_pairs(char **at, const req_pairs *p)
{
	char *out = *at, *o = out;
	for (int i = 0; i < p->n; i++) {
		size_t kl = strlen(p->k[i]), vl = strlen(p->v[i]);
		memcpy(o, p->k[i], kl);
		o[kl] = ':';
		o[kl + 1] = ' ';
		memcpy(o + kl + 2, p->v[i], vl);
		o[kl + 2 + vl] = '\n';
		o += kl + vl + 3;
	}
	*o = '\0';
	*at = o + 1;
	return out;
}

static size_t
console_req_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Fills a new entry from c; NULL when out of memory. */
static req_entry *
console_req_entry_new(cot_ctx *c)
{
	req_pairs in = {.n = 0}, out = {.n = 0};
	if (c->conn != NULL)
		MHD_get_connection_values(c->conn, MHD_HEADER_KIND, console_req_header_pair, &in);
	if (c->content_type != NULL)
		console_req_pair(&out, "Content-Type", c->content_type);
	for (const header_kv *h = c->resp_headers; h != NULL; h = h->next)
		console_req_pair(&out, h->name, h->value);
	console_req_pair(&out, "X-Request-Id", c->request_id);
	const char *path = c->path ? c->path : c->raw_url ? c->raw_url : "";
	const char *file = c->match.b != NULL ? c->match.b->file : NULL;
	bool from_fd = c->resp_fd > 0; /* cot_file, /static/: not in memory, size only */
	const char *trace = c->error_trace != NULL && c->status >= 400 ? c->error_trace : NULL;
	size_t lpath = console_req_min(strlen(path), REQ_PATH_MAX), lfile = file ? strlen(file) : 0;
	size_t lreq = console_req_min(c->body_len, REQ_BODY_MAX);
	size_t lresp = from_fd ? 0 : console_req_min(c->resp_len, REQ_BODY_MAX);
	size_t ltrace = trace ? console_req_min(strlen(trace), REQ_TRACE_MAX) : 0;
	req_entry *e = malloc(sizeof(*e) + lpath + lfile + lreq + lresp + ltrace + in.bytes +
	                      out.bytes + 8);
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	char *at = (char *)(e + 1);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	e->ms = monotonic_ms() - c->start_ms;
	e->at_ms = (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3 - e->ms;
	e->status = c->status;
	memcpy(e->id, c->request_id, sizeof(e->id));
	snprintf(e->method, sizeof(e->method), "%s", c->method ? c->method : "?");
	e->path = console_req_put(&at, path, lpath);
	if (file != NULL) {
		e->route_file = console_req_put(&at, file, lfile);
		e->route_line = c->match.b->line;
	}
	e->req_headers = console_req_put_pairs(&at, &in);
	e->resp_headers = console_req_put_pairs(&at, &out);
	e->req_body_total = c->body_len;
	e->req_body_len = lreq;
	e->req_body = console_req_put(&at, c->body ? c->body : "", lreq);
	e->resp_body_total = from_fd ? (size_t)c->resp_fd_len : c->resp_len;
	e->resp_body_len = lresp;
	e->resp_body = console_req_put(&at, c->resp_body && !from_fd ? c->resp_body : "", lresp);
	if (trace != NULL)
		e->trace = console_req_put(&at, trace, ltrace);
	e->spawned = c->tasks != NULL;
	e->replay = c->db_replay;
	if (req_tl.c == c) {
		e->sql = req_tl.sql;
		e->nsql = req_tl.n;
		e->sql_dropped = req_tl.dropped;
		req_tl.sql = NULL;
		req_tl.n = req_tl.dropped = 0;
		req_tl.c = NULL;
	}
	return e;
}

void
console_requests_finish(cot_ctx *c)
{
	if (!RQ.on || c->live_fetch) /* a page refetching itself after a save */
		return;
	req_entry *e = console_req_entry_new(c);
	if (e == NULL)
		return;
	pthread_mutex_lock(&RQ.lock);
	e->seq = RQ.next_seq++;
	req_entry *old = RQ.ring[e->seq % REQ_MAX];
	RQ.ring[e->seq % REQ_MAX] = e;
	pthread_mutex_unlock(&RQ.lock);
	console_req_entry_free(old);
	char ev[96];
	snprintf(ev, sizeof(ev), "{\"seq\":%llu}", (unsigned long long)e->seq);
	livereload_send("request", ev);
}

/* ==== reading (console API and replay) ================================= */

/* The entry with this seq or request id; RQ.lock held. */
static req_entry *
console_req_find(const char *key)
{
	char *end;
	unsigned long long seq = strtoull(key, &end, 10);
	if (*key != '\0' && *end == '\0') {
		req_entry *e = RQ.ring[seq % REQ_MAX];
		if (e != NULL && e->seq == seq)
			return e;
	}
	req_entry *best = NULL; /* ids repeat when clients send their own: latest */
	for (int i = 0; i < REQ_MAX; i++)
		if (RQ.ring[i] != NULL && strcmp(RQ.ring[i]->id, key) == 0 &&
		    (best == NULL || RQ.ring[i]->seq > best->seq))
			best = RQ.ring[i];
	return best;
}

/* A body preview: text when it is UTF-8 without NULs, else hex. */
static json_t *
console_req_body_json(const char *s, size_t n, size_t total)
{
	json_t *o = json_pack("{s:I,s:I}", "size", (json_int_t)total, "shown", (json_int_t)n);
	json_t *text = memchr(s, '\0', n) == NULL ? json_stringn(s, n) : NULL;
	if (text != NULL) {
		json_object_set_new(o, "text", text);
		return o;
	}
	size_t k = n < 1024 ? n : 1024;
	char *hex = malloc(3 * k + 1);
	if (hex != NULL) {
		for (size_t i = 0; i < k; i++)
			snprintf(hex + 3 * i, 4, "%02x%s", (unsigned char)s[i],
			         i + 1 < k ? " " : "");
		hex[k ? 3 * k - 1 : 0] = '\0';
		json_object_set_new(o, "hex", json_string(hex));
		json_object_set_new(o, "shown", json_integer((json_int_t)k));
		free(hex);
	}
	return o;
}

static json_t *
console_req_summary_json(const req_entry *e)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:i,s:f,s:f,s:i,s:b,s:b,s:s?}", "seq",
	                 (json_int_t)e->seq, "id", e->id, "method", e->method, "path",
	                 e->path ? e->path : "", "status", e->status, "ms", e->ms, "at", e->at_ms,
	                 "queries", e->nsql, "replay", e->replay, "replayed", e->replayed != NULL,
	                 "file", e->route_file);
}

static json_t *
console_req_detail_json(const req_entry *e)
{
	json_t *o = console_req_summary_json(e);
	json_t *sql = json_array();
	for (int i = 0; i < e->nsql; i++)
		json_array_append_new(sql,
		                      json_pack("{s:s?,s:s?,s:I,s:f}", "sql", e->sql[i].sql,
		                                "params", e->sql[i].params, "rows",
		                                (json_int_t)e->sql[i].rows, "ms", e->sql[i].ms));
	json_object_set_new(o, "sql", sql);
	json_object_set_new(o, "sql_dropped", json_integer(e->sql_dropped));
	json_object_set_new(o, "request_headers",
	                    json_string(e->req_headers ? e->req_headers : ""));
	json_object_set_new(o, "response_headers",
	                    json_string(e->resp_headers ? e->resp_headers : ""));
	json_object_set_new(o, "request_body",
	                    console_req_body_json(e->req_body ? e->req_body : "", e->req_body_len,
	                                          e->req_body_total));
	json_object_set_new(o, "response_body",
	                    console_req_body_json(e->resp_body ? e->resp_body : "",
	                                          e->resp_body_len, e->resp_body_total));
	json_object_set_new(o, "spawned", json_boolean(e->spawned));
	if (e->trace != NULL) {
		json_t *t = json_string(e->trace);
		json_object_set_new(o, "trace", t ? t : json_string("(trace is not UTF-8)"));
		/* file:line links for the trace's own lines */
		json_t *links = json_array();
		for (const char *p = strstr(e->trace, "handlers/"); p;
		     p = strstr(p + 1, "handlers/")) {
			size_t n = strcspn(p, ": \n");
			int line = p[n] == ':' ? atoi(p + n + 1) : 0;
			char file[256];
			snprintf(file, sizeof(file), "%.*s", (int)(n < 255 ? n : 255), p);
			char *href = line > 0 ? console_editor_href(file, line) : NULL;
			if (href != NULL)
				json_array_append_new(links,
				                      json_pack("{s:s,s:i,s:s}", "file", file,
				                                "line", line, "href", href));
			free(href);
		}
		json_object_set_new(o, "trace_links", links);
	}
	if (e->route_file != NULL) {
		char *href =
		        console_editor_href(e->route_file, e->route_line > 0 ? e->route_line : 1);
		json_object_set_new(o, "route_line", json_integer(e->route_line));
		if (href != NULL)
			json_object_set_new(o, "route_href", json_string(href));
		free(href);
	}
	if (e->replayed != NULL)
		json_object_set(o, "replayed", e->replayed);
	return o;
}

/* GET /_cot/api/requests?after=SEQ: summaries, oldest first. */
static json_t *
console_req_list_json(unsigned long long after)
{
	json_t *list = json_array();
	pthread_mutex_lock(&RQ.lock);
	uint64_t last = RQ.next_seq - 1;
	uint64_t first = last >= REQ_MAX ? last - REQ_MAX + 1 : 1;
	if (after + 1 > first)
		first = after + 1;
	for (uint64_t s = first; s <= last; s++) {
		req_entry *e = RQ.ring[s % REQ_MAX];
		if (e != NULL && e->seq == s)
			json_array_append_new(list, console_req_summary_json(e));
	}
	pthread_mutex_unlock(&RQ.lock);
	return json_pack("{s:o,s:I,s:i,s:b}", "entries", list, "last", (json_int_t)last, "capacity",
	                 REQ_MAX, "recording", RQ.on);
}

struct MHD_Response *
console_requests_api(cot_ctx *c, const char *rest)
{
	if (strcmp(c->method, "GET") != 0)
		return console_fail(c, 405, "the inspector is read-only");
	if (*rest == '\0') {
		const char *after = console_arg(c, "after");
		return console_json(c, 200,
		                    console_req_list_json(after ? strtoull(after, NULL, 10) : 0));
	}
	pthread_mutex_lock(&RQ.lock);
	req_entry *e = console_req_find(rest);
	json_t *j = e ? console_req_detail_json(e) : NULL;
	pthread_mutex_unlock(&RQ.lock);
	if (j == NULL)
		return console_fail(c, 404,
		                    "no such request in the inspector (it keeps the last 200)");
	return console_json(c, 200, j);
}

/* ==== replay's side ==================================================== */

void
console_request_copy_free(console_request_copy *r)
{
	free(r->method);
	free(r->path);
	free(r->headers);
	free(r->body);
	free(r->resp_headers);
	free(r->resp_body);
	memset(r, 0, sizeof(*r));
}

/* Copies what replay needs of e; RQ.lock held. 0, or -1 when the body was
 * cut to its preview (it cannot be sent again as it was). */
static int
console_req_copy_entry(const req_entry *e, console_request_copy *out)
{
	memset(out, 0, sizeof(*out));
	if (e == NULL || e->req_body_len != e->req_body_total)
		return -1;
	out->method = strdup(e->method);
	out->path = strdup(e->path ? e->path : "/");
	out->headers = strdup(e->req_headers ? e->req_headers : "");
	out->body = console_req_copy(e->req_body ? e->req_body : "", e->req_body_len,
	                             e->req_body_len, &out->body_len);
	memcpy(out->id, e->id, sizeof(out->id));
	out->status = e->status;
	out->route_line = e->route_line;
	out->spawned = e->spawned;
	out->resp_headers = strdup(e->resp_headers ? e->resp_headers : "");
	out->resp_body = console_req_copy(e->resp_body ? e->resp_body : "", e->resp_body_len,
	                                  e->resp_body_len, &out->resp_body_len);
	if (out->method == NULL || out->path == NULL || out->headers == NULL || out->body == NULL ||
	    out->resp_headers == NULL || out->resp_body == NULL) {
		console_request_copy_free(out);
		return -1;
	}
	return 0;
}

int
console_requests_last_for(const char *file, console_request_copy *out)
{
	pthread_mutex_lock(&RQ.lock);
	req_entry *e = NULL;
	for (int i = 0; i < REQ_MAX; i++) {
		req_entry *x = RQ.ring[i];
		if (x != NULL && !x->replay && x->route_file != NULL &&
		    strcmp(x->route_file, file) == 0 && (e == NULL || x->seq > e->seq))
			e = x;
	}
	int rc = console_req_copy_entry(e, out);
	pthread_mutex_unlock(&RQ.lock);
	return rc;
}

int
console_requests_copy_of(const char *id, console_request_copy *out)
{
	pthread_mutex_lock(&RQ.lock);
	int rc = console_req_copy_entry(console_req_find(id), out);
	pthread_mutex_unlock(&RQ.lock);
	return rc;
}

json_t *
console_requests_last_replay(void)
{
	pthread_mutex_lock(&RQ.lock);
	json_t *j = RQ.last_replay ? json_deep_copy(RQ.last_replay) : json_object();
	pthread_mutex_unlock(&RQ.lock);
	return j;
}

void
console_requests_replayed(const char *id, json_t *replay)
{
	pthread_mutex_lock(&RQ.lock);
	req_entry *e = console_req_find(id);
	uint64_t seq = 0;
	if (e != NULL) {
		json_decref(e->replayed);
		e->replayed = json_incref(replay);
		seq = e->seq;
	}
	json_decref(RQ.last_replay);
	RQ.last_replay = json_pack("{s:s,s:O}", "id", id, "replay", replay);
	pthread_mutex_unlock(&RQ.lock);
	json_t *ev = json_pack("{s:I,s:s,s:O}", "seq", (json_int_t)seq, "id", id, "replay", replay);
	char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (s != NULL)
		livereload_send("replay", s);
	free(s);
}
