/*
 * symbolize.c -- file:line for gcc-built code, for traces in exported binaries.
 *
 * In development, handler frames are resolved from each tcc module's own
 * line table (devserver/tcclines.c). An exported binary is ordinary gcc -g
 * code, so we ask libdw (elfutils) about our own process instead. Only
 * frames whose source file is under handlers/ are the app's: `cotdev
 * export` compiles with the app directory as the working directory, so
 * DWARF names them "handlers/x.c" exactly as development does.
 *
 * libdw is not async-signal-safe: the crash handler only records addresses
 * (with backtrace(), primed at start so it needs no allocation later); this
 * file runs after the jump back, in ordinary code, under a lock.
 */
#include <elfutils/libdwfl.h>
#include <execinfo.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static Dwfl *symbolize_dwfl;
static pthread_mutex_t symbolize_lock = PTHREAD_MUTEX_INITIALIZER;

static const Dwfl_Callbacks symbolize_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

/* Resolves pc when it lies in the app's own code (a handlers/ file). */
static int
symbolize_lookup(const void *debug, uintptr_t pc, const char **file, int *line,
                 const char **func)
{
	(void)debug;
	int found = 0;
	pthread_mutex_lock(&symbolize_lock);
	if (symbolize_dwfl == NULL) {
		symbolize_dwfl = dwfl_begin(&symbolize_callbacks);
		if (symbolize_dwfl != NULL &&
		    (dwfl_linux_proc_report(symbolize_dwfl, getpid()) != 0 ||
		     dwfl_report_end(symbolize_dwfl, NULL, NULL) != 0)) {
			dwfl_end(symbolize_dwfl);
			symbolize_dwfl = NULL;
		}
	}
	Dwfl_Module *mod = symbolize_dwfl ? dwfl_addrmodule(symbolize_dwfl, pc) : NULL;
	Dwfl_Line *l = mod ? dwfl_module_getsrc(mod, pc) : NULL;
	const char *src = l ? dwfl_lineinfo(l, NULL, line, NULL, NULL, NULL) : NULL;
	if (src != NULL && strncmp(src, "handlers/", 9) == 0) {
		const char *name = dwfl_module_addrname(mod, pc);
		*file = src; /* owned by libdw for the life of the process */
		*func = name ? name : "?";
		found = 1;
	}
	pthread_mutex_unlock(&symbolize_lock);
	return found;
}

/* Makes traces of gcc-built handlers readable; call once at start. */
void
symbolize_init(void)
{
	void *prime[4];
	backtrace(prime, 4); /* loads the unwinder now, not in a signal handler */
	trace_lookup_hook = symbolize_lookup;
}

void
symbolize_shutdown(void)
{
	pthread_mutex_lock(&symbolize_lock);
	if (symbolize_dwfl != NULL)
		dwfl_end(symbolize_dwfl);
	symbolize_dwfl = NULL;
	pthread_mutex_unlock(&symbolize_lock);
}
