/*
 * form.c -- cot_form and cot_form_file: the request body as form fields.
 *
 * server_access.c buffers the whole body before the handler runs (it is capped
 * by max_body), so the form is parsed from c->body in one pass on the first
 * cot_form* call and cached on the context; every string lands in the
 * request's arena. That model is why libmicrohttpd's post processor is not
 * used: it wants to be fed from the connection while the upload arrives, and
 * it cannot run without a connection in the unit and fuzz tests.
 *
 * Two encodings:
 *   - application/x-www-form-urlencoded: "a=1&b=x+y%21"; '+' is a space.
 *   - multipart/form-data (RFC 7578 on RFC 2046): parts between
 *     "\r\n--BOUNDARY" lines, each with a Content-Disposition naming it and,
 *     for files, a filename. Parsed strictly (CRLF line ends, a closing
 *     delimiter), so a truncated upload is an error rather than a short file.
 *
 * A malformed body is the client's fault: the error names the byte offset and
 * the request answers 400 through ctx_reject. A body that is not a form at
 * all (JSON, say) is no error of the client's; cot_form_error says why the
 * form is empty and the handler decides. tests/test_fuzz.c feeds both
 * parsers random and mutated bodies under ASan/UBSan.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "ctx.h"
#include "hex.h"
#include "router.h"

/* One field or file of the body. */
typedef struct form_field {
	STAILQ_ENTRY(form_field) link;
	const char *name;
	const char *value; /* fields; NULL for files */
	cot_upload *file;  /* files; NULL for fields */
} form_field;

struct form_data {
	STAILQ_HEAD(, form_field) fields;
	const char *error; /* NULL: the body parsed as a form */
};
typedef struct form_data form_data;

#define FORM_MAX_BOUNDARY 200 /* RFC 2046 allows 70; be lenient, not unbounded */

/* ==== helpers ========================================================== */

static void
form_add(cot_ctx *c, form_data *f, const char *name, const char *value, cot_upload *file)
{
	form_field *fl = arena_alloc(&c->mem, sizeof(*fl));
	fl->name = name;
	fl->value = value;
	fl->file = file;
	STAILQ_INSERT_TAIL(&f->fields, fl, link);
}

/*
 * Offset of the first byte that router_percent_decode would refuse in
 * s[0..n) (a '%' without two hex digits, "%00", or a raw NUL), or -1.
 */
static long
form_bad_escape(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0')
			return (long)i;
		if (s[i] != '%')
			continue;
		if (i + 2 >= n)
			return (long)i;
		int hi = hex_digit((unsigned char)s[i + 1]);
		int lo = hi < 0 ? -1 : hex_digit((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return (long)i;
		i += 2;
	}
	return -1;
}

/* Decodes s[0..n) of a urlencoded body into the arena; NULL if malformed. */
static char *
form_decode(cot_ctx *c, const char *s, size_t n)
{
	char *d = arena_strndup(&c->mem, s, n);
	if (router_percent_decode(d, true) == (size_t)-1)
		return NULL;
	return d;
}

/* ==== application/x-www-form-urlencoded ================================ */

static const char *
form_parse_urlencoded(cot_ctx *c, form_data *f, const char *body, size_t len)
{
	size_t i = 0;
	int index = 0;
	while (i < len) {
		const char *pair = body + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		i += plen + 1;
		if (plen == 0)
			continue;
		index++;
		long bad = form_bad_escape(pair, plen);
		if (bad >= 0)
			return arena_printf(
			        &c->mem,
			        "malformed form body: field %d has %s at "
			        "byte %ld",
			        index, pair[bad] == '\0' ? "a NUL byte" : "bad percent-encoding",
			        (long)(pair - body) + bad);
		const char *eq = memchr(pair, '=', plen);
		size_t nlen = eq ? (size_t)(eq - pair) : plen;
		char *name = form_decode(c, pair, nlen);
		char *value =
		        eq ? form_decode(c, eq + 1, plen - nlen - 1) : arena_strdup(&c->mem, "");
		if (name == NULL || value == NULL)
			return arena_printf(&c->mem,
			                    "malformed form body: field %d cannot be "
			                    "decoded",
			                    index);
		form_add(c, f, name, value, NULL);
	}
	return NULL;
}

/* ==== header parameters ================================================ */

/*
 * Value of parameter `key` in a header value's parameter list
 * ("form-data; name=\"a\"; filename=x"), unquoted, in the arena; NULL if
 * absent or malformed. `params` is NUL-terminated.
 */
static char *
form_param(cot_ctx *c, const char *params, const char *key)
{
	size_t klen = strlen(key);
	const char *p = strchr(params, ';');
	while (p != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *k = p;
		while (*p != '\0' && *p != '=' && *p != ';')
			p++;
		size_t this_klen = (size_t)(p - k);
		while (this_klen > 0 && (k[this_klen - 1] == ' ' || k[this_klen - 1] == '\t'))
			this_klen--;
		if (*p != '=') {
			p = *p == ';' ? p : NULL;
			continue;
		}
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		bool match = this_klen == klen && strncasecmp(k, key, klen) == 0;
		char *out = arena_alloc(&c->mem, strlen(p) + 1), *o = out;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				*o++ = *p;
			}
			if (*p != '"')
				return NULL; /* unterminated quoted string */
			p++;
		} else {
			while (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t')
				*o++ = *p++;
		}
		*o = '\0';
		if (match)
			return out;
		p = strchr(p, ';');
	}
	return NULL;
}

