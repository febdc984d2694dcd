/*
 * main.c -- the cotdev command line: new | run | check | routes here;
 * migrate (migrate_cmd.c) and export (export.c) are handed their arguments.
 *
 * Each command parses its own flags; a bad flag prints the command's usage
 * and exits 2, like most Unix tools. `run` takes the server flags of
 * runtime/flags.c, the table an exported binary parses too. `run` chdirs
 * into the app directory, so every path the developer sees is relative to
 * the app ("handlers/notes.c:12"), exactly as written in the editor's
 * project tree.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/accesslog.h"
#include "../runtime/crash.h"
#include "../runtime/db.h"
#include "../runtime/db_pg.h"
#include "../runtime/flags.h"
#include "../runtime/hostallow.h"
#include "../runtime/render.h"
#include "../runtime/secret.h"
#include "../runtime/server.h"
#include "../runtime/trace.h"
#include "compiler.h"
#include "console.h"
#include "editor.h"
#include "export.h"
#include "file.h"
#include "livereload.h"
#include "migrate_cmd.h"
#include "reloader.h"
#include "scaffold.h"
#include "sqlcheck.h"
#include "sqlcheck_pg.h"
#include "tcclines.h"

#define MAIN_STOP_MS 2000

#ifndef COT_HOME
#define COT_HOME "."
#endif

static const char usage_main[] =
        "usage: cotdev COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  new [--auth] DIR  create an app in DIR from the template (--auth: accounts)\n"
        "  run [DIR]      serve the app in DIR (default .), reloading handlers on save\n"
        "  check [--db DB] [DIR]  compile every handler once, prepare its SQL; exit 1 if any "
        "fails\n"
        "  routes [DIR]   print the app's routes\n"
        "  export [DIR] -o BIN   build the app into one production binary\n"
        "  migrate [DIR] show how schema.sql changes the database; --apply applies safe changes\n"
        "\n"
        "`cotdev COMMAND --help` describes a command.\n";

static const char usage_new[] =
        "usage: cotdev new [--auth] DIR\n"
        "\n"
        "Creates a new app in DIR (which must not exist or be empty), with its app\n"
        "secret in DIR/.cot-secret (kept out of git by DIR/.gitignore).\n"
        "  --auth   add accounts: users, sign-up, log-in, log-out pages, a current-user\n"
        "           middleware, and notes that belong to their user\n";

static const char usage_check[] =
        "usage: cotdev check [--db DB] [DIR]\n"
        "\n"
        "Compiles every handler and lib/ file of the app in DIR (default .), prints\n"
        "each error (libraries used without COT_LIBS included) and one summary line\n"
        "(nothing for the files that compile). The SQL of every cot_db_* call is\n"
        "prepared on the app's database:\n"
        "  --db DB   app.db in DIR (default), another SQLite file, or PostgreSQL as\n"
        "            postgres://... (default: $DATABASE_URL when set), where the SQL is\n"
        "            prepared against schema.sql loaded into a scratch schema that is\n"
        "            rolled back: the database is not changed\n"
        "Exit status: 0 all compiled, 1 some failed, 2 usage error.\n";

static const char usage_routes[] = "usage: cotdev routes [--db DB] [DIR]\n"
                                   "\n"
                                   "Compiles the app in DIR (default .) and lists its routes.\n";

/* The cot installation: COT_HOME in the environment, else the build's.
 * Made absolute on the first call, which main() makes before anything
 * changes directory: run, check and export enter the app's directory,
 * where a relative COT_HOME would name nothing. */
static const char *
main_home(void)
{
	static char home[PATH_MAX];
	if (home[0] == '\0') {
		const char *h = getenv("COT_HOME");
		h = h != NULL && *h ? h : COT_HOME;
		if (realpath(h, home) == NULL)
			snprintf(home, sizeof(home), "%s", h);
	}
	return home;
}

/* Whether the installation holds the handlers' headers; says what is wrong
 * when it does not, instead of a 500 from every route. */
static bool
main_home_ok(void)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/include/cot.h", main_home());
	if (access(path, R_OK) == 0)
		return true;
	fprintf(stderr, "cotdev: %s not found: COT_HOME must name a cot checkout%s\n", path,
	        getenv("COT_HOME") != NULL ? " (unset it to use the one cotdev was built in)" : "");
	return false;
}

static int
main_usage(const char *text, int code)
{
	fputs(text, code == 0 ? stdout : stderr);
	return code;
}

