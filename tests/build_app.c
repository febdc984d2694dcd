/*
 * build_app.c -- an app made, filled and exported for the export tests;
 * see build_app.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "build_app.h"

int
build_app_run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
build_app_write(const char *app, const char *rel, const char *text, bool append)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", app, rel);
	/* the directories on the way: templates/, static/css/ ... */
	for (char *s = strchr(path + strlen(app) + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		int made = mkdir(path, 0755) == 0 || errno == EEXIST;
		*s = '/';
		if (!made) {
			perror(path);
			return -1;
		}
	}
	FILE *f = fopen(path, append ? "a" : "w");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

int
build_app_new(const char *cotdev, const char *app, const build_app_file *files)
{
	char out[4096];
	if (build_app_run(out, sizeof(out), "%s new %s", cotdev, app) != 0) {
		printf("# cotdev new failed: %s\n", out);
		return -1;
	}
	for (int i = 0; files != NULL && files[i].rel != NULL; i++)
		if (build_app_write(app, files[i].rel, files[i].text, files[i].append) != 0) {
			printf("# could not write %s/%s\n", app, files[i].rel);
			return -1;
		}
	return 0;
}

int
build_app_export(const char *cotdev, const char *app, const char *bin, char *out, size_t outlen)
{
	int rc = build_app_run(out, outlen, "%s export %s -o %s", cotdev, app, bin);
	if (rc != 0)
		printf("# export failed:\n%s\n", out);
	return rc;
}
