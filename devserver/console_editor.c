/*
 * console_editor.c -- file:line links that open the developer's editor.
 *
 * The editor is COT_EDITOR, else $EDITOR, read once at start:
 *   code, vscode, code-insiders, codium   vscode://file/ABS:LINE
 *   idea, clion, goland, pycharm, webstorm idea://open?file=ABS&line=LINE
 *   none                                   no links
 *   anything else                          a command cotdev runs itself:
 *       "{file}" and "{line}" in it are replaced ("subl {file}:{line}");
 *       without them the file goes last with +LINE before it, the way vi,
 *       emacsclient, nano and kak read it ("emacsclient -n" runs
 *       `emacsclient -n +12 handlers/notes.c`).
 * Neither set: vscode://, the most common. A command's link is
 * /_cot/api/open?file=F&line=N, which the console pages POST (with the
 * X-Cot-Console header a cross-site page cannot send); cotdev runs the
 * command without a shell, in the app directory, detached, and only for a
 * file inside the app that exists.
 */
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../runtime/ctx.h"
#include "console_internal.h"

#define EDITOR_MAX_ARGS 32

enum console_editor_mode { EDITOR_VSCODE, EDITOR_IDEA, EDITOR_NONE, EDITOR_COMMAND };

static const char *
console_editor_setting(void)
{
	const char *e = getenv("COT_EDITOR");
	if (e == NULL || *e == '\0')
		e = getenv("EDITOR");
	return e != NULL && *e != '\0' ? e : "code";
}

/* Which kind of link the setting makes. */
static enum console_editor_mode
console_editor_mode(const char *e)
{
	const char *base = strrchr(e, '/') ? strrchr(e, '/') + 1 : e;
	size_t n = strcspn(base, " ");
	static const char *const vs[] = {"code", "vscode", "code-insiders", "codium", NULL};
	static const char *const jb[] = {"idea",     "clion",   "goland", "pycharm",
	                                 "webstorm", "idea.sh", NULL};
	for (int i = 0; vs[i]; i++)
		if (strlen(vs[i]) == n && strncmp(base, vs[i], n) == 0)
			return EDITOR_VSCODE;
	for (int i = 0; jb[i]; i++)
		if (strlen(jb[i]) == n && strncmp(base, jb[i], n) == 0)
			return EDITOR_IDEA;
	if (strcmp(e, "none") == 0)
		return EDITOR_NONE;
	return EDITOR_COMMAND;
}

/* Percent-encodes what a URL path or query value cannot hold as it is. */
static void
console_editor_url_encode(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("/-_.~", ch) != NULL)
			fputc(ch, f);
		else
			fprintf(f, "%%%02X", ch);
	}
}

char *
console_editor_href(const char *file, int line)
{
	const char *e = console_editor_setting();
	enum console_editor_mode m = console_editor_mode(e);
	if (m == EDITOR_NONE)
		return NULL;
	char abs[2 * PATH_MAX], cwd[PATH_MAX], *out = NULL;
	size_t len = 0;
	if (file[0] == '/')
		snprintf(abs, sizeof(abs), "%s", file);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		snprintf(abs, sizeof(abs), "%s/%s", cwd, file);
	else
		return NULL;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return NULL;
	switch (m) {
	case EDITOR_VSCODE:
		fputs("vscode://file", f);
		console_editor_url_encode(f, abs);
		fprintf(f, ":%d", line);
		break;
	case EDITOR_IDEA:
		fputs("idea://open?file=", f);
		console_editor_url_encode(f, abs);
		fprintf(f, "&line=%d", line);
		break;
	default:
		fputs("/_cot/api/open?file=", f);
		console_editor_url_encode(f, file);
		fprintf(f, "&line=%d", line);
	}
	fclose(f);
	return out;
}

json_t *
console_editor_json(void)
{
	static const char *const names[] = {"vscode", "idea", "none", "command"};
	const char *e = console_editor_setting();
	return json_pack("{s:s,s:s}", "mode", names[console_editor_mode(e)], "editor", e);
}

/* ==== running a command ================================================ */

/* argv for the command with file and line in (strings malloc'd in *buf). */
static int
console_editor_argv(const char *cmd, const char *file, int line, char **argv, char *buf, size_t cap)
{
	char ln[16];
	snprintf(ln, sizeof(ln), "%d", line);
	bool placeholders = strstr(cmd, "{file}") != NULL;
	int n = 0;
	size_t used = 0;
	for (const char *p = cmd; *p && n < EDITOR_MAX_ARGS - 3;) {
		p += strspn(p, " ");
		size_t w = strcspn(p, " ");
		if (w == 0)
			break;
		char *arg = buf + used;
		size_t o = 0;
		for (size_t i = 0; i < w && used + o + 32 + strlen(file) < cap;) {
			if (strncmp(p + i, "{file}", 6) == 0 && i + 6 <= w) {
				o += (size_t)sprintf(arg + o, "%s", file);
				i += 6;
			} else if (strncmp(p + i, "{line}", 6) == 0 && i + 6 <= w) {
				o += (size_t)sprintf(arg + o, "%s", ln);
				i += 6;
			} else {
				arg[o++] = p[i++];
			}
		}
		arg[o] = '\0';
		used += o + 1;
		argv[n++] = arg;
		p += w;
	}
	if (n == 0)
		return -1;
	if (!placeholders) {
		snprintf(buf + used, cap - used, "+%d", line);
		argv[n++] = buf + used;
		argv[n++] = (char *)file;
	}
	argv[n] = NULL;
	return 0;
}

/* Runs argv detached (a grandchild that init reaps); 0 when it started. */
static int
console_editor_spawn(char **argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		if (fork() == 0) {
			execvp(argv[0], argv);
			_exit(127);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return 0;
}

struct MHD_Response *
console_editor_open(cot_ctx *c)
{
	if (strcmp(c->method, "POST") != 0 || !console_from_page(c))
		return console_fail(c, 405, "POST it from a console page (X-Cot-Console: 1)");
	const char *e = console_editor_setting();
	if (console_editor_mode(e) != EDITOR_COMMAND)
		return console_fail(c, 409, "the editor opens from its own link (COT_EDITOR)");
	const char *file = console_arg(c, "file"), *ls = console_arg(c, "line");
	int line = ls ? atoi(ls) : 1;
	struct stat st;
	if (file == NULL || file[0] == '/' || strstr(file, "..") != NULL || stat(file, &st) != 0 ||
	    !S_ISREG(st.st_mode) || line < 1)
		return console_fail(c, 400, "file must name a file of the app");
	char *argv[EDITOR_MAX_ARGS], buf[8192];
	if (console_editor_argv(e, file, line, argv, buf, sizeof(buf)) != 0 ||
	    console_editor_spawn(argv) != 0)
		return console_fail(c, 500, "cannot run the editor command");
	return console_json(c, 200,
	                    json_pack("{s:s,s:s,s:i}", "ran", argv[0], "file", file, "line", line));
}
