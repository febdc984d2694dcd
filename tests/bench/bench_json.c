/*
 * bench_json.c -- rows to a JSON response: the JSON writer (cot_jw_send of
 * the rows) against cot_db_json_rows (jansson values, then json_dumps), in
 * one run, on the same rows, in the same process.
 *
 * A request context is made per response, as the server does, and both
 * paths produce the whole application/json body; the bodies are checked to
 * be the same JSON (parsed with jansson) before anything is timed. Rounds
 * alternate between the two so a change in the machine's load hits both;
 * the verdict is the median of the per-round ratios (writer / jansson), and
 * the run exits 1 if the writer is slower (ratio > 1).
 *
 * usage: bench_json [ROWS] [ROUNDS]     (default 200 rows x 7 columns, 15 rounds)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "db.h"

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static cot_ctx *
ctx_new(void)
{
	cot_ctx *c = calloc(1, sizeof(*c));
	ctx_init(c);
	c->path = "/bench";
	return c;
}

static void
ctx_done(cot_ctx *c)
{
	db_request_end(c);
	ctx_free(c);
	free(c);
}

static const char *sql = "SELECT id, title, body, score, done, created_at, owner FROM items";

/* One response of `rows` by either path; its body is copied to *out if asked. */
static void
respond(int writer, char **out)
{
	cot_ctx *c = ctx_new();
	cot_rows *rs = cot_db_all(c, sql);
	if (writer) {
		cot_jw *j = cot_jw_new(c);
		cot_jw_val(j, rs);
		cot_jw_send(c, 200, j);
	} else {
		cot_db_json_rows(c, 200, rs);
	}
	if (c->status != 200) {
		fprintf(stderr, "bench_json: %s answered %d: %s\n", writer ? "writer" : "jansson",
		        c->status, c->resp_body);
		exit(2);
	}
	if (out != NULL)
		*out = strndup(c->resp_body, c->resp_len);
	ctx_done(c);
}

/* ms per response over n responses. */
static double
time_path(int writer, int n)
{
	double t0 = now_ms();
	for (int i = 0; i < n; i++)
		respond(writer, NULL);
	return (now_ms() - t0) / n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int nrows = argc > 1 ? atoi(argv[1]) : 200;
	int rounds = argc > 2 ? atoi(argv[2]) : 15;
	char dbfile[] = "/tmp/bench_json_XXXXXX";
	int fd = mkstemp(dbfile);
	close(fd);
	char err[256];
	if (db_init(dbfile, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_json: %s\n", err);
		return 2;
	}
	cot_ctx *c = ctx_new();
	cot_db_exec(c, "CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT, body TEXT, "
	               "score REAL, done INTEGER, created_at TEXT, owner INTEGER)");
	cot_db_begin(c);
	for (int i = 0; i < nrows; i++)
		cot_db_exec(
		        c,
		        "INSERT INTO items (title, body, score, done, created_at, owner) "
		        "VALUES (?, ?, ?, ?, '2026-12-01 14:00:00', ?)",
		        cot_sprintf(c, "item number %d", i),
		        cot_sprintf(c, "a body with \"quotes\", a tab\t and caf\xc3\xa9 #%d", i),
		        i * 0.25, i % 2, i % 5 == 0 ? cot_null() : cot_value_int_(i % 7));
	cot_db_commit(c);
	ctx_done(c);

	/* the same JSON from both, before timing anything */
	char *a, *b;
	respond(1, &a);
	respond(0, &b);
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
	int same = ja != NULL && json_equal(ja, jb);
	printf("bench_json: %d rows x 7 columns, %zu bytes of JSON; same value from both: %s\n",
	       nrows, strlen(a), same ? "yes" : "NO");
	json_decref(ja);
	json_decref(jb);
	free(a);
	free(b);
	if (!same)
		return 2;

	/* enough responses per round for ~50 ms of the slower path */
	int n = 1;
	while (time_path(0, n) * n < 50 && n < 1 << 20)
		n *= 2;
	double *ratios = calloc((size_t)rounds, sizeof(double)), wsum = 0, jsum = 0;
	for (int r = 0; r < rounds; r++) {
		double w = r % 2 ? time_path(1, n) : 0, j = time_path(0, n);
		if (r % 2 == 0)
			w = time_path(1, n); /* alternate which goes first */
		ratios[r] = w / j;
		wsum += w;
		jsum += j;
	}
	qsort(ratios, (size_t)rounds, sizeof(double), cmp_double);
	double median = ratios[rounds / 2];
	printf("| path | ms per response (mean of %d rounds x %d) |\n|---|---|\n", rounds, n);
	printf("| cot_db_json_rows (jansson) | %.4f |\n", jsum / rounds);
	printf("| cot_jw_send (JSON writer) | %.4f |\n", wsum / rounds);
	printf("ratio writer / jansson: median %.3f (rounds %.3f-%.3f): the writer is %s\n", median,
	       ratios[0], ratios[rounds - 1], median <= 1.0 ? "not slower" : "SLOWER");
	free(ratios);
	db_shutdown();
	char path[64];
	unlink(dbfile);
	snprintf(path, sizeof(path), "%s-wal", dbfile);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", dbfile);
	unlink(path);
	return median <= 1.0 ? 0 : 1;
}
