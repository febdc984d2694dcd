/*
 * test_cluster.c -- several exported processes, one database: what a
 * deployment behind a load balancer relies on.
 *
 * usage: test_cluster COTDEV     (e.g. build/cotdev; COT_HOME as for cotdev)
 *
 * Builds one app with `cotdev export`, then checks:
 *  - migration race: three processes started at the same instant on a
 *    fresh database with schema.sql pending all start and serve, and the
 *    change is applied exactly once (one _cot_migrations row), over several
 *    trials, and the same for a change to a database an older release made;
 *    on SQLite (BEGIN IMMEDIATE before planning) and on PostgreSQL (a
 *    private cluster, tests/pg.c; pg_advisory_xact_lock before planning);
 *  - /_cot/health: 200 {"status":"ok","db":"ok"} while serving, 503 while
 *    draining, 503 unavailable while PostgreSQL is stopped and 200 again
 *    once it is back;
 *  - drain: after SIGTERM no new connection is accepted, a request sent on
 *    a keep-alive connection opened before is still answered, with
 *    "Connection: close", and the server then closes that connection; the
 *    process exits 0.
 */
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build_app.h"
#include "node.h"
#include "pg.h"
#include "t.h"

#define CLUSTER_NODES  3
#define CLUSTER_TRIALS 4
#define CLUSTER_WAIT_S 30.0

static char tmpdir[256];
static const char *cotdev;

/* ==== helpers ========================================================== */

static int
is_pg(const char *db)
{
	return strncmp(db, "postgres", 8) == 0;
}

/* `bin --port 0 --db DB --quiet [extra]`, its log DIR/node-ID.log. */
static void
node_setup(node *n, const char *bin, const char *db, const char *extra, int id)
{
	const char *argv[] = {bin, "--port", "0", "--db", db, "--quiet", extra, NULL};
	node_init(n, tmpdir, id, argv);
	unlink(n->log);
}

/* One request to a node on 127.0.0.1; the response in r. */
static int
http(const node *n, const char *method, const char *path, node_resp *r)
{
	return node_http("127.0.0.1", n->port, method, path, r);
}

/* The single integer a query returns, or -1: SQLite file or PostgreSQL URL. */
static long long
db_count(const char *db, const char *sql)
{
	long long v = -1;
	if (is_pg(db)) {
		PGconn *pg = PQconnectdb(db);
		PGresult *r = PQstatus(pg) == CONNECTION_OK ? PQexec(pg, sql) : NULL;
		if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			v = atoll(PQgetvalue(r, 0, 0));
		PQclear(r);
		PQfinish(pg);
		return v;
	}
	sqlite3 *h;
	sqlite3_stmt *st;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	return v;
}

/* Runs SQL that returns nothing on either engine; 0 on success. */
static int
db_exec(const char *db, const char *sql)
{
	if (is_pg(db)) {
		PGconn *pg = PQconnectdb(db);
		PGresult *r = PQstatus(pg) == CONNECTION_OK ? PQexec(pg, sql) : NULL;
		int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			printf("# %s: %s\n", sql, PQerrorMessage(pg));
		PQclear(r);
		PQfinish(pg);
		return ok ? 0 : -1;
	}
	sqlite3 *h;
	int rc = sqlite3_open(db, &h) == SQLITE_OK &&
	         sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(h);
	return rc ? 0 : -1;
}

/* ==== the app ========================================================== */

static const char schema_v1[] =
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL,\n"
        "  body TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n";
static const char schema_v2[] =
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL,\n"
        "  body TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
        "  tag TEXT);\n"
        "CREATE TABLE tags (name TEXT PRIMARY KEY);\n";

/* ==== checks =========================================================== */

