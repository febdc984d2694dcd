/*
 * format.h -- printf without vsnprintf for the common formats (format.c).
 */
#ifndef COT_FORMAT_H
#define COT_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* printf of %s %c %% %d %i %u (with length modifiers) only, without flags,
 * width or precision; -1 for any other format or when out is too small.
 * Used by arena_vprintf before vsnprintf. */
int format_fast(char *out, size_t cap, const char *fmt, va_list ap);

#endif /* COT_FORMAT_H */
