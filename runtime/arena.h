/*
 * arena.h -- the request allocator (arena.c): a bump allocator whose memory
 * all dies at once, with the request that owns it. Knows nothing of
 * requests itself; cot_ctx embeds one (ctx.h).
 */
#ifndef COT_ARENA_H
#define COT_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena_chunk arena_chunk;
typedef struct arena {
	arena_chunk *head;
	char inline_buf[2048]; /* most requests never call malloc */
	size_t inline_used;
} arena;

/* An empty arena; the inline buffer needs no zeroing. */
void arena_init(arena *a);
/* Zeroed memory (16-byte aligned) owned by the arena; aborts only when
 * malloc fails. */
void *arena_alloc(arena *a, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
/* printf into the arena; the string lives as long as the arena. */
char *arena_vprintf(arena *a, const char *fmt, va_list ap);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees every chunk; the arena is empty and usable again. */
void arena_free(arena *a);

#endif /* COT_ARENA_H */
