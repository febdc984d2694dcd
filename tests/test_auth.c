/*
 * test_auth.c -- the accounts files without a server: passwords
 * (password.c), the app secret (secret.c), cookie sessions (session.c),
 * CSRF decisions (csrf.c), JWT and bearer tokens (jwt.c), rate limits
 * (ratelimit.c) and per-request state (vars.c).
 *
 * Requests are contexts made by hand (tests/api_test.h): request headers in
 * c->req_headers, the response's headers read back from c->resp_headers.
 * Time is the runtime's own clock hooks (session_clock, ratelimit_clock),
 * moved by the test, so expiry is checked without waiting.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "csrf.h"
#include "ratelimit.h"
#include "secret.h"
#include "session.h"
#include "t.h"

#define SECRET_A "alpha-secret-0123456789abcdef0123456789"
#define SECRET_B "bravo-secret-0123456789abcdef0123456789"

static long long t_now = 1700000000;
static long long
t_clock(void)
{
	return t_now;
}
static double t_mono = 1000.0;
static double
t_mono_clock(void)
{
	return t_mono;
}

static void
use_secrets(const char *text)
{
	char err[512];
	if (secret_init_text(text, "test", err, sizeof(err)) != 0) {
		printf("# secret: %s\n", err);
		abort();
	}
}

/* A GET context, optionally with a Cookie header. */
static cot_ctx *
req(const char *method, const char *cookie)
{
	cot_ctx *c = t_ctx(NULL, 0);
	c->method = method;
	if (cookie != NULL)
		t_header(c, "Cookie", cookie);
	return c;
}

/* "cot_session=VALUE" of the Set-Cookie the request ends with (malloc'd). */
static char *
finish_cookie(cot_ctx *c)
{
	session_finish(c);
	const char *h = t_resp_header(c, "Set-Cookie");
	if (h == NULL)
		return NULL;
	return strndup(h, strcspn(h, ";"));
}

/* ==== passwords ======================================================== */

static void
test_passwords(void)
{
	cot_ctx *c = req("POST", NULL);
	const char *h = cot_password_hash(c, "correct horse");
	T_CHECK("password: hash is argon2id", h != NULL && strncmp(h, "$argon2id$", 10) == 0);
	T_CHECK("password: hash holds m=19456,t=2", h && strstr(h, "m=19456,t=2,p=1") != NULL);
	T_CHECK("password: the right password verifies",
	        cot_password_verify(h, "correct horse") == 1);
	T_CHECK("password: a wrong password does not",
	        cot_password_verify(h, "correct horsE") == 0);
	T_CHECK("password: empty password does not", cot_password_verify(h, "") == 0);
	T_CHECK("password: no user (NULL hash) does not", cot_password_verify(NULL, "x") == 0);
	T_CHECK("password: garbage hash does not", cot_password_verify("$2b$10$abc", "x") == 0);
	const char *h2 = cot_password_hash(c, "correct horse");
	T_CHECK("password: two hashes differ (salt)", h2 && strcmp(h, h2) != 0);
	T_CHECK("password: a fresh hash needs no rehash", cot_password_needs_rehash(h) == 0);
	char old[crypto_pwhash_STRBYTES];
	int rc = crypto_pwhash_str(old, "pw", 2, 1, 8u << 20);
	T_CHECK("password: weaker parameters need a rehash",
	        rc == 0 && cot_password_needs_rehash(old) == 1 && cot_password_verify(old, "pw"));
	t_free(c);
}

/* ==== secret =========================================================== */

static void
test_secret(void)
{
	char err[512];
	T_CHECK("secret: a short secret is refused",
	        secret_init_text("short", "COT_SECRET", err, sizeof(err)) != 0 &&
	                strstr(err, "at least 32") != NULL);
	T_CHECK("secret: no secret at all is refused",
	        secret_init_text("  \n", "f", err, sizeof(err)) != 0 && secret_count() == 0);
	unsetenv("COT_SECRET");
	unsetenv("COT_SECRET_FILE");
	T_CHECK("secret: the export without one says what to set",
	        secret_init_export(NULL, err, sizeof(err)) != 0 && strstr(err, "COT_SECRET") &&
	                strstr(err, "--secret-file"));
	setenv("COT_SECRET", SECRET_A " " SECRET_B, 1);
	T_CHECK("secret: $COT_SECRET with two secrets",
	        secret_init_export(NULL, err, sizeof(err)) == 0 && secret_count() == 2);
	unsetenv("COT_SECRET");
	uint8_t k1[32], k2[32];
	secret_key(SECRET_SESSION, 0, k1);
	secret_key(SECRET_JWT, 0, k2);
	T_CHECK("secret: session and JWT keys differ", memcmp(k1, k2, 32) != 0);
}

