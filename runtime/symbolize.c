/*
 * symbolize.c -- file:line for gcc-built code, for traces in exported binaries.
 *
 * In development, handler frames are resolved from each tcc module's own
 * line table (devserver/tcclines.c). An exported binary is ordinary gcc -g
 * code, so we ask libdw (elfutils) about our own process instead, DWARF
 * scopes included: gcc -O2 inlines small static functions into their
 * callers, and a trace should still show both, as development does. Only
 * frames whose source file is under handlers/ are the app's: `cotdev
 * export` compiles with the app directory as the working directory, so
 * DWARF names them "handlers/x.c" exactly as development does.
 *
 * libdw is not async-signal-safe: the crash handler only records addresses
 * (with backtrace(), primed at start so it needs no allocation later); this
 * file runs after the jump back, in ordinary code, under a lock.
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolize.h"
#include "trace.h"

static Dwfl *symbolize_dwfl;
static pthread_mutex_t symbolize_lock = PTHREAD_MUTEX_INITIALIZER;

static const Dwfl_Callbacks symbolize_callbacks = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
};

/* Is d a function: one of its own, or a copy gcc inlined into a caller? */
static bool
symbolize_is_func(Dwarf_Die *d)
{
	int tag = dwarf_tag(d);
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

/* Where the inlined copy `d` was called from: a file of its compile unit. */
static const char *
symbolize_call_site(Dwarf_Die *cu, Dwarf_Die *d, int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word file, ln;
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &a), &file) != 0 ||
	    dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &a), &ln) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || file >= nfiles)
		return NULL;
	*line = (int)ln;
	return dwarf_filesrc(files, file, NULL, NULL);
}

/* The app's sites only: "handlers/x.c", as `cotdev export` compiles them. */
static void
symbolize_site(trace_site *s, const char *file, int line, const char *func)
{
	bool app = file != NULL && strncmp(file, "handlers/", 9) == 0;
	s->file = app ? file : NULL;
	s->line = line;
	s->func = func ? func : "?";
}

/* The first function among scopes[from..n) into *out; frees scopes. */
static bool
symbolize_pick_func(Dwarf_Die *scopes, int n, int from, Dwarf_Die *out)
{
	bool found = false;
	for (int i = from; i < n && !found; i++)
		if ((found = symbolize_is_func(&scopes[i])))
			*out = scopes[i];
	free(scopes);
	return found;
}

/* The innermost function containing pc, its own or inlined (DWARF scopes). */
static bool
symbolize_innermost(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *out)
{
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes(cu, pc, &scopes);
	return symbolize_pick_func(scopes, n, 0, out);
}

/* The function the inlined copy d sits in (which may be inlined itself):
 * its containing scopes are d, then what holds it, out to the unit. */
static bool
symbolize_inliner(Dwarf_Die *d, Dwarf_Die *out)
{
	Dwarf_Die *chain = NULL;
	int n = dwarf_getscopes_die(d, &chain);
	return symbolize_pick_func(chain, n, 1, out);
}

/*
 * The sites of pc: the line the line table gives and the function around
 * it, then, where that function was inlined, the line of the call in its
 * caller, and so on out to the function the code really is. Names come from
 * DWARF, not the symbol table, which names inlined code after its caller.
 */
static int
symbolize_sites(Dwfl_Module *mod, uintptr_t pc, trace_site *sites, int max)
{
	int line = 0;
	Dwfl_Line *l = dwfl_module_getsrc(mod, pc);
	const char *file = l ? dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
	if (file == NULL)
		return 0;
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias);
	Dwarf_Die fn;
	if (cu == NULL || !symbolize_innermost(cu, pc - bias, &fn)) {
		symbolize_site(&sites[0], file, line, dwfl_module_addrname(mod, pc));
		return 1;
	}
	int n = 0;
	for (;;) {
		symbolize_site(&sites[n++], file, line, dwarf_diename(&fn));
		if (n == max || dwarf_tag(&fn) != DW_TAG_inlined_subroutine)
			break;
		Dwarf_Die caller;
		if ((file = symbolize_call_site(cu, &fn, &line)) == NULL ||
		    !symbolize_inliner(&fn, &caller))
			break;
		fn = caller;
	}
	return n;
}

/* Resolves pc through libdw; the sites' strings live as long as the process. */
static int
symbolize_lookup(const void *debug, uintptr_t pc, trace_site *sites, int max)
{
	(void)debug;
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
	int n = mod ? symbolize_sites(mod, pc, sites, max) : 0;
	pthread_mutex_unlock(&symbolize_lock);
	return n;
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