/* Returns 1 when argv holds -h/--help anywhere. */
static int
main_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Enters the app directory; explains what is wrong when it is not one. */
static int
main_enter_app(const char *dir)
{
	if (chdir(dir) != 0) {
		fprintf(stderr, "cotdev: cannot enter %s: %s\n", dir, strerror(errno));
		return -1;
	}
	struct stat st;
	if (stat("handlers", &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr,
		        "cotdev: %s has no handlers/ directory; is it a cot app? "
		        "(create one with: cotdev new DIR)\n",
		        dir);
		return -1;
	}
	return 0;
}

/* The handlers' include path: include/, which holds only the public headers
 * (cot.h, cot_impl.h), so no runtime header can shadow a user's lib/ header
 * or a system one such as <error.h>. */
static void
main_include_dir(char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/include", main_home());
	if (n < 0 || (size_t)n >= len) /* main_home_ok has said what is wrong */
		buf[0] = '\0';
}

/* ==== cotdev new ======================================================= */

static int
main_new(int argc, char **argv)
{
	if (main_wants_help(argc, argv))
		return main_usage(usage_new, 0);
	bool auth = argc == 3 && strcmp(argv[1], "--auth") == 0;
	if (auth) {
		argc--;
		argv++;
	}
	if (argc != 2 || argv[1][0] == '-')
		return main_usage(usage_new, 2);
	char err[1024];
	if (scaffold_new(main_home(), argv[1], auth, err, sizeof(err)) != 0) {
		fprintf(stderr, "cotdev new: %s\n", err);
		return 1;
	}
	printf("created %s\n\nnext:\n  cotdev run %s\n  open http://127.0.0.1:8080/%s\n", argv[1],
	       argv[1], auth ? "signup" : "");
	return 0;
}

/* ==== cotdev run ======================================================= */

/* The database `cotdev run` serves (--db), as a path that stays valid after
 * main_enter_app's chdir. */
static const char *main_db_path = "app.db";

/* Traces read handler frames from the module's tcclines table. */
static int
main_trace_contains(const void *debug, uintptr_t pc)
{
	return tcclines_contains(debug, pc);
}

static int
main_trace_lookup(const void *debug, uintptr_t pc, trace_site *sites, int max)
{
	(void)max; /* tcc does not inline: one site per address */
	return debug != NULL &&
	       tcclines_lookup(debug, pc, &sites[0].file, &sites[0].line, &sites[0].func);
}

/*
 * Every reload outcome of the dev server passes here (reloader lock held):
 * "reload"/"error"/"remove" for handler files, "change" for files under
 * templates/ and static/ and for schema.sql. One line per consumer.
 */
static char main_inc[PATH_MAX];
static bool main_editor_ready; /* after the first full refresh of the editor files */

static void
main_on_event(const char *event, const char *file, const char *error)
{
	if (main_editor_ready && strcmp(event, "change") != 0 &&
	    (strncmp(file, "handlers/", 9) == 0 || strncmp(file, "lib/", 4) == 0))
		editor_changed(file, strcmp(event, "remove") == 0, main_inc);
	if (strcmp(event, "change") == 0 && strcmp(file, "schema.sql") == 0)
		migrate_cmd_dev(main_db_path, 0);
	console_on_event(event, file); /* before the pages reload: replay takes its copy */
	livereload_on_event(event, file, error);
}

