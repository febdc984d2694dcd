/*
 * test_offload.c -- the handler pool, end to end over loopback HTTP, on
 * both servers: blocking handlers run off libmicrohttpd's polling threads
 * (runtime/server_pool.c, runtime/pool.c).
 *
 * usage: test_offload COTDEV          `cotdev run` (build/cotdev, build/cotdev-san)
 *        test_offload export:COTDEV   the binary `cotdev export` builds
 *
 * Every server runs with one worker thread (--threads 1): one thread polls
 * every connection, so a handler that blocks on it stalls them all. The
 * blocking handlers wait for a file the test creates ("release-NAME"), so
 * the order of events is the test's to decide: "fast requests are answered
 * while the slow one is held" is shown by ordering, never by a duration.
 * Offloaded: a file that hashes a password (/pw), one that says COT_OFFLOAD
 * (/marked), one that calls lib/ code that hashes (/viapw); with --offload
 * all, every route (/block).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "serve.h"
#include "t.h"

static h_target target;
static const char *cotdev_arg;
static char app[4096];

/* Waits for APP/release-NAME; prints when it enters and leaves. */
#define HOLD(name)                                                                                 \
	"\tprintf(\"" name " entered %s\\n\", cot_request_id(c));\n"                               \
	"\tfflush(stdout);\n"                                                                      \
	"\twhile (access(\"release-" name "\", F_OK) != 0)\n"                                      \
	"\t\tusleep(2000);\n"                                                                      \
	"\tprintf(\"" name " left %s, Host %s\\n\", cot_request_id(c),\n"                          \
	"\t       cot_header(c, \"Host\") ? \"read\" : \"gone\");\n"                               \
	"\tfflush(stdout);\n"

/* Offloaded by --offload auto because it hashes a password. */
static const char pw_src[] = "#include <cot.h>\n#include <stdio.h>\n#include <unistd.h>\n\n"
                             "static cot_result\npw(cot_ctx *c)\n{\n"
                             "\tconst char *h = cot_password_hash(c, \"correct horse\");\n" HOLD(
                                     "pw") "\treturn cot_text(c, 200, \"%s\\n\", "
                                           "cot_password_verify(h, \"correct horse\") ? "
                                           "\"verified\" : \"wrong\");\n}\n\n"
                                           "COT_ROUTES(\n\tCOT_GET(\"/pw\", pw),\n)\n";

/* Offloaded because it says so. */
static const char marked_src[] =
        "#include <cot.h>\n#include <stdio.h>\n#include <unistd.h>\n\n"
        "COT_OFFLOAD\n\n"
        "static cot_result\nmarked(cot_ctx *c)\n{\n" HOLD(
                "marked") "\treturn cot_text(c, 200, \"marked done\\n\");\n}\n\n"
                          "static cot_result\nboom(cot_ctx *c)\n{\n"
                          "\tvolatile int *p = 0;\n"
                          "\t(void)c;\n"
                          "\treturn *p ? cot_text(c, 200, \"?\\n\") : cot_text(c, 200, \"?\\n\"); "
                          "/*@boom*/\n}\n\n"
                          "COT_ROUTES(\n\tCOT_GET(\"/marked\", marked),\n\tCOT_GET(\"/boom\", "
                          "boom),\n)\n";

/* Shared code that hashes, and a handler that calls it: offloaded too. */
static const char pwlib_src[] = "#include <cot.h>\n\n"
                                "const char *\npwlib_hash(cot_ctx *c, const char *pw)\n{\n"
                                "\treturn cot_password_hash(c, pw);\n}\n";

static const char viapw_src[] = "#include <cot.h>\n#include <stdio.h>\n#include <unistd.h>\n\n"
                                "const char *pwlib_hash(cot_ctx *c, const char *pw);\n\n"
                                "static cot_result\nviapw(cot_ctx *c)\n{\n"
                                "\tconst char *h = pwlib_hash(c, \"battery staple\");\n" HOLD(
                                        "viapw") "\treturn cot_text(c, 200, \"%s\\n\", h != NULL ? "
                                                 "\"hashed\" : \"failed\");\n}\n\n"
                                                 "COT_ROUTES(\n\tCOT_GET(\"/viapw\", viapw),\n)\n";

