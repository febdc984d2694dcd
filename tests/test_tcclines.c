/*
 * test_tcclines.c -- exact source lines for code libtcc compiled in memory.
 *
 * The sources are written into a private temp dir, compiled with "-g" into
 * memory the test owns (tcclines_relocate), and checked three ways:
 * function addresses from tcc_get_symbol resolve to their own names; a
 * NULL dereference in a forked child is resolved from the signal handler,
 * the faulting pc from REG_RIP and the callers by walking the rbp chain, to
 * exact file:line:function frames (one of them in an #included header); and
 * pcs outside the module are not contained. The crash runs after
 * tcc_delete, as in the dev server, so it also shows that neither the code
 * nor the table points into the deleted TCCState.
 */
#include "../devserver/tcclines.h"
#include "t.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define TCC_LIB_PATH "/usr/lib/x86_64-linux-gnu/tcc"

/* crash.c: deref faults at line 7; the frames above it are known lines. */
static const char crash_c[] = "#include <stdio.h>\n"          /* 1 */
                              "#include \"helper.h\"\n"       /* 2 */
                              "\n"                            /* 3 */
                              "int deref(int *p)\n"           /* 4 */
                              "{\n"                           /* 5 */
                              "\tint x = 1;\n"                /* 6 */
                              "\tx += *p;\n"                  /* 7 */
                              "\treturn x;\n"                 /* 8 */
                              "}\n"                           /* 9 */
                              "\n"                            /* 10 */
                              "int middle(int *p)\n"          /* 11 */
                              "{\n"                           /* 12 */
                              "\tint r = deref(p);\n"         /* 13 */
                              "\treturn r + 1;\n"             /* 14 */
                              "}\n"                           /* 15 */
                              "\n"                            /* 16 */
                              "#include \"util.c\"\n"         /* 17 */
                              "\n"                            /* 18 */
                              "int entry(void)\n"             /* 19 */
                              "{\n"                           /* 20 */
                              "\tint n = util_add(1, 2);\n"   /* 21 */
                              "\tn += helper_call(middle);\n" /* 22 */
                              "\treturn n;\n"                 /* 23 */
                              "}\n";                          /* 24 */

/* helper.h: calls back into crash.c from line 4. */
static const char helper_h[] = "static int helper_call(int (*fn)(int *))\n" /* 1 */
                               "{\n"                                        /* 2 */
                               "\tint *none = NULL;\n"                      /* 3 */
                               "\treturn fn(none) * 2;\n"                   /* 4 */
                               "}\n";                                       /* 5 */

/* util.c: an included .c file. */
static const char util_c[] = "/* included by crash.c */\n"  /* 1 */
                             "int util_add(int a, int b)\n" /* 2 */
                             "{\n"                          /* 3 */
                             "\treturn a + b;\n"            /* 4 */
                             "}\n";                         /* 5 */

static char dir[64];
static char path_crash[128], path_helper[128], path_util[128];

/* A compiled module as the dev server would hold it. */
struct module {
	void *code;
	size_t size;
	tcclines *lines;
	int (*entry)(void);
	uintptr_t deref, middle, util_add;
};

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void
tcc_error_print(void *opaque, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "tcc: %s\n", msg);
}

/* Compile path into m with options; the TCCState is deleted before return. */
static int
compile(struct module *m, const char *path, const char *options)
{
	TCCState *s = tcc_new();
	memset(m, 0, sizeof *m);
	tcc_set_lib_path(s, TCC_LIB_PATH);
	tcc_set_error_func(s, NULL, tcc_error_print);
	if (options != NULL)
		tcc_set_options(s, options);
	tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
	if (tcc_add_file(s, path) < 0)
		goto fail;
	m->code = tcclines_relocate(s, &m->size);
	if (m->code == NULL)
		goto fail;
	m->entry = (int (*)(void))tcc_get_symbol(s, "entry");
	m->deref = (uintptr_t)tcc_get_symbol(s, "deref");
	m->middle = (uintptr_t)tcc_get_symbol(s, "middle");
	m->util_add = (uintptr_t)tcc_get_symbol(s, "util_add");
	m->lines = tcclines_build(s, m->code, m->size);
	tcc_delete(s);
	return m->lines != NULL && m->entry != NULL;
fail:
	tcc_delete(s);
	return 0;
}

static void
release(struct module *m)
{
	tcclines_free(m->lines);
	tcclines_unmap(m->code, m->size);
}

/* "file:line func" for pc, or "??" when it does not resolve. */
static const char *
describe(const tcclines *t, uintptr_t pc, char *buf, size_t len)
{
	const char *file, *func;
	int line;
	if (!tcclines_lookup(t, pc, &file, &line, &func))
		return "??";
	snprintf(buf, len, "%s:%d %s", file, line, func);
	return buf;
}

/* ------------------------------------------------------------------------ */
/* The crash, resolved from inside the signal handler                       */

static const tcclines *crash_lines;
static char *crash_report; /* MAP_SHARED page the child writes into */

/* Resolve the faulting frame and its callers, innermost first, one a line. */
static void
on_segv(int sig, siginfo_t *info, void *uctx)
{
	(void)sig;
	(void)info;
	ucontext_t *uc = uctx;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	uintptr_t *fp = (uintptr_t *)uc->uc_mcontext.gregs[REG_RBP];
	char line[256], *out = crash_report;
	size_t room = 4000;
	for (int depth = 0; depth < 16; depth++) {
		if (!tcclines_contains(crash_lines, pc))
			break;
		int n = snprintf(out, room, "%s\n", describe(crash_lines, pc, line, sizeof line));
		out += n, room -= (size_t)n;
		if (fp == NULL)
			break;
		pc = fp[1] - 1; /* return address - 1: inside the call */
		fp = (uintptr_t *)fp[0];
	}
	_exit(0);
}

