/*
 * test_accesslog.c -- the access log (runtime/accesslog.c) end to end, on
 * `cotdev run` and the exported binary: lines are batched per thread and
 * written by one writer thread, so what must hold is that none is lost or
 * torn, whatever happens around it.
 *
 * usage: test_accesslog COTDEV | export:COTDEV
 *
 * - --log-format json --access-log FILE: one JSON object per request with
 *   every field, the request ids exactly those the clients were sent, after
 *   concurrent load and SIGTERM (nothing left in a buffer);
 * - SIGHUP reopens the file (logrotate renamed it): later lines land in the
 *   new file, none lost across the two;
 * - a crashing handler's error line is JSON with its trace;
 * - a stdout nobody reads: requests keep being answered (the workers never
 *   write to the output themselves) and the log says how many lines it
 *   dropped; lines written + dropped = requests answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

#define LOAD_THREADS 4
#define LOAD_EACH    150

static h_target target;
static char app[4096];

static const char boom_src[] = "#include <cot.h>\n"
                               "\n"
                               "static cot_result\n"
                               "boom(cot_ctx *c)\n"
                               "{\n"
                               "\tvolatile int *p = (volatile int *)0;\n"
                               "\t*p = 1; /* line 7 */\n"
                               "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
                               "}\n"
                               "\n"
                               "COT_ROUTES(COT_GET(\"/boom\", boom),)\n";

/* ==== helpers ========================================================== */

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;
	for (; s != NULL && *s; s++)
		n += *s == '\n';
	return n;
}

typedef struct {
	const h_server *srv;
	char ids[LOAD_EACH][40];
	int ok;
} load_arg;

static void *
load_thread(void *p)
{
	load_arg *a = p;
	for (int i = 0; i < LOAD_EACH; i++) {
		h_resp r;
		char path[64];
		snprintf(path, sizeof(path), "/hello/t%d", i);
		if (h_get(a->srv, path, &r) == 200) {
			char *id = h_resp_header(&r, "X-Request-Id");
			if (id != NULL) {
				snprintf(a->ids[a->ok++], sizeof(a->ids[0]), "%s", id);
				free(id);
			}
		}
		h_resp_free(&r);
	}
	h_thread_done();
	return NULL;
}

/* Checks one JSON access line; returns its request id (in the json). */
static const char *
check_json_line(json_t *j, bool *good)
{
	const char *id = json_string_value(json_object_get(j, "request_id"));
	*good = json_is_object(j) && json_is_string(json_object_get(j, "time")) &&
	        json_is_string(json_object_get(j, "method")) &&
	        json_is_string(json_object_get(j, "path")) &&
	        json_is_integer(json_object_get(j, "status")) &&
	        json_is_integer(json_object_get(j, "bytes")) &&
	        json_is_number(json_object_get(j, "duration_ms")) &&
	        json_is_string(json_object_get(j, "client")) && id != NULL;
	return id;
}

/* Every id of a is a request_id of some line of `log` (one object per line). */
static int
ids_found(const load_arg *a, int nthreads, const char *log, int *bad_lines)
{
	json_t *seen = json_object();
	*bad_lines = 0;
	for (const char *l = log; l != NULL && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		json_error_t e;
		json_t *j = json_loadb(l, n, 0, &e);
		bool good = false;
		const char *id = j ? check_json_line(j, &good) : NULL;
		if (!good)
			(*bad_lines)++;
		else if (json_integer_value(json_object_get(j, "status")) == 200)
			json_object_set_new(seen, id, json_true());
		json_decref(j);
		l = nl ? nl + 1 : l + n;
	}
	int found = 0;
	for (int t = 0; t < nthreads; t++)
		for (int i = 0; i < a[t].ok; i++)
			found += json_object_get(seen, a[t].ids[i]) != NULL;
	json_decref(seen);
	return found;
}

/* ==== json to a file, under load, through SIGTERM ====================== */

