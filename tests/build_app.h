/*
 * build_app.h -- an app made with `cotdev new`, given files of its own and
 * exported with `cotdev export`, for the tests that drive exported binaries
 * without the harness (test_export, test_export_cache, test_cluster,
 * test_scale; tests/build_app.c). Shell commands run through popen with their
 * output captured, so a failure can be shown.
 */
#ifndef COT_TEST_BUILD_APP_H
#define COT_TEST_BUILD_APP_H

#include <stdbool.h>
#include <stddef.h>

/* Runs a shell command (printf-style); its stdout and stderr go into out
 * (NUL-terminated, truncated). Returns its exit status, -1 if it did not
 * exit normally. */
int build_app_run(char *out, size_t outlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Writes (or appends) text to APP/REL, creating REL's directories. 0, or
 * -1 with the reason on stderr. */
int build_app_write(const char *app, const char *rel, const char *text, bool append);

/* One file of an app: text written to REL, or appended to it. */
typedef struct build_app_file {
	const char *rel;
	const char *text;
	bool append;
} build_app_file;

/* `cotdev new APP`, then each of files (up to one with rel NULL). 0, or -1
 * with "# why" printed. */
int build_app_new(const char *cotdev, const char *app, const build_app_file *files);

/* `cotdev export APP -o BIN`: its exit status, with its output in out;
 * "# export failed:" and the output are printed when it fails. */
int build_app_export(const char *cotdev, const char *app, const char *bin, char *out,
                     size_t outlen);

#endif
