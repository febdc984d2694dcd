/*
 * middleware.c -- app code that runs before and after every handler.
 *
 * A handler file declares hooks with COT_MIDDLEWARE(before, after); they are
 * compiled and reloaded like routes, and published the same way: each file
 * that declares middleware owns one slot holding two bindings, swapped
 * atomically and pinned with the same reference protocol as route slots
 * (router_acquire). Several files may declare middleware; they run in the
 * order of their file names (before hooks forwards, after hooks backwards),
 * so `handlers/00_auth.c` runs before `handlers/10_log.c`.
 *
 * A before hook that produces a response (cot_fail, cot_redirect, ...)
 * stops the request there; returning cot_next(c) lets it go on. After hooks
 * see every response -- success or error, including 404s and crashes -- and
 * may add headers. Hooks run under crash_call like handlers: a crashing
 * hook answers 500 with its trace.
 */
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "ctx.h"
#include "error.h"
#include "middleware.h"
#include "router.h"
#include "trace.h"

#define MIDDLEWARE_MAX 16

typedef struct middleware_slot {
	char *file;
	_Atomic(binding *) before;
	_Atomic(binding *) after;
} middleware_slot;

static middleware_slot middleware_slots[MIDDLEWARE_MAX];
static atomic_int middleware_count;

/* The slot of `file`, created on first use. Reloader thread only (or an
 * export's main, before the server starts). */
int
middleware_slot_for(const char *file)
{
	int n = atomic_load(&middleware_count);
	for (int i = 0; i < n; i++)
		if (strcmp(middleware_slots[i].file, file) == 0)
			return i;
	if (n == MIDDLEWARE_MAX)
		return -1;
	middleware_slots[n].file = strdup(file);
	atomic_store(&middleware_slots[n].before, NULL);
	atomic_store(&middleware_slots[n].after, NULL);
	atomic_store(&middleware_count, n + 1);
	return n;
}

/* Publishes a file's hooks (NULL: none). Reloader thread only (or an
 * export's main, before the server starts). */
void
middleware_bind(int slot, binding *before, binding *after)
{
	atomic_store(&middleware_slots[slot].before, before);
	atomic_store(&middleware_slots[slot].after, after);
}

/* Whether `file` declares (or once declared) middleware: a change to it
 * concerns every page. Reloader thread only. */
bool
middleware_declared(const char *file)
{
	int n = atomic_load(&middleware_count);
	for (int i = 0; i < n; i++)
		if (strcmp(middleware_slots[i].file, file) == 0)
			return true;
	return false;
}

/* Frees the slots; only when no request can run. */
void
middleware_reset(void)
{
	int n = atomic_load(&middleware_count);
	for (int i = 0; i < n; i++) {
		free(middleware_slots[i].file);
		middleware_slots[i].file = NULL;
	}
	atomic_store(&middleware_count, 0);
}

/* Slot indexes in file-name order. */
static int
middleware_order(int *order)
{
	int n = atomic_load(&middleware_count);
	for (int i = 0; i < n; i++) {
		int j = i;
		while (j > 0 &&
		       strcmp(middleware_slots[order[j - 1]].file, middleware_slots[i].file) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	return n;
}

/* Runs one hook with a reference on its code; 1 if it crashed. */
static int
middleware_call(cot_ctx *c, _Atomic(binding *) *slot)
{
	binding *b = router_acquire(slot);
	if (b == NULL)
		return 0;
	int crashed = 0;
	if (b->error != NULL) {
		error_respond_as(c, 500, "compile_error", "middleware failed to compile", b->error);
		crashed = 1;
	} else {
		crash_report rep;
		if (crash_call(c, b, &rep) != 0) {
			trace_respond(c, b, &rep);
			crashed = 1;
		}
	}
	router_release(b);
	return crashed;
}

/* Runs the before hooks; returns 1 when one of them answered the request. */
int
middleware_before(cot_ctx *c)
{
	int order[MIDDLEWARE_MAX];
	int n = middleware_order(order);
	for (int i = 0; i < n; i++)
		if (middleware_call(c, &middleware_slots[order[i]].before) || c->responded)
			return 1;
	return 0;
}

/* Runs the after hooks, last file first. */
void
middleware_after(cot_ctx *c)
{
	int order[MIDDLEWARE_MAX];
	int n = c->abandoned ? 0 : middleware_order(order); /* nothing will be sent */
	for (int i = n - 1; i >= 0; i--)
		middleware_call(c, &middleware_slots[order[i]].after);
}

cot_result
cot_next(cot_ctx *c)
{
	(void)c;
	return (cot_result){0};
}
