/*
 * crash.c -- contain a crashing or stuck handler and keep serving.
 *
 * crash_call runs a handler under a per-thread recovery point (sigsetjmp).
 * SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT are caught on an alternate
 * stack (so a stack overflow can be caught too). If the faulting thread is
 * inside crash_call, the handler records what it needs for a trace -- the
 * signal, the faulting pc and the return addresses found by walking the
 * frame-pointer chain, bounded by the recovery point's own frame -- and
 * jumps back; everything else (formatting, reading source lines) happens
 * after the jump, in ordinary code. A fault on a thread that is not running
 * a handler is a bug in cot or a library: we print what we know and die with
 * the default action instead of trying to recover from something we do not
 * understand (a recovery loop that catches its own faults is worse than a
 * crash).
 *
 * Stuck handlers: a watchdog thread looks at the running calls every tick.
 * Past its budget, a call whose thread the kernel says is running gets
 * SIGUSR2. The signal handler jumps out only when the thread's pc is inside
 * the handler's own code (a loop in the handler; in an export, inside the
 * section that holds all handler code): interrupting libc or the runtime in
 * the middle of malloc could leave a lock held forever. Otherwise it returns
 * and the watchdog tries again on the next tick. A thread asleep in a system
 * call is never signalled (that would change what the call returns); it is
 * abandoned instead -- answered 503 by server_stuck.c's hook and its worker
 * replaced -- and so is one still outside its own code CRASH_GRACE_MS past the
 * budget (see crash_watch).
 *
 * exit() and its kin called by handler code arrive in crash_leave
 * (crash_exit.c) and are answered like a crash.
 *
 * What recovery cannot undo: heap memory the handler malloc'd itself (the
 * API gives request-owned memory, so handlers rarely do), and locks taken
 * inside a crashed libc call. The request's arena and its reference on the
 * module are released as usual when the response is sent.
 */
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "crash.h"
#include "ctx.h"
#include "monotonic.h"
#include "router.h"

#define CRASH_ALTSTACK    (64 * 1024)
#define CRASH_MAX_RUNNING 256
#define CRASH_GRACE_MS    1000 /* running outside handler code: abandoned after */

typedef struct crash_frame {
	sigjmp_buf jmp;
	crash_report *rep;
	const binding *b;
	uintptr_t stack_top; /* frame of crash_call: walks stop here */
	atomic_bool in_signal;
	double deadline_ms;
} crash_frame;

static _Thread_local crash_frame *volatile crash_current;
static _Thread_local bool crash_thread_ready;

/*
 * Calls in flight, for the watchdog. A slot goes FREE -> CLAIMED (the
 * owner fills it) -> RUNNING; the owner takes it back to FREE when the call
 * ends, unless the watchdog moved it RUNNING -> ABANDONING -> ABANDONED
 * first: then the owner waits out ABANDONING (the watchdog is writing the
 * 503 on the request's socket, which must stay open until it is done) and
 * drops its own answer.
 */
enum { CRASH_FREE, CRASH_CLAIMED, CRASH_RUNNING, CRASH_ABANDONING, CRASH_ABANDONED };

static struct {
	atomic_int state;
	_Atomic(pthread_t) thread;
	atomic_int tid;
	_Atomic double deadline_ms;
	_Atomic(cot_ctx *) ctx;
	_Atomic(const binding *) b;
} crash_running[CRASH_MAX_RUNNING];

void (*crash_abandon_hook)(cot_ctx *c, const binding *b, pid_t tid, int budget_ms);
static atomic_int crash_abandoned_now; /* abandoned calls not yet returned */

static int crash_budget_ms;
static pthread_t crash_watchdog_thread;
static atomic_bool crash_stop;
static bool crash_installed;

int (*crash_contains_hook)(const void *debug, uintptr_t pc);
/* The exported binary's handler code, one linker section (crash_set_code). */
static uintptr_t crash_code_lo, crash_code_hi;
bool crash_exit_on_crash;
atomic_bool crash_exit_requested;

