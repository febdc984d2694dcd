/*
 * export.c -- `cotdev export [DIR] -o BIN`: the app as one gcc -O2 binary.
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
 *      read "handlers/x.c:12:5: error: ..." just as in `cotdev run`.
 *   4. isolate: objcopy keeps only cot_module_N and cot_middleware_N global
 *      in each handler object. In development every file is its own libtcc
 *      state, so two files may both define a non-static `render`; the export
 *      keeps that true instead of failing at link time. It also renames the object's
 *      code sections to cot_handler_text, so all handler code ends up in
 *      one range the watchdog can recognise (crash_set_code): a stuck
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/db_pg.h"
#include "../runtime/apptree.h"
#include "../runtime/internal.h"
#include "../runtime/migrate.h"
#include "../runtime/static_path.h"
#include "deps.h"
#include "export.h"
#include "export_check.h"
#include "file.h"
#include "sqlcheck.h"
#include "sqlcheck_pg.h"

#ifndef COT_EXPORT_RUNTIME
#define COT_EXPORT_RUNTIME ""
#endif
#ifndef COT_EXPORT_CFLAGS /* include paths the runtime's libraries need */
#define COT_EXPORT_CFLAGS ""
#endif
#ifndef COT_EXPORT_LIBS
#define COT_EXPORT_LIBS "-lmicrohttpd -ljansson -lpthread"
#endif

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

/* ==== string vectors =================================================== */

typedef struct strvec {
	char **v;
	int n, cap;
} strvec;

static void
sv_push(strvec *s, const char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, (size_t)s->cap * sizeof(char *));
		if (s->v == NULL) {
			perror("cotdev export");
			exit(1);
		}
	}
	s->v[s->n++] = strdup(str);
	s->v[s->n] = NULL;
}

static void
sv_pushf(strvec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sv_pushf(strvec *s, const char *fmt, ...)
{
	char buf[PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sv_push(s, buf);
}

/* Appends the space-separated words of `words`. */
static void
sv_push_words(strvec *s, const char *words)
{
	char *copy = strdup(words), *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		sv_push(s, w);
	free(copy);
}

static void
sv_free(strvec *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (strvec){ 0 };
}

static int
sv_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ==== scanning ========================================================= */

typedef struct export_scan_ctx {
	const char *suffix;
	strvec *out;
} export_scan_ctx;

static void
export_scan_one(const char *path, void *opaque)
{
	export_scan_ctx *x = opaque;
	size_t n = strlen(path), k = x->suffix ? strlen(x->suffix) : 0;
	if (k == 0 || (n > k && !strcmp(path + n - k, x->suffix)))
		sv_push(x->out, path);
}

/* Adds the app's regular files under dir (relative to the cwd) to out,
 * recursively, by the rule static serving and the watcher use
 * (runtime/apptree.c); only names ending in `suffix` when it is not NULL. */
static void
export_scan(const char *dir, const char *suffix, strvec *out)
{
	export_scan_ctx x = { suffix, out };
	apptree_scan(dir, export_scan_one, &x);
}

/* ==== generated sources ================================================ */

/* Writes s as a C string literal. */
static void
export_c_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\%03o", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static int
export_write_modules(const char *path, const strvec *handlers)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "/* generated by cotdev export: the route table of every handler */\n"
	           "#include \"cot.h\"\n");
	for (int i = 0; i < handlers->n; i++)
		fprintf(f, "extern const cot_module cot_module_%d __attribute__((weak)); /* %s */\n",
		        i, handlers->v[i]);
	fprintf(f, "const cot_module *const app_modules[] = {\n");
	for (int i = 0; i < handlers->n; i++)
		fprintf(f, "\t&cot_module_%d,\n", i);
	fprintf(f, "\t0\n};\nconst int app_module_count = %d;\n", handlers->n);
	/* COT_MIDDLEWARE hooks, one entry per handler file, NULL if it has none */
	for (int i = 0; i < handlers->n; i++)
		fprintf(f, "extern const cot_middleware cot_middleware_%d __attribute__((weak));\n",
		        i);
	fprintf(f, "const cot_middleware *const app_middleware[] = {\n");
	for (int i = 0; i < handlers->n; i++)
		fprintf(f, "\t&cot_middleware_%d,\n", i);
	fprintf(f, "\t0\n};\n");
	return fclose(f);
}

