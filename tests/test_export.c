/*
 * test_export.c -- `cotdev export` end to end: build an app made by
 * `cotdev new` into a binary, then drive that binary over HTTP.
 *
 * usage: test_export COTDEV     (e.g. build/cotdev; COT_HOME as for cotdev)
 *
 * Checks: the binary links neither libtcc nor libinotifytools; it answers
 * like the dev server (hello, 404, 405) without the dev server's extras
 * (/_cot/ paths, the live-reload script); two handler files may define the
 * same non-static helper, as in development; embedded files are listed and
 * carried; SIGTERM lets a slow request finish and exits 0; two processes
 * share a port; compile errors and route conflicts fail the export with
 * "handlers/x.c:LINE:COL: error:" and a non-zero exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build_app.h"
#include "raw.h"
#include "t.h"

/* A response is read to the server's close within 10 s (/slow takes 1.2). */
#define READ_MS 10000.0

static char tmpdir[256];
static const char *cotdev;
static int last_exit; /* exit status of an app that stopped while starting */

/* ==== helpers ========================================================== */

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts `bin --port PORT --db DB [EXTRA]`, output into log; returns the
 * port it printed, or -1 (the process may then have exited). */
static int
start_app_db(const char *bin, int port, const char *log, pid_t *pid, const char *db,
             const char *extra)
{
	char portarg[16];
	snprintf(portarg, sizeof(portarg), "%d", port);
	unlink(log); /* never read the URL line of an earlier run */
	*pid = fork();
	if (*pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "--port", portarg, "--db", db, extra, (char *)NULL);
		_exit(127);
	}
	for (double t0 = now_s(); now_s() - t0 < 10;) {
		char buf[4096] = {0};
		FILE *f = fopen(log, "r");
		if (f != NULL) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			fclose(f);
		}
		const char *p = strstr(buf, "cot app on http://127.0.0.1:");
		if (p != NULL && strchr(p, '\n') != NULL)
			return atoi(p + strlen("cot app on http://127.0.0.1:"));
		int st;
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			last_exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return -1;
		}
		usleep(20000);
	}
	return -1;
}

static int
start_app(const char *bin, int port, const char *log, pid_t *pid)
{
	char db[300];
	snprintf(db, sizeof(db), "%s/app.db", tmpdir);
	return start_app_db(bin, port, log, pid, db, NULL);
}

/* One request with Connection: close; the whole response into out. */
static void
http(int port, const char *method, const char *path, char *out, size_t outlen)
{
	out[0] = '\0';
	int fd = raw_connect(port, NULL);
	if (fd < 0)
		return;
	char req[512];
	int n = snprintf(req, sizeof(req),
	                 "%s %s HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n"
	                 "Connection: close\r\n\r\n",
	                 method, path);
	if (raw_send(fd, req, (size_t)n) == 0)
		raw_read_all(fd, out, outlen, READ_MS);
	close(fd);
}

static const char *
body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");
	return p ? p + 4 : "";
}

