/*
 * tcclines_bench.c -- what line information costs per reload.
 *
 * One small handler-sized C file is compiled and relocated over and over,
 * each way interleaved round-robin so that drift hits all of them alike, and
 * the median of each is printed as a ratio against the plain compile measured
 * in the same run (tests/bench prints ratios, never absolute times alone):
 *
 *	plain       compile + relocate into our memory, no -g
 *	-g          the same with -g
 *	-g+lines    the same plus tcclines_build (the chosen way)
 *	obj+elf     -g, plus a second compile of the file to a .o in a private
 *	            temp dir and reading its .stab with libelf (the way that
 *	            keeps libtcc internals out, option (a) of issue 4)
 *	dll+dlopen  -g, linked as a .so into the temp dir, dlopen()ed, its
 *	            .stab read with libelf, dlclose()d (option (b))
 *
 * Build: see docs/tcc-debug.md. Run: build/tcclines/tcclines_bench [rounds]
 */
#include "../../devserver/tcclines.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TCC_LIB_PATH "/usr/lib/x86_64-linux-gnu/tcc"

static const char handler_c[] = "#include <stdio.h>\n"
                                "#include <string.h>\n"
                                "#include <stdlib.h>\n"
                                "\n"
                                "struct note { int id; char title[64]; char body[256]; };\n"
                                "\n"
                                "static int parse_id(const char *s)\n"
                                "{\n"
                                "\tchar *end;\n"
                                "\tlong v = strtol(s, &end, 10);\n"
                                "\tif (*end != '\\0' || v < 0 || v > 1000000)\n"
                                "\t\treturn -1;\n"
                                "\treturn (int)v;\n"
                                "}\n"
                                "\n"
                                "static int render(char *out, size_t len, const struct note *n)\n"
                                "{\n"
                                "\treturn snprintf(out, len, \"<h1>%s</h1><p>%s</p>\", n->title,\n"
                                "\t                n->body);\n"
                                "}\n"
                                "\n"
                                "int show_note(const char *param, char *out, size_t len)\n"
                                "{\n"
                                "\tstruct note n;\n"
                                "\tint id = parse_id(param);\n"
                                "\tif (id < 0)\n"
                                "\t\treturn snprintf(out, len, \"no note with id %s\", param);\n"
                                "\tmemset(&n, 0, sizeof n);\n"
                                "\tn.id = id;\n"
                                "\tsnprintf(n.title, sizeof n.title, \"Note %d\", id);\n"
                                "\tfor (int i = 0; i < 3; i++)\n"
                                "\t\tstrcat(n.body, \"lorem ipsum \");\n"
                                "\treturn render(out, len, &n);\n"
                                "}\n"
                                "\n"
                                "int hello(const char *name, char *out, size_t len)\n"
                                "{\n"
                                "\treturn snprintf(out, len, \"Hello, %s!\\n\", name);\n"
                                "}\n";

/* The same handler declaring what it uses, as a cot.h-only handler would. */
static const char small_c[] = "typedef unsigned long size_t;\n"
                              "int snprintf(char *, size_t, const char *, ...);\n"
                              "long strtol(const char *, char **, int);\n"
                              "void *memset(void *, int, size_t);\n"
                              "char *strcat(char *, const char *);\n";

static char dir[64], src[128], obj[128], dll[128];
static double build_us; /* tcclines_build alone, last LINES run */

static double
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
quiet(void *opaque, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "tcc: %s\n", msg);
}

static TCCState *
new_state(const char *options, int output)
{
	TCCState *s = tcc_new();
	tcc_set_lib_path(s, TCC_LIB_PATH);
	tcc_set_error_func(s, NULL, quiet);
	if (options != NULL)
		tcc_set_options(s, options);
	tcc_set_output_type(s, output);
	return s;
}

/* Compile + relocate into our memory; optionally build the line table. */
static void
compile_memory(const char *options, int lines)
{
	size_t size;
	TCCState *s = new_state(options, TCC_OUTPUT_MEMORY);
	if (tcc_add_file(s, src) < 0)
		exit(2);
	void *code = tcclines_relocate(s, &size);
	if (code == NULL)
		exit(2);
	double t0 = now_us();
	tcclines *t = lines ? tcclines_build(s, code, size) : NULL;
	build_us = now_us() - t0;
	if (lines && tcclines_count(t) != 4)
		exit(3);
	tcc_delete(s);
	tcclines_free(t);
	tcclines_unmap(code, size);
}

