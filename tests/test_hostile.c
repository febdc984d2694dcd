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
	"COT_ROUTES(\n"
	"\tCOT_GET(\"/ok\", ok),\n"
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

	h_thread_done();
	h_rmtree(app);
	return T_DONE();
}
