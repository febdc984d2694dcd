/*
 * accesslog.c -- one line per request, written in batches by one thread.
 *
 * printf of a line per request, line-buffered, cost about 30% of an
 * exported binary's requests/s: a write(2) and the stdio lock for every
 * request. Now each worker thread appends its lines to a buffer of its own
 * (a mutex only it and the writer take, so uncontended), and one writer
 * thread writes the buffers out: when one fills, every ACCESSLOG_FLUSH_MS,
 * and at the end (accesslog_flush from server_stop). Workers never write to
 * the output themselves, so a slow or blocked reader of the log cannot
 * stall a request.
 *
 * Each thread has two buffers: it fills one while the writer writes the
 * other. When both are taken -- the output has not kept up, e.g. a pipe
 * nobody reads -- new lines are dropped and counted, and the next write says
 * how many ("cot: access log dropped N lines (output blocked)"): memory
 * stays bounded at 2 x ACCESSLOG_BUF per thread and requests keep being
 * answered. Lines are never split: buffers hold whole lines, and into a pipe
 * the writer writes at most PIPE_BUF bytes at a time, cut at a line end,
 * because the kernel keeps only such writes whole when other threads print
 * to the same pipe (traces, reload lines).
 *
 * Output: stdout (journald and docker collect it) or a file (--access-log
 * PATH, opened O_APPEND), reopened by accesslog_reopen on SIGHUP so
 * logrotate can move it away. Format: text (the line cot always printed) or
 * json (one object per line, --log-format json).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "monotonic.h"

#define ACCESSLOG_BUF      (64 * 1024)
#define ACCESSLOG_LINE_MAX 4096 /* a longer line is cut (its path) */
#define ACCESSLOG_FLUSH_MS 100

typedef struct accesslog_buf {
	pthread_mutex_t mu;
	char *fill; /* lines being appended */
	size_t fill_len;
	char *out; /* lines handed to the writer */
	size_t out_len;
	bool writing; /* the writer is writing `out` outside the lock */
	bool orphan;  /* its thread ended: the next new thread adopts it */
	struct accesslog_buf *next;
} accesslog_buf;

static struct {
	pthread_mutex_t reg_mu;   /* bufs list; the writer's turn (write_mu) */
	pthread_mutex_t write_mu; /* one writer of the output at a time */
	pthread_cond_t wake;
	accesslog_buf *bufs;
	pthread_key_t key;
	pthread_t writer;
	bool started, stopping;
	int fd;      /* the output */
	bool own_fd; /* opened by us (a file), closed at reopen */
	bool pipe;   /* write in PIPE_BUF pieces */
	char path[PATH_MAX];
	int format;
	atomic_ulong dropped;
	atomic_bool urgent; /* an error: write everything now */
	unsigned long dropped_told;
} accesslog = {
        .reg_mu = PTHREAD_MUTEX_INITIALIZER,
        .write_mu = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
        .fd = STDOUT_FILENO,
};

/* ==== output ============================================================ */

/* Writes all of buf[0..len) to the output; gives up on an error (the log is
 * not worth stopping the server for). Caller holds write_mu. */
