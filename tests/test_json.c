/*
 * test_json.c -- cot_body_json, cot_json, cot_json_value (runtime/json.c):
 * parsing, the 400 a malformed body forces, packing and its 500.
 */
#include <jansson.h>

#include "api_test.h"
#include "t.h"

static void
test_body_json(void)
{
	cot_ctx *c = t_form_ctx("application/json", "{\"a\": [1, 2], \"s\": \"\\u00e9\"}");
	json_t *j = cot_body_json(c);
	T_CHECK("body json parsed", j != NULL && json_is_object(j));
	T_CHECK("body json cached", cot_body_json(c) == j);
	T_CHECK("body json array", json_array_size(json_object_get(j, "a")) == 2);
	T_STREQ("body json string", json_string_value(json_object_get(j, "s")), "\xc3\xa9");
	T_CHECK("body json no reject", c->reject_status == 0);
	json_incref(j); /* a handler keeping the value past the request */
	t_free(c);
	T_CHECK("kept value survives the request", j->refcount == 1);
	json_decref(j);

	c = t_form_ctx(NULL, "42");
	j = cot_body_json(c);
	T_CHECK("body json scalar", j != NULL && json_integer_value(j) == 42);
	t_free(c);
}

static void
test_body_json_bad(void)
{
	cot_ctx *c = t_form_ctx("application/json", "{\"a\": 1,\n  \"b\": [2,}");
	T_CHECK("bad json is NULL", cot_body_json(c) == NULL);
	T_CHECK("bad json forces 400", c->reject_status == 400);
	T_CHECK("bad json names line and column",
	        c->reject_detail != NULL &&
	                strstr(c->reject_detail, "line 2, column 11 (byte 20)") != NULL);
	printf("# %s\n", c->reject_detail);
	T_CHECK("bad json stays NULL", cot_body_json(c) == NULL);
	t_free(c);

	c = t_form_ctx("application/json", NULL);
	T_CHECK("empty body is NULL", cot_body_json(c) == NULL);
	T_CHECK("empty body 400 says empty",
	        c->reject_status == 400 && strstr(c->reject_detail, "empty") != NULL);
	t_free(c);

	c = t_ctx("[1,\0 2]", 7);
	T_CHECK("NUL in body is malformed", cot_body_json(c) == NULL && c->reject_status == 400);
	t_free(c);

	c = t_form_ctx(NULL, "{\"a\":1} trailing");
	T_CHECK("trailing garbage is malformed",
	        cot_body_json(c) == NULL && c->reject_status == 400);
	t_free(c);
}

static void
test_json_response(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	cot_result r = cot_json(c, 201, "{s:s, s:[i, b, n]}", "name", "bob", "v", 7, 1);
	T_CHECK("cot_json status", r.status == 201 && c->status == 201 && c->responded);
	T_STREQ("cot_json type", c->content_type, "application/json");
	T_STREQ("cot_json body", c->resp_body, "{\"name\":\"bob\",\"v\":[7,true,null]}");
	t_free(c);

	c = t_ctx(NULL, 0);
	r = cot_json(c, 200, "{s:q}", "x", 1);
	T_CHECK("bad format is 500", r.status == 500 && c->status == 500);
	T_CHECK("bad format named", c->resp_body != NULL && strstr(c->resp_body, "{s:q}") != NULL &&
	                                    strstr(c->resp_body, "'q'") != NULL);
	t_free(c);

	c = t_ctx(NULL, 0);
	r = cot_json(c, 200, "{s:s}", "x", (const char *)NULL);
	T_CHECK("NULL string argument is 500",
	        r.status == 500 && strstr(c->resp_body, "NULL") != NULL);
	t_free(c);

	c = t_ctx(NULL, 0);
	r = cot_json(c, 200, "s", "bare string");
	T_STREQ("cot_json scalar", c->resp_body, "\"bare string\"");
	t_free(c);

	c = t_ctx(NULL, 0);
	json_t *v = json_pack("[i,i]", 1, 2);
	r = cot_json_value(c, 200, v); /* steals: ASan's leak check sees a missing decref */
	T_STREQ("cot_json_value body", c->resp_body, "[1,2]");
	t_free(c);

	c = t_ctx(NULL, 0);
	r = cot_json_value(c, 200, NULL);
	T_CHECK("cot_json_value NULL is 500", r.status == 500 && c->status == 500);
	t_free(c);

	size_t x = 5;
	T_CHECK("atomic shims", cot_atomic_add_size(&x, 2) == 7 && cot_atomic_sub_size(&x, 7) == 0);
}

int
main(void)
{
	test_body_json();
	test_body_json_bad();
	test_json_response();
	return T_DONE();
}
