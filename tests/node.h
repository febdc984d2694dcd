/*
 * node.h -- exported binaries as the nodes of a deployment, for the tests
 * that run several of them (tests/test_cluster.c, tests/test_scale.c) and
 * the cluster benchmark: start several at the same instant, wait for each
 * to serve, stop one with SIGTERM or kill it with SIGKILL, start it again;
 * and the plain HTTP/1.1 those tests speak over raw sockets, so that no
 * client library retries or reuses anything behind the test's back.
 *
 * A node's stdout and stderr go to a log file; it is ready when the file
 * holds its "cot app on http://HOST:PORT/" line.
 */
#ifndef COT_TEST_NODE_H
#define COT_TEST_NODE_H

#include <stddef.h>
#include <sys/types.h>

#define NODE_MAX_ARGS 24

typedef struct node {
	pid_t pid;     /* -1 once reaped */
	int port;      /* from its URL line; -1 before, or when it exited */
	int exit_code; /* once reaped: exit status, 128 + signal */
	char log[300];
	size_t log_mark;                 /* the log's length when it was last forked */
	const char *argv[NODE_MAX_ARGS]; /* the command, NULL-terminated */
} node;

/* Sets the command (argv copied, its strings not) and the log file
 * DIR/node-ID.log. Returns 0, -1 when argv is too long. */
int node_init(node *n, const char *dir, int id, const char *const *argv);

/* A pipe that holds forked nodes back until node_gate_open. */
int node_gate_new(int gate[2]);
void node_gate_open(int gate[2]);

/* Forks the node; it execs only once the gate opens (several nodes then
 * start at one instant). gate NULL: at once. */
void node_fork(node *n, const int *gate);

/* Looks once: 1 when the URL line is there, 0 not yet, -1 it exited. */
int node_poll_ready(node *n);

/* Waits (timeout_s) for the URL line or the exit; 0 when it serves. */
int node_wait_ready(node *n, double timeout_s);

/* node_fork without a gate + node_wait_ready. */
int node_start(node *n, double timeout_s);

/* SIGTERM, then the exit code; -1 if it had to be killed after timeout_s. */
int node_stop(node *n, double timeout_s);

/* SIGKILL and reap. */
void node_kill(node *n);

/* The log so far, NUL-terminated, into buf. */
void node_read_log(const node *n, char *buf, size_t len);

double node_now(void);

/* ==== raw HTTP/1.1 ===================================================== */

/* A connected TCP socket to ip:port with a receive timeout, or -1. */
int node_connect(const char *ip, int port, double timeout_s);

/* Is a kept-alive connection still open, with nothing unread on it? A
 * client checks before reusing one, so that a connection the server closed
 * while it was idle is not mistaken for a request that failed. */
int node_reusable(int fd);

/* Sends one request (body may be NULL; sent with Content-Length). Returns
 * 0, -1 when the write failed. */
int node_send(int fd, const char *method, const char *path, const char *body);

typedef struct node_resp {
	int status;      /* 0: no complete response (reset, closed, timeout) */
	int closes;      /* the response said Connection: close */
	char head[2048]; /* status line and headers, truncated */
	char body[512];  /* truncated */
} node_resp;

/* Reads one response (its head and Content-Length body). Returns its
 * status, 0 when the connection ended or timed out before it was whole. */
int node_recv(int fd, node_resp *r);

/* The same for the answer to HEAD: no body is read. */
int node_recv_head(int fd, node_resp *r);

/* One request on a connection of its own. */
int node_http(const char *ip, int port, const char *method, const char *path, node_resp *r);

#endif
