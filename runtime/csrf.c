/*
 * csrf.c -- cross-site request forgery protection, on by default.
 *
 * A browser sends the app's session cookie with any request to the app,
 * including a form another site posts to it. So before the middleware and
 * the handler of an unsafe request (anything but GET, HEAD, OPTIONS, TRACE)
 * run, csrf_check decides, in this order:
 *
 *   1. Authorization: Bearer/Token ... -> allowed, and the session cookie is
 *      ignored for the request: an API client proves itself with its token,
 *      and a page on another site cannot add that header without a CORS
 *      preflight the app did not allow.
 *   2. Sec-Fetch-Site: cross-site or same-site -> 403 (browsers say where a
 *      request comes from; "same-site" is a sibling subdomain, not us).
 *   3. Origin present and not this Host -> 403 ("null" included).
 *   4. A request from a browser (it sent Sec-Fetch-Site or Origin) or one
 *      that carries the session cookie must carry the session's token: the
 *      form field _csrf ({{{csrf_field}}} in a template writes it) or the
 *      X-CSRF-Token header (cot_csrf_token gives it to scripts); compared
 *      in constant time. Missing or wrong -> 403.
 *   5. Anything else is allowed: a client that is no browser and sends no
 *      session cookie (curl, a webhook, a server) cannot be forged into
 *      using someone's session, so it needs no token.
 *
 * A refusal is a 403 through the error pipeline whose message says how to
 * fix the form. Templates get {{{csrf_field}}} and {{csrf_token}} for free:
 * cot_render adds them as placeholders and csrf_fill puts the token in only
 * when the page used one, so pages without forms set no cookie.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "csrf.h"
#include "ctx.h"
#include "error.h"
#include "secret.h"
#include "session.h"
#include "vars.h"

#define CSRF_FIELD     "_csrf"
#define CSRF_TOKEN_LEN 43 /* base64url of 32 bytes, as session.c makes it */

static char csrf_placeholder[CSRF_TOKEN_LEN + 1];
static pthread_once_t csrf_once = PTHREAD_ONCE_INIT;

