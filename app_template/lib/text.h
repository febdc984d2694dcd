/*
 * text.h -- shared code: the functions of lib/text.c that handlers call.
 * Include it from a handler as "../lib/text.h" (or just "text.h": lib/ is
 * on the include path of cotdev run, check and export alike).
 */
#ifndef APP_TEXT_H
#define APP_TEXT_H

#include <cot.h>

/* `s` in capitals, with `times` exclamation marks; belongs to the request. */
const char *text_shout(cot_ctx *c, const char *s, int times);

#endif
