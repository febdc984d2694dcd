/*
 * test_crash.c -- crash containment, stuck handlers and short traces, end to
 * end: a real server serving an app whose handlers crash in every way C code
 * crashes, read over HTTP and from the server's stdout.
 *
 * usage: test_crash COTDEV          `cotdev run` (build/cotdev, build/cotdev-san)
 *        test_crash export:COTDEV   the binary `cotdev export` builds (gcc -O2)
 *
 * One suite, two targets. Both run the same runtime (crash.c, trace.c), so
 * both must contain every crash, answer it with the response's request id,
 * log a trace naming the handler's file:line, stop a stuck handler after
 * --timeout, and keep serving. What differs by design is who sees the
 * trace: the dev server shows it to the client as well; the export answers
 * only the status and the request id. The log's trace is checked on both.
 * The export's frames come from backtrace() and libdw, not tcc's line
 * tables; gcc -O2 keeps every handler here a function of its own (each is
 * called through a table), so the same `handlers/x.c:LINE function` is
 * expected, and a clone's name (`deep.isra.0`) would still contain it.
 * --exit-on-crash exists only in the export. A check that makes sense on
 * one target only prints a "# skipped on ...: why" line there, not an "ok".
 *
 * Line numbers are exact: each faulting statement in the generated handler
 * files carries a marker comment, and the test computes the marker's line
 * from the very text it wrote, then expects `handlers/x.c:LINE function`
 * within the first three lines after the trace's request line.
 *
 * Under the sanitizer build the check of exit status 0 at SIGTERM is the
 * leak check: LeakSanitizer runs at exit and makes the status non-zero if a
 * crashed request left memory behind.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "serve.h"
#include "t.h"

static h_target target;
static h_server srv;
static char app[4096];

/* ==== the app ========================================================== */

/*
 * handlers/crash.c. Markers (@name) sit on the line the trace must name.
 * The recursive `deep` is one line on purpose: which instruction of a
 * frame first touches the guard page (the call, the prologue or the store)
 * depends on where the stack ends, and each would be a right answer.
 * The ud2 shares its line with a C statement: tcc 0.9.27 emits no line
 * entry for an asm statement, so alone it would be charged to the line
 * before it (see the report; the lookup itself is right).
 */
