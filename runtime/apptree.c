/*
 * apptree.c -- the one rule for which files are the app's, and the one walk.
 *
 * Ignored, by any component of the path (so a dot-directory hides what is
 * in it):
 *  - dotfiles and dot-directories: ".env", ".git/", and the lock files
 *    emacs (".#x") and vim swap files (".x.swp") leave beside a file;
 *  - editor backups and autosaves: "x~", "#x#" (any name starting with '#'),
 *    "x.bak", "x.orig";
 *  - editor swap and temp files: "x.swp", "x.swx", "x.swo", "x.tmp", vim's
 *    directory probe "4913", JetBrains' "x___jb_tmp___" and "x___jb_old___".
 * Names are matched whole or by their end, never inside: "a~b.txt",
 * "swp", "49130.c" and "tmp/" are the app's.
 *
 * Why one rule: before it, static serving and the export refused only
 * dotfiles, '#', '~' and ".swp", while the watcher also ignored ".bak" and
 * friends, so static/app.css.bak was served and exported but saving it
 * reloaded nothing. A file an editor leaves behind is never the app's: the
 * browser cannot fetch it, the export does not carry it, a save does not
 * reload. Header-free of the rest of the runtime so the watcher's test and
 * the static-file test link it alone.
 */
#include "apptree.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Deeper than any real app; stops a directory symlink loop. */
#define APPTREE_MAX_DEPTH 32

static bool
apptree_ends_with(const char *name, size_t len, const char *suffix)
{
	size_t m = strlen(suffix);
	return len >= m && memcmp(name + len - m, suffix, m) == 0;
}

bool
apptree_ignored_name(const char *name, size_t len)
{
	static const char *const suffixes[] = {
	        "~",    ".bak", ".orig",        ".swp",         ".swx",
	        ".swo", ".tmp", "___jb_tmp___", "___jb_old___", NULL,
	};
	if (len == 0 || name[0] == '.' || name[0] == '#')
		return true;
	if (len == 4 && memcmp(name, "4913", 4) == 0) /* vim probes a directory with it */
		return true;
	for (int i = 0; suffixes[i] != NULL; i++)
		if (apptree_ends_with(name, len, suffixes[i]))
			return true;
	return false;
}

bool
apptree_ignored(const char *path)
{
	for (const char *seg = path;;) {
		const char *end = strchr(seg, '/');
		size_t len = end != NULL ? (size_t)(end - seg) : strlen(seg);
		bool nav =
		        (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.');
		if (end == NULL)
			return nav || apptree_ignored_name(seg, len);
		if (len > 0 && !nav && apptree_ignored_name(seg, len))
			return true;
		seg = end + 1;
	}
}

static void
apptree_walk(const char *dir, apptree_visit *visit, void *ctx, int depth)
{
	if (depth > APPTREE_MAX_DEPTH)
		return;
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	size_t n = strlen(dir);
	const char *sep = n > 0 && dir[n - 1] == '/' ? "" : "/";
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (apptree_ignored_name(e->d_name, strlen(e->d_name)))
			continue;
		char path[4096];
		struct stat st;
		if (snprintf(path, sizeof(path), "%s%s%s", dir, sep, e->d_name) >=
		            (int)sizeof(path) ||
		    stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			apptree_walk(path, visit, ctx, depth + 1);
		else if (S_ISREG(st.st_mode))
			visit(path, ctx);
	}
	closedir(d);
}

void
apptree_scan(const char *dir, apptree_visit *visit, void *ctx)
{
	apptree_walk(dir, visit, ctx, 0);
}
