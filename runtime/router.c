/*
 * router.c -- route patterns, stable slots, and the reference that keeps a
 * handler's code alive while it runs.
 *
 * The routing table is an array of slots, one per (method, pattern) the app
 * has ever declared. A slot never moves and is never reused for another
 * route: a reload does not rebuild the table, it only stores a new binding
 * pointer into the slots of the routes it changed. Readers therefore need no
 * lock: they follow the chain of slots whose pattern has as many segments as
 * the request path (a slot is linked in with release order only once fully
 * built), match patterns, and load a slot's binding atomically.
 *
 * Reclamation. A binding points at the code_owner of its module. A request
 * that wants to call the code increments the owner's count and then checks
 * that the slot still holds the same binding; only then does it call. The
 * reloader does the mirror image: it first stores the new binding, then
 * looks at the count of the old owner. With sequentially consistent atomics
 * one of the two always sees the other, so code is never freed under a
 * running request, and a request never enters code that was retired before
 * it arrived.
 *
 * The speculative increment may land on a binding that was just retired, so
 * the memory of bindings and owners must outlive every such look: acquiring
 * and releasing happen inside a window counted in router_busy, and the
 * reloader frees a retired owner's structs (router_quiet) only when it sees
 * its count at zero and then no thread inside a window. A thread that read
 * the old binding before it was unbound is still in its window, or holds a
 * reference, or has let go of it; seen in that order with sequentially
 * consistent atomics, none of the three can touch the memory afterwards.
 *
 * Slots are limited to ROUTER_MAX_SLOTS for the life of the process; that is
 * the price of never moving them.
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "router.h"

struct route_slot {
	char method[8];
	char *pattern;
	int nsegs;
	char **segs;          /* ":name" for params */
	int spec;             /* literal segments: the more, the more specific */
	atomic_int next;      /* next slot with as many segments, index + 1; 0: none */
	_Atomic(binding *) b; /* NULL: route switched off */
};

static route_slot router_slots[ROUTER_MAX_SLOTS];
static atomic_int router_nslots;
/* Slots chained by segment count, so a lookup only looks at patterns that
 * can match (index + 1; 0 ends the chain). Append-only, like the slots. */
static atomic_int router_first[ROUTER_MAX_SEGS + 1];
static int router_last[ROUTER_MAX_SEGS + 1]; /* reloader thread only */

void (*router_owner_idle_hook)(code_owner *o);

/* Threads inside router_acquire or router_release (see the top). */
static atomic_long router_busy;

/* ==== patterns ========================================================= */

/* Checks a route pattern; on failure writes why into err. */
int
router_pattern_valid(const char *pattern, char *err, size_t errlen)
{
	if (pattern == NULL || pattern[0] != '/') {
		snprintf(err, errlen, "route pattern \"%s\" must start with '/'",
		         pattern ? pattern : "(null)");
		return 0;
	}
	int nparams = 0, nsegs = 0;
	for (const char *p = pattern; *p; p++) {
		if (*p == '/') {
			nsegs++;
			continue;
		}
		if (*p == ':' && p[-1] == '/') {
			if (!isalnum((unsigned char)p[1]) && p[1] != '_') {
				snprintf(err, errlen,
				         "route pattern \"%s\": parameter without a name", pattern);
				return 0;
			}
			nparams++;
			continue;
		}
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '%') {
			snprintf(err, errlen, "route pattern \"%s\": character '%c' is not allowed",
			         pattern, *p);
			return 0;
		}
	}
	if (nparams > ROUTER_MAX_PARAMS || nsegs > ROUTER_MAX_SEGS) {
		snprintf(err, errlen, "route pattern \"%s\" is too long", pattern);
		return 0;
	}
	return 1;
}

/* Splits a pattern into malloc'd segments; empty segments are dropped. */
static int
router_split_pattern(const char *pattern, char ***out)
{
	char **segs = calloc(ROUTER_MAX_SEGS, sizeof(char *));
	int n = 0;
	const char *p = pattern;
	while (*p && n < ROUTER_MAX_SEGS) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		if (p > start)
			segs[n++] = strndup(start, (size_t)(p - start));
	}
	*out = segs;
	return n;
}

/* Literal segments of a pattern: the more, the more specific. */
static int
router_specificity(const route_slot *s)
{
	int n = 0;
	for (int i = 0; i < s->nsegs; i++)
		n += s->segs[i][0] != ':';
	return n;
}

