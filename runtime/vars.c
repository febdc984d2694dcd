/*
 * vars.c -- per-request state: what middleware hands to handlers.
 *
 *     static cot_result current_user(cot_ctx *c)      // a before hook
 *     {
 *             const char *id = cot_session_get(c, "user_id");
 *             if (id != NULL)
 *                     cot_set(c, "user", cot_db_one(c, "SELECT ... WHERE id = ?", id));
 *             return cot_next(c);
 *     }
 *     ...
 *     cot_row *user = cot_get(c, "user");             // in any handler
 *
 * Values are pointers the request already owns (rows, cot_sprintf strings,
 * cot_alloc'd structs), so there is nothing to free: the list lives in the
 * request's arena and dies with it. A handful of keys per request is the
 * expected use, so a list beats a hash table.
 *
 * This file also holds vars_auth, the one pointer in cot_ctx through which the
 * accounts files (session.c, csrf.c, jwt.c) keep their per-request state.
 */
#include <jansson.h>
#include <string.h>

#include "arena.h"
#include "ctx.h"
#include "vars.h"

typedef struct ctx_var {
	const char *key;
	void *value;
	struct ctx_var *next;
} ctx_var;

auth_request *
vars_auth(cot_ctx *c)
{
	if (c->auth == NULL)
		c->auth = arena_alloc(&c->mem, sizeof(auth_request));
	return c->auth;
}

void
cot_set(cot_ctx *c, const char *key, void *value)
{
	auth_request *a = vars_auth(c);
	for (ctx_var *v = a->vars; v != NULL; v = v->next)
		if (strcmp(v->key, key) == 0) {
			v->value = value;
			return;
		}
	ctx_var *v = arena_alloc(&c->mem, sizeof(*v));
	v->key = arena_strdup(&c->mem, key);
	v->value = value;
	v->next = a->vars;
	a->vars = v;
}

void *
cot_get(cot_ctx *c, const char *key)
{
	if (c->auth == NULL)
		return NULL;
	for (ctx_var *v = c->auth->vars; v != NULL; v = v->next)
		if (strcmp(v->key, key) == 0)
			return v->value;
	return NULL;
}
