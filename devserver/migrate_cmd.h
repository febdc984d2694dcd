/*
 * migrate_cmd.h -- schema.sql meets app.db: `cotdev migrate` and the dev
 * server's apply-on-save.
 */
#ifndef COT_MIGRATE_CMD_H
#define COT_MIGRATE_CMD_H

/* `cotdev migrate [--apply [--allow-destructive]] [--db PATH] [DIR]`;
 * argv[0] is "migrate". Returns the exit status (see its --help). */
int migrate_cmd_main(int argc, char **argv);

/* Dev server: plans schema.sql against app.db in the current directory,
 * applies the safe steps at once, holds destructive ones, prints one or two
 * lines. A schema.sql error is printed and leaves the database as it was.
 * `startup`: quiet when nothing changes. Returns 0, or -1 on an error. */
int migrate_cmd_dev(const char *db_path, int startup);

#endif