/* Count the N_FUN entries of the .stab section of ELF file path. */
static int
read_stab_functions(const char *path)
{
	int fd = open(path, O_RDONLY), funcs = -1;
	Elf *e = fd < 0 ? NULL : elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	if (e == NULL || elf_getshdrstrndx(e, &shstrndx) != 0)
		goto out;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn)) != NULL;) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(scn, &sh) == NULL ||
		    (name = elf_strptr(e, shstrndx, sh.sh_name)) == NULL ||
		    strcmp(name, ".stab") != 0)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		const unsigned char *p = d ? d->d_buf : NULL;
		funcs = 0;
		for (size_t i = 0; p && i + 12 <= d->d_size; i += 12)
			funcs += p[i + 4] == 0x24;
	}
out:
	if (e != NULL)
		elf_end(e);
	if (fd >= 0)
		close(fd);
	return funcs;
}

/* -g in memory, plus a second compile to an object read with libelf. */
static void
compile_obj_elf(void)
{
	compile_memory("-g", 0);
	TCCState *s = new_state("-g", TCC_OUTPUT_OBJ);
	if (tcc_add_file(s, src) < 0 || tcc_output_file(s, obj) < 0)
		exit(2);
	tcc_delete(s);
	if (read_stab_functions(obj) != 4)
		exit(3);
}

/* -g linked as a shared object, dlopen()ed, .stab read with libelf. */
static void
compile_dll_dlopen(void)
{
	TCCState *s = new_state("-g", TCC_OUTPUT_DLL);
	if (tcc_add_file(s, src) < 0 || tcc_output_file(s, dll) < 0)
		exit(2);
	tcc_delete(s);
	void *h = dlopen(dll, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL || dlsym(h, "show_note") == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		exit(2);
	}
	if (read_stab_functions(dll) != 4)
		exit(3);
	dlclose(h);
}

enum { PLAIN, DEBUG, LINES, OBJ_ELF, DLL_DLOPEN, NWAYS };

static const char *const way_names[NWAYS] = {
        "plain (no -g)",
        "-g",
        "-g + tcclines_build",
        "-g + 2nd compile .o + libelf",
        "-g .so + dlopen + libelf",
};

static void
run_way(int way)
{
	switch (way) {
	case PLAIN:
		compile_memory(NULL, 0);
		break;
	case DEBUG:
		compile_memory("-g", 0);
		break;
	case LINES:
		compile_memory("-g", 1);
		break;
	case OBJ_ELF:
		compile_obj_elf();
		break;
	case DLL_DLOPEN:
		compile_dll_dlopen();
		break;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Write the handler: with the libc headers, or with its own declarations. */
static void
write_source(int small)
{
	FILE *f = fopen(src, "w");
	const char *body = strstr(handler_c, "\nstruct note");
	if (f == NULL)
		exit(2);
	if (small)
		fprintf(f, "%s%s", small_c, body);
	else
		fputs(handler_c, f);
	if (fclose(f) != 0)
		exit(2);
}

static void
setup(void)
{
	strcpy(dir, "/tmp/tcclines-bench-XXXXXX");
	if (mkdtemp(dir) == NULL || elf_version(EV_CURRENT) == EV_NONE)
		exit(2);
	snprintf(src, sizeof src, "%s/handler.c", dir);
	snprintf(obj, sizeof obj, "%s/handler.o", dir);
	snprintf(dll, sizeof dll, "%s/handler.so", dir);
}

/* Time every way on the current source and print the medians as ratios. */
static void
measure(const char *what, int rounds)
{
	static double t[NWAYS][10000], b[10000];
	for (int w = 0; w < NWAYS; w++) /* warm up: libc, libtcc1.a, caches */
		for (int i = 0; i < 5; i++)
			run_way(w);
	for (int i = 0; i < rounds; i++)
		for (int w = 0; w < NWAYS; w++) {
			double t0 = now_us();
			run_way(w);
			t[w][i] = now_us() - t0;
			if (w == LINES)
				b[i] = build_us;
		}
	double median[NWAYS];
	for (int w = 0; w < NWAYS; w++) {
		qsort(t[w], rounds, sizeof(double), cmp_double);
		median[w] = t[w][rounds / 2];
	}
	qsort(b, rounds, sizeof(double), cmp_double);
	printf("%s: compile + relocate, median of %d\n", what, rounds);
	for (int w = 0; w < NWAYS; w++)
		printf("  %-30s %5.2fx  (%.0f us, %+.0f us)\n", way_names[w],
		       median[w] / median[PLAIN], median[w], median[w] - median[PLAIN]);
	printf("  %-30s %5.3fx  (%.1f us)\n", "tcclines_build alone", b[rounds / 2] / median[PLAIN],
	       b[rounds / 2]);
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 101;
	if (rounds < 50)
		rounds = 50;
	if (rounds > 10000)
		rounds = 10000;
	setup();
	write_source(1);
	measure("handler declaring its own prototypes", rounds);
	write_source(0);
	measure("same handler including stdio.h, string.h, stdlib.h", rounds);
	unlink(src), unlink(obj), unlink(dll), rmdir(dir);
	return 0;
}
