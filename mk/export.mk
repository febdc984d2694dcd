# production export: devserver/export*.c (export.c lists the steps), runtime/app_main.c, runtime/embed.c,
# tests/test_export.c and the HTTP benchmark (make bench-http).
PACKAGES  += binutils
TEST_PACKAGES += wrk bc valgrind
# The export compiles exactly the runtime the dev server is built from and
# links the same libraries (never DEV_LIBS); both are baked into cotdev.
DEFS      += -DCOT_EXPORT_RUNTIME='"$(RUNTIME)"' -DCOT_EXPORT_LIBS='"$(LIBS)"'
# Both lists are baked into the dev tool's objects; build/compile.flags (see
# the Makefile) rebuilds them when either changes.

build/test_export: tests/test_export.c tests/build_app.c tests/raw.c tests/build_app.h tests/raw.h \
                   tests/t.h | build
	$(call unit_test,)
TEST_BINS += build/test_export
TEST_CMDS += build/test_export@build/cotdev

build/bare_hello: tests/bench/bare_hello.c | build
	$(CC) $(WARN) -O2 tests/bench/bare_hello.c -o $@ -lmicrohttpd

.PHONY: bench-http bench-instructions
# Instructions per request under callgrind: ratios that do not move with load.
bench-instructions: test-deps build/cotdev build/bare_hello
	tests/bench/bench_instructions.sh

bench-http: test-deps build/cotdev build/bare_hello
	$(call install_missing,nginx-light,)
	tests/bench/bench_http.sh