/* A random stand-in for the token, unguessable so no input can fake it. */
static void
csrf_make_placeholder(void)
{
	unsigned char raw[32];
	secret_sodium();
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(csrf_placeholder, sizeof(csrf_placeholder), raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static bool
csrf_safe_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0 ||
	       strcmp(m, "TRACE") == 0;
}

/* Origin "scheme://host[:port]" names the Host this request was sent to. */
static bool
csrf_same_origin(cot_ctx *c, const char *origin)
{
	const char *host = cot_header(c, "Host");
	const char *sep = strstr(origin, "://");
	if (host == NULL || sep == NULL)
		return false;
	size_t slen = (size_t)(sep - origin);
	if (!((slen == 4 && strncasecmp(origin, "http", 4) == 0) ||
	      (slen == 5 && strncasecmp(origin, "https", 5) == 0)))
		return false;
	return strcasecmp(sep + 3, host) == 0;
}

static int
csrf_refuse(cot_ctx *c, const char *detail)
{
	error_respond(c, 403, detail, NULL);
	return 1;
}

/* The token the request carries: X-CSRF-Token, or the _csrf form field. */
static const char *
csrf_sent_token(cot_ctx *c)
{
	const char *t = cot_header(c, "X-CSRF-Token");
	if (t != NULL)
		return t;
	const char *type = cot_header(c, "Content-Type");
	if (type != NULL && (strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0 ||
	                     strncasecmp(type, "multipart/form-data", 19) == 0))
		return cot_form(c, CSRF_FIELD);
	return NULL;
}

int
csrf_check(cot_ctx *c)
{
	if (csrf_safe_method(c->method))
		return 0;
	if (cot_bearer(c) != NULL) {
		session_ignore_cookie(c);
		vars_auth(c)->bearer_exempt = true;
		return 0;
	}
	const char *site = cot_header(c, "Sec-Fetch-Site");
	const char *origin = cot_header(c, "Origin");
	if (site != NULL &&
	    (strcasecmp(site, "cross-site") == 0 || strcasecmp(site, "same-site") == 0))
		return csrf_refuse(c, arena_printf(&c->mem,
		                                   "%s %s came from another site "
		                                   "(Sec-Fetch-Site: %s) and was refused: forms "
		                                   "that change data must be posted "
		                                   "from this site's own pages; API clients send "
		                                   "Authorization: Bearer TOKEN",
		                                   c->method, c->path, site));
	if (origin != NULL && !csrf_same_origin(c, origin))
		return csrf_refuse(
		        c, arena_printf(&c->mem,
		                        "%s %s came from Origin %s, not from "
		                        "this site (Host: %s), and was refused: forms that change "
		                        "data must be "
		                        "posted from this site's own pages",
		                        c->method, c->path, origin,
		                        cot_header(c, "Host") ? cot_header(c, "Host") : "none"));
	bool browser = site != NULL || origin != NULL || cot_cookie(c, SESSION_COOKIE) != NULL;
	if (!browser)
		return 0;
	const char *sent = csrf_sent_token(c);
	if (sent == NULL || *sent == '\0')
		return csrf_refuse(c, arena_printf(&c->mem,
		                                   "%s %s has no CSRF token: put "
		                                   "{{{csrf_field}}} inside the <form> of the page "
		                                   "that posts here (its "
		                                   "template), or send the token of "
		                                   "cot_csrf_token(c) as an X-CSRF-Token "
		                                   "header",
		                                   c->method, c->path));
	const char *want = session_csrf_existing(c);
	if (want == NULL || strlen(sent) != strlen(want) ||
	    sodium_memcmp(sent, want, strlen(want)) != 0)
		return csrf_refuse(
		        c,
		        arena_printf(
		                &c->mem,
		                "%s %s: the form's CSRF token does "
		                "not match this session (the session expired or was replaced, e.g. "
		                "by a "
		                "log-in in another tab): reload the page and send the form again",
		                c->method, c->path));
	return 0;
}

json_t *
csrf_template_data(json_t *data)
{
	pthread_once(&csrf_once, csrf_make_placeholder);
	json_t *d = data == NULL           ? json_object()
	            : json_is_object(data) ? json_copy(data)
	                                   : json_incref(data);
	if (d == NULL || !json_is_object(d))
		return d;
	if (json_object_get(d, "csrf_token") == NULL)
		json_object_set_new(d, "csrf_token", json_string(csrf_placeholder));
	if (json_object_get(d, "csrf_field") == NULL) {
		char field[128];
		snprintf(field, sizeof(field),
		         "<input type=\"hidden\" name=\"" CSRF_FIELD "\" value=\"%s\">",
		         csrf_placeholder);
		json_object_set_new(d, "csrf_field", json_string(field));
	}
	return d;
}

void
csrf_fill(cot_ctx *c, char *html, size_t len)
{
	char *p = memmem(html, len, csrf_placeholder, CSRF_TOKEN_LEN);
	if (p == NULL)
		return;
	static const char escaped[] = "value=&quot;"; /* {{csrf_field}}: escaped markup */
	if ((size_t)(p - html) >= sizeof(escaped) - 1 &&
	    memcmp(p - (sizeof(escaped) - 1), escaped, sizeof(escaped) - 1) == 0)
		printf("%s %s: the page shows {{csrf_field}} escaped, as text: write "
		       "{{{csrf_field}}} (three braces) so it is a form field\n",
		       c->method, c->path);
	const char *token = session_csrf_token(c);
	if (token == NULL || strlen(token) != CSRF_TOKEN_LEN)
		token = "no-app-secret-so-no-csrf-token-is-possible_"; /* 500 follows */
	for (; p != NULL; p = memmem(p, len - (size_t)(p - html), csrf_placeholder, CSRF_TOKEN_LEN))
		memcpy(p, token, CSRF_TOKEN_LEN);
}
