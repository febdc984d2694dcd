# Several processes, one database: the health endpoint (runtime/health.c),
# drain at SIGTERM, migrations planned under the database's write lock, and
# tests/test_cluster.c, which starts exported binaries together.
RUNTIME += runtime/health.c

build/test_cluster: tests/test_cluster.c tests/t.h | build
	$(CC) $(WARN) -O1 -g $(SAN) tests/test_cluster.c -o $@ -lsqlite3
TEST_BINS += build/test_cluster
TEST_CMDS += build/test_cluster@build/cotdev
