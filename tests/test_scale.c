/*
 * test_scale.c -- three exported binaries behind HAProxy, one PostgreSQL,
 * under load while nodes die and drain: nothing acknowledged is lost,
 * nothing is written twice.
 *
 * usage: test_scale COTDEV     (e.g. build/cotdev; COT_HOME as for cotdev)
 *
 * The deployment, every part real and private to the test:
 *  - a PostgreSQL 15 cluster in a temp dir (tests/pg.c), one database;
 *  - one export of an app whose POST /items?k=KEY inserts a row carrying
 *    KEY and answers 201 with its id, and GET /items/:id answers the key;
 *    `items.k` is deliberately NOT unique, so a request run twice shows up
 *    as two rows instead of being refused;
 *  - three nodes on 127.0.0.11, .12, .13 (free ports), started at the same
 *    instant on the fresh database, so schema.sql is a pending change all
 *    three race to apply;
 *  - HAProxy on 127.0.0.1 with exactly the configuration docs/deploy.md
 *    recommends (tests/haproxy.c reads it from there): health check on
 *    /_cot/health, redispatch, L7 retries for idempotent requests only.
 * Load: CLIENTS threads, each on a keep-alive connection to HAProxy, send
 * POSTs (each with a key of its own) and GETs of ids they were given back,
 * half and half, for LOAD_S seconds. Raw sockets, no client library: the
 * client never retries, so each request's fate is exactly what HAProxy
 * said. At 3 s app1 is killed with SIGKILL, at 6 s started again, at 8 s
 * app2 gets SIGTERM (it drains and exits).
 *
 * Hard checks:
 *  - acknowledged writes lost = 0: every key whose POST got a 2xx is in the
 *    database;
 *  - duplicates = 0: no key has two rows (no request ran twice -- a retried
 *    POST would be one);
 *  - no row with a key the clients never sent;
 *  - migrations applied = 1: one _cot_migrations row, all three nodes up;
 *  - GETs answered right (200 and the key of that id) or failed;
 *  - which failures are allowed. A request whose node is SIGKILLed after
 *    HAProxy sent it has no answer: HAProxy may resend it only if it is
 *    idempotent, since the node may have committed a POST before it died.
 *    So a GET must never fail (HAProxy resends it to another node), and a
 *    POST may fail only if it was in flight on the killed node. That is
 *    checked against HAProxy's own log, not guessed from timing alone:
 *    HAProxy fails such a POST either with a 502 logged against app1 (the
 *    killed node) with a termination state starting with 'S' (the server
 *    side aborted), or -- when it was not the first request on the
 *    client's keep-alive connection -- by closing that connection without
 *    an answer and without a log line (its abort_keep_alive: it acts as a
 *    server closing an idle keep-alive connection and leaves the decision
 *    to resend to the client). So every failed request must be a POST that
 *    is either a 502 logged against app1 with an 'S' state, or a close
 *    HAProxy did not log; and it must have ended after the kill and
 *    started before app1 was started again. ("In flight" includes a POST
 *    HAProxy sent on one of its pooled connections to app1 in the few
 *    milliseconds after the kill, before it saw that connection closed:
 *    HAProxy cannot tell it from a POST the node received; it cannot have
 *    committed, since nothing ran it.) Nothing may fail on account
 *    of app2's SIGTERM: draining is lossless by design (the node refuses
 *    new connections, so HAProxy's connect fails and it retries elsewhere,
 *    and requests on its open connections are still answered, with
 *    Connection: close; the health check marks it down within 2 s, before
 *    --drain-delay's 3 s end and the node closes its idle connections),
 *    and nothing may fail before the kill or on app3. How many POSTs fail
 *    is printed, not bounded: it is how many happened to be in flight at
 *    that instant (at most one per client, a few per kill).
 *  - the drained node exits 0; HAProxy sees app1 UP again, app2 DOWN;
 *  - PostgreSQL connections in use stay under max_connections.
 * Printed (not pass/fail: timings depend on the machine): requests and
 * failures by kind, failed POSTs that committed anyway, p50/p99 latency
 * before, during and after the kill, peak connections vs max_connections.
 *
 * If 127.0.0.11-13 cannot be bound (no loopback /8), the nodes use
 * 127.0.0.1 with three ports, and the report says so.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build_app.h"
#include "haproxy.h"
#include "node.h"
#include "pg.h"
#include "raw.h"
#include "t.h"

#define NODES      HAPROXY_SERVERS
#define CLIENTS    8
#define LOAD_S     10.0
#define KILL_AT    3.0
#define RESTART_AT 6.0
#define TERM_AT    8.0
#define WAIT_S     60.0
#define MAX_REQS   400000

static char tmpdir[256];
static const char *cotdev;

/* ==== the app ========================================================== */

