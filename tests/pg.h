/*
 * pg.h -- a private PostgreSQL cluster for one test program (tests/pg.c).
 *
 * pg_cluster_start runs initdb into a new temp dir (as the postgres user
 * when the test runs as root, which initdb requires), starts the server on
 * a free port with its unix socket in that dir and no TCP listener, and
 * fills a postgres:// URL that reaches it. pg_cluster_stop stops it
 * (immediate: the cluster is thrown away) and removes the dir. The system
 * cluster, if any, is never touched.
 */
#ifndef COT_TEST_PG_H
#define COT_TEST_PG_H

#include <stddef.h>

typedef struct pg_cluster {
	char dir[256]; /* temp dir: data/, the socket, log */
	int port;
	char url[512]; /* postgresql:///postgres?host=DIR&port=PORT&user=postgres */
	int started;
} pg_cluster;

/* 0, or -1 with err filled (and nothing left running). */
int pg_cluster_start(pg_cluster *pc, char *err, size_t errlen);

/* Runs `pg_ctl ACTION` (e.g. "stop -m fast", "start -w"): 0 on success. */
int pg_cluster_ctl(pg_cluster *pc, const char *action);

/* A URL for database `name` of the cluster, created when missing. */
int pg_cluster_database(pg_cluster *pc, const char *name, char *url, size_t urllen);

void pg_cluster_stop(pg_cluster *pc);

#endif