/* Run m->entry in a child that reports its crash into crash_report. */
static int
crash_in_child(const struct module *m)
{
	crash_lines = m->lines;
	crash_report = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (crash_report == MAP_FAILED)
		return 0;
	memset(crash_report, 0, 4096);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSEGV, &sa, NULL);
		m->entry();
		_exit(3); /* did not crash */
	}
	int status;
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
test_crash_frames(const struct module *m)
{
	char want[1024];
	T_CHECK("crash: child crashed and reported", crash_in_child(m));
	snprintf(want, sizeof want, "%s:7 deref\n%s:13 middle\n%s:4 helper_call\n%s:22 entry\n",
	         path_crash, path_crash, path_helper, path_crash);
	T_STREQ("crash: exact frames, innermost first", crash_report, want);
	munmap(crash_report, 4096);
}

/* ------------------------------------------------------------------------ */
/* Lookups without a crash                                                  */

static void
test_function_starts(const struct module *m)
{
	char buf[256], want[256];
	snprintf(want, sizeof want, "%s:5 deref", path_crash);
	T_STREQ("lookup: deref's first byte", describe(m->lines, m->deref, buf, sizeof buf), want);
	snprintf(want, sizeof want, "%s:12 middle", path_crash);
	T_STREQ("lookup: middle's first byte", describe(m->lines, m->middle, buf, sizeof buf),
	        want);
	snprintf(want, sizeof want, "%s:3 util_add", path_util);
	T_STREQ("lookup: function of an #included .c file",
	        describe(m->lines, m->util_add, buf, sizeof buf), want);
	T_CHECK("build: five functions with lines", tcclines_count(m->lines) == 5);
}

static void
test_contains(const struct module *m)
{
	uintptr_t lo = (uintptr_t)m->code, hi = lo + m->size;
	const char *file, *func;
	int line;
	T_CHECK("contains: module code", tcclines_contains(m->lines, m->deref));
	T_CHECK("contains: first and last byte",
	        tcclines_contains(m->lines, lo) && tcclines_contains(m->lines, hi - 1));
	T_CHECK("contains: one past the end is outside",
	        !tcclines_contains(m->lines, hi) && !tcclines_contains(m->lines, lo - 1));
	T_CHECK("contains: host function is outside",
	        !tcclines_contains(m->lines, (uintptr_t)&test_contains));
	T_CHECK("lookup: host pc finds nothing",
	        !tcclines_lookup(m->lines, (uintptr_t)&test_contains, &file, &line, &func));
	T_CHECK("lookup: NULL table finds nothing",
	        !tcclines_lookup(NULL, m->deref, &file, &line, &func) &&
	                !tcclines_contains(NULL, m->deref));
}

static void
test_without_g(void)
{
	struct module m;
	const char *file, *func;
	int line;
	T_CHECK("no -g: compiles", compile(&m, path_crash, NULL));
	T_CHECK("no -g: empty table", tcclines_count(m.lines) == 0);
	T_CHECK("no -g: lookup finds nothing",
	        !tcclines_lookup(m.lines, m.deref, &file, &line, &func));
	T_CHECK("no -g: contains still works", tcclines_contains(m.lines, m.deref));
	T_CHECK("no -g: code runs after tcc_delete",
	        m.util_add != 0 && ((int (*)(int, int))m.util_add)(2, 3) == 5);
	release(&m);
}

/* Two live modules of the same file answer for their own code only. */
static void
test_two_modules(const struct module *a)
{
	struct module b;
	char buf[256], want[256];
	T_CHECK("two modules: second compiles", compile(&b, path_crash, "-g"));
	T_CHECK("two modules: disjoint",
	        !tcclines_contains(a->lines, b.deref) && !tcclines_contains(b.lines, a->deref));
	snprintf(want, sizeof want, "%s:12 middle", path_crash);
	T_STREQ("two modules: second resolves its own pcs",
	        describe(b.lines, b.middle, buf, sizeof buf), want);
	release(&b);
}

static void
setup_files(void)
{
	strcpy(dir, "/tmp/tcclines-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path_crash, sizeof path_crash, "%s/crash.c", dir);
	snprintf(path_helper, sizeof path_helper, "%s/helper.h", dir);
	snprintf(path_util, sizeof path_util, "%s/util.c", dir);
	write_file(path_crash, crash_c);
	write_file(path_helper, helper_h);
	write_file(path_util, util_c);
}

static void
cleanup_files(void)
{
	unlink(path_crash);
	unlink(path_helper);
	unlink(path_util);
	rmdir(dir);
}

int
main(void)
{
	struct module m;
	setup_files();
	T_CHECK("compile with -g", compile(&m, path_crash, "-g"));
	if (m.lines != NULL) {
		test_function_starts(&m);
		test_contains(&m);
		test_crash_frames(&m);
		test_two_modules(&m);
		release(&m);
	}
	test_without_g();
	cleanup_files();
	printf("%d passed, %d failed\n", t_passed_count, t_failed_count);
	return T_DONE();
}
