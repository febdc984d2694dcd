/*
 * export_link.c -- turning the app into objects and the objects into the
 * binary: the gcc compile jobs (the runtime the dev server is built from,
 * app_main.c, the generated files, each handler and lib/ file), objcopy's
 * isolation of each handler, the offload table, and the link and --check.
 *
 * The runtime's sources, cflags and libraries are the Makefile's, baked in
 * as COT_EXPORT_RUNTIME, COT_EXPORT_CFLAGS and COT_EXPORT_LIBS (never
 * libtcc, never libinotifytools): an export compiles exactly the runtime
 * cotdev runs. See export.c for the steps in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/crash_exit.h"
#include "export_cache.h"
#include "export_check.h"
#include "export_internal.h"

#ifndef COT_EXPORT_RUNTIME
#define COT_EXPORT_RUNTIME ""
#endif
#ifndef COT_EXPORT_CFLAGS /* include paths the runtime's libraries need */
#define COT_EXPORT_CFLAGS ""
#endif
#ifndef COT_EXPORT_LIBS
#define COT_EXPORT_LIBS "-lmicrohttpd -ljansson -lpthread"
#endif

/*
 * The flags every gcc compile gets. The app's own code (handlers, lib/) sees
 * include/ -- cot.h and cot_impl.h only, as under cotdev run -- then lib/, so
 * no runtime header shadows a user's lib/server.h or glibc's <error.h>. The
 * runtime's files find their headers beside them; the generated files
 * (app_embed.c: embed.h) get runtime/ instead of lib/. So the runtime
 * compiles exactly as for cotdev, whatever the app holds, and its objects
 * can be cached (export_cache.c).
 */
static void
export_link_cc(strvec *a, const export_state *x, bool app_code)
{
	strvec_push(a, "gcc");
	strvec_push_words(a, "-c -O2 -g -std=c11 -D_GNU_SOURCE");
	if (isatty(STDERR_FILENO))
		strvec_push(a, "-fdiagnostics-color=always");
	strvec_pushf(a, "-I%s/include", x->home);
	if (app_code)
		strvec_push(a, "-Ilib"); /* as cotdev run: #include "util.h" finds lib/util.h */
	else
		strvec_pushf(a, "-I%s/runtime", x->home);
	strvec_push_words(a, COT_EXPORT_CFLAGS);
}

/* One compile job: src -> tmp/obj; `define` is NULL or -D flags (words);
 * `libs` the declared libraries (their cflags) of a file of the app's own
 * code (a handler or lib/ file), NULL for the runtime's and generated files. */
static void
export_link_add_compile(export_state *x, export_job *j, const char *src, const char *obj,
                        const char *define, const libs_set *libs)
{
	export_link_cc(&j->argv, x, libs != NULL);
	if (define != NULL)
		strvec_push_words(&j->argv, define);
	if (libs != NULL)
		strvec_push_words(&j->argv, libs->cflags);
	strvec_push(&j->argv, src);
	strvec_push(&j->argv, "-o");
	strvec_pushf(&j->argv, "%s/%s", x->tmp, obj);
	snprintf(j->log, sizeof(j->log), "%s/%s.log", x->tmp, obj);
	strvec_pushf(&x->objects, "%s/%s", x->tmp, obj);
}

/* One runtime file: its object from the cache, or a compile job (run in
 * COT_HOME, so its object says nothing of the app); 1 if a job was added. */
static int
export_link_add_runtime(export_state *x, export_job *j, const char *src, const char *obj)
{
	char path[sizeof(x->tmp) + 64];
	snprintf(path, sizeof(path), "%s/%s", x->tmp, obj);
	strvec_pushf(&x->objects, "%s", path);
	export_link_cc(&j->argv, x, false);
	strvec_push(&j->argv, src);
	if (export_cache_fetch(&x->cache, &j->argv, path)) {
		strvec_free(&j->argv);
		return 0;
	}
	export_cache_dep_flags(&j->argv, path);
	strvec_push(&j->argv, "-o");
	strvec_push(&j->argv, path);
	snprintf(j->log, sizeof(j->log), "%s.log", path);
	j->dir = x->home;
	return 1;
}

/* Builds the list of compile jobs; returns their number. */
int
export_link_plan(export_state *x, export_job **out)
{
	strvec rt = {0};
	strvec_push_words(&rt, COT_EXPORT_RUNTIME);
	int n = rt.n + x->handlers.n + x->libsrc.n + 3, k = 0;
	export_job *jobs = calloc((size_t)n, sizeof(*jobs));
	strvec flags = {0}; /* the runtime's compile flags, for the cache's key */
	export_link_cc(&flags, x, false);
	export_cache_open(&x->cache, x->home, x->tmp, &flags);
	strvec_free(&flags);
	char src[PATH_MAX];
	for (int i = 0; i <= rt.n; i++) { /* the runtime, then app_main.c */
		char obj[64] = "app_main.o";
		snprintf(src, sizeof(src), "%s/%s", x->home,
		         i < rt.n ? rt.v[i] : "runtime/app_main.c");
		if (i < rt.n)
			snprintf(obj, sizeof(obj), "rt_%d.o", i);
		k += export_link_add_runtime(x, &jobs[k], src, obj);
	}
	snprintf(src, sizeof(src), "%s/app_modules.c", x->tmp);
	export_link_add_compile(x, &jobs[k++], src, "app_modules.o", NULL, NULL);
	snprintf(src, sizeof(src), "%s/app_embed.c", x->tmp);
	export_link_add_compile(x, &jobs[k++], src, "app_embed.o", NULL, NULL);
	for (int i = 0; i < x->libsrc.n; i++) { /* shared code: one object each */
		char obj[64];
		snprintf(obj, sizeof(obj), "l_%d.o", i);
		export_link_add_compile(x, &jobs[k++], x->libsrc.v[i], obj, NULL, &x->llibs[i]);
	}
	for (int i = 0; i < x->handlers.n; i++) {
		char obj[64], def[128];
		snprintf(obj, sizeof(obj), "h_%d.o", i);
		snprintf(def, sizeof(def),
		         "-DCOT_MODULE_SYMBOL=cot_module_%d "
		         "-DCOT_MIDDLEWARE_SYMBOL=cot_middleware_%d",
		         i, i);
		export_link_add_compile(x, &jobs[k++], x->handlers.v[i], obj, def, &x->hlibs[i]);
	}
	strvec_free(&rt);
	*out = jobs;
	return k;
}

