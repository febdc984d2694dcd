/*
 * test_libs.c -- C libraries (COT_LIBS) and shared lib/ code, the same in
 * `cotdev run` (plain and sanitized) and the exported binary:
 *
 *   - an app calling libsodium (crypto_pwhash_str), zlib (compress /
 *     uncompress) and libcurl (a request to a second server, which this
 *     test runs on a thread) answers the same everywhere;
 *   - lib/util.c is shared by two handlers through lib/util.h;
 *   - a file using a library it does not declare -- zlib, or nettle, which
 *     cotdev itself loads through libmicrohttpd -- is refused with the file,
 *     line and library to declare: by the dev server, `cotdev check` and
 *     `cotdev export`; an unknown pkg-config name names the -dev package;
 *   - dev only: lib/util.c edited under load from two client threads, then
 *     broken and fixed: no failed and no stale answers, the broken file's
 *     error (lib/util.c:LINE) on both handlers' routes, other routes serving;
 *   - the export's package line lists libsodium23, zlib1g and libcurl;
 *   - a handler's include path holds cot's public headers only: lib/server.h,
 *     lib/task.h and glibc's <error.h> are found, not a runtime header of the
 *     same name (runtime/ has a server.h, task.h and error.h of its own);
 *   - libc needs no declaration even where glibc binds it to the vDSO:
 *     time(), gettimeofday() and clock_gettime() (regression: they were
 *     once refused as symbols of linux-vdso.so.1).
 *
 * usage: test_libs COTDEV | test_libs export:COTDEV
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "t.h"

/* Where tcc reports the missing ';' of the broken lib/util.c. */
#define BROKEN_AT "lib/util.c:6:"

static h_target target;
static h_server srv;
static char app[4096];
static const char *cotdev;

/* ==== the second server (libcurl's peer) =============================== */

static int peer_fd = -1;
static int peer_port;

static void *
peer_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(peer_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char buf[4096];
		ssize_t n = read(c, buf, sizeof(buf) - 1);
		(void)n;
		static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		                             "Content-Length: 11\r\nConnection: close\r\n\r\n"
		                             "peer says 7";
		if (write(c, answer, sizeof(answer) - 1) < 0)
			perror("peer");
		close(c);
	}
}