/* Starts CLUSTER_NODES nodes at one instant; returns how many serve. */
static int
start_together(node *nodes, const char *bin, const char *db)
{
	int gate[2], serving = 0;
	if (node_gate_new(gate) != 0)
		return 0;
	for (int i = 0; i < CLUSTER_NODES; i++) {
		node_setup(&nodes[i], bin, db, NULL, i);
		node_fork(&nodes[i], gate);
	}
	node_gate_open(gate); /* go */
	for (int i = 0; i < CLUSTER_NODES; i++) {
		char log[4096];
		node_resp r;
		if (node_wait_ready(&nodes[i], CLUSTER_WAIT_S) != 0) {
			node_read_log(&nodes[i], log, sizeof(log));
			printf("# node %d exited %d:\n%s\n", i, nodes[i].exit_code, log);
			continue;
		}
		http(&nodes[i], "GET", "/hello/n", &r);
		if (strcmp(r.body, "Hello, n!\n") == 0)
			serving++;
		else
			printf("# node %d answered %d:\n%s\n", i, r.status, r.head);
	}
	return serving;
}

static int
stop_all(node *nodes)
{
	int clean = 0;
	for (int i = 0; i < CLUSTER_NODES; i++)
		clean += node_stop(&nodes[i], CLUSTER_WAIT_S) == 0;
	return clean;
}

/* The database `name` on the engine: a file in tmpdir, or a new database
 * of the private PostgreSQL cluster (pc non-NULL). */
static int
db_fresh(pg_cluster *pc, const char *name, char *db, size_t len)
{
	if (pc != NULL)
		return pg_cluster_database(pc, name, db, len);
	snprintf(db, len, "%s/%s.db", tmpdir, name);
	unlink(db);
	return 0;
}

/* Creates db with schema_v1's table, as an older release left it. */
static int
db_make_v1(const char *db)
{
	if (is_pg(db))
		return db_exec(db,
		               "CREATE TABLE notes (id BIGINT GENERATED BY DEFAULT AS "
		               "IDENTITY PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL "
		               "DEFAULT '', created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)") ||
		       db_exec(db, "INSERT INTO notes (title) VALUES ('kept')");
	return db_exec(db, schema_v1) || db_exec(db, "INSERT INTO notes (title) VALUES ('kept')");
}

/* N processes at once on one database: each change applied exactly once.
 * engine: "SQLite" or "PostgreSQL" (pc: the private cluster). */
static void
check_migration_race(const char *bin, const char *engine, pg_cluster *pc)
{
	char db[600], name[200], dbname[64];
	node nodes[CLUSTER_NODES];
	int all_served = 1, once = 1, clean = 1;
	for (int t = 0; t < CLUSTER_TRIALS; t++) {
		snprintf(dbname, sizeof(dbname), "race%d", t);
		if (db_fresh(pc, dbname, db, sizeof(db)) != 0) {
			all_served = once = 0;
			continue;
		}
		all_served &= start_together(nodes, bin, db) == CLUSTER_NODES;
		clean &= stop_all(nodes) == CLUSTER_NODES;
		long long applied = db_count(db, "SELECT count(*) FROM _cot_migrations");
		if (applied != 1)
			printf("# trial %d: %lld migrations recorded\n", t, applied);
		once &= applied == 1;
	}
#define RACE_CHECK(what, cond)                                                                     \
	do {                                                                                       \
		snprintf(name, sizeof(name), "migration race, %s: " what, engine);                 \
		T_CHECK(name, cond);                                                               \
	} while (0)
	snprintf(name, sizeof(name),
	         "migration race, %s: %d nodes started together on a "
	         "fresh database all serve (%d trials)",
	         engine, CLUSTER_NODES, CLUSTER_TRIALS);
	T_CHECK(name, all_served);
	RACE_CHECK("schema.sql applied exactly once per fresh database", once);
	RACE_CHECK("every node exits 0 at SIGTERM", clean);

	/* the same for a change to a database an older release made */
	int made = db_fresh(pc, "race_v1", db, sizeof(db)) == 0 && db_make_v1(db) == 0;
	int served = made && start_together(nodes, bin, db) == CLUSTER_NODES;
	stop_all(nodes);
	RACE_CHECK("a change to an existing database, nodes started together: all serve", served);
	RACE_CHECK("... the change is recorded once",
	           db_count(db, "SELECT count(*) FROM _cot_migrations") == 1);
	const char *has_tag = pc ? "SELECT count(*) FROM information_schema.columns WHERE "
	                           "table_name = 'notes' AND column_name = 'tag'"
	                         : "SELECT count(*) FROM pragma_table_info('notes') "
	                           "WHERE name = 'tag'";
	RACE_CHECK("... applied (notes.tag and tags exist), the row kept",
	           db_count(db, has_tag) == 1 && db_count(db, "SELECT count(*) FROM tags") == 0 &&
	                   db_count(db, "SELECT count(*) FROM notes WHERE title = 'kept'") == 1);
#undef RACE_CHECK
}

