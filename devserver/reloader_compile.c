/*
 * reloader_compile.c -- compiling a unit (a handler or lib/ file) and
 * reporting the outcome: published, or an error on the terminal, in the
 * browser and on the file's routes.
 *
 * A lib/ file's change reaches every file that uses it (reloader_uses):
 * they are compiled again, to link its new code or answer with its error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/middleware.h"
#include "../runtime/monotonic.h"
#include "file.h"
#include "libs.h"
#include "reloader_internal.h"
#include "sqlcheck.h"

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
	for (int i = 0; i < reloader.nunits; i++) {
		unit *u = reloader.units[i];
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
	for (int i = 0; i < reloader.nunits; i++) {
		unit *l = reloader.units[i];
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
	reloader.opt.stats.reloads++;
	if (!reloader.opt.quiet_reloads)
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
	reloader.opt.stats.reloads++;
	if (!reloader.opt.quiet_reloads)
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
	compiler_options co = {reloader.opt.include_dir,
	                       reloader.opt.tcc_options,
	                       libs->cflags,
	                       scope,
	                       u->shared,
	                       src};
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
		if (reloader.opt.on_event != NULL)
			reloader.opt.on_event("reload", u->path, NULL);
	} else {
		reloader.opt.stats.errors++;
		reloader_report_error(u, error);
		if (reloader.opt.on_event != NULL)
			reloader.opt.on_event("error", u->path, error);
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

int
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
	for (int i = 0; i < reloader.nunits; i++) {
		unit *u = reloader.units[i];
		if (u->hash != 0 && reloader_uses(u, lib))
			reloader_compile_depth(u, NULL, u->hash, depth);
	}
}

/* The file is gone or no longer declares routes: switch its routes off. */
void
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
		if (reloader.opt.on_event != NULL)
			reloader.opt.on_event("remove", u->path, NULL);
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
	if (reloader.opt.on_event != NULL)
		reloader.opt.on_event("remove", u->path, NULL);
}
