# Several processes, one database: the health endpoint (runtime/health.c),
# drain at SIGTERM, migrations planned under the database's write lock, and
# tests/test_cluster.c, which starts exported binaries together on SQLite
# and on a private PostgreSQL (tests/node.c: nodes started at one instant;
# tests/pg.c: the cluster).

build/test_cluster: tests/test_cluster.c tests/node.c tests/pg.c tests/build_app.c tests/raw.c \
                    tests/node.h tests/pg.h tests/build_app.h tests/raw.h tests/t.h | build
	$(call unit_test,-lsqlite3 -lpq)
TEST_BINS += build/test_cluster
TEST_CMDS += build/test_cluster@build/cotdev

# The scale test (tests/test_scale.c) puts a private HAProxy in front of
# three exported binaries sharing a private PostgreSQL.
TEST_PACKAGES += haproxy
build/test_scale: tests/test_scale.c tests/node.c tests/haproxy.c tests/pg.c tests/build_app.c \
                  tests/raw.c tests/node.h tests/haproxy.h tests/pg.h tests/build_app.h \
                  tests/raw.h tests/t.h | build
	$(call unit_test,-lpq -lpthread)
TEST_BINS += build/test_scale
TEST_CMDS += build/test_scale@build/cotdev

# make bench-cluster: GET /notes/:id on SQLite, on PostgreSQL, behind
# HAProxy with 1 and 3 nodes, beside pgbench's round trips, in one run
# (tests/bench/bench_cluster.sh under a private PostgreSQL: build/pg_run).
TEST_COMMAND_PACKAGES += python3:python3
.PHONY: bench-cluster
bench-cluster: test-deps build/cotdev build/pg_run
	build/pg_run tests/bench/bench_cluster.sh
