# static files: runtime/static.c (serving), runtime/static_path.c (which files)
build/test_static: tests/test_static.c runtime/static.c runtime/static_path.c runtime/accept.c \
                   runtime/apptree.c runtime/static.h runtime/static_path.h runtime/apptree.h | build
	$(call unit_test,)
TEST_BINS += build/test_static
TEST_CMDS += build/test_static
