/*
 * export.h -- `cotdev export`: the app as one gcc-built binary.
 */
#ifndef COT_EXPORT_H
#define COT_EXPORT_H

/* Runs `cotdev export [DIR] -o BIN` (argv[0] is "export"); home is the cot
 * installation (COT_HOME). Returns the process exit status. */
int export_main(int argc, char **argv, const char *home);

#endif /* COT_EXPORT_H */