static int
main_run(int argc, char **argv)
{
	flags f;
	flags_defaults(&f, FLAGS_DEV);
	int rc = flags_parse(&f, FLAGS_DEV, "cotdev run", argc, argv);
	if (rc >= 0)
		return rc;
	server_config cfg = f.cfg;
	console_options con = {.inspector = !f.no_inspector, .replay = CONSOLE_REPLAY_GET};
	if (f.replay != NULL && strcmp(f.replay, "get") != 0) {
		con.replay = strcmp(f.replay, "all") == 0   ? CONSOLE_REPLAY_ALL
		             : strcmp(f.replay, "off") == 0 ? CONSOLE_REPLAY_OFF
		                                            : (console_replay_mode)-1;
		if ((int)con.replay < 0) {
			fprintf(stderr, "cotdev run: --replay wants get, all or off, got \"%s\"\n",
			        f.replay);
			flags_usage(stderr, FLAGS_DEV, "cotdev run");
			return 2;
		}
	}
	const char *db_arg = f.db_path;
	const char *dir = f.dir;
	char db_abs[PATH_MAX];
	if (db_arg == NULL && getenv("DATABASE_URL") != NULL && *getenv("DATABASE_URL") != '\0')
		db_arg = getenv("DATABASE_URL"); /* a URL there keeps its password out of ps */
	if (db_arg != NULL && db_arg[0] != '/' && !DBPG_IS_URL(db_arg)) {
		/* relative to where cotdev started */
		if (getcwd(db_abs, sizeof(db_abs)) == NULL ||
		    strlen(db_abs) + strlen(db_arg) + 2 > sizeof(db_abs)) {
			fprintf(stderr, "cotdev run: --db %s: path too long\n", db_arg);
			return 1;
		}
		strcat(strcat(db_abs, "/"), db_arg);
		db_arg = db_abs;
	}
	if (db_arg != NULL)
		main_db_path = sqlcheck_db_path = db_arg;
	/* DNS rebinding: only local names, the bound address and --allowed-hosts
	 * (hostallow.c); bound to every interface, IP addresses too */
	char hosts[1024], why[256];
	if (cfg.allowed_hosts != NULL &&
	    hostallow_valid_list(cfg.allowed_hosts, why, sizeof(why)) != 0) {
		fprintf(stderr, "cotdev run: %s\n", why);
		return 2;
	}
	snprintf(hosts, sizeof(hosts), "localhost,127.0.0.1,[::1],%s%s%s", cfg.host,
	         cfg.allowed_hosts ? "," : "", cfg.allowed_hosts ? cfg.allowed_hosts : "");
	cfg.allowed_hosts = hosts;
	cfg.allow_any_ip = strcmp(cfg.host, "0.0.0.0") == 0;
	if (main_enter_app(dir) != 0)
		return 1;

	/* Signals go to the main thread only: block them before threads start. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigset_t blocked = sigs; /* SIGHUP too: server_wait_stop reopens the log */
	sigaddset(&blocked, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);

	char inc[PATH_MAX], err[1024];
	if (secret_init_dev(err, sizeof(err)) != 0) {
		fprintf(stderr, "cotdev run: %s\n", err);
		return 1;
	}
	if (db_init(main_db_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "cotdev run: %s\n", err);
		return 1;
	}
	char *chk = NULL; /* handler SQL prepared on PostgreSQL, the live schema */
	if (db_engine_is_pg() && sqlcheck_pg_start(main_db_path, NULL, &chk) != 0) {
		fprintf(stderr, "cotdev run: the SQL check: %s\n", chk ? chk : "out of memory");
		free(chk);
		return 1;
	}
	migrate_cmd_dev(main_db_path, 1);
	main_include_dir(inc, sizeof(inc));
	static const char *const watch_dirs[] = {"templates", "static", NULL};
	static const char *const watch_files[] = {"schema.sql", NULL};
	reloader_options ro = {.handlers_dir = "handlers",
	                       .lib_dir = "lib",
	                       .include_dir = inc,
	                       .watch = true,
	                       .watch_dirs = watch_dirs,
	                       .watch_files = watch_files,
	                       .templates_dir = "templates",
	                       .on_event = main_on_event,
	                       .color = isatty(STDOUT_FILENO)};
	if (reloader_init(&ro, err, sizeof(err)) < 0) {
		fprintf(stderr, "cotdev run: %s\n", err);
		return 1;
	}
	snprintf(main_inc, sizeof(main_inc), "%s", inc);
	if (editor_refresh(inc) != 0)
		fprintf(stderr, "cotdev run: cannot write compile_commands.json or .clangd: %s\n",
		        strerror(errno));
	main_editor_ready = true;
	cfg.before_route = reloader_sync;
	con.host = cfg.host;
	con.log_to_terminal = cfg.access_log == NULL && cfg.log_format == ACCESSLOG_TEXT &&
	                      !cfg.quiet && isatty(STDOUT_FILENO);
	con.db_path = main_db_path;
	console_init(&con);
	cfg.dev_special = console_special;
	cfg.dev_finish = console_finish;
	cfg.dev_begin = console_begin;
	cfg.static_dir = "static";
	if (render_init("templates") != 0) {
		fprintf(stderr, "cotdev run: out of memory\n");
		return 1;
	}
	crash_contains_hook = main_trace_contains;
	trace_lookup_hook = main_trace_lookup;
	if (crash_init(cfg.timeout_ms) != 0) {
		fprintf(stderr, "cotdev run: cannot install crash handlers\n");
		reloader_shutdown();
		return 1;
	}
	server *s = server_start(&cfg, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "cotdev run: %s\n", err);
		reloader_shutdown();
		return 1;
	}
	reloader_start();
	printf("cot dev server on http://%s:%d/ (app: %s)\n", cfg.host, server_port(s), dir);
	console_started(cfg.host, server_port(s));
	fflush(stdout);

	int sig = server_wait_stop(&sigs);
	printf("stopping (%s): finishing requests in flight\n",
	       sig == SIGINT ? "interrupt" : "terminate");
	fflush(stdout);
	livereload_shutdown(); /* no suspended streams may outlive MHD */
	console_shutdown();    /* its replay thread may be talking to the server */
	long left = server_drain(s, cfg.drain_timeout_ms, &sigs);
	if (left > 0)
		printf("drain: %ld request%s still running after %d ms; stopping anyway\n", left,
		       left == 1 ? "" : "s", cfg.drain_timeout_ms);
	if (server_stop(s, MAIN_STOP_MS) != 0) {
		/* a worker stuck in a handler: nothing it may use can be freed */
		printf("exiting without the stuck handler threads (they cannot be stopped "
		       "safely)\n");
		fflush(stdout);
		_exit(0);
	}
	db_shutdown();
	crash_shutdown();
	reloader_shutdown();
	sqlcheck_pg_stop();
	render_shutdown();
	editor_shutdown();
	return 0;
}

