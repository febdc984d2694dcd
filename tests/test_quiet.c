/*
 * test_quiet.c -- retired modules' structs (bindings, owner) are freed while
 * requests keep looking up routes (runtime/router.c: router_quiet).
 *
 * The reloader used to keep every module struct for the life of the server
 * (a few hundred bytes per route per reload) because a request may hold a
 * stale binding pointer for a few instructions. Now it frees a struct once
 * router_quiet says no thread can still be looking at it. Here reader
 * threads do what a request does (router_lookup, read the binding, release)
 * while the writer swaps generations and frees -- poisons, then free() --
 * every struct router_quiet allows. A struct freed too early is a
 * heap-use-after-free that AddressSanitizer reports (non-zero exit), or a
 * poisoned binding a reader sees.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "t.h"

#define READERS     3
#define GENERATIONS 20000

typedef struct fake_module {
	code_owner owner; /* first: a binding's owner is the module */
	binding b;
	int gen;
	struct fake_module *next; /* retired, not yet freed */
} fake_module;

static int slot;
static atomic_bool stop;

static cot_result
fake_fn(cot_ctx *c)
{
	(void)c;
	cot_result r = {200};
	return r;
}

static fake_module *
module_make(int gen)
{
	fake_module *m = calloc(1, sizeof(*m));
	atomic_init(&m->owner.refs, 0);
	atomic_init(&m->owner.retired, false);
	m->gen = gen;
	m->b = (binding){.fn = fake_fn, .owner = &m->owner, .file = "handlers/fake.c", .line = gen};
	return m;
}

typedef struct reader {
	pthread_t thread;
	long calls, bad;
} reader;

static void *
reader_main(void *arg)
{
	reader *r = arg;
	char *path[1] = {"q"};
	while (!atomic_load(&stop)) {
		route_match m;
		memset(&m, 0, sizeof(m));
		if (router_lookup("GET", path, 1, &m) != ROUTER_FOUND)
			continue;
		fake_module *fm = (fake_module *)m.b->owner;
		if (m.b->fn != fake_fn || m.b->line != fm->gen)
			r->bad++; /* a poisoned (freed) binding */
		r->calls++;
		router_release(m.b);
	}
	return NULL;
}

/* Frees every retired module router_quiet allows; returns how many. */
static int
sweep(fake_module **retired)
{
	int freed = 0;
	for (fake_module **pm = retired; *pm != NULL;) {
		fake_module *m = *pm;
		if (router_quiet(&m->owner)) {
			*pm = m->next;
			memset(m, 0xdd, sizeof(*m));
			free(m);
			freed++;
			continue;
		}
		pm = &m->next;
	}
	return freed;
}

int
main(void)
{
	char err[256];
	slot = router_slot("GET", "/q", err, sizeof(err));
	T_CHECK("a slot", slot >= 0);

	/* the rules, one at a time */
	fake_module *a = module_make(1), *b = module_make(2);
	router_bind(slot, &a->b);
	route_match m;
	memset(&m, 0, sizeof(m));
	char *path[1] = {"q"};
	T_CHECK("lookup holds a reference", router_lookup("GET", path, 1, &m) == ROUTER_FOUND);
	router_bind(slot, &b->b);
	T_CHECK("not retired: not quiet", !router_quiet(&a->owner));
	atomic_store(&a->owner.retired, true);
	T_CHECK("retired but referenced: not quiet", !router_quiet(&a->owner));
	router_release(m.b);
	T_CHECK("retired, unreferenced, nobody looking: quiet", router_quiet(&a->owner));
	free(a);

	/* under load */
	reader rd[READERS];
	memset(rd, 0, sizeof(rd));
	for (int i = 0; i < READERS; i++)
		pthread_create(&rd[i].thread, NULL, reader_main, &rd[i]);
	fake_module *cur = b, *retired = NULL;
	long freed = 0;
	for (int g = 3; g < GENERATIONS; g++) {
		fake_module *next = module_make(g);
		router_bind(slot, &next->b);
		atomic_store(&cur->owner.retired, true);
		cur->next = retired;
		retired = cur;
		cur = next;
		freed += sweep(&retired);
	}
	atomic_store(&stop, true);
	long calls = 0, bad = 0;
	for (int i = 0; i < READERS; i++) {
		pthread_join(rd[i].thread, NULL);
		calls += rd[i].calls;
		bad += rd[i].bad;
	}
	freed += sweep(&retired);
	char name[200];
	snprintf(name, sizeof(name),
	         "%d readers, %d swaps: no reader saw a freed binding "
	         "(%ld lookups)",
	         READERS, GENERATIONS - 3, calls);
	T_CHECK(name, bad == 0 && calls > 0);
	snprintf(name, sizeof(name), "every retired struct was freed (%ld of %d)", freed,
	         GENERATIONS - 3);
	T_CHECK(name, freed == GENERATIONS - 3 && retired == NULL);
	router_bind(slot, NULL);
	free(cur);
	router_reset();
	return T_DONE();
}
