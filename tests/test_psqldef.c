/*
 * test_psqldef.c -- sqldef's PostgreSQL cases as convergence tests for
 * cot's PostgreSQL planner (runtime/pgschema*.c), against a real server.
 *
 * Usage: test_psqldef DIR..., where DIR is ../shared/spec/psqldef (and
 * tests/psqldef, cot's own cases in the same format, group "cot"): the
 * YAML files are read from there at run time (libyaml), never copied. A
 * private PostgreSQL 15 cluster is started (tests/pg.c) with two
 * databases: "live", migrated by cot, and "want", where `desired` is
 * loaded directly. For each case, after resetting both:
 *   1. `current` is loaded into live (one PQexec, or psql when a statement
 *      cannot run in a transaction), one row is inserted into each table
 *      that takes it, and live's catalog is read (snapshot_sql);
 *   2. pgschema_sync plans and applies `desired` (destructive steps
 *      allowed, unless the case says enable_drop: false -- then the first
 *      run must leave nothing but held steps, and a second run with them
 *      allowed follows, as test_sqldef does for SQLite);
 *   3. live's and want's catalogs are compared line by line (columns as a
 *      set: PostgreSQL's ADD COLUMN appends and cannot place a column), a
 *      second plan must be empty, and every table still there must still
 *      have its rows.
 * Each case lands in one column:
 *   converged  the catalogs are equal, the second plan is empty, no row lost;
 *   refused    pgschema_sync returned an error that is not a failure while
 *              applying its plan, and live's catalog is unchanged;
 *   wrong      anything else: a different schema, a non-empty second
 *              plan, lost rows, an error while applying, or a refusal that
 *              changed something;
 *   n/a        PostgreSQL 15 itself cannot build `current` or `desired`
 *              (cases for newer servers...): not counted in percentages.
 * sqldef's `up`/`down` DDL is its own choice and is not compared. The
 * test fails when any case is wrong, or when a target group converges
 * under 80% of its applicable cases. psql writes only into the cluster's
 * temp dir. PSQLDEF_GROUP, PSQLDEF_CASE pick cases; PSQLDEF_VERBOSE
 * prints each plan; PSQLDEF_NO_ROWS leaves the tables empty.
 */
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

#include "pg.h"
#include "pgschema.h"
#include "spec_yaml.h"
#include "t.h"

#define NGROUPS 16

struct group {
	char name[64];
	int converged, refused, wrong, na;
};

static const char *const targets[] = {"cot",     "tables",   "indices",     "constraints", "rename",
                                      "fk_deps", "identity", "enable_drop", NULL};

static pg_cluster cluster;
static PGconn *live, *want;
static char live_url[600], want_url[600];
static struct group groups[NGROUPS];
static int ngroups;
static int verbose;

