/*
 * te_sqlite_loop.c -- the baseline of bench_techempower.sh for the database
 * test types: the same SQL as examples/techempower, in a plain C loop over
 * sqlite3 with no HTTP, no framework and prepared statements kept.
 *
 * Usage: te_sqlite_loop DB MODE N SECONDS
 *   MODE db       one random SELECT per "request"
 *        queries  N random SELECTs per request
 *        updates  N random SELECT + UPDATE per request, in one transaction
 * Prints "requests/s" as a number on stdout after SECONDS of running.
 */
#define _DEFAULT_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	fprintf(stderr, "te_sqlite_loop: %s: %s\n", sql, sqlite3_errmsg(db));
	return -1;
}

/* One request: n reads, each followed by a write when `update`. */
static int
request(sqlite3 *db, sqlite3_stmt *sel, sqlite3_stmt *upd, int n, int update)
{
	long long sum = 0;
	if (update)
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (int i = 0; i < n; i++) {
		sqlite3_bind_int64(sel, 1, (long long)arc4random_uniform(10000) + 1);
		if (sqlite3_step(sel) != SQLITE_ROW)
			return -1;
		long long id = sqlite3_column_int64(sel, 0);
		sum += sqlite3_column_int64(sel, 1);
		sqlite3_reset(sel);
		if (update) {
			sqlite3_bind_int64(upd, 1, (long long)arc4random_uniform(10000) + 1);
			sqlite3_bind_int64(upd, 2, id);
			if (sqlite3_step(upd) != SQLITE_DONE)
				return -1;
			sqlite3_reset(upd);
		}
	}
	if (update)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return sum >= 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s DB db|queries|updates N SECONDS\n", argv[0]);
		return 2;
	}
	int update = strcmp(argv[2], "updates") == 0;
	int n = strcmp(argv[2], "db") == 0 ? 1 : atoi(argv[3]);
	double seconds = atof(argv[4]);
	sqlite3 *db;
	sqlite3_stmt *sel, *upd;
	if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
		fprintf(stderr, "te_sqlite_loop: %s: %s\n", argv[1], sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (prepare(db, "SELECT id, randomNumber FROM World WHERE id = ?", &sel) != 0 ||
	    prepare(db, "UPDATE World SET randomNumber = ? WHERE id = ?", &upd) != 0)
		return 1;
	long long done = 0;
	double t0 = now_s(), t;
	while ((t = now_s()) - t0 < seconds) {
		if (request(db, sel, upd, n, update) != 0) {
			fprintf(stderr, "te_sqlite_loop: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		done++;
	}
	printf("%.0f\n", (double)done / (t - t0));
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sqlite3_close(db);
	return 0;
}
