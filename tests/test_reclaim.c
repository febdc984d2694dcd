/*
 * test_reclaim.c -- the router's reference protocol for handler code, under
 * stress (runtime/router.c: router_lookup / router_release / the idle hook).
 *
 * A fake module owns "code": a malloc'd buffer filled with its generation's
 * tag. Reader threads do what a request does -- router_lookup, "run" the
 * code (read every byte and check the tag), router_release -- while the
 * writer does what the reloader does: bind a new generation into the slots,
 * mark the old owner retired, and reclaim it once its count is zero, by
 * poisoning and freeing the buffer. Reclamation also happens from the idle
 * hook, on whichever reader thread drops the last reference.
 *
 * If the protocol ever let a reader run code that was reclaimed, the reader
 * would either see the poison (a failed check) or read freed memory, which
 * AddressSanitizer reports and turns into a non-zero exit.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "t.h"

#define CODE_SIZE   256
#define NSLOTS      2
#define READERS     4
#define GENERATIONS 20000
#define POISON      0xdd

typedef struct fake_module {
	code_owner owner; /* first: a binding's owner is the module */
	int gen;
	unsigned char tag;
	unsigned char *code; /* "the module's code": freed on reclaim */
	atomic_bool reclaimed;
	binding b[NSLOTS];
} fake_module;

static fake_module *modules[GENERATIONS + 16];
static atomic_int nmodules;
static int slots[NSLOTS];
static atomic_long hook_calls, reclaims;
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
	atomic_init(&m->reclaimed, false);
	m->gen = gen;
	m->tag = (unsigned char)(gen % 200 + 1); /* never the poison */
	m->code = malloc(CODE_SIZE);
	memset(m->code, m->tag, CODE_SIZE);
	for (int i = 0; i < NSLOTS; i++)
		m->b[i] = (binding){.fn = fake_fn,
		                    .owner = &m->owner,
		                    .file = "handlers/fake.c",
		                    .line = i + 1};
	modules[atomic_fetch_add(&nmodules, 1)] = m;
	return m;
}

/* Frees a retired module's code once nobody holds it; exactly once. */
static void
module_try_reclaim(fake_module *m)
{
	if (!atomic_load(&m->owner.retired) || atomic_load(&m->owner.refs) != 0)
		return;
	if (atomic_exchange(&m->reclaimed, true))
		return;
	memset(m->code, POISON, CODE_SIZE);
	free(m->code);
	atomic_fetch_add(&reclaims, 1);
}

/* router_owner_idle_hook: runs on the thread that dropped the last reference. */
static void
idle_hook(code_owner *o)
{
	atomic_fetch_add(&hook_calls, 1);
	module_try_reclaim((fake_module *)o);
}

/* Publishes m in every slot, then retires and tries to reclaim `old`. */
static void
module_swap(fake_module *old, fake_module *m)
{
	for (int i = 0; i < NSLOTS; i++)
		router_bind(slots[i], &m->b[i]);
	if (old != NULL) {
		atomic_store(&old->owner.retired, true);
		module_try_reclaim(old);
	}
}

/* ==== readers ========================================================== */

typedef struct reader_stats {
	pthread_t thread;
	int index;
	long calls, not_found, bad_code, went_back;
} reader_stats;

static void *
reader_main(void *arg)
{
	reader_stats *st = arg;
	static char *paths[NSLOTS][1] = {{"r0"}, {"r1"}};
	int last_gen[NSLOTS] = {-1, -1};
	long i = st->index;
	while (!atomic_load(&stop)) {
		int k = (int)(i++ % NSLOTS);
		route_match m;
		memset(&m, 0, sizeof(m));
		if (router_lookup("GET", paths[k], 1, &m) != ROUTER_FOUND) {
			st->not_found++;
			continue;
		}
		fake_module *fm = (fake_module *)m.b->owner;
		/* "run" the module's code: every byte must be its tag */
		unsigned sum = 0;
		for (int j = 0; j < CODE_SIZE; j++)
			sum += fm->code[j] == fm->tag;
		if (sum != CODE_SIZE || atomic_load(&fm->reclaimed))
			st->bad_code++;
		if (fm->gen < last_gen[k])
			st->went_back++;
		last_gen[k] = fm->gen;
		st->calls++;
		router_release(m.b);
	}
	return NULL;
}

/* ==== tests ============================================================ */

