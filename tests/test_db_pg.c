/*
 * test_db_pg.c -- runtime/db_pg.c and db_pg_sql.c against a real
 * PostgreSQL: the same cot_db calls as test_db.c (typed parameters and
 * columns, NULLs, JSON, the statement cache, a connection per thread,
 * transactions, failures with their statuses), plus what only a server
 * brings: "?" rewritten to "$n" with strings, comments and jsonb operators
 * left alone; a deadlock answered 503 with Retry-After; lastval() for
 * cot_db_last_id; and a restarted server reconnected to without the request
 * noticing.
 *
 * The cluster is private (tests/pg.c): initdb into a temp dir, a free
 * port, the socket in the dir; stopped and removed at the end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctx.h"
#include "db.h"
#include "db_cases.h"
#include "db_pg.h"
#include "pg.h"
#include "t.h"

static pg_cluster cluster;

static const char *
resp_header(cot_ctx *c, const char *name)
{
	for (header_kv *h = c->resp_headers; h != NULL; h = h->next)
		if (strcasecmp(h->name, name) == 0)
			return h->value;
	return NULL;
}

/* ==== placeholders (no server needed) ================================== */

static void
check_rewrite(const char *name, const char *sql, const char *want, int want_n)
{
	int n = -1;
	char *got = dbpg_placeholders(sql, &n);
	T_STREQ(name, got, want);
	if (n != want_n)
		printf("# %s: %d parameters, want %d\n", name, n, want_n);
	T_CHECK("... parameter count", n == want_n);
	free(got);
}

static void
test_placeholders(void)
{
	check_rewrite("? becomes $n", "SELECT * FROM t WHERE a = ? AND b = ?",
	              "SELECT * FROM t WHERE a = $1 AND b = $2", 2);
	check_rewrite("? inside strings, identifiers and comments stays",
	              "SELECT '?', \"a?\" /* ? */ FROM t -- ?\nWHERE x = ?",
	              "SELECT '?', \"a?\" /* ? */ FROM t -- ?\nWHERE x = $1", 1);
	check_rewrite("quotes doubled inside a string", "SELECT 'it''s ?', ?",
	              "SELECT 'it''s ?', $1", 1);
	check_rewrite("JSON operators stay",
	              "SELECT d->>'k', d->'a', d ?| array['x'], "
	              "d ?& array['y'], d @> ?::jsonb FROM t",
	              "SELECT d->>'k', d->'a', d ?| array['x'], d ?& array['y'], "
	              "d @> $1::jsonb FROM t",
	              1);
	check_rewrite("?? is jsonb's ? operator", "SELECT d ?? 'k' FROM t WHERE id = ?",
	              "SELECT d ? 'k' FROM t WHERE id = $1", 1);
	check_rewrite("?NNN numbered", "SELECT ?2, ?1, ?2", "SELECT $2, $1, $2", 2);
	check_rewrite("no placeholder", "SELECT 1", "SELECT 1", 0);
}

/* ==== against the server =============================================== */

