/*
 * haproxy.h -- a private HAProxy (Debian's) in front of test nodes.
 *
 * The configuration is the one docs/deploy.md recommends, read from its
 * ```haproxy block, so the docs cannot drift from what is tested. Only what
 * differs per machine is replaced: `bind :80` by 127.0.0.1 and a free port,
 * the servers 10.0.0.11:8080, 10.0.0.12:8080, 10.0.0.13:8080 by the test's
 * nodes, the stats socket's path by one in the temp dir. HAProxy runs in
 * the foreground (-db), its log (one line per request, `option httplog`)
 * in DIR/haproxy.log; the stats socket tells each server's state.
 */
#ifndef COT_TEST_HAPROXY_H
#define COT_TEST_HAPROXY_H

#include <stddef.h>
#include <sys/types.h>

#define HAPROXY_SERVERS 3

typedef struct haproxy {
	pid_t pid;
	int port; /* the frontend, on 127.0.0.1 */
	char cfg[300];
	char sock[300];
	char log[300];
} haproxy;

/* Writes DIR/haproxy.cfg from the docs (deploy_md: docs/deploy.md) with
 * servers[i] ("IP:PORT") for app1..app3. 0, or -1 with err filled (a
 * line the test replaces is missing from the docs: say which). */
int haproxy_config(haproxy *h, const char *deploy_md, const char *dir,
                   const char *const servers[HAPROXY_SERVERS], char *err, size_t errlen);

/* Checks the config (haproxy -c), then starts HAProxy. 0, or -1 with err. */
int haproxy_start(haproxy *h, char *err, size_t errlen);

/* The state of server NAME (app1..) from `show stat`: "UP", "DOWN",
 * "UP 1/2"... into out; -1 when the socket does not answer. */
int haproxy_server_state(const haproxy *h, const char *name, char *out, size_t len);

/* Polls until server NAME's state is want ("UP", "DOWN"); 0, or -1 at timeout. */
int haproxy_wait_state(const haproxy *h, const char *name, const char *want, double timeout_s);

/* SIGTERM (and SIGKILL if it lingers), reaped. */
void haproxy_stop(haproxy *h);

#endif
