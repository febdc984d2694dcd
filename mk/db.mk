# SQLite data layer: runtime/db.c, rows as JSON (runtime/db_json.c),
# migrations wired into cotdev, SQL checked at reload (devserver/sqlcheck.c),
# and the notes app's integration test.
LIBS += -lsqlite3

build/test_db: tests/test_db.c tests/db_cases.h $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
build/test_sqlcheck: tests/test_sqlcheck.c $(call san_objs,devserver/sqlcheck.c devserver/file.c) \
                     $(HEADERS) | build
	$(call unit_test,-lsqlite3)
TEST_BINS += build/test_db build/test_sqlcheck
TEST_CMDS += build/test_db build/test_sqlcheck
build/test_notes: tests/test_notes.c tests/harness.c tests/harness.h | build
	$(call unit_test,-lcurl -lpthread)
TEST_BINS += build/test_notes
TEST_CMDS += build/test_notes@build/cotdev build/test_notes@build/cotdev-san \
             build/test_notes@export:build/cotdev
