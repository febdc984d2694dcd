/*
 * console_replay.c -- replay-on-save: after a handler file reloads, the last
 * request one of its routes served is sent again, to the new code, and the
 * inspector shows the two answers side by side (status, headers, body
 * diff).
 *
 * How it runs. The reload event arrives under the reloader lock, so we only
 * copy the request out of the inspector there (at once: the browser's own
 * reload of the page would otherwise become "the last request") and hand it
 * to a thread of ours, which sends it over loopback like any client, with
 * X-Cot-Replay: SECRET (random per run) and its own X-Request-Id. So it
 * passes the whole pipeline -- middleware, error pages, everything -- and is
 * recorded like any request; console_begin marks it (c->db_replay) and
 * db.c runs all of its SQL inside one transaction that is rolled back
 * before the answer is sent (a handler's own begin/commit become a
 * savepoint): nothing it writes sticks.
 *
 * What is never replayed. Only the database can be rolled back. A request
 * is not replayed when
 *   - it called cot_spawn (the inspector saw c->tasks), or
 *   - its handler file or a file it #includes names a call that reaches
 *     outside the database: sockets and name lookups (socket, connect,
 *     sendto, getaddrinfo, curl_*), processes (system, popen, fork, exec*,
 *     kill), files (fopen, open, write, unlink, rename, mkdir...) or
 *     cot_spawn. This is a conservative reading of the source text: a
 *     mention in a comment counts too, and such a route can still be
 *     replayed by marking it;
 *   - its body was larger than the inspector keeps (it cannot be resent).
 * Which methods: `cotdev run --replay get` (the default) replays GET and
 * HEAD; `--replay all` every method; `--replay off` none. Per route, a
 * comment on the route's line in the handler file decides:
 *     COT_POST("/notes", create_note), // @replay   (opt in; skips the scan)
 *     COT_GET("/feed", feed),           // @noreplay (never)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "console_internal.h"
#include "deps.h"
#include "file.h"

#define REPLAY_QUEUE      8
#define REPLAY_DIFF_LINES 200

typedef struct replay_job {
	char *file;
	console_request_copy req;
} replay_job;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	console_replay_mode mode;
	int port;
	char secret[33];
	replay_job queue[REPLAY_QUEUE];
	int n;
	bool stop, started;
	unsigned count;
	pthread_t thread;
} RP = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* ==== the decision ===================================================== */

/* Names whose effects outlive a rolled-back transaction. */
static const char *const replay_effects[] = {
        "cot_spawn", "socket", "connect",     "sendto", "sendmsg",  "getaddrinfo", "gethostbyname",
        "system",    "popen",  "fork",        "vfork",  "execv",    "execvp",      "execve",
        "execl",     "execlp", "posix_spawn", "kill",   "fopen",    "freopen",     "open",
        "openat",    "creat",  "write",       "fwrite", "fputs",    "fprintf",     "unlink",
        "remove",    "rename", "mkdir",       "rmdir",  "truncate", "ftruncate",   NULL,
};

static bool
console_replay_ident_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* The first effect `src` names as a call (NAME then "("), or NULL. */
static const char *
console_replay_effect_in(const char *src)
{
	for (const char *p = src; *p; p++) {
		if (!console_replay_ident_char(*p) || (p > src && console_replay_ident_char(p[-1])))
			continue;
		if (strncmp(p, "curl_", 5) == 0)
			return "curl_*";
		for (int i = 0; replay_effects[i]; i++) {
			size_t n = strlen(replay_effects[i]);
			if (strncmp(p, replay_effects[i], n) != 0 ||
			    console_replay_ident_char(p[n]))
				continue;
			const char *q = p + n;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '(')
				return replay_effects[i];
		}
	}
	return NULL;
}

/* The text of line `line` (1-based) of src, in out. */
static void
console_replay_line(const char *src, int line, char *out, size_t outlen)
{
	const char *p = src;
	for (int i = 1; i < line && p != NULL; i++)
		p = (p = strchr(p, '\n')) ? p + 1 : NULL;
	snprintf(out, outlen, "%.*s", p ? (int)strcspn(p, "\n") : 0, p ? p : "");
}

