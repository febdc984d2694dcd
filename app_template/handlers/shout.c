/*
 * shout.c -- a handler that calls shared code from lib/ (lib/text.c).
 * GET /shout/hello answers "HELLO!!!".
 */
#include <cot.h>

#include "../lib/text.h"

static cot_result
shout(cot_ctx *c)
{
	return cot_text(c, 200, "%s\n", text_shout(c, cot_param(c, "word"), 3));
}

COT_ROUTES(COT_GET("/shout/:word", shout), )
