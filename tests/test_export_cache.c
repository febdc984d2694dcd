/*
 * test_export_cache.c -- `cotdev export` compiles the runtime once: later
 * exports take its objects from the cache (devserver/export_cache.c) while
 * nothing they are made from changed, and recompile exactly what a change
 * touches.
 *
 * usage: test_export_cache COTDEV     (COT_HOME as for cotdev; default: the
 *                                     checkout of COTDEV, as in build/cotdev)
 *
 * The exports run on a copy of COT_HOME's runtime (so a header can be
 * changed) with a private cache dir. Checks: a first export compiles every
 * runtime file and a second takes each from the cache, byte for byte the
 * objects compiled; a changed header recompiles exactly the files that
 * include it, a changed source only itself; an object compiled by an export
 * that failed on a handler is kept; two exports filling the cache at once
 * both succeed and leave it whole. (A changed compiler, flag or gcc
 * environment variable changes every key; checking it would recompile the
 * whole runtime again, so it is argued in export_cache.c instead.)
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build_app.h"
#include "t.h"

static char tmp[200];
static const char *cotdev;

/* One export's result: its exit status, the report's counts, its kept dir. */
typedef struct {
	int rc, hits, compiled;
	char kept[256];
	char out[8192];
} export_run;

/* Exports the app to tmp/BIN with the copied runtime and the test's cache. */
static void
export_app(export_run *r, const char *bin)
{
	r->rc = build_app_run(
	        r->out, sizeof(r->out),
	        "cd %s && COT_HOME=%s/home COT_EXPORT_CACHE=%s/cache COT_EXPORT_KEEP=1 "
	        "%s export app -o %s/%s",
	        tmp, tmp, tmp, cotdev, tmp, bin);
	r->hits = r->compiled = -1;
	r->kept[0] = '\0';
	const char *s = strstr(r->out, "runtime objects: ");
	if (s != NULL)
		sscanf(s, "runtime objects: %d from the cache, %d compiled", &r->hits,
		       &r->compiled);
	s = strstr(r->out, "build files kept in ");
	if (s != NULL)
		sscanf(s, "build files kept in %255s", r->kept);
	if (r->rc != 0 || r->compiled < 0)
		printf("# cotdev export:\n%s", r->out);
}

/* Removes an export's kept build dir (named by that export). */
static void
export_forget(export_run *r)
{
	char out[256];
	if (strncmp(r->kept, "/tmp/cot-export-", 16) == 0)
		build_app_run(out, sizeof(out), "rm -rf -- '%s'", r->kept);
}

/* A shell command's output as a number; -1 when it is not one. */
static int
count(const char *fmt, const char *arg)
{
	char cmd[2048], out[256];
	snprintf(cmd, sizeof(cmd), fmt, arg);
	if (build_app_run(out, sizeof(out), "%s", cmd) != 0)
		return -1;
	char *end;
	long n = strtol(out, &end, 10);
	return end != out ? (int)n : -1;
}

/* First and second export: all compiled, then all from the cache, the
 * same bytes. */
static void
check_reuse(int total)
{
	export_run a, b;
	char out[4096];
	export_app(&a, "bin1");
	T_CHECK("a first export succeeds", a.rc == 0);
	T_CHECK("a first export compiles every runtime file", a.hits == 0 && a.compiled == total);
	export_app(&b, "bin2");
	T_CHECK("a second export succeeds", b.rc == 0);
	T_CHECK("a second export takes every runtime object from the cache",
	        b.hits == total && b.compiled == 0);
	int rc = build_app_run(
	        out, sizeof(out),
	        "cd '%s' && n=0; for f in rt_*.o app_main.o; do "
	        "cmp -s $f '%s'/$f || echo differs: $f; n=$((n+1)); done; echo $n objects",
	        a.kept, b.kept);
	char want[64];
	snprintf(want, sizeof(want), "%d objects\n", total);
	T_CHECK("the cached objects are byte for byte the ones compiled",
	        rc == 0 && strcmp(out, want) == 0);
	if (strcmp(out, want) != 0)
		printf("# %s", out);
	rc = build_app_run(out, sizeof(out), "%s/bin2 --check", tmp);
	T_CHECK("the binary linked from cached objects passes --check", rc == 0);
	export_forget(&a);
	export_forget(&b);
}

/* A header no other header includes, and how many .c files include it. */
static int
pick_header(char *name, size_t len)
{
	char out[512];
	if (build_app_run(out, sizeof(out),
	                  "cd %s/home/runtime && for h in *.h; do "
	                  "grep -q \"#include \\\"$h\\\"\" *.h && continue; "
	                  "n=$(grep -l \"#include \\\"$h\\\"\" *.c | wc -l); "
	                  "[ \"$n\" -gt 0 ] && echo \"$n $h\"; done | sort -n | head -n 1",
	                  tmp) != 0)
		return -1;
	int n;
	char h[128];
	if (sscanf(out, "%d %127s", &n, h) != 2)
		return -1;
	snprintf(name, len, "%s", h);
	return n;
}