static int
peer_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	peer_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (peer_fd < 0 || bind(peer_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(peer_fd, 64) != 0 || getsockname(peer_fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	peer_port = ntohs(a.sin_port);
	pthread_t t;
	if (pthread_create(&t, NULL, peer_main, NULL) != 0)
		return -1;
	pthread_detach(t);
	return 0;
}

/* ==== the app ========================================================== */

static const char util_h[] = "/* shared by handlers/a.c and handlers/b.c */\n"
                             "int twice(int x);\n"
                             "const char *util_version(void);\n"
                             "int util_deref(int *p);\n";

static char *
util_c(char *buf, size_t len, int version, bool broken)
{
	snprintf(buf, len,
	         "#include \"util.h\"\n"
	         "\n"
	         "int\n"
	         "twice(int x)\n"
	         "{\n"
	         "\treturn 2 * x%s\n"
	         "}\n"
	         "\n"
	         "const char *\n"
	         "util_version(void)\n"
	         "{\n"
	         "\treturn \"v%d\";\n"
	         "}\n"
	         "\n"
	         "int\n"
	         "util_deref(int *p)\n"
	         "{\n"
	         "\treturn *p;\n"
	         "}\n",
	         broken ? "" : ";", version);
	return buf;
}

static const char user_a[] =
        "#include <cot.h>\n"
        "#include \"../lib/util.h\"\n"
        "\n"
        "static cot_result\n"
        "a(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"a %d %s\\n\", twice(21), util_version());\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "crash(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"%d\\n\", util_deref(NULL));\n"
        "}\n"
        "\n"
        "COT_ROUTES(COT_GET(\"/a\", a), COT_GET(\"/a/crash\", crash),)\n";

static const char user_b[] =
        "#include <cot.h>\n"
        "#include \"../lib/util.h\"\n"
        "\n"
        "static cot_result\n"
        "b(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"b %d %s\\n\", twice(5), util_version());\n"
        "}\n"
        "\n"
        "COT_ROUTES(COT_GET(\"/b\", b),)\n";

static const char crypto_c[] =
        "#include <cot.h>\n"
        "#include <sodium.h>\n"
        "#include <zlib.h>\n"
        "#include <curl/curl.h>\n"
        "\n"
        "COT_LIBS(\"libsodium\", \"zlib\")\n"
        "COT_LIBS(\"libcurl\")\n"
        "\n"
        "static cot_result\n"
        "pwhash(cot_ctx *c)\n"
        "{\n"
        "\tchar hash[crypto_pwhash_STRBYTES];\n"
        "\tconst char *pw = cot_param(c, \"pw\");\n"
        "\tif (sodium_init() < 0)\n"
        "\t\treturn cot_fail(c, 500, \"sodium_init failed\");\n"
        "\tif (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN,\n"
        "\t                      crypto_pwhash_MEMLIMIT_MIN) != 0)\n"
        "\t\treturn cot_fail(c, 500, \"out of memory\");\n"
        "\treturn cot_text(c, 200, \"%.10s verify=%d wrong=%d\\n\", hash,\n"
        "\t                crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0,\n"
        "\t                crypto_pwhash_str_verify(hash, \"nope\", 4) == 0);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "zip(cot_ctx *c)\n"
        "{\n"
        "\tconst char *text = cot_param(c, \"text\");\n"
        "\tunsigned char packed[512];\n"
        "\tchar back[512];\n"
        "\tuLongf np = sizeof(packed), nb = sizeof(back);\n"
        "\tif (compress(packed, &np, (const Bytef *)text, strlen(text)) != Z_OK ||\n"
        "\t    uncompress((Bytef *)back, &nb, packed, np) != Z_OK)\n"
        "\t\treturn cot_fail(c, 500, \"zlib failed\");\n"
        "\treturn cot_text(c, 200, \"%lu bytes -> %lu -> %.*s\\n\", (unsigned long)strlen(text),\n"
        "\t                (unsigned long)np, (int)nb, back);\n"
        "}\n"
        "\n"
        "typedef struct sink { cot_ctx *c; char *buf; size_t len; } sink;\n"
        "\n"
        "static size_t\n"
        "on_data(char *p, size_t size, size_t n, void *arg)\n"
        "{\n"
        "\tsink *s = arg;\n"
        "\tchar *nb = cot_alloc(s->c, s->len + size * n + 1);\n"
        "\tmemcpy(nb, s->buf, s->len);\n"
        "\tmemcpy(nb + s->len, p, size * n);\n"
        "\ts->buf = nb;\n"
        "\ts->len += size * n;\n"
        "\treturn size * n;\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "fetch(cot_ctx *c)\n"
        "{\n"
        "\tchar url[128];\n"
        "\tsnprintf(url, sizeof(url), \"http://127.0.0.1:%s/\", cot_param(c, \"port\"));\n"
        "\tsink s = { c, \"\", 0 };\n"
        "\tCURL *h = curl_easy_init();\n"
        "\tcurl_easy_setopt(h, CURLOPT_URL, url);\n"
        "\tcurl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);\n"
        "\tcurl_easy_setopt(h, CURLOPT_WRITEDATA, &s);\n"
        "\tCURLcode rc = curl_easy_perform(h);\n"
        "\tlong status = 0;\n"
        "\tcurl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);\n"
        "\tcurl_easy_cleanup(h);\n"
        "\tif (rc != CURLE_OK)\n"
        "\t\treturn cot_fail(c, 502, \"%s\", curl_easy_strerror(rc));\n"
        "\treturn cot_text(c, 200, \"%ld %.*s\\n\", status, (int)s.len, s.buf);\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/pwhash/:pw\", pwhash),\n"
        "\tCOT_GET(\"/zip/:text\", zip),\n"
        "\tCOT_GET(\"/fetch/:port\", fetch),\n"
        ")\n";

/* Headers named like the runtime's own: only cot's include/ is on the
 * handlers' path, so "server.h" and "task.h" are lib/'s and <error.h> is
 * glibc's (its guard is _ERROR_H; its error_one_per_line an int). */
static const char server_h[] = "#define LIB_SERVER_NAME \"lib-server\"\n";
static const char task_h[] = "#define LIB_TASK_NAME \"lib-task\"\n";
static const char names_c[] =
        "#include <cot.h>\n"
        "#include <error.h>\n"
        "#include \"server.h\"\n"
        "#include \"task.h\"\n"
        "#ifndef _ERROR_H\n"
        "#error \"<error.h> is not glibc's\"\n"
        "#endif\n"
        "\n"
        "static cot_result\n"
        "names(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"%s %s error.h %d\\n\", LIB_SERVER_NAME, LIB_TASK_NAME,\n"
        "\t                sizeof(error_one_per_line) == sizeof(int));\n"
        "}\n"
        "\n"
        "COT_ROUTES(COT_GET(\"/names\", names),)\n";

/* libc functions that glibc answers from the vDSO (time and gettimeofday
 * are IFUNCs resolving into linux-vdso.so.1), plus libpthread's: part of
 * the C library, so no COT_LIBS. Answers the three clocks' seconds. */
static const char clock_c[] =
        "#include <cot.h>\n"
        "#include <pthread.h>\n"
        "#include <sys/time.h>\n"
        "#include <time.h>\n"
        "\n"
        "static cot_result\n"
        "clocks(cot_ctx *c)\n"
        "{\n"
        "\tstruct timeval tv;\n"
        "\tstruct timespec ts, mono;\n"
        "\ttime_t t = time(NULL);\n"
        "\tif (gettimeofday(&tv, NULL) != 0 || clock_gettime(CLOCK_REALTIME, &ts) != 0 ||\n"
        "\t    clock_gettime(CLOCK_MONOTONIC, &mono) != 0)\n"
        "\t\treturn cot_fail(c, 500, \"a clock failed\");\n"
        "\treturn cot_text(c, 200, \"time %lld gettimeofday %lld clock_gettime %lld thread "
        "%d\\n\",\n"
        "\t                (long long)t, (long long)tv.tv_sec, (long long)ts.tv_sec,\n"
        "\t                pthread_self() != 0);\n"
        "}\n"
        "\n"
        "COT_ROUTES(COT_GET(\"/clock\", clocks),)\n";

/* Uses zlib without declaring it (cotdev loads libz through libdw). */
static const char undeclared_zlib[] = "#include <cot.h>\n"
                                      "#include <zlib.h>\n"
                                      "\n"
                                      "static cot_result\n"
                                      "z(cot_ctx *c)\n"
                                      "{\n"
                                      "\tunsigned char out[64];\n"
                                      "\tuLongf n = sizeof(out);\n"
                                      "\tcompress(out, &n, (const Bytef *)\"x\", 1);\n"
                                      "\treturn cot_text(c, 200, \"%d\\n\", (int)n);\n"
                                      "}\n"
                                      "\n"
                                      "COT_ROUTES(COT_GET(\"/undeclared\", z),)\n";

/* nettle: loaded by cotdev through libmicrohttpd -> gnutls, never declared. */
static const char undeclared_nettle[] = "#include <cot.h>\n"
                                        "\n"
                                        "void nettle_sha256_init(void *ctx);\n"
                                        "\n"
                                        "static cot_result\n"
                                        "n(cot_ctx *c)\n"
                                        "{\n"
                                        "\tchar ctx[256];\n"
                                        "\tnettle_sha256_init(ctx);\n"
                                        "\treturn cot_text(c, 200, \"hashed\\n\");\n"
                                        "}\n"
                                        "\n"
                                        "COT_ROUTES(COT_GET(\"/nettle\", n),)\n";

static const char unknown_pkg[] =
        "#include <cot.h>\n"
        "COT_LIBS(\"libnosuchthing\")\n"
        "static cot_result u(cot_ctx *c) { return cot_text(c, 200, \"u\\n\"); }\n"
        "COT_ROUTES(COT_GET(\"/unknown\", u),)\n";

/* A -lNAME that is not installed: the load error says why. */
static const char noload[] =
        "#include <cot.h>\n"
        "COT_LIBS(\"-lnosuchlib\")\n"
        "static cot_result u(cot_ctx *c) { return cot_text(c, 200, \"u\\n\"); }\n"
        "COT_ROUTES(COT_GET(\"/noload\", u),)\n";

static int
make_app(void)
{
	char path[4200], src[1024];
	if (h_scaffold(&target, app, sizeof(app)) != 0)
		return -1;
	mkdir(h_path(path, sizeof(path), "%s/lib", app), 0755);
	h_write_app_file(app, "lib/util.h", util_h);
	h_write_app_file(app, "lib/util.c", util_c(src, sizeof(src), 1, false));
	h_write_app_file(app, "handlers/a.c", user_a);
	h_write_app_file(app, "handlers/b.c", user_b);
	h_write_app_file(app, "handlers/crypto.c", crypto_c);
	h_write_app_file(app, "handlers/clock.c", clock_c);
	h_write_app_file(app, "lib/server.h", server_h);
	h_write_app_file(app, "lib/task.h", task_h);
	h_write_app_file(app, "handlers/names.c", names_c);
	return 0;
}

/* ==== checks =========================================================== */

static bool
body_has(const char *path, long status, const char *needle)
{
	h_resp r;
	long st = h_get(&srv, path, &r);
	bool ok = st == status && r.body != NULL && strstr(r.body, needle) != NULL;
	if (!ok)
		printf("# GET %s -> %ld %s\n", path, st, r.body ? r.body : r.err);
	h_resp_free(&r);
	return ok;
}

/* The clocks /clock read lie between the test's own reads around it. */
static bool
clocks_answer(void)
{
	h_resp r;
	/* time() reads the kernel's coarse clock, which lags gettimeofday and
	 * clock_gettime by up to a tick: the bounds are the coarse clock
	 * before (never above any later reading) and the fine one after (never
	 * below any earlier one). */
	time_t before = time(NULL);
	long st = h_get(&srv, "/clock", &r);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	time_t after = now.tv_sec;
	long long t[3] = {0, 0, 0};
	int thread = 0;
	bool ok = st == 200 && r.body != NULL &&
	          sscanf(r.body, "time %lld gettimeofday %lld clock_gettime %lld thread %d", &t[0],
	                 &t[1], &t[2], &thread) == 4 &&
	          thread == 1;
	for (int i = 0; i < 3 && ok; i++)
		ok = t[i] >= (long long)before && t[i] <= (long long)after;
	if (!ok)
		printf("# GET /clock [%lld..%lld] -> %ld %s\n", (long long)before, (long long)after,
		       st, r.body ? r.body : r.err);
	h_resp_free(&r);
	return ok;
}

static void
test_libraries(void)
{
	char path[64];
	T_CHECK("libsodium: crypto_pwhash_str and verify",
	        body_has("/pwhash/secret", 200, "$argon2id$ verify=1 wrong=0"));
	T_CHECK("zlib: compress and uncompress",
	        body_has("/zip/hellohellohellohello", 200, "20 bytes -> ") &&
	                body_has("/zip/hellohellohellohello", 200, "-> hellohellohellohello"));
	snprintf(path, sizeof(path), "/fetch/%d", peer_port);
	T_CHECK("libcurl: a request to a second server", body_has(path, 200, "200 peer says 7"));
	T_CHECK("lib/util.c shared by handlers/a.c", body_has("/a", 200, "a 42 v1"));
	T_CHECK("... and handlers/b.c", body_has("/b", 200, "b 10 v1"));
	T_CHECK("libc through the vDSO: time, gettimeofday, clock_gettime, no COT_LIBS",
	        clocks_answer());
	T_CHECK("lib/server.h, lib/task.h and glibc's <error.h>: no runtime header shadows them",
	        body_has("/names", 200, "lib-server lib-task error.h 1"));
}

/* Runs `cotdev ARGS... app`, returns the exit code; output in r. */
static int
run_cotdev(const char *cmd, const char *extra, h_cmd_result *r)
{
	const char *argv[] = {cotdev, cmd, app, extra ? "-o" : NULL, extra, NULL};
	h_run_cmd(argv, H_DEADLINE_MS * 4, r);
	return r->exit_code;
}

static bool
says(const h_cmd_result *r, const char *needle)
{
	bool ok = (r->out && strstr(r->out, needle)) || (r->err && strstr(r->err, needle));
	if (!ok)
		printf("# wanted \"%s\" in:\n%s\n%s\n", needle, r->out ? r->out : "",
		       r->err ? r->err : "");
	return ok;
}

static const char zlib_msg[] =
        "handlers/undeclared.c:9:2: error: undefined symbol 'compress': it is in libz.so.1";
static const char nettle_msg[] =
        "handlers/nettle.c:9:2: error: undefined symbol 'nettle_sha256_init': it is in "
        "libnettle.so.8";

/* Undeclared libraries: refused by the server in development. */
static void
test_undeclared_dev(void)
{
	h_write_app_file(app, "handlers/undeclared.c", undeclared_zlib);
	h_write_app_file(app, "handlers/nettle.c", undeclared_nettle);
	h_write_app_file(app, "handlers/unknown.c", unknown_pkg);
	h_write_app_file(app, "handlers/noload.c", noload);
	T_CHECK("undeclared zlib: 500 naming file:line and COT_LIBS(\"zlib\")",
	        body_has("/undeclared", 500, zlib_msg) &&
	                body_has("/undeclared", 500, "add COT_LIBS(\"zlib\")"));
	T_CHECK("nettle, loaded only through libmicrohttpd: refused too",
	        body_has("/nettle", 500, nettle_msg) &&
	                body_has("/nettle", 500, "add COT_LIBS(\"nettle\")"));
	T_CHECK("unknown package: names the -dev package",
	        body_has("/unknown", 500, "handlers/unknown.c:2:") &&
	                body_has("/unknown", 500, "pkg-config does not know \"libnosuchthing\"") &&
	                body_has("/unknown", 500, "apt-get install libnosuchthing-dev"));
	T_CHECK("-lNAME that does not load: says why",
	        body_has("/noload", 500, "handlers/noload.c:2:") &&
	                body_has("/noload", 500, "no shared library libnosuchlib.so found"));
	T_CHECK("other routes keep serving", body_has("/a", 200, "a 42"));
	T_CHECK("a crash in lib/ code: its trace names lib/util.c:18 util_deref",
	        body_has("/a/crash", 500, "lib/util.c:18 util_deref") &&
	                body_has("/a/crash", 500, "handlers/a.c:13 crash"));
}

/* The same files refused by `cotdev check` and `cotdev export`. */
static void
test_undeclared_tools(void)
{
	char bin[4200];
	h_cmd_result r;
	h_write_app_file(app, "handlers/undeclared.c", undeclared_zlib);
	h_write_app_file(app, "handlers/nettle.c", undeclared_nettle);
	T_CHECK("cotdev check refuses undeclared libraries",
	        run_cotdev("check", NULL, &r) == 1 && says(&r, zlib_msg) && says(&r, nettle_msg));
	h_cmd_result_free(&r);
	h_path(bin, sizeof(bin), "%s/refused-bin", app);
	T_CHECK("cotdev export refuses them with the same messages",
	        run_cotdev("export", bin, &r) != 0 && says(&r, zlib_msg) &&
	                says(&r, "add COT_LIBS(\"zlib\")") && says(&r, nettle_msg) &&
	                access(bin, F_OK) != 0);
	h_cmd_result_free(&r);
	h_delete(h_path(bin, sizeof(bin), "%s/handlers/undeclared.c", app));
	h_delete(h_path(bin, sizeof(bin), "%s/handlers/nettle.c", app));
	char src[1024];
	h_write_app_file(app, "lib/util.c", util_c(src, sizeof(src), 1, true));
	T_CHECK("cotdev check compiles lib/ too",
	        run_cotdev("check", NULL, &r) == 1 && says(&r, BROKEN_AT));
	h_cmd_result_free(&r);
	h_write_app_file(app, "lib/util.c", util_c(src, sizeof(src), 1, false));
	T_CHECK("... and passes once it compiles", run_cotdev("check", NULL, &r) == 0);
	h_cmd_result_free(&r);
	h_path(bin, sizeof(bin), "%s/pkg-bin", app);
	T_CHECK("export: package line lists the declared libraries",
	        run_cotdev("export", bin, &r) == 0 && says(&r, "libsodium23") &&
	                says(&r, "zlib1g") && says(&r, "libcurl4"));
	h_cmd_result_free(&r);
	h_delete(bin);
}

/* ==== editing lib/util.c under load ==================================== */

/*
 * What a request may answer, read before it is sent: PHASE_ANY while a save
 * that changes the kind of answer is in progress, PHASE_BROKEN after the
 * broken save completed, else the version whose save completed (an answer
 * may be newer, never older).
 */
#define PHASE_ANY    0
#define PHASE_BROKEN (-1)
static atomic_int phase;
static atomic_bool load_stop;
#define LAST_GOOD 21 /* the version saved before the broken one */
static atomic_long answers, failed, stale, wrong_error;

static void *
load_main(void *arg)
{
	const char *route = arg;
	h_client *c = h_client_new();
	while (!atomic_load(&load_stop)) {
		int want = atomic_load(&phase);
		h_resp r;
		long st = h_request(c, &srv, "GET", route, NULL, NULL, &r);
		const char *v = r.body ? strstr(r.body, " v") : NULL;
		int got = v != NULL ? atoi(v + 2) : 0;
		atomic_fetch_add(&answers, 1);
		if (want == PHASE_BROKEN) {
			/* its error, or the fix if that was saved meanwhile */
			bool error = st == 500 && r.body != NULL && strstr(r.body, BROKEN_AT);
			if (!error && !(st == 200 && got > LAST_GOOD + 1)) {
				atomic_fetch_add(&wrong_error, 1);
				printf("# broken: %s -> %ld %.300s\n", route, st,
				       r.body ? r.body : r.err);
			}
		} else if (want > 0 && want <= LAST_GOOD && st == 500 && r.body != NULL &&
		           strstr(r.body, BROKEN_AT) != NULL) {
			/* it raced the broken save, which is newer than `want`: allowed */
		} else if (want != PHASE_ANY && st != 200) {
			atomic_fetch_add(&failed, 1);
			printf("# want v%d: %s -> %ld %s\n", want, route, st,
			       r.body ? r.body : r.err);
		} else if (want != PHASE_ANY && got < want) {
			atomic_fetch_add(&stale, 1);
		}
		h_resp_free(&r);
	}
	h_client_free(c);
	return NULL;
}

/* Lets the load run at least n more answers. */
static void
load_wait(long n)
{
	long n0 = atomic_load(&answers);
	double t0 = h_now_ms();
	while (atomic_load(&answers) < n0 + n && h_now_ms() - t0 < H_DEADLINE_MS)
		usleep(500);
}

static void
test_edit_under_load(void)
{
	char src[1024], path[4200];
	h_path(path, sizeof(path), "%s/lib/util.c", app);
	atomic_store(&phase, 1);
	pthread_t t[2];
	pthread_create(&t[0], NULL, load_main, "/a");
	pthread_create(&t[1], NULL, load_main, "/b");
	for (int v = 2; v <= LAST_GOOD; v++) {
		h_save_inplace(path, util_c(src, sizeof(src), v, false));
		atomic_store(&phase, v);
		load_wait(6);
	}
	atomic_store(&phase, PHASE_ANY);
	h_save_inplace(path, util_c(src, sizeof(src), 22, true));
	atomic_store(&phase, PHASE_BROKEN);
	load_wait(20);
	T_CHECK("broken lib/util.c: other routes keep serving",
	        body_has("/pwhash/x", 200, "verify=1"));
	atomic_store(&phase, PHASE_ANY);
	h_save_inplace(path, util_c(src, sizeof(src), 23, false));
	atomic_store(&phase, 23);
	load_wait(20);
	atomic_store(&load_stop, true);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	printf("# %ld answers under load\n", atomic_load(&answers));
	T_CHECK("under load: answers came", atomic_load(&answers) > 100);
	T_CHECK("under load: 0 failed requests", atomic_load(&failed) == 0);
	if (getenv("TEST_LIBS_DEBUG")) {
		size_t n;
		char *out = h_server_output(&srv, &n);
		printf("%s\n", out + (n > 3000 ? n - 3000 : 0));
		free(out);
	}
	T_CHECK("under load: 0 stale answers (read your writes)", atomic_load(&stale) == 0);
	T_CHECK("broken: both handlers answered its error (" BROKEN_AT ")",
	        atomic_load(&wrong_error) == 0);
	T_CHECK("fixed: both handlers serve the fix",
	        body_has("/a", 200, "a 42 v23") && body_has("/b", 200, "b 10 v23"));
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_libs COTDEV | test_libs export:COTDEV\n");
		return 2;
	}
	target = h_target_dev(argv[1]);
	cotdev = target.cotdev;
	char err[512];
	if (peer_start() != 0 || make_app() != 0) {
		printf("not ok setup: cannot start the peer or make the app\n");
		return 1;
	}
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok server start: %s\n", err);
		return 1;
	}
	test_libraries();
	if (target.reloads) {
		test_undeclared_dev();
		h_delete(h_path(err, sizeof(err), "%s/handlers/unknown.c", app));
		h_delete(h_path(err, sizeof(err), "%s/handlers/noload.c", app));
		test_edit_under_load();
	}
	T_CHECK("server exits cleanly", h_server_stop(&srv) == 0);
	if (!target.reloads)
		test_undeclared_tools();
	h_thread_done();
	h_rmtree(app);
	return T_DONE();
}
