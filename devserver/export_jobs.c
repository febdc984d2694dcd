/*
 * export_jobs.c -- running the programs `cotdev export` needs (gcc, objcopy,
 * the link, the binary's --check), up to -j at once, each with its output
 * in its own log shown in job order, so parallel compiles never interleave
 * their errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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
		const char *cwd = j->dir != NULL ? j->dir : dir;
		int fd = open(j->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) { /* no log to say it in: say it on cotdev's stderr */
			fprintf(stderr, "cotdev export: cannot write %s: %s\n", j->log,
			        strerror(errno));
			_exit(127);
		}
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (chdir(cwd) != 0) {
			fprintf(stderr, "cotdev export: cannot enter %s: %s\n", cwd,
			        strerror(errno));
			_exit(127);
		}
		execvp(j->argv.v[0], j->argv.v);
		fprintf(stderr, "cotdev export: cannot run %s: %s\n", j->argv.v[0],
		        strerror(errno));
		_exit(127);
	}
	return 0;
}

/* Copies a job's output to stderr; returns how many bytes it had. */
static size_t
export_jobs_show_log(const export_job *j)
{
	FILE *f = fopen(j->log, "r");
	if (f == NULL)
		return 0;
	char buf[4096];
	size_t n, total = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		total += fwrite(buf, 1, n, stderr);
	fclose(f);
	return total;
}

/* A failed job that said nothing (killed, or never started) still gets a
 * line: "N files failed to compile" alone tells nobody why. */
static void
export_jobs_show_end(const export_job *j)
{
	const char *last = j->argv.n > 0 ? j->argv.v[j->argv.n - 1] : "?";
	for (int i = 1; i < j->argv.n; i++) { /* a compile names its source */
		size_t len = strlen(j->argv.v[i]);
		if (len > 2 && strcmp(j->argv.v[i] + len - 2, ".c") == 0) {
			last = j->argv.v[i];
			break;
		}
	}
	if (j->status == -1)
		fprintf(stderr, "cotdev export: %s (%s) did not finish\n", j->argv.v[0], last);
	else if (WIFSIGNALED(j->status))
		fprintf(stderr, "cotdev export: %s (%s) killed by signal %d (%s)\n", j->argv.v[0],
		        last, WTERMSIG(j->status), strsignal(WTERMSIG(j->status)));
	else
		fprintf(stderr, "cotdev export: %s (%s) exited with status %d and no output\n",
		        j->argv.v[0], last, WEXITSTATUS(j->status));
}

/* Runs the jobs, at most `par` at once; shows their output in job order.
 * Returns the number that failed. */
int
export_jobs_run(export_job *jobs, int n, int par, const char *dir)
{
	int next = 0, running = 0, failed = 0;
	while (next < n || running > 0) {
		while (running < par && next < n) {
			jobs[next].status = -1; /* until waited for */
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
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0) { /* ECHILD: no job of ours is left to wait for */
			perror("cotdev export: wait");
			break;
		}
		for (int i = 0; i < next; i++)
			if (jobs[i].pid == pid) {
				jobs[i].status = st;
				running--;
			}
	}
	for (int i = 0; i < n; i++) {
		size_t said = export_jobs_show_log(&jobs[i]);
		bool ok = WIFEXITED(jobs[i].status) && WEXITSTATUS(jobs[i].status) == 0;
		if (!ok && said == 0)
			export_jobs_show_end(&jobs[i]);
		failed += !ok;
	}
	return failed;
}
