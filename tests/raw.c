/*
 * raw.c -- HTTP/1.1 over a plain TCP socket for the tests; see raw.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "raw.h"

/* Kept here, not taken from the harness, so raw.c links without it. */
static double
raw_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
raw_connect(int port, const char *from)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (from != NULL) {
		struct sockaddr_in src = {.sin_family = AF_INET};
		inet_pton(AF_INET, from, &src.sin_addr);
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
			close(fd);
			return -1;
		}
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
raw_free_port(const char *ip)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int port = -1;
	if (fd < 0)
		return -1;
	if (inet_pton(AF_INET, ip, &a.sin_addr) == 1 &&
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int
raw_send(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

long
raw_read_all(int fd, char *buf, size_t cap, double timeout_ms)
{
	size_t got = 0;
	double end = raw_now_ms() + timeout_ms;
	while (raw_now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		char tmp[4096];
		ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf[got < cap ? got : cap - 1] = '\0';
			return n < 0 && got == 0 ? -1 : (long)got;
		}
		/* past cap the bytes are read and dropped: the close still counts */
		size_t room = got < cap - 1 ? cap - 1 - got : 0;
		memcpy(buf + got, tmp, (size_t)n < room ? (size_t)n : room);
		got += (size_t)n < room ? (size_t)n : room;
	}
	buf[got] = '\0';
	return (long)got;
}

int
raw_status(int fd, double timeout_ms)
{
	char buf[512];
	size_t got = 0;
	double end = raw_now_ms() + timeout_ms;
	while (got < 12 && raw_now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, (int)(end - raw_now_ms()) + 1) <= 0)
			continue;
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got >= 12 && strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : 0;
}

size_t
raw_response_len(const char *buf, size_t len)
{
	const char *eoh = memmem(buf, len, "\r\n\r\n", 4);
	if (eoh == NULL)
		return 0;
	size_t head = (size_t)(eoh + 4 - buf), body = 0;
	static const char cl[] = "\r\nContent-Length:";
	for (const char *p = buf; p < eoh; p++)
		if (strncasecmp(p, cl, sizeof(cl) - 1) == 0) {
			body = strtoul(p + sizeof(cl) - 1, NULL, 10);
			break;
		}
	return len >= head + body ? head + body : 0;
}

int
raw_read_response(int fd, char *buf, size_t cap, double timeout_ms)
{
	size_t got = 0;
	double end = raw_now_ms() + timeout_ms;
	buf[0] = '\0';
	while (raw_now_ms() < end && got < cap - 1) {
		if (raw_response_len(buf, got) > 0)
			return strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : 0;
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n <= 0)
			return 0;
		got += (size_t)n;
		buf[got] = '\0';
	}
	return 0;
}

int
raw_get(int port, const char *from, const char *path, double timeout_ms)
{
	int fd = raw_connect(port, from);
	if (fd < 0)
		return 0;
	char req[1024], buf[2048];
	int n = snprintf(req, sizeof(req),
	                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	int st = 0;
	if (n > 0 && (size_t)n < sizeof(req) && raw_send(fd, req, (size_t)n) == 0 &&
	    raw_read_all(fd, buf, sizeof(buf), timeout_ms) > 12 &&
	    strncmp(buf, "HTTP/1.1 ", 9) == 0)
		st = atoi(buf + 9);
	close(fd);
	return st;
}

bool
raw_closed(void *fd)
{
	char c;
	ssize_t n = recv(*(int *)fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}
