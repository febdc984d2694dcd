# HTML escaping: runtime/html.c, the one escaper of error pages, templates,
# the dev console and the live-reload script tag
build/test_html: tests/test_html.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += build/test_html
TEST_CMDS += build/test_html
