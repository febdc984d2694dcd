/*
 * test_hostile.c -- the server under hostile load and hostile handlers, end
 * to end, on both servers: stuck handlers, honest timeouts, exit() from a
 * handler, slow and idle connections, large bodies.
 *
 * usage: test_hostile COTDEV          `cotdev run` (build/cotdev, build/cotdev-san)
 *        test_hostile export:COTDEV   the binary `cotdev export` builds
 *
 * Every check polls a condition (a line in the server's output, an answer
 * on a socket) with the harness deadline; none compares a duration with a
 * fixed limit. Where a check needs "this did not happen yet", the handler
 * itself tells: it prints what its system calls returned.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

static h_target target;
static const char *cotdev_arg;
static char app[4096];

/* ==== the app ========================================================== */

static const char hostile_src[] =
	"#include <cot.h>\n"
	"#include <pthread.h>\n"
	"#include <stdio.h>\n"
	"#include <stdlib.h>\n"
	"#include <time.h>\n"
	"#include <unistd.h>\n"
	"\n"
	"static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;\n"
	"\n"
	"static cot_result\n"
	"ok(cot_ctx *c)\n"
	"{\n"
	"\treturn cot_text(c, 200, \"fine\\n\");\n"
	"}\n"
	"\n"
	"/* Locks a mutex it already holds: blocked for good, in the kernel. */\n"
	"static cot_result\n"
	"deadlock(cot_ctx *c)\n"
	"{\n"
	"\tprintf(\"deadlock entered %s\\n\", cot_request_id(c));\n"
	"\tfflush(stdout);\n"
	"\tpthread_mutex_lock(&lock);\n"
	"\tpthread_mutex_lock(&lock);\n"
	"\treturn cot_text(c, 200, \"unreachable\\n\");\n"
	"}\n"
	"\n"
	"/* sleep(N) once, then N times sleep(1): says what every call returned. */\n"
	"static cot_result\n"
	"sleeper(cot_ctx *c)\n"
	"{\n"
	"\tint n = (int)cot_param_int(c, \"n\");\n"
	"\tconst char *id = cot_request_id(c);\n"
	"\tprintf(\"sleeper entered %s\\n\", id);\n"
	"\tfflush(stdout);\n"
	"\tunsigned left = sleep((unsigned)n);\n"
	"\tint early = 0;\n"
	"\tfor (int i = 0; i < n; i++)\n"
	"\t\tearly += sleep(1) != 0;\n"
	"\tprintf(\"sleeper %s: sleep(%d) left %u, %d of %d sleep(1) returned early\\n\", id, n,\n"
	"\t       left, early, n);\n"
	"\tfflush(stdout);\n"
	"\treturn cot_text(c, 200, \"slept\\n\");\n"
	"}\n"
	"\n"
	"/* Answers after ms milliseconds, or once the file ?release= exists. */\n"
	"static cot_result\n"
	"pause_ms(cot_ctx *c)\n"
	"{\n"
	"\tconst char *release = cot_query(c, \"release\");\n"
	"\tprintf(\"pause entered %s\\n\", cot_request_id(c));\n"
	"\tfflush(stdout);\n"
	"\tfor (int i = 0; i < 2000 && (release == NULL || access(release, F_OK) != 0); i++)\n"
	"\t\tusleep(1000);\n"
	"\treturn cot_text(c, 200, \"paused\\n\");\n"
	"}\n"
	"\n"
	"static cot_result\n"
	"do_exit(cot_ctx *c)\n"
	"{\n"
	"\texit(3); /*@exit*/\n"
	"\treturn cot_text(c, 200, \"unreachable\\n\");\n"
	"}\n"
	"\n"
	"static cot_result\n"
	"do__exit(cot_ctx *c)\n"
	"{\n"
	"\t_exit(4); /*@_exit*/\n"
	"\treturn cot_text(c, 200, \"unreachable\\n\");\n"
	"}\n"
	"\n"
	"COT_ROUTES(\n"
	"\tCOT_GET(\"/ok\", ok),\n"
	"\tCOT_GET(\"/pause\", pause_ms),\n"
	"\tCOT_GET(\"/exit\", do_exit),\n"
	"\tCOT_GET(\"/_exit\", do__exit),\n"
	"\tCOT_GET(\"/deadlock\", deadlock),\n"
	"\tCOT_GET(\"/sleep/:n\", sleeper),\n"
	")\n";

