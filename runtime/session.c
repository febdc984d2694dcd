/*
 * session.c -- cookie sessions: cot_session_get/set/clear/regenerate.
 *
 * A session is a small JSON object that travels in one cookie, encrypted and
 * authenticated with the app secret (libsodium's XChaCha20-Poly1305; key from
 * secret.c), so the client can neither read nor change it:
 *
 *     cot_session = base64url(nonce[24] || AEAD({"sid", "csrf", "exp", "d"}))
 *
 *   sid   random id of the session; cot_session_regenerate replaces it
 *         (call it on log-in: session fixation) together with
 *   csrf  the session's CSRF token (csrf.c, {{{csrf_field}}} in templates),
 *   exp   when it stops being accepted (Unix seconds), renewed on each write,
 *   d     the application's string values.
 *
 * Why in a cookie rather than a table: no write per request and nothing to
 * share or clean up when several exported processes serve one app -- they
 * only need the same secret. The cost, said in the README: a session cannot
 * be revoked before it expires except by rotating the secret, and it holds
 * at most ~3 KB. Apps that need revocation keep a per-user counter or table
 * and check it in their current-user middleware.
 *
 * A cookie that does not decrypt under any secret (tampered, made with a
 * foreign secret), has expired or is malformed is ignored: the request has
 * no session. One that decrypts under an old secret is re-issued under the
 * new one. The cookie is written once, just before the response is sent
 * (session_finish), only when the session changed: HttpOnly, SameSite=Lax,
 * Path=/, Max-Age, and Secure when --secure-cookies was given or a proxy
 * says the client came over https (X-Forwarded-Proto).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctx.h"
#include "error.h"
#include "secret.h"
#include "session.h"
#include "vars.h"

#define SESSION_NONCE      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SESSION_TAG        crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SESSION_AD         "cot_session v1"
#define SESSION_COOKIE_MAX 4000 /* browsers keep 4096 bytes per cookie */

typedef struct session_state {
	bool loaded;
	bool ignore;  /* bearer-token request: no cookie session */
	bool dirty;   /* write the cookie before sending */
	json_t *data; /* NULL: no session */
	long long max_age;
} session_state;

bool session_secure;

static long long
session_time(void)
{
	return (long long)time(NULL);
}

long long (*session_clock)(void) = session_time;

/* Drops the session's JSON when the request ends (ctx_on_free). */
static void
session_request_end(cot_ctx *c)
{
	session_state *s = c->auth ? c->auth->session : NULL;
	if (s != NULL) {
		json_decref(s->data);
		s->data = NULL;
	}
}

static session_state *
session_of(cot_ctx *c)
{
	auth_request *a = vars_auth(c);
	if (a->session == NULL) {
		a->session = arena_alloc(&c->mem, sizeof(session_state));
		a->session->max_age = SESSION_MAX_AGE;
		ctx_on_free(c, session_request_end);
	}
	return a->session;
}

