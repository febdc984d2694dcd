/*
 * template_internal.h -- what template.c shares with template_cache.c beyond
 * the public API in template.h. Not for handlers or the dev server.
 */
#ifndef COT_TEMPLATE_INTERNAL_H
#define COT_TEMPLATE_INTERNAL_H

#include <stddef.h>

/* Format "NAME:LINE: message" into err (no line when line is 0). Returns -1
 * for the caller to pass on. */
int template_errorf(char *err, size_t errsize, const char *name, int line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

#endif
