/*
 * export_jobs.c -- running the programs `cotdev export` needs (gcc, objcopy,
 * the link, the binary's --check), up to -j at once, each with its output
 * in its own log shown in job order, so parallel compiles never interleave
 * their errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export_jobs.h"

/* Starts one job with cwd = dir, its output into job->log. */
int
export_jobs_spawn(export_job *j, const char *dir)
{
	j->pid = fork();
	if (j->pid < 0)
		return -1;
	if (j->pid == 0) {
		int fd = open(j->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || chdir(j->dir != NULL ? j->dir : dir) != 0)
			_exit(127);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execvp(j->argv.v[0], j->argv.v);
		fprintf(stderr, "cotdev export: cannot run %s: %s\n", j->argv.v[0],
		        strerror(errno));
		_exit(127);
	}
	return 0;
}

/* Copies a job's output to stderr. */
static void
export_jobs_show_log(const export_job *j)
{
	FILE *f = fopen(j->log, "r");
	if (f == NULL)
		return;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

/* Runs the jobs, at most `par` at once; shows their output in job order.
 * Returns the number that failed. */
int
export_jobs_run(export_job *jobs, int n, int par, const char *dir)
{
	int next = 0, running = 0, failed = 0;
	while (next < n || running > 0) {
		while (running < par && next < n) {
			if (export_jobs_spawn(&jobs[next], dir) != 0) {
				perror("cotdev export: fork");
				jobs[next].status = -1;
			} else {
				running++;
			}
			next++;
		}
		int st;
		pid_t pid = wait(&st);
		if (pid < 0)
			break;
		for (int i = 0; i < next; i++)
			if (jobs[i].pid == pid) {
				jobs[i].status = st;
				running--;
			}
	}
	for (int i = 0; i < n; i++) {
		export_jobs_show_log(&jobs[i]);
		failed += !(WIFEXITED(jobs[i].status) && WEXITSTATUS(jobs[i].status) == 0);
	}
	return failed;
}