/* ==== signal handling ================================================== */

/* Is pc in handler code: the module's own in development (its line table
 * knows), any handler's in an export (one section holds them all)? */
static bool
crash_in_module(const crash_frame *f, uintptr_t pc)
{
	if (f->b->debug != NULL)
		return crash_contains_hook != NULL && crash_contains_hook(f->b->debug, pc);
	return pc >= crash_code_lo && pc < crash_code_hi;
}

/* Reading raw stack words is the point here: AddressSanitizer's redzones
 * on the stack are not errors for us. */
#define CRASH_RAW_STACK __attribute__((no_sanitize_address))

/* Frame-pointer walk from the signal context, bounded by the call's frame. */
CRASH_RAW_STACK static void
crash_walk(crash_frame *f, const ucontext_t *uc)
{
	crash_report *r = f->rep;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	r->npcs = 0;
	r->pcs[r->npcs++] = pc;
	r->sp = sp;
	while (r->npcs < CRASH_MAX_PCS && fp >= sp && fp < f->stack_top && (fp & 7) == 0) {
		uintptr_t *frame = (uintptr_t *)fp;
		uintptr_t ret = frame[1], next = frame[0];
		if (ret == 0)
			break;
		r->pcs[r->npcs++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
}

/*
 * When the fault is inside libc or the runtime (abort, strlen(NULL) called
 * by the handler), the frame-pointer chain is broken: libc keeps no frame
 * pointers. Then we look for return addresses into the handler's module on
 * the stack itself -- a word in the module's code range on the stack is
 * almost always one.
 */
CRASH_RAW_STACK static void
crash_scan_stack(crash_frame *f)
{
	crash_report *r = f->rep;
	for (int i = 0; i < r->npcs; i++)
		if (crash_in_module(f, r->pcs[i]))
			return; /* the walk found handler frames */
	for (uintptr_t p = (r->sp + 7) & ~(uintptr_t)7; p < f->stack_top && r->npcs < CRASH_MAX_PCS;
	     p += 8) {
		uintptr_t w = *(const uintptr_t *)p;
		if (crash_in_module(f, w))
			r->pcs[r->npcs++] = w;
	}
}

/*
 * gcc -O2 code (an export) has no frame-pointer chain; the unwinder reads
 * .eh_frame and knows how to cross the signal frame. backtrace() is primed
 * at start (symbolize_init), so it does not allocate here. The faulting pc
 * goes first, as crash_walk leaves it.
 */
static void
crash_unwind(crash_frame *f, const ucontext_t *uc)
{
	crash_report *r = f->rep;
	void *pcs[CRASH_MAX_PCS];
	int n = backtrace(pcs, CRASH_MAX_PCS);
	uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	int start = 0;
	for (int i = 0; i < n; i++)
		if ((uintptr_t)pcs[i] == rip)
			start = i;
	r->npcs = 0;
	r->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	r->pcs[r->npcs++] = rip;
	for (int i = start + 1; i < n && r->npcs < CRASH_MAX_PCS; i++)
		r->pcs[r->npcs++] = (uintptr_t)pcs[i];
}

/* Dies the ordinary way, after saying why. Async-signal-safe. */
static void
crash_die(int sig, const char *why)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
	                 "cot: fatal signal %d (%s) %s; this is not "
	                 "recoverable, exiting\n",
	                 sig, strsignal(sig), why);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		n = 0;
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

static void
crash_on_signal(int sig, siginfo_t *si, void *ucv)
{
	crash_frame *f = crash_current;
	const ucontext_t *uc = ucv;
	if (sig == SIGUSR2) {
		/* watchdog: leave only from the handler's own code, and only late */
		if (f == NULL || atomic_load(&f->in_signal) || monotonic_ms() < f->deadline_ms)
			return;
		if (!crash_in_module(f, (uintptr_t)uc->uc_mcontext.gregs[REG_RIP]))
			return;
	} else if (f == NULL) {
		crash_die(sig, "outside any request handler");
	} else if (atomic_exchange(&f->in_signal, true)) {
		crash_die(sig, "while recovering from a handler crash");
	}
	atomic_store(&f->in_signal, true);
	f->rep->sig = sig;
	f->rep->code = si->si_code;
	f->rep->addr = (uintptr_t)si->si_addr;
	f->rep->stuck = sig == SIGUSR2;
	f->rep->exit_call = NULL;
	if (f->b->debug != NULL) {
		crash_walk(f, uc);
		crash_scan_stack(f);
	} else {
		crash_unwind(f, uc); /* gcc code keeps no frame pointers: use .eh_frame */
	}
	siglongjmp(f->jmp, 1);
}

/*
 * Handler code called exit(status) (or _exit, _Exit, quick_exit: see
 * crash_exit.c, which both servers route those calls to): answered like a
 * crash, from the handler's own stack -- a 500 with a trace naming the
 * call -- instead of ending the process and every request in flight with
 * it. Returns only when the calling thread is not running a handler (a
 * thread the handler started itself); the caller then really exits.
 */
void
crash_leave(const char *call, int status)
{
	crash_frame *f = crash_current;
	if (f == NULL || atomic_exchange(&f->in_signal, true))
		return;
	ucontext_t uc;
	getcontext(&uc);
	crash_report *r = f->rep;
	r->sig = 0;
	r->code = 0;
	r->addr = 0;
	r->stuck = false;
	r->exit_call = call;
	r->exit_status = status;
	if (f->b->debug != NULL) {
		crash_walk(f, &uc);
		crash_scan_stack(f);
	} else {
		crash_unwind(f, &uc);
	}
	siglongjmp(f->jmp, 1);
}

/* Runs as a thread that set up an alternate stack exits: switch it off,
 * then free it (64 KB per thread: threads that come and go add up). */
static void
crash_altstack_free(void *sp)
{
	stack_t off = {.ss_flags = SS_DISABLE};
	sigaltstack(&off, NULL);
	free(sp);
}

static pthread_key_t crash_altstack_key;
static pthread_once_t crash_altstack_once = PTHREAD_ONCE_INIT;

static void
crash_altstack_key_create(void)
{
	pthread_key_create(&crash_altstack_key, crash_altstack_free);
}

/* Each thread that runs handlers needs its own alternate signal stack. */
static void
crash_thread_setup(void)
{
	if (crash_thread_ready)
		return;
	crash_thread_ready = true;
	stack_t old;
	if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE) &&
	    old.ss_size >= CRASH_ALTSTACK / 2)
		return; /* one is there already (AddressSanitizer installs its own) */
	pthread_once(&crash_altstack_once, crash_altstack_key_create);
	stack_t ss = {.ss_sp = malloc(CRASH_ALTSTACK), .ss_size = CRASH_ALTSTACK};
	if (ss.ss_sp != NULL && sigaltstack(&ss, NULL) != 0) {
		free(ss.ss_sp);
		return;
	}
	/* freed with the thread: a worker may be replaced, a task thread ends */
	if (ss.ss_sp != NULL)
		pthread_setspecific(crash_altstack_key, ss.ss_sp);
}