/* gcc's code sections: -O2 moves cold paths to .text.unlikely. */
static const char *const export_link_text_sections[] = {
        ".text", ".text.unlikely", ".text.hot", ".text.startup", ".text.exit", NULL,
};

/* objcopy each handler object down to its two tables as global symbols
 * (routes, middleware), with its code in section cot_handler_text. */
int
export_link_isolate(export_state *x, int nhandlers)
{
	int nlib = x->libsrc.n;
	export_job *jobs = calloc((size_t)(nhandlers + nlib + 1), sizeof(*jobs));
	for (int i = 0; i < nlib; i++) { /* shared code keeps its globals */
		export_job *j = &jobs[nhandlers + i];
		strvec_push(&j->argv, "objcopy");
		for (int k = 0; export_link_text_sections[k] != NULL; k++)
			strvec_pushf(&j->argv, "--rename-section=%s=cot_handler_text",
			             export_link_text_sections[k]);
		strvec_pushf(&j->argv, "%s/l_%d.o", x->tmp, i);
		snprintf(j->log, sizeof(j->log), "%s/objcopy_l%d.log", x->tmp, i);
	}
	for (int i = 0; i < nhandlers; i++) {
		strvec_push(&jobs[i].argv, "objcopy");
		strvec_pushf(&jobs[i].argv, "--keep-global-symbol=cot_module_%d", i);
		strvec_pushf(&jobs[i].argv, "--keep-global-symbol=cot_middleware_%d", i);
		for (int k = 0; export_link_text_sections[k] != NULL; k++)
			strvec_pushf(&jobs[i].argv, "--rename-section=%s=cot_handler_text",
			             export_link_text_sections[k]);
		/* exit() and its kin answer 500, as tcc_add_symbol makes them in
		 * development (runtime/crash_exit.c) */
		for (const crash_exit_symbol *e = crash_exit_symbols; e->name != NULL; e++)
			strvec_pushf(&jobs[i].argv, "--redefine-sym=%s=%s", e->name,
			             e->replacement);
		strvec_pushf(&jobs[i].argv, "%s/h_%d.o", x->tmp, i);
		snprintf(jobs[i].log, sizeof(jobs[i].log), "%s/objcopy_%d.log", x->tmp, i);
	}
	int failed = export_jobs_run(jobs, nhandlers + nlib, x->jobs, x->app);
	for (int i = 0; i < nhandlers + nlib; i++)
		strvec_free(&jobs[i].argv);
	free(jobs);
	return failed;
}

/* Links BIN.tmp, runs its --check, renames it to BIN. */
int
export_link_binary(export_state *x)
{
	char tmpbin[PATH_MAX + 8];
	snprintf(tmpbin, sizeof(tmpbin), "%s.tmp", x->out);
	export_job j[2] = {0};
	strvec_push(&j[0].argv, "gcc");
	strvec_push(&j[0].argv, "-O2");
	for (int i = 0; i < x->objects.n; i++)
		strvec_push(&j[0].argv, x->objects.v[i]);
	strvec_push(&j[0].argv, "-o");
	strvec_push(&j[0].argv, tmpbin);
	strvec_push_words(&j[0].argv, COT_EXPORT_LIBS);
	strvec_push(&j[0].argv, "-lm"); /* part of the C library for handlers, as in cotdev run */
	for (int i = 0; i < x->handlers.n + x->libsrc.n; i++) {
		const libs_set *l = i < x->handlers.n ? &x->hlibs[i] : &x->llibs[i - x->handlers.n];
		strvec_push_words(&j[0].argv, l->ldflags);
	}
	snprintf(j[0].log, sizeof(j[0].log), "%s/link.log", x->tmp);
	int failed = export_jobs_run(&j[0], 1, 1, x->app);
	if (failed == 0) {
		strvec_push(&j[1].argv, tmpbin);
		strvec_push(&j[1].argv, "--check");
		snprintf(j[1].log, sizeof(j[1].log), "%s/check.log", x->tmp);
		failed = export_jobs_run(&j[1], 1, 1, x->app);
	}
	if (failed == 0 && rename(tmpbin, x->out) != 0) {
		fprintf(stderr, "cotdev export: cannot write %s: %s\n", x->out, strerror(errno));
		failed = 1;
	}
	if (failed)
		unlink(tmpbin);
	strvec_free(&j[0].argv);
	strvec_free(&j[1].argv);
	return failed;
}

/* app_offload.c (export_check.c) from the compiled handlers, compiled. */
int
export_link_offload(export_state *x)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/app_offload.c", x->tmp);
	if (export_offload_write(x->tmp, x->handlers.n, x->libsrc.n, path) != 0)
		return 1;
	export_job j = {0};
	export_link_add_compile(x, &j, path, "app_offload.o", NULL, NULL);
	int failed = export_jobs_run(&j, 1, 1, x->app);
	strvec_free(&j.argv);
	return failed;
}