/* ---- files and processes ------------------------------------------- */

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;
	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	n = (long)fread(s, 1, (size_t)n, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

/* Runs argv with stdout and stderr into out (a file in the temp dir);
 * returns the exit status. */
static int
run(char *const argv[], const char *out)
{
	pid_t pid = fork();
	int st;
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *
pg_bin(void)
{
	const char *b = getenv("PG_BIN");
	return b && *b ? b : "/usr/lib/postgresql/15/bin";
}

/* Loads sql into the database at url with psql (each statement on its own,
 * as a user would); NULL on success, else psql's message (malloc'd). */
static char *
psql_run(const char *url, const char *sql)
{
	char file[300], out[300], bin[300];
	snprintf(file, sizeof file, "%s/case.sql", cluster.dir);
	snprintf(out, sizeof out, "%s/psql.out", cluster.dir);
	snprintf(bin, sizeof bin, "%s/psql", pg_bin());
	write_file(file, sql ? sql : "");
	char *argv[] = {bin,  "-X",        "-q", "-v", "ON_ERROR_STOP=1",
	                "-d", (char *)url, "-f", file, NULL};
	if (run(argv, out) == 0)
		return NULL;
	char *msg = read_file(out);
	for (char *c = msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return msg;
}

static void reset(PGconn *pg);

/* Loads sql into db: in one PQexec when it can (fast), else -- CREATE
 * INDEX CONCURRENTLY cannot run in the implicit transaction of several
 * statements -- with psql, whose message is the verdict. */
static char *
psql_load(PGconn *db, const char *url, const char *sql)
{
	PGresult *r = PQexec(db, sql ? sql : "");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ||
	         PQresultStatus(r) == PGRES_EMPTY_QUERY;
	PQclear(r);
	if (ok)
		return NULL;
	reset(db);
	return psql_run(url, sql);
}

/* One line per schema object of every user schema, sorted: what the
 * comparison sees. Columns are keyed by table and name (their order is
 * not compared: PostgreSQL's ADD COLUMN appends); constraints, indexes,
 * sequences, views, types, functions, triggers, policies, comments,
 * privileges and extensions by their definitions as PostgreSQL prints
 * them. cot's own history table is left out. */
static const char snapshot_sql[] =
        "WITH ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
        "  AND nspname <> 'information_schema'), "
        "rel AS (SELECT c.*, ns.nspname FROM pg_class c JOIN ns ON ns.oid = c.relnamespace "
        "  WHERE c.relname NOT LIKE '\\_cot\\_migrations%') "
        "SELECT 'schema ' || nspname FROM ns "
        "UNION ALL SELECT format('relation %s.%s kind=%s persistence=%s options=%s rls=%s/%s "
        "acl=%s',"
        "  nspname, relname, relkind, relpersistence, reloptions, relrowsecurity, "
        "  relforcerowsecurity, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(relacl) x "
        "  WHERE NOT x = ANY (acldefault('r', relowner)))) "
        "  FROM rel WHERE relkind IN ('r','v','m','p','f','c') "
        "UNION ALL SELECT format('view %s.%s %s', nspname, relname, pg_get_viewdef(oid)) "
        "  FROM rel WHERE relkind IN ('v','m') "
        "UNION ALL SELECT format('column %s.%s.%s %s notnull=%s default=%s identity=%s "
        "generated=%s collation=%s acl=%s', r.nspname, r.relname, a.attname, "
        "  format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), "
        "  a.attidentity, a.attgenerated, CASE WHEN a.attcollation <> t.typcollation "
        "  THEN a.attcollation::regcollation::text END, a.attacl) "
        "  FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 "
        "  AND NOT a.attisdropped JOIN pg_type t ON t.oid = a.atttypid "
        "  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "  WHERE r.relkind IN ('r','p','f','v','m','c') "
        "UNION ALL SELECT format('constraint %s.%s %s %s', r.nspname, r.relname, k.conname, "
        "  pg_get_constraintdef(k.oid)) FROM pg_constraint k JOIN rel r ON r.oid = k.conrelid "
        "UNION ALL SELECT format('index %s.%s %s', r.nspname, r.relname, "
        "  pg_get_indexdef(i.indexrelid)) FROM pg_index i JOIN rel r ON r.oid = i.indrelid "
        "UNION ALL SELECT format('sequence %s.%s start=%s inc=%s min=%s max=%s cache=%s cycle=%s "
        "type=%s owned=%s', r.nspname, r.relname, s.seqstart, s.seqincrement, s.seqmin, "
        "  s.seqmax, s.seqcache, s.seqcycle, s.seqtypid::regtype, "
        "  (SELECT format('%s.%s', dc.relname, da.attname) FROM pg_depend dp "
        "   JOIN pg_class dc ON dc.oid = dp.refobjid JOIN pg_attribute da ON "
        "   da.attrelid = dp.refobjid AND da.attnum = dp.refobjsubid WHERE dp.objid = r.oid "
        "   AND dp.classid = 'pg_class'::regclass AND dp.deptype IN ('a','i'))) "
        "  FROM pg_sequence s JOIN rel r ON r.oid = s.seqrelid "
        "UNION ALL SELECT format('type %s.%s %s %s', ns.nspname, t.typname, t.typtype, "
        "  CASE t.typtype WHEN 'e' THEN (SELECT string_agg(quote_literal(enumlabel), ',' "
        "  ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid) WHEN 'd' THEN "
        "  format_type(t.typbasetype, t.typtypmod) || ' notnull=' || t.typnotnull || "
        "  ' default=' || coalesce(t.typdefault, '') END) FROM pg_type t "
        "  JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype IN ('e','d','r','m') "
        "UNION ALL SELECT format('domain constraint %s %s', k.conname, "
        "  pg_get_constraintdef(k.oid)) FROM pg_constraint k JOIN ns ON ns.oid = k.connamespace "
        "  WHERE k.contypid <> 0 "
        "UNION ALL SELECT format('function %s', pg_get_functiondef(p.oid)) FROM pg_proc p "
        "  JOIN ns ON ns.oid = p.pronamespace WHERE p.prokind IN ('f','p') "
        "  AND NOT EXISTS (SELECT 1 FROM pg_depend WHERE objid = p.oid AND deptype = 'e') "
        "UNION ALL SELECT format('trigger %s', pg_get_triggerdef(g.oid)) FROM pg_trigger g "
        "  JOIN rel r ON r.oid = g.tgrelid WHERE NOT g.tgisinternal "
        "UNION ALL SELECT format('policy %s.%s %s %s %s %s %s %s', schemaname, tablename, "
        "  policyname, permissive, roles, cmd, qual, with_check) FROM pg_policies "
        "UNION ALL SELECT format('comment %s %s %s', d.classoid::regclass, "
        "  pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description) "
        "  FROM pg_description d WHERE d.objoid >= 16384 "
        "UNION ALL SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql' "
        "ORDER BY 1";

/* The schema of db as one string (see snapshot_sql; malloc'd). */
static char *
snapshot(PGconn *db)
{
	PGresult *r = PQexec(db, snapshot_sql);
	size_t len = 1;
	char *out, *o;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		char *e = NULL;
		if (asprintf(&e, "(snapshot failed: %s)", PQerrorMessage(db)) < 0)
			abort();
		PQclear(r);
		return e;
	}
	for (int i = 0; i < PQntuples(r); i++)
		len += strlen(PQgetvalue(r, i, 0)) + 1;
	out = o = malloc(len);
	*o = '\0';
	for (int i = 0; i < PQntuples(r); i++)
		o += sprintf(o, "%s\n", PQgetvalue(r, i, 0));
	PQclear(r);
	return out;
}

/* ---- rows ---------------------------------------------------------- */

/* A value for every column that has no default, by type category; the
 * INSERT of a table whose constraints reject it is skipped. */
static const char rows_sql[] =
        "SELECT c.relname, string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum), "
        "string_agg(CASE WHEN t.typtype = 'e' THEN (SELECT quote_literal(enumlabel) FROM pg_enum "
        "  WHERE enumtypid = t.oid ORDER BY enumsortorder LIMIT 1) ELSE CASE t.typcategory "
        "  WHEN 'N' THEN '1' WHEN 'S' THEN '''x''' WHEN 'B' THEN 'true' WHEN 'D' THEN "
        "  '''2020-01-02''' WHEN 'A' THEN '''{}''' WHEN 'T' THEN '''1 day''' WHEN 'I' THEN "
        "  '''127.0.0.1''' ELSE CASE format_type(a.atttypid, NULL) WHEN 'uuid' THEN "
        "  '''00000000-0000-0000-0000-000000000001''' WHEN 'jsonb' THEN '''{}''' WHEN 'json' "
        "  THEN '''{}''' ELSE 'NULL' END END END || '::' || format_type(a.atttypid, a.atttypmod), "
        "  ', ' ORDER BY a.attnum) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "JOIN pg_type t ON t.oid = a.atttypid WHERE n.nspname = 'public' AND c.relkind = 'r' "
        "AND a.attgenerated = '' AND a.attidentity <> 'a' AND NOT a.atthasdef "
        "GROUP BY c.oid, c.relname ORDER BY c.oid";

struct table_rows {
	char name[128];
	long long n;
};

static long long
count_rows(PGconn *db, const char *table)
{
	char *sql = NULL;
	long long n = -1;
	if (asprintf(&sql, "SELECT count(*) FROM \"%s\"", table) < 0)
		abort();
	PGresult *r = PQexec(db, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	free(sql);
	return n;
}

/* One row into every table of live that takes one; returns how many
 * tables were read into t (their row counts). */
static int
insert_rows(struct table_rows *t, int max)
{
	PGresult *r = PQexec(live, rows_sql);
	int n = 0;
	for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
		char *sql = NULL;
		if (asprintf(&sql, "INSERT INTO \"%s\" (%s) VALUES (%s)", PQgetvalue(r, i, 0),
		             PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)) < 0)
			abort();
		PQclear(PQexec(live, sql));
		free(sql);
	}
	PQclear(r);
	r = PQexec(live, "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
	                 "c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'");
	for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r) && n < max; i++) {
		snprintf(t[n].name, sizeof t[n].name, "%s", PQgetvalue(r, i, 0));
		t[n].n = count_rows(live, t[n].name);
		n++;
	}
	PQclear(r);
	return n;
}

