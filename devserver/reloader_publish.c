/*
 * reloader_publish.c -- route and middleware slots: which file owns which
 * route, and which generation of it answers.
 *
 * A unit's slots are claimed from its compiled route table -- or, for a
 * file that never compiled, from the routes its text names -- and a
 * generation is published into them; an error generation answers them
 * with the error. Lock held throughout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/middleware.h"
#include "file.h"
#include "reloader_internal.h"

/* Switches off the slots `u` owns that `keep` does not bind. */
void
reloader_unbind_others(unit *u, const module *keep)
{
	int n = router_count();
	for (int s = 0; s < n; s++) {
		if (reloader.slot_owner[s] != u)
			continue;
		bool kept = false;
		for (int i = 0; keep != NULL && i < keep->nbindings; i++)
			kept |= keep->slots[i] == s;
		if (!kept) {
			router_bind(s, NULL);
			reloader.slot_owner[s] = NULL;
		}
	}
}

/*
 * Finds the slots for the routes of a compiled table; fails (and says why in
 * err) on a bad pattern, a route declared twice, or a route another file
 * already declares.
 */
int
reloader_claim_slots(unit *u, const cot_module *t, module *m, char *err, size_t errlen)
{
	for (int i = 0; i < t->nroutes; i++) {
		const cot_route *r = &t->routes[i];
		char why[256];
		int s = router_slot(r->method, r->pattern, why, sizeof(why));
		if (s < 0) {
			snprintf(err, errlen, "%s:%d: error: %s", u->path, r->line, why);
			return -1;
		}
		for (int j = 0; j < i; j++)
			if (m->slots[j] == s) {
				snprintf(err, errlen, "%s:%d: error: route %s %s is declared twice",
				         u->path, r->line, r->method, r->pattern);
				return -1;
			}
		if (reloader.slot_owner[s] != NULL && reloader.slot_owner[s] != u) {
			snprintf(err, errlen, "%s:%d: error: route %s %s is already declared in %s",
			         u->path, r->line, r->method, r->pattern,
			         reloader.slot_owner[s]->path);
			return -1;
		}
		m->slots[i] = s;
		m->bindings[i] = (binding){.fn = r->handler,
		                           .owner = &m->owner,
		                           .file = u->path,
		                           .line = r->line,
		                           .debug = m->code.lines,
		                           .offload = m->code.offload};
	}
	return 0;
}

/* Publishes (or switches off) the unit's middleware hooks. */
static void
reloader_publish_middleware(unit *u, module *m)
{
	if (m->has_mw && u->mw_slot < 0)
		u->mw_slot = middleware_slot_for(u->path);
	if (u->mw_slot < 0)
		return;
	middleware_bind(u->mw_slot,
	                m->has_mw && (m->mw_before.fn || m->mw_before.error) ? &m->mw_before : NULL,
	                m->has_mw && m->mw_after.fn ? &m->mw_after : NULL);
}

/* Fills the module's middleware bindings from its COT_MIDDLEWARE table. */
int
reloader_claim_middleware(unit *u, module *m, char *err, size_t errlen)
{
	const cot_middleware *mw = m->code.middleware;
	if (mw == NULL)
		return 0;
	if (u->mw_slot < 0 && (u->mw_slot = middleware_slot_for(u->path)) < 0) {
		snprintf(err, errlen,
		         "%s:1: error: too many files declare COT_MIDDLEWARE (limit 16)", u->path);
		return -1;
	}
	m->has_mw = true;
	binding base = {.owner = &m->owner, .file = u->path, .debug = m->code.lines};
	m->mw_before = base;
	m->mw_before.fn = mw->before;
	m->mw_after = base;
	m->mw_after.fn = mw->after;
	return 0;
}

/* Makes `m` the unit's current generation. Lock held. */
void
reloader_publish(unit *u, module *m)
{
	reloader_publish_middleware(u, m);
	for (int i = 0; i < m->nbindings; i++) {
		router_bind(m->slots[i], &m->bindings[i]);
		reloader.slot_owner[m->slots[i]] = u;
	}
	reloader_unbind_others(u, m);
	module *old = u->current;
	u->current = m;
	reloader_module_retire(old);
}

/*
 * A file that never compiled owns no slots yet. Find its routes in the text
 * (COT_GET("/x", ...) and friends) so they answer with its error instead of
 * 404 -- a mistake shows up where the developer is looking.
 */
static void
reloader_claim_text_routes(unit *u)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
	size_t len;
	char *src = file_read(u->path, &len);
	for (const char *p = src; p != NULL && (p = strstr(p, "COT_")) != NULL; p += 4) {
		for (int i = 0; methods[i] != NULL; i++) {
			size_t ml = strlen(methods[i]);
			if (strncmp(p + 4, methods[i], ml) != 0)
				continue;
			const char *q = p + 4 + ml;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q++ != '(')
				break;
			while (*q == ' ' || *q == '\t' || *q == '\n')
				q++;
			const char *end = *q == '"' ? strchr(q + 1, '"') : NULL;
			if (end == NULL || end - q > 256)
				break;
			char pattern[260], why[256];
			snprintf(pattern, sizeof(pattern), "%.*s", (int)(end - q - 1), q + 1);
			int s = router_slot(methods[i], pattern, why, sizeof(why));
			if (s >= 0 && reloader.slot_owner[s] == NULL)
				reloader.slot_owner[s] = u;
			break;
		}
	}
	free(src);
}

/* An error generation: the unit's current routes answer with `error`. */
void
reloader_publish_error(unit *u, char *error)
{
	if (u->current == NULL)
		reloader_claim_text_routes(u);
	int n = router_count(), count = 0;
	for (int s = 0; s < n; s++)
		count += reloader.slot_owner[s] == u;
	module *m = reloader_module_new(u, count);
	m->error = error;
	int k = 0;
	for (int s = 0; s < n; s++) {
		if (reloader.slot_owner[s] != u)
			continue;
		m->slots[k] = s;
		m->bindings[k++] =
		        (binding){.owner = &m->owner, .file = u->path, .error = m->error};
	}
	if (u->mw_slot >= 0) { /* broken middleware: every request sees the error */
		m->has_mw = true;
		m->mw_before = (binding){.owner = &m->owner, .file = u->path, .error = m->error};
	}
	reloader_publish(u, m);
}
