/*
 * console_internal.h -- what the files of the dev console share: console.c
 * (paths under /_cot/, security, replies), console_routes.c (routes, 404
 * suggestions), console_requests.c (the request inspector),
 * console_replay.c (replay-on-save), console_db.c (the database page) and
 * console_editor.c (open-in-editor links). Development only.
 */
#ifndef COT_CONSOLE_INTERNAL_H
#define COT_CONSOLE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "../include/cot.h"
#include "console.h"

/* ==== replies (console.c) ============================================== */

/* A response for the console: `body` (malloc'd, taken) with `type`; the
 * status goes to c->status, which server_response.c queues. */
struct MHD_Response *console_reply(cot_ctx *c, int status, const char *type, char *body,
                                   size_t len);
/* `j` as compact JSON (the reference is taken). */
struct MHD_Response *console_json(cot_ctx *c, int status, json_t *j);
/* {"error": msg} with status. */
struct MHD_Response *console_fail(cot_ctx *c, int status, const char *msg);
/* A query-string argument of the request, or NULL. */
const char *console_arg(cot_ctx *c, const char *name);
/* Inserts `add` before the last </body> of c's HTML body (or at the end). */
void console_insert_html(cot_ctx *c, const char *add);
/* Whether a state-changing console request came from a console page: it
 * must carry X-Cot-Console (a plain form or link cannot set it). */
bool console_from_page(cot_ctx *c);

/* ==== routes (console_routes.c) ======================================== */

/* [{method, pattern, file, line, function, error, href}] (new reference). */
json_t *console_routes_json(void);
/* The routes as text, one a line, for non-browser clients of /_cot/routes. */
char *console_routes_text(size_t *len);
/* A dev 404 for a path no route matches: adds the nearest routes to it. */
void console_routes_not_found(cot_ctx *c);

/* ==== request inspector (console_requests.c) =========================== */

/* on: record requests and install db_statement_hook; off: record nothing. */
void console_requests_init(bool on);
void console_requests_shutdown(void);
bool console_requests_recording(void);
void console_requests_begin(cot_ctx *c);
void console_requests_finish(cot_ctx *c);
/* GET /_cot/api/requests[/ID]. */
struct MHD_Response *console_requests_api(cot_ctx *c, const char *rest);
/* For replay: the method, path, headers and body of the last request
 * served by a route of `file` (malloc'd copies in *out), 0; -1 if none. */
typedef struct console_request_copy {
	char *method, *path, *headers, *body; /* headers: "Name: value\n" lines */
	size_t body_len;
	char id[33];
	int status;
	int route_line; /* line of its route in the file */
	bool spawned;   /* it called cot_spawn */
	char *resp_headers, *resp_body;
	size_t resp_body_len;
} console_request_copy;
int console_requests_last_for(const char *file, console_request_copy *out);
/* The same for the entry with request id `id`. */
int console_requests_copy_of(const char *id, console_request_copy *out);
void console_request_copy_free(console_request_copy *r);
/* The latest replay outcome ({} if none yet; new reference), for the
 * overlay of a page that reloaded before the outcome was broadcast. */
json_t *console_requests_last_replay(void);
/* Attaches a replay's outcome to the entry `id` and tells the browsers. */
void console_requests_replayed(const char *id, json_t *replay);

/* ==== replay (console_replay.c) ======================================== */

void console_replay_init(console_replay_mode mode);
void console_replay_start(int port);
void console_replay_shutdown(void);
/* A handler file reloaded: replay the last request to one of its routes. */
void console_replay_on_reload(const char *file);
/* Whether c is a replay (X-Cot-Replay carries this run's secret). */
bool console_replay_is_replay(cot_ctx *c);

/* ==== database (console_db.c) ========================================== */

/* The database the page reads and applies to (app.db or --db). */
void console_db_init(const char *path);
/* GET /_cot/api/db[/TABLE], POST /_cot/api/db/apply. */
struct MHD_Response *console_db_api(cot_ctx *c, const char *rest);

/* ==== editor links (console_editor.c) ================================== */

/* The link that opens file:line in the developer's editor (new string, or
 * NULL when no editor is configured and nothing can be opened). */
char *console_editor_href(const char *file, int line);
/* POST /_cot/api/open?file=F&line=N: runs the configured editor command. */
struct MHD_Response *console_editor_open(cot_ctx *c);
/* {"mode": ..., "editor": ...} for the pages. */
json_t *console_editor_json(void);

#endif