/* Health when PostgreSQL stops under a node, and after it is back. */
static void
check_health_pg(const char *bin, pg_cluster *pc)
{
	char db[600];
	node n;
	node_resp r;
	if (pg_cluster_database(pc, "health", db, sizeof(db)) != 0)
		return;
	node_setup(&n, bin, db, NULL, 12);
	node_start(&n, CLUSTER_WAIT_S);
	http(&n, "GET", "/_cot/health", &r);
	T_CHECK("health, PostgreSQL: 200 while the database answers", r.status == 200);
	int stopped = pg_cluster_ctl(pc, "-m fast -w stop") == 0;
	http(&n, "GET", "/_cot/health", &r);
	static const char unavailable[] = "{\"status\":\"unavailable\",\"db\":\"error\"}";
	printf("# health with PostgreSQL stopped: %d %s\n", r.status, r.body);
	T_CHECK("health, PostgreSQL: 503 unavailable once the server stopped",
	        stopped && r.status == 503 && strcmp(r.body, unavailable) == 0);
	static char log[65536];
	node_read_log(&n, log, sizeof(log));
	T_CHECK("health, PostgreSQL: the driver's message is logged, not sent",
	        strstr(r.body, "socket") == NULL && strstr(log, "does not answer") != NULL);
	char opts[700];
	snprintf(opts, sizeof(opts), "-o \"-p %d -k %s -c listen_addresses=\" -w start", pc->port,
	         pc->dir);
	int restarted = pg_cluster_ctl(pc, opts) == 0;
	/* one worker's connection may fail once more before it reconnects */
	int ok = 0;
	for (double t0 = node_now(); restarted && !ok && node_now() - t0 < 10; usleep(50000))
		ok = http(&n, "GET", "/_cot/health", &r) == 200;
	T_CHECK("health, PostgreSQL: 200 again once it is back (the node reconnects)", ok);
	T_CHECK("health, PostgreSQL: the node exits 0", node_stop(&n, CLUSTER_WAIT_S) == 0);
}

/* The same races against a private PostgreSQL cluster. */
static void
check_migration_race_pg(const char *bin)
{
	pg_cluster pc;
	char err[512];
	int up = pg_cluster_start(&pc, err, sizeof(err)) == 0;
	T_CHECK("a private PostgreSQL cluster starts", up);
	if (up) {
		check_migration_race(bin, "PostgreSQL", &pc);
		check_health_pg(bin, &pc);
	} else {
		printf("# %s\n", err);
	}
	pg_cluster_stop(&pc);
}

/* /_cot/health while serving. */
static void
check_health(const char *bin)
{
	char db[300];
	node n;
	node_resp r;
	snprintf(db, sizeof(db), "%s/health.db", tmpdir);
	node_setup(&n, bin, db, NULL, 10);
	node_start(&n, CLUSTER_WAIT_S);
	T_CHECK("health: the node starts", n.port > 0);
	http(&n, "GET", "/_cot/health", &r);
	T_CHECK("health: GET /_cot/health is 200 JSON",
	        r.status == 200 && strcasestr(r.head, "Content-Type: application/json") != NULL);
	T_STREQ("health: the body says the database answers", r.body,
	        "{\"status\":\"ok\",\"db\":\"ok\"}");
	http(&n, "HEAD", "/_cot/health", &r);
	T_CHECK("health: HEAD /_cot/health is 200", r.status == 200);
	http(&n, "GET", "/_cot/other", &r);
	T_CHECK("health: other /_cot/ paths stay 404 in the export", r.status == 404);
	T_CHECK("health: the node still exits 0", node_stop(&n, CLUSTER_WAIT_S) == 0);
}

