/*
 * crash_exit.h -- what handler code gets for exit() and its kin
 * (crash_exit.c), bound by the dev server and the export alike.
 */
#ifndef COT_CRASH_EXIT_H
#define COT_CRASH_EXIT_H

/* What handler code gets for exit, _exit, _Exit, quick_exit -- dev binds
 * them with tcc_add_symbol, the export with objcopy --redefine-sym on each
 * handler object, so the same calls are caught. */
typedef struct crash_exit_symbol {
	const char *name;        /* "exit" */
	const char *replacement; /* "crash_exit_exit" */
	const void *addr;
} crash_exit_symbol;
extern const crash_exit_symbol crash_exit_symbols[];

#endif /* COT_CRASH_EXIT_H */