static void
accesslog_write_all(const char *buf, size_t len)
{
	while (len > 0) {
		size_t n = len;
		if (accesslog.pipe && n > PIPE_BUF) {
			/* the last line end within PIPE_BUF: pieces the kernel keeps whole */
			n = PIPE_BUF;
			while (n > 0 && buf[n - 1] != '\n')
				n--;
			if (n == 0)
				n = PIPE_BUF; /* one line longer than PIPE_BUF: cannot be kept whole
				               */
		}
		ssize_t w = write(accesslog.fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

/* Says how many lines were dropped since it last said so. Holds write_mu. */
static void
accesslog_tell_dropped(void)
{
	unsigned long d = atomic_load(&accesslog.dropped);
	if (d == accesslog.dropped_told)
		return;
	char line[128];
	int n = snprintf(line, sizeof(line),
	                 "cot: access log dropped %lu line%s (output blocked)\n",
	                 d - accesslog.dropped_told, d - accesslog.dropped_told == 1 ? "" : "s");
	accesslog.dropped_told = d;
	accesslog_write_all(line, (size_t)n);
}

/* Hands b's filling buffer to the writer (b->mu held, b->out empty). */
static void
accesslog_swap(accesslog_buf *b)
{
	char *t = b->out;
	b->out = b->fill;
	b->out_len = b->fill_len;
	b->fill = t;
	b->fill_len = 0;
}

/* Writes what b has: its handed-over buffer, and with `all` its filling one
 * too. Holds write_mu; takes b->mu only to swap, never while writing. */
static void
accesslog_drain_buf(accesslog_buf *b, bool all)
{
	pthread_mutex_lock(&b->mu);
	if (b->out_len == 0 && all && b->fill_len > 0)
		accesslog_swap(b);
	if (b->out_len == 0) {
		pthread_mutex_unlock(&b->mu);
		return;
	}
	b->writing = true;
	char *out = b->out;
	size_t len = b->out_len;
	pthread_mutex_unlock(&b->mu);

	accesslog_write_all(out, len);

	pthread_mutex_lock(&b->mu);
	b->out_len = 0;
	b->writing = false;
	pthread_mutex_unlock(&b->mu);
}

/* One pass over every thread's buffers. */
static void
accesslog_drain(bool all)
{
	pthread_mutex_lock(&accesslog.write_mu);
	accesslog_tell_dropped();
	pthread_mutex_lock(&accesslog.reg_mu);
	accesslog_buf *first = accesslog.bufs;
	pthread_mutex_unlock(&accesslog.reg_mu);
	/* buffers are only ever added at the head, never freed: safe to walk */
	for (accesslog_buf *b = first; b != NULL; b = b->next) {
		accesslog_drain_buf(b, all);
		if (all)
			accesslog_drain_buf(b, all); /* the half that was filling */
	}
	pthread_mutex_unlock(&accesslog.write_mu);
}

static void *
accesslog_writer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&accesslog.reg_mu);
	while (!accesslog.stopping) {
		struct timespec until = monotonic_cond_deadline(ACCESSLOG_FLUSH_MS);
		int rc = 0;
		if (!atomic_load(&accesslog.urgent))
			rc = pthread_cond_timedwait(&accesslog.wake, &accesslog.reg_mu, &until);
		pthread_mutex_unlock(&accesslog.reg_mu);
		/* woken: a buffer filled, or an error wants out now; timed out:
		 * time to write what there is */
		accesslog_drain(rc == ETIMEDOUT || atomic_exchange(&accesslog.urgent, false));
		pthread_mutex_lock(&accesslog.reg_mu);
	}
	pthread_mutex_unlock(&accesslog.reg_mu);
	return NULL;
}

/* ==== the calling thread's buffer ======================================= */

/* Thread exit: the buffer stays listed (the writer still writes what it
 * holds) and a later thread adopts it, so threads that come and go (tasks,
 * replaced workers) do not add buffers. */
static void
accesslog_orphan(void *arg)
{
	accesslog_buf *b = arg;
	pthread_mutex_lock(&b->mu);
	b->orphan = true;
	pthread_mutex_unlock(&b->mu);
}

static pthread_once_t accesslog_key_once = PTHREAD_ONCE_INIT;

static void
accesslog_key_init(void)
{
	pthread_key_create(&accesslog.key, accesslog_orphan);
}

/* An orphaned buffer to adopt, or NULL. */
static accesslog_buf *
accesslog_adopt(void)
{
	pthread_mutex_lock(&accesslog.reg_mu);
	accesslog_buf *b = accesslog.bufs;
	for (; b != NULL; b = b->next) {
		pthread_mutex_lock(&b->mu);
		bool mine = b->orphan;
		b->orphan = false;
		pthread_mutex_unlock(&b->mu);
		if (mine)
			break;
	}
	pthread_mutex_unlock(&accesslog.reg_mu);
	return b;
}

static accesslog_buf *
accesslog_mine(void)
{
	static _Thread_local accesslog_buf *mine;
	if (mine != NULL)
		return mine;
	pthread_once(&accesslog_key_once, accesslog_key_init);
	accesslog_buf *b = accesslog_adopt();
	if (b != NULL) {
		pthread_setspecific(accesslog.key, b);
		return mine = b;
	}
	b = calloc(1, sizeof(*b));
	char *two = malloc(2 * ACCESSLOG_BUF);
	if (b == NULL || two == NULL) {
		free(b);
		free(two);
		return NULL;
	}
	pthread_mutex_init(&b->mu, NULL);
	b->fill = two;
	b->out = two + ACCESSLOG_BUF;
	pthread_mutex_lock(&accesslog.reg_mu);
	b->next = accesslog.bufs;
	accesslog.bufs = b;
	pthread_mutex_unlock(&accesslog.reg_mu);
	pthread_setspecific(accesslog.key, b);
	return mine = b;
}

/* Appends one whole line (ending in '\n') for the writer. Never blocks on
 * the output; drops the line (counted) when both buffers are taken. */
static void
accesslog_append(const char *line, size_t len)
{
	accesslog_buf *b = accesslog_mine();
	if (b == NULL || !accesslog.started) {
		accesslog_write_all(line, len); /* before start or out of memory */
		return;
	}
	bool wake = false;
	pthread_mutex_lock(&b->mu);
	if (b->fill_len + len > ACCESSLOG_BUF) {
		if (b->out_len != 0 || b->writing) {
			pthread_mutex_unlock(&b->mu);
			atomic_fetch_add(&accesslog.dropped, 1);
			return;
		}
		accesslog_swap(b);
		wake = true;
	}
	memcpy(b->fill + b->fill_len, line, len);
	b->fill_len += len;
	pthread_mutex_unlock(&b->mu);
	if (wake)
		pthread_cond_signal(&accesslog.wake);
}

/* Asks the writer to write every buffer now, without waiting for it: an
 * error line and its request's access line should be seen at once, but
 * the worker that saw the error must not block on the output. */
static void
accesslog_urgent(void)
{
	pthread_mutex_lock(&accesslog.reg_mu);
	atomic_store(&accesslog.urgent, true);
	pthread_cond_signal(&accesslog.wake);
	pthread_mutex_unlock(&accesslog.reg_mu);
}

/* ==== lines ============================================================= */

typedef struct {
	char *p, *end;
} accesslog_out;

static void
accesslog_put(accesslog_out *o, const char *s, size_t n)
{
	if (n > (size_t)(o->end - o->p))
		n = (size_t)(o->end - o->p);
	memcpy(o->p, s, n);
	o->p += n;
}

static void
accesslog_puts(accesslog_out *o, const char *s)
{
	accesslog_put(o, s, strlen(s));
}

static void
accesslog_putu(accesslog_out *o, unsigned long long v)
{
	char d[24], *q = d + sizeof(d);
	do
		*--q = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	accesslog_put(o, q, (size_t)(d + sizeof(d) - q));
}

/* Milliseconds with two decimals, as "%.2f" would print them. */
static void
accesslog_putms(accesslog_out *o, double ms)
{
	unsigned long long hundredths = ms <= 0 ? 0 : (unsigned long long)(ms * 100 + 0.5);
	accesslog_putu(o, hundredths / 100);
	char frac[3] = {'.', (char)('0' + hundredths / 10 % 10), (char)('0' + hundredths % 10)};
	accesslog_put(o, frac, 3);
}

/* A JSON string: quotes, backslashes and control bytes escaped. Bytes
 * >= 0x80 pass as they are (paths are percent-decoded UTF-8 or raw). */
static void
accesslog_putjson(accesslog_out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	accesslog_put(o, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			char e[2] = {'\\', (char)ch};
			accesslog_put(o, e, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
			accesslog_put(o, e, 6);
		} else {
			accesslog_put(o, (const char *)&ch, 1);
		}
	}
	accesslog_put(o, "\"", 1);
}

/* "2026-12-01T14:02:56.123Z" */
static void
accesslog_puttime(accesslog_out *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char buf[40];
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	accesslog_put(o, buf, n);
}

static void
accesslog_client(const accesslog_request_info *r, char *buf, size_t len)
{
	snprintf(buf, len, "-");
	const union MHD_ConnectionInfo *ci =
	        r->conn ? MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS)
	                : NULL;
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
		          (socklen_t)len);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          buf, (socklen_t)len);
}

