/*
 * file.h -- reading a whole file, the one way the dev server does it.
 */
#ifndef COT_FILE_H
#define COT_FILE_H

#include <stddef.h>

/*
 * Reads the file at `path` into a malloc'd buffer with a NUL after the last
 * byte (so text can be used as a C string; a NUL inside stays). *len, when
 * not NULL, receives the byte count. Returns NULL with errno set (ENOENT: it
 * is not there; EISDIR: not a regular file).
 */
char *file_read(const char *path, size_t *len);

#endif
