# sqldef's PostgreSQL cases (../shared/spec/psqldef) as convergence tests
# for the PostgreSQL planner (runtime/pgschema*.c) against a private cluster
# (tests/pg.c; postgresql-15 and libpq-dev come from mk/postgres.mk).
PGSCHEMA_SRC = $(wildcard runtime/pgschema*.c)
build/test_psqldef: tests/test_psqldef.c tests/psqldef/tests_cot.yml tests/pg.c tests/pg.h $(PGSCHEMA_SRC) $(MIGRATE_SRC) runtime/pgschema.h runtime/pgschema_internal.h | build
	$(CC) $(WARN) -I$(PG_INCLUDE) -O1 -g $(SAN) -Iruntime -Itests tests/test_psqldef.c tests/pg.c $(PGSCHEMA_SRC) $(MIGRATE_SRC) -o $@ -lpq -lsqlite3 -lyaml
TEST_BINS += build/test_psqldef
TEST_CMDS += build/test_psqldef@$(SPEC_DIR)/psqldef@tests/psqldef
