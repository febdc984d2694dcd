/*
 * watcher.c -- libinotifytools: which files changed, and when they are whole.
 *
 * Editors save in two ways. In place: OPEN, MODIFY (truncate), MODIFY,
 * CLOSE_WRITE. Rename-over (vim with backupcopy=no, emacs, JetBrains, sed -i):
 * a temp file gets CREATE and CLOSE_WRITE, then MOVED_FROM temp, MOVED_TO the
 * target. We only act on CLOSE_WRITE, MOVED_TO, MOVED_FROM and DELETE -- a
 * MODIFY alone means the file is half written -- and we do not interpret the
 * sequence: all events of one read are grouped by path, and the caller asks
 * stat() what is there now (exists: compile, gone: unload). That makes a
 * burst (a git checkout, a formatter touching ten files) one batch with each
 * path once.
 *
 * Read-your-writes needs to know, without blocking and without a lock, if an
 * event is waiting. The kernel queues the event inside close()/rename(), so
 * poll() on the inotify fd answers that in about half a microsecond.
 * libinotifytools does not export its fd, so we find it once in /proc/self/fd
 * right after creating it. libinotifytools is not thread-safe: every call
 * into it happens under the reloader lock; watcher_pending,
 * watcher_queued_bytes and watcher_get_fd only use that fd, from any thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/apptree.h"
#include "watcher.h"

#define WATCHER_EVENTS                                                                             \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF)

static int watcher_fd = -1;
static const char *const *watcher_root_files; /* names watched in the app dir */

/* ==== change sets ====================================================== */

/* Adds `path` to the set once, or-ing in `flags`. The set owns its copies. */
void
watcher_changes_add(watcher_changes *ch, const char *path, unsigned flags)
{
	for (int i = 0; i < ch->n; i++)
		if (strcmp(ch->paths[i], path) == 0) {
			ch->flags[i] |= (unsigned char)flags;
			return;
		}
	if (ch->n == ch->cap) {
		int cap = ch->cap ? ch->cap * 2 : 16;
		char **np = realloc(ch->paths, (size_t)cap * sizeof(char *));
		if (np == NULL)
			return;
		ch->paths = np;
		unsigned char *nf = realloc(ch->flags, (size_t)cap);
		if (nf == NULL)
			return;
		ch->flags = nf;
		ch->cap = cap;
	}
	ch->flags[ch->n] = (unsigned char)flags;
	ch->paths[ch->n++] = strdup(path);
}

void
watcher_changes_free(watcher_changes *ch)
{
	for (int i = 0; i < ch->n; i++)
		free(ch->paths[i]);
	free(ch->paths);
	free(ch->flags);
	memset(ch, 0, sizeof(*ch));
}

/*
 * Folds one event into the set: file events that mark a complete write or a
 * disappearance count; CREATE, MODIFY and OPEN of a file do not (the write is
 * not finished). Pure, so tests can feed it recorded sequences.
 */
void
watcher_coalesce(watcher_changes *ch, const char *path, uint32_t mask)
{
	if (mask & IN_ISDIR)
		return;
	if (apptree_ignored(path)) /* editor droppings: see runtime/apptree.c */
		return;
	unsigned flags = (mask & (IN_CLOSE_WRITE | IN_MOVED_TO) ? WATCHER_COMPLETE : 0) |
	                 (mask & (IN_MOVED_FROM | IN_DELETE) ? WATCHER_REMOVED : 0);
	if (flags != 0)
		watcher_changes_add(ch, path, flags);
}

static void
watcher_add_one(const char *path, void *ch)
{
	watcher_changes_add(ch, path, WATCHER_COMPLETE);
}

/* Adds every file of the app below dir (a directory that just appeared). */
static void
watcher_add_tree(watcher_changes *ch, const char *dir)
{
	apptree_scan(dir, watcher_add_one, ch);
}

/* ==== inotify ========================================================== */

