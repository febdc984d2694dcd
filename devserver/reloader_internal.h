/*
 * reloader_internal.h -- what the reloader's files share: units, modules and
 * the one reloader state, and the steps one file hands to the next.
 *
 *   reloader.c          the state, the thread and the barrier; start and stop
 *   reloader_change.c   a changed path -> which units to compile or unload
 *   reloader_compile.c  compiling a unit and reporting the outcome
 *   reloader_publish.c  route and middleware slots: which generation answers
 *   reloader_module.c   a generation's memory: retired, then freed when idle
 *   reloader_template.c a saved template's reload rule (reloader_template.h)
 *
 * Why one shared state, not state per file: every step of a reload runs
 * under the one reloader lock and works on the same units, slots and module
 * list -- a compile publishes into the slots, a publish retires a module, a
 * change walks the units. Splitting the state by file would split what the
 * lock protects together; so the state stays one struct, defined in
 * reloader.c, and these files read and write it with the lock held (each
 * function says so where it matters). Nothing outside the reloader's files
 * includes this header: the rest of the dev server sees reloader.h only.
 */
#ifndef COT_RELOADER_INTERNAL_H
#define COT_RELOADER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../runtime/router.h"
#include "compiler.h"
#include "deps.h"
#include "linkcheck.h"
#include "reloader.h"

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

typedef struct reloader_state {
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
} reloader_state;

/* The one reloader (reloader.c). Units, slots and modules change only with
 * reloader.lock held (but in reloader_shutdown, when nothing else runs);
 * opt and evfd are set once, by reloader_init. */
extern reloader_state reloader;

/* reloader.c: small helpers every file uses. */
const char *reloader_color(const char *code);
bool reloader_is_source(const char *path);

/* reloader_change.c: brings one path up to date, follows a changed path to
 * the units that include it, and rechecks SQL after a schema change. */
void reloader_refresh(const char *path, bool force, unsigned flags);
void reloader_changed(const char *path, unsigned flags);
void reloader_recheck_sql(void);

/* reloader_compile.c: compiles a unit and publishes the outcome; unloads a
 * unit whose file went away or lost its routes. */
int reloader_compile(unit *u, const char *src, uint64_t hash);
void reloader_unload(unit *u);

/* reloader_publish.c: slots and the generations that answer them. */
void reloader_unbind_others(unit *u, const module *keep);
int reloader_claim_slots(unit *u, const cot_module *t, module *m, char *err, size_t errlen);
int reloader_claim_middleware(unit *u, module *m, char *err, size_t errlen);
void reloader_publish(unit *u, module *m);
void reloader_publish_error(unit *u, char *error);

/* reloader_module.c: a generation's life and memory. */
module *reloader_module_new(unit *u, int nbindings);
void reloader_module_reclaim(module *m);
void reloader_module_link(module *m, const linkcheck_scope *scope);
void reloader_module_retire(module *m);
void reloader_reclaim_all(void);
void reloader_owner_idle(code_owner *o);

#endif /* COT_RELOADER_INTERNAL_H */