/* True if the media type of header value `v` is `type` (parameters ignored). */
static bool
form_type_is(const char *v, const char *type)
{
	size_t n = strlen(type);
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, type, n) != 0)
		return false;
	v += n;
	while (*v == ' ' || *v == '\t')
		v++;
	return *v == '\0' || *v == ';';
}

/* ==== multipart/form-data ============================================== */

/* A multipart body being parsed: the bytes and the "\r\n--BOUNDARY" string. */
typedef struct form_mp {
	const char *body, *end;
	char *delim; /* "\r\n--" BOUNDARY */
	size_t dlen;
	int part; /* 1-based index of the part being parsed */
} form_mp;

/* Part headers h[0..n): fills name, filename (NULL: a field) and type. */
static const char *
form_part_headers(cot_ctx *c, form_mp *m, const char *h, size_t n, char **name, char **filename,
                  char **type)
{
	const char *end = h + n;
	char *disposition = NULL;
	*name = *filename = *type = NULL;
	while (h < end) {
		const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
		size_t llen = eol ? (size_t)(eol - h) : (size_t)(end - h);
		char *line = arena_strndup(&c->mem, h, llen);
		if (strlen(line) != llen)
			return arena_printf(&c->mem,
			                    "malformed multipart body: part %d has a "
			                    "NUL byte in its headers",
			                    m->part);
		char *colon = strchr(line, ':');
		if (colon == NULL)
			return arena_printf(&c->mem,
			                    "malformed multipart body: part %d has a "
			                    "header line without ':' at byte %ld",
			                    m->part, (long)(h - m->body));
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcasecmp(line, "Content-Disposition") == 0)
			disposition = v;
		else if (strcasecmp(line, "Content-Type") == 0)
			*type = v;
		h += llen + (eol ? 2 : 0);
	}
	if (disposition == NULL || !form_type_is(disposition, "form-data"))
		return arena_printf(&c->mem,
		                    "malformed multipart body: part %d has no "
		                    "Content-Disposition: form-data header",
		                    m->part);
	*name = form_param(c, disposition, "name");
	*filename = form_param(c, disposition, "filename");
	if (*name == NULL)
		return arena_printf(&c->mem,
		                    "malformed multipart body: part %d has no name "
		                    "in its Content-Disposition",
		                    m->part);
	return NULL;
}

/* Adds the part whose headers are h[0..hlen) and content data[0..len). */
static const char *
form_add_part(cot_ctx *c, form_data *f, form_mp *m, const char *h, size_t hlen, const char *data,
              size_t len)
{
	char *name, *filename, *type;
	const char *err = form_part_headers(c, m, h, hlen, &name, &filename, &type);
	if (err != NULL)
		return err;
	if (filename == NULL) {
		form_add(c, f, name, arena_strndup(&c->mem, data, len), NULL);
		return NULL;
	}
	cot_upload *file = arena_alloc(&c->mem, sizeof(*file));
	file->name = name;
	file->filename = filename;
	file->content_type = type != NULL ? type : "application/octet-stream";
	file->data = arena_strndup(&c->mem, data, len);
	file->len = len;
	form_add(c, f, name, NULL, file);
	return NULL;
}

/*
 * After a delimiter at p: "--" closes the body, otherwise optional
 * whitespace and CRLF open the next part. Returns 1 closed, 0 next part
 * (*pp moved past the CRLF), -1 malformed.
 */
