/*
 * strict.c -- the checks of a request head that libmicrohttpd 0.9.75 does
 * not make, made before any handler runs.
 *
 * Measured against bare MHD 0.9.75 (tests/test_strict.c holds the table):
 * it accepts two different Content-Length headers (the first wins, while a
 * proxy in front may take the last: request smuggling), keeps a connection
 * open after a request with both Content-Length and Transfer-Encoding (RFC
 * 9112 6.1: the server MUST close it), never answers an unknown
 * Transfer-Encoding, and serves with 200 a header with whitespace before its
 * colon, a NUL byte in the path, an HTTP/1.1 request without Host, and
 * obs-fold continuation lines (whose text it silently drops). Every one of
 * these is refused here -- 400, or 501 for a transfer coding we do not
 * speak -- and the connection is closed after the answer, because the
 * framing of what follows cannot be trusted.
 *
 * MHD hands us the head already parsed, so two of the checks read what the
 * parse left behind:
 *   - a NUL in the request target ends the C string MHD gives us. The URI
 *     log callback sees the target in MHD's line buffer, where the version
 *     follows the target's terminator; anything else there means the
 *     target went on after a NUL.
 *   - an obs-fold line makes MHD 0.9.75 copy the header's name out of the
 *     line buffer and glue the continuation to it (its text is lost from
 *     the value): a name that no longer sits right before its value, or
 *     whose C string is shorter than the length MHD reports, gives it away.
 * Both read MHD's own buffers as 0.9.75 (Debian 12) leaves them; a newer
 * MHD may refuse some of these itself.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "ctx.h"
#include "strict.h"

/* What strict_uri_log returns, for MHD to pass on as the request's first
 * con_cls: "the target holds a NUL". Never a context. */
static char strict_nul_marker;

void *
strict_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	const char *after = uri + strlen(uri) + 1;
	/* "METHOD TARGET VERSION": MHD has put a NUL where the space before
	 * the version was; HTTP/0.9 requests (no version) MHD refuses itself */
	if (strncmp(after, "HTTP/", 5) != 0)
		return &strict_nul_marker;
	return NULL;
}

bool
strict_is_nul_marker(const void *con_cls)
{
	return con_cls == &strict_nul_marker;
}

/* What the header walk found. */
typedef struct strict_scan {
	cot_ctx *c;
	const char *problem; /* the first problem, or NULL */
	int ncl, nte, nhost;
	const char *cl, *te;
	bool cl_differ;
} strict_scan;

static bool
strict_has_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\t')
			return true;
	return false;
}

/*
 * MHD 0.9.75 parses a header line in place: the name, a NUL where the colon
 * was, optional whitespace, the value. For an obs-fold line it copies the
 * name elsewhere and glues the continuation to it, so the name no longer
 * sits just before its value.
 */
static bool
strict_in_place(const char *key, size_t key_size, const char *value)
{
	if (value == NULL || value <= key + key_size)
		return false;
	for (const char *p = key + key_size; p < value; p++)
		if (*p != '\0' && *p != ' ' && *p != '\t')
			return false;
	return true;
}

static enum MHD_Result
strict_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
              const char *value, size_t value_size)
{
	strict_scan *s = cls;
	(void)kind;
	if (s->problem != NULL)
		return MHD_NO;
	if (strlen(key) != key_size || !strict_in_place(key, key_size, value)) {
		s->problem =
		        arena_printf(&s->c->mem,
		                     "header \"%s\" is folded over more than one "
		                     "line (obs-fold, RFC 9112 5.2): send each header on one line",
		                     key);
		return MHD_NO;
	}
	if (strict_has_space(key, key_size)) {
		s->problem = arena_printf(&s->c->mem,
		                          "whitespace between the header name \"%.*s\" "
		                          "and its colon (RFC 9112 5.1)",
		                          (int)strcspn(key, " \t"), key);
		return MHD_NO;
	}
	if (value != NULL && strlen(value) != value_size) {
		s->problem = arena_printf(&s->c->mem, "the value of header \"%s\" holds a NUL byte",
		                          key);
		return MHD_NO;
	}
	if (strcasecmp(key, "Content-Length") == 0) {
		if (s->cl != NULL && strcmp(s->cl, value) != 0)
			s->cl_differ = true;
		if (s->cl == NULL)
			s->cl = value;
		s->ncl++;
	} else if (strcasecmp(key, "Transfer-Encoding") == 0) {
		s->te = value;
		s->nte++;
	} else if (strcasecmp(key, "Host") == 0) {
		s->nhost++;
	}
	return MHD_YES;
}

/* Sets the verdict; returns 1. */
static int
strict_refuse(strict_verdict *v, int status, const char *detail)
{
	v->status = status;
	v->detail = detail;
	return 1;
}

int
strict_check(cot_ctx *c, const char *version, bool nul_in_target, strict_verdict *v)
{
	v->status = 0;
	v->detail = NULL;
	if (nul_in_target)
		return strict_refuse(v, 400, "the request target holds a NUL byte");
	for (const char *p = c->raw_url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return strict_refuse(v, 400,
			                     arena_printf(&c->mem,
			                                  "the request target "
			                                  "holds byte 0x%02x; encode it (%%%02X)",
			                                  (unsigned char)*p, (unsigned char)*p));
	if (c->conn == NULL)
		return 0;
	strict_scan s = {.c = c};
	MHD_get_connection_values_n(c->conn, MHD_HEADER_KIND, strict_header, &s);
	if (s.problem != NULL)
		return strict_refuse(v, 400, s.problem);
	bool http11 = version != NULL && strcmp(version, "HTTP/1.1") == 0;
	if (http11 && s.nhost == 0)
		return strict_refuse(v, 400,
		                     "an HTTP/1.1 request needs a Host header "
		                     "(RFC 9112 3.2)");
	if (s.nhost > 1)
		return strict_refuse(v, 400, "more than one Host header (RFC 9112 3.2)");
	if (s.cl_differ)
		return strict_refuse(v, 400,
		                     "Content-Length headers with different values: "
		                     "refused, since a proxy in front may have read the other "
		                     "one (request smuggling)");
	if (s.ncl > 0 && s.nte > 0)
		return strict_refuse(v, 400,
		                     "both Content-Length and Transfer-Encoding: the "
		                     "length of the body is ambiguous (RFC 9112 6.1)");
	if (s.nte > 1 || (s.nte == 1 && strcasecmp(s.te, "chunked") != 0))
		return strict_refuse(
		        v, 501,
		        arena_printf(&c->mem,
		                     "Transfer-Encoding \"%s\" is "
		                     "not supported; send the body with Content-Length or "
		                     "Transfer-Encoding: chunked",
		                     s.te));
	return 0;
}
