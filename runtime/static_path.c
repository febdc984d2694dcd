/*
 * static_path.c -- which files under static/ are the app's, and opening them
 * without ever leaving static/. static.c serves what this lets through;
 * cot_file("static/...") and `cotdev export` open files the same way
 * (static_path_open), and which names are the app's is the rule the watcher
 * and the export share (runtime/apptree.c), so development and an exported
 * binary have the same files.
 *
 * Paths. The request path arrives still percent-encoded, and is decoded here
 * exactly once, segment by segment, so no spelling can smuggle a separator or
 * a dot segment past the checks. Refused with 400: "." and ".." segments in
 * any encoding, encoded slashes (%2f, %5c), raw backslashes, doubled or
 * leading slashes (absolute paths), NUL and other control bytes, invalid
 * percent-encoding. Refused with 404: dotfiles and dot-directories (.env,
 * .git/), editor backup, swap and temp files ("x~", "#x#", "x.swp",
 * "x.bak": never part of the app, see apptree.c; `cotdev export` does not
 * embed them, so development refuses them too), directories (no listings),
 * anything that is not a regular file.
 * Double encoding (%252e) decodes once to a literal "%2e" name, nothing more.
 *
 * Opening. The decoded relative path is opened against the root directory fd
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): the kernel refuses
 * any resolution that leaves static/ -- "..", absolute symlinks, relative
 * symlinks that climb out -- atomically, with no check-then-use race.
 * Relative symlinks that stay inside static/ are served (a developer may link
 * vendor/lib.js to a versioned file), even to a dotfile: a link is the
 * developer's explicit choice, the dotfile rule is about request paths.
 * Where openat2 is missing (ENOSYS, or a seccomp filter answering EPERM)
 * we walk the path one component at a time with O_NOFOLLOW and refuse every
 * symlink: stricter, never looser. Files are opened O_NONBLOCK so a FIFO
 * planted in static/ cannot hang a worker.
 */
#include "static_path.h"
#include "apptree.h"
#include "hex.h"
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_bool use_openat2 = true;

/* ------------------------------------------------------- path decoding -- */

/* Judge one decoded segment; NULL when it may be served. */
static const char *
static_path_segment(const char *seg, size_t len, int *status)
{
	if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
		*status = 400;
		return "dot segment in path (traversal)";
	}
	if (len > 0 && seg[0] == '.') {
		*status = 404;
		return "dotfiles are not served";
	}
	if (len > 0 && apptree_ignored_name(seg, len)) {
		*status = 404;
		return "editor backup and swap files are not served";
	}
	return NULL;
}

/* See static_path.h. */
const char *
static_path_decode(const char *raw, char *out, size_t cap, int *status)
{
	size_t n = 0, seg = 0;
	const char *why;

	*status = 400;
	if (raw[0] == '\0') {
		*status = 404;
		return "directory listing is not served";
	}
	if (raw[0] == '/')
		return "absolute path or doubled slash";
	for (const char *p = raw;; p++) {
		int c = (unsigned char)*p;

		if (c == '/' || c == '\0') {
			if ((why = static_path_segment(out + seg, n - seg, status)))
				return why;
			if (c == '\0')
				break;
			if (p[1] == '/')
				return "doubled slash in path";
			if (p[1] == '\0') {
				*status = 404;
				return "directory listing is not served";
			}
			if (n + 2 >= cap)
				return "path too long";
			out[n++] = '/';
			seg = n;
			continue;
		}
		if (c == '\\')
			return "backslash in path";
		if (c == '%') {
			int hi = hex_digit(p[1]);
			int lo = hi < 0 ? -1 : hex_digit(p[2]);

			if (hi < 0 || lo < 0)
				return "invalid percent-encoding";
			c = hi * 16 + lo;
			p += 2;
			if (c == '/' || c == '\\')
				return "encoded slash in path";
			if (c == 0)
				return "NUL in path";
		}
		if (c < 0x20 || c == 0x7f)
			return "control character in path";
		if (n + 1 >= cap)
			return "path too long";
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return NULL;
}

/* ------------------------------------------------------------- opening -- */

void
static_path_use_openat2(bool on)
{
	atomic_store(&use_openat2, on);
}

/*
 * Open rel beneath root by walking components with O_NOFOLLOW: no symlink
 * is followed anywhere. rel holds only checked segments. -1 with errno set.
 */
static int
static_path_walk(int root, const char *rel)
{
	char buf[PATH_MAX];
	char *comp = buf, *slash;
	int dir = root, fd, saved;

	snprintf(buf, sizeof buf, "%s", rel);
	while ((slash = strchr(comp, '/')) != NULL) {
		*slash = '\0';
		fd = openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		saved = errno;
		if (dir != root)
			close(dir);
		if (fd < 0) {
			errno = saved;
			return -1;
		}
		dir = fd;
		comp = slash + 1;
	}
	fd = openat(dir, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	saved = errno;
	if (dir != root)
		close(dir);
	errno = saved;
	return fd;
}

/* See static_path.h. */
int
static_path_open_beneath(int root, const char *rel)
{
	if (atomic_load(&use_openat2)) {
		struct open_how how = {
		        .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		long fd;
		int tries = 0;

		/* EAGAIN: a concurrent rename made ".." unverifiable; retry. */
		do
			fd = syscall(SYS_openat2, root, rel, &how, sizeof how);
		while (fd < 0 && errno == EAGAIN && ++tries < 4);
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return (int)fd;
	}
	return static_path_walk(root, rel);
}

/* See static_path.h. */
const char *
static_path_reason(int err)
{
	switch (err) {
	case EXDEV:
		return "symlink leaves static/";
	case ELOOP:
		return "symlink refused";
	case ENOENT:
	case ENOTDIR:
		return "no such file";
	case EACCES:
		return "file not readable";
	case ENAMETOOLONG:
		return "path too long";
	default:
		return "file cannot be opened";
	}
}

int
static_path_open(int root_fd, const char *rel, const char **why)
{
	int status, fd;
	struct stat st;
	size_t n = strlen(rel);

	*why = NULL;
	if (n == 0 || n >= PATH_MAX) {
		*why = n ? "path too long" : "no file named";
		return -1;
	}
	for (const char *seg = rel;;) {
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);

		if (len == 0) {
			*why = "empty path segment";
			return -1;
		}
		if ((*why = static_path_segment(seg, len, &status)) != NULL)
			return -1;
		if (end == NULL)
			break;
		seg = end + 1;
	}
	if ((fd = static_path_open_beneath(root_fd, rel)) < 0) {
		*why = static_path_reason(errno);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return -1;
	}
	/* the descriptor reads normally, like an open() without O_NONBLOCK */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}
