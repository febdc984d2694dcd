/*
 * api_test.h -- a request context made by hand for the request/response API
 * tests (test_ctx.c, test_form.c, test_json.c, test_jw.c, test_cookie.c,
 * test_auth.c, test_fuzz.c): a body, a few request headers (c->req_headers,
 * since there is no MHD connection), and the teardown the server does when a
 * request ends.
 */
#ifndef COT_API_TEST_H
#define COT_API_TEST_H

#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "ctx.h"

/* A POST context whose body is a copy of body[0..len). */
static inline cot_ctx *
t_ctx(const char *body, size_t len)
{
	cot_ctx *c = malloc(sizeof(*c));
	if (c == NULL)
		abort();
	ctx_init(c);
	c->method = "POST";
	c->path = c->raw_url = "/t";
	if (body != NULL) {
		c->body = malloc(len + 1);
		if (c->body == NULL)
			abort();
		memcpy(c->body, body, len);
		c->body[len] = '\0';
		c->body_len = len;
		c->body_cap = len + 1;
		ctx_on_free(c, body_free); /* as body_begin does */
	}
	return c;
}

/* Adds a request header (copied into the request). */
static inline void
t_header(cot_ctx *c, const char *name, const char *value)
{
	header_kv *h = arena_alloc(&c->mem, sizeof(*h));
	h->name = arena_strdup(&c->mem, name);
	h->value = arena_strdup(&c->mem, value);
	h->next = c->req_headers;
	c->req_headers = h;
}

/* A context with a Content-Type and a NUL-terminated body. */
static inline cot_ctx *
t_form_ctx(const char *ctype, const char *body)
{
	cot_ctx *c = t_ctx(body, body ? strlen(body) : 0);
	if (ctype != NULL)
		t_header(c, "Content-Type", ctype);
	return c;
}

/* What the server does when the request ends (ctx_free runs the cleanups
 * json.c and the others registered). */
static inline void
t_free(cot_ctx *c)
{
	ctx_free(c);
	free(c);
}

/* The value of the first response header `name`, or NULL. */
static inline const char *
t_resp_header(cot_ctx *c, const char *name)
{
	const char *v = NULL;
	for (header_kv *h = c->resp_headers; h != NULL; h = h->next)
		if (strcmp(h->name, name) == 0)
			v = h->value; /* the list is newest first */
	return v;
}

#endif
