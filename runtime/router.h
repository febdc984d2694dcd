/*
 * router.h -- the route table (router.c): slots, the bindings published
 * into them, lookups, and when a generation of handler code may be freed.
 */
#ifndef COT_ROUTER_H
#define COT_ROUTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../include/cot.h"
#include "arena.h"

/*
 * The owner of handler code (a dev-server module). Requests hold a reference
 * while they run its code; `retired` is set once no slot points at it any
 * more. The code is freed when both hold: retired and refs == 0.
 */
typedef struct code_owner {
	atomic_long refs;
	atomic_bool retired;
} code_owner;

/*
 * What a route slot points at: one generation of one route. Immutable once
 * published. A binding with `error` set answers with that error instead of
 * calling code (its file failed to compile).
 */
typedef struct binding {
	cot_handler fn;
	code_owner *owner; /* NULL: code that is never unloaded (export) */
	const char *file;  /* "handlers/notes.c" */
	int line;          /* line of the route in the file */
	const char *error; /* non-NULL: compile error text, fn is NULL */
	void *debug;       /* line table of the code (dev: tcclines), or NULL */
	bool offload;      /* runs on the handler pool (--offload auto): its file
	                    * hashes passwords or says COT_OFFLOAD (server_pool.c) */
} binding;

/* Called when a retired owner's last reference goes (any thread). */
extern void (*router_owner_idle_hook)(code_owner *o);

#define ROUTER_MAX_SLOTS  4096
#define ROUTER_MAX_PARAMS 16
#define ROUTER_MAX_SEGS   64

typedef struct route_slot route_slot;

typedef struct route_match {
	route_slot *slot;
	binding *b; /* reference held; router_release it */
	int nparams;
	const char *names[ROUTER_MAX_PARAMS];
	const char *values[ROUTER_MAX_PARAMS];
	char allow[64]; /* for 405: methods the path allows */
} route_match;

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

int router_slot(const char *method, const char *pattern, char *err, size_t errlen);
void router_bind(int slot, binding *b);
binding *router_binding(int slot);
const char *router_slot_method(int slot);
const char *router_slot_pattern(int slot);
int router_count(void);
int router_pattern_valid(const char *pattern, char *err, size_t errlen);
enum router_result router_lookup(const char *method, char **segs, int nsegs, route_match *m);
binding *router_acquire(_Atomic(binding *) *slot);
void router_release(binding *b);
bool router_quiet(code_owner *o);
int router_split_path(arena *a, const char *raw, char **segs, int max);
size_t router_percent_decode(char *s, bool plus_is_space);
void router_reset(void);

#endif /* COT_ROUTER_H */