/* ==== helpers ========================================================== */

/* Starts the target with `flags` (NULL-terminated, after --port 0 --quiet). */
static bool
start(h_server *srv, const char *const *flags)
{
	const char *all[H_TARGET_MAX_ARGS];
	int n = 0;
	all[n++] = "--port";
	all[n++] = "0";
	all[n++] = "--quiet";
	for (int i = 0; flags[i] != NULL && n < H_TARGET_MAX_ARGS - 1; i++)
		all[n++] = flags[i];
	all[n] = NULL;
	target = h_target_dev(cotdev_arg);
	char err[512] = "";
	if (h_target_flags(&target, all) != 0 ||
	    h_server_start(&target, app, srv, err, sizeof(err)) != 0) {
		printf("# start: %s\n", err);
		return false;
	}
	return true;
}

/* A request on a connection of its own, on a thread: for requests that hang. */
typedef struct bg_request {
	const h_server *srv;
	const char *path;
	h_resp resp;
	atomic_bool done;
	pthread_t thread;
} bg_request;

static void *
bg_main(void *arg)
{
	bg_request *r = arg;
	h_client *k = h_client_new();
	h_request(k, r->srv, "GET", r->path, NULL, NULL, &r->resp);
	h_client_free(k);
	atomic_store(&r->done, true);
	return NULL;
}

static void
bg_start(bg_request *r, const h_server *srv, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->srv = srv;
	r->path = path;
	atomic_init(&r->done, false);
	pthread_create(&r->thread, NULL, bg_main, r);
}

static void
bg_join(bg_request *r)
{
	pthread_join(r->thread, NULL);
	h_resp_free(&r->resp);
}

/* ==== shutdown with a stuck handler ==================================== */

/*
 * A handler blocked for good (a deadlock) used to hang the process at
 * SIGTERM: MHD_stop_daemon joins the worker threads. Now the drain waits
 * --drain-timeout, then the process exits without them, saying so. With
 * --timeout 0 no watchdog touches the handler: this is the shutdown path
 * alone.
 */
static void
test_stop_with_stuck_handler(void)
{
	static const char *const flags[] = { "--threads", "2", "--timeout", "0",
	                                     "--drain-timeout", "300", NULL };
	h_server srv;
	if (!start(&srv, flags)) {
		T_CHECK("drain: the server starts", false);
		return;
	}
	size_t mark = h_server_mark(&srv);
	bg_request r;
	bg_start(&r, &srv, "/deadlock");
	bool entered = h_server_wait_output(&srv, mark, "deadlock entered", H_DEADLINE_MS);
	T_CHECK("drain: the deadlocking handler is running", entered);
	kill(srv.pid, SIGTERM);
	bool said = h_server_wait_output(&srv, mark, "exiting without the stuck handler threads",
	                                 H_DEADLINE_MS);
	T_CHECK("drain: SIGTERM with a deadlocked handler says it leaves the stuck thread", said);
	int rc = h_server_stop(&srv); /* -1: it had to be killed */
	T_CHECK("drain: the process exits by itself (status 0), no kill -9 needed", rc == 0);
	if (rc != 0)
		printf("# exit status %d\n", rc);
	bg_join(&r);
}

/* ==== stuck handlers and honest timeouts =============================== */

/* GET path on a fresh connection until it answers 200; how many tries. */
static int
ok_on_fresh_connection(const h_server *srv, int *tries)
{
	double end = h_now_ms() + H_DEADLINE_MS;
	*tries = 0;
	while (h_now_ms() < end) {
		h_client *k = h_client_new();
		h_resp r;
		long st = h_request(k, srv, "GET", "/ok", NULL, NULL, &r);
		h_resp_free(&r);
		h_client_free(k);
		(*tries)++;
		if (st == 200)
			return 1;
	}
	return 0;
}

/*
 * --timeout must not change what a handler's system calls return: the
 * watchdog used to signal the thread every 20 ms past the budget, so
 * sleep(2) returned early and every later sleep(1) at once. Now a thread
 * asleep in the kernel is never signalled: the client gets 503 when the
 * budget is over, and the handler, left alone, reports what its calls
 * returned -- all full sleeps -- when it is done.
 */
