/*
 * csrf.h -- CSRF protection (csrf.c): the check before a handler runs and
 * the token placed into rendered forms.
 */
#ifndef COT_CSRF_H
#define COT_CSRF_H

#include <jansson.h>
#include <stddef.h>

#include "../include/cot.h"

/* 0 when the request may go on; else it has answered 403 (server_dispatch.c). */
int csrf_check(cot_ctx *c);
/* A shallow copy of the template data with csrf_field and csrf_token added
 * (placeholders); the caller decrefs it. NULL data: a new object. */
json_t *csrf_template_data(json_t *data);
/* Replaces the placeholders in a rendered page with the session's token. */
void csrf_fill(cot_ctx *c, char *html, size_t len);

#endif /* COT_CSRF_H */
