/*
 * pg.h -- a private PostgreSQL cluster for one test program (tests/pg.c).
 *
 * pg_cluster_start runs initdb into a new temp dir (as the postgres user
 * when the test runs as root, which initdb requires), starts the server on
 * a free port with its unix socket in that dir and no TCP listener, and
 * fills a postgres:// URL that reaches it. pg_cluster_stop stops it
 * (immediate: the cluster is thrown away) and removes the dir. The system
 * cluster, if any, is never touched.
 *
 * A cluster the test did not stop is stopped and removed all the same when
 * the test process ends, whichever way: at exit, at SIGTERM (tests/run's
 * timeout), SIGINT, SIGHUP, SIGQUIT, abort() or a sanitizer's report
 * before the process is gone; at SIGKILL or any other death just after.
 * See "the watchdog" in pg.c; tests/test_pg.c proves it.
 */
#ifndef COT_TEST_PG_H
#define COT_TEST_PG_H

#include <stddef.h>
#include <sys/types.h>

typedef struct pg_cluster {
	char dir[256]; /* temp dir: data/, the socket, log */
	int port;
	char url[512]; /* postgresql:///postgres?host=DIR&port=PORT&user=postgres */
	int started;
	pid_t watchdog; /* the process that removes the cluster when the test ends */
} pg_cluster;

/* 0, or -1 with err filled (and nothing left running). */
int pg_cluster_start(pg_cluster *pc, char *err, size_t errlen);

/* Runs `pg_ctl ACTION` (e.g. "stop -m fast", "start -w"): 0 on success. */
int pg_cluster_ctl(pg_cluster *pc, const char *action);

/* A URL for database `name` of the cluster, created when missing. */
int pg_cluster_database(pg_cluster *pc, const char *name, char *url, size_t urllen);

void pg_cluster_stop(pg_cluster *pc);

#endif