const char *accesslog_id_link;

void
accesslog_request(const accesslog_request_info *r)
{
	char line[ACCESSLOG_LINE_MAX];
	accesslog_out o = {line, line + sizeof(line) - 1}; /* room for '\n' */
	if (accesslog.format == ACCESSLOG_JSON) {
		char client[INET6_ADDRSTRLEN];
		accesslog_client(r, client, sizeof(client));
		accesslog_puts(&o, "{\"time\":\"");
		accesslog_puttime(&o);
		accesslog_puts(&o, "\",\"method\":");
		accesslog_putjson(&o, r->method);
		accesslog_puts(&o, ",\"path\":");
		accesslog_putjson(&o, r->path);
		accesslog_puts(&o, ",\"status\":");
		accesslog_putu(&o, (unsigned)r->status);
		accesslog_puts(&o, ",\"bytes\":");
		accesslog_putu(&o, r->bytes);
		accesslog_puts(&o, ",\"duration_ms\":");
		accesslog_putms(&o, r->ms);
		accesslog_puts(&o, ",\"request_id\":");
		accesslog_putjson(&o, r->request_id);
		accesslog_puts(&o, ",\"client\":");
		accesslog_putjson(&o, client);
		/* a cut line still closes its object: drop the tail, not the brace */
		if (o.end - o.p < 2)
			o.p = o.end - 2;
		accesslog_puts(&o, "}");
	} else {
		/* "GET /hello/world 200 14B 0.05ms 5f2c..." */
		accesslog_puts(&o, r->method);
		accesslog_puts(&o, " ");
		accesslog_puts(&o, r->path);
		accesslog_puts(&o, " ");
		accesslog_putu(&o, (unsigned)r->status);
		accesslog_puts(&o, " ");
		accesslog_putu(&o, r->bytes);
		accesslog_puts(&o, "B ");
		accesslog_putms(&o, r->ms);
		accesslog_puts(&o, "ms ");
		if (accesslog_id_link != NULL) { /* OSC 8: the id opens the inspector */
			accesslog_puts(&o, "\033]8;;");
			accesslog_puts(&o, accesslog_id_link);
			accesslog_puts(&o, r->request_id);
			accesslog_puts(&o, "\033\\");
		}
		accesslog_puts(&o, r->request_id);
		if (accesslog_id_link != NULL)
			accesslog_puts(&o, "\033]8;;\033\\");
	}
	*o.p++ = '\n';
	accesslog_append(line, (size_t)(o.p - line));
	if (r->status >= 500 && accesslog.started)
		accesslog_urgent();
}