/* Appends a comment to a file of the copied runtime, dated a minute ago:
 * the cache keeps no object of a file changed in the 2 s before an export
 * (it may be changing still), and the test need not wait that out. */
static int
touch_runtime(const char *name)
{
	char out[512];
	return build_app_run(
	        out, sizeof(out),
	        "f=%s/home/runtime/%s; printf '\\n/* changed by test_export_cache */\\n' >> $f && "
	        "touch -d '1 minute ago' $f",
	        tmp, name);
}

static void
check_changes(int total)
{
	char h[128], out[512];
	export_run r;
	int users = pick_header(h, sizeof(h));
	T_CHECK("a header included by some runtime files is found", users > 0);
	if (users <= 0)
		return;
	printf("# changing runtime/%s, included by %d files\n", h, users);
	touch_runtime(h);
	export_app(&r, "bin3");
	T_CHECK("a changed header: the export succeeds", r.rc == 0);
	T_CHECK("a changed header recompiles exactly the files that include it",
	        r.compiled == users && r.hits == total - users);
	export_forget(&r);

	/* a changed source, in an export that fails on a handler */
	touch_runtime("app_main.c");
	build_app_run(out, sizeof(out), "printf 'int broken( {\\n' > %s/app/handlers/broken.c",
	              tmp);
	export_app(&r, "bin4");
	T_CHECK("a broken handler fails the export, at its line",
	        r.rc != 0 && strstr(r.out, "handlers/broken.c:1:") != NULL);
	export_forget(&r);
	build_app_run(out, sizeof(out), "rm %s/app/handlers/broken.c", tmp);
	export_app(&r, "bin4");
	T_CHECK("the changed runtime file that failed export compiled was cached",
	        r.rc == 0 && r.compiled == 0 && r.hits == total);
	export_forget(&r);
}

/* Two exports that miss the same object at once: both store it. */
static void
check_concurrent(int total)
{
	char out[8192];
	touch_runtime("app_main.c");
	int rc = build_app_run(out, sizeof(out),
	                       "cd %s && export COT_HOME=%s/home COT_EXPORT_CACHE=%s/cache; "
	                       "%s export app -o b5 > e5.log 2>&1 & p=$!; "
	                       "%s export app -o b6 > e6.log 2>&1; r6=$?; wait $p; r5=$?; "
	                       "grep -h 'runtime objects' e5.log e6.log; exit $((r5 + r6))",
	                       tmp, tmp, tmp, cotdev, cotdev);
	T_CHECK("two exports at once both succeed", rc == 0);
	if (rc != 0)
		printf("# %s", out);
	export_run r;
	export_app(&r, "bin7");
	T_CHECK("after them, the cache holds every runtime object",
	        r.rc == 0 && r.compiled == 0 && r.hits == total);
	export_forget(&r);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_export_cache COTDEV\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	static char cotdev_abs[4096]; /* the exports run in the temp dir */
	if (realpath(argv[1], cotdev_abs) == NULL) {
		perror(argv[1]);
		return 2;
	}
	cotdev = cotdev_abs;
	/* COT_HOME, else the checkout cotdev was built in (build/cotdev) */
	static char home_buf[4096];
	const char *home = getenv("COT_HOME");
	if (home == NULL || *home == '\0') {
		snprintf(home_buf, sizeof(home_buf), "%s", cotdev_abs);
		for (int up = 0; up < 2; up++)
			*(strrchr(home_buf, '/') != NULL ? strrchr(home_buf, '/') : home_buf) =
			        '\0';
		home = home_buf;
	}
	char out[4096];
	snprintf(tmp, sizeof(tmp), "/tmp/cot-test-export-cache-XXXXXX");
	if (home == NULL || mkdtemp(tmp) == NULL) {
		fprintf(stderr, "test_export_cache: needs COT_HOME and a temp dir\n");
		return 2;
	}
	/* the runtime (and its include dir, where there is one) to change,
	 * with its dates: a file just written is not cached (touch_runtime) */
	int rc = build_app_run(out, sizeof(out),
	                       "mkdir %s/home && cp -rp %s/runtime %s/home/ && "
	                       "{ [ ! -d %s/include ] || cp -rp %s/include %s/home/; } && "
	                       "COT_HOME=%s %s new %s/app",
	                       tmp, home, tmp, home, home, tmp, home, cotdev, tmp);
	T_CHECK("a copy of the runtime and an app to export", rc == 0);
	int total = count("ls %s/home/runtime/*.c | wc -l", tmp);
	if (rc == 0 && total > 0) {
		check_reuse(total);
		check_changes(total);
		check_concurrent(total);
	} else {
		printf("# %s", out);
	}
	build_app_run(out, sizeof(out), "rm -rf -- %s", tmp);
	return T_DONE();
}
