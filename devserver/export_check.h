/*
 * export_check.h -- each exported object may use only what `cotdev run`
 * lets the same file use (the policy of linkcheck.c).
 */
#ifndef COT_EXPORT_CHECK_H
#define COT_EXPORT_CHECK_H

#include <stdbool.h>

#include "libs.h"

typedef struct export_symbols {
	char **names;
	int n;
} export_symbols;

/* Appends obj's global symbols: the defined ones, or the undefined ones. */
int export_symbols_read(const char *obj, bool defined, export_symbols *out);
void export_symbols_free(export_symbols *s);

/*
 * Checks the undefined symbols of obj (compiled from src, relative to the
 * app, the cwd) against cot's API, `shared` (what the lib/ objects define)
 * minus `own` (what obj itself defines), the C library, jansson and the
 * libraries src declares. Prints each refusal gcc-style; returns their number.
 */
int export_check_object(const char *src, const char *obj, const libs_set *libs,
                        const export_symbols *shared, const export_symbols *own);

/* Reads the COT_LIBS of files[0..n) into sets[]; prints errors, returns
 * how many files failed. */
int export_libs_declared(char *const *files, int n, libs_set *sets);

/* Checks tmp/h_I.o (handlers[I]) and tmp/l_I.o (libsrc[I]); returns how
 * many files use what they may not. */
int export_check_all(const char *tmp, char *const *handlers, int nh, const libs_set *hlibs,
                     char *const *libsrc, int nl, const libs_set *llibs);

/*
 * Writes the C file of `app_offload`: for each handler tmp/h_I.o, 1 when
 * its routes run on the handler pool -- it refers to one of the offload
 * symbols (linkcheck_offload_symbol: cot_password_*, COT_OFFLOAD), or to
 * a function of a lib/ object tmp/l_I.o that does (directly or through
 * other lib/ code), as cotdev run decides from what libtcc binds. 0 or -1.
 */
int export_offload_write(const char *tmp, int nh, int nl, const char *path);

#endif
