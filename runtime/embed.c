/*
 * embed.c -- lookup in the table of files embedded by `cotdev export`.
 *
 * The table is generated at export time, sorted by path, and registered by
 * app_main.c before the server starts; after that it never changes, so every
 * lookup is a lock-free binary search. The dev server never registers a
 * table, which is how callers know to read the file system instead.
 */
#include <stdlib.h>
#include <string.h>

#include "embed.h"

static const embed_file *embed_files;
static size_t embed_nfiles;

void
embed_register(const embed_file *files, size_t n)
{
	embed_files = files;
	embed_nfiles = n;
}

static int
embed_compare(const void *key, const void *elem)
{
	return strcmp(key, ((const embed_file *)elem)->path);
}

const embed_file *
embed_lookup(const char *path)
{
	if (embed_nfiles == 0 || path == NULL)
		return NULL;
	return bsearch(path, embed_files, embed_nfiles, sizeof(embed_file), embed_compare);
}

const unsigned char *
embed_find(const char *path, size_t *len)
{
	const embed_file *f = embed_lookup(path);
	if (f == NULL)
		return NULL;
	if (len != NULL)
		*len = f->len;
	return f->data;
}
