# static files: runtime/static.c (serving), runtime/static_path.c (which files)
build/test_static: tests/test_static.c $(call san_objs,runtime/static.c runtime/static_path.c \
                   runtime/accept.c runtime/apptree.c) $(HEADERS) | build
	$(call unit_test,)
TEST_BINS += build/test_static
TEST_CMDS += build/test_static
