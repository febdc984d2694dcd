/*
 * pg.c -- a private PostgreSQL cluster per test program; see pg.h.
 *
 * The binaries are Debian's (postgresql-15, /usr/lib/postgresql/15/bin;
 * PG_BIN overrides). As root, the commands run through runuser as the
 * postgres user, which owns the temp dir; the test itself connects over
 * the unix socket, which root may always do.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg.h"

#define PG_DEFAULT_BIN "/usr/lib/postgresql/15/bin"

static const char *
pg_bin(void)
{
	const char *b = getenv("PG_BIN");
	return b && *b ? b : PG_DEFAULT_BIN;
}

/* A port nothing listens on now (bind to 0, read it, close). */
static int
pg_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Runs a shell command as the cluster's owner; output appended to log. */
static int
pg_run(pg_cluster *pc, const char *fmt, ...)
{
	char cmd[2048], full[2600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (geteuid() == 0)
		snprintf(full, sizeof(full),
		         "runuser -u postgres -- sh -c '%s' >>%s/setup.log 2>&1", cmd, pc->dir);
	else
		snprintf(full, sizeof(full), "sh -c '%s' >>%s/setup.log 2>&1", cmd, pc->dir);
	int st = system(full);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int
pg_cluster_ctl(pg_cluster *pc, const char *action)
{
	return pg_run(pc, "%s/pg_ctl -D %s/data -l %s/server.log %s", pg_bin(), pc->dir, pc->dir,
	              action);
}

int
pg_cluster_start(pg_cluster *pc, char *err, size_t errlen)
{
	memset(pc, 0, sizeof(*pc));
	snprintf(pc->dir, sizeof(pc->dir), "/tmp/cot-pg-XXXXXX");
	if (mkdtemp(pc->dir) == NULL) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (pw == NULL || chown(pc->dir, pw->pw_uid, pw->pw_gid) != 0) {
			snprintf(err, errlen, "no postgres user to own %s (install postgresql-15)",
			         pc->dir);
			return -1;
		}
	}
	pc->port = pg_free_port();
	if (pg_run(pc,
	           "%s/initdb -D %s/data -U postgres -A trust -E UTF8 --locale=C "
	           "--no-sync",
	           pg_bin(), pc->dir) != 0) {
		snprintf(err, errlen, "initdb failed; see %s/setup.log", pc->dir);
		return -1;
	}
	char opts[512];
	snprintf(opts, sizeof(opts),
	         "-o \"-p %d -k %s -c listen_addresses= -c fsync=off "
	         "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200\"",
	         pc->port, pc->dir);
	char action[700];
	snprintf(action, sizeof(action), "%s -w -t 60 start", opts);
	if (pg_cluster_ctl(pc, action) != 0) {
		snprintf(err, errlen, "pg_ctl start failed; see %s/server.log", pc->dir);
		return -1;
	}
	pc->started = 1;
	snprintf(pc->url, sizeof(pc->url), "postgresql:///postgres?host=%s&port=%d&user=postgres",
	         pc->dir, pc->port);
	return 0;
}

int
pg_cluster_database(pg_cluster *pc, const char *name, char *url, size_t urllen)
{
	snprintf(url, urllen, "postgresql:///%s?host=%s&port=%d&user=postgres", name, pc->dir,
	         pc->port);
	return pg_run(pc, "%s/createdb -h %s -p %d -U postgres %s", pg_bin(), pc->dir, pc->port,
	              name);
}

void
pg_cluster_stop(pg_cluster *pc)
{
	if (pc->dir[0] == '\0')
		return;
	if (pc->started)
		pg_cluster_ctl(pc, "-m immediate -w stop");
	pc->started = 0;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", pc->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "pg: could not remove %s\n", pc->dir);
	pc->dir[0] = '\0';
}
