/*
 * auth.h -- what the accounts files (secret.c, session.c, csrf.c,
 * password.c, jwt.c, ratelimit.c, vars.c) share with each other and with
 * the core (server.c, render.c, ctx.c) and the two mains. Handlers never see
 * it; their API is in cot.h.
 *
 * All cryptography is libsodium's: AEAD for session cookies, argon2id for
 * passwords, HMAC-SHA-256 for JWTs, SipHash for the rate limiter's table.
 */
#ifndef COT_AUTH_H
#define COT_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

/* ==== the app secret (secret.c) ======================================== */

#define SECRET_KEY_BYTES 32
#define SECRET_MAX       8 /* the signing secret and up to 7 old ones */
#define SECRET_DEV_FILE  ".cot-secret"

/* What a key is for: each purpose gets its own key derived from a secret. */
enum secret_purpose { SECRET_SESSION = 1, SECRET_JWT = 2 };

/* sodium_init once; 0, or -1 when libsodium cannot start. */
int secret_sodium(void);

/*
 * Development: reads SECRET_DEV_FILE in the current directory (the app),
 * creating it with a fresh random secret when it is missing (and saying so
 * on stdout). 0, or -1 with the reason in err.
 */
int secret_init_dev(char *err, size_t errlen);

/*
 * Export: the secrets come from the file `path` (--secret-file) when not
 * NULL, else from $COT_SECRET, else from the file $COT_SECRET_FILE. One
 * secret per line (or whitespace-separated in $COT_SECRET): the first signs,
 * the others still verify (key rotation). Each must be at least 32
 * characters. 0, or -1 with a message that says what to set in err.
 */
int secret_init_export(const char *path, char *err, size_t errlen);

/* Writes a fresh random secret to `path` (mode 0600, never over an existing
 * file): `cotdev new`, and `cotdev run` for an app without one. */
int secret_create_file(const char *path, char *err, size_t errlen);

/* Parses secrets from text (as the file holds them). 0 or -1 with err. */
int secret_init_text(const char *text, const char *origin, char *err, size_t errlen);

/* Number of secrets loaded (0: none: sessions and JWTs refuse to work). */
int secret_count(void);

/* The key for `purpose` derived from secret i (0 signs). false if none. */
bool secret_key(enum secret_purpose purpose, int i, uint8_t key[SECRET_KEY_BYTES]);

/* Forgets every secret (tests, shutdown). */
void secret_reset(void);

/* ==== sessions (session.c) ============================================= */

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

/* ==== CSRF (csrf.c) ==================================================== */

/* 0 when the request may go on; else it has answered 403 (server_dispatch.c). */
int csrf_check(cot_ctx *c);
/* A shallow copy of the template data with csrf_field and csrf_token added
 * (placeholders); the caller decrefs it. NULL data: a new object. */
json_t *csrf_template_data(json_t *data);
/* Replaces the placeholders in a rendered page with the session's token. */
void csrf_fill(cot_ctx *c, char *html, size_t len);

/* ==== JWT (jwt.c) ====================================================== */

/* ==== rate limits (ratelimit.c) ======================================== */

/* Seconds on a monotonic clock; tests replace it. */
extern double (*ratelimit_clock)(void);
void ratelimit_reset(void);

/* ==== per-request state (vars.c) ======================================= */

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

#endif /* COT_AUTH_H */