static int
form_after_delim(form_mp *m, const char **pp)
{
	const char *p = *pp;
	if (m->end - p >= 2 && p[0] == '-' && p[1] == '-')
		return 1;
	while (p < m->end && (*p == ' ' || *p == '\t'))
		p++;
	if (m->end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return -1;
	*pp = p + 2;
	return 0;
}

/*
 * Parses the part that starts at *pp, just after a "--BOUNDARY" line's
 * CRLF, and moves *pp to the CRLF before the next delimiter.
 */
static const char *
form_parse_part(cot_ctx *c, form_data *f, form_mp *m, const char **pp)
{
	const char *p = *pp, *hend, *data;
	if (m->end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
		hend = p; /* a part without headers */
		data = p + 2;
	} else {
		hend = memmem(p, (size_t)(m->end - p), "\r\n\r\n", 4);
		if (hend == NULL)
			return arena_printf(&c->mem,
			                    "malformed multipart body: the headers of "
			                    "part %d (byte %ld) never end",
			                    m->part, (long)(p - m->body));
		data = hend + 4;
	}
	const char *next = data;
	while ((next = memmem(next, (size_t)(m->end - next), m->delim, m->dlen)) != NULL) {
		const char *after = next + m->dlen;
		if (form_after_delim(m, &after) >= 0)
			break;
		next++; /* "\r\n--BOUNDARYxyz" inside the content is no delimiter */
	}
	if (next == NULL)
		return arena_printf(&c->mem,
		                    "malformed multipart body: part %d (byte %ld) is "
		                    "not closed by a boundary line; truncated upload?",
		                    m->part, (long)(p - m->body));
	*pp = next;
	return form_add_part(c, f, m, p, (size_t)(hend - p), data, (size_t)(next - data));
}

static const char *
form_parse_multipart(cot_ctx *c, form_data *f, const char *ctype, const char *body, size_t len)
{
	char *boundary = form_param(c, ctype, "boundary");
	size_t blen = boundary ? strlen(boundary) : 0;
	if (blen == 0 || blen > FORM_MAX_BOUNDARY)
		return "malformed multipart body: the Content-Type has no usable boundary "
		       "parameter";
	form_mp m = {body, body + len, arena_printf(&c->mem, "\r\n--%s", boundary), blen + 4, 0};
	const char *p;
	if (len >= m.dlen - 2 && memcmp(body, m.delim + 2, m.dlen - 2) == 0)
		p = body + m.dlen - 2; /* the body opens with the first delimiter */
	else if ((p = memmem(body, len, m.delim, m.dlen)) != NULL)
		p += m.dlen; /* after a preamble */
	else
		return arena_printf(&c->mem,
		                    "malformed multipart body: no \"--%s\" boundary "
		                    "line",
		                    boundary);
	for (;;) {
		int r = form_after_delim(&m, &p);
		if (r == 1)
			return NULL;
		if (r < 0)
			return arena_printf(&c->mem,
			                    "malformed multipart body: the boundary line "
			                    "before byte %ld is not followed by CRLF or \"--\"",
			                    (long)(p - body));
		m.part++;
		const char *err = form_parse_part(c, f, &m, &p);
		if (err != NULL)
			return err;
		p += m.dlen;
	}
}

/* ==== public API ======================================================= */

/* Parses the body once per request; the result is cached on the context. */
static form_data *
form_get(cot_ctx *c)
{
	if (c->form != NULL)
		return c->form;
	form_data *f = arena_alloc(&c->mem, sizeof(*f));
	STAILQ_INIT(&f->fields);
	c->form = f;
	const char *ctype = cot_header(c, "Content-Type");
	const char *body = c->body != NULL ? c->body : "";
	if (ctype == NULL) {
		if (c->body_len > 0)
			f->error = "the request has a body but no Content-Type; a form needs "
			           "application/x-www-form-urlencoded or multipart/form-data";
	} else if (form_type_is(ctype, "application/x-www-form-urlencoded")) {
		f->error = form_parse_urlencoded(c, f, body, c->body_len);
		if (f->error != NULL)
			ctx_reject(c, 400, f->error);
	} else if (form_type_is(ctype, "multipart/form-data")) {
		f->error = form_parse_multipart(c, f, ctype, body, c->body_len);
		if (f->error != NULL)
			ctx_reject(c, 400, f->error);
	} else {
		f->error = arena_printf(&c->mem,
		                        "the request's Content-Type is %s, not a form "
		                        "(application/x-www-form-urlencoded or "
		                        "multipart/form-data)",
		                        ctype);
	}
	if (f->error != NULL)
		STAILQ_INIT(&f->fields); /* all or nothing */
	return f;
}

const char *
cot_form(cot_ctx *c, const char *name)
{
	form_field *fl;
	STAILQ_FOREACH(fl, &form_get(c)->fields, link)
	if (fl->value != NULL && strcmp(fl->name, name) == 0)
		return fl->value;
	return NULL;
}

const cot_upload *
cot_form_file(cot_ctx *c, const char *name)
{
	form_field *fl;
	STAILQ_FOREACH(fl, &form_get(c)->fields, link)
	{
		if (fl->file == NULL || strcmp(fl->name, name) != 0)
			continue;
		if (fl->file->filename[0] == '\0' && fl->file->len == 0)
			return NULL; /* a file input left empty */
		return fl->file;
	}
	return NULL;
}

const char *
cot_form_error(cot_ctx *c)
{
	return form_get(c)->error;
}