static void
test_params(void)
{
	cot_ctx *c = db_cases_req("params");
	cot_db_exec(c, "CREATE TABLE t (i BIGINT, d DOUBLE PRECISION, s TEXT, b BYTEA, n INTEGER, "
	               "f BOOLEAN, m NUMERIC)");
	T_CHECK("create table", !cot_db_failed(c));
	long long big = 9007199254740993LL;
	unsigned u = 3;
	const char *none = NULL;
	T_CHECK("insert with typed params",
	        cot_db_exec(c,
	                    "INSERT INTO t VALUES (?, ?, ?, ?, ?, "
	                    "true, 2.25)",
	                    7, 2.5, "text", cot_blob("a\0b", 3), cot_null()) == 1);
	cot_db_exec(c, "INSERT INTO t VALUES (?, ?, ?, ?, ?, false, NULL)", big, 1.5f, none,
	            cot_blob("", 0), u);
	cot_row *r = cot_db_one(c, "SELECT i, d, s, b, n, f, m FROM t WHERE i = ?", 7);
	T_CHECK("int back", cot_row_int(r, "i") == 7);
	T_CHECK("double back", cot_row_double(r, "d") == 2.5);
	T_STREQ("text back", cot_row_text(r, "s"), "text");
	size_t len = 0;
	const char *b = cot_row_blob(r, "b", &len);
	T_CHECK("bytea back as bytes", len == 3 && b != NULL && memcmp(b, "a\0b", 3) == 0);
	T_CHECK("cot_null is NULL", cot_row_is_null(r, "n"));
	T_CHECK("boolean as integer 1", cot_row_int(r, "f") == 1);
	T_CHECK("numeric as double", cot_row_double(r, "m") == 2.25);
	T_STREQ("typed columns in JSON", cot_row_json(r),
	        "{\"i\":7,\"d\":2.5,\"s\":\"text\",\"b\":\"YQBi\",\"n\":null,\"f\":1,\"m\":2.25}");
	r = cot_db_one(c, "SELECT i, s, n FROM t WHERE i = ?", big);
	T_CHECK("64-bit int round trip", cot_row_int(r, "i") == big);
	T_CHECK("NULL char * binds NULL", cot_row_is_null(r, "s"));
	T_CHECK("unsigned binds as int", cot_row_int(r, "n") == 3);
	T_CHECK("no failure so far", !cot_db_failed(c) && c->reject_status == 0);
	T_CHECK("no row: NULL", cot_db_one(c, "SELECT * FROM t WHERE i = ?", -1) == NULL);
	T_CHECK("no row is not a failure", !cot_db_failed(c));
	T_STREQ("'?' in a string is not a parameter",
	        cot_row_text(cot_db_one(c, "SELECT '?' || ? AS q", "x"), "q"), "?x");
	/* nothing but the value says a blob is bytes: sent as bytea, a 0 byte
	 * and a 0xff are no text error, and the same SQL with a text value
	 * next is prepared apart (still text) */
	r = cot_db_one(c, "SELECT ? AS b, length(?) AS n", cot_blob("\0\1\377", 3),
	               cot_blob("abc", 3));
	b = cot_row_blob(r, "b", &len);
	T_CHECK("a blob where the SQL gives no type: bytes back",
	        !cot_db_failed(c) && len == 3 && b != NULL && memcmp(b, "\0\1\377", 3) == 0);
	T_CHECK("... length() of a blob counts bytes", cot_row_int(r, "n") == 3);
	r = cot_db_one(c, "SELECT ? AS b, length(?) AS n", "text", "héllo");
	T_STREQ("the same SQL with text values: text", cot_row_text(r, "b"), "text");
	T_CHECK("... length() counts characters", cot_row_int(r, "n") == 5);
	db_cases_done(c);
}

static void
test_bad_sql(void)
{
	cot_ctx *c = db_cases_req("bad1");
	T_CHECK("parameter count checked", cot_db_exec(c, "SELECT ?::int, ?::int", 1) == -1);
	T_CHECK("... 500 saying so",
	        c->reject_status == 500 &&
	                strstr(c->reject_detail, "2 parameters, the call passes 1") != NULL);
	db_cases_done(c);
	c = db_cases_req("bad2");
	cot_db_one(c, "SELECT nope FROM t");
	T_CHECK("unknown column: 500 with PostgreSQL's message",
	        c->reject_status == 500 && strstr(c->reject_detail, "nope") != NULL);
	T_CHECK("... the trace names the SQL", c->db_trace && strstr(c->db_trace, "SELECT nope"));
	db_cases_done(c);
	c = db_cases_req("bad3");
	cot_db_exec(c, "SELECT 1; SELECT 2");
	T_CHECK("two statements refused", c->reject_status == 500);
	db_cases_done(c);
}

static void
test_constraints(void)
{
	cot_ctx *c = db_cases_req("cons1");
	cot_db_exec(c, "CREATE TABLE u (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
	               "email TEXT UNIQUE NOT NULL, age INT CHECK (age >= 0), "
	               "parent BIGINT REFERENCES u(id))");
	cot_db_exec(c, "INSERT INTO u (email) VALUES (?)", "a@x");
	T_CHECK("cot_db_last_id is the identity value", cot_db_last_id(c) == 1);
	/* an id the INSERT gives itself: lastval() would still say 1 */
	cot_db_exec(c, "INSERT INTO u (id, email) VALUES (100, ?)", "given@x");
	T_CHECK("cot_db_last_id after an INSERT that gives the id is that id (as SQLite)",
	        cot_db_last_id(c) == 100);
	cot_db_exec(c, "INSERT INTO \"u\" (email) VALUES (?), (?)", "m1@x", "m2@x");
	T_CHECK("... after a two-row INSERT into a quoted name, the last row's id",
	        cot_db_last_id(c) == 3);
	cot_db_exec(c, "INSERT INTO public.u (id, email) VALUES (100, 'again@x') "
	               "ON CONFLICT (id) DO NOTHING");
	T_CHECK("... an INSERT that inserted nothing leaves it (schema-qualified name)",
	        cot_db_last_id(c) == 3 && cot_db_changes(c) == 0);
	cot_db_exec(c, "INSERT INTO u (id, email) VALUES (200, 'tail@x') -- a comment at the end");
	T_CHECK("... an INSERT ending in a -- comment still gives its id",
	        cot_db_last_id(c) == 200);
	cot_row *r = cot_db_one(c, "INSERT INTO u (email) VALUES ('one@x')");
	T_CHECK("cot_db_one of an INSERT without RETURNING still gives no row", r == NULL);
	db_cases_done(c);
	struct {
		const char *name, *sql;
		int status;
	} cases[] = {
	        {"UNIQUE -> 409", "INSERT INTO u (email) VALUES ('a@x')", 409},
	        {"NOT NULL -> 422", "INSERT INTO u (email) VALUES (NULL)", 422},
	        {"CHECK -> 422", "INSERT INTO u (email, age) VALUES ('b@x', -1)", 422},
	        {"FOREIGN KEY -> 422", "INSERT INTO u (email, parent) VALUES ('c@x', 99)", 422},
	        {"bad value for the type -> 422", "INSERT INTO u (email, age) VALUES ('d@x', 'x')",
	         422},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = db_cases_req("cons");
		cot_db_exec(c, cases[i].sql);
		T_CHECK(cases[i].name,
		        c->reject_status == cases[i].status && c->status == cases[i].status);
		db_cases_done(c);
	}
	c = db_cases_req("cons-unique-msg");
	cot_db_exec(c, "INSERT INTO u (email) VALUES (?)", "a@x");
	T_CHECK("... with PostgreSQL's message",
	        c->reject_detail && strstr(c->reject_detail, "duplicate key") != NULL);
	db_cases_done(c);
}