/* ==== slots (reloader thread only) ===================================== */

/*
 * Returns the slot of (method, pattern), creating it on first use. Only one
 * thread may call this at a time (the reloader holds its lock).
 */
int
router_slot(const char *method, const char *pattern, char *err, size_t errlen)
{
	int n = atomic_load(&router_nslots);
	for (int i = 0; i < n; i++)
		if (strcmp(router_slots[i].method, method) == 0 &&
		    strcmp(router_slots[i].pattern, pattern) == 0)
			return i;
	if (!router_pattern_valid(pattern, err, errlen))
		return -1;
	if (strlen(method) >= sizeof(router_slots[0].method)) {
		snprintf(err, errlen, "unknown method \"%s\"", method);
		return -1;
	}
	if (n == ROUTER_MAX_SLOTS) {
		snprintf(err, errlen, "too many routes (limit %d)", ROUTER_MAX_SLOTS);
		return -1;
	}
	route_slot *s = &router_slots[n];
	strcpy(s->method, method);
	s->pattern = strdup(pattern);
	s->nsegs = router_split_pattern(pattern, &s->segs);
	s->spec = router_specificity(s);
	atomic_store(&s->b, NULL);
	atomic_store(&s->next, 0);
	/* publish: the slot is complete before any chain or count shows it */
	int last = router_last[s->nsegs];
	if (last == 0)
		atomic_store_explicit(&router_first[s->nsegs], n + 1, memory_order_release);
	else
		atomic_store_explicit(&router_slots[last - 1].next, n + 1, memory_order_release);
	router_last[s->nsegs] = n + 1;
	atomic_store_explicit(&router_nslots, n + 1, memory_order_release);
	return n;
}

/* Publishes a binding (or NULL to switch the route off). Reloader only. */
void
router_bind(int slot, binding *b)
{
	assert(slot >= 0 && slot < atomic_load(&router_nslots));
	atomic_store(&router_slots[slot].b, b);
}

binding *
router_binding(int slot)
{
	return atomic_load(&router_slots[slot].b);
}

const char *
router_slot_method(int slot)
{
	return router_slots[slot].method;
}

const char *
router_slot_pattern(int slot)
{
	return router_slots[slot].pattern;
}

int
router_count(void)
{
	return atomic_load_explicit(&router_nslots, memory_order_acquire);
}

/* Frees every slot; only when no request can run (tests, shutdown). */
void
router_reset(void)
{
	int n = atomic_load(&router_nslots);
	for (int i = 0; i < n; i++) {
		route_slot *s = &router_slots[i];
		for (int j = 0; j < s->nsegs; j++)
			free(s->segs[j]);
		free(s->segs);
		free(s->pattern);
		memset(s, 0, sizeof(*s));
	}
	for (int i = 0; i <= ROUTER_MAX_SEGS; i++) {
		atomic_store(&router_first[i], 0);
		router_last[i] = 0;
	}
	atomic_store(&router_nslots, 0);
}

/* ==== request paths ==================================================== */

/*
 * Decodes %XX (and '+' when plus_is_space) in place. Returns the new length,
 * or (size_t)-1 for a malformed escape or an encoded NUL.
 */
