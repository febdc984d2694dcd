# declarative migrations: runtime/migrate*.c and the sqldef conformance cases
TEST_PACKAGES += libyaml-dev
MIGRATE_SRC = $(wildcard runtime/migrate*.c)
build/test_migrate: tests/test_migrate.c $(MIGRATE_SRC) runtime/migrate.h | build
	$(call unit_test,-lsqlite3)
build/test_sqldef: tests/test_sqldef.c tests/spec_yaml.c $(MIGRATE_SRC) runtime/migrate.h \
                   tests/spec_yaml.h | build
	$(call unit_test,-lsqlite3 -lyaml)
TEST_BINS += build/test_migrate build/test_sqldef
TEST_CMDS += build/test_migrate build/test_sqldef@$(SPEC_DIR)/sqldef
