/*
 * pg_run.c -- runs one test program against a private PostgreSQL.
 *
 * usage: pg_run PROGRAM [ARG...]
 *
 * Starts a cluster (tests/pg.c: initdb into a temp dir, a free port, the
 * socket in the dir), sets DATABASE_URL to a fresh database in it, runs
 * PROGRAM with the arguments, stops and removes the cluster, and exits
 * with PROGRAM's status. The servers a test starts (`cotdev run`, an
 * exported binary) read DATABASE_URL, so the same test checks the app on
 * PostgreSQL: e.g. `pg_run build/test_notes export:build/cotdev`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg.h"

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pg_run PROGRAM [ARG...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pg_cluster pc;
	char err[512], url[600];
	if (pg_cluster_start(&pc, err, sizeof(err)) != 0 ||
	    pg_cluster_database(&pc, "app", url, sizeof(url)) != 0) {
		printf("not ok a private PostgreSQL cluster starts: %s\n", err);
		pg_cluster_stop(&pc);
		return 1;
	}
	printf("# PostgreSQL at %s\n", url);
	setenv("DATABASE_URL", url, 1);
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	pg_cluster_stop(&pc);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
