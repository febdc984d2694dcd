# The template app's pages (app_template/templates, static/app.css): layout,
# escaping, form errors, the app's 404, over HTTP against `cotdev run`.
build/test_pages: tests/test_pages.c tests/harness.c tests/harness.h | build
	$(call unit_test,-lcurl -lpthread)
TEST_BINS += build/test_pages
TEST_CMDS += build/test_pages@build/cotdev build/test_pages@export:build/cotdev
