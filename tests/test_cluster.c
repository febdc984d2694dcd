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
 *  - /_cot/health: 200 {"status":"ok","db":"ok"} while serving, 503 while
 *    draining (503 for a database that does not answer is checked against
 *    a stopped PostgreSQL, the failure that happens in practice);
 *  - drain: after SIGTERM no new connection is accepted, a request sent on
 *    a keep-alive connection opened before is still answered, with
 *    "Connection: close", and the server then closes that connection; the
 *    process exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t.h"

#define CLUSTER_NODES 3
#define CLUSTER_TRIALS 4

static char tmpdir[256];
static const char *cotdev;

/* ==== helpers ========================================================== */

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

/* Runs a shell command; its output (stdout+stderr) goes into out. */
static int
run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
read_text(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* A started app: its pid, log and the port it printed (-1: it exited). */
typedef struct node {
	pid_t pid;
	int port;
	int exit_code;
	char log[300];
} node;

/* Forks `bin --port 0 --db DB [extra]` but lets it exec only when the
 * write end of gate is closed in the parent (and every child closed its
 * copy), so several nodes start at the same instant. */
static void
node_fork(node *n, const char *bin, const char *db, const char *extra, int id,
          const int gate[2])
{
	snprintf(n->log, sizeof(n->log), "%s/node%d.log", tmpdir, id);
	unlink(n->log);
	n->port = -1;
	n->exit_code = -1;
	n->pid = fork();
	if (n->pid == 0) {
		char c;
		close(gate[1]);
		if (read(gate[0], &c, 1) < 0)
			_exit(126);
		int fd = open(n->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "--port", "0", "--db", db, "--quiet", extra, (char *)NULL);
		_exit(127);
	}
}

/* Waits for the node's URL line (or its exit). */
static void
node_wait_ready(node *n)
{
	for (double t0 = now_s(); now_s() - t0 < 30; usleep(20000)) {
		char buf[4096];
		read_text(n->log, buf, sizeof(buf));
		const char *p = strstr(buf, "cot app on http://127.0.0.1:");
		if (p != NULL && strchr(p, '\n') != NULL) {
			n->port = atoi(p + strlen("cot app on http://127.0.0.1:"));
			return;
		}
		int st;
		if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
			n->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			n->pid = -1;
			return;
		}
	}
}

/* Starts one node at once; 0, or -1 when it cannot fork. */
static int
node_start(node *n, const char *bin, const char *db, const char *extra, int id)
{
	int gate[2];
	if (pipe(gate) != 0)
		return -1;
	node_fork(n, bin, db, extra, id, gate);
	close(gate[0]);
	close(gate[1]);
	node_wait_ready(n);
	return 0;
}

/* SIGTERM, then the exit status (-1 if it had to be killed). */
static int
node_stop(node *n)
{
	if (n->pid <= 0)
		return n->exit_code;
	kill(n->pid, SIGTERM);
	int st;
	for (double t0 = now_s(); now_s() - t0 < 30; usleep(10000))
		if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
			n->pid = -1;
			return n->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
	kill(n->pid, SIGKILL);
	waitpid(n->pid, &st, 0);
	n->pid = -1;
	return -1;
}

static int
connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one response (head + Content-Length body) from a keep-alive
 * connection into out; returns its length, 0 when the peer closed. */
static size_t
read_response(int fd, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = '\0';
	while (n + 1 < outlen) {
		ssize_t got = read(fd, out + n, outlen - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		out[n] = '\0';
		const char *end = strstr(out, "\r\n\r\n");
		const char *cl = strcasestr(out, "\r\nContent-Length:");
		if (end != NULL && cl != NULL && cl < end &&
		    n >= (size_t)(end + 4 - out) + strtoul(cl + 17, NULL, 10))
			break;
	}
	return n;
}

/* One request on an open connection; the response into out. */
static size_t
ask(int fd, const char *method, const char *path, char *out, size_t outlen)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\n\r\n", method, path);
	out[0] = '\0';
	if (fd < 0 || write(fd, req, (size_t)n) != n)
		return 0;
	return read_response(fd, out, outlen);
}

/* One request on its own connection. */
static void
http(int port, const char *path, char *out, size_t outlen)
{
	int fd = connect_to(port);
	ask(fd, "GET", path, out, outlen);
	if (fd >= 0)
		close(fd);
}

static const char *
body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");
	return p ? p + 4 : "";
}