static const char items_c[] =
        "#include <cot.h>\n"
        "\n"
        "/* POST /items?k=KEY: one row per request, answered with its id */\n"
        "static cot_result add_item(cot_ctx *c)\n"
        "{\n"
        "	const char *k = cot_query(c, \"k\");\n"
        "	if (k == NULL || *k == '\\0')\n"
        "		return cot_fail(c, 400, \"k is missing\");\n"
        "	cot_row *r = cot_db_one(c, \"INSERT INTO items (k) VALUES (?) RETURNING id\", k);\n"
        "	return cot_text(c, 201, \"%lld\", cot_row_int(r, \"id\"));\n"
        "}\n"
        "\n"
        "static cot_result show_item(cot_ctx *c)\n"
        "{\n"
        "	cot_row *r = cot_db_one(c, \"SELECT k FROM items WHERE id = ?\",\n"
        "	                        cot_param_int(c, \"id\"));\n"
        "	if (r == NULL)\n"
        "		return cot_fail(c, 404, \"no item %s\", cot_param(c, \"id\"));\n"
        "	return cot_text(c, 200, \"%s\", cot_row_text(r, \"k\"));\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "	COT_POST(\"/items\", add_item),\n"
        "	COT_GET(\"/items/:id\", show_item),\n"
        ")\n";

/* k is not UNIQUE on purpose: a duplicate must be visible, not refused. */
static const char items_sql[] = "\nCREATE TABLE items (\n"
                                "  id INTEGER PRIMARY KEY,\n"
                                "  k TEXT NOT NULL\n"
                                ");\n";

/* ==== the load ========================================================= */

enum { KIND_GET, KIND_POST };

typedef struct req {
	double start, end; /* seconds since the load began */
	int kind;
	int status; /* 0: reset or closed without an answer */
	int wrong;  /* a GET answered 200 with another key */
	int client;
	long seq;     /* POST: the key is c<client>-<seq> */
	long long id; /* POST: the id answered; GET: the id asked */
} req;

typedef struct client {
	int index;
	req *reqs;
	size_t n;
	long long ids[64]; /* ids this client got back, to GET */
	long seqs[64];     /* ... and the key each was made with */
	int nids;
} client;

static const char *lb_ip = "127.0.0.1";
static int lb_port;
static double load_t0;
static volatile int load_stop;

static double
since_start(void)
{
	return node_now() - load_t0;
}

/* One request on *fd (reconnecting when needed), recorded in r. */
static void
client_request(client *cl, int *fd, req *r)
{
	char path[128], key[64];
	node_resp resp;
	snprintf(key, sizeof(key), "c%d-%ld", cl->index, r->seq);
	if (r->kind == KIND_POST)
		snprintf(path, sizeof(path), "/items?k=%s", key);
	else
		snprintf(path, sizeof(path), "/items/%lld", r->id);
	r->start = since_start();
	if (*fd >= 0 && !node_reusable(*fd)) {
		close(*fd); /* HAProxy closed it while it was idle */
		*fd = -1;
	}
	if (*fd < 0)
		*fd = node_connect(lb_ip, lb_port, 30);
	int sent = *fd >= 0 && node_send(*fd, r->kind == KIND_POST ? "POST" : "GET", path,
	                                 r->kind == KIND_POST ? "" : NULL) == 0;
	r->status = sent ? node_recv(*fd, &resp) : 0;
	r->end = since_start();
	if (r->status == 0 || resp.closes) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	if (r->kind == KIND_POST && r->status == 201)
		r->id = atoll(resp.body);
	if (r->kind == KIND_GET && r->status == 200)
		r->wrong = strcmp(resp.body, key) != 0; /* the key the id was made with */
}

static void *
client_main(void *arg)
{
	client *cl = arg;
	int fd = -1;
	unsigned seed = (unsigned)cl->index * 7919u + 1;
	long seq = 0;
	while (!load_stop && cl->n < MAX_REQS / CLIENTS) {
		req *r = &cl->reqs[cl->n];
		memset(r, 0, sizeof(*r));
		r->client = cl->index;
		r->kind = cl->nids > 0 && rand_r(&seed) % 2 ? KIND_GET : KIND_POST;
		if (r->kind == KIND_POST)
			r->seq = seq++;
		else {
			int pick = (int)(rand_r(&seed) % (unsigned)cl->nids);
			r->id = cl->ids[pick];
			r->seq = cl->seqs[pick];
		}
		client_request(cl, &fd, r);
		cl->n++;
		if (r->kind == KIND_POST && r->status == 201 && r->id > 0) {
			int slot = cl->nids < 64 ? cl->nids++ : (int)(rand_r(&seed) % 64);
			cl->ids[slot] = r->id;
			cl->seqs[slot] = r->seq;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* ==== PostgreSQL side ================================================== */

static const char *db_url;

/* The single value of a query as a number, or -1. */
static long long
pg_value(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	long long v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* Connections in use, sampled while the load runs. */
static long long conn_peak = -1;
static long long conn_max = -1;

static void *
monitor_main(void *arg)
{
	(void)arg;
	PGconn *pg = PQconnectdb(db_url);
	if (PQstatus(pg) != CONNECTION_OK) {
		PQfinish(pg);
		return NULL;
	}
	conn_max = pg_value(pg, "SELECT setting::bigint FROM pg_settings "
	                        "WHERE name = 'max_connections'");
	while (!load_stop) {
		long long n = pg_value(pg, "SELECT count(*) FROM pg_stat_activity "
		                           "WHERE backend_type = 'client backend'");
		if (n > conn_peak)
			conn_peak = n;
		usleep(200000);
	}
	PQfinish(pg);
	return NULL;
}

/* ==== the report ======================================================= */

/* The killed node's window: from the kill until it was started again. */
static double dead_from, dead_until;

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* p50 and p99 (ms) of the answered requests started in [from, to). */
static void
report_latency(client *cls, const char *name, double from, double to)
{
	size_t n = 0, cap = 0;
	for (int c = 0; c < CLIENTS; c++)
		cap += cls[c].n;
	double *v = malloc((cap + 1) * sizeof(double));
	for (int c = 0; c < CLIENTS; c++)
		for (size_t i = 0; i < cls[c].n; i++) {
			req *r = &cls[c].reqs[i];
			if (r->start >= from && (r->start < to || to == LOAD_S) && r->status != 0)
				v[n++] = (r->end - r->start) * 1000;
		}
	qsort(v, n, sizeof(double), cmp_double);
	if (n > 0)
		printf("# %-34s %7zu requests %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms\n", name, n,
		       (double)n / (to - from), v[n / 2], v[(size_t)((double)n * 0.99)]);
	else
		printf("# %-34s no requests\n", name);
	free(v);
}

/* HAProxy's log line for a request: the line whose request is "METHOD
 * PATH HTTP/1.1" (POST paths are unique: they carry the key). */
static const char *
haproxy_line(const char *log, const char *method, const char *path, char *line, size_t len)
{
	char needle[160];
	snprintf(needle, sizeof(needle), "\"%s %s HTTP/1.1\"", method, path);
	const char *p = strstr(log, needle);
	if (p == NULL)
		return NULL;
	const char *start = p;
	while (start > log && start[-1] != '\n')
		start--;
	size_t n = (size_t)(p - start);
	if (n >= len)
		n = len - 1;
	memcpy(line, start, n);
	line[n] = '\0';
	return line;
}

/* Was failed request r in flight on app1 when it was killed? (See the
 * opening comment.) HAProxy fails such a POST in one of two ways: a 502
 * logged against app1 with a server-side termination state, or -- when it
 * was not the first request on the client's keep-alive connection -- by
 * closing that connection without an answer and without a log line, the
 * way a server closes an idle keep-alive connection, so that the client
 * decides whether to resend it (HAProxy's abort_keep_alive). Either way it
 * must have ended after the kill and started before app1 was restarted. */
static int
failure_allowed(const char *hlog, const req *r, char *why, size_t len)
{
	char path[128], line[1024];
	if (r->kind != KIND_POST) {
		snprintf(why, len,
		         "GET /items/%lld answered %d at %.3f s (HAProxy must resend "
		         "it)",
		         r->id, r->status, r->start);
		return 0;
	}
	snprintf(path, sizeof(path), "/items?k=c%d-%ld", r->client, r->seq);
	int logged = haproxy_line(hlog, "POST", path, line, sizeof(line)) != NULL;
	/* "... www cot/app1 0/0/0/-1/3 502 ... - - SH-- ..." */
	const char *srv = logged ? strstr(line, " cot/") : NULL;
	const char *st = srv ? strstr(srv, " - - ") : NULL;
	int in_window = r->end >= dead_from && r->start < dead_until;
	int as_502 = r->status == 502 && srv != NULL && strncmp(srv, " cot/app1 ", 10) == 0 &&
	             st != NULL && st[5] == 'S';
	int as_close = r->status == 0 && !logged;
	snprintf(why, len,
	         "POST %s %s at %.3f-%.3f s (app1 killed at %.3f s, restarted at "
	         "%.3f s); HAProxy's log: %s",
	         path, r->status ? "answered" : "closed without an answer", r->start, r->end,
	         dead_from, dead_until, logged ? line : "no line");
	if (r->status)
		snprintf(why + strlen(why), len - strlen(why), " [status %d]", r->status);
	return in_window && (as_502 || as_close);
}

/* Which requests failed, and whether each may. */
static void
report_failures(client *cls, int *get_fail, int *post_fail, int *not_allowed, int *wrong)
{
	static char hlog[32 * 1024 * 1024];
	char path[400], why[1400];
	snprintf(path, sizeof(path), "%s/haproxy.log", tmpdir);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(hlog, 1, sizeof(hlog) - 1, f) : 0;
	hlog[n] = '\0';
	if (f)
		fclose(f);
	int by_status[600] = {0};
	for (int c = 0; c < CLIENTS; c++)
		for (size_t i = 0; i < cls[c].n; i++) {
			req *r = &cls[c].reqs[i];
			*wrong += r->wrong;
			int failed = r->kind == KIND_POST ? r->status != 201 : r->status != 200;
			if (!failed)
				continue;
			by_status[r->status >= 0 && r->status < 600 ? r->status : 0]++;
			if (r->kind == KIND_GET)
				(*get_fail)++;
			else
				(*post_fail)++;
			int ok = failure_allowed(hlog, r, why, sizeof(why));
			printf("# failed: %s%s\n", why,
			       ok ? " -- in flight on the killed node" : "");
			*not_allowed += !ok;
		}
	for (int s = 0; s < 600; s++)
		if (by_status[s] && s == 0)
			printf("# failures without an answer (reset, closed): %d\n", by_status[s]);
		else if (by_status[s])
			printf("# failures answered %d: %d\n", s, by_status[s]);
}

/* ==== the run ========================================================== */

typedef struct cluster {
	node nodes[NODES];
	char ips[NODES][16];
	int ports[NODES];
	char ports_s[NODES][8];
	char addr[NODES][32];
	const char *bin;
	haproxy lb;
} cluster;

static void
cluster_argv(cluster *k, int i, const char **argv)
{
	const char *a[] = {k->bin,      "--host", k->ips[i], "--port",        k->ports_s[i],
	                   "--db",      db_url,   "--quiet", "--drain-delay", "3000",
	                   "--threads", "2",      NULL};
	memcpy(argv, a, sizeof(a));
}

/* Addresses: 127.0.0.11-13 when they can be bound, else 127.0.0.1. */
static void
cluster_addresses(cluster *k)
{
	int own = raw_free_port("127.0.0.11") > 0 && raw_free_port("127.0.0.12") > 0 &&
	          raw_free_port("127.0.0.13") > 0;
	if (!own)
		printf("# 127.0.0.11-13 cannot be bound here: the nodes use 127.0.0.1\n");
	for (int i = 0; i < NODES; i++) {
		char ip[16] = "127.0.0.1";
		if (own)
			ip[9] = (char)('1' + i), ip[10] = '\0';
		int port = raw_free_port(ip);
		memcpy(k->ips[i], ip, sizeof(ip));
		k->ports[i] = port;
		snprintf(k->ports_s[i], sizeof(k->ports_s[i]), "%d", port & 0xffff);
		snprintf(k->addr[i], sizeof(k->addr[i]), "%s:%d", ip, port & 0xffff);
	}
}

/* Three nodes at one instant on the fresh database; how many serve. */
static int
cluster_start(cluster *k)
{
	int gate[2], up = 0;
	if (node_gate_new(gate) != 0)
		return 0;
	for (int i = 0; i < NODES; i++) {
		const char *argv[NODE_MAX_ARGS];
		cluster_argv(k, i, argv);
		node_init(&k->nodes[i], tmpdir, i + 1, argv);
		node_fork(&k->nodes[i], gate);
	}
	node_gate_open(gate);
	for (int i = 0; i < NODES; i++) {
		char log[4096];
		if (node_wait_ready(&k->nodes[i], WAIT_S) == 0) {
			up++;
			continue;
		}
		node_read_log(&k->nodes[i], log, sizeof(log));
		printf("# node %d did not start (exit %d):\n%s\n", i + 1, k->nodes[i].exit_code,
		       log);
	}
	return up;
}

/* The schedule: kill -9 app1, start it again, SIGTERM app2. The restart
 * is not waited for (a node may take seconds to start on a loaded
 * machine): the SIGTERM stays on time. */
static void
cluster_events(cluster *k)
{
	int app1 = 0;
	while (since_start() < KILL_AT)
		usleep(5000);
	dead_from = since_start();
	node_kill(&k->nodes[0]);
	printf("# %.3f s: app1 killed (SIGKILL)\n", dead_from);
	while (since_start() < RESTART_AT)
		usleep(5000);
	dead_until = since_start();
	node_fork(&k->nodes[0], NULL);
	printf("# %.3f s: app1 started again\n", dead_until);
	for (int termed = 0; since_start() < LOAD_S; usleep(5000)) {
		if (app1 == 0 && (app1 = node_poll_ready(&k->nodes[0])) > 0)
			printf("# %.3f s: app1 serves again\n", since_start());
		if (!termed && since_start() >= TERM_AT) {
			kill(k->nodes[1].pid, SIGTERM);
			printf("# %.3f s: app2 sent SIGTERM (drains)\n", since_start());
			termed = 1;
		}
	}
	if (app1 == 0)
		node_wait_ready(&k->nodes[0], WAIT_S);
}

/* Keys the database holds: rows per key, keyed "c<client>-<seq>". */
typedef struct db_keys {
	int *count[CLIENTS]; /* count[c][seq] */
	long max_seq[CLIENTS];
	long foreign; /* rows whose key no client sent */
} db_keys;

static void
db_keys_load(PGconn *pg, client *cls, db_keys *d)
{
	memset(d, 0, sizeof(*d));
	for (int c = 0; c < CLIENTS; c++) {
		d->max_seq[c] = 0;
		for (size_t i = 0; i < cls[c].n; i++)
			if (cls[c].reqs[i].kind == KIND_POST &&
			    cls[c].reqs[i].seq + 1 > d->max_seq[c])
				d->max_seq[c] = cls[c].reqs[i].seq + 1;
		d->count[c] = calloc((size_t)d->max_seq[c] + 1, sizeof(int));
	}
	PGresult *r = PQexec(pg, "SELECT k FROM items");
	for (int i = 0; i < PQntuples(r); i++) {
		int c;
		long seq;
		if (sscanf(PQgetvalue(r, i, 0), "c%d-%ld", &c, &seq) == 2 && c >= 0 &&
		    c < CLIENTS && seq >= 0 && seq < d->max_seq[c])
			d->count[c][seq]++;
		else
			d->foreign++;
	}
	PQclear(r);
}

static void
check_database(client *cls)
{
	PGconn *pg = PQconnectdb(db_url);
	T_CHECK("the test reaches the database", PQstatus(pg) == CONNECTION_OK);
	db_keys d;
	db_keys_load(pg, cls, &d);
	long acked = 0, lost = 0, dups = 0, failed_committed = 0, posts = 0;
	for (int c = 0; c < CLIENTS; c++)
		for (size_t i = 0; i < cls[c].n; i++) {
			req *r = &cls[c].reqs[i];
			if (r->kind != KIND_POST)
				continue;
			posts++;
			int rows = d.count[c][r->seq];
			if (r->status >= 200 && r->status < 300) {
				acked++;
				lost += rows == 0;
			} else {
				failed_committed += rows > 0;
			}
			dups += rows > 1;
		}
	long long migrations = pg_value(pg, "SELECT count(*) FROM _cot_migrations");
	printf("# POSTs sent %ld, acknowledged %ld; rows in items %lld\n", posts, acked,
	       pg_value(pg, "SELECT count(*) FROM items"));
	printf("# acknowledged writes lost: %ld\n", lost);
	printf("# duplicates (keys with more than one row): %ld\n", dups);
	printf("# failed POSTs that committed anyway (answer lost with the node): %ld\n",
	       failed_committed);
	printf("# migrations applied: %lld\n", migrations);
	T_CHECK("no acknowledged write is lost (every 2xx POST's key is in the database)",
	        lost == 0 && acked > 0);
	T_CHECK("no duplicate: no key has two rows (no POST ran twice)", dups == 0);
	T_CHECK("no row carries a key no client sent", d.foreign == 0);
	T_CHECK("the schema change was applied once by three nodes started together "
	        "(one _cot_migrations row)",
	        migrations == 1);
	for (int c = 0; c < CLIENTS; c++)
		free(d.count[c]);
	PQfinish(pg);
}

static void
check_load(cluster *k)
{
	static client cls[CLIENTS];
	pthread_t th[CLIENTS], mon;
	for (int c = 0; c < CLIENTS; c++) {
		cls[c].index = c;
		cls[c].reqs = calloc(MAX_REQS / CLIENTS, sizeof(req));
	}
	load_t0 = node_now();
	pthread_create(&mon, NULL, monitor_main, NULL);
	for (int c = 0; c < CLIENTS; c++)
		pthread_create(&th[c], NULL, client_main, &cls[c]);
	cluster_events(k);
	load_stop = 1;
	for (int c = 0; c < CLIENTS; c++)
		pthread_join(th[c], NULL);
	pthread_join(mon, NULL);

	int drained = node_stop(&k->nodes[1], WAIT_S);
	T_CHECK("app2 drained at SIGTERM and exited 0", drained == 0);
	T_CHECK("HAProxy: app1 is UP again after its restart",
	        haproxy_wait_state(&k->lb, "app1", "UP", 10) == 0);
	T_CHECK("HAProxy: app2 is DOWN once drained",
	        haproxy_wait_state(&k->lb, "app2", "DOWN", 10) == 0);

	printf("# ---- report: %d clients through HAProxy for %.0f s; app1 SIGKILL at %.0f s, "
	       "restarted at %.0f s; app2 SIGTERM at %.0f s\n",
	       CLIENTS, LOAD_S, KILL_AT, RESTART_AT, TERM_AT);
	long gets = 0, posts = 0;
	for (int c = 0; c < CLIENTS; c++)
		for (size_t i = 0; i < cls[c].n; i++)
			if (cls[c].reqs[i].kind == KIND_GET)
				gets++;
			else
				posts++;
	printf("# requests: %ld GET, %ld POST\n", gets, posts);
	int get_fail = 0, post_fail = 0, not_allowed = 0, wrong = 0;
	report_failures(cls, &get_fail, &post_fail, &not_allowed, &wrong);
	printf("# failed: %d GET, %d POST\n", get_fail, post_fail);
	report_latency(cls, "before the kill (0-3 s)", 0, KILL_AT);
	report_latency(cls, "app1 killed (3-6 s)", KILL_AT, RESTART_AT);
	report_latency(cls, "app1 restarted (6-8 s)", RESTART_AT, TERM_AT);
	report_latency(cls, "app2 draining (8-10 s)", TERM_AT, LOAD_S);
	printf("# PostgreSQL connections in use: peak %lld of max_connections %lld "
	       "(%d nodes x --threads 2, plus the test's own)\n",
	       conn_peak, conn_max, NODES);
	T_CHECK("load ran: requests were answered", gets > 0 && posts > 0);
	T_CHECK("no GET failed (HAProxy resends them to another node)", get_fail == 0);
	T_CHECK("every failed POST was in flight on the killed node (a 502 HAProxy logged "
	        "against app1, or a keep-alive close it did not log, while app1 was dead)",
	        not_allowed == 0);
	T_CHECK("every GET answered 200 carried the key of its id", wrong == 0);
	T_CHECK("PostgreSQL connections stayed under max_connections",
	        conn_peak > 0 && conn_max > 0 && conn_peak < conn_max);
	check_database(cls);
	for (int c = 0; c < CLIENTS; c++)
		free(cls[c].reqs);
}

static void
scale(const char *bin)
{
	static cluster k;
	char err[600], deploy[400];
	k.bin = bin;
	cluster_addresses(&k);
	int up = cluster_start(&k);
	T_CHECK("3 nodes started at the same instant on a fresh database all serve", up == NODES);
	const char *home = getenv("COT_HOME");
	snprintf(deploy, sizeof(deploy), "%s/docs/deploy.md", home && *home ? home : ".");
	const char *servers[NODES] = {k.addr[0], k.addr[1], k.addr[2]};
	int lb = haproxy_config(&k.lb, deploy, tmpdir, servers, err, sizeof(err)) == 0 &&
	         haproxy_start(&k.lb, err, sizeof(err)) == 0;
	if (!lb)
		printf("# %s\n", err);
	T_CHECK("HAProxy starts with docs/deploy.md's configuration", lb);
	int all_up = lb;
	for (int i = 0; i < NODES && all_up; i++) {
		char name[16];
		snprintf(name, sizeof(name), "app%d", i + 1);
		all_up = haproxy_wait_state(&k.lb, name, "UP", 30) == 0;
	}
	T_CHECK("HAProxy's health checks (/_cot/health) see all three nodes UP", all_up);
	if (up == NODES && all_up) {
		lb_port = k.lb.port;
		check_load(&k);
	}
	haproxy_stop(&k.lb);
	for (int i = 0; i < NODES; i++)
		node_stop(&k.nodes[i], WAIT_S);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_scale COTDEV\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	cotdev = argv[1];
	setenv("COT_SECRET", "test-scale-secret-0123456789abcdef0123456789", 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cot-test-scale-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	pg_cluster pc;
	char err[512], url[600], bin[400], out[256];
	int pg_up = pg_cluster_start(&pc, err, sizeof(err)) == 0 &&
	            pg_cluster_database(&pc, "app", url, sizeof(url)) == 0;
	if (!pg_up)
		printf("# %s\n", err);
	T_CHECK("a private PostgreSQL cluster starts", pg_up);
	db_url = url;
	snprintf(bin, sizeof(bin), "%s/app.bin", tmpdir);
	char app[300], log[16384];
	snprintf(app, sizeof(app), "%s/app", tmpdir);
	const build_app_file files[] = {{"handlers/items.c", items_c, false},
	                                {"schema.sql", items_sql, true},
	                                {NULL, NULL, false}};
	int built = pg_up && build_app_new(cotdev, app, files) == 0 &&
	            build_app_export(cotdev, app, bin, log, sizeof(log)) == 0;
	T_CHECK("the app exports", built);
	if (built)
		scale(bin);
	pg_cluster_stop(&pc);
	if (getenv("KEEP_TMP") == NULL)
		build_app_run(out, sizeof(out), "rm -rf %s", tmpdir);
	else
		printf("# kept %s\n", tmpdir);
	return T_DONE();
}