void
accesslog_error(const char *method, const char *path, const char *request_id, const char *what,
                const char *detail, const char *trace)
{
	if (accesslog.format != ACCESSLOG_JSON) {
		char *text = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&text, &n);
		if (f == NULL)
			return;
		fprintf(f, "%s %s %s: %s\n%s\n", what, method, path, detail, trace);
		fclose(f);
		accesslog_append(text, n);
		free(text);
	} else {
		size_t cap = strlen(detail) * 6 + strlen(trace) * 6 + strlen(path) * 6 + 512;
		char *line = malloc(cap);
		if (line == NULL)
			return;
		accesslog_out o = {line, line + cap - 1};
		accesslog_puts(&o, "{\"time\":\"");
		accesslog_puttime(&o);
		accesslog_puts(&o, "\",\"level\":\"error\",\"error\":");
		accesslog_putjson(&o, what);
		accesslog_puts(&o, ",\"method\":");
		accesslog_putjson(&o, method);
		accesslog_puts(&o, ",\"path\":");
		accesslog_putjson(&o, path);
		accesslog_puts(&o, ",\"request_id\":");
		accesslog_putjson(&o, request_id);
		accesslog_puts(&o, ",\"message\":");
		accesslog_putjson(&o, detail);
		accesslog_puts(&o, ",\"trace\":");
		accesslog_putjson(&o, trace);
		accesslog_puts(&o, "}");
		*o.p++ = '\n';
		accesslog_append(line, (size_t)(o.p - line));
		free(line);
	}
	/* an error is worth seeing now, with the lines before it */
	if (accesslog.started)
		accesslog_urgent();
}

/* ==== open, reopen, flush ============================================== */

static int
accesslog_open_output(char *err, size_t errlen)
{
	int fd = STDOUT_FILENO;
	if (accesslog.path[0] != '\0') {
		fd = open(accesslog.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			snprintf(err, errlen, "--access-log %s: %s", accesslog.path,
			         strerror(errno));
			return -1;
		}
	}
	struct stat st;
	int old = accesslog.fd;
	bool own_old = accesslog.own_fd;
	accesslog.pipe = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
	accesslog.fd = fd;
	accesslog.own_fd = fd != STDOUT_FILENO;
	if (own_old && old != fd)
		close(old);
	return 0;
}

int
accesslog_start(const char *path, int format, char *err, size_t errlen)
{
	snprintf(accesslog.path, sizeof(accesslog.path), "%s", path ? path : "");
	accesslog.format = format;
	if (accesslog_open_output(err, errlen) != 0)
		return -1;
	if (accesslog.started)
		return 0;
	accesslog.stopping = false;
	if (pthread_create(&accesslog.writer, NULL, accesslog_writer, NULL) != 0) {
		snprintf(err, errlen, "access log: cannot start its writer thread");
		return -1;
	}
	accesslog.started = true;
	return 0;
}

int
accesslog_reopen(char *err, size_t errlen)
{
	accesslog_flush();
	pthread_mutex_lock(&accesslog.write_mu);
	int rc = accesslog.path[0] != '\0' ? accesslog_open_output(err, errlen) : 0;
	pthread_mutex_unlock(&accesslog.write_mu);
	return rc;
}

void
accesslog_flush(void)
{
	fflush(stdout); /* what was printf'ed before these lines goes first */
	accesslog_drain(true);
}

void
accesslog_stop(void)
{
	if (accesslog.started) {
		pthread_mutex_lock(&accesslog.reg_mu);
		accesslog.stopping = true;
		pthread_cond_signal(&accesslog.wake);
		pthread_mutex_unlock(&accesslog.reg_mu);
		pthread_join(accesslog.writer, NULL);
		accesslog.started = false;
	}
	accesslog_flush();
}
