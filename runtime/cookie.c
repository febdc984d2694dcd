/*
 * cookie.c -- cot_cookie and cot_set_cookie (RFC 6265).
 *
 * Reading is lenient, as RFC 6265 section 5.4 asks of a server reading what
 * browsers send: "a=1; b=2", pairs without '=' skipped, spaces trimmed, one
 * pair of surrounding double quotes removed. Values are not decoded; cookies
 * carry what the application put in them.
 *
 * Writing is strict: a name must be a token and a value cookie-octets
 * (section 4.1.1), Path and Domain must not hold ';' or control bytes, and
 * SameSite=None needs Secure (browsers drop it otherwise). Anything else
 * would emit a header a browser silently ignores, or one that splits into
 * attributes the application never meant, so it is refused with a message
 * that names the byte, and the request answers 500 (ctx_reject): it is a bug
 * in the handler, not in the client.
 */
#include <string.h>

#include "ctx.h"

/* ==== reading ========================================================== */

/* Trims spaces and tabs from both ends of s[0..*n); returns the new start. */
static const char *
cookie_trim(const char *s, size_t *n)
{
	while (*n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*n)--;
	}
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

const char *
cot_cookie(cot_ctx *c, const char *name)
{
	const char *h = cot_header(c, "Cookie");
	size_t want = strlen(name);
	while (h != NULL && *h != '\0') {
		const char *semi = strchr(h, ';');
		size_t plen = semi ? (size_t)(semi - h) : strlen(h);
		const char *eq = memchr(h, '=', plen);
		if (eq != NULL) {
			size_t nlen = (size_t)(eq - h), vlen = plen - nlen - 1;
			const char *n = cookie_trim(h, &nlen);
			const char *v = cookie_trim(eq + 1, &vlen);
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if (nlen == want && memcmp(n, name, want) == 0)
				return arena_strndup(&c->mem, v, vlen);
		}
		h = semi ? semi + 1 : NULL;
	}
	return NULL;
}

/* ==== writing ========================================================== */

/* RFC 9110 tchar: the bytes of a token. */
static bool
cookie_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* RFC 6265 cookie-octet: visible ASCII but for '"', ',', ';' and '\\'. */
static bool
cookie_octet(unsigned char ch)
{
	return ch >= 0x21 && ch <= 0x7e && ch != '"' && ch != ',' && ch != ';' && ch != '\\';
}

/* Path and Domain attribute values: no control bytes, no ';'. */
static bool
cookie_attr_char(unsigned char ch)
{
	return ch >= 0x20 && ch <= 0x7e && ch != ';';
}

/* Index of the first byte of s that `ok` refuses, or -1. */
static long
cookie_first_bad(const char *s, bool (*ok)(unsigned char))
{
	for (long i = 0; s[i] != '\0'; i++)
		if (!ok((unsigned char)s[i]))
			return i;
	return -1;
}

/* Why the cookie cannot be sent, or NULL if it can. */
static const char *
cookie_check(cot_ctx *c, const char *name, const char *value, const cot_cookie_opts *o)
{
	long bad;
	if (name == NULL || *name == '\0')
		return "cot_set_cookie: the cookie name is empty";
	if ((bad = cookie_first_bad(name, cookie_tchar)) >= 0)
		return arena_printf(&c->mem,
		                    "cot_set_cookie: cookie name \"%s\" has byte 0x%02x "
		                    "at %ld; names are RFC 6265 tokens",
		                    name, (unsigned char)name[bad], bad);
	if (value == NULL)
		return arena_printf(&c->mem,
		                    "cot_set_cookie: the value of cookie \"%s\" is "
		                    "NULL",
		                    name);
	if ((bad = cookie_first_bad(value, cookie_octet)) >= 0)
		return arena_printf(&c->mem,
		                    "cot_set_cookie: the value of cookie \"%s\" has "
		                    "byte 0x%02x at %ld; encode it (no space, '\"', ',', ';', "
		                    "'\\\\' or non-ASCII)",
		                    name, (unsigned char)value[bad], bad);
	if (o->path != NULL &&
	    (*o->path != '/' || cookie_first_bad(o->path, cookie_attr_char) >= 0))
		return arena_printf(&c->mem,
		                    "cot_set_cookie: the Path of cookie \"%s\" must "
		                    "start with '/' and hold no ';' or control bytes",
		                    name);
	if (o->domain != NULL &&
	    (*o->domain == '\0' || cookie_first_bad(o->domain, cookie_tchar) >= 0))
		return arena_printf(&c->mem,
		                    "cot_set_cookie: the Domain of cookie \"%s\" is "
		                    "not a host name",
		                    name);
	if (o->same_site < COT_SAMESITE_LAX || o->same_site > COT_SAMESITE_NONE)
		return arena_printf(&c->mem,
		                    "cot_set_cookie: cookie \"%s\" has an unknown "
		                    "same_site %d",
		                    name, o->same_site);
	if (o->same_site == COT_SAMESITE_NONE && !o->secure)
		return arena_printf(&c->mem,
		                    "cot_set_cookie: cookie \"%s\" has SameSite=None "
		                    "without Secure, which browsers reject",
		                    name);
	return NULL;
}

int
cot_set_cookie(cot_ctx *c, const char *name, const char *value, const cot_cookie_opts *opts)
{
	static const cot_cookie_opts defaults;
	static const char *const same_site[] = {"Lax", "Strict", "None"};
	const cot_cookie_opts *o = opts != NULL ? opts : &defaults;
	const char *err = cookie_check(c, name, value, o);
	if (err != NULL) {
		ctx_reject(c, 500, err);
		return -1;
	}
	char max_age[40] = "";
	if (o->max_age != 0)
		snprintf(max_age, sizeof(max_age), "; Max-Age=%lld",
		         o->max_age < 0 ? 0 : o->max_age);
	char *h = arena_printf(&c->mem, "%s=%s; Path=%s%s%s%s%s%s; SameSite=%s", name, value,
	                       o->path ? o->path : "/", max_age, o->domain ? "; Domain=" : "",
	                       o->domain ? o->domain : "", o->http_only ? "; HttpOnly" : "",
	                       o->secure ? "; Secure" : "", same_site[o->same_site]);
	cot_set_header(c, "Set-Cookie", h);
	return 0;
}
