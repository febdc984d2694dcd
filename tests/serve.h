/*
 * serve.h -- what the suites that start one app many times share
 * (tests/serve.c, on the harness): a server started with the flags of one
 * case, a request left running on a thread of its own, for handlers that
 * hold or hang while the test does something else, and the server's
 * memory as the kernel counts it.
 */
#ifndef COT_TEST_SERVE_H
#define COT_TEST_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "harness.h"

/*
 * Starts `cotdev` (a path, or export:PATH as h_target_dev takes it) on app
 * with "--port 0 --quiet", then `pre` and `flags` (NULL-terminated; pre
 * may be NULL). *t receives the target (t->reloads tells dev from export);
 * with reuse_export, the export made by an earlier start is served again.
 * False, with "# start: why" printed, if it did not start.
 */
bool serve_start(h_target *t, const char *cotdev, const char *app, const char *const *pre,
                 const char *const *flags, bool reuse_export, h_server *srv);

/* A GET on a connection of its own, on a thread. */
typedef struct serve_bg {
	const h_server *srv;
	const char *path; /* the caller's, kept until serve_bg_wait */
	h_resp resp;      /* filled when done; the caller frees it */
	atomic_bool done;
	pthread_t thread;
} serve_bg;

void serve_bg_start(serve_bg *r, const h_server *srv, const char *path);

/* Whether the request is answered (or failed): h_wait_for(serve_bg_done, r, ms). */
bool serve_bg_done(void *r);

/* Waits for the thread; r->resp then holds the answer. */
void serve_bg_wait(serve_bg *r);

/* A field of /proc/PID/status in kB ("VmRSS:", "VmHWM:"); -1 if absent. */
long serve_status_kb(pid_t pid, const char *field);

/* Starts the process's peak (VmHWM) again from its RSS now (clear_refs 5). */
void serve_reset_peak(pid_t pid);

#endif
