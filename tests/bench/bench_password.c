/*
 * bench_password.c -- what password hashing costs, and what it costs the
 * other requests of the server. Not a pass/fail test: it prints a table of
 * times and ratios measured side by side in one run.
 *
 * usage: bench_password COTDEV        (make bench-password)
 *
 * `cotdev run --threads 1` serves a scaffolded app plus a probe handler
 * that hashes a password (cot_password_hash: argon2id, runtime/password.c).
 * Measured: the round trip of GET /hello/x alone (the baseline), one hash
 * round trip, and GET /hello/x again while 1 and then 2 client threads hash
 * in a loop -- how much a hash delays the requests that share a worker
 * thread with it. One worker thread, so that they do share it: with two,
 * libmicrohttpd gives a connection to whichever worker wakes first, and a
 * run measured sharing or not by chance (p99 0.2 ms or 200 ms). Twice: with --offload none (the
 * hash on the worker thread, as before the handler pool) and --offload auto (the default: the
 * hashing route runs on the handler pool, runtime/server_pool.c).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"

#define HELLOS 300
#define HASHES 10

static h_server srv;
static atomic_bool hashing;

static const char probe[] =
        "#include <cot.h>\n"
        "static cot_result hash(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"%s\\n\", cot_password_hash(c, \"correct horse\"));\n"
        "}\n"
        "COT_ROUTES(COT_POST(\"/bench/hash\", hash))\n";

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* p50 and p99 of n round trips of method path, in ms. */
static void
measure(const char *method, const char *path, int n, double *p50, double *p99)
{
	h_client *c = h_client_new();
	double *t = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		h_resp r;
		double t0 = h_now_ms();
		h_request(c, &srv, method, path, NULL, "", &r);
		t[i] = h_now_ms() - t0;
		h_resp_free(&r);
	}
	qsort(t, (size_t)n, sizeof(double), cmp);
	*p50 = t[n / 2];
	*p99 = t[n * 99 / 100];
	free(t);
	h_client_free(c);
}

static void *
hasher(void *arg)
{
	(void)arg;
	h_client *c = h_client_new(); /* its own connection, assigned a worker */
	while (atomic_load(&hashing)) {
		h_resp r;
		h_request(c, &srv, "POST", "/bench/hash", NULL, "", &r);
		h_resp_free(&r);
	}
	h_client_free(c);
	return NULL;
}

/* One server with `--offload MODE`: its figures. */
typedef struct bench_case {
	const char *mode;
	double b50, b99, h50, h99, l50[3], l99[3];
} bench_case;

static int
run_case(const char *cotdev, const char *app, bench_case *k)
{
	h_target t = h_target_dev(cotdev);
	const char *flags[] = {"--port", "0",         "--quiet", "--threads",
	                       "1",      "--offload", k->mode,   NULL};
	h_target_flags(&t, flags);
	char err[1024];
	if (h_server_start(&t, app, &srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	double warm50, warm99; /* the first requests of a fresh server are slower */
	measure("GET", "/hello/x", HELLOS, &warm50, &warm99);
	measure("GET", "/hello/x", HELLOS, &k->b50, &k->b99);
	measure("POST", "/bench/hash", HASHES, &k->h50, &k->h99);
	k->l50[0] = k->b50;
	k->l99[0] = k->b99;
	for (int n = 1; n <= 2; n++) {
		pthread_t th[2];
		atomic_store(&hashing, true);
		for (int i = 0; i < n; i++)
			pthread_create(&th[i], NULL, hasher, NULL);
		measure("GET", "/hello/x", HELLOS, &k->l50[n], &k->l99[n]);
		atomic_store(&hashing, false);
		for (int i = 0; i < n; i++)
			pthread_join(th[i], NULL);
	}
	h_server_stop(&srv);
	return 0;
}

/*
 * --offload none is the server before the handler pool (the hash runs on
 * the worker thread that polls the hasher's connection and others);
 * --offload auto (the default) runs the hashing route on the pool. Both
 * in the same run, so the ratios compare like with like.
 */
int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s COTDEV\n", argv[0]);
		return 2;
	}
	h_target t = h_target_dev(argv[1]);
	char app[4096];
	if (h_scaffold(&t, app, sizeof(app)) != 0)
		return 1;
	h_write_app_file(app, "handlers/bench.c", probe);
	bench_case cases[2] = {{.mode = "none"}, {.mode = "auto"}};
	for (int i = 0; i < 2; i++)
		if (run_case(argv[1], app, &cases[i]) != 0)
			return 1;
	printf("| measure | --offload | p50 ms | p99 ms | p50 x baseline | p99 x baseline |\n"
	       "|---|---|---|---|---|---|\n");
	for (int i = 0; i < 2; i++) {
		const bench_case *k = &cases[i];
		printf("| GET /hello/x alone (baseline) | %s | %.3f | %.3f | 1.00 | 1.00 |\n",
		       k->mode, k->b50, k->b99);
		printf("| one password hash (POST, round trip) | %s | %.1f | %.1f | %.0f | |\n",
		       k->mode, k->h50, k->h99, k->h50 / k->b50);
		for (int n = 1; n <= 2; n++)
			printf("| GET /hello/x while %d client%s hash | %s | %.3f | %.3f | %.2f | "
			       "%.2f |\n",
			       n, n == 1 ? "" : "s", k->mode, k->l50[n], k->l99[n],
			       k->l50[n] / k->b50, k->l99[n] / k->b99);
	}
	for (int n = 1; n <= 2; n++)
		printf("GET /hello/x while %d client%s hash: auto / none = %.4f at p50, %.4f at "
		       "p99 (none takes %.0fx and %.0fx as long)\n",
		       n, n == 1 ? "" : "s", cases[1].l50[n] / cases[0].l50[n],
		       cases[1].l99[n] / cases[0].l99[n], cases[0].l50[n] / cases[1].l50[n],
		       cases[0].l99[n] / cases[1].l99[n]);
	FILE *la = fopen("/proc/loadavg", "r");
	char load[128] = "?";
	if (la != NULL) {
		if (fgets(load, sizeof(load), la) == NULL)
			snprintf(load, sizeof(load), "?\n");
		fclose(la);
	}
	printf("load average while measuring (other work on the machine inflates every "
	       "time above): %s",
	       load);
	h_thread_done();
	h_rmtree(app);
	return 0;
}
