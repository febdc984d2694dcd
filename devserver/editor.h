/*
 * editor.h -- compile_commands.json and .clangd for the app in the cwd.
 */
#ifndef COT_EDITOR_H
#define COT_EDITOR_H

#include <stdbool.h>

/*
 * (Re)writes compile_commands.json and .clangd in the current directory
 * (the app): every .c under handlers/ and lib/ with cot's include_dir,
 * -Ilib and the cflags of the libraries it declares. Files are rewritten
 * only when their text changes. Returns 0, or -1 if one cannot be written.
 */
int editor_refresh(const char *include_dir);

/* After a reload event for `file` (handlers/ or lib/): refreshes when the
 * file is new, removed, or declares other libraries than before. The first
 * event of each file refreshes once. Called under the reloader lock. */
int editor_changed(const char *file, bool removed, const char *include_dir);
void editor_shutdown(void);

#endif
