/*
 * techempower.c -- the six TechEmpower Framework Benchmark test types
 * (https://github.com/TechEmpower/FrameworkBenchmarks/wiki/Project-Information-Framework-Tests-Overview):
 *
 *   GET /plaintext          "Hello, World!" as text/plain
 *   GET /json               {"message":"Hello, World!"}, built per request
 *   GET /db                 one random World row as {"id":..,"randomNumber":..}
 *   GET /queries?queries=N  N random rows as an array; N clamped to 1..500,
 *                           missing or not a number -> 1
 *   GET /fortunes           every Fortune row plus one added now, sorted by
 *                           message, through templates/fortune.html (escaped)
 *   GET /updates?queries=N  N random rows read one by one, each given a new
 *                           random number, written back, answered as /queries
 *
 * Every answer carries Server (set here) and Date (libmicrohttpd's). The
 * tables come from schema.sql, the rows from seed.sql (see README.md).
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* arc4random_uniform (glibc >= 2.36) */
#endif
#include <cot.h>
#include <stdlib.h>
#include <string.h>

#define TE_WORLDS      10000
#define TE_MAX_QUERIES 500

/* A random World id or number in 1..10000; arc4random is thread-safe. */
static long long
te_random(void)
{
	return (long long)arc4random_uniform(TE_WORLDS) + 1;
}

/* TechEmpower's rule for ?queries=: absent, empty or not a number -> 1,
 * then clamped to 1..500 (cot_query_int would answer 400 instead). */
static int
te_queries(cot_ctx *c)
{
	const char *s = cot_query(c, "queries");
	if (s == NULL || *s == '\0')
		return 1;
	char *end;
	long n = strtol(s, &end, 10);
	if (*end != '\0' || end == s)
		return 1;
	if (n < 1)
		return 1;
	return n > TE_MAX_QUERIES ? TE_MAX_QUERIES : (int)n;
}

static cot_result
te_plaintext(cot_ctx *c)
{
	static const char hello[] = "Hello, World!";
	cot_set_header(c, "Server", "cot");
	return cot_send(c, 200, "text/plain", hello, sizeof(hello) - 1);
}

static cot_result
te_json(cot_ctx *c)
{
	cot_jw *j = cot_jw_new(c);
	cot_jw_obj(j);
	cot_jw_put(j, "message", "Hello, World!");
	cot_jw_end(j);
	cot_set_header(c, "Server", "cot");
	return cot_jw_send(c, 200, j);
}

/* One random row as an object in `j`; 0, or -1 when the query failed. */
static int
te_world(cot_ctx *c, cot_jw *j, long long *number)
{
	cot_row *r = cot_db_one(c, "SELECT id, randomNumber FROM World WHERE id = ?", te_random());
	if (r == NULL)
		return -1;
	cot_jw_obj(j);
	cot_jw_put(j, "id", cot_row_int(r, "id"));
	long long n = number != NULL ? *number : cot_row_int(r, "randomNumber");
	if (number != NULL && cot_db_exec(c, "UPDATE World SET randomNumber = ? WHERE id = ?", n,
	                                  cot_row_int(r, "id")) < 0)
		return -1;
	cot_jw_put(j, "randomNumber", n);
	cot_jw_end(j);
	return 0;
}

static cot_result
te_db(cot_ctx *c)
{
	cot_jw *j = cot_jw_new(c);
	if (te_world(c, j, NULL) != 0)
		return cot_fail(c, 500, "no World row: was seed.sql run?");
	cot_set_header(c, "Server", "cot");
	return cot_jw_send(c, 200, j);
}

/* /queries and /updates: `update` gives each row a new random number. */
static cot_result
te_rows(cot_ctx *c, int update)
{
	int n = te_queries(c);
	cot_jw *j = cot_jw_new(c);
	cot_jw_arr(j);
	if (update && cot_db_begin(c) != 0)
		return cot_fail(c, 500, "cannot begin the update transaction");
	for (int i = 0; i < n; i++) {
		long long number = te_random();
		if (te_world(c, j, update ? &number : NULL) != 0) {
			if (update)
				cot_db_rollback(c);
			return cot_fail(c, 500, "no World row: was seed.sql run?");
		}
	}
	if (update && cot_db_commit(c) != 0)
		return cot_fail(c, 500, "cannot commit the updates");
	cot_jw_end(j);
	cot_set_header(c, "Server", "cot");
	return cot_jw_send(c, 200, j);
}

static cot_result
te_queries_route(cot_ctx *c)
{
	return te_rows(c, 0);
}

static cot_result
te_updates(cot_ctx *c)
{
	return te_rows(c, 1);
}

typedef struct te_fortune {
	long long id;
	const char *message;
} te_fortune;

static int
te_fortune_cmp(const void *a, const void *b)
{
	return strcmp(((const te_fortune *)a)->message, ((const te_fortune *)b)->message);
}

static cot_result
te_fortunes(cot_ctx *c)
{
	cot_rows *rs = cot_db_all(c, "SELECT id, message FROM Fortune");
	if (rs == NULL)
		return cot_fail(c, 500, "cannot read the fortunes");
	int n = cot_rows_count(rs);
	te_fortune *f = cot_alloc(c, (size_t)(n + 1) * sizeof(*f));
	for (int i = 0; i < n; i++) {
		cot_row *r = cot_rows_get(rs, i);
		f[i] = (te_fortune){cot_row_int(r, "id"), cot_row_text(r, "message")};
	}
	f[n] = (te_fortune){0, "Additional fortune added at request time."};
	qsort(f, (size_t)n + 1, sizeof(*f), te_fortune_cmp);

	cot_jw *j = cot_jw_new(c);
	cot_jw_obj(j);
	cot_jw_put_arr(j, "fortunes");
	for (int i = 0; i <= n; i++) {
		cot_jw_obj(j);
		cot_jw_put(j, "id", f[i].id);
		cot_jw_put(j, "message", f[i].message);
		cot_jw_end(j);
	}
	cot_jw_end(j);
	cot_jw_end(j);
	cot_set_header(c, "Server", "cot");
	return cot_render(c, 200, "fortune.html", j);
}

COT_ROUTES(COT_GET("/plaintext", te_plaintext), COT_GET("/json", te_json), COT_GET("/db", te_db),
           COT_GET("/queries", te_queries_route), COT_GET("/fortunes", te_fortunes),
           COT_GET("/updates", te_updates), )
