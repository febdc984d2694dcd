/*
 * tcclines.h -- source lines for code that libtcc compiled into memory.
 *
 * libtcc 0.9.27 (Debian 0.9.27+git20200814) has no public API for line
 * numbers. Compiled with "-g", a TCCState keeps a stabs line table in its
 * in-memory ".stab"/".stabstr" sections, relocated to the addresses the code
 * was copied to. tcclines_build copies that table out of the TCCState into
 * one flat, sorted block, so lookups need neither the TCCState nor malloc:
 * the crash handler may call tcclines_lookup and tcclines_contains from a
 * signal handler. See docs/tcc-debug.md for the measurements behind this.
 *
 * The calling sequence, on the compiler thread, under the libtcc mutex:
 *
 *	s = tcc_new();
 *	tcc_set_lib_path(s, ...); tcc_set_error_func(s, ...);
 *	tcc_set_options(s, "-g");              // line table; required
 *	tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
 *	tcc_add_symbol(s, ...); tcc_add_file(s, "handlers/notes.c");
 *	code = tcclines_relocate(s, &size);    // instead of tcc_relocate
 *	routes = tcc_get_symbol(s, ...);
 *	lines = tcclines_build(s, code, size);
 *	tcc_delete(s);                         // allowed now: nothing points into s
 *	... serve requests ...
 *	// when no request runs the module's code any more:
 *	tcclines_free(lines); tcclines_unmap(code, size);
 *
 * Ownership: the code memory belongs to the caller (the module) from
 * tcclines_relocate until tcclines_unmap; tcc_delete does not free it. The
 * tcclines block owns copies of every string it returns; they live until
 * tcclines_free.
 */
#ifndef COT_TCCLINES_H
#define COT_TCCLINES_H

#include <libtcc.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tcclines tcclines;

/*
 * Relocate s into fresh memory mapped read-write-execute, replacing
 * tcc_relocate(s, TCC_RELOCATE_AUTO). On success returns the base and sets
 * *size to the mapping's length; the module's code and data lie inside
 * [base, base + *size). Returns NULL when relocation fails (undefined
 * symbol...: the message went to the TCCState's error callback) or mmap fails.
 */
void *tcclines_relocate(TCCState *s, size_t *size);

/* Release memory from tcclines_relocate. Call after the last use of the code. */
void tcclines_unmap(void *code, size_t size);

/*
 * Copy the line table of s, compiled with "-g" and relocated to
 * [code, code + size), into a new block. Call after tcclines_relocate and
 * before tcc_delete. Returns NULL only when out of memory. Without "-g" (or
 * with an unrecognised table) the block is empty: tcclines_contains still
 * works and tcclines_lookup finds nothing.
 */
tcclines *tcclines_build(TCCState *s, const void *code, size_t size);

/*
 * Resolve pc to its file, line and function. For the faulting frame pass the
 * faulting pc itself; for caller frames pass the return address minus one so
 * the call's own line is found. Returns 1 and sets the outputs when pc is in
 * a function with line information, else 0 and leaves them untouched.
 * Strings belong to t. Async-signal-safe; t is never modified.
 */
int tcclines_lookup(const tcclines *t, uintptr_t pc, const char **file, int *line,
                    const char **func);

/* 1 when pc lies in the module's memory [code, code + size), else 0. */
int tcclines_contains(const tcclines *t, uintptr_t pc);

/* Number of functions with line information (0 when built without -g). */
size_t tcclines_count(const tcclines *t);

/* Makes the code of `links` (shared lib/ modules t's code calls, which
 * must outlive t) count as t's for tcclines_contains and _lookup. */
int tcclines_link(tcclines *t, const tcclines *const *links, size_t n);

/* Free t and its strings. NULL is allowed. */
void tcclines_free(tcclines *t);

#endif
