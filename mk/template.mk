# mustache templates: runtime/template.c (parse, render), runtime/template_cache.c
# (templates by name) and the mustache spec; the tests link the shared
# runtime objects like every other unit test.
build/test_template: tests/test_template.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
build/test_template_spec: tests/test_template_spec.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += build/test_template build/test_template_spec
TEST_CMDS += build/test_template build/test_template_spec@$(SPEC_DIR)/mustache
