# mustache templates: runtime/template.c (parse, render), runtime/template_cache.c
# (templates by name) and the mustache spec
TEMPLATE_SRC = runtime/template.c runtime/template_cache.c
TEMPLATE_HDR = runtime/template.h runtime/template_internal.h
build/test_template: tests/test_template.c $(TEMPLATE_SRC) $(TEMPLATE_HDR) | build
	$(call unit_test,-ljansson -lpthread)
build/test_template_spec: tests/test_template_spec.c $(TEMPLATE_SRC) $(TEMPLATE_HDR) | build
	$(call unit_test,-ljansson -lpthread)
TEST_BINS += build/test_template build/test_template_spec
TEST_CMDS += build/test_template build/test_template_spec@$(SPEC_DIR)/mustache
