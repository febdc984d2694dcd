/*
 * hcache.h -- a file's leading system #includes, preprocessed once per
 * process into one flat header (see hcache.c for why and the measurements).
 */
#ifndef COT_HCACHE_H
#define COT_HCACHE_H

/*
 * The flat header to `-include` when compiling `path` (its content `src`,
 * or NULL: read it) with these cot
 * include dir and cflags, and in *stubs the directory to put first on the
 * include path; or NULL to compile it the usual way (no leading system
 * includes, or their flat copy did not prove itself). The strings belong
 * to the cache. Called with the reloader lock held.
 */
const char *hcache_header(const char *path, const char *src, const char *include_dir,
                          const char *cflags, const char **stubs);

/* Removes the cache's temp files. */
void hcache_shutdown(void);

#endif
