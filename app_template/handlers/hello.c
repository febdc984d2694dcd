/*
 * hello.c -- the smallest handler. Edit the text, save, and the next request
 * is answered by the new code: no restart.
 */
#include <cot.h>

static cot_result
hello(cot_ctx *c)
{
	return cot_text(c, 200, "Hello, %s!\n", cot_param(c, "name"));
}

COT_ROUTES(COT_GET("/hello/:name", hello), )
