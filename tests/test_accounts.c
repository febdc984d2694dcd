/*
 * test_accounts.c -- accounts over real HTTP, against `cotdev run`, its
 * sanitizer build and the exported binary: the app of `cotdev new --auth`
 * (sign-up, log-in, per-user notes, API tokens) plus handlers/zz_probe.c
 * below, which exposes sessions, JWTs and a rate limit directly.
 *
 * usage: test_accounts COTDEV | export:COTDEV
 *
 * Checked: sign-up and log-in with the right and a wrong password;
 * tampered, foreign (another key) and expired session cookies are no
 * session; the session id changes at log-in and the cookie from before
 * never gains the user (fixation); CSRF: a cross-site form post is refused
 * (Sec-Fetch-Site and Origin), a same-origin one needs the session's token,
 * a bearer-token JSON post is accepted; JWT: tampered, expired and
 * "alg": "none" tokens are refused; a rate limit answers 429 with
 * Retry-After through the error pipeline; one user never sees another's
 * notes; and the export refuses to start without an app secret. Last, on
 * the dev server: key rotation across a restart -- with a new secret first
 * in .cot-secret and the old one after it, a session made before still
 * works and is re-issued under the new secret, which alone then suffices.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];
static h_client *cl;
static char *alice_cookie; /* a session made under the app's first secret */

static const char probe_src[] =
        "#include <cot.h>\n"
        "#include <jansson.h>\n"
        "#include <stdlib.h>\n"
        "#include <time.h>\n"
        "\n"
        "static cot_result\n"
        "show(cot_ctx *c)\n"
        "{\n"
        "\tconst char *id = cot_session_id(c), *who = cot_session_get(c, \"who\");\n"
        "\treturn cot_text(c, 200, \"id=%s who=%s\\n\", id ? id : \"none\", who ? who : "
        "\"none\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "visit(cot_ctx *c)\n"
        "{\n"
        "\tcot_session_set(c, \"visited\", \"yes\");\n"
        "\tconst char *age = cot_query(c, \"max_age\");\n"
        "\tif (age != NULL)\n"
        "\t\tcot_session_max_age(c, atoll(age));\n"
        "\treturn show(c);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "login(cot_ctx *c)\n"
        "{\n"
        "\tcot_session_regenerate(c);\n"
        "\tcot_session_set(c, \"who\", cot_query(c, \"who\"));\n"
        "\treturn show(c);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "jwt(cot_ctx *c)\n"
        "{\n"
        "\tjson_t *claims = json_pack(\"{s:s}\", \"sub\", \"probe\");\n"
        "\tif (cot_query(c, \"expired\") != NULL)\n"
        "\t\tjson_object_set_new(claims, \"exp\", json_integer((json_int_t)time(NULL) - 120));\n"
        "\tconst char *t = cot_jwt_sign(c, claims, cot_query(c, \"expired\") ? 0 : 600);\n"
        "\tjson_decref(claims);\n"
        "\treturn cot_text(c, 200, \"%s\", t);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "whoami(cot_ctx *c)\n"
        "{\n"
        "\tconst char *why = NULL;\n"
        "\tjson_t *claims = cot_jwt_verify(c, cot_bearer(c), &why);\n"
        "\tif (claims == NULL)\n"
        "\t\treturn cot_fail(c, 401, \"token refused: %s\", why);\n"
        "\treturn cot_text(c, 200, \"sub=%s\\n\", json_string_value(json_object_get(claims, "
        "\"sub\")));\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "limited(cot_ctx *c)\n"
        "{\n"
        "\tint wait = cot_rate_limit(c, \"probe\", NULL, 3, 60);\n"
        "\tif (wait > 0)\n"
        "\t\treturn cot_fail(c, 429, \"slow down: try again in %d s\", wait);\n"
        "\treturn cot_text(c, 200, \"ok\\n\");\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/t/session\", show),\n"
        "\tCOT_POST(\"/t/visit\", visit),\n"
        "\tCOT_POST(\"/t/login\", login),\n"
        "\tCOT_GET(\"/t/jwt\", jwt),\n"
        "\tCOT_GET(\"/t/whoami\", whoami),\n"
        "\tCOT_GET(\"/t/limited\", limited),\n"
        ")\n";

/* ==== HTTP helpers ===================================================== */

/* One request; `cookie` (may be NULL) is sent as the Cookie header, extra
 * headers follow (NULL-terminated, at most 6). */
