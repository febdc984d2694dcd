/*
 * fields.c -- field errors: what is wrong with which input field.
 *
 * Messages about fields pile up on the request in the order they came
 * (cot_field_error, cot_fail_fields, and the JSON body readers of
 * body_read.c); a field may have several. error.c renders them -- as
 * "errors": {"field": ["message", ...]} in problem+json, as one detail line
 * on a page -- and hands them to after hooks in the cot_error.
 *
 * Once one is recorded the request is invalid: if the handler still answers
 * with a success, server_dispatch.c answers 422 with the list instead
 * (fields_reject), so a handler that forgets to check cannot store
 * half-validated input.
 */
#include <stdarg.h>
#include <string.h>

#include "arena.h"
#include "ctx.h"
#include "error.h"
#include "fields.h"

void
fields_add(cot_ctx *c, const char *field, const char *message)
{
	field = field ? field : "";
	message = message ? message : "is invalid";
	for (int i = 0; i < c->nfields; i++) /* reading a field twice says it once */
		if (strcmp(c->fields[i].field, field) == 0 &&
		    strcmp(c->fields[i].message, message) == 0)
			return;
	if (c->nfields == c->capfields) {
		int cap = c->capfields ? c->capfields * 2 : 8;
		cot_field *nf = arena_alloc(&c->mem, (size_t)cap * sizeof(*nf));
		if (c->nfields > 0)
			memcpy(nf, c->fields, (size_t)c->nfields * sizeof(*nf));
		c->fields = nf;
		c->capfields = cap;
	}
	c->fields[c->nfields].field = arena_strdup(&c->mem, field);
	c->fields[c->nfields].message = arena_strdup(&c->mem, message);
	c->nfields++;
}

void
cot_field_error(cot_ctx *c, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = fmt ? arena_vprintf(&c->mem, fmt, ap) : NULL;
	va_end(ap);
	fields_add(c, field, msg);
}

int
cot_field_errors(cot_ctx *c)
{
	return c->nfields;
}

/* "invalid input: title is required; body must be a string". */
static const char *
fields_detail(cot_ctx *c)
{
	char *text = arena_strdup(&c->mem, "invalid input:");
	for (int i = 0; i < c->nfields; i++)
		text = arena_printf(&c->mem, "%s%s %s %s", text, i ? ";" : "", c->fields[i].field,
		                    c->fields[i].message);
	return text;
}

/* Answers 422 with the field errors recorded so far. */
static void
fields_respond(cot_ctx *c)
{
	const char *detail = fields_detail(c);
	c->fail_detail = detail;
	error_respond_as(c, 422, "invalid", detail, NULL);
}

cot_result
cot_fail_fields(cot_ctx *c, const char *field, ...)
{
	va_list ap;
	va_start(ap, field);
	while (field != NULL) {
		const char *message = va_arg(ap, const char *);
		fields_add(c, field, message);
		if (message == NULL)
			break; /* an odd list: the NULL was its end */
		field = va_arg(ap, const char *);
	}
	va_end(ap);
	if (c->nfields == 0)
		fields_add(c, "(input)", "is invalid");
	fields_respond(c);
	return (cot_result){422};
}

void
fields_reject(cot_ctx *c)
{
	if (c->nfields > 0 && c->status < 400)
		fields_respond(c);
}
