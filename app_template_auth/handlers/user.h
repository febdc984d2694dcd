/*
 * user.h -- the signed-in user, for every handler (cotdev new --auth).
 *
 * handlers/00_user.c (middleware) finds the user of each request -- from
 * the session cookie for pages, from a bearer token for API clients -- and
 * stores their row with cot_set(c, "user", row). Handlers read it here.
 */
#ifndef USER_H
#define USER_H

#include <cot.h>
#include <jansson.h> /* after cot.h: cot.h makes it work under tcc */

/* The signed-in user's row (id, email), or NULL. */
static inline cot_row *
current_user(cot_ctx *c)
{
	return cot_get(c, "user");
}

/* A page's data with "me" ({id, email}) for the layout's navigation. */
static inline json_t *
page_data(cot_ctx *c, const char *title)
{
	json_t *page = json_pack("{s:s}", "title", title);
	cot_row *u = current_user(c);
	if (u != NULL)
		json_object_set_new(page, "me", json_pack("{s:I, s:s}", "id",
		                    (json_int_t)cot_row_int(u, "id"), "email", cot_row_text(u, "email")));
	return page;
}

/* "me": {id, email} into an object being written with cot_jw (the layout's
 * navigation shows it); nothing when no one is signed in. */
static inline void
put_me(cot_ctx *c, cot_jw *j)
{
	cot_row *u = current_user(c);
	if (u == NULL)
		return;
	cot_jw_put_obj(j, "me");
	cot_jw_fields(j, u); /* id, email */
	cot_jw_end(j);
}

#endif
