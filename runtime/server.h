/*
 * server.h -- the HTTP server (server.c, server_drain.c): its
 * configuration, start, drain and stop, used by cotdev run and the exported
 * binary's main. What only the server's files share is server_internal.h.
 */
#ifndef COT_SERVER_H
#define COT_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "../include/cot.h"

struct MHD_Response;

typedef struct server_config {
	const char *host;
	int port;                /* 0: any free port */
	int threads;             /* 0: one per core */
	bool dev;                /* development: traces in responses */
	bool reuse_port;         /* SO_REUSEPORT: several processes, one port */
	bool quiet;              /* no access-log line per request */
	const char *access_log;  /* file for access lines (NULL: stdout) */
	int log_format;          /* ACCESSLOG_TEXT or ACCESSLOG_JSON */
	const char *static_dir;  /* served at /static/ (NULL: none) */
	const char *cors_origin; /* Access-Control-Allow-Origin (NULL: no CORS) */
	size_t max_body;         /* bytes; 0: default 10 MB */
	/* Host names answered (hostallow.c), comma-separated; NULL: any. Other
	 * names get 421. allow_any_ip: IP literals too (bound to 0.0.0.0). */
	const char *allowed_hosts;
	bool allow_any_ip;
	int idle_timeout_s; /* close a connection silent this long; 0: 30 */
	/* flags.c: the flags both servers share (see flags_usage) */
	int timeout_ms;          /* handler budget (crash_init); 0: none */
	int drain_timeout_ms;    /* SIGTERM: wait this long for requests */
	int drain_delay_ms;      /* SIGTERM: answer open connections this long first */
	int head_timeout_s;      /* a request head must arrive within; 0: 10 */
	int keepalive_timeout_s; /* an answered connection may idle; 0: 75 */
	int max_connections;     /* 0: derived from the descriptor limit */
	int max_per_ip;          /* 0: no per-address limit */
	size_t max_body_memory;  /* bodies in memory, all requests; 0: 64 MB */
	/* The handler pool (pool.c): which routes run there (SERVER_OFFLOAD_*),
	 * its threads and queue; 0: the defaults */
	int offload;
	int pool_threads;
	int pool_queue;
	/* A socket from server_bind, taken over by server_start (which listens
	 * on it; server_stop closes it); when false, server_start binds one. */
	bool has_bound_fd;
	int bound_fd;
	/* Called before every request is routed (dev: take pending reloads). */
	void (*before_route)(void);
	/*
	 * Dev only: answers paths under /_cot/ itself. Returns a response to
	 * queue (the server destroys it after queueing) or NULL for 404; the
	 * status is c->status when set, else 200. The
	 * connection allows MHD_suspend_connection (MHD_ALLOW_SUSPEND_RESUME).
	 */
	struct MHD_Response *(*dev_special)(cot_ctx *c);
	/* Dev only: sees every response (success or error) before it is sent;
	 * may replace c->resp_body/resp_len (e.g. inject a script into HTML). */
	void (*dev_finish)(cot_ctx *c);
	/* Dev only: sees every routed request before its handler runs (the
	 * console starts its capture, marks replays). */
	void (*dev_begin)(cot_ctx *c);
} server_config;

/* --offload: auto (routes whose file hashes passwords or says
 * COT_OFFLOAD), all, none. Stored by flags.c as the choice's index. */
enum { SERVER_OFFLOAD_AUTO, SERVER_OFFLOAD_ALL, SERVER_OFFLOAD_NONE };

typedef struct server server;

int server_bind(const server_config *cfg, char *err, size_t errlen);
server *server_start(const server_config *cfg, char *err, size_t errlen);
int server_parse_size(const char *s, size_t *out);
int server_port(const server *s);
int server_wait_stop(const sigset_t *stop);
void server_drain_delay(server *s, int delay_ms);
long server_drain(server *s, int timeout_ms, const sigset_t *interrupt);
int server_stop(server *s, int timeout_ms);

#endif /* COT_SERVER_H */