static void
test_json_file(void)
{
	char log[4200], flagbuf[4200];
	h_path(log, sizeof(log), "%s/access.json", app);
	snprintf(flagbuf, sizeof(flagbuf), "%s", log);
	const char *flags[] = {"--port",       "0",    "--quiet", "--access-log", flagbuf,
	                       "--log-format", "json", NULL};
	/* --quiet wins: no lines at all */
	h_target t = target;
	h_target_flags(&t, flags);
	h_server srv;
	char err[512];
	if (h_server_start(&t, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start with --quiet --access-log: %s\n", err);
		return;
	}
	h_resp r;
	h_get(&srv, "/hello/quiet", &r);
	h_resp_free(&r);
	T_CHECK("--quiet: server exits 0", h_server_stop(&srv) == 0);
	char *body = slurp(log);
	T_CHECK("--quiet: the access log stays empty", body != NULL && *body == '\0');
	free(body);
	unlink(log);

	const char *flags2[] = {"--port", "0", "--access-log", flagbuf, "--log-format",
	                        "json",   NULL};
	t = target;
	h_target_flags(&t, flags2);
	if (h_server_start(&t, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start with --access-log: %s\n", err);
		return;
	}
	static load_arg a[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	for (int i = 0; i < LOAD_THREADS; i++) {
		a[i].srv = &srv;
		a[i].ok = 0;
		pthread_create(&th[i], NULL, load_thread, &a[i]);
	}
	int ok = 0;
	for (int i = 0; i < LOAD_THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += a[i].ok;
	}
	T_CHECK("every request of the load answered 200", ok == LOAD_THREADS * LOAD_EACH);
	T_CHECK("stdout has no access lines with --access-log",
	        h_server_count_output(&srv, 0, h_server_mark(&srv), "GET /hello/t") == 0);
	T_CHECK("SIGTERM: exit 0", h_server_stop(&srv) == 0);
	body = slurp(log);
	int bad;
	int found = ids_found(a, LOAD_THREADS, body, &bad);
	T_CHECK("after SIGTERM the file has one line per request", count_lines(body) == ok);
	T_CHECK("every line is a JSON object with all the fields", bad == 0);
	T_CHECK("every request id sent to a client is in the log", found == ok);
	free(body);
}

/* ==== SIGHUP reopens the file ========================================= */

typedef struct {
	const char *path, *needle;
} file_has;

static bool
file_contains(void *p)
{
	file_has *f = p;
	char *s = slurp(f->path);
	bool yes = s != NULL && strstr(s, f->needle) != NULL;
	free(s);
	return yes;
}

static void
test_reopen(void)
{
	char log[4200], moved[4300];
	h_path(log, sizeof(log), "%s/access.log", app);
	snprintf(moved, sizeof(moved), "%s.1", log);
	const char *flags[] = {"--port", "0", "--access-log", log, NULL};
	h_target t = target;
	h_target_flags(&t, flags);
	h_server srv;
	char err[512];
	if (h_server_start(&t, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start for SIGHUP: %s\n", err);
		return;
	}
	h_resp r;
	h_get(&srv, "/hello/before", &r);
	h_resp_free(&r);
	file_has before = {log, "GET /hello/before 200"};
	T_CHECK("text line reaches the file (flushed by time)",
	        h_wait_for(file_contains, &before, H_DEADLINE_MS));
	T_CHECK("logrotate moves the file", rename(log, moved) == 0);
	T_CHECK("SIGHUP sent", kill(srv.pid, SIGHUP) == 0);
	file_has reopened = {log, ""};
	T_CHECK("SIGHUP: the file is created again",
	        h_wait_for(file_contains, &reopened, H_DEADLINE_MS));
	h_get(&srv, "/hello/after", &r);
	h_resp_free(&r);
	file_has after = {log, "GET /hello/after 200"};
	T_CHECK("later lines go to the new file", h_wait_for(file_contains, &after, H_DEADLINE_MS));
	T_CHECK("the server still runs after SIGHUP", h_get(&srv, "/hello/x", &r) == 200);
	h_resp_free(&r);
	T_CHECK("SIGHUP did not stop it: SIGTERM exits 0", h_server_stop(&srv) == 0);
	file_has old = {moved, "GET /hello/before 200"};
	T_CHECK("earlier lines stay in the moved file", file_contains(&old));
	file_has notold = {moved, "GET /hello/after"};
	T_CHECK("... and only there", !file_contains(&notold));
}

/* ==== a crash's error line in JSON ==================================== */

static void
test_json_crash(void)
{
	const char *flags[] = {"--port", "0", "--log-format", "json", NULL};
	h_target t = target;
	h_target_flags(&t, flags);
	h_server srv;
	char err[512];
	if (h_server_start(&t, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start for the crash: %s\n", err);
		return;
	}
	h_resp r;
	T_CHECK("crashing handler answers 500", h_get(&srv, "/boom", &r) == 500);
	char *id = h_resp_header(&r, "X-Request-Id");
	h_resp_free(&r);
	T_CHECK("... with a request id", id != NULL);
	if (id == NULL) {
		h_server_stop(&srv);
		return;
	}
	char needle[128];
	snprintf(needle, sizeof(needle), "\"request_id\":\"%s\",\"message\"", id);
	T_CHECK("an error line in JSON names the request",
	        h_server_wait_output(&srv, 0, needle, H_DEADLINE_MS));
	size_t len;
	char *out = h_server_output(&srv, &len);
	char *line = strstr(out, "{\"time\"");
	while (line != NULL && strstr(line, needle) > strchr(line, '\n'))
		line = strstr(line + 1, "{\"time\"");
	json_t *j = NULL;
	if (line != NULL) {
		json_error_t e;
		j = json_loadb(line, strcspn(line, "\n"), 0, &e);
	}
	const char *trace = json_string_value(json_object_get(j, "trace"));
	T_CHECK("... is one JSON object", j != NULL);
	T_STREQ("... level error", json_string_value(json_object_get(j, "level")), "error");
	T_CHECK("... its trace names handlers/boom.c:7",
	        trace != NULL && strstr(trace, "handlers/boom.c:7") != NULL);
	json_decref(j);
	free(out);
	free(id);
	T_CHECK("crash server exits 0", h_server_stop(&srv) == 0);
}

/* ==== a stdout nobody reads =========================================== */

/* Starts the target with stdout into a pipe; reads only the URL line. */
static pid_t
start_unread(int *out_fd, int *port)
{
	char bin[4200], db[4200];
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		if (!target.reloads) {
			h_path(bin, sizeof(bin), "%s/.cot-export-bin", app);
			h_path(db, sizeof(db), "%s/app.db", app);
			if (chdir(app) != 0)
				_exit(127);
			/* the app secret `cotdev new` wrote (runtime/secret.c) */
			setenv("COT_SECRET_FILE", ".cot-secret", 0);
			execl(bin, bin, "--port", "0", "--threads", "1", "--db", db, (char *)NULL);
		} else {
			const char *cot = target.cotdev;
			execl(cot, cot, "run", "--port", "0", "--threads", "1", app, (char *)NULL);
		}
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	/* the URL line: "... http://127.0.0.1:PORT/ ..." */
	char buf[8192];
	size_t len = 0;
	double end = h_now_ms() + H_DEADLINE_MS;
	*port = 0;
	while (*port == 0 && h_now_ms() < end && len < sizeof(buf) - 1) {
		ssize_t n = read(p[0], buf + len, 1);
		if (n <= 0)
			break;
		buf[++len] = '\0';
		char *u = strstr(buf, "http://127.0.0.1:");
		if (u != NULL && strchr(u, '/') && strchr(u + 17, '/'))
			*port = atoi(u + 17);
	}
	return pid;
}

static void
test_blocked_output(void)
{
	int fd, port;
	pid_t pid = start_unread(&fd, &port);
	T_CHECK("server with an unread stdout starts", pid > 0 && port > 0);
	if (pid <= 0 || port <= 0)
		return;
	h_server fake = {.pid = pid, .port = port};
	snprintf(fake.base, sizeof(fake.base), "http://127.0.0.1:%d", port);
	/* ~70 bytes a line: 6000 lines are far more than the pipe (64 KB) and
	 * both buffers of the one worker (128 KB) hold */
	int answered = 0;
	const int total = 6000;
	for (int i = 0; i < total; i++) {
		h_resp r;
		answered += h_get(&fake, "/hello/blocked-output-line", &r) == 200;
		h_resp_free(&r);
	}
	h_thread_done();
	T_CHECK("every request answered while nobody reads the log", answered == total);
	kill(pid, SIGTERM);
	/* now read it all: the writer finishes its writes, the process exits */
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)n, m);
	fclose(m);
	close(fd);
	int status = 0;
	waitpid(pid, &status, 0);
	T_CHECK("it exits 0 at SIGTERM", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int lines = 0;
	unsigned long dropped = 0;
	for (char *l = out; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		lines += strncmp(l, "GET /hello/blocked-output-line 200 ", 35) == 0;
		unsigned long d;
		if (sscanf(l, "cot: access log dropped %lu line", &d) == 1)
			dropped += d;
	}
	T_CHECK("the log says it dropped lines", dropped > 0);
	char name[128];
	snprintf(name, sizeof(name), "lines written (%d) + dropped (%lu) = requests (%d)", lines,
	         dropped, total);
	T_CHECK(name, (unsigned long)lines + dropped == (unsigned long)total);
	free(out);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	target = h_target_dev(argv[1]);
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		printf("not ok scaffold\n");
		return 1;
	}
	char path[4300];
	if (h_save_new(h_path(path, sizeof(path), "%s/handlers/boom.c", app), boom_src) != 0)
		printf("not ok write handlers/boom.c\n");
	test_json_file();
	test_reopen();
	test_json_crash();
	test_blocked_output();
	h_rmtree(app);
	return T_DONE();
}
