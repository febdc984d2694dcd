# The PostgreSQL planner's parts beside runtime/pgschema.c (mk/postgres.mk),
# and sqldef's PostgreSQL cases (../shared/spec/psqldef) as convergence
# tests for it against a private cluster (tests/pg.c).
RUNTIME += runtime/pgschema_read.c runtime/pgschema_catalog.c runtime/pgschema_plan.c \
           runtime/pgschema_objects.c
PGSCHEMA_SRC = runtime/pgschema.c runtime/pgschema_read.c runtime/pgschema_catalog.c \
               runtime/pgschema_plan.c runtime/pgschema_objects.c
build/test_psqldef: tests/test_psqldef.c tests/pg.c tests/pg.h $(PGSCHEMA_SRC) $(MIGRATE_SRC) runtime/pgschema.h runtime/pgschema_internal.h | build
	$(CC) $(WARN) -I$(PG_INCLUDE) -O1 -g $(SAN) -Iruntime -Itests tests/test_psqldef.c tests/pg.c $(PGSCHEMA_SRC) $(MIGRATE_SRC) -o $@ -lpq -lsqlite3 -lyaml
TEST_BINS += build/test_psqldef
TEST_CMDS += build/test_psqldef@$(SPEC_DIR)/psqldef
