/*
 * db_cases.h -- the cot_db cases test_db.c (SQLite) and test_db_pg.c
 * (PostgreSQL) share: a request context made by hand, the statement
 * cache, a connection per thread, transactions. Each runs on whichever
 * engine db.c has open; what differs between the engines (the SQL a case
 * needs, how another connection sees a lock) is a parameter.
 *
 * Functions here are static inline so that their checks count in the
 * including test's t.h counters (T_DONE).
 */
#ifndef COT_TEST_DB_CASES_H
#define COT_TEST_DB_CASES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctx.h"
#include "db.h"
#include "t.h"

/* A fresh request context (no connection: headers are absent). */
static inline cot_ctx *
db_cases_req(const char *id)
{
	cot_ctx *c = calloc(1, sizeof(*c));
	ctx_init(c);
	snprintf(c->request_id, sizeof(c->request_id), "%s", id);
	c->path = "/t";
	return c;
}

/* What the server does when the request ends. */
static inline void
db_cases_done(cot_ctx *c)
{
	db_request_end(c);
	ctx_free(c);
	free(c);
}

/* `sql` (one parameter, answers n = it + 1) 50 times: one cached statement,
 * found by the SQL's text; `one` names the first check. */
static inline void
db_cases_cache(const char *sql, const char *one)
{
	cot_ctx *c = db_cases_req("cache");
	int before = db_cached_statements();
	for (int i = 0; i < 50; i++)
		cot_db_one(c, sql, i);
	T_CHECK(one, db_cached_statements() == before + 1);
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", sql);
	T_CHECK("keyed by text, not pointer", cot_row_int(cot_db_one(c, copy, 4), "n") == 5 &&
	                                              db_cached_statements() == before + 1);
	db_cases_done(c);
}

static inline void *
db_cases_thread_sees_temp(void *arg)
{
	(void)arg;
	cot_ctx *c = db_cases_req("thread");
	cot_db_one(c, "SELECT * FROM temp_of_main");
	long failed = cot_db_failed(c);
	db_cases_done(c);
	return (void *)failed;
}

/* A temp table (create_temp makes temp_of_main) is seen by its own
 * connection only: another thread has another. */
static inline void
db_cases_threads(const char *create_temp)
{
	cot_ctx *c = db_cases_req("temp");
	cot_db_exec(c, create_temp);
	T_CHECK("own connection sees its temp table",
	        cot_db_one(c, "SELECT * FROM temp_of_main") == NULL && !cot_db_failed(c));
	db_cases_done(c);
	pthread_t t;
	void *failed = NULL;
	pthread_create(&t, NULL, db_cases_thread_sees_temp, NULL);
	pthread_join(t, &failed);
	T_CHECK("another thread has another connection", failed != NULL);
}

static inline long long
db_cases_count_k(void)
{
	cot_ctx *c = db_cases_req("count");
	long long n = cot_row_int(cot_db_one(c, "SELECT count(*) AS n FROM k"), "n");
	db_cases_done(c);
	return n;
}

/*
 * Begin, rollback, commit, a failed statement failing the commit, and a
 * transaction left open rolled back when its request ends. lock_free says
 * whether another connection could take the lock an open transaction on
 * table k holds (false while one does); held names that check.
 */
static inline void
db_cases_transactions(bool (*lock_free)(void), const char *held)
{
	cot_ctx *c = db_cases_req("tx1");
	cot_db_exec(c, "CREATE TABLE k (v TEXT UNIQUE)");
	T_CHECK("begin", cot_db_begin(c) == 0);
	cot_db_exec(c, "INSERT INTO k VALUES ('a')");
	T_CHECK("rollback", cot_db_rollback(c) == 0);
	db_cases_done(c);
	T_CHECK("rolled back", db_cases_count_k() == 0);
	c = db_cases_req("tx2");
	cot_db_begin(c);
	cot_db_exec(c, "INSERT INTO k VALUES ('a')");
	cot_db_exec(c, "INSERT INTO k VALUES ('a')");
	T_CHECK("failed statement fails commit", cot_db_commit(c) == -1 && c->reject_status == 409);
	db_cases_done(c);
	T_CHECK("failure rolled the whole transaction back", db_cases_count_k() == 0);
	c = db_cases_req("tx3");
	cot_db_begin(c);
	cot_db_exec(c, "INSERT INTO k VALUES ('b')");
	T_CHECK("commit", cot_db_commit(c) == 0);
	db_cases_done(c);
	T_CHECK("committed", db_cases_count_k() == 1);
	c = db_cases_req("tx4");
	cot_db_begin(c);
	cot_db_exec(c, "INSERT INTO k VALUES ('c')");
	T_CHECK(held, !lock_free());
	ctx_free(c); /* no db_request_end: the cleanup db.c registered (ctx_on_free) */
	free(c);
	T_CHECK("the request's end rolls back a transaction left open", lock_free());
	T_CHECK("a transaction left open is rolled back", db_cases_count_k() == 1);
	c = db_cases_req("tx5");
	T_CHECK("commit without begin fails", cot_db_commit(c) == -1 && c->reject_status == 500);
	db_cases_done(c);
}

#endif
