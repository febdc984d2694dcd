/*
 * session.h -- cookie sessions (session.c): what the CSRF check and the
 * server need beyond the cot_session_* API of cot.h.
 */
#ifndef COT_SESSION_H
#define COT_SESSION_H

#include <stdbool.h>

#include "../include/cot.h"

#define SESSION_COOKIE  "cot_session"
#define SESSION_MAX_AGE (14LL * 24 * 3600)

/* Sets the Secure attribute on every session cookie (--secure-cookies). */
extern bool session_secure;
/* Seconds since the epoch; tests replace it to expire sessions. */
extern long long (*session_clock)(void);

/* The session's CSRF token (creating the session); NULL without a secret. */
const char *session_csrf_token(cot_ctx *c);
/* The token of the request's session; NULL when it has none (no creation). */
const char *session_csrf_existing(cot_ctx *c);
/* Ignore the request's session cookie (a bearer-token request: csrf.c). */
void session_ignore_cookie(cot_ctx *c);
/* Writes Set-Cookie when the session changed; server_response.c, before sending. */
void session_finish(cot_ctx *c);

#endif /* COT_SESSION_H */