/* ==== watchdog ========================================================= */

/*
 * The scheduler's state of thread tid: 'R' running or runnable, 'S' or 'D'
 * asleep in the kernel (a system call), '?' unknown. From /proc, so the
 * watchdog can leave a thread in a system call alone.
 */
static char
crash_thread_state(int tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	return p != NULL && p[1] == ' ' && p[2] != '\0' ? p[2] : '?';
}

/* Gives up on slot i's call: the hook answers 503 and replaces the worker. */
static void
crash_abandon(int i)
{
	int running = CRASH_RUNNING;
	if (!atomic_compare_exchange_strong(&crash_running[i].state, &running, CRASH_ABANDONING))
		return; /* it ended meanwhile */
	atomic_fetch_add(&crash_abandoned_now, 1);
	if (crash_abandon_hook != NULL)
		crash_abandon_hook(atomic_load(&crash_running[i].ctx),
		                   atomic_load(&crash_running[i].b),
		                   atomic_load(&crash_running[i].tid), crash_budget_ms);
	atomic_store(&crash_running[i].state, CRASH_ABANDONED);
}

/*
 * Past its deadline a call is stopped where that is safe and abandoned
 * where it is not:
 * - a thread the kernel says is running gets SIGUSR2, which jumps out only
 *   when it interrupted the handler's own code (a loop); elsewhere (libc,
 *   the runtime, a library) it returns, since jumping out of malloc could
 *   leave a lock held for good;
 * - a thread asleep in the kernel (sleep, a lock, a read) is never
 *   signalled: a signal would make its system call fail with EINTR or
 *   return early (sleep(60) used to return after 5 s), changing what the
 *   handler sees. It is abandoned at once: answered 503 from here, and its
 *   worker replaced; when the call returns (if ever), its answer is dropped;
 * - a thread still running outside its code CRASH_GRACE_MS past the
 *   deadline (a long computation in a library) is abandoned too.
 * An abandoned thread that runs its own code again is still signalled, so
 * a loop entered later is stopped and the thread comes back.
 * The one window left: a thread read as running that enters a system call
 * before the signal arrives. /proc offers nothing tighter without stopping
 * the thread; it is microseconds once per tick past a deadline.
 */