/* The name desired gives table old with "@renamed from=old" on its
 * CREATE TABLE line (the simple way, as test_sqldef.c does), else old. */
static void
renamed_to(const char *desired, const char *old, char *out, size_t size)
{
	const char *p = desired ? desired : "";
	snprintf(out, size, "%s", old);
	while ((p = strstr(p, "@renamed from=")) != NULL) {
		const char *v = p + 14, *ls = p, *w;
		p += 14;
		if (*v == '"')
			v++;
		size_t vn = strcspn(v, "\" \n*");
		while (ls > desired && ls[-1] != '\n')
			ls--;
		if (strncasecmp(ls, "CREATE TABLE", 12) != 0 || vn != strlen(old) ||
		    strncmp(v, old, vn) != 0)
			continue;
		w = ls + 12 + strspn(ls + 12, " \t\"");
		snprintf(out, size, "%.*s", (int)strcspn(w, " \t\"("), w);
	}
}

/* "" when every table that is still there kept its rows, else why. */
static void
check_rows(const char *desired, const struct table_rows *t, int n, char *why, size_t size)
{
	for (int i = 0; i < n && !why[0]; i++) {
		char name[128];
		renamed_to(desired, t[i].name, name, sizeof name);
		long long now = count_rows(live, name);
		if (now >= 0 && now != t[i].n)
			snprintf(why, size, "rows of %s lost: %lld before, %lld after", name,
			         t[i].n, now);
	}
}

