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

#include "accesslog.h"
#include "crash.h"
#include "ctx.h"
#include "error.h"
#include "router.h"
#include "trace.h"

#define TRACE_MAX_LINES      25
#define TRACE_MAX_APP_FRAMES 8

int (*trace_lookup_hook)(const void *debug, uintptr_t pc, trace_site *sites, int max);

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
	if (r->exit_call != NULL)
		return arena_printf(a,
		                    "%s(%d) was called: a handler answers with a response and "
		                    "cannot end the server",
		                    r->exit_call, r->exit_status);
	switch (r->sig) {
	case SIGSEGV: {
		uintptr_t d = r->addr > r->sp ? r->addr - r->sp : r->sp - r->addr;
		if (d < 256 * 1024)
			return "stack overflow (unbounded recursion?)";
		if (r->addr < 4096)
			return arena_printf(
			        a, "segmentation fault: NULL pointer access (address 0x%lx)",
			        (unsigned long)r->addr);
		return arena_printf(a, "segmentation fault: invalid memory access at 0x%lx",
		                    (unsigned long)r->addr);
	}
	case SIGBUS:
		return arena_printf(a, "bus error at 0x%lx", (unsigned long)r->addr);
	case SIGFPE:
		return r->code == FPE_INTDIV   ? "arithmetic error: integer division by zero"
		       : r->code == FPE_INTOVF ? "arithmetic error: integer overflow"
		                               : "arithmetic error";
	case SIGILL:
		return "illegal instruction";
	case SIGABRT:
		return "abort() was called";
	default:
		return arena_printf(a, "signal %d", r->sig);
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

/* The app frames of a trace as they are collected, consecutive repeats
 * (recursion) folded into the frame before. */
typedef struct trace_state {
	arena *a;
	char *out;
	const char *first; /* "file:line func" of the innermost app frame */
	trace_site prev;   /* the frame waiting to be printed */
	int repeat, shown, lines, more;
} trace_state;

/* Prints the frame waiting, if any, and makes `next` the one waiting. */
static void
trace_flush(trace_state *t, const trace_site *next)
{
	if (t->prev.file != NULL) {
		if (t->shown < TRACE_MAX_APP_FRAMES && t->lines + 2 <= TRACE_MAX_LINES - 2) {
			t->lines += trace_frame(t->a, &t->out, t->prev.file, t->prev.line,
			                        t->prev.func, t->repeat);
			t->shown++;
		} else {
			t->more += t->repeat;
		}
	}
	t->prev = next ? *next : (trace_site){0};
	t->repeat = 1;
}

/* One app frame, innermost first. */
static void
trace_add(trace_state *t, const trace_site *s)
{
	if (t->first == NULL)
		t->first = arena_printf(t->a, "%s:%d %s", s->file, s->line, s->func);
	if (t->prev.file != NULL && s->line == t->prev.line && strcmp(s->file, t->prev.file) == 0)
		t->repeat++; /* the same frame again: recursion */
	else
		trace_flush(t, s);
}

char *
trace_format(cot_ctx *c, const binding *b, const crash_report *r, const char **detail)
{
	trace_state t = {.a = &c->mem, .lines = 1};
	t.out = arena_printf(t.a, "%s %s (request %s)\n", c->method, c->path, c->request_id);
	int hidden = 0;
	for (int i = 0; i < r->npcs; i++) {
		/* a return address points after the call: pc - 1 is in the call's line */
		uintptr_t pc = i == 0 ? r->pcs[0] : r->pcs[i] - 1;
		trace_site sites[TRACE_MAX_INLINE];
		int n = trace_lookup_hook ? trace_lookup_hook(b->debug, pc, sites, TRACE_MAX_INLINE)
		                          : 0;
		if (n == 0)
			hidden++;
		for (int j = 0; j < n; j++) {
			if (sites[j].file == NULL)
				hidden++;
			else
				trace_add(&t, &sites[j]);
		}
	}
	trace_flush(&t, NULL);
	if (t.more > 0)
		t.out = arena_printf(t.a, "%s  ... %d more frames of app code\n", t.out, t.more);
	hidden += trace_outer_frames();
	t.out = arena_printf(t.a, "%s  (%d framework frames hidden)", t.out, hidden);
	if (c->spawn_trail != NULL)
		t.out = arena_printf(t.a, "%s\n%s", t.out, c->spawn_trail);
	const char *what = trace_describe(t.a, r);
	*detail = t.first ? arena_printf(t.a, "%s in %s", what, t.first)
	                  : arena_printf(t.a, "%s in %s (no line information)", what, b->file);
	return t.out;
}

char *
trace_call_at(cot_ctx *c, const char *file, int line, const char *call)
{
	char *out = arena_printf(&c->mem, "%s\n", call);
	if (file != NULL) /* "file:line cot_redirect", as a db error names its call */
		trace_frame(&c->mem, &out, file, line,
		            arena_strndup(&c->mem, call, strcspn(call, "(")), 1);
	size_t len = strlen(out);
	if (len > 0 && out[len - 1] == '\n')
		out[len - 1] = '\0';
	return out;
}

/*
 * A handler (or hook) crashed or was stopped: log the trace (terminal in
 * development, log in production) and answer through the error pipeline.
 */
void
trace_respond(cot_ctx *c, const binding *b, const crash_report *rep)
{
	if (rep->abandoned)
		return; /* the watchdog answered 503 and logged it; nothing to send */
	const char *detail;
	char *trace = trace_format(c, b, rep, &detail);
	c->resp_headers = NULL; /* half-built headers of the crashed code */
	accesslog_error(c->method, c->path, c->request_id, rep->stuck ? "stopped" : "crash in",
	                detail, trace);
	/* production clients get the status and the request id, nothing else */
	error_respond_as(c, rep->stuck ? 503 : 500, rep->stuck ? "timeout" : "crash",
	                 error_dev_mode ? detail : NULL, trace);
	if (crash_exit_on_crash)
		atomic_store(&crash_exit_requested, true); /* server_access.c stops after sending */
}
