/*
 * livereload.h -- the dev server's browser side: Server-Sent Events on
 * /_cot/events, the script injected into HTML pages (/_cot/live.js) and the
 * error overlay it draws. Development only: exported binaries do not link
 * livereload.c, so none of this exists in production.
 */
#ifndef COT_LIVERELOAD_H
#define COT_LIVERELOAD_H

#include "../include/cot.h"

/*
 * A reload outcome from the reloader (its lock held, any thread): queues the
 * matching browser event for every open page and wakes their connections.
 */
void livereload_on_event(const char *event, const char *file, const char *error);

/* Queues an event (data: one line of JSON) for every open page. */
void livereload_send(const char *event, const char *json);

/* server_config.dev_special: answers /_cot/live.js, /_cot/events, /_cot/routes. */
struct MHD_Response *livereload_special(cot_ctx *c);

/* Part of server_config.dev_begin: marks a page's own live-reload refetch
 * (c->live_fetch), which logs and the request inspector leave out. */
void livereload_begin(cot_ctx *c);

/* server_config.dev_finish: injects the script into HTML, reports 5xx failures. */
void livereload_finish(cot_ctx *c);

/*
 * Ends every event stream and stops the heartbeat thread. Call before
 * server_stop: MHD must not be stopped while connections are suspended.
 */
void livereload_shutdown(void);

#endif