/* Finds libinotifytools' inotify descriptor: the only one in this process. */
static int
watcher_find_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	int found = -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char link[300], target[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify") == 0)
			found = atoi(e->d_name);
	}
	closedir(d);
	return found;
}

/*
 * Watches each directory of `dirs` (NULL-terminated) recursively, and the
 * app directory itself (not recursively) for the names in `files`, which
 * may be NULL.
 */
int
watcher_init(const char *const *dirs, const char *const *files, char *err, size_t errlen)
{
	if (!inotifytools_initialize()) {
		snprintf(err, errlen, "inotify: %s", strerror(inotifytools_error()));
		return -1;
	}
	for (int i = 0; dirs[i] != NULL; i++) {
		if (!inotifytools_watch_recursively(dirs[i], WATCHER_EVENTS)) {
			int e = inotifytools_error();
			snprintf(err, errlen, "cannot watch %s: %s%s", dirs[i], strerror(e),
			         e == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
			return -1;
		}
	}
	if (files != NULL && files[0] != NULL) {
		if (!inotifytools_watch_file("./", IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE)) {
			snprintf(err, errlen, "cannot watch the app directory: %s",
			         strerror(inotifytools_error()));
			return -1;
		}
		watcher_root_files = files;
	}
	watcher_fd = watcher_find_fd();
	if (watcher_fd < 0 || fcntl(watcher_fd, F_SETFL, O_NONBLOCK) != 0) {
		snprintf(err, errlen, "inotify: cannot find the watch descriptor");
		return -1;
	}
	return 0;
}

int
watcher_get_fd(void)
{
	return watcher_fd;
}

/* True when an event waits in the kernel. Lock-free; any thread. */
bool
watcher_pending(void)
{
	struct pollfd p = {.fd = watcher_fd, .events = POLLIN};
	return watcher_fd >= 0 && poll(&p, 1, 0) == 1;
}

/* Bytes of events queued in the kernel (for debouncing bursts). */
int
watcher_queued_bytes(void)
{
	int n = 0;
	if (watcher_fd < 0 || ioctl(watcher_fd, FIONREAD, &n) != 0)
		return 0;
	return n;
}

/* Folds one raw event into the change set. */
static void
watcher_take(watcher_changes *ch, const struct inotify_event *ev)
{
	const char *dir = inotifytools_filename_from_wd(ev->wd);
	if (dir == NULL || ev->len == 0)
		return;
	if (strcmp(dir, "./") == 0) { /* the app directory: only the listed files */
		bool listed = false;
		for (int i = 0; watcher_root_files && watcher_root_files[i]; i++)
			listed |= strcmp(watcher_root_files[i], ev->name) == 0;
		if (!listed || (ev->mask & IN_ISDIR))
			return;
	}
	char path[4096], sub[4100];
	snprintf(path, sizeof(path), "%s%s", dir, ev->name);
	if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
		snprintf(sub, sizeof(sub), "%s/", path);
		inotifytools_watch_recursively(sub, WATCHER_EVENTS);
		watcher_add_tree(ch, sub);
	} else if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
		/* "dir/" tells the caller to re-check everything below it */
		snprintf(sub, sizeof(sub), "%s/", path);
		watcher_changes_add(ch, sub, WATCHER_REMOVED);
	} else {
		watcher_coalesce(ch, path, ev->mask);
	}
}

/*
 * Reads every waiting event, without blocking, into the change set. New
 * directories are watched and their files added (they may have been filled
 * before the watch existed). Caller holds the reloader lock.
 *
 * We read the descriptor ourselves: inotifytools_next_event(0) blocks in
 * this version, and its internal buffer would hide events from poll().
 * libinotifytools still keeps the watches and the wd -> directory names.
 */
void
watcher_drain(watcher_changes *ch)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(watcher_fd, buf, sizeof(buf));
		if (n <= 0)
			return; /* EAGAIN: drained */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			watcher_take(ch, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

void
watcher_close(void)
{
	inotifytools_cleanup();
	watcher_fd = -1;
}
