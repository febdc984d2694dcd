/*
 * body.c -- where a request body waits for its handler: memory or a file.
 *
 * Handlers get the whole body as one buffer (cot_body, cot_form,
 * cot_body_json), so it must be complete before the handler runs. It used
 * to be a heap buffer doubled as data came in, up to 16 MB per connection:
 * 300 connections sending 10 MB took an export from 58 MB to 2.9 GB of RSS,
 * and glibc kept 1.5 GB of it after they closed.
 *
 * Now a body takes one of two places, decided as it arrives:
 * - memory, when it is small (at most BODY_MEMORY_MAX, 64 KB) and all the
 *   bodies in memory together stay under --max-body-memory (64 MB): one
 *   malloc of the declared Content-Length (no doubling), or a buffer that
 *   grows to 64 KB for a chunked body;
 * - otherwise a spool file: an unlinked file in $TMPDIR (O_TMPFILE) that
 *   the data is written to as it arrives, mapped (MAP_PRIVATE) when the
 *   handler is about to run. The pages are the page cache's, not the heap:
 *   the kernel can write them back under pressure, and munmap + close hand
 *   them back the moment the request ends. An unlinked file also vanishes
 *   by itself if the process is killed.
 * Spooling rather than streaming: the handler API gives the body as one
 * buffer, and a stream API would be a second way to read it for every
 * handler; a file keeps the API and bounds memory. Memory is bounded at
 * --max-body-memory plus what the mapped spool files of running handlers
 * touch; disk at --max-connections x --max-body. A spool that cannot be
 * written (disk full) answers 503 naming the error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "body.h"
#include "ctx.h"

#define BODY_MEMORY_MAX           (64u * 1024)
#define BODY_DEFAULT_MEMORY_TOTAL (64u * 1024 * 1024)

static atomic_size_t body_memory_used; /* bytes reserved by bodies in memory */
static size_t body_memory_total = BODY_DEFAULT_MEMORY_TOTAL;

/* --max-body-memory; 0 keeps the default. Call before serving. */
void
body_set_memory_limit(size_t bytes)
{
	body_memory_total = bytes > 0 ? bytes : BODY_DEFAULT_MEMORY_TOTAL;
}

/* Reserves n bytes of the global budget; false when it would overflow. */
static bool
body_reserve(size_t n)
{
	size_t used = atomic_load(&body_memory_used);
	do {
		if (used + n > body_memory_total)
			return false;
	} while (!atomic_compare_exchange_weak(&body_memory_used, &used, used + n));
	return true;
}

static void
body_unreserve(size_t n)
{
	atomic_fetch_sub(&body_memory_used, n);
}

/* An unlinked file to spool into; -1 with errno set. */
static int
body_spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != ENOENT))
		return fd;
	char path[4096];
	snprintf(path, sizeof(path), "%s/cot-body-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static int
body_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Moves what is in memory to a new spool file; -1 (c->body_error set) if not. */
static int
body_spill(cot_ctx *c)
{
	int fd = body_spool_open();
	if (fd < 0 || body_write_all(fd, c->body, c->body_len) != 0) {
		c->body_error = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	free(c->body);
	c->body = NULL;
	body_unreserve(c->body_cap);
	c->body_cap = 0;
	c->body_fd = fd;
	c->body_spooled = true;
	return 0;
}

/*
 * The request declares a body of `declared` bytes (Content-Length), or
 * (size_t)-1 when it does not say (chunked). Picks memory or the spool.
 */
void
body_begin(cot_ctx *c, size_t declared)
{
	ctx_on_free(c, body_free); /* whatever arrives is given back with the request */
	if (declared == 0 || declared == (size_t)-1 || declared > BODY_MEMORY_MAX)
		return; /* chunked starts in memory too (body_append), large goes to disk */
	if (!body_reserve(declared + 1))
		return;
	c->body = malloc(declared + 1);
	if (c->body == NULL) {
		body_unreserve(declared + 1);
		return;
	}
	c->body_cap = declared + 1;
}

/* Appends n bytes as they arrive; -1 when they cannot be stored. */
int
body_append(cot_ctx *c, const char *data, size_t n)
{
	if (c->body_error != NULL)
		return 0; /* already failed: the rest is read and dropped */
	if (c->body_spooled) {
		if (body_write_all(c->body_fd, data, n) == 0) {
			c->body_len += n;
			return 0;
		}
		c->body_error = strerror(errno);
		return -1;
	}
	size_t need = c->body_len + n + 1;
	if (need > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap * 2 : 4096;
		while (cap < need)
			cap *= 2;
		if (need > BODY_MEMORY_MAX + 1 || !body_reserve(cap - c->body_cap)) {
			if (body_spill(c) != 0)
				return -1;
			return body_append(c, data, n);
		}
		char *nb = realloc(c->body, cap);
		if (nb == NULL) {
			body_unreserve(cap - c->body_cap);
			if (body_spill(c) != 0)
				return -1;
			return body_append(c, data, n);
		}
		c->body = nb;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, data, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	return 0;
}

/*
 * The body is complete: a spooled one is mapped, NUL-terminated like one in
 * memory. -1 (c->body_error set) when it cannot be.
 */
int
body_finish(cot_ctx *c)
{
	if (!c->body_spooled || c->body_error != NULL)
		return c->body_error != NULL ? -1 : 0;
	if (body_write_all(c->body_fd, "", 1) != 0) {
		c->body_error = strerror(errno);
		return -1;
	}
	/* private and writable: a parser may write into its copy of a page */
	void *m = mmap(NULL, c->body_len + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE, c->body_fd, 0);
	if (m == MAP_FAILED) {
		c->body_error = strerror(errno);
		return -1;
	}
	c->body = m;
	c->body_mapped = true;
	return 0;
}

/* Gives everything back: memory, the mapping, the spool file. */
void
body_free(cot_ctx *c)
{
	if (c->body_mapped)
		munmap(c->body, c->body_len + 1);
	else
		free(c->body);
	if (c->body_cap > 0)
		body_unreserve(c->body_cap);
	if (c->body_spooled)
		close(c->body_fd);
	c->body = NULL;
	c->body_len = 0; /* readers see an empty body, never a length without bytes */
	c->body_cap = 0;
	c->body_spooled = false;
	c->body_mapped = false;
}