static const char crash_src[] =
        "#include <cot.h>\n"
        "#include <stdio.h>\n"
        "#include <stdlib.h>\n"
        "#include <sys/mman.h>\n"
        "#include <time.h>\n"
        "#include <unistd.h>\n"
        "\n"
        "static volatile int zero;\n"
        "static volatile unsigned long spin;\n"
        "\n"
        "static cot_result\n"
        "do_segv(cot_ctx *c)\n"
        "{\n"
        "\tvolatile int *p = (volatile int *)0;\n"
        "\t*p = 42; /*@segv*/\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "do_fpe(cot_ctx *c)\n"
        "{\n"
        "\tint r = 7 / zero; /*@fpe*/\n"
        "\treturn cot_text(c, 200, \"%d\\n\", r);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "do_ill(cot_ctx *c)\n"
        "{\n"
        "\tzero = 0; __asm__ volatile(\"ud2\"); /*@ill*/\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "do_abort(cot_ctx *c)\n"
        "{\n"
        "\tabort(); /*@abort*/\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n"
        "\n"
        "/* SIGBUS: a read past the end of a file mapping */\n"
        "static cot_result\n"
        "do_bus(cot_ctx *c)\n"
        "{\n"
        "\tchar path[] = \"/tmp/cot-bus-XXXXXX\";\n"
        "\tint fd = mkstemp(path);\n"
        "\tunlink(path);\n"
        "\tvolatile char *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);\n"
        "\tclose(fd);\n"
        "\tif (m == MAP_FAILED)\n"
        "\t\treturn cot_text(c, 200, \"no mapping\\n\");\n"
        "\tchar x = m[0]; /*@bus*/\n"
        "\treturn cot_text(c, 200, \"%d\\n\", x);\n"
        "}\n"
        "\n"
        "static int deep(int n) { volatile char buf[256]; buf[0] = (char)n; return deep(n + 1) + "
        "buf[0]; } /*@deep*/\n"
        "\n"
        "static cot_result\n"
        "do_overflow(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"%d\\n\", deep(0)); /*@overflow*/\n"
        "}\n"
        "\n"
        "/* gcc -O2 puts this inside its caller: the export's trace still shows both */\n"
        "static inline __attribute__((always_inline)) int\n"
        "poke(volatile int *p)\n"
        "{\n"
        "\treturn *p; /*@poke*/\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "do_inlined(cot_ctx *c)\n"
        "{\n"
        "\tint v = poke((volatile int *)(unsigned long)zero); /*@inlined*/\n"
        "\treturn cot_text(c, 200, \"%d\\n\", v);\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "do_stuck(cot_ctx *c)\n"
        "{\n"
        "\tfor (;;) spin++; /*@stuck*/\n"
        "\treturn cot_text(c, 200, \"unreachable\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "do_fail404(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_fail(c, 404, \"no widget %s\", \"w1\"); /*@fail404*/\n"
        "}\n"
        "\n"
        "/* Busy for at least 300 ms, then until ?release=FILE exists (cap 2.5 s). */\n"
        "static cot_result\n"
        "do_slow(cot_ctx *c)\n"
        "{\n"
        "\tconst char *release = cot_query(c, \"release\");\n"
        "\tstruct timespec t0, t;\n"
        "\tclock_gettime(CLOCK_MONOTONIC, &t0);\n"
        "\tprintf(\"slow started %s\\n\", cot_request_id(c));\n"
        "\tfflush(stdout);\n"
        "\tdouble ms;\n"
        "\tdo {\n"
        "\t\tclock_gettime(CLOCK_MONOTONIC, &t);\n"
        "\t\tms = (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6;\n"
        "\t} while (ms < 2500 && (ms < 300 || release == NULL || access(release, F_OK) != 0));\n"
        "\treturn cot_text(c, 200, \"slow done\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "do_ok(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"fine\\n\");\n"
        "}\n"
        "\n"
        "static cot_result\n"
        "do_mw(cot_ctx *c)\n"
        "{\n"
        "\treturn cot_text(c, 200, \"the handler ran\\n\");\n"
        "}\n"
        "\n"
        "COT_ROUTES(\n"
        "\tCOT_GET(\"/segv\", do_segv),\n"
        "\tCOT_GET(\"/fpe\", do_fpe),\n"
        "\tCOT_GET(\"/ill\", do_ill),\n"
        "\tCOT_GET(\"/abort\", do_abort),\n"
        "\tCOT_GET(\"/bus\", do_bus),\n"
        "\tCOT_GET(\"/overflow\", do_overflow),\n"
        "\tCOT_GET(\"/inlined\", do_inlined),\n"
        "\tCOT_GET(\"/stuck\", do_stuck),\n"
        "\tCOT_GET(\"/fail404\", do_fail404),\n"
        "\tCOT_GET(\"/slow\", do_slow),\n"
        "\tCOT_GET(\"/ok\", do_ok),\n"
        "\tCOT_GET(\"/mwcrash\", do_mw),\n"
        ")\n";

/* handlers/task.c: tasks that crash, fail, and spawn a task that crashes. */
static const char task_src[] = "#include <cot.h>\n"
                               "\n"
                               "static void\n"
                               "boom(cot_ctx *c, void *arg)\n"
                               "{\n"
                               "\t(void)c;\n"
                               "\t(void)arg;\n"
                               "\tvolatile int *p = (volatile int *)0;\n"
                               "\t*p = 7; /*@boom*/\n"
                               "}\n"
                               "\n"
                               "static void\n"
                               "give_up(cot_ctx *c, void *arg)\n"
                               "{\n"
                               "\t(void)arg;\n"
                               "\tcot_fail(c, 500, \"the task gave up\"); /*@give_up*/\n"
                               "}\n"
                               "\n"
                               "static void\n"
                               "outer(cot_ctx *c, void *arg)\n"
                               "{\n"
                               "\tcot_spawn(c, boom, arg); /*@spawn_inner*/\n"
                               "}\n"
                               "\n"
                               "static cot_result\n"
                               "task_crash(cot_ctx *c)\n"
                               "{\n"
                               "\tcot_spawn(c, boom, NULL); /*@spawn_crash*/\n"
                               "\treturn cot_text(c, 202, \"queued\\n\");\n"
                               "}\n"
                               "\n"
                               "static cot_result\n"
                               "task_fail(cot_ctx *c)\n"
                               "{\n"
                               "\tcot_spawn(c, give_up, NULL); /*@spawn_fail*/\n"
                               "\treturn cot_text(c, 202, \"queued\\n\");\n"
                               "}\n"
                               "\n"
                               "static cot_result\n"
                               "task_nested(cot_ctx *c)\n"
                               "{\n"
                               "\tcot_spawn(c, outer, NULL); /*@spawn_outer*/\n"
                               "\treturn cot_text(c, 202, \"queued\\n\");\n"
                               "}\n"
                               "\n"
                               "COT_ROUTES(\n"
                               "\tCOT_POST(\"/jobs/crash\", task_crash),\n"
                               "\tCOT_POST(\"/jobs/fail\", task_fail),\n"
                               "\tCOT_POST(\"/jobs/nested\", task_nested),\n"
                               ")\n";

/* handlers/00_mw.c: a before hook that crashes on one path. */
static const char mw_src[] = "#include <cot.h>\n"
                             "#include <string.h>\n"
                             "\n"
                             "static cot_result\n"
                             "check_first(cot_ctx *c)\n"
                             "{\n"
                             "\tif (strcmp(cot_path(c), \"/mwcrash\") == 0) {\n"
                             "\t\tvolatile int *p = (volatile int *)0;\n"
                             "\t\t*p = 1; /*@mw*/\n"
                             "\t}\n"
                             "\treturn cot_next(c);\n"
                             "}\n"
                             "\n"
                             "COT_MIDDLEWARE(check_first, NULL)\n";

/* Line of the line holding "@marker" in src; 0 if absent. */
static int
line_of(const char *src, const char *marker)
{
	char tag[64];
	snprintf(tag, sizeof(tag), "/*@%s*/", marker);
	const char *at = strstr(src, tag);
	if (at == NULL)
		return 0;
	int line = 1;
	for (const char *p = src; p < at; p++)
		line += *p == '\n';
	return line;
}

/* "handlers/FILE:LINE" of a marker. */
static char *
site(char *buf, size_t len, const char *file, const char *src, const char *marker)
{
	snprintf(buf, len, "handlers/%s:%d", file, line_of(src, marker));
	return buf;
}

/* ==== reading traces =================================================== */

/* The server's output from mark on (malloc'd). */
static char *
output_since(size_t mark)
{
	size_t len;
	char *out = h_server_output(&srv, &len);
	if (out != NULL && mark <= len)
		memmove(out, out + mark, len - mark + 1);
	return out;
}

/* Line i (0-based) of text, copied into buf; false past the end. */
static bool
nth_line(const char *text, int i, char *buf, size_t len)
{
	const char *p = text;
	for (; i > 0 && p != NULL; i--) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL || *p == '\0')
		return false;
	size_t n = strcspn(p, "\n");
	snprintf(buf, len, "%.*s", (int)n, p);
	return true;
}

/* Index of the first line of text that starts with prefix; -1 if none. */
static int
line_index(const char *text, const char *prefix)
{
	char line[1024];
	for (int i = 0; nth_line(text, i, line, sizeof(line)); i++)
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return i;
	return -1;
}

/*
 * Checks a crash trace in `text` -- a text/plain answer of the dev server or
 * the server's log from the crash on -- for the request `id`: the first line
 * starts with `first` and names `want` (e.g. "handlers/crash.c:15 do_segv")
 * and `what` happened, the request line names the id, `want` is within 3
 * lines after it, and the trace is at most 25 lines.
 */
static void
check_trace_text(const char *name, const char *where, const char *text, const char *first,
                 const char *id, const char *reqline_path, const char *want, const char *what)
{
	char n[256], line0[1024], prefix[256], line[1024];
	bool have = text != NULL;
	snprintf(n, sizeof(n), "%s: %s: first line names %s and says %s", name, where, want, what);
	bool first_ok = have && nth_line(text, 0, line0, sizeof(line0)) &&
	                strncmp(line0, first, strlen(first)) == 0 && strstr(line0, want) != NULL &&
	                strstr(line0, what) != NULL;
	T_CHECK(n, first_ok);
	if (!first_ok)
		printf("# %s: %.800s\n", where, have ? text : "");

	snprintf(prefix, sizeof(prefix), "GET %s (request %s)", reqline_path, id ? id : "?");
	int req = have ? line_index(text, prefix) : -1;
	snprintf(n, sizeof(n), "%s: %s: request line with the response's X-Request-Id", name,
	         where);
	T_CHECK(n, id != NULL && req >= 0);

	bool near = false;
	for (int i = 1; req >= 0 && i <= 3 && nth_line(text, req + i, line, sizeof(line)); i++)
		near = near || strstr(line, want) != NULL;
	snprintf(n, sizeof(n), "%s: %s: %s within 3 lines of the request line", name, where, want);
	T_CHECK(n, near);
	if (!near)
		printf("# %s: %.800s\n", where, have ? text : "");

	int hidden = -1;
	for (int i = req; req >= 0 && nth_line(text, i, line, sizeof(line)); i++)
		if (strstr(line, "framework frames hidden") != NULL) {
			hidden = i;
			break;
		}
	snprintf(n, sizeof(n), "%s: %s: trace ends with the hidden-frames line within 25 lines",
	         name, where);
	T_CHECK(n, req >= 0 && hidden > req && hidden - req + 1 <= 25);
}

/*
 * The log of one crash of GET path, from its "crash in" (or "stopped") line
 * to the end of the output, once the trace's last line is there; malloc'd,
 * or NULL if it did not come within the deadline.
 */
static char *
log_of_crash(size_t mark, const char *path, const char *id)
{
	char reqline[512];
	snprintf(reqline, sizeof(reqline), "\nGET %s (request %s)\n", path, id);
	if (!h_server_wait_output(&srv, mark, reqline, H_DEADLINE_MS))
		return NULL;
	size_t len;
	char *out = h_server_output(&srv, &len);
	char *at = out && mark <= len ? strstr(out + mark, reqline) : NULL;
	size_t from = at ? (size_t)(at - out) : len;
	free(out);
	if (at == NULL ||
	    !h_server_wait_output(&srv, from, "framework frames hidden)", H_DEADLINE_MS))
		return NULL;
	out = h_server_output(&srv, &len);
	if (out == NULL)
		return NULL;
	size_t start = from; /* back to the start of the line before the request line */
	while (start > mark && out[start - 1] != '\n')
		start--;
	memmove(out, out + start, len - start + 1);
	return out;
}

/*
 * Checks the answer and the log of a crash (or a stuck handler: 503) of
 * GET reqline_path, requested after `mark`: on both targets the log has the
 * trace; the dev server's text answer has it too, the export's has only
 * the status and the request id.
 */
static void
check_crash(const char *name, const h_resp *r, size_t mark, long status, const char *reqline_path,
            const char *want, const char *what)
{
	char n[256], first[256];
	char *id = h_resp_header(r, "X-Request-Id");
	const char *title = status == 503 ? "Service Unavailable" : "Internal Server Error";
	snprintf(n, sizeof(n), "%s: status %ld", name, status);
	T_CHECK(n, r->status == status);
	if (r->status != status)
		printf("# %s: got %ld: %.600s %s\n", name, r->status, r->body ? r->body : "",
		       r->err);

	if (target.reloads) {
		snprintf(first, sizeof(first), "%ld %s: ", status, title);
		check_trace_text(name, "answer", r->body, first, id, reqline_path, want, what);
	} else {
		char *only = NULL;
		if (asprintf(&only, "%ld %s\nrequest %s\n", status, title, id ? id : "?") < 0)
			only = NULL;
		snprintf(n, sizeof(n), "%s: the answer is the status and the request id only",
		         name);
		T_CHECK(n, id != NULL && only != NULL && r->body != NULL &&
		                   strcmp(r->body, only) == 0);
		if (r->body == NULL || only == NULL || strcmp(r->body, only) != 0)
			printf("# answer: %.800s\n", r->body ? r->body : "");
		free(only);
	}

	char *log = id ? log_of_crash(mark, reqline_path, id) : NULL;
	snprintf(first, sizeof(first), "%s GET %s: ", status == 503 ? "stopped" : "crash in",
	         reqline_path);
	check_trace_text(name, "log", log, first, id, reqline_path, want, what);
	free(log);
	free(id);
}

/* GET path with a fresh connection (so crashes land on varied threads). */
static long
get_fresh(const char *path, const char *const *headers, h_resp *r)
{
	h_client *k = h_client_new();
	long st = h_request(k, &srv, "GET", path, headers, NULL, r);
	h_client_free(k);
	return st;
}

/* ==== crash kinds ====================================================== */

static void
test_kinds(void)
{
	static const struct {
		const char *path, *marker, *func, *what;
	} kinds[] = {
	        {"/segv", "segv", "do_segv", "NULL pointer"},
	        {"/fpe", "fpe", "do_fpe", "division by zero"},
	        {"/ill", "ill", "do_ill", "illegal instruction"},
	        {"/abort", "abort", "do_abort", "abort()"},
	        {"/bus", "bus", "do_bus", "bus error"},
	        {"/overflow", "deep", "deep", "stack overflow"},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char want[256], where[128], n[128];
		snprintf(want, sizeof(want), "%s %s",
		         site(where, sizeof(where), "crash.c", crash_src, kinds[i].marker),
		         kinds[i].func);
		h_resp r;
		size_t mark = h_server_mark(&srv);
		get_fresh(kinds[i].path, NULL, &r);
		check_crash(kinds[i].path + 1, &r, mark, 500, kinds[i].path, want, kinds[i].what);
		if (strcmp(kinds[i].path, "/overflow") == 0) {
			char *log = output_since(mark);
			snprintf(n, sizeof(n),
			         "overflow: recursion collapsed into one (xN: recursion) "
			         "frame in the %s",
			         target.reloads ? "answer and the log" : "log");
			T_CHECK(n, (!target.reloads ||
			            (r.body != NULL && strstr(r.body, ": recursion)") != NULL)) &&
			                   log != NULL && strstr(log, ": recursion)") != NULL);
			free(log);
		}
		h_resp_free(&r);
	}

	h_resp r;
	get_fresh("/ok", NULL, &r);
	T_CHECK("after every crash kind a normal route still answers 200",
	        r.status == 200 && strcmp(r.body, "fine\n") == 0);
	h_resp_free(&r);
}

/*
 * A crash in a function inlined into the handler: the export's code for it
 * is the handler's, yet the trace names the inlined function at the
 * faulting line and then the handler at the line of the call -- the two
 * frames the dev server shows, where nothing is inlined.
 */
static void
test_inlined(void)
{
	char want[256], where[128], caller[256];
	snprintf(want, sizeof(want), "%s poke",
	         site(where, sizeof(where), "crash.c", crash_src, "poke"));
	snprintf(caller, sizeof(caller), "  %s do_inlined",
	         site(where, sizeof(where), "crash.c", crash_src, "inlined"));
	h_resp r;
	size_t mark = h_server_mark(&srv);
	get_fresh("/inlined", NULL, &r);
	check_crash("inlined", &r, mark, 500, "/inlined", want, "NULL pointer");
	char *id = h_resp_header(&r, "X-Request-Id");
	char *log = id ? log_of_crash(mark, "/inlined", id) : NULL;
	char *trace = log ? strstr(log, "\nGET /inlined (request ") : NULL; /* past line 1 */
	char *at = trace ? strstr(trace, want) : NULL;
	char *next = at ? strchr(at, '\n') : NULL;
	while (next != NULL && strncmp(next + 1, "    ", 4) == 0) /* its source line */
		next = strchr(next + 1, '\n');
	T_CHECK("inlined: the log's next frame is the handler at the line of the call",
	        next != NULL && strncmp(next + 1, caller, strlen(caller)) == 0);
	if (next == NULL || strncmp(next + 1, caller, strlen(caller)) != 0)
		printf("# want \"%s\" after \"%s\" in: %.800s\n", caller, want, log ? log : "");
	free(log);
	free(id);
	h_resp_free(&r);
}

/*
 * The same crash rendered for a browser and for a JSON client: with the
 * trace on the dev server, with the request id only on the export. Then
 * the log of both has the trace, and no complaint that the app has no
 * templates/errors/500.html (that is the usual case: the built-in page).
 */
static void
test_formats(void)
{
	char where[128];
	site(where, sizeof(where), "crash.c", crash_src, "segv");
	size_t mark = h_server_mark(&srv);

	const char *html_accept[] = {"Accept: text/html,application/xhtml+xml,"
	                             "application/xml;q=0.9,*/*;q=0.8",
	                             NULL};
	h_resp r;
	get_fresh("/segv", html_accept, &r);
	char *id = h_resp_header(&r, "X-Request-Id");
	const char *pre = r.body ? strstr(r.body, "<pre class=\"cot-trace\">") : NULL;
	if (target.reloads) {
		T_CHECK("segv for a browser: 500 HTML page with the trace naming the line",
		        r.status == 500 && pre != NULL && strstr(pre, where) != NULL);
	} else {
		char small[128];
		snprintf(small, sizeof(small), "<small>request %s</small>", id ? id : "?");
		T_CHECK("segv for a browser: 500 HTML page with the request id, no trace",
		        r.status == 500 && id != NULL && r.body != NULL &&
		                strstr(r.body, small) != NULL && pre == NULL &&
		                strstr(r.body, "handlers/") == NULL);
	}
	char *log = id ? log_of_crash(mark, "/segv", id) : NULL;
	T_CHECK("segv for a browser: the log has the trace naming the line",
	        log != NULL && strstr(log, where) != NULL);
	free(log);
	free(id);
	h_resp_free(&r);

	const char *json_accept[] = {"Accept: application/json", NULL};
	size_t mark_json = h_server_mark(&srv);
	get_fresh("/segv", json_accept, &r);
	id = h_resp_header(&r, "X-Request-Id");
	json_error_t e;
	json_t *j = r.body ? json_loads(r.body, 0, &e) : NULL;
	json_t *trace = j ? json_object_get(j, "trace") : NULL;
	const char *detail = j ? json_string_value(json_object_get(j, "detail")) : NULL;
	const char *rid = j ? json_string_value(json_object_get(j, "request_id")) : NULL;
	if (target.reloads) {
		bool in_trace = false;
		for (size_t i = 0; i < json_array_size(trace) && i <= 3; i++) {
			const char *s = json_string_value(json_array_get(trace, i));
			in_trace = in_trace || (s != NULL && strstr(s, where) != NULL);
		}
		T_CHECK("segv as problem+json: 500, detail and trace[] name the line",
		        r.status == 500 && detail != NULL && strstr(detail, where) != NULL &&
		                in_trace && json_array_size(trace) <= 25);
	} else {
		T_CHECK("segv as problem+json: 500 with the request id, no detail, no trace",
		        r.status == 500 && j != NULL && id != NULL && rid != NULL &&
		                strcmp(id, rid) == 0 && detail == NULL && trace == NULL &&
		                strstr(r.body, "handlers/") == NULL);
		if (r.status != 500 || detail != NULL || trace != NULL)
			printf("# answer: %.800s\n", r.body ? r.body : "");
	}
	json_decref(j);
	h_resp_free(&r);

	/* the JSON crash's trace is in the log: what the HTML one printed is too */
	log = id ? log_of_crash(mark_json, "/segv", id) : NULL;
	T_CHECK("segv as problem+json: the log has the trace naming the line",
	        log != NULL && strstr(log, where) != NULL);
	free(log);
	free(id);
	log = output_since(mark);
	T_CHECK("no error-page complaint in the log (the app has no errors/500.html)",
	        log != NULL && strstr(log, "error page") == NULL);
	if (log != NULL && strstr(log, "error page") != NULL)
		printf("# log: %.800s\n", strstr(log, "error page"));
	free(log);
}

/* ==== stuck, cot_fail, middleware ====================================== */

static void
test_stuck_fail_middleware(void)
{
	char want[256], where[128];
	h_resp r;
	size_t mark = h_server_mark(&srv);
	get_fresh("/stuck", NULL, &r);
	snprintf(want, sizeof(want), "%s do_stuck",
	         site(where, sizeof(where), "crash.c", crash_src, "stuck"));
	check_crash("stuck", &r, mark, 503, "/stuck", want, "time budget");
	h_resp_free(&r);
	get_fresh("/ok", NULL, &r);
	T_CHECK("after a stuck handler the server still answers", r.status == 200);
	h_resp_free(&r);

	get_fresh("/fail404", NULL, &r);
	site(where, sizeof(where), "crash.c", crash_src, "fail404");
	T_CHECK("cot_fail(404): answers 404 with its message",
	        r.status == 404 && r.body &&
	                strncmp(r.body, "404 Not Found: no widget w1", 27) == 0);
	if (target.reloads) {
		T_CHECK("cot_fail(404): the text trace names the file:line of the call",
		        r.body != NULL && strstr(r.body, where) != NULL);
		if (r.body == NULL || strstr(r.body, where) == NULL)
			printf("# want %s in: %.500s\n", where, r.body ? r.body : "");
	} else {
		printf("# skipped on the export: cot_fail(404): the text trace names the file:line "
		       "of the call: a production client gets the status, the message and the "
		       "request id, never a source location (checked next)\n");
		char *id = h_resp_header(&r, "X-Request-Id"), *only = NULL;
		if (asprintf(&only, "404 Not Found: no widget w1\nrequest %s\n", id ? id : "?") < 0)
			only = NULL;
		T_CHECK("cot_fail(404): the answer is the message and the request id, no file:line",
		        id != NULL && only != NULL && r.body != NULL && strcmp(r.body, only) == 0);
		if (r.body == NULL || only == NULL || strcmp(r.body, only) != 0)
			printf("# answer: %.500s\n", r.body ? r.body : "");
		free(only);
		free(id);
	}
	h_resp_free(&r);

	mark = h_server_mark(&srv);
	get_fresh("/mwcrash", NULL, &r);
	snprintf(want, sizeof(want), "%s check_first",
	         site(where, sizeof(where), "00_mw.c", mw_src, "mw"));
	check_crash("middleware before hook crash", &r, mark, 500, "/mwcrash", want,
	            "NULL pointer");
	T_CHECK("middleware before hook crash: the handler did not run",
	        r.body == NULL || strstr(r.body, "the handler ran") == NULL);
	h_resp_free(&r);
}

/* ==== a crash while a slow request is in flight ======================== */

static void
test_crash_beside_slow(void)
{
	char release[4200], path[4400];
	h_path(release, sizeof(release), "%s/release", app);
	unlink(release);
	snprintf(path, sizeof(path), "/slow?release=%s", release);
	size_t mark = h_server_mark(&srv);
	serve_bg s;
	serve_bg_start(&s, &srv, path);
	bool started = h_server_wait_output(&srv, mark, "slow started", H_DEADLINE_MS);
	T_CHECK("slow request: its handler is running", started);

	h_resp r;
	get_fresh("/segv", NULL, &r);
	T_CHECK("crash beside a slow request: 500", r.status == 500);
	h_resp_free(&r);
	get_fresh("/ok", NULL, &r);
	T_CHECK("crash beside a slow request: a normal route answers meanwhile", r.status == 200);
	h_resp_free(&r);
	T_CHECK("crash beside a slow request: the slow one was still in flight",
	        !serve_bg_done(&s));

	h_save_inplace(release, "go\n");
	serve_bg_wait(&s);
	T_CHECK("slow request completes with 200 after the crash beside it",
	        s.resp.status == 200 && s.resp.body && strcmp(s.resp.body, "slow done\n") == 0);
	if (s.resp.status != 200)
		printf("# slow: %ld %s %s\n", s.resp.status, s.resp.body ? s.resp.body : "",
		       s.resp.err);
	h_resp_free(&s.resp);
}

/* ==== background tasks ================================================= */

/* POSTs path and returns its X-Request-Id (malloc'd) or NULL. */
static char *
post_for_id(const char *path)
{
	h_client *k = h_client_new();
	h_resp r;
	h_request(k, &srv, "POST", path, NULL, "", &r);
	h_client_free(k);
	char *id = r.status == 202 ? h_resp_header(&r, "X-Request-Id") : NULL;
	if (id == NULL)
		printf("# POST %s: %ld %s %s\n", path, r.status, r.body ? r.body : "", r.err);
	h_resp_free(&r);
	return id;
}

static void
test_tasks(void)
{
	char spawn[128], fault[128], line[512], n[160];

	/* a task that crashes */
	size_t mark = h_server_mark(&srv);
	char *id = post_for_id("/jobs/crash");
	snprintf(line, sizeof(line), "  spawned by %s during POST /jobs/crash (request %s)",
	         site(spawn, sizeof(spawn), "task.c", task_src, "spawn_crash"), id ? id : "?");
	bool seen = id && h_server_wait_output(&srv, mark, line, H_DEADLINE_MS);
	T_CHECK("task crash: log ends with spawned-by naming the spawn site and the "
	        "parent's X-Request-Id",
	        seen);
	char *out = output_since(mark);
	site(fault, sizeof(fault), "task.c", task_src, "boom");
	snprintf(n, sizeof(n), "%s boom", fault);
	T_CHECK("task crash: the trace names the faulting line of the task",
	        out && strstr(out, n) != NULL);
	if (!seen || out == NULL || strstr(out, n) == NULL)
		printf("# want \"%s\" and \"%s\" in: %.1500s\n", line, n, out ? out : "");
	free(out);
	free(id);

	/* a task that calls cot_fail */
	mark = h_server_mark(&srv);
	id = post_for_id("/jobs/fail");
	snprintf(line, sizeof(line), "  spawned by %s during POST /jobs/fail (request %s)",
	         site(spawn, sizeof(spawn), "task.c", task_src, "spawn_fail"), id ? id : "?");
	seen = id && h_server_wait_output(&srv, mark, line, H_DEADLINE_MS);
	T_CHECK("task cot_fail: logged with spawned-by and the parent's request id", seen);
	out = output_since(mark);
	site(fault, sizeof(fault), "task.c", task_src, "give_up");
	T_CHECK("task cot_fail: the log names the message and the cot_fail's file:line",
	        out && strstr(out, "the task gave up") && strstr(out, fault) != NULL);
	if (!seen || out == NULL || strstr(out, fault) == NULL)
		printf("# want \"%s\" and \"%s\" in: %.1500s\n", line, fault, out ? out : "");
	free(out);
	free(id);

	/* a task that spawns a task that crashes: two spawned-by lines, inner first */
	mark = h_server_mark(&srv);
	id = post_for_id("/jobs/nested");
	char inner[512], outer_l[512], both[1100];
	snprintf(inner, sizeof(inner), "  spawned by %s during POST /jobs/nested (request %s)",
	         site(spawn, sizeof(spawn), "task.c", task_src, "spawn_inner"), id ? id : "?");
	snprintf(outer_l, sizeof(outer_l), "  spawned by %s during POST /jobs/nested (request %s)",
	         site(spawn, sizeof(spawn), "task.c", task_src, "spawn_outer"), id ? id : "?");
	snprintf(both, sizeof(both), "%s\n%s", inner, outer_l);
	seen = id && h_server_wait_output(&srv, mark, both, H_DEADLINE_MS);
	T_CHECK("nested spawn: two spawned-by lines, the task's site then the handler's", seen);
	if (!seen) {
		out = output_since(mark);
		printf("# want:\n%s\n# in: %.1500s\n", both, out ? out : "");
		free(out);
	}
	free(id);
}

/* ==== 100 crashes in a row ============================================= */

static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f != NULL)
		fclose(f);
	return kb;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median ms of n GET /ok on one keep-alive connection; -1 if one failed. */
static double
median_ok_ms(int n)
{
	double t[64];
	h_client *k = h_client_new();
	for (int i = 0; i < n; i++) {
		h_resp r;
		double t0 = h_now_ms();
		h_request(k, &srv, "GET", "/ok", NULL, NULL, &r);
		t[i] = h_now_ms() - t0;
		bool ok = r.status == 200;
		h_resp_free(&r);
		if (!ok) {
			h_client_free(k);
			return -1;
		}
	}
	h_client_free(k);
	qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
	return t[n / 2];
}

/* n crashes of rotating kinds; returns how many answered 500. */
static int
crash_n(int n)
{
	static const char *const paths[] = {"/segv", "/fpe", "/abort", "/ill", "/bus"};
	int got = 0;
	for (int i = 0; i < n; i++) {
		h_resp r;
		got += get_fresh(paths[i % 5], NULL, &r) == 500;
		h_resp_free(&r);
	}
	return got;
}

/*
 * True when the server binary is built with AddressSanitizer: its quarantine
 * keeps freed memory resident (up to 256 MB), so RSS grows with any
 * allocation and says nothing about leaks; LeakSanitizer at exit does.
 */
static bool
is_asan_binary(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return false;
	static const char needle[] = "__asan_init";
	char buf[65536 + sizeof(needle)];
	size_t keep = 0, n;
	bool found = false;
	while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, f)) > 0) {
		size_t total = keep + n;
		found = memmem(buf, total, needle, sizeof(needle) - 1) != NULL;
		keep = total < sizeof(needle) ? total : sizeof(needle);
		memmove(buf, buf + total - keep, keep); /* a needle split across reads */
	}
	fclose(f);
	return found;
}

