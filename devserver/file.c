/*
 * file.c -- reading a whole file.
 *
 * Handler sources, schema.sql and the files sqlcheck scans are all read
 * while an editor may still be writing them, so the size from fstat is only
 * a first guess: reading goes on to end of file, and a file that shrank
 * meanwhile gives what is there. The watcher sees the final write and asks
 * again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

/* Grows *buf to hold at least `need` bytes plus the NUL; 0 or -1. */
static int
file_grow(char **buf, size_t *cap, size_t need)
{
	if (need + 1 <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < need + 1)
		c *= 2;
	char *nb = realloc(*buf, c);
	if (nb == NULL)
		return -1;
	*buf = nb;
	*cap = c;
	return 0;
}

char *
file_read(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	int e = fstat(fd, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EISDIR : 0;
	if (e != 0) {
		close(fd);
		errno = e;
		return NULL;
	}
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		/* room for one byte past the expected size: end of file shows
		 * without growing; a file that grew meanwhile grows the buffer */
		size_t want = n <= (size_t)st.st_size ? (size_t)st.st_size + 1 : n + 4096;
		if (file_grow(&buf, &cap, want) != 0) {
			free(buf);
			close(fd);
			errno = ENOMEM;
			return NULL;
		}
		ssize_t got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}
