# The SQL check on PostgreSQL (devserver/sqlcheck_pg.c): `cotdev run --db
# postgres://...` prepares handler SQL on the live database at each reload
# and again when its schema changes; `cotdev check` and `cotdev export` with
# --db postgres://... (or $DATABASE_URL) prepare it against schema.sql loaded
# into a scratch schema that is rolled back.
# tests/test_sqlfresh.c against PostgreSQL: its cases with PostgreSQL's
# messages, plus SQL only SQLite takes, refused at reload and by check.
TEST_CMDS += build/pg_run@build/test_sqlfresh@build/cotdev
# tests/test_parity.c with both servers on one private PostgreSQL: the dev
# server and the export answer alike there too.
TEST_CMDS += build/pg_run@build/test_parity@build/cotdev
# tests/test_sqlcheck_pg.c: sqlcheck_pg.c against a private cluster: lines
# through the placeholder rewrite, the scratch schema rolled back, the live
# schema's version.
build/test_sqlcheck_pg: tests/test_sqlcheck_pg.c $(call san_objs,devserver/sqlcheck.c \
                        devserver/sqlcheck_pg.c devserver/file.c) tests/pg.c tests/raw.c \
                        tests/pg.h tests/raw.h $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += build/test_sqlcheck_pg
TEST_CMDS += build/test_sqlcheck_pg