static void
test_hundred(bool asan)
{
	double before = median_ok_ms(31);
	int warm = crash_n(100);
	long rss1 = rss_kb(srv.pid);
	int got = crash_n(100);
	long rss2 = rss_kb(srv.pid);
	double after = median_ok_ms(31);
	T_CHECK("100 crashes in a row (after 100 to warm up): every one answered 500",
	        warm == 100 && got == 100);
	if (warm != 100 || got != 100)
		printf("# 500s: %d/100 warm-up, %d/100 measured\n", warm, got);
	T_CHECK("normal requests before and after the crashes all answer 200",
	        before >= 0 && after >= 0);

	int ok = 0;
	for (int i = 0; i < 20; i++) {
		h_resp r;
		ok += get_fresh("/ok", NULL, &r) == 200;
		h_resp_free(&r);
	}
	T_CHECK("20 new connections after 200 crashes all answer 200", ok == 20);

	/* A request's memory is an arena of a few KB: 100 leaked would be
	 * hundreds of KB. The bound leaves room for allocator noise and, under
	 * ASan, its quarantine. */
	long growth = rss2 - rss1;
	printf("# VmRSS %ld kB after warm-up, %ld kB after 100 more crashes (%+ld kB)\n", rss1,
	       rss2, growth);
	if (asan)
		printf("# (ASan's quarantine keeps freed memory: the leak check is the exit "
		       "status below)\n");
	else
		T_CHECK("RSS does not grow with 100 more crashes (< 2 MB)",
		        rss1 > 0 && rss2 > 0 && growth < 2048);
	printf("# median GET /ok: %.3f ms before, %.3f ms after 200 crashes (ratio %.2f)\n", before,
	       after, before > 0 ? after / before : 0.0);
}

