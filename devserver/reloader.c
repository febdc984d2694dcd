/*
 * reloader.c -- modules, generations, slot swaps and safe reclamation.
 *
 * A "unit" is one handler file for the life of the server. Each successful
 * compile of it makes a new "module" (a generation): a TCCState, its route
 * table, and one binding per route. Publishing a module stores its bindings
 * into the route slots (router.c), one atomic store per route; requests that
 * already entered the old generation keep running in it, because they hold a
 * reference on its code_owner. The old module is "retired" and its code is
 * freed by tcc_delete only once its count drops to zero -- the last request
 * out rings an eventfd and the reloader thread reclaims it.
 *
 * A failed compile also makes a module, with no code and an error text: its
 * bindings answer the file's routes with the compile error until a compile
 * succeeds. That keeps one mechanism for swapping and for freeing.
 *
 * Read your writes. Before routing, every request calls reloader_sync: if an
 * inotify event waits, or another thread is in the middle of a reload, it
 * takes the lock and so cannot be routed before the save it might depend on
 * has been compiled and published. The check costs one poll() when nothing
 * changed. The background thread does the same work when no request comes,
 * so the terminal and the browser hear about a save at once.
 *
 * Module structs and their bindings outlive their code a little: a request
 * may hold a stale pointer to a binding for the few instructions between
 * reading a slot and checking it again (see router.c), so they are freed
 * only once router_quiet says no thread can be looking at them.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/apptree.h"
#include "../runtime/internal.h"
#include "compiler.h"
#include "deps.h"
#include "file.h"
#include "hcache.h"
#include "libs.h"
#include "linkcheck.h"
#include "reloader.h"
#include "reloader_template.h"
#include "sqlcheck.h"
#include "tcclines.h"
#include "watcher.h"

/* How often the schema is looked at for changes made by other processes
 * (`cotdev migrate --apply`): a read of one pragma, about 10 µs. */
#define RELOADER_SCHEMA_POLL_MS 250

typedef struct unit unit;

typedef struct module {
	code_owner owner;     /* first: bindings point here */
	compiler_module code; /* zeroed for an error module or once freed */
	char *error;          /* compile error text, or NULL */
	binding *bindings;
	int *slots;
	int nbindings;
	binding mw_before, mw_after; /* COT_MIDDLEWARE hooks; fn NULL if none */
	bool has_mw;
	unit *unit;
	bool freed;
	struct module *next_all;
	/* Shared code (lib/): the shared modules this code calls into, and for
	 * a shared module how many live modules call into it. A shared module
	 * is freed only when retired and no module that calls it remains. */
	struct module **links;
	int nlinks;
	int linked_by;
	unit *broken_by; /* error module: the lib/ file that does not compile */
} module;

struct unit {
	char *path;    /* "handlers/notes.c" */
	uint64_t hash; /* of the source last compiled */
	module *current;
	deps_list deps; /* files it #includes, transitively */
	int mw_slot;    /* middleware slot, -1 until it declares some */
	bool sql_error; /* current is an error: its SQL did not prepare */
	bool shared;    /* a lib/ file: exports functions, has no routes */
	char *error;    /* shared: its compile error (current = last good) */
};

static struct {
	pthread_mutex_t lock;
	atomic_bool busy; /* a reload is being processed */
	unit **units;
	int nunits, capunits;
	unit *slot_owner[ROUTER_MAX_SLOTS];
	module *all_modules;
	int evfd; /* rung when a retired module goes idle */
	pthread_t thread;
	atomic_bool stop;
	reloader_options opt;
	long long schema_version; /* app.db's when the SQL was last checked */
} R = {.lock = PTHREAD_MUTEX_INITIALIZER, .evfd = -1};

/* ==== small helpers ==================================================== */

static uint64_t
reloader_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211u;
	}
	return h | 1; /* 0 means "never compiled" */
}

/* True for a path under dir (NULL: no such directory). */
static bool
reloader_in_dir(const char *path, const char *dir)
{
	size_t n = dir != NULL ? strlen(dir) : 0;
	return n > 0 && strncmp(path, dir, n) == 0 && path[n] == '/';
}

static bool
reloader_is_source(const char *path)
{
	size_t n = strlen(path);
	return n > 2 && path[n - 2] == '.' && (path[n - 1] == 'c' || path[n - 1] == 'h');
}

