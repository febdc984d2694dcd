/*
 * test_compiler.c -- devserver/compiler.c and compiler_api.c: a handler file in, a
 * callable module out; compile and link errors out in gcc's format.
 *
 * Runs in a temp directory so paths read "handlers/x.c" as in the dev server.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../devserver/compiler.h"
#include "../runtime/ctx.h"
#include "t.h"

#ifndef COT_HOME
#define COT_HOME "."
#endif

static compiler_options opts = {.include_dir = COT_HOME "/include"};

static int
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(s, f);
	return fclose(f);
}

/* Compiles src as `path`; returns 0 and fills m, or -1 and sets *error. */
static int
compile(const char *path, const char *src, compiler_module *m, char **error)
{
	write_file(path, src);
	memset(m, 0, sizeof(*m));
	*error = NULL;
	return compiler_compile(path, &opts, m, error);
}

/* One pattern under several methods: each route gets its own line, not the
 * first line that names the pattern (cotdev routes, traces, errors). */
static void
test_route_lines(void)
{
	compiler_module m;
	char *error;
	int rc = compile("handlers/lines.c",
	                 "#include <cot.h>\n"
	                 "static cot_result h(cot_ctx *c) { return cot_text(c, 200, \"x\"); }\n"
	                 "COT_ROUTES(\n"
	                 "\tCOT_GET(\"/n\", h),\n"              /* 4 */
	                 "\tCOT_GET(\"/n/new\", h),\n"          /* 5 */
	                 "\tCOT_POST(\"/n\", h),\n"             /* 6 */
	                 "\tCOT_ROUTE(\"PATCH\", \"/n\", h),\n" /* 7 */
	                 "\tCOT_DELETE(\n\t\t\"/n\", h),\n"     /* 8, pattern on 9 */
	                 ")\n",
	                 &m, &error);
	T_CHECK("one pattern, several methods: compiles",
	        rc == 0 && m.table != NULL && m.table->nroutes == 5);
	if (rc != 0 || m.table == NULL || m.table->nroutes != 5) {
		free(error);
		return;
	}
	T_CHECK("GET /n on line 4", m.table->routes[0].line == 4);
	T_CHECK("GET /n/new on line 5", m.table->routes[1].line == 5);
	T_CHECK("POST /n on its own line 6, not GET's", m.table->routes[2].line == 6);
	T_CHECK("COT_ROUTE(\"PATCH\", \"/n\") on line 7", m.table->routes[3].line == 7);
	T_CHECK("DELETE with its pattern on the next line: the pattern's line 9",
	        m.table->routes[4].line == 9);
	compiler_module_free(&m);
}

static void
test_good(void)
{
	compiler_module m;
	char *error;
	int rc = compile(
	        "handlers/good.c",
	        "#include <cot.h>\n"
	        "static cot_result hi(cot_ctx *c)\n"
	        "{\n"
	        "\treturn cot_text(c, 201, \"hi %s %d\\n\", \"there\", 42);\n"
	        "}\n"
	        "static cot_result other(cot_ctx *c) { return cot_html(c, 200, \"<p>\"); }\n"
	        "COT_ROUTES(\n"
	        "\tCOT_GET(\"/hi\", hi),\n"
	        "\tCOT_POST(\"/other/:id\", other),\n"
	        ")\n",
	        &m, &error);
	T_CHECK("a good file compiles", rc == 0 && error == NULL);
	if (rc != 0) {
		printf("# %s\n", error ? error : "(no message)");
		free(error);
		return;
	}
	T_CHECK("its route table has both routes", m.table != NULL && m.table->nroutes == 2);
	T_CHECK("the table records the file", strstr(m.table->file, "good.c") != NULL);
	T_STREQ("route 1 method", m.table->routes[0].method, "GET");
	T_STREQ("route 1 pattern", m.table->routes[0].pattern, "/hi");
	T_CHECK("route 1 line", m.table->routes[0].line == 8);
	T_STREQ("route 2 method", m.table->routes[1].method, "POST");
	T_CHECK("route 2 line", m.table->routes[1].line == 9);
	T_CHECK("the code range is known",
	        m.code != NULL && m.size > 0 && (const char *)m.table >= (const char *)m.code &&
	                (const char *)m.table < (const char *)m.code + m.size);

	cot_ctx c;
	ctx_init(&c);
	c.method = "GET";
	c.path = "/hi";
	cot_result r = m.table->routes[0].handler(&c);
	T_CHECK("calling the compiled handler returns its status", r.status == 201);
	T_CHECK("... and sets the response", c.status == 201 && c.resp_body != NULL &&
	                                             strcmp(c.resp_body, "hi there 42\n") == 0);
	ctx_free(&c);
	compiler_module_free(&m);
}

