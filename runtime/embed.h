/*
 * embed.h -- files an exported binary carries inside itself.
 *
 * `cotdev export` copies the app's templates/, static/ and schema.sql into
 * the binary and registers them here at start. Paths are relative to the app
 * directory, exactly as on disk in development: "templates/note.html",
 * "static/app.css", "schema.sql". In `cotdev run` nothing is registered, so
 * embed_find returns NULL and callers read the file system instead:
 *
 *     size_t len;
 *     const unsigned char *b = embed_find("schema.sql", &len);
 *     if (b == NULL) ... read ./schema.sql from disk (development) ...
 *
 * The bytes are read-only, live for the whole process and are followed by a
 * NUL byte (not counted in len), so text files can be used as C strings.
 */
#ifndef COT_EMBED_H
#define COT_EMBED_H

#include <stddef.h>

typedef struct embed_file {
	const char *path;          /* "static/app.css" */
	const unsigned char *data; /* len bytes, then a NUL */
	size_t len;
	long long mtime; /* seconds since the epoch, at export time */
	long mtime_nsec; /* and the nanoseconds: static.c compares
	                    a file's mtime with its .br/.gz sibling's
	                    to the nanosecond, as in development */
} embed_file;

/*
 * Installs the table (sorted by path, strcmp order). Called once by the
 * exported binary's main before any request; the table is not copied.
 */
void embed_register(const embed_file *files, size_t n);

/* The embedded file at `path`, or NULL (and *len untouched) when none. */
const unsigned char *embed_find(const char *path, size_t *len);

/* The embedded file record at `path` (for mtime), or NULL. */
const embed_file *embed_lookup(const char *path);

#endif /* COT_EMBED_H */
