# hostile input (issue 14, part b): what the server refuses quietly no more.
# tests/test_refuse.c: CR/LF in response headers, SQL errors that keep their
# location, the Host allow-list and the Content-Security-Policy, against
# `cotdev run` and the exported binary.
build/test_refuse: tests/test_refuse.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread)
TEST_BINS += build/test_refuse
TEST_CMDS += build/test_refuse@build/cotdev build/test_refuse@build/cotdev-san \
             build/test_refuse@export:build/cotdev
# tests/test_sqlfresh.c: the SQL check follows the live schema (renames,
# drops applied by another process), reads included headers, counts values.
build/test_sqlfresh: tests/test_sqlfresh.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread)
TEST_BINS += build/test_sqlfresh
TEST_CMDS += build/test_sqlfresh@build/cotdev
# runtime/strict.c: request-head checks libmicrohttpd 0.9.75 does not make;
# runtime/hostallow.c: the Host allow-list (DNS rebinding)
# tests/test_strict.c: the table of malformed heads over a raw socket
build/test_strict: tests/test_strict.c tests/harness.c tests/raw.c tests/harness.h tests/raw.h \
                   tests/t.h | build
	$(call unit_test,-lcurl -lpthread)
TEST_BINS += build/test_strict
TEST_CMDS += build/test_strict@build/cotdev build/test_strict@build/cotdev-san \
             build/test_strict@export:build/cotdev
build/test_hostallow: tests/test_hostallow.c $(call san_objs,runtime/hostallow.c) $(HEADERS) | build
	$(call unit_test,)
TEST_BINS += build/test_hostallow
TEST_CMDS += build/test_hostallow
# the template's pages, live reload and overlay under the default CSP
TEST_CMDS += node@tests/browser/csp.mjs
# memory per reload (make bench-reload-mem; RELOADS=N for fewer saves)
build/bench_reload_mem: tests/bench/bench_reload_mem.c tests/harness.c tests/harness.h | build
	$(CC) $(WARN) -O2 -g tests/bench/bench_reload_mem.c tests/harness.c -o $@ -lcurl -lpthread
BENCH_BINS += build/bench_reload_mem
RELOADS ?= 10000
.PHONY: bench-reload-mem
bench-reload-mem: test-deps build/cotdev build/bench_reload_mem
	./build/bench_reload_mem build/cotdev $(RELOADS)
# crash.c's per-thread alternate stack is freed with its thread (no ASan:
# it brings its own alternate stack, which crash.c then keeps)
build/test_altstack: tests/test_altstack.c $$(call opt_objs,$$(RUNTIME)) $(HEADERS) | build
	$(CC) $(WARN) -O1 -g -Iruntime tests/test_altstack.c $(call opt_objs,$(RUNTIME)) -o $@ $(LIBS)
TEST_BINS += build/test_altstack
TEST_CMDS += build/test_altstack
# retired module structs are freed under concurrent lookups (router_quiet)
build/test_quiet: tests/test_quiet.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += build/test_quiet
TEST_CMDS += build/test_quiet
