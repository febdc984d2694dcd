/*
 * json.c -- JSON in and out of a request, through jansson.
 *
 * cot_body_json parses the buffered body once and keeps the value on the
 * context; the request owns that reference and json_request_end (registered
 * with ctx_on_free) drops it, so handlers never decref what the API gave
 * them. A malformed body is recorded with ctx_reject, and the request
 * answers 400 naming jansson's line, column and byte of the error.
 *
 * cot_json packs with json_vpack_ex so a bad format string or a bad argument
 * (a NULL string for "s") becomes a 500 that quotes the format and jansson's
 * reason, instead of a crash or an empty body.
 *
 * cot_atomic_add_size/cot_atomic_sub_size exist for tcc: jansson.h's inline
 * json_incref/json_decref use __atomic builtins that tcc 0.9.27 lacks, and
 * cot.h maps them here when a handler compiled by tcc includes jansson.h.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"

/* ==== refcount shims for tcc =========================================== */

size_t
cot_atomic_add_size(volatile size_t *p, size_t v)
{
	return __atomic_add_fetch(p, v, __ATOMIC_ACQUIRE);
}

size_t
cot_atomic_sub_size(volatile size_t *p, size_t v)
{
	return __atomic_sub_fetch(p, v, __ATOMIC_RELEASE);
}

/* ==== request body ===================================================== */

/* Drops the request's reference on cot_body_json's value (ctx_on_free). */
static void
json_request_end(cot_ctx *c)
{
	json_decref(c->body_json);
	c->body_json = NULL;
}

json_t *
cot_body_json(cot_ctx *c)
{
	if (c->body_json != NULL || c->body_json_error != NULL)
		return c->body_json;
	if (c->body_len == 0) {
		c->body_json_error = "the request body is empty; a JSON value was expected";
		ctx_reject(c, 400, c->body_json_error);
		return NULL;
	}
	json_error_t err;
	c->body_json = json_loadb(c->body, c->body_len, JSON_DECODE_ANY, &err);
	if (c->body_json == NULL) {
		c->body_json_error = arena_printf(&c->mem,
		                                  "malformed JSON body at line %d, "
		                                  "column %d (byte %d): %s",
		                                  err.line, err.column, err.position, err.text);
		ctx_reject(c, 400, c->body_json_error);
	} else {
		ctx_on_free(c, json_request_end);
	}
	return c->body_json;
}

/* ==== responses ======================================================== */

/* Serialises `v` (stolen) as the response body. */
static cot_result
json_send(cot_ctx *c, int status, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	if (s == NULL) {
		error_respond(c, 500,
		              "cot_json: the value cannot be serialised "
		              "(out of memory or a value that contains itself)",
		              NULL);
		return (cot_result){500};
	}
	cot_result r = cot_send(c, status, "application/json", s, strlen(s));
	free(s);
	return r;
}

cot_result
cot_json(cot_ctx *c, int status, const char *fmt, ...)
{
	json_error_t err;
	va_list ap;
	va_start(ap, fmt);
	json_t *v = json_vpack_ex(&err, 0, fmt, ap);
	va_end(ap);
	if (v == NULL) {
		error_respond(c, 500,
		              arena_printf(&c->mem,
		                           "cot_json: cannot pack format "
		                           "\"%s\": %s (at format character %d)",
		                           fmt ? fmt : "(null)", err.text, err.position),
		              NULL);
		return (cot_result){500};
	}
	return json_send(c, status, v);
}

cot_result
cot_json_value(cot_ctx *c, int status, json_t *value)
{
	if (value == NULL) {
		error_respond(c, 500,
		              "cot_json_value: the value is NULL (did a json_* call "
		              "fail?)",
		              NULL);
		return (cot_result){500};
	}
	return json_send(c, status, value);
}
