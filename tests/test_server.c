/*
 * test_server.c -- the parts of runtime/server.c that need no socket:
 * parsing --max-body sizes. (The server itself is tested over real HTTP by
 * test_pipeline, test_reload and the rest.)
 */
#include <stdint.h>

#include "server.h"
#include "t.h"

static void
size_ok(const char *in, size_t want)
{
	size_t got = 0;
	char name[64];
	snprintf(name, sizeof(name), "size \"%s\" is %zu bytes", in, want);
	T_CHECK(name, server_parse_size(in, &got) == 0 && got == want);
}

static void
size_bad(const char *in)
{
	size_t got = 12345;
	char name[64];
	snprintf(name, sizeof(name), "size \"%s\" is refused and changes nothing", in);
	T_CHECK(name, server_parse_size(in, &got) == -1 && got == 12345);
}

int
main(void)
{
	size_ok("1", 1);
	size_ok("1024", 1024);
	size_ok("512K", 512u * 1024);
	size_ok("10M", 10u * 1024 * 1024);
	size_ok("10m", 10u * 1024 * 1024);
	size_ok("1G", 1024u * 1024 * 1024);
	size_bad("");
	size_bad("0");
	size_bad("K");
	size_bad("10X");
	size_bad("10MB");
	size_bad("-5");
	size_bad("99999999999999999999");
	size_bad("2048G");
	return T_DONE();
}
