/*
 * test_altstack.c -- the alternate signal stack crash.c gives each thread
 * that runs handler code (64 KB) goes with the thread. Threads come and go
 * (background tasks, replaced workers); each used to leave its stack behind.
 *
 * Built without AddressSanitizer on purpose: ASan installs its own
 * alternate stack, and crash.c then keeps it instead of making one.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "crash.h"
#include "ctx.h"
#include "router.h"
#include "t.h"

#define THREADS 200

static void
noop(cot_ctx *c, const binding *b, void *arg)
{
	(void)c;
	(void)b;
	*(int *)arg += 1;
}

/* One short-lived thread that runs "handler code" under crash_run. */
static void *
worker(void *arg)
{
	cot_ctx c;
	binding b = {.file = "handlers/x.c"};
	crash_report rep;
	memset(&c, 0, sizeof(c));
	ctx_init(&c);
	crash_run(&c, &b, noop, arg, &rep);
	ctx_free(&c);
	return NULL;
}

static size_t
heap_in_use(void)
{
	return mallinfo2().uordblks;
}

int
main(void)
{
	T_CHECK("crash handlers install", crash_init(0) == 0);
	int ran = 0;
	pthread_t t;
	pthread_create(&t, NULL, worker, &ran); /* warm up: keys, pools */
	pthread_join(t, NULL);
	size_t before = heap_in_use();
	for (int i = 0; i < THREADS; i++) {
		pthread_create(&t, NULL, worker, &ran);
		pthread_join(t, NULL);
	}
	size_t after = heap_in_use();
	T_CHECK("every thread ran its handler", ran == THREADS + 1);
	long grown = (long)after - (long)before;
	printf("# heap grew %ld bytes over %d threads (a kept stack: 65536 each)\n", grown,
	       THREADS);
	T_CHECK("threads leave their alternate stacks behind no more",
	        grown < 65536L * THREADS / 20);
	crash_shutdown();
	return T_DONE();
}
