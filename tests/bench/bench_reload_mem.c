/*
 * bench_reload_mem.c -- memory of `cotdev run` across many reloads. Not a
 * pass/fail test: it prints a table and a verdict against the target.
 *
 * usage: bench_reload_mem COTDEV [RELOADS]     (make bench-reload-mem)
 *
 * For the template's handlers/notes.c and handlers/hello.c: save the file
 * RELOADS times (default 10,000; each save changes one comment so the file
 * compiles again), ask its route after every save (read-your-writes: that
 * request waits for the new code, so every save is one reload), and read
 * the server's VmRSS from /proc at 1,000 reloads and at the end. The
 * figure that matters is the growth between the two -- what each reload
 * leaves behind -- set against the RSS at 1,000 in the same run.
 * Target (issue 14): RSS after 10,000 reloads of notes.c <= RSS after
 * 1,000 + 1 MB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"

static h_target target;

/* VmRSS of pid in KB, or -1. */
static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f != NULL)
		fclose(f);
	return kb;
}

/* Reloads APP/handlers/FILE n times; fills rss at 1,000 and at n. */
static int
reload_many(const char *app, const char *file, const char *route, int n, long *rss_1k, long *rss_n,
            double *ms_per_reload)
{
	char path[4200], err[512];
	h_path(path, sizeof(path), "%s/handlers/%s", app, file);
	size_t len;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char *orig = malloc(1 << 20);
	len = fread(orig, 1, (1 << 20) - 1, f);
	orig[len] = '\0';
	fclose(f);
	char *src = malloc(len + 64);
	h_server s;
	if (h_server_start(&target, app, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return -1;
	}
	h_client *c = h_client_new();
	int wrong = 0;
	double t0 = h_now_ms();
	for (int i = 1; i <= n; i++) {
		snprintf(src, len + 64, "%s/* save %d */\n", orig, i);
		h_save_inplace(path, src);
		h_resp r;
		long st = h_request(c, &s, "GET", route, NULL, NULL, &r);
		wrong += st != 200;
		h_resp_free(&r);
		if (i == 1000 || i == n) {
			long kb = rss_kb(s.pid);
			if (i == 1000)
				*rss_1k = kb;
			if (i == n)
				*rss_n = kb;
			printf("  %-9s %6d reloads: RSS %ld KB\n", file, i, kb);
			fflush(stdout);
		}
	}
	*ms_per_reload = (h_now_ms() - t0) / n;
	h_client_free(c);
	h_server_stop(&s);
	h_save_inplace(path, orig);
	free(src);
	free(orig);
	if (wrong)
		fprintf(stderr, "bench: %d of %d requests did not answer 200\n", wrong, n);
	return wrong ? -1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV [RELOADS]\n", argv[0]);
		return 2;
	}
	int n = argc > 2 ? atoi(argv[2]) : 10000;
	if (n < 1000) {
		fprintf(stderr, "bench: at least 1000 reloads\n");
		return 2;
	}
	target = h_target_dev(argv[1]);
	char app[4096];
	if (h_scaffold(&target, app, sizeof(app)) != 0)
		return 1;
	static const struct {
		const char *file, *route;
	} files[] = {
	        {"notes.c", "/notes"},
	        {"hello.c", "/hello/bench"},
	};
	printf("memory of cotdev run across reloads (%d saves of each file)\n", n);
	long notes_1k = -1, notes_n = -1;
	int rc = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		long a = -1, b = -1;
		double ms = 0;
		if (reload_many(app, files[i].file, files[i].route, n, &a, &b, &ms) != 0) {
			rc = 1;
			continue;
		}
		double per_k = (double)(b - a) / 1024.0 / ((n - 1000) / 1000.0);
		printf("%-9s RSS after 1,000: %.1f MB, after %d: %.1f MB; growth %+.2f MB "
		       "(%+.3f MB per 1,000 reloads); %.1f ms per save+reload\n",
		       files[i].file, a / 1024.0, n, b / 1024.0, (b - a) / 1024.0, per_k, ms);
		if (i == 0) {
			notes_1k = a;
			notes_n = b;
		}
	}
	if (notes_1k > 0 && notes_n > 0)
		printf("verdict: notes.c RSS after %d reloads %s RSS after 1,000 + 1 MB "
		       "(%.1f MB vs %.1f MB)\n",
		       n, notes_n <= notes_1k + 1024 ? "<=" : "> (MISSED)", notes_n / 1024.0,
		       notes_1k / 1024.0 + 1.0);
	h_rmtree(app);
	return rc;
}