static long
req(const char *method, const char *path, const char *cookie, const char *body, h_resp *r,
    const char *h1, const char *h2, const char *h3)
{
	char ck[4200];
	const char *hdrs[8];
	int n = 0;
	if (cookie != NULL) {
		snprintf(ck, sizeof(ck), "Cookie: %s", cookie);
		hdrs[n++] = ck;
	}
	if (h1)
		hdrs[n++] = h1;
	if (h2)
		hdrs[n++] = h2;
	if (h3)
		hdrs[n++] = h3;
	hdrs[n] = NULL;
	return h_request(cl, &srv, method, path, hdrs, body, r);
}

/* "cot_session=VALUE" from the answer's Set-Cookie (malloc'd), or NULL. */
static char *
session_cookie(const h_resp *r)
{
	const char *h = r->headers ? strstr(r->headers, "Set-Cookie: cot_session=") : NULL;
	if (h == NULL)
		return NULL;
	h += 12;
	return strndup(h, strcspn(h, ";\r\n"));
}

/* The CSRF token of the first form in a page (malloc'd), or NULL. */
static char *
csrf_of(const h_resp *r)
{
	const char *p = r->body ? strstr(r->body, "name=\"_csrf\" value=\"") : NULL;
	return p ? strndup(p + 20, strcspn(p + 20, "\"")) : NULL;
}

static bool
has(const h_resp *r, const char *needle)
{
	return r->body != NULL && strstr(r->body, needle) != NULL;
}

/* A browser's user: its cookie, refreshed from every answer. */
typedef struct user {
	char *cookie;
} user;

static void
user_take(user *u, const h_resp *r)
{
	char *c = session_cookie(r);
	if (c != NULL) {
		free(u->cookie);
		u->cookie = c;
	}
}

/* GET page as u; then POST form (with the page's token) as a same-origin
 * browser would. Returns the POST's status; r holds its answer. */
static long
browser_post(user *u, const char *page, const char *action, const char *form, h_resp *r)
{
	h_resp g;
	req("GET", page, u->cookie, NULL, &g, "Accept: text/html", NULL, NULL);
	user_take(u, &g);
	char *tok = csrf_of(&g);
	h_resp_free(&g);
	char body[1024], origin[128];
	snprintf(body, sizeof(body), "_csrf=%s&%s", tok ? tok : "", form);
	snprintf(origin, sizeof(origin), "Origin: %s", srv.base);
	free(tok);
	long st = req("POST", action, u->cookie, body, r, origin, "Sec-Fetch-Site: same-origin",
	              "Content-Type: application/x-www-form-urlencoded");
	user_take(u, r);
	return st;
}

/* ==== sessions ========================================================= */

