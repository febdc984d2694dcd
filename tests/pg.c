/*
 * pg.c -- a private PostgreSQL cluster per test program; see pg.h.
 *
 * The binaries are Debian's (postgresql-15, /usr/lib/postgresql/15/bin;
 * PG_BIN overrides). As root, the commands run through runuser as the
 * postgres user, which owns the temp dir; the test itself connects over
 * the unix socket, which root may always do.
 *
 * A cluster must not outlive its test, however the test ends. pg_ctl
 * starts the postmaster in a session of its own, so no signal sent to the
 * test's process group (`timeout` in tests/run, ^C) reaches it. So each
 * cluster has a watchdog: a small shell, in a session of its own too, that
 * waits for EOF on a pipe whose only write end the test holds, then stops
 * the cluster (pg_ctl -m immediate) and removes its directory. The pipe
 * closes when the test closes it (pg_cluster_stop, and at exit, SIGTERM,
 * SIGINT, SIGHUP, SIGQUIT, abort() and a sanitizer's report, where the
 * test also waits for the watchdog to finish) or when the kernel does, as
 * the test process ends in any other way -- SIGKILL included.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg.h"
#include "raw.h"

#define PG_DEFAULT_BIN "/usr/lib/postgresql/15/bin"

static const char *
pg_bin(void)
{
	const char *b = getenv("PG_BIN");
	return b && *b ? b : PG_DEFAULT_BIN;
}

/* The shell command that runs cmd as the cluster's owner, its output
 * appended to DIR/setup.log. */
static void
pg_command(const pg_cluster *pc, char *full, size_t len, const char *cmd)
{
	if (geteuid() == 0)
		snprintf(full, len, "runuser -u postgres -- sh -c '%s' >>%s/setup.log 2>&1", cmd,
		         pc->dir);
	else
		snprintf(full, len, "sh -c '%s' >>%s/setup.log 2>&1", cmd, pc->dir);
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
	pg_command(pc, full, sizeof(full), cmd);
	int st = system(full);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ==== the watchdog ===================================================== */

/* The watchdogs of this process's clusters: the pipe's write end, the pid. */
#define PG_MAX_CLUSTERS 8
static struct {
	int fd;
	pid_t pid;
} pg_watch[PG_MAX_CLUSTERS];

/* Declared by the sanitizer runtime when the test is built with one. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* Closes watchdog i's pipe and waits until it has stopped and removed its
 * cluster (close and waitpid only: a signal handler may call it). */
static void
pg_watch_end(int i)
{
	close(pg_watch[i].fd);
	while (waitpid(pg_watch[i].pid, NULL, 0) < 0 && errno == EINTR)
		;
	pg_watch[i].pid = 0;
}

/*
 * Lets every watchdog of this process do its work and waits until it has:
 * at exit, in a signal handler, at a sanitizer's report. In a forked
 * child that never exec'd, the parent still holds the pipes and the
 * watchdogs are not its children: nothing happens.
 */
static void
pg_stop_all(void)
{
	for (int i = 0; i < PG_MAX_CLUSTERS; i++)
		if (pg_watch[i].pid > 0)
			pg_watch_end(i);
}

/* Stops the clusters, then lets the signal end the process as it would have. */
static void
pg_on_signal(int sig)
{
	pg_stop_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Once per process: the exits a process can still act on. A signal whose
 * handler the test set itself is left to it (the watchdog still sees the
 * exit). */
static void
pg_catch_exits(void)
{
	static int done;
	if (done++)
		return;
	atexit(pg_stop_all);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(pg_stop_all);
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGABRT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old, sa = {.sa_handler = pg_on_signal};
		sigemptyset(&sa.sa_mask);
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(sigs[i], &sa, NULL);
	}
}

/* Starts pc's watchdog: 0, or -1 (no room, or no pipe or process). */
static int
pg_watchdog(pg_cluster *pc)
{
	int slot = 0;
	while (slot < PG_MAX_CLUSTERS && pg_watch[slot].pid > 0)
		slot++;
	char stop[1024], full[2600], script[3200];
	snprintf(stop, sizeof(stop), "%s/pg_ctl -D %s/data -m immediate -w stop", pg_bin(),
	         pc->dir);
	pg_command(pc, full, sizeof(full), stop);
	snprintf(script, sizeof(script),
	         "read -r _; %s; rm -rf %s || echo \"pg: could not remove %s\" >&2", full, pc->dir,
	         pc->dir);
	int p[2];
	if (slot == PG_MAX_CLUSTERS || pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		/* its own session: the signals sent to the test's group pass it by */
		setsid();
		dup2(p[0], 0);
		close_range(3, ~0U, 0);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return -1;
	}
	pg_catch_exits();
	pg_watch[slot].fd = p[1];
	pg_watch[slot].pid = pid;
	pc->watchdog = pid;
	return 0;
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
	if (pg_watchdog(pc) != 0) {
		snprintf(err, errlen, "no watchdog for %s: %s", pc->dir, strerror(errno));
		rmdir(pc->dir);
		pc->dir[0] = '\0';
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
	pc->port = raw_free_port("127.0.0.1");
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
	/* the watchdog stops the cluster and removes the directory */
	for (int i = 0; i < PG_MAX_CLUSTERS; i++)
		if (pg_watch[i].pid > 0 && pg_watch[i].pid == pc->watchdog)
			pg_watch_end(i);
	pc->started = 0;
	pc->watchdog = 0;
	pc->dir[0] = '\0';
}
