/*
 * form.h -- what the request/response API files (form.c, json.c, cookie.c)
 * share, and what the core calls of them. Handlers never see it.
 *
 * The API records problems instead of answering at once, because a handler
 * still returns its own response afterwards: form_reject stores the first
 * status and detail in c->reject_status/c->reject_detail, and server.c,
 * after the handler returns, answers error_respond(c, reject_status,
 * reject_detail, NULL) instead of the handler's response.
 */
#ifndef COT_FORM_H
#define COT_FORM_H

#include "internal.h"

/* Request header by case-insensitive name: c->req_headers when a test set
 * it, else the connection's (cot_header). NULL if absent. */
const char *form_header(cot_ctx *c, const char *name);

/* Records that the request must answer `status` with `detail` (arena
 * string) once the handler returns. The first call wins. */
void form_reject(cot_ctx *c, int status, const char *detail);

/* Drops the request's reference on cot_body_json's value. Idempotent; call
 * from ctx_free (json.c). */
void json_request_free(cot_ctx *c);

#endif /* COT_FORM_H */
