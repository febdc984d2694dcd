/*
 * t.h -- the smallest test harness that does the job.
 *
 * Each test program prints one line per check ("ok NAME" or "not ok NAME: why")
 * and exits non-zero when any check failed. tests/run counts the lines, so every
 * test binary, script and browser test speaks the same protocol.
 */
#ifndef COT_T_H
#define COT_T_H

#include <stdio.h>
#include <string.h>

static int t_failed_count;
static int t_passed_count;

/* Record one check. Prints the expression text and location when it fails. */
#define T_CHECK(name, cond)                                                                        \
	do {                                                                                       \
		if (cond) {                                                                        \
			t_passed_count++;                                                          \
			printf("ok %s\n", (name));                                                 \
		} else {                                                                           \
			t_failed_count++;                                                          \
			printf("not ok %s: %s (%s:%d)\n", (name), #cond, __FILE__, __LINE__);      \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

/* Compare two strings; on failure show both. */
#define T_STREQ(name, got, want)                                                                   \
	do {                                                                                       \
		const char *t_g_ = (got), *t_w_ = (want);                                          \
		if (t_g_ != NULL && t_w_ != NULL && strcmp(t_g_, t_w_) == 0) {                     \
			t_passed_count++;                                                          \
			printf("ok %s\n", (name));                                                 \
		} else {                                                                           \
			t_failed_count++;                                                          \
			printf("not ok %s: got \"%s\", want \"%s\" (%s:%d)\n", (name),             \
			       t_g_ ? t_g_ : "(null)", t_w_ ? t_w_ : "(null)", __FILE__,           \
			       __LINE__);                                                          \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

/* The exit status of a test program. */
#define T_DONE() (t_failed_count ? 1 : 0)

#endif