size_t
router_percent_decode(char *s, bool plus_is_space)
{
	/* most paths have nothing to decode: find the first byte that needs it */
	char *first = strpbrk(s, plus_is_space ? "%+" : "%");
	if (first == NULL)
		return strlen(s);
	char *o = first;
	for (char *p = first; *p; p++) {
		if (*p == '%') {
			int hi = hex_digit((unsigned char)p[1]);
			int lo = hi < 0 ? -1 : hex_digit((unsigned char)p[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return (size_t)-1;
			*o++ = (char)(hi * 16 + lo);
			p += 2;
		} else if (*p == '+' && plus_is_space) {
			*o++ = ' ';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return (size_t)(o - s);
}

/*
 * Splits a raw (still percent-encoded) path into decoded segments in the
 * arena. Splitting happens before decoding, so "%2F" stays inside its
 * segment. Returns the count, or -1 for a malformed path or too many segments.
 */
int
router_split_path(arena *a, const char *raw, char **segs, int max)
{
	int n = 0;
	const char *p = raw;
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		if (p == start)
			continue;
		if (n == max)
			return -1;
		char *seg = arena_strndup(a, start, (size_t)(p - start));
		if (router_percent_decode(seg, false) == (size_t)-1)
			return -1;
		segs[n++] = seg;
	}
	return n;
}

/* ==== lookup =========================================================== */

static bool
router_match_segs(const route_slot *s, char **segs, int nsegs, route_match *m)
{
	if (s->nsegs != nsegs)
		return false;
	int np = 0;
	for (int i = 0; i < nsegs; i++) {
		if (s->segs[i][0] == ':') {
			m->names[np] = s->segs[i] + 1;
			m->values[np++] = segs[i];
		} else if (strcmp(s->segs[i], segs[i]) != 0) {
			return false;
		}
	}
	m->nparams = np;
	return true;
}

/*
 * Takes a reference on the slot's binding. The count goes up before the
 * second look at the slot: see the comment at the top of the file.
 */
binding *
router_acquire(_Atomic(binding *) *slot)
{
	atomic_fetch_add(&router_busy, 1);
	for (;;) {
		binding *b = atomic_load(slot);
		if (b == NULL || b->owner == NULL) {
			atomic_fetch_sub(&router_busy, 1);
			return b;
		}
		atomic_fetch_add(&b->owner->refs, 1);
		if (atomic_load(slot) == b) {
			atomic_fetch_sub(&router_busy, 1);
			return b;
		}
		router_release(b);
	}
}

/* Drops a reference taken by router_lookup. */
void
router_release(binding *b)
{
	if (b == NULL || b->owner == NULL)
		return;
	atomic_fetch_add(&router_busy, 1);
	code_owner *o = b->owner;
	if (atomic_fetch_sub(&o->refs, 1) == 1 && atomic_load(&o->retired) &&
	    router_owner_idle_hook != NULL)
		router_owner_idle_hook(o);
	atomic_fetch_sub(&router_busy, 1);
}

/*
 * True when the structs of `o` (retired, its code already freed) may be
 * freed: no reference, and no thread between reading a binding and taking
 * or dropping its reference. Reloader thread, after the slots stopped
 * pointing at o's bindings.
 */
bool
router_quiet(code_owner *o)
{
	return atomic_load(&o->retired) && atomic_load(&o->refs) == 0 &&
	       atomic_load(&router_busy) == 0;
}

static void
router_add_allow(route_match *m, const char *method)
{
	if (strstr(m->allow, method) != NULL)
		return;
	size_t len = strlen(m->allow);
	snprintf(m->allow + len, sizeof(m->allow) - len, "%s%s", len ? ", " : "", method);
}

/*
 * Finds the route for a request. On ROUTER_FOUND, m->b holds a reference the
 * caller must router_release. HEAD is served by GET routes. When several
 * patterns match, the most literal one wins, whatever the order they were
 * declared in: /notes/new beats /notes/:id.
 */
enum router_result
router_lookup(const char *method, char **segs, int nsegs, route_match *m)
{
	int best = -1, best_spec = -1;
	bool head = strcmp(method, "HEAD") == 0;
	m->allow[0] = '\0';
	if (nsegs > ROUTER_MAX_SEGS)
		return ROUTER_NOT_FOUND;
	for (int i = atomic_load_explicit(&router_first[nsegs], memory_order_acquire) - 1; i >= 0;
	     i = atomic_load_explicit(&router_slots[i].next, memory_order_acquire) - 1) {
		route_slot *s = &router_slots[i];
		if (atomic_load_explicit(&s->b, memory_order_relaxed) == NULL)
			continue;
		if (!router_match_segs(s, segs, nsegs, m))
			continue;
		if (strcmp(s->method, method) != 0 && !(head && strcmp(s->method, "GET") == 0)) {
			router_add_allow(m, s->method);
			continue;
		}
		if (s->spec > best_spec) {
			best = i;
			best_spec = s->spec;
		}
	}
	if (best >= 0) {
		route_slot *s = &router_slots[best];
		binding *b = router_acquire(&s->b);
		if (b != NULL) {
			router_match_segs(s, segs, nsegs, m); /* its parameters */
			m->slot = s;
			m->b = b;
			return ROUTER_FOUND;
		}
	}
	if (m->allow[0] != '\0') {
		if (strstr(m->allow, "GET") != NULL)
			router_add_allow(m, "HEAD");
		return ROUTER_BAD_METHOD;
	}
	return ROUTER_NOT_FOUND;
}
