/*
 * haproxy.c -- a private HAProxy with docs/deploy.md's configuration; see
 * haproxy.h.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haproxy.h"
#include "node.h"
#include "raw.h"

#define HAPROXY_BIN "haproxy"

/* The text of the ```haproxy block of the docs (malloc'd), or NULL. */
static char *
haproxy_docs_block(const char *deploy_md)
{
	FILE *f = fopen(deploy_md, "r");
	if (f == NULL)
		return NULL;
	static char text[256 * 1024];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *start = strstr(text, "\n```haproxy\n");
	const char *end = start ? strstr(start + 12, "\n```") : NULL;
	if (end == NULL)
		return NULL;
	return strndup(start + 12, (size_t)(end - start - 12) + 1);
}

/* Replaces the one occurrence of from in *text with to; -1 unless exactly
 * one is there. */
static int
haproxy_replace(char **text, const char *from, const char *to)
{
	char *at = strstr(*text, from);
	if (at == NULL || strstr(at + 1, from) != NULL)
		return -1;
	size_t head = (size_t)(at - *text), fl = strlen(from), tl = strlen(to);
	char *out = malloc(strlen(*text) - fl + tl + 1);
	if (out == NULL)
		abort();
	memcpy(out, *text, head);
	memcpy(out + head, to, tl);
	strcpy(out + head + tl, at + fl);
	free(*text);
	*text = out;
	return 0;
}

int
haproxy_config(haproxy *h, const char *deploy_md, const char *dir,
               const char *const servers[HAPROXY_SERVERS], char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	h->pid = -1;
	h->port = raw_free_port("127.0.0.1");
	snprintf(h->cfg, sizeof(h->cfg), "%s/haproxy.cfg", dir);
	snprintf(h->sock, sizeof(h->sock), "%s/haproxy.sock", dir);
	snprintf(h->log, sizeof(h->log), "%s/haproxy.log", dir);
	char *text = haproxy_docs_block(deploy_md);
	if (text == NULL) {
		snprintf(err, errlen, "no ```haproxy block in %s", deploy_md);
		return -1;
	}
	char bind[64], from[64];
	snprintf(bind, sizeof(bind), "bind 127.0.0.1:%d", h->port);
	struct {
		const char *from, *to;
	} subst[3 + HAPROXY_SERVERS] = {
	        {"bind :80", bind},
	        {"/run/haproxy/admin.sock", h->sock},
	};
	int n = 2;
	for (int i = 0; i < HAPROXY_SERVERS; i++, n++) {
		snprintf(from, sizeof(from), "10.0.0.1%d:8080", i + 1);
		subst[n].from = strdup(from);
		subst[n].to = servers[i];
	}
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		if (haproxy_replace(&text, subst[i].from, subst[i].to) != 0) {
			snprintf(err, errlen,
			         "%s: the haproxy block has no single \"%s\" to replace", deploy_md,
			         subst[i].from);
			rc = -1;
		}
	for (int i = 2; i < n; i++)
		free((char *)subst[i].from);
	FILE *f = rc == 0 ? fopen(h->cfg, "w") : NULL;
	if (rc == 0 && f == NULL) {
		snprintf(err, errlen, "cannot write %s", h->cfg);
		rc = -1;
	}
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(text);
	return rc;
}

/* Runs haproxy with args, its output appended to the log; the child's pid. */
static pid_t
haproxy_spawn(const haproxy *h, const char *flag)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execlp(HAPROXY_BIN, HAPROXY_BIN, flag, "-f", h->cfg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int
haproxy_start(haproxy *h, char *err, size_t errlen)
{
	int st = 0;
	pid_t check = haproxy_spawn(h, "-c");
	if (check < 0 || waitpid(check, &st, 0) != check || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "haproxy -c refuses %s (is haproxy installed? see %s)",
		         h->cfg, h->log);
		return -1;
	}
	h->pid = haproxy_spawn(h, "-db");
	/* up once its stats socket answers */
	char state[64];
	for (double t0 = node_now(); node_now() - t0 < 10; usleep(20000)) {
		if (haproxy_server_state(h, "app1", state, sizeof(state)) == 0)
			return 0;
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->pid = -1;
			break;
		}
	}
	snprintf(err, errlen, "haproxy did not start; see %s", h->log);
	return -1;
}

/* `show stat` over the stats socket into buf; -1 when it does not answer. */
static int
haproxy_show_stat(const haproxy *h, char *buf, size_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(h->sock) >= sizeof(a.sun_path)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(a.sun_path, h->sock, strlen(h->sock) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	static const char cmd[] = "show stat\n";
	size_t n = 0;
	if (write(fd, cmd, sizeof(cmd) - 1) == (ssize_t)(sizeof(cmd) - 1))
		for (ssize_t got; n + 1 < len && (got = read(fd, buf + n, len - 1 - n)) > 0;)
			n += (size_t)got;
	buf[n] = '\0';
	close(fd);
	return n > 0 ? 0 : -1;
}

int
haproxy_server_state(const haproxy *h, const char *name, char *out, size_t len)
{
	static char buf[64 * 1024];
	char prefix[64];
	if (haproxy_show_stat(h, buf, sizeof(buf)) != 0)
		return -1;
	/* CSV: pxname,svname,...; status is the 18th field */
	snprintf(prefix, sizeof(prefix), "\ncot,%s,", name);
	const char *p = strstr(buf, prefix);
	if (p == NULL)
		return -1;
	p++;
	for (int field = 0; field < 17 && p != NULL; field++) {
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	if (p == NULL)
		return -1;
	size_t n = strcspn(p, ",\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
haproxy_wait_state(const haproxy *h, const char *name, const char *want, double timeout_s)
{
	char state[64];
	for (double t0 = node_now(); node_now() - t0 < timeout_s; usleep(50000))
		if (haproxy_server_state(h, name, state, sizeof(state)) == 0 &&
		    strcmp(state, want) == 0)
			return 0;
	return -1;
}

void
haproxy_stop(haproxy *h)
{
	if (h->pid <= 0)
		return;
	int st;
	kill(h->pid, SIGTERM);
	for (double t0 = node_now(); node_now() - t0 < 10; usleep(20000))
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->pid = -1;
			return;
		}
	kill(h->pid, SIGKILL);
	waitpid(h->pid, &st, 0);
	h->pid = -1;
}
