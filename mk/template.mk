# mustache templates: runtime/template.c and the mustache spec
build/test_template: tests/test_template.c runtime/template.c runtime/template.h | build
	$(CC) $(WARN) -O1 -g $(SAN) tests/test_template.c runtime/template.c -o $@ -ljansson -lpthread
build/test_template_spec: tests/test_template_spec.c runtime/template.c runtime/template.h | build
	$(CC) $(WARN) -O1 -g $(SAN) tests/test_template_spec.c runtime/template.c -o $@ -ljansson -lpthread
TEST_BINS += build/test_template build/test_template_spec
TEST_CMDS += build/test_template build/test_template_spec@../shared/spec/mustache