/* ==== --exit-on-crash ================================================== */

/*
 * The export's --exit-on-crash: the crash is answered and logged as always,
 * then the process drains and exits 70 by itself, for a supervisor to start
 * a clean one. Runs after the main server has stopped, on a second export
 * of the same app.
 */
static void
test_exit_on_crash(void)
{
	if (target.reloads) {
		printf("# skipped on the dev server: --exit-on-crash: a flag of the exported "
		       "binary only (cotdev run keeps serving, for the next edit)\n");
		return;
	}
	h_target t = target;
	static const char *const flags[] = {"--port", "0", "--quiet", "--exit-on-crash", NULL};
	char err[512] = "";
	bool started = h_target_flags(&t, flags) == 0 &&
	               h_server_start(&t, app, &srv, err, sizeof(err)) == 0;
	T_CHECK("--exit-on-crash: the export starts with it", started);
	if (!started) {
		printf("# %s\n", err);
		return;
	}
	h_resp r;
	get_fresh("/ok", NULL, &r);
	T_CHECK("--exit-on-crash: serves until a crash", r.status == 200);
	h_resp_free(&r);

	char want[256], where[128];
	snprintf(want, sizeof(want), "%s do_segv",
	         site(where, sizeof(where), "crash.c", crash_src, "segv"));
	size_t mark = h_server_mark(&srv);
	get_fresh("/segv", NULL, &r);
	check_crash("--exit-on-crash: segv", &r, mark, 500, "/segv", want, "NULL pointer");
	h_resp_free(&r);
	/* "stopped" is main's last line: the process got there without our SIGTERM */
	bool stopped = h_server_wait_output(&srv, mark, "\nstopped\n", H_DEADLINE_MS);
	T_CHECK("--exit-on-crash: after answering the crash it drains and stops by itself",
	        stopped);
	int rc = h_server_stop(&srv);
	T_CHECK("--exit-on-crash: exit status 70 (EX_SOFTWARE), for a supervisor", rc == 70);
	if (rc != 70)
		printf("# exit status %d\n", rc);
}

