/*
 * test_pg.c -- tests/pg.c's promise: a private PostgreSQL cluster does not
 * outlive the test process that started it, however that process ends.
 *
 * usage: test_pg
 *
 * Each case forks a child that starts a cluster, tells the parent its
 * directory and then, without pg_cluster_stop, ends one way: exit(0) (a
 * test returning from main), SIGTERM (what tests/run's `timeout` sends),
 * abort() (a failing assert), SIGKILL. The parent reads the postmaster's
 * pid while the cluster runs, lets the child end, and checks the
 * postmaster is gone and the directory removed: already when the child is
 * reaped for the ends a process can act on, within a deadline for SIGKILL
 * (pg.c's watchdog acts when the kernel closes the child's pipe).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg.h"
#include "t.h"

/* Generous: initdb and pg_ctl share a loaded machine. */
#define WAIT_S 60.0

enum end { END_EXIT, END_SIGTERM, END_ABORT, END_SIGKILL };

static const char *const end_names[] = {"exit(0)", "SIGTERM", "abort()", "SIGKILL"};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The child: a cluster, its directory on `report`, then the end it was given
 * once a byte (or EOF) comes on `go`. */
static void
child_main(enum end how, int report, int go)
{
	pg_cluster pc;
	char err[512];
	if (pg_cluster_start(&pc, err, sizeof(err)) != 0) {
		fprintf(stderr, "test_pg child: %s\n", err);
		pc.dir[0] = '\0';
	}
	if (write(report, pc.dir, strlen(pc.dir) + 1) < 0)
		_exit(1);
	char c;
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	if (how == END_EXIT)
		exit(0);
	if (how == END_ABORT) {
		struct rlimit none = {0, 0}; /* no core file in the working tree */
		setrlimit(RLIMIT_CORE, &none);
		abort();
	}
	for (;;)
		pause(); /* the parent's signal ends it */
}

/* The postmaster's pid from DIR/data/postmaster.pid; -1 if unreadable. */
static pid_t
postmaster_pid(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/data/postmaster.pid", dir);
	FILE *f = fopen(path, "r");
	long pid = -1;
	if (f != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return (pid_t)pid;
}

/* Gone: no such process, or a zombie nobody has reaped yet (it is not ours). */
static bool
gone(pid_t pid)
{
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return true;
	char path[64], stat[512] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return true;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	stat[n] = '\0';
	fclose(f);
	const char *paren = strrchr(stat, ')');
	return paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
}

static bool
cleaned(pid_t pm, const char *dir)
{
	return gone(pm) && access(dir, F_OK) != 0;
}

static void
check_end(enum end how)
{
	const char *name = end_names[how];
	char label[256];
	int report[2], go[2];
	if (pipe(report) != 0 || pipe(go) != 0) {
		perror("pipe");
		exit(1);
	}
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		close(report[0]);
		close(go[1]);
		child_main(how, report[1], go[0]);
	}
	close(report[1]);
	close(go[0]);
	char dir[256] = "";
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(dir) - 1 && (n = read(report[0], dir + got, 1)) > 0 && dir[got] != '\0')
		got++;
	dir[got] = '\0';
	close(report[0]);
	pid_t pm = dir[0] != '\0' ? postmaster_pid(dir) : -1;
	snprintf(label, sizeof(label), "%s: the child's private cluster runs", name);
	T_CHECK(label, pm > 0 && !gone(pm));
	if (pm <= 0)
		printf("# cluster dir \"%s\"\n", dir);

	if (how == END_SIGTERM)
		kill(child, SIGTERM);
	else if (how == END_SIGKILL)
		kill(child, SIGKILL);
	close(go[1]); /* EOF: exit(0) and abort() go ahead */
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	bool as_usual;
	if (how == END_EXIT)
		as_usual = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	else
		as_usual = WIFSIGNALED(st) && WTERMSIG(st) == (how == END_SIGTERM ? SIGTERM
		                                               : how == END_ABORT ? SIGABRT
		                                                                  : SIGKILL);
	snprintf(label, sizeof(label), "%s: the process ends as it would have (status %#x)", name,
	         st);
	T_CHECK(label, as_usual);

	if (how != END_SIGKILL) {
		snprintf(label, sizeof(label),
		         "%s: the cluster is stopped and its directory removed before the process "
		         "is gone",
		         name);
		T_CHECK(label, pm > 0 && cleaned(pm, dir));
	} else {
		double t0 = now_s();
		while (pm > 0 && !cleaned(pm, dir) && now_s() - t0 < WAIT_S)
			usleep(20000);
		snprintf(label, sizeof(label),
		         "%s: the watchdog stops the cluster and removes its directory right after",
		         name);
		T_CHECK(label, pm > 0 && cleaned(pm, dir));
	}
	if (pm > 0 && !cleaned(pm, dir))
		printf("# postmaster %d %s, %s %s\n", (int)pm, gone(pm) ? "gone" : "still running",
		       dir, access(dir, F_OK) == 0 ? "still there" : "removed");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_end(END_EXIT);
	check_end(END_SIGTERM);
	check_end(END_ABORT);
	check_end(END_SIGKILL);
	return T_DONE();
}
