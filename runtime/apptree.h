/*
 * apptree.h -- which files are the app's, and walking them.
 *
 * One rule for every part of cot that looks at the app's files: the dev
 * server's watcher (what a save reloads) and its first scan of handlers/ and
 * lib/, static serving and cot_file("static/...") in development and in an
 * export, and what `cotdev export` compiles and embeds. A file is part of
 * the app unless some component of its path is ignored (see apptree.c), so
 * a file the browser cannot fetch is never embedded and never reloads a
 * page, and one that is served always does both.
 */
#ifndef COT_APPTREE_H
#define COT_APPTREE_H

#include <stdbool.h>
#include <stddef.h>

/* True when the name name[0..len) (one path component) is never the app's. */
bool apptree_ignored_name(const char *name, size_t len);

/*
 * True when any component of `path` ('/'-separated, relative or starting
 * with "./") is ignored, or the path ends in '/' (a directory, not a file).
 * "." and ".." components are navigation, not names, and do not count.
 */
bool apptree_ignored(const char *path);

/* Called once per file apptree_scan finds; `path` is "DIR/sub/name". */
typedef void apptree_visit(const char *path, void *ctx);

/*
 * Calls visit for every regular file below `dir` (symlinks followed),
 * recursively, in directory order, skipping ignored names at every level.
 * A missing or unreadable directory visits nothing.
 */
void apptree_scan(const char *dir, apptree_visit *visit, void *ctx);

#endif
