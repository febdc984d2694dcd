/*
 * test_template_spec.c -- runs the mustache spec against runtime/template.c.
 *
 * Usage: test_template_spec DIR, where DIR holds the spec's JSON files
 * (../shared/spec/mustache/; read in place, never copied). One "ok"/"not ok"
 * line per spec test, then "mustache spec: N/N passed". Partials come from
 * each test's "partials" map, in spec mode (an unknown partial renders "").
 * Lambdas (~lambdas.json) are optional in the spec and not run.
 */
#include "t.h"

#include "../runtime/template.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *spec_files[] = {
        "comments", "delimiters", "interpolation", "inverted", "partials", "sections",
};

/* Resolve a partial from the test's "partials" object, parsing it afresh. */
static int
resolve_from_map(void *ud, const char *name, template **out, char *err, size_t errsize)
{
	json_t *src = json_object_get(ud, name);
	if (!json_is_string(src))
		return TEMPLATE_NOT_FOUND;
	*out = template_parse(name, json_string_value(src), json_string_length(src), err, errsize);
	return *out ? TEMPLATE_OK : TEMPLATE_ERROR;
}

/* Run one spec test; returns 1 if it passed. */
static int
run_test(const char *file, json_t *test)
{
	char label[512], err[512];
	const char *name = json_string_value(json_object_get(test, "name"));
	json_t *tpl = json_object_get(test, "template");
	const char *want = json_string_value(json_object_get(test, "expected"));
	template_env env = {.resolve = resolve_from_map, .ud = json_object_get(test, "partials")};
	template_buf out = {0};

	snprintf(label, sizeof label, "%s: %s", file, name ? name : "?");
	template *t = template_parse(label, json_string_value(tpl), json_string_length(tpl), err,
	                             sizeof err);
	int passed = 0;
	if (t == NULL) {
		t_failed_count++;
		printf("not ok %s: parse error: %s\n", label, err);
	} else if (template_render(t, json_object_get(test, "data"), &env, &out, err, sizeof err) <
	           0) {
		t_failed_count++;
		printf("not ok %s: render error: %s\n", label, err);
	} else {
		T_STREQ(label, out.data, want);
		passed = want != NULL && strcmp(out.data, want) == 0;
	}
	fflush(stdout);
	template_release(t);
	template_buf_free(&out);
	return passed;
}

int
main(int argc, char **argv)
{
	int passed = 0, total = 0;
	if (argc != 2) {
		fprintf(stderr, "usage: %s SPEC_DIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof spec_files / sizeof spec_files[0]; i++) {
		char path[4096];
		json_error_t jerr;
		snprintf(path, sizeof path, "%s/%s.json", argv[1], spec_files[i]);
		json_t *spec = json_load_file(path, 0, &jerr);
		json_t *tests = json_object_get(spec, "tests");
		if (!json_is_array(tests)) {
			T_CHECK(path, spec != NULL && json_is_array(tests));
			total++;
			json_decref(spec);
			continue;
		}
		size_t k;
		json_t *test;
		json_array_foreach(tests, k, test)
		{
			passed += run_test(spec_files[i], test);
			total++;
		}
		json_decref(spec);
	}
	printf("mustache spec: %d/%d passed\n", passed, total);
	return T_DONE();
}
