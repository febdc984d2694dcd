/*
 * test_ctx.c -- runtime/ctx.c: the request's end (ctx_on_free), the one
 * reject (ctx_reject), and request headers without a connection
 * (cot_header on c->req_headers).
 *
 * The context is linked alone with the runtime, no server: what ctx_free
 * runs is only what the files that hang state on the request registered.
 */
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "ctx.h"
#include "t.h"

static char test_ctx_order[8];
static int test_ctx_n;

static void
test_ctx_a(cot_ctx *c)
{
	(void)c;
	test_ctx_order[test_ctx_n++] = 'a';
}

/* Checks that the request's memory is still there when it runs. */
static void
test_ctx_b(cot_ctx *c)
{
	test_ctx_order[test_ctx_n++] = strcmp(cot_sprintf(c, "%s", "b"), "b") == 0 ? 'b' : '?';
}

static void
test_ctx_cleanups(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	test_ctx_n = 0;
	ctx_on_free(c, test_ctx_a);
	ctx_on_free(c, test_ctx_b);
	ctx_on_free(c, test_ctx_a); /* already there: nothing */
	T_CHECK("nothing runs before the request ends", test_ctx_n == 0);
	ctx_free(c);
	test_ctx_order[test_ctx_n] = '\0';
	T_STREQ("each cleanup runs once, newest first, with the arena alive", test_ctx_order, "ba");
	test_ctx_n = 0;
	ctx_init(c); /* the server reuses a context: the list starts empty */
	ctx_free(c);
	T_CHECK("a reused context runs none of the last request's", test_ctx_n == 0);
	free(c);

	/* the files that register: a parsed JSON body (json.c) is dropped at
	 * the end, which LeakSanitizer would report otherwise */
	c = t_ctx("{\"a\": [1, 2]}", 13);
	T_CHECK("cot_body_json parses", json_is_object(cot_body_json(c)));
	T_CHECK("json.c registered its cleanup", c->cleanups != NULL);
	t_free(c);
}

static void
test_ctx_reject(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	ctx_reject(c, 400, "first");
	ctx_reject(c, 500, "second");
	T_CHECK("the first reject wins",
	        c->reject_status == 400 && strcmp(c->reject_detail, "first") == 0);
	T_STREQ("400 is a malformed body", c->reject_code, "malformed_body");
	t_free(c);
	c = t_ctx(NULL, 0);
	ctx_reject(c, 500, "misuse");
	T_STREQ("anything else is API misuse", c->reject_code, "api_misuse");
	t_free(c);
}

static void
test_ctx_headers(void)
{
	cot_ctx *c = t_ctx(NULL, 0);
	T_CHECK("no headers: NULL", cot_header(c, "Accept") == NULL);
	t_header(c, "Content-Type", "text/plain");
	t_header(c, "X-Thing", "1");
	T_STREQ("a header by its name", cot_header(c, "X-Thing"), "1");
	T_STREQ("names are case-insensitive", cot_header(c, "content-type"), "text/plain");
	T_CHECK("an absent header is NULL", cot_header(c, "Cookie") == NULL);
	t_free(c);
}

int
main(void)
{
	test_ctx_cleanups();
	test_ctx_reject();
	test_ctx_headers();
	return T_DONE();
}