/* ==== sessions ========================================================= */

static void
test_sessions(void)
{
	use_secrets(SECRET_A);
	session_clock = t_clock;
	cot_ctx *c = req("GET", NULL);
	T_CHECK("session: none without a cookie",
	        cot_session_get(c, "user") == NULL && cot_session_id(c) == NULL);
	cot_session_set(c, "user", "alice");
	char *id1 = strdup(cot_session_id(c));
	char *cookie = finish_cookie(c);
	const char *attrs = t_resp_header(c, "Set-Cookie");
	T_CHECK("session: set writes a cookie", cookie && strncmp(cookie, "cot_session=", 12) == 0);
	T_CHECK("session: HttpOnly, SameSite=Lax, Max-Age, Path=/",
	        attrs && strstr(attrs, "; HttpOnly") && strstr(attrs, "SameSite=Lax") &&
	                strstr(attrs, "Max-Age=1209600") && strstr(attrs, "Path=/") &&
	                !strstr(attrs, "Secure"));
	T_CHECK("session: the cookie does not show the value", cookie && !strstr(cookie, "alice"));
	t_free(c);

	c = req("GET", cookie);
	T_STREQ("session: read back", cot_session_get(c, "user"), "alice");
	T_STREQ("session: same id", cot_session_id(c), id1);
	session_finish(c);
	T_CHECK("session: an unchanged session writes no cookie", !t_resp_header(c, "Set-Cookie"));
	t_free(c);

	/* tampered: one character of the ciphertext changed */
	char *bad = strdup(cookie);
	size_t mid = 12 + (strlen(bad) - 12) / 2;
	bad[mid] = bad[mid] == 'A' ? 'B' : 'A';
	c = req("GET", bad);
	T_CHECK("session: a tampered cookie is no session", cot_session_get(c, "user") == NULL);
	t_free(c);
	c = req("GET", "cot_session=garbage!!");
	T_CHECK("session: a malformed cookie is no session", cot_session_get(c, "user") == NULL);
	t_free(c);
	free(bad);

	/* expired: 14 days and a second later */
	t_now += 14 * 24 * 3600 + 1;
	c = req("GET", cookie);
	T_CHECK("session: an expired cookie is no session", cot_session_get(c, "user") == NULL);
	t_free(c);
	t_now -= 14 * 24 * 3600 + 1;

	/* foreign: made under another secret */
	use_secrets(SECRET_B);
	c = req("GET", cookie);
	T_CHECK("session: a cookie of another secret is no session",
	        cot_session_get(c, "user") == NULL);
	t_free(c);

	/* rotation: B signs, A still verifies, and the cookie is re-issued */
	use_secrets(SECRET_B "\n" SECRET_A "\n");
	c = req("GET", cookie);
	T_STREQ("session: an old secret still verifies", cot_session_get(c, "user"), "alice");
	char *reissued = finish_cookie(c);
	T_CHECK("session: ... and the cookie is re-issued under the new one", reissued != NULL);
	t_free(c);
	use_secrets(SECRET_B);
	c = req("GET", reissued);
	T_STREQ("session: the re-issued cookie needs only the new secret",
	        cot_session_get(c, "user"), "alice");
	t_free(c);
	free(reissued);
	use_secrets(SECRET_A);

	/* fixation: log-in regenerates the id and the CSRF token */
	c = req("POST", cookie);
	const char *csrf1 = cot_csrf_token(c);
	cot_session_regenerate(c);
	cot_session_set(c, "user", "bob");
	T_CHECK("session: regenerate gives a new id",
	        cot_session_id(c) && strcmp(cot_session_id(c), id1) != 0);
	T_CHECK("session: ... and a new CSRF token",
	        csrf1 && strcmp(cot_csrf_token(c), csrf1) != 0);
	char *after = finish_cookie(c);
	t_free(c);
	c = req("GET", cookie);
	T_STREQ("session: the cookie from before log-in still has no bob",
	        cot_session_get(c, "user"), "alice");
	t_free(c);

	/* log-out deletes the cookie */
	c = req("POST", after);
	cot_session_clear(c);
	T_CHECK("session: cleared", cot_session_get(c, "user") == NULL);
	session_finish(c);
	attrs = t_resp_header(c, "Set-Cookie");
	T_CHECK("session: clear deletes the cookie",
	        attrs && strncmp(attrs, "cot_session=;", 13) == 0 && strstr(attrs, "Max-Age=0"));
	t_free(c);

	/* Secure behind https, and a session too large for a cookie is a 500 */
	c = req("GET", NULL);
	t_header(c, "X-Forwarded-Proto", "https");
	cot_session_set(c, "k", "v");
	session_finish(c);
	T_CHECK("session: Secure behind an https proxy",
	        t_resp_header(c, "Set-Cookie") &&
	                strstr(t_resp_header(c, "Set-Cookie"), "; Secure"));
	t_free(c);
	c = req("GET", NULL);
	char *big = malloc(5000);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	cot_session_set(c, "big", big);
	session_finish(c);
	T_CHECK("session: too large for a cookie answers 500",
	        c->status == 500 && strstr(c->resp_body, "database") != NULL);
	t_free(c);
	free(big);
	free(after);
	free(cookie);
	free(id1);
}

