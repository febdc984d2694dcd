/*
 * stress.c -- `make stress`: hostile load against `cotdev run` and the
 * exported binary, with figures, not verdicts.
 *
 * usage: stress COTDEV [SECONDS]     (default 12 s per attack)
 *
 * Four attacks, each against both servers started with their defaults
 * (only --port 0 --quiet, and --timeout 2000 so a stuck handler is
 * answered within the attack):
 *   slowloris  2,000 connections, each sending one header line a second
 *   flood      3,000 idle connections, reopened as the server closes them
 *   bodies     100 clients each POSTing 10 MB bodies, one after another
 *   stuck      4 requests deadlocked in their handler for good
 * Meanwhile a normal client sends GET /ok on a fresh connection, one after
 * another, each given 2 s to answer. Printed per attack and server: the
 * normal client's requests answered / sent, how the attack went, and the
 * server's RSS before, at its peak (VmHWM, reset before the attack) and
 * after the attack's connections are gone.
 *
 * Not part of `make test`: it takes minutes and its figures depend on the
 * machine. The pass/fail versions of these checks are in
 * tests/test_hostile.c.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "../raw.h"
#include "../serve.h"

static const char stress_src[] =
        "#include <cot.h>\n"
        "#include <pthread.h>\n"
        "\n"
        "static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;\n"
        "\n"
        "static cot_result ok(cot_ctx *c) { return cot_text(c, 200, \"fine\\n\"); }\n"
        "\n"
        "static cot_result\n"
        "deadlock(cot_ctx *c)\n"
        "{\n"
        "\tpthread_mutex_lock(&lock);\n"
        "\tpthread_mutex_lock(&lock);\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "sum(cot_ctx *c)\n"
        "{\n"
        "\tsize_t n;\n"
        "\tconst unsigned char *b = (const unsigned char *)cot_body(c, &n);\n"
        "\tunsigned long h = 0;\n"
        "\tfor (size_t i = 0; i < n; i += 4096)\n"
        "\t\th += b[i];\n"
        "\treturn cot_text(c, 200, \"%zu %lu\\n\", n, h);\n"
        "}\n"
        "\n"
        "COT_ROUTES(COT_GET(\"/ok\", ok), COT_GET(\"/deadlock\", deadlock),\n"
        "           COT_POST(\"/sum\", sum))\n";

static int stress_port;
static double stress_seconds = 12;
static atomic_bool stress_stop;

/* ==== the normal client ================================================ */

typedef struct normal_stats {
	int sent, answered;
} normal_stats;