static void
test_rows_json(void)
{
	cot_ctx *c = db_cases_req("json");
	cot_db_exec(c, "CREATE TABLE j (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
	               "name TEXT, score DOUBLE PRECISION, raw BYTEA)");
	cot_row *ins = cot_db_one(c,
	                          "INSERT INTO j (name, score, raw) VALUES (?, ?, ?) "
	                          "RETURNING id",
	                          "a\"b", 1.5, cot_blob("hi", 2));
	T_CHECK("INSERT ... RETURNING id", cot_row_int(ins, "id") == 1);
	cot_db_exec(c, "INSERT INTO j (name) VALUES (?)", "c");
	T_CHECK("last insert id", cot_db_last_id(c) == 2);
	cot_rows *rs = cot_db_all(c, "SELECT id, name, score, raw FROM j ORDER BY id");
	T_CHECK("two rows", cot_rows_count(rs) == 2);
	T_STREQ("rows as JSON, the same as on SQLite", cot_rows_json(rs),
	        "[{\"id\":1,\"name\":\"a\\\"b\",\"score\":1.5,\"raw\":\"aGk=\"},"
	        "{\"id\":2,\"name\":\"c\",\"score\":null,\"raw\":null}]");
	T_STREQ("no rows: []", cot_rows_json(cot_db_all(c, "SELECT * FROM j WHERE false")), "[]");
	T_CHECK("changes", cot_db_exec(c, "UPDATE j SET score = 0") == 2 && cot_db_changes(c) == 2);
	db_cases_done(c);
	c = db_cases_req("lastid");
	cot_db_exec(c, "CREATE TABLE nos (x TEXT)");
	db_cases_done(c);
	/* a fresh thread, so a fresh connection on which no sequence was used */
}

static void *
thread_last_id(void *arg)
{
	(void)arg;
	cot_ctx *c = db_cases_req("lastid2");
	cot_db_exec(c, "INSERT INTO nos VALUES ('x')");
	cot_db_last_id(c);
	long ok = c->reject_status == 500 && c->reject_detail &&
	          strstr(c->reject_detail, "RETURNING") != NULL;
	db_cases_done(c);
	return (void *)ok;
}

static void
test_last_id_without_sequence(void)
{
	pthread_t t;
	void *ok = NULL;
	pthread_create(&t, NULL, thread_last_id, NULL);
	pthread_join(t, &ok);
	T_CHECK("cot_db_last_id without a sequence fails and points to RETURNING", ok != NULL);
}

/*
 * Whether another connection can lock table k at once: false while some
 * connection's transaction still holds the lock its INSERT took. Tells a
 * rollback at the end of a request from the lazy one the next request
 * would do.
 */
static bool
table_lock_free(void)
{
	PGconn *pg = PQconnectdb(cluster.url);
	bool free_now = false;
	if (PQstatus(pg) == CONNECTION_OK) {
		PQclear(PQexec(pg, "BEGIN"));
		PGresult *r = PQexec(pg, "LOCK TABLE k IN EXCLUSIVE MODE NOWAIT");
		free_now = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		PQclear(PQexec(pg, "ROLLBACK"));
	}
	PQfinish(pg);
	return free_now;
}

/* Two requests on two threads lock rows in opposite orders. */
static pthread_barrier_t deadlock_barrier;

