/*
 * export_jobs.h -- export_jobs.c: the programs an export runs, in parallel.
 */
#ifndef COT_EXPORT_JOBS_H
#define COT_EXPORT_JOBS_H

#include <limits.h>
#include <sys/types.h>

#include "strvec.h"

typedef struct export_job {
	strvec argv;
	const char *dir; /* its working directory, when not the one given to run */
	char log[PATH_MAX];
	pid_t pid;
	int status;
} export_job;

/* Starts one job with cwd = job->dir or else dir, its output into job->log;
 * 0 or -1 (fork). */
int export_jobs_spawn(export_job *j, const char *dir);

/* Runs the jobs, at most `par` at once, with cwd = dir; shows their output
 * in job order. Returns the number that failed. */
int export_jobs_run(export_job *jobs, int n, int par, const char *dir);

#endif
