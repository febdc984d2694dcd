/*
 * harness.c -- child server process, HTTP client, editor-like saves, polling.
 *
 * The child's stdout is a pipe drained by a thread into a growing buffer, so
 * the child never blocks on a full pipe and a test can ask "has this line
 * appeared since mark?" at any time. stderr is inherited: a sanitizer report
 * lands in the test's output, and the child's exit status fails the test.
 */
#include "harness.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ==== time ============================================================= */

double
h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
h_pause_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

bool
h_wait_for(bool (*cond)(void *arg), void *arg, double timeout_ms)
{
	double deadline = h_now_ms() + timeout_ms;
	long pause = 100;
	for (;;) {
		if (cond(arg))
			return true;
		if (h_now_ms() > deadline)
			return cond(arg);
		h_pause_us(pause);
		if (pause < 5000)
			pause *= 2;
	}
}

/* ==== targets ========================================================== */

h_target
h_target_dev(const char *cotdev)
{
	if (strncmp(cotdev, "export:", 7) == 0)
		return h_target_export(cotdev + 7);
	h_target t = {.name = "cotdev run", .cotdev = cotdev, .reloads = true};
	const char *argv[] = {cotdev, "run", "--port", "0", "--quiet", NULL};
	memcpy(t.argv, argv, sizeof(argv));
	return t;
}

h_target
h_target_export(const char *cotdev)
{
	h_target t = {.name = "exported binary",
	              .cotdev = cotdev,
	              .reloads = false,
	              .export_first = true};
	const char *argv[] = {"--port", "0", "--quiet", NULL};
	memcpy(t.argv, argv, sizeof(argv));
	return t;
}

int
h_target_flags(h_target *t, const char *const *flags)
{
	int n = 0;
	const char *argv[H_TARGET_MAX_ARGS];
	if (!t->export_first) {
		argv[n++] = t->cotdev;
		argv[n++] = "run";
	}
	for (int i = 0; flags[i] != NULL; i++) {
		if (n == H_TARGET_MAX_ARGS - 1)
			return -1;
		argv[n++] = flags[i];
	}
	argv[n++] = NULL;
	memcpy(t->argv, argv, (size_t)n * sizeof(argv[0]));
	return 0;
}

/* `cotdev export APP -o APP/.cot-export-bin`; bin and db receive the paths. */
static int
h_export_app(const h_target *t, const char *app, char *bin, char *db, size_t len, char *err,
             size_t errlen)
{
	char abs[PATH_MAX];
	if (realpath(app, abs) == NULL) {
		snprintf(err, errlen, "%s: %s", app, strerror(errno));
		return -1;
	}
	/* absolute: the binary runs from the app directory (h_server_start) */
	snprintf(bin, len, "%s/.cot-export-bin", abs);
	snprintf(db, len, "%s/app.db", abs);
	const char *argv[] = {t->cotdev, "export", app, "-o", bin, NULL};
	h_cmd_result r;
	/* A deadline, not a measurement: the export compiles the whole runtime
	 * with gcc -O2, which takes minutes on a loaded 2-core machine. */
	h_run_cmd(argv, 8 * H_DEADLINE_MS, &r);
	int rc = r.exit_code == 0 ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen, "cotdev export %s failed (%d): %.400s", app, r.exit_code,
		         r.err ? r.err : "");
	h_cmd_result_free(&r);
	return rc;
}

/* ==== the server process =============================================== */