/* ==== cotdev check / routes ============================================ */

/* The database `cotdev check` prepares against, as a path that stays valid
 * after main_enter_app's chdir (a URL as it is); NULL: the app's app.db. */
static const char *
main_check_db(const char *db, char *buf, size_t len)
{
	if (db == NULL || db[0] == '/' || DBPG_IS_URL(db))
		return db;
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL || (size_t)snprintf(buf, len, "%s/%s", cwd, db) >= len)
		return db;
	return buf;
}

/* Points the SQL check at db; on PostgreSQL, at schema.sql loaded into a
 * scratch schema (sqlcheck_pg.c). -1 after saying why it cannot. */
static int
main_check_start(const char *db)
{
	if (db == NULL)
		return 0;
	if (!DBPG_IS_URL(db)) {
		sqlcheck_db_path = db;
		return 0;
	}
	char *schema = file_read("schema.sql", NULL), *why = NULL;
	int rc = sqlcheck_pg_start(db, schema, &why);
	if (rc != 0)
		fprintf(stderr, "cotdev: the SQL check on PostgreSQL: %s\n",
		        why ? why : "out of memory");
	free(why);
	free(schema);
	return rc;
}

static int
main_compile_once(int argc, char **argv, const char *usage, bool list)
{
	if (main_wants_help(argc, argv))
		return main_usage(usage, 0);
	const char *db_flag = NULL;
	if (argc >= 3 && strcmp(argv[1], "--db") == 0) {
		db_flag = argv[2];
		argc -= 2;
		argv += 2;
	} else if (argc >= 2 && strncmp(argv[1], "--db=", 5) == 0) {
		db_flag = argv[1] + 5;
		argc--;
		argv++;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return main_usage(usage, 2);
	char db_abs[PATH_MAX];
	const char *db = main_check_db(sqlcheck_pg_choose(db_flag), db_abs, sizeof(db_abs));
	if (main_enter_app(argc == 2 ? argv[1] : ".") != 0)
		return 1;
	char inc[PATH_MAX], err[1024];
	main_include_dir(inc, sizeof(inc));
	if (main_check_start(db) != 0)
		return 1;
	/* check prints problems only: no line per file that compiled */
	reloader_options ro = {.handlers_dir = "handlers",
	                       .lib_dir = "lib",
	                       .include_dir = inc,
	                       .color = isatty(STDOUT_FILENO),
	                       .quiet_reloads = true};
	int failed = reloader_init(&ro, err, sizeof(err));
	if (failed < 0) {
		fprintf(stderr, "cotdev: %s\n", err);
		return 1;
	}
	int files = reloader_file_count();
	if (list)
		reloader_routes(stdout);
	else if (failed == 0)
		printf("checked %d file%s: all compiled\n", files, files == 1 ? "" : "s");
	else
		printf("checked %d file%s: %d failed\n", files, files == 1 ? "" : "s", failed);
	reloader_shutdown();
	sqlcheck_pg_stop();
	return failed > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return main_usage(usage_main, 2);
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
		return main_usage(usage_main, 0);
	/* every command but migrate compiles or scaffolds from the headers */
	static const char *const with_headers[] = {"new", "run", "check", "routes", "export"};
	for (size_t i = 0; i < sizeof(with_headers) / sizeof(with_headers[0]); i++)
		if (strcmp(cmd, with_headers[i]) == 0 && !main_home_ok())
			return 1;
	if (strcmp(cmd, "new") == 0)
		return main_new(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0)
		return main_run(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return main_compile_once(argc - 1, argv + 1, usage_check, false);
	if (strcmp(cmd, "routes") == 0)
		return main_compile_once(argc - 1, argv + 1, usage_routes, true);
	if (strcmp(cmd, "migrate") == 0)
		return migrate_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "export") == 0)
		return export_main(argc - 1, argv + 1, main_home());
	fprintf(stderr, "cotdev: unknown command \"%s\"\n\n", cmd);
	return main_usage(usage_main, 2);
}
