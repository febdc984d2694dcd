/*
 * node.c -- exported binaries as the nodes of a deployment; see node.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
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

#include "node.h"

#define NODE_READY "cot app on http://"

double
node_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
node_init(node *n, const char *dir, int id, const char *const *argv)
{
	memset(n, 0, sizeof(*n));
	n->pid = -1;
	n->port = -1;
	n->exit_code = -1;
	snprintf(n->log, sizeof(n->log), "%s/node-%d.log", dir, id);
	int i = 0;
	for (; argv[i] != NULL; i++) {
		if (i + 1 >= NODE_MAX_ARGS)
			return -1;
		n->argv[i] = argv[i];
	}
	n->argv[i] = NULL;
	return 0;
}

int
node_gate_new(int gate[2])
{
	return pipe(gate);
}

/* Closing the write end (every child closed its own copy) makes each
 * child's read return 0 at the same moment. */
void
node_gate_open(int gate[2])
{
	close(gate[0]);
	close(gate[1]);
}

void
node_fork(node *n, const int *gate)
{
	struct stat st;
	n->log_mark = stat(n->log, &st) == 0 ? (size_t)st.st_size : 0;
	n->port = -1;
	n->exit_code = -1;
	n->pid = fork();
	if (n->pid != 0)
		return;
	if (gate != NULL) {
		char c;
		close(gate[1]);
		if (read(gate[0], &c, 1) < 0)
			_exit(126);
		close(gate[0]);
	}
	int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		_exit(126);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	execv(n->argv[0], (char *const *)n->argv);
	_exit(127);
}

void
node_read_log(const node *n, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(n->log, "r");
	if (f == NULL)
		return;
	size_t got = fread(buf, 1, len - 1, f);
	buf[got] = '\0';
	fclose(f);
}

static void
node_reaped(node *n, int st)
{
	n->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	n->pid = -1;
	n->port = -1;
}

int
node_poll_ready(node *n)
{
	static char buf[65536];
	node_read_log(n, buf, sizeof(buf));
	/* only this run's line: a restarted node appends to its log */
	const char *p = strlen(buf) > n->log_mark ? strstr(buf + n->log_mark, NODE_READY) : NULL;
	const char *colon = p ? strchr(p + strlen(NODE_READY), ':') : NULL;
	if (colon != NULL && strchr(colon, '\n') != NULL) {
		n->port = atoi(colon + 1);
		return 1;
	}
	int st;
	if (n->pid > 0 && waitpid(n->pid, &st, WNOHANG) == n->pid) {
		node_reaped(n, st);
		return -1;
	}
	return n->pid > 0 ? 0 : -1;
}

int
node_wait_ready(node *n, double timeout_s)
{
	for (double t0 = node_now(); node_now() - t0 < timeout_s; usleep(10000)) {
		int r = node_poll_ready(n);
		if (r != 0)
			return r > 0 ? 0 : -1;
	}
	return -1;
}

int
node_start(node *n, double timeout_s)
{
	node_fork(n, NULL);
	return node_wait_ready(n, timeout_s);
}

int
node_stop(node *n, double timeout_s)
{
	if (n->pid <= 0)
		return n->exit_code;
	kill(n->pid, SIGTERM);
	int st;
	for (double t0 = node_now(); node_now() - t0 < timeout_s; usleep(10000))
		if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
			node_reaped(n, st);
			return n->exit_code;
		}
	node_kill(n);
	return -1;
}

void
node_kill(node *n)
{
	if (n->pid <= 0)
		return;
	int st;
	kill(n->pid, SIGKILL);
	if (waitpid(n->pid, &st, 0) == n->pid)
		node_reaped(n, st);
	n->pid = -1;
}

/* ==== raw HTTP/1.1 ===================================================== */

int
node_connect(const char *ip, int port, double timeout_s)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (fd < 0)
		return -1;
	struct timeval tv = {(time_t)timeout_s,
	                     (suseconds_t)((timeout_s - (double)(time_t)timeout_s) * 1e6)};
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
node_reusable(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

int
node_send(int fd, const char *method, const char *path, const char *body)
{
	char req[2048];
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: cot.test\r\n", method, path);
	if (body != NULL)
		n += snprintf(req + n, sizeof(req) - (size_t)n,
		              "Content-Type: application/x-www-form-urlencoded\r\n"
		              "Content-Length: %zu\r\n",
		              blen);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n%s", body ? body : "");
	if (n <= 0 || (size_t)n >= sizeof(req))
		return -1;
	for (int off = 0; off < n;) {
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		off += (int)w;
	}
	return 0;
}

static int
node_recv_any(int fd, node_resp *r, int head_only)
{
	char buf[8192];
	size_t n = 0;
	memset(r, 0, sizeof(*r));
	for (;;) {
		buf[n] = '\0';
		const char *end = strstr(buf, "\r\n\r\n");
		if (end != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t head = (size_t)(end + 4 - buf);
			size_t want = cl != NULL && cl < end && !head_only
			                      ? strtoul(cl + 17, NULL, 10)
			                      : 0;
			if (n >= head + want) {
				size_t hl = head < sizeof(r->head) ? head : sizeof(r->head) - 1;
				memcpy(r->head, buf, hl);
				r->head[hl] = '\0';
				size_t bl = want < sizeof(r->body) ? want : sizeof(r->body) - 1;
				memcpy(r->body, buf + head, bl);
				r->body[bl] = '\0';
				r->closes = strcasestr(r->head, "\r\nConnection: close") != NULL;
				if (strncmp(buf, "HTTP/1.", 7) == 0)
					r->status = atoi(buf + 9);
				return r->status;
			}
		}
		if (n + 1 >= sizeof(buf))
			return 0;
		ssize_t got = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (got <= 0)
			return 0;
		n += (size_t)got;
	}
}

int
node_recv(int fd, node_resp *r)
{
	return node_recv_any(fd, r, 0);
}

int
node_recv_head(int fd, node_resp *r)
{
	return node_recv_any(fd, r, 1);
}

int
node_http(const char *ip, int port, const char *method, const char *path, node_resp *r)
{
	memset(r, 0, sizeof(*r));
	int fd = node_connect(ip, port, 10);
	if (fd < 0)
		return 0;
	if (node_send(fd, method, path, NULL) == 0)
		node_recv_any(fd, r, strcmp(method, "HEAD") == 0);
	close(fd);
	return r->status;
}
