/*
 * compiler.h -- libtcc: handler source file -> relocated in-memory module.
 * In the dev server the libtcc calls (compiler_compile, compiler_module_free,
 * compiler_find_export) run with the reloader lock held; compiler_format
 * only rewrites text, so the export's link check calls it too.
 */
#ifndef COT_COMPILER_H
#define COT_COMPILER_H

#include <libtcc.h>
#include <stdbool.h>

#include "../include/cot.h"

#define COMPILER_STR_(x)           #x
#define COMPILER_STR(x)            COMPILER_STR_(x)
#define COMPILER_TABLE_SYMBOL      COMPILER_STR(COT_MODULE_SYMBOL)
#define COMPILER_MIDDLEWARE_SYMBOL COMPILER_STR(COT_MIDDLEWARE_SYMBOL)

/* A runtime function handler code may call, by name. */
typedef struct compiler_symbol {
	const char *name;
	const void *addr;
} compiler_symbol;

/* The public API handed to tcc (compiler_api.c); ends with { NULL, NULL }. */
extern const compiler_symbol compiler_api[];

struct linkcheck_scope;

typedef struct compiler_options {
	const char *include_dir; /* where cot.h lives */
	const char *options;     /* extra tcc options, e.g. "-g"; may be NULL */
	const char *cflags;      /* the declared libraries' cflags; may be NULL */
	/* Which symbols the file may link against (linkcheck.h); NULL: any the
	 * process has, as libtcc does by itself. */
	struct linkcheck_scope *scope;
	bool shared;     /* a lib/ file: no route table, list its exports */
	const char *src; /* the file's text as the caller read it; NULL: read it */
} compiler_options;

/* A non-static symbol a shared (lib/) module defines, for other modules. */
typedef struct compiler_export {
	char *name;
	void *addr;
} compiler_export;

/*
 * A compiled handler file: its code image (owned, mapped by tcclines), its
 * line table for traces, and its route table (inside the code image).
 */
typedef struct compiler_module {
	void *code;
	size_t size;
	struct tcclines *lines;
	const cot_module *table;          /* NULL when the file declares only middleware */
	const cot_middleware *middleware; /* NULL when it declares none */
	compiler_export *exports;         /* shared modules only: sorted by name */
	int nexports;
	bool offload; /* its routes run on the handler pool: it calls
	               * cot_password_* or says COT_OFFLOAD (linkcheck.c) */
} compiler_module;

/* Leading system #includes preprocessed once (hcache.c); true by default. */
extern bool compiler_header_cache;

int compiler_compile(const char *path, const compiler_options *opt, compiler_module *out,
                     char **error);
void compiler_module_free(compiler_module *m);
void *compiler_find_export(const compiler_module *m, const char *name);
char *compiler_format(const char *raw);
int compiler_guess_column(const char *src, const char *msg);

#endif
