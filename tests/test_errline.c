/*
 * test_errline.c -- compile errors reported on the line gcc reports, on a
 * table of common mistakes: each handler is compiled by cotdev's compiler
 * (libtcc + compiler_format, what the terminal, the 500 answer and the
 * overlay show) and by gcc -fsyntax-only, and the first message's line of
 * each is compared. The caret line shown must be that line too.
 *
 * One case differs from gcc 12 on purpose and says so: a declaration
 * missing its `;` (`int x = 1`) -- gcc points at the next token there ("expected
 * ',' or ';' before ..."), while for a statement it points just past the
 * previous token; cot points past the previous token in both, where the `;`
 * has to be typed (clang does the same). The calls in the table are
 * functions, not macros: after a macro's expansion gcc points at the next
 * token too.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../devserver/compiler.h"
#include "../include/cot.h"
#include "t.h"

#ifndef COT_HOME
#define COT_HOME "."
#endif

static compiler_options opts = {.include_dir = COT_HOME "/include"};

typedef struct mistake {
	const char *name;
	const char *src;
	int line;      /* where the mistake is: what cot must report */
	int col;       /* 0: not checked; else cot's 1-based byte column */
	bool gcc_next; /* gcc 12 reports the next token's line instead */
} mistake;

#define HEAD "#include <cot.h>\n\nstatic cot_result\nf(cot_ctx *c)\n{\n"
#define TAIL "\nCOT_ROUTES(COT_GET(\"/f\", f),)\n"

static const mistake table[] = {
        {"missing ; after a call",
         HEAD "\tcot_db_begin(c)\n"
              "\treturn cot_text(c, 200, \"hi\\n\");\n"
              "}\n" TAIL,
         6, 17, false},
        {"missing ; after an assignment",
         HEAD "\tint x;\n"
              "\tx = 3\n"
              "\tcot_db_begin(c);\n"
              "\treturn cot_text(c, 200, \"%d\\n\", x);\n"
              "}\n" TAIL,
         7, 7, false},
        {"missing ; before a blank line and a comment",
         HEAD "\tcot_db_rollback(c)  // undo it\n"
              "\n"
              "\t/* then answer */\n"
              "\treturn cot_text(c, 200, \"hi\\n\");\n"
              "}\n" TAIL,
         6, 20, false},
        {"missing ; after a declaration",
         HEAD "\tint x = 1\n"
              "\tcot_db_begin(c);\n"
              "\treturn cot_text(c, 200, \"%d\\n\", x);\n"
              "}\n" TAIL,
         6, 11, true},
        {"missing ) in a call",
         HEAD "\tint x = 2;\n"
              "\treturn cot_text(c, 200, \"%d\\n\", x;\n"
              "}\n" TAIL,
         7, 0, false},
        {"missing } of an if",
         HEAD "\tif (cot_param_int(c, \"id\") > 0) {\n"
              "\t\treturn cot_text(c, 200, \"yes\\n\");\n"
              "\treturn cot_text(c, 200, \"no\\n\");\n"
              "}\n",
         9, 0, false},
        {"undeclared identifier",
         HEAD "\treturn cot_text(c, 200, \"%d\\n\", count);\n"
              "}\n" TAIL,
         6, 34, false},
        {"too few arguments to a cot_ function",
         HEAD "\tconst char *p = cot_param(c);\n"
              "\treturn cot_text(c, 200, \"%s\\n\", p);\n"
              "}\n" TAIL,
         6, 0, false},
        {"too many arguments to a cot_ function",
         HEAD "\treturn cot_redirect(c, 303, \"/\", 1);\n"
              "}\n" TAIL,
         6, 0, false},
        {"implicit declaration of a function",
         HEAD "\tint n = helper(3);\n"
              "\treturn cot_text(c, 200, \"%d\\n\", n);\n"
              "}\n" TAIL,
         6, 10, false},
};

static int
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(s, f);
	return fclose(f);
}

/* Line and column of the first "PATH:L:C: error|warning" line of text. */
static bool
first_location(const char *text, const char *path, int *line, int *col)
{
	size_t n = strlen(path);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, path, n) != 0 || p[n] != ':')
			continue;
		if (sscanf(p + n, ":%d:%d:", line, col) == 2 &&
		    (strstr(p, ": error:") || strstr(p, ": warning:")) &&
		    strstr(p, ": error:") < strchr(p, '\n') + 0)
			return true;
		if (sscanf(p + n, ":%d:%d:", line, col) == 2)
			return true;
	}
	return false;
}

/* gcc's first diagnostic for path: its line (and column), or false. */
static bool
gcc_location(const char *path, int *line, int *col)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "gcc -std=c11 -fsyntax-only -fdiagnostics-plain-output "
	         "-I%s/include %s 2>&1",
	         COT_HOME, path);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return false;
	static char out[16384];
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	return first_location(out, path, line, col);
}

static void
check(const mistake *m)
{
	static const char path[] = "handlers/x.c";
	write_file(path, m->src);
	compiler_module mod;
	memset(&mod, 0, sizeof(mod));
	char *error = NULL;
	int rc = compiler_compile(path, &opts, &mod, &error);
	if (rc == 0)
		compiler_module_free(&mod);
	int line = 0, col = 0, gline = 0, gcol = 0;
	bool ours = error != NULL && first_location(error, path, &line, &col);
	bool theirs = gcc_location(path, &gline, &gcol);
	char name[160];
	snprintf(name, sizeof(name), "%s: reported at line %d", m->name, m->line);
	T_CHECK(name, ours && line == m->line);
	snprintf(name, sizeof(name),
	         m->gcc_next ? "%s: gcc 12 says the next line (%d)" : "%s: the same line as gcc",
	         m->name, m->line + 1);
	T_CHECK(name, theirs && (m->gcc_next ? gline == m->line + 1 : gline == line));
	if (m->col > 0) {
		snprintf(name, sizeof(name), "%s: column %d, just past the previous token", m->name,
		         m->col);
		T_CHECK(name, col == m->col);
	}
	/* the source excerpt under the message shows that line, caret included */
	char excerpt[32];
	snprintf(excerpt, sizeof(excerpt), "\n%5d | ", m->line);
	snprintf(name, sizeof(name), "%s: the excerpt shows line %d", m->name, m->line);
	T_CHECK(name, error != NULL && strstr(error, excerpt) != NULL);
	if (!ours || line != m->line || (m->col > 0 && col != m->col) || !theirs)
		printf("# cot: %s\n# gcc: line %d col %d\n", error ? error : "(compiled)", gline,
		       gcol);
	free(error);
}

int
main(void)
{
	char dir[] = "/tmp/cot-errline-XXXXXX";
	if (mkdtemp(dir) == NULL || chdir(dir) != 0 || mkdir("handlers", 0755) != 0) {
		printf("not ok temp dir\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check(&table[i]);
	/* an error tcc already places right stays where it was */
	write_file("handlers/y.c",
	           HEAD "\tint x = 1 2;\n\treturn cot_text(c, 200, \"%d\", x);\n}\n" TAIL);
	compiler_module mod;
	char *error = NULL;
	memset(&mod, 0, sizeof(mod));
	compiler_compile("handlers/y.c", &opts, &mod, &error);
	T_CHECK("a ',' expected on its own line stays there",
	        error != NULL && strncmp(error, "handlers/y.c:6:", 15) == 0);
	free(error);
	unlink("handlers/x.c");
	unlink("handlers/y.c");
	rmdir("handlers");
	if (chdir("/") == 0)
		rmdir(dir);
	return T_DONE();
}