static void
test_sleep_is_not_interrupted(h_server *srv)
{
	size_t mark = h_server_mark(srv);
	h_client *k = h_client_new();
	h_resp r;
	long st = h_request(k, srv, "GET", "/sleep/2", NULL, NULL, &r);
	h_client_free(k);
	char *id = h_resp_header(&r, "X-Request-Id");
	T_CHECK("sleep past --timeout: the client gets 503", st == 503);
	if (st != 503)
		printf("# %ld %s %s\n", st, r.body ? r.body : "", r.err);
	T_CHECK("sleep past --timeout: the 503 names the request id",
	        id != NULL && r.body != NULL && strstr(r.body, id) != NULL);
	h_resp_free(&r);
	char want[256];
	snprintf(want, sizeof(want), "sleeper %s: sleep(2) left 0, 0 of 2 sleep(1) returned early",
	         id ? id : "?");
	bool honest = id != NULL && h_server_wait_output(srv, mark, "returned early", H_DEADLINE_MS);
	char *out = h_server_output(srv, NULL);
	T_CHECK("sleep past --timeout: every sleep() in the handler slept its full time",
	        honest && out != NULL && strstr(out + mark, want) != NULL);
	if (out != NULL && strstr(out + mark, want) == NULL)
		printf("# want \"%s\" in: %.600s\n", want, out + mark);
	free(out);
	free(id);
	int tries;
	T_CHECK("sleep past --timeout: the server answers afterwards",
	        ok_on_fresh_connection(srv, &tries));
}

/*
 * Two requests deadlocked on one mutex used to occupy both workers for
 * good: no 503, nothing else answered. Now each is answered 503 when its
 * budget is over (or, if it waited behind the other on the same worker,
 * its connection is closed), and other clients are served meanwhile.
 */
static void
test_deadlock_keeps_service(h_server *srv)
{
	size_t mark = h_server_mark(srv);
	bg_request a, b;
	bg_start(&a, srv, "/deadlock");
	T_CHECK("deadlock: the first request is in its handler",
	        h_server_wait_output(srv, mark, "deadlock entered", H_DEADLINE_MS));
	bg_start(&b, srv, "/deadlock");
	pthread_join(a.thread, NULL);
	T_CHECK("deadlock: the stuck request is answered 503", a.resp.status == 503);
	if (a.resp.status != 503)
		printf("# %ld %s %s\n", a.resp.status, a.resp.body ? a.resp.body : "", a.resp.err);
	char *id = h_resp_header(&a.resp, "X-Request-Id");
	char line[256];
	snprintf(line, sizeof(line), "GET /deadlock (request %s)", id ? id : "?");
	T_CHECK("deadlock: the log says the request was stopped, with its request id",
	        id != NULL && h_server_wait_output(srv, mark, line, H_DEADLINE_MS) &&
	        h_server_count_output(srv, mark, (size_t)-1, "stopped GET /deadlock: ") >= 1);
	free(id);
	pthread_join(b.thread, NULL);
	T_CHECK("deadlock: the second one is answered 503 or its connection closed, never left "
	        "hanging", b.resp.status == 503 || b.resp.status == 0);
	int tries;
	bool ok = ok_on_fresh_connection(srv, &tries);
	T_CHECK("deadlock: with both requests stuck for good, other clients are answered 200", ok);
	int good = 0;
	for (int i = 0; i < 20; i++) {
		h_resp r;
		h_client *k = h_client_new();
		good += h_request(k, srv, "GET", "/ok", NULL, NULL, &r) == 200;
		h_resp_free(&r);
		h_client_free(k);
	}
	T_CHECK("deadlock: 20 of 20 new connections answered 200 afterwards", good == 20);
	if (good != 20)
		printf("# %d of 20\n", good);
	h_resp_free(&a.resp);
	h_resp_free(&b.resp);
}

/* The server of the tests above stops at SIGTERM with its stuck threads. */
static void
test_stop_after_abandon(h_server *srv)
{
	size_t mark = h_server_mark(srv);
	kill(srv->pid, SIGTERM);
	bool said = h_server_wait_output(srv, mark, "exiting without the stuck handler threads",
	                                 H_DEADLINE_MS);
	T_CHECK("abandoned threads: SIGTERM ends the process, saying it leaves them", said);
	int rc = h_server_stop(srv);
	T_CHECK("abandoned threads: exit status 0 without kill -9", rc == 0);
	if (rc != 0)
		printf("# exit status %d\n", rc);
}

static void
test_stuck(void)
{
	static const char *const flags[] = { "--threads", "2", "--timeout", "1000", NULL };
	h_server srv;
	if (!start(&srv, flags)) {
		T_CHECK("stuck: the server starts", false);
		return;
	}
	test_sleep_is_not_interrupted(&srv);
	test_deadlock_keeps_service(&srv);
	test_stop_after_abandon(&srv);
}

