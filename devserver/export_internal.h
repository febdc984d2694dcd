/*
 * export_internal.h -- what the export_*.c files share: the state of one
 * `cotdev export` run and each step's entry point.
 */
#ifndef COT_EXPORT_INTERNAL_H
#define COT_EXPORT_INTERNAL_H

#include <limits.h>
#include <stdbool.h>

#include "export_cache.h"
#include "export_jobs.h"
#include "libs.h"
#include "strvec.h"

typedef struct export_state {
	const char *home;
	char app[PATH_MAX]; /* absolute app directory */
	char tmp[256];      /* private build directory */
	char out[PATH_MAX]; /* absolute output path */
	int jobs;
	const char *db; /* --db or $DATABASE_URL: PostgreSQL when a URL */
	strvec handlers, embedded, objects;
	strvec libsrc;           /* the .c files of lib/: shared code, linked once */
	libs_set *hlibs, *llibs; /* each file's COT_LIBS */
	export_cache cache;      /* the runtime's objects from earlier exports */
} export_state;

/* export_collect.c: chdir to the app, list its handlers, lib/ files and
 * embedded files (sorted); -1 on a name the embedding cannot carry. */
int export_collect(export_state *x);

/* export_sql.c: the handlers' SQL against schema.sql; the number of files
 * that failed (each said why on stderr). */
int export_sql_check(const export_state *x);

/* export_gen.c: app_modules.c and app_embed.c at `path`; 0 or -1. */
int export_gen_modules(const char *path, const strvec *handlers);
int export_gen_embed(const char *path, const strvec *files);
/* Whether the assembler's string syntax can hold the name verbatim. */
int export_gen_embeddable(const char *path);

/* export_link.c: the compile jobs (*out, malloc'd; returns their number),
 * the offload table, objcopy's isolation, the link; each returns the
 * number of jobs that failed. */
int export_link_plan(export_state *x, export_job **out);
int export_link_offload(export_state *x);
int export_link_isolate(export_state *x, int nhandlers);
int export_link_binary(export_state *x);

/* export_report.c: the summary, and the Debian packages the binary needs. */
void export_report(const export_state *x, double t0);
void export_report_packages(const export_state *x);

#endif