static void *
thread_deadlock(void *arg)
{
	long first = (long)arg;
	cot_ctx *c = db_cases_req(first ? "dl1" : "dl2");
	cot_db_begin(c);
	cot_db_exec(c, "UPDATE dl SET v = v + 1 WHERE id = ?", first ? 1 : 2);
	pthread_barrier_wait(&deadlock_barrier);
	cot_db_exec(c, "UPDATE dl SET v = v + 1 WHERE id = ?", first ? 2 : 1);
	if (!cot_db_failed(c))
		cot_db_commit(c);
	long result = c->reject_status == 503 && resp_header(c, "Retry-After") != NULL ? 2
	              : c->reject_status == 0                                          ? 1
	                                                                               : 0;
	db_cases_done(c);
	return (void *)result;
}

static void
test_deadlock(void)
{
	cot_ctx *c = db_cases_req("dl");
	cot_db_exec(c, "CREATE TABLE dl (id INT PRIMARY KEY, v INT)");
	cot_db_exec(c, "INSERT INTO dl VALUES (1, 0), (2, 0)");
	db_cases_done(c);
	pthread_barrier_init(&deadlock_barrier, NULL, 2);
	pthread_t a, b;
	void *ra = NULL, *rb = NULL;
	pthread_create(&a, NULL, thread_deadlock, (void *)1L);
	pthread_create(&b, NULL, thread_deadlock, (void *)0L);
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	pthread_barrier_destroy(&deadlock_barrier);
	long x = (long)ra, y = (long)rb;
	T_CHECK("deadlock: one request commits, the other gets 503 with Retry-After",
	        (x == 1 && y == 2) || (x == 2 && y == 1));
}

static void
test_reconnect(void)
{
	cot_ctx *c = db_cases_req("re1");
	cot_db_exec(c, "CREATE TABLE r (x INT)");
	cot_db_exec(c, "INSERT INTO r VALUES (?)", 1);
	db_cases_done(c);
	char err[256];
	T_CHECK("health check passes", db_ping(err, sizeof(err)) == 0);
	int stopped = pg_cluster_ctl(&cluster, "-m fast -w stop") == 0;
	T_CHECK("the server stopped", stopped);
	c = db_cases_req("re2");
	cot_db_one(c, "SELECT count(*) AS n FROM r");
	T_CHECK("server down: 503 with Retry-After",
	        c->reject_status == 503 && resp_header(c, "Retry-After") != NULL);
	db_cases_done(c);
	T_CHECK("server down: the health check fails and says why",
	        db_ping(err, sizeof(err)) != 0 && err[0] != '\0');
	char opts[512];
	snprintf(opts, sizeof(opts),
	         "-o \"-p %d -k %s -c listen_addresses= -c fsync=off\" -w "
	         "start",
	         cluster.port, cluster.dir);
	T_CHECK("the server started again", pg_cluster_ctl(&cluster, opts) == 0);
	c = db_cases_req("re3");
	T_CHECK("the next request reconnects and reads",
	        cot_row_int(cot_db_one(c, "SELECT count(*) AS n FROM r"), "n") == 1 &&
	                !cot_db_failed(c));
	db_cases_done(c);
	T_CHECK("the health check passes again", db_ping(err, sizeof(err)) == 0);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_placeholders();
	char err[512];
	if (pg_cluster_start(&cluster, err, sizeof(err)) != 0) {
		T_CHECK("a private PostgreSQL cluster starts", 0);
		printf("# %s\n", err);
		pg_cluster_stop(&cluster);
		return T_DONE();
	}
	T_CHECK("a private PostgreSQL cluster starts", 1);
	T_CHECK("db_init with a postgres:// URL", db_init(cluster.url, err, sizeof(err)) == 0);
	T_CHECK("... selects the PostgreSQL engine", db_engine_is_pg());
	test_params();
	test_bad_sql();
	test_constraints();
	test_rows_json();
	test_last_id_without_sequence();
	db_cases_cache("SELECT ?::int + 1 AS n", "one prepared statement for one SQL text");
	db_cases_threads("CREATE TEMP TABLE temp_of_main (x INT)");
	db_cases_transactions(table_lock_free, "an open transaction holds its table lock");
	test_deadlock();
	test_reconnect();
	db_shutdown();
	char bad[600];
	snprintf(bad, sizeof(bad), "postgresql:///nodb?host=%s&port=%d&user=postgres", cluster.dir,
	         cluster.port);
	T_CHECK("db_init with a database that does not exist fails",
	        db_init(bad, err, sizeof(err)) != 0 && strstr(err, "nodb") != NULL);
	pg_cluster_stop(&cluster);
	return T_DONE();
}
