/*
 * reloader_change.c -- what a changed path means: which units to compile,
 * unload or leave alone, and what a changed schema means for their SQL.
 *
 * A "unit" is one handler or lib/ file for the life of the server; it is
 * made here the first time its file declares routes, middleware or error
 * pages (or lies under lib/). A path outside handlers/ and lib/ is not
 * compiled: it is reported as a change (a template is parsed first,
 * reloader_template.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "deps.h"
#include "file.h"
#include "reloader_internal.h"
#include "reloader_template.h"
#include "sqlcheck.h"
#include "watcher.h"

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

static unit *
reloader_find_unit(const char *path)
{
	for (int i = 0; i < reloader.nunits; i++)
		if (strcmp(reloader.units[i]->path, path) == 0)
			return reloader.units[i];
	return NULL;
}

static unit *
reloader_unit(const char *path)
{
	unit *u = reloader_find_unit(path);
	if (u != NULL)
		return u;
	if (reloader.nunits == reloader.capunits) {
		int cap = reloader.capunits ? reloader.capunits * 2 : 32;
		unit **nu = realloc(reloader.units, (size_t)cap * sizeof(unit *));
		if (nu == NULL)
			return NULL;
		reloader.units = nu;
		reloader.capunits = cap;
	}
	u = calloc(1, sizeof(*u));
	u->path = strdup(path);
	u->mw_slot = -1;
	reloader.units[reloader.nunits++] = u;
	return u;
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
void
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
	bool shared = is_c && reloader_in_dir(path, reloader.opt.lib_dir);
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
	return reloader_in_dir(path, reloader.opt.handlers_dir);
}

/* One changed path: itself, and every unit that includes it. */
void
reloader_changed(const char *path, unsigned flags)
{
	size_t n = strlen(path);
	if (!reloader_in_handlers(path) && !reloader_in_dir(path, reloader.opt.lib_dir)) {
		const char *p = strncmp(path, "./", 2) == 0 ? path + 2 : path;
		if (reloader_in_dir(p, reloader.opt.templates_dir) &&
		    reloader_template_error(p, reloader.opt.templates_dir, reloader.opt.on_event))
			return;
		if (reloader.opt.on_event != NULL)
			reloader.opt.on_event("change", p, NULL);
		return;
	}
	if (n > 0 && path[n - 1] == '/') { /* a directory went away */
		for (int i = 0; i < reloader.nunits; i++)
			if (strncmp(reloader.units[i]->path, path, n) == 0)
				reloader_refresh(reloader.units[i]->path, false, WATCHER_COMPLETE);
		return;
	}
	reloader_refresh(path, false, flags);
	for (int i = 0; i < reloader.nunits; i++)
		if (strcmp(reloader.units[i]->path, path) != 0 &&
		    deps_contains(&reloader.units[i]->deps, path))
			reloader_refresh(reloader.units[i]->path, true, WATCHER_COMPLETE);
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
void
reloader_recheck_sql(void)
{
	long long v = sqlcheck_app_schema_version();
	if (v == reloader.schema_version)
		return;
	reloader.schema_version = v;
	for (int i = 0; i < reloader.nunits; i++) {
		unit *u = reloader.units[i];
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
		reloader.opt.stats.errors++;
		printf("%serror%s: the schema changed and the SQL of %s no longer prepares "
		       "(its routes answer with this until it does):\n%s\n",
		       reloader_color("\033[1;31m"), reloader_color("\033[0m"), u->path, error);
		fflush(stdout);
		reloader_publish_error(u, error);
		if (reloader.opt.on_event != NULL)
			reloader.opt.on_event("error", u->path, error);
	}
}
