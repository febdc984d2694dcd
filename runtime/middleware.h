/*
 * middleware.h -- COT_MIDDLEWARE hooks (middleware.c): one slot per file
 * that declares them, run before and after each handler.
 */
#ifndef COT_MIDDLEWARE_H
#define COT_MIDDLEWARE_H

#include <stdbool.h>

#include "../include/cot.h"
#include "router.h"

int middleware_slot_for(const char *file);
bool middleware_declared(const char *file);
void middleware_bind(int slot, binding *before, binding *after);
void middleware_reset(void);
int middleware_before(cot_ctx *c);
void middleware_after(cot_ctx *c);

#endif /* COT_MIDDLEWARE_H */