static void
crash_watch(int i, double now)
{
	int st = atomic_load(&crash_running[i].state);
	double deadline = atomic_load(&crash_running[i].deadline_ms);
	if ((st != CRASH_RUNNING && st != CRASH_ABANDONED) || now <= deadline)
		return;
	char ts = crash_thread_state(atomic_load(&crash_running[i].tid));
	if (ts == 'R')
		pthread_kill(atomic_load(&crash_running[i].thread), SIGUSR2);
	if (st == CRASH_RUNNING && (ts != 'R' || now > deadline + CRASH_GRACE_MS))
		crash_abandon(i);
}

static void *
crash_watchdog(void *arg)
{
	(void)arg;
	while (!atomic_load(&crash_stop)) {
		struct timespec tick = {0, 20 * 1000 * 1000};
		nanosleep(&tick, NULL);
		double now = monotonic_ms();
		for (int i = 0; i < CRASH_MAX_RUNNING; i++)
			crash_watch(i, now);
	}
	return NULL;
}

/* The calling thread's kernel id; gettid() is a system call, once per thread. */
static int
crash_tid(void)
{
	static _Thread_local int tid;
	if (tid == 0)
		tid = (int)gettid();
	return tid;
}

static int
crash_register(cot_ctx *c, const binding *b, double deadline)
{
	for (int i = 0; i < CRASH_MAX_RUNNING; i++) {
		int free_state = CRASH_FREE;
		/* claim first: the watchdog ignores a claimed slot while we fill it */
		if (atomic_load(&crash_running[i].state) == CRASH_FREE &&
		    atomic_compare_exchange_strong(&crash_running[i].state, &free_state,
		                                   CRASH_CLAIMED)) {
			atomic_store(&crash_running[i].thread, pthread_self());
			atomic_store(&crash_running[i].tid, crash_tid());
			atomic_store(&crash_running[i].deadline_ms, deadline);
			atomic_store(&crash_running[i].ctx, c);
			atomic_store(&crash_running[i].b, b);
			atomic_store(&crash_running[i].state, CRASH_RUNNING);
			return i;
		}
	}
	return -1; /* more calls than slots: this one runs without a budget */
}

/*
 * Frees slot i at the end of its call. Returns true when the watchdog had
 * abandoned it: the 503 went out, the caller must not answer.
 */
