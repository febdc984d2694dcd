/*
 * linkcheck.h -- which symbols one file may link against: cot's API, the C
 * library (libc, libm, libpthread, libdl, the vDSO), jansson, the libraries
 * it declares with COT_LIBS, and the app's shared code in lib/. Nothing
 * else, even where the process happens to have it loaded.
 */
#ifndef COT_LINKCHECK_H
#define COT_LINKCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "deps.h"
#include "libs.h"

typedef struct linkcheck_scope {
	const char *path;      /* the file being linked, relative to the app */
	const deps_list *deps; /* its quoted includes, to find a symbol's first use */
	const libs_set *libs;  /* what it declares */
	/* The app's shared code: the address of `name` in another shared module
	 * (or NULL), setting *owner to that module. May be NULL. */
	void *(*shared)(void *ctx, const char *name, void **owner);
	void *shared_ctx;
	/* results */
	char *errors; /* raw "FILE:LINE: error: ..." lines, malloc'd, or NULL */
	size_t errlen;
	int nerrors;
	void **owners; /* shared modules it links against, deduplicated */
	int nowners;
} linkcheck_scope;

/*
 * While a scope is entered, every symbol libtcc resolves through the
 * process (dlsym(RTLD_DEFAULT, ...), wrapped with ld --wrap=dlsym) goes
 * through linkcheck_resolve instead. Enter and leave around tcc_relocate,
 * under the reloader lock.
 */
void linkcheck_enter(linkcheck_scope *s);
void linkcheck_leave(void);

/* 0 and *addr when the file may use `name`; else -1 and one error line
 * appended to s->errors naming where `name` is first used and which
 * library to declare. */
int linkcheck_resolve(linkcheck_scope *s, const char *name, void **addr);

/* Line (1-based) and file of the first use of identifier `name` in path or
 * its includes; a use inside a function body wins over a prototype. */
int linkcheck_first_use(const char *path, const deps_list *deps, const char *name,
                        const char **file);

void linkcheck_scope_free(linkcheck_scope *s);

/*
 * The handler pool (runtime/server_pool.c): a file that calls one of these runs
 * its routes off the polling threads under --offload auto -- the password
 * calls (argon2id blocks for 50-100 ms) and cot_offload_marker, which
 * COT_OFFLOAD refers to. compiler.c leaves them out of tcc_add_symbol so
 * that libtcc asks dlsym for them, only when the file uses them; the
 * export reads the same names among each object's undefined symbols.
 * linkcheck_offload_symbol: the address to bind `name` to, or NULL when it
 * is no such symbol. seen: whether one was bound since the reset (the
 * compiling thread only, as libtcc).
 */
const void *linkcheck_offload_symbol(const char *name);
void linkcheck_offload_reset(void);
bool linkcheck_offload_seen(void);

#endif
