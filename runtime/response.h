/*
 * response.h -- what response.c offers the rest of the runtime beside the
 * cot_* response API: which headers a response already has, and where
 * static/ is served from.
 */
#ifndef COT_RESPONSE_H
#define COT_RESPONSE_H

#include <stdbool.h>

#include "../include/cot.h"

extern const char *response_static_dir; /* static/ as served; NULL: none */

bool response_has_header(const cot_ctx *c, const char *name);

#endif /* COT_RESPONSE_H */
