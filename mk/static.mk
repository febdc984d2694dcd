# static files: runtime/static.c
build/test_static: tests/test_static.c runtime/static.c runtime/static.h | build
	$(CC) $(WARN) -O1 -g $(SAN) tests/test_static.c runtime/static.c -o $@
TEST_BINS += build/test_static
TEST_CMDS += build/test_static