/* One request on an open connection. */
static int
ask(int fd, const char *path, node_resp *r)
{
	memset(r, 0, sizeof(*r));
	if (fd < 0 || node_send(fd, "GET", path, NULL) != 0)
		return 0;
	return node_recv(fd, r);
}

/* SIGTERM: no new connections; requests on open ones answered, then closed. */
static void
check_drain(const char *bin)
{
	char db[300], log[4096];
	node n;
	node_resp r;
	snprintf(db, sizeof(db), "%s/drain.db", tmpdir);
	node_setup(&n, bin, db, "--drain-delay=20000", 11);
	node_start(&n, CLUSTER_WAIT_S);
	T_CHECK("drain: the node starts", n.port > 0);
	if (n.port <= 0)
		return;
	int a = node_connect("127.0.0.1", n.port, 10), b = node_connect("127.0.0.1", n.port, 10);
	ask(a, "/hello/a", &r);
	T_CHECK("drain: before SIGTERM, keep-alive (no Connection: close)",
	        r.status == 200 && !r.closes);
	ask(b, "/hello/b", &r);
	kill(n.pid, SIGTERM);
	int refused = 0;
	for (double t0 = node_now(); !refused && node_now() - t0 < 10; usleep(10000)) {
		int fd = node_connect("127.0.0.1", n.port, 10);
		refused = fd < 0;
		if (fd >= 0)
			close(fd);
	}
	T_CHECK("drain: after SIGTERM new connections are refused", refused);
	ask(a, "/_cot/health", &r);
	T_CHECK("drain: health answers 503 draining on an open connection",
	        r.status == 503 && strcmp(r.body, "{\"status\":\"draining\"}") == 0);
	T_CHECK("drain: ... with Connection: close", r.closes);
	T_CHECK("drain: ... and the server closes that connection", node_recv(a, &r) == 0);
	close(a);
	int pid_alive = kill(n.pid, 0) == 0;
	T_CHECK("drain: the node waits while a connection is still open", pid_alive);
	ask(b, "/hello/late", &r);
	T_CHECK("drain: a request arriving on an open connection is answered",
	        r.status == 200 && strcmp(r.body, "Hello, late!\n") == 0);
	T_CHECK("drain: ... with Connection: close", r.closes);
	close(b);
	/* no connection left: the drain ends before --drain-delay's 20 s */
	T_CHECK("drain: the node then exits 0", node_stop(&n, CLUSTER_WAIT_S) == 0);
	node_read_log(&n, log, sizeof(log));
	T_CHECK("drain: the log says it drained and stopped",
	        strstr(log, "draining") != NULL && strstr(log, "stopped") != NULL);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_cluster COTDEV\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	cotdev = argv[1];
	/* an exported binary will not start without the app secret */
	setenv("COT_SECRET", "test-cluster-secret-0123456789abcdef0123456789", 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cot-test-cluster-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	char app[300], bin[300], out[16384];
	snprintf(app, sizeof(app), "%s/app", tmpdir);
	snprintf(bin, sizeof(bin), "%s/app.bin", tmpdir);
	const build_app_file files[] = {{"schema.sql", schema_v2, false}, {NULL, NULL, false}};
	if (build_app_new(cotdev, app, files) != 0)
		return 1;
	int built = build_app_export(cotdev, app, bin, out, sizeof(out)) == 0;
	T_CHECK("the app exports", built);
	if (built) {
		check_migration_race(bin, "SQLite", NULL);
		check_migration_race_pg(bin);
		check_health(bin);
		check_drain(bin);
	}
	build_app_run(out, sizeof(out), "rm -rf %s", tmpdir);
	return T_DONE();
}