/* The single integer a query returns from the SQLite file, or -1. */
static long long
db_count(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -1;
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

/* ==== the app ========================================================== */

static const char schema_v1[] =
	"CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL,\n"
	"  body TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n";
static const char schema_v2[] =
	"CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL,\n"
	"  body TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"  tag TEXT);\n"
	"CREATE TABLE tags (name TEXT PRIMARY KEY);\n";

/* cotdev new + schema, exported to bin. */
static int
build_app(const char *app, const char *schema, const char *bin)
{
	char out[16384], path[512];
	snprintf(path, sizeof(path), "%s/schema.sql", app);
	write_file(path, schema);
	if (run(out, sizeof(out), "%s export %s -o %s", cotdev, app, bin) != 0) {
		printf("# export failed:\n%s\n", out);
		return -1;
	}
	return 0;
}

/* ==== checks =========================================================== */

/* Starts CLUSTER_NODES nodes at one instant; returns how many serve. */
static int
start_together(node *nodes, const char *bin, const char *db)
{
	int gate[2], serving = 0;
	if (pipe(gate) != 0)
		return 0;
	for (int i = 0; i < CLUSTER_NODES; i++)
		node_fork(&nodes[i], bin, db, NULL, i, gate);
	close(gate[0]);
	close(gate[1]); /* go */
	for (int i = 0; i < CLUSTER_NODES; i++) {
		char r[4096];
		node_wait_ready(&nodes[i]);
		if (nodes[i].port <= 0) {
			read_text(nodes[i].log, r, sizeof(r));
			printf("# node %d exited %d:\n%s\n", i, nodes[i].exit_code, r);
			continue;
		}
		http(nodes[i].port, "/hello/n", r, sizeof(r));
		if (strcmp(body_of(r), "Hello, n!\n") == 0)
			serving++;
		else
			printf("# node %d answered:\n%s\n", i, r);
	}
	return serving;
}

static int
stop_all(node *nodes)
{
	int clean = 0;
	for (int i = 0; i < CLUSTER_NODES; i++)
		clean += node_stop(&nodes[i]) == 0;
	return clean;
}

/* Creates db with schema_v1's table, as an older release left it. */
static int
db_make_v1(const char *db)
{
	sqlite3 *h;
	unlink(db);
	int rc = sqlite3_open(db, &h) == SQLITE_OK &&
	         sqlite3_exec(h, schema_v1, NULL, NULL, NULL) == SQLITE_OK &&
	         sqlite3_exec(h, "INSERT INTO notes (title) VALUES ('kept')", NULL, NULL,
	                      NULL) == SQLITE_OK;
	sqlite3_close(h);
	return rc ? 0 : -1;
}

/* N processes at once on one database: each change applied exactly once. */
static void
check_migration_race(const char *bin)
{
	char db[300], name[160];
	node nodes[CLUSTER_NODES];
	int all_served = 1, once = 1, clean = 1;
	for (int t = 0; t < CLUSTER_TRIALS; t++) {
		snprintf(db, sizeof(db), "%s/race%d.db", tmpdir, t);
		all_served &= start_together(nodes, bin, db) == CLUSTER_NODES;
		clean &= stop_all(nodes) == CLUSTER_NODES;
		long long applied = db_count(db, "SELECT count(*) FROM _cot_migrations");
		if (applied != 1)
			printf("# trial %d: %lld migrations recorded\n", t, applied);
		once &= applied == 1;
	}
	snprintf(name, sizeof(name), "migration race: %d nodes started together on a fresh "
	         "database all serve (%d trials)", CLUSTER_NODES, CLUSTER_TRIALS);
	T_CHECK(name, all_served);
	T_CHECK("migration race: schema.sql applied exactly once per fresh database", once);
	T_CHECK("migration race: every node exits 0 at SIGTERM", clean);

	/* the same for a change to a database an older release made */
	snprintf(db, sizeof(db), "%s/race-v1.db", tmpdir);
	int made = db_make_v1(db) == 0;
	int served = made && start_together(nodes, bin, db) == CLUSTER_NODES;
	stop_all(nodes);
	T_CHECK("migration race: a change to an existing database, nodes started together: "
	        "all serve", served);
	T_CHECK("migration race: ... the change is recorded once",
	        db_count(db, "SELECT count(*) FROM _cot_migrations") == 1);
	T_CHECK("migration race: ... applied (notes.tag and tags exist), the row kept",
	        db_count(db, "SELECT count(*) FROM pragma_table_info('notes') "
	                     "WHERE name = 'tag'") == 1 &&
	        db_count(db, "SELECT count(*) FROM tags") == 0 &&
	        db_count(db, "SELECT count(*) FROM notes WHERE title = 'kept'") == 1);
}

