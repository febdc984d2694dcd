# hostile input (issue 14, part b): what the server refuses quietly no more.
# tests/test_guard.c: CR/LF in response headers, SQL errors that keep their
# location, the Host allow-list and the Content-Security-Policy, against
# `cotdev run` and the exported binary.
build/test_guard: tests/test_guard.c tests/harness.c tests/harness.h tests/t.h | build
	$(CC) $(WARN) -O1 -g $(SAN) $< tests/harness.c -o $@ -lcurl -lpthread
TEST_BINS += build/test_guard
TEST_CMDS += build/test_guard@build/cotdev build/test_guard@build/cotdev-san \
             build/test_guard@export:build/cotdev
# tests/test_sqlfresh.c: the SQL check follows the live schema (renames,
# drops applied by another process), reads included headers, counts values.
build/test_sqlfresh: tests/test_sqlfresh.c tests/harness.c tests/harness.h tests/t.h | build
	$(CC) $(WARN) -O1 -g $(SAN) $< tests/harness.c -o $@ -lcurl -lpthread
TEST_BINS += build/test_sqlfresh
TEST_CMDS += build/test_sqlfresh@build/cotdev
