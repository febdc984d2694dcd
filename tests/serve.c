/*
 * serve.c -- a server started with one case's flags, and requests left
 * running in the background, the server's memory; see serve.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

bool
serve_start(h_target *t, const char *cotdev, const char *app, const char *const *pre,
            const char *const *flags, bool reuse_export, h_server *srv)
{
	const char *all[H_TARGET_MAX_ARGS];
	int n = 0;
	all[n++] = "--port";
	all[n++] = "0";
	all[n++] = "--quiet";
	for (int i = 0; pre != NULL && pre[i] != NULL && n < H_TARGET_MAX_ARGS - 1; i++)
		all[n++] = pre[i];
	for (int i = 0; flags[i] != NULL && n < H_TARGET_MAX_ARGS - 1; i++)
		all[n++] = flags[i];
	all[n] = NULL;
	*t = h_target_dev(cotdev);
	t->reuse_export = reuse_export;
	char err[512] = "";
	if (h_target_flags(t, all) != 0 || h_server_start(t, app, srv, err, sizeof(err)) != 0) {
		printf("# start: %s\n", err);
		return false;
	}
	return true;
}

static void *
serve_bg_main(void *arg)
{
	serve_bg *r = arg;
	h_client *k = h_client_new();
	h_request(k, r->srv, "GET", r->path, NULL, NULL, &r->resp);
	h_client_free(k);
	atomic_store(&r->done, true);
	return NULL;
}

void
serve_bg_start(serve_bg *r, const h_server *srv, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->srv = srv;
	r->path = path;
	atomic_init(&r->done, false);
	pthread_create(&r->thread, NULL, serve_bg_main, r);
}

bool
serve_bg_done(void *r)
{
	return atomic_load(&((serve_bg *)r)->done);
}

void
serve_bg_wait(serve_bg *r)
{
	pthread_join(r->thread, NULL);
}

long
serve_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	size_t n = strlen(field);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0)
			kb = atol(line + n);
	if (f != NULL)
		fclose(f);
	return kb;
}

void
serve_reset_peak(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fputs("5", f);
		fclose(f);
	}
}