/* One reader holds a reference across many swaps; its code must survive. */
static void
test_held_across_swaps(void)
{
	fake_module *first = module_make(0);
	module_swap(NULL, first);
	route_match m;
	memset(&m, 0, sizeof(m));
	char *path[1] = {"r0"};
	T_CHECK("lookup takes a reference", router_lookup("GET", path, 1, &m) == ROUTER_FOUND &&
	                                            atomic_load(&first->owner.refs) == 1);
	fake_module *prev = first;
	for (int g = 1; g <= 10; g++) {
		fake_module *next = module_make(g);
		module_swap(prev, next);
		prev = next;
	}
	T_CHECK("a held, retired module is not reclaimed", !atomic_load(&first->reclaimed));
	T_CHECK("... its code is intact",
	        first->code[0] == first->tag && first->code[CODE_SIZE - 1] == first->tag);
	T_CHECK("unheld retired generations were reclaimed at once", atomic_load(&reclaims) == 9);
	long hooks = atomic_load(&hook_calls);
	router_release(m.b);
	T_CHECK("the last release calls the idle hook", atomic_load(&hook_calls) == hooks + 1);
	T_CHECK("... which reclaims the module", atomic_load(&first->reclaimed));
	memset(&m, 0, sizeof(m));
	T_CHECK("lookup now finds the newest generation",
	        router_lookup("GET", path, 1, &m) == ROUTER_FOUND &&
	                ((fake_module *)m.b->owner)->gen == 10);
	router_release(m.b);
}

static void
test_stress(void)
{
	fake_module *cur = modules[atomic_load(&nmodules) - 1];
	long reclaims_before = atomic_load(&reclaims);
	int made_before = atomic_load(&nmodules);
	reader_stats st[READERS];
	memset(st, 0, sizeof(st));
	atomic_store(&stop, false);
	for (int i = 0; i < READERS; i++) {
		st[i].index = i;
		pthread_create(&st[i].thread, NULL, reader_main, &st[i]);
	}
	for (int g = 11; g < GENERATIONS; g++) {
		fake_module *next = module_make(g);
		module_swap(cur, next);
		cur = next;
		/* the reloader sweeps retired modules now and then */
		if (g % 64 == 0)
			for (int i = 0; i < atomic_load(&nmodules); i++)
				module_try_reclaim(modules[i]);
	}
	atomic_store(&stop, true);
	long calls = 0, not_found = 0, bad = 0, back = 0;
	for (int i = 0; i < READERS; i++) {
		pthread_join(st[i].thread, NULL);
		calls += st[i].calls;
		not_found += st[i].not_found;
		bad += st[i].bad_code;
		back += st[i].went_back;
	}
	for (int i = 0; i < atomic_load(&nmodules); i++)
		module_try_reclaim(modules[i]);
	int made = atomic_load(&nmodules) - made_before;
	char name[200];
	snprintf(name, sizeof(name),
	         "%d readers x %d swaps: no reader ran reclaimed code "
	         "(%ld calls, %ld bad)",
	         READERS, made, calls, bad);
	T_CHECK(name, bad == 0 && calls > 0);
	T_CHECK("a bound route is always found during swaps", not_found == 0);
	T_CHECK("a reader never sees an older generation after a newer one", back == 0);
	long refs = 0;
	for (int i = 0; i < atomic_load(&nmodules); i++)
		refs += atomic_load(&modules[i]->owner.refs);
	T_CHECK("every reference was released", refs == 0);
	snprintf(name, sizeof(name), "every retired generation was reclaimed (%ld of %d)",
	         atomic_load(&reclaims) - reclaims_before, made);
	T_CHECK(name, atomic_load(&reclaims) - reclaims_before == made);
	T_CHECK("the current generation is not reclaimed", !atomic_load(&cur->reclaimed));
	printf("# idle hook ran %ld times\n", atomic_load(&hook_calls));
}

int
main(void)
{
	char err[256];
	router_owner_idle_hook = idle_hook;
	slots[0] = router_slot("GET", "/r0", err, sizeof(err));
	slots[1] = router_slot("GET", "/r1", err, sizeof(err));
	T_CHECK("slots for the fake routes", slots[0] >= 0 && slots[1] >= 0);
	test_held_across_swaps();
	test_stress();
	for (int i = 0; i < NSLOTS; i++)
		router_bind(slots[i], NULL);
	for (int i = 0; i < atomic_load(&nmodules); i++) {
		if (!atomic_load(&modules[i]->reclaimed))
			free(modules[i]->code);
		free(modules[i]);
	}
	router_reset();
	return T_DONE();
}