/* ---- one case ------------------------------------------------------ */

static void
reset(PGconn *pg)
{
	PGresult *r = PQexec(pg, "SELECT string_agg(format('DROP SCHEMA %I CASCADE', nspname),"
	                         " '; ') FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
	                         "AND nspname <> 'information_schema'");
	char *sql = NULL;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0) &&
	    asprintf(&sql, "%s; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO public",
	             PQgetvalue(r, 0, 0)) > 0) {
		PQclear(PQexec(pg, sql));
		free(sql);
	}
	PQclear(r);
	PQclear(PQexec(pg, "DO $$ DECLARE e record; BEGIN FOR e IN SELECT extname FROM "
	                   "pg_extension WHERE extname <> 'plpgsql' LOOP EXECUTE "
	                   "format('DROP EXTENSION %I CASCADE', e.extname); END LOOP; END $$"));
}

struct fields {
	const char *current, *desired, *enable_drop, *min_version;
	const char *roles[8];
};

static struct group *
group_of(const char *name)
{
	for (int i = 0; i < ngroups; i++)
		if (strcmp(groups[i].name, name) == 0)
			return &groups[i];
	snprintf(groups[ngroups].name, sizeof groups[0].name, "%s", name);
	return &groups[ngroups++];
}

/* pgschema_sync on live; returns held or -1 with *err. The cases are
 * written for PostgreSQL alone: "@dialect postgresql" turns off the
 * translation of SQLite's forms (INTEGER -> BIGINT and so on). */
