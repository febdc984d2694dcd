/*
 * test_concurrency.c -- reloads under load, against the real server.
 *
 * usage: test_concurrency COTDEV     (make test runs it on the ASan build)
 *
 * 1. Client threads, each on its own keep-alive connection, hammer a route
 *    while the main thread saves its handler 200 times (in place and by
 *    rename, alternately; every save is a complete file). Every answer must
 *    be 200 with the body of some version, a client never sees an older
 *    version after a newer one, and after each save the main thread's next
 *    request sees that save.
 * 2. A slow request stays in the old module while its file is reloaded
 *    twice underneath it, and completes with the old code's answer: the old
 *    module must live until the request leaves. The handler signals that it
 *    has entered by creating a file and busy-waits until the test creates
 *    another, so the overlap is certain rather than timed.
 *
 * A sanitizer report in the server makes its exit status non-zero, which
 * fails the last check.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

#define SAVES   200
#define CLIENTS 4

static h_target target;
static h_server srv;
static char app[4096];

static char *
gen_src(char *buf, size_t len, int gen)
{
	snprintf(buf, len,
	         "#include <cot.h>\n"
	         "\n"
	         "static cot_result\n"
	         "gen(cot_ctx *c)\n"
	         "{\n"
	         "\treturn cot_text(c, 200, \"gen %%d\\n\", %d);\n"
	         "}\n"
	         "\n"
	         "COT_ROUTES(\n"
	         "\tCOT_GET(\"/gen\", gen),\n"
	         ")\n",
	         gen);
	return buf;
}

/* ==== hammering while saving =========================================== */

typedef struct client_stats {
	pthread_t thread;
	long requests, failures, regressions;
	char first_failure[512];
} client_stats;

static atomic_bool stop_clients;

/* Parses "gen N\n" exactly; -1 if the body is anything else. */
static int
parse_gen(const char *body)
{
	int n, used = 0;
	if (sscanf(body, "gen %d\n%n", &n, &used) != 1 || used == 0 || body[used] != '\0')
		return -1;
	return n;
}

static void *
client_main(void *arg)
{
	client_stats *st = arg;
	h_client *c = h_client_new();
	int last = -1;
	while (!atomic_load(&stop_clients)) {
		h_resp r;
		h_request(c, &srv, "GET", "/gen", NULL, NULL, &r);
		st->requests++;
		int gen = r.status == 200 ? parse_gen(r.body) : -1;
		if (gen < 0 || gen > SAVES) {
			if (st->failures++ == 0)
				snprintf(st->first_failure, sizeof(st->first_failure),
				         "%ld \"%.200s\" %s", r.status, r.body ? r.body : "",
				         r.err);
		} else if (gen < last) {
			st->regressions++;
		} else {
			last = gen;
		}
		h_resp_free(&r);
	}
	h_client_free(c);
	return NULL;
}

static void
test_hammer(void)
{
	char path[4200], src[2048];
	h_path(path, sizeof(path), "%s/handlers/gen.c", app);
	h_save_inplace(path, gen_src(src, sizeof(src), 0));
	h_resp r;
	h_get(&srv, "/gen", &r);
	T_CHECK("the hammered route answers before the run",
	        r.status == 200 && strcmp(r.body, "gen 0\n") == 0);
	h_resp_free(&r);

	client_stats st[CLIENTS];
	memset(st, 0, sizeof(st));
	atomic_store(&stop_clients, false);
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&st[i].thread, NULL, client_main, &st[i]);

	int stale = 0, first_stale = -1;
	for (int gen = 1; gen <= SAVES; gen++) {
		gen_src(src, sizeof(src), gen);
		if (gen % 2 == 0)
			h_save_rename(path, src);
		else
			h_save_inplace(path, src);
		h_get(&srv, "/gen", &r);
		if (r.status != 200 || parse_gen(r.body) != gen) {
			if (stale++ == 0) {
				first_stale = gen;
				printf("# after save %d: %ld \"%.200s\" %s\n", gen, r.status,
				       r.body ? r.body : "", r.err);
			}
		}
		h_resp_free(&r);
	}
	atomic_store(&stop_clients, true);
	long requests = 0, failures = 0, regressions = 0;
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(st[i].thread, NULL);
		requests += st[i].requests;
		failures += st[i].failures;
		regressions += st[i].regressions;
		if (st[i].failures)
			printf("# client %d: %ld failures, first: %s\n", i, st[i].failures,
			       st[i].first_failure);
	}
	char name[256];
	snprintf(name, sizeof(name),
	         "%d saves under %d keep-alive clients: zero failed "
	         "requests (%ld requests, %ld failed)",
	         SAVES, CLIENTS, requests, failures);
	T_CHECK(name, failures == 0 && requests > 0);
	snprintf(name, sizeof(name),
	         "no client saw an older version after a newer one "
	         "(%ld regressions)",
	         regressions);
	T_CHECK(name, regressions == 0);
	snprintf(name, sizeof(name),
	         "after every save the next request sees it (%d stale, "
	         "first after save %d)",
	         stale, first_stale);
	T_CHECK(name, stale == 0);
}