/* Checks the gcc-style shape: "path:LINE:COL: error: ...", source line, caret. */
static void
check_error_shape(const char *what, const char *error, const char *path, int line,
                  const char *src_line)
{
	char prefix[256], name[600];
	snprintf(prefix, sizeof(prefix), "%s:%d:", path, line);
	snprintf(name, sizeof(name), "%s: message starts with %s<col>: error:", what, prefix);
	int col = 0, used = 0;
	bool ok = error != NULL && strncmp(error, prefix, strlen(prefix)) == 0 &&
	          sscanf(error + strlen(prefix), "%d: error: %n", &col, &used) == 1 && used > 0 &&
	          col >= 1;
	T_CHECK(name, ok);
	if (!ok) {
		printf("# got: %s\n", error ? error : "(null)");
		return;
	}
	char want[512];
	snprintf(want, sizeof(want), "\n%5d | %s\n", line, src_line);
	snprintf(name, sizeof(name), "%s: the source line follows", what);
	T_CHECK(name, strstr(error, want) != NULL);
	/* the caret sits under column col */
	const char *caret_line = strstr(error, want);
	caret_line = caret_line ? caret_line + strlen(want) : NULL;
	snprintf(name, sizeof(name), "%s: a caret under column %d", what, col);
	bool caret = caret_line != NULL && strncmp(caret_line, "      | ", 8) == 0;
	if (caret) {
		const char *p = caret_line + 8;
		int k = 1;
		while (*p == ' ' || *p == '\t') {
			p++;
			k++;
		}
		caret = *p == '^' && k == col;
	}
	T_CHECK(name, caret);
}

static void
test_errors(void)
{
	compiler_module m;
	char *error;
	int rc = compile("handlers/syntax.c",
	                 "#include <cot.h>\n"
	                 "\n"
	                 "static cot_result\n"
	                 "f(cot_ctx *c)\n"
	                 "{\n"
	                 "\tint x = 1 2;\n"
	                 "\treturn cot_text(c, 200, \"%d\", x);\n"
	                 "}\n"
	                 "COT_ROUTES(COT_GET(\"/s\", f),)\n",
	                 &m, &error);
	T_CHECK("a syntax error fails the compile", rc != 0 && error != NULL);
	check_error_shape("syntax error", error, "handlers/syntax.c", 6, "\tint x = 1 2;");
	free(error);

	rc = compile("handlers/undeclared.c",
	             "#include <cot.h>\n"
	             "static cot_result f(cot_ctx *c)\n"
	             "{\n"
	             "\treturn cot_text(c, 200, \"%d\", no_such_var);\n"
	             "}\n"
	             "COT_ROUTES(COT_GET(\"/u\", f),)\n",
	             &m, &error);
	T_CHECK("an undeclared name fails the compile", rc != 0 && error != NULL);
	check_error_shape("undeclared", error, "handlers/undeclared.c", 4,
	                  "\treturn cot_text(c, 200, \"%d\", no_such_var);");
	T_CHECK("undeclared: the column points at the name",
	        error != NULL && strncmp(error, "handlers/undeclared.c:4:32:", 27) == 0);
	free(error);

	rc = compile("handlers/link.c",
	             "#include <cot.h>\n"
	             "int frobnicate(int);\n"
	             "static cot_result f(cot_ctx *c) { return cot_text(c, 200, \"%d\", "
	             "frobnicate(1)); }\n"
	             "COT_ROUTES(COT_GET(\"/l\", f),)\n",
	             &m, &error);
	T_CHECK("calling an undefined function fails to link", rc != 0 && error != NULL);
	T_CHECK("... naming the symbol", error != NULL && strstr(error, "frobnicate") != NULL);
	if (error != NULL && strstr(error, "frobnicate") == NULL)
		printf("# got: %s\n", error);
	free(error);

	rc = compile("handlers/helper.c",
	             "#include <cot.h>\n"
	             "int helper(void) { return 1; }\n",
	             &m, &error);
	T_CHECK("a file without COT_ROUTES is refused as a module", rc != 0 && error != NULL);
	T_CHECK("... saying COT_ROUTES is missing",
	        error != NULL && strstr(error, "handlers/helper.c:1:") == error &&
	                strstr(error, "COT_ROUTES") != NULL);
	free(error);

	rc = compile("handlers/internal.c",
	             "#include <cot.h>\n"
	             "void router_reset(void);\n"
	             "static cot_result f(cot_ctx *c) { router_reset(); return cot_text(c, 200, "
	             "\"x\"); }\n"
	             "COT_ROUTES(COT_GET(\"/i\", f),)\n",
	             &m, &error);
	T_CHECK("handlers cannot link against runtime internals",
	        rc != 0 && error != NULL && strstr(error, "router_reset") != NULL);
	free(error);
}

