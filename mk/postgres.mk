# PostgreSQL behind the cot_db API (runtime/db_pg.c, libpq): --db
# postgres://... or DATABASE_URL. Its tests start a private cluster
# (tests/pg.c: initdb into a temp dir as the postgres user, a free port,
# the socket in the temp dir) and stop it; the binaries are in PG_BIN.
PG_INCLUDE = /usr/include/postgresql
PG_BIN = /usr/lib/postgresql/15/bin
PACKAGES += libpq-dev
TEST_PACKAGES += postgresql-15
WARN += -I$(PG_INCLUDE)
LIBS += -lpq
DEFS += -DCOT_EXPORT_CFLAGS='"-I$(PG_INCLUDE)"'

build/test_db_pg: tests/test_db_pg.c tests/pg.c tests/raw.c tests/pg.h tests/raw.h \
                  tests/db_cases.h $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += build/test_db_pg
TEST_CMDS += build/test_db_pg
build/pg_run: tests/pg_run.c tests/pg.c tests/raw.c tests/pg.h tests/raw.h | build
	$(call unit_test,)
TEST_BINS += build/pg_run
TEST_CMDS += build/pg_run@build/test_notes@build/cotdev \
             build/pg_run@build/test_notes@export:build/cotdev

# tests/pg.c itself: a private cluster is stopped and removed however its
# test process ends (exit, SIGTERM, abort(), SIGKILL).
build/test_pg: tests/test_pg.c tests/pg.c tests/raw.c tests/pg.h tests/raw.h tests/t.h | build
	$(call unit_test,)
TEST_BINS += build/test_pg
TEST_CMDS += build/test_pg
