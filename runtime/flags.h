/*
 * flags.h -- the command-line flags of a cot server, one table for both
 * programs that serve an app: `cotdev run` and a binary made by `cotdev
 * export`. A flag they share parses, validates and is described the same
 * way in both; a flag only one of them has is marked so in the table.
 */
#ifndef COT_FLAGS_H
#define COT_FLAGS_H

#include <stdbool.h>
#include <stdio.h>

#include "server.h"

enum { FLAGS_DEV = 1, FLAGS_EXPORT = 2, FLAGS_BOTH = 3 };

typedef struct flags {
	server_config cfg;       /* host, port, threads, limits, ... */
	const char *db_path;     /* --db; NULL: the program's default */
	const char *dir;         /* dev: the app directory operand (default ".") */
	bool allow_destructive;  /* export: --allow-destructive */
	bool check_only;         /* export: --check */
	bool list_files;         /* export: --list-files */
	bool exit_on_crash;      /* export: --exit-on-crash */
	const char *replay;      /* dev: --replay get|all|off (devserver/console_replay.c) */
	bool no_inspector;       /* dev: --no-inspector */
	const char *secret_file; /* export: --secret-file (secret.c) */
	bool secure_cookies;     /* export: --secure-cookies (session.c) */
} flags;

/* Fills f with the defaults of program `which` (FLAGS_DEV or FLAGS_EXPORT). */
void flags_defaults(flags *f, int which);

/*
 * Parses argv into f (call flags_defaults first). Returns -1 to go on,
 * 0 after printing the usage for --help, 2 after printing what is wrong and
 * the usage to stderr (a bad number is an error, never a silent default).
 */
int flags_parse(flags *f, int which, const char *prog, int argc, char **argv);

/* Prints the usage of program `which` (prog: its name as invoked). */
void flags_usage(FILE *out, int which, const char *prog);

#endif /* COT_FLAGS_H */
