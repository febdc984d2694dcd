/*
 * trace.c -- short, readable traces: the request, then the app's own frames.
 *
 * A crash report holds raw addresses (crash.c collects them in the signal
 * handler). Here, back in ordinary code, each address is resolved through
 * the module's line table. Only frames inside the handler's module are shown,
 * innermost first, each as `handlers/x.c:LINE function` with that source
 * line; every other frame -- the runtime, libc, libmicrohttpd -- is counted
 * into one "N framework frames hidden" line. Deep recursion is cut after a
 * few frames, so a trace never passes TRACE_MAX_LINES and the line to fix is
 * always right under the request.
 */
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TRACE_MAX_LINES 25
#define TRACE_MAX_APP_FRAMES 8

int (*trace_lookup_hook)(const void *debug, uintptr_t pc, const char **file, int *line,
                         const char **func);

/* Line `lineno` of `path`, trimmed, in the arena; NULL if unreadable. */
static char *
trace_source_line(arena *a, const char *path, int lineno)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char buf[512];
	char *got = NULL;
	for (int i = 0; i < lineno && (got = fgets(buf, sizeof(buf), f)) != NULL; i++)
		;
	fclose(f);
	if (got == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	char *p = buf;
	while (*p == ' ' || *p == '\t')
		p++;
	return arena_strdup(a, p);
}

/* One sentence for what happened. */
static const char *
trace_describe(arena *a, const crash_report *r)
{
	if (r->stuck)
		return "the handler ran past its time budget and was stopped";
	switch (r->sig) {
	case SIGSEGV: {
		uintptr_t d = r->addr > r->sp ? r->addr - r->sp : r->sp - r->addr;
		if (d < 256 * 1024)
			return "stack overflow (unbounded recursion?)";
		if (r->addr < 4096)
			return arena_printf(a, "segmentation fault: NULL pointer access (address 0x%lx)",
			                    (unsigned long)r->addr);
		return arena_printf(a, "segmentation fault: invalid memory access at 0x%lx",
		                    (unsigned long)r->addr);
	}
	case SIGBUS: return arena_printf(a, "bus error at 0x%lx", (unsigned long)r->addr);
	case SIGFPE:
		return r->code == FPE_INTDIV ? "arithmetic error: integer division by zero"
		     : r->code == FPE_INTOVF ? "arithmetic error: integer overflow"
		                              : "arithmetic error";
	case SIGILL: return "illegal instruction";
	case SIGABRT: return "abort() was called";
	default: return arena_printf(a, "signal %d", r->sig);
	}
}

/* Frames above crash_call: runtime, MHD, libc, thread start. */
static int
trace_outer_frames(void)
{
	void *pcs[128];
	return backtrace(pcs, 128);
}

/* Appends one app frame and its source line; returns the lines used. */
static int
trace_frame(arena *a, char **out, const char *file, int line, const char *func, int repeat)
{
	*out = arena_printf(a, "%s  %s:%d %s", *out, file, line, func);
	if (repeat > 1)
		*out = arena_printf(a, "%s  (x%d: recursion)", *out, repeat);
	*out = arena_printf(a, "%s\n", *out);
	char *src = trace_source_line(a, file, line);
	if (src == NULL)
		return 1;
	*out = arena_printf(a, "%s    %5d | %s\n", *out, line, src);
	return 2;
}

char *
trace_format(cot_ctx *c, const binding *b, const crash_report *r, const char **detail)
{
	arena *a = &c->mem;
	char *out = arena_printf(a, "%s %s (request %s)\n", c->method, c->path, c->request_id);
	const char *first = NULL, *pfile = NULL, *pfunc = NULL;
	int shown = 0, lines = 1, hidden = 0, more = 0, pline = 0, repeat = 0;
	for (int i = 0; i <= r->npcs; i++) {
		const char *file = NULL, *func = NULL;
		int line = 0;
		if (i < r->npcs) {
			uintptr_t pc = i == 0 ? r->pcs[0] : r->pcs[i] - 1;
			if (trace_lookup_hook == NULL ||
			    !trace_lookup_hook(b->debug, pc, &file, &line, &func)) {
				hidden++;
				continue;
			}
			if (first == NULL)
				first = arena_printf(a, "%s:%d %s", file, line, func);
			if (pfile != NULL && line == pline && strcmp(file, pfile) == 0) {
				repeat++; /* the same frame again: recursion */
				continue;
			}
		}
		if (pfile != NULL) {
			if (shown < TRACE_MAX_APP_FRAMES && lines + 2 <= TRACE_MAX_LINES - 2) {
				lines += trace_frame(a, &out, pfile, pline, pfunc, repeat);
				shown++;
			} else {
				more += repeat;
			}
		}
		pfile = file, pline = line, pfunc = func, repeat = 1;
	}
	if (more > 0)
		out = arena_printf(a, "%s  ... %d more frames of app code\n", out, more);
	hidden += trace_outer_frames();
	out = arena_printf(a, "%s  (%d framework frames hidden)", out, hidden);
	if (c->spawn_trail != NULL)
		out = arena_printf(a, "%s\n%s", out, c->spawn_trail);
	const char *what = trace_describe(a, r);
	*detail = first ? arena_printf(a, "%s in %s", what, first)
	                : arena_printf(a, "%s in %s (no line information)", what, b->file);
	return out;
}

/*
 * A handler (or hook) crashed or was stopped: log the trace (terminal in
 * development, log in production) and answer through the error pipeline.
 */
void
trace_respond(cot_ctx *c, const binding *b, const crash_report *rep)
{
	const char *detail;
	char *trace = trace_format(c, b, rep, &detail);
	c->resp_headers = NULL; /* half-built headers of the crashed code */
	printf("%s %s %s: %s\n%s\n", rep->stuck ? "stopped" : "crash in", c->method, c->path,
	       detail, trace);
	fflush(stdout);
	/* production clients get the status and the request id, nothing else */
	error_respond(c, rep->stuck ? 503 : 500, server_dev_mode ? detail : NULL, trace);
	if (crash_exit_on_crash)
		atomic_store(&crash_exit_requested, true); /* server.c stops after sending */
}
