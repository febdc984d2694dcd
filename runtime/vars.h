/*
 * vars.h -- what the accounts files keep per request (vars.c): one
 * auth_request hanging off cot_ctx, made on first use.
 */
#ifndef COT_VARS_H
#define COT_VARS_H

#include <jansson.h>
#include <stdbool.h>

#include "../include/cot.h"

/* Everything the accounts files keep per request; one pointer in cot_ctx. */
typedef struct auth_request {
	struct session_state *session;
	struct ctx_var *vars;
	json_t *jwt_claims; /* an array of what cot_jwt_verify returned */
	bool bearer_exempt; /* CSRF skipped: Authorization header */
} auth_request;

/* The request's auth_request, made on first use (arena; vars.c). Each file
 * that keeps more than arena memory in it frees that itself (ctx_on_free). */
auth_request *vars_auth(cot_ctx *c);

#endif /* COT_VARS_H */