/* NULL when the request may be replayed, else why not (static text). */
static const char *
console_replay_refusal(const char *file, int route_line, const console_request_copy *r, char *why,
                       size_t whylen)
{
	char *src = file_read(file, NULL);
	if (src == NULL)
		return "the handler file cannot be read";
	char line[512];
	console_replay_line(src, route_line, line, sizeof(line));
	bool opt_in = strstr(line, "@replay") != NULL, opt_out = strstr(line, "@noreplay") != NULL;
	bool safe_method = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	const char *no = NULL;
	if (opt_out)
		no = "the route is marked @noreplay";
	else if (RP.mode == CONSOLE_REPLAY_OFF)
		no = "replay is off (cotdev run --replay off)";
	else if (!safe_method && RP.mode != CONSOLE_REPLAY_ALL && !opt_in)
		no = "only GET and HEAD replay by default: mark the route // @replay or run "
		     "with --replay all";
	else if (r->spawned)
		no = "it called cot_spawn: background work cannot be rolled back";
	if (no == NULL && !opt_in) {
		deps_list deps = {0};
		deps_scan(file, NULL, &deps);
		const char *effect = console_replay_effect_in(src);
		const char *where = file;
		for (int i = 0; effect == NULL && i < deps.n; i++) {
			char *dep = file_read(deps.paths[i], NULL);
			if (dep != NULL && (effect = console_replay_effect_in(dep)) != NULL)
				where = deps.paths[i];
			free(dep);
		}
		if (effect != NULL) {
			snprintf(why, whylen,
			         "%s calls %s(), which a rollback cannot undo "
			         "(mark the route // @replay to replay it anyway)",
			         where, effect);
			no = why;
		}
		deps_free(&deps);
	}
	free(src);
	return no;
}

/* ==== sending it ======================================================= */

/* Whether a recorded request header is sent again as it was. */
static bool
console_replay_keeps_header(const char *line)
{
	static const char *const drop[] = {"Host:",         "Content-Length:",
	                                   "Connection:",   "X-Request-Id:",
	                                   "X-Cot-Replay:", "Transfer-Encoding:",
	                                   "Expect:",       "Keep-Alive:",
	                                   "Upgrade:",      NULL};
	for (int i = 0; drop[i]; i++)
		if (strncasecmp(line, drop[i], strlen(drop[i])) == 0)
			return false;
	return true;
}