static void *
h_reader_main(void *arg)
{
	h_server *s = arg;
	char buf[4096];
	for (;;) {
		ssize_t n = read(s->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		pthread_mutex_lock(&s->lock);
		if (n <= 0) {
			s->out_eof = true;
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		if (s->out_len + (size_t)n + 1 > s->out_cap) {
			size_t cap = s->out_cap ? s->out_cap * 2 : 8192;
			while (cap < s->out_len + (size_t)n + 1)
				cap *= 2;
			char *nb = realloc(s->out, cap);
			if (nb == NULL) {
				pthread_mutex_unlock(&s->lock);
				continue; /* drop output rather than block the child */
			}
			s->out = nb;
			s->out_cap = cap;
		}
		memcpy(s->out + s->out_len, buf, (size_t)n);
		s->out_len += (size_t)n;
		s->out[s->out_len] = '\0';
		pthread_mutex_unlock(&s->lock);
	}
}

char *
h_server_output(h_server *s, size_t *len)
{
	pthread_mutex_lock(&s->lock);
	char *copy = malloc(s->out_len + 1);
	if (copy != NULL) {
		if (s->out_len)
			memcpy(copy, s->out, s->out_len);
		copy[s->out_len] = '\0';
	}
	if (len != NULL)
		*len = s->out_len;
	pthread_mutex_unlock(&s->lock);
	return copy;
}

size_t
h_server_mark(h_server *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->out_len;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Looks for needle in out[mark..]; caller holds the lock. */
static const char *
h_find_after(const h_server *s, size_t mark, const char *needle)
{
	if (s->out == NULL || mark > s->out_len)
		return NULL;
	return strstr(s->out + mark, needle);
}

bool
h_server_wait_output(h_server *s, size_t mark, const char *needle, double timeout_ms)
{
	double deadline = h_now_ms() + timeout_ms;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		bool found = h_find_after(s, mark, needle) != NULL;
		bool eof = s->out_eof;
		pthread_mutex_unlock(&s->lock);
		if (found)
			return true;
		if (eof || h_now_ms() > deadline)
			return false;
		h_pause_us(500);
	}
}

int
h_server_count_output(h_server *s, size_t from, size_t to, const char *needle)
{
	int count = 0;
	pthread_mutex_lock(&s->lock);
	if (to > s->out_len)
		to = s->out_len;
	if (s->out != NULL && from < to) {
		char *region = strndup(s->out + from, to - from);
		for (const char *p = region; p && (p = strstr(p, needle)) != NULL; p++)
			count++;
		free(region);
	}
	pthread_mutex_unlock(&s->lock);
	return count;
}

int
h_server_start(const h_target *t, const char *app, h_server *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->pid = -1;
	s->out_fd = -1;
	snprintf(s->app, sizeof(s->app), "%s", app);
	pthread_mutex_init(&s->lock, NULL);
	const char *argv[H_TARGET_MAX_ARGS + 4];
	int n = 0;
	char bin[4200], db[4200];
	if (t->export_first) {
		snprintf(bin, sizeof(bin), "%s/.cot-export-bin", app);
		snprintf(db, sizeof(db), "%s/app.db", app);
		if ((!t->reuse_export || access(bin, X_OK) != 0) &&
		    h_export_app(t, app, bin, db, sizeof(bin), err, errlen) != 0)
			return -1;
		argv[n++] = bin;
	}
	for (int i = 0; i < H_TARGET_MAX_ARGS && t->argv[i] != NULL; i++)
		argv[n++] = t->argv[i];
	if (t->export_first) {
		/* tests/pg_run: the binary reads the PostgreSQL URL from the
		 * environment, as a deployment keeps its password out of ps */
		const char *url = getenv("DATABASE_URL");
		if (url == NULL || *url == '\0') {
			argv[n++] = "--db";
			argv[n++] = db;
		}
	} else {
		argv[n++] = app;
	}
	argv[n] = NULL;

	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		/* The export runs from the app directory, where `cotdev run` works
		 * too: relative paths a handler opens mean the same files. */
		if (t->export_first && chdir(app) != 0) {
			fprintf(stderr, "harness: cannot enter %s: %s\n", app, strerror(errno));
			_exit(127);
		}
		/* An export needs the app secret (secret.c): the one `cotdev new`
		 * wrote, as a deployment would pass it, unless the test set one. */
		if (t->export_first && getenv("COT_SECRET") == NULL &&
		    getenv("COT_SECRET_FILE") == NULL)
			setenv(access(".cot-secret", R_OK) == 0 ? "COT_SECRET_FILE" : "COT_SECRET",
			       access(".cot-secret", R_OK) == 0
			               ? ".cot-secret"
			               : "harness-test-secret-0123456789abcdef0123",
			       1);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	s->pid = pid;
	s->out_fd = p[0];
	pthread_create(&s->reader, NULL, h_reader_main, s);

	/* Compile errors may come first; the URL line is the one with http://. */
	if (!h_server_wait_output(s, 0, "http://", H_DEADLINE_MS)) {
		char *out = h_server_output(s, NULL);
		snprintf(err, errlen, "%s %s printed no URL line; stdout: %.300s", t->name, app,
		         out ? out : "");
		free(out);
		h_server_stop(s);
		return -1;
	}
	size_t at = 0;
	pthread_mutex_lock(&s->lock);
	at = (size_t)(strstr(s->out, "http://") - s->out);
	pthread_mutex_unlock(&s->lock);
	h_server_wait_output(s, at, "\n", H_DEADLINE_MS);
	pthread_mutex_lock(&s->lock);
	const char *colon = strchr(s->out + at + 7, ':');
	s->port = colon ? atoi(colon + 1) : 0;
	pthread_mutex_unlock(&s->lock);
	if (s->port <= 0) {
		snprintf(err, errlen, "%s: cannot read the port from its URL line", t->name);
		h_server_stop(s);
		return -1;
	}
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	return 0;
}

/* Reaps the child if it has exited; true once reaped. */
static bool
h_reaped(void *arg)
{
	h_server *s = arg;
	if (s->pid < 0)
		return true;
	int st;
	pid_t r = waitpid(s->pid, &st, WNOHANG);
	if (r == s->pid || (r < 0 && errno == ECHILD)) {
		s->status = r == s->pid ? st : 0;
		s->pid = -1;
		return true;
	}
	return false;
}

int
h_server_stop(h_server *s)
{
	bool killed = false;
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		if (!h_wait_for(h_reaped, s, H_DEADLINE_MS)) {
			fprintf(stderr, "harness: server %d ignored SIGTERM; killing it\n",
			        (int)s->pid);
			kill(s->pid, SIGKILL);
			killed = true;
			waitpid(s->pid, &s->status, 0);
			s->pid = -1;
		}
	}
	if (s->out_fd >= 0) {
		pthread_join(s->reader, NULL); /* the pipe closes with the child */
		close(s->out_fd);
		s->out_fd = -1;
	}
	free(s->out);
	s->out = NULL;
	s->out_len = s->out_cap = 0;
	pthread_mutex_destroy(&s->lock);
	if (killed || !WIFEXITED(s->status))
		return -1;
	return WEXITSTATUS(s->status);
}

/* ==== running a command to completion ================================== */

static void
h_append(char **buf, size_t *len, const char *data, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);
	if (nb == NULL)
		return;
	memcpy(nb + *len, data, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
}

int
h_run_cmd(const char *const *argv, double timeout_ms, h_cmd_result *r)
{
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	size_t olen = 0, elen = 0;
	double deadline = h_now_ms() + timeout_ms;
	bool open_o = true, open_e = true;
	while (open_o || open_e) {
		double left = deadline - h_now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		struct pollfd p[2] = {{open_o ? po[0] : -1, POLLIN, 0},
		                      {open_e ? pe[0] : -1, POLLIN, 0}};
		if (poll(p, 2, (int)left + 1) < 0 && errno != EINTR)
			break;
		char buf[4096];
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				if (i == 0)
					open_o = false;
				else
					open_e = false;
			} else if (i == 0) {
				h_append(&r->out, &olen, buf, (size_t)n);
			} else {
				h_append(&r->err, &elen, buf, (size_t)n);
			}
		}
	}
	close(po[0]);
	close(pe[0]);
	int st;
	waitpid(pid, &st, 0);
	r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return 0;
}