/* n random bytes as base64url, in the request's arena. */
static char *
session_random(cot_ctx *c, size_t n)
{
	unsigned char raw[64];
	randombytes_buf(raw, n);
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = arena_alloc(&c->mem, len);
	sodium_bin2base64(out, len, raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* Decrypts a cookie value; the JSON object, or NULL. *old: an old key. */
static json_t *
session_open(cot_ctx *c, const char *cookie, bool *old)
{
	size_t clen = strlen(cookie), blen;
	unsigned char *bin = arena_alloc(&c->mem, clen);
	if (sodium_base642bin(bin, clen, cookie, clen, NULL, &blen, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    blen < SESSION_NONCE + SESSION_TAG)
		return NULL;
	unsigned char *plain = arena_alloc(&c->mem, blen);
	unsigned long long plen;
	uint8_t key[SECRET_KEY_BYTES];
	for (int i = 0; secret_key(SECRET_SESSION, i, key); i++) {
		int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
		        plain, &plen, NULL, bin + SESSION_NONCE, blen - SESSION_NONCE,
		        (const unsigned char *)SESSION_AD, strlen(SESSION_AD), bin, key);
		sodium_memzero(key, sizeof(key));
		if (rc == 0) {
			*old = i > 0;
			return json_loadb((const char *)plain, (size_t)plen, 0, NULL);
		}
	}
	return NULL;
}

/* A decrypted session is usable: the fields are there and it has not expired. */
static bool
session_valid(json_t *s)
{
	json_t *exp = json_object_get(s, "exp");
	return json_is_object(s) && json_is_string(json_object_get(s, "sid")) &&
	       json_is_string(json_object_get(s, "csrf")) &&
	       json_is_object(json_object_get(s, "d")) && json_is_integer(exp) &&
	       json_integer_value(exp) > session_clock();
}

/* Reads the request's cookie once. */
static session_state *
session_load(cot_ctx *c)
{
	session_state *s = session_of(c);
	if (s->loaded)
		return s;
	s->loaded = true;
	const char *cookie = s->ignore ? NULL : cot_cookie(c, SESSION_COOKIE);
	if (cookie == NULL || secret_count() == 0)
		return s;
	bool old = false;
	json_t *data = session_open(c, cookie, &old);
	if (data != NULL && !session_valid(data)) {
		json_decref(data);
		data = NULL;
	}
	s->data = data;
	s->dirty = data != NULL && old; /* re-issue under the signing secret */
	return s;
}

/* The session, created when there is none; NULL without a secret. */
static session_state *
session_ensure(cot_ctx *c)
{
	session_state *s = session_load(c);
	if (s->data != NULL)
		return s;
	if (secret_count() == 0) {
		ctx_reject(c, 500,
		           "sessions need the app secret, and none is loaded (cotdev run "
		           "reads .cot-secret; an export --secret-file or COT_SECRET)");
		return NULL;
	}
	s->data = json_pack("{s:s, s:s, s:I, s:{}}", "sid", session_random(c, 16), "csrf",
	                    session_random(c, 32), "exp", (json_int_t)0, "d");
	s->dirty = true;
	return s->data != NULL ? s : NULL;
}

const char *
cot_session_get(cot_ctx *c, const char *key)
{
	session_state *s = session_load(c);
	json_t *v = s->data ? json_object_get(json_object_get(s->data, "d"), key) : NULL;
	return json_is_string(v) ? arena_strdup(&c->mem, json_string_value(v)) : NULL;
}

int
cot_session_set(cot_ctx *c, const char *key, const char *value)
{
	session_state *s = session_ensure(c);
	if (s == NULL || key == NULL)
		return -1;
	json_t *d = json_object_get(s->data, "d");
	int rc = value == NULL ? (json_object_del(d, key), 0)
	                       : json_object_set_new(d, key, json_string(value));
	s->dirty = true;
	return rc == 0 ? 0 : -1;
}

void
cot_session_clear(cot_ctx *c)
{
	session_state *s = session_load(c);
	json_decref(s->data);
	s->data = NULL;
	s->dirty = true; /* deletes the cookie, unless a new session follows */
}

int
cot_session_regenerate(cot_ctx *c)
{
	session_state *s = session_ensure(c);
	if (s == NULL)
		return -1;
	json_object_set_new(s->data, "sid", json_string(session_random(c, 16)));
	json_object_set_new(s->data, "csrf", json_string(session_random(c, 32)));
	s->dirty = true;
	return 0;
}

const char *
cot_session_id(cot_ctx *c)
{
	session_state *s = session_load(c);
	return s->data ? arena_strdup(&c->mem, json_string_value(json_object_get(s->data, "sid")))
	               : NULL;
}

void
cot_session_max_age(cot_ctx *c, long long seconds)
{
	session_state *s = session_load(c);
	s->max_age = seconds > 0 ? seconds : SESSION_MAX_AGE;
	s->dirty = s->data != NULL;
}

const char *
session_csrf_token(cot_ctx *c)
{
	session_state *s = session_ensure(c);
	return s ? json_string_value(json_object_get(s->data, "csrf")) : NULL;
}

const char *
session_csrf_existing(cot_ctx *c)
{
	session_state *s = session_load(c);
	return s->data ? json_string_value(json_object_get(s->data, "csrf")) : NULL;
}

const char *
cot_csrf_token(cot_ctx *c)
{
	const char *t = session_csrf_token(c);
	return t ? arena_strdup(&c->mem, t) : NULL;
}

void
session_ignore_cookie(cot_ctx *c)
{
	session_state *s = session_of(c);
	if (!s->loaded)
		s->ignore = true;
}

/* Encrypts the session into a cookie value; NULL when it is too large. */
static char *
session_seal(cot_ctx *c, session_state *s, size_t *plain_len)
{
	json_object_set_new(s->data, "exp", json_integer(session_clock() + s->max_age));
	char *plain = json_dumps(s->data, JSON_COMPACT);
	uint8_t key[SECRET_KEY_BYTES];
	if (plain == NULL || !secret_key(SECRET_SESSION, 0, key)) {
		free(plain);
		return NULL;
	}
	size_t plen = strlen(plain), blen = SESSION_NONCE + plen + SESSION_TAG;
	*plain_len = plen;
	unsigned char *bin = arena_alloc(&c->mem, blen);
	randombytes_buf(bin, SESSION_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	        bin + SESSION_NONCE, NULL, (const unsigned char *)plain, plen,
	        (const unsigned char *)SESSION_AD, strlen(SESSION_AD), NULL, bin, key);
	sodium_memzero(key, sizeof(key));
	free(plain);
	size_t olen = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (olen > SESSION_COOKIE_MAX)
		return NULL;
	char *out = arena_alloc(&c->mem, olen);
	return sodium_bin2base64(out, olen, bin, blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Secure: told so, or the client reached a TLS-terminating proxy. */
static bool
session_is_secure(cot_ctx *c)
{
	const char *proto = cot_header(c, "X-Forwarded-Proto");
	return session_secure || (proto != NULL && strcasecmp(proto, "https") == 0);
}

void
session_finish(cot_ctx *c)
{
	session_state *s = c->auth ? c->auth->session : NULL;
	if (s == NULL || !s->dirty)
		return;
	s->dirty = false;
	cot_cookie_opts o = {.http_only = 1,
	                     .secure = session_is_secure(c),
	                     .same_site = COT_SAMESITE_LAX,
	                     .max_age = -1};
	if (s->data == NULL) { /* cleared: the browser forgets the cookie */
		cot_set_cookie(c, SESSION_COOKIE, "", &o);
		return;
	}
	size_t plain_len = 0;
	char *value = session_seal(c, s, &plain_len);
	if (value == NULL) {
		error_respond(
		        c, 500,
		        arena_printf(
		                &c->mem,
		                "the session holds %zu bytes of JSON; "
		                "a session cookie holds about 2900: keep an id in the session and "
		                "the data in the database",
		                plain_len),
		        NULL);
		return;
	}
	o.max_age = s->max_age;
	cot_set_cookie(c, SESSION_COOKIE, value, &o);
}