/* ==== main ============================================================= */

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COTDEV | export:COTDEV\n", argv[0]);
		return 2;
	}
	target = h_target_dev(argv[1]); /* "export:COTDEV": the exported binary */
	/* 3 s budget: above the slow handler's 2.5 s cap, so only /stuck hits it */
	static const char *const flags[] = {"--port", "0", "--quiet", "--timeout", "3000", NULL};
	h_target_flags(&target, flags);

	if (h_scaffold(&target, app, sizeof(app)) != 0) {
		T_CHECK("scaffold an app", false);
		return T_DONE();
	}
	h_clear_handlers(app); /* this test is about its own handlers only */
	T_CHECK("write the crashing handlers",
	        h_write_app_file(app, "handlers/crash.c", crash_src) == 0 &&
	                h_write_app_file(app, "handlers/task.c", task_src) == 0 &&
	                h_write_app_file(app, "handlers/00_mw.c", mw_src) == 0);
	char err[512];
	if (h_server_start(&target, app, &srv, err, sizeof(err)) != 0) {
		printf("not ok start %s: %s\n", argv[1], err);
		h_rmtree(app);
		return 1;
	}
	size_t len;
	char *boot = h_server_output(&srv, &len);
	T_CHECK("the app compiles without errors", boot && strstr(boot, "error") == NULL);
	if (boot && strstr(boot, "error") != NULL)
		printf("# %s\n", boot);
	free(boot);

	test_kinds();
	test_inlined();
	test_formats();
	test_stuck_fail_middleware();
	test_crash_beside_slow();
	test_tasks();
	char bin[4200]; /* h_server_start exported the app here */
	test_hundred(is_asan_binary(
	        target.reloads ? argv[1] : h_path(bin, sizeof(bin), "%s/.cot-export-bin", app)));

	int rc = h_server_stop(&srv);
	T_CHECK("server exits 0 at SIGTERM (no sanitizer report, no leak)", rc == 0);
	if (rc != 0)
		printf("# exit status %d\n", rc);
	test_exit_on_crash();
	h_thread_done();
	h_rmtree(app);
	return T_DONE();
}