static int
sync_live(const char *desired, int flags, char **summary, char **err)
{
	char *held_summary = NULL, *sql = NULL;
	if (asprintf(&sql, "-- @dialect postgresql\n%s", desired ? desired : "") < 0)
		abort();
	int held = pgschema_sync(live, sql, flags, 5000, summary, &held_summary, err);
	free(sql);
	if (verbose)
		printf("# sync flags=%d held=%d summary=%s held=%s err=%s\n", flags, held,
		       *summary ? *summary : "", held_summary ? held_summary : "",
		       *err ? *err : "");
	free(held_summary);
	return held;
}

/* Is a second plan empty? "" when it is, else why, in why. */
static void
check_second_plan(const char *desired, char *why, size_t size)
{
	char *summary = NULL, *err = NULL;
	int held = sync_live(desired, PGSCHEMA_DRY_RUN | PGSCHEMA_DESTRUCTIVE, &summary, &err);
	if (held < 0)
		snprintf(why, size, "second plan: %s", err);
	else if (strcmp(summary, "no changes") != 0)
		snprintf(why, size, "second plan not empty: %s", summary);
	free(summary);
	free(err);
}

/* An error from before anything was applied: pgschema's refusals and
 * schema.sql errors; an error applying the plan is never a refusal. */
static int
is_refusal(const char *err)
{
	return strstr(err, "applying the plan") == NULL && strstr(err, "committing") == NULL &&
	       strstr(err, "recording history") == NULL;
}

static void
create_role(const char *name)
{
	char *sql = NULL;
	if (asprintf(&sql,
	             "DO $$ BEGIN CREATE ROLE \"%s\"; EXCEPTION WHEN "
	             "duplicate_object THEN NULL; END $$",
	             name) > 0)
		PQclear(PQexec(live, sql));
	free(sql);
}

/* The NAME of '<what> "NAME" does not exist' in msg, or 0. */
static int
missing(const char *msg, const char *what, char *name, size_t size)
{
	char pat[32];
	snprintf(pat, sizeof pat, "%s \"", what);
	const char *p = strstr(msg, pat), *e;
	if (p == NULL || (e = strchr(p + strlen(pat), '"')) == NULL ||
	    strncmp(e, "\" does not exist", 16) != 0)
		return 0;
	p += strlen(pat);
	snprintf(name, size, "%.*s", (int)(e - p), p);
	return 1;
}

/* Resets both databases and builds desired in want, current in live. The
 * roles and schemas the cases take for granted (sqldef's harness makes
 * them) are made when PostgreSQL names them missing, in both databases,
 * and the build starts over. NULL, or why it cannot be built. */
static char *
build_both(const struct fields *f)
{
	char schemas[8][64], name[64], *msg = NULL;
	int nschemas = 0;
	for (int i = 0; i < 8 && f->roles[i]; i++)
		create_role(f->roles[i]);
	for (int tries = 0; tries < 8; tries++) {
		reset(live);
		reset(want);
		for (int i = 0; i < nschemas; i++) {
			char *sql = NULL;
			if (asprintf(&sql, "CREATE SCHEMA \"%s\"", schemas[i]) < 0)
				abort();
			PQclear(PQexec(live, sql));
			PQclear(PQexec(want, sql));
			free(sql);
		}
		if ((msg = psql_load(want, want_url, f->desired)) == NULL &&
		    (msg = psql_load(live, live_url, f->current)) == NULL)
			return NULL;
		if (missing(msg, "role", name, sizeof name))
			create_role(name);
		else if (missing(msg, "schema", name, sizeof name) && nschemas < 8)
			snprintf(schemas[nschemas++], sizeof schemas[0], "%s", name);
		else
			return msg;
		free(msg);
		msg = NULL;
	}
	return strdup("too many missing schemas or roles");
}

enum outcome { CONVERGED, REFUSED, WRONG, NA };