/* Neither: runs on the polling thread unless --offload all. */
static const char plain_src[] =
        "#include <cot.h>\n#include <stdio.h>\n#include <unistd.h>\n\n"
        "static cot_result\nfast(cot_ctx *c)\n{\n"
        "\treturn cot_text(c, 200, \"fast\\n\");\n}\n\n"
        "static cot_result\nblock(cot_ctx *c)\n{\n" HOLD(
                "block") "\treturn cot_text(c, 200, \"block done\\n\");\n}\n\n"
                         "COT_ROUTES(\n\tCOT_GET(\"/fast\", fast),\n\tCOT_GET(\"/block\", "
                         "block),\n)\n";

/* ==== helpers ========================================================== */

/* Starts the target with one worker thread and `flags`; one export serves
 * every start. */
static bool
start(h_server *srv, const char *const *flags)
{
	static const char *const one_worker[] = {"--threads", "1", NULL};
	return serve_start(&target, cotdev_arg, app, one_worker, flags, true, srv);
}

static void
release(const char *name, bool on)
{
	char path[4200];
	h_path(path, sizeof(path), "%s/release-%s", app, name);
	if (on) {
		FILE *f = fopen(path, "w");
		if (f != NULL)
			fclose(f);
	} else {
		unlink(path);
	}
}

/* GET /fast on `n` fresh connections: how many answered 200 "fast". */
static int
fast_requests(const h_server *srv, int n)
{
	int good = 0;
	for (int i = 0; i < n; i++) {
		h_client *k = h_client_new();
		h_resp r;
		good += h_request(k, srv, "GET", "/fast", NULL, NULL, &r) == 200 &&
		        r.body != NULL && strcmp(r.body, "fast\n") == 0;
		h_resp_free(&r);
		h_client_free(k);
	}
	return good;
}

/*
 * While NAME's handler holds (route PATH), 5 fast requests on other
 * connections of the one worker are answered; then it is released and
 * answers WANT.
 */
static void
held_while_others_answered(h_server *srv, const char *name, const char *path, const char *want)
{
	char label[256];
	size_t mark = h_server_mark(srv);
	char entered[64];
	snprintf(entered, sizeof(entered), "%s entered", name);
	release(name, false);
	serve_bg slow;
	serve_bg_start(&slow, srv, path);
	bool in = h_server_wait_output(srv, mark, entered, H_DEADLINE_MS);
	snprintf(label, sizeof(label), "%s: the handler is running and holds", path);
	T_CHECK(label, in);
	int good = fast_requests(srv, 5);
	bool still_held = !serve_bg_done(&slow);
	snprintf(label, sizeof(label),
	         "%s: while it holds, 5 of 5 fast requests on other "
	         "connections of the one worker are answered",
	         path);
	T_CHECK(label, in && good == 5 && still_held);
	if (good != 5 || !still_held)
		printf("# %d of 5; held: %d\n", good, still_held);
	release(name, true);
	serve_bg_wait(&slow);
	snprintf(label, sizeof(label), "%s: released, it answers 200 \"%s\"", path, want);
	T_CHECK(label, slow.resp.status == 200 && slow.resp.body != NULL &&
	                       strncmp(slow.resp.body, want, strlen(want)) == 0);
	if (slow.resp.status != 200)
		printf("# %ld %s %s\n", slow.resp.status, slow.resp.body ? slow.resp.body : "",
		       slow.resp.err);
	h_resp_free(&slow.resp);
	release(name, false);
}

/* ==== --offload auto (the default) ===================================== */

/*
 * The control: a handler that is not offloaded blocks the one worker, so a
 * fast request on another connection is answered only after it is
 * released. Without this, the checks above could pass for another reason.
 */
static void
test_inline_blocks(h_server *srv)
{
	size_t mark = h_server_mark(srv);
	release("block", false);
	serve_bg slow, fast;
	serve_bg_start(&slow, srv, "/block");
	bool in = h_server_wait_output(srv, mark, "block entered", H_DEADLINE_MS);
	T_CHECK("control: /block (not offloaded) runs on the polling thread", in);
	serve_bg_start(&fast, srv, "/fast");
	/* a negative: given time, the fast request still does not complete */
	bool early = h_wait_for(serve_bg_done, &fast, 500);
	release("block", true);
	serve_bg_wait(&slow);
	serve_bg_wait(&fast);
	T_CHECK("control: a fast request waits until the inline handler is released, then "
	        "both answer",
	        in && !early && slow.resp.status == 200 && fast.resp.status == 200);
	h_resp_free(&slow.resp);
	h_resp_free(&fast.resp);
	release("block", false);
}

