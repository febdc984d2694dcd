/*
 * fields.h -- field errors (fields.c) as the rest of the runtime records
 * and enforces them. Handlers use cot_field_error / cot_fail_fields.
 */
#ifndef COT_FIELDS_H
#define COT_FIELDS_H

#include "../include/cot.h"

/* Records one message (copied) about `field`. */
void fields_add(cot_ctx *c, const char *field, const char *message);

/* After the handler: answers 422 with the field errors when there are some
 * and the handler's answer is not already an error. */
void fields_reject(cot_ctx *c);

#endif
