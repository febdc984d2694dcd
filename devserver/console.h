/*
 * console.h -- the dev console at /_cot/ (routes, request inspector,
 * replay-on-save, database, open-in-editor), as main.c wires it into
 * `cotdev run`. Development only: the export links none of it, so none of
 * /_cot/ answers there. See console.c for who may see it.
 */
#ifndef COT_CONSOLE_H
#define COT_CONSOLE_H

#include <stdbool.h>

#include "../include/cot.h"

/* Which requests are replayed after their handler file reloads. */
typedef enum {
	CONSOLE_REPLAY_OFF, /* none */
	CONSOLE_REPLAY_GET, /* GET and HEAD (the default), and routes marked @replay */
	CONSOLE_REPLAY_ALL, /* every method, unless marked @noreplay */
} console_replay_mode;

typedef struct console_options {
	const char *host;     /* --host: loopback or not decides the token */
	const char *db_path;  /* the app's database (app.db, or --db) */
	bool inspector;       /* record requests (--no-inspector: off) */
	bool log_to_terminal; /* text access log on a tty: ids become links */
	console_replay_mode replay;
} console_options;

/* Before the server starts. */
void console_init(const console_options *o);
/* Once it listens: prints the console's URL (and token) and arms replay. */
void console_started(const char *host, int port);
/* server_config hooks. */
struct MHD_Response *console_special(cot_ctx *c);
void console_begin(cot_ctx *c);
void console_finish(cot_ctx *c);
/* A reloader event (its lock held): a handler reload queues a replay. */
void console_on_event(const char *event, const char *file);
/* After livereload_shutdown, before server_stop. */
void console_shutdown(void);

#endif
