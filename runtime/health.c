/*
 * health.c -- GET /_cot/health, the endpoint a load balancer polls.
 *
 * 200 {"status":"ok","db":"ok"} when this process serves and its database
 * answers a query on the calling worker's own connection (the connection a
 * request on this thread would use, so a lost PostgreSQL connection shows
 * here first); 503 {"status":"draining"} once SIGTERM started the drain,
 * so the balancer stops sending new requests before the process goes; 503
 * {"status":"unavailable","db":"error"} when the database does not answer.
 * The driver's message (a host, a user, a socket path) goes to stderr, at
 * most every HEALTH_LOG_EVERY_MS while the failure lasts, and into the body
 * only on the dev server: anyone can poll this path.
 *
 * The path lives under /_cot/, the framework's own prefix, so it can never
 * shadow an app route. It is answered in the export and in the dev server,
 * before routing and the app's before-middleware (an auth check must not
 * hide a healthy node), but the response passes the usual after-steps.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "db.h"
#include "error.h"
#include "health.h"
#include "monotonic.h"

#define HEALTH_LOG_EVERY_MS 10000.0

bool
health_is_path(const char *method, const char *url)
{
	return strcmp(url, HEALTH_PATH) == 0 &&
	       (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
}

/* The body; its strings are JSON-safe by construction except the error,
 * which goes through jansson. */
static void
health_set(cot_ctx *c, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	c->status = status;
	c->content_type = "application/json";
	c->resp_body = arena_strdup(&c->mem, text ? text : "{}");
	c->resp_len = strlen(c->resp_body);
	c->responded = true;
	free(text);
	cot_set_header(c, "Cache-Control", "no-store");
}

void
health_respond(cot_ctx *c, bool draining)
{
	char err[256];
	c->path = c->raw_url;
	if (draining) {
		health_set(c, 503, json_pack("{s:s}", "status", "draining"));
		return;
	}
	if (db_ping(err, sizeof(err)) != 0) {
		static _Atomic double logged_ms = -HEALTH_LOG_EVERY_MS;
		double now = monotonic_ms(), last = atomic_load(&logged_ms);
		if (now - last >= HEALTH_LOG_EVERY_MS &&
		    atomic_compare_exchange_strong(&logged_ms, &last, now))
			fprintf(stderr, "cot: %s: the database does not answer: %s\n", HEALTH_PATH,
			        err);
		health_set(c, 503,
		           json_pack("{s:s,s:s}", "status", "unavailable", "db",
		                     error_dev_mode ? err : "error"));
		return;
	}
	health_set(c, 200, json_pack("{s:s,s:s}", "status", "ok", "db", "ok"));
}