static enum outcome
run_case(const struct fields *f, char *why, size_t size)
{
	char *summary = NULL, *err = NULL, *before = NULL, *after = NULL, *wanted = NULL;
	char *msg;
	int allow = !(f->enable_drop && strcmp(f->enable_drop, "false") == 0);
	enum outcome o = WRONG;
	if (f->min_version && atoi(f->min_version) > 15) {
		snprintf(why, size, "needs PostgreSQL %s", f->min_version);
		return NA;
	}
	if ((msg = build_both(f)) != NULL) {
		snprintf(why, size, "PostgreSQL 15 cannot build it: %.300s", msg);
		free(msg);
		return NA;
	}
	struct table_rows rows[64];
	int nrows = getenv("PSQLDEF_NO_ROWS") ? 0 : insert_rows(rows, 64);
	before = snapshot(live);
	int held = sync_live(f->desired, allow ? PGSCHEMA_DESTRUCTIVE : 0, &summary, &err);
	if (held < 0) {
		after = snapshot(live);
		if (!is_refusal(err))
			snprintf(why, size, "error while applying: %s", err);
		else if (strcmp(before, after) != 0)
			snprintf(why, size, "refused (%s) but the schema changed", err);
		else {
			snprintf(why, size, "%s", err);
			o = REFUSED;
		}
		goto out;
	}
	if (!allow) {
		char *s2 = NULL, *e2 = NULL;
		if (sync_live(f->desired, PGSCHEMA_DRY_RUN, &s2, &e2) < 0)
			snprintf(why, size, "second plan: %s", e2);
		else if (strcmp(s2, "no changes") != 0)
			snprintf(why, size, "safe steps left over: %s", s2);
		free(s2);
		free(e2);
		free(summary);
		free(err);
		summary = err = NULL;
		if (why[0] == '\0' &&
		    sync_live(f->desired, PGSCHEMA_DESTRUCTIVE, &summary, &err) < 0)
			snprintf(why, size, "applying the held steps: %s", err);
		if (why[0])
			goto out;
	}
	after = snapshot(live);
	wanted = snapshot(want);
	if (strcmp(after, wanted) != 0)
		snprintf(why, size, "schemas differ (applied: %s)\n--- live\n%s--- desired\n%s",
		         summary, after, wanted);
	else
		check_second_plan(f->desired, why, size);
	if (!why[0])
		check_rows(f->desired, rows, nrows, why, size);
	o = why[0] ? WRONG : CONVERGED;
out:
	free(summary);
	free(err);
	free(before);
	free(after);
	free(wanted);
	return o;
}

/* ---- YAML ---------------------------------------------------------- */

static void
read_case(yaml_document_t *doc, yaml_node_t *v, struct fields *f)
{
	yaml_node_t *roles = spec_yaml_value(doc, v, "managed_roles");
	memset(f, 0, sizeof *f);
	f->current = spec_yaml_scalar(doc, v, "current");
	f->desired = spec_yaml_scalar(doc, v, "desired");
	f->enable_drop = spec_yaml_scalar(doc, v, "enable_drop");
	f->min_version = spec_yaml_scalar(doc, v, "min_version");
	if (roles && roles->type == YAML_SEQUENCE_NODE) {
		int n = 0;
		for (yaml_node_item_t *it = roles->data.sequence.items.start;
		     it < roles->data.sequence.items.top && n < 7; it++) {
			yaml_node_t *r = yaml_document_get_node(doc, *it);
			if (r->type == YAML_SCALAR_NODE)
				f->roles[n++] = (const char *)r->data.scalar.value;
		}
	}
}

/* Which cases run_file runs, and where it counts them. */
struct run_file_arg {
	const char *group_name, *only;
	struct group *g;
};

/* One case of a file: run, printed and counted in its group. */
static void
each_case(yaml_document_t *doc, const char *name, yaml_node_t *v, void *arg)
{
	struct run_file_arg *a = arg;
	const char *group_name = a->group_name;
	struct group *g = a->g;
	struct fields f;
	char why[16384] = "";
	if (a->only && strcmp(a->only, name) != 0)
		return;
	read_case(doc, v, &f);
	switch (run_case(&f, why, sizeof why)) {
	case CONVERGED:
		g->converged++;
		printf("ok %s/%s\n", group_name, name);
		break;
	case REFUSED:
		g->refused++;
		printf("ok %s/%s refused: %s\n", group_name, name, why);
		break;
	case NA:
		g->na++;
		printf("# n/a %s/%s: %s\n", group_name, name, why);
		break;
	case WRONG:
		g->wrong++;
		t_failed_count++;
		printf("not ok %s/%s wrong: %s\n", group_name, name, why);
		break;
	}
	fflush(stdout);
}

