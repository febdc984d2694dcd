/*
 * test_apptree.c -- one rule for which files are the app's (runtime/apptree.c),
 * seen from outside: an editor's leftover beside a static file is not
 * served, not embedded by `cotdev export`, and saving it reloads no page,
 * while the file itself is served and its save does reload.
 *
 * Usage: test_apptree COTDEV | export:COTDEV. Against the dev server the
 * live-reload events are read from /_cot/events over a raw socket; against
 * the export (no reloads) only what is served is checked -- what is served
 * there is exactly what was embedded.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "raw.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];

/* The leftovers: each is a name the rule ignores, beside a served file. */
static const char *const leftovers[] = {
        "static/app.css.bak", "static/app.css~",    "static/app.css.orig",    "static/.app.css.swp",
        "static/app.css.tmp", "static/.hidden.css", "static/old.bak/app.css",
};

static long
status_of(const char *path)
{
	h_resp r = {0};
	long st = h_get(&srv, path, &r);
	h_resp_free(&r);
	return st;
}

/* ==== the event stream ================================================= */

/* Opens /_cot/events; returns the socket or -1. */
static int
events_open(void)
{
	int fd = raw_connect(srv.port, NULL);
	if (fd < 0)
		return -1;
	char req[256];
	int n = snprintf(req, sizeof(req),
	                 "GET /_cot/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	                 "Accept: text/event-stream\r\n\r\n",
	                 srv.port);
	if (raw_send(fd, req, (size_t)n) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Reads the stream into buf until `needle` shows up or the deadline passes.
 * Returns true if it did; buf holds everything read (NUL-terminated).
 */
static bool
events_until(int fd, char *buf, size_t cap, size_t *len, const char *needle, double ms)
{
	double end = h_now_ms() + ms;
	while (strstr(buf, needle) == NULL) {
		double left = end - h_now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0 || *len + 1 >= cap)
			return false;
		ssize_t n = read(fd, buf + *len, cap - *len - 1);
		if (n <= 0)
			return false;
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	return true;
}

/* ==== checks =========================================================== */

static void
check_served(void)
{
	T_CHECK("static/app.css is served", status_of("/static/app.css") == 200);
	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
		char name[160], url[200];
		snprintf(url, sizeof(url), "/%s", leftovers[i]);
		snprintf(name, sizeof(name), "%s is not served (%s)", leftovers[i], target.name);
		long st = status_of(url);
		T_CHECK(name, st == 404);
		if (st != 404)
			printf("# GET %s: %ld\n", url, st);
	}
}

/* The whole file at path, malloc'd, or NULL. */
static char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (*len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 1 << 20);
			if (nb == NULL)
				break;
			buf = nb;
		}
		size_t n = fread(buf + *len, 1, cap - *len, f);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	return buf;
}

/* The exported binary carries app.css's bytes and none of the leftovers'. */
static void
check_embedded(void)
{
	char path[4300];
	size_t len = 0;
	char *bin = read_all(h_path(path, sizeof(path), "%s/.cot-export-bin", app), &len);
	T_CHECK("the exported binary is there", bin != NULL);
	if (bin == NULL)
		return;
	static const char kept[] = "body { color: green }", left[] = "b { color: red }";
	T_CHECK("the export embeds static/app.css", memmem(bin, len, kept, strlen(kept)) != NULL);
	T_CHECK("the export embeds none of the leftovers",
	        memmem(bin, len, left, strlen(left)) == NULL);
	free(bin);
}

/* Saving a leftover sends no event; saving the file after it sends one, and
 * it is the first: events keep the order of the saves. */
static void
check_reloads(void)
{
	int fd = events_open();
	T_CHECK("/_cot/events opens", fd >= 0);
	if (fd < 0)
		return;
	static char buf[65536];
	size_t len = 0;
	buf[0] = '\0';
	T_CHECK("the event stream answers",
	        events_until(fd, buf, sizeof(buf), &len, "\r\n\r\n", 10000));
	size_t head = len;
	char path[4300];
	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
		h_save_inplace(h_path(path, sizeof(path), "%s/%s", app, leftovers[i]),
		               "b { color: red }\n");
	h_save_inplace(h_path(path, sizeof(path), "%s/static/app.css", app),
	               "body { color: blue }\n");
	bool got = events_until(fd, buf, sizeof(buf), &len, "\"static/app.css\"", 20000);
	T_CHECK("saving static/app.css sends a css event",
	        got && strstr(buf + head, "event: css") != NULL);
	const char *first = strstr(buf + head, "\"file\"");
	T_CHECK("... and it is the first event: no leftover sent one before it",
	        first != NULL && strncmp(first, "\"file\":\"static/app.css\"", 23) == 0);
	if (first != NULL && strncmp(first, "\"file\":\"static/app.css\"", 23) != 0)
		printf("# events: %s\n", buf + head);
	close(fd);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	static char cotdev[4096];
	target = h_target_dev(argv[1]);
	if (realpath(target.cotdev, cotdev) == NULL) {
		printf("not ok %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	target.cotdev = cotdev;
	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("scaffold an app", false);
		return T_DONE();
	}
	char dir[4300];
	mkdir(h_path(dir, sizeof(dir), "%s/static/old.bak", app), 0755);
	bool wrote = h_write_app_file(app, "static/app.css", "body { color: green }\n") == 0;
	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
		wrote &= h_write_app_file(app, leftovers[i], "b { color: red }\n") == 0;
	T_CHECK("write static/app.css and its leftovers", wrote);
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start %s: %s\n", argv[1], err);
		h_rmtree(app);
		return 1;
	}
	check_served();
	if (target.reloads)
		check_reloads();
	else
		check_embedded();
	h_thread_done();
	T_CHECK("server exits 0 at SIGTERM", h_server_stop(&srv) == 0);
	h_rmtree(app);
	return T_DONE();
}
