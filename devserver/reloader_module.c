/*
 * reloader_module.c -- a generation's memory: made, linked to the shared
 * code it calls, retired when replaced, and freed once nothing can use it.
 *
 * Two steps, for the reasons reloader.c's opening comment gives: the code
 * goes once no request runs it (the last one out rings the eventfd), the
 * struct and its bindings once router_quiet says no thread can still be
 * looking at them.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "reloader_internal.h"
#include "tcclines.h"

module *
reloader_module_new(unit *u, int nbindings)
{
	module *m = calloc(1, sizeof(*m));
	m->unit = u;
	m->nbindings = nbindings;
	m->bindings = calloc((size_t)(nbindings ? nbindings : 1), sizeof(binding));
	m->slots = calloc((size_t)(nbindings ? nbindings : 1), sizeof(int));
	atomic_init(&m->owner.refs, 0);
	atomic_init(&m->owner.retired, false);
	m->next_all = reloader.all_modules;
	reloader.all_modules = m;
	return m;
}

/* Frees a module's code and text once no request holds it. Lock held. */
void
reloader_module_reclaim(module *m)
{
	if (m->freed || !atomic_load(&m->owner.retired) || atomic_load(&m->owner.refs) != 0 ||
	    m->linked_by != 0)
		return;
	compiler_module_free(&m->code);
	free(m->error);
	m->error = NULL;
	m->freed = true;
	for (int i = 0; i < m->nlinks; i++) { /* it no longer calls them */
		assert(m->links[i]->linked_by > 0);
		m->links[i]->linked_by--;
		reloader_module_reclaim(m->links[i]);
	}
	free(m->links);
	m->links = NULL;
	m->nlinks = 0;
}

/* Records that m's code calls into the shared modules of the link scope. */
void
reloader_module_link(module *m, const linkcheck_scope *scope)
{
	if (scope->nowners == 0)
		return;
	m->links = calloc((size_t)scope->nowners, sizeof(module *));
	if (m->links == NULL)
		abort(); /* a module calling freed code is worse than stopping */
	for (int i = 0; i < scope->nowners; i++) {
		m->links[i] = scope->owners[i];
		m->links[i]->linked_by++;
	}
	m->nlinks = scope->nowners;
	/* shared code that hashes passwords (or says COT_OFFLOAD) puts the
	 * routes that call it on the handler pool too */
	for (int i = 0; i < m->nlinks; i++)
		m->code.offload |= m->links[i]->code.offload;
	/* traces and the watchdog see the shared code it calls as its own */
	const tcclines *lines[64];
	size_t n = 0;
	for (int i = 0; i < m->nlinks && n < 64; i++)
		if (m->links[i]->code.lines != NULL)
			lines[n++] = m->links[i]->code.lines;
	if (tcclines_link(m->code.lines, lines, n) != 0)
		abort(); /* out of memory */
}

/* Marks a module as no longer reachable from any slot. Lock held. */
void
reloader_module_retire(module *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->nbindings; i++)
		assert(m->slots[i] < 0 || router_binding(m->slots[i]) != &m->bindings[i]);
	atomic_store(&m->owner.retired, true);
	reloader_module_reclaim(m);
}

/*
 * Frees what retired modules hold: their code once no request runs it, then
 * the module struct and its bindings once no thread can still be looking at
 * them (router_quiet). Without the second step every reload kept a few
 * hundred bytes per route for the life of the server. Lock held.
 */
void
reloader_reclaim_all(void)
{
	for (module **pm = &reloader.all_modules; *pm != NULL;) {
		module *m = *pm;
		reloader_module_reclaim(m);
		if (m->freed && router_quiet(&m->owner)) {
			*pm = m->next_all;
			free(m->bindings);
			free(m->slots);
			free(m);
			continue;
		}
		pm = &m->next_all;
	}
}

/* Any thread: a retired module lost its last request. */
void
reloader_owner_idle(code_owner *o)
{
	(void)o;
	uint64_t one = 1;
	if (reloader.evfd >= 0 && write(reloader.evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("cot: eventfd");
}
