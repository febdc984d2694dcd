/*
 * symbolize.h -- line tables of gcc-built code (symbolize.c, libdw), the
 * export's answer to trace.h's lookup hook.
 */
#ifndef COT_SYMBOLIZE_H
#define COT_SYMBOLIZE_H

/* Exports: sets trace_lookup_hook to read the binary's own line tables. */
void symbolize_init(void);
void symbolize_shutdown(void);

#endif /* COT_SYMBOLIZE_H */
