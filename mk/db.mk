# SQLite data layer: runtime/db.c, migrations wired into cotdev, SQL checked
# at reload (devserver/sqlcheck.c), and the notes app's integration test.
RUNTIME += runtime/db.c runtime/migrate.c runtime/migrate_apply.c \
           runtime/migrate_schema.c runtime/migrate_sql.c
DEVSERVER += devserver/sqlcheck.c devserver/migrate_cmd.c
LIBS += -lsqlite3

