/*
 * task.c -- background work a handler hands off: cot_spawn.
 *
 * A task runs after its request's response was queued, on a small pool of
 * threads, with a child context: the parent's method, path, parameters and
 * request id, and a "spawn trail" -- one line per cot_spawn that led here,
 * innermost first -- so a crash or a cot_fail in the task logs a trace that
 * ends with `spawned by handlers/x.c:N during POST /notes (request ID)`.
 *
 * The task's code lives in the parent's module, so the child context holds
 * its own reference on that module (router.c's protocol): a reload while a
 * task runs keeps the old code alive until the task is done. Tasks queue in
 * the parent context until its response is queued, which is what "after the
 * response" means here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "crash.h"
#include "ctx.h"
#include "monotonic.h"
#include "router.h"
#include "task.h"
#include "trace.h"

#define TASK_THREADS 2

typedef struct task {
	cot_task_fn fn;
	void *arg;
	cot_ctx *ctx;
	STAILQ_ENTRY(task) link;
} task;

STAILQ_HEAD(task_queue, task);

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, idle;
	struct task_queue queue;
	pthread_t threads[TASK_THREADS];
	int running; /* tasks taken but not finished */
	bool started, stopping;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .more = PTHREAD_COND_INITIALIZER,
       .idle = PTHREAD_COND_INITIALIZER,
       .queue = STAILQ_HEAD_INITIALIZER(T.queue)};

static void
task_trampoline(cot_ctx *c, const binding *b, void *arg)
{
	(void)b;
	task *t = arg;
	t->fn(c, t->arg);
}

/* Runs one task and logs how it failed, if it did. */
static void
task_run(task *t)
{
	cot_ctx *c = t->ctx;
	c->start_ms = monotonic_ms();
	crash_report rep;
	if (c->match.b == NULL) {
		t->fn(c, t->arg);
	} else if (crash_run(c, c->match.b, task_trampoline, t, &rep) != 0) {
		if (!rep.abandoned) { /* abandoned: the watchdog logged "task stopped" */
			const char *detail;
			char *trace = trace_format(c, c->match.b, &rep, &detail);
			printf("task crashed: %s\n%s\n", detail, trace);
		}
	} else if (c->fail_detail != NULL) {
		printf("task failed: %s (%s:%d)\n%s\n", c->fail_detail, c->fail_file, c->fail_line,
		       c->spawn_trail);
	}
	fflush(stdout);
	ctx_free(c);
	free(c);
	free(t);
}

static void *
task_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&T.lock);
	for (;;) {
		while (STAILQ_EMPTY(&T.queue) && !T.stopping)
			pthread_cond_wait(&T.more, &T.lock);
		if (STAILQ_EMPTY(&T.queue))
			break;
		task *t = STAILQ_FIRST(&T.queue);
		STAILQ_REMOVE_HEAD(&T.queue, link);
		T.running++;
		pthread_mutex_unlock(&T.lock);
		task_run(t);
		pthread_mutex_lock(&T.lock);
		if (--T.running == 0 && STAILQ_EMPTY(&T.queue))
			pthread_cond_broadcast(&T.idle);
	}
	pthread_mutex_unlock(&T.lock);
	return NULL;
}

/* A child context: what a trace needs from the parent, in its own arena. */
static cot_ctx *
task_child(cot_ctx *c, const char *file, int line)
{
	cot_ctx *k = malloc(sizeof(*k));
	if (k == NULL)
		return NULL;
	ctx_init(k);
	k->method = arena_strdup(&k->mem, c->method);
	k->path = arena_strdup(&k->mem, c->path ? c->path : "");
	memcpy(k->request_id, c->request_id, sizeof(k->request_id));
	k->match.nparams = c->match.nparams;
	for (int i = 0; i < c->match.nparams; i++) {
		k->match.names[i] = arena_strdup(&k->mem, c->match.names[i]);
		k->match.values[i] = arena_strdup(&k->mem, c->match.values[i]);
	}
	k->spawn_trail =
	        arena_printf(&k->mem, "  spawned by %s:%d during %s %s (request %s)%s%s", file,
	                     line, c->method, c->path, c->request_id, c->spawn_trail ? "\n" : "",
	                     c->spawn_trail ? c->spawn_trail : "");
	binding *b = c->match.b;
	if (b != NULL && b->owner != NULL) /* the parent's reference keeps it alive */
		atomic_fetch_add(&b->owner->refs, 1);
	k->match.b = b;
	return k;
}

/* Tasks still queued on a context that never sent a response. */
static void
task_drop(cot_ctx *c)
{
	for (task *t = c->tasks, *next; t != NULL; t = next) {
		next = t->link.stqe_next;
		ctx_free(t->ctx);
		free(t->ctx);
		free(t);
	}
	c->tasks = NULL;
}

/*
 * c ends (ctx_on_free, registered by the first cot_spawn): tasks it still
 * holds were spawned by a task -- they run now that it has returned -- or by
 * a request that never sent a response, and are dropped.
 */
static void
task_request_end(cot_ctx *c)
{
	if (c->tasks == NULL)
		return;
	if (c->spawn_trail != NULL)
		task_submit(c);
	else
		task_drop(c);
}

/*
 * Queues fn(child, arg) to run after c's response. `arg` is passed as is:
 * it must outlive the request (request memory does not).
 */
void
cot_spawn_at(cot_ctx *c, const char *file, int line, cot_task_fn fn, void *arg)
{
	task *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->ctx = task_child(c, file, line)) == NULL) {
		free(t);
		printf("cot_spawn at %s:%d: out of memory; task dropped\n", file, line);
		return;
	}
	t->fn = fn;
	t->arg = arg;
	t->link.stqe_next = c->tasks;
	c->tasks = t;
	ctx_on_free(c, task_request_end);
}

/* Hands c's spawned tasks to the pool; called once its response is queued
 * (or, for a task, when it has returned). */
void
task_submit(cot_ctx *c)
{
	if (c->tasks == NULL)
		return;
	pthread_mutex_lock(&T.lock);
	if (!T.started) {
		T.started = true;
		for (int i = 0; i < TASK_THREADS; i++)
			pthread_create(&T.threads[i], NULL, task_worker, NULL);
	}
	for (task *t = c->tasks, *next; t != NULL; t = next) {
		next = t->link.stqe_next;
		STAILQ_INSERT_TAIL(&T.queue, t, link);
	}
	c->tasks = NULL;
	pthread_cond_broadcast(&T.more);
	pthread_mutex_unlock(&T.lock);
}

/* Waits for every queued task, then stops the pool. */
void
task_shutdown(void)
{
	pthread_mutex_lock(&T.lock);
	while (T.running > 0 || !STAILQ_EMPTY(&T.queue))
		pthread_cond_wait(&T.idle, &T.lock);
	T.stopping = true;
	pthread_cond_broadcast(&T.more);
	bool started = T.started;
	pthread_mutex_unlock(&T.lock);
	for (int i = 0; started && i < TASK_THREADS; i++)
		pthread_join(T.threads[i], NULL);
	T.started = T.stopping = false;
}
