/*
 * strict.h -- request-head checks libmicrohttpd 0.9.75 does not make
 * (strict.c). The Host allow-list is hostallow.h's.
 */
#ifndef COT_STRICT_H
#define COT_STRICT_H

#include <stdbool.h>

#include "../include/cot.h"

typedef struct strict_verdict {
	int status;         /* 0: fine; else answer this and close */
	const char *detail; /* why, in the request's arena or static */
} strict_verdict;

/* MHD_OPTION_URI_LOG_CALLBACK: returns the "NUL in the target" marker or
 * NULL; MHD passes it to the first access-handler call as *con_cls. */
void *strict_uri_log(void *cls, const char *uri, struct MHD_Connection *conn);
bool strict_is_nul_marker(const void *con_cls);

/*
 * Checks c's request head (c->conn, c->raw_url) as MHD parsed it. Returns 0,
 * or 1 with v->status 400 (malformed, ambiguous framing) or 501 (a transfer
 * coding other than chunked). Call on the request's first call, before the
 * body is read.
 */
int strict_check(cot_ctx *c, const char *version, bool nul_in_target, strict_verdict *v);

#endif