static bool
crash_unregister(int i)
{
	if (i < 0)
		return false;
	int running = CRASH_RUNNING;
	if (atomic_compare_exchange_strong(&crash_running[i].state, &running, CRASH_FREE))
		return false;
	while (atomic_load(&crash_running[i].state) == CRASH_ABANDONING) {
		struct timespec t = {0, 1000 * 1000};
		nanosleep(&t, NULL);
	}
	atomic_store(&crash_running[i].state, CRASH_FREE);
	atomic_fetch_sub(&crash_abandoned_now, 1);
	return true;
}

/* Calls abandoned by the watchdog whose threads have not come back. */
int
crash_abandoned(void)
{
	return atomic_load(&crash_abandoned_now);
}

/* ==== public =========================================================== */

/*
 * Installs the signal handlers and starts the watchdog. budget_ms <= 0 means
 * no time limit. Call once, before the server starts.
 */
int
crash_init(int budget_ms)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER;
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		return -1;
	crash_installed = true;
	crash_budget_ms = budget_ms;
	if (budget_ms > 0 &&
	    pthread_create(&crash_watchdog_thread, NULL, crash_watchdog, NULL) != 0)
		return -1;
	return 0;
}

/*
 * Tells the watchdog where handler code is when it has no line table: the
 * exported binary links every handler's code into one section, [lo, hi).
 * Without it, a stuck gcc-built handler is never interrupted.
 */
void
crash_set_code(const void *lo, const void *hi)
{
	crash_code_lo = (uintptr_t)lo;
	crash_code_hi = (uintptr_t)hi;
}

void
crash_shutdown(void)
{
	if (crash_budget_ms > 0 && crash_watchdog_thread) {
		atomic_store(&crash_stop, true);
		pthread_join(crash_watchdog_thread, NULL);
		crash_watchdog_thread = 0;
	}
}

static void
crash_call_handler(cot_ctx *c, const binding *b, void *arg)
{
	(void)arg;
	b->fn(c);
}

/*
 * Runs b's handler. Returns 0 when it returned, 1 when it crashed or was
 * stopped for running too long; then *rep says how. The caller keeps its
 * reference on the code until it has formatted the trace.
 */
int
crash_call(cot_ctx *c, const binding *b, crash_report *rep)
{
	return crash_run(c, b, crash_call_handler, NULL, rep);
}

/*
 * Runs call(c, b, arg) -- code of b's module -- under the recovery point;
 * returns like crash_call.
 */
int
crash_run(cot_ctx *c, const binding *b, void (*call)(cot_ctx *, const binding *, void *), void *arg,
          crash_report *rep)
{
	if (!crash_installed) {
		call(c, b, arg);
		return 0;
	}
	crash_thread_setup();
	crash_frame f = {.rep = rep, .b = b};
	rep->abandoned = false;
	rep->npcs = 0;
	f.stack_top = (uintptr_t)__builtin_frame_address(0);
	/* the budget is the handler's own: from this call, not from when the
	 * request began -- a slow upload is --idle-timeout's business, and
	 * counting it here got handlers of large bodies stopped on entry */
	f.deadline_ms = crash_budget_ms > 0 ? monotonic_ms() + crash_budget_ms : 0;
	atomic_init(&f.in_signal, false);
	volatile int slot = f.deadline_ms > 0 ? crash_register(c, b, f.deadline_ms) : -1;
	/*
	 * No signal mask is saved (that is a system call per request): every
	 * handler is installed SA_NODEFER with an empty sa_mask, so jumping out
	 * of one leaves the thread's mask as it was.
	 */
	volatile int rc = 1;
	if (sigsetjmp(f.jmp, 0) == 0) {
		crash_current = &f;
		call(c, b, arg);
		rc = 0;
	}
	crash_current = NULL;
	if (crash_unregister(slot)) { /* answered 503 by the watchdog already */
		c->abandoned = true;
		rep->abandoned = true;
		return 1;
	}
	return rc;
}
