/*
 * body_read.c -- typed values from the JSON request body, by path.
 *
 * cot_body_str(c, "author.name") walks the value cot_body_json parsed
 * (jansson) along "key", ".key" and "[index]" steps. What is wrong becomes a
 * field error named by the path the client sent (fields.c), so one 422 lists
 * every bad field of the body instead of stopping at the first: "is
 * required" for a missing required value, "must be a string" (an integer, a
 * number, true or false, an object, an array) for a value of the wrong type,
 * on the step where the type went wrong ("author" for "author.name" when
 * author is a string). A body that is not JSON at all answers 400 through
 * cot_body_json; one whose top level is not the object or array the path
 * needs answers 400 too, since no field of it can be named.
 */
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "fields.h"

enum body_kind { BODY_STR, BODY_INT, BODY_DOUBLE, BODY_BOOL, BODY_ANY };

static const char *const body_kind_need[] = {
        "must be a string", "must be an integer", "must be a number", "must be true or false", NULL,
};

/*
 * The value at `path`, NULL when missing (or the body is not JSON). A step
 * into something that is not an object/array records the error on the path
 * so far and sets *bad.
 */
static json_t *
body_find(cot_ctx *c, const char *path, bool *bad)
{
	*bad = false;
	json_t *v = cot_body_json(c);
	if (v == NULL || path == NULL)
		return NULL;
	const char *p = path;
	bool root = true;
	while (v != NULL && *p != '\0') {
		if (*p == '[') {
			char *end;
			long i = strtol(p + 1, &end, 10);
			if (end == p + 1 || *end != ']' || i < 0) {
				fields_add(c, path, "is not a valid path (cot_body_*)");
				*bad = true;
				return NULL;
			}
			if (!json_is_array(v)) {
				if (root)
					ctx_reject(c, 400, "the body must be a JSON array");
				else
					fields_add(c,
					           arena_strndup(&c->mem, path, (size_t)(p - path)),
					           "must be an array");
				*bad = true;
				return NULL;
			}
			v = json_array_get(v, (size_t)i);
			p = end + 1;
		} else {
			if (*p == '.')
				p++;
			size_t n = strcspn(p, ".[");
			if (!json_is_object(v)) {
				if (root)
					ctx_reject(c, 400, "the body must be a JSON object");
				else
					fields_add(
					        c,
					        arena_strndup(&c->mem, path,
					                      (size_t)(p - path) - (p[-1] == '.')),
					        "must be an object");
				*bad = true;
				return NULL;
			}
			char *key = arena_strndup(&c->mem, p, n);
			v = json_object_get(v, key);
			p += n;
		}
		root = false;
	}
	return v;
}

/*
 * The value at `path` of kind `kind`, or NULL: missing (a field error when
 * `required`), null (likewise), or of the wrong kind (always an error).
 */
static json_t *
body_get(cot_ctx *c, const char *path, enum body_kind kind, bool required)
{
	bool bad;
	json_t *v = body_find(c, path, &bad);
	if (bad || (v == NULL && c->body_json == NULL))
		return NULL; /* said already, or the body itself answers 400 */
	if (v == NULL || json_is_null(v)) {
		if (required)
			fields_add(c, path, "is required");
		return NULL;
	}
	bool ok = kind == BODY_STR      ? json_is_string(v)
	          : kind == BODY_INT    ? json_is_integer(v)
	          : kind == BODY_DOUBLE ? json_is_number(v)
	          : kind == BODY_BOOL   ? json_is_boolean(v)
	                                : true;
	if (!ok) {
		fields_add(c, path, body_kind_need[kind]);
		return NULL;
	}
	return v;
}

const char *
cot_body_str(cot_ctx *c, const char *path)
{
	json_t *v = body_get(c, path, BODY_STR, true);
	return v ? json_string_value(v) : "";
}

const char *
cot_body_str_or(cot_ctx *c, const char *path, const char *def)
{
	json_t *v = body_get(c, path, BODY_STR, false);
	return v ? json_string_value(v) : def;
}

long long
cot_body_int(cot_ctx *c, const char *path)
{
	json_t *v = body_get(c, path, BODY_INT, true);
	return v ? json_integer_value(v) : 0;
}

long long
cot_body_int_or(cot_ctx *c, const char *path, long long def)
{
	json_t *v = body_get(c, path, BODY_INT, false);
	return v ? json_integer_value(v) : def;
}

double
cot_body_double(cot_ctx *c, const char *path)
{
	json_t *v = body_get(c, path, BODY_DOUBLE, true);
	return v ? json_number_value(v) : 0;
}

double
cot_body_double_or(cot_ctx *c, const char *path, double def)
{
	json_t *v = body_get(c, path, BODY_DOUBLE, false);
	return v ? json_number_value(v) : def;
}

int
cot_body_bool(cot_ctx *c, const char *path)
{
	json_t *v = body_get(c, path, BODY_BOOL, true);
	return v ? json_is_true(v) : 0;
}

int
cot_body_bool_or(cot_ctx *c, const char *path, int def)
{
	json_t *v = body_get(c, path, BODY_BOOL, false);
	return v ? json_is_true(v) : def;
}

int
cot_body_has(cot_ctx *c, const char *path)
{
	bool bad;
	json_t *v = body_find(c, path, &bad);
	return v != NULL && !json_is_null(v);
}

int
cot_body_count(cot_ctx *c, const char *path)
{
	json_t *v = body_get(c, path, BODY_ANY, false);
	if (v == NULL)
		return 0;
	if (!json_is_array(v)) {
		fields_add(c, path, "must be an array");
		return 0;
	}
	return (int)json_array_size(v);
}