static const char *
reloader_color(const char *code)
{
	return R.opt.color ? code : "";
}

static unit *
reloader_find_unit(const char *path)
{
	for (int i = 0; i < R.nunits; i++)
		if (strcmp(R.units[i]->path, path) == 0)
			return R.units[i];
	return NULL;
}

static unit *
reloader_unit(const char *path)
{
	unit *u = reloader_find_unit(path);
	if (u != NULL)
		return u;
	if (R.nunits == R.capunits) {
		int cap = R.capunits ? R.capunits * 2 : 32;
		unit **nu = realloc(R.units, (size_t)cap * sizeof(unit *));
		if (nu == NULL)
			return NULL;
		R.units = nu;
		R.capunits = cap;
	}
	u = calloc(1, sizeof(*u));
	u->path = strdup(path);
	u->mw_slot = -1;
	R.units[R.nunits++] = u;
	return u;
}

/* ==== modules ========================================================== */

static module *
reloader_module_new(unit *u, int nbindings)
{
	module *m = calloc(1, sizeof(*m));
	m->unit = u;
	m->nbindings = nbindings;
	m->bindings = calloc((size_t)(nbindings ? nbindings : 1), sizeof(binding));
	m->slots = calloc((size_t)(nbindings ? nbindings : 1), sizeof(int));
	atomic_init(&m->owner.refs, 0);
	atomic_init(&m->owner.retired, false);
	m->next_all = R.all_modules;
	R.all_modules = m;
	return m;
}

