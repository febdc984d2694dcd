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

#include <stdio.h>

struct migrate_plan;

/* The body of `cotdev migrate` once in the app directory: plans schema.sql
 * against db_path, prints the plan to out, applies it when asked (with the
 * destructive steps when asked). With expect_id != 0 (the dev console's
 * apply button) a plan whose migrate_cmd_plan_id differs is refused with 4.
 * Returns the command's exit status. */
int migrate_cmd_run(const char *db_path, int apply, int destructive, unsigned long long expect_id,
                    FILE *out, FILE *errout);

/* A fingerprint of the plan's SQL: the plan the developer saw is the plan
 * that runs. */
unsigned long long migrate_cmd_plan_id(const struct migrate_plan *p);

#endif
