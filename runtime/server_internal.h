/*
 * server_internal.h -- what the server's files share, and nothing outside
 * them sees: the running server's state and the steps one file hands to the
 * next. The server is one libmicrohttpd setup split by concern:
 *
 *   server.c            start and stop: socket, daemons, defaults
 *   server_drain.c      SIGTERM: stop accepting, wait for the requests in flight
 *   server_access.c     the libmicrohttpd callbacks: a request's life, head to completion
 *   server_request_id.c X-Request-Id: taken from the client or made
 *   server_dispatch.c   path to handler: limits, /static/, routing, the call
 *   server_response.c   the after-steps and the one MHD response every answer becomes
 *   server_pool.c       routes that block run on the handler pool (pool.c)
 *   server_stuck.c      the watchdog's hook: a stuck handler's worker is replaced
 *
 * The rest of the runtime and the two mains use the server through
 * server.h (server_config, server_start, ...); struct server stays here so
 * that only these files can touch its fields.
 */
#ifndef COT_SERVER_INTERNAL_H
#define COT_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "router.h"
#include "server.h"

/* The first daemon and the one-thread daemons that replace abandoned
 * workers (see server_stuck.c); past this many, the process is beyond
 * repair and says so. */
#define SERVER_MAX_DAEMONS 33

struct server {
	server_config cfg;
	struct MHD_Daemon *mhd[SERVER_MAX_DAEMONS];
	atomic_int ndaemons;
	pthread_mutex_t replace_lock; /* ndaemons grows under it; draining set under it */
	bool draining;
	int connection_limit;
	int fd;
	int port;
	int static_fd;           /* static/ opened O_PATH, or -1 */
	atomic_long in_flight;   /* requests between first call and completion */
	atomic_int pool_orphans; /* abandoned pooled calls not back: no connection */
	atomic_bool closing;     /* SIGTERM: answer with Connection: close */
};

/* The running server, for the watchdog's abandon hook and pool threads,
 * which get no server pointer of their own (server.c sets it). */
extern server *server_current;

/* server.c: one MHD daemon with `threads` workers on s's listening socket. */
struct MHD_Daemon *server_daemon(server *s, int threads);

/* server_access.c: the callbacks server_daemon registers, and a context
 * from the thread's spare. */
enum MHD_Result server_access(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls);
void server_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe);
size_t server_unescape(void *cls, struct MHD_Connection *conn, char *uri);
void *server_uri_log(void *cls, const char *uri, struct MHD_Connection *conn);
cot_ctx *server_ctx_new(void);

/* server_request_id.c: accepts a safe incoming X-Request-Id, else makes one. */
void server_request_id(cot_ctx *c);

/* server_dispatch.c: routes c and answers it, or returns true when its
 * handler is to run on the handler pool; server_route runs the app's part
 * (csrf, before-middleware, handler) on whichever thread calls it. */
bool server_dispatch(server *s, cot_ctx *c);
void server_route(cot_ctx *c);

/* server_response.c: the after-steps, and the response queued on MHD. */
void server_after(server *s, cot_ctx *c);
enum MHD_Result server_send(server *s, cot_ctx *c);
int server_special(server *s, cot_ctx *c, enum MHD_Result *ret);

/* server_pool.c: hands c to the pool (-1: full), answers the full pool's
 * 503, and answers a resumed connection whose pooled call is stuck. */
int server_offload(cot_ctx *c);
void server_pool_full(server *s, cot_ctx *c);
enum MHD_Result server_pool_abandoned(server *s, struct MHD_Connection *conn, const char *method,
                                      const char *url, void **con_cls);

/* server_stuck.c: crash_abandon_hook, on the watchdog thread. */
void server_abandon(cot_ctx *c, const binding *b, pid_t tid, int budget_ms);

#endif /* COT_SERVER_INTERNAL_H */
