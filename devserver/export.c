/*
 * export.c -- `cotdev export [DIR] -o BIN`: the app as one gcc -O2 binary.
 *
 * This file is the command: its flags, the steps in order, the clean-up.
 * Each step lives in its own file: export_collect.c (which files),
 * export_sql.c (the SQL check), export_gen.c (generated sources),
 * export_link.c (compile, isolate, link), export_cache.c (the runtime's
 * objects from earlier exports), export_check.c (what each object may call),
 * export_report.c (the summary), export_jobs.c (running them).
 *
 * What runs in development ships as one file. The steps, in order:
 *
 *   1. scan: every .c under handlers/ is a module; every file under
 *      templates/ and static/, and schema.sql, is embedded. The literal SQL
 *      of every cot_db_* call is prepared against schema.sql (sqlcheck.c),
 *      as `cotdev run` does at each reload: SQL that would fail there fails
 *      the export, at its line, instead of shipping. With --db postgres://
 *      (or $DATABASE_URL) it is prepared on that PostgreSQL (sqlcheck_pg.c).
 *   2. generate, in a private temp dir: app_modules.c (the table of route
 *      tables) and app_embed.c (the embedded files, pulled in with the
 *      assembler's .incbin, so a large static file costs no C parsing).
 *   3. compile, with up to -j gcc processes at once: the runtime sources the
 *      dev server itself is built from (the Makefile's RUNTIME, baked in as
 *      COT_EXPORT_RUNTIME), runtime/app_main.c, the generated files, and each
 *      handler as its own translation unit with -DCOT_MODULE_SYMBOL=
 *      cot_module_N -DCOT_MIDDLEWARE_SYMBOL=cot_middleware_N. gcc runs with
 *      the app as its working directory and gets "handlers/x.c", so errors
 *      read "handlers/x.c:12:5: error: ..." just as in `cotdev run`. The
 *      runtime's objects come from the cache of earlier exports while
 *      nothing they were made from changed (export_cache.c).
 *   4. isolate: objcopy keeps only cot_module_N and cot_middleware_N global
 *      in each handler object. In development every file is its own libtcc
 *      state, so two files may both define a non-static `render`; the export
 *      keeps that true instead of failing at link time. It also renames the
 *      object's code sections to cot_handler_text, so all handler code ends up
 *      in one range the watchdog can recognise (crash_set_code): a stuck
 *      handler is interrupted only while it runs its own code.
 *   5. link BIN.tmp with the runtime's libraries (COT_EXPORT_LIBS: never
 *      libtcc, never libinotifytools), run `BIN.tmp --check` so a route
 *      conflict fails the export rather than the deploy, rename to BIN.
 *
 * The modules table references each cot_module_N weakly: a handler file
 * without COT_ROUTES (a helper) leaves a NULL entry that app_main skips.
 * The middleware table does the same with each cot_middleware_N, so a
 * COT_MIDDLEWARE hook runs in the export exactly as in development.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/monotonic.h"
#include "export.h"
#include "export_check.h"
#include "export_internal.h"
#include "sqlcheck_pg.h"

static const char export_usage[] =
        "usage: cotdev export [-j N] [--db DB] [DIR] -o BIN\n"
        "\n"
        "Builds the app in DIR (default .) with gcc -O2 into the binary BIN: the\n"
        "runtime, every handler, and templates/, static/ and schema.sql embedded.\n"
        "BIN runs without cot installed (`BIN --help` lists its flags).\n"
        "  -o, --output BIN   the binary to write (required)\n"
        "  -j, --jobs N       gcc processes at once (default: one per core)\n"
        "  --db URL           the database BIN will serve: with postgres://... (default:\n"
        "                     $DATABASE_URL when it is one) the handlers' SQL is prepared\n"
        "                     there, against schema.sql loaded into a scratch schema that\n"
        "                     is rolled back; otherwise against schema.sql on SQLite\n";

static int
export_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Generates, compiles, isolates and links; returns the exit status. */
static int
export_build(export_state *x)
{
	char path[PATH_MAX + 32];
	if (export_sql_check(x) != 0)
		return 1;
	x->hlibs = calloc((size_t)x->handlers.n + 1, sizeof(libs_set));
	x->llibs = calloc((size_t)x->libsrc.n + 1, sizeof(libs_set));
	if (x->hlibs == NULL || x->llibs == NULL ||
	    export_libs_declared(x->handlers.v, x->handlers.n, x->hlibs) != 0 ||
	    export_libs_declared(x->libsrc.v, x->libsrc.n, x->llibs) != 0) {
		fprintf(stderr, "cotdev export: %s not written\n", x->out);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/app_modules.c", x->tmp);
	if (export_gen_modules(path, &x->handlers) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/app_embed.c", x->tmp);
	if (export_gen_embed(path, &x->embedded) != 0)
		return 1;
	export_job *jobs;
	int n = export_link_plan(x, &jobs);
	int failed = export_jobs_run(jobs, n, x->jobs, x->app);
	export_cache_store(&x->cache, jobs, n); /* even when a handler failed */
	for (int i = 0; i < n; i++)
		strvec_free(&jobs[i].argv);
	free(jobs);
	if (failed) {
		fprintf(stderr, "cotdev export: %d file%s failed to compile; %s not written\n",
		        failed, failed == 1 ? "" : "s", x->out);
		return 1;
	}
	if (export_check_all(x->tmp, x->handlers.v, x->handlers.n, x->hlibs, x->libsrc.v,
	                     x->libsrc.n, x->llibs) != 0) {
		fprintf(stderr,
		        "cotdev export: files use libraries they do not declare "
		        "(cotdev run refuses them too); %s not written\n",
		        x->out);
		return 1;
	}
	if (export_link_offload(x) != 0 || export_link_isolate(x, x->handlers.n) != 0 ||
	    export_link_binary(x) != 0) {
		fprintf(stderr, "cotdev export: %s not written\n", x->out);
		return 1;
	}
	return 0;
}

/* Makes x->out absolute (relative to the caller's cwd) before we chdir. */
static int
export_resolve_out(export_state *x, const char *out)
{
	char cwd[PATH_MAX];
	if (out[0] == '/') {
		snprintf(x->out, sizeof(x->out), "%s", out);
		return 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	if ((size_t)snprintf(x->out, sizeof(x->out), "%s/%s", cwd, out) >= sizeof(x->out))
		return -1;
	return 0;
}

/* Parses the command line into x; returns -1 to go on, else an exit status. */
static int
export_parse(int argc, char **argv, export_state *x, const char **dir, const char **out)
{
	static const struct option opts[] = {
	        {"output", required_argument, NULL, 'o'},
	        {"jobs", required_argument, NULL, 'j'},
	        {"db", required_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	x->jobs = ncpu > 0 ? (int)ncpu : 2;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:j:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			*out = optarg;
			break;
		case 'j':
			x->jobs = atoi(optarg) > 0 ? atoi(optarg) : 1;
			break;
		case 'd':
			x->db = optarg;
			break;
		case 'h':
			fputs(export_usage, stdout);
			return 0;
		default:
			fputs(export_usage, stderr);
			return 2;
		}
	}
	if (argc - optind > 1 || *out == NULL) {
		if (*out == NULL)
			fprintf(stderr, "cotdev export: say where the binary goes with -o BIN\n");
		fputs(export_usage, stderr);
		return 2;
	}
	*dir = optind < argc ? argv[optind] : ".";
	x->db = sqlcheck_pg_choose(x->db);
	return -1;
}

/* Checks the app directory and prepares the paths; an exit status or -1. */
static int
export_prepare(export_state *x, const char *dir, const char *out)
{
	struct stat st;
	char handlers[PATH_MAX + 16];
	if (realpath(dir, x->app) == NULL) {
		fprintf(stderr, "cotdev export: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(handlers, sizeof(handlers), "%s/handlers", x->app);
	if (stat(handlers, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cotdev export: %s has no handlers/ directory; is it a cot app?\n",
		        dir);
		return 1;
	}
	if (export_resolve_out(x, out) != 0) {
		fprintf(stderr, "cotdev export: output path too long\n");
		return 1;
	}
	const char *t = getenv("TMPDIR");
	if (t == NULL || *t == '\0' || strlen(t) > 200)
		t = "/tmp";
	snprintf(x->tmp, sizeof(x->tmp), "%s/cot-export-XXXXXX", t);
	char real[PATH_MAX];
	if (mkdtemp(x->tmp) == NULL) {
		fprintf(stderr, "cotdev export: cannot make a temp dir: %s\n", strerror(errno));
		return 1;
	}
	/* absolute, as the jobs run in the app's dir or in COT_HOME */
	if (realpath(x->tmp, real) != NULL && strlen(real) < sizeof(x->tmp))
		memcpy(x->tmp, real, strlen(real) + 1);
	return -1;
}

int
export_main(int argc, char **argv, const char *home)
{
	double t0 = monotonic_ms();
	export_state x = {.home = home};
	const char *dir = NULL, *out = NULL;
	int rc = export_parse(argc, argv, &x, &dir, &out);
	if (rc < 0)
		rc = export_prepare(&x, dir, out);
	if (rc >= 0)
		return rc;
	rc = 1;
	if (export_collect(&x) == 0)
		rc = export_build(&x);
	if (rc == 0) {
		export_report(&x, t0);
		export_report_packages(&x);
	}
	const char *keep = getenv("COT_EXPORT_KEEP");
	if (keep != NULL && *keep)
		fprintf(stderr, "cotdev export: build files kept in %s\n", x.tmp);
	else
		nftw(x.tmp, export_remove_one, 16, FTW_DEPTH | FTW_PHYS);
	for (int i = 0; x.hlibs != NULL && i < x.handlers.n; i++)
		libs_set_free(&x.hlibs[i]);
	for (int i = 0; x.llibs != NULL && i < x.libsrc.n; i++)
		libs_set_free(&x.llibs[i]);
	free(x.hlibs);
	free(x.llibs);
	export_cache_close(&x.cache);
	strvec_free(&x.handlers);
	strvec_free(&x.libsrc);
	strvec_free(&x.embedded);
	strvec_free(&x.objects);
	return rc;
}
