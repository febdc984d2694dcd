# examples/techempower: the six TechEmpower test types as a cot app, checked
# against the benchmark's rules on the dev server and the export
# (tests/test_techempower.c); make bench-techempower measures them
# (tests/bench/bench_techempower.sh, not part of make test).
build/test_techempower: tests/test_techempower.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -ljansson -lsqlite3)
TEST_BINS += build/test_techempower
TEST_CMDS += build/test_techempower@build/cotdev build/test_techempower@export:build/cotdev

build/te_sqlite_loop: tests/bench/te_sqlite_loop.c | build
	$(CC) $(WARN) -O2 $< -o $@ -lsqlite3
BENCH_BINS += build/te_sqlite_loop
.PHONY: bench-techempower
bench-techempower: test-deps build/cotdev build/bare_hello build/te_sqlite_loop
	$(call install_missing,sqlite3,)
	tests/bench/bench_techempower.sh
