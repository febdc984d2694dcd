/*
 * scaffold.c -- `cotdev new [--auth] DIR`: copy app_template, write a
 * .gitignore (database, secrets, build output) and the app secret
 * (.cot-secret, which that .gitignore keeps out of version control), then
 * tell clangd where cot.h is so editors resolve it with no setup (editor.c).
 *
 * --auth lays app_template_auth over the copy: accounts (users table,
 * sign-up, log-in, log-out, a current-user middleware) and per-user notes.
 * Its files replace the template's of the same name (schema.sql, notes.c,
 * the layout); everything else is the plain template.
 *
 * DIR may exist if it is empty; anything else is refused rather than merged,
 * so `cotdev new` can never overwrite a developer's files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/secret.h"
#include "editor.h"
#include "scaffold.h"

/* 1 if dir is missing or empty, 0 if it holds something, -1 if not a dir. */
static int
scaffold_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 1 : -1;
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

static int
scaffold_copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
	if (out < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(in);
	if (close(out) != 0)
		rc = -1;
	return rc;
}

/* replace: the overlay's files take the place of the template's */
static int
scaffold_copy_tree(const char *from, const char *to, bool replace, char *err, size_t errlen)
{
	if (mkdir(to, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", to, strerror(errno));
		return -1;
	}
	DIR *d = opendir(from);
	if (d == NULL) {
		snprintf(err, errlen, "cannot read the app template %s: %s", from, strerror(errno));
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char src[PATH_MAX], dst[PATH_MAX];
		struct stat st;
		snprintf(src, sizeof(src), "%s/%s", from, e->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, e->d_name);
		if (stat(src, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = scaffold_copy_tree(src, dst, replace, err, errlen);
		else if ((replace && unlink(dst) != 0 && errno != ENOENT) ||
		         scaffold_copy_file(src, dst, st.st_mode) != 0) {
			snprintf(err, errlen, "cannot copy %s to %s: %s", src, dst,
			         strerror(errno));
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

/* Writes .clangd and compile_commands.json (editor.c) in the new app. */
static int
scaffold_editor_config(const char *home, const char *dir, char *err, size_t errlen)
{
	char abs_home[PATH_MAX], inc[PATH_MAX + 16], cwd[PATH_MAX];
	if (realpath(home, abs_home) == NULL || getcwd(cwd, sizeof(cwd)) == NULL) {
		snprintf(err, errlen, "cannot resolve %s: %s", home, strerror(errno));
		return -1;
	}
	snprintf(inc, sizeof(inc), "%s/include", abs_home); /* as main.c's */
	if (chdir(dir) != 0) {
		snprintf(err, errlen, "cannot enter %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = editor_refresh(inc);
	editor_shutdown();
	if (chdir(cwd) != 0 || rc != 0) {
		snprintf(err, errlen, "cannot write the editor files in %s: %s", dir,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * What a new app keeps out of version control: the development database
 * with SQLite's -wal/-shm/-journal files, secrets, and build output.
 */
static const char scaffold_gitignore[] =
        "# Written by cotdev new: files that stay out of version control.\n"
        "# the development database and SQLite's files beside it\n"
        "/app.db\n"
        "/app.db-*\n"
        "*.db-wal\n"
        "*.db-shm\n"
        "# secrets: never commit them (.cot-secret: the app secret, cotdev new)\n"
        "/.cot-secret\n"
        ".env\n"
        ".env.*\n"
        "/secrets/\n"
        "*.pem\n"
        "*.key\n"
        "# build output (cotdev export -o BIN)\n"
        "/build/\n"
        ".cot-export-bin\n";

static int
scaffold_gitignore_write(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/.gitignore", dir);
	FILE *f = fopen(path, "wx");
	if (f == NULL || fputs(scaffold_gitignore, f) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
scaffold_new(const char *home, const char *dir, bool auth, char *err, size_t errlen)
{
	int empty = scaffold_is_empty(dir);
	if (empty < 0) {
		snprintf(err, errlen, "%s exists and is not a directory", dir);
		return -1;
	}
	if (empty == 0) {
		snprintf(err, errlen,
		         "%s is not empty; pick a new directory (cotdev new never "
		         "overwrites files)",
		         dir);
		return -1;
	}
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/app_template", home);
	if (scaffold_copy_tree(tmpl, dir, false, err, errlen) != 0)
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/app_template_auth", home);
	if (auth && scaffold_copy_tree(tmpl, dir, true, err, errlen) != 0)
		return -1;
	char secret[PATH_MAX];
	snprintf(secret, sizeof(secret), "%s/" SECRET_DEV_FILE, dir);
	if (scaffold_gitignore_write(dir, err, errlen) != 0 ||
	    secret_create_file(secret, err, errlen) != 0)
		return -1;
	return scaffold_editor_config(home, dir, err, errlen);
}