/* ==== a slow request across reloads ==================================== */

static char *
slow_src(char *buf, size_t len, const char *version)
{
	snprintf(buf, len,
	         "#include <cot.h>\n"
	         "#include <stdio.h>\n"
	         "#include <time.h>\n"
	         "#include <unistd.h>\n"
	         "\n"
	         "static const char version[] = \"%s\";\n"
	         "\n"
	         "/* Says it has entered, then busy-waits for the test's go (or ~4 s). */\n"
	         "static cot_result\n"
	         "slow(cot_ctx *c)\n"
	         "{\n"
	         "\tFILE *f = fopen(\"slow-entered\", \"w\");\n"
	         "\tif (f != NULL)\n"
	         "\t\tfclose(f);\n"
	         "\tstruct timespec t0, t;\n"
	         "\tclock_gettime(CLOCK_MONOTONIC, &t0);\n"
	         "\tlong spins = 0;\n"
	         "\tdo {\n"
	         "\t\tspins++;\n"
	         "\t\tclock_gettime(CLOCK_MONOTONIC, &t);\n"
	         "\t} while (access(\"slow-release\", F_OK) != 0 && t.tv_sec - t0.tv_sec < 4);\n"
	         "\treturn cot_text(c, 200, \"slow %%s after %%s\\n\", version,\n"
	         "\t                spins > 0 ? \"spinning\" : \"?\");\n"
	         "}\n"
	         "\n"
	         "static cot_result\n"
	         "ver(cot_ctx *c)\n"
	         "{\n"
	         "\treturn cot_text(c, 200, \"ver %%s\\n\", version);\n"
	         "}\n"
	         "\n"
	         "COT_ROUTES(\n"
	         "\tCOT_GET(\"/slow\", slow),\n"
	         "\tCOT_GET(\"/slowver\", ver),\n"
	         ")\n",
	         version);
	return buf;
}

static h_resp slow_resp;

static void *
slow_main(void *arg)
{
	(void)arg;
	h_client *c = h_client_new();
	h_request(c, &srv, "GET", "/slow", NULL, NULL, &slow_resp);
	h_client_free(c);
	return NULL;
}

static char entered_path[4200];

static bool
slow_entered(void *arg)
{
	(void)arg;
	return access(entered_path, F_OK) == 0;
}

static bool
get_is(const char *path, const char *body)
{
	h_resp r;
	h_get(&srv, path, &r);
	bool ok = r.status == 200 && strcmp(r.body, body) == 0;
	if (!ok)
		printf("# GET %s: %ld \"%.200s\" %s\n", path, r.status, r.body ? r.body : "",
		       r.err);
	h_resp_free(&r);
	return ok;
}

static void
test_slow_request(void)
{
	char path[4200], release[4200], src[4096];
	h_path(path, sizeof(path), "%s/handlers/slow.c", app);
	h_path(entered_path, sizeof(entered_path), "%s/slow-entered", app);
	h_path(release, sizeof(release), "%s/slow-release", app);
	h_save_inplace(path, slow_src(src, sizeof(src), "v1"));
	T_CHECK("the slow handler's file answers", get_is("/slowver", "ver v1\n"));

	pthread_t t;
	pthread_create(&t, NULL, slow_main, NULL);
	bool entered = h_wait_for(slow_entered, NULL, H_DEADLINE_MS);
	T_CHECK("the slow request entered its handler", entered);
	h_save_inplace(path, slow_src(src, sizeof(src), "v2"));
	T_CHECK("reloaded while the slow request runs: new requests get v2",
	        get_is("/slowver", "ver v2\n"));
	h_save_rename(path, slow_src(src, sizeof(src), "v3"));
	T_CHECK("reloaded again: new requests get v3", get_is("/slowver", "ver v3\n"));
	h_save_inplace(release, "go\n");
	pthread_join(t, NULL);
	T_CHECK("the slow request completes in the old module with its answer",
	        slow_resp.status == 200 && slow_resp.body != NULL &&
	                strcmp(slow_resp.body, "slow v1 after spinning\n") == 0);
	if (slow_resp.status != 200)
		printf("# slow request: %ld \"%.300s\" %s\n", slow_resp.status,
		       slow_resp.body ? slow_resp.body : "", slow_resp.err);
	h_resp_free(&slow_resp);
	T_CHECK("the slow route now runs the newest code",
	        get_is("/slow", "slow v3 after spinning\n"));
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_concurrency COTDEV\n");
		return 2;
	}
	target = h_target_dev(argv[1]);
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("cotdev new scaffolds an app", false);
		return T_DONE();
	}
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		T_CHECK("cotdev run starts", false);
		h_rmtree(app);
		return T_DONE();
	}
	test_hammer();
	test_slow_request();
	T_CHECK("the server still answers hello", get_is("/hello/x", "Hello, x!\n"));
	int code = h_server_stop(&srv);
	char name[160];
	snprintf(name, sizeof(name),
	         "the server exits cleanly (status %d; non-zero means a "
	         "sanitizer report or leak)",
	         code);
	T_CHECK(name, code == 0);
	h_thread_done();
	h_rmtree(app);
	return T_DONE();
}
