/*
 * reloader.c -- the reloader's one state, its thread and the
 * read-your-writes barrier; start and stop.
 *
 * The reloader as a whole -- modules, generations, slot swaps and safe
 * reclamation -- is split by concern (reloader_internal.h lists the files
 * and says why they share this state). In short:
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
#include "../runtime/middleware.h"
#include "compiler.h"
#include "hcache.h"
#include "reloader_internal.h"
#include "sqlcheck.h"
#include "watcher.h"

/* How often the schema is looked at for changes made by other processes
 * (`cotdev migrate --apply`): a read of one pragma, about 10 µs. */
#define RELOADER_SCHEMA_POLL_MS 250

reloader_state reloader = {.lock = PTHREAD_MUTEX_INITIALIZER, .evfd = -1};

/* ==== small helpers ==================================================== */

bool
reloader_is_source(const char *path)
{
	size_t n = strlen(path);
	return n > 2 && path[n - 2] == '.' && (path[n - 1] == 'c' || path[n - 1] == 'h');
}

const char *
reloader_color(const char *code)
{
	return reloader.opt.color ? code : "";
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
	if (!watcher_pending() && !atomic_load(&reloader.busy))
		return;
	pthread_mutex_lock(&reloader.lock);
	atomic_store(&reloader.busy, true);
	reloader_process();
	atomic_store(&reloader.busy, false);
	pthread_mutex_unlock(&reloader.lock);
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
	while (!atomic_load(&reloader.stop)) {
		struct pollfd p[2] = {{watcher_get_fd(), POLLIN, 0}, {reloader.evfd, POLLIN, 0}};
		int n = poll(p, 2, RELOADER_SCHEMA_POLL_MS);
		if (n < 0 && errno != EINTR)
			break;
		if (atomic_load(&reloader.stop))
			break;
		if (n == 0) { /* quiet: has another process changed the schema? */
			pthread_mutex_lock(&reloader.lock);
			reloader_recheck_sql();
			pthread_mutex_unlock(&reloader.lock);
			continue;
		}
		if (p[0].revents & POLLIN) {
			reloader_debounce();
			reloader_sync();
		}
		if (p[1].revents & POLLIN) {
			uint64_t v;
			if (read(reloader.evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				perror("cot: eventfd");
			pthread_mutex_lock(&reloader.lock);
			reloader_reclaim_all();
			pthread_mutex_unlock(&reloader.lock);
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
	reloader.opt = *opt;
	const char *hc = getenv("COT_HEADER_CACHE");
	compiler_header_cache = hc == NULL || strcmp(hc, "0") != 0;
	router_owner_idle_hook = reloader_owner_idle;
	reloader.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
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
	pthread_mutex_lock(&reloader.lock);
	reloader.schema_version = sqlcheck_app_schema_version();
	for (int i = 0; i < ch.n; i++)
		reloader_refresh(ch.paths[i], false, WATCHER_COMPLETE);
	pthread_mutex_unlock(&reloader.lock);
	watcher_changes_free(&ch);
	int failed = 0;
	for (int i = 0; i < reloader.nunits; i++)
		failed += reloader.units[i]->error != NULL ||
		          (reloader.units[i]->current != NULL &&
		           reloader.units[i]->current->error != NULL);
	return failed;
}

/* Files the reloader knows (handlers, helpers): `cotdev check`'s summary. */
int
reloader_file_count(void)
{
	return reloader.nunits;
}

int
reloader_start(void)
{
	return pthread_create(&reloader.thread, NULL, reloader_main, NULL);
}

/* Lists the routes currently served; for `cotdev routes` and /_cot/routes. */
void
reloader_routes(FILE *out)
{
	pthread_mutex_lock(&reloader.lock);
	int n = router_count();
	for (int s = 0; s < n; s++) {
		binding *b = router_binding(s);
		if (b == NULL)
			continue;
		fprintf(out, "%-7s %-32s %s:%d%s\n", router_slot_method(s), router_slot_pattern(s),
		        b->file, b->line, b->error ? "  (compile error)" : "");
	}
	pthread_mutex_unlock(&reloader.lock);
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
	pthread_mutex_lock(&reloader.lock);
	int n = router_count();
	for (int s = 0; s < n; s++) {
		binding *b = router_binding(s);
		if (b != NULL)
			fn(arg, router_slot_method(s), router_slot_pattern(s), b);
	}
	pthread_mutex_unlock(&reloader.lock);
}

/* Stops the thread and frees everything; no request may be running. */
void
reloader_shutdown(void)
{
	if (reloader.thread) {
		atomic_store(&reloader.stop, true);
		reloader_owner_idle(NULL);
		pthread_join(reloader.thread, NULL);
		reloader.thread = 0;
	}
	int n = router_count();
	for (int s = 0; s < n; s++)
		router_bind(s, NULL);
	for (int i = 0; i < reloader.nunits; i++)
		if (reloader.units[i]->mw_slot >= 0)
			middleware_bind(reloader.units[i]->mw_slot, NULL, NULL);
	/* retire all first: a shared module goes once its last caller has */
	for (module *m = reloader.all_modules; m != NULL; m = m->next_all)
		atomic_store(&m->owner.retired, true);
	for (module *m = reloader.all_modules; m != NULL; m = m->next_all)
		reloader_module_reclaim(m);
	for (module *m = reloader.all_modules, *next; m != NULL; m = next) {
		next = m->next_all;
		free(m->links);
		free(m->bindings);
		free(m->slots);
		free(m);
	}
	reloader.all_modules = NULL;
	for (int i = 0; i < reloader.nunits; i++) {
		deps_free(&reloader.units[i]->deps);
		free(reloader.units[i]->error);
		free(reloader.units[i]->path);
		free(reloader.units[i]);
	}
	free(reloader.units);
	reloader.units = NULL;
	reloader.nunits = reloader.capunits = 0;
	memset(reloader.slot_owner, 0, sizeof(reloader.slot_owner));
	router_reset();
	middleware_reset();
	sqlcheck_shutdown();
	hcache_shutdown();
	if (reloader.opt.watch)
		watcher_close();
	if (reloader.evfd >= 0)
		close(reloader.evfd);
	reloader.evfd = -1;
}