/* ==== CSRF ============================================================= */

/* A form POST with these headers (name, value pairs, NULL-terminated). */
static cot_ctx *
post(const char *body, const char *cookie, ...)
{
	cot_ctx *c = t_form_ctx("application/x-www-form-urlencoded", body);
	t_header(c, "Host", "app.example:8080");
	if (cookie != NULL)
		t_header(c, "Cookie", cookie);
	va_list ap;
	va_start(ap, cookie);
	const char *n;
	while ((n = va_arg(ap, const char *)) != NULL)
		t_header(c, n, va_arg(ap, const char *));
	va_end(ap);
	return c;
}

static void
test_csrf(void)
{
	use_secrets(SECRET_A);
	/* a page with a form: the token goes into the page and the session */
	cot_ctx *c = req("GET", NULL);
	json_t *data = csrf_template_data(NULL);
	char *field = strdup(json_string_value(json_object_get(data, "csrf_field")));
	json_decref(data);
	csrf_fill(c, field, strlen(field));
	const char *token = cot_csrf_token(c);
	T_CHECK("csrf: the field carries the session's token", token && strstr(field, token));
	char *cookie = finish_cookie(c);
	char *tok = strdup(token);
	t_free(c);
	free(field);
	c = req("GET", NULL);
	char page[] = "<p>no form here</p>";
	csrf_fill(c, page, strlen(page));
	session_finish(c);
	T_CHECK("csrf: a page without a token makes no session", !t_resp_header(c, "Set-Cookie"));
	t_free(c);
	/* {{csrf_field}} (two braces) escapes the markup: the log says so */
	c = req("GET", NULL);
	data = csrf_template_data(NULL);
	char *esc = strdup(json_string_value(json_object_get(data, "csrf_field")));
	json_decref(data);
	char *q = strstr(esc, "value=\"");
	char page2[256];
	snprintf(page2, sizeof(page2),
	         "&lt;input type=&quot;hidden&quot; name=&quot;_csrf&quot; "
	         "value=&quot;%.43s&quot;&gt;",
	         q ? q + 7 : "");
	fflush(stdout);
	char logbuf[512] = "";
	FILE *mem = fmemopen(logbuf, sizeof(logbuf), "w");
	FILE *saved = stdout;
	stdout = mem;
	csrf_fill(c, page2, strlen(page2));
	fflush(mem);
	stdout = saved;
	fclose(mem);
	T_CHECK("csrf: {{csrf_field}} with two braces is named in the log",
	        strstr(logbuf, "{{{csrf_field}}} (three braces)") != NULL);
	free(esc);
	t_free(c);

	char body[200];
	snprintf(body, sizeof(body), "title=x&_csrf=%s", tok);
	c = post("title=x", NULL, NULL);
	T_CHECK("csrf: a client with no browser headers and no cookie passes", csrf_check(c) == 0);
	t_free(c);
	c = post(body, cookie, "Origin", "http://app.example:8080", "Sec-Fetch-Site", "same-origin",
	         NULL);
	T_CHECK("csrf: same-origin form with the token passes", csrf_check(c) == 0);
	t_free(c);
	c = post("title=x", cookie, "Origin", "http://app.example:8080", NULL);
	T_CHECK("csrf: same-origin form without a token: 403 saying {{{csrf_field}}}",
	        csrf_check(c) == 1 && c->status == 403 && strstr(c->resp_body, "{{{csrf_field}}}"));
	t_free(c);
	c = post("title=x&_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", cookie, "Origin",
	         "http://app.example:8080", NULL);
	T_CHECK("csrf: a wrong token: 403",
	        csrf_check(c) == 1 && c->status == 403 && strstr(c->resp_body, "does not match"));
	t_free(c);
	c = post("title=x", cookie, NULL);
	T_CHECK("csrf: the session cookie alone requires the token", csrf_check(c) == 1);
	t_free(c);
	c = post("title=x", cookie, "X-CSRF-Token", tok, NULL);
	T_CHECK("csrf: X-CSRF-Token header passes", csrf_check(c) == 0);
	t_free(c);
	c = post(body, cookie, "Sec-Fetch-Site", "cross-site", NULL);
	T_CHECK("csrf: cross-site (Sec-Fetch-Site) refused even with the token",
	        csrf_check(c) == 1 && c->status == 403 && strstr(c->resp_body, "another site"));
	t_free(c);
	c = post(body, cookie, "Sec-Fetch-Site", "same-site", NULL);
	T_CHECK("csrf: same-site (a sibling subdomain) refused", csrf_check(c) == 1);
	t_free(c);
	c = post(body, cookie, "Origin", "https://evil.example", NULL);
	T_CHECK("csrf: a foreign Origin refused",
	        csrf_check(c) == 1 && strstr(c->resp_body, "evil.example"));
	t_free(c);
	c = post(body, cookie, "Origin", "null", NULL);
	T_CHECK("csrf: Origin null refused", csrf_check(c) == 1);
	t_free(c);
	c = post("{}", cookie, "Origin", "https://evil.example", "Authorization",
	         "Bearer abc.def.ghi", NULL);
	T_CHECK("csrf: a bearer-token request is exempt", csrf_check(c) == 0);
	T_CHECK("csrf: ... and sees no cookie session",
	        cot_session_get(c, "user") == NULL && cot_session_id(c) == NULL);
	t_free(c);
	c = req("GET", cookie);
	t_header(c, "Sec-Fetch-Site", "cross-site");
	T_CHECK("csrf: GET is never checked", csrf_check(c) == 0);
	t_free(c);
	free(cookie);
	free(tok);
}

