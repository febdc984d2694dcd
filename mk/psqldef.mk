# sqldef's PostgreSQL cases (../shared/spec/psqldef) as convergence tests
# for the PostgreSQL planner (runtime/pgschema*.c) against a private cluster
# (tests/pg.c; postgresql-15 and libpq-dev come from mk/postgres.mk).
PGSCHEMA_SRC = $(wildcard runtime/pgschema*.c)
build/test_psqldef: tests/test_psqldef.c tests/pg.c tests/raw.c tests/spec_yaml.c tests/pg.h \
                    tests/raw.h tests/spec_yaml.h $(PGSCHEMA_SRC) $(MIGRATE_SRC) \
                    runtime/pgschema.h runtime/pgschema_internal.h | build
	$(call unit_test,-lpq -lsqlite3 -lyaml,-I$(PG_INCLUDE))
TEST_BINS += build/test_psqldef
TEST_CMDS += build/test_psqldef@$(SPEC_DIR)/psqldef@tests/psqldef
