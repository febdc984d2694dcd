/*
 * crash_exit.c -- exit() and its relatives, as handler code sees them.
 *
 * A handler that calls exit() used to end either server with nothing
 * logged, dropping every request in flight. Handler code is linked to these
 * functions instead of libc's: `cotdev run` binds the names with
 * tcc_add_symbol (a module's own references only), and `cotdev export`
 * renames the references in each handler object with objcopy
 * --redefine-sym -- so in both servers exactly the calls written in handler
 * files (and lib/ code compiled with them) are caught, and calls made
 * inside libraries are not. Measured alternatives: `-Wl,--wrap=exit` would
 * also catch the runtime's own exit() calls and those of every object
 * linked in, which the dev server cannot match; a macro in cot.h misses a
 * call through a function pointer and breaks code that includes <stdlib.h>
 * after cot.h. abort() needs nothing here: it raises SIGABRT, which crash.c
 * already answers as a crash.
 *
 * Inside a handler call the request is answered 500 with a trace naming the
 * call (crash_leave); on any other thread the real function runs.
 */
#include <stdlib.h>
#include <unistd.h>

#include "crash.h"
#include "crash_exit.h"

_Noreturn void
crash_exit_exit(int status)
{
	crash_leave("exit", status);
	exit(status);
}

_Noreturn void
crash_exit__exit(int status)
{
	crash_leave("_exit", status);
	_exit(status);
}

_Noreturn void
crash_exit__Exit(int status)
{
	crash_leave("_Exit", status);
	_Exit(status);
}

_Noreturn void
crash_exit_quick_exit(int status)
{
	crash_leave("quick_exit", status);
	quick_exit(status);
}

const crash_exit_symbol crash_exit_symbols[] = {
        {"exit", "crash_exit_exit", (const void *)crash_exit_exit},
        {"_exit", "crash_exit__exit", (const void *)crash_exit__exit},
        {"_Exit", "crash_exit__Exit", (const void *)crash_exit__Exit},
        {"quick_exit", "crash_exit_quick_exit", (const void *)crash_exit_quick_exit},
        {NULL, NULL, NULL},
};