/* Sends the request and reads until the server closes; 0 on a response. */
static int
console_replay_send(const console_request_copy *r, const char *id, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)RP.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {30, 0};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		snprintf(err, errlen, "cannot reach the dev server: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char *head = NULL;
	size_t hlen = 0;
	FILE *f = open_memstream(&head, &hlen);
	fprintf(f,
	        "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
	        "X-Cot-Replay: %s\r\nX-Request-Id: %s\r\n",
	        r->method, r->path, RP.port, RP.secret, id);
	for (const char *p = r->headers; *p;) {
		size_t n = strcspn(p, "\n");
		if (console_replay_keeps_header(p))
			fprintf(f, "%.*s\r\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	if (r->body_len > 0 || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
	    strcmp(r->method, "PATCH") == 0)
		fprintf(f, "Content-Length: %zu\r\n", r->body_len);
	fputs("\r\n", f);
	fclose(f);
	bool ok = head != NULL && write(fd, head, hlen) == (ssize_t)hlen &&
	          (r->body_len == 0 || write(fd, r->body, r->body_len) == (ssize_t)r->body_len);
	free(head);
	char buf[4096];
	ssize_t got = 0, total = 0;
	while (ok && (got = read(fd, buf, sizeof(buf))) > 0)
		total += got;
	close(fd);
	if (!ok || got < 0 || total == 0) {
		snprintf(err, errlen, "the replay got no answer%s%s", got < 0 ? ": " : "",
		         got < 0 ? strerror(errno) : "");
		return -1;
	}
	return 0;
}

/* ==== the diff ========================================================= */

/* Splits text into lines (pointers into a copy that *keep owns). */
static int
console_replay_lines(const char *text, size_t len, char **keep, char ***lines)
{
	*keep = malloc(len + 1);
	int n = 0, cap = 64;
	*lines = malloc(sizeof(char *) * (size_t)cap);
	if (*keep == NULL || *lines == NULL)
		return 0;
	memcpy(*keep, text, len);
	(*keep)[len] = '\0';
	for (char *p = *keep; *p;) {
		if (n == cap) {
			char **nl = realloc(*lines, sizeof(char *) * (size_t)(cap *= 2));
			if (nl == NULL)
				break;
			*lines = nl;
		}
		(*lines)[n++] = p;
		p += strcspn(p, "\n");
		if (*p == '\n')
			*p++ = '\0';
	}
	return n;
}

/*
 * A line diff of a and b: the lines both share at the start and end are
 * skipped, the middle shows as removed ("-") then added ("+") lines, at
 * most REPLAY_DIFF_LINES. Enough to see what an edit changed in an answer.
 */
static json_t *
console_replay_diff(const char *a, size_t alen, const char *b, size_t blen)
{
	char *ka, *kb, **la, **lb;
	int na = console_replay_lines(a, alen, &ka, &la),
	    nb = console_replay_lines(b, blen, &kb, &lb);
	int pre = 0, suf = 0;
	while (pre < na && pre < nb && strcmp(la[pre], lb[pre]) == 0)
		pre++;
	while (suf < na - pre && suf < nb - pre && strcmp(la[na - 1 - suf], lb[nb - 1 - suf]) == 0)
		suf++;
	json_t *out = json_array();
	int shown = 0;
	for (int i = pre; i < na - suf && shown < REPLAY_DIFF_LINES; i++, shown++)
		json_array_append_new(
		        out, json_pack("{s:s,s:i,s:s?}", "op", "-", "line", i + 1, "text", la[i]));
	for (int i = pre; i < nb - suf && shown < REPLAY_DIFF_LINES; i++, shown++)
		json_array_append_new(
		        out, json_pack("{s:s,s:i,s:s?}", "op", "+", "line", i + 1, "text", lb[i]));
	free(ka);
	free(kb);
	free(la);
	free(lb);
	return out;
}

/* Headers minus those that differ on every request. */
static char *
console_replay_stable_headers(const char *h)
{
	char *out = strdup(h ? h : ""), *o = out;
	if (out == NULL)
		return NULL;
	for (const char *p = h ? h : ""; *p;) {
		size_t n = strcspn(p, "\n");
		if (strncasecmp(p, "X-Request-Id:", 13) != 0 && strncasecmp(p, "Date:", 5) != 0) {
			memcpy(o, p, n);
			o += n;
			*o++ = '\n';
		}
		p += n + (p[n] == '\n');
	}
	*o = '\0';
	return out;
}

/* The replay's own body with its request id put back to the original's. */
static char *
console_replay_unid(const char *body, size_t len, const char *id, const char *orig, size_t *outlen)
{
	size_t il = strlen(id), ol = strlen(orig);
	char *out = malloc(len * (ol > il ? ol : il) / (il ? il : 1) + len + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (il > 0 && i + il <= len && memcmp(body + i, id, il) == 0) {
			memcpy(o, orig, ol);
			o += ol;
			i += il;
		} else {
			*o++ = body[i++];
		}
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

/* Builds the outcome from the original and the replay's own entry. */
static json_t *
console_replay_compare(const console_request_copy *before, const char *id, const char *file)
{
	json_t *o =
	        json_pack("{s:s,s:s,s:s,s:s,s:i}", "file", file, "replay_id", id, "method",
	                  before->method, "path", before->path, "status_before", before->status);
	console_request_copy after;
	if (console_requests_copy_of(id, &after) != 0) {
		json_object_set_new(o, "error", json_string("the replay was not recorded"));
		return o;
	}
	size_t blen;
	char *body =
	        console_replay_unid(after.resp_body, after.resp_body_len, id, before->id, &blen);
	char *h1 = console_replay_stable_headers(before->resp_headers);
	char *h2 = console_replay_stable_headers(after.resp_headers);
	json_object_set_new(o, "status_after", json_integer(after.status));
	json_object_set_new(o, "headers_diff",
	                    console_replay_diff(h1 ? h1 : "", h1 ? strlen(h1) : 0, h2 ? h2 : "",
	                                        h2 ? strlen(h2) : 0));
	json_t *bd = console_replay_diff(before->resp_body, before->resp_body_len, body ? body : "",
	                                 body ? blen : 0);
	bool same = json_array_size(bd) == 0;
	json_object_set_new(o, "body_diff", bd);
	json_object_set_new(o, "changed",
	                    json_boolean(!same || before->status != after.status ||
	                                 json_array_size(json_object_get(o, "headers_diff")) > 0));
	free(body);
	free(h1);
	free(h2);
	console_request_copy_free(&after);
	return o;
}

/* ==== the thread ======================================================= */

static void
console_replay_run(replay_job *j)
{
	char why[512], id[33];
	console_request_copy *r = &j->req;
	const char *no = console_replay_refusal(j->file, r->route_line, r, why, sizeof(why));
	struct timeval tv;
	gettimeofday(&tv, NULL);
	double at = (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
	if (no != NULL) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f}", "file", j->file, "method", r->method,
		                      "path", r->path, "skipped", no, "at", at);
		console_requests_replayed(r->id, o);
		json_decref(o);
		return;
	}
	snprintf(id, sizeof(id), "%.20s-replay%u", r->id, ++RP.count);
	char err[256];
	json_t *o = console_replay_send(r, id, err, sizeof(err)) == 0
	                    ? console_replay_compare(r, id, j->file)
	                    : json_pack("{s:s,s:s,s:s,s:s}", "file", j->file, "method", r->method,
	                                "path", r->path, "error", err);
	json_object_set_new(o, "at", json_real(at));
	console_requests_replayed(r->id, o);
	json_decref(o);
}

static void *
console_replay_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&RP.lock);
	for (;;) {
		while (RP.n == 0 && !RP.stop)
			pthread_cond_wait(&RP.wake, &RP.lock);
		if (RP.stop)
			break;
		replay_job j = RP.queue[0];
		memmove(RP.queue, RP.queue + 1, sizeof(RP.queue[0]) * (size_t)--RP.n);
		pthread_mutex_unlock(&RP.lock);
		console_replay_run(&j);
		free(j.file);
		console_request_copy_free(&j.req);
		pthread_mutex_lock(&RP.lock);
	}
	pthread_mutex_unlock(&RP.lock);
	return NULL;
}