/* ==== exit() from a handler =========================================== */

/* Line of the line holding "@marker" in src; 0 if absent. */
static int
line_of(const char *src, const char *marker)
{
	char tag[64];
	snprintf(tag, sizeof(tag), "/*@%s*/", marker);
	const char *at = strstr(src, tag);
	int line = 1;
	for (const char *p = src; at != NULL && p < at; p++)
		line += *p == '\n';
	return at != NULL ? line : 0;
}

/*
 * exit() or _exit() in a handler used to end the server with nothing
 * logged, dropping every request in flight. Now it is a crash of that
 * request: 500, a trace naming the call and the handler's line, and a
 * request in flight beside it completes.
 */
static void
test_exit_call(h_server *srv, const char *call, const char *path, int status)
{
	char release[4200], pause_path[4400], name[512], want[256], call_s[64];
	h_path(release, sizeof(release), "%s/release-%s", app, call);
	unlink(release);
	snprintf(pause_path, sizeof(pause_path), "/pause?release=%s", release);
	size_t mark = h_server_mark(srv);
	bg_request slow;
	bg_start(&slow, srv, pause_path);
	bool entered = h_server_wait_output(srv, mark, "pause entered", H_DEADLINE_MS);
	h_client *k = h_client_new();
	h_resp r;
	long st = h_request(k, srv, "GET", path, NULL, NULL, &r);
	h_client_free(k);
	snprintf(name, sizeof(name), "%s() in a handler: answered 500", call);
	T_CHECK(name, st == 500);
	if (st != 500)
		printf("# %ld %s %s\n", st, r.body ? r.body : "", r.err);
	snprintf(call_s, sizeof(call_s), "%s(%d) was called", call, status);
	snprintf(want, sizeof(want), "handlers/hostile.c:%d", line_of(hostile_src, call));
	bool logged = h_server_wait_output(srv, mark, call_s, H_DEADLINE_MS) &&
	              h_server_wait_output(srv, mark, want, H_DEADLINE_MS);
	snprintf(name, sizeof(name), "%s() in a handler: the log's trace names the call and %s",
	         call, want);
	T_CHECK(name, logged);
	if (!logged) {
		char *out = h_server_output(srv, NULL);
		printf("# want \"%s\" and \"%s\" in: %.800s\n", call_s, want, out ? out + mark : "");
		free(out);
	}
	if (target.reloads) {
		snprintf(name, sizeof(name), "%s() in a handler: the dev answer shows the trace", call);
		T_CHECK(name, r.body != NULL && strstr(r.body, call_s) != NULL &&
		        strstr(r.body, want) != NULL);
	}
	h_resp_free(&r);
	h_save_inplace(release, "go\n");
	pthread_join(slow.thread, NULL);
	snprintf(name, sizeof(name), "%s() in a handler: a request in flight beside it completes "
	         "with 200", call);
	T_CHECK(name, entered && slow.resp.status == 200);
	h_resp_free(&slow.resp);
	int tries;
	snprintf(name, sizeof(name), "%s() in a handler: the server keeps serving", call);
	T_CHECK(name, ok_on_fresh_connection(srv, &tries));
}

static void
test_exit(void)
{
	static const char *const flags[] = { "--threads", "2", NULL };
	h_server srv;
	if (!start(&srv, flags)) {
		T_CHECK("exit: the server starts", false);
		return;
	}
	test_exit_call(&srv, "exit", "/exit", 3);
	test_exit_call(&srv, "_exit", "/_exit", 4);
	int rc = h_server_stop(&srv);
	T_CHECK("exit: the server exits 0 at SIGTERM (no sanitizer report, no leak)", rc == 0);
	if (rc != 0)
		printf("# exit status %d\n", rc);
}

/* ==== main ============================================================= */

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	cotdev_arg = argv[1];
	target = h_target_dev(cotdev_arg);
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("scaffold an app", false);
		return T_DONE();
	}
	h_clear_handlers(app);
	T_CHECK("write the hostile handlers",
	        h_write_app_file(app, "handlers/hostile.c", hostile_src) == 0);

	test_stop_with_stuck_handler();
	test_stuck();
	test_exit();

	h_thread_done();
	h_rmtree(app);
	return T_DONE();
}
