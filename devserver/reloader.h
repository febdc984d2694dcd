/*
 * reloader.h -- handler modules, generations, slot swaps, reclamation.
 */
#ifndef COT_RELOADER_H
#define COT_RELOADER_H

#include <stdbool.h>
#include <stdio.h>

typedef struct reloader_stats {
	long reloads;
	long errors;
} reloader_stats;

typedef struct reloader_options {
	const char *handlers_dir; /* "handlers", relative to the app directory */
	/* Shared C code ("lib"): each .c is compiled once, exports its non-static
	 * symbols to the handlers, and is reloaded like them. May be NULL. */
	const char *lib_dir;
	/* More directories to watch recursively (templates, static), NULL-ended;
	 * a change there is reported as ("change", path, NULL). May be NULL. */
	const char *const *watch_dirs;
	/* Files in the app directory itself to report the same way (schema.sql). */
	const char *const *watch_files;
	/* A saved file under it is parsed as a template first: an error is
	 * reported ("error", file, text) instead of the change (see
	 * reloader_template.c). May be NULL. */
	const char *templates_dir;
	const char *include_dir; /* directory holding cot.h */
	const char *tcc_options; /* extra tcc options or NULL */
	bool watch;              /* false: compile once (cotdev check/routes) */
	bool color;              /* ANSI colours in terminal lines */
	bool quiet_reloads;      /* no "reloaded ..." lines */
	/*
	 * Told about every reload outcome, under the reloader lock:
	 * ("reload", file, NULL) after a good compile, ("error", file, text)
	 * after a failed one (text is the gcc-style message), ("remove", file,
	 * NULL) when a file's routes went away, ("change", path, NULL) for a
	 * saved file under watch_dirs or in watch_files, ("error", file, text)
	 * for a saved template that does not parse.
	 */
	void (*on_event)(const char *event, const char *file, const char *error);
	reloader_stats stats;
} reloader_options;

int reloader_init(const reloader_options *opt, char *err, size_t errlen);
int reloader_start(void);
int reloader_file_count(void);
void reloader_sync(void);
void reloader_routes(FILE *out);
struct binding;
void reloader_each_route(void (*fn)(void *arg, const char *method, const char *pattern,
                                    const struct binding *b),
                         void *arg);
void reloader_shutdown(void);

#endif