static int
run_file(const char *path, const char *group_name, const char *only)
{
	struct run_file_arg a = {group_name, only, group_of(group_name)};
	return spec_yaml_each(path, each_case, &a);
}

static int
is_target(const char *name)
{
	for (int i = 0; targets[i]; i++)
		if (strcmp(targets[i], name) == 0)
			return 1;
	return 0;
}

/* The per-group table; a target group under 80% converged fails. */
static void
report(void)
{
	struct group all = {"all", 0, 0, 0, 0};
	printf("# %-22s %9s %8s %6s %4s %10s\n", "group", "converged", "refused", "wrong", "n/a",
	       "converged%");
	for (int i = 0; i <= ngroups; i++) {
		struct group *g = i < ngroups ? &groups[i] : &all;
		int applicable = g->converged + g->refused + g->wrong;
		double pct = applicable ? 100.0 * g->converged / applicable : 100.0;
		printf("# %-22s %9d %8d %6d %4d %9.0f%%%s\n", g->name, g->converged, g->refused,
		       g->wrong, g->na, pct,
		       i < ngroups && is_target(g->name) ? " (target 80%)" : "");
		if (i < ngroups && is_target(g->name)) {
			char check[128];
			snprintf(check, sizeof check, "psqldef %s converges >= 80%% (%.0f%%)",
			         g->name, pct);
			T_CHECK(check, pct >= 80.0);
		}
		if (i == ngroups)
			break;
		all.converged += g->converged;
		all.refused += g->refused;
		all.wrong += g->wrong;
		all.na += g->na;
	}
	printf("psqldef: %d converged, %d refused, %d wrong, %d n/a\n", all.converged, all.refused,
	       all.wrong, all.na);
	T_CHECK("psqldef: no case is migrated wrong", all.wrong == 0);
}

int
main(int argc, char **argv)
{
	const char *only_group = getenv("PSQLDEF_GROUP"), *only_case = getenv("PSQLDEF_CASE");
	char err[512], *files[64];
	size_t n = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	verbose = getenv("PSQLDEF_VERBOSE") != NULL;
	for (int a = 1; a < (argc > 1 ? argc : 2); a++) {
		const char *dir = argc > 1 ? argv[a] : "../shared/spec/psqldef";
		if (spec_yaml_list(dir, "tests_", files, &n, 64) != 0) {
			printf("not ok psqldef: cannot open %s\n", dir);
			return 1;
		}
	}
	if (pg_cluster_start(&cluster, err, sizeof err) != 0 ||
	    pg_cluster_database(&cluster, "live", live_url, sizeof live_url) != 0 ||
	    pg_cluster_database(&cluster, "want", want_url, sizeof want_url) != 0) {
		printf("not ok psqldef: a private PostgreSQL cluster starts: %s\n", err);
		pg_cluster_stop(&cluster);
		return 1;
	}
	live = PQconnectdb(live_url);
	want = PQconnectdb(want_url);
	T_CHECK("psqldef: connected to the private cluster",
	        PQstatus(live) == CONNECTION_OK && PQstatus(want) == CONNECTION_OK);
	PQclear(PQexec(live, "SET client_min_messages = warning"));
	PQclear(PQexec(want, "SET client_min_messages = warning"));
	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
		char group[64];
		snprintf(group, sizeof group, "%.*s", (int)(strlen(base) - 10), base + 6);
		if ((!only_group || strcmp(only_group, group) == 0) &&
		    PQstatus(live) == CONNECTION_OK && run_file(files[i], group, only_case) != 0) {
			printf("not ok %s: cannot read it\n", files[i]);
			t_failed_count++;
		}
		free(files[i]);
	}
	report();
	PQfinish(live);
	PQfinish(want);
	pg_cluster_stop(&cluster);
	return T_DONE();
}
