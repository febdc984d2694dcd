/*
 * error.h -- every failure becomes a response here (error.c): the status,
 * its cot_error code, and the page or JSON the client accepts.
 * (Not on the handlers' include path -- include/ is -- so it never
 * shadows glibc's <error.h>.)
 */
#ifndef COT_ERROR_H
#define COT_ERROR_H

#include <stdbool.h>

#include "../include/cot.h"

/* Development: traces and details go to clients (server.c sets it). */
extern bool error_dev_mode;

/*
 * The one place every failure becomes a response: sets c's response to
 * `status` rendered for what the client accepts. `detail` and `trace` may be
 * NULL; `trace` is shown only in development.
 */
void error_respond(cot_ctx *c, int status, const char *detail, const char *trace);
/* error_respond with the cot_error code after hooks see (NULL: by status,
 * "not_found" for 404...); see cot.h for the codes. */
void error_respond_as(cot_ctx *c, int status, const char *code, const char *detail,
                      const char *trace);
/* The code a status gets when no more precise one is given. */
const char *error_code_for(int status);
/* The app's own page for a status (templates/errors/404.html), or NULL. */
extern char *(*error_page_hook)(cot_ctx *c, int status, const char *detail);
const char *error_title(int status);

#endif /* COT_ERROR_H */