static void *
normal_main(void *arg)
{
	normal_stats *st = arg;
	while (!atomic_load(&stress_stop)) {
		st->sent++;
		st->answered += raw_get(stress_port, NULL, "/ok", 2000) == 200;
		struct timespec t = {0, 20 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
	return NULL;
}

/* ==== attacks ========================================================== */

typedef struct attack_stats {
	atomic_long opened, cut, done, failed;
} attack_stats;

/* slowloris: connections sending one header line a second. */
static void *
slowloris_main(void *arg)
{
	attack_stats *a = arg;
	enum { N = 2000 };
	static int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = raw_connect(stress_port, NULL);
		if (fds[i] >= 0 && raw_send(fds[i], "GET /ok HTTP/1.1\r\n", 18) == 0)
			atomic_fetch_add(&a->opened, 1);
	}
	while (!atomic_load(&stress_stop)) {
		for (int i = 0; i < N; i++) {
			if (fds[i] < 0)
				continue;
			if (raw_send(fds[i], "X-Slow: 1\r\n", 11) != 0) {
				atomic_fetch_add(&a->cut, 1);
				close(fds[i]);
				fds[i] = raw_connect(stress_port, NULL); /* and back for more */
				if (fds[i] >= 0 &&
				    raw_send(fds[i], "GET /ok HTTP/1.1\r\n", 18) == 0)
					atomic_fetch_add(&a->opened, 1);
			}
		}
		struct timespec t = {1, 0};
		nanosleep(&t, NULL);
	}
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* flood: idle connections, reopened as soon as the server closes one. */
static void *
flood_main(void *arg)
{
	attack_stats *a = arg;
	enum { N = 3000 };
	static int fds[N];
	for (int i = 0; i < N; i++)
		if ((fds[i] = raw_connect(stress_port, NULL)) >= 0)
			atomic_fetch_add(&a->opened, 1);
	while (!atomic_load(&stress_stop)) {
		for (int i = 0; i < N; i++) {
			char c;
			ssize_t n = fds[i] >= 0 ? recv(fds[i], &c, 1, MSG_DONTWAIT) : 0;
			if (fds[i] >= 0 && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				continue;
			if (fds[i] >= 0) {
				atomic_fetch_add(&a->cut, 1);
				close(fds[i]);
			}
			if ((fds[i] = raw_connect(stress_port, NULL)) >= 0)
				atomic_fetch_add(&a->opened, 1);
		}
		struct timespec t = {0, 100 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* bodies: one client POSTing 10 MB bodies back to back. */
static void *
body_main(void *arg)
{
	attack_stats *a = arg;
	static const char block[65536];
	enum { LEN = 10 << 20 };
	char head[160];
	int hl = snprintf(head, sizeof(head),
	                  "POST /sum HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
	                  "Content-Length: %d\r\n\r\n",
	                  LEN);
	while (!atomic_load(&stress_stop)) {
		int fd = raw_connect(stress_port, NULL);
		bool ok = fd >= 0 && raw_send(fd, head, (size_t)hl) == 0;
		for (int off = 0; ok && off < LEN; off += (int)sizeof(block))
			ok = raw_send(fd, block, sizeof(block)) == 0;
		ok = ok && raw_status(fd, 30000) == 200;
		atomic_fetch_add(ok ? &a->done : &a->failed, 1);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static void *
bodies_main(void *arg)
{
	enum { N = 100 };
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, body_main, arg);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	return NULL;
}

/* stuck: four requests deadlocked for good; each should get 503. */
static void *
stuck_one(void *arg)
{
	attack_stats *a = arg;
	static const char req[] =
	        "GET /deadlock HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	int fd = raw_connect(stress_port, NULL);
	atomic_fetch_add(&a->opened, 1);
	int st = fd >= 0 && raw_send(fd, req, sizeof(req) - 1) == 0 ? raw_status(fd, 30000) : 0;
	atomic_fetch_add(st == 503 ? &a->done : &a->failed, 1);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *
stuck_main(void *arg)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, stuck_one, arg);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return NULL;
}

/* ==== running one attack =============================================== */

static void
stress_attack(const char *server, h_server *srv, const char *name, void *(*attack)(void *))
{
	attack_stats a = {0};
	normal_stats n = {0};
	stress_port = srv->port;
	long before = serve_status_kb(srv->pid, "VmRSS:");
	serve_reset_peak(srv->pid);
	atomic_store(&stress_stop, false);
	pthread_t at, nt;
	pthread_create(&at, NULL, attack, &a);
	pthread_create(&nt, NULL, normal_main, &n);
	struct timespec d = {(time_t)stress_seconds, 0};
	nanosleep(&d, NULL);
	atomic_store(&stress_stop, true);
	pthread_join(nt, NULL);
	pthread_join(at, NULL);
	long peak = serve_status_kb(srv->pid, "VmHWM:");
	/* the attack's sockets are closed: let the server see it */
	normal_stats after = {0};
	for (int i = 0; i < 10; i++) {
		after.sent++;
		after.answered += raw_get(stress_port, NULL, "/ok", 2000) == 200;
	}
	long final = serve_status_kb(srv->pid, "VmRSS:");
	printf("%-11s %-10s normal client %4d/%-4d answered  attack: %5ld opened %5ld cut "
	       "%4ld done %4ld failed  RSS %6ld kB before, peak %6ld kB, after %6ld kB "
	       "(then %d/%d answered)\n",
	       server, name, n.answered, n.sent, atomic_load(&a.opened), atomic_load(&a.cut),
	       atomic_load(&a.done), atomic_load(&a.failed), before, peak, final, after.answered,
	       after.sent);
	fflush(stdout);
}

static void
stress_server(const char *server, h_target *t, const char *app)
{
	static const char *const flags[] = {"--port", "0", "--quiet", "--timeout", "2000", NULL};
	h_target_flags(t, flags);
	static const struct {
		const char *name;
		void *(*fn)(void *);
	} attacks[] = {
	        {"slowloris", slowloris_main},
	        {"flood", flood_main},
	        {"bodies", bodies_main},
	        {"stuck", stuck_main},
	};
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		h_server srv;
		char err[512];
		if (h_server_start(t, app, &srv, err, sizeof(err)) != 0) {
			printf("%s: cannot start: %s\n", server, err);
			return;
		}
		stress_attack(server, &srv, attacks[i].name, attacks[i].fn);
		double t0 = h_now_ms();
		int rc = h_server_stop(&srv);
		printf("%-11s %-10s SIGTERM: exit status %d after %.0f ms\n", server,
		       attacks[i].name, rc, h_now_ms() - t0);
	}
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV [SECONDS]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		stress_seconds = atof(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	printf("stress: %.0f s per attack; fd limit %ld\n", stress_seconds, (long)rl.rlim_cur);

	char app[4096];
	h_target dev = h_target_dev(argv[1]);
	if (h_scaffold(&dev, app, sizeof(app)) != 0)
		return 1;
	h_clear_handlers(app);
	if (h_write_app_file(app, "handlers/stress.c", stress_src) != 0)
		return 1;
	stress_server("cotdev run", &dev, app);
	h_target exp = h_target_export(argv[1]);
	stress_server("export", &exp, app);
	h_thread_done();
	h_rmtree(app);
	return 0;
}
