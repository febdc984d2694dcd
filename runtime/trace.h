/*
 * trace.h -- traces (trace.c): where a crash or an API misuse happened,
 * as file:line with the source line, in the request's arena.
 */
#ifndef COT_TRACE_H
#define COT_TRACE_H

#include <stdint.h>

#include "../include/cot.h"
#include "crash.h"
#include "router.h"

/* One source location of a trace; file is NULL for code not the app's. */
typedef struct trace_site {
	const char *file;
	const char *func;
	int line;
} trace_site;

#define TRACE_MAX_INLINE 8 /* sites of one address: a function and its inliners */

/* How traces read code's line tables (dev: tcclines; export: libdw, see
 * symbolize.c). The lookup fills the sites of pc innermost first -- more
 * than one where gcc inlined a function into its caller -- and returns how
 * many (0: unknown). */
extern int (*trace_lookup_hook)(const void *debug, uintptr_t pc, trace_site *sites, int max);

void trace_respond(cot_ctx *c, const binding *b, const crash_report *rep);

/*
 * "CALL\n  handlers/x.c:12\n       12 | source" for an API call made at
 * file:line (just CALL when file is NULL), in the request's arena.
 */
char *trace_call_at(cot_ctx *c, const char *file, int line, const char *call);

/* A short trace of a crash, in the request's arena; *detail gets one line. */
char *trace_format(cot_ctx *c, const binding *b, const crash_report *r, const char **detail);

#endif /* COT_TRACE_H */