/* A crash in an offloaded handler: the usual 500 and a trace naming the line. */
static void
test_crash_offloaded(h_server *srv)
{
	size_t mark = h_server_mark(srv);
	h_resp r;
	long st = h_get(srv, "/boom", &r);
	T_CHECK("crash on a pool thread: 500", st == 500);
	int line = 0, n = 1;
	const char *at = strstr(marked_src, "/*@boom*/");
	for (const char *p = marked_src; at != NULL && p < at; p++)
		n += *p == '\n';
	line = at != NULL ? n : 0;
	char want[128];
	snprintf(want, sizeof(want), "handlers/marked.c:%d", line);
	bool logged = h_server_wait_output(srv, mark, want, H_DEADLINE_MS);
	T_CHECK("crash on a pool thread: the log's trace names handlers/marked.c and the line",
	        logged);
	if (!logged) {
		char *out = h_server_output(srv, NULL);
		printf("# want %s in: %.800s\n", want, out ? out + mark : "");
		free(out);
	}
	h_resp_free(&r);
	T_CHECK("crash on a pool thread: the server answers afterwards",
	        fast_requests(srv, 1) == 1);
}

static void
test_auto(void)
{
	static const char *const flags[] = {"--timeout", "0", NULL};
	h_server srv;
	if (!start(&srv, flags)) {
		T_CHECK("auto: the server starts", false);
		return;
	}
	held_while_others_answered(&srv, "pw", "/pw", "verified");
	held_while_others_answered(&srv, "marked", "/marked", "marked done");
	held_while_others_answered(&srv, "viapw", "/viapw", "hashed");
	test_inline_blocks(&srv);
	test_crash_offloaded(&srv);
	int rc = h_server_stop(&srv);
	T_CHECK("auto: the server exits 0 at SIGTERM (no sanitizer report, no leak)", rc == 0);
}

/* ==== --offload all and a stuck handler ================================ */

static void
test_all_stuck(void)
{
	static const char *const flags[] = {"--offload",       "all",  "--timeout", "1000",
	                                    "--drain-timeout", "2000", NULL};
	h_server srv;
	if (!start(&srv, flags)) {
		T_CHECK("all: the server starts", false);
		return;
	}
	/* /block now runs on the pool: the one worker keeps answering */
	held_while_others_answered(&srv, "block", "/block", "block done");

	size_t mark = h_server_mark(&srv);
	release("block", false);
	serve_bg stuck;
	serve_bg_start(&stuck, &srv, "/block");
	bool in = h_server_wait_output(&srv, mark, "block entered", H_DEADLINE_MS);
	int good = fast_requests(&srv, 5);
	T_CHECK("all: a stuck handler holds, and 5 of 5 requests on the same worker are "
	        "answered meanwhile",
	        in && good == 5);
	serve_bg_wait(&stuck);
	char *id = h_resp_header(&stuck.resp, "X-Request-Id");
	T_CHECK("all: the stuck request is answered 503 past --timeout, naming its request id",
	        stuck.resp.status == 503 && id != NULL && stuck.resp.body != NULL &&
	                strstr(stuck.resp.body, id) != NULL);
	if (stuck.resp.status != 503)
		printf("# %ld %s %s\n", stuck.resp.status, stuck.resp.body ? stuck.resp.body : "",
		       stuck.resp.err);
	free(id);
	/* answered through MHD and the error pipeline (its Date, the pipeline's
	 * Retry-After), not written raw on the socket as a stuck worker's is */
	char *retry = h_resp_header(&stuck.resp, "Retry-After");
	char *date = h_resp_header(&stuck.resp, "Date");
	T_CHECK("all: the stuck request's 503 came through libmicrohttpd and the error pipeline",
	        retry != NULL && date != NULL);
	free(retry);
	free(date);
	h_resp_free(&stuck.resp);
	T_CHECK("all: after the 503, 5 of 5 fast requests answered (the pool thread was "
	        "replaced)",
	        fast_requests(&srv, 5) == 5);

	/* the abandoned call returns: its connection is resumed and closed */
	release("block", true);
	/* its connection was answered and may be gone: the handler finds no
	 * header (under ASan, a read of the freed connection would fail here) */
	T_CHECK("all: the abandoned handler, released, returns and reads no freed connection",
	        h_server_wait_output(&srv, mark, "block left", H_DEADLINE_MS) &&
	                h_server_wait_output(&srv, mark, "Host gone", H_DEADLINE_MS));
	held_while_others_answered(&srv, "marked", "/marked", "marked done");

	/* stuck for good at SIGTERM: the drain gives up in time and says so */
	mark = h_server_mark(&srv);
	release("block", false);
	serve_bg_start(&stuck, &srv, "/block");
	in = h_server_wait_output(&srv, mark, "block entered", H_DEADLINE_MS);
	serve_bg_wait(&stuck);
	T_CHECK("all: a second stuck request is answered 503", in && stuck.resp.status == 503);
	h_resp_free(&stuck.resp);
	kill(srv.pid, SIGTERM);
	bool said = h_server_wait_output(&srv, mark, "exiting without the stuck handler threads",
	                                 H_DEADLINE_MS);
	T_CHECK("all: SIGTERM with a stuck pool thread ends the process, saying it leaves it",
	        said);
	int rc = h_server_stop(&srv);
	T_CHECK("all: exit status 0 without kill -9", rc == 0);
	if (rc != 0)
		printf("# exit status %d\n", rc);
	release("block", true); /* the stuck thread is gone with its process */
}

