/*
 * arena.c -- the request allocator.
 *
 * Every byte a request needs (decoded path segments, parameters, formatted
 * bodies) comes from one arena that dies with the request, which is why the
 * handler API never asks anyone to free anything. The arena starts with a
 * buffer inside itself (inside the context that embeds it), so a small
 * request does no malloc at all; larger needs chain heap chunks.
 *
 * It knows nothing of requests: ctx.c embeds one in every cot_ctx, and the
 * lowest files (router.c) use it without depending on the request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "format.h"

struct arena_chunk {
	arena_chunk *next;
	size_t used, cap;
	char data[];
};

#define ARENA_ALIGN     16
#define ARENA_CHUNK_MIN 8192

void
arena_init(arena *a)
{
	a->head = NULL;
	a->inline_used = 0;
}

static size_t
arena_round(size_t n)
{
	return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

/* Returns zeroed memory owned by the arena; aborts only when malloc fails. */
void *
arena_alloc(arena *a, size_t size)
{
	size_t need = arena_round(size ? size : 1);
	if (a->head == NULL && a->inline_used + need <= sizeof(a->inline_buf)) {
		void *p = a->inline_buf + a->inline_used;
		a->inline_used += need;
		memset(p, 0, size);
		return p;
	}
	if (a->head == NULL || a->head->used + need > a->head->cap) {
		size_t cap = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
		arena_chunk *ch = malloc(sizeof(*ch) + cap);
		if (ch == NULL) {
			fprintf(stderr, "cot: out of memory (%zu bytes)\n", cap);
			abort();
		}
		ch->next = a->head;
		ch->used = 0;
		ch->cap = cap;
		a->head = ch;
	}
	void *p = a->head->data + a->head->used;
	a->head->used += need;
	memset(p, 0, size);
	return p;
}

char *
arena_strndup(arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
arena_strdup(arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

/*
 * printf into the arena. Formats straight into the arena's free space and
 * only formats a second time when that was too small: handlers call this
 * for every response, and one pass is half the cost of two. The common
 * formats (%s, %d, ...) take format_fast instead of vsnprintf.
 */
char *
arena_vprintf(arena *a, const char *fmt, va_list ap)
{
	char *room = NULL;
	size_t avail = 0;
	if (a->head == NULL && a->inline_used < sizeof(a->inline_buf)) {
		room = a->inline_buf + a->inline_used;
		avail = sizeof(a->inline_buf) - a->inline_used;
	} else if (a->head != NULL && a->head->used < a->head->cap) {
		room = a->head->data + a->head->used;
		avail = a->head->cap - a->head->used;
	}
	int n = room != NULL ? format_fast(room, avail, fmt, ap) : -1;
	if (n < 0) { /* a format it does not handle, or no room: printf proper */
		va_list ap2;
		va_copy(ap2, ap);
		n = vsnprintf(room, avail, fmt, ap2);
		va_end(ap2);
	}
	if (n < 0)
		return arena_strdup(a, "");
	if ((size_t)n < avail) {
		size_t need = arena_round((size_t)n + 1);
		if (need <= avail) { /* it fit: claim what was written, in place */
			if (a->head == NULL)
				a->inline_used += need;
			else
				a->head->used += need;
			return room;
		}
		char *buf = arena_alloc(a, (size_t)n + 1); /* elsewhere: room is intact */
		return memcpy(buf, room, (size_t)n + 1);
	}
	char *buf = arena_alloc(a, (size_t)n + 1);
	vsnprintf(buf, (size_t)n + 1, fmt, ap);
	return buf;
}

char *
arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s;
}

void
arena_free(arena *a)
{
	arena_chunk *ch = a->head;
	while (ch != NULL) {
		arena_chunk *next = ch->next;
		free(ch);
		ch = next;
	}
	a->head = NULL;
	a->inline_used = 0;
}