/* /_cot/health while serving and with a broken database. */
static void
check_health(const char *bin)
{
	char db[300], r[4096];
	node n;
	snprintf(db, sizeof(db), "%s/health.db", tmpdir);
	node_start(&n, bin, db, NULL, 10);
	T_CHECK("health: the node starts", n.port > 0);
	http(n.port, "/_cot/health", r, sizeof(r));
	T_CHECK("health: GET /_cot/health is 200 JSON", strncmp(r, "HTTP/1.1 200", 12) == 0 &&
	        strcasestr(r, "Content-Type: application/json") != NULL);
	T_STREQ("health: the body says the database answers", body_of(r),
	        "{\"status\":\"ok\",\"db\":\"ok\"}");
	int fd = connect_to(n.port);
	ask(fd, "HEAD", "/_cot/health", r, sizeof(r));
	if (fd >= 0)
		close(fd);
	T_CHECK("health: HEAD /_cot/health is 200", strncmp(r, "HTTP/1.1 200", 12) == 0);
	http(n.port, "/_cot/other", r, sizeof(r));
	T_CHECK("health: other /_cot/ paths stay 404 in the export",
	        strncmp(r, "HTTP/1.1 404", 12) == 0);

	T_CHECK("health: the node still exits 0", node_stop(&n) == 0);
}

/* SIGTERM: no new connections; requests on open ones answered, then closed. */
static void
check_drain(const char *bin)
{
	char db[300], r[4096];
	node n;
	snprintf(db, sizeof(db), "%s/drain.db", tmpdir);
	node_start(&n, bin, db, "--drain-delay=20000", 11);
	T_CHECK("drain: the node starts", n.port > 0);
	if (n.port <= 0)
		return;
	int a = connect_to(n.port), b = connect_to(n.port);
	ask(a, "GET", "/hello/a", r, sizeof(r));
	T_CHECK("drain: before SIGTERM, keep-alive (no Connection: close)",
	        strncmp(r, "HTTP/1.1 200", 12) == 0 && strcasestr(r, "Connection: close") == NULL);
	ask(b, "GET", "/hello/b", r, sizeof(r));
	kill(n.pid, SIGTERM);
	int refused = 0;
	for (double t0 = now_s(); !refused && now_s() - t0 < 10; usleep(10000)) {
		int fd = connect_to(n.port);
		refused = fd < 0;
		if (fd >= 0)
			close(fd);
	}
	T_CHECK("drain: after SIGTERM new connections are refused", refused);
	ask(a, "GET", "/_cot/health", r, sizeof(r));
	T_CHECK("drain: health answers 503 draining on an open connection",
	        strncmp(r, "HTTP/1.1 503", 12) == 0 &&
	        strcmp(body_of(r), "{\"status\":\"draining\"}") == 0);
	T_CHECK("drain: ... with Connection: close", strcasestr(r, "Connection: close") != NULL);
	T_CHECK("drain: ... and the server closes that connection",
	        read_response(a, r, sizeof(r)) == 0);
	close(a);
	int pid_alive = kill(n.pid, 0) == 0;
	T_CHECK("drain: the node waits while a connection is still open", pid_alive);
	ask(b, "GET", "/hello/late", r, sizeof(r));
	T_CHECK("drain: a request arriving on an open connection is answered",
	        strncmp(r, "HTTP/1.1 200", 12) == 0 && strcmp(body_of(r), "Hello, late!\n") == 0);
	T_CHECK("drain: ... with Connection: close", strcasestr(r, "Connection: close") != NULL);
	close(b);
	/* no connection left: the drain ends before --drain-delay's 20 s */
	T_CHECK("drain: the node then exits 0", node_stop(&n) == 0);
	read_text(n.log, r, sizeof(r));
	T_CHECK("drain: the log says it drained and stopped",
	        strstr(r, "draining") != NULL && strstr(r, "stopped") != NULL);
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
	char app[300], bin[300], out[4096];
	snprintf(app, sizeof(app), "%s/app", tmpdir);
	snprintf(bin, sizeof(bin), "%s/app.bin", tmpdir);
	if (run(out, sizeof(out), "%s new %s", cotdev, app) != 0) {
		printf("# cotdev new failed: %s\n", out);
		return 1;
	}
	int built = build_app(app, schema_v2, bin) == 0;
	T_CHECK("the app exports", built);
	if (built) {
		check_migration_race(bin);
		check_health(bin);
		check_drain(bin);
	}
	run(out, sizeof(out), "rm -rf %s", tmpdir);
	return T_DONE();
}