/* The bytes, via .incbin of the path relative to the app dir (gcc's cwd). */
static void
export_write_blob(FILE *f, int i, const char *path)
{
	fprintf(f, "__asm__(\".section .rodata.cot_embed,\\\"a\\\"\\n\"\n"
	           "        \".balign 16\\n\"\n"
	           "        \".globl cot_embed_%d\\n\"\n"
	           "        \".hidden cot_embed_%d\\n\"\n"
	           "        \"cot_embed_%d:\\n\"\n"
	           "        \".incbin \\\"%s\\\"\\n\"\n"
	           "        \".byte 0\\n\"\n"
	           "        \".previous\\n\");\n"
	           "extern const unsigned char cot_embed_%d[];\n",
	        i, i, i, path, i);
}

/* Names the assembler's string syntax cannot hold verbatim are refused. */
static int
export_embeddable(const char *path)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)
			return 0;
	return 1;
}

static int
export_write_embed(const char *path, const strvec *files)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "/* generated by cotdev export: templates/, static/, schema.sql */\n"
	           "#include <stddef.h>\n#include \"embed.h\"\n");
	for (int i = 0; i < files->n; i++)
		export_write_blob(f, i, files->v[i]);
	fprintf(f, "const embed_file app_embedded[] = {\n");
	for (int i = 0; i < files->n; i++) {
		struct stat st;
		if (stat(files->v[i], &st) != 0)
			st = (struct stat){ 0 };
		fprintf(f, "\t{ ");
		export_c_string(f, files->v[i]);
		fprintf(f, ", cot_embed_%d, %lld, %lld, %ld },\n", i, (long long)st.st_size,
		        (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	}
	fprintf(f, "\t{ 0, 0, 0, 0, 0 }\n};\nconst size_t app_embedded_count = %d;\n", files->n);
	return fclose(f);
}

/* ==== running gcc ====================================================== */

typedef struct export_job {
	strvec argv;
	char log[PATH_MAX];
	pid_t pid;
	int status;
} export_job;

/* Starts one job with cwd = dir, its output into job->log. */
static int
export_spawn(export_job *j, const char *dir)
{
	j->pid = fork();
	if (j->pid < 0)
		return -1;
	if (j->pid == 0) {
		int fd = open(j->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || chdir(dir) != 0)
			_exit(127);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execvp(j->argv.v[0], j->argv.v);
		fprintf(stderr, "cotdev export: cannot run %s: %s\n", j->argv.v[0], strerror(errno));
		_exit(127);
	}
	return 0;
}

/* Copies a job's output to stderr. */
static void
export_show_log(const export_job *j)
{
	FILE *f = fopen(j->log, "r");
	if (f == NULL)
		return;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

/* Runs the jobs, at most `par` at once; shows their output in job order.
 * Returns the number that failed. */
static int
export_run_jobs(export_job *jobs, int n, int par, const char *dir)
{
	int next = 0, running = 0, failed = 0;
	while (next < n || running > 0) {
		while (running < par && next < n) {
			if (export_spawn(&jobs[next], dir) != 0) {
				perror("cotdev export: fork");
				jobs[next].status = -1;
			} else {
				running++;
			}
			next++;
		}
		int st;
		pid_t pid = wait(&st);
		if (pid < 0)
			break;
		for (int i = 0; i < next; i++)
			if (jobs[i].pid == pid) {
				jobs[i].status = st;
				running--;
			}
	}
	for (int i = 0; i < n; i++) {
		export_show_log(&jobs[i]);
		failed += !(WIFEXITED(jobs[i].status) && WEXITSTATUS(jobs[i].status) == 0);
	}
	return failed;
}

/* ==== the export ======================================================= */

typedef struct export_state {
	const char *home;
	char app[PATH_MAX];        /* absolute app directory */
	char tmp[256];             /* private build directory */
	char out[PATH_MAX];        /* absolute output path */
	int jobs;
	const char *db;            /* --db or $DATABASE_URL: PostgreSQL when a URL */
	strvec handlers, embedded, objects;
	strvec libsrc;             /* the .c files of lib/: shared code, linked once */
	libs_set *hlibs, *llibs;   /* each file's COT_LIBS */
} export_state;

/* The flags every gcc compile gets. */
static void
export_cc(strvec *a, const export_state *x)
{
	sv_push(a, "gcc");
	sv_push_words(a, "-c -O2 -g -std=c11 -D_GNU_SOURCE");
	if (isatty(STDERR_FILENO))
		sv_push(a, "-fdiagnostics-color=always");
	sv_pushf(a, "-I%s/runtime", x->home);
	sv_push(a, "-Ilib"); /* as cotdev run: #include "util.h" finds lib/util.h */
	sv_push_words(a, COT_EXPORT_CFLAGS);
}

/* One compile job: src -> tmp/obj; `define` is NULL or -D flags (words);
 * `libs` the file's declared libraries (their cflags), or NULL. */
static void
export_add_compile(export_state *x, export_job *j, const char *src, const char *obj,
                   const char *define, const libs_set *libs)
{
	export_cc(&j->argv, x);
	if (define != NULL)
		sv_push_words(&j->argv, define);
	if (libs != NULL)
		sv_push_words(&j->argv, libs->cflags);
	sv_push(&j->argv, src);
	sv_push(&j->argv, "-o");
	sv_pushf(&j->argv, "%s/%s", x->tmp, obj);
	snprintf(j->log, sizeof(j->log), "%s/%s.log", x->tmp, obj);
	sv_pushf(&x->objects, "%s/%s", x->tmp, obj);
}

/* Builds the list of compile jobs; returns their number. */
static int
export_plan(export_state *x, export_job **out)
{
	strvec rt = { 0 };
	sv_push_words(&rt, COT_EXPORT_RUNTIME);
	int n = rt.n + x->handlers.n + x->libsrc.n + 3, k = 0;
	export_job *jobs = calloc((size_t)n, sizeof(*jobs));
	for (int i = 0; i < rt.n; i++) {
		char src[PATH_MAX], obj[64];
		snprintf(src, sizeof(src), "%s/%s", x->home, rt.v[i]);
		snprintf(obj, sizeof(obj), "rt_%d.o", i);
		export_add_compile(x, &jobs[k++], src, obj, NULL, NULL);
	}
	char src[PATH_MAX];
	snprintf(src, sizeof(src), "%s/runtime/app_main.c", x->home);
	export_add_compile(x, &jobs[k++], src, "app_main.o", NULL, NULL);
	snprintf(src, sizeof(src), "%s/app_modules.c", x->tmp);
	export_add_compile(x, &jobs[k++], src, "app_modules.o", NULL, NULL);
	snprintf(src, sizeof(src), "%s/app_embed.c", x->tmp);
	export_add_compile(x, &jobs[k++], src, "app_embed.o", NULL, NULL);
	for (int i = 0; i < x->libsrc.n; i++) { /* shared code: one object each */
		char obj[64];
		snprintf(obj, sizeof(obj), "l_%d.o", i);
		export_add_compile(x, &jobs[k++], x->libsrc.v[i], obj, NULL, &x->llibs[i]);
	}
	for (int i = 0; i < x->handlers.n; i++) {
		char obj[64], def[128];
		snprintf(obj, sizeof(obj), "h_%d.o", i);
		snprintf(def, sizeof(def), "-DCOT_MODULE_SYMBOL=cot_module_%d "
		         "-DCOT_MIDDLEWARE_SYMBOL=cot_middleware_%d", i, i);
		export_add_compile(x, &jobs[k++], x->handlers.v[i], obj, def, &x->hlibs[i]);
	}
	sv_free(&rt);
	*out = jobs;
	return k;
}

/* gcc's code sections: -O2 moves cold paths to .text.unlikely. */
static const char *const export_text_sections[] = {
	".text", ".text.unlikely", ".text.hot", ".text.startup", ".text.exit", NULL,
};

/* objcopy each handler object down to its two tables as global symbols
 * (routes, middleware), with its code in section cot_handler_text. */
static int
export_isolate(export_state *x, int nhandlers)
{
	int nlib = x->libsrc.n;
	export_job *jobs = calloc((size_t)(nhandlers + nlib + 1), sizeof(*jobs));
	for (int i = 0; i < nlib; i++) { /* shared code keeps its globals */
		export_job *j = &jobs[nhandlers + i];
		sv_push(&j->argv, "objcopy");
		for (int k = 0; export_text_sections[k] != NULL; k++)
			sv_pushf(&j->argv, "--rename-section=%s=cot_handler_text",
			         export_text_sections[k]);
		sv_pushf(&j->argv, "%s/l_%d.o", x->tmp, i);
		snprintf(j->log, sizeof(j->log), "%s/objcopy_l%d.log", x->tmp, i);
	}
	for (int i = 0; i < nhandlers; i++) {
		sv_push(&jobs[i].argv, "objcopy");
		sv_pushf(&jobs[i].argv, "--keep-global-symbol=cot_module_%d", i);
		sv_pushf(&jobs[i].argv, "--keep-global-symbol=cot_middleware_%d", i);
		for (int k = 0; export_text_sections[k] != NULL; k++)
			sv_pushf(&jobs[i].argv, "--rename-section=%s=cot_handler_text",
			         export_text_sections[k]);
		/* exit() and its kin answer 500, as tcc_add_symbol makes them in
		 * development (runtime/crash_exit.c) */
		for (const crash_exit_symbol *e = crash_exit_symbols; e->name != NULL; e++)
			sv_pushf(&jobs[i].argv, "--redefine-sym=%s=%s", e->name, e->replacement);
		sv_pushf(&jobs[i].argv, "%s/h_%d.o", x->tmp, i);
		snprintf(jobs[i].log, sizeof(jobs[i].log), "%s/objcopy_%d.log", x->tmp, i);
	}
	int failed = export_run_jobs(jobs, nhandlers + nlib, x->jobs, x->app);
	for (int i = 0; i < nhandlers + nlib; i++)
		sv_free(&jobs[i].argv);
	free(jobs);
	return failed;
}

/* Links BIN.tmp, runs its --check, renames it to BIN. */
static int
export_link(export_state *x)
{
	char tmpbin[PATH_MAX + 8];
	snprintf(tmpbin, sizeof(tmpbin), "%s.tmp", x->out);
	export_job j[2] = { 0 };
	sv_push(&j[0].argv, "gcc");
	sv_push(&j[0].argv, "-O2");
	for (int i = 0; i < x->objects.n; i++)
		sv_push(&j[0].argv, x->objects.v[i]);
	sv_push(&j[0].argv, "-o");
	sv_push(&j[0].argv, tmpbin);
	sv_push_words(&j[0].argv, COT_EXPORT_LIBS);
	sv_push(&j[0].argv, "-lm"); /* part of the C library for handlers, as in cotdev run */
	for (int i = 0; i < x->handlers.n + x->libsrc.n; i++) {
		const libs_set *l = i < x->handlers.n ? &x->hlibs[i] : &x->llibs[i - x->handlers.n];
		sv_push_words(&j[0].argv, l->ldflags);
	}
	snprintf(j[0].log, sizeof(j[0].log), "%s/link.log", x->tmp);
	int failed = export_run_jobs(&j[0], 1, 1, x->app);
	if (failed == 0) {
		sv_push(&j[1].argv, tmpbin);
		sv_push(&j[1].argv, "--check");
		snprintf(j[1].log, sizeof(j[1].log), "%s/check.log", x->tmp);
		failed = export_run_jobs(&j[1], 1, 1, x->app);
	}
	if (failed == 0 && rename(tmpbin, x->out) != 0) {
		fprintf(stderr, "cotdev export: cannot write %s: %s\n", x->out, strerror(errno));
		failed = 1;
	}
	if (failed)
		unlink(tmpbin);
	sv_free(&j[0].argv);
	sv_free(&j[1].argv);
	return failed;
}

/*
 * Keeps of the static/ files found only those `cotdev run` serves, by the
 * same rule (static.c): a symlink that leaves static/ is not the app's
 * file, and embedding its target would publish it in production.
 */
static void
export_filter_static(strvec *files)
{
	int root = open("static", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int k = 0;
	for (int i = 0; i < files->n; i++) {
		const char *why = "the app has no static/ directory";
		int fd = -1;
		if (strncmp(files->v[i], "static/", 7) == 0) {
			if (root >= 0)
				fd = static_path_open(root, files->v[i] + 7, &why);
			if (fd < 0) {
				fprintf(stderr, "cotdev export: %s is not embedded: %s (cotdev run does "
				        "not serve it either)\n", files->v[i], why);
				free(files->v[i]);
				continue;
			}
			close(fd);
		}
		files->v[k++] = files->v[i];
	}
	files->n = k;
	if (files->v != NULL)
		files->v[k] = NULL;
	if (root >= 0)
		close(root);
}

/* Scans the app; fails on a name the embedding cannot carry. */
static int
export_collect(export_state *x)
{
	if (chdir(x->app) != 0)
		return -1;
	export_scan("handlers", ".c", &x->handlers);
	export_scan("lib", ".c", &x->libsrc);
	export_scan("templates", NULL, &x->embedded);
	export_scan("static", NULL, &x->embedded);
	export_filter_static(&x->embedded);
	struct stat st;
	if (stat("schema.sql", &st) == 0 && S_ISREG(st.st_mode))
		sv_push(&x->embedded, "schema.sql");
	qsort(x->handlers.v, (size_t)x->handlers.n, sizeof(char *), sv_compare);
	if (x->libsrc.n > 0)
		qsort(x->libsrc.v, (size_t)x->libsrc.n, sizeof(char *), sv_compare);
	qsort(x->embedded.v, (size_t)x->embedded.n, sizeof(char *), sv_compare);
	for (int i = 0; i < x->embedded.n; i++)
		if (!export_embeddable(x->embedded.v[i])) {
			fprintf(stderr, "cotdev export: cannot embed \"%s\": rename it without "
			        "quotes, backslashes or control characters\n", x->embedded.v[i]);
			return -1;
		}
	return 0;
}

static int
export_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* One file's SQL against db; 1 (after saying why) when it does not prepare. */
static int
export_check_sql_file(const char *path, sqlite3 *db)
{
	char *error = NULL;
	int bad = sqlcheck_file(path, db, &error) != 0;
	if (bad)
		fprintf(stderr, "%s\n", error ? error : path);
	free(error);
	return bad;
}

/*
 * Prepares the SQL of every handler and of the files handlers include
 * against schema.sql, as cotdev run does
 * at each reload (there against app.db, which follows schema.sql): a file
 * whose SQL does not prepare is a reload error in development, its routes
 * answering 500, so it must not build into a binary that serves them.
 * The schema is applied to an in-memory database the way the binary
 * applies it at start. Returns the number of files that failed.
 */
static int
export_check_sql(const export_state *x)
{
	char *schema = file_read("schema.sql", NULL);
	if (schema == NULL)
		return 0; /* no schema: nothing to check against, as in development */
	sqlite3 *db = NULL;
	struct migrate_plan *p = NULL;
	char *why = NULL;
	int failed = 0;
	bool pg = DBPG_IS_URL(x->db);
	/* PostgreSQL: the SQL is prepared there (db NULL: sqlcheck_pg.c), and a
	 * schema.sql it refuses fails the export -- the binary could not start */
	if (pg && sqlcheck_pg_start(x->db, schema, &why) != 0) {
		fprintf(stderr, "cotdev export: the SQL check on PostgreSQL: %s; %s not written\n",
		        why ? why : "out of memory", x->out);
		free(why);
		free(schema);
		return 1;
	}
	/* A schema.sql that does not load is the binary's start-up error
	 * (app_main.c refuses to start and says why); nothing to check here. */
	if (pg || (sqlite3_open(":memory:", &db) == SQLITE_OK &&
	           migrate_plan(db, schema, &p, &why) == 0 &&
	           (migrate_plan_is_empty(p) || migrate_apply(db, p, 1, &why) >= 0))) {
		/* each handler, then each file a handler includes (once) */
		deps_list seen = { 0 };
		for (int i = 0; i < x->handlers.n; i++) {
			deps_list d = { 0 };
			deps_scan(x->handlers.v[i], NULL, &d);
			for (int j = -1; j < d.n; j++) {
				const char *f = j < 0 ? x->handlers.v[i] : d.paths[j];
				if (deps_contains(&seen, f))
					continue;
				deps_add(&seen, f);
				failed += export_check_sql_file(f, db);
			}
			deps_free(&d);
		}
		deps_free(&seen);
	}
	free(why);
	migrate_plan_free(p);
	sqlite3_close(db);
	sqlcheck_pg_stop();
	free(schema);
	if (failed)
		fprintf(stderr, "cotdev export: %d file%s with SQL that does not prepare against "
		        "schema.sql%s (cotdev run refuses %s at reload too); %s not written\n",
		        failed, failed == 1 ? "" : "s", pg ? " on PostgreSQL" : "",
		        failed == 1 ? "it" : "them", x->out);
	return failed;
}

/* app_offload.c (export_check.c) from the compiled handlers, compiled. */
static int
export_offload(export_state *x)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/app_offload.c", x->tmp);
	if (export_offload_write(x->tmp, x->handlers.n, x->libsrc.n, path) != 0)
		return 1;
	export_job j = { 0 };
	export_add_compile(x, &j, path, "app_offload.o", NULL, NULL);
	int failed = export_run_jobs(&j, 1, 1, x->app);
	sv_free(&j.argv);
	return failed;
}

/* Generates, compiles, isolates and links; returns the exit status. */
static int
export_build(export_state *x)
{
	char path[PATH_MAX + 32];
	if (export_check_sql(x) != 0)
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
	if (export_write_modules(path, &x->handlers) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/app_embed.c", x->tmp);
	if (export_write_embed(path, &x->embedded) != 0)
		return 1;
	export_job *jobs;
	int n = export_plan(x, &jobs);
	int failed = export_run_jobs(jobs, n, x->jobs, x->app);
	for (int i = 0; i < n; i++)
		sv_free(&jobs[i].argv);
	free(jobs);
	if (failed) {
		fprintf(stderr, "cotdev export: %d file%s failed to compile; %s not written\n",
		        failed, failed == 1 ? "" : "s", x->out);
		return 1;
	}
	if (export_check_all(x->tmp, x->handlers.v, x->handlers.n, x->hlibs, x->libsrc.v,
	                     x->libsrc.n, x->llibs) != 0) {
		fprintf(stderr, "cotdev export: files use libraries they do not declare "
		        "(cotdev run refuses them too); %s not written\n", x->out);
		return 1;
	}
	if (export_offload(x) != 0 || export_isolate(x, x->handlers.n) != 0 ||
	    export_link(x) != 0) {
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
		{ "output", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	x->jobs = ncpu > 0 ? (int)ncpu : 2;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:j:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': *out = optarg; break;
		case 'j': x->jobs = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'd': x->db = optarg; break;
		case 'h': fputs(export_usage, stdout); return 0;
		default: fputs(export_usage, stderr); return 2;
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
	if (mkdtemp(x->tmp) == NULL) {
		fprintf(stderr, "cotdev export: cannot make a temp dir: %s\n", strerror(errno));
		return 1;
	}
	return -1;
}

static void
export_report(const export_state *x, double t0)
{
	struct stat st;
	long long embedded = 0;
	for (int i = 0; i < x->embedded.n; i++)
		if (stat(x->embedded.v[i], &st) == 0)
			embedded += (long long)st.st_size;
	if (stat(x->out, &st) != 0)
		st.st_size = 0;
	printf("exported %s: %d handler file%s, %d embedded file%s (%lld bytes)\n", x->out,
	       x->handlers.n, x->handlers.n == 1 ? "" : "s", x->embedded.n,
	       x->embedded.n == 1 ? "" : "s", embedded);
	printf("binary size %.1f KB, built in %.2f s\n", (double)st.st_size / 1024.0,
	       (monotonic_ms() - t0) / 1e3);
}

/*
 * Says which Debian packages the binary needs where it runs: the libraries
 * it links (readelf's NEEDED, libc aside), all in one dpkg -S (a scan of
 * dpkg's file lists, ~0.2 s). Prints nothing where dpkg cannot tell, e.g.
 * on a machine that is not Debian.
 */
static void
export_report_packages(const export_state *x)
{
	static const char script[] =
		"set -f; set -- $(readelf -d \"$1\" | "
		"sed -n 's/.*NEEDED.*\\[\\(.*\\)\\]/*\\/\\1/p' | grep -v '/libc\\.so'); "
		"[ $# -gt 0 ] && dpkg -S \"$@\" 2>/dev/null | cut -d: -f1 | "
		"awk '!seen[$0]++' | tr '\\n' ' '";
	export_job j = { .status = -1 };
	snprintf(j.log, sizeof(j.log), "%s/packages.txt", x->tmp);
	sv_push(&j.argv, "sh");
	sv_push(&j.argv, "-c");
	sv_push(&j.argv, script);
	sv_push(&j.argv, "sh");
	sv_push(&j.argv, x->out);
	if (export_spawn(&j, x->tmp) == 0)
		waitpid(j.pid, &j.status, 0);
	sv_free(&j.argv);
	char *pkgs = file_read(j.log, NULL);
	size_t n = pkgs ? strlen(pkgs) : 0;
	while (n > 0 && pkgs[n - 1] == ' ')
		pkgs[--n] = '\0';
	if (n > 0 && WIFEXITED(j.status) && WEXITSTATUS(j.status) == 0)
		printf("the server needs these Debian packages: %s\n", pkgs);
	free(pkgs);
}

int
export_main(int argc, char **argv, const char *home)
{
	double t0 = monotonic_ms();
	export_state x = { .home = home };
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
	sv_free(&x.handlers);
	sv_free(&x.libsrc);
	sv_free(&x.embedded);
	sv_free(&x.objects);
	return rc;
}
