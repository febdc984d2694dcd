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
	API(cot_next),
	API(cot_param),
	API(cot_param_int),
	API(cot_query),
	API(cot_query_int),
	API(cot_header),
	API(cot_method),
	API(cot_path),
	API(cot_body),
	API(cot_request_id),
	API(cot_text),
	API(cot_html),
	API(cot_send),
	API(cot_no_content),
	API(cot_file),
	API(cot_redirect),
	API(cot_set_header),
	API(cot_fail_at),
	API(cot_vfail_at),
	API(cot_render_json),
	API(cot_render_row),
	API(cot_render_rows),
	API(cot_spawn_at),
	API(cot_sprintf),
	API(cot_vsprintf),
	API(cot_alloc),
	API(cot_form),
	API(cot_form_file),
	API(cot_form_error),
	API(cot_body_json),
	API(cot_json),
	API(cot_json_value),
	API(cot_cookie),
	API(cot_set_cookie),
	API(cot_atomic_add_size),
	API(cot_atomic_sub_size),
	API(cot_db_one_at),
	API(cot_db_all_at),
	API(cot_db_exec_at),
	API(cot_db_last_id),
	API(cot_db_changes),
	API(cot_db_begin),
	API(cot_db_commit),
	API(cot_db_rollback),
	API(cot_db_failed),
	API(cot_row_text),
	API(cot_row_int),
	API(cot_row_double),
	API(cot_row_is_null),
	API(cot_row_blob),
	API(cot_rows_count),
	API(cot_rows_get),
	API(cot_row_json),
	API(cot_rows_json),
	API(cot_db_json_row),
	API(cot_db_json_rows),
	API(cot_fail_fields),
	API(cot_field_error),
	API(cot_field_errors),
	API(cot_response_error),
	API(cot_db_catch),
	{ NULL, NULL },
};
