/*
 * raw.h -- HTTP/1.1 over a plain TCP socket to a server on 127.0.0.1, for
 * the tests that need what a client library hides: a request sent in
 * pieces or never finished, a connection held idle, a close seen as it
 * happens, a response read byte for byte (tests/raw.c).
 *
 * No libcurl, no harness: a test that only speaks raw HTTP links raw.c
 * alone. Every read takes a deadline in milliseconds and polls; none blocks
 * past it.
 */
#ifndef COT_TEST_RAW_H
#define COT_TEST_RAW_H

#include <stdbool.h>
#include <stddef.h>

/* A TCP connection to 127.0.0.1:port from source address `from` (NULL:
 * any); -1 if it could not be made. Close-on-exec. */
int raw_connect(int port, const char *from);

/* A port nothing listens on now on address ip (bind to 0, read it, close);
 * -1 if ip cannot be bound. */
int raw_free_port(const char *ip);

/* Sends all n bytes (no SIGPIPE): 0, or -1 once the peer refuses them. */
int raw_send(int fd, const void *p, size_t n);

/*
 * Reads until the peer closes or timeout_ms passes; the bytes go to buf
 * (NUL-terminated, truncated to cap). Returns the count, -1 on a reset
 * before any byte.
 */
long raw_read_all(int fd, char *buf, size_t cap, double timeout_ms);

/* The status of the answer on fd once its status line is in, within
 * timeout_ms; 0 if none came. Reads no more than the status line needs. */
int raw_status(int fd, double timeout_ms);

/* Length of the first whole response in buf (head and Content-Length
 * body), 0 while it is incomplete. */
size_t raw_response_len(const char *buf, size_t len);

/* Reads exactly one response (raw_response_len) into buf, leaving the
 * connection open for the next: its status, 0 if none came in time. */
int raw_read_response(int fd, char *buf, size_t cap, double timeout_ms);

/* GET path on a fresh connection from `from` (NULL: any), Connection:
 * close, read to the close: the status, 0 if none. */
int raw_get(int port, const char *from, const char *path, double timeout_ms);

/* True when the peer has closed *(int *)fd (EOF or reset) -- polled, not
 * waited for: h_wait_for(raw_closed, &fd, ms). */
bool raw_closed(void *fd);

#endif