static int
exit_code_of(pid_t pid)
{
	int st;
	for (double t0 = now_s(); now_s() - t0 < 30; usleep(10000))
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Whether text holds "PREFIX<digits>: error:" (PREFIX is "file:line:"). */
static int
has_error_at(const char *text, const char *prefix)
{
	for (const char *p = strstr(text, prefix); p != NULL; p = strstr(p + 1, prefix)) {
		const char *q = p + strlen(prefix);
		if (*q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		if (strncmp(q, ": error:", 8) == 0)
			return 1;
	}
	printf("# no \"%sCOL: error:\" in:\n%s\n", prefix, text);
	return 0;
}

/* ==== the app under test =============================================== */

static const char slow_c[] =
        "#include <cot.h>\n#include <unistd.h>\n"
        "int shared_helper(void) { return 1; }\n"
        "static cot_result slow(cot_ctx *c)\n{\n\tusleep(1200000);\n"
        "\treturn cot_text(c, 200, \"slow done %d\\n\", shared_helper());\n}\n"
        "COT_ROUTES(COT_GET(\"/slow\", slow), COT_POST(\"/only-post\", slow),)\n";
static const char other_c[] = "#include <cot.h>\n"
                              "int shared_helper(void) { return 2; }\n"
                              "static cot_result other(cot_ctx *c) { return cot_text(c, 200, "
                              "\"%d\\n\", shared_helper()); }\n"
                              "COT_ROUTES(COT_GET(\"/other\", other),)\n";
static const char crash_c[] = "#include <cot.h>\n"
                              "static int deref(int *p)\n{\n"
                              "\treturn *p + 1; /* line 4 */\n}\n"
                              "static cot_result boom(cot_ctx *c)\n{\n\tint *volatile p = 0;\n"
                              "\treturn cot_text(c, 200, \"%d\\n\", deref(p));\n}\n"
                              "COT_ROUTES(COT_GET(\"/boom\", boom),)\n";
static const char util_c[] = "int util_twice(int x) { return 2 * x; }\n";

/* What `cotdev new` gets besides: files that exercise what the export must
 * handle. The scaffold's notes table in schema.sql: the export prepares
 * handlers/notes.c's SQL against it, as cotdev run does at reload. */
static const build_app_file app_files[] = {
        {"handlers/slow.c", slow_c, false},
        {"handlers/other.c", other_c, false},
        {"handlers/util.c", util_c, false},
        {"handlers/crash.c", crash_c, false},
        {"templates/page.html", "<p>{{who}} EMBEDDED-TEMPLATE-MARK</p>\n", false},
        {"static/css/app.css", "body{color:#123} /* EMBEDDED-CSS-MARK */\n", false},
        {"schema.sql",
         "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT "
         "NULL, body TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT "
         "CURRENT_TIMESTAMP); -- MARK\n",
         false},
        {NULL, NULL, false},
};

/* ==== checks =========================================================== */

static void
check_build(const char *app, const char *bin)
{
	char out[16384];
	int rc = build_app_export(cotdev, app, bin, out, sizeof(out));
	T_CHECK("export exits 0", rc == 0);
	T_CHECK("export prints size and time",
	        strstr(out, "binary size") != NULL && strstr(out, " s\n") != NULL);
	char said[1024] = "";
	const char *needs = strstr(out, "the server needs these Debian packages: ");
	if (needs != NULL)
		snprintf(said, sizeof(said), "%.*s", (int)strcspn(needs + 40, "\n"), needs + 40);
	build_app_run(out, sizeof(out), "ldd %s", bin);
	T_CHECK("ldd: no libtcc, no inotifytools", strstr(out, "libmicrohttpd") != NULL &&
	                                                   strstr(out, "tcc") == NULL &&
	                                                   strstr(out, "inotify") == NULL);
	/* docs/deploy.md tells what to install on the server: every library the
	 * binary needs, by its Debian package, must be in that sentence */
	build_app_run(
	        out, sizeof(out),
	        "for l in $(readelf -d %s | sed -n 's/.*NEEDED.*\\[\\(.*\\)\\]/\\1/p' | "
	        "grep -v '^libc\\.so'); do p=$(dpkg -S \"*/$l\" | head -1 | cut -d: -f1); "
	        "[ -n \"$p\" ] && tr '\\n' ' ' < docs/deploy.md | grep -q \"Debian: [^)]*$p\" && "
	        "echo \"ok $p\" || echo \"missing $l ($p)\"; done",
	        bin);
	T_CHECK("docs/deploy.md names the Debian package of every library the binary links",
	        strstr(out, "ok libmicrohttpd12") != NULL && strstr(out, "missing") == NULL);
	if (strstr(out, "ok libmicrohttpd12") == NULL || strstr(out, "missing") != NULL)
		printf("# %s", out);
	/* ... and the export says the same packages, in the same order */
	char want[1024] = "";
	for (char *l = out; (l = strstr(l, "ok ")) != NULL; l += 3)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%.*s",
		         *want ? " " : "", (int)strcspn(l + 3, "\n"), l + 3);
	T_STREQ("export names the Debian packages the server needs", said, want);
	build_app_run(out, sizeof(out), "nm %s | grep -ci 'tcc_\\|inotify'", bin);
	T_STREQ("nm: no tcc_ or inotify symbols", out, "0\n");
	build_app_run(out, sizeof(out), "%s --list-files", bin);
	T_CHECK("embedded files listed", strstr(out, "templates/page.html") &&
	                                         strstr(out, "static/css/app.css") &&
	                                         strstr(out, "schema.sql"));
	build_app_run(out, sizeof(out), "grep -c 'EMBEDDED-CSS-MARK' %s", bin);
	T_STREQ("static file bytes are in the binary", out, "1\n");
	build_app_run(out, sizeof(out), "%s --help", bin);
	T_CHECK("--help lists the flags", strstr(out, "--host") && strstr(out, "--port") &&
	                                          strstr(out, "--threads") && strstr(out, "--db") &&
	                                          strstr(out, "--allow-destructive"));
}

static void
check_http(int port)
{
	static char r[65536];
	http(port, "GET", "/hello/world", r, sizeof(r));
	T_CHECK("GET /hello/world is 200", strncmp(r, "HTTP/1.1 200", 12) == 0);
	T_STREQ("GET /hello/world body", body_of(r), "Hello, world!\n");
	http(port, "GET", "/other", r, sizeof(r));
	T_STREQ("same non-static helper in two files: each keeps its own", body_of(r), "2\n");
	http(port, "GET", "/nope", r, sizeof(r));
	T_CHECK("unknown path is 404", strncmp(r, "HTTP/1.1 404", 12) == 0);
	http(port, "DELETE", "/hello/world", r, sizeof(r));
	T_CHECK("wrong method is 405", strncmp(r, "HTTP/1.1 405", 12) == 0);
	T_CHECK("405 has Allow", strstr(r, "Allow: GET") != NULL);
	http(port, "GET", "/boom", r, sizeof(r));
	T_CHECK("a crashing handler answers 500", strncmp(r, "HTTP/1.1 500", 12) == 0);
	T_CHECK("the client sees the request id", strstr(body_of(r), "request ") != NULL);
	T_CHECK("the client sees no trace or source location",
	        strstr(body_of(r), "handlers/") == NULL && strstr(body_of(r), "frames") == NULL);
	http(port, "GET", "/hello/world", r, sizeof(r));
	T_CHECK("after a crash the export keeps serving", strncmp(r, "HTTP/1.1 200", 12) == 0);
	http(port, "GET", "/_cot/events", r, sizeof(r));
	T_CHECK("/_cot/events is 404 in the export", strncmp(r, "HTTP/1.1 404", 12) == 0);
	http(port, "GET", "/", r, sizeof(r));
	T_CHECK("GET / is HTML",
	        strncmp(r, "HTTP/1.1 200", 12) == 0 && strstr(r, "text/html") != NULL);
	T_CHECK("no live-reload script in HTML",
	        strstr(r, "/_cot/") == NULL && strstr(r, "EventSource") == NULL);
}

/* A request in flight when SIGTERM arrives completes; exit status 0. */
static void
check_drain(pid_t pid, int port, const char *log)
{
	static char r[4096], out[8192];
	int fd = raw_connect(port, NULL);
	const char req[] = "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	T_CHECK("slow request sent", fd >= 0 && raw_send(fd, req, sizeof(req) - 1) == 0);
	usleep(300000);
	kill(pid, SIGTERM);
	if (fd >= 0)
		raw_read_all(fd, r, sizeof(r), READ_MS);
	close(fd);
	T_CHECK("SIGTERM: the slow request completes with 200",
	        strncmp(r, "HTTP/1.1 200", 12) == 0);
	T_STREQ("SIGTERM: the slow request's body", body_of(r), "slow done 1\n");
	T_CHECK("SIGTERM: exit status 0", exit_code_of(pid) == 0);
	build_app_run(out, sizeof(out), "cat %s", log);
	T_CHECK("one access-log line per request",
	        strstr(out, "GET /hello/world 200") && strstr(out, "GET /nope 404"));
	T_CHECK("the log has the crash's trace, symbolized with libdw at its line",
	        strstr(out, "GET /boom (request ") && strstr(out, "handlers/crash.c:4 "));
}

/* SO_REUSEPORT: a second process binds the port of the first. */
static void
check_reuse_port(const char *bin)
{
	char log1[300], log2[300], r[4096];
	pid_t a, b;
	snprintf(log1, sizeof(log1), "%s/reuse1.log", tmpdir);
	snprintf(log2, sizeof(log2), "%s/reuse2.log", tmpdir);
	int port = start_app(bin, 0, log1, &a);
	int port2 = port > 0 ? start_app(bin, port, log2, &b) : -1;
	T_CHECK("two processes listen on one port", port > 0 && port2 == port);
	http(port, "GET", "/hello/world", r, sizeof(r));
	T_STREQ("the shared port answers", body_of(r), "Hello, world!\n");
	if (port > 0) {
		kill(a, SIGTERM);
		T_CHECK("first process exits 0", exit_code_of(a) == 0);
	}
	if (port2 > 0) {
		kill(b, SIGTERM);
		T_CHECK("second process exits 0", exit_code_of(b) == 0);
	}
}

/* schema.sql: applied at start; destructive changes refused unless allowed. */
static void
check_schema(const char *bin)
{
	char db[300], log[300], out[4096];
	pid_t pid;
	snprintf(db, sizeof(db), "%s/schema.db", tmpdir);
	snprintf(log, sizeof(log), "%s/schema.log", tmpdir);
	int port = start_app_db(bin, 0, log, &pid, db, NULL);
	T_CHECK("schema: a new database starts", port > 0);
	if (port > 0) {
		kill(pid, SIGTERM);
		exit_code_of(pid);
	}
	build_app_run(out, sizeof(out), "sqlite3 %s .tables", db);
	T_CHECK("schema: schema.sql's table was created", strstr(out, "notes") != NULL);
	int made = build_app_run(out, sizeof(out), "sqlite3 %s 'CREATE TABLE legacy (x)'", db);
	T_CHECK("schema: a table schema.sql does not declare is added", made == 0);
	if (made != 0)
		printf("# %s\n", out);
	port = start_app_db(bin, 0, log, &pid, db, NULL);
	int code = port > 0 ? (kill(pid, SIGTERM), exit_code_of(pid)) : last_exit;
	build_app_run(out, sizeof(out), "cat %s", log);
	T_CHECK("schema: destructive change refuses to start", port < 0 && code == 1);
	if (!(port < 0 && code == 1))
		printf("# port %d, exit %d: %s\n", port, code, out);
	T_CHECK("schema: the refusal says why and what to do",
	        strstr(out, "legacy") != NULL && strstr(out, "--allow-destructive") != NULL);
	port = start_app_db(bin, 0, log, &pid, db, "--allow-destructive");
	T_CHECK("schema: --allow-destructive starts", port > 0);
	if (port > 0) {
		kill(pid, SIGTERM);
		exit_code_of(pid);
	}
	build_app_run(out, sizeof(out), "sqlite3 %s .tables", db);
	T_CHECK("schema: --allow-destructive dropped the table", strstr(out, "legacy") == NULL);

	/* A start that cannot bind must not have migrated the database first:
	 * the process it was meant to replace may still be serving from it.
	 * 192.0.2.1 (TEST-NET-1) is an address no machine here has. */
	snprintf(db, sizeof(db), "%s/nobind.db", tmpdir);
	int rc = build_app_run(out, sizeof(out), "%s --host 192.0.2.1 --port 0 --db %s", bin, db);
	T_CHECK("schema: a start that cannot listen exits 1 and says why",
	        rc == 1 && strstr(out, "cannot listen on 192.0.2.1") != NULL);
	T_CHECK("schema: ... and has not touched the database", access(db, F_OK) != 0);
	if (rc != 1 || access(db, F_OK) == 0)
		printf("# exit %d: %s\n", rc, out);
}

/* A compile error or a route conflict fails the export, like in dev. */
static void
check_errors(const char *app)
{
	char out[16384], bin[300], path[512];
	snprintf(bin, sizeof(bin), "%s/bad-app", tmpdir);
	build_app_write(app, "handlers/broken.c",
	                "#include <cot.h>\n\nstatic int f(void)\n"
	                "{\n\treturn nope;\n}\n",
	                false);
	int rc = build_app_run(out, sizeof(out), "%s export %s -o %s", cotdev, app, bin);
	T_CHECK("compile error: export exits non-zero", rc != 0);
	T_CHECK("compile error: handlers/broken.c:5:COL: error:",
	        has_error_at(out, "handlers/broken.c:5:"));
	T_CHECK("compile error: no binary written", access(bin, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/handlers/broken.c", app);
	unlink(path);

	build_app_write(
	        app, "handlers/dup.c",
	        "#include <cot.h>\nstatic cot_result h(cot_ctx *c)\n"
	        "{ return cot_text(c, 200, \"x\"); }\n\nCOT_ROUTES(COT_GET(\"/other\", h),)\n",
	        false);
	rc = build_app_run(out, sizeof(out), "%s export %s -o %s", cotdev, app, bin);
	T_CHECK("route conflict: export exits non-zero", rc != 0);
	T_CHECK("route conflict: names both files",
	        strstr(out, "handlers/dup.c:5: error: route GET /other is already declared in "
	                    "handlers/other.c") != NULL ||
	                strstr(out,
	                       "handlers/other.c:4: error: route GET /other is already declared in "
	                       "handlers/dup.c") != NULL);
	T_CHECK("route conflict: no binary written", access(bin, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/handlers/dup.c", app);
	unlink(path);

	/* SQL that does not prepare is a reload error in cotdev run: the
	 * file's routes answer 500. The export must not ship it. */
	build_app_write(
	        app, "handlers/typo.c",
	        "#include <cot.h>\nstatic cot_result h(cot_ctx *c)\n"
	        "{\n\tcot_db_exec(c, \"UPDATE notes SET titel = 1\");\n"
	        "\treturn cot_text(c, 200, \"x\");\n}\n\nCOT_ROUTES(COT_GET(\"/typo\", h),)\n",
	        false);
	rc = build_app_run(out, sizeof(out), "%s export %s -o %s", cotdev, app, bin);
	T_CHECK("SQL error: export exits non-zero", rc != 0);
	T_CHECK("SQL error: handlers/typo.c:4: no such column: titel",
	        strstr(out, "handlers/typo.c:4: no such column: titel") != NULL);
	if (strstr(out, "handlers/typo.c:4: no such column: titel") == NULL)
		printf("# %s\n", out);
	T_CHECK("SQL error: no binary written", access(bin, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/handlers/typo.c", app);
	unlink(path);

	/* A compiler that dies says nothing; the export must still say which
	 * job ended how, not only "N files failed to compile". */
	char fake[400];
	snprintf(fake, sizeof(fake), "%s/fakebin", tmpdir);
	mkdir(fake, 0755);
	build_app_run(out, sizeof(out),
	              "printf '#!/bin/sh\\nkill -9 $$\\n' > %s/gcc; chmod +x %s/gcc", fake, fake);
	rc = build_app_run(out, sizeof(out), "PATH=%s:$PATH %s export %s -o %s", fake, cotdev, app,
	                   bin);
	T_CHECK("killed compiler: export exits non-zero", rc != 0);
	T_CHECK("killed compiler: says the job was killed by signal 9",
	        strstr(out, "killed by signal 9") != NULL);
	if (strstr(out, "killed by signal 9") == NULL)
		printf("# %s\n", out);
	T_CHECK("killed compiler: no binary written", access(bin, F_OK) != 0);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_export COTDEV\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	cotdev = argv[1];
	/* the binaries below need an app secret to start (secret.c) */
	setenv("COT_SECRET", "test-export-secret-0123456789abcdef0123456789", 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cot-test-export-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	char app[300], bin[300], log[300], out[300];
	snprintf(app, sizeof(app), "%s/app", tmpdir);
	snprintf(bin, sizeof(bin), "%s/bin/app", tmpdir);
	snprintf(log, sizeof(log), "%s/app.log", tmpdir);
	snprintf(out, sizeof(out), "%s/bin", tmpdir);
	mkdir(out, 0755);
	if (build_app_new(cotdev, app, app_files) != 0)
		return 1;
	check_build(app, bin);
	pid_t pid;
	int port = start_app(bin, 0, log, &pid);
	T_CHECK("--port 0 prints \"cot app on http://127.0.0.1:PORT/\"", port > 0);
	if (port > 0) {
		check_http(port);
		check_drain(pid, port, log);
	}
	check_reuse_port(bin);
	check_schema(bin);
	check_errors(app);
	build_app_run(out, sizeof(out), "rm -rf %s", tmpdir);
	return T_DONE();
}