void
console_replay_init(console_replay_mode mode)
{
	RP.mode = mode;
	unsigned char raw[16];
	if (getrandom(raw, sizeof(raw), 0) == (ssize_t)sizeof(raw))
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(RP.secret + 2 * i, 3, "%02x", raw[i]);
}

void
console_replay_start(int port)
{
	RP.port = port;
	if (RP.mode != CONSOLE_REPLAY_OFF && RP.secret[0] != '\0' &&
	    pthread_create(&RP.thread, NULL, console_replay_main, NULL) == 0)
		RP.started = true;
}

void
console_replay_shutdown(void)
{
	pthread_mutex_lock(&RP.lock);
	RP.stop = true;
	pthread_cond_broadcast(&RP.wake);
	pthread_mutex_unlock(&RP.lock);
	if (RP.started)
		pthread_join(RP.thread, NULL);
	RP.started = false;
	for (int i = 0; i < RP.n; i++) {
		free(RP.queue[i].file);
		console_request_copy_free(&RP.queue[i].req);
	}
	RP.n = 0;
}

void
console_replay_on_reload(const char *file)
{
	if (!RP.started)
		return;
	replay_job j = {.file = strdup(file)};
	if (j.file == NULL || console_requests_last_for(file, &j.req) != 0) {
		free(j.file);
		return;
	}
	pthread_mutex_lock(&RP.lock);
	if (RP.n < REPLAY_QUEUE && !RP.stop) {
		RP.queue[RP.n++] = j;
		j.file = NULL;
		pthread_cond_signal(&RP.wake);
	}
	pthread_mutex_unlock(&RP.lock);
	if (j.file != NULL) {
		free(j.file);
		console_request_copy_free(&j.req);
	}
}

bool
console_replay_is_replay(cot_ctx *c)
{
	if (RP.secret[0] == '\0')
		return false;
	const char *h = cot_header(c, "X-Cot-Replay");
	return h != NULL && strcmp(h, RP.secret) == 0;
}