/* ==== JWT ============================================================== */

/* base64url of s, malloc'd */
static char *
b64(const char *s)
{
	size_t n = sodium_base64_ENCODED_LEN(strlen(s), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *o = malloc(n);
	return sodium_bin2base64(o, n, (const unsigned char *)s, strlen(s),
	                         sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void
test_jwt(void)
{
	use_secrets(SECRET_A);
	session_clock = t_clock;
	cot_ctx *c = req("GET", NULL);
	json_t *claims = json_pack("{s:s, s:i}", "sub", "alice", "uid", 7);
	const char *tok = cot_jwt_sign(c, claims, 3600);
	json_decref(claims);
	const char *why = NULL;
	json_t *got = cot_jwt_verify(c, tok, &why);
	T_CHECK("jwt: sign then verify",
	        got && !strcmp(json_string_value(json_object_get(got, "sub")), "alice") &&
	                why == NULL);
	T_CHECK("jwt: exp = iat + ttl",
	        got && json_integer_value(json_object_get(got, "exp")) == t_now + 3600 &&
	                json_integer_value(json_object_get(got, "iat")) == t_now);
	/* tampered payload: same header and signature, "sub" changed */
	char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
	char *evil = b64("{\"sub\":\"admin\",\"uid\":1,\"exp\":9999999999}");
	char forged[1024];
	snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(dot1 - tok), tok, evil, dot2);
	T_CHECK("jwt: a tampered payload is refused",
	        cot_jwt_verify(c, forged, &why) == NULL && why && strstr(why, "signature"));
	/* alg none: no signature */
	char *none = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
	snprintf(forged, sizeof(forged), "%s.%s.", none, evil);
	T_CHECK("jwt: alg none is refused",
	        cot_jwt_verify(c, forged, &why) == NULL && why && strstr(why, "\"none\""));
	char *hs512 = b64("{\"alg\":\"HS512\"}");
	snprintf(forged, sizeof(forged), "%s.%s%s", hs512, evil, dot2);
	T_CHECK("jwt: another algorithm is refused",
	        cot_jwt_verify(c, forged, &why) == NULL && why && strstr(why, "HS512"));
	T_CHECK("jwt: not three parts", cot_jwt_verify(c, "abc.def", &why) == NULL);
	T_CHECK("jwt: NULL token", cot_jwt_verify(c, NULL, NULL) == NULL);
	/* expiry, with 60 s of skew */
	t_now += 3600 + 59;
	T_CHECK("jwt: within the skew still valid", cot_jwt_verify(c, tok, &why) != NULL);
	t_now += 2;
	T_CHECK("jwt: expired is refused",
	        cot_jwt_verify(c, tok, &why) == NULL && why && strstr(why, "expired"));
	t_now -= 3600 + 61;
	/* rotation and foreign secrets */
	use_secrets(SECRET_B "\n" SECRET_A);
	T_CHECK("jwt: an old secret still verifies", cot_jwt_verify(c, tok, &why) != NULL);
	use_secrets(SECRET_B);
	T_CHECK("jwt: a foreign secret's token is refused", cot_jwt_verify(c, tok, &why) == NULL);
	use_secrets(SECRET_A);
	t_free(c);
	free(evil);
	free(none);
	free(hs512);

	static const char *const auths[][2] = {
	        {"Bearer abc.def", "abc.def"}, {"bearer   xyz", "xyz"},      {"Token t0k", "t0k"},
	        {"Token token=\"q1\"", "q1"},  {"Basic dXNlcjpwYXNz", NULL}, {"Bearer ", NULL},
	};
	for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
		c = req("GET", NULL);
		t_header(c, "Authorization", auths[i][0]);
		const char *b = cot_bearer(c);
		char name[128];
		snprintf(name, sizeof(name), "bearer: \"%s\"", auths[i][0]);
		T_CHECK(name, auths[i][1] ? b && !strcmp(b, auths[i][1]) : b == NULL);
		t_free(c);
	}
}

/* ==== rate limits and per-request state ================================ */

static void
test_ratelimit(void)
{
	ratelimit_clock = t_mono_clock;
	ratelimit_reset();
	cot_ctx *c = req("POST", NULL);
	int waits[4];
	for (int i = 0; i < 4; i++)
		waits[i] = cot_rate_limit(c, "login", "alice", 3, 60);
	T_CHECK("ratelimit: 3 allowed, the 4th waits",
	        !waits[0] && !waits[1] && !waits[2] && waits[3] == 20);
	T_STREQ("ratelimit: Retry-After set", t_resp_header(c, "Retry-After"), "20");
	T_CHECK("ratelimit: another key has its own bucket",
	        cot_rate_limit(c, "login", "bob", 3, 60) == 0);
	T_CHECK("ratelimit: another scope has its own bucket",
	        cot_rate_limit(c, "signup", "alice", 3, 60) == 0);
	t_mono += 19.5;
	T_CHECK("ratelimit: still waiting before the token is back",
	        cot_rate_limit(c, "login", "alice", 3, 60) == 1);
	t_mono += 0.5;
	T_CHECK("ratelimit: a token back after 20 s",
	        cot_rate_limit(c, "login", "alice", 3, 60) == 0);
	T_CHECK("ratelimit: by IP when no key", cot_rate_limit(c, "ip", NULL, 1, 10) == 0 &&
	                                                cot_rate_limit(c, "ip", NULL, 1, 10) == 10);
	t_free(c);

	c = req("GET", NULL);
	T_CHECK("vars: unset is NULL", cot_get(c, "user") == NULL);
	char *v = cot_sprintf(c, "alice");
	cot_set(c, "user", v);
	cot_set(c, "n", cot_sprintf(c, "1"));
	cot_set(c, "user", cot_sprintf(c, "bob"));
	T_STREQ("vars: the last set wins", cot_get(c, "user"), "bob");
	T_STREQ("vars: other keys kept", cot_get(c, "n"), "1");
	t_free(c);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_passwords();
	test_secret();
	test_sessions();
	test_csrf();
	test_jwt();
	test_ratelimit();
	secret_reset();
	return T_DONE();
}