static void
test_format(void)
{
	write_file("handlers/fmt.c", "int a;\n    foo bar;\n");
	char *out = compiler_format("handlers/fmt.c:2: error: 'bar' undeclared\n"
	                            "tcc: error: undefined symbol 'zap'\n");
	T_CHECK("compiler_format: gcc shape with the quoted name's column",
	        out != NULL && strncmp(out,
	                               "handlers/fmt.c:2:9: error: 'bar' undeclared\n"
	                               "    2 |     foo bar;\n      |         ^\n",
	                               73) == 0);
	T_CHECK("compiler_format: lines it does not know are kept",
	        out != NULL && strstr(out, "tcc: error: undefined symbol 'zap'") != NULL);
	free(out);
	T_CHECK("guess_column: first non-blank without a quoted name",
	        compiler_guess_column("\t  x = 1;", "expected declaration") == 4);
	T_CHECK("guess_column: quoted name",
	        compiler_guess_column("int foo = bar;", "'bar' undeclared") == 11);
}

/* Every cot_* function declared in cot.h (not macros) must be in compiler_api. */
static void
test_api_table(void)
{
	FILE *f = fopen(COT_HOME "/include/cot.h", "r");
	T_CHECK("cot.h can be read", f != NULL);
	if (f == NULL)
		return;
	static char text[256 * 1024];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* blank out comments and preprocessor lines (with continuations) */
	for (char *p = text; *p; p++) {
		if (p[0] == '/' && p[1] == '*') {
			char *e = strstr(p + 2, "*/");
			char *end = e ? e + 2 : p + strlen(p);
			for (; p < end; p++)
				if (*p != '\n')
					*p = ' ';
			p--;
		} else if (p[0] == '/' && p[1] == '/') {
			for (; *p && *p != '\n'; p++)
				*p = ' ';
		} else if (*p == '#' &&
		           (p == text || p[-1] == '\n' || isspace((unsigned char)p[-1]))) {
			char *q = p;
			while (q > text && (q[-1] == ' ' || q[-1] == '\t'))
				q--;
			if (q != text && q[-1] != '\n')
				continue;
			for (char prev = 0; *p; p++) { /* prev: before blanking */
				if (*p == '\n' && prev != '\\')
					break;
				prev = *p;
				if (*p != '\n')
					*p = ' ';
			}
		}
	}
	int declared = 0, missing = 0;
	for (char *p = text; (p = strstr(p, "cot_")) != NULL; p++) {
		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		char name[128];
		int k = 0;
		while (k < 127 && (isalnum((unsigned char)p[k]) || p[k] == '_')) {
			name[k] = p[k];
			k++;
		}
		name[k] = '\0';
		if (p[k] != '(')
			continue;
		/* a declaration: the return type sits before it on the line */
		char *bol = p;
		while (bol > text && bol[-1] != '\n')
			bol--;
		if (bol == p || p[-1] == '(' || p[-1] == ',' || p[-1] == '=')
			continue; /* a call inside an expression, not a declaration */
		while (*bol == ' ' || *bol == '\t')
			bol++;
		if (strncmp(bol, "static inline", 13) == 0)
			continue; /* defined in the header itself: nothing to hand to tcc */
		declared++;
		bool found = false;
		for (const compiler_symbol *s = compiler_api; s->name != NULL; s++)
			found |= strcmp(s->name, name) == 0;
		if (!found) {
			missing++;
			printf("# %s is declared in cot.h but missing from compiler_api\n", name);
		}
	}
	char label[128];
	snprintf(label, sizeof(label),
	         "every function cot.h declares is in the api table "
	         "(%d declared, %d missing)",
	         declared, missing);
	T_CHECK(label, declared > 10 && missing == 0);
	int extra = 0;
	for (const compiler_symbol *s = compiler_api; s->name != NULL; s++) {
		T_CHECK(s->name, s->addr != NULL);
		if (strncmp(s->name, "cot_", 4) != 0)
			extra++;
	}
	T_CHECK("the api table hands out only cot_* names", extra == 0);
}

int
main(void)
{
	char root[] = "/tmp/cot-compiler-XXXXXX";
	char old[4096];
	if (mkdtemp(root) == NULL || getcwd(old, sizeof(old)) == NULL || chdir(root) != 0) {
		T_CHECK("temp directory", false);
		return T_DONE();
	}
	mkdir("handlers", 0755);
	test_good();
	test_route_lines();
	test_errors();
	test_format();
	if (chdir(old) != 0)
		T_CHECK("chdir back", false);
	test_api_table();
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	return T_DONE();
}
