/*
 * jwt.c -- signed tokens for API clients: JWT (RFC 7519) with HS256, and
 * cot_bearer, which reads the token a client sends.
 *
 * HMAC-SHA-256 is libsodium's (crypto_auth_hmacsha256), keyed with the
 * app's JWT key (secret.c: derived from the app secret, never the session
 * key). The checks, in order, each with its own message for the log:
 *   - three base64url parts, the header a JSON object whose "alg" is
 *     exactly "HS256": "none", "HS512", "RS256"... are refused, so a token
 *     cannot pick a weaker check ("alg: none" attacks);
 *   - the signature, compared in constant time, under the signing secret or
 *     any older one still listed (rotation);
 *   - the payload a JSON object; "exp" and "nbf", when present, numbers
 *     that hold now, with JWT_SKEW seconds of clock skew allowed.
 * cot_jwt_sign adds "iat" and, given a lifetime, "exp".
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "secret.h"
#include "session.h"
#include "vars.h"

#define JWT_SKEW 60
#define JWT_B64  sodium_base64_VARIANT_URLSAFE_NO_PADDING

static char *
jwt_b64(cot_ctx *c, const void *data, size_t len)
{
	size_t olen = sodium_base64_ENCODED_LEN(len, JWT_B64);
	char *out = arena_alloc(&c->mem, olen);
	return sodium_bin2base64(out, olen, data, len, JWT_B64);
}

/* Decodes s[0..len) into the arena; NULL if it is not base64url. */
static unsigned char *
jwt_unb64(cot_ctx *c, const char *s, size_t len, size_t *out_len)
{
	unsigned char *bin = arena_alloc(&c->mem, len + 1);
	if (sodium_base642bin(bin, len + 1, s, len, NULL, out_len, NULL, JWT_B64) != 0)
		return NULL;
	bin[*out_len] = '\0';
	return bin;
}

static bool
jwt_mac(const char *msg, size_t len, int key_index, unsigned char mac[32])
{
	uint8_t key[SECRET_KEY_BYTES];
	if (!secret_key(SECRET_JWT, key_index, key))
		return false;
	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, len, key);
	sodium_memzero(key, sizeof(key));
	return true;
}

const char *
cot_jwt_sign(cot_ctx *c, json_t *claims, long long ttl_seconds)
{
	json_t *body = claims != NULL && json_is_object(claims) ? json_copy(claims) : json_object();
	long long now = session_clock();
	json_object_set_new(body, "iat", json_integer(now));
	if (ttl_seconds > 0)
		json_object_set_new(body, "exp", json_integer(now + ttl_seconds));
	char *payload = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (payload == NULL || secret_count() == 0) {
		free(payload);
		ctx_reject(c, 500,
		           "cot_jwt_sign: no app secret is loaded, or the claims do not "
		           "serialise");
		return NULL;
	}
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *msg = arena_printf(&c->mem, "%s.%s", jwt_b64(c, header, sizeof(header) - 1),
	                         jwt_b64(c, payload, strlen(payload)));
	free(payload);
	unsigned char mac[32];
	jwt_mac(msg, strlen(msg), 0, mac);
	return arena_printf(&c->mem, "%s.%s", msg, jwt_b64(c, mac, sizeof(mac)));
}

/* The header names HS256 (and, if it says, typ JWT); else why not. */
static const char *
jwt_check_header(cot_ctx *c, const char *tok, size_t len)
{
	size_t n;
	unsigned char *raw = jwt_unb64(c, tok, len, &n);
	json_t *h = raw ? json_loadb((const char *)raw, n, 0, NULL) : NULL;
	const char *why = NULL;
	json_t *alg = json_object_get(h, "alg"), *typ = json_object_get(h, "typ");
	if (!json_is_object(h))
		why = "the header is not base64url JSON";
	else if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0)
		why = arena_printf(&c->mem, "alg \"%s\" is not accepted (only HS256)",
		                   json_is_string(alg) ? json_string_value(alg) : "(none)");
	else if (typ != NULL &&
	         (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0))
		why = "typ is not JWT";
	json_decref(h);
	return why;
}

/* The signature of tok[0..signed_len) is sig under one of the secrets. */
static bool
jwt_signature_ok(cot_ctx *c, const char *tok, size_t signed_len, const char *sig)
{
	size_t n;
	unsigned char *want = jwt_unb64(c, sig, strlen(sig), &n);
	if (want == NULL || n != 32)
		return false;
	unsigned char mac[32];
	for (int i = 0; jwt_mac(tok, signed_len, i, mac); i++)
		if (crypto_verify_32(mac, want) == 0)
			return true;
	return false;
}

/* exp and nbf hold now (with skew); else why not. */
static const char *
jwt_check_times(json_t *claims)
{
	long long now = session_clock();
	json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
	if (exp != NULL && (!json_is_number(exp) || now > json_number_value(exp) + JWT_SKEW))
		return "the token has expired";
	if (nbf != NULL && (!json_is_number(nbf) || now < json_number_value(nbf) - JWT_SKEW))
		return "the token is not valid yet (nbf)";
	return NULL;
}

/* Drops the claims cot_jwt_verify handed out (ctx_on_free). */
static void
jwt_request_end(cot_ctx *c)
{
	json_decref(c->auth->jwt_claims);
	c->auth->jwt_claims = NULL;
}

json_t *
cot_jwt_verify(cot_ctx *c, const char *token, const char **why)
{
	const char *ignored;
	why = why ? why : &ignored;
	*why = NULL;
	const char *dot1 = token ? strchr(token, '.') : NULL;
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL) {
		*why = "not a JWT (three base64url parts joined by '.')";
		return NULL;
	}
	if ((*why = jwt_check_header(c, token, (size_t)(dot1 - token))) != NULL)
		return NULL;
	if (secret_count() == 0 || !jwt_signature_ok(c, token, (size_t)(dot2 - token), dot2 + 1)) {
		*why = "the signature does not match";
		return NULL;
	}
	size_t n;
	unsigned char *raw = jwt_unb64(c, dot1 + 1, (size_t)(dot2 - dot1 - 1), &n);
	json_t *claims = raw ? json_loadb((const char *)raw, n, 0, NULL) : NULL;
	if (!json_is_object(claims))
		*why = "the payload is not a JSON object";
	else
		*why = jwt_check_times(claims);
	if (*why != NULL) {
		json_decref(claims);
		return NULL;
	}
	auth_request *a = vars_auth(c);
	if (a->jwt_claims == NULL) {
		a->jwt_claims = json_array();
		ctx_on_free(c, jwt_request_end);
	}
	json_array_append_new(a->jwt_claims, claims); /* the request owns it now */
	return claims;
}

const char *
cot_bearer(cot_ctx *c)
{
	const char *h = cot_header(c, "Authorization");
	if (h == NULL)
		return NULL;
	size_t skip;
	if (strncasecmp(h, "Bearer ", 7) == 0)
		skip = 7;
	else if (strncasecmp(h, "Token ", 6) == 0)
		skip = 6;
	else
		return NULL;
	h += skip + strspn(h + skip, " ");
	if (strncasecmp(h, "token=", 6) == 0) /* Rails: Token token="abc" */
		h += 6;
	size_t len = strcspn(h, " ,");
	if (len >= 2 && h[0] == '"' && h[len - 1] == '"') {
		h++;
		len -= 2;
	}
	return len > 0 ? arena_strndup(&c->mem, h, len) : NULL;
}
