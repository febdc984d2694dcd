/*
 * test_file.c -- devserver/file.c: whole-file reads, and how they fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../devserver/file.h"
#include "t.h"

static char dir[] = "/tmp/cot-test-file-XXXXXX";

static void
write_bytes(const char *path, const char *bytes, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f != NULL) {
		fwrite(bytes, 1, n, f);
		fclose(f);
	}
}

static void
test_contents(void)
{
	char path[128];
	size_t len = 99;
	snprintf(path, sizeof(path), "%s/empty", dir);
	write_bytes(path, "", 0);
	char *s = file_read(path, &len);
	T_CHECK("an empty file reads as \"\" with length 0", s && s[0] == '\0' && len == 0);
	free(s);

	snprintf(path, sizeof(path), "%s/nul", dir);
	write_bytes(path, "a\0b\n", 4);
	s = file_read(path, &len);
	T_CHECK("a NUL inside is kept and counted", s && len == 4 && memcmp(s, "a\0b\n", 5) == 0);
	free(s);

	/* past the first guesses of the buffer: several pages, an odd size */
	size_t big = 3 * 4096 * 7 + 13;
	char *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	snprintf(path, sizeof(path), "%s/big", dir);
	write_bytes(path, data, big);
	s = file_read(path, NULL);
	T_CHECK("a large file reads whole, NUL-terminated",
	        s && memcmp(s, data, big) == 0 && s[big] == '\0');
	free(s);
	free(data);
}

static void
test_errors(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/none", dir);
	errno = 0;
	T_CHECK("a missing file: NULL, ENOENT", file_read(path, NULL) == NULL && errno == ENOENT);
	errno = 0;
	T_CHECK("a directory: NULL, EISDIR", file_read(dir, NULL) == NULL && errno == EISDIR);
	if (geteuid() != 0) { /* root reads anything */
		snprintf(path, sizeof(path), "%s/secret", dir);
		write_bytes(path, "x", 1);
		chmod(path, 0);
		errno = 0;
		T_CHECK("an unreadable file: NULL, EACCES",
		        file_read(path, NULL) == NULL && errno == EACCES);
	} else {
		printf("# skipped the unreadable-file check: root reads any file\n");
	}
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		printf("not ok mkdtemp\n");
		return 1;
	}
	test_contents();
	test_errors();
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return T_DONE();
}