/* ==== a full pool ====================================================== */

static void
test_pool_full(void)
{
	static const char *const flags[] = {"--timeout", "0", "--pool-threads", "1", "--pool-queue",
	                                    "1",         NULL};
	h_server srv;
	if (!start(&srv, flags)) {
		T_CHECK("full: the server starts", false);
		return;
	}
	size_t mark = h_server_mark(&srv);
	release("marked", false);
	serve_bg a, b, c;
	serve_bg_start(&a, &srv, "/marked");
	bool in = h_server_wait_output(&srv, mark, "marked entered", H_DEADLINE_MS);
	/* the pool's one thread holds a; of b and c one waits in the queue of
	 * one, the other finds it full */
	serve_bg_start(&b, &srv, "/marked");
	serve_bg_start(&c, &srv, "/marked");
	bool one_done = false;
	double end = h_now_ms() + H_DEADLINE_MS;
	while (!one_done && h_now_ms() < end)
		one_done = h_wait_for(serve_bg_done, &b, 20) || h_wait_for(serve_bg_done, &c, 20);
	serve_bg *full = serve_bg_done(&b) ? &b : &c;
	serve_bg *queued = full == &b ? &c : &b;
	char *retry = one_done ? h_resp_header(&full->resp, "Retry-After") : NULL;
	T_CHECK("full: with one thread busy and the queue of one taken, a request gets 503 "
	        "with Retry-After at once",
	        in && one_done && full->resp.status == 503 && retry != NULL && !serve_bg_done(&a));
	if (one_done && full->resp.status != 503)
		printf("# %ld %s\n", full->resp.status, full->resp.body ? full->resp.body : "");
	T_CHECK("full: the 503 says why (the pipeline's message)",
	        full->resp.body != NULL && strstr(full->resp.body, "handler pool") != NULL);
	free(retry);
	T_CHECK("full: meanwhile the worker answers requests that need no pool",
	        fast_requests(&srv, 3) == 3);
	release("marked", true);
	serve_bg_wait(&a);
	serve_bg_wait(queued);
	serve_bg_wait(full);
	T_CHECK("full: released, the running and the queued request answer 200",
	        a.resp.status == 200 && queued->resp.status == 200);
	h_resp_free(&a.resp);
	h_resp_free(&b.resp);
	h_resp_free(&c.resp);
	release("marked", false);
	int rc = h_server_stop(&srv);
	T_CHECK("full: the server exits 0 at SIGTERM", rc == 0);
}

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
	T_CHECK("write the handlers",
	        h_write_app_file(app, "handlers/pw.c", pw_src) == 0 &&
	                h_write_app_file(app, "handlers/marked.c", marked_src) == 0 &&
	                h_write_app_file(app, "handlers/plain.c", plain_src) == 0 &&
	                h_write_app_file(app, "lib/pwlib.c", pwlib_src) == 0 &&
	                h_write_app_file(app, "handlers/viapw.c", viapw_src) == 0);

	test_auto();
	test_all_stuck();
	test_pool_full();

	h_thread_done();
	h_rmtree(app);
	return T_DONE();
}
