/*
 * test_cookie.c -- cot_cookie and cot_set_cookie (runtime/cookie.c).
 */
#include "api_test.h"
#include "t.h"

static void
test_read(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	t_header(c, "Cookie", "a=1; b = two ;c=\"quoted\";flag; d=; e=x=y;a=second");
	T_STREQ("cookie simple", cot_cookie(c, "a"), "1");
	T_STREQ("cookie trimmed", cot_cookie(c, "b"), "two");
	T_STREQ("cookie unquoted", cot_cookie(c, "c"), "quoted");
	T_STREQ("cookie empty value", cot_cookie(c, "d"), "");
	T_STREQ("cookie value with =", cot_cookie(c, "e"), "x=y");
	T_CHECK("cookie without = skipped", cot_cookie(c, "flag") == NULL);
	T_CHECK("cookie absent", cot_cookie(c, "zz") == NULL);
	T_CHECK("cookie name is case-sensitive", cot_cookie(c, "A") == NULL);
	t_free(c);

	c = t_ctx(NULL, 0);
	T_CHECK("no Cookie header", cot_cookie(c, "a") == NULL);
	t_free(c);

	c = t_ctx(NULL, 0);
	t_header(c, "Cookie", "\"=\"; ;;=;x=\"");
	T_STREQ("lone quote is kept", cot_cookie(c, "x"), "\"");
	t_free(c);
}

static void
test_write(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	T_CHECK("set default", cot_set_cookie(c, "sid", "abc123", NULL) == 0);
	T_STREQ("default attributes", t_resp_header(c, "Set-Cookie"),
	        "sid=abc123; Path=/; SameSite=Lax");
	t_free(c);

	c = t_ctx(NULL, 0);
	cot_cookie_opts o = {.path = "/app",
	                     .domain = "example.com",
	                     .max_age = 3600,
	                     .http_only = 1,
	                     .secure = 1,
	                     .same_site = COT_SAMESITE_STRICT};
	T_CHECK("set all", cot_set_cookie(c, "s", "v", &o) == 0);
	T_STREQ("all attributes", t_resp_header(c, "Set-Cookie"),
	        "s=v; Path=/app; Max-Age=3600; Domain=example.com; HttpOnly; Secure; "
	        "SameSite=Strict");
	t_free(c);

	c = t_ctx(NULL, 0);
	T_CHECK("delete", cot_set_cookie(c, "s", "", &(cot_cookie_opts){.max_age = -1}) == 0);
	T_STREQ("delete is Max-Age=0", t_resp_header(c, "Set-Cookie"),
	        "s=; Path=/; Max-Age=0; SameSite=Lax");
	t_free(c);

	c = t_ctx(NULL, 0);
	T_CHECK("None with Secure",
	        cot_set_cookie(c, "s", "v",
	                       &(cot_cookie_opts){.secure = 1, .same_site = COT_SAMESITE_NONE}) ==
	                0);
	T_STREQ("None attribute", t_resp_header(c, "Set-Cookie"),
	        "s=v; Path=/; Secure; SameSite=None");
	t_free(c);
}

static void
test_write_bad(void)
{
	struct {
		const char *name, *value;
		cot_cookie_opts o;
		const char *why;
	} cases[] = {
	        {"", "v", {0}, "empty"},
	        {"a b", "v", {0}, "byte 0x20 at 1"},
	        {"a;b", "v", {0}, "token"},
	        {"s", "x y", {0}, "byte 0x20 at 1"},
	        {"s", "a;Path=/evil", {0}, "byte 0x3b"},
	        {"s", "a\r\nX-Evil: 1", {0}, "byte 0x0d"},
	        {"s", "\"q\"", {0}, "byte 0x22"},
	        {"s", "caf\xc3\xa9", {0}, "byte 0xc3"},
	        {"s", NULL, {0}, "NULL"},
	        {"s", "v", {.path = "/a;b"}, "Path"},
	        {"s", "v", {.path = "rel"}, "Path"},
	        {"s", "v", {.domain = "a b"}, "Domain"},
	        {"s", "v", {.same_site = COT_SAMESITE_NONE}, "without Secure"},
	        {"s", "v", {.same_site = 7}, "unknown"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cot_ctx *c = t_ctx(NULL, 0);
		char name[80];
		snprintf(name, sizeof(name), "reject %zu: %s", i, cases[i].why);
		int r = cot_set_cookie(c, cases[i].name, cases[i].value, &cases[i].o);
		T_CHECK(name, r == -1 && t_resp_header(c, "Set-Cookie") == NULL &&
		                      c->reject_status == 500 &&
		                      strstr(c->reject_detail, cases[i].why) != NULL);
		if (c->reject_detail == NULL || strstr(c->reject_detail, cases[i].why) == NULL)
			printf("# got: %s\n", c->reject_detail ? c->reject_detail : "(null)");
		t_free(c);
	}
}

int
main(void)
{
	test_read();
	test_write();
	test_write_bad();
	return T_DONE();
}
