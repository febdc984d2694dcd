/*
 * watcher.h -- which files under the watched directories changed.
 * All functions but watcher_pending, watcher_queued_bytes and watcher_get_fd
 * (which touch no libinotifytools state) run under the reloader lock
 * (libinotifytools is not thread-safe).
 */
#ifndef COT_WATCHER_H
#define COT_WATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the events of a path said, over one batch. */
enum {
	WATCHER_COMPLETE = 1, /* a write finished or a file arrived: CLOSE_WRITE, MOVED_TO */
	WATCHER_REMOVED = 2,  /* the name went away: MOVED_FROM, DELETE */
};

/* A set of paths, each once, with the WATCHER_* flags of its events. A path
 * ending in '/' is a directory that went away. */
typedef struct watcher_changes {
	char **paths;
	unsigned char *flags;
	int n, cap;
} watcher_changes;

int watcher_init(const char *const *dirs, const char *const *files, char *err, size_t errlen);
bool watcher_pending(void);
int watcher_queued_bytes(void);
int watcher_get_fd(void);
void watcher_drain(watcher_changes *ch);
void watcher_close(void);

void watcher_coalesce(watcher_changes *ch, const char *path, uint32_t mask);
void watcher_changes_add(watcher_changes *ch, const char *path, unsigned flags);
void watcher_changes_free(watcher_changes *ch);

#endif