/* A cookie sealed like session.c's, but with a key of its own. */
static char *
foreign_cookie(void)
{
	unsigned char key[32], nonce[24], ct[512];
	const char *plain =
	        "{\"sid\":\"x\",\"csrf\":\"y\",\"exp\":99999999999,\"d\":{\"who\":\"mallory\"}}";
	unsigned long long clen;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	memcpy(ct, nonce, sizeof(nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	        ct + 24, &clen, (const unsigned char *)plain, strlen(plain),
	        (const unsigned char *)"cot_session v1", 14, NULL, nonce, key);
	char b64[1024] = "cot_session=";
	sodium_bin2base64(b64 + 12, sizeof(b64) - 12, ct, 24 + clen,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return strdup(b64);
}

typedef struct expiry {
	const char *cookie;
} expiry;

static bool
expired_now(void *arg)
{
	h_resp r;
	req("GET", "/t/session", ((expiry *)arg)->cookie, NULL, &r, NULL, NULL, NULL);
	bool gone = r.status == 200 && has(&r, "id=none");
	h_resp_free(&r);
	return gone;
}

static void
test_sessions(void)
{
	h_resp r;
	req("POST", "/t/visit", NULL, "", &r, NULL, NULL, NULL);
	char *c1 = session_cookie(&r);
	T_CHECK("session: a POST without a cookie from a non-browser passes, sets a cookie",
	        r.status == 200 && c1 != NULL);
	char *set = h_resp_header(&r, "Set-Cookie");
	T_CHECK("session: cookie is HttpOnly, SameSite=Lax, with Max-Age",
	        set && strstr(set, "HttpOnly") && strstr(set, "SameSite=Lax") &&
	                strstr(set, "Max-Age="));
	free(set);
	char id1[64] = "";
	if (r.body)
		sscanf(r.body, "id=%63s", id1);
	h_resp_free(&r);
	req("GET", "/t/session", c1, NULL, &r, NULL, NULL, NULL);
	char want[128];
	snprintf(want, sizeof(want), "id=%s who=none", id1);
	T_CHECK("session: the cookie brings the session back", has(&r, want));
	h_resp_free(&r);

	char *bad = strdup(c1 ? c1 : "cot_session=x");
	size_t mid = 12 + (strlen(bad) - 12) / 2;
	bad[mid] = bad[mid] == 'Q' ? 'R' : 'Q';
	req("GET", "/t/session", bad, NULL, &r, NULL, NULL, NULL);
	T_CHECK("session: a tampered cookie is no session", has(&r, "id=none who=none"));
	h_resp_free(&r);
	free(bad);
	char *foreign = foreign_cookie();
	req("GET", "/t/session", foreign, NULL, &r, NULL, NULL, NULL);
	T_CHECK("session: a cookie sealed with another key is no session",
	        has(&r, "id=none who=none"));
	h_resp_free(&r);
	free(foreign);

	/* fixation: log-in on a session planted earlier */
	req("POST", "/t/login?who=alice", c1, "", &r, "X-CSRF-Token: none", NULL, NULL);
	T_CHECK("session: the cookie alone needs the CSRF token (403)", r.status == 403);
	h_resp_free(&r);
	req("GET", "/t/session", c1, NULL, &r, NULL, NULL, NULL);
	h_resp_free(&r);
	/* the probe's session has a token; a form page would show it: take it
	 * from a real page of the app with the same cookie */
	req("GET", "/login", c1, NULL, &r, "Accept: text/html", NULL, NULL);
	char *tok = csrf_of(&r);
	h_resp_free(&r);
	char hdr[128];
	snprintf(hdr, sizeof(hdr), "X-CSRF-Token: %s", tok ? tok : "");
	req("POST", "/t/login?who=alice", c1, "", &r, hdr, NULL, NULL);
	char *c2 = session_cookie(&r);
	char id2[64] = "";
	if (r.body)
		sscanf(r.body, "id=%63s", id2);
	T_CHECK("session: log-in answers with a new cookie",
	        r.status == 200 && c2 != NULL && has(&r, "who=alice"));
	T_CHECK("session: ... and a new session id (fixation)", id2[0] && strcmp(id1, id2) != 0);
	h_resp_free(&r);
	req("GET", "/t/session", c1, NULL, &r, NULL, NULL, NULL);
	T_CHECK("session: the cookie from before log-in never gains the user",
	        r.status == 200 && has(&r, "who=none"));
	h_resp_free(&r);
	req("GET", "/t/session", c2, NULL, &r, NULL, NULL, NULL);
	T_CHECK("session: the new cookie is alice's", has(&r, "who=alice"));
	h_resp_free(&r);
	alice_cookie = c2 ? strdup(c2) : NULL;
	free(tok);

	/* expiry: a 1-second session is refused by the server once past */
	req("POST", "/t/visit?max_age=1", NULL, "", &r, NULL, NULL, NULL);
	char *c3 = session_cookie(&r);
	h_resp_free(&r);
	req("GET", "/t/session", c3, NULL, &r, NULL, NULL, NULL);
	bool fresh = !has(&r, "id=none");
	h_resp_free(&r);
	expiry e = {c3};
	T_CHECK("session: an expired cookie is no session (server-side check)",
	        fresh && h_wait_for(expired_now, &e, H_DEADLINE_MS));
	free(c1);
	free(c2);
	free(c3);
}

/* ==== JWT and rate limits ============================================== */

static char *
b64(const char *s)
{
	size_t n = sodium_base64_ENCODED_LEN(strlen(s), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *o = malloc(n);
	return sodium_bin2base64(o, n, (const unsigned char *)s, strlen(s),
	                         sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static long
whoami(const char *token, h_resp *r)
{
	char auth[2048];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	return req("GET", "/t/whoami", NULL, NULL, r, auth, "Accept: application/json", NULL);
}

static void
test_jwt(void)
{
	h_resp r, w;
	req("GET", "/t/jwt", NULL, NULL, &r, NULL, NULL, NULL);
	const char *tok = r.body ? r.body : "";
	whoami(tok, &w);
	T_CHECK("jwt: a signed token verifies", w.status == 200 && has(&w, "sub=probe"));
	h_resp_free(&w);
	char *dot1 = strchr(tok, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	char *evil = b64("{\"sub\":\"admin\"}"), *none = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
	char forged[2048];
	snprintf(forged, sizeof(forged), "%.*s.%s%s", dot1 ? (int)(dot1 - tok) : 0, tok, evil,
	         dot2 ? dot2 : "");
	whoami(forged, &w);
	T_CHECK("jwt: a tampered token: 401 problem+json",
	        w.status == 401 && has(&w, "signature") && has(&w, "\"status\": 401"));
	h_resp_free(&w);
	snprintf(forged, sizeof(forged), "%s.%s.", none, evil);
	whoami(forged, &w);
	T_CHECK("jwt: alg none: 401", w.status == 401 && has(&w, "none"));
	h_resp_free(&w);
	h_resp_free(&r);
	req("GET", "/t/jwt?expired=1", NULL, NULL, &r, NULL, NULL, NULL);
	whoami(r.body ? r.body : "", &w);
	T_CHECK("jwt: expired: 401", w.status == 401 && has(&w, "expired"));
	h_resp_free(&w);
	h_resp_free(&r);
	free(evil);
	free(none);

	long st[4];
	for (int i = 0; i < 4; i++) {
		st[i] = req("GET", "/t/limited", NULL, NULL, &r, "Accept: application/json", NULL,
		            NULL);
		if (i < 3)
			h_resp_free(&r);
	}
	char *retry = h_resp_header(&r, "Retry-After");
	T_CHECK("ratelimit: 3 pass, the 4th is 429",
	        st[0] == 200 && st[1] == 200 && st[2] == 200 && st[3] == 429);
	T_CHECK("ratelimit: Retry-After and a problem+json body",
	        retry && atoi(retry) >= 1 && atoi(retry) <= 20 && has(&r, "\"status\": 429") &&
	                has(&r, "try again"));
	free(retry);
	h_resp_free(&r);
}

/* ==== the --auth app: CSRF, passwords, per-user notes ================== */

static void
test_app(void)
{
	h_resp r;
	user a = {0}, b = {0};
	char origin[128];
	snprintf(origin, sizeof(origin), "Origin: %s", srv.base);

	req("GET", "/notes", NULL, NULL, &r, "Accept: text/html", NULL, NULL);
	T_CHECK("app: /notes without a log-in goes to /login",
	        r.status == 303 && r.headers && strstr(r.headers, "Location: /login"));
	h_resp_free(&r);
	req("GET", "/", NULL, NULL, &r, "Accept: text/html", NULL, NULL);
	char *ck = session_cookie(&r);
	T_CHECK("app: a visitor's home page links to /signup and sets no cookie (no form)",
	        r.status == 200 && ck == NULL && has(&r, "href=\"/signup\""));
	free(ck);
	h_resp_free(&r);

	T_CHECK("app: sign-up -> 303 /notes",
	        browser_post(&a, "/signup", "/signup",
	                     "email=a%40example.org&password=correct-horse", &r) == 303 &&
	                strstr(r.headers, "Location: /notes"));
	h_resp_free(&r);
	T_CHECK("app: a's note created",
	        browser_post(&a, "/notes/new", "/notes", "title=a%27s+secret&body=only+for+a",
	                     &r) == 303);
	char note[64] = "";
	const char *loc = r.headers ? strstr(r.headers, "Location: ") : NULL;
	if (loc)
		snprintf(note, sizeof(note), "%.*s", (int)strcspn(loc + 10, "\r\n"), loc + 10);
	h_resp_free(&r);
	req("GET", "/notes", a.cookie, NULL, &r, "Accept: text/html", NULL, NULL);
	T_CHECK("app: a sees the note and their email",
	        has(&r, "a&#39;s secret") && has(&r, "a@example.org"));
	h_resp_free(&r);

	/* CSRF over HTTP */
	req("POST", "/notes", a.cookie, "title=forged", &r, "Sec-Fetch-Site: cross-site",
	    "Content-Type: application/x-www-form-urlencoded", "Accept: text/html");
	T_CHECK("csrf: a cross-site form post: 403 HTML page",
	        r.status == 403 && has(&r, "another site"));
	h_resp_free(&r);
	req("POST", "/notes", a.cookie, "title=forged", &r, "Origin: https://evil.example",
	    "Content-Type: application/x-www-form-urlencoded", "Accept: application/json");
	T_CHECK("csrf: a foreign Origin: 403 problem+json",
	        r.status == 403 && has(&r, "evil.example") && has(&r, "\"status\": 403"));
	h_resp_free(&r);
	req("POST", "/notes", a.cookie, "title=forged", &r, origin,
	    "Content-Type: application/x-www-form-urlencoded", NULL);
	T_CHECK("csrf: same-origin without the token: 403 saying how to fix the form",
	        r.status == 403 && has(&r, "{{{csrf_field}}}"));
	h_resp_free(&r);

	/* passwords */
	T_CHECK("app: log-out -> 303 /", browser_post(&a, "/notes", "/logout", "", &r) == 303);
	h_resp_free(&r);
	req("GET", "/notes", a.cookie, NULL, &r, "Accept: text/html", NULL, NULL);
	T_CHECK("app: after log-out /notes goes to /login", r.status == 303);
	h_resp_free(&r);
	T_CHECK("app: log-in with a wrong password: 401 and the form again",
	        browser_post(&a, "/login", "/login", "email=a%40example.org&password=wrong-horse",
	                     &r) == 401 &&
	                has(&r, "do not match"));
	h_resp_free(&r);
	T_CHECK("app: log-in with the right password -> 303 /notes",
	        browser_post(&a, "/login", "/login", "email=a%40example.org&password=correct-horse",
	                     &r) == 303);
	h_resp_free(&r);

	/* another user sees nothing of a's */
	T_CHECK("app: b signs up",
	        browser_post(&b, "/signup", "/signup",
	                     "email=b%40example.org&password=battery-staple", &r) == 303);
	h_resp_free(&r);
	req("GET", "/notes", b.cookie, NULL, &r, "Accept: text/html", NULL, NULL);
	T_CHECK("app: b's list does not show a's note",
	        r.status == 200 && !has(&r, "a&#39;s secret") && has(&r, "b@example.org"));
	h_resp_free(&r);
	req("GET", note, b.cookie, NULL, &r, "Accept: text/html", NULL, NULL);
	T_CHECK("app: a's note is 404 for b", note[0] && r.status == 404);
	h_resp_free(&r);
	req("GET", note, a.cookie, NULL, &r, "Accept: text/html", NULL, NULL);
	T_CHECK("app: ... and 200 for a", r.status == 200 && has(&r, "only for a"));
	h_resp_free(&r);

	/* API: a token from /api/token, then a JSON post from "another site" */
	req("POST", "/api/token", NULL,
	    "{\"email\":\"a@example.org\",\"password\":\"correct-horse\"}", &r,
	    "Content-Type: application/json", NULL, NULL);
	json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(j, "token"));
	T_CHECK("api: /api/token gives a JWT", r.status == 200 && tok && strchr(tok, '.'));
	char auth[2048];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok ? tok : "");
	h_resp p;
	req("POST", "/notes", NULL, "{\"title\":\"from the api\"}", &p, auth,
	    "Content-Type: application/json", "Origin: https://client.example");
	T_CHECK("csrf: a bearer-token JSON post is accepted",
	        p.status == 201 && has(&p, "from the api"));
	h_resp_free(&p);
	req("GET", "/notes", NULL, NULL, &p, auth, "Accept: application/json", NULL);
	T_CHECK("api: the token lists a's notes only",
	        p.status == 200 && has(&p, "a's secret") && has(&p, "from the api"));
	h_resp_free(&p);
	json_decref(j);
	h_resp_free(&r);
	req("POST", "/api/token", NULL, "{\"email\":\"a@example.org\",\"password\":\"nope\"}", &r,
	    "Content-Type: application/json", "Accept: application/json", NULL);
	T_CHECK("api: a wrong password: 401", r.status == 401);
	h_resp_free(&r);
	free(a.cookie);
	free(b.cookie);
}

/* ==== key rotation ===================================================== */

#define NEW_SECRET "rotated-secret-0123456789abcdef0123456789abcdef"

static void
restart_with_secret(const char *text)
{
	char err[1024];
	h_write_app_file(app, ".cot-secret", text);
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0)
		printf("# restart: %s\n", err);
}

static void
test_rotation(void)
{
	char path[4200], old[4096] = "";
	FILE *f = fopen(h_path(path, sizeof(path), "%s/.cot-secret", app), "r");
	if (f != NULL) {
		old[fread(old, 1, sizeof(old) - 1, f)] = '\0';
		fclose(f);
	}
	char both[8192];
	snprintf(both, sizeof(both), NEW_SECRET "\n%s", old);
	restart_with_secret(both);
	h_resp r;
	req("GET", "/t/session", alice_cookie, NULL, &r, NULL, NULL, NULL);
	char *reissued = session_cookie(&r);
	T_CHECK("rotation: a session from the old secret still works", has(&r, "who=alice"));
	T_CHECK("rotation: ... and is re-issued under the new one", reissued != NULL);
	h_resp_free(&r);
	h_server_stop(&srv);
	restart_with_secret(NEW_SECRET "\n");
	req("GET", "/t/session", reissued, NULL, &r, NULL, NULL, NULL);
	T_CHECK("rotation: the re-issued cookie needs only the new secret", has(&r, "who=alice"));
	h_resp_free(&r);
	req("GET", "/t/session", alice_cookie, NULL, &r, NULL, NULL, NULL);
	T_CHECK("rotation: with the old secret gone, its cookies are no session",
	        r.status == 200 && has(&r, "who=none"));
	h_resp_free(&r);
	T_CHECK("rotation: server stops cleanly", h_server_stop(&srv) == 0);
	free(reissued);
}

/* ==== the export needs its secret ====================================== */

static void
test_export_secret(void)
{
	char bin[4200], db[4200];
	h_path(bin, sizeof(bin), "%s/.cot-export-bin", app);
	h_path(db, sizeof(db), "%s/nosecret.db", app);
	const char *argv[] = {bin, "--port", "0", "--db", db, NULL};
	h_cmd_result r;
	h_run_cmd(argv, H_DEADLINE_MS, &r);
	T_CHECK("export: refuses to start without a secret, saying what to set",
	        r.exit_code == 1 && r.err && strstr(r.err, "COT_SECRET") &&
	                strstr(r.err, "--secret-file"));
	h_cmd_result_free(&r);
	char sec[4200];
	h_path(sec, sizeof(sec), "%s/short-secret", app);
	h_write_app_file(app, "short-secret", "too-short\n");
	const char *argv2[] = {bin, "--port", "0", "--db", db, "--secret-file", sec, NULL};
	h_run_cmd(argv2, H_DEADLINE_MS, &r);
	T_CHECK("export: refuses a short secret",
	        r.exit_code == 1 && r.err && strstr(r.err, "at least 32"));
	h_cmd_result_free(&r);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		return 1;
	unsetenv("COT_SECRET"); /* the harness gives the export the app's file */
	unsetenv("COT_SECRET_FILE");
	target = h_target_dev(argv[1]);
	char tmpl[] = "/tmp/cot-test-accounts-XXXXXX";
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(app, sizeof(app), "%s/app", tmpl);
	const char *newv[] = {target.cotdev, "new", "--auth", app, NULL};
	h_cmd_result nr;
	h_run_cmd(newv, H_DEADLINE_MS, &nr);
	T_CHECK("cotdev new --auth", nr.exit_code == 0);
	h_cmd_result_free(&nr);
	char path[4200];
	char ignore[4096] = "";
	FILE *gi = fopen(h_path(path, sizeof(path), "%s/.gitignore", app), "r");
	if (gi != NULL) {
		ignore[fread(ignore, 1, sizeof(ignore) - 1, gi)] = '\0';
		fclose(gi);
	}
	T_CHECK("cotdev new wrote .cot-secret, and .gitignore lists it",
	        access(h_path(path, sizeof(path), "%s/.cot-secret", app), R_OK) == 0 &&
	                strstr(ignore, "\n/.cot-secret\n") != NULL);
	h_write_app_file(app, "handlers/zz_probe.c", probe_src);
	char err[1024];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok %s starts: %s\n", target.name, err);
		return 1;
	}
	cl = h_client_new();
	test_sessions();
	test_jwt();
	test_app();
	T_CHECK("server stops cleanly", h_server_stop(&srv) == 0);
	if (target.export_first)
		test_export_secret();
	else
		test_rotation();
	h_client_free(cl);
	h_thread_done();
	free(alice_cookie);
	h_rmtree(tmpl);
	return T_DONE();
}