/* Frees a module's code and text once no request holds it. Lock held. */
static void
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
static void
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
static void
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
static void
reloader_reclaim_all(void)
{
	for (module **pm = &R.all_modules; *pm != NULL;) {
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
static void
reloader_owner_idle(code_owner *o)
{
	(void)o;
	uint64_t one = 1;
	if (R.evfd >= 0 && write(R.evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("cot: eventfd");
}

/* ==== publishing ======================================================= */

/* Switches off the slots `u` owns that `keep` does not bind. */
static void
reloader_unbind_others(unit *u, const module *keep)
{
	int n = router_count();
	for (int s = 0; s < n; s++) {
		if (R.slot_owner[s] != u)
			continue;
		bool kept = false;
		for (int i = 0; keep != NULL && i < keep->nbindings; i++)
			kept |= keep->slots[i] == s;
		if (!kept) {
			router_bind(s, NULL);
			R.slot_owner[s] = NULL;
		}
	}
}

/*
 * Finds the slots for the routes of a compiled table; fails (and says why in
 * err) on a bad pattern, a route declared twice, or a route another file
 * already declares.
 */
static int
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
		if (R.slot_owner[s] != NULL && R.slot_owner[s] != u) {
			snprintf(err, errlen, "%s:%d: error: route %s %s is already declared in %s",
			         u->path, r->line, r->method, r->pattern, R.slot_owner[s]->path);
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
static int
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
static void
reloader_publish(unit *u, module *m)
{
	reloader_publish_middleware(u, m);
	for (int i = 0; i < m->nbindings; i++) {
		router_bind(m->slots[i], &m->bindings[i]);
		R.slot_owner[m->slots[i]] = u;
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
			if (s >= 0 && R.slot_owner[s] == NULL)
				R.slot_owner[s] = u;
			break;
		}
	}
	free(src);
}

/* An error generation: the unit's current routes answer with `error`. */
static void
reloader_publish_error(unit *u, char *error)
{
	if (u->current == NULL)
		reloader_claim_text_routes(u);
	int n = router_count(), count = 0;
	for (int s = 0; s < n; s++)
		count += R.slot_owner[s] == u;
	module *m = reloader_module_new(u, count);
	m->error = error;
	int k = 0;
	for (int s = 0; s < n; s++) {
		if (R.slot_owner[s] != u)
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

/* ==== compiling a unit ================================================= */

static void reloader_compile_users(unit *lib, int depth);

static void
reloader_report_error(const unit *u, const char *error)
{
	printf("%serror%s compiling %s (%s):\n%s\n", reloader_color("\033[1;31m"),
	       reloader_color("\033[0m"), u->path,
	       u->shared ? "handlers that use it answer "
	                   "with this until it compiles"
	                 : "its routes answer with this until it compiles",
	       error);
	fflush(stdout);
}

/* Finds `name` among the shared modules other than the one compiling. */
static void *
reloader_shared_lookup(void *ctx, const char *name, void **owner)
{
	const unit *self = ctx;
	for (int i = 0; i < R.nunits; i++) {
		unit *u = R.units[i];
		if (!u->shared || u == self || u->current == NULL)
			continue;
		void *a = compiler_find_export(&u->current->code, name);
		if (a != NULL) {
			*owner = u->current;
			return a;
		}
	}
	return NULL;
}

/*
 * Does `u` use the shared file `lib`: its code calls into it, it includes
 * lib's header (lib/util.c -> lib/util.h), or it is broken because of it?
 */
static bool
reloader_uses(const unit *u, const unit *lib)
{
	if (u == lib)
		return false;
	const module *m = u->current;
	for (int i = 0; m != NULL && i < m->nlinks; i++)
		if (m->links[i]->unit == lib)
			return true;
	if (m != NULL && m->broken_by == lib)
		return true;
	char header[4096];
	snprintf(header, sizeof(header), "%s", lib->path);
	header[strlen(header) - 1] = 'h';
	return deps_contains(&u->deps, header);
}

/* The compile error of a shared file `u` uses, as u's own error; or NULL. */
static char *
reloader_broken_dependency(const unit *u, unit **lib)
{
	for (int i = 0; i < R.nunits; i++) {
		unit *l = R.units[i];
		if (!l->shared || l->error == NULL || !reloader_uses(u, l))
			continue;
		size_t n = strlen(u->path) + strlen(l->path) + strlen(l->error) + 64;
		char *e = malloc(n);
		if (e != NULL)
			snprintf(e, n, "%s: error: it uses %s, which does not compile:\n%s",
			         u->path, l->path, l->error);
		*lib = l;
		return e;
	}
	return NULL;
}

/* Publishes a good compile of a handler file; -1 with err on a route clash. */
static int
reloader_publish_handler(unit *u, compiler_module *cm, const linkcheck_scope *scope, double t0,
                         char *err, size_t errlen)
{
	static const cot_module no_routes = {COT_ABI, NULL, NULL, 0};
	const cot_module *t = cm->table ? cm->table : &no_routes;
	module *m = reloader_module_new(u, t->nroutes);
	m->code = *cm;
	reloader_module_link(m, scope);
	if (reloader_claim_slots(u, t, m, err, errlen) != 0 ||
	    reloader_claim_middleware(u, m, err, errlen) != 0) {
		atomic_store(&m->owner.retired, true);
		reloader_module_reclaim(m);
		return -1;
	}
	reloader_publish(u, m);
	R.opt.stats.reloads++;
	if (!R.opt.quiet_reloads)
		printf("%sreloaded%s %s in %.1f ms (%d route%s%s)\n", reloader_color("\033[32m"),
		       reloader_color("\033[0m"), u->path, monotonic_ms() - t0, t->nroutes,
		       t->nroutes == 1 ? "" : "s", m->has_mw ? ", middleware" : "");
	return 0;
}

/* Publishes a good compile of a shared file: its exports replace the old. */
static void
reloader_publish_shared(unit *u, compiler_module *cm, const linkcheck_scope *scope, double t0)
{
	module *m = reloader_module_new(u, 0);
	m->code = *cm;
	reloader_module_link(m, scope);
	module *old = u->current;
	u->current = m;
	free(u->error);
	u->error = NULL;
	reloader_module_retire(old);
	R.opt.stats.reloads++;
	if (!R.opt.quiet_reloads)
		printf("%sreloaded%s %s in %.1f ms (shared: %d symbol%s)\n",
		       reloader_color("\033[32m"), reloader_color("\033[0m"), u->path,
		       monotonic_ms() - t0, cm->nexports, cm->nexports == 1 ? "" : "s");
}

/* Compiles and links `u` against its declared libraries and lib/. */
static int
reloader_compile_code(unit *u, const char *src, compiler_module *cm, linkcheck_scope *scope,
                      libs_set *libs, char **error)
{
	if (libs_declared(u->path, src, &u->deps, libs, error) != 0)
		return -1;
	*scope = (linkcheck_scope){.path = u->path,
	                           .deps = &u->deps,
	                           .libs = libs,
	                           .shared = reloader_shared_lookup,
	                           .shared_ctx = u};
	compiler_options co = {
	        R.opt.include_dir, R.opt.tcc_options, libs->cflags, scope, u->shared, src};
	if (compiler_compile(u->path, &co, cm, error) != 0)
		return -1;
	if (sqlcheck_app(u->path, src, (const char *const *)u->deps.paths, u->deps.n, error) != 0) {
		/* SQL that does not prepare against app.db is a reload error too */
		compiler_module_free(cm);
		u->sql_error = true;
		return -1;
	}
	return 0;
}

/*
 * Compiles `u` and publishes the result. `src` is the file's text as
 * reloader_refresh read it, or NULL to read it here: read once, the same
 * text goes to the include scan, the library declarations, the header
 * cache, the route lines and the SQL check (tcc itself reads the file by
 * name, so its quoted #includes resolve against the file's directory).
 * Lock held.
 */
static int
reloader_compile_depth(unit *u, const char *src, uint64_t hash, int depth)
{
	double t0 = monotonic_ms();
	char *own = src == NULL ? file_read(u->path, NULL) : NULL;
	if (src == NULL)
		src = own;
	compiler_module cm;
	char *error = NULL, err[768];
	linkcheck_scope scope = {0};
	libs_set libs = {0};
	unit *blame = NULL;
	u->hash = hash;
	deps_scan(u->path, src, &u->deps);
	u->sql_error = false;
	if (!u->shared)
		error = reloader_broken_dependency(u, &blame);
	int rc = error == NULL ? reloader_compile_code(u, src, &cm, &scope, &libs, &error) : -1;
	if (rc == 0 && u->shared) {
		reloader_publish_shared(u, &cm, &scope, t0);
	} else if (rc == 0 && reloader_publish_handler(u, &cm, &scope, t0, err, sizeof(err)) != 0) {
		error = compiler_format(err);
		rc = -1;
	}
	linkcheck_scope_free(&scope);
	libs_set_free(&libs);
	if (rc == 0) {
		fflush(stdout);
		if (R.opt.on_event != NULL)
			R.opt.on_event("reload", u->path, NULL);
	} else {
		R.opt.stats.errors++;
		reloader_report_error(u, error);
		if (R.opt.on_event != NULL)
			R.opt.on_event("error", u->path, error);
		if (u->shared) {
			free(u->error);
			u->error = error; /* the last good code stays current */
		} else {
			reloader_publish_error(u, error);
			u->current->broken_by = blame;
		}
	}
	free(own);
	if (u->shared)
		reloader_compile_users(u, depth + 1);
	return rc;
}

static int
reloader_compile(unit *u, const char *src, uint64_t hash)
{
	return reloader_compile_depth(u, src, hash, 0);
}

/*
 * A shared file changed (compiled, broke, or went away): every file that
 * uses it is compiled again, so it links the new code -- or answers with
 * the shared file's error. Shared files that use it pass it on.
 */
static void
reloader_compile_users(unit *lib, int depth)
{
	if (depth > 8)
		return; /* shared files that use each other in a cycle */
	for (int i = 0; i < R.nunits; i++) {
		unit *u = R.units[i];
		if (u->hash != 0 && reloader_uses(u, lib))
			reloader_compile_depth(u, NULL, u->hash, depth);
	}
}

/* The file is gone or no longer declares routes: switch its routes off. */
static void
reloader_unload(unit *u)
{
	if (u->shared) { /* its users link again, and fail if they still call it */
		module *old = u->current;
		u->current = NULL;
		u->hash = 0;
		free(u->error);
		u->error = NULL;
		reloader_module_retire(old);
		printf("removed %s (shared code)\n", u->path);
		if (R.opt.on_event != NULL)
			R.opt.on_event("remove", u->path, NULL);
		reloader_compile_users(u, 1);
		return;
	}
	if (u->current == NULL)
		return;
	int n = u->current->error ? 0 : u->current->nbindings;
	reloader_unbind_others(u, NULL);
	if (u->mw_slot >= 0)
		middleware_bind(u->mw_slot, NULL, NULL);
	module *old = u->current;
	u->current = NULL;
	u->hash = 0;
	reloader_module_retire(old);
	printf("removed %s (%d route%s)\n", u->path, n, n == 1 ? "" : "s");
	fflush(stdout);
	if (R.opt.on_event != NULL)
		R.opt.on_event("remove", u->path, NULL);
}

/*
 * The name went away (a rename or delete). Editors like vim save by renaming
 * the old file away and writing a new one: give the new one a moment (at
 * most ~20 ms, only on this path) before treating the file as deleted.
 */
static bool
reloader_reappears(const char *path)
{
	struct stat st;
	for (int i = 0; i < 20; i++) {
		if (stat(path, &st) == 0)
			return true;
		struct timespec ms = {0, 1000 * 1000};
		nanosleep(&ms, NULL);
	}
	return stat(path, &st) == 0;
}

/*
 * Brings one path up to date with the disk: compile it if it is a handler
 * whose content changed (or `force`, when a file it includes changed);
 * unload it if it is gone or lost its COT_ROUTES. `flags` (WATCHER_*) says
 * what the events said: a file that is there but whose events only said it
 * went away is a new file still being written -- its CLOSE_WRITE is coming,
 * and until then the old code keeps serving.
 */
static void
reloader_refresh(const char *path, bool force, unsigned flags)
{
	size_t len = 0;
	bool removed_only = (flags & WATCHER_REMOVED) && !(flags & WATCHER_COMPLETE);
	unit *known = reloader_find_unit(path);
	if (removed_only && known != NULL && known->current != NULL && reloader_reappears(path))
		return;
	char *src = reloader_is_source(path) ? file_read(path, &len) : NULL;
	if (src != NULL && removed_only) {
		free(src);
		return;
	}
	bool is_c = src != NULL && path[strlen(path) - 1] == 'c';
	bool shared = is_c && reloader_in_dir(path, R.opt.lib_dir);
	bool handler = shared || (is_c && (strstr(src, "COT_ROUTES") != NULL ||
	                                   strstr(src, "COT_MIDDLEWARE") != NULL ||
	                                   strstr(src, "COT_ERRORS") != NULL)); /* a middleware */
	unit *u = handler ? reloader_unit(path) : known;
	if (u != NULL && handler)
		u->shared = shared;
	if (u != NULL) {
		if (!handler)
			reloader_unload(u);
		else if (force || u->hash != reloader_hash(src, len) || u->current == NULL)
			reloader_compile(u, src, reloader_hash(src, len));
	}
	free(src);
}

/* True for a path under the handlers directory. */
static bool
reloader_in_handlers(const char *path)
{
	return reloader_in_dir(path, R.opt.handlers_dir);
}

/* One changed path: itself, and every unit that includes it. */
static void
reloader_changed(const char *path, unsigned flags)
{
	size_t n = strlen(path);
	if (!reloader_in_handlers(path) && !reloader_in_dir(path, R.opt.lib_dir)) {
		const char *p = strncmp(path, "./", 2) == 0 ? path + 2 : path;
		if (reloader_in_dir(p, R.opt.templates_dir) &&
		    reloader_template_error(p, R.opt.templates_dir, R.opt.on_event))
			return;
		if (R.opt.on_event != NULL)
			R.opt.on_event("change", p, NULL);
		return;
	}
	if (n > 0 && path[n - 1] == '/') { /* a directory went away */
		for (int i = 0; i < R.nunits; i++)
			if (strncmp(R.units[i]->path, path, n) == 0)
				reloader_refresh(R.units[i]->path, false, WATCHER_COMPLETE);
		return;
	}
	reloader_refresh(path, false, flags);
	for (int i = 0; i < R.nunits; i++)
		if (strcmp(R.units[i]->path, path) != 0 && deps_contains(&R.units[i]->deps, path))
			reloader_refresh(R.units[i]->path, true, WATCHER_COMPLETE);
}

/* ==== the schema changed ============================================== */

/*
 * The SQL check of every handler is only as fresh as the schema it ran
 * against. When app.db's schema changes -- schema.sql saved, a rename
 * applied, `cotdev migrate --apply --allow-destructive` run from another
 * terminal -- check every unit's SQL again: a unit whose SQL no longer
 * prepares gets the error a reload would give it (its routes answer it, the
 * terminal and the browser show it), and a unit held back by a SQL error is
 * compiled again, since the new schema may be the fix. Lock held.
 */
static void
reloader_recheck_sql(void)
{
	long long v = sqlcheck_app_schema_version();
	if (v == R.schema_version)
		return;
	R.schema_version = v;
	for (int i = 0; i < R.nunits; i++) {
		unit *u = R.units[i];
		if (u->current == NULL || u->shared) /* shared: checked when compiled */
			continue;
		if (u->current->error != NULL) {
			if (u->sql_error)
				reloader_compile(u, NULL, u->hash);
			continue;
		}
		char *error = NULL;
		if (sqlcheck_app(u->path, NULL, (const char *const *)u->deps.paths, u->deps.n,
		                 &error) == 0)
			continue;
		u->sql_error = true;
		R.opt.stats.errors++;
		printf("%serror%s: the schema changed and the SQL of %s no longer prepares "
		       "(its routes answer with this until it does):\n%s\n",
		       reloader_color("\033[1;31m"), reloader_color("\033[0m"), u->path, error);
		fflush(stdout);
		reloader_publish_error(u, error);
		if (R.opt.on_event != NULL)
			R.opt.on_event("error", u->path, error);
	}
}

/* ==== the loop ========================================================= */

/* Takes every waiting event and compiles what changed. Lock held. */
static void
reloader_process(void)
{
	watcher_changes ch = {0};
	watcher_drain(&ch);
	for (int i = 0; i < ch.n; i++)
		reloader_changed(ch.paths[i], ch.flags[i]);
	watcher_changes_free(&ch);
	reloader_recheck_sql(); /* a saved schema.sql has been applied by now */
	reloader_reclaim_all();
}

/*
 * The read-your-writes barrier every request passes before routing. Costs a
 * poll() and an atomic load when nothing changed.
 */
void
reloader_sync(void)
{
	if (!watcher_pending() && !atomic_load(&R.busy))
		return;
	pthread_mutex_lock(&R.lock);
	atomic_store(&R.busy, true);
	reloader_process();
	atomic_store(&R.busy, false);
	pthread_mutex_unlock(&R.lock);
}

/* Waits until a burst of events is over (at most ~50 ms). */
static void
reloader_debounce(void)
{
	int before = watcher_queued_bytes();
	for (int i = 0; i < 10; i++) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
		int now = watcher_queued_bytes();
		if (now == before)
			return;
		before = now;
	}
}

static void *
reloader_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&R.stop)) {
		struct pollfd p[2] = {{watcher_get_fd(), POLLIN, 0}, {R.evfd, POLLIN, 0}};
		int n = poll(p, 2, RELOADER_SCHEMA_POLL_MS);
		if (n < 0 && errno != EINTR)
			break;
		if (atomic_load(&R.stop))
			break;
		if (n == 0) { /* quiet: has another process changed the schema? */
			pthread_mutex_lock(&R.lock);
			reloader_recheck_sql();
			pthread_mutex_unlock(&R.lock);
			continue;
		}
		if (p[0].revents & POLLIN) {
			reloader_debounce();
			reloader_sync();
		}
		if (p[1].revents & POLLIN) {
			uint64_t v;
			if (read(R.evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				perror("cot: eventfd");
			pthread_mutex_lock(&R.lock);
			reloader_reclaim_all();
			pthread_mutex_unlock(&R.lock);
		}
	}
	return NULL;
}

/* ==== lifecycle ======================================================== */

static void
reloader_scan_one(const char *path, void *ch)
{
	if (reloader_is_source(path))
		watcher_changes_add(ch, path, WATCHER_COMPLETE);
}

/* Adds the app's .c and .h files below dir to ch (runtime/apptree.c's rule). */
static void
reloader_scan(const char *dir, watcher_changes *ch)
{
	apptree_scan(dir, reloader_scan_one, ch);
}

/*
 * Watches and compiles every handler under opt->handlers_dir (relative to
 * the current directory, the app). Returns the number of files that failed
 * to compile, or -1 if watching failed.
 */
int
reloader_init(const reloader_options *opt, char *err, size_t errlen)
{
	R.opt = *opt;
	const char *hc = getenv("COT_HEADER_CACHE");
	compiler_header_cache = hc == NULL || strcmp(hc, "0") != 0;
	router_owner_idle_hook = reloader_owner_idle;
	R.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	const char *dirs[16] = {opt->handlers_dir};
	int nd = 1;
	struct stat lst;
	if (opt->lib_dir != NULL && stat(opt->lib_dir, &lst) == 0 && S_ISDIR(lst.st_mode))
		dirs[nd++] = opt->lib_dir;
	for (int i = 0; opt->watch_dirs != NULL && opt->watch_dirs[i] && nd < 15; i++) {
		struct stat st;
		if (stat(opt->watch_dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
			dirs[nd++] = opt->watch_dirs[i];
	}
	dirs[nd] = NULL;
	if (opt->watch && watcher_init(dirs, opt->watch_files, err, errlen) != 0)
		return -1;
	watcher_changes ch = {0};
	if (opt->lib_dir != NULL) /* shared code first: handlers link against it */
		reloader_scan(opt->lib_dir, &ch);
	reloader_scan(opt->handlers_dir, &ch);
	pthread_mutex_lock(&R.lock);
	R.schema_version = sqlcheck_app_schema_version();
	for (int i = 0; i < ch.n; i++)
		reloader_refresh(ch.paths[i], false, WATCHER_COMPLETE);
	pthread_mutex_unlock(&R.lock);
	watcher_changes_free(&ch);
	int failed = 0;
	for (int i = 0; i < R.nunits; i++)
		failed += R.units[i]->error != NULL ||
		          (R.units[i]->current != NULL && R.units[i]->current->error != NULL);
	return failed;
}

/* Files the reloader knows (handlers, helpers): `cotdev check`'s summary. */
int
reloader_file_count(void)
{
	return R.nunits;
}

int
reloader_start(void)
{
	return pthread_create(&R.thread, NULL, reloader_main, NULL);
}

/* Lists the routes currently served; for `cotdev routes` and /_cot/routes. */
void
reloader_routes(FILE *out)
{
	pthread_mutex_lock(&R.lock);
	int n = router_count();
	for (int s = 0; s < n; s++) {
		binding *b = router_binding(s);
		if (b == NULL)
			continue;
		fprintf(out, "%-7s %-32s %s:%d%s\n", router_slot_method(s), router_slot_pattern(s),
		        b->file, b->line, b->error ? "  (compile error)" : "");
	}
	pthread_mutex_unlock(&R.lock);
}

/*
 * Calls fn for every route currently served, under the reloader lock: the
 * bindings' line tables cannot be freed meanwhile (for the dev console).
 */
void
reloader_each_route(void (*fn)(void *arg, const char *method, const char *pattern,
                               const struct binding *b),
                    void *arg)
{
	pthread_mutex_lock(&R.lock);
	int n = router_count();
	for (int s = 0; s < n; s++) {
		binding *b = router_binding(s);
		if (b != NULL)
			fn(arg, router_slot_method(s), router_slot_pattern(s), b);
	}
	pthread_mutex_unlock(&R.lock);
}

/* Stops the thread and frees everything; no request may be running. */
void
reloader_shutdown(void)
{
	if (R.thread) {
		atomic_store(&R.stop, true);
		reloader_owner_idle(NULL);
		pthread_join(R.thread, NULL);
		R.thread = 0;
	}
	int n = router_count();
	for (int s = 0; s < n; s++)
		router_bind(s, NULL);
	for (int i = 0; i < R.nunits; i++)
		if (R.units[i]->mw_slot >= 0)
			middleware_bind(R.units[i]->mw_slot, NULL, NULL);
	/* retire all first: a shared module goes once its last caller has */
	for (module *m = R.all_modules; m != NULL; m = m->next_all)
		atomic_store(&m->owner.retired, true);
	for (module *m = R.all_modules; m != NULL; m = m->next_all)
		reloader_module_reclaim(m);
	for (module *m = R.all_modules, *next; m != NULL; m = next) {
		next = m->next_all;
		free(m->links);
		free(m->bindings);
		free(m->slots);
		free(m);
	}
	R.all_modules = NULL;
	for (int i = 0; i < R.nunits; i++) {
		deps_free(&R.units[i]->deps);
		free(R.units[i]->error);
		free(R.units[i]->path);
		free(R.units[i]);
	}
	free(R.units);
	R.units = NULL;
	R.nunits = R.capunits = 0;
	memset(R.slot_owner, 0, sizeof(R.slot_owner));
	router_reset();
	middleware_reset();
	sqlcheck_shutdown();
	hcache_shutdown();
	if (R.opt.watch)
		watcher_close();
	if (R.evfd >= 0)
		close(R.evfd);
	R.evfd = -1;
}
