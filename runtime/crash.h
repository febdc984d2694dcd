/*
 * crash.h -- crash containment (crash.c): a handler call run so that a
 * fault, an exit() or a watchdog timeout answers 500/503 instead of ending
 * the process, and the report of what happened.
 */
#ifndef COT_CRASH_H
#define COT_CRASH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../include/cot.h"
#include "router.h"

#define CRASH_MAX_PCS 64

/* What the signal handler saw; filled in signal context, read after. */
typedef struct crash_report {
	int sig, code;
	uintptr_t addr;        /* si_addr */
	uintptr_t sp;          /* stack pointer at the fault */
	bool stuck;            /* stopped by the watchdog */
	bool abandoned;        /* the watchdog answered 503 and gave up on it */
	const char *exit_call; /* "exit", "_exit"...: handler code called it */
	int exit_status;
	int npcs;
	uintptr_t pcs[CRASH_MAX_PCS]; /* faulting pc, then return addresses */
} crash_report;

/* Production: after a crash is answered, stop the process (SIGTERM to self). */
extern bool crash_exit_on_crash;
extern atomic_bool crash_exit_requested;

int crash_init(int budget_ms);
/* Called by the watchdog (its thread) when it abandons a call stuck outside
 * its own code: answer c with 503 and replace worker thread tid. c's
 * thread is still inside the call and does not touch c's response meanwhile. */
extern void (*crash_abandon_hook)(cot_ctx *c, const binding *b, pid_t tid, int budget_ms);
int crash_abandoned(void);
void crash_leave(const char *call, int status);
/* Is pc in the code whose line table is `debug` (dev: tcclines)? Tells the
 * module's own frames from the runtime's when a crash is read. */
extern int (*crash_contains_hook)(const void *debug, uintptr_t pc);
void crash_set_code(const void *lo, const void *hi);
void crash_shutdown(void);
int crash_call(cot_ctx *c, const binding *b, crash_report *rep);
int crash_run(cot_ctx *c, const binding *b, void (*call)(cot_ctx *, const binding *, void *),
              void *arg, crash_report *rep);

#endif /* COT_CRASH_H */
