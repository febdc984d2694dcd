/*
 * 00_user.c -- who is asking: the "current user" middleware.
 *
 * Runs before every handler (file names order middleware: 00_ comes first).
 * A browser is signed in by its session cookie (handlers/account.c stores
 * user_id there at log-in); an API client sends "Authorization: Bearer
 * TOKEN" with a token from POST /api/token. Either way the user's row goes
 * into cot_set(c, "user", ...), where user.h's current_user() finds it, so
 * no handler reads cookies or tokens itself.
 */
#include <cot.h>
#include <jansson.h> /* after cot.h: cot.h makes it work under tcc */
#include <stdlib.h>

static cot_result
find_user(cot_ctx *c)
{
	long long id = 0;
	const char *token = cot_bearer(c);
	if (token != NULL) {
		const char *why = NULL;
		json_t *claims = cot_jwt_verify(c, token, &why);
		if (claims == NULL)
			return cot_fail(c, 401,
			                "the bearer token was refused: %s; get a new one "
			                "from POST /api/token",
			                why);
		id = (long long)json_integer_value(json_object_get(claims, "uid"));
	} else {
		const char *sid = cot_session_get(c, "user_id");
		id = sid ? atoll(sid) : 0;
	}
	if (id > 0)
		cot_set(c, "user", cot_db_one(c, "SELECT id, email FROM users WHERE id = ?", id));
	return cot_next(c);
}

COT_MIDDLEWARE(find_user, NULL)
