/*
 * api.c -- the runtime symbols handler code may call, handed to libtcc.
 *
 * Every function declared in runtime/cot.h must be listed here, or a handler
 * that calls it fails to link with "undefined symbol". tests/test_api.c
 * checks the two lists against each other.
 */
#include <stddef.h>

#include "../runtime/cot.h"
#include "compiler.h"

#define API(fn) { #fn, (const void *)fn }

const compiler_symbol compiler_api[] = {
	API(cot_param),
	API(cot_param_int),
	API(cot_query),
	API(cot_header),
	API(cot_method),
	API(cot_path),
	API(cot_body),
	API(cot_request_id),
	API(cot_text),
	API(cot_html),
	API(cot_send),
	API(cot_redirect),
	API(cot_set_header),
	API(cot_fail_at),
	API(cot_render_json),
	API(cot_sprintf),
	API(cot_alloc),
	{ NULL, NULL },
};
