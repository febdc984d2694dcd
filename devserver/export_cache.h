/*
 * export_cache.h -- export_cache.c: the runtime's objects, compiled once
 * and reused by every later `cotdev export` while nothing they are made
 * from changed.
 */
#ifndef COT_EXPORT_CACHE_H
#define COT_EXPORT_CACHE_H

#include <limits.h>

#include "export_jobs.h"
#include "strvec.h"

typedef struct export_cache_file export_cache_file;
typedef struct export_cache_miss export_cache_miss;

typedef struct export_cache {
	char dir[PATH_MAX - 128]; /* "" when there is no cache; room for a name after it */
	unsigned char ident[32];  /* the compiler, its environment, the include dirs */
	double start;             /* wall clock before the compiles ran */
	export_cache_file *files; /* each file's contents hash, read once */
	int nfiles, capfiles;
	export_cache_miss *miss; /* objects to store once compiled */
	int nmiss, capmiss;
	int hits;
} export_cache;

/* Opens the cache for compiles whose common flags are `cflags` (their -I
 * dirs count too): $COT_EXPORT_CACHE, else HOME/build/export-cache; "off"
 * there, or a directory that cannot be made, leaves c->dir empty and every
 * object compiled as without a cache. `tmp` is the export's private dir. */
void export_cache_open(export_cache *c, const char *home, const char *tmp, const strvec *cflags);

/* Whether the object of the compile `argv` (gcc's words but -o and the
 * output) is cached: 1 and a copy at `obj`, or 0: the caller compiles it
 * and adds the words export_cache_dep_flags gives, so the cache learns
 * which files the object was made from. */
int export_cache_fetch(export_cache *c, const strvec *argv, const char *obj);

/* The gcc flags that write the dependency file of a missed `obj`. */
void export_cache_dep_flags(strvec *argv, const char *obj);

/* Stores every object that export_cache_fetch missed and that one of the
 * `n` jobs (run) compiled: the job whose last word is the object. A file
 * changed during the compile keeps its object out of the cache. */
void export_cache_store(export_cache *c, const export_job *jobs, int n);

/* Frees what the cache holds in memory. */
void export_cache_close(export_cache *c);

#endif
