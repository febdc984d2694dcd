/*
 * body.h -- where a request body waits for its handler (body.c): memory or
 * a spool file. body_begin registers body_free to run when the request ends.
 */
#ifndef COT_BODY_H
#define COT_BODY_H

#include <stddef.h>

#include "../include/cot.h"

void body_set_memory_limit(size_t bytes);
void body_begin(cot_ctx *c, size_t declared);
int body_append(cot_ctx *c, const char *data, size_t n);
int body_finish(cot_ctx *c);
void body_free(cot_ctx *c);

#endif /* COT_BODY_H */