void
h_cmd_result_free(h_cmd_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ==== apps and files =================================================== */

int
h_scaffold(const h_target *t, char *dir, size_t dirlen)
{
	char tmpl[] = "/tmp/cot-test-XXXXXX";
	if (mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(dir, dirlen, "%s", tmpl);
	const char *argv[] = {t->cotdev, "new", dir, NULL};
	h_cmd_result r;
	h_run_cmd(argv, H_DEADLINE_MS, &r);
	int ok = r.exit_code == 0;
	if (!ok)
		fprintf(stderr, "harness: cotdev new %s failed (%d): %s\n", dir, r.exit_code,
		        r.err);
	h_cmd_result_free(&r);
	return ok ? 0 : -1;
}

static int
h_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void
h_rmtree(const char *dir)
{
	if (dir != NULL && strncmp(dir, "/tmp/", 5) == 0)
		nftw(dir, h_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
h_write_all(int fd, const char *content)
{
	size_t n = strlen(content), off = 0;
	while (off < n) {
		ssize_t w = write(fd, content + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int
h_save_inplace(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = h_write_all(fd, content);
	return close(fd) == 0 ? rc : -1;
}

int
h_save_rename(const char *path, const char *content)
{
	/* Like sed -i: a temp file in the same directory, then rename over. */
	char tmp[4200];
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 1;
	snprintf(tmp, sizeof(tmp), "%.*s/sedXXXXXX", dirlen, slash ? path : ".");
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	fchmod(fd, 0644);
	if (h_write_all(fd, content) != 0 || close(fd) != 0) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
h_save_new(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = h_write_all(fd, content);
	return close(fd) == 0 ? rc : -1;
}

int
h_delete(const char *path)
{
	return unlink(path);
}

char *
h_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

int
h_write_app_file(const char *app, const char *rel, const char *content)
{
	char path[4200];
	h_path(path, sizeof(path), "%s/%s", app, rel);
	return h_save_inplace(path, content);
}

void
h_clear_handlers(const char *app)
{
	char dir[4200], path[4600];
	DIR *d = opendir(h_path(dir, sizeof(dir), "%s/handlers", app));
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			unlink(h_path(path, sizeof(path), "%s/%s", dir, e->d_name));
	if (d != NULL)
		closedir(d);
}

/* ==== HTTP ============================================================= */

struct h_client {
	CURL *curl;
};

static pthread_once_t h_curl_once = PTHREAD_ONCE_INIT;
static _Thread_local h_client *h_thread_client;

static void
h_curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

h_client *
h_client_new(void)
{
	pthread_once(&h_curl_once, h_curl_init);
	h_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
h_client_free(h_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

typedef struct h_buf {
	char *data;
	size_t len;
} h_buf;

static size_t
h_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	h_buf *b = userdata;
	h_append(&b->data, &b->len, ptr, size * nmemb);
	return size * nmemb;
}

long
h_request(h_client *c, const h_server *s, const char *method, const char *path,
          const char *const *headers, const char *body, h_resp *r)
{
	memset(r, 0, sizeof(*r));
	char url[4200];
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	h_buf hb = {calloc(1, 1), 0}, bb = {calloc(1, 1), 0};
	struct curl_slist *hl = NULL;
	for (int i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	CURL *k = c->curl;
	curl_easy_reset(k);
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(k, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, h_collect);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, &bb);
	curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, h_collect);
	curl_easy_setopt(k, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)H_DEADLINE_MS);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k, CURLOPT_PATH_AS_IS, 1L);
	CURLcode rc = curl_easy_perform(k);
	curl_slist_free_all(hl);
	r->headers = hb.data;
	r->body = bb.data;
	r->body_len = bb.len;
	if (rc != CURLE_OK) {
		snprintf(r->err, sizeof(r->err), "%s %s: %s", method, path, curl_easy_strerror(rc));
		r->status = 0;
		return 0;
	}
	curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &r->status);
	return r->status;
}

long
h_get(const h_server *s, const char *path, h_resp *r)
{
	if (h_thread_client == NULL)
		h_thread_client = h_client_new();
	return h_request(h_thread_client, s, "GET", path, NULL, NULL, r);
}

void
h_thread_done(void)
{
	h_client_free(h_thread_client);
	h_thread_client = NULL;
}

char *
h_resp_header(const h_resp *r, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = r->headers; p != NULL && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vlen = (size_t)(p + len - v);
			while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
				vlen--;
			return strndup(v, vlen);
		}
		p += len + (eol ? 1 : 0);
	}
	return NULL;
}

void
h_resp_free(h_resp *r)
{
	free(r->headers);
	free(r->body);
	r->headers = r->body = NULL;
}
